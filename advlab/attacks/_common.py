"""Attack math shared by every attack: objectives, input gradients, labels and step limits.

Every attack in advlab keeps one contract (written out in CONTRIBUTING.md):
images are float tensors in [0, 1] of shape (N, C, H, W); epsilons are in
pixel units; the input is never modified; the model is attacked in eval mode
with its parameters' ``requires_grad`` switched off, and both are restored
afterwards; the result is a detached tensor on the input's device and dtype.
The argument checks they all run first live in :mod:`advlab._validate`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._validate import (
    ArgumentError,
    Loss,
    Norm,
    check_depends_on_input,
    check_finite_logits,
    check_flag,
    check_label_range,
    check_labels,
    check_logits,
    check_norm,
    check_real,
)

__all__ = [
    "NORM_GEOMETRY",
    "Loss",
    "Norm",
    "NormGeometry",
    "ball_tolerance",
    "check_step_size",
    "input_gradient",
    "l2_normalize",
    "l2_project",
    "l2_random_start",
    "limit_direction",
    "linf_normalize",
    "linf_project",
    "linf_random_start",
    "objective",
    "prepare_labels",
    "resolve_labels",
    "safe_gradient",
]


def ball_tolerance(
    dtype: torch.dtype, norm: object = "inf", *, eps: float = 0.0, numel: int = 1
) -> float:
    """How far past its budget a result in ``dtype`` may lie through rounding alone.

    The attacks compute ``x + delta`` and clamp in the images' own dtype, so a
    distance measured afterwards can exceed ``eps`` by a few units in the last
    place of values near 1. With ``u = torch.finfo(dtype).eps``:

    - L∞ (``norm="inf"``, the default): ``8 * u`` per pixel (about 1e-6 for
      float32, 8e-3 for float16, 6e-2 for bfloat16).
    - L2 (``norm=2``): the per-pixel slack over ``numel`` pixels adds up to
      ``8 * u * sqrt(numel)`` in length, and the projection's own norm is
      computed in ``dtype`` (relative error a few ``u``): ``8 * u * (sqrt(numel)
      + eps)``. It grows with the image size: for (3, 128, 128) images at
      ``eps = 7`` in float32 it is about 2.2e-4 (PGD measured 5e-6 past eps).

    Tests of the ball use it; ``numel`` is the number of values in one image.
    """
    u = 8 * torch.finfo(dtype).eps
    if check_norm(norm) == "inf":
        return u
    return u * (math.sqrt(numel) + abs(float(eps)))


def objective(logits: Tensor, y: Tensor, *, loss: Loss, targeted: bool) -> Tensor:
    """Per-example quantity the attack *increases*.

    ``ce``: cross-entropy with the true label (untargeted) or minus cross-entropy
    with the target (targeted). ``margin`` (Carlini–Wagner): the best other
    logit minus the label's logit (untargeted), or the target's logit minus the
    best other logit (targeted); positive exactly when the attack has succeeded.
    """
    if loss == "ce":
        ce = F.cross_entropy(logits, y, reduction="none")
        return -ce if targeted else ce
    label_logit = logits.gather(1, y[:, None]).squeeze(1)
    others = logits.scatter(1, y[:, None], float("-inf")).amax(dim=1)
    return label_logit - others if targeted else others - label_logit


def input_gradient(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    *,
    loss: Loss,
    targeted: bool,
    check_range: bool = True,
) -> tuple[Tensor, Tensor]:
    """Gradient of the summed objective with respect to x, and the logits at x.

    Summing (not averaging) keeps each image's gradient independent of the batch
    it travels in. Only the input needs a gradient; the model's parameters are
    frozen by the caller, so no parameter gradients are computed.

    ``check_range=False`` skips the check that ``y`` holds valid class indices
    (it reads two numbers back from the device): iterative attacks check on
    their first step only.
    """
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        logits = model(x)
        if check_range:
            check_finite_logits(check_logits(logits, x.shape[0]))
            check_depends_on_input(logits)
            check_label_range(y, logits.shape[1])
        value = objective(logits, y, loss=loss, targeted=targeted).sum()
        (grad,) = torch.autograd.grad(value, x)
    return safe_gradient(grad), logits.detach()


def safe_gradient(grad: Tensor) -> Tensor:
    """Make the documented safe step for a NaN input gradient: NaN entries become 0, in place.

    A NaN carries no direction (e.g. ``0 * inf`` inside the model), so those
    pixels do not move. Infinite entries (e.g. ``x.sqrt()`` at a black pixel)
    keep their sign, which is all an L∞ step uses; the L2 step turns them into
    a direction with :func:`limit_direction`. No attack can therefore step to
    NaN. One in-place kernel, no read-back.
    """
    return grad.nan_to_num_(nan=0.0, posinf=math.inf, neginf=-math.inf)


def limit_direction(grad: Tensor) -> Tensor:
    """For each image whose gradient has infinite entries, keep only those, as ±1.

    That is the direction the gradient takes in the limit; finite gradients
    are returned unchanged. Branch-free (no read-back from the device).
    """
    inf = grad.isinf()
    rows = inf.flatten(1).any(dim=1).view((-1,) + (1,) * (grad.ndim - 1))
    return torch.where(rows, torch.where(inf, grad.sign(), 0.0), grad)


def resolve_labels(model: nn.Module, x: Tensor, y: Tensor | None, *, targeted: bool) -> Tensor:
    """Check y, or use the model's predictions when y is None (untargeted only)."""
    if y is None:
        if targeted:
            raise ArgumentError(
                "a targeted attack needs y: pass the target class of each image as y"
            )
        with torch.no_grad():
            return check_finite_logits(check_logits(model(x), x.shape[0])).argmax(dim=1)
    return check_labels(y, x)


