"""Line plots (e.g. training curves) and curves against a budget or a dimension: linearity, accuracy and confidence against ε, perturbation norms."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from torch import Tensor

from .._validate import ArgumentError, ArgumentTypeError, check_budgets, check_eps
from ._checks import (
    as_array,
    check_axes,
    check_curves,
    check_mapping,
    check_number,
    check_text,
    check_title,
    check_values,
)

__all__ = [
    "accuracy_confidence_figure",
    "linearity_figure",
    "norm_comparison_figure",
    "plot_curves",
]


def plot_curves(
    xs: Sequence[float],
    curves: Mapping[str, Sequence[float] | np.ndarray | Tensor],
    *,
    xlabel: str,
    ylabel: str,
    title: str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Several named curves over the same x values (e.g. accuracy versus eps per attack).

    ``curves`` maps each curve's name to one y value per x (NaN: a missing point).

    Raises
    ------
    ValueError
        If ``xs`` is not a non-empty list of finite numbers, ``curves`` not a
        non-empty mapping of names to ``len(xs)`` numbers, ``xlabel`` or
        ``ylabel`` not a string, ``title`` not a string or None, or ``ax`` not a
        matplotlib Axes or None (a wrong type is also a ``TypeError``).
    """
    x = check_values(xs, "xs", nan=False)
    ys_by_name = check_curves(curves, "curves", len(x))
    check_text(xlabel, "xlabel")
    check_text(ylabel, "ylabel")
    check_title(title)
    check_axes(ax, optional=True)
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 3.6), layout="constrained")
    else:
        fig = ax.figure  # type: ignore[assignment]  # a SubFigure if ax is in one: returned as is
    for name, ys in ys_by_name.items():
        ax.plot(x, ys, marker="o", ms=3, label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title)
    ax.legend(fontsize=9)
    return fig


def linearity_figure(
    dims: Sequence[int],
    aligned: Sequence[float],
    random: Sequence[float],
    *,
    eps: float,
    marks: Mapping[str, float] | None = None,
) -> Figure:
    """Log-log plot of how much a perturbation of size ``eps`` moves a dot product ``w·x``.

    ``aligned[i]`` is the change ``w·η`` for ``η = eps·sign(w)`` in dimension
    ``dims[i]`` (it grows like n), ``random[i]`` the typical ``|w·η|`` for random
    signs (it grows like √n). ``marks`` draws labelled vertical lines at chosen
    dimensions (e.g. the pixel counts of some datasets).

    Raises
    ------
    ValueError
        If ``dims`` is not a non-empty list of finite numbers > 0, ``aligned`` or
        ``random`` not one number per dimension, ``eps`` not a finite number
        >= 0, or ``marks`` not None or a mapping of labels (strings) to
        dimensions > 0 (a wrong type is also a ``TypeError``).
    """
    d = check_values(dims, "dims", nan=False, positive=True)
    a = check_values(aligned, "aligned", n=len(d), per="dimension")
    r = check_values(random, "random", n=len(d), per="dimension")
    eps = check_eps(eps)
    marked = _check_marks(marks)
    fig, ax = plt.subplots(figsize=(6.4, 3.8), layout="constrained")
    ax.loglog(d, a, marker="o", ms=3, label="η = ε·sign(w)  (grows like n)")
    ax.loglog(d, r, marker="s", ms=3, label="η = ε·random ±1  (grows like √n)")
    for name, n in marked.items():
        ax.axvline(n, color="0.6", lw=0.8, ls=":")
        ax.text(n, ax.get_ylim()[1], f" {name}", rotation=90, va="top", ha="right", fontsize=8)
    ax.set_xlabel("input dimension n (number of pixels × channels)")
    ax.set_ylabel(f"|change of w·x|  (ε = {eps:.3g})")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=9, loc="lower right")
    return fig


def _check_marks(marks: object) -> dict[str, float]:
    """Return ``marks`` (label → dimension > 0) checked; None means no marks."""
    if marks is None:
        return {}
    if not isinstance(marks, Mapping):
        raise ArgumentTypeError(
            f"marks must be None or map a label to a dimension, e.g. {{'MNIST': 784}}, "
            f"got {type(marks).__name__}"
        )
    out: dict[str, float] = {}
    for name, n in marks.items():
        if not isinstance(name, str):
            raise ArgumentTypeError(f"marks' labels must be strings, got {type(name).__name__}")
        value = check_number(n, f"marks[{name!r}]")
        if value <= 0:
            raise ArgumentError(f"marks[{name!r}] must be a dimension > 0, got {value:g}")
        out[name] = value
    return out


