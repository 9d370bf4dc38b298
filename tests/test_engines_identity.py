"""The issue-17 refactor of the engines (DE, PGD) changes no number: bit-identical outputs.

Each case runs the package's engine and the frozen pre-refactor copy in
``tests/_reference_engines.py`` on the same arguments and compares every output
with ``torch.equal`` (not allclose). CPU, one thread.
"""

from __future__ import annotations

import importlib
import math
from functools import partial

import _reference_engines as ref  # tests/ is on sys.path (pytest's rootdir import mode)
import pytest
import torch
from torch import Tensor, nn

from advlab import de
from advlab.attacks import bim, one_pixel, pgd, random_pixels
from advlab.de import STRATEGIES, DEResult, differential_evolution
from advlab.defenses.adversarial import fgsm_rs

# the module, not the function of the same name that advlab.attacks exports
one_pixel_module = importlib.import_module("advlab.attacks.one_pixel")

pytestmark = pytest.mark.usefixtures("one_thread")

DIMS = 3
LO = torch.tensor([-3.0, -1.0, 0.0], dtype=torch.float64)
HI = torch.tensor([3.0, 2.0, 0.5], dtype=torch.float64)
SHIFT = torch.tensor(
    [[0.5, -1.0, 0.25], [0.0, 0.0, 0.0], [-2.0, 1.0, 0.3], [1.0, 1.5, 0.1], [2.5, -0.5, 0.4]],
    dtype=torch.float64,
)


def shifted(cands: Tensor, idx: Tensor) -> Tensor:
    """A different bowl per problem, so batched problems are told apart by ``idx``."""
    return ((cands - SHIFT[idx][:, None, :]) ** 2).sum(-1)


def shifted_aux(cands: Tensor, idx: Tensor) -> tuple[Tensor, Tensor]:
    """Fitness plus an aux (the per-coordinate squares), as the one-pixel attack returns."""
    sq = (cands - SHIFT[idx][:, None, :]) ** 2
    return sq.sum(-1), sq


FIELDS = ("x", "fun", "population", "fitness", "generations", "evaluations", "stopped")


def assert_same_de(new: DEResult, old: dict) -> None:
    for name in FIELDS:
        a, b = getattr(new, name), old[name]
        assert a.dtype == b.dtype and torch.equal(a, b), name
    if old["aux"] is None:
        assert new.aux is None
    else:
        assert torch.equal(new.aux, old["aux"])
    assert len(new.history) == len(old["history"])
    for a, b in zip(new.history, old["history"], strict=True):
        assert torch.equal(a, b)


def _fresh(v: object) -> object:
    if isinstance(v, Tensor):
        return v.clone()
    if isinstance(v, torch.Generator):  # same state, so both runs draw the same numbers
        return torch.Generator().set_state(v.get_state())
    return v


def run_both(fn, **kw) -> tuple[DEResult, dict]:
    # fresh copies of tensor arguments, so neither run can see the other's in-place changes
    copy = {k: _fresh(v) for k, v in kw.items()}
    return differential_evolution(fn, LO, HI, **kw), ref.differential_evolution(fn, LO, HI, **copy)


def test_the_strategy_table_covers_every_strategy() -> None:
    assert tuple(de._MUTANTS) == STRATEGIES
    assert de._REPLACING <= set(STRATEGIES)


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("CR", [None, 0.0, 0.7, 1.0])
@pytest.mark.parametrize("seed", [0, 11, 2**64 - 2])
def test_de_every_strategy_with_and_without_crossover(strategy, CR, seed) -> None:
    new, old = run_both(
        shifted, problems=5, popsize=7, generations=12, F=0.8, CR=CR, strategy=strategy, seed=seed
    )
    assert_same_de(new, old)
    assert int(new.evaluations[0]) == 7 * 13  # ran to the end: the loop really iterated


