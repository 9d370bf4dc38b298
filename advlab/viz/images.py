"""Pictures of images: single images, probability bars, clean-versus-adversarial panels and galleries."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from torch import Tensor, nn

from .._validate import (
    ArgumentError,
    check_eps,
    check_label_range,
    check_labels,
    check_module,
)
from ..train import predict
from ._checks import (
    as_array,
    check_axes,
    check_class_index,
    check_classes,
    check_image,
    check_mapping,
    check_model_image,
    check_model_images,
    check_title,
)

__all__ = [
    "adversarial_figure",
    "attack_comparison_figure",
    "gallery",
    "image_to_numpy",
    "probability_bars",
    "show_image",
]


def image_to_numpy(img: Tensor) -> np.ndarray:
    """(C, H, W) tensor in [0, 1] → (H, W) or (H, W, 3) array for ``imshow``.

    A batch of one (1, C, H, W) is taken as its image.

    Raises
    ------
    ValueError
        If ``img`` is not a real, dense tensor of one image (C, H, W) with
        C = 1 or 3 (not a tensor at all: also a ``TypeError``).
    """
    arr = check_image(img).detach().float().cpu().numpy()
    return arr[0] if arr.shape[0] == 1 else np.transpose(arr, (1, 2, 0))


def show_image(ax: Axes, img: Tensor, title: str | None = None) -> None:
    """Draw one image in [0, 1] (grey-scale or RGB) without axes.

    Raises
    ------
    ValueError
        If ``ax`` is not a matplotlib Axes, ``img`` not one (C, H, W) image tensor
        with 1 or 3 channels, or ``title`` not a string or None.
    """
    check_axes(ax)
    check_title(title)
    arr = image_to_numpy(check_image(img))
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
    """Horizontal bars of class probabilities; the predicted class in red, the true one in green.

    Raises
    ------
    ValueError
        If ``ax`` is not a matplotlib Axes, ``probs`` not a 1-D array of K >= 1
        finite numbers, ``classes`` not K class names, or ``true`` not None or
        a class index in [0, K) (a wrong type is also a ``TypeError``).
    """
    check_axes(ax)
    p = _check_probs(probs)
    check_classes(classes, len(p))
    true = check_class_index(true, "true", len(p))
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


def _check_probs(probs: object) -> np.ndarray:
    p = as_array(probs, "probs", 1)
    if len(p) == 0 or not np.isfinite(p).all():
        raise ArgumentError(
            f"probs must be K >= 1 finite class probabilities, got {p.tolist()[:5]}"
        )
    return p


def adversarial_figure(
    model: nn.Module,
    x: Tensor,
    x_adv: Tensor,
    classes: Sequence[str],
    *,
    true: int | None = None,
    eps: float | None = None,
) -> Figure:
    """Draw the classic picture for one image: clean + perturbation = adversarial, with probabilities.

    ``x`` and ``x_adv`` are single images (C, H, W) or batches of one. The
    perturbation is shown amplified to the full colour range, with its true
    scale in the title.

    Raises
    ------
    ValueError
        If ``model`` is not a torch Module, ``x`` not one float image in [0, 1]
        (C, H, W) with C = 1 or 3 (or a batch of one), ``x_adv`` not an image of
        the same shape, dtype and device, ``classes`` not one name per logit,
        ``true`` not None or a class index, or ``eps`` not None or a budget
        >= 0 (a wrong type is also a ``TypeError``); and whatever
        :func:`advlab.predict` raises for the model's output.
    """
    check_module(model)
    x = check_model_image(x, "x")[None]
    x_adv = check_model_image(x_adv, "x_adv", like=x[0])[None]
    check_classes(classes)
    if eps is not None:
        eps = check_eps(eps)
    probs = torch.softmax(predict(model, torch.cat([x, x_adv])), dim=1).cpu()
    check_classes(classes, probs.shape[1])
    true = check_class_index(true, "true", probs.shape[1])
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

    Raises
    ------
    ValueError
        If ``model`` is not a torch Module, ``x`` not float images in [0, 1]
        (N, C, H, W) with N >= 1 and C = 1 or 3, ``x_adv`` not images of the
        same shape, dtype and device, ``classes`` not one name per logit, ``y``
        not N integer labels in [0, K) on ``x``'s device, or ``title`` not a
        string or None (a wrong type is also a ``TypeError``); and whatever
        :func:`advlab.predict` raises for the model's output.
    """
    check_module(model)
    x = check_model_images(x, "x")
    x_adv = check_model_images(x_adv, "x_adv", like=x)
    check_classes(classes)
    y = check_labels(y, x)
    check_title(title)
    n = len(x)
    logits = predict(model, torch.cat([x, x_adv]))
    check_classes(classes, logits.shape[1])
    check_label_range(y, logits.shape[1])
    preds = logits.argmax(dim=1).cpu()
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

    Raises
    ------
    ValueError
        If ``model`` is not a torch Module, ``x`` not one float image in [0, 1]
        (C, H, W) with C = 1 or 3 (or a batch of one), ``advs`` not a non-empty
        mapping of names to images of ``x``'s shape, dtype and device,
        ``classes`` not one name per logit, ``true`` not None or a class index,
        or ``title`` not a string or None (a wrong type is also a
        ``TypeError``); and whatever :func:`advlab.predict` raises for the
        model's output.
    """
    check_module(model)
    x = check_model_image(x, "x")[None]
    checked = check_mapping(advs, "advs", "adversarial image (C, H, W) of x")
    names = list(checked)
    batch = torch.cat(
        [x] + [check_model_image(checked[k], f"advs[{k!r}]", like=x[0])[None] for k in names]
    )
    check_classes(classes)
    check_title(title)
    probs = torch.softmax(predict(model, batch), dim=1).cpu()
    check_classes(classes, probs.shape[1])
    true = check_class_index(true, "true", probs.shape[1])
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
