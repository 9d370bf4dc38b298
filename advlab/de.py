"""Differential evolution (Storn and Price), batched over independent problems.

DE keeps a *population* of candidate vectors. Each generation, every member
(the *parent*) gets a *mutant* built from three other, distinct members
``a``, ``b``, ``c`` (the DE/rand/1 rule)::

    mutant = a + F * (b - c)

brought back into the box ``[lower, upper]`` (``bounds=``: clipped, the default;
re-drawn uniformly, as SciPy does; or reflected at the face it crossed; Storn and
Price prescribe none of them). Optionally, *binomial
crossover* with rate ``CR`` mixes the mutant with the parent coordinate by
coordinate (the one-pixel attack's paper uses none: the trial is the mutant).
The trial replaces its parent only when its fitness is *lower* (DE minimises).

One call here optimises many independent problems at once. The population has
shape ``(problems, popsize, dims)`` and the fitness function scores all active
problems' candidates in one call, so the one-pixel attack can score every
image's population with a few large forward passes. Each problem stops on its
own once its best fitness falls below ``stop_below``; stopped problems are not
evaluated any more, and :attr:`DEResult.evaluations` counts, exactly, how many
candidates each problem had scored.

Randomness is *per problem*: problem ``p`` draws its random numbers from a
counter-based generator keyed by its own seed, the generation and the purpose
of the draw (SplitMix64 hashing, in integer tensor arithmetic). Solving a batch
of problems therefore gives bit-for-bit the same populations as solving each
problem alone with the same seed.

The steps are exposed for teaching: :func:`mutate`, :func:`clip_to_bounds`,
:func:`binomial_crossover`, :func:`select`; the worked example of chapter 7
calls them one by one.

The solver is laid out as SciPy's: :func:`differential_evolution` checks its
arguments once, builds the population state, and loops over a one-generation
step; each strategy is a small mutant builder in a table keyed by its name.
The loop calls unchecked copies of the steps and reads nothing back from the
device, except which problems still run when a stopping rule is given.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import Tensor

from ._validate import (
    ArgumentError,
    ArgumentTypeError,
    check_count,
    check_flag,
    check_float_tensors,
    check_mutation_factor,
    check_seed,
)
from ._validate import as_real as _as_real
from .device import check_device

__all__ = [
    "BOUNDS",
    "STRATEGIES",
    "DEResult",
    "binomial_crossover",
    "clip_to_bounds",
    "counter_uniform",
    "differential_evolution",
    "mutate",
    "problem_seeds",
    "select",
]

Strategy = Literal["rand1", "best1", "random"]
#: ``rand1``: DE/rand/1 (the paper's); ``best1``: DE/best/1 (mutant built around the best
#: member); ``random``: no evolution at all, a fresh uniform population every generation
#: (the random-search control with the same evaluation budget).
STRATEGIES: tuple[str, ...] = ("rand1", "best1", "random")
Bounds = Literal["clip", "reinit", "reflect"]
#: How a mutant's coordinate outside the box is brought back: onto the face, afresh, or mirrored.
BOUNDS: tuple[str, ...] = ("clip", "reinit", "reflect")

# A sampler of populations: (seeds (m,), generation) -> (m, popsize, dims), each problem's from
# its own seed (so a batch draws what each problem alone would)
Sampler = Callable[[Tensor, int], Tensor]
# Fitness function: (candidates (m, popsize, dims), problem indices (m,)) -> fitness (m, popsize),
# or (fitness, aux) where aux (m, popsize, ...) is kept for each problem's best candidate.
Fitness = Callable[[Tensor, Tensor], "Tensor | tuple[Tensor, Tensor]"]

# --- the steps, one by one ----------------------------------------------------------------------


def mutate(a: Tensor, b: Tensor, c: Tensor, F: float) -> Tensor:
    """Return the DE/rand/1 mutant ``a + F * (b - c)`` (any matching shapes).

    Raises
    ------
    ValueError
        If a, b or c is not a float tensor, their shapes differ, or F is outside (0, 2].
    """
    check_float_tensors(a=a, b=b, c=c)
    F = check_mutation_factor(F)
    if not a.shape == b.shape == c.shape:
        raise ArgumentError(
            f"a, b and c must have the same shape, got {tuple(a.shape)}, {tuple(b.shape)} "
            f"and {tuple(c.shape)}"
        )
    return _mutate(a, b, c, F)


def clip_to_bounds(v: Tensor, lower: Tensor, upper: Tensor) -> Tensor:
    """Clip each coordinate of ``v`` into ``[lower, upper]`` (broadcast over the last axis).

    Raises
    ------
    ValueError
        If an argument is not a float tensor, the bounds are not 1-D of ``v``'s last size, or
        some lower bound exceeds its upper bound.
    """
    check_float_tensors(v=v, lower=lower, upper=upper)
    if v.ndim == 0 or lower.shape != (v.shape[-1],) or upper.shape != (v.shape[-1],):
        raise ArgumentError(
            f"lower and upper must be 1-D with one bound per coordinate ({v.shape[-1] if v.ndim else '?'}"
            f" for v of shape {tuple(v.shape)}), got {tuple(lower.shape)} and {tuple(upper.shape)}"
        )
    if bool((lower > upper).any()):
        raise ArgumentError("every lower bound must be <= its upper bound")
    return _clip(v, lower, upper)


def binomial_crossover(parent: Tensor, mutant: Tensor, mask: Tensor) -> Tensor:
    """Return the trial: the mutant's coordinate where ``mask`` is True, the parent's elsewhere.

    Raises
    ------
    ValueError
        If parent or mutant is not a float tensor, ``mask`` is not a boolean tensor, or
        the three shapes differ.
    """
    check_float_tensors(parent=parent, mutant=mutant)
    if not isinstance(mask, Tensor) or mask.dtype != torch.bool:
        raise ArgumentError("mask must be a boolean tensor (True: take the mutant's coordinate)")
    if parent.shape != mutant.shape or mask.shape != parent.shape:
        raise ArgumentError(
            "parent, mutant and mask must have the same shape, got "
            f"{tuple(parent.shape)}, {tuple(mutant.shape)} and {tuple(mask.shape)}"
        )
    return _crossover(parent, mutant, mask)


def select(
    parent: Tensor, f_parent: Tensor, trial: Tensor, f_trial: Tensor
) -> tuple[Tensor, Tensor]:
    """Greedy selection: keep the trial only where its fitness is strictly lower.

    Shapes: vectors ``(..., dims)``, fitness ``(...)``. Returns the survivors and their fitness.

    Raises
    ------
    ValueError
        If an argument is not a float tensor, parent and trial differ in shape, or the
        fitness shapes do not match the vectors' leading shapes.
    """
    check_float_tensors(parent=parent, f_parent=f_parent, trial=trial, f_trial=f_trial)
    if parent.ndim == 0 or trial.shape != parent.shape:
        raise ArgumentError(
            "parent and trial must be vectors of the same shape (..., dims), got "
            f"{tuple(parent.shape)} and {tuple(trial.shape)}"
        )
    if f_parent.shape != parent.shape[:-1] or f_trial.shape != trial.shape[:-1]:
        raise ArgumentError(
            "fitness must have the vectors' shape without the last axis: got "
            f"{tuple(f_parent.shape)} for {tuple(parent.shape)} and "
            f"{tuple(f_trial.shape)} for {tuple(trial.shape)}"
        )
    return _select(parent, f_parent, trial, f_trial)


# The same steps unchecked, for the solver's inner loop (its arguments are checked once).


def _mutate(a: Tensor, b: Tensor, c: Tensor, F: float) -> Tensor:
    return a + F * (b - c)


def _clip(v: Tensor, lower: Tensor, upper: Tensor) -> Tensor:
    return torch.minimum(torch.maximum(v, lower), upper)


def _crossover(parent: Tensor, mutant: Tensor, mask: Tensor) -> Tensor:
    return torch.where(mask, mutant, parent)


def _select(
    parent: Tensor, f_parent: Tensor, trial: Tensor, f_trial: Tensor
) -> tuple[Tensor, Tensor]:
    better = f_trial < f_parent
    return torch.where(better[..., None], trial, parent), torch.where(better, f_trial, f_parent)


# --- per-problem counter-based random numbers ---------------------------------------------------

_MASK64 = (1 << 64) - 1


def _i64(c: int) -> int:
    """Return an unsigned 64-bit constant as the signed int64 with the same bits."""
    c &= _MASK64
    return c - (1 << 64) if c >= 1 << 63 else c


_GOLDEN = _i64(0x9E3779B97F4A7C15)
_M1 = _i64(0xBF58476D1CE4E5B9)
_M2 = _i64(0x94D049BB133111EB)


def _shr(z: Tensor, k: int) -> Tensor:
    """Logical right shift of int64 bits."""
    return (z >> k) & ((1 << (64 - k)) - 1)


def _mix(z: Tensor) -> Tensor:
    """SplitMix64's finaliser on int64 tensors (wrapping arithmetic)."""
    z = z + _GOLDEN
    z = (z ^ _shr(z, 30)) * _M1
    z = (z ^ _shr(z, 27)) * _M2
    return z ^ _shr(z, 31)


