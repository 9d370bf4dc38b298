"""Pictures of images: they draw what they are given and refuse junk, naming the argument."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import re

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from torch import nn

import advlab
from advlab.viz import (
    adversarial_figure,
    attack_comparison_figure,
    gallery,
    image_to_numpy,
    probability_bars,
)

CLASSES = ("a", "b", "c")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(16, 3))


X = torch.rand(1, 4, 4, generator=torch.Generator().manual_seed(0))
X_ADV = (X + 0.1).clamp(0, 1)
XB = torch.rand(2, 1, 4, 4, generator=torch.Generator().manual_seed(1))
XB_ADV = (XB - 0.1).clamp(0, 1)
YB = torch.tensor([0, 2])
AXES, MODEL = object(), object()  # stand-ins for the Axes and the model each test makes


def _fill(args: tuple, **real: object) -> tuple:
    """Replace the stand-ins ``AXES`` and ``MODEL`` in ``args`` by the real objects."""
    return tuple(real["ax"] if a is AXES else real["model"] if a is MODEL else a for a in args)


def _refused(fn, args: tuple, kwargs: dict, name: str, *, figures: int = 0) -> None:
    """``fn(*args, **kwargs)`` raises advlab's ArgumentError, whose message starts with ``name``."""
    with pytest.raises(advlab.ArgumentError, match=rf"^{re.escape(name)} "):
        fn(*args, **kwargs)
    assert len(plt.get_fignums()) == figures, "a refused call must not draw a figure"


def test_figures_take_an_image_or_a_batch_of_one(model) -> None:
    for x, x_adv in ((X, X_ADV), (X[None], X_ADV[None])):
        fig = adversarial_figure(model, x, x_adv, CLASSES, true=np.int64(1), eps=0.1)
        assert len(fig.axes) == 6 and "ε = 0.1" in fig.axes[1].get_title()
        fig = attack_comparison_figure(model, x, {"A": x_adv, "B": x}, list(CLASSES), true=0)
        assert len(fig.axes) == 6
    fig = gallery(model, XB, XB_ADV, CLASSES, YB, title="t")
    assert len(fig.axes) == 4
    assert image_to_numpy(X).shape == (4, 4)
    assert image_to_numpy(torch.rand(3, 2, 5)).shape == (2, 5, 3)


# --- found by the hypothesis suite (tests/test_fuzz_public_api.py) ------------------------------


@pytest.mark.parametrize(
    ("img", "name"),
    [
        (torch.zeros(2, 2), "img"),  # before: ValueError: axes don't match array
        (None, "img"),  # before: AttributeError: 'NoneType' object has no attribute 'detach'
        (np.zeros((1, 4, 4)), "img"),
        (torch.zeros(2, 4, 4), "img"),
        (torch.zeros(1, 4, 4).to("meta"), "img"),
        (torch.zeros(1, 4, 4).to_sparse(), "img"),
    ],
)
def test_image_to_numpy_refuses_junk(img, name) -> None:
    _refused(image_to_numpy, (img,), {}, name)


@pytest.mark.parametrize(
    ("args", "kwargs", "name"),
    [
        # before: AttributeError: 'NoneType' object has no attribute 'barh'
        ((None, torch.zeros(2, 2), None), {}, "ax"),
        # before: TypeError: len() of unsized object
        ((None, None, None), {}, "ax"),
        # before: TypeError: float() argument must be ... not 'dict'
        ((AXES, {}, CLASSES), {}, "probs"),
        # before: ValueError: attempt to get argmax of an empty sequence
        ((AXES, (), CLASSES), {}, "probs"),
        # before: ValueError: could not convert string to float: ''
        ((AXES, "", CLASSES), {}, "probs"),
        ((AXES, torch.zeros(2, 2), CLASSES), {}, "probs"),
        ((AXES, [0.2, float("nan"), 0.5], CLASSES), {}, "probs"),
        ((AXES, [0.2, 0.3, 0.5], None), {}, "classes"),
        ((AXES, [0.2, 0.3, 0.5], ("a", "b")), {}, "classes"),
        # before: IndexError: list assignment index out of range
        ((AXES, [0.2, 0.8], ("a", "b")), {"true": 2}, "true"),
        # before: TypeError: only integer tensors of a single element can be converted to an index
        ((AXES, [0.2, 0.8], ("a", "b")), {"true": torch.zeros(2, 2)}, "true"),
        ((AXES, [0.2, 0.8], ("a", "b")), {"true": True}, "true"),
    ],
)
def test_probability_bars_refuses_junk(args, kwargs, name) -> None:
    _, ax = plt.subplots()
    _refused(probability_bars, _fill(args, ax=ax), kwargs, name, figures=1)
    assert not ax.patches, "a refused call must not draw bars"


