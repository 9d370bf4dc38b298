"""The smallest budget at which an attack succeeds, per image: a grid sweep refined by bisection.

Attacks with a budget (FGSM, PGD) answer "is there an adversarial example
within ε?"; minimum-distance attacks (Carlini–Wagner) answer "how close is the
nearest one found?". To compare the two fairly, :func:`smallest_budget` turns a
budgeted attack into a minimum-distance one: for each image it finds the
smallest ε at which the attack succeeds, first on a coarse grid, then by
bisection between the last failing and the first succeeding grid point.

The attacks take one ε for the whole batch, so the bisection groups images
that share an interval and calls the attack once per group: the number of
calls stays near ``len(grid) + refine * len(grid)``, not ``refine * N``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from .._validate import (
    ArgumentError,
    ArgumentTypeError,
    check_budgets,
    check_count,
    check_images,
    check_labels,
)
from ..attacks.result import adversarial_images
from ._predictions import labelled_predictions

__all__ = ["BudgetSearch", "smallest_budget"]


@dataclass(frozen=True)
class BudgetSearch:
    """Per-image result of :func:`smallest_budget` (CPU tensors of length N).

    Attributes
    ----------
    budget:
        The smallest budget ε (the attack's own units) at which the attack
        fooled the model, to within ``(grid step) / 2**refine``; NaN where no
        budget on the grid did.
    distance:
        The size of the perturbation found at that budget, in the norm
        ``norm`` (at most ``budget``, often less); NaN where the attack failed.
    x_adv:
        The adversarial images found at ``budget`` (``x`` itself where the
        attack failed), on ``x``'s device.
    calls:
        How many times the attack was called (each call is on a subset of the images).
    """

    budget: Tensor
    distance: Tensor
    x_adv: Tensor
    calls: int

    @property
    def success(self) -> Tensor:
        """Which images were fooled at some budget on the grid."""
        return ~self.budget.isnan()


def _norm_of(delta: Tensor, norm: str | float) -> Tensor:
    flat = delta.flatten(1)
    if norm in ("inf", float("inf")):
        return flat.abs().amax(dim=1)
    return torch.linalg.vector_norm(flat, ord=float(norm), dim=1)


def smallest_budget(
    attack: Callable[[Tensor, Tensor, float], Tensor],
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    grid: list[float],
    *,
    refine: int = 5,
    norm: str | float = 2,
) -> BudgetSearch:
    """Per image, the smallest budget in ``grid`` (refined by bisection) at which ``attack`` succeeds.

    Threat model: whatever ``attack`` implements (untargeted: success means
    the prediction differs from ``y``). The search assumes success is
    monotone in the budget, which holds closely for FGSM and PGD; the
    distances it reports are those of perturbations actually found, so they
    are upper bounds on each image's true minimal adversarial distance.

    Parameters
    ----------
    attack:
        ``attack(x, y, eps) -> x_adv`` for a subset of images and one budget.
    model:
        The classifier the attack targets (logits); used to check success.
    x, y:
        Images in [0, 1] (N, C, H, W) and their true labels (N,).
    grid:
        Increasing budgets, all > 0, swept first (each on the images not
        fooled yet).
    refine:
        Bisection steps between the last failing grid budget (or 0) and the
        first succeeding one; each halves the uncertainty. 0 keeps the grid's
        resolution.
    norm:
        The norm in which ``distance`` is measured: ``2``, ``1`` or ``"inf"``.

    Returns
    -------
    BudgetSearch
        ``budget``, ``distance`` (NaN where never fooled), ``x_adv`` and ``calls``.

    Raises
    ------
    ValueError
        For an empty, non-increasing or non-positive grid, a negative
        ``refine``, an unknown ``norm``, or bad images or labels.
    """
    if not callable(attack):
        raise ArgumentTypeError(
            f"attack must be callable as attack(x, y, eps), got {type(attack).__name__}"
        )
    values = check_budgets(grid, "grid", increasing=True, positive=True)
    refine = check_count(refine, "refine", minimum=0)
    if norm not in (1, 2, "inf", float("inf")):
        raise ArgumentError(f"norm must be 1, 2 or 'inf', got {norm!r}")
    check_images(model, x)
    y = check_labels(y, x)
    n = x.shape[0]
    budget = torch.full((n,), float("nan"))
    x_best = x.detach().clone()
    calls = 0

    def run(idx: Tensor, eps: float) -> Tensor:
        """Attack images idx at eps; record successes; return which were fooled (CPU bool)."""
        nonlocal calls
        calls += 1
        x_adv = adversarial_images(attack(x[idx], y[idx], eps), x[idx])
        fooled = (labelled_predictions(model, x_adv, y[idx]) != y[idx]).cpu()
        hit = idx[fooled]
        budget[hit] = eps
        x_best[hit.to(x.device)] = x_adv[fooled.to(x.device)].detach()
        return fooled

    # 1. the sweep: the first grid budget that fools each image
    upper = torch.full((n,), float("nan"))
    lower = torch.zeros(n)
    for eps in values:
        todo = torch.where(budget.isnan())[0]
        if len(todo) == 0:
            break
        fooled = run(todo, eps)
        upper[todo[fooled]] = eps
        lower[todo[~fooled]] = eps
    # 2. bisection inside [lower, upper], one attack call per group sharing an interval
    found = ~upper.isnan()
    for _ in range(refine):
        mids = (lower + upper) / 2
        for mid in torch.unique(mids[found]).tolist():
            idx = torch.where(found & (mids == mid))[0]
            fooled = run(idx, mid)
            upper[idx[fooled]] = mid
            lower[idx[~fooled]] = mid
    distance = _norm_of(x_best - x, norm).cpu()
    distance = torch.where(found, distance, torch.full_like(distance, float("nan")))
    return BudgetSearch(upper, distance, x_best, calls)
