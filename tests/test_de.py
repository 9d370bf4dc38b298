"""Differential evolution: the worked example step by step, the toy minimum, batching = solo."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from advlab.de import (
    binomial_crossover,
    clip_to_bounds,
    counter_uniform,
    differential_evolution,
    mutate,
    problem_seeds,
    select,
)

LO, HI = torch.full((3,), -3.0, dtype=torch.float64), torch.full((3,), 3.0, dtype=torch.float64)


def sphere(cands: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    return (cands**2).sum(-1)


def t(*v: float) -> torch.Tensor:
    return torch.tensor(v, dtype=torch.float64)


def test_worked_example_number_by_number() -> None:
    parent = t(1.0, 1.2, -0.5)
    a, b, c = t(0.4, 0.8, 0.9), t(0.2, 1.3, 2.9), t(1.3, -0.7, -2.1)
    mutant = mutate(a, b, c, 0.5)
    torch.testing.assert_close(mutant, t(-0.15, 1.8, 3.4))
    clipped = clip_to_bounds(mutant, LO, HI)
    torch.testing.assert_close(clipped, t(-0.15, 1.8, 3.0))
    trial = binomial_crossover(parent, clipped, torch.tensor([True, False, True]))
    torch.testing.assert_close(trial, t(-0.15, 1.2, 3.0))
    f_parent, f_trial = (parent**2).sum(), (trial**2).sum()
    torch.testing.assert_close(f_parent, t(2.69)[0])
    torch.testing.assert_close(f_trial, t(10.4625)[0])
    kept, f_kept = select(parent, f_parent, trial, f_trial)
    assert torch.equal(kept, parent) and float(f_kept) == float(f_parent)  # trial is worse
    better = t(0.1, 0.1, 0.1)
    kept, f_kept = select(parent, f_parent, better, (better**2).sum())
    assert torch.equal(kept, better)


@pytest.mark.parametrize(("strategy", "CR"), [("rand1", None), ("rand1", 0.9), ("best1", 0.9)])
def test_reaches_the_minimum_of_the_toy_problem(strategy: str, CR: float | None) -> None:
    res = differential_evolution(
        sphere, LO, HI, problems=3, popsize=20, generations=80, CR=CR, strategy=strategy, seed=0
    )
    assert res.fun.max() < 1e-6
    assert res.x.abs().max() < 1e-3
    assert torch.equal(res.evaluations, torch.full((3,), 20 * 81))


def test_random_search_does_not_reach_it() -> None:
    de = differential_evolution(sphere, LO, HI, problems=4, popsize=20, generations=40, seed=1)
    rs = differential_evolution(
        sphere, LO, HI, problems=4, popsize=20, generations=40, seed=1, strategy="random"
    )
    assert bool((de.fun < rs.fun).all())


def test_batch_equals_each_problem_alone() -> None:
    seeds = torch.tensor([5, 17, -3, 2**40])
    shift = torch.tensor([[0.5, -1.0, 2.0], [0.0, 0.0, 0.0], [-2.0, 1.0, 0.3], [1.0, 1.0, 1.0]])

    def shifted(cands: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        return ((cands - shift.double()[idx][:, None, :]) ** 2).sum(-1)

    kw = dict(popsize=12, generations=25, CR=0.7, stop_below=1e-2, record=True)
    batch = differential_evolution(shifted, LO, HI, seed=seeds, **kw)
    assert batch.stopped.any()  # early stopping happened for some, per problem
    for p in range(4):
        solo = differential_evolution(
            lambda c, i, p=p: shifted(c, torch.full_like(i, p)), LO, HI, seed=seeds[p : p + 1], **kw
        )
        assert torch.equal(solo.x[0], batch.x[p])
        assert torch.equal(solo.population[0], batch.population[p])
        assert int(solo.evaluations[0]) == int(batch.evaluations[p])
        assert int(solo.generations[0]) == int(batch.generations[p])
        for hs, hb in zip(solo.history, batch.history, strict=True):
            assert torch.equal(hs[0], hb[p])


def test_early_stop_counts_evaluations_exactly() -> None:
    calls: list[int] = []

    def counted(c: torch.Tensor, i: torch.Tensor) -> torch.Tensor:
        calls.append(c.shape[0] * c.shape[1])
        return sphere(c, i)

    res = differential_evolution(
        counted, LO, HI, problems=5, popsize=10, generations=50, stop_below=0.05, seed=3
    )
    assert int(res.evaluations.sum()) == sum(calls)
    assert torch.equal(res.evaluations, 10 * (res.generations + 1))
    assert bool((res.fun < 0.05).all()) and bool(res.stopped.all())
    assert int(res.generations.max()) < 50


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"popsize": 3}, "popsize must be an integer >= 4"),
        ({"F": 0.0}, r"F \(the mutation factor\) must be a number in \(0, 2\]"),
        ({"F": 2.5}, r"F \(the mutation factor\) must be a number in \(0, 2\]"),
        ({"CR": 1.5}, r"CR \(the crossover rate\) must be in \[0, 1\]"),
        ({"strategy": "best2"}, "unknown strategy 'best2'"),
        ({"seed": 0, "generator": torch.Generator()}, "either seed= or generator="),
    ],
)
def test_bad_arguments(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        differential_evolution(sphere, LO, HI, **kwargs)


def test_bad_bounds_and_fitness_shape() -> None:
    with pytest.raises(ValueError, match="lower bound must be <= its upper"):
        differential_evolution(sphere, HI, LO)
    with pytest.raises(ValueError, match=r"must return a tensor of shape \(1, 8\)"):
        differential_evolution(lambda c, i: c.sum(), LO, HI, popsize=8)


def reader_generation(pop, fit, f, donors, F, lower, upper, *, mistake: str = ""):
    a, b, c = pop[donors[:, 0]], pop[donors[:, 1]], pop[donors[:, 2]]
    mutant = a + F * ((c - b) if mistake == "flip" else (b - c))
    if mistake != "noclip":
        mutant = torch.maximum(torch.minimum(mutant, upper), lower)
    f_new = f(mutant)
    if mistake == "all":
        return mutant, f_new
    keep = f_new > fit if mistake == "inverted" else f_new < fit
    if mistake == "inplace":
        pop[keep] = mutant[keep]
        return pop, torch.where(keep, f_new, fit)
    return torch.where(keep[:, None], mutant, pop), torch.where(keep, f_new, fit)


@pytest.mark.parametrize(
    ("mistake", "message"),
    [
        ("", "exact match with advlab.de"),
        ("noclip", "you did not clip the mutants"),
        ("flip", "your difference is reversed"),
        ("all", "every trial replaced its parent"),
        ("inverted", "your selection is inverted"),
        ("inplace", "changed pop or fit in place"),
    ],
)
def test_check_de_generation_names_the_mistake(mistake: str, message: str) -> None:
    from advlab.book.exercises import check_de_generation

    report = check_de_generation(lambda *a: reader_generation(*a, mistake=mistake), verbose=False)
    assert report.passed == (mistake == "")
    assert message in str(report)


def test_steps_check_their_arguments() -> None:
    v = t(1.0, 2.0, 3.0)
    with pytest.raises(ValueError, match=r"F \(the mutation factor\)"):
        mutate(v, v, v, 3.0)
    with pytest.raises(ValueError, match=r"a must be a floating-point torch\.Tensor"):
        mutate([1.0], v, v, 0.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="lower bound must be <= its upper"):
        clip_to_bounds(v, HI, LO)
    with pytest.raises(ValueError, match="mask must be a boolean tensor"):
        binomial_crossover(v, v, torch.tensor([1, 0, 1]))
    with pytest.raises(ValueError, match="fitness must have the vectors' shape"):
        select(v, v, v, v)


# --- argument checks found by the hypothesis suite (tests/test_fuzz_public_api.py) --------------


def test_steps_refuse_mismatched_shapes_with_a_clear_error() -> None:
    """Before: torch's RuntimeError about broadcasting, from inside the step."""
    v3, v4 = torch.rand(2, 3, dtype=torch.float64), torch.rand(2, 4, dtype=torch.float64)
    with pytest.raises(ValueError, match="a, b and c must have the same shape"):
        mutate(v3, v3, v4, 0.5)
    with pytest.raises(ValueError, match="one bound per coordinate"):
        clip_to_bounds(v4, LO, HI)
    with pytest.raises(ValueError, match="parent, mutant and mask must have the same shape"):
        binomial_crossover(v3, v3, torch.ones(3, dtype=torch.bool))
    with pytest.raises(ValueError, match="parent and trial must be vectors of the same shape"):
        select(v3, torch.rand(2, dtype=torch.float64), v4, torch.rand(2, dtype=torch.float64))
    with pytest.raises(ValueError, match="f_parent must be a floating-point"):
        select(v3, None, v3, torch.rand(2, dtype=torch.float64))  # type: ignore[arg-type]