def counter_uniform(seeds: Tensor, generation: int, stream: int, shape: tuple[int, ...]) -> Tensor:
    """Uniform numbers in [0, 1), float64, of shape ``(len(seeds), *shape)``.

    Row ``p`` depends only on ``seeds[p]``, ``generation``, ``stream`` and the
    position inside the row, never on the other rows: the reason a batch of
    problems reproduces each problem solved alone.

    Raises
    ------
    ValueError
        If ``seeds`` is not a 1-D integer tensor, ``generation`` or ``stream`` is not an
        integer >= 0, or ``shape`` is not a tuple of integers >= 0.
    """
    if (
        not isinstance(seeds, Tensor)
        or seeds.ndim != 1
        or seeds.is_floating_point()
        or seeds.is_complex()
        or seeds.dtype == torch.bool
    ):
        raise ArgumentError("seeds must be a 1-D integer tensor, one seed per problem")
    generation = check_count(generation, "generation", minimum=0)
    stream = check_count(stream, "stream", minimum=0)
    if isinstance(shape, (str, bytes)) or not isinstance(shape, (tuple, list, torch.Size)):
        raise ArgumentError(f"shape must be a tuple of sizes, got {type(shape).__name__}")
    shape = tuple(check_count(s, "each size in shape", minimum=0) for s in shape)
    return _uniform(seeds, generation, stream, shape)


