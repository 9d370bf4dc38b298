"""Expectation over transformation: PGD's ``eot`` averages the gradient of a randomised model."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn

from advlab import pgd

from ._models import binary_linear, images, tiny_linear


class RandomMask(nn.Module):
    """A randomised defense: each call keeps every pixel with probability 1/2 (rescaled by 2).

    In expectation it is the linear model it wraps, so the attack that beats the expected model
    steps along the sign of the expected gradient; one call's gradient is zero on half the pixels.
    """

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner
        self.gen = torch.Generator().manual_seed(0)

    def forward(self, x: Tensor) -> Tensor:
        keep = torch.rand(x.shape, generator=self.gen) < 0.5
        return self.inner(x * keep * 2)


def test_eot_recovers_the_expected_models_optimum() -> None:
    model, x, y, u = binary_linear()
    eps = 0.02
    best = x + eps * u.sign()  # the L∞ optimum of the expected (linear) model
    one = pgd(RandomMask(model), x, y, eps=eps, steps=10, seed=0)
    many = pgd(RandomMask(model), x, y, eps=eps, steps=10, seed=0, eot=32)
    # each call's gradient is 0 or 2 u on every pixel, so a mean of 32 has u's sign unless all
    # 32 masks dropped the pixel (2^-32): EOT steps exactly as on the expected model
    torch.testing.assert_close(many, best, atol=1e-6, rtol=0)
    assert (one - best).abs().amax() > eps / 2  # one sample per step does not get there


def test_eot_changes_nothing_on_a_deterministic_model_but_the_cost() -> None:
    model, x = tiny_linear(), images()
    torch.testing.assert_close(
        pgd(model, x, eps=0.1, steps=5, seed=0, eot=4),
        pgd(model, x, eps=0.1, steps=5, seed=0),
        atol=1e-6,
        rtol=0,
    )
    with pytest.raises(ValueError, match="eot"):
        pgd(model, x, eps=0.1, eot=0)