def accuracy_confidence_figure(
    eps: Sequence[float],
    accuracy: Mapping[str, Sequence[float] | np.ndarray | Tensor],
    confidence: Mapping[str, Sequence[float] | np.ndarray | Tensor],
    *,
    title: str | None = None,
) -> Figure:
    """Two panels over the same ε grid: accuracy (left) and mean confidence (right) per attack.

    ``accuracy`` and ``confidence`` map an attack's name to one value per ε;
    confidence is the mean probability the model gives to its own prediction
    (NaN where there is none, e.g. among the fooled images when none was fooled).

    Raises
    ------
    ValueError
        If ``eps`` is not a non-empty list of finite budgets >= 0, ``accuracy``
        or ``confidence`` not a non-empty mapping of names to one number per ε,
        or ``title`` not a string or None (a wrong type is also a ``TypeError``).
    """
    grid = check_budgets(eps, "eps")
    acc = check_curves(accuracy, "accuracy", len(grid))
    conf = check_curves(confidence, "confidence", len(grid))
    check_title(title)
    fig, (left, right) = plt.subplots(1, 2, figsize=(9.6, 3.6), layout="constrained")
    plot_curves(grid, acc, xlabel="ε (pixel units, L∞)", ylabel="test accuracy", ax=left)
    plot_curves(
        grid,
        conf,
        xlabel="ε (pixel units, L∞)",
        ylabel="mean confidence of the prediction",
        ax=right,
    )
    for ax in (left, right):  # curves that coincide stay visible: one line style each
        for line, style in zip(ax.get_lines(), itertools.cycle(["-", "--", ":", "-."])):
            line.set_linestyle(style)
        ax.legend(fontsize=9)
    left.set_ylim(-0.02, 1.02)
    right.set_ylim(-0.02, 1.02)
    left.set_title("accuracy", fontsize=10)
    right.set_title("confidence (right or wrong)", fontsize=10)
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


def norm_comparison_figure(
    norms: dict[str, Sequence[float] | np.ndarray | Tensor],
    *,
    xlabel: str = "L2 norm of the perturbation (pixel units)",
    title: str | None = None,
) -> Figure:
    """One row per attack: each image's perturbation norm as a dot, the median as a bar.

    NaN entries (images the attack did not fool) are left out; the count of
    images shown is printed beside each row.

    Raises
    ------
    ValueError
        If ``norms`` is not a non-empty mapping of names to 1-D arrays of
        numbers, or ``xlabel`` not a string, ``title`` not a string or None (a
        wrong type is also a ``TypeError``).
    """
    checked = check_mapping(norms, "norms", "1-D array of perturbation norms")
    arrays = {name: as_array(v, f"norms[{name!r}]", 1) for name, v in checked.items()}
    check_text(xlabel, "xlabel")
    check_title(title)
    names = list(arrays)
    fig, ax = plt.subplots(figsize=(7.2, 0.6 + 0.55 * len(names)), layout="constrained")
    rng = np.random.default_rng(0)
    for row, name in enumerate(names):
        v = arrays[name]
        v = v[np.isfinite(v)]
        jitter = rng.uniform(-0.15, 0.15, size=len(v))
        ax.scatter(v, row + jitter, s=12, alpha=0.6)
        if len(v):
            med = float(np.median(v))
            ax.plot([med, med], [row - 0.3, row + 0.3], color="black", lw=2)
            ax.text(
                med,
                row - 0.32,
                f"median {med:.2f}",
                fontsize=8,
                ha="center",
                va="bottom",
                bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1},
            )
    ax.set_yticks(range(len(names)), names, fontsize=9)
    ax.set_ylim(len(names) - 0.5, -0.8)
    ax.set_xlim(left=0)
    ax.set_xlabel(xlabel)
    ax.grid(alpha=0.3, axis="x")
    if title:
        ax.set_title(title, fontsize=10)
    return fig
