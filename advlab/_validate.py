"""Argument checks shared by every layer of advlab, and advlab's error types.

This is the package's bottom layer: it imports nothing from advlab but
:mod:`advlab._utils`, so every module, from :mod:`advlab.data` to the book
layer, can check its arguments the same way. Each check returns the value it
accepted (converted where that is the point, e.g. a NumPy integer to ``int``)
or raises an :class:`ArgumentError` whose message says what to pass instead.

The error types subclass the built-in ones a caller would catch:
:class:`ArgumentError` is a :class:`ValueError`; :class:`ArgumentTypeError`
(a value of the wrong type) is both an :class:`ArgumentError` and a
:class:`TypeError`, so ``except ValueError`` and ``except TypeError`` both
catch it.

The conventions the checks enforce are those of the whole package: images are
float tensors in [0, 1] of shape (N, C, H, W); every budget is in pixel units;
booleans are real booleans; NumPy scalars count as numbers.
"""

from __future__ import annotations

import itertools
import math
import numbers
from typing import Literal

import numpy as np
import torch
from torch import Tensor, nn

from ._utils import model_device, model_dtype

__all__ = [
    "LOSSES",
    "ArgumentError",
    "ArgumentTypeError",
    "Loss",
    "Norm",
    "as_real",
    "check_budgets",
    "check_classes",
    "check_count",
    "check_depends_on_input",
    "check_eps",
    "check_finite_logits",
    "check_flag",
    "check_float_tensors",
    "check_grad_mode",
    "check_image_batch",
    "check_images",
    "check_label_range",
    "check_labels",
    "check_logits",
    "check_loss",
    "check_module",
    "check_mutation_factor",
    "check_norm",
    "check_pixel_values",
    "check_real",
    "check_seed",
    "check_targets",
    "make_generator",
]


class ArgumentError(ValueError):
    """An argument advlab cannot use; the message says what to pass instead."""


class ArgumentTypeError(ArgumentError, TypeError):
    """An argument of the wrong type (also a :class:`TypeError`)."""


Loss = Literal["ce", "margin"]
LOSSES = ("ce", "margin")
Norm = Literal["inf", 2]


# --- numbers, flags, seeds ------------------------------------------------------------------


def as_real(value: object, name: str, what: str) -> float:
    """Return a Python float from a real number: int, float, NumPy scalar or one-element tensor."""
    if isinstance(value, Tensor):
        if value.numel() != 1:
            raise ArgumentError(
                f"{name} must be a single number, got a tensor of shape {tuple(value.shape)}"
            )
        if value.dtype == torch.bool or value.is_complex():
            raise ArgumentError(f"{name} must be {what}, got a {value.dtype} tensor")
        if value.device.type == "meta":
            raise ArgumentError(
                f"{name} is a meta tensor (it has no value); pass a number or a tensor "
                "on a real device"
            )
        value = value.item()
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ArgumentTypeError(f"{name} must be {what}, got {type(value).__name__}")
    return float(value)


def check_real(value: object, name: str, *, positive: bool = False) -> float:
    """Return a finite float that is >= 0 (or > 0 with ``positive``), or raise.

    Python and NumPy numbers and one-element tensors are accepted.
    """
    value = as_real(value, name, "a number")
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        bound = "> 0" if positive else ">= 0"
        raise ArgumentError(f"{name} must be a finite number {bound}; got {value}")
    return value


def check_eps(value: object, name: str = "eps") -> float:
    """Return a finite, non-negative float (pixel units), or raise saying so.

    Python and NumPy numbers and one-element tensors are accepted.
    """
    value = as_real(value, name, "a number (pixel units)")
    if not math.isfinite(value) or value < 0:
        raise ArgumentError(
            f"{name} must be a finite number >= 0 (pixel units, images in [0, 1]); got {value}"
        )
    return value


def check_budgets(
    values: object, name: str = "budgets", *, increasing: bool = False, positive: bool = False
) -> list[float]:
    """Return a non-empty list of finite budgets >= 0 (> 0 with ``positive``), or raise.

    With ``increasing`` the list must also be strictly increasing. Each entry is
    checked as a number (NaN, infinities and booleans are refused), so a grid
    with a NaN cannot slip past the order check (every comparison with NaN is False).
    """
    if isinstance(values, (str, bytes, Tensor)) and not (
        isinstance(values, Tensor) and values.ndim == 1
    ):
        raise ArgumentTypeError(f"{name} must be a list of numbers, got {type(values).__name__}")
    try:
        items = list(values)  # type: ignore[call-overload]
    except TypeError:
        raise ArgumentTypeError(
            f"{name} must be a list of numbers, got {type(values).__name__}"
        ) from None
    out = [as_real(v, name, "a list of numbers") for v in items]
    bound = "> 0" if positive else ">= 0"
    order = "increasing " if increasing else ""
    if (
        not out
        or any(not math.isfinite(v) or v < 0 or (positive and v == 0) for v in out)
        or (increasing and any(b <= a for a, b in itertools.pairwise(out)))
    ):
        raise ArgumentError(
            f"{name} must be a non-empty list of {order}finite numbers {bound}, got {out[:5]}"
            + ("..." if len(out) > 5 else "")
        )
    return out