def _uniform(seeds: Tensor, generation: int, stream: int, shape: tuple[int, ...]) -> Tensor:
    """:func:`counter_uniform` on checked arguments (the solver's inner loop)."""
    n = math.prod(shape)
    offset = _i64((generation * 64 + stream + 1) * 0x9E3779B97F4A7C15)
    key = _mix(_mix(seeds.long())[:, None] + offset)
    j = torch.arange(n, device=seeds.device, dtype=torch.long)[None, :]
    bits = _shr(_mix(key ^ _mix(j)), 11)  # 53 random bits
    return (bits.double() * 2.0**-53).view(len(seeds), *shape)


def problem_seeds(
    n: int,
    *,
    seed: int | None = None,
    generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
) -> Tensor:
    """Return one int64 seed per problem: ``seed + p``, or drawn from a generator.

    With ``seed``, problem ``p`` gets ``seed + p``; without, the seeds are drawn
    from ``generator`` (or PyTorch's global generator).

    ``seed`` may be any integer in 0 ... 2**64 - 1; it is hashed as its 64 bits, so
    ``seed + p`` wraps around like an unsigned 64-bit counter.

    Raises
    ------
    ValueError
        If ``n`` is not an integer >= 0, ``seed`` is not an integer in 0 ... 2**64 - 1,
        both ``seed`` and ``generator`` are given, ``generator`` is not a
        ``torch.Generator``, or ``device`` does not exist on this machine.
    """
    n = check_count(n, "n (the number of problems)", minimum=0)
    device = check_device(device)
    if seed is not None and generator is not None:
        raise ArgumentError("pass either seed= or generator=, not both")
    if generator is not None and not isinstance(generator, torch.Generator):
        raise ArgumentError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    if seed is not None:
        seed = _i64(check_seed(seed))
        base = torch.tensor(seed, dtype=torch.long, device=device)
        return base + torch.arange(n, dtype=torch.long, device=device)  # wraps modulo 2**64
    s = torch.randint(-(2**62), 2**62, (n,), generator=generator, dtype=torch.long)
    return s.to(device)


def _skip(v: Tensor, excluded: Tensor) -> Tensor:
    """Map ``v`` in [0, n - k) to [0, n) skipping the k values in ``excluded`` (last axis)."""
    for e in excluded.sort(dim=-1).values.unbind(-1):
        v = v + (v >= e).long()
    return v


def _donors(u: Tensor, popsize: int, count: int) -> list[Tensor]:
    """``count`` distinct member indices per parent, all different from the parent itself.

    ``u`` holds uniforms of shape (m, popsize, count).
    """
    m = u.shape[0]
    parent = torch.arange(popsize, device=u.device).expand(m, popsize)
    chosen = [parent]
    for k in range(count):
        r = (u[..., k] * (popsize - 1 - k)).long().clamp_max(popsize - 2 - k)
        chosen.append(_skip(r, torch.stack(chosen, dim=-1)))
    return chosen[1:]


# --- the optimiser ------------------------------------------------------------------------------


