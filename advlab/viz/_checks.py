"""Argument checks shared by the figures: junk gets a ValueError that names the argument."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.axes import Axes
from torch import Tensor

from .._validate import ArgumentError


def check_axes(ax: object, name: str = "ax", *, optional: bool = False) -> None:
    """``ax`` must be a matplotlib Axes (or None when ``optional``)."""
    if optional and ax is None:
        return
    if not isinstance(ax, Axes):
        raise ArgumentError(f"{name} must be a matplotlib Axes, got {type(ax).__name__}")


def check_title(title: object, name: str = "title") -> None:
    if title is not None and not isinstance(title, str):
        raise ArgumentError(f"{name} must be a string or None, got {type(title).__name__}")


def check_classes(classes: object, k: int | None = None) -> Sequence[object] | np.ndarray:
    """Return ``classes`` if a sequence of class names (not a string), of length ``k`` if given."""
    if isinstance(classes, (str, bytes)) or not isinstance(classes, Sequence | np.ndarray):
        raise ArgumentError(
            f"classes must be a sequence of class names, got {type(classes).__name__}"
        )
    if len(classes) == 0 or (k is not None and len(classes) != k):
        want = "at least one" if k is None else str(k)
        raise ArgumentError(f"classes must hold {want} class name(s), got {len(classes)}")
    return classes


def as_array(a: object, name: str, ndim: int | None = None) -> np.ndarray:
    """Return a float NumPy array from a tensor, array or nested sequence of numbers."""
    if isinstance(a, Tensor):
        if a.is_complex() or a.device.type == "meta":
            raise ArgumentError(
                f"{name} must be a real tensor with values, got {a.dtype} on {a.device}"
            )
        arr = a.detach().cpu().double().numpy()
    elif isinstance(a, (str, bytes)) or a is None or isinstance(a, Mapping):
        raise ArgumentError(f"{name} must be an array of numbers, got {type(a).__name__}")
    else:
        try:
            arr = np.asarray(a, dtype=float)
        except (TypeError, ValueError) as err:
            raise ArgumentError(f"{name} must be an array of numbers ({err})") from None
    if ndim is not None and arr.ndim != ndim:
        raise ArgumentError(f"{name} must have {ndim} dimension(s), got shape {arr.shape}")
    return arr


def check_mapping(obj: object, name: str, what: str) -> Mapping[str, object]:
    """Check that ``m`` is a non-empty mapping from names to ``what``."""
    if not isinstance(obj, Mapping):
        raise ArgumentError(f"{name} must map names to {what}, got {type(obj).__name__}")
    if not obj:
        raise ArgumentError(f"{name} must hold at least one {what}")
    return obj


def check_image(img: object, name: str = "img") -> Tensor:
    """One image: a real (C, H, W) tensor with C = 1 or 3 (or a batch of one)."""
    if not isinstance(img, Tensor) or img.is_complex() or img.device.type == "meta":
        raise ArgumentError(f"{name} must be an image tensor (C, H, W), got {type(img).__name__}")
    if img.ndim == 4 and img.shape[0] == 1:
        img = img[0]
    if img.ndim != 3 or img.shape[0] not in (1, 3) or img.shape[1] == 0 or img.shape[2] == 0:
        raise ArgumentError(
            f"{name} must be one image of shape (C, H, W) with C = 1 or 3, got {tuple(img.shape)}"
        )
    return img


def check_number(value: object, name: str) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ArgumentError(f"{name} must be a number, got {type(value).__name__}")
    if not math.isfinite(float(value)):
        raise ArgumentError(f"{name} must be finite, got {value}")
    return float(value)
