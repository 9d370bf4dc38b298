"""The Jacobian-based saliency map attack, JSMA.

Papernot, McDaniel, Jha, Fredrikson, Celik & Swami (2016), "The limitations of deep
learning in adversarial settings".

A targeted L0 attack: it changes few pixels, each by a lot. At every iteration
it computes, for each input feature ``p``, how much increasing it raises the
target class ``t`` and lowers the others:

- ``α_p = ∂F_t / ∂x_p`` (the target's gradient),
- ``β_p = Σ_{j ≠ t} ∂F_j / ∂x_p`` (the other classes' summed gradient),

and picks the *pair* of features ``(p, q)`` with the largest
``(α_p + α_q) · |β_p + β_q|`` among pairs with ``α_p + α_q > 0`` and
``β_p + β_q < 0`` (θ > 0; the signs flip when θ < 0, which darkens pixels).
It moves both by θ, clipped to [0, 1]; a feature that reaches the bound leaves
the search domain. It stops when the model predicts the target, when no pair
qualifies, or when the next pair would take it past ``γ`` of the features.

``F`` is the softmax (``jacobian="probs"``) or the logits (``jacobian="logits"``).
In Carlini & Wagner's (2017) names, the logit version is JSMA-Z, the original
attack of Papernot et al., and the softmax version is JSMA-F, the one run
against defensive distillation (Papernot et al. 2016b). Carlini & Wagner report
that both fail on distilled networks: JSMA-F because the saturated softmax has
no gradient, JSMA-Z because a change of the logits need not move the softmax.
With the softmax the two maps are tied, ``β = −α`` (the outputs sum to one), so
the pair rule reduces to the two largest ``α``.

Here a *feature* is one value of the (C, H, W) image: a pixel of a grey image,
one channel of a colour pixel. Pairs are searched among the ``candidates``
features of each image with the highest single-feature score ``s·(α_p − β_p)``
(``s`` the sign of θ): with at least as many candidates as features the search
is exact, as in the paper; for larger images it keeps memory at
``N · candidates²`` scores instead of ``N · features²`` (37 MB per image at
32×32×3 in float32).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._utils import frozen_eval
from .._validate import (
    ArgumentError,
    check_count,
    check_finite_logits,
    check_images,
    check_logits,
)
from ._common import prepare_labels
from .registry import register
from .result import AttackResult

__all__ = ["JSMAResult", "best_pairs", "jsma", "saliency_map"]

Jacobian = Literal["probs", "logits"]


@dataclass
class JSMAResult(AttackResult):
    """What :func:`jsma` returns.

    Attributes
    ----------
    x_adv:
        Adversarial images, detached, same shape, dtype and device as ``x``.
    success:
        bool (N,): the model predicts the target on ``x_adv``.
    labels:
        int64 (N,): the targets.
    targeted:
        Always True: JSMA is a targeted attack.
    pixels_changed:
        int64 (N,): how many features of each image differ from ``x``.
    gradient_evals:
        int64 (N,): backward passes spent on each image (two per iteration:
        the target's gradient and the others' summed gradient).
    pairs:
        int64 (N, iterations, 2): the flat feature indices changed at each
        iteration, ``-1`` after the image stopped.
    num_features:
        Features per image (C·H·W).
    """

    pixels_changed: Tensor
    gradient_evals: Tensor
    pairs: Tensor
    num_features: int

    @property
    def queries(self) -> Tensor:
        """Model evaluations per image (the gradient evaluations), for comparison with other attacks."""
        return self.gradient_evals

    @property
    def fraction_changed(self) -> Tensor:
        """Fraction of each image's features changed (at most ``gamma``)."""
        return self.pixels_changed.double() / self.num_features


def _check_jacobian(jacobian: object) -> Jacobian:
    if not isinstance(jacobian, str) or jacobian not in ("probs", "logits"):
        raise ArgumentError(
            f"jacobian must be 'probs' (softmax, as in the paper) or 'logits', got {jacobian!r}"
        )
    return "probs" if jacobian == "probs" else "logits"


