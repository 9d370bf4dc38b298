"""Part IV figures: they draw what they are given and reject what does not fit."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from advlab.viz import (
    adversarial_class_figure,
    class_pair_figure,
    class_pair_heatmap,
    de_population_figure,
    one_pixel_figure,
    target_class_count_figure,
)

CLASSES = ("a", "b", "c")


def test_class_pair_heatmap_writes_the_counts() -> None:
    m = torch.tensor([[0, 2, 0], [1, 0, 0], [0, 5, 0]])
    ax = class_pair_heatmap(m, CLASSES)
    texts = sorted(t.get_text() for t in ax.texts)
    assert texts == ["1", "2", "5"]  # zero cells stay blank
    plt.close("all")
    with pytest.raises(ValueError, match=r"matrix must be \(3, 3\)"):
        class_pair_heatmap(torch.zeros(2, 2), CLASSES)


def test_figures_have_one_panel_or_bar_group_per_setting() -> None:
    fig = class_pair_figure({"x": torch.eye(3), "y": torch.ones(3, 3)}, CLASSES)
    assert len([a for a in fig.axes if a.images]) == 2
    fig = adversarial_class_figure({"1 px": torch.tensor([1, 3, 0]), "3 px": np.ones(3)}, CLASSES)
    bars = fig.axes[0].patches
    assert len(bars) == 6
    assert [round(b.get_height(), 3) for b in bars[:3]] == [0.25, 0.75, 0.0]  # shares
    fig = target_class_count_figure({"m": torch.tensor([2, 1, 0])})
    assert [b.get_height() for b in fig.axes[0].patches] == [2, 1, 0]
    plt.close("all")
    with pytest.raises(ValueError, match="at least one"):
        class_pair_figure({}, CLASSES)


def test_one_pixel_and_population_figures() -> None:
    x = torch.zeros(3, 4, 4)
    x_adv = x.clone()
    x_adv[:, 1, 2] = 1.0
    p = torch.tensor([0.8, 0.1, 0.1])
    fig = one_pixel_figure(x, x_adv, p, p.flip(0), CLASSES, positions=torch.tensor([[1, 2]]))
    assert "attacked: c" in fig.axes[1].get_title()
    assert len(fig.axes[1].patches) == 1  # the outline of the changed pixel
    fig = de_population_figure(lambda a, b: a**2 + b**2, torch.zeros(5, 2), [-1, -1], [1, 1])
    assert fig.axes[0].get_xlim() == (-1, 1)
    plt.close("all")
    with pytest.raises(ValueError, match=r"population must be \(members, 2\)"):
        de_population_figure(lambda a, b: a, torch.zeros(5, 3), [-1, -1], [1, 1])


# --- found by the hypothesis suite (tests/test_fuzz_public_api.py) ------------------------------


def test_figures_refuse_junk_with_a_value_error() -> None:
    """Before: AttributeError ('bool' object has no attribute 'items', 'NoneType' ... 'detach')."""
    from advlab.viz import show_image, targeted_success_figure

    _, ax = plt.subplots()
    with pytest.raises(ValueError, match="ax must be a matplotlib Axes"):
        show_image(None, torch.rand(1, 4, 4))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"img must be one image of shape \(C, H, W\)"):
        show_image(ax, torch.rand(2, 4, 4))
    with pytest.raises(ValueError, match="img must be an image tensor"):
        show_image(ax, None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="success must map names"):
        targeted_success_figure(True, ["a", "b"])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"success\['fgsm'\] must be \(2, 2\)"):
        targeted_success_figure({"fgsm": np.zeros((3, 3))}, ["a", "b"])
    with pytest.raises(ValueError, match="matrices must map names"):
        class_pair_figure(True, None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="classes must be a sequence"):
        class_pair_figure({"a": np.zeros((2, 2))}, None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="counts must map names"):
        adversarial_class_figure([1, 2], ["a", "b"])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"counts\['a'\] must have 2 entries"):
        adversarial_class_figure({"a": [1, 2, 3]}, ["a", "b"])
    with pytest.raises(ValueError, match=r"counts\['a'\] must be an array of numbers"):
        target_class_count_figure({"a": "xyz"})
    with pytest.raises(ValueError, match="x_adv must be an image tensor"):
        one_pixel_figure(torch.rand(1, 4, 4), None, [0.5, 0.5], [0.5, 0.5], ["a", "b"])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="f must be callable"):
        de_population_figure(None, np.zeros((3, 2)), [0, 0], [1, 1])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="lower must be below upper"):
        de_population_figure(lambda a, b: a + b, np.zeros((3, 2)), [1, 1], [0, 0])
    plt.close("all")
