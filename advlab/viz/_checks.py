"""Argument checks shared by the figures: junk gets an ArgumentError that names the argument.

A value of the wrong type gets an :class:`~advlab.ArgumentTypeError` (also a
``TypeError``), a wrong value an :class:`~advlab.ArgumentError` (a ``ValueError``).
Each check runs before anything is drawn, so a refused call leaves no figure behind.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence

import numpy as np
import torch
from matplotlib.axes import Axes
from torch import Tensor

from .._validate import ArgumentError, ArgumentTypeError, check_pixel_values


def check_axes(ax: object, name: str = "ax", *, optional: bool = False) -> None:
    """``ax`` must be a matplotlib Axes (or None when ``optional``)."""
    if optional and ax is None:
        return
    if not isinstance(ax, Axes):
        raise ArgumentTypeError(f"{name} must be a matplotlib Axes, got {type(ax).__name__}")


def check_title(title: object, name: str = "title") -> None:
    if title is not None and not isinstance(title, str):
        raise ArgumentTypeError(f"{name} must be a string or None, got {type(title).__name__}")


def check_text(text: object, name: str) -> str:
    """Return ``text`` if it is a string (an axis label, say); raise naming ``name`` otherwise."""
    if not isinstance(text, str):
        raise ArgumentTypeError(f"{name} must be a string, got {type(text).__name__}")
    return text


def check_classes(classes: object, k: int | None = None) -> Sequence[object] | np.ndarray:
    """Return ``classes`` if a sequence of class names (not a string), of length ``k`` if given."""
    if isinstance(classes, (str, bytes)) or not isinstance(classes, Sequence | np.ndarray):
        raise ArgumentTypeError(
            f"classes must be a sequence of class names, got {type(classes).__name__}"
        )
    if len(classes) == 0 or (k is not None and len(classes) != k):
        want = "at least one" if k is None else f"{k} (one per logit)"
        raise ArgumentError(f"classes must hold {want} class name(s), got {len(classes)}")
    return classes


def check_class_index(value: object, name: str, k: int, *, optional: bool = True) -> int | None:
    """Return a class index in [0, k) from an int, a NumPy int or a one-element integer tensor.

    None is returned as is when ``optional`` (e.g. ``true=None``: no true class to mark).
    """
    if value is None and optional:
        return None
    if (
        isinstance(value, Tensor)
        and value.numel() == 1
        and not (value.is_floating_point() or value.is_complex() or value.dtype == torch.bool)
        and value.device.type != "meta"
    ):
        value = int(value.item())
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        none = " or None" if optional else ""
        raise ArgumentTypeError(
            f"{name} must be a class index (an int in [0, {k - 1}]){none}, "
            f"got {type(value).__name__}"
        )
    if not 0 <= int(value) < k:
        raise ArgumentError(f"{name} must be a class index in [0, {k - 1}], got {int(value)}")
    return int(value)


def as_array(a: object, name: str, ndim: int | None = None) -> np.ndarray:
    """Return a float NumPy array from a tensor, array or nested sequence of numbers."""
    if isinstance(a, Tensor):
        if a.is_complex() or a.device.type == "meta" or a.layout != torch.strided:
            raise ArgumentError(
                f"{name} must be a real, dense tensor with values, got {a.dtype} {a.layout} "
                f"on {a.device}"
            )
        arr = a.detach().cpu().double().numpy()
    elif isinstance(a, (str, bytes)) or a is None or isinstance(a, Mapping):
        raise ArgumentTypeError(f"{name} must be an array of numbers, got {type(a).__name__}")
    else:
        try:
            arr = np.asarray(a, dtype=float)
        except (TypeError, ValueError) as err:
            raise ArgumentError(f"{name} must be an array of numbers ({err})") from None
    if ndim is not None and arr.ndim != ndim:
        raise ArgumentError(f"{name} must have {ndim} dimension(s), got shape {arr.shape}")
    return arr


def check_values(
    a: object,
    name: str,
    *,
    n: int | None = None,
    per: str = "x value",
    nan: bool = True,
    positive: bool = False,
) -> np.ndarray:
    """Return a 1-D float array of at least one number (exactly ``n``, one ``per`` …, if given).

    Infinities are refused; NaN (a missing value, left out of the line) is
    allowed unless ``nan=False``. With ``positive`` every value must be > 0
    (e.g. for a log-scaled axis).
    """
    arr = as_array(a, name, 1)
    if len(arr) == 0:
        raise ArgumentError(f"{name} must hold at least one number, got none")
    if n is not None and len(arr) != n:
        raise ArgumentError(f"{name} must hold {n} numbers (one per {per}), got {len(arr)}")
    if np.isinf(arr).any() or (not nan and np.isnan(arr).any()):
        what = "finite numbers" if not nan else "numbers or NaN, not infinite"
        raise ArgumentError(f"{name} must hold {what}, got {arr.tolist()[:5]}")
    if positive and not (arr[~np.isnan(arr)] > 0).all():
        raise ArgumentError(f"{name} must hold numbers > 0 (log scale), got {arr.tolist()[:5]}")
    return arr


def check_curves(curves: object, name: str, n: int) -> dict[str, np.ndarray]:
    """Return ``curves`` (name → values) as arrays, checked: at least one, ``n`` values each."""
    checked = check_mapping(curves, name, f"list of {n} y values (one per x)")
    return {key: check_values(ys, f"{name}[{key!r}]", n=n) for key, ys in checked.items()}


def check_mapping(obj: object, name: str, what: str) -> Mapping[str, object]:
    """Check that ``m`` is a non-empty mapping from names to ``what``."""
    if not isinstance(obj, Mapping):
        raise ArgumentTypeError(f"{name} must map names to {what}, got {type(obj).__name__}")
    if not obj:
        raise ArgumentError(f"{name} must hold at least one {what}")
    return obj


def check_image(img: object, name: str = "img") -> Tensor:
    """One image: a real (C, H, W) tensor with C = 1 or 3 (or a batch of one)."""
    if not isinstance(img, Tensor):
        raise ArgumentTypeError(
            f"{name} must be an image tensor (C, H, W), got {type(img).__name__}"
        )
    if img.is_complex() or img.device.type == "meta" or img.layout != torch.strided:
        raise ArgumentError(
            f"{name} must be a real, dense image tensor with values, got a {img.dtype} "
            f"{img.layout} tensor on {img.device}"
        )
    if img.ndim == 4 and img.shape[0] == 1:
        img = img[0]
    if img.ndim != 3 or img.shape[0] not in (1, 3) or img.shape[1] == 0 or img.shape[2] == 0:
        raise ArgumentError(
            f"{name} must be one image of shape (C, H, W) with C = 1 or 3, got {tuple(img.shape)}"
        )
    return img


def _check_like(img: Tensor, name: str, like: Tensor | None, like_name: str) -> None:
    if like is not None and (
        img.shape != like.shape or img.dtype != like.dtype or img.device != like.device
    ):
        raise ArgumentError(
            f"{name} must be an image like {like_name} (shape {tuple(like.shape)}, {like.dtype} "
            f"on {like.device}), got shape {tuple(img.shape)}, {img.dtype} on {img.device}"
        )


def check_model_image(
    img: object, name: str, *, like: Tensor | None = None, like_name: str = "x"
) -> Tensor:
    """One image a model can classify: a float (C, H, W) tensor in [0, 1], C = 1 or 3.

    A batch of one (1, C, H, W) is accepted too; it is returned as (C, H, W).
    With ``like``, the image must have its shape, dtype and device.
    """
    if not isinstance(img, Tensor):
        raise ArgumentTypeError(
            f"{name} must be an image tensor (C, H, W) or a batch of one"
            + (f" like {like_name}" if like is not None else "")
            + f", got {type(img).__name__}"
        )
    img = check_image(img, name)
    _check_float_pixels(img, name, like, like_name)
    return img


def check_model_images(
    x: object, name: str, *, like: Tensor | None = None, like_name: str = "x"
) -> Tensor:
    """Images a model can classify: a float (N, C, H, W) tensor in [0, 1], N >= 1, C = 1 or 3.

    With ``like``, the batch must have its shape, dtype and device.
    """
    like_text = f" like {like_name}" if like is not None else ""
    if not isinstance(x, Tensor):
        raise ArgumentTypeError(
            f"{name} must be an image batch tensor (N, C, H, W){like_text}, got {type(x).__name__}"
        )
    if x.ndim != 4 or x.shape[0] == 0 or x.shape[1] not in (1, 3) or 0 in x.shape[2:]:
        raise ArgumentError(
            f"{name} must be an image batch of shape (N, C, H, W){like_text} with N >= 1 and "
            f"C = 1 or 3, got {tuple(x.shape)}"
        )
    _check_float_pixels(x, name, like, like_name)
    return x


def _check_float_pixels(x: Tensor, name: str, like: Tensor | None, like_name: str) -> None:
    """Float values in [0, 1], with ``like``'s shape, dtype and device when given."""
    if x.is_complex() or not x.is_floating_point():
        raise ArgumentError(
            f"{name} must be floating-point pixels in [0, 1], got dtype {x.dtype}; "
            "convert uint8 images with x.float() / 255"
        )
    _check_like(x, name, like, like_name)
    check_pixel_values(x, name)


def check_number(value: object, name: str) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ArgumentTypeError(f"{name} must be a number, got {type(value).__name__}")
    if not math.isfinite(float(value)):
        raise ArgumentError(f"{name} must be finite, got {value}")
    return float(value)
