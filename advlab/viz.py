"""Matplotlib figures used by the book. Every function returns the Figure it drew."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from torch import Tensor, nn

from .train import predict

__all__ = [
    "accuracy_confidence_figure",
    "adversarial_figure",
    "attack_comparison_figure",
    "gallery",
    "image_to_numpy",
    "linearity_figure",
    "norm_comparison_figure",
    "plot_curves",
    "probability_bars",
    "show_image",
    "targeted_success_figure",
]


def image_to_numpy(img: Tensor) -> np.ndarray:
    """(C, H, W) tensor in [0, 1] → (H, W) or (H, W, 3) array for ``imshow``."""
    arr = img.detach().float().cpu().numpy()
    return arr[0] if arr.shape[0] == 1 else np.transpose(arr, (1, 2, 0))


def show_image(ax: Axes, img: Tensor, title: str | None = None) -> None:
    """Draw one image in [0, 1] (grey-scale or RGB) without axes."""
    arr = image_to_numpy(img)
    ax.imshow(
        arr, cmap="gray" if arr.ndim == 2 else None, vmin=0.0, vmax=1.0, interpolation="nearest"
    )
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=10)


def probability_bars(
    ax: Axes, probs: Tensor | np.ndarray, classes: Sequence[str], *, true: int | None = None
) -> None:
    """Horizontal bars of class probabilities; the predicted class in red, the true one in green."""
    p = np.asarray(probs.detach().cpu() if isinstance(probs, Tensor) else probs, dtype=float)
    pred = int(p.argmax())
    colors = ["tab:gray"] * len(p)
    if true is not None:
        colors[true] = "tab:green"
    colors[pred] = "tab:red" if pred != true else "tab:green"
    pos = np.arange(len(p))
    ax.barh(pos, p, color=colors)
    ax.set_yticks(pos, [str(c) for c in classes], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("probability", fontsize=8)
    ax.tick_params(axis="x", labelsize=8)


def adversarial_figure(
    model: nn.Module,
    x: Tensor,
    x_adv: Tensor,
    classes: Sequence[str],
    *,
    true: int | None = None,
    eps: float | None = None,
) -> Figure:
    """The classic picture for one image: clean + perturbation = adversarial, with probabilities.

    ``x`` and ``x_adv`` are single images (C, H, W) or batches of one. The
    perturbation is shown amplified to the full colour range, with its true
    scale in the title.
    """
    x = x.reshape(1, *x.shape[-3:])
    x_adv = x_adv.reshape(1, *x_adv.shape[-3:])
    probs = torch.softmax(predict(model, torch.cat([x, x_adv])), dim=1).cpu()
    delta = (x_adv - x)[0].detach().float().cpu()
    scale = float(delta.abs().max())
    fig, axes = plt.subplots(
        2, 3, figsize=(8.4, 5.2), gridspec_kw={"height_ratios": [3, 2.2]}, layout="constrained"
    )
    for col, (img, p, name) in enumerate(
        [(x[0], probs[0], "clean"), (x_adv[0], probs[1], "adversarial")]
    ):
        k = int(p.argmax())
        ax = axes[0, 0 if col == 0 else 2]
        show_image(ax, img, f"{name}: “{classes[k]}” ({float(p[k]):.0%})")
        probability_bars(axes[1, 0 if col == 0 else 2], p, classes, true=true)
    shown = delta / (2 * scale) + 0.5 if scale > 0 else delta + 0.5
    ax = axes[0, 1]
    arr = image_to_numpy(shown)
    ax.imshow(
        arr, cmap="RdBu_r" if arr.ndim == 2 else None, vmin=0, vmax=1, interpolation="nearest"
    )
    ax.set_xticks([])
    ax.set_yticks([])
    label = f"ε = {eps:g}" if eps is not None else f"max |δ| = {scale:.3g}"
    ax.set_title(f"+ perturbation ({label},\nshown amplified)", fontsize=10)
    axes[1, 1].axis("off")
    axes[1, 1].text(
        0.5,
        0.5,
        f"max |δ| = {scale:.3f}\nL2 ‖δ‖ = {float(delta.norm()):.3f}",
        ha="center",
        va="center",
        fontsize=10,
    )
    return fig


def plot_curves(
    xs: Sequence[float],
    curves: dict[str, Sequence[float]],
    *,
    xlabel: str,
    ylabel: str,
    title: str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Several named curves over the same x values (e.g. accuracy versus eps per attack)."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 3.6), layout="constrained")
    else:
        fig = ax.figure  # type: ignore[assignment]
    for name, ys in curves.items():
        ax.plot(xs, ys, marker="o", ms=3, label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title)
    ax.legend(fontsize=9)
    return fig  # type: ignore[return-value]


def gallery(
    model: nn.Module,
    x: Tensor,
    x_adv: Tensor,
    classes: Sequence[str],
    y: Tensor,
    *,
    title: str | None = None,
) -> Figure:
    """Clean images (top row) above their adversarial versions (bottom row), with predictions.

    Titles are green where the prediction is right and red where it is wrong.
    """
    n = len(x)
    preds = predict(model, torch.cat([x, x_adv])).argmax(dim=1).cpu()
    fig, axes = plt.subplots(2, n, figsize=(1.25 * n, 3.0), layout="constrained", squeeze=False)
    for row, name in enumerate(("clean", "adversarial")):
        for j in range(n):
            img = (x if row == 0 else x_adv)[j]
            k = int(preds[row * n + j])
            ax = axes[row, j]
            show_image(ax, img)
            ax.set_title(
                f"“{classes[k]}”", fontsize=9, color="tab:green" if k == int(y[j]) else "tab:red"
            )
        axes[row, 0].set_ylabel(name, fontsize=9)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def linearity_figure(
    dims: Sequence[int],
    aligned: Sequence[float],
    random: Sequence[float],
    *,
    eps: float,
    marks: dict[str, int] | None = None,
) -> Figure:
    """Log-log plot of how much a perturbation of size ``eps`` moves a dot product ``w·x``.

    ``aligned[i]`` is the change ``w·η`` for ``η = eps·sign(w)`` in dimension
    ``dims[i]`` (it grows like n), ``random[i]`` the typical ``|w·η|`` for random
    signs (it grows like √n). ``marks`` draws labelled vertical lines at chosen
    dimensions (e.g. the pixel counts of some datasets).
    """
    fig, ax = plt.subplots(figsize=(6.4, 3.8), layout="constrained")
    ax.loglog(dims, aligned, marker="o", ms=3, label="η = ε·sign(w)  (grows like n)")
    ax.loglog(dims, random, marker="s", ms=3, label="η = ε·random ±1  (grows like √n)")
    for name, n in (marks or {}).items():
        ax.axvline(n, color="0.6", lw=0.8, ls=":")
        ax.text(n, ax.get_ylim()[1], f" {name}", rotation=90, va="top", ha="right", fontsize=8)
    ax.set_xlabel("input dimension n (number of pixels × channels)")
    ax.set_ylabel(f"|change of w·x|  (ε = {eps:.3g})")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=9, loc="lower right")
    return fig


def accuracy_confidence_figure(
    eps: Sequence[float],
    accuracy: dict[str, Sequence[float]],
    confidence: dict[str, Sequence[float]],
    *,
    title: str | None = None,
) -> Figure:
    """Two panels over the same ε grid: accuracy (left) and mean confidence (right) per attack.

    ``accuracy`` and ``confidence`` map an attack's name to one value per ε;
    confidence is the mean probability the model gives to its own prediction.
    """
    fig, (left, right) = plt.subplots(1, 2, figsize=(9.6, 3.6), layout="constrained")
    plot_curves(eps, accuracy, xlabel="ε (pixel units, L∞)", ylabel="test accuracy", ax=left)
    plot_curves(
        eps,
        confidence,
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


def attack_comparison_figure(
    model: nn.Module,
    x: Tensor,
    advs: dict[str, Tensor],
    classes: Sequence[str],
    *,
    true: int | None = None,
    title: str | None = None,
) -> Figure:
    """One image attacked several ways: images with predictions (top), perturbations (bottom).

    ``x`` is one image (C, H, W) or a batch of one; ``advs`` maps an attack's
    name to its adversarial version of ``x``. All perturbations share one colour
    scale (the largest ``|δ|`` of any of them), so their sizes can be compared;
    each is labelled with its L∞ and L2 norms.
    """
    if not advs:
        raise ValueError("advs must name at least one adversarial image")
    x = x.reshape(1, *x.shape[-3:])
    names = list(advs)
    batch = torch.cat([x] + [advs[k].reshape(1, *x.shape[1:]) for k in names])
    probs = torch.softmax(predict(model, batch), dim=1).cpu()
    deltas = [(batch[j + 1] - batch[0]).detach().float().cpu() for j in range(len(names))]
    scale = max(float(d.abs().max()) for d in deltas) or 1.0
    cols = len(names) + 1
    fig, axes = plt.subplots(2, cols, figsize=(1.9 * cols, 4.3), layout="constrained")
    for j in range(cols):
        p = probs[j]
        k = int(p.argmax())
        right = true is None or k == true
        show_image(axes[0, j], batch[j], None)
        axes[0, j].set_title(
            f"{'clean' if j == 0 else names[j - 1]}\n“{classes[k]}” ({float(p[k]):.0%})",
            fontsize=9,
            color="black" if j == 0 and right else ("tab:green" if right else "tab:red"),
        )
    axes[1, 0].axis("off")
    axes[1, 0].text(
        0.5,
        0.5,
        f"perturbations\n(one colour scale:\n±{scale:.2f})",
        ha="center",
        va="center",
        fontsize=9,
    )
    for j, d in enumerate(deltas, start=1):
        arr = image_to_numpy(d / (2 * scale) + 0.5)
        ax = axes[1, j]
        ax.imshow(
            arr, cmap="RdBu_r" if arr.ndim == 2 else None, vmin=0, vmax=1, interpolation="nearest"
        )
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(
            f"L∞ {float(d.abs().max()):.2f}, L2 {float(d.norm()):.2f}",
            fontsize=8,
        )
    if title:
        fig.suptitle(title, fontsize=10)
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
    """
    names = list(norms)
    fig, ax = plt.subplots(figsize=(7.2, 0.6 + 0.55 * len(names)), layout="constrained")
    rng = np.random.default_rng(0)
    for row, name in enumerate(names):
        v = norms[name]
        v = np.asarray(v.detach().cpu() if isinstance(v, Tensor) else v, dtype=float)
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


