"""The book's figures and explorers, on a tiny untrained model (fast, no data, no kernel)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import json
import re

import ipywidgets as W
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from advlab import ArgumentError, SmallCNN, fgsm, pgd, predict, viz
from advlab.attacks import ATTACKS, AttackInfo
from advlab.book.widgets import (
    PrecomputedExplorer,
    attack_explorer,
    eps_explorer,
    figure_png,
    precomputed_explorer,
    show_figure,
)

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


# ---------------------------------------------------------------- precomputed_explorer


def _follow_links(box: PrecomputedExplorer) -> None:
    """Do what the browser does: copy each control's index into the Stacks it is linked to."""
    for link in (lk for level in box.links for lk in level):
        (src, src_attr), (dst, dst_attr) = link.source, link.target
        setattr(dst, dst_attr, getattr(src, src_attr))


def _visible_view(box: PrecomputedExplorer) -> W.VBox:
    """Walk the nested Stacks along their selected_index to the view a reader sees."""
    node = next(c for c in box.children if isinstance(c, W.Stack))
    while isinstance(node, W.Stack):
        node = node.children[node.selected_index]
    return node


def _caption(view: W.VBox) -> tuple[list[str], str]:
    """The setting labels (data-advlab-setting) and the text of a view's caption."""
    html = view.children[0].value
    m = re.search(r'class="advlab-caption" data-advlab-setting="([^"]*)">(.*)</div>', html)
    assert m, html
    return json.loads(m.group(1).replace("&quot;", '"')), m.group(2)


def _html_view(**setting) -> str:
    return "<p>" + ",".join(f"{k}={v}" for k, v in sorted(setting.items())) + "</p>"


def test_explorer_grid_size_controls_and_captions() -> None:
    calls = []

    def draw(eps, image):
        calls.append((eps, image))
        return _html_view(eps=eps, image=image)

    box = precomputed_explorer(
        draw,
        {"eps": [0.0, 0.05, 0.1], "image": [0, 1, 2, 3]},
        labels={"image": ["a", "b", "c", "d"]},
        initial={"eps": 0.05, "image": 2},
        description={"eps": "ε"},
        caption=lambda eps, image: f"ε = {eps:.2f}, image {image}",
        note="three by four",
    )
    assert isinstance(box, W.VBox) and "advlab-explorer" in box._dom_classes
    assert sorted(calls) == sorted((e, i) for e in (0.0, 0.05, 0.1) for i in range(4))
    assert len(box.views) == 12
    eps_c, img_c = box.controls["eps"], box.controls["image"]
    assert isinstance(eps_c, W.SelectionSlider) and isinstance(img_c, W.SelectionSlider)
    assert all("advlab-control" in c._dom_classes for c in (eps_c, img_c))
    assert eps_c.options == ("0", "0.05", "0.1") and img_c.options == ("a", "b", "c", "d")
    assert (eps_c.index, img_c.index, eps_c.description) == (1, 2, "ε")
    assert box.setting() == {"eps": 0.05, "image": 2}
    assert any("three by four" in getattr(c, "value", "") for c in box.children)
    # one link for the outer Stack, one per inner Stack
    assert [len(level) for level in box.links] == [1, 3]
    _follow_links(box)
    labels, text = _caption(_visible_view(box))
    assert labels == ["0.05", "c"] and text == "ε = 0.05, image 2"
    # every setting: moving the controls shows the view of that setting, and only that one
    for i in range(3):
        for j in range(4):
            eps_c.index, img_c.index = i, j
            _follow_links(box)
            view = _visible_view(box)
            assert view is box.views[(i, j)]
            labels, text = _caption(view)
            assert labels == [eps_c.options[i], img_c.options[j]]
            assert text == f"ε = {(0.0, 0.05, 0.1)[i]:.2f}, image {j}"
            assert view.children[1].value == _html_view(eps=(0.0, 0.05, 0.1)[i], image=j)


def test_explorer_figures_become_small_pngs_and_are_closed() -> None:
    def draw(k, style):
        fig, ax = plt.subplots(figsize=(2, 2))
        ax.plot([0, 1], [0, k], style)
        return fig

    box = precomputed_explorer(draw, {"k": [1, 2], "style": ["-", "--", ":"]}, dpi=50)
    assert not plt.get_fignums(), "the helper must close the figures it draws"
    assert isinstance(box.controls["style"], W.Dropdown)  # not numbers: a dropdown
    pngs = {idx: bytes(v.children[1].value) for idx, v in box.views.items()}
    assert all(p.startswith(b"\x89PNG") and len(p) < 20_000 for p in pngs.values())
    assert len(set(pngs.values())) == 6  # six different pictures
    labels, text = _caption(box.views[(1, 2)])
    assert labels == ["2", ":"] and text == "k: 2 · style: :"  # the default caption
    notes = [c.value for c in box.children if isinstance(c, W.HTML)]
    assert notes and notes[0].startswith("<small>On this page: 2 k × 3 style")


