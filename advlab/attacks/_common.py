"""Argument checks and loss gradients shared by every attack.

Every attack in advlab follows one contract (see DESIGN.md): images are float
tensors in [0, 1] of shape (N, C, H, W); epsilons are in pixel units; the input
is never modified; the model is attacked in eval mode with its parameters'
``requires_grad`` switched off, and both are restored afterwards; the result is
a detached tensor on the input's device and dtype.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._utils import model_device, model_dtype

__all__ = [
    "Loss",
    "Norm",
    "check_count",
    "check_eps",
    "check_images",
    "check_labels",
    "check_norm",
    "check_real",
    "check_step_size",
    "input_gradient",
    "make_generator",
    "objective",
    "prepare_labels",
]

Loss = Literal["ce", "margin"]
LOSSES = ("ce", "margin")
Norm = Literal["inf", 2]


def check_eps(value: object, name: str = "eps") -> float:
    """A finite, non-negative float (pixel units), or a ValueError that says so."""
    if isinstance(value, Tensor):
        if value.numel() != 1:
            raise ValueError(
                f"{name} must be a single number, got a tensor of shape {tuple(value.shape)}"
            )
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number (pixel units), got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value) or value < 0:
        raise ValueError(
            f"{name} must be a finite number >= 0 (pixel units, images in [0, 1]); got {value}"
        )
    return value


def check_images(model: nn.Module, x: Tensor) -> None:
    """x must be a float (N, C, H, W) tensor in [0, 1] on the model's device and dtype."""
    if not isinstance(model, nn.Module):
        raise ValueError(
            f"model must be a torch.nn.Module returning logits, got {type(model).__name__}"
        )
    if not isinstance(x, Tensor):
        raise ValueError(f"x must be a torch.Tensor of images, got {type(x).__name__}")
    if not x.is_floating_point():
        raise ValueError(
            f"x must be a floating-point tensor in [0, 1], got dtype {x.dtype}; "
            "convert uint8 images with x.float() / 255"
        )
    if x.ndim != 4 or x.shape[0] == 0:
        raise ValueError(
            f"x must have shape (N, C, H, W) with N >= 1, got {tuple(x.shape)}; "
            "add a batch dimension with x.unsqueeze(0) for a single image"
        )
    # one pass and one read-back: NaN and ±inf propagate into the extremes
    lo, hi = torch.stack(torch.aminmax(x)).tolist()
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError("x contains NaN or infinite values")
    if lo < 0.0 or hi > 1.0:
        raise ValueError(
            f"x must lie in [0, 1] (pixel space; normalisation belongs inside the model), "
            f"but its values span [{lo:.4g}, {hi:.4g}]"
        )
    dev = model_device(model)
    if dev is not None and dev != x.device:
        raise ValueError(
            f"x is on {x.device} but the model is on {dev}; move one to the other, "
            "e.g. x = x.to(next(model.parameters()).device)"
        )
    dt = model_dtype(model)
    if dt is not None and dt != x.dtype:
        raise ValueError(
            f"x has dtype {x.dtype} but the model's parameters are {dt}; use x.to({dt})"
        )


def check_labels(y: Tensor, x: Tensor, what: str = "y") -> Tensor:
    """y must be an integer tensor of shape (N,) on x's device; returned as int64."""
    if not isinstance(y, Tensor):
        raise ValueError(f"{what} must be a torch.Tensor of class indices, got {type(y).__name__}")
    if y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
        raise ValueError(
            f"{what} must hold integer class indices, got dtype {y.dtype}; use {what}.long()"
        )
    if y.shape != (x.shape[0],):
        raise ValueError(
            f"{what} must have shape ({x.shape[0]},) to match x's {x.shape[0]} images, "
            f"got {tuple(y.shape)}"
        )
    if y.device != x.device:
        raise ValueError(f"{what} is on {y.device} but x is on {x.device}; use {what}.to(x.device)")
    return y.long()


def check_label_range(y: Tensor, num_classes: int, what: str = "y") -> None:
    if len(y) and (int(y.min()) < 0 or int(y.max()) >= num_classes):
        raise ValueError(
            f"{what} must hold class indices in [0, {num_classes - 1}] for this model, "
            f"got values in [{int(y.min())}, {int(y.max())}]"
        )


def check_loss(loss: str) -> None:
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; choose one of {', '.join(map(repr, LOSSES))}")


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
            check_label_range(y, logits.shape[1])
        value = objective(logits, y, loss=loss, targeted=targeted).sum()
        (grad,) = torch.autograd.grad(value, x)
    return grad, logits.detach()


