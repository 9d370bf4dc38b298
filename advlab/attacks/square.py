"""The Square attack (Andriushchenko, Croce, Flammarion & Hein, 2020): random search, L∞.

A score-based black-box attack: it reads the model's logits, never a gradient. It starts
from vertical stripes (every column of every channel moved by ``+eps`` or ``-eps``), then, for
``steps`` iterations, proposes to set one square window of the perturbation to ``±eps`` (one
random sign per channel) at a random place, and keeps the proposal where it lowers the margin
``z_y - max_{i != y} z_i``. Images already misclassified are not queried again. The side of the
square is ``round(sqrt(p * H * W))`` pixels (at least 1, at most the image); ``p`` starts at
``p_init`` and advlab halves it at 0.1, 0.5, 2, 5, 10, 20, 40, 60 and 80 % of the iterations,
so the search moves from coarse to fine changes as it goes. A proposal that would leave the
window as it is has its signs flipped, so every query tries something new.

Because it needs no gradient, Square is the black-box member of the standard evaluation
(:func:`advlab.metrics.evaluate_robustness`): a defense that only hides its gradients does
not stop it.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from .._utils import frozen_eval
from .._validate import (
    ArgumentError,
    check_count,
    check_eps,
    check_finite_logits,
    check_images,
    check_label_range,
    check_logits,
    check_real,
    make_generator,
)
from ._common import linf_project, objective, resolve_labels
from .registry import register

__all__ = ["square", "square_side"]

#: Fractions of the iterations after which ``p`` halves.
_HALVINGS = (0.001, 0.005, 0.02, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8)


def square_side(p_init: float, iteration: int, steps: int, height: int, width: int) -> int:
    """Return the side, in pixels, of the square that iteration ``iteration`` (0-based) changes.

    >>> square_side(0.8, 0, 1000, 28, 28), square_side(0.8, 999, 1000, 28, 28)
    (25, 1)
    """
    p_init = _check_p_init(p_init)
    steps = check_count(steps, "steps")
    height, width = check_count(height, "height"), check_count(width, "width")
    if isinstance(iteration, bool) or not isinstance(iteration, int) or iteration < 0:
        raise ArgumentError(f"iteration must be an integer >= 0, got {iteration!r}")
    halvings = sum(iteration >= math.ceil(f * steps) for f in _HALVINGS if f * steps >= 1)
    p = p_init / 2**halvings
    side = round(math.sqrt(p * height * width))
    return max(1, min(side, height, width))


def _check_p_init(p_init: object) -> float:
    """Return ``p_init`` as a float in (0, 1], or raise a clear error."""
    value = check_real(p_init, "p_init", positive=True)
    if value > 1:
        raise ArgumentError(f"p_init must be in (0, 1], got {value}")
    return value


def _margin(logits: Tensor, y: Tensor) -> Tensor:
    """``z_y - max_{i != y} z_i`` per image: negative exactly when another class wins."""
    return -objective(logits, y, loss="margin", targeted=False)


def _signs(shape: tuple[int, ...], gen: torch.Generator | None, like: Tensor) -> Tensor:
    """±1 of ``shape``, drawn on the generator's device (CPU by default), moved to ``like``'s."""
    where = gen.device if gen is not None else torch.device("cpu")
    bits = torch.randint(0, 2, shape, generator=gen, device=where)
    return (bits * 2 - 1).to(device=like.device, dtype=like.dtype)


def _positions(k: int, high: int, gen: torch.Generator | None, device: torch.device) -> Tensor:
    """``k`` integers uniform in ``[0, high]``, drawn as :func:`_signs` is."""
    where = gen.device if gen is not None else torch.device("cpu")
    return torch.randint(0, high + 1, (k,), generator=gen, device=where).to(device)


@register(norm="inf", title="Square")
def square(
    model: nn.Module,
    x: Tensor,
    y: Tensor | None = None,
    *,
    eps: float,
    steps: int = 1000,
    p_init: float = 0.8,
    generator: torch.Generator | None = None,
    seed: int | None = None,
) -> Tensor:
    """Square attack on the margin loss inside the L∞ ball of radius ``eps`` (untargeted).

    Threat model: black box with scores. The attacker sees the logits of any image it submits
    (no gradient, no weights) and may add any ``delta`` with ``||delta||_inf <= eps`` (pixel
    units), the result clipped to [0, 1]. See :mod:`advlab.attacks.square` for the search.

    Parameters
    ----------
    model:
        Classifier returning logits for images in [0, 1]; queried in eval mode, without
        gradients.
    x:
        Images, float (N, C, H, W) in [0, 1]. Not modified.
    y:
        True labels (N,); if omitted, the model's predictions.
    eps:
        L∞ radius in pixel units (0 returns ``x``).
    steps:
        Iterations, at least 1: at most ``1 + steps`` queries per image (one for the start,
        one per iteration while the image is still classified correctly).
    p_init:
        The starting fraction of the image a square covers, in (0, 1].
    generator, seed:
        Source of the stripes, positions and signs (at most one of the two); numbers are drawn
        on the generator's device, so a seed gives the same search on CPU and CUDA.

    Returns
    -------
    Tensor
        Adversarial images, detached, same shape, dtype and device as ``x``, inside the
        ``eps``-ball and [0, 1]: per image, the point with the lowest margin found.

    Raises
    ------
    ValueError
        For a negative or non-finite ``eps``, ``steps < 1``, ``p_init`` outside (0, 1], bad
        images or labels, a model whose output is not finite (N, K) logits, or both
        ``generator`` and ``seed``.
    """
    eps = min(check_eps(eps), 1.0)
    steps = check_count(steps, "steps")
    p_init = _check_p_init(p_init)
    gen = make_generator(generator, seed)
    check_images(model, x)
    x = x.detach()
    if eps == 0:
        return x.clone()
    n, c, h, w = x.shape
    with frozen_eval(model), torch.no_grad():
        y = resolve_labels(model, x, y, targeted=False)
        x_best = linf_project(x, x + eps * _signs((n, c, 1, w), gen, x), eps)
        logits = check_finite_logits(check_logits(model(x_best), n))
        check_label_range(y, logits.shape[1])
        margin = _margin(logits, y)
        rows = torch.arange(h, device=x.device).view(1, 1, h, 1)
        cols = torch.arange(w, device=x.device).view(1, 1, 1, w)
        for i in range(steps):
            idx = (margin >= 0).nonzero().flatten()
            k = len(idx)
            if k == 0:
                break
            s = square_side(p_init, i, steps, h, w)
            top = _positions(k, h - s, gen, x.device).view(k, 1, 1, 1)
            left = _positions(k, w - s, gen, x.device).view(k, 1, 1, 1)
            window = (rows >= top) & (rows < top + s) & (cols >= left) & (cols < left + s)
            proposal = eps * _signs((k, c, 1, 1), gen, x)
            xs, current = x[idx], x_best[idx] - x[idx]
            # a proposal equal to the window as it is would waste the query: flip its signs
            same = ((current - proposal).abs() <= 1e-6 * max(eps, 1.0)) | ~window
            proposal = torch.where(same.flatten(1).all(1).view(k, 1, 1, 1), -proposal, proposal)
            candidate = linf_project(xs, xs + torch.where(window, proposal, current), eps)
            m_new = _margin(check_finite_logits(model(candidate)), y[idx])
            better = m_new < margin[idx]
            x_best[idx] = torch.where(better.view(k, 1, 1, 1), candidate, x_best[idx])
            margin[idx] = torch.where(better, m_new, margin[idx])
    return x_best.detach()
