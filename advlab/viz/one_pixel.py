"""Figures for differential evolution and the one-pixel attack (Part IV)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from torch import Tensor

from .images import image_to_numpy

__all__ = [
    "adversarial_class_figure",
    "class_pair_figure",
    "class_pair_heatmap",
    "de_population_figure",
    "one_pixel_figure",
    "target_class_count_figure",
]


def _np(a: Tensor | np.ndarray | Sequence[float]) -> np.ndarray:
    if isinstance(a, Tensor):
        return a.detach().cpu().double().numpy()
    return np.asarray(a, dtype=float)


def class_pair_heatmap(
    matrix: Tensor | np.ndarray,
    classes: Sequence[str],
    *,
    ax: Axes | None = None,
    title: str | None = None,
    vmax: float | None = None,
    annotate: bool = True,
) -> Axes:
    """One original → adversarial class-pair matrix as a heat-map, counts written in the cells."""
    m = _np(matrix)
    k = len(classes)
    if m.shape != (k, k):
        raise ValueError(f"matrix must be ({k}, {k}) for {k} classes, got {m.shape}")
    if ax is None:
        _, ax = plt.subplots(figsize=(4.2, 3.8), layout="constrained")
    top = (
        vmax
        if vmax is not None
        else max(float(np.nanmax(m)) if np.isfinite(m).any() else 1.0, 1e-9)
    )
    ax.imshow(m, cmap="magma_r", vmin=0, vmax=top)
    if annotate:
        for (i, j), v in np.ndenumerate(m):
            if np.isfinite(v) and v > 0:
                txt = f"{v:.0f}" if float(v).is_integer() else f"{v:.2f}"
                ax.text(
                    j,
                    i,
                    txt,
                    ha="center",
                    va="center",
                    fontsize=6,
                    color="white" if v > 0.6 * top else "black",
                )
    ticks = np.arange(k)
    ax.set_xticks(ticks, [str(c) for c in classes], fontsize=7, rotation=90 if k > 10 else 0)
    ax.set_yticks(ticks, [str(c) for c in classes], fontsize=7)
    ax.set_xlabel("adversarial class")
    ax.set_ylabel("original class")
    if title:
        ax.set_title(title, fontsize=9)
    return ax


def class_pair_figure(
    matrices: Mapping[str, Tensor | np.ndarray], classes: Sequence[str], *, title: str | None = None
) -> Figure:
    """Several class-pair heat-maps side by side, on one shared colour scale."""
    if not matrices:
        raise ValueError("matrices must hold at least one (K, K) matrix")
    arrs = {k: _np(v) for k, v in matrices.items()}
    top = max(max(float(np.nanmax(a)) for a in arrs.values()), 1e-9)
    fig, axes = plt.subplots(
        1, len(arrs), figsize=(3.6 * len(arrs), 3.6), layout="constrained", squeeze=False
    )
    for ax, (name, a) in zip(axes[0], arrs.items(), strict=True):
        class_pair_heatmap(a, classes, ax=ax, title=name, vmax=top)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def adversarial_class_figure(
    counts: Mapping[str, Tensor | np.ndarray], classes: Sequence[str], *, title: str | None = None
) -> Figure:
    """Grouped bars: the share of successes per adversarial class, one group per setting."""
    if not counts:
        raise ValueError("counts must hold at least one (K,) count vector")
    fig, ax = plt.subplots(figsize=(7.5, 3.2), layout="constrained")
    pos = np.arange(len(classes))
    width = 0.8 / len(counts)
    for j, (name, c) in enumerate(counts.items()):
        a = _np(c)
        share = a / a.sum() if a.sum() > 0 else a
        ax.bar(
            pos + (j - (len(counts) - 1) / 2) * width,
            share,
            width,
            label=f"{name} (n={a.sum():.0f})",
        )
    ax.set_xticks(pos, [str(c) for c in classes], fontsize=8)
    ax.set_xlabel("adversarial class")
    ax.set_ylabel("share of successes")
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def target_class_count_figure(
    counts: Mapping[str, Tensor | np.ndarray], *, title: str | None = None
) -> Figure:
    """Bars: how many images can be turned into 0, 1, ..., K - 1 target classes."""
    if not counts:
        raise ValueError("counts must hold at least one count vector")
    fig, ax = plt.subplots(figsize=(6.5, 3.0), layout="constrained")
    width = 0.8 / len(counts)
    for j, (name, c) in enumerate(counts.items()):
        a = _np(c)
        pos = np.arange(len(a))
        ax.bar(pos + (j - (len(counts) - 1) / 2) * width, a, width, label=name)
    ax.set_xlabel("number of target classes reached")
    ax.set_ylabel("images")
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def one_pixel_figure(
    x: Tensor,
    x_adv: Tensor,
    clean_probs: Tensor,
    adv_probs: Tensor,
    classes: Sequence[str],
    *,
    positions: Tensor | None = None,
    title: str | None = None,
) -> Figure:
    """One image before and after, changed pixels outlined, and both probability vectors.

    ``x``, ``x_adv``: (C, H, W); probabilities (K,); ``positions`` (k, 2) rows and columns.
    """
    fig, (a0, a1, a2) = plt.subplots(
        1, 3, figsize=(8.4, 2.8), layout="constrained", gridspec_kw={"width_ratios": [1, 1, 1.6]}
    )
    for ax, img, name, p in ((a0, x, "clean", clean_probs), (a1, x_adv, "attacked", adv_probs)):
        arr = image_to_numpy(img)
        ax.imshow(
            arr, cmap="gray" if arr.ndim == 2 else None, vmin=0, vmax=1, interpolation="nearest"
        )
        k = int(torch.as_tensor(p).argmax())
        ax.set_title(f"{name}: {classes[k]} ({float(p[k]):.0%})", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    if positions is not None:
        for r, c in positions.tolist():
            a1.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, ec="red", lw=1.5))
    pos = np.arange(len(classes))
    a2.bar(pos - 0.2, _np(clean_probs), 0.4, label="clean")
    a2.bar(pos + 0.2, _np(adv_probs), 0.4, label="attacked")
    a2.set_xticks(
        pos, [str(c) for c in classes], fontsize=7, rotation=45 if len(classes) > 10 else 0
    )
    a2.set_ylim(0, 1)
    a2.set_ylabel("probability")
    a2.legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def de_population_figure(
    f: Callable[[np.ndarray, np.ndarray], np.ndarray],
    population: Tensor | np.ndarray,
    lower: Sequence[float],
    upper: Sequence[float],
    *,
    best: Sequence[float] | None = None,
    title: str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """A 2-D population (P, 2) drawn on the contour plot of ``f(X, Y)`` over the box."""
    pop = _np(population)
    if pop.ndim != 2 or pop.shape[1] != 2:
        raise ValueError(f"population must be (members, 2) for a contour plot, got {pop.shape}")
    if ax is None:
        fig, ax = plt.subplots(figsize=(3.6, 3.4), layout="constrained")
    else:
        fig = ax.figure  # type: ignore[assignment]
    gx, gy = np.meshgrid(np.linspace(lower[0], upper[0], 120), np.linspace(lower[1], upper[1], 120))
    ax.contourf(gx, gy, f(gx, gy), levels=20, cmap="Blues_r")
    ax.scatter(pop[:, 0], pop[:, 1], s=12, c="orange", ec="black", lw=0.4, zorder=3)
    if best is not None:
        ax.scatter([best[0]], [best[1]], marker="*", s=90, c="red", zorder=4)
    ax.set_xlim(lower[0], upper[0])
    ax.set_ylim(lower[1], upper[1])
    ax.set_aspect("equal")
    if title:
        ax.set_title(title, fontsize=9)
    return fig  # type: ignore[return-value]