def check_count(value: object, name: str, *, minimum: int = 1) -> int:
    """Return an int >= ``minimum`` (steps, restarts, ...) from a Python or NumPy integer."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ArgumentTypeError(
            f"{name} must be an integer >= {minimum}, got {type(value).__name__}"
        )
    value = int(value)
    if value < minimum:
        raise ArgumentError(f"{name} must be an integer >= {minimum}, got {value}")
    return value


def check_flag(value: object, name: str) -> bool:
    """Return a real boolean (``True``/``False``, or a NumPy bool), or raise.

    Strings such as ``"False"`` are refused: ``bool("False")`` is True, so
    accepting them would silently do the opposite of what was asked.
    """
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise ArgumentError(f"{name} must be True or False, got {value!r} ({type(value).__name__})")


def check_seed(value: object, name: str = "seed") -> int:
    """Return an integer seed in 0 … 2**64 - 1 (Python or NumPy int), or raise naming it."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ArgumentTypeError(f"{name} must be an int, got {type(value).__name__}")
    value = int(value)
    if not 0 <= value < 2**64:
        raise ArgumentError(f"{name} must be an integer in 0 ... 2**64 - 1, got {name}={value}")
    return value


def make_generator(generator: object, seed: object) -> torch.Generator | None:
    """Return the random source of an attack: ``generator``, one seeded ``seed``, or None.

    None means PyTorch's global generator (reproducible only via ``torch.manual_seed``).
    """
    if generator is not None and seed is not None:
        raise ArgumentError("pass either generator= or seed=, not both")
    if generator is not None:
        if not isinstance(generator, torch.Generator):
            raise ArgumentTypeError(
                f"generator must be a torch.Generator, got {type(generator).__name__}"
            )
        return generator
    if seed is not None:
        return torch.Generator().manual_seed(check_seed(seed))
    return None


def check_norm(norm: object) -> Norm:
    """Return ``"inf"`` for the L∞ ball or ``2`` for the L2 ball, from any common spelling."""
    if isinstance(norm, str):
        key = norm.strip().lower().replace("_", "")
        if key in ("inf", "linf", "l∞", "∞"):
            return "inf"
        if key in ("2", "l2"):
            return 2
    elif isinstance(norm, numbers.Real) and not isinstance(norm, (bool, np.bool_)):
        if norm == math.inf:
            return "inf"
        if norm == 2:
            return 2
    raise ArgumentError(
        f"unknown norm {norm!r}; use norm='inf' (L∞ ball: each pixel moves by at most eps) "
        "or norm=2 (L2 ball: the perturbation's Euclidean length is at most eps)"
    )


def check_loss(loss: object) -> None:
    """Check that ``loss`` names one of the attacks' objectives (:data:`LOSSES`)."""
    if not isinstance(loss, str) or loss not in LOSSES:
        raise ArgumentError(f"unknown loss {loss!r}; choose one of {', '.join(map(repr, LOSSES))}")


def check_mutation_factor(F: object) -> float:
    """Return differential evolution's mutation factor ``F`` as a float in (0, 2]."""
    value = as_real(F, "F (the mutation factor)", "a number in (0, 2]")
    if not (0.0 < value <= 2.0):
        raise ArgumentError(f"F (the mutation factor) must be a number in (0, 2], got {F!r}")
    return value


# --- models and tensors ---------------------------------------------------------------------


def check_module(model: object, what: str = "model") -> nn.Module:
    """Return ``model`` if it is a torch ``nn.Module``; raise an ArgumentTypeError otherwise."""
    if not isinstance(model, nn.Module):
        raise ArgumentTypeError(
            f"{what} must be a torch.nn.Module that maps images to logits, got "
            f"{type(model).__name__}; wrap a plain function in a Module "
            "(a subclass with forward) first"
        )
    return model


def check_float_tensors(**named: object) -> None:
    """Check that each keyword argument is a floating-point tensor (named if not)."""
    for name, t in named.items():
        if not isinstance(t, Tensor) or not t.is_floating_point():
            got = t.dtype if isinstance(t, Tensor) else type(t).__name__
            raise ArgumentTypeError(f"{name} must be a floating-point torch.Tensor, got {got}")