def test_explorer_three_controls_nest_three_levels() -> None:
    box = precomputed_explorer(
        lambda a, b, c: f"{a}{b}{c}", {"a": [1, 2], "b": list("xyz"), "c": [0.5]}
    )
    assert [len(level) for level in box.links] == [1, 2, 6]
    box.controls["a"].index, box.controls["b"].index = 1, 2
    _follow_links(box)
    assert _visible_view(box).children[1].value == "2z0.5"


def test_explorer_view_key_shares_views() -> None:
    calls = []

    def draw(m, e):
        calls.append((m, e))
        return f"{m}{e}"

    box = precomputed_explorer(
        draw, {"m": ["a", "b"], "e": [1, 2, 3]}, view_key=lambda m, e: (m, e if m == "a" else 0)
    )
    assert len(calls) == 4  # "b" ignores e: drawn once
    assert box.views[(1, 0)].children[1] is box.views[(1, 2)].children[1]
    assert _caption(box.views[(1, 2)])[0] == ["b", "3"]  # but each view keeps its own caption


def test_explorer_live_controls_recompute_off_grid() -> None:
    seen = []

    def draw(eps, name):
        seen.append((eps, name))
        return f"{eps}/{name}"

    box = precomputed_explorer(draw, {"eps": [0.0, 0.5], "name": ["p", "q"]}, live=True)
    assert isinstance(box.live_controls["eps"], W.FloatSlider)
    box.live_controls["eps"].value = 0.25
    assert seen[-1] == (0.25, "p")
    box.live_controls["name"].value = "q"
    assert seen[-1] == (0.25, "q")


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"grid": {}}, ValueError, "1, 2 or 3 controls, got 0"),
        ({"grid": {"a": [1], "b": [1], "c": [1], "d": [1]}}, ValueError, "got 4"),
        ({"grid": {"a": []}}, ValueError, "grid['a'] has no values"),
        ({"grid": {"a b": [1]}}, ValueError, "identifiers"),
        ({"grid": {"a": [1], "b": 3}}, TypeError, "grid['b'] must be a list of values, got int"),
        ({"grid": {"a": "xyz"}}, TypeError, "got str"),
        ({"grid": [1, 2]}, TypeError, "grid must map"),
        ({"labels": {"b": ["x"]}}, ValueError, "unknown control(s) 'b'"),
        ({"labels": {"a": ["x"]}}, ValueError, "one string per value (2)"),
        ({"labels": {"a": ["x", "x"]}}, ValueError, "must be distinct"),
        ({"initial": {"a": 0.3}}, ValueError, "not one of the grid's values"),
        ({"description": {"z": "zz"}}, ValueError, "unknown control(s) 'z'"),
        ({"live": 1}, TypeError, "live must be True or False"),
        ({"draw": 3}, TypeError, "draw must be a function"),
        ({"draw": lambda a: 3}, TypeError, "got int"),
        ({"caption": lambda a: 3}, TypeError, "caption must return a string"),
        ({"max_views": 1}, ValueError, "2 = 2 settings, more than max_views=1"),
        ({"dpi": 0}, ValueError, "dpi must be an integer >= 10"),
    ],
)
def test_explorer_rejects_bad_arguments(kwargs, error, message) -> None:
    args = {"draw": lambda a: f"<b>{a}</b>", "grid": {"a": [0.1, 0.2]}} | kwargs
    draw, grid = args.pop("draw"), args.pop("grid")
    with pytest.raises(error, match=re.escape(message)):
        precomputed_explorer(draw, grid, **args)


# ---------------------------------------------------------------- eps_explorer / attack_explorer


def test_eps_explorer_views_follow_the_attack(model, images) -> None:
    x, y = images
    box = eps_explorer(model, x, y, CLASSES, eps_values=(0.0, 0.1, 0.3), eps=0.1, index=1, dpi=30)
    assert not plt.get_fignums()
    assert len(box.views) == 3 * len(x)
    assert box.setting() == {"eps": 0.1, "image": 1}
    _follow_links(box)
    labels, text = _caption(_visible_view(box))
    assert labels == ["0.1", "1"] and text.startswith("ε = 0.1, image 1")
    # at ε = 0 nothing changes: the caption says the prediction holds where it was right
    pred = predict(model, x).argmax(dim=1)
    for i in range(len(x)):
        text = _caption(box.views[(0, i)])[1]
        assert ("still right" in text) == bool(pred[i] == y[i])
    # different ε, different pictures
    assert box.views[(0, 0)].children[1].value != box.views[(2, 0)].children[1].value