def _gradients(
    model: nn.Module, x: Tensor, target: Tensor, jacobian: Jacobian
) -> tuple[Tensor, Tensor, Tensor]:
    """α (target gradient), β (others' summed gradient), both flattened (N, D), and logits."""
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        logits = check_finite_logits(check_logits(model(x), len(x)))
        out = F.softmax(logits, dim=1) if jacobian == "probs" else logits
        t_out = out.gather(1, target[:, None]).sum()
        (alpha,) = torch.autograd.grad(t_out, x, retain_graph=True)
        (total,) = torch.autograd.grad(out.sum(), x)
    alpha = alpha.flatten(1)
    return alpha, total.flatten(1) - alpha, logits.detach()


def best_pairs(
    alpha: Tensor, beta: Tensor, domain: Tensor, *, sign: float = 1.0, candidates: int | None = None
) -> tuple[Tensor, Tensor]:
    """JSMA's pair choice, for each row of (M, D) maps ``alpha`` and ``beta``.

    Among pairs ``p < q`` of features in ``domain`` (bool, (M, D)) with
    ``sign·(α_p + α_q) > 0`` and ``sign·(β_p + β_q) < 0``, the one with the largest
    ``|α_p + α_q| · |β_p + β_q|``. With ``candidates`` set, only the ``candidates``
    features with the largest ``sign·(α_p − β_p)`` are paired (exact when it is
    at least ``D``).

    A pair whose sums are NaN never qualifies (comparisons with NaN are false).

    Returns
    -------
    (pairs, found)
        int64 (M, 2) flat feature indices, and bool (M,): whether a pair qualifies
        (where it does not, the pair is meaningless).

    Raises
    ------
    ValueError
        If ``alpha`` and ``beta`` are not float tensors of one shape (M, D), ``domain``
        is not a bool tensor of that shape on their device, ``sign`` is not a non-zero
        finite number, or ``candidates`` is not None or an integer >= 2.
    """
    for name, value in (("alpha", alpha), ("beta", beta), ("domain", domain)):
        if not isinstance(value, Tensor):
            raise ArgumentError(
                f"{name} must be a torch.Tensor of shape (M, D), got {type(value).__name__}"
            )
    if alpha.ndim != 2 or not alpha.is_floating_point():
        raise ArgumentError(
            f"alpha must be a float tensor of shape (M, D) (one saliency map per row), got "
            f"{alpha.dtype} of shape {tuple(alpha.shape)}; flatten one map with alpha[None]"
        )
    if beta.shape != alpha.shape or beta.dtype != alpha.dtype or beta.device != alpha.device:
        raise ArgumentError(
            f"beta must match alpha: {alpha.dtype} {tuple(alpha.shape)} on {alpha.device}, got "
            f"{beta.dtype} {tuple(beta.shape)} on {beta.device}"
        )
    if domain.shape != alpha.shape or domain.dtype != torch.bool or domain.device != alpha.device:
        raise ArgumentError(
            f"domain must be a bool tensor of alpha's shape {tuple(alpha.shape)} on {alpha.device} "
            f"(True where a feature may change), got {domain.dtype} {tuple(domain.shape)} "
            f"on {domain.device}"
        )
    if alpha.shape[1] == 0:
        raise ArgumentError("alpha has no features (shape (M, 0)); pass at least one per row")
    if (
        isinstance(sign, (bool, np.bool_))
        or not isinstance(sign, numbers.Real)
        or not math.isfinite(sign)
        or sign == 0
    ):
        raise ArgumentError(f"sign must be +1 (increase features) or -1 (decrease), got {sign!r}")
    if candidates is not None:
        candidates = check_count(candidates, "candidates", minimum=2)
    return _best_pairs(alpha, beta, domain, sign=1.0 if sign > 0 else -1.0, candidates=candidates)


