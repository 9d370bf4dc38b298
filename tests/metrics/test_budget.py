"""smallest_budget: a grid sweep plus bisection recovers known minimal distances."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from advlab import fgsm, pgd
from advlab.metrics import smallest_budget


def _linear_pair() -> tuple[nn.Module, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Two classes, logits z1 - z0 = w·x + b; images near 0.5 so clipping never binds."""
    torch.manual_seed(0)
    d = 16
    w = torch.randn(d)
    model = nn.Sequential(nn.Flatten(), nn.Linear(d, 2))
    with torch.no_grad():
        model[1].weight.copy_(torch.stack([torch.zeros(d), w]))
        model[1].bias.zero_()
    x = 0.5 + 0.02 * torch.randn(6, 1, 4, 4)
    with torch.no_grad():
        score = model(x)[:, 1] - model(x)[:, 0]
    y = (score > 0).long()
    return model.eval(), x, y, score.abs()


def test_l2_budget_matches_the_distance_to_a_linear_boundary() -> None:
    model, x, y, score = _linear_pair()
    w = model[1].weight[1]
    exact = score / w.norm()  # distance to the hyperplane
    res = smallest_budget(
        lambda xi, yi, e: pgd(model, xi, yi, eps=e, norm=2, steps=20, random_start=False),
        model,
        x,
        y,
        [0.02 * k for k in range(1, 21)],
        refine=6,
    )
    assert bool(res.success.all())
    step = 0.02 / 2**6
    assert torch.all(res.budget >= exact - 1e-4)
    assert torch.all(res.budget <= exact + step + 1e-4)
    assert torch.all(res.distance <= res.budget + 1e-5)


def test_linf_budget_for_fgsm_is_margin_over_l1_norm() -> None:
    model, x, y, score = _linear_pair()
    w = model[1].weight[1]
    exact = score / w.abs().sum()
    res = smallest_budget(
        lambda xi, yi, e: fgsm(model, xi, yi, eps=e),
        model,
        x,
        y,
        [0.01, 0.02, 0.05, 0.1],
        norm="inf",
    )
    assert torch.all((res.budget - exact).abs() <= 0.05 / 2**5 + 1e-4)
    assert torch.allclose(res.distance, res.budget, atol=1e-5)


def test_failures_are_nan_and_calls_are_grouped() -> None:
    model, x, y, _ = _linear_pair()
    tiny = [1e-4, 2e-4]
    res = smallest_budget(lambda xi, yi, e: fgsm(model, xi, yi, eps=e), model, x, y, tiny)
    assert bool(res.budget.isnan().all()) and bool(res.distance.isnan().all())
    assert torch.equal(res.x_adv, x)
    assert res.calls == len(tiny)


@pytest.mark.parametrize(
    ("grid", "message"),
    [([], "non-empty"), ([0.1, 0.05], "increasing"), ([0.0, 0.1], "> 0")],
)
def test_bad_grid_is_refused(grid: list[float], message: str) -> None:
    model, x, y, _ = _linear_pair()
    with pytest.raises(ValueError, match=message):
        smallest_budget(lambda xi, yi, e: xi, model, x, y, grid)


def test_bad_norm_and_attack_are_refused() -> None:
    model, x, y, _ = _linear_pair()
    with pytest.raises(ValueError, match="norm must be 1, 2 or 'inf'"):
        smallest_budget(lambda xi, yi, e: xi, model, x, y, [0.1], norm=3)
    with pytest.raises(TypeError, match="attack must be callable"):
        smallest_budget(None, model, x, y, [0.1])  # type: ignore[arg-type]


# --- issue 18: labels out of range, a NaN grid, an attack of the wrong shape -----------------------


def test_labels_beyond_the_model_are_refused() -> None:
    model, x, y, _ = _linear_pair()
    bad = torch.full_like(y, 5)

    def label_blind(xi: torch.Tensor, yi: torch.Tensor, e: float) -> torch.Tensor:
        return (xi + e).clamp(0.0, 1.0)  # never reads yi

    with pytest.raises(ValueError, match=r"class indices in \[0, 1\]"):
        smallest_budget(label_blind, model, x, bad, [0.1])


@pytest.mark.parametrize("grid", [[0.1, float("nan")], [float("nan")], [0.1, float("inf")]])
def test_a_grid_with_nan_or_inf_is_refused(grid: list[float]) -> None:
    model, x, y, _ = _linear_pair()
    with pytest.raises(ValueError, match="finite numbers > 0"):
        smallest_budget(lambda xi, yi, e: xi, model, x, y, grid)


def test_an_attack_returning_the_wrong_shape_is_named() -> None:
    model, x, y, _ = _linear_pair()
    with pytest.raises(ValueError, match="one adversarial image per input image"):
        smallest_budget(lambda xi, yi, e: xi[:1], model, x, y, [0.1])