@pytest.mark.parametrize(
    ("args", "kwargs", "name"),
    [
        # before: TypeError: expected Tensor as element 1 in argument 0, but got numpy.ndarray
        ((None, torch.zeros(2, 2), np.zeros(3), None), {}, "model"),
        ((MODEL, X, np.zeros(3), CLASSES), {}, "x_adv"),
        # before: AttributeError: 'NoneType' object has no attribute 'reshape'
        ((MODEL, torch.zeros(2, 2), None, None), {}, "x"),
        ((MODEL, X, None, CLASSES), {}, "x_adv"),
        ((MODEL, X, torch.rand(3, 4, 4), CLASSES), {}, "x_adv"),
        ((MODEL, X, X_ADV.double(), CLASSES), {}, "x_adv"),
        ((MODEL, X * 3, X_ADV, CLASSES), {}, "x"),
        ((MODEL, X, X_ADV, None), {}, "classes"),
        ((MODEL, X, X_ADV, ("a", "b")), {}, "classes"),
        ((MODEL, X, X_ADV, CLASSES), {"true": 3}, "true"),
        ((MODEL, X, X_ADV, CLASSES), {"eps": "0.1"}, "eps"),
    ],
)
def test_adversarial_figure_refuses_junk(model, args, kwargs, name) -> None:
    args = _fill(args, model=model)
    _refused(adversarial_figure, args, kwargs, name)


@pytest.mark.parametrize(
    ("args", "kwargs", "name"),
    [
        # before: AttributeError: 'NoneType' object has no attribute 'reshape'
        ((None, None, True, None), {}, "model"),
        ((MODEL, None, True, None), {}, "x"),
        ((MODEL, X, True, CLASSES), {}, "advs"),
        ((MODEL, X, {}, CLASSES), {}, "advs"),
        ((MODEL, X, {"A": None}, CLASSES), {}, "advs['A']"),
        ((MODEL, X, {"A": torch.rand(1, 3, 3)}, CLASSES), {}, "advs['A']"),
        ((MODEL, X, {"A": X_ADV}, None), {}, "classes"),
        ((MODEL, X, {"A": X_ADV}, CLASSES), {"true": -1}, "true"),
        ((MODEL, X, {"A": X_ADV}, CLASSES), {"title": 1}, "title"),
    ],
)
def test_attack_comparison_figure_refuses_junk(model, args, kwargs, name) -> None:
    args = _fill(args, model=model)
    _refused(attack_comparison_figure, args, kwargs, name)


@pytest.mark.parametrize(
    ("args", "kwargs", "name"),
    [
        # before: TypeError: expected Tensor as element 1 in argument 0, but got NoneType
        ((None, torch.zeros(2, 2), None, None, None), {}, "model"),
        ((MODEL, XB, None, CLASSES, YB), {}, "x_adv"),
        # before: TypeError: object of type 'NoneType' has no len()
        ((MODEL, None, None, None, None), {}, "x"),
        ((MODEL, torch.zeros(2, 2), XB_ADV, CLASSES, YB), {}, "x"),
        ((MODEL, XB, XB_ADV[:1], CLASSES, YB), {}, "x_adv"),
        ((MODEL, XB, XB_ADV, None, YB), {}, "classes"),
        ((MODEL, XB, XB_ADV, CLASSES, None), {}, "y"),
        ((MODEL, XB, XB_ADV, CLASSES, YB.float()), {}, "y"),
        ((MODEL, XB, XB_ADV, CLASSES, YB[:1]), {}, "y"),
        ((MODEL, XB, XB_ADV, CLASSES, YB + 3), {}, "y"),
        ((MODEL, XB, XB_ADV, CLASSES, YB), {"title": 0}, "title"),
    ],
)
def test_gallery_refuses_junk(model, args, kwargs, name) -> None:
    args = _fill(args, model=model)
    _refused(gallery, args, kwargs, name)


def test_wrong_types_are_type_errors_too(model) -> None:
    """A value of the wrong type is an ArgumentTypeError: ``except TypeError`` catches it."""
    with pytest.raises(advlab.ArgumentTypeError, match="x_adv must be an image batch tensor"):
        gallery(model, XB, None, CLASSES, YB)  # type: ignore[arg-type]
    with pytest.raises(advlab.ArgumentTypeError, match=r"model must be a torch\.nn\.Module"):
        adversarial_figure(None, X, X_ADV, CLASSES)  # type: ignore[arg-type]