def resolve_labels(model: nn.Module, x: Tensor, y: Tensor | None, *, targeted: bool) -> Tensor:
    """Check y, or use the model's predictions when y is None (untargeted only)."""
    if y is None:
        if targeted:
            raise ValueError("a targeted attack needs y: pass the target class of each image as y")
        with torch.no_grad():
            return model(x).argmax(dim=1)
    return check_labels(y, x)


def prepare_labels(model: nn.Module, x: Tensor, y: Tensor | None, *, targeted: bool) -> Tensor:
    """The labels an attack works with: :func:`resolve_labels`, plus a targeted-mode check.

    In targeted mode every target must differ from the model's current
    prediction on the clean image: an image already classified as its target
    needs no attack, and such a target is almost always a mistake (usually the
    true labels passed as targets). Call inside :func:`advlab._utils.frozen_eval`
    so the prediction is made in eval mode. Costs one forward pass when
    ``y`` is None or ``targeted`` is set, none otherwise.
    """
    if not targeted:
        return resolve_labels(model, x, y, targeted=False)
    y = resolve_labels(model, x, y, targeted=True)
    with torch.no_grad():
        logits = model(x)
    check_label_range(y, logits.shape[1], what="y (the targets)")
    hit = logits.argmax(dim=1) == y
    if bool(hit.any()):
        where = hit.nonzero().flatten()
        shown = ", ".join(str(int(i)) for i in where[:5]) + (", ..." if len(where) > 5 else "")
        raise ValueError(
            f"targeted attack: {len(where)} of {len(y)} images are already classified as their "
            f"target class (indices {shown}); with targeted=True, y holds the targets, so pick "
            "targets that differ from the model's prediction, e.g. "
            "y = (model(x).argmax(1) + 1) % num_classes"
        )
    return y


def check_real(value: object, name: str, *, positive: bool = False) -> float:
    """A finite float that is >= 0 (or > 0 with ``positive``), or a ValueError that says so."""
    if isinstance(value, Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        bound = "> 0" if positive else ">= 0"
        raise ValueError(f"{name} must be a finite number {bound}; got {value}")
    return value


def check_count(value: object, name: str, *, minimum: int = 1) -> int:
    """An int >= ``minimum`` (steps, restarts, ...), or a ValueError that says so."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    return value


def check_norm(norm: object) -> Norm:
    """``"inf"`` for the L∞ ball or ``2`` for the L2 ball, from any common spelling."""
    if isinstance(norm, str):
        key = norm.strip().lower().replace("_", "")
        if key in ("inf", "linf", "l∞", "∞"):
            return "inf"
        if key in ("2", "l2"):
            return 2
    elif isinstance(norm, (int, float)) and not isinstance(norm, bool):
        if norm == math.inf:
            return "inf"
        if norm == 2:
            return 2
    raise ValueError(
        f"unknown norm {norm!r}; use norm='inf' (L∞ ball: each pixel moves by at most eps) "
        "or norm=2 (L2 ball: the perturbation's Euclidean length is at most eps)"
    )


def check_step_size(alpha: object, *, eps: float, steps: int) -> float:
    """The step size of an iterative attack: ``alpha`` checked, or the default.

    The default ``min(eps, 2.5 * eps / steps)`` lets the iterates travel 2.5
    times the radius in total, enough to cross the ball from a random start and
    to come back from a wrong turn (Madry et al. use a similar ratio). A step
    longer than ``eps`` is meaningless: the projection cuts it back to the ball.
    """
    if alpha is None:
        return min(eps, 2.5 * eps / steps)
    step = check_real(alpha, "alpha")
    if step > eps:
        raise ValueError(
            f"alpha (the step size, {step}) must not exceed eps ({eps}): a longer step is cut back "
            "by the projection onto the eps-ball; use alpha <= eps, or alpha=None for the "
            "default 2.5 * eps / steps"
        )
    return step


def make_generator(generator: object, seed: object) -> torch.Generator | None:
    """The random source of a randomised attack: ``generator``, a new one seeded ``seed``, or None.

    None means PyTorch's global generator (reproducible only via ``torch.manual_seed``).
    """
    if generator is not None and seed is not None:
        raise ValueError("pass either generator= or seed=, not both")
    if generator is not None:
        if not isinstance(generator, torch.Generator):
            raise ValueError(f"generator must be a torch.Generator, got {type(generator).__name__}")
        return generator
    if seed is not None:
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ValueError(f"seed must be an int, got {type(seed).__name__}")
        return torch.Generator().manual_seed(seed)
    return None