def targeted_success_figure(
    success: dict[str, np.ndarray | Tensor],
    classes: Sequence[str],
    *,
    heatmap: str | None = None,
    title: str | None = None,
) -> Figure:
    """Targeted success rates: bars per target class for each attack, and one source→target map.

    ``success`` maps an attack's name to a (K, K) array whose entry ``[s, t]``
    is the fraction of images of class ``s`` that the attack turned into class
    ``t`` (NaN on the diagonal, or wherever nothing was attacked). The bars
    average over sources; the heat-map shows the attack named ``heatmap``
    (default: the last one).
    """
    if not success:
        raise ValueError("success must hold at least one attack's (K, K) success matrix")
    mats = {
        k: np.asarray(v.detach().cpu() if isinstance(v, Tensor) else v, dtype=float)
        for k, v in success.items()
    }
    heatmap = heatmap if heatmap is not None else list(mats)[-1]
    if heatmap not in mats:
        raise ValueError(f"heatmap must be one of {list(mats)}, got {heatmap!r}")
    n = len(classes)
    fig, (bars, hm) = plt.subplots(
        1, 2, figsize=(10.4, 4.0), layout="constrained", gridspec_kw={"width_ratios": [1.3, 1]}
    )
    width = 0.8 / len(mats)
    pos = np.arange(n)
    for j, (name, m) in enumerate(mats.items()):
        per_target = np.nanmean(m, axis=0)
        bars.bar(pos + (j - (len(mats) - 1) / 2) * width, per_target, width, label=name)
    bars.set_xticks(pos, [str(c) for c in classes], fontsize=8)
    bars.set_xlabel("target class")
    bars.set_ylabel("success rate")
    bars.set_ylim(0, 1)
    bars.grid(alpha=0.3, axis="y")
    bars.legend(fontsize=9)
    bars.set_title("targeted success, averaged over source classes", fontsize=10)
    im = hm.imshow(mats[heatmap], vmin=0, vmax=1, cmap="viridis")
    hm.set_xticks(pos, [str(c) for c in classes], fontsize=8)
    hm.set_yticks(pos, [str(c) for c in classes], fontsize=8)
    hm.set_xlabel("target class")
    hm.set_ylabel("true (source) class")
    hm.set_title(f"{heatmap}: source → target success", fontsize=10)
    fig.colorbar(im, ax=hm, shrink=0.85, label="success rate")
    if title:
        fig.suptitle(title, fontsize=11)
    return fig