def prepare_labels(model: nn.Module, x: Tensor, y: Tensor | None, *, targeted: bool) -> Tensor:
    """Return the labels an attack works with: :func:`resolve_labels` plus a targeted check.

    In targeted mode every target must differ from the model's current
    prediction on the clean image: an image already classified as its target
    needs no attack, and such a target is almost always a mistake (usually the
    true labels passed as targets). Call inside :func:`advlab._utils.frozen_eval`
    so the prediction is made in eval mode. Costs one forward pass when
    ``y`` is None or ``targeted`` is set, none otherwise.
    """
    targeted = check_flag(targeted, "targeted")
    if not targeted:
        return resolve_labels(model, x, y, targeted=False)
    y = resolve_labels(model, x, y, targeted=True)
    with torch.no_grad():
        logits = check_finite_logits(check_logits(model(x), x.shape[0]))
    check_label_range(y, logits.shape[1], what="y (the targets)")
    hit = logits.argmax(dim=1) == y
    if bool(hit.any()):
        where = hit.nonzero().flatten()
        shown = ", ".join(str(int(i)) for i in where[:5]) + (", ..." if len(where) > 5 else "")
        raise ArgumentError(
            f"targeted attack: {len(where)} of {len(y)} images are already classified as their "
            f"target class (indices {shown}); with targeted=True, y holds the targets, so pick "
            "targets that differ from the model's prediction, e.g. "
            "y = (model(x).argmax(1) + 1) % num_classes"
        )
    return y


def check_step_size(alpha: object, *, eps: float, steps: int) -> float:
    """Return the step size of an iterative attack: ``alpha`` checked, or the default.

    The default ``min(eps, 2.5 * eps / steps)`` lets the iterates travel 2.5
    times the radius in total, enough to cross the ball from a random start and
    to come back from a wrong turn. (Madry et al.'s own budgets travel less:
    40 steps of 0.01 for eps = 0.3 on MNIST, 1.33 times the radius, and 7 steps
    of 2/255 for eps = 8/255 on CIFAR-10, 1.75 times.)

    Any finite ``alpha >= 0`` is allowed, including ``alpha > eps``: from a
    random start a step longer than the radius is meaningful, since it can
    reach the far face of the ball (R+FGSM, Tramèr et al. 2018; FGSM-RS with
    alpha = 1.25 eps, Wong et al. 2020). From ``x`` itself (BIM) the projection
    cuts such a step back to the radius.
    """
    if alpha is None:
        return min(eps, 2.5 * eps / steps)
    return check_real(alpha, "alpha")


# --- per-norm geometry of the eps-ball: step direction, projection, random start ---------------
#
# PGD's one ascent loop (and APGD's) sees the norm only through these three functions, as
# foolbox's gradient_descent_base does: ``normalize`` turns an input gradient into the
# steepest-ascent step of a given length, ``project`` puts ``x_adv + step`` back into the
# eps-ball around ``x`` and into [0, 1], ``random_start`` draws a uniform point of the ball.
# They work on checked arguments (eps, alpha already in pixel units and finite).


def _work_dtype(dtype: torch.dtype) -> torch.dtype:
    """float32 for half-precision tensors (a step or a norm would overflow float16), else dtype."""
    return torch.float32 if dtype in (torch.float16, torch.bfloat16) else dtype


def _per_image(t: Tensor) -> tuple[int, ...]:
    return (-1,) + (1,) * (t.ndim - 1)


