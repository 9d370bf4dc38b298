"""advlab.cmaes: CMA-ES batched over problems, checked against the reference implementation ``cma``."""

from __future__ import annotations

import statistics

import cma
import numpy as np
import pytest
import torch

from advlab.cmaes import cma_es, strategy_parameters


def sphere(c: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    return (c**2).sum(-1)


def rotated_ellipsoid(n: int = 5, condition: float = 1e4):
    """f(x) = sum_i s_i (Qx)_i^2 with s spanning ``condition``: ill-conditioned and not separable."""
    g = torch.Generator().manual_seed(0)
    q, _ = torch.linalg.qr(torch.randn(n, n, generator=g, dtype=torch.float64))
    s = torch.tensor([condition ** (i / (n - 1)) for i in range(n)], dtype=torch.float64)
    return (lambda c, idx: ((c @ q.T) ** 2 * s).sum(-1)), (
        lambda x: float(((q.numpy() @ np.asarray(x)) ** 2 * s.numpy()).sum())
    )


def test_it_finds_the_minimum_of_the_sphere_and_counts_every_evaluation() -> None:
    res = cma_es(sphere, [1.0] * 5, 0.5, problems=3, generations=300, stop_below=1e-10, seed=0)
    assert bool(res.stopped.all()) and bool((res.fun < 1e-10).all())
    assert bool((res.x.abs() < 1e-4).all())
    lam = strategy_parameters(5).popsize
    assert torch.equal(res.evaluations, lam * res.generations)  # exactly popsize per generation
    assert bool((res.generations < 300).all())  # each stopped on its own


def test_evaluations_are_exact_when_problems_stop_at_different_times() -> None:
    calls: list[int] = []

    def counted(c: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        calls.append(c.shape[0] * c.shape[1])
        scale = torch.tensor([1.0, 100.0], dtype=torch.float64)[idx]
        return scale[:, None] * (c**2).sum(-1)

    res = cma_es(counted, [1.0] * 3, 0.5, problems=2, generations=200, stop_below=1e-8, seed=1)
    assert sum(calls) == int(res.evaluations.sum())


def test_a_batch_equals_each_problem_alone() -> None:
    seeds = torch.tensor([3, 11, 2**40])
    kw = dict(generations=40, popsize=10, stop_below=1e-6)
    batch = cma_es(sphere, [0.8, -0.5, 2.0, 1.0], 0.3, seed=seeds, **kw)
    for p in range(3):
        solo = cma_es(sphere, [0.8, -0.5, 2.0, 1.0], 0.3, seed=seeds[p : p + 1], **kw)
        assert torch.equal(solo.x[0], batch.x[p])
        assert torch.equal(solo.mean[0], batch.mean[p])
        assert int(solo.evaluations[0]) == int(batch.evaluations[p])


@pytest.mark.parametrize(("n", "lam"), [(3, 8), (5, 10), (20, 40), (2, 6)])
def test_the_shared_constants_equal_the_reference_implementation(n: int, lam: int) -> None:
    ours = strategy_parameters(n, lam)
    ref = cma.CMAEvolutionStrategy(
        [0.0] * n, 0.5, {"popsize": lam, "verbose": -9, "seed": 1, "CMA_active": False}
    )
    assert ours.mu == ref.sp.weights.mu
    assert np.allclose(ours.weights, list(ref.sp.weights)[: ours.mu], atol=1e-12)
    assert ours.mueff == pytest.approx(ref.sp.weights.mueff, rel=1e-12)
    assert ours.cc == pytest.approx(ref.sp.cc, rel=1e-12)
    assert ours.c1 == pytest.approx(ref.sp.c1, rel=1e-12)


def test_it_needs_about_as_many_evaluations_as_the_reference_on_a_rotated_ellipsoid() -> None:
    ours_f, ref_f = rotated_ellipsoid()
    ours = cma_es(ours_f, [1.0] * 5, 0.5, problems=10, generations=3000, stop_below=1e-8, seed=0)
    assert bool(ours.stopped.all())
    ref = []
    for s in range(10):
        es = cma.CMAEvolutionStrategy(
            [1.0] * 5, 0.5,
            {"verbose": -9, "seed": s + 1, "CMA_active": False, "ftarget": 1e-8, "maxfevals": 1e5},
        )  # fmt: skip
        es.optimize(ref_f)
        ref.append(es.countevals)
    ratio = statistics.median(ours.evaluations.tolist()) / statistics.median(ref)
    assert 2 / 3 < ratio < 3 / 2, ratio  # the same algorithm, up to details of its defaults


def test_a_box_keeps_every_candidate_inside() -> None:
    seen: list[torch.Tensor] = []

    def shifted(c: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        seen.append(c)
        return ((c - 2.0) ** 2).sum(-1)  # the minimum (2, 2) lies outside the box

    res = cma_es(shifted, [0.0, 0.0], 1.0, lower=[-1.0, -1.0], upper=[1.0, 1.0], generations=60,
                 seed=0)  # fmt: skip
    assert all(bool(((c >= -1) & (c <= 1)).all()) for c in seen)
    assert torch.allclose(res.x[0], torch.ones(2, dtype=torch.float64), atol=1e-3)  # the corner


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"sigma": 0.0}, ValueError, "sigma must be a finite number > 0"),
        ({"mean": []}, ValueError, "mean must be a 1-D sequence"),
        ({"lower": [0.0, 0.0]}, ValueError, "pass lower and upper together"),
        ({"lower": [1.0, 1.0], "upper": [0.0, 0.0]}, ValueError, "lower must be <= upper"),
        ({"popsize": 1}, ValueError, "popsize must be an integer >= 2"),
        ({"fn": "sphere"}, TypeError, "fn must be callable"),
        ({"fn": lambda c, i: c.sum(-1)[:, :1]}, ValueError, "fitness function must return shape"),
    ],
)
def test_bad_arguments_get_clear_errors(kwargs: dict, error: type, message: str) -> None:
    args = {"fn": sphere, "mean": [0.5, 0.5], "sigma": 0.3, **kwargs}
    with pytest.raises(error, match=message):
        cma_es(args.pop("fn"), args.pop("mean"), args.pop("sigma"), generations=3, seed=0, **args)
