"""Line plots: they draw what they are given and refuse junk, naming the argument."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import math
import re

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

import advlab
from advlab.viz import (
    accuracy_confidence_figure,
    linearity_figure,
    norm_comparison_figure,
    plot_curves,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _refused(fn, args: tuple, kwargs: dict, name: str) -> None:
    """``fn(*args, **kwargs)`` raises advlab's ArgumentError, whose message starts with ``name``."""
    with pytest.raises(advlab.ArgumentError, match=rf"^{re.escape(name)} "):
        fn(*args, **kwargs)
    assert not plt.get_fignums(), "a refused call must not leave a figure behind"


def test_plot_curves_draws_one_line_per_curve_with_missing_points() -> None:
    _, ax = plt.subplots()
    fig = plot_curves(
        np.array([0, 1, 2]),
        {"a": [0.9, math.nan, 0.1], "b": torch.tensor([1.0, 0.5, 0.0])},
        xlabel="ε",
        ylabel="accuracy",
        title="t",
        ax=ax,
    )
    assert fig is ax.figure
    assert [line.get_label() for line in ax.get_lines()] == ["a", "b"]
    assert ax.get_xlabel() == "ε" and ax.get_title() == "t"


# --- found by the hypothesis suite (tests/test_fuzz_public_api.py) ------------------------------

XY = ([0.0, 0.1, 0.2], {"a": [1.0, 0.5, 0.2]})
LABELS = {"xlabel": "ε", "ylabel": "accuracy"}


@pytest.mark.parametrize(
    ("args", "kwargs", "name"),
    [
        # before: AttributeError: 'NoneType' object has no attribute 'items'
        ((None, None), {"xlabel": None, "ylabel": None}, "xs"),
        ((XY[0], None), LABELS, "curves"),
        ((XY[0], {}), LABELS, "curves"),
        ((XY[0], {"a": [1.0]}), LABELS, "curves['a']"),
        ((XY[0], {"a": "xyz"}), LABELS, "curves['a']"),
        (XY, {"xlabel": None, "ylabel": "y"}, "xlabel"),
        (XY, {"xlabel": "x", "ylabel": 3}, "ylabel"),
        (XY, {**LABELS, "title": 1.5}, "title"),
        # before: AttributeError: 'Tensor' object has no attribute 'figure'
        (XY, {**LABELS, "ax": torch.zeros(2, 2)}, "ax"),
        (("0.1", XY[1]), LABELS, "xs"),
        (([0.0, math.inf, 1.0], XY[1]), LABELS, "xs"),
    ],
)
def test_plot_curves_refuses_junk(args, kwargs, name) -> None:
    _refused(plot_curves, args, kwargs, name)


DIMS = ([10, 100], [1.0, 10.0], [0.3, 1.0])


@pytest.mark.parametrize(
    ("args", "kwargs", "name"),
    [
        # before: AttributeError: 'bool' object has no attribute 'items'
        ((torch.zeros(2, 2), "", ""), {"eps": None, "marks": True}, "dims"),
        (DIMS, {"eps": 0.1, "marks": True}, "marks"),
        # before: ValueError: The truth value of an array ... is ambiguous
        (DIMS, {"eps": 0.1, "marks": np.zeros(3)}, "marks"),
        (DIMS, {"eps": 0.1, "marks": {"MNIST": "784"}}, "marks['MNIST']"),
        (DIMS, {"eps": 0.1, "marks": {"MNIST": -1}}, "marks['MNIST']"),
        # before: TypeError: unsupported format string passed to Tensor.__format__ / NoneType
        (DIMS, {"eps": torch.zeros(2, 2)}, "eps"),
        (DIMS, {"eps": None}, "eps"),
        (DIMS, {"eps": -0.1}, "eps"),
        # before: TypeError: float() argument must be ... not 'dict'
        ((False, {}, None), {"eps": 0.1}, "dims"),
        (([10, 100], {}, [0.3, 1.0]), {"eps": 0.1}, "aligned"),
        # before: ValueError: x and y must have same first dimension
        (([10, 100], torch.zeros(2, 2), [0.3, 1.0]), {"eps": 0.1}, "aligned"),
        (([10, 100], [1.0, 10.0], [0.3]), {"eps": 0.1}, "random"),
        # before: ValueError: '0' is not a valid format string
        (([10, 100], "0", None), {"eps": 0.1}, "aligned"),
        # before: ValueError: x, y, and format string must not be None
        ((None, None, None), {"eps": 0.1}, "dims"),
        (([0, 100], [1.0, 10.0], [0.3, 1.0]), {"eps": 0.1}, "dims"),
    ],
)
def test_linearity_figure_refuses_junk(args, kwargs, name) -> None:
    _refused(linearity_figure, args, kwargs, name)


EPS = [0.0, 0.1]
ACC = {"FGSM": [0.9, 0.5]}


@pytest.mark.parametrize(
    ("args", "kwargs", "name"),
    [
        # before: AttributeError: 'NoneType' object has no attribute 'items'
        ((None, None, None), {}, "eps"),
        ((EPS, None, ACC), {}, "accuracy"),
        ((EPS, ACC, None), {}, "confidence"),
        ((EPS, ACC, {"FGSM": [0.9]}), {}, "confidence['FGSM']"),
        (([0.0, -0.1], ACC, ACC), {}, "eps"),
        ((EPS, ACC, ACC), {"title": 3}, "title"),
    ],
)
def test_accuracy_confidence_figure_refuses_junk(args, kwargs, name) -> None:
    _refused(accuracy_confidence_figure, args, kwargs, name)


def test_accuracy_confidence_figure_keeps_nan_confidence() -> None:
    """A NaN confidence (no image fooled at that ε) is a missing point, not an error."""
    fig = accuracy_confidence_figure(EPS, ACC, {"FGSM": [math.nan, 0.8]})
    assert len(fig.axes) == 2 and len(fig.axes[1].get_lines()) == 1


@pytest.mark.parametrize(
    ("args", "kwargs", "name"),
    [
        # before: TypeError: string indices must be integers, not 'str'
        (("0",), {}, "norms"),
        # before: IndexError: tensors used as indices must be long, int, byte or bool tensors
        ((torch.zeros(2, 2),), {}, "norms"),
        # before: TypeError: 'NoneType' object is not iterable
        ((None,), {}, "norms"),
        (({},), {}, "norms"),
        (({"a": None},), {}, "norms['a']"),
        (({"a": torch.zeros(2, 2)},), {}, "norms['a']"),
        (({"a": [0.1]},), {"xlabel": None}, "xlabel"),
        (({"a": [0.1]},), {"title": ["t"]}, "title"),
    ],
)
def test_norm_comparison_figure_refuses_junk(args, kwargs, name) -> None:
    _refused(norm_comparison_figure, args, kwargs, name)


def test_wrong_types_are_type_errors_too() -> None:
    """A value of the wrong type is an ArgumentTypeError: ``except TypeError`` catches it."""
    with pytest.raises(advlab.ArgumentTypeError, match="curves must map names"):
        plot_curves([0.0], None, xlabel="x", ylabel="y")  # type: ignore[arg-type]
    with pytest.raises(advlab.ArgumentTypeError, match="ax must be a matplotlib Axes"):
        plot_curves([0.0], {"a": [1.0]}, xlabel="x", ylabel="y", ax=torch.zeros(2, 2))  # type: ignore[arg-type]