def _check_float_images(x: object) -> Tensor:
    """Return ``x`` if it is a floating-point tensor (what images in [0, 1] must be)."""
    if not isinstance(x, Tensor):
        raise ArgumentTypeError(f"x must be a torch.Tensor of images, got {type(x).__name__}")
    if not x.is_floating_point():
        raise ArgumentError(
            f"x must be a floating-point tensor in [0, 1], got dtype {x.dtype}; "
            "convert uint8 images with x.float() / 255"
        )
    return x


def check_image_batch(x: object, *, allow_empty: bool) -> Tensor:
    """Check float (N, C, H, W) images in [0, 1]: types and shape before any value is read."""
    x = _check_float_images(x)
    if x.ndim != 4 or (x.shape[0] == 0 and not allow_empty):
        least = "N >= 0" if allow_empty else "N >= 1"
        raise ArgumentError(f"x must have shape (N, C, H, W) with {least}, got {tuple(x.shape)}")
    check_pixel_values(x)
    return x


def check_targets(y: object, n: int) -> Tensor:
    """Check integer labels (n,), or soft targets (n, K) that are finite and non-negative."""
    if not isinstance(y, Tensor):
        raise ArgumentTypeError(f"y must be a torch.Tensor of labels, got {type(y).__name__}")
    if y.dtype == torch.bool or y.is_complex():
        raise ArgumentError(
            f"y must hold integer class indices or float soft targets, got {y.dtype}"
        )
    if y.is_floating_point():
        if y.ndim != 2 or y.shape[0] != n:
            raise ArgumentError(
                f"float y must be soft targets of shape ({n}, K); for class indices of shape "
                f"({n},) use an integer dtype (y.long()), got shape {tuple(y.shape)}"
            )
        if y.device.type == "meta":
            raise ArgumentError("y is a meta tensor (it has no values)")
        if not bool(torch.isfinite(y).all()) or bool((y < 0).any()):
            raise ArgumentError("soft targets y must be finite and non-negative")
        return y
    if y.shape != (n,):
        raise ArgumentError(
            f"y must have shape ({n},) to match x's {n} images, got {tuple(y.shape)}"
        )
    if y.device.type == "meta":
        raise ArgumentError("y is a meta tensor (it has no values)")
    return y.long()


def check_classes(y: Tensor, num_classes: int) -> None:
    """Check that labels (N,) lie in [0, num_classes), or soft targets (N, K) have K of them."""
    if y.ndim == 1:
        check_label_range(y, num_classes)
    elif y.shape[1] != num_classes:
        raise ArgumentError(
            f"soft targets y have {y.shape[1]} columns but the model returns {num_classes} logits"
        )


def check_images(model: nn.Module, x: Tensor, what: str = "model") -> None:
    """Check that x is a float (N, C, H, W) tensor in [0, 1] on the model's device and dtype.

    Types, shape, device and dtype are checked before any value is read (a
    meta tensor has none); attacks need gradients, so inference mode and
    inference tensors are refused with a message that says how to leave them.
    ``what`` names the model in the messages (``"target"`` for a transfer attack's).
    """
    if not isinstance(model, nn.Module):
        raise ArgumentTypeError(
            f"{what} must be a torch.nn.Module returning logits, got {type(model).__name__}"
        )
    x = _check_float_images(x)
    if x.ndim != 4 or x.shape[0] == 0:
        raise ArgumentError(
            f"x must have shape (N, C, H, W) with N >= 1, got {tuple(x.shape)}; "
            "add a batch dimension with x.unsqueeze(0) for a single image"
        )
    check_grad_mode(x)
    dev = model_device(model)
    if dev is not None and dev != x.device:
        raise ArgumentError(
            f"x is on {x.device} but the {what} is on {dev}; move one to the other, "
            f"e.g. x = x.to(next({what}.parameters()).device)"
        )
    dt = model_dtype(model)
    if dt is not None and dt != x.dtype:
        raise ArgumentError(
            f"x has dtype {x.dtype} but the {what}'s parameters are {dt}; use x.to({dt})"
        )
    for name, p in model.named_parameters():
        if p.is_floating_point() and p.dtype != x.dtype:
            raise ArgumentError(
                f"the {what} mixes dtypes: its parameter {name!r} is {p.dtype} but x (and its "
                f"first parameter) are {x.dtype}; convert the whole {what} with "
                f"{what}.to({x.dtype})"
            )
    check_pixel_values(x)


def check_grad_mode(x: Tensor) -> None:
    """Refuse inference mode and inference tensors: an attack needs the input gradient."""
    if torch.is_inference_mode_enabled():
        raise ArgumentError(
            "attacks need input gradients, which torch.inference_mode() turns off; "
            "call the attack outside the `with torch.inference_mode():` block"
        )
    if x.is_inference():
        raise ArgumentError(
            "x is an inference tensor (made under torch.inference_mode()), which cannot take "
            "part in autograd; pass x.clone() made outside inference mode"
        )


