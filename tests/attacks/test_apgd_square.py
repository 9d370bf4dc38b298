"""APGD and Square: the contract every attack keeps, known answers on linear models, and the
standard evaluation built on them (:func:`advlab.metrics.evaluate_robustness`)."""

from __future__ import annotations

import itertools

import pytest
import torch
from conftest import tiny_conv
from torch import Tensor, nn

from advlab import apgd, square
from advlab.attacks._common import ball_tolerance
from advlab.attacks.apgd import apgd_checkpoints, dlr_loss
from advlab.attacks.square import square_side
from advlab.metrics import evaluate_robustness

from ._models import CountingModel, binary_linear, images, prediction, tiny_linear

CALLS = {
    "apgd-ce": lambda m, x, y=None, **kw: apgd(
        m, x, y, **{"eps": 0.1, "steps": 10, "seed": 0, **kw}
    ),
    "apgd-dlr": lambda m, x, y=None, **kw: apgd(
        m, x, y, **{"eps": 0.1, "steps": 10, "loss": "dlr", "seed": 0, **kw}
    ),
    "apgd-l2": lambda m, x, y=None, **kw: apgd(
        m, x, y, **{"eps": 0.5, "steps": 10, "norm": 2, "seed": 0, **kw}
    ),
    "square": lambda m, x, y=None, **kw: square(
        m, x, y, **{"eps": 0.1, "steps": 50, "seed": 0, **kw}
    ),
}
NORMS = {
    "apgd-ce": ("inf", 0.1),
    "apgd-dlr": ("inf", 0.1),
    "apgd-l2": ("2", 0.5),
    "square": ("inf", 0.1),
}


def assert_in_ball(x_adv: Tensor, x: Tensor, name: str) -> None:
    norm, eps = NORMS[name]
    assert x_adv.min() >= 0 and x_adv.max() <= 1
    delta = (x_adv - x).flatten(1).double()
    tol = ball_tolerance(x.dtype)
    if norm == "inf":
        assert delta.abs().amax(dim=1).max() <= eps + tol
    else:
        assert delta.norm(dim=1).max() <= eps + tol * delta.shape[1] ** 0.5


# --- the contract ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(CALLS))
@pytest.mark.parametrize("model_fn", [tiny_conv, tiny_linear], ids=["conv", "linear"])
def test_stays_in_ball_and_box_and_is_pure(name: str, model_fn) -> None:
    model = model_fn()
    model.train()
    modes = [m.training for m in model.modules()]
    buffers = [b.clone() for b in model.buffers()]
    x = images()
    x_before = x.clone()
    x_adv = CALLS[name](model, x, prediction(model, x))
    assert torch.equal(x, x_before)
    assert [m.training for m in model.modules()] == modes
    assert all(p.grad is None for p in model.parameters())
    assert all(map(torch.equal, model.buffers(), buffers)), "the attack ran in train mode"
    assert x_adv.shape == x.shape and x_adv.dtype == x.dtype and not x_adv.requires_grad
    assert_in_ball(x_adv, x, name)
    assert not torch.equal(x_adv, x)


@pytest.mark.parametrize("name", list(CALLS))
def test_deterministic_by_seed_and_float64(name: str) -> None:
    model, x = tiny_conv(), images()
    assert torch.equal(CALLS[name](model, x), CALLS[name](model, x))
    x64 = CALLS[name](model.double(), x.double())
    assert x64.dtype == torch.float64
    assert_in_ball(x64, x.double(), name)
    with torch.no_grad():
        assert torch.equal(CALLS[name](model, x.double()), x64)


@pytest.mark.parametrize("name", list(CALLS))
def test_eps_zero_returns_x(name: str) -> None:
    model, x = tiny_conv(), images()
    assert torch.equal(CALLS[name](model, x, eps=0.0), x)


def test_on_the_digits_model(digits, digits_model) -> None:
    x, y = digits.x_test[:64], digits.y_test[:64]
    for name in CALLS:
        x_adv = CALLS[name](digits_model, x, y)
        assert_in_ball(x_adv, x, name)
        fooled = (prediction(digits_model, x_adv) != y).float().mean()
        assert fooled > (prediction(digits_model, x) != y).float().mean(), name


