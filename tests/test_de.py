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


# --- issue 21 item 2: what happens at the faces of the box ---------------------------------------


def _upward(cands: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """Lower is better the larger the first coordinate: the optimum lies on the upper face."""
    return -cands[..., 0]


@pytest.mark.parametrize("bounds", ["clip", "reinit", "reflect"])
def test_every_bounds_rule_keeps_the_population_in_the_box(bounds: str) -> None:
    res = differential_evolution(
        _upward,
        LO,
        HI,
        problems=3,
        popsize=16,
        generations=15,
        F=1.5,
        seed=0,
        bounds=bounds,
        record=True,
    )
    for pop in res.history:
        assert bool((pop >= LO).all() and (pop <= HI).all()), bounds


def test_clipping_piles_candidates_onto_the_face_and_the_others_do_not() -> None:
    on_face = {}
    for bounds in ("clip", "reinit", "reflect"):
        res = differential_evolution(
            _upward, LO, HI, problems=4, popsize=20, generations=30, F=0.9, seed=3, bounds=bounds
        )
        on_face[bounds] = float((res.population[..., 0] == HI[0]).float().mean())
    assert on_face["clip"] > 0.5  # the optimum is approached by landing on the face itself
    assert on_face["reinit"] < 0.05 and on_face["reflect"] < 0.05, on_face


def test_reinit_and_reflect_solve_a_batch_exactly_like_each_problem_alone() -> None:
    seeds = torch.tensor([4, 9, 123])
    for bounds in ("reinit", "reflect"):
        kw = dict(popsize=10, generations=12, F=1.2, CR=0.5, bounds=bounds)
        batch = differential_evolution(sphere, LO, HI, seed=seeds, **kw)
        for p in range(3):
            solo = differential_evolution(sphere, LO, HI, seed=seeds[p : p + 1], **kw)
            assert torch.equal(solo.population[0], batch.population[p]), bounds


def test_the_three_rules_on_known_mutants() -> None:
    from types import SimpleNamespace

    from advlab.de import _into_box

    lo, hi = t(0.0, 0.0), t(1.0, 1.0)
    mutant = t(1.25, -0.25, 0.5, 3.5).reshape(1, 2, 2)  # two members, two coordinates
    seeds = torch.tensor([7])
    out = {
        rule: _into_box(SimpleNamespace(lo=lo, hi=hi, bounds=rule), mutant, seeds, 1)
        for rule in ("clip", "reinit", "reflect")
    }
    assert torch.equal(out["clip"], t(1.0, 0.0, 0.5, 1.0).reshape(1, 2, 2))
    # mirrored at the face crossed; 3.5 overshoots the far face after mirroring, and is clipped
    assert torch.equal(out["reflect"], t(0.75, 0.25, 0.5, 0.0).reshape(1, 2, 2))
    inside = (mutant >= lo) & (mutant <= hi)
    assert torch.equal(out["reinit"][inside], mutant[inside])  # in-box values are kept
    fresh = out["reinit"][~inside]
    assert bool(((fresh > 0) & (fresh < 1)).all())  # the others are drawn afresh inside
    again = _into_box(SimpleNamespace(lo=lo, hi=hi, bounds="reinit"), mutant, seeds, 1)
    assert torch.equal(again, out["reinit"])  # from the problem's own stream: repeatable


def test_an_unknown_bounds_rule_is_refused() -> None:
    with pytest.raises(ValueError, match=r"unknown bounds 'wrap'.*'clip'.*'reinit'.*'reflect'"):
        differential_evolution(sphere, LO, HI, bounds="wrap")


# --- issue 21 item 6: random search draws from the distribution DE starts from -------------------


def test_a_sampler_gives_the_start_and_random_search_s_every_draw() -> None:
    calls: list[int] = []

    def sampler(seeds: torch.Tensor, g: int) -> torch.Tensor:
        calls.append(g)
        u = counter_uniform(seeds, g, 20, (6, 3))  # the problem's own stream
        return -3.0 + 1.0 * u  # all in [-3, -2]: a corner of the box, not its uniform spread

    res = differential_evolution(
        sphere,
        LO,
        HI,
        problems=2,
        popsize=6,
        generations=4,
        strategy="random",
        init=sampler,
        seed=0,
        record=True,
    )
    assert calls == [0, 1, 2, 3, 4]
    for pop in res.history:
        assert bool((pop <= -2.0).all()), "every generation was drawn from the sampler"
    # a batch draws what each problem alone draws
    solo = differential_evolution(
        sphere,
        LO,
        HI,
        popsize=6,
        generations=4,
        strategy="random",
        init=sampler,
        seed=torch.tensor([1]),
        record=True,
    )
    assert torch.equal(solo.history[-1][0], res.history[-1][1])


def test_a_sampler_that_returns_the_wrong_shape_is_refused() -> None:
    with pytest.raises(ValueError, match=r"init sampler must return a float tensor of shape"):
        differential_evolution(sphere, LO, HI, popsize=6, init=lambda s, g: torch.zeros(6, 3))
    with pytest.raises(TypeError, match="init"):
        differential_evolution(sphere, LO, HI, popsize=6, init="uniform")