def check_pixel_values(x: Tensor, name: str = "x") -> None:
    """Check that a float image tensor's values are finite and in [0, 1] (one read-back)."""
    if x.layout != torch.strided:
        raise ArgumentError(
            f"{name} is a {x.layout} tensor; advlab works on dense images, so pass {name}.to_dense()"
        )
    if x.device.type == "meta":
        raise ArgumentError(
            f"{name} is a meta tensor (it has no values); create it on a real device"
        )
    if x.numel() == 0:
        return
    # one pass and one read-back: NaN and ±inf propagate into the extremes
    lo, hi = torch.stack(torch.aminmax(x)).tolist()
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ArgumentError(f"{name} contains NaN or infinite values")
    if lo < 0.0 or hi > 1.0:
        raise ArgumentError(
            f"{name} must lie in [0, 1] (pixel space; normalisation belongs inside the model), "
            f"but its values span [{lo:.4g}, {hi:.4g}]"
        )


def check_logits(logits: object, n: int) -> Tensor:
    """Check that a model's output is a float tensor of shape (n, K), K >= 1; return it.

    Called once per attack (on the first forward pass), so a model that returns
    a tuple, a dict, probabilities of the wrong shape or integer scores is
    named at once instead of failing deep inside the loss.
    """
    if not isinstance(logits, Tensor):
        raise ArgumentError(
            f"the model must return a tensor of logits of shape (N, K), but it returned "
            f"{type(logits).__name__}; wrap it so that forward returns the logits only"
        )
    if not logits.is_floating_point():
        raise ArgumentError(
            f"the model must return floating-point logits, but it returned dtype {logits.dtype}"
        )
    if logits.ndim != 2 or logits.shape[0] != n or logits.shape[1] < 1:
        raise ArgumentError(
            f"the model must return logits of shape (N, K) = ({n}, K) for {n} images, "
            f"but it returned shape {tuple(logits.shape)}"
        )
    return logits


def check_finite_logits(logits: Tensor, what: str = "the model") -> Tensor:
    """Check that a model's output holds no NaN or infinite value (one read-back); return it.

    A diverged model (NaN weights, an overflow inside) returns NaN logits, whose
    arg-max is an arbitrary class: every accuracy or success rate read from them
    would be a plausible-looking but meaningless number, so it is refused instead.
    """
    if logits.numel() and not bool(torch.isfinite(logits).all()):
        bad = (~torch.isfinite(logits)).flatten(1).any(dim=1)
        rows = bad.nonzero().flatten()
        raise ArgumentError(
            f"{what} returned NaN or infinite logits for {len(rows)} of {len(logits)} images "
            f"(first: index {int(rows[0])}); its output means nothing there. A model with NaN "
            "weights has diverged: retrain it (e.g. with a lower learning rate) or check its inputs"
        )
    return logits


def check_depends_on_input(output: Tensor, what: str = "the model's output") -> None:
    """Refuse an output that does not depend on the input (no autograd path back to x).

    Call where the input requires a gradient and the model's parameters are
    frozen: then ``output.requires_grad`` is False exactly when the forward pass
    detached x (``x.detach()``, ``torch.no_grad()``, a NumPy round trip), so
    no input gradient exists. That is gradient masking by construction.
    """
    if not output.requires_grad:
        raise ArgumentError(
            f"{what} does not depend on x: the forward pass detaches its input (x.detach(), "
            "torch.no_grad(), a NumPy round trip ...), so there is no input gradient to follow. "
            "This is gradient masking; attack it with BPDA (advlab.attacks.bpda) or a black-box "
            "attack (spsa, one_pixel)"
        )


def check_labels(y: Tensor, x: Tensor, what: str = "y") -> Tensor:
    """Check that y is an integer tensor of shape (N,) on x's device; returned as int64."""
    if not isinstance(y, Tensor):
        raise ArgumentTypeError(
            f"{what} must be a torch.Tensor of class indices, got {type(y).__name__}"
        )
    if y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
        raise ArgumentError(
            f"{what} must hold integer class indices, got dtype {y.dtype}; use {what}.long()"
        )
    if y.shape != (x.shape[0],):
        raise ArgumentError(
            f"{what} must have shape ({x.shape[0]},) to match x's {x.shape[0]} images, "
            f"got {tuple(y.shape)}"
        )
    if y.device != x.device:
        raise ArgumentError(
            f"{what} is on {y.device} but x is on {x.device}; use {what}.to(x.device)"
        )
    return y.long()


def check_label_range(y: Tensor, num_classes: int, what: str = "y") -> None:
    """Check that every label in ``y`` is a class index in [0, num_classes)."""
    if len(y) and (int(y.min()) < 0 or int(y.max()) >= num_classes):
        raise ArgumentError(
            f"{what} must hold class indices in [0, {num_classes - 1}] for this model, "
            f"got values in [{int(y.min())}, {int(y.max())}]"
        )