@pytest.mark.parametrize("strategy", ["rand1", "best1", "random"])
@pytest.mark.parametrize("CR", [None, 0.5])
def test_de_stop_below_stops_problems_one_by_one(strategy, CR) -> None:
    new, old = run_both(
        shifted,
        problems=5,
        popsize=10,
        generations=40,
        CR=CR,
        strategy=strategy,
        seed=3,
        stop_below=torch.tensor([0.05, 0.5, 1e-3, 2.0, -1.0], dtype=torch.float64),
        record=True,
    )
    assert_same_de(new, old)
    # the stopping rule really acted: some problems stopped early, at different times
    assert new.stopped.any() and not new.stopped.all()
    assert len(set(new.evaluations.tolist())) > 1


@pytest.mark.parametrize("strategy", ["rand1", "best1"])
def test_de_stop_when_with_aux_and_record(strategy) -> None:
    def close(best_f: Tensor, aux: Tensor | None, idx: Tensor) -> Tensor:
        assert aux is not None
        return aux.max(dim=1).values < 0.05 * (1 + idx.double())

    new, old = run_both(
        shifted_aux,
        problems=4,
        popsize=9,
        generations=30,
        CR=0.9,
        strategy=strategy,
        seed=torch.tensor([5, 17, -3, 2**40]),
        stop_below=1e-4,
        stop_when=close,
        record=True,
    )
    assert_same_de(new, old)
    assert new.stopped.any()


def test_de_all_stopped_early_keeps_recording() -> None:
    new, old = run_both(
        shifted, problems=3, popsize=8, generations=20, seed=1, stop_below=10.0, record=True
    )
    assert_same_de(new, old)
    assert bool(new.stopped.all()) and len(new.history) == 21


@pytest.mark.parametrize("strategy", ["rand1", "best1", "random"])
def test_de_init_generator_and_zero_generations(strategy) -> None:
    init = torch.linspace(-4, 4, 3 * 6 * DIMS, dtype=torch.float32).view(3, 6, DIMS)
    new, old = run_both(
        shifted,
        popsize=6,
        generations=9,
        strategy=strategy,
        init=init,
        generator=torch.Generator().manual_seed(7),
    )
    assert_same_de(new, old)
    new, old = run_both(shifted, problems=2, popsize=5, generations=0, seed=4, record=True)
    assert_same_de(new, old)


# --- the one-pixel attack, on its DE -------------------------------------------------------------


class Reader(nn.Module):
    """Class scores from a few pixels of a 6x6 image: a small, fixed, non-linear model."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.w = nn.Parameter(torch.randn(4, channels * 36, generator=g))

    def forward(self, x: Tensor) -> Tensor:
        return 3.0 * torch.tanh(x.flatten(1) @ self.w.T)


def reference_de(*args, bounds: str = "clip", **kwargs) -> DEResult:
    """The pre-refactor solver, which only clips and takes a population (not a sampler) as init.

    A sampler gives DE's start (its generation 0); the old random search then drew uniformly,
    which is what ``random_pixels(draw="uniform")`` does now.
    """
    assert bounds == "clip", "the pre-refactor solver only clips"
    init = kwargs.get("init")
    if callable(init) and not isinstance(init, torch.Tensor):
        assert kwargs.get("strategy") != "random", "the old random search drew uniformly"
        kwargs["init"] = init(kwargs["seed"], 0)
    return DEResult(**ref.differential_evolution(*args, **kwargs))


@pytest.mark.parametrize(
    "kw",
    [
        dict(targeted=False, early_stop=True, seed=0),
        dict(targeted=False, early_stop="success", CR=0.5, seed=1),
        dict(targeted=True, early_stop=True, pixels=2, seed=2),
        dict(targeted=False, early_stop=False, levels=None, seed=3),
        dict(targeted=False, early_stop=True, strategy="best1", seed=4),
    ],
)
@pytest.mark.parametrize("channels", [1, 3])
def test_one_pixel_matches_the_reference_de(monkeypatch, kw: dict, channels: int) -> None:
    model = Reader(channels)
    x = torch.rand(5, channels, 6, 6, generator=torch.Generator().manual_seed(channels))
    y = None
    if kw["targeted"]:
        y = (model(x).argmax(dim=1) + 1) % 4
    args = dict(popsize=12, generations=8, **kw)
    for attack in (one_pixel, partial(random_pixels, draw="uniform")):
        if attack is not one_pixel and ("CR" in kw or "strategy" in kw):
            continue
        new = attack(model, x, y, **args)
        calls: list[int] = []

        def spy(*a, calls=calls, **k):
            calls.append(1)
            return reference_de(*a, **k)

        with monkeypatch.context() as m:
            m.setattr(one_pixel_module, "differential_evolution", spy)
            old = attack(model, x, y, **args)
        assert calls  # the reference solver really ran
        for name in ("x_adv", "success", "queries", "probs", "positions", "values", "generations"):
            assert torch.equal(getattr(new, name), getattr(old, name)), name


# --- PGD -------------------------------------------------------------------------------------------


class Net(nn.Module):
    """A tiny conv net on 1x8x8 images (non-linear, so the steps matter)."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(1, 4, 3)
        self.fc = nn.Linear(4 * 36, 5)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(torch.relu(self.conv(x)).flatten(1))


