"""Auto-PGD (Croce & Hein, 2020): PGD whose step size needs no tuning, L∞ and L2.

APGD is PGD with three changes, all from Croce & Hein's paper:

- **a step-size schedule** driven by the attack's own progress. The step starts at
  ``2 eps``; at checkpoints ``w_j = ceil(p_j * steps)`` with ``p_0 = 0``, ``p_1 = 0.22`` and
  ``p_{j+1} = p_j + max(p_j - p_{j-1} - 0.03, 0.06)``, an image's step is halved when its
  objective rose in fewer than ``rho`` of the steps since the last checkpoint, or when neither
  its step nor its best objective changed since then; a halved image restarts from its best
  point so far;
- **momentum**: ``z = P(x_k + eta * s(grad))`` and ``x_{k+1} = P(x_k + a (z - x_k) +
  (1 - a)(x_k - x_{k-1}))`` with ``a = 0.75`` (``s`` the sign for L∞, the unit direction for
  L2, ``P`` the projection onto the ball and [0, 1]);
- **the DLR loss**, ``-(z_y - max_{i != y} z_i) / (z_(1) - z_(3))`` with ``z_(k)`` the k-th
  largest logit: a margin divided by a spread of the logits, so it does not change when the
  logits are scaled, which cross-entropy's gradient does (the saturation of Part II).

The result keeps, per image, an iterate that fooled the model if any did, else the iterate with
the highest objective. Restarts draw new random starts and keep the same per-image choice.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._utils import frozen_eval
from .._validate import (
    ArgumentError,
    check_count,
    check_depends_on_input,
    check_eps,
    check_finite_logits,
    check_images,
    check_label_range,
    check_labels,
    check_logits,
    check_norm,
    check_real,
    make_generator,
)
from ._common import NORM_GEOMETRY, Norm, objective, resolve_labels, safe_gradient
from .pgd import meaningful_budget
from .registry import register

__all__ = ["APGD_LOSSES", "apgd", "apgd_checkpoints", "dlr_loss"]

#: The objectives APGD can ascend: cross-entropy and the difference-of-logits ratio.
APGD_LOSSES = ("ce", "dlr")
ApgdLoss = Literal["ce", "dlr"]


def dlr_loss(logits: Tensor, y: Tensor) -> Tensor:
    """Croce & Hein's difference-of-logits ratio, per image (the attack *increases* it).

    ``-(z_y - max_{i != y} z_i) / (z_(1) - z_(3) + 1e-12)``: positive exactly when the image is
    misclassified, and unchanged when every logit is scaled by the same positive factor or
    shifted by the same amount. It needs at least three classes.
    """
    if not isinstance(logits, Tensor) or logits.ndim != 2:
        shape = tuple(logits.shape) if isinstance(logits, Tensor) else type(logits).__name__
        raise ArgumentError(f"logits must be a tensor of shape (N, K), got {shape}")
    check_logits(logits, logits.shape[0])
    if logits.shape[1] < 3:
        raise ArgumentError(
            f"the DLR loss needs logits (N, K) with K >= 3 classes, got shape "
            f"{tuple(logits.shape)}; use loss='ce' for fewer classes"
        )
    y = check_labels(y, logits)
    check_label_range(y, logits.shape[1])
    return _dlr(logits, y)


def apgd_checkpoints(steps: int) -> list[int]:
    """Return the iterations after which APGD may halve its step: ``ceil(p_j * steps)``.

    ``p_j`` as in the module's description; strictly increasing, each at least 1 and at most
    ``steps``.

    >>> apgd_checkpoints(100)
    [22, 41, 57, 70, 80, 87, 93, 99]
    """
    steps = check_count(steps, "steps")
    p = [0.0, 0.22]
    while True:
        nxt = p[-1] + max(p[-1] - p[-2] - 0.03, 0.06)
        if nxt > 1:
            break
        p.append(nxt)
    out = sorted({math.ceil(q * steps - 1e-9) for q in p[1:]})
    return [w for w in out if 1 <= w <= steps]


def _dlr(logits: Tensor, y: Tensor) -> Tensor:
    """:func:`dlr_loss` on checked arguments (the attack's inner loop)."""
    top = logits.topk(3, dim=1).values
    # the numerator is the untargeted margin objective: max_{i != y} z_i - z_y
    return objective(logits, y, loss="margin", targeted=False) / (top[:, 0] - top[:, 2] + 1e-12)


def _objective(logits: Tensor, y: Tensor, loss: ApgdLoss) -> Tensor:
    if loss == "ce":
        return F.cross_entropy(logits, y, reduction="none")
    return _dlr(logits, y)


def _value_and_grad(
    model: nn.Module, x: Tensor, y: Tensor, loss: ApgdLoss, first: bool
) -> tuple[Tensor, Tensor, Tensor]:
    """Return the objective per image, its input gradient and the logits at ``x``.

    The model's output is checked on the ``first`` call only.
    """
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        logits = model(x)
        if first:
            check_finite_logits(check_logits(logits, x.shape[0]))
            check_depends_on_input(logits)
            check_label_range(y, logits.shape[1])
            if loss == "dlr" and logits.shape[1] < 3:
                raise ArgumentError(
                    f"loss='dlr' needs a model with at least 3 classes, this one has "
                    f"{logits.shape[1]}; use loss='ce'"
                )
        value = _objective(logits, y, loss)
        (grad,) = torch.autograd.grad(value.sum(), x)
    return value.detach(), safe_gradient(grad), logits.detach()


def _run(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    start: Tensor,
    *,
    eps: float,
    steps: int,
    loss: ApgdLoss,
    norm: Norm,
    rho: float,
) -> tuple[Tensor, Tensor, Tensor]:
    """One APGD run from ``start``: (images kept, fooled per image, their objective)."""
    geometry = NORM_GEOMETRY[norm]
    view = (-1,) + (1,) * (x.ndim - 1)
    n = x.shape[0]
    checkpoints = set(apgd_checkpoints(steps))
    eta = torch.full((n,), 2.0 * eps, device=x.device, dtype=torch.float32)

    x_k = start
    f_k, grad, logits = _value_and_grad(model, x_k, y, loss, first=True)
    fooled = logits.argmax(1) != y
    x_fooled = torch.where(fooled.view(view), x_k, x)
    x_best, f_best = x_k.clone(), f_k.clone()
    x_prev = x_k
    rises = torch.zeros(n, device=x.device, dtype=torch.long)
    eta_last = eta.clone()
    f_best_last = f_best.clone()
    last_check = 0
    for k in range(steps):
        step = geometry.normalize(grad, 1.0).mul_(eta.view(view).to(grad.dtype))
        z = geometry.project(x, x_k, eps, step)
        if k == 0:
            x_next = z
        else:
            pull = 0.75 * (z - x_k) + 0.25 * (x_k - x_prev)
            x_next = geometry.project(x, x_k, eps, pull)
        x_prev, x_k = x_k, x_next
        f_new, grad, logits = _value_and_grad(model, x_k, y, loss, first=False)
        now = logits.argmax(1) != y
        x_fooled = torch.where(now.view(view), x_k, x_fooled)
        fooled |= now
        rises += (f_new > f_k).long()
        f_k = f_new
        better = f_new > f_best
        x_best = torch.where(better.view(view), x_k, x_best)
        f_best = torch.where(better, f_new, f_best)
        if k + 1 in checkpoints:
            since = k + 1 - last_check
            stalled = (rises.double() < rho * since) | ((eta == eta_last) & (f_best <= f_best_last))
            eta_last, f_best_last = eta.clone(), f_best.clone()
            eta = torch.where(stalled, eta / 2, eta)
            # a halved image goes back to its best point (and its gradient there)
            if bool(stalled.any()):
                x_k = torch.where(stalled.view(view), x_best, x_k)
                f_back, g_back, _ = _value_and_grad(model, x_k, y, loss, first=False)
                grad = torch.where(stalled.view(view), g_back, grad)
                f_k = torch.where(stalled, f_back, f_k)
            rises.zero_()
            last_check = k + 1
    kept = torch.where(fooled.view(view), x_fooled, x_best)
    return kept.detach(), fooled, torch.where(fooled, torch.inf, f_best)


@register(norm="inf", title="APGD-CE")
def apgd(
    model: nn.Module,
    x: Tensor,
    y: Tensor | None = None,
    *,
    eps: float,
    steps: int = 100,
    norm: str | float = "inf",
    loss: str = "ce",
    restarts: int = 1,
    rho: float = 0.75,
    generator: torch.Generator | None = None,
    seed: int | None = None,
) -> Tensor:
    """Auto-PGD: untargeted APGD-CE (``loss="ce"``) or APGD-DLR (``loss="dlr"``), L∞ or L2.

    Threat model: white box, as :func:`~advlab.attacks.pgd`: any perturbation with
    ``||delta||_p <= eps`` (pixel units, images in [0, 1]), the result in [0, 1]. The
    algorithm is described in :mod:`advlab.attacks.apgd`; it has no step size to tune.

    Parameters
    ----------
    model:
        Classifier returning logits for images in [0, 1]; attacked in eval mode with frozen
        parameters, both restored afterwards.
    x:
        Images, float (N, C, H, W) in [0, 1], on the model's device. Not modified.
    y:
        True labels (N,); if omitted, the model's predictions.
    eps:
        Radius of the ball in the chosen norm (0 returns ``x``).
    steps:
        Iterations per run (at least 1); a run costs ``steps + 1`` gradient passes, plus one
        for each checkpoint at which some image's step is halved.
    norm:
        ``"inf"`` or ``2``, as for :func:`~advlab.attacks.pgd`.
    loss:
        ``"ce"`` (cross-entropy) or ``"dlr"`` (the difference-of-logits ratio, at least three
        classes).
    restarts:
        Independent random starts (uniform in the ball), at least 1; each image keeps a
        fooling iterate of any run, else the run with the highest objective.
    rho:
        The checkpoint's threshold, in (0, 1]: halve the step when the objective rose in
        fewer than ``rho`` of the steps since the last checkpoint (0.75 in the paper).
    generator, seed:
        Source of the random starts (at most one of the two), as for :func:`~advlab.attacks.pgd`.

    Returns
    -------
    Tensor
        Adversarial images, detached, same shape, dtype and device as ``x``, inside the
        ``eps``-ball around ``x`` and inside [0, 1].

    Raises
    ------
    ValueError
        For a negative or non-finite ``eps``, ``steps < 1``, ``restarts < 1``, ``rho``
        outside (0, 1], an unknown ``norm`` or ``loss``, the DLR loss with fewer than three
        classes, bad images or labels, a model whose output is not finite (N, K) logits, or
        both ``generator`` and ``seed``.
    """
    eps = check_eps(eps)
    p = check_norm(norm)
    steps = check_count(steps, "steps")
    restarts = check_count(restarts, "restarts")
    rho = check_real(rho, "rho", positive=True)
    if rho > 1:
        raise ArgumentError(f"rho must be in (0, 1], got {rho}")
    if not isinstance(loss, str) or loss not in APGD_LOSSES:
        raise ArgumentError(
            f"unknown loss {loss!r} for apgd; choose one of {', '.join(map(repr, APGD_LOSSES))}"
        )
    objective: ApgdLoss = "ce" if loss == "ce" else "dlr"
    gen = make_generator(generator, seed)
    check_images(model, x)
    x = x.detach()
    if eps == 0:
        return x.clone()
    eps, _ = meaningful_budget(eps, eps, p, x[0].numel())
    with frozen_eval(model):
        y = resolve_labels(model, x, y, targeted=False)
        best = best_fooled = best_score = None
        for _ in range(restarts):
            start = NORM_GEOMETRY[p].random_start(x, eps, gen)
            x_adv, fooled, score = _run(
                model, x, y, start, eps=eps, steps=steps, loss=objective, norm=p, rho=rho
            )
            if best is None or best_fooled is None or best_score is None:
                best, best_fooled, best_score = x_adv, fooled, score
                continue
            better = (fooled & ~best_fooled) | ((fooled == best_fooled) & (score > best_score))
            view = (-1,) + (1,) * (x.ndim - 1)
            best = torch.where(better.view(view), x_adv, best)
            best_fooled = best_fooled | fooled
            best_score = torch.where(better, score, best_score)
        assert best is not None
        return best