def test_bad_arguments() -> None:
    model, x = tiny_conv(), images()
    with pytest.raises(ValueError, match="unknown loss 'margin' for apgd"):
        apgd(model, x, eps=0.1, loss="margin")
    with pytest.raises(ValueError, match=r"rho must be in \(0, 1\]"):
        apgd(model, x, eps=0.1, rho=1.5)
    with pytest.raises(ValueError, match="steps"):
        apgd(model, x, eps=0.1, steps=0)
    with pytest.raises(ValueError, match="at least 3 classes"):
        apgd(tiny_linear(2), x, eps=0.1, loss="dlr")
    with pytest.raises(ValueError, match=r"p_init must be in \(0, 1\]"):
        square(model, x, eps=0.1, p_init=2.0)
    with pytest.raises(ValueError, match="eps"):
        square(model, x, eps=-0.1)
    with pytest.raises(ValueError, match=r"x must lie in \[0, 1\]"):
        square(model, x * 2, eps=0.1)
    with pytest.raises(ValueError, match=r"class indices in \[0, 2\]"):
        apgd(model, x, prediction(model, x) + 3, eps=0.1)


# --- the pieces -----------------------------------------------------------------------------------


def test_checkpoints_follow_the_papers_recursion() -> None:
    # p = 0, 0.22, then p_j + max(p_j - p_{j-1} - 0.03, 0.06): .41 .57 .70 .80 .87 .93 .99
    assert apgd_checkpoints(100) == [22, 41, 57, 70, 80, 87, 93, 99]
    assert apgd_checkpoints(1) == [1]
    with pytest.raises(ValueError, match="steps"):
        apgd_checkpoints(0)


def test_dlr_is_scale_and_shift_invariant_and_positive_exactly_when_wrong() -> None:
    g = torch.Generator().manual_seed(0)
    z = torch.randn(50, 5, generator=g)
    y = torch.randint(0, 5, (50,), generator=g)
    d = dlr_loss(z, y)
    torch.testing.assert_close(dlr_loss(7.0 * z + 3.0, y), d)
    assert torch.equal(d > 0, z.argmax(1) != y)
    with pytest.raises(ValueError, match="K >= 3"):
        dlr_loss(z[:, :2], y % 2)
    with pytest.raises(ValueError, match="shape"):
        dlr_loss(z[0], y)


def test_square_side_shrinks_from_p_init_to_one_pixel() -> None:
    sides = [square_side(0.8, i, 1000, 28, 28) for i in range(1000)]
    assert sides[0] == 25 and sides[-1] == 1
    assert all(a >= b for a, b in itertools.pairwise(sides))
    assert square_side(1.0, 0, 10, 8, 8) == 8


def test_square_asks_at_most_one_query_per_image_and_step() -> None:
    model = CountingModel(tiny_conv())
    x = images()
    steps = 30
    square(model, x, prediction(model.inner, x), eps=0.1, steps=steps, seed=0)
    # labels given: no query for them; one for the start, then one per unfooled image and step
    assert model.images <= len(x) * (1 + steps)


# --- known answers on linear models ---------------------------------------------------------------


@pytest.mark.parametrize("loss", ["ce"])
def test_apgd_reaches_the_linf_optimum_of_a_binary_linear_model(loss: str) -> None:
    model, x, y, u = binary_linear()
    eps = 0.02
    best = x + eps * u.sign()
    for seed in range(3):
        torch.testing.assert_close(
            apgd(model, x, y, eps=eps, loss=loss, seed=seed), best, atol=1e-6, rtol=0
        )


def exact_linf_margin(model: nn.Module, x: Tensor, y: Tensor, eps: float) -> Tensor:
    """Per image, the smallest margin z_y - z_j that any L∞ perturbation of radius eps can reach
    on a linear model, for images far enough from 0 and 1 that nothing clips."""
    w, b = model[1].weight.detach(), model[1].bias.detach()
    flat = x.flatten(1)
    z = flat @ w.T + b
    margins = []
    for j in range(w.shape[0]):
        diff = w[y] - w[j]  # (N, D)
        m = (z.gather(1, y[:, None]).squeeze(1) - z[:, j]) - eps * diff.abs().sum(1)
        margins.append(torch.where(y == j, torch.inf, m))
    return torch.stack(margins, 1).amin(1)