@dataclass
class DEResult:
    """What :func:`differential_evolution` found, per problem.

    Attributes
    ----------
    x:
        Best candidate of each problem, shape (problems, dims).
    fun:
        Its fitness, shape (problems,).
    aux:
        The auxiliary output the fitness function returned for the best
        candidate (e.g. class probabilities), or None.
    population, fitness:
        The final population (problems, popsize, dims) and its fitness.
    generations:
        Generations each problem ran (0 when the initial population already met the stop rule).
    evaluations:
        Exact number of candidates each problem had evaluated (int64).
    stopped:
        True where the problem met ``stop_below`` or ``stop_when`` (its early-stopping rule).
    history:
        With ``record=True``: the population after initialisation and after each
        generation, (problems, popsize, dims) CPU tensors (stopped problems stay frozen).
    """

    x: Tensor
    fun: Tensor
    aux: Tensor | None
    population: Tensor
    fitness: Tensor
    generations: Tensor
    evaluations: Tensor
    stopped: Tensor
    history: list[Tensor] = field(default_factory=list)


def _as_bounds(
    bound: object, name: str, dims: int | None, dtype: torch.dtype, device: torch.device
) -> Tensor:
    try:
        t = torch.as_tensor(bound, dtype=dtype, device=device)
    except (TypeError, ValueError, RuntimeError) as err:
        raise ArgumentError(
            f"{name} must be a 1-D sequence of numbers, one bound per dimension ({err})"
        ) from None
    if t.ndim != 1 or (dims is not None and t.shape[0] != dims):
        raise ArgumentError(f"{name} must be a 1-D sequence of one bound per dimension")
    if not bool(torch.isfinite(t).all()):
        raise ArgumentError(f"{name} must be finite")
    return t


def _check_fitness(f: Tensor, shape: tuple[int, int]) -> Tensor:
    if not isinstance(f, Tensor) or tuple(f.shape) != shape or f.is_complex():
        got = tuple(f.shape) if isinstance(f, Tensor) else type(f).__name__
        raise ArgumentError(
            f"the fitness function must return a tensor of shape {shape}, got {got}"
        )
    f = f.double()
    # a NaN fitness must never win a comparison: treat it as +inf
    return torch.nan_to_num(f, nan=math.inf)


# --- the strategy table: name -> mutant builder -------------------------------------------------
#
# A builder turns the parents of the running problems into candidates inside the box, as
# SciPy's solver picks a mutation function by name. ``parent`` is (m, popsize, dims),
# ``f_parent`` (m, popsize), ``seeds`` (m,) the running problems' seeds, ``g`` the generation.


def _rand1(setup: _Setup, parent: Tensor, f_parent: Tensor, seeds: Tensor, g: int) -> Tensor:
    """DE/rand/1: ``a + F * (b - c)`` for three distinct donors other than the parent."""
    u = _uniform(seeds, g, 1, (setup.popsize, 3))
    rows = torch.arange(len(seeds), device=parent.device)[:, None]
    a_i, b_i, c_i = _donors(u, setup.popsize, 3)
    mutant = _mutate(parent[rows, a_i], parent[rows, b_i], parent[rows, c_i], setup.F)
    return _into_box(setup, mutant, seeds, g)


def _best1(setup: _Setup, parent: Tensor, f_parent: Tensor, seeds: Tensor, g: int) -> Tensor:
    """DE/best/1: ``best + F * (b - c)`` around the problem's best member."""
    u = _uniform(seeds, g, 1, (setup.popsize, 3))  # same stream as rand1, first two columns
    rows = torch.arange(len(seeds), device=parent.device)[:, None]
    b_i, c_i = _donors(u, setup.popsize, 2)
    best = parent[rows[:, 0], f_parent.argmin(dim=1)][:, None, :].expand_as(parent)
    mutant = _mutate(best, parent[rows, b_i], parent[rows, c_i], setup.F)
    return _into_box(setup, mutant, seeds, g)


def _into_box(setup: _Setup, mutant: Tensor, seeds: Tensor, g: int) -> Tensor:
    """Bring the coordinates a mutant put outside the box back in, as ``setup.bounds`` says."""
    lo, hi = setup.lo, setup.hi
    if setup.bounds == "reflect":  # mirror at the face crossed; clip what overshoots the far one
        mutant = torch.where(mutant < lo, 2 * lo - mutant, mutant)
        mutant = torch.where(mutant > hi, 2 * hi - mutant, mutant)
    elif setup.bounds == "reinit":  # SciPy's rule: a fresh uniform value (stream 4)
        fresh = lo + (hi - lo) * _uniform(seeds, g, 4, tuple(mutant.shape[1:]))
        return torch.where((mutant < lo) | (mutant > hi), fresh, mutant)
    return _clip(mutant, lo, hi)


