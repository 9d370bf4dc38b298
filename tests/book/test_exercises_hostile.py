"""Every exercise checker answers a reader's function with feedback, whatever the function does.

Issue 18, items 6-8: a checker never crashes on what a reader's function
returns (``None``, a tuple, a non-tensor, another device, a sparse or
wrong-shaped tensor); its verdict does not depend on what the reader's code
did to the model; and its feedback is right (a correct answer in float16
passes, a stale fitness is named as such).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
import torch
from attacks.test_jsma import _reader_best_pair
from attacks.test_one_pixel import reader_set_pixels
from test_de import reader_generation
from torch import Tensor

from advlab.book.exercises import (
    CheckReport,
    check_best_pair,
    check_de_generation,
    check_fgsm,
    check_jacobian_augmentation,
    check_pgd,
    check_set_pixels,
)
from book.test_exercises import flipped_fgsm, good_fgsm, good_pgd_l2, make_pgd
from book.test_exercises_jacobian import good_augment

good_pgd = make_pgd()


def _pgd_l2(fn: Callable[..., Any]) -> CheckReport:
    return check_pgd(fn, norm=2, verbose=False)


# checker, the reader's right answer: every image-returning checker
IMAGE_CHECKERS: dict[str, tuple[Callable[..., CheckReport], Callable[..., Tensor]]] = {
    "fgsm": (lambda fn: check_fgsm(fn, verbose=False), good_fgsm),
    "pgd": (lambda fn: check_pgd(fn, verbose=False), good_pgd),
    "pgd-l2": (_pgd_l2, good_pgd_l2),
    "jacobian": (lambda fn: check_jacobian_augmentation(fn, verbose=False), good_augment),
    "set_pixels": (lambda fn: check_set_pixels(fn, verbose=False), reader_set_pixels),
}

# what a reader's function may return instead of its answer, and the feedback it must get
HOSTILE: dict[str, tuple[Callable[[Tensor], object], str]] = {
    "none": (lambda out: None, "returned None"),
    "tuple": (lambda out: (out, out), "returned a tuple of 2 items"),
    "list": (lambda out: [out], "returned a list of 1 items"),
    "numpy": (lambda out: out.numpy(), "returned ndarray"),
    "number": (lambda out: 0.5, "returned float"),
    "meta": (lambda out: out.to("meta"), "is on meta"),
    "sparse": (lambda out: out.to_sparse(), "sparse_coo"),
    "shape": (lambda out: out[:1], "has shape"),
    "int": (lambda out: (out * 255).long(), "dtype torch.int64"),
    "nan": (lambda out: out * float("nan"), "NaN or inf"),
}


@pytest.mark.parametrize("how", sorted(HOSTILE))
@pytest.mark.parametrize("checker", sorted(IMAGE_CHECKERS))
def test_an_image_checker_never_crashes_on_what_the_reader_returns(checker: str, how: str) -> None:
    check, good = IMAGE_CHECKERS[checker]
    spoil, feedback = HOSTILE[how]
    report = check(lambda *a, **k: spoil(good(*a, **k)))
    assert isinstance(report, CheckReport)
    assert not report.passed
    assert feedback in str(report), str(report)


@pytest.mark.parametrize(
    ("how", "feedback"),
    [
        ("none", "got NoneType"),
        ("triple", "got a tuple of 3 items"),
        ("numpy", "new_pop: your function returned ndarray"),
        ("meta", "new_fit: your result is on meta"),
        ("shape", "new_pop: your result has shape"),
        ("nan", "new_pop: your result contains NaN"),
    ],
)
def test_the_de_checker_never_crashes_on_what_the_reader_returns(how: str, feedback: str) -> None:
    def reader(*a: Any) -> object:
        pop, fit = reader_generation(*a)
        return {
            "none": None,
            "triple": (pop, fit, 0),
            "numpy": (pop.numpy(), fit),
            "meta": (pop, fit.to("meta")),
            "shape": (pop[:2], fit),
            "nan": (pop * float("nan"), fit),
        }[how]

    report = check_de_generation(reader, verbose=False)
    assert not report.passed
    assert feedback in str(report), str(report)


@pytest.mark.parametrize(
    ("value", "feedback"),
    [
        ("ab", "return a pair (p, q) of indices, got 'ab'"),
        (torch.tensor([0, 1], device="meta"), "return a pair (p, q) of indices"),
        ((1.5, 2), "the indices must be whole numbers"),
        (object(), "return a pair (p, q) of indices, got <object"),
    ],
)
def test_the_pair_checker_never_crashes_on_what_the_reader_returns(
    value: object, feedback: str
) -> None:
    report = check_best_pair(lambda a, b: value, verbose=False)
    assert not report.passed
    assert feedback in str(report), str(report)


def test_a_pair_as_a_float16_tensor_or_numpy_integers_is_accepted() -> None:
    import numpy as np

    def as_tensor(a: Tensor, b: Tensor) -> object:
        pq = _reader_best_pair(a, b)
        return None if pq is None else torch.tensor(pq, dtype=torch.float16)

    def as_numpy(a: Tensor, b: Tensor) -> object:
        pq = _reader_best_pair(a, b)
        return None if pq is None else tuple(np.int64(v) for v in pq)

    assert check_best_pair(as_tensor, verbose=False).passed
    assert check_best_pair(as_numpy, verbose=False).passed


# --- item 7: the verdict does not depend on what the reader's code does to the model ------------


def _zeroing(answer: Callable[..., Tensor]) -> Callable[..., Tensor]:
    """A "solution" that zeroes the model's weights and returns x unchanged."""

    def reader(model: torch.nn.Module, x: Tensor, *rest: Any, **kw: Any) -> Tensor:
        with torch.no_grad():
            for p in model.parameters():
                p.zero_()
        return x.clone()

    return reader


