"""Projected gradient descent (Madry, Makelov, Schmidt, Tsipras & Vladu, 2018), L∞ and L2.

PGD is BIM (:mod:`advlab.attacks.bim`) started from a random point of the
eps-ball, optionally restarted several times, and available for the L2 ball
as well: each step moves ``alpha`` along the gradient (its sign for L∞, its
direction for L2), then projects back onto the ball and into [0, 1].
Madry et al. argue it is the strongest attack that uses first-order
information only, which makes it the standard yardstick of robustness.
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
    check_flag,
    check_images,
    check_loss,
    check_norm,
    make_generator,
)
from ._common import (
    NORM_GEOMETRY,
    Loss,
    Norm,
    check_step_size,
    input_gradient,
    objective,
    prepare_labels,
)
from .registry import register

__all__ = ["pgd"]


@register(norm="inf", title="PGD")
def pgd(
    model: nn.Module,
    x: Tensor,
    y: Tensor | None = None,
    *,
    eps: float,
    alpha: float | None = None,
    steps: int = 10,
    norm: str | float = "inf",
    random_start: bool = True,
    restarts: int = 1,
    targeted: bool = False,
    loss: Loss = "ce",
    eot: int = 1,
    generator: torch.Generator | None = None,
    seed: int | None = None,
) -> Tensor:
    """Projected gradient ascent on the loss inside the L∞ or L2 ball of radius ``eps``.

    Threat model: white box. The attacker knows the model and its gradients and
    may add any perturbation ``delta`` with ``||delta||_p <= eps`` (pixel units,
    images in [0, 1]; ``p`` is ``norm``), the result clipped to [0, 1]. For L∞
    ``eps`` bounds each pixel's change; for L2 it bounds the Euclidean length of
    the whole perturbation, so L2 budgets are larger numbers (on 8x8 images an
    L∞ ball of radius 0.1 reaches L2 distance 0.8).

    Each step, for the objective of :func:`~advlab.attacks._common.objective`:

    - L∞: ``x' += alpha * sign(grad)``, then clamp into ``[x - eps, x + eps] ∩ [0, 1]``;
    - L2: ``x' += alpha * grad / ||grad||`` (per image), then scale ``x' - x``
      back to length ``eps`` if longer, then clip to [0, 1].

    The random start is uniform in the ball (L2: a uniform direction and a
    radius ``eps * U ** (1 / d)`` for ``d`` pixels), clipped to [0, 1].
    A non-finite input gradient takes the safe step of
    :func:`~advlab.attacks._common.safe_gradient` (NaN entries count as 0;
    for L2, an image with infinite entries steps along their signs, see
    :func:`~advlab.attacks._common.limit_direction`), so the result is never NaN. The last
    iterate of each run is kept (no early stopping). With ``restarts > 1`` each
    image keeps, among the runs that fooled the model (or among all runs if
    none did), the one with the highest final objective.

    Parameters
    ----------
    model:
        Classifier returning logits for images in [0, 1]. It is attacked in eval
        mode with frozen parameters; its mode and ``requires_grad`` flags are
        restored afterwards.
    x:
        Images, float (N, C, H, W) in [0, 1], on the model's device. Not modified.
    y:
        True labels (N,) — or targets when ``targeted=True``. If omitted
        (untargeted only) the model's predictions are used (no label leaking).
    eps:
        Radius of the ball in pixel units, in the chosen norm (0 returns ``x``).
        Radii that already allow every image in [0, 1] are clamped: to 1 for
        L∞, to ``sqrt(C * H * W)`` for L2.
    alpha:
        Step length in pixel units (L∞: per pixel; L2: of the whole step).
        Default ``min(eps, 2.5 * eps / steps)``. Longer steps than ``eps`` are
        allowed and meaningful from a random start (they can reach the far face
        of the ball, as in R+FGSM and FGSM-RS with ``alpha = 1.25 * eps``).
    steps:
        Gradient steps per run, at least 1.
    norm:
        ``"inf"`` (also ``"linf"``, ``float("inf")``) or ``2`` (also ``"2"``, ``"l2"``).
    random_start:
        Start from a uniform random point of the ball (Madry et al.) instead of ``x``.
    restarts:
        Independent random starts, at least 1 (more than 1 needs ``random_start``).
        Costs ``restarts * steps`` gradient passes plus ``restarts`` forward passes.
    targeted:
        Move towards the classes in ``y``. Every target must differ from the
        model's prediction on the clean image.
    loss:
        ``"ce"`` (cross-entropy on logits) or ``"margin"`` (Carlini–Wagner logit margin).
    eot:
        Expectation over transformation (Athalye et al., 2018): each step averages the input
        gradient of ``eot`` calls of the model (at least 1), for a randomised defense whose
        output changes from call to call. With a deterministic model, ``eot > 1`` only costs
        time. Costs ``eot`` gradient passes per step.
    generator, seed:
        Source of the random start: a ``torch.Generator``, or a seed for a new
        CPU generator (at most one of the two). Numbers are drawn on the
        generator's device and then moved to ``x``'s, so a seed gives the same
        start on CPU and CUDA. With neither, PyTorch's global generator is used.

    Returns
    -------
    Tensor
        Adversarial images, detached, same shape, dtype and device as ``x``,
        inside the ``eps``-ball around ``x`` and inside [0, 1].

    Raises
    ------
    ValueError
        For a negative or non-finite ``eps`` or ``alpha``, ``steps < 1`` or ``eot < 1``,
        ``restarts < 1`` (or ``> 1`` without a random start), an unknown
        ``norm`` or ``loss``, flags that are not booleans, bad images or labels,
        a model whose output is not (N, K) float logits, both ``generator`` and
        ``seed``, a seed outside 0 … 2**64 - 1, inference mode, or (targeted)
        a target the model already predicts.
    """
    eps = check_eps(eps)
    p = check_norm(norm)
    steps = check_count(steps, "steps")
    alpha = check_step_size(alpha, eps=eps, steps=steps)
    restarts = check_count(restarts, "restarts")
    random_start = check_flag(random_start, "random_start")
    targeted = check_flag(targeted, "targeted")
    if restarts > 1 and not random_start:
        raise ArgumentError(
            "restarts > 1 needs random_start=True: without a random start every run is the same"
        )
    check_loss(loss)
    eot = check_count(eot, "eot")
    gen = make_generator(generator, seed)
    check_images(model, x)
    x = x.detach()
    eps, alpha = meaningful_budget(eps, alpha, p, x[0].numel())
    with frozen_eval(model):
        y = prepare_labels(model, x, y, targeted=targeted)
        best = best_success = best_score = None
        for _ in range(restarts):
            start = uniform_start(x, eps, p, gen) if random_start else x.clone()
            x_adv = ascent(
                model,
                x,
                start,
                y,
                eps=eps,
                alpha=alpha,
                steps=steps,
                targeted=targeted,
                loss=loss,
                norm=p,
                eot=eot,
            )
            if restarts == 1:
                return x_adv
            with torch.no_grad():
                logits = model(x_adv)
            score = objective(logits, y, loss=loss, targeted=targeted)
            success = (logits.argmax(dim=1) == y) == targeted
            if best is None or best_success is None or best_score is None:
                best, best_success, best_score = x_adv, success, score
                continue
            better = (success & ~best_success) | ((success == best_success) & (score > best_score))
            best = torch.where(better[:, None, None, None], x_adv, best)
            best_success = best_success | success
            best_score = torch.where(better, score, best_score)
        return x_adv if best is None else best


def meaningful_budget(eps: float, alpha: float, p: Norm, d: int) -> tuple[float, float]:
    """``eps`` and ``alpha`` clamped to what they can mean for images in [0, 1]^d.

    L∞: a radius or step of 1 already reaches every image, so larger values
    change nothing and are clamped to 1. L2: the cube [0, 1]^d has diameter
    sqrt(d), so the radius is clamped to sqrt(d); a step is clamped to
    10**4 * sqrt(d), beyond which the projected step is the gradient direction
    to within 10**-4 of the radius. Without the clamps, huge budgets would
    overflow to inf and then NaN in the random start and the projection.
    """
    if p == "inf":
        return min(eps, 1.0), min(alpha, 1.0)
    diameter = math.sqrt(d)
    return min(eps, diameter), min(alpha, 1e4 * diameter)


def ascent(
    model: nn.Module,
    x: Tensor,
    x_adv: Tensor,
    y: Tensor,
    *,
    eps: float,
    alpha: float,
    steps: int,
    targeted: bool,
    loss: Loss,
    norm: Norm,
    eot: int = 1,
) -> Tensor:
    """Run the one ascent loop of BIM and PGD, on checked arguments, from ``x_adv`` (in the ball).

    Each step moves ``alpha`` along the steepest-ascent direction of the norm
    and projects back onto the ball and into [0, 1]; the norm enters only
    through :data:`~advlab.attacks._common.NORM_GEOMETRY` (``normalize``, ``project``).
    Labels are range-checked on the first step only (that check reads back from the device).
    With ``eot > 1`` each step uses the mean of ``eot`` input gradients (for randomised models).
    """
    geometry = NORM_GEOMETRY[norm]
    for step in range(steps):
        grad, _ = input_gradient(
            model, x_adv, y, loss=loss, targeted=targeted, check_range=step == 0
        )
        for _ in range(eot - 1):
            grad += input_gradient(
                model, x_adv, y, loss=loss, targeted=targeted, check_range=False
            )[0]
        if eot > 1:
            grad /= eot
        x_adv = geometry.project(x, x_adv, eps, geometry.normalize(grad, alpha))
    return x_adv


def uniform_start(x: Tensor, eps: float, p: Norm, gen: torch.Generator | None) -> Tensor:
    """Return a uniform random point of the eps-ball around x, clipped to [0, 1] (a new tensor)."""
    return NORM_GEOMETRY[p].random_start(x, eps, gen)