def test_numpy_numbers_are_accepted_as_F_and_CR() -> None:
    a = t(1.0, 2.0)
    assert torch.equal(mutate(a, a, a, np.float32(0.5)), a)
    res = differential_evolution(
        sphere, LO, HI, popsize=4, generations=1, F=np.float64(0.5), CR=np.float32(0.9), seed=0
    )
    assert res.x.shape == (1, 3)


def test_problem_seeds_checks_its_arguments() -> None:
    """Before: n=-1 and device='toaster' raised RuntimeError; seed=2**63 overflowed."""
    with pytest.raises(ValueError, match=r"n \(the number of problems\) must be an integer >= 0"):
        problem_seeds(-1)
    with pytest.raises(ValueError, match=r"seed must be an integer in 0 \.\.\. 2\*\*64 - 1"):
        problem_seeds(2, seed=2**64)
    with pytest.raises(ValueError, match="toaster"):
        problem_seeds(2, device="toaster")
    with pytest.raises(ValueError, match=r"generator must be a torch\.Generator"):
        problem_seeds(2, generator=0)  # type: ignore[arg-type]
    # seeds wrap as unsigned 64-bit counters: 2**64 - 1, then 0
    assert problem_seeds(2, seed=2**64 - 1).tolist() == [-1, 0]
    assert problem_seeds(2, seed=5).tolist() == [5, 6]


