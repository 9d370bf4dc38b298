"""Randomized smoothing: certificates against the exact answer of a linear classifier."""

from __future__ import annotations

import pytest
import scipy.stats
import torch
from torch import Tensor, nn

from advlab.defenses import ABSTAIN, certify


class HalfSpace(nn.Module):
    """Logits (0, w.x + b) with w = (1/4, ..., 1/4) on 1x4x4 images (|w| = 1) and b = -2.

    The decision boundary is the images whose pixels sum to 8, and a constant image of value c
    lies at signed L2 distance 4 c - 2 from it (positive: class 1).
    """

    def forward(self, x: Tensor) -> Tensor:
        z = x.flatten(1).sum(1, keepdim=True) / 4 - 2
        return torch.cat([torch.zeros_like(z), z], dim=1)


def constant_images(distances: Tensor) -> Tensor:
    return ((distances + 2) / 4).view(-1, 1, 1, 1).expand(-1, 1, 4, 4).contiguous()


def test_the_certificate_is_sound_and_close_to_the_exact_radius() -> None:
    sigma = 0.5
    g = torch.Generator().manual_seed(1)
    dist = (torch.rand(40, generator=g) * 0.65 + 0.1) * torch.where(
        torch.arange(40) % 2 == 0, 1.0, -1.0
    )
    x = constant_images(dist)
    cert = certify(HalfSpace(), x, sigma=sigma, n0=100, n=20000, alpha=0.001, seed=0)
    right = (dist > 0).long()
    # for a half-space the smoothed classifier agrees with the base one, and its exact radius is
    # the distance to the boundary: sigma * Phi^-1(Phi(d / sigma)) = d
    assert torch.equal(cert.prediction, right)
    assert (cert.radius <= dist.abs().double() + 1e-9).all()  # sound (1 - alpha per image)
    assert (cert.radius >= 0.8 * dist.abs().double()).all()  # and not far below
    assert cert.certified_accuracy(right, 0.0) == 1.0
    assert cert.certified_accuracy(right, float(dist.abs().max()) + 0.01) == 0.0
    assert cert.certified_accuracy(1 - right, 0.0) == 0.0


def test_it_abstains_on_the_boundary_and_the_bound_is_clopper_pearson() -> None:
    x = constant_images(torch.zeros(5))  # on the boundary: p_A = 1/2 exactly
    cert = certify(HalfSpace(), x, sigma=0.5, n0=50, n=500, alpha=0.01, seed=0)
    assert (cert.prediction == ABSTAIN).all() and (cert.radius == 0).all()
    assert (cert.p_lower <= 0.5).all()
    k, n = 150, 200
    expected = scipy.stats.binomtest(k, n).proportion_ci(0.98, method="exact").low
    assert scipy.stats.beta.ppf(0.01, k, n - k + 1) == pytest.approx(expected)


def test_deterministic_by_seed_and_bad_arguments() -> None:
    x = constant_images(torch.linspace(-0.5, 0.5, 6))
    a = certify(HalfSpace(), x, sigma=0.5, n=100, seed=3)
    b = certify(HalfSpace(), x, sigma=0.5, n=100, seed=3)
    assert torch.equal(a.prediction, b.prediction) and torch.equal(a.radius, b.radius)
    for kwargs, match in (
        ({"sigma": 0.0}, "sigma"),
        ({"sigma": 0.5, "n": 0}, "n must"),
        ({"sigma": 0.5, "alpha": 1.0}, r"alpha must be in \(0, 1\)"),
        ({"sigma": 0.5, "seed": 0, "generator": torch.Generator()}, "generator"),
    ):
        with pytest.raises(ValueError, match=match):
            certify(HalfSpace(), x, **kwargs)
    with pytest.raises(ValueError, match=r"x must lie in \[0, 1\]"):
        certify(HalfSpace(), x * 4, sigma=0.5)