def _best_pairs(
    alpha: Tensor, beta: Tensor, domain: Tensor, *, sign: float, candidates: int | None
) -> tuple[Tensor, Tensor]:
    """:func:`best_pairs` without the argument checks (for :func:`jsma`'s inner loop)."""
    d = alpha.shape[1]
    k = d if candidates is None else min(candidates, d)
    single = (sign * (alpha - beta)).masked_fill(~domain, float("-inf"))
    top = single.topk(k, dim=1).indices  # (M, k)
    a = alpha.gather(1, top)
    b = beta.gather(1, top)
    ok = domain.gather(1, top)
    a_pair = a[:, :, None] + a[:, None, :]
    b_pair = b[:, :, None] + b[:, None, :]
    upper = torch.ones(k, k, dtype=torch.bool, device=alpha.device).triu_(diagonal=1)
    valid = (sign * a_pair > 0) & (sign * b_pair < 0) & upper
    valid &= ok[:, :, None] & ok[:, None, :]
    score = (-a_pair * b_pair).masked_fill(~valid, float("-inf")).flatten(1)
    best = score.argmax(dim=1)
    found = valid.flatten(1).gather(1, best[:, None]).squeeze(1)
    p = top.gather(1, (best // k)[:, None])
    q = top.gather(1, (best % k)[:, None])
    return torch.cat([p, q], dim=1), found


def saliency_map(
    model: nn.Module, x: Tensor, target: Tensor, *, jacobian: Jacobian = "probs"
) -> tuple[Tensor, Tensor]:
    """Compute the two halves of JSMA's saliency map, each shaped like ``x``: ``(α, β)``.

    ``α = ∂F_t/∂x`` and ``β = Σ_{j≠t} ∂F_j/∂x`` for the target classes ``target``,
    with ``F`` the softmax (``jacobian="probs"``) or the logits. A feature is
    worth increasing for the target where ``α > 0`` and ``β < 0``. The model runs
    in eval mode with frozen parameters (restored afterwards).

    Raises
    ------
    ValueError
        For bad images or targets, or an unknown ``jacobian``.
    """
    jacobian = _check_jacobian(jacobian)
    check_images(model, x)
    with frozen_eval(model):
        target = prepare_labels(model, x, target, targeted=True)
        alpha, beta, _ = _gradients(model, x, target, jacobian)
    return alpha.view_as(x).detach(), beta.view_as(x).detach()


def _check_settings(
    *, targeted: bool, theta: float, gamma: float, jacobian: object, candidates: int
) -> tuple[float, float, Jacobian, int]:
    """Check JSMA's settings; return ``(theta, gamma, jacobian, candidates)``."""
    if targeted is not True:
        raise ArgumentError(
            "JSMA is a targeted attack: call it with targeted=True (the default) and the "
            "target classes as y"
        )
    if isinstance(gamma, bool) or not isinstance(gamma, numbers.Real) or not 0 < gamma <= 1:
        raise ArgumentError(
            f"gamma (the largest fraction of features JSMA may change) must lie in (0, 1], "
            f"got {gamma!r}"
        )
    if (
        isinstance(theta, bool)
        or not isinstance(theta, numbers.Real)
        or not math.isfinite(theta)
        or theta == 0
        or abs(theta) > 1
    ):
        raise ArgumentError(
            f"theta (the change per chosen feature, pixel units) must be a non-zero number in "
            f"[-1, 1], positive to brighten and negative to darken; got {theta!r}"
        )
    return (
        float(theta),
        float(gamma),
        _check_jacobian(jacobian),
        check_count(candidates, "candidates", minimum=2),
    )


def _feature_budget(gamma: float, d: int) -> int:
    """Return how many of the ``d`` features JSMA may change, at least one pair."""
    budget = int(gamma * d + 1e-9)
    if budget < 2:
        raise ArgumentError(
            f"gamma={gamma} allows {budget} of the {d} features to change; JSMA changes them "
            f"in pairs, so gamma must be at least {2 / d:.4g} for these images"
        )
    return budget


@register(norm="0", title="JSMA", modes=("targeted",))
def jsma(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    *,
    targeted: bool = True,
    theta: float = 1.0,
    gamma: float = 0.145,
    jacobian: Jacobian = "probs",
    candidates: int = 64,
) -> JSMAResult:
    """Targeted JSMA: change at most ``gamma`` of the features, in pairs, towards class ``y``.

    Threat model: white box (the attacker differentiates the model), L0 budget:
    at most ``gamma · C·H·W`` distinct features change, each only in ``theta``'s
    direction, and the result stays in [0, 1]. As in Papernot et al., a feature
    stays in the search domain until it reaches 1 (or 0 for ``theta < 0``), so
    with ``|theta| < 1`` it may be chosen again and move by a multiple of
    ``|theta|``; with the paper's ``theta = ±1`` each feature moves once, to the
    bound. Deterministic: no randomness.

    Parameters
    ----------
    model:
        Classifier returning logits for images in [0, 1]. Attacked in eval mode
        with frozen parameters; its mode and ``requires_grad`` flags are restored.
    x:
        Images, float (N, C, H, W) in [0, 1], on the model's device. Not modified.
    y:
        Target classes (N,); each must differ from the model's prediction on ``x``.
    targeted:
        Must be True: JSMA is a targeted attack (accepted for the common call shape).
    theta:
        Change applied to a feature each time it is chosen (pixel units): > 0
        brightens (the paper's θ = +1 sets it to 1), < 0 darkens. Non-zero,
        ``|theta| <= 1``.
    gamma:
        Largest fraction of the features that may change, in (0, 1] (the paper uses
        14.5 % on MNIST). Must allow at least one pair.
    jacobian:
        ``"probs"``: saliency of the softmax outputs (JSMA-F, as run against
        distillation); ``"logits"``: of the logits (JSMA-Z, the original attack).
    candidates:
        Features per image among which pairs are searched (the best by single
        score); exact when ``>= C·H·W``. Memory per image grows as its square.

    Returns
    -------
    JSMAResult
        ``x_adv``, ``success``, ``pixels_changed``, ``gradient_evals`` (and the
        pairs chosen at each iteration).

    Raises
    ------
    ValueError
        For ``gamma`` outside (0, 1] or too small for one pair, ``theta`` zero or
        outside [-1, 1], an unknown ``jacobian``, ``targeted=False``, bad images or
        targets, or a target the model already predicts (e.g. the true labels
        passed as targets).
    """
    theta, gamma, jacobian, candidates = _check_settings(
        targeted=targeted, theta=theta, gamma=gamma, jacobian=jacobian, candidates=candidates
    )
    check_images(model, x)
    n, d = x.shape[0], x[0].numel()
    budget = _feature_budget(gamma, d)
    sign = 1.0 if theta > 0 else -1.0
    k = min(candidates, d)
    max_iters = budget // 2
    x = x.detach()
    with frozen_eval(model):
        target = prepare_labels(model, x, y, targeted=True)
        flat = x.flatten(1).clone()
        # search domain: features that can still move in θ's direction
        domain = flat < 1.0 if sign > 0 else flat > 0.0
        changed = torch.zeros_like(domain)
        count = torch.zeros(n, dtype=torch.long, device=x.device)
        evals = torch.zeros(n, dtype=torch.long, device=x.device)
        success = torch.zeros(n, dtype=torch.bool, device=x.device)
        active = torch.ones(n, dtype=torch.bool, device=x.device)
        pairs = torch.full((n, max_iters, 2), -1, dtype=torch.long, device=x.device)
        for it in range(max_iters + 1):
            idx = active.nonzero().flatten()
            if len(idx) == 0:
                break
            shaped = flat[idx].view(-1, *x.shape[1:])
            alpha, beta, logits = _gradients(model, shaped, target[idx], jacobian)
            evals[idx] += 2
            hit = logits.argmax(dim=1) == target[idx]
            success[idx] = hit
            # an image stops on success, when the next pair could exceed the budget,
            # or (below) when no pair qualifies
            go = ~hit & (count[idx] + 2 <= budget)
            if it == max_iters:
                go[:] = False
            active[idx[~go]] = False
            if not bool(go.any()):
                continue
            idx, alpha, beta = idx[go], alpha[go], beta[go]
            pq, found = _best_pairs(alpha, beta, domain[idx], sign=sign, candidates=k)
            active[idx[~found]] = False  # no qualifying pair: the image stops (failure)
            idx, pq = idx[found], pq[found]
            if len(idx) == 0:
                continue
            pairs[idx, it] = pq
            rows = idx[:, None].expand(-1, 2)
            flat[rows, pq] = (flat[rows, pq] + theta).clamp(0.0, 1.0)
            new = ~changed[rows, pq]
            changed[rows, pq] = True
            count[idx] += new.sum(dim=1)
            vals = flat[rows, pq]
            domain[rows, pq] = vals < 1.0 if sign > 0 else vals > 0.0
        x_adv = flat.view_as(x)
        pixels = (x_adv != x).flatten(1).sum(dim=1)
    return JSMAResult(
        x_adv=x_adv.detach(),
        success=success,
        labels=target,
        targeted=True,
        pixels_changed=pixels,
        gradient_evals=evals,
        pairs=pairs,
        num_features=d,
    )
