"""The linearity argument in numbers: the logit margin, its input gradient, and how far it falls.

Goodfellow et al. (2015) explain adversarial examples by the near-linearity of networks:
to first order a step ``δ`` changes the margin ``m(x) = z_y(x) - max_{j≠y} z_j(x)`` by
``∇ₓm · δ``, which an L∞ budget ε makes as negative as ``-ε‖∇ₓm‖₁``. Chapters 1 and 2
test that on real networks with these functions:

- :func:`margin_gradient`: the margin of :func:`~advlab.metrics.margin_at` with its
  input gradient, and :func:`linear_flip_budget`, the first-order L∞ budget ``m / ‖∇ₓm‖₁``
  that would flip each image;
- :func:`class_margins`: the margin against every class, ``z_y - z_j``, with its gradients;
- :func:`margin_drops`: per budget, how far the margin falls under the linear prediction,
  FGSM and BIM on the margin, the best class of the linear model, and random signs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._utils import frozen_eval
from .._validate import (
    ArgumentError,
    check_budgets,
    check_finite_logits,
    check_images,
    check_label_range,
    check_labels,
    check_module,
)
from ..attacks import bim, fgsm
from .robustness import margin_at

__all__ = ["DROPS", "class_margins", "linear_flip_budget", "margin_drops", "margin_gradient"]

#: The keys of :func:`margin_drops`, in order: what each line of chapter 2's figure measures.
DROPS = ("linear", "fgsm", "bim", "best_class", "random")


def _logits_with_grad(model: nn.Module, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor, int]:
    check_images(model, x)
    y = check_labels(y, x)
    xg = x.detach().clone().requires_grad_(True)
    z = model(xg)
    if not isinstance(z, Tensor) or not z.is_floating_point() or z.ndim != 2:
        got = tuple(z.shape) if isinstance(z, Tensor) else type(z).__name__
        raise ArgumentError(f"the model must return (N, K) float logits, got {got}")
    if z.shape != (len(x), z.shape[1]) or z.shape[1] < 2:
        raise ArgumentError(
            f"the model must return (N, K) logits with N = {len(x)} and K >= 2, got {tuple(z.shape)}"
        )
    check_finite_logits(z)  # a diverged model has no margins
    check_label_range(y, z.shape[1])
    return xg, z, z.shape[1]


def margin_gradient(model: nn.Module, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """Compute each image's logit margin ``z_y(x) - max_{j≠y} z_j(x)`` and its input gradient.

    The margin is :func:`~advlab.metrics.margin_at`'s; the gradient is that of the
    margin itself, ``∇ₓm`` (through the runner-up class at ``x``), computed in eval mode
    with the model's parameters frozen (both restored).

    Parameters
    ----------
    model:
        Classifier returning logits (N, K), K >= 2, for images in [0, 1].
    x:
        Images (N, C, H, W) in [0, 1] on the model's device.
    y:
        True labels (N,), integer class indices on ``x``'s device.

    Returns
    -------
    (margin, grad)
        Margins (N,) and gradients (N, C, H, W), detached, on ``x``'s device.

    Raises
    ------
    ValueError
        As :func:`~advlab.metrics.margin_at`: images outside [0, 1] or of the wrong shape,
        labels of the wrong shape or outside the model's classes.
    """
    model = check_module(model)
    with frozen_eval(model), torch.enable_grad():
        xg, z, _ = _logits_with_grad(model, x, y)
        y = y.to(z.device)
        m = z.gather(1, y[:, None]).squeeze(1) - z.scatter(1, y[:, None], -math.inf).amax(dim=1)
        (g,) = torch.autograd.grad(m.sum(), xg)
    return m.detach(), g


def linear_flip_budget(model: nn.Module, x: Tensor, y: Tensor) -> Tensor:
    """Estimate the first-order L∞ budget that flips each image: ``m(x) / ‖∇ₓm(x)‖₁`` (pixels).

    A linear model with the margin's value and gradient at ``x`` is fooled exactly when
    ε exceeds this (ignoring the clipping to [0, 1]); a misclassified image gets a
    negative value. Parameters and errors as :func:`margin_gradient`.

    Returns
    -------
    Tensor
        Budgets (N,), float, on ``x``'s device (``inf`` where the gradient is zero).
    """
    m, g = margin_gradient(model, x, y)
    return m / g.flatten(1).abs().sum(dim=1)


def class_margins(model: nn.Module, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """Compute the margin against every class, ``z_y(x) - z_j(x)``, and the gradient of each.

    One forward pass and one backward pass per class (in eval mode, the parameters
    frozen; both restored). The true class's entry is zero, with a zero gradient.

    Parameters
    ----------
    model, x, y:
        As for :func:`margin_gradient`.

    Returns
    -------
    (margins, grads)
        Margins (N, K) and gradients (N, K, C, H, W), detached, on ``x``'s device.

    Raises
    ------
    ValueError
        As :func:`margin_gradient`.
    """
    model = check_module(model)
    with frozen_eval(model), torch.enable_grad():
        xg, z, k = _logits_with_grad(model, x, y)
        y = y.to(z.device)
        margins, grads = [], []
        for j in range(k):
            d = z.gather(1, y[:, None]).squeeze(1) - z[:, j]
            margins.append(d.detach())
            grads.append(torch.autograd.grad(d.sum(), xg, retain_graph=True)[0])
    return torch.stack(margins, 1), torch.stack(grads, 1)


def margin_drops(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    eps: Sequence[float],
    *,
    signs: Tensor,
    margin: Tensor | None = None,
    grad: Tensor | None = None,
    steps: int = 10,
) -> dict[str, list[np.ndarray]]:
    """How far each image's margin falls, per L∞ budget, under five kinds of step.

    For each ε in ``eps`` and each image, with ``m`` the clean margin and δ FGSM's step
    on the margin (``loss="margin"``, clipped to [0, 1]):

    ``"linear"``
        the first-order prediction ``-∇ₓm · δ``;
    ``"fgsm"``
        the measured drop ``m(x) - m(x + δ)``;
    ``"bim"``
        the measured drop after ``steps`` BIM steps on the margin;
    ``"best_class"``
        the linear model's best drop over the wrong classes ``j``: the box-clipped sign
        step against ``z_y - z_j``, the class that falls lowest kept;
    ``"random"``
        ``|m(x) - m(x + ε·signs)|``, random signs of the same size.

    Parameters
    ----------
    model, x, y:
        As for :func:`margin_gradient` (a model in eval mode, as the attacks leave it).
    eps:
        Budgets (pixel units, L∞), each >= 0.
    signs:
        A tensor of ±1 shaped like ``x`` (the random direction; the caller draws it).
    margin, grad:
        The clean margin and its gradient, when already computed (on a larger batch,
        say); default :func:`margin_gradient` on ``x``.
    steps:
        BIM's steps.

    Returns
    -------
    dict
        Each key of :data:`DROPS` -> one array (N,) of drops per budget, in ``eps``'s order.

    Raises
    ------
    ValueError
        For a negative or non-finite budget, ``signs`` not shaped like ``x``, a ``margin``
        or ``grad`` of the wrong shape, and what :func:`margin_gradient` refuses.
    """
    budgets = check_budgets(eps, "eps")
    if not isinstance(signs, Tensor) or signs.shape != x.shape:
        raise ArgumentError(
            "signs must be a tensor of ±1 with x's shape (draw it with a generator)"
        )
    if (margin is None) != (grad is None):
        raise ArgumentError("pass both margin and grad (from margin_gradient), or neither")
    if margin is None or grad is None:
        margin, grad = margin_gradient(model, x, y)
    elif margin.shape != (len(x),) or grad.shape != x.shape:
        raise ArgumentError("margin must be (N,) and grad shaped like x (from margin_gradient)")
    pair_m, pair_g = class_margins(model, x, y)
    is_true = F.one_hot(y, pair_m.shape[1]).bool()
    drops: dict[str, list[np.ndarray]] = {k: [] for k in DROPS}
    for e in budgets:
        delta = fgsm(model, x, y, eps=e, loss="margin") - x
        # first-order Taylor: m(x + δ) ≈ m(x) + ∇m · δ
        predicted = margin + (grad * delta).flatten(1).sum(dim=1)
        measured = margin_at(model, (x + delta).clamp(0, 1), y)
        iterated = margin_at(model, bim(model, x, y, eps=e, steps=steps, loss="margin"), y)
        step = (-e * pair_g.sign()).clamp(-x[:, None], 1 - x[:, None])
        best = (pair_m + (pair_g * step).flatten(2).sum(2)).masked_fill(is_true, np.inf).amin(1)
        noisy = margin_at(model, (x + e * signs).clamp(0, 1), y)
        for key, m in zip(DROPS[:4], (predicted, measured, iterated, best), strict=True):
            drops[key].append((margin - m).cpu().numpy())
        drops["random"].append((margin - noisy).abs().cpu().numpy())
    return drops