def linf_normalize(grad: Tensor, alpha: float) -> Tensor:
    """Return the L∞ step of length ``alpha``: ``alpha * sign(grad)`` (``grad`` is overwritten).

    Computed in float32 for half-precision gradients, as the L∞ step always was.
    """
    return grad.to(_work_dtype(grad.dtype)).sign_().mul_(alpha)


def linf_project(x: Tensor, x_adv: Tensor, eps: float, step: Tensor | None = None) -> Tensor:
    """``x_adv + step`` clamped into ``[max(x - eps, 0), min(x + eps, 1)]``, in ``x``'s dtype.

    For L∞ the ball and [0, 1] together are a box per pixel, so the projection is one clamp.
    """
    if step is not None:
        x_adv = x_adv.add(step).to(x.dtype)
    return torch.clamp(x_adv, min=(x - eps).clamp_(min=0.0), max=(x + eps).clamp_(max=1.0))


def linf_random_start(x: Tensor, eps: float, generator: torch.Generator | None) -> Tensor:
    """Return a uniform point of the L∞ eps-ball around ``x``, clipped to [0, 1], as a new tensor.

    Drawn in float32 on the generator's device (CPU by default), then moved to ``x``'s.
    """
    where = generator.device if generator is not None else torch.device("cpu")
    u = torch.rand(x.shape, generator=generator, device=where)
    delta = u.mul_(2 * eps).sub_(eps).to(device=x.device, dtype=x.dtype)
    return linf_project(x, x + delta, eps)


def l2_normalize(grad: Tensor, alpha: float) -> Tensor:
    """Return the L2 step of length ``alpha`` along each gradient (``grad`` may be overwritten).

    An image whose gradient has infinite entries steps along their signs
    (:func:`limit_direction`); a zero gradient gives a zero step. Computed in
    float32 for half-precision gradients.
    """
    grad = limit_direction(grad.to(_work_dtype(grad.dtype)))
    length = torch.linalg.vector_norm(grad.flatten(1), dim=1).clamp_min_(1e-12)
    return grad.mul_(alpha).div_(length.view(_per_image(grad)))


def l2_project(x: Tensor, x_adv: Tensor, eps: float, step: Tensor | None = None) -> Tensor:
    """``x_adv + step`` put into the L2 eps-ball around ``x`` and then into [0, 1].

    The perturbation ``x_adv - x (+ step)`` is scaled back to length ``eps``
    where longer, then clipped; computed in float32 for half-precision images.
    """
    work = _work_dtype(x.dtype)
    x_work = x.to(work)
    delta = x_adv.to(work) - x_work
    if step is not None:
        delta.add_(step)
    length = torch.linalg.vector_norm(delta.flatten(1), dim=1)
    # scale back to the sphere where too long; where(...) never uses eps / 0
    delta.mul_(torch.where(length > eps, eps / length, 1.0).view(_per_image(delta)))
    return delta.add_(x_work).clamp_(0.0, 1.0).to(x.dtype)


def l2_random_start(x: Tensor, eps: float, generator: torch.Generator | None) -> Tensor:
    """Return a uniform point of the L2 eps-ball around ``x``, clipped to [0, 1], as a new tensor.

    A uniform direction and a radius ``eps * U ** (1 / d)`` for ``d`` pixels,
    drawn in float32 on the generator's device (CPU by default), then moved to ``x``'s.
    """
    where = generator.device if generator is not None else torch.device("cpu")
    n, d = x.shape[0], x[0].numel()
    direction = torch.randn((n, d), generator=generator, device=where)
    direction /= torch.linalg.vector_norm(direction, dim=1, keepdim=True).clamp_min_(1e-12)
    radius = eps * torch.rand((n, 1), generator=generator, device=where).pow_(1.0 / d)
    delta = (direction * radius).view(x.shape).to(device=x.device, dtype=x.dtype)
    return (x + delta).clamp_(0.0, 1.0)


class NormGeometry(NamedTuple):
    """The three per-norm functions of an ascent loop (see the section comment above)."""

    normalize: Callable[[Tensor, float], Tensor]
    project: Callable[..., Tensor]
    random_start: Callable[[Tensor, float, torch.Generator | None], Tensor]


#: ``NORM_GEOMETRY[check_norm(norm)]``: the functions for the L∞ ball ("inf") and the L2 ball (2).
NORM_GEOMETRY: dict[Norm, NormGeometry] = {
    "inf": NormGeometry(linf_normalize, linf_project, linf_random_start),
    2: NormGeometry(l2_normalize, l2_project, l2_random_start),
}
