"""advlab._validate: advlab's error types are the built-in types callers catch."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from advlab import cw_l2, evaluate, fgsm, pgd
from advlab._validate import (
    ArgumentError,
    ArgumentTypeError,
    check_budgets,
    check_count,
    check_finite_logits,
    check_module,
)


def test_argument_errors_are_the_builtin_types_callers_catch() -> None:
    assert issubclass(ArgumentError, ValueError)
    assert issubclass(ArgumentTypeError, ArgumentError) and issubclass(ArgumentTypeError, TypeError)
    with pytest.raises(TypeError, match="integer"):
        check_count("3", "steps")
    with pytest.raises(ValueError, match=">= 1"):
        check_count(0, "steps")
    with pytest.raises(TypeError, match=r"nn\.Module"):
        check_module(lambda x: x)


# --- issue 18 item 11: clear messages where PyTorch's own are obscure ------------------------------


def _linear(k: int = 3) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(4, k)).eval()


class _Detaches(nn.Module):
    """A model whose forward cuts x off the graph: the Part III masking case."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lin(x.detach().flatten(1))


X, Y = torch.rand(2, 1, 2, 2), torch.tensor([0, 1])


@pytest.mark.parametrize(
    "call",
    [
        lambda x: fgsm(_linear(), x, Y, eps=0.1),
        lambda x: evaluate(_linear(), x, Y),
    ],
    ids=["fgsm", "evaluate"],
)
def test_sparse_images_are_named(call) -> None:
    with pytest.raises(ArgumentError, match=r"sparse.*to_dense\(\)"):
        call(X.to_sparse())


@pytest.mark.parametrize(
    "call",
    [
        lambda m: fgsm(m, X, Y, eps=0.1),
        lambda m: pgd(m, X, Y, eps=0.1, steps=2),
        lambda m: cw_l2(m, X, Y, steps=2, binary_search_steps=1),
    ],
    ids=["fgsm", "pgd", "cw_l2"],
)
def test_a_forward_that_detaches_x_is_named_as_masking(call) -> None:
    with pytest.raises(ArgumentError, match=r"does not depend on x.*gradient masking"):
        call(_Detaches())


def test_a_model_of_mixed_dtypes_is_named() -> None:
    model = _linear()
    model.append(nn.Linear(3, 3).double())  # first parameter float32, a later one float64
    with pytest.raises(ArgumentError, match=r"mixes dtypes.*'2\.weight' is torch\.float64"):
        fgsm(model, X, Y, eps=0.1)


def test_check_finite_logits_passes_finite_and_names_nan() -> None:
    z = torch.zeros(3, 2)
    assert check_finite_logits(z) is z
    z[2, 1] = math.nan
    with pytest.raises(ArgumentError, match=r"1 of 3 images \(first: index 2\)"):
        check_finite_logits(z)


@pytest.mark.parametrize(
    ("values", "kw"),
    [
        ([0.1, math.nan], {}),
        ([], {}),
        ([0.2, 0.1], {"increasing": True}),
        ([0.0], {"positive": True}),
    ],
)
def test_check_budgets_refuses(values: list[float], kw: dict) -> None:
    with pytest.raises(ArgumentError, match="non-empty list"):
        check_budgets(values, **kw)


def test_check_budgets_accepts_numbers_and_refuses_non_numbers() -> None:
    assert check_budgets([0, 0.5, torch.tensor(1.0)]) == [0.0, 0.5, 1.0]
    with pytest.raises(ArgumentTypeError):
        check_budgets("0.1")
    with pytest.raises(ArgumentTypeError):
        check_budgets([True])
