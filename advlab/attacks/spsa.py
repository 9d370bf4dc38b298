"""Score-based attacks that never ask for a gradient: SPSA, and random noise as a baseline.

:func:`spsa` (Uesato, O'Donoghue, van den Oord & Kohli, 2018) estimates the
gradient of the attack objective from the model's *scores* alone, by
simultaneous perturbation: for random sign vectors ``v``,

    g ≈ mean over v of  (f(x + δv) − f(x − δv)) / (2δ) · v,

then takes an Adam step along ``g`` and projects back onto the L∞ ball. It is
the book's third probe of gradient masking: a model whose gradients are
hidden but whose decision function is not robust falls to it, while PGD,
fed a useless gradient, does not.

:func:`random_noise` adds a random corner of the L∞ ball (every pixel moved
by ``±eps``). Any attack that uses information should beat it; when it does
not, the information was misleading.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .._utils import frozen_eval
from .._validate import (
    ArgumentError,
    check_count,
    check_eps,
    check_finite_logits,
    check_flag,
    check_images,
    check_label_range,
    check_labels,
    check_logits,
    check_loss,
    check_real,
    make_generator,
)
from ._common import Loss, objective, prepare_labels
from .registry import register

__all__ = ["random_noise", "spsa"]

#: Most images × samples evaluated in one forward pass.
_CHUNK = 8192


def _rademacher(shape: tuple[int, ...], gen: torch.Generator | None, like: Tensor) -> Tensor:
    signs = torch.randint(0, 2, shape, generator=gen, dtype=torch.int8)
    return (signs.to(device=like.device, dtype=like.dtype) * 2) - 1


def _check_samples(samples: object) -> int:
    """Return the number of probe pairs per step, 1 to 4096."""
    n = check_count(samples, "samples")
    if n > 4096:
        raise ArgumentError(f"samples must be at most 4096 pairs of queries per step, got {n}")
    return n


def _check_clean_output(model: nn.Module, x: Tensor, y: Tensor) -> None:
    """Read the clean output once: a diverged model is an error, and the labels must fit it.

    Also at ``eps = 0``, where no probe is made.
    """
    clean = check_finite_logits(check_logits(model(x), len(x)))
    check_label_range(y, clean.shape[1])


@register(norm="inf", title="SPSA")
def spsa(
    model: nn.Module,
    x: Tensor,
    y: Tensor | None = None,
    *,
    eps: float,
    steps: int = 20,
    samples: int = 32,
    delta: float = 0.01,
    lr: float | None = None,
    targeted: bool = False,
    loss: Loss = "margin",
    early_stop: bool = True,
    generator: torch.Generator | None = None,
    seed: int | None = None,
) -> Tensor:
    """SPSA: a gradient-free L∞ attack that reads only the model's scores.

    Threat model: black box with scores. The attacker may query the model's
    output vector (logits or probabilities; whatever the model returns) for
    any input, but not its gradient, and may add ``delta`` with
    ``||delta||_∞ <= eps`` (pixel units), the result clipped to [0, 1]. Each
    step costs ``2 * samples`` queries per image (one forward pass over all
    images and samples at once, chunked).

    Parameters
    ----------
    model:
        Classifier returning scores for images in [0, 1]; run in eval mode with
        frozen parameters (both restored). Its gradient is never used.
    x:
        Images, float (N, C, H, W) in [0, 1], on the model's device. Not modified.
    y:
        True labels (N,), or targets with ``targeted=True``; the model's
        predictions when omitted (untargeted only).
    eps:
        L∞ budget in pixel units (0 returns ``x``).
    steps:
        Adam steps, at least 1.
    samples:
        Pairs of queries ``x ± δv`` per gradient estimate, at least 1.
    delta:
        Size δ of the finite-difference probe in pixel units, > 0.
    lr:
        Adam step size in pixel units; default ``2.5 * eps / steps``.
    targeted:
        Move towards the classes in ``y``.
    loss:
        ``"margin"`` (default; the score gap, which does not saturate) or ``"ce"``.
    early_stop:
        Stop moving an image once the model misclassifies it (targeted: once
        it predicts the target); the image keeps that point.
    generator, seed:
        Source of the sign vectors (at most one); drawn on the CPU, so a seed
        gives the same attack on every device.

    Returns
    -------
    Tensor
        Adversarial images, detached, same shape, dtype and device as ``x``,
        inside the L∞ ``eps``-ball around ``x`` and inside [0, 1].

    Raises
    ------
    ValueError
        For a bad ``eps``, ``delta``, ``lr``, ``steps`` or ``samples``, an
        unknown ``loss``, flags that are not booleans, bad images or labels, a
        model whose output is not (N, K) float scores, or both ``generator``
        and ``seed``. Non-finite scores never make a NaN image: their estimates count as 0.
    """
    eps = min(check_eps(eps), 1.0)  # a radius of 1 already reaches every image in [0, 1]
    steps = check_count(steps, "steps")
    samples = _check_samples(samples)
    delta = check_real(delta, "delta", positive=True)
    lr = 2.5 * eps / steps if lr is None else check_real(lr, "lr", positive=True)
    check_loss(loss)
    targeted = check_flag(targeted, "targeted")
    early_stop = check_flag(early_stop, "early_stop")
    gen = make_generator(generator, seed)
    check_images(model, x)
    x = x.detach()
    n, shape = x.shape[0], x.shape[1:]
    lo = (x - eps).clamp(min=0.0)
    hi = (x + eps).clamp(max=1.0)
    x_adv = x.clone()
    m = torch.zeros_like(x)
    v = torch.zeros_like(x)
    beta1, beta2 = 0.9, 0.999
    per_chunk = max(1, _CHUNK // (2 * samples))
    with frozen_eval(model), torch.no_grad():
        y = prepare_labels(model, x, y, targeted=targeted)
        _check_clean_output(model, x, y)
        if eps == 0:
            return x.clone()
        active = torch.ones(n, dtype=torch.bool, device=x.device)
        for step in range(1, steps + 1):
            probe = _rademacher((n, samples, *shape), gen, x)
            grad = torch.empty_like(x)
            for s in range(0, n, per_chunk):
                xa, pr, ya = (
                    x_adv[s : s + per_chunk],
                    probe[s : s + per_chunk],
                    y[s : s + per_chunk],
                )
                k = len(xa)
                both = torch.cat([xa[:, None] + delta * pr, xa[:, None] - delta * pr], dim=1)
                scores = _scores(model, both.reshape(k * 2 * samples, *shape), y, step + s == 1)
                f = objective(
                    scores, ya.repeat_interleave(2 * samples), loss=loss, targeted=targeted
                )
                f = f.reshape(k, 2, samples)
                diff = (f[:, 0] - f[:, 1]) / (2 * delta)  # (k, samples)
                grad[s : s + k] = (diff.reshape(k, samples, *([1] * len(shape))) * pr).mean(dim=1)
            grad.nan_to_num_(nan=0.0, posinf=0.0, neginf=0.0)  # non-finite scores move nothing
            m.mul_(beta1).add_(grad, alpha=1 - beta1)
            v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            m_hat = m / (1 - beta1**step)
            v_hat = v / (1 - beta2**step)
            update = (lr * m_hat / (v_hat.sqrt() + 1e-12)).nan_to_num_(
                nan=0.0, posinf=lr, neginf=-lr
            )
            moved = torch.minimum(torch.maximum(x_adv + update, lo), hi)
            keep = active[:, None, None, None]
            x_adv = torch.where(keep, moved, x_adv)
            if early_stop:
                pred = model(x_adv).argmax(dim=1)
                active &= (pred == y) != targeted
                if not bool(active.any()):
                    break
    return x_adv.detach()


def _scores(model: nn.Module, batch: Tensor, y: Tensor, first: bool) -> Tensor:
    """Return the model's logits on a batch of probes; on the ``first`` query, check ``y`` too.

    That is where labels first meet logits: every label must be one of the
    model's classes (one read-back, once per attack).
    """
    scores = check_logits(model(batch), len(batch))
    if first:
        check_label_range(y, scores.shape[1])
    return scores


@register(norm="inf", title="noise")
def random_noise(
    model: nn.Module,
    x: Tensor,
    y: Tensor | None = None,
    *,
    eps: float,
    generator: torch.Generator | None = None,
    seed: int | None = None,
) -> Tensor:
    """Move every pixel by ``+eps`` or ``-eps`` at random (a random corner of the L∞ ball).

    Threat model: none, a baseline. It uses neither the model nor ``y``
    (both are checked, so it is called like every attack). A gradient attack
    that does not beat it at the same ``eps`` is being misled: a warning sign
    of gradient masking.

    Parameters
    ----------
    model, x, y:
        As for every attack; ``x`` float (N, C, H, W) in [0, 1].
    eps:
        L∞ budget in pixel units.
    generator, seed:
        Source of the signs (at most one); drawn on the CPU.

    Returns
    -------
    Tensor
        ``clip(x ± eps, 0, 1)``, detached, on ``x``'s device and dtype.

    Raises
    ------
    ValueError
        For a bad ``eps``, bad images or labels, or both ``generator`` and ``seed``.
    """
    eps = min(check_eps(eps), 1.0)
    gen = make_generator(generator, seed)
    check_images(model, x)
    if y is not None:
        check_labels(y, x)
    signs = _rademacher(tuple(x.shape), gen, x)
    return (x.detach() + eps * signs).clamp_(0.0, 1.0)