@pytest.mark.parametrize(
    "kwargs",
    [{"index": 5}, {"index": -1}, {"eps": 0.25}, {"eps_values": (0.2, 0.1)}, {"eps_values": ()}],
)
def test_eps_explorer_rejects_bad_arguments(model, images, kwargs) -> None:
    x, y = images
    with pytest.raises(ValueError):
        eps_explorer(model, x, y, CLASSES, **kwargs)


def test_attack_explorer_controls_come_from_the_registry(model, images) -> None:
    x, y = images
    box = attack_explorer(model, x[:3], y[:3], CLASSES, attack="pgd", eps_values=(0.1, 0.2), dpi=30)
    assert not plt.get_fignums()
    assert box.controls["attack"].options == ("FGSM", "BIM", "PGD", "CW-L2")
    assert box.setting() == {"attack": "PGD", "eps": 0.1, "image": 0}
    assert len(box.views) == 4 * 2 * 3
    # CW-L2 takes no ε: one picture per image, shared by every ε, and the caption says so
    cw = box.controls["attack"].options.index("CW-L2")
    assert box.views[(cw, 0, 1)].children[1] is box.views[(cw, 1, 1)].children[1]
    assert "no ε" in _caption(box.views[(cw, 1, 1)])[1]
    fg = box.controls["attack"].options.index("FGSM")
    assert box.views[(fg, 0, 1)].children[1] is not box.views[(fg, 1, 1)].children[1]
    text = _caption(box.views[(fg, 1, 2)])[1]
    assert text.startswith("FGSM, ε = 0.2; image 2")
    x_adv = fgsm(model, x[:3], y[:3], eps=0.2)
    fooled = bool(predict(model, x_adv[2:3]).argmax(dim=1)[0] != y[2])
    assert ("not fooled" in text) != fooled


def test_attack_explorer_without_eps_attacks_has_no_eps_control(model, images) -> None:
    x, y = images
    box = attack_explorer(model, x[:2], y[:2], CLASSES, attacks=["cw_l2"])
    assert list(box.controls) == ["attack", "image"]
    assert len(box.views) == 2


def test_attack_explorer_custom_attack_targeted_and_seeded(model, images) -> None:
    x, y = images
    calls = []

    def noisy(model, x, y=None, *, eps, targeted=False, seed=None):
        calls.append((eps, targeted, seed))
        gen = torch.Generator().manual_seed(seed)
        return (x + eps * torch.randn(x.shape, generator=gen)).clamp(0, 1)

    info = AttackInfo("noise", noisy, "inf", True, False, True, title="noise")
    box = attack_explorer(
        model, x[:2], y[:2], CLASSES, attacks=[info], eps_values=(0.1,), seed=7, target=3
    )
    assert calls == [(0.1, True, 7)]  # one batched call per (attack, ε)
    assert "target “3”" in _caption(box.views[(0, 0, 1)])[1]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"attacks": []},
        {"attacks": ["nope"]},
        {"attack": "nope"},
        {"target": 10},
        {"target": True},
        {"index": 9},
        {"steps": 0},
        {"eps": 0.7},
    ],
)
def test_attack_explorer_rejects_bad_arguments(model, images, kwargs) -> None:
    x, y = images
    with pytest.raises(ValueError):
        attack_explorer(model, x, y, CLASSES, **kwargs)


def test_attack_explorer_rejects_mismatched_labels(model, images) -> None:
    x, y = images
    with pytest.raises(ValueError, match="one label per image"):
        attack_explorer(model, x, y[:3], CLASSES)


def test_default_attacks_are_registered() -> None:
    from advlab.book.widgets import DEFAULT_ATTACKS

    assert all(name in ATTACKS for name in DEFAULT_ATTACKS)


# --- found by the hypothesis suite (tests/test_fuzz_public_api.py) ------------------------------


def _refused(fn, args: tuple, kwargs: dict, name: str) -> None:
    """``fn(*args, **kwargs)`` raises advlab's ArgumentError, whose message starts with ``name``."""
    with pytest.raises(ArgumentError, match=rf"^{re.escape(name)} "):
        fn(*args, **kwargs)