@pytest.mark.parametrize("checker", ["fgsm", "pgd", "pgd-l2", "jacobian"])
def test_a_function_that_zeroes_the_model_fails(checker: str) -> None:
    check, good = IMAGE_CHECKERS[checker]
    report = check(_zeroing(good))
    assert not report.passed
    assert "changed the model" in str(report)


def _double_in_place(model: torch.nn.Module, x: Tensor, y: Tensor, eps: float) -> Tensor:
    model.double()  # changes the caller's model: in a notebook, the reader's own network
    return good_fgsm(model, x.double(), y, eps).float()


def _trains(model: torch.nn.Module, x: Tensor, y: Tensor, eps: float) -> Tensor:
    out = good_fgsm(model, x, y, eps)
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    opt.zero_grad()
    torch.nn.functional.cross_entropy(model(x), y).backward()
    opt.step()
    return out


def _relabels(model: torch.nn.Module, x: Tensor, y: Tensor, eps: float) -> Tensor:
    out = good_fgsm(model, x, y, eps)
    y.zero_()
    return out


@pytest.mark.parametrize(
    ("reader", "feedback"),
    [
        (_double_in_place, "is now torch.float64"),
        (_trains, "take no optimiser step"),
        (_relabels, "modified the labels in place"),
    ],
    ids=["converts the model", "trains the model", "relabels"],
)
def test_a_right_answer_that_changes_its_inputs_is_told_so(
    reader: Callable[..., Tensor], feedback: str
) -> None:
    """The reference runs on the originals, so the reader's side effects cannot make it agree."""
    report = check_fgsm(reader, verbose=False)
    assert not report.passed
    assert feedback in str(report), str(report)


# --- item 8: the feedback is right -------------------------------------------------------------


@pytest.mark.parametrize("checker", sorted(IMAGE_CHECKERS))
def test_a_right_answer_in_float16_passes(checker: str) -> None:
    check, good = IMAGE_CHECKERS[checker]
    report = check(lambda *a, **k: good(*a, **k).half())
    assert report.passed, str(report)


def test_an_fgsm_computed_in_float16_throughout_passes() -> None:
    def in_half(model: torch.nn.Module, x: Tensor, y: Tensor, eps: float) -> Tensor:
        return good_fgsm(copy.deepcopy(model).half(), x.half(), y, eps)

    report = check_fgsm(in_half, verbose=False)
    assert report.passed, str(report)


def test_a_wrong_answer_in_float16_is_still_named() -> None:
    def flipped_half(model: torch.nn.Module, x: Tensor, y: Tensor, eps: float) -> Tensor:
        return flipped_fgsm(model, x, y, eps).half()

    report = check_fgsm(flipped_half, verbose=False)
    assert not report.passed
    assert "against the gradient" in str(report)


def test_a_stale_fitness_is_diagnosed_as_the_fitness() -> None:
    def stale(pop: Tensor, fit: Tensor, *rest: Any) -> tuple[Tensor, Tensor]:
        new_pop, _ = reader_generation(pop, fit, *rest)
        return new_pop, fit.clone()

    def shuffled(pop: Tensor, fit: Tensor, *rest: Any) -> tuple[Tensor, Tensor]:
        new_pop, new_fit = reader_generation(pop, fit, *rest)
        return new_pop, new_fit.flip(0)

    report = check_de_generation(stale, verbose=False)
    assert not report.passed
    assert "old fitness" in str(report) and "clip" not in str(report), str(report)
    report = check_de_generation(shuffled, verbose=False)
    assert "new_fit does not match it" in str(report), str(report)


def test_a_de_generation_in_float32_passes() -> None:
    def in_float32(pop: Tensor, fit: Tensor, f: Any, *rest: Any) -> tuple[Tensor, Tensor]:
        new_pop, new_fit = reader_generation(pop, fit, f, *rest)
        return new_pop.float(), new_fit.float()

    assert check_de_generation(in_float32, verbose=False).passed


@pytest.mark.parametrize(
    "checker",
    [
        check_fgsm,
        check_pgd,
        check_jacobian_augmentation,
        check_de_generation,
        check_set_pixels,
        check_best_pair,
    ],
)
def test_a_checker_given_no_function_says_to_pass_the_function(
    checker: Callable[..., CheckReport],
) -> None:
    from advlab import ArgumentTypeError

    with pytest.raises(ArgumentTypeError, match="pass the function itself"):
        checker(None)
