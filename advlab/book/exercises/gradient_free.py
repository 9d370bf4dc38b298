"""Part IV exercises (chapters 7 and 8): one DE generation, k pixels written into images."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import torch
from torch import Tensor

from ._core import (
    CheckReport,
    _atol,
    _check_function,
    _same,
    _settings,
    _summary,
    _tensor_problem,
)

__all__ = ["check_de_generation", "check_set_pixels"]


def _de_reference(
    pop: Tensor,
    fit: Tensor,
    f: Callable[[Tensor], Tensor],
    donors: Tensor,
    F: float,
    *,
    lower: Tensor,
    upper: Tensor,
    clip: bool = True,
    flip: bool = False,
    keep: str = "better",
) -> tuple[Tensor, Tensor]:
    """Run one DE/rand/1 generation without crossover, or one of the shapes of typical mistakes."""
    from ...de import clip_to_bounds, mutate, select

    a, b, c = pop[donors[:, 0]], pop[donors[:, 1]], pop[donors[:, 2]]
    trial = mutate(a, c, b, F) if flip else mutate(a, b, c, F)
    if clip:
        trial = clip_to_bounds(trial, lower, upper)
    f_trial = f(trial)
    if keep == "all":
        return trial, f_trial
    if keep == "worse":
        return select(pop, -fit, trial, -f_trial)[0], torch.maximum(fit, f_trial)
    return select(pop, fit, trial, f_trial)


def check_de_generation(
    fn: Callable[..., tuple[Tensor, Tensor]],
    *,
    trials: int = 6,
    seed: int = 0,
    verbose: bool = True,
) -> CheckReport:
    """Check a reader's DE/rand/1 generation against :mod:`advlab.de`'s steps.

    The reader's function is ``fn(pop, fit, f, donors, F, lower, upper) ->
    (new_pop, new_fit)``: ``pop`` (N, D) members, ``fit`` (N,) their fitness,
    ``f`` maps (M, D) vectors to (M,) fitness (lower is better), ``donors``
    (N, 3) the indices ``a, b, c`` for each parent, ``F`` the mutation factor,
    ``lower``/``upper`` (D,) the box. It builds each mutant
    ``a + F (b - c)``, clips it into the box, and keeps it only where its
    fitness is strictly lower than the parent's (no crossover).

    Returns
    -------
    CheckReport
        "exact match", or the first mistake found: clipping forgotten, the
        difference reversed, the selection inverted or missing, the input
        modified in place, a wrong shape.
    """
    _check_function(fn, "check_de_generation", "your DE generation function")
    n_trials, seed, verbose = _settings(trials, seed, verbose)
    gen = torch.Generator().manual_seed(seed)
    failures: list[str] = []
    for _ in range(n_trials):
        n, d = 8, 3
        lower, upper = -torch.ones(d, dtype=torch.float64), torch.ones(d, dtype=torch.float64)
        pop = torch.rand(n, d, generator=gen, dtype=torch.float64) * 2 - 1
        centre = torch.rand(d, generator=gen, dtype=torch.float64) - 0.5

        def f(v: Tensor, centre: Tensor = centre) -> Tensor:
            return ((v - centre) ** 2).sum(-1)

        fit = f(pop)
        keys = torch.rand(n, n, generator=gen)
        keys[torch.arange(n), torch.arange(n)] = 2.0  # a parent is never its own donor
        donors = keys.argsort(dim=1)[:, :3]
        F = 0.9  # large enough that some mutants leave the box
        pop_before, fit_before = pop.clone(), fit.clone()
        try:
            out = fn(pop, fit, f, donors, F, lower, upper)
        except Exception as exc:  # the reader's code: report, do not crash the notebook
            failures.append(f"your function raised {type(exc).__name__}: {exc}")
            continue
        if not torch.equal(pop, pop_before) or not torch.equal(fit, fit_before):
            failures.append("your function changed pop or fit in place; work on copies")
            continue
        result = _de_output(out, pop, fit)
        if isinstance(result, str):
            failures.append(result)
            continue
        new_pop, new_fit, atol = result
        err = _de_mistake(
            new_pop, new_fit, pop, fit, f, atol=atol, donors=donors, F=F, lower=lower, upper=upper
        )
        if err is not None:
            failures.append(err)
    report = _summary("de_generation", "advlab.de", failures, n_trials)
    if verbose:
        print(report)
    return report


# What a reader's generation equals when it makes each typical mistake: the arguments of
# _de_reference (clip, flip, keep), and the feedback; tried in this order.
_DE_MISTAKES: tuple[tuple[bool, bool, str, str], ...] = (
    (
        False,
        False,
        "better",
        "you did not clip the mutants: clamp each coordinate into [lower, upper]",
    ),
    (
        True,
        True,
        "better",
        "your difference is reversed: the mutant is a + F·(b − c), not a + F·(c − b)",
    ),
    (
        True,
        False,
        "all",
        "every trial replaced its parent: keep a trial only if its fitness is lower",
    ),
    (
        True,
        False,
        "worse",
        "your selection is inverted: DE minimises, keep the trial when f(trial) < f(parent)",
    ),
)


def _de_output(out: object, pop: Tensor, fit: Tensor) -> tuple[Tensor, Tensor, float] | str:
    """Return the reader's ``(new_pop, new_fit)`` in float64 and the tolerance, or what is wrong."""
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        got = (
            f"a {type(out).__name__} of {len(out)} items"
            if isinstance(out, (tuple, list))
            else (type(out).__name__)
        )
        return f"return a pair (new_pop, new_fit), got {got}"
    new_pop, new_fit = out
    for value, like, name in ((new_pop, pop, "new_pop"), (new_fit, fit, "new_fit")):
        err = _tensor_problem(value, like, name, f"{name} as a tensor")
        if err is not None:
            return f"{name}: {err}"
    assert isinstance(new_pop, Tensor) and isinstance(new_fit, Tensor)
    atol = max(_atol(new_pop.dtype), _atol(new_fit.dtype))
    return new_pop.detach().to(torch.float64), new_fit.detach().to(torch.float64), atol


