"""The book's figures and explorers, on a tiny untrained model (fast, no data, no kernel)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from advlab import SmallCNN, fgsm, pgd, viz
from advlab.widgets import DEFAULT_ATTACKS, attack_explorer, eps_explorer

CLASSES = tuple(str(k) for k in range(10))


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    torch.manual_seed(0)
    return SmallCNN((1, 8, 8), 10).eval()


@pytest.fixture(scope="module")
def images() -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    x = torch.rand((5, 1, 8, 8), generator=gen)
    y = torch.randint(0, 10, (5,), generator=gen)
    return x, y


def _png(box) -> str:
    """The PNG (base64) the explorer's Output widget shows now; exactly one output expected."""
    out = box.children[-1]
    assert len(out.outputs) == 1
    data = out.outputs[0]["data"]
    assert out.outputs[0]["output_type"] == "display_data"
    assert data["image/png"]
    return data["image/png"]


def _controls(box):
    attack_menu, target_menu = box.children[0].children
    eps_slider, steps_slider = box.children[1].children
    picker = box.children[2]
    return attack_menu, target_menu, eps_slider, steps_slider, picker


# ---------------------------------------------------------------- viz


def test_linearity_figure() -> None:
    dims = [10, 100, 1000]
    fig = viz.linearity_figure(dims, [1.0, 10.0, 100.0], [0.3, 1.0, 3.0], eps=0.01, marks={"a": 64})
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 1
    assert len(fig.axes[0].get_lines()) == 3  # two curves and one mark


def test_accuracy_confidence_figure() -> None:
    eps = [0.0, 0.1, 0.2]
    acc = {"FGSM": [0.9, 0.5, 0.2], "PGD": [0.9, 0.4, 0.0]}
    conf = {"FGSM": [0.95, 0.8, 0.9], "PGD": [0.95, 0.85, 0.99]}
    fig = viz.accuracy_confidence_figure(eps, acc, conf, title="t")
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 2
    for ax in fig.axes:
        styles = [line.get_linestyle() for line in ax.get_lines()]
        assert len(styles) == 2 and styles[0] != styles[1]


def test_attack_comparison_figure(model, images) -> None:
    x, y = images
    advs = {"FGSM": fgsm(model, x[:1], y[:1], eps=0.1), "PGD": pgd(model, x[:1], y[:1], eps=0.1)}
    fig = viz.attack_comparison_figure(model, x[0], advs, CLASSES, true=int(y[0]), title="t")
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 2 * (1 + len(advs))
    with pytest.raises(ValueError):
        viz.attack_comparison_figure(model, x[0], {}, CLASSES)


def test_norm_comparison_figure_skips_nan() -> None:
    norms = {"a": torch.tensor([0.1, float("nan"), 0.3]), "b": np.array([0.2, 0.4])}
    fig = viz.norm_comparison_figure(norms)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 1
    offsets = [len(c.get_offsets()) for c in fig.axes[0].collections]
    assert offsets == [2, 2]  # the NaN is left out


def test_targeted_success_figure() -> None:
    m = np.random.default_rng(0).uniform(size=(10, 10))
    np.fill_diagonal(m, np.nan)
    fig = viz.targeted_success_figure({"FGSM": m / 2, "PGD": m}, CLASSES)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 3  # bars, heat-map, colour bar
    assert "PGD" in fig.axes[1].get_title()
    fig = viz.targeted_success_figure({"FGSM": m / 2, "PGD": m}, CLASSES, heatmap="FGSM")
    assert "FGSM" in fig.axes[1].get_title()
    with pytest.raises(ValueError):
        viz.targeted_success_figure({"FGSM": m}, CLASSES, heatmap="PGD")
    with pytest.raises(ValueError):
        viz.targeted_success_figure({}, CLASSES)


# ---------------------------------------------------------------- attack_explorer


def test_attack_explorer_builds_with_a_figure(model, images) -> None:
    x, y = images
    box = attack_explorer(model, x, y, CLASSES, attack="PGD", eps=0.1, steps=5, index=2)
    attack_menu, target_menu, _, steps_slider, picker = _controls(box)
    assert list(attack_menu.options) == list(DEFAULT_ATTACKS)
    assert attack_menu.value == "PGD" and picker.value == 2 and steps_slider.value == 5
    assert target_menu.value == -1  # untargeted
    assert len(target_menu.options) == 1 + len(CLASSES)
    _png(box)
    assert not plt.get_fignums(), "the explorer must close the figures it draws"


