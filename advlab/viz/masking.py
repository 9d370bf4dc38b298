"""Figures of Part III: hidden gradients, substitutes grown from queries, defenses × attacks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from torch import Tensor

from .._validate import ArgumentError, ArgumentTypeError
from .images import show_image

__all__ = [
    "accuracy_matrix_figure",
    "gradient_modes_figure",
    "prediction_strip_figure",
    "substitute_growth_figure",
]


def _np(t: Tensor) -> np.ndarray:
    return t.detach().cpu().float().numpy()


def _check_tensor(value: object, name: str, ndim: int) -> Tensor:
    if not isinstance(value, Tensor) or value.ndim != ndim or not value.is_floating_point():
        raise ArgumentTypeError(f"{name} must be a float tensor with {ndim} dimensions")
    return value


def _check_names(value: object, name: str) -> list[str]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise ArgumentTypeError(f"{name} must be a list of names")
    return [str(v) for v in value]


def _check_numbers(value: object, name: str) -> list[float]:
    if isinstance(value, Tensor):
        value = value.tolist()
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise ArgumentTypeError(f"{name} must be a list of numbers")
    out = []
    for v in value:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ArgumentTypeError(f"{name} must hold numbers, got {type(v).__name__}")
        out.append(float(v))
    return out


def gradient_modes_figure(
    image: Tensor,
    outputs: Mapping[str, Tensor],
    gradients: Mapping[str, Tensor],
    classes: Sequence[str],
    *,
    title: str | None = None,
) -> Figure:
    """One image; for each output mode, what the model answers (bars) and its input gradient.

    ``outputs[mode]`` is the model's answer (K,) (probabilities, or a one-hot),
    ``gradients[mode]`` the loss gradient with respect to the image (C, H, W);
    an all-zero gradient is drawn as a blank panel with its norm in the title.
    """
    _check_tensor(image, "image", 3)
    if not isinstance(outputs, Mapping) or not isinstance(gradients, Mapping) or not outputs:
        raise ArgumentTypeError("outputs and gradients must map each mode's name to a tensor")
    classes = _check_names(classes, "classes")
    modes = list(outputs)
    if set(modes) != set(gradients):
        raise ArgumentError("outputs and gradients must have the same modes")
    for mode in modes:
        _check_tensor(outputs[mode], f"outputs[{mode!r}]", 1)
        _check_tensor(gradients[mode], f"gradients[{mode!r}]", 3)
    fig, axes = plt.subplots(
        len(modes), 3, figsize=(8.4, 2.4 * len(modes)), layout="constrained", squeeze=False
    )
    for row, mode in enumerate(modes):
        show_image(axes[row, 0], image, "input" if row == 0 else None)
        ax = axes[row, 1]
        values = _np(outputs[mode])
        ax.bar(range(len(values)), values, color="tab:blue")
        ax.set_ylim(0, 1.05)
        ax.set_xticks(range(len(values)), [str(c) for c in classes], fontsize=7)
        ax.set_title(f"{mode}: what the model answers", fontsize=9)
        g = _np(gradients[mode]).sum(axis=0)
        lim = float(np.abs(g).max()) or 1.0
        ax = axes[row, 2]
        ax.imshow(g, cmap="coolwarm", vmin=-lim, vmax=lim)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"input gradient, ‖g‖₂ = {float(np.linalg.norm(g)):.3g}", fontsize=9)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def substitute_growth_figure(
    queries: Sequence[int],
    curves: Mapping[str, Sequence[float]],
    *,
    title: str | None = None,
) -> Figure:
    """Quantities (substitute accuracy, transfer success, ...) against label queries, log-scaled."""
    xs = _check_numbers(queries, "queries")
    if not xs or min(xs) <= 0:
        raise ArgumentError("queries must be a non-empty list of positive counts")
    if not isinstance(curves, Mapping):
        raise ArgumentTypeError("curves must map each curve's name to its values")
    curves = {k: _check_numbers(v, f"curves[{k!r}]") for k, v in curves.items()}
    for k, v in curves.items():
        if len(v) != len(xs):
            raise ArgumentError(f"curves[{k!r}] has {len(v)} values for {len(xs)} query counts")
    fig, ax = plt.subplots(figsize=(6, 3.6), layout="constrained")
    for name, ys in curves.items():
        ax.plot(queries, ys, marker="o", ms=4, label=name)
    ax.set_xscale("log", base=2)
    ax.set_xticks(list(queries), [str(q) for q in queries])
    ax.set_xlabel("label queries to the target")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9)
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def accuracy_matrix_figure(
    rows: Sequence[str],
    cols: Sequence[str],
    values: np.ndarray | Sequence[Sequence[float]],
    *,
    title: str | None = None,
    xlabel: str = "attack",
    ylabel: str = "defense",
) -> Figure:
    """Draw a heat-map of accuracies (rows × columns) with each number written in its cell."""
    rows, cols = _check_names(rows, "rows"), _check_names(cols, "cols")
    try:
        m = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as err:
        raise ArgumentTypeError(
            f"values must be a (rows × cols) table of numbers ({err})"
        ) from None
    if m.shape != (len(rows), len(cols)):
        raise ArgumentError(f"values must have shape ({len(rows)}, {len(cols)}), got {m.shape}")
    fig, ax = plt.subplots(
        figsize=(1.0 + 0.95 * len(cols), 0.8 + 0.45 * len(rows)), layout="constrained"
    )
    ax.imshow(m, vmin=0, vmax=1, cmap="RdYlGn", aspect="auto")
    for i in range(len(rows)):
        for j in range(len(cols)):
            text = "–" if np.isnan(m[i, j]) else f"{m[i, j]:.2f}"
            ax.text(j, i, text, ha="center", va="center", fontsize=8)
    ax.set_xticks(range(len(cols)), list(cols), fontsize=8, rotation=30, ha="right")
    ax.set_yticks(range(len(rows)), list(rows), fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def prediction_strip_figure(
    images: Tensor,
    predicted: Sequence[int],
    true: Sequence[int],
    classes: Sequence[str],
    *,
    title: str | None = None,
) -> Figure:
    """Draw a row of images in one axes (cheap to draw), each labelled with its predicted class.

    Labels are green where the prediction equals the true class and red where
    not. Meant for explorers that precompute many views.
    """
    _check_tensor(images, "images", 4)
    predicted = [int(v) for v in _check_numbers(predicted, "predicted")]
    true = [int(v) for v in _check_numbers(true, "true")]
    classes = _check_names(classes, "classes")
    n = len(images)
    if not (len(predicted) == len(true) == n) or n == 0:
        raise ArgumentError("images, predicted and true must have the same, non-zero length")
    if any(not 0 <= k < len(classes) for k in predicted):
        raise ArgumentError(f"predicted must hold class indices in [0, {len(classes) - 1}]")
    arrs = [_np(img).transpose(1, 2, 0) for img in images]
    h, w, c = arrs[0].shape
    gap = np.ones((h, max(1, w // 4), c))
    strip = np.concatenate([a for arr in arrs for a in (arr, gap)][:-1], axis=1)
    fig, ax = plt.subplots(figsize=(1.0 * n + 0.2, 1.6), layout="constrained")
    ax.imshow(
        strip[..., 0] if c == 1 else strip,
        cmap="gray" if c == 1 else None,
        vmin=0,
        vmax=1,
        interpolation="nearest",
    )
    step = w + gap.shape[1]
    for j in range(n):
        ok = int(predicted[j]) == int(true[j])
        ax.text(
            j * step + w / 2,
            -0.8,
            f"“{classes[int(predicted[j])]}”",
            ha="center",
            va="bottom",
            fontsize=9,
            color="tab:green" if ok else "tab:red",
        )
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=9, pad=14)
    return fig