def test_counter_uniform_checks_generation_stream_and_shape() -> None:
    s = torch.arange(2)
    with pytest.raises(ValueError, match="generation must be an integer >= 0"):
        counter_uniform(s, "1", 0, (2,))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="shape must be a tuple of sizes"):
        counter_uniform(s, 0, 0, 3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="each size in shape must be an integer >= 0"):
        counter_uniform(s, 0, 0, (2, -1))
    assert counter_uniform(s, 0, 0, (0, 2)).shape == (2, 0, 2)


def test_de_checks_init_stop_below_aux_and_device() -> None:
    """Before: AttributeError (init junk), RuntimeError (stop_below, device), or a wrong aux kept."""
    with pytest.raises(ValueError, match=r"init must be a floating-point torch\.Tensor"):
        differential_evolution(sphere, LO, HI, popsize=4, init="x")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="stop_below must be None, a number"):
        differential_evolution(sphere, LO, HI, popsize=4, stop_below="low")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="toaster"):
        differential_evolution(sphere, LO, HI, popsize=4, device="toaster")
    with pytest.raises(ValueError, match="lower must be a 1-D sequence of numbers"):
        differential_evolution(sphere, ["a", "b"], HI, popsize=4)
    with pytest.raises(ValueError, match="aux must be a tensor of shape"):
        differential_evolution(lambda c, i: (sphere(c, i), None), LO, HI, popsize=4)
    with pytest.raises(ValueError, match="fitness or a pair"):
        differential_evolution(lambda c, i: (sphere(c, i),), LO, HI, popsize=4)
    with pytest.raises(ValueError, match="record must be True or False"):
        differential_evolution(sphere, LO, HI, popsize=4, record="False")  # type: ignore[arg-type]