@pytest.fixture(scope="module")
def problem() -> tuple[nn.Module, Tensor, Tensor, Tensor]:
    model = Net()
    x = torch.rand(12, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        pred = model(x).argmax(dim=1)
    return model, x, pred, (pred + 1) % 5


@pytest.mark.parametrize("norm", ["inf", 2])
@pytest.mark.parametrize("random_start", [True, False])
@pytest.mark.parametrize("targeted", [False, True])
@pytest.mark.parametrize("loss", ["ce", "margin"])
def test_pgd_matches_the_reference(problem, norm, random_start, targeted, loss) -> None:
    model, x, pred, target = problem
    y = target if targeted else pred
    eps = 0.1 if norm == "inf" else 0.8
    kw = dict(eps=eps, steps=6, norm=norm, random_start=random_start, targeted=targeted, loss=loss)
    for extra in ({"seed": 5}, {"seed": 6, "alpha": 1.3 * eps}):
        new = pgd(model, x, y, **kw, **extra)
        old = ref.pgd(model, x, y, **kw, **extra)
        assert torch.equal(new, old)
        assert not torch.equal(new, x)


@pytest.mark.parametrize("norm", ["inf", 2])
@pytest.mark.parametrize("loss", ["ce", "margin"])
def test_pgd_restarts_match_the_reference(problem, norm, loss) -> None:
    model, x, pred, _ = problem
    eps = 0.05 if norm == "inf" else 0.4
    new = pgd(model, x, pred, eps=eps, steps=4, norm=norm, restarts=3, loss=loss, seed=2)
    old = ref.pgd(model, x, pred, eps=eps, steps=4, norm=norm, restarts=3, loss=loss, seed=2)
    assert torch.equal(new, old)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float16])
@pytest.mark.parametrize("norm", ["inf", 2])
def test_pgd_other_dtypes_and_huge_budgets(problem, dtype, norm) -> None:
    model, x, pred, _ = problem
    model = Net().to(dtype)
    x = x.to(dtype)
    for eps in (0.07 if norm == "inf" else 0.6, 1e6):
        new = pgd(model, x, pred, eps=eps, steps=3, norm=norm, seed=9)
        old = ref.pgd(model, x, pred, eps=eps, steps=3, norm=norm, seed=9)
        assert new.dtype == dtype and torch.equal(new, old)


def test_bim_and_fgsm_rs_match_the_reference(problem) -> None:
    model, x, pred, _ = problem
    new = bim(model, x, pred, eps=0.1, steps=5)
    old = ref.pgd(model, x, pred, eps=0.1, steps=5, random_start=False)
    assert torch.equal(new, old)
    new = fgsm_rs(
        model, x, pred, eps=0.1, step_size=0.125, generator=torch.Generator().manual_seed(3)
    )
    gen = torch.Generator().manual_seed(3)
    with torch.no_grad():
        start = ref._random_start(x, 0.1, "inf", gen)
    old = ref.linf_ascent(
        model, x, start, pred, eps=0.1, alpha=0.125, steps=1, targeted=False, loss="ce"
    )
    assert torch.equal(new, old)
    assert math.isclose(float((new - x).abs().max()), 0.1, rel_tol=1e-5)
