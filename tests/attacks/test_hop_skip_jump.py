"""HopSkipJump: labels only, exact query counts, and the known closest point of a linear model."""

from __future__ import annotations

import pytest
import torch
from conftest import tiny_conv
from torch import Tensor, nn

from advlab import cw_l2
from advlab.attacks import HopSkipJumpResult, hop_skip_jump

from ._models import CountingModel, binary_linear, images, prediction


def test_reaches_the_closest_point_of_a_linear_model() -> None:
    model, x, y, _ = binary_linear()
    w, b = model[1].weight.detach(), model[1].bias.detach()
    z = x.flatten(1) @ w.T + b
    exact = (z[:, 0] - z[:, 1]).abs() / (w[0] - w[1]).norm()  # distance to the boundary
    out = hop_skip_jump(model, x, y, steps=20, seed=0)
    assert isinstance(out, HopSkipJumpResult) and out.success.all()
    assert torch.equal(prediction(model, out.x_adv) != y, out.success)
    dist = out.distance.float()
    torch.testing.assert_close(dist, (out.x_adv - x).flatten(1).norm(dim=1))
    assert (dist >= exact - 1e-4).all()  # no point closer than the boundary is adversarial
    assert (dist <= 1.05 * exact).all(), dist / exact  # and it walked to within 5 %


def test_counts_every_label_it_asks_for() -> None:
    inner = tiny_conv()
    x = images(8)
    y = prediction(inner, x)
    model = CountingModel(inner)
    out = hop_skip_jump(model, x, y, steps=3, init_samples=20, seed=0)
    # every forward pass but the final check of the result (N images) is a counted query
    assert int(out.queries.sum()) == model.images - len(x)
    assert (out.queries > 0).all()


def test_on_the_digits_model_close_to_white_box_cw(digits, digits_model) -> None:
    x, y = digits.x_test[:24], digits.y_test[:24]
    ok = prediction(digits_model, x) == y
    out = hop_skip_jump(digits_model, x, y, steps=15, seed=0)
    assert out.success[ok].all() and (out.distance[~ok] == 0).all()
    cw = (cw_l2(digits_model, x, y) - x).flatten(1).norm(dim=1)
    # label-only and still within a factor 1.5 of the white-box attack's median distance
    assert out.distance[ok].median() <= 1.5 * cw[ok].median()
    assert out.x_adv.min() >= 0 and out.x_adv.max() <= 1


def test_deterministic_and_bad_arguments() -> None:
    model, x = tiny_conv(), images()
    y = prediction(model, x)
    a = hop_skip_jump(model, x, y, steps=2, seed=1)
    b = hop_skip_jump(model, x, y, steps=2, seed=1)
    assert torch.equal(a.x_adv, b.x_adv) and torch.equal(a.queries, b.queries)
    for kwargs, match in (
        ({"steps": 0}, "steps"),
        ({"gamma": 0.0}, "gamma"),
        ({"init_tries": 0}, "init_tries"),
        ({"seed": 0, "generator": torch.Generator()}, "generator"),
    ):
        with pytest.raises(ValueError, match=match):
            hop_skip_jump(model, x, y, **kwargs)
    with pytest.raises(ValueError, match=r"x must lie in \[0, 1\]"):
        hop_skip_jump(model, x * 3, y)
    with pytest.raises(ValueError, match=r"class indices in \[0, 2\]"):
        hop_skip_jump(model, x, y + 3)


def test_no_start_found_is_reported_not_hidden() -> None:
    class Constant(nn.Module):
        """Answers class 0 for everything: no image is adversarial for label 0."""

        def __init__(self) -> None:
            super().__init__()
            self.w = nn.Parameter(torch.zeros(1))

        def forward(self, x: Tensor) -> Tensor:
            z = torch.zeros(len(x), 3) + self.w
            z[:, 0] = 1.0
            return z

    x = images(4)
    out = hop_skip_jump(
        Constant(), x, torch.zeros(4, dtype=torch.long), steps=2, init_tries=3, seed=0
    )
    assert not out.success.any() and torch.isinf(out.distance).all() and torch.equal(out.x_adv, x)