def _fresh(setup: _Setup, parent: Tensor, f_parent: Tensor, seeds: Tensor, g: int) -> Tensor:
    """Random search: a fresh population (parents unused), from the sampler or uniform."""
    if setup.sampler is not None:
        return _sample(setup.sampler, seeds, g, popsize=setup.popsize, lo=setup.lo, hi=setup.hi)
    return setup.lo + (setup.hi - setup.lo) * _uniform(seeds, g, 0, tuple(parent.shape[1:]))


def _sample(
    sampler: Sampler, seeds: Tensor, g: int, *, popsize: int, lo: Tensor, hi: Tensor
) -> Tensor:
    """``sampler(seeds, g)`` checked: float, shape (len(seeds), popsize, dims), clipped into the box."""
    pop = sampler(seeds, g)
    shape = (len(seeds), popsize, lo.shape[0])
    if not isinstance(pop, Tensor) or not pop.is_floating_point() or tuple(pop.shape) != shape:
        got = f"{pop.dtype} {tuple(pop.shape)}" if isinstance(pop, Tensor) else type(pop).__name__
        raise ArgumentError(
            f"the init sampler must return a float tensor of shape (problems, popsize, dims) = "
            f"{shape}, got {got}"
        )
    return clip_to_bounds(pop.to(device=lo.device, dtype=torch.float64), lo, hi)


_MutantBuilder = Callable[["_Setup", Tensor, Tensor, Tensor, int], Tensor]
#: One builder per name in :data:`STRATEGIES`, in the same order (a test checks it).
_MUTANTS: dict[str, _MutantBuilder] = {"rand1": _rand1, "best1": _best1, "random": _fresh}
#: Strategies whose candidates replace the population outright: no crossover, no selection.
_REPLACING = frozenset({"random"})


def _cross(setup: _Setup, parent: Tensor, mutant: Tensor, seeds: Tensor, g: int) -> Tensor:
    """Binomial crossover at rate CR; one coordinate per trial always comes from the mutant."""
    assert setup.CR is not None
    dims = parent.shape[-1]
    mask = _uniform(seeds, g, 2, (setup.popsize, dims)) < setup.CR
    j_rand = (_uniform(seeds, g, 3, (setup.popsize,)) * dims).long().clamp_max(dims - 1)
    mask = mask | torch.nn.functional.one_hot(j_rand, dims).bool()
    return _crossover(parent, mutant, mask)


# --- the population state and one generation ----------------------------------------------------


@dataclass(frozen=True)
class _Setup:
    """What stays fixed during a run: the checked settings, the box, the seeds, the stop rules."""

    fn: Fitness
    lo: Tensor
    hi: Tensor
    seeds: Tensor
    popsize: int
    F: float
    CR: float | None
    strategy: str
    bounds: str
    sampler: Sampler | None  # a callable init: random search draws from it too
    threshold: Tensor
    stop_when: Callable[[Tensor, Tensor | None, Tensor], Tensor] | None
    record: bool
    can_stop: bool  # a stopping rule was given (else every problem runs every generation)


@dataclass
class _State:
    """The population state between generations (what SciPy's solver object carries)."""

    population: Tensor  # (problems, popsize, dims) float64
    fitness: Tensor  # (problems, popsize) float64
    best_x: Tensor  # (problems, dims): best candidate ever seen
    best_f: Tensor  # (problems,)
    best_aux: Tensor | None  # (problems, ...): the fitness function's aux for best_x
    active: Tensor  # (problems,) bool: still running
    generations: Tensor  # (problems,) int64: generations each problem ran
    evaluations: Tensor  # (problems,) int64: candidates each problem scored
    history: list[Tensor]  # with record: the population after each generation, on the CPU


def _evaluate(setup: _Setup, cands: Tensor, idx: Tensor) -> tuple[Tensor, Tensor | None]:
    """Score ``cands`` for the problems ``idx``, checking what the fitness function returns."""
    out = setup.fn(cands, idx)
    aux = None
    if isinstance(out, tuple):
        if len(out) != 2:
            raise ArgumentError(
                "the fitness function must return fitness or a pair (fitness, aux), "
                f"got a tuple of {len(out)}"
            )
        out, aux = out
        if not isinstance(aux, Tensor) or aux.shape[:2] != (len(idx), setup.popsize):
            got = tuple(aux.shape) if isinstance(aux, Tensor) else type(aux).__name__
            raise ArgumentError(
                f"the fitness function's aux must be a tensor of shape "
                f"({len(idx)}, {setup.popsize}, ...), got {got}"
            )
    return _check_fitness(out, (len(idx), setup.popsize)), aux