@pytest.mark.parametrize(
    ("fig", "kwargs", "name"),
    [
        # before: AttributeError: 'float' object has no attribute 'savefig'
        (0.0, {}, "fig"),
        # before: ValueError: The truth value of an array with more than one element is ambiguous
        (np.zeros(3), {}, "fig"),
        # before: AttributeError: 'NoneType' object has no attribute 'savefig'
        (None, {}, "fig"),
        ("FIG", {"dpi": None}, "dpi"),
        ("FIG", {"dpi": 2**70}, "dpi"),
        ("FIG", {"dpi": 72.0}, "dpi"),
        ("FIG", {"dpi": True}, "dpi"),
    ],
)
def test_figure_png_refuses_junk(fig, kwargs, name) -> None:
    if isinstance(fig, str):
        fig = plt.figure()
    _refused(figure_png, (fig,), kwargs, name)


@pytest.mark.parametrize(
    ("out", "fig", "kwargs", "name"),
    [
        # before: AttributeError: 'float' object has no attribute 'savefig'
        (None, 0.0, {}, "out"),
        ("OUT", 0.0, {}, "fig"),
        # before: AttributeError: 'NoneType' object has no attribute 'savefig'
        (None, None, {}, "out"),
        ("OUT", None, {}, "fig"),
        ("OUT", "FIG", {"dpi": 0}, "dpi"),
    ],
)
def test_show_figure_refuses_junk(out, fig, kwargs, name) -> None:
    out = W.Output() if out == "OUT" else out
    fig = plt.figure() if fig == "FIG" else fig
    _refused(show_figure, (out, fig), kwargs, name)
    if isinstance(out, W.Output):
        assert out.outputs == ()


def test_figure_png_and_show_figure_render_and_close() -> None:
    fig = plt.figure(figsize=(1, 1))
    assert figure_png(fig, dpi=np.int64(20)).startswith(b"\x89PNG")
    assert not plt.get_fignums()
    out = W.Output()
    show_figure(out, plt.figure(figsize=(1, 1)), dpi=20)
    assert out.outputs[0]["data"]["image/png"] and not plt.get_fignums()


@pytest.mark.parametrize(
    ("children", "name"),
    [
        # before: TraitError: ... expected a Widget, not the int 0
        ([0], "children"),
        # before: TraitError: The 'children' trait ... expected a tuple, not the NoneType None
        (None, "children"),
        ("abc", "children"),
        ((W.HTML("a"), np.zeros(3)), "children"),
    ],
)
def test_precomputed_explorer_box_refuses_junk(children, name) -> None:
    _refused(PrecomputedExplorer, (children,), {}, name)
    with pytest.raises(TypeError):  # an ArgumentTypeError: a TypeError too
        PrecomputedExplorer(children)


def test_precomputed_explorer_box_starts_with_empty_handles() -> None:
    box = PrecomputedExplorer([W.HTML("a")])
    assert len(box.children) == 1 and box.setting() == {}
    assert (box.grid, box.views, box.links, box.live_controls) == ({}, {}, [], {})


@pytest.mark.parametrize(
    ("args", "kwargs", "name"),
    [
        # before: TypeError: 'bool' object is not iterable
        ((None, None, None, None), {"attacks": False}, "attacks"),
        (("M", "X", "Y", CLASSES), {"attacks": False}, "attacks"),
        (("M", "X", "Y", CLASSES), {"attacks": "pgd"}, "attacks"),
        ((None, "X", "Y", CLASSES), {}, "model"),
        (("M", None, "Y", CLASSES), {}, "x"),
        (("M", "X", None, CLASSES), {}, "y"),
        (("M", "X", "Y", None), {}, "classes"),
        (("M", "X", "Y", CLASSES[:3]), {}, "classes"),
        (("M", "X", "Y", CLASSES), {"attack": torch.zeros(2, 2)}, "attack"),
        (("M", "X", "Y", CLASSES), {"eps_values": None}, "eps_values"),
        (("M", "X", "Y", CLASSES), {"eps_values": ["0.1"]}, "eps_values"),
        (("M", "X", "Y", CLASSES), {"eps": "0.1"}, "eps"),
        (("M", "X", "Y", CLASSES), {"steps": 2.5}, "steps"),
        (("M", "X", "Y", CLASSES), {"target": "3"}, "target"),
        (("M", "X", "Y", CLASSES), {"index": None}, "index"),
        (("M", "X", "Y", CLASSES), {"seed": None}, "seed"),
        (("M", "X", "Y", CLASSES), {"live": "False"}, "live"),
        (("M", "X", "Y", CLASSES), {"dpi": None}, "dpi"),
    ],
)
def test_attack_explorer_refuses_junk(model, images, args, kwargs, name) -> None:
    x, y = images
    args = tuple({"M": model, "X": x, "Y": y}.get(a, a) if isinstance(a, str) else a for a in args)
    _refused(attack_explorer, args, kwargs, name)
    assert not plt.get_fignums()
