"""advlab.metrics.linearity: the margin's gradient, the first-order flip budget, the margin drops."""

from __future__ import annotations

import pytest
import torch
from conftest import tiny_conv
from torch import nn

from advlab.metrics import (
    DROPS,
    class_margins,
    linear_flip_budget,
    margin_at,
    margin_drops,
    margin_gradient,
)

pytestmark = pytest.mark.usefixtures("one_thread")


def _linear(k: int = 4, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(2 * 3 * 3, k)).eval()


def _problem(model: nn.Module, n: int = 6, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Images in the middle of [0, 1] (so small steps are never clipped), labelled as predicted."""
    gen = torch.Generator().manual_seed(seed)
    x = 0.4 + 0.2 * torch.rand((n, 2, 3, 3), generator=gen)
    with torch.no_grad():
        y = model(x).argmax(1)
    return x, y


def test_margin_gradient_is_margin_at_and_the_linear_models_weights() -> None:
    model = _linear()
    x, y = _problem(model)
    m, g = margin_gradient(model, x, y)
    assert torch.allclose(m, margin_at(model, x, y), atol=1e-6)
    w = model[1].weight.detach()
    z = model(x).detach()
    runner_up = z.scatter(1, y[:, None], -float("inf")).argmax(1)
    expected = (w[y] - w[runner_up]).view_as(x)
    assert torch.allclose(g, expected, atol=1e-6)
    assert not g.requires_grad and not m.requires_grad


def test_linear_flip_budget_is_where_a_linear_model_flips() -> None:
    model = _linear()
    x, y = _problem(model)
    budget = linear_flip_budget(model, x, y)
    assert (budget > 0).all()
    _, g = margin_gradient(model, x, y)
    for i in range(len(x)):
        step = -g[i].sign()
        for scale, flipped in ((0.99, False), (1.01, True)):
            e = float(budget[i]) * scale
            if e > 0.35:  # would leave [0, 1]: the linear argument ignores clipping
                continue
            z = model((x[i] + e * step)[None])
            assert (z.argmax(1).item() != y[i].item()) == flipped


def test_class_margins_true_class_zero_and_runner_up_matches() -> None:
    model = tiny_conv(num_classes=3).eval()
    x = torch.rand((5, 1, 8, 8), generator=torch.Generator().manual_seed(0))
    y = torch.tensor([0, 1, 2, 0, 1])
    pm, pg = class_margins(model, x, y)
    assert pm.shape == (5, 3) and pg.shape == (5, 3, 1, 8, 8)
    assert (pm[torch.arange(5), y] == 0).all() and (pg[torch.arange(5), y] == 0).all()
    m, g = margin_gradient(model, x, y)
    j = pm.masked_fill(torch.nn.functional.one_hot(y, 3).bool(), float("inf")).argmin(1)
    assert torch.allclose(pm[torch.arange(5), j], m, atol=1e-6)
    assert torch.allclose(pg[torch.arange(5), j], g, atol=1e-6)


def test_margin_drops_on_a_linear_model() -> None:
    model = _linear()
    x, y = _problem(model)
    signs = torch.randint(0, 2, x.shape, generator=torch.Generator().manual_seed(2)) * 2.0 - 1
    drops = margin_drops(model, x, y, [0.0, 0.02, 0.05], signs=signs)
    assert tuple(drops) == DROPS
    assert all(len(v) == 3 and all(a.shape == (6,) for a in v) for v in drops.values())
    for key in DROPS:
        assert abs(drops[key][0]).max() < 1e-6  # ε = 0 moves nothing
    for k in (1, 2):
        # a linear model: FGSM on the margin is the first-order prediction exactly (no clipping)
        assert torch.allclose(torch.tensor(drops["fgsm"][k]), torch.tensor(drops["linear"][k]))
        assert (drops["best_class"][k] >= drops["linear"][k] - 1e-5).all()
        assert (drops["linear"][k] > drops["random"][k]).all()  # aligned beats random signs
    assert (drops["linear"][2] > drops["linear"][1]).all()
    m, g = margin_gradient(model, x, y)
    same = margin_drops(model, x, y, [0.05], signs=signs, margin=m, grad=g)
    assert all((same[key][0] == drops[key][2]).all() for key in DROPS)
    assert not model.training


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"eps": [-0.1]}, "eps"),
        ({"eps": []}, "eps"),
        ({"eps": [float("nan")]}, "eps"),
        ({"signs": torch.ones(1)}, "signs"),
        ({"margin": torch.zeros(6)}, "both"),
        ({"margin": torch.zeros(5), "grad": torch.zeros(6, 2, 3, 3)}, "margin must be"),
    ],
)
def test_margin_drops_refuses_bad_arguments(kwargs: dict, match: str) -> None:
    model = _linear()
    x, y = _problem(model)
    args = {"eps": [0.1], "signs": torch.ones_like(x), **kwargs}
    with pytest.raises(ValueError, match=match):
        margin_drops(model, x, y, **args)


def test_margin_gradient_refuses_bad_input() -> None:
    model = _linear()
    x, y = _problem(model)
    with pytest.raises(ValueError):
        margin_gradient(model, x * 3, y)
    with pytest.raises(ValueError):
        margin_gradient(model, x, y[:, None])
    with pytest.raises(ValueError):
        class_margins(model, x, torch.full_like(y, 9))


def test_a_diverged_model_has_no_margins() -> None:
    """Found by the 10x hypothesis run: NaN logits gave NaN margins (issue 18, item 1)."""
    import advlab
    from advlab.metrics.linearity import class_margins, margin_gradient

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 3))
    with torch.no_grad():
        model[1].weight.fill_(float("nan"))
    x, y = torch.rand(2, 1, 4, 4), torch.tensor([0, 1])
    for fn in (class_margins, margin_gradient):
        with pytest.raises(advlab.ArgumentError, match="NaN or infinite logits"):
            fn(model, x, y)
