"""Figures for differential evolution and the one-pixel attack (Part IV)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from torch import Tensor

from .._validate import ArgumentError, ArgumentTypeError
from ._checks import (
    as_array,
    check_axes,
    check_classes,
    check_image,
    check_mapping,
    check_number,
    check_title,
)
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
    """One original → adversarial class-pair matrix as a heat-map, counts written in the cells.

    Raises
    ------
    ValueError
        If ``matrix`` is not (K, K) numbers with K = len(classes), or ``ax``,
        ``title``, ``vmax`` or ``annotate`` is of the wrong kind.
    """
    check_classes(classes)
    m = as_array(matrix, "matrix", 2)
    k = len(classes)
    check_axes(ax, optional=True)
    check_title(title)
    if vmax is not None:
        vmax = check_number(vmax, "vmax")
    if not isinstance(annotate, (bool, np.bool_)):
        raise ArgumentError(f"annotate must be True or False, got {annotate!r}")
    if m.shape != (k, k):
        raise ArgumentError(f"matrix must be ({k}, {k}) for {k} classes, got {m.shape}")
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
    """Several class-pair heat-maps side by side, on one shared colour scale.

    Raises
    ------
    ValueError
        If ``matrices`` is not a non-empty mapping of (K, K) arrays, K = len(classes).
    """
    check_mapping(matrices, "matrices", "(K, K) matrix")
    k = len(check_classes(classes))
    check_title(title)
    arrs = {name: as_array(v, f"matrices[{name!r}]", 2) for name, v in matrices.items()}
    for name, a in arrs.items():
        if a.shape != (k, k):
            raise ArgumentError(
                f"matrices[{name!r}] must be ({k}, {k}) for {k} classes, got {a.shape}"
            )
    finite = [float(np.nanmax(a)) for a in arrs.values() if np.isfinite(a).any()]
    top = max(max(finite, default=1.0), 1e-9)
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
    """Draw grouped bars: the share of successes per adversarial class, one group per setting.

    Raises
    ------
    ValueError
        If ``counts`` is not a non-empty mapping of (K,) vectors, K = len(classes).
    """
    check_mapping(counts, "counts", "(K,) count vector")
    k = len(check_classes(classes))
    check_title(title)
    arrs = {name: as_array(c, f"counts[{name!r}]", 1) for name, c in counts.items()}
    for name, a in arrs.items():
        if a.shape != (k,):
            raise ArgumentError(
                f"counts[{name!r}] must have {k} entries, one per class, got {a.shape}"
            )
    counts = arrs
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
    """Bars: how many images can be turned into 0, 1, ..., K - 1 target classes.

    Raises
    ------
    ValueError
        If ``counts`` is not a non-empty mapping of 1-D count vectors.
    """
    check_mapping(counts, "counts", "count vector")
    check_title(title)
    counts = {name: as_array(c, f"counts[{name!r}]", 1) for name, c in counts.items()}
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

    Raises
    ------
    ValueError
        If an image is not (C, H, W) with 1 or 3 channels, a probability vector
        does not have one entry per class, or ``positions`` is not (k, 2) integers.
    """
    x, x_adv = check_image(x, "x"), check_image(x_adv, "x_adv")
    k = len(check_classes(classes))
    check_title(title)
    for p, name in ((clean_probs, "clean_probs"), (adv_probs, "adv_probs")):
        if as_array(p, name, 1).shape != (k,):
            raise ArgumentError(f"{name} must have {k} entries, one per class")
    if positions is not None:
        pos = as_array(positions, "positions", 2)
        if pos.shape[1:] != (2,) or not np.array_equal(pos, np.round(pos)):
            raise ArgumentError(
                f"positions must be (k, 2) integer rows and columns, got {pos.shape}"
            )
    fig, (a0, a1, a2) = plt.subplots(
        1, 3, figsize=(8.4, 2.8), layout="constrained", gridspec_kw={"width_ratios": [1, 1, 1.6]}
    )
    for ax, img, name, p in ((a0, x, "clean", clean_probs), (a1, x_adv, "attacked", adv_probs)):
        arr = image_to_numpy(img)
        ax.imshow(
            arr, cmap="gray" if arr.ndim == 2 else None, vmin=0, vmax=1, interpolation="nearest"
        )
        k = int(np.argmax(_np(p)))
        ax.set_title(f"{name}: {classes[k]} ({float(p[k]):.0%})", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    if positions is not None:
        for r, c in pos.tolist():
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


def _check_box(
    lower: Sequence[float], upper: Sequence[float], best: Sequence[float] | None
) -> None:
    """Check that ``lower``, ``upper`` (and ``best`` unless None) are points (x, y), lower < upper."""
    box = []
    for v, name in ((lower, "lower"), (upper, "upper"), (best, "best")):
        if v is None and name == "best":
            continue
        a = as_array(v, name, 1)
        if a.shape != (2,) or not np.isfinite(a).all():
            raise ArgumentError(f"{name} must be two finite numbers (x, y), got {v!r}")
        box.append(a)
    if not (box[0] < box[1]).all():
        raise ArgumentError(
            f"lower must be below upper in both coordinates, got {lower} and {upper}"
        )


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
    """Draw a 2-D population (P, 2) on the contour plot of ``f(X, Y)`` over the box.

    Raises
    ------
    ValueError
        If ``population`` is not (members, 2), ``lower``/``upper``/``best`` are not two
        finite numbers (lower < upper), or ``f`` does not map the (120, 120) grids
        to a (120, 120) array.
    TypeError
        If ``f`` is not callable.
    """
    if not callable(f):
        raise ArgumentTypeError(f"f must be callable as f(X, Y), got {type(f).__name__}")
    check_axes(ax, optional=True)
    check_title(title)
    _check_box(lower, upper, best)
    pop = as_array(population, "population")
    if pop.ndim != 2 or pop.shape[1] != 2:
        raise ArgumentError(f"population must be (members, 2) for a contour plot, got {pop.shape}")
    if ax is None:
        fig, ax = plt.subplots(figsize=(3.6, 3.4), layout="constrained")
    else:
        fig = ax.figure  # type: ignore[assignment]  # a SubFigure if ax is in one: returned as is
    gx, gy = np.meshgrid(np.linspace(lower[0], upper[0], 120), np.linspace(lower[1], upper[1], 120))
    z = as_array(f(gx, gy), "f(X, Y)")
    if z.shape != gx.shape:
        raise ArgumentError(
            f"f(X, Y) must return an array of the grids' shape {gx.shape}, got {z.shape}"
        )
    ax.contourf(gx, gy, z, levels=20, cmap="Blues_r")
    ax.scatter(pop[:, 0], pop[:, 1], s=12, c="orange", ec="black", lw=0.4, zorder=3)
    if best is not None:
        ax.scatter([best[0]], [best[1]], marker="*", s=90, c="red", zorder=4)
    ax.set_xlim(lower[0], upper[0])
    ax.set_ylim(lower[1], upper[1])
    ax.set_aspect("equal")
    if title:
        ax.set_title(title, fontsize=9)
    return fig