def _de_mistake(
    new_pop: Tensor,
    new_fit: Tensor,
    pop: Tensor,
    fit: Tensor,
    f: Callable[[Tensor], Tensor],
    *,
    atol: float,
    donors: Tensor,
    F: float,
    lower: Tensor,
    upper: Tensor,
) -> str | None:
    """Name the mistake behind a reader's DE generation, or return ``None`` if it is right."""
    same = partial(_same, atol=atol)
    ref = _de_reference(pop, fit, f, donors, F, lower=lower, upper=upper)
    if same(new_pop, ref[0]):
        # the population is right: only the fitness can be wrong
        if same(new_fit, ref[1]):
            return None
        if same(new_fit, fit):
            return (
                "your new_pop is right but new_fit is the parents' old fitness: where a trial "
                "replaced its parent, its fitness f(trial) replaces the parent's"
            )
        return (
            "your new_pop is right but new_fit does not match it: new_fit[i] must be the "
            "fitness of new_pop[i] (f(trial) where the trial was kept, fit[i] where not)"
        )
    for clip, flip, keep, msg in _DE_MISTAKES:
        wrong = _de_reference(
            pop, fit, f, donors, F, lower=lower, upper=upper, clip=clip, flip=flip, keep=keep
        )
        if same(new_pop, wrong[0]):
            return msg
    return (
        "your new population differs from advlab.de's steps (mutate, clip_to_bounds, "
        "select); check which members you use as a, b and c"
    )


def check_set_pixels(
    fn: Callable[[Tensor, Tensor, Tensor], Tensor],
    *,
    trials: int = 6,
    seed: int = 0,
    verbose: bool = True,
) -> CheckReport:
    """Check a reader's ``fn(x, positions, values) -> x_new`` against the one-pixel attack's own.

    ``x`` (B, C, H, W) images, ``positions`` (B, k, 2) int64 (row, column) and
    ``values`` (B, k, C): the result is a copy of ``x`` with pixel
    ``positions[b, j]`` of image ``b`` set to ``values[b, j]`` in every channel
    (a later ``j`` wins when two positions coincide), as
    :func:`advlab.attacks.one_pixel.apply_pixels` does.

    Returns
    -------
    CheckReport
        "exact match", or the first mistake found: input modified in place, rows
        and columns swapped, only the first channel written, wrong shape.
    """
    from ...attacks.one_pixel import apply_pixels

    _check_function(fn, "check_set_pixels", "your pixel-writing function")
    n_trials, seed, verbose = _settings(trials, seed, verbose)
    gen = torch.Generator().manual_seed(seed)
    failures: list[str] = []
    for t in range(n_trials):
        c = 1 if t % 2 == 0 else 3
        b, h, w, k = 4, 5, 7, 1 + t % 3  # not square: swapped rows and columns show
        x = torch.rand(b, c, h, w, generator=gen)
        pos = torch.stack(
            [
                torch.randint(0, h, (b, k), generator=gen),
                torch.randint(0, w, (b, k), generator=gen),
            ],
            dim=-1,
        )
        val = torch.rand(b, k, c, generator=gen)
        x_before = x.clone()
        try:
            out = fn(x, pos, val)
        except Exception as err:  # the reader's code: report, do not crash the notebook
            hint = (
                f" (the images are {h} rows by {w} columns: positions[..., 0] is the row, "
                "positions[..., 1] the column; did you swap them?)"
                if isinstance(err, IndexError)
                else ""
            )
            failures.append(f"your function raised {type(err).__name__}: {err}{hint}")
            continue
        if not torch.equal(x, x_before):
            failures.append("your function changed x in place; write into a copy (x.clone())")
            continue
        problem = _tensor_problem(out, x, "x_new", "the new images")
        if problem is not None:
            failures.append(problem)
            continue
        assert isinstance(out, Tensor)
        atol = _atol(out.dtype)
        same = partial(_same, atol=atol)
        out = out.detach().to(x.dtype)
        ref = apply_pixels(x, pos, val)
        if same(out, ref):
            continue
        swapped = pos.flip(-1)
        if bool((swapped[..., 0] < h).all() and (swapped[..., 1] < w).all()) and same(
            out, apply_pixels(x, swapped, val)
        ):
            failures.append(
                "you swapped rows and columns: positions[..., 0] is the row (the first coordinate, the paper's x)"
            )
        elif c > 1 and same(out[:, 0], ref[:, 0]) and same(out[:, 1:], x[:, 1:]):
            failures.append("you wrote only the first channel: set all C channels of the pixel")
        else:
            wrong = int(((out - ref).abs() > atol).any(1).sum())
            failures.append(
                f"your images differ from advlab's at {wrong} pixel positions; "
                "check the indexing x[b, :, row, col] = values[b, j]"
            )
    report = _summary("set_pixels", "advlab's apply_pixels", failures, n_trials)
    if verbose:
        print(report)
    return report