def _keep_going(setup: _Setup, state: _State, idx: Tensor) -> Tensor:
    """Which of the problems ``idx`` still run: best fitness not below the threshold, no stop."""
    go = state.best_f[idx] >= setup.threshold[idx]
    if setup.stop_when is not None:
        aux = state.best_aux[idx] if state.best_aux is not None else None
        stop = setup.stop_when(state.best_f[idx], aux, idx)
        go = go & ~stop.to(device=go.device, dtype=torch.bool)
    return go


def _start(setup: _Setup, pop: Tensor) -> _State:
    """Score the initial population: the state at generation 0."""
    problems = len(setup.seeds)
    all_idx = torch.arange(problems, device=pop.device)
    fit, aux = _evaluate(setup, pop, all_idx)
    best_f, best_j = fit.min(dim=1)
    state = _State(
        population=pop,
        fitness=fit,
        best_x=pop[all_idx, best_j],
        best_f=best_f,
        best_aux=aux[all_idx, best_j].clone() if aux is not None else None,
        active=torch.ones(problems, dtype=torch.bool, device=pop.device),
        generations=torch.zeros(problems, dtype=torch.long, device=pop.device),
        evaluations=torch.full((problems,), setup.popsize, dtype=torch.long, device=pop.device),
        history=[pop.cpu().clone()] if setup.record else [],
    )
    state.active = _keep_going(setup, state, all_idx)
    return state


def _step(setup: _Setup, state: _State, idx: Tensor, g: int) -> None:
    """Run generation ``g`` for the running problems ``idx``, updating ``state`` in place.

    No device sync: the best candidates are updated with ``torch.where``, not boolean masks.
    """
    seeds, parent, f_parent = setup.seeds[idx], state.population[idx], state.fitness[idx]
    trial = _MUTANTS[setup.strategy](setup, parent, f_parent, seeds, g)
    replace = setup.strategy in _REPLACING
    if setup.CR is not None and not replace:
        trial = _cross(setup, parent, trial, seeds, g)
    f_trial, aux_t = _evaluate(setup, trial, idx)
    state.evaluations[idx] += setup.popsize
    state.generations[idx] = g
    if replace:
        state.population[idx], state.fitness[idx] = trial, f_trial
    else:
        state.population[idx], state.fitness[idx] = _select(parent, f_parent, trial, f_trial)
    gf, gj = f_trial.min(dim=1)
    better = gf < state.best_f[idx]
    rows = torch.arange(len(idx), device=idx.device)
    state.best_f[idx] = torch.where(better, gf, state.best_f[idx])
    state.best_x[idx] = torch.where(better[:, None], trial[rows, gj], state.best_x[idx])
    if state.best_aux is not None and aux_t is not None:
        new_aux = aux_t[rows, gj]
        keep = better.view((-1,) + (1,) * (new_aux.ndim - 1))
        state.best_aux[idx] = torch.where(keep, new_aux, state.best_aux[idx])
    if setup.can_stop:
        state.active[idx] = _keep_going(setup, state, idx)


def _run(setup: _Setup, state: _State, generations: int) -> None:
    """Loop over the generations; problems that met their stopping rule are left out.

    With a stopping rule, reading which problems still run (``nonzero``) is the one
    device sync per generation; without one, every problem runs and nothing is read back.
    """
    all_idx = torch.arange(len(setup.seeds), device=setup.seeds.device)
    can_stop = setup.can_stop
    for g in range(1, generations + 1):
        idx = state.active.nonzero().flatten() if can_stop else all_idx
        if len(idx) == 0:  # every problem stopped: the rest of the history is frozen
            if setup.record:
                state.history += [state.population.cpu().clone() for _ in range(g, generations + 1)]
            return
        _step(setup, state, idx, g)
        if setup.record:
            state.history.append(state.population.cpu().clone())


# --- the optimiser: check once, build the state, loop over the step ----------------------------