@pytest.mark.parametrize("name", ["apgd-ce", "apgd-dlr", "square"])
def test_finds_exactly_the_non_robust_images_of_a_linear_model(name: str) -> None:
    model = tiny_linear(4)
    g = torch.Generator().manual_seed(3)
    x = 0.5 + 0.4 * (torch.rand(200, 1, 8, 8, generator=g) - 0.5)  # nothing clips at eps 0.02
    y = prediction(model, x)
    eps = 0.02
    exact = exact_linf_margin(model, x, y, eps)
    clear = exact.abs() > 0.01  # leave out the images on the edge
    assert (exact[clear] < 0).sum() > 20 and (exact[clear] > 0).sum() > 20  # both kinds present
    kw = {"eps": eps, "steps": 100 if name != "square" else 3000}
    x_adv = CALLS[name](model, x, y, **kw)
    fooled = prediction(model, x_adv) != y
    assert not fooled[clear & (exact > 0)].any()  # no attack in the ball can fool these
    found = fooled[clear & (exact < 0)].float().mean()
    if name == "apgd-ce":
        # cross-entropy's ascent may head for another class than the nearest one: most, not all
        assert found >= 0.8, found
    else:  # the margin-like objectives find every one
        assert found == 1.0, found


# --- the standard evaluation ----------------------------------------------------------------------


def test_evaluate_robustness_takes_the_worst_case_per_image(digits, digits_model) -> None:
    x, y = digits.x_test[:60], digits.y_test[:60]
    report = evaluate_robustness(digits_model, x, y, 0.1, steps=10, square_steps=50, seed=0)
    assert set(report.by_attack) == {"APGD-CE", "APGD-DLR", "Square"}
    worst = report.clean.clone()
    for mask in report.by_attack.values():
        worst &= mask
    assert torch.equal(report.robust, worst)
    acc = report.accuracies()
    assert acc["worst case"] <= min(acc[k] for k in report.by_attack) <= acc["clean"]
    assert report.rate().n == 60 and report.rate().value == pytest.approx(acc["worst case"])
    assert report.robust_accuracy < acc["clean"]  # the standard model is not robust at 0.1
    again = evaluate_robustness(digits_model, x, y, 0.1, steps=10, square_steps=50, seed=0)
    assert torch.equal(again.robust, report.robust)
    # the worst case's images: in the ball, and classified correctly exactly where robust
    assert (report.x_adv - x).abs().amax() <= 0.1 + ball_tolerance(x.dtype)
    assert report.x_adv.min() >= 0 and report.x_adv.max() <= 1
    with torch.no_grad():
        right = digits_model(report.x_adv).argmax(1) == y
    assert torch.equal(right, report.robust)


def test_evaluate_robustness_on_a_linear_model_is_exact() -> None:
    model = tiny_linear(4)
    g = torch.Generator().manual_seed(4)
    x = 0.5 + 0.4 * (torch.rand(100, 1, 8, 8, generator=g) - 0.5)
    y = prediction(model, x)
    exact = exact_linf_margin(model, x, y, 0.02)
    clear = exact.abs() > 0.01
    assert (exact[clear] < 0).any() and (exact[clear] > 0).any()
    report = evaluate_robustness(model, x, y, 0.02, steps=50, square_steps=500, seed=0)
    assert torch.equal(report.robust[clear], exact[clear] > 0)


def test_evaluate_robustness_refuses_bad_input() -> None:
    model, x = tiny_conv(), images()
    y = prediction(model, x)
    with pytest.raises(ValueError, match="eps"):
        evaluate_robustness(model, x, y, -1.0)
    with pytest.raises(ValueError, match="square_steps"):
        evaluate_robustness(model, x, y, 0.1, square_steps=0)
    with pytest.raises(ValueError, match="at least 3 classes"):
        evaluate_robustness(tiny_linear(2), x, prediction(tiny_linear(2), x), 0.1, steps=1)
    with pytest.raises(TypeError, match=r"y must be a torch\.Tensor"):
        evaluate_robustness(model, x, None, 0.1)  # type: ignore[arg-type]


def test_square_reaches_the_last_row_and_column() -> None:
    """A model that reads only the bottom-right pixel: only a square that covers it can help,
    so a search whose windows never touch the last row or column fails half the time."""

    class Corner(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = nn.Parameter(torch.tensor(10.0))

        def forward(self, x: Tensor) -> Tensor:
            z = self.w * (x[:, 0, -1, -1] - 0.5)
            return torch.stack([z, -z, torch.full_like(z, -5.0)], dim=1)

    x = torch.full(
        (32, 1, 8, 8), 0.55
    )  # class 0 by a margin of 1; moving the corner by -0.1 flips it
    y = torch.zeros(32, dtype=torch.long)
    x_adv = square(Corner(), x, y, eps=0.1, steps=1000, seed=0)  # 1-pixel squares hit it at 1/64
    assert (prediction(Corner(), x_adv) != y).all()
