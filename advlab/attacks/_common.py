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

__all__ = ["Loss", "check_eps", "check_images", "check_labels", "input_gradient", "objective"]

Loss = Literal["ce", "margin"]
LOSSES = ("ce", "margin")


def check_eps(value: object, name: str = "eps") -> float:
    """A finite, non-negative float (pixel units), or a ValueError that says so."""
    if isinstance(value, Tensor):
        if value.numel() != 1:
            raise ValueError(f"{name} must be a single number, got a tensor of shape {tuple(value.shape)}")
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number (pixel units), got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0 (pixel units, images in [0, 1]); got {value}")
    return value


def check_images(model: nn.Module, x: Tensor) -> None:
    """x must be a float (N, C, H, W) tensor in [0, 1] on the model's device and dtype."""
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module returning logits, got {type(model).__name__}")
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
    if not torch.isfinite(x).all():
        raise ValueError("x contains NaN or infinite values")
    lo, hi = float(x.min()), float(x.max())
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
        raise ValueError(f"x has dtype {x.dtype} but the model's parameters are {dt}; use x.to({dt})")


def check_labels(y: Tensor, x: Tensor, what: str = "y") -> Tensor:
    """y must be an integer tensor of shape (N,) on x's device; returned as int64."""
    if not isinstance(y, Tensor):
        raise ValueError(f"{what} must be a torch.Tensor of class indices, got {type(y).__name__}")
    if y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
        raise ValueError(f"{what} must hold integer class indices, got dtype {y.dtype}; use {what}.long()")
    if y.shape != (x.shape[0],):
        raise ValueError(
            f"{what} must have shape ({x.shape[0]},) to match x's {x.shape[0]} images, got {tuple(y.shape)}"
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
    model: nn.Module, x: Tensor, y: Tensor, *, loss: Loss, targeted: bool
) -> tuple[Tensor, Tensor]:
    """Gradient of the summed objective with respect to x, and the logits at x.

    Summing (not averaging) keeps each image's gradient independent of the batch
    it travels in. Only the input needs a gradient; the model's parameters are
    frozen by the caller, so no parameter gradients are computed.
    """
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        logits = model(x)
        check_label_range(y, logits.shape[1])
        value = objective(logits, y, loss=loss, targeted=targeted).sum()
        (grad,) = torch.autograd.grad(value, x)
    return grad, logits.detach()


def resolve_labels(
    model: nn.Module, x: Tensor, y: Tensor | None, *, targeted: bool
) -> Tensor:
    """Check y, or use the model's predictions when y is None (untargeted only)."""
    if y is None:
        if targeted:
            raise ValueError("a targeted attack needs y: pass the target class of each image as y")
        with torch.no_grad():
            return model(x).argmax(dim=1)
    return check_labels(y, x)