@pytest.mark.parametrize("name", list(DEFAULT_ATTACKS))
def test_attack_explorer_redraws_for_each_attack(model, images, name) -> None:
    x, y = images
    box = attack_explorer(model, x, y, CLASSES, attack="FGSM" if name != "FGSM" else "PGD")
    attack_menu, _, eps_slider, steps_slider, picker = _controls(box)
    before = _png(box)
    attack_menu.value = name
    assert steps_slider.disabled == (name == "FGSM")  # FGSM takes no steps
    after_attack = _png(box)
    eps_slider.value = 0.3
    after_eps = _png(box)
    assert len({before, after_attack, after_eps}) == 3
    picker.value = 4
    assert _png(box) != after_eps
    if name != "FGSM":
        current = _png(box)
        steps_slider.value = 1
        assert _png(box) != current


def test_attack_explorer_targeted_mode(model, images) -> None:
    x, y = images
    box = attack_explorer(model, x, y, CLASSES, attack="PGD", eps=0.3)
    _, target_menu, *_ = _controls(box)
    untargeted = _png(box)
    clean_pred = int(model(x[:1]).argmax(dim=1)[0])
    target_menu.value = clean_pred  # nothing to attack: a note instead of an error
    already = _png(box)
    target_menu.value = (clean_pred + 1) % 10
    assert len({untargeted, already, _png(box)}) == 3


def test_attack_explorer_target_argument(model, images) -> None:
    x, y = images
    clean_pred = int(model(x[:1]).argmax(dim=1)[0])
    box = attack_explorer(model, x, y, CLASSES, target=(clean_pred + 1) % 10, attack="FGSM")
    assert _controls(box)[1].value == (clean_pred + 1) % 10
    _png(box)


def test_attack_explorer_custom_attacks_and_seed(model, images) -> None:
    x, y = images
    calls: list[dict] = []

    def noisy(model, x, y=None, *, eps, seed=None):
        calls.append({"eps": eps, "seed": seed})
        gen = torch.Generator().manual_seed(seed)
        return (x + eps * torch.randn(x.shape, generator=gen)).clamp(0, 1)

    box = attack_explorer(model, x, y, CLASSES, attacks={"noise": noisy}, eps=0.2, seed=7)
    _, target_menu, _, steps_slider, _ = _controls(box)
    assert calls == [{"eps": 0.2, "seed": 7}]
    assert steps_slider.disabled and target_menu.disabled  # it takes neither


@pytest.mark.parametrize(
    "kwargs",
    [
        {"index": 5},
        {"index": -1},
        {"attack": "JSMA"},
        {"attacks": {}},
        {"attacks": {"FGSM": "not a function"}},
        {"target": 10},
        {"target": -1},
        {"eps": 0.6},
        {"eps": -0.1},
        {"steps": 0},
        {"steps": 51},
    ],
)
def test_attack_explorer_rejects_bad_arguments(model, images, kwargs) -> None:
    x, y = images
    with pytest.raises(ValueError):
        attack_explorer(model, x, y, CLASSES, **kwargs)


def test_attack_explorer_rejects_mismatched_labels(model, images) -> None:
    x, y = images
    with pytest.raises(ValueError):
        attack_explorer(model, x, y[:3], CLASSES)


# ---------------------------------------------------------------- eps_explorer


def test_eps_explorer_builds_and_redraws(model, images) -> None:
    x, y = images
    box = eps_explorer(model, x, y, CLASSES, eps=0.05, index=1)
    eps_slider, picker = box.children[0].children
    first = _png(box)
    eps_slider.value = 0.3
    second = _png(box)
    picker.value = 3
    third = _png(box)
    assert len({first, second, third}) == 3
    assert not plt.get_fignums()


@pytest.mark.parametrize("index", [-1, 5])
def test_eps_explorer_rejects_bad_index(model, images, index) -> None:
    x, y = images
    with pytest.raises(ValueError):
        eps_explorer(model, x, y, CLASSES, index=index)