def _check_settings(
    fn: object,
    *,
    popsize: object,
    generations: object,
    F: object,
    CR: object,
    strategy: object,
    stop_when: object,
    record: object,
    bounds: object = "clip",
) -> tuple[int, int, float, float | None, bool]:
    """Check the scalar settings in order; return (popsize, generations, F, CR, record)."""
    if not isinstance(bounds, str) or bounds not in BOUNDS:
        raise ArgumentError(
            f"unknown bounds {bounds!r}: choose 'clip' (onto the face), 'reinit' (a fresh uniform "
            "value in the box) or 'reflect' (mirrored at the face it crossed)"
        )
    popsize = check_count(popsize, "popsize", minimum=4)
    generations = check_count(generations, "generations", minimum=0)
    F = check_mutation_factor(F)
    if CR is not None:
        CR = _as_real(CR, "CR (the crossover rate)", "a number in [0, 1] or None")
        if not 0.0 <= CR <= 1.0:
            raise ArgumentError(f"CR (the crossover rate) must be in [0, 1] or None, got {CR!r}")
    if not isinstance(strategy, str) or strategy not in STRATEGIES:
        raise ArgumentError(f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
    if not callable(fn):
        raise ArgumentTypeError(f"fn must be callable, got {type(fn).__name__}")
    if stop_when is not None and not callable(stop_when):
        raise ArgumentTypeError(
            f"stop_when must be callable or None, got {type(stop_when).__name__}"
        )
    return popsize, generations, F, CR, check_flag(record, "record")


def _check_box(lower: object, upper: object, device: torch.device) -> tuple[Tensor, Tensor]:
    lo = _as_bounds(lower, "lower", None, torch.float64, device)
    hi = _as_bounds(upper, "upper", lo.shape[0], torch.float64, device)
    if bool((lo > hi).any()):
        raise ArgumentError("every lower bound must be <= its upper bound")
    return lo, hi


def _resolve_seeds(
    seed: object,
    generator: torch.Generator | None,
    init: Tensor | None,
    problems: object,
    device: torch.device | str,
) -> Tensor:
    """One seed per problem, from a seed tensor, an int seed or the generator."""
    if isinstance(seed, Tensor):
        if seed.ndim != 1 or seed.is_floating_point():
            raise ArgumentError("a seed tensor must be a 1-D integer tensor, one seed per problem")
        return seed.to(device=device, dtype=torch.long)
    if init is not None:
        problems = init.shape[0]
    problems = check_count(problems, "problems", minimum=1)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise ArgumentError(f"seed must be an int or a tensor of ints, got {type(seed).__name__}")
    return problem_seeds(problems, seed=seed, generator=generator, device=device)


def _initial_population(
    init: Tensor | None, seeds: Tensor, popsize: int, lo: Tensor, hi: Tensor
) -> Tensor:
    """``init`` checked and clipped into the box, or uniform in the box (stream 0)."""
    problems, dims = len(seeds), lo.shape[0]
    if init is None:
        return lo + (hi - lo) * _uniform(seeds, 0, 0, (popsize, dims))
    if tuple(init.shape) != (problems, popsize, dims):
        raise ArgumentError(
            f"init must have shape (problems, popsize, dims) = {(problems, popsize, dims)}, "
            f"got {tuple(init.shape)}"
        )
    return clip_to_bounds(init.to(device=lo.device, dtype=torch.float64), lo, hi)


def _check_threshold(stop_below: object, problems: int, device: torch.device) -> Tensor:
    """``stop_below`` as one float64 threshold per problem (-inf: never stop)."""
    dt = torch.float64
    if stop_below is None:
        return torch.full((problems,), -math.inf, dtype=dt, device=device)
    bad = isinstance(stop_below, (bool, str, bytes))
    try:
        threshold = torch.as_tensor(stop_below, dtype=dt, device=device)
        bad = bad or threshold.ndim > 1 or threshold.numel() not in (1, problems)
    except (TypeError, ValueError, RuntimeError):
        bad = True
    if bad or bool(threshold.isnan().any()):
        raise ArgumentError(
            f"stop_below must be None, a number or one number per problem ({problems}), "
            f"got {stop_below!r}"
        )
    return threshold.expand(problems).clone()


def differential_evolution(
    fn: Fitness,
    lower: object,
    upper: object,
    *,
    problems: int = 1,
    popsize: int = 400,
    generations: int = 100,
    F: float = 0.5,
    CR: float | None = None,
    strategy: Strategy = "rand1",
    bounds: Bounds = "clip",
    init: Tensor | Sampler | None = None,
    stop_below: float | Tensor | None = None,
    stop_when: Callable[[Tensor, Tensor | None, Tensor], Tensor] | None = None,
    seed: int | Tensor | None = None,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
    record: bool = False,
) -> DEResult:
    """Minimise ``problems`` independent functions at once with differential evolution.

    Parameters
    ----------
    fn:
        ``fn(candidates, index)`` scores ``candidates`` of shape
        ``(m, popsize, dims)`` (float64) for the problems ``index`` (int64, shape
        ``(m,)``: only the problems still running) and returns their fitness,
        shape ``(m, popsize)``, lower is better; or ``(fitness, aux)`` where
        ``aux`` has shape ``(m, popsize, ...)`` and is kept for each problem's
        best candidate. A NaN fitness counts as +inf.
    lower, upper:
        Bounds of the search box, one per dimension (shared by all problems).
    problems:
        Number of independent problems (ignored when ``init`` or a seed tensor fixes it).
    popsize:
        Members per problem, at least 4 (a parent and three distinct donors).
    generations:
        Maximum number of generations after the initial population (>= 0).
    F:
        Mutation factor in (0, 2].
    CR:
        Binomial crossover rate in [0, 1], or None for no crossover (the trial is
        the mutant, as in the one-pixel paper). With crossover, one coordinate
        chosen at random always comes from the mutant.
    strategy:
        ``"rand1"`` (DE/rand/1), ``"best1"`` (DE/best/1) or ``"random"`` (random
        search: each generation a fresh uniform population, no selection; the
        best candidate ever seen is kept).
    bounds:
        What happens to a mutant's coordinate outside the box: ``"clip"`` puts it on the
        face it crossed (candidates pile up on the faces), ``"reinit"`` draws it afresh,
        uniformly in the box (SciPy's rule), ``"reflect"`` mirrors it at the face (and
        clips what overshoots the opposite face).
    init:
        Initial population ``(problems, popsize, dims)``; or a sampler
        ``init(seeds, generation) -> (len(seeds), popsize, dims)`` that draws one
        (generation 0), each problem's from its own seed; default uniform in the box.
        With a sampler, ``strategy="random"`` draws every generation from it, so
        random search samples the distribution DE started from.
    stop_below:
        Stop a problem as soon as its best fitness is strictly below this value
        (a number, or one per problem); None runs every generation.
    stop_when:
        Another stopping rule, ``stop_when(best_fitness, best_aux, index) -> bool (m,)``
        for the problems ``index``, checked with ``stop_below`` after every
        evaluation (e.g. "the image is already misclassified").
    seed, generator:
        Randomness. ``seed`` an int (problem ``p`` uses ``seed + p``) or an int64
        tensor of one seed per problem; else seeds are drawn from ``generator``
        (or PyTorch's global generator). Pass at most one.
    device:
        Where the population lives (default: ``init``'s device, else the CPU).
    record:
        Keep every generation's population in :attr:`DEResult.history`.

    Returns
    -------
    DEResult

    Raises
    ------
    ValueError
        For popsize < 4, F outside (0, 2], CR outside [0, 1], an unknown
        strategy or bounds rule, bounds of the wrong shape, not finite or with lower > upper,
        an ``init`` that is not a float (problems, popsize, dims) tensor, a bad
        ``stop_below``, seed or device, or a fitness function that returns
        the wrong shape (or an ``aux`` of the wrong shape).
    TypeError
        If ``fn`` or ``stop_when`` is not callable.
    """
    popsize, generations, F, CR, record = _check_settings(
        fn,
        popsize=popsize,
        generations=generations,
        F=F,
        CR=CR,
        strategy=strategy,
        stop_when=stop_when,
        record=record,
        bounds=bounds,
    )
    if seed is not None and generator is not None:
        raise ArgumentError("pass either seed= or generator=, not both")
    init_pop = init if isinstance(init, Tensor) else None
    sampler: Sampler | None = None
    if init is not None and not isinstance(init, Tensor):
        if not callable(init):
            check_float_tensors(init=init)  # the usual error for what is neither
        sampler = init
    if init_pop is not None:
        check_float_tensors(init=init_pop)
        if init_pop.ndim != 3:
            raise ArgumentError(
                f"init must have shape (problems, popsize, dims), got {tuple(init_pop.shape)}"
            )
    if device is None:
        device = init_pop.device if isinstance(init_pop, Tensor) else torch.device("cpu")
    device = check_device(device)
    lo, hi = _check_box(lower, upper, device)
    seeds = _resolve_seeds(seed, generator, init_pop, problems, device)
    if sampler is not None:
        pop = _sample(sampler, seeds, 0, popsize=popsize, lo=lo, hi=hi)
    else:
        pop = _initial_population(init_pop, seeds, popsize, lo, hi)
    setup = _Setup(
        fn=fn,
        lo=lo,
        hi=hi,
        seeds=seeds,
        popsize=popsize,
        F=F,
        CR=CR,
        strategy=strategy,
        bounds=bounds,
        sampler=sampler,
        threshold=_check_threshold(stop_below, len(seeds), device),
        stop_when=stop_when,
        record=record,
        can_stop=stop_below is not None or stop_when is not None,
    )
    state = _start(setup, pop)
    _run(setup, state, generations)
    if stop_when is not None:
        stopped = ~_keep_going(setup, state, torch.arange(len(seeds), device=device))
    else:
        stopped = state.best_f < setup.threshold
    return DEResult(
        state.best_x,
        state.best_f,
        state.best_aux,
        state.population,
        state.fitness,
        state.generations,
        state.evaluations,
        stopped,
        state.history,
    )
