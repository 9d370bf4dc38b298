"""Differential evolution (Storn and Price), batched over independent problems.

DE keeps a *population* of candidate vectors. Each generation, every member
(the *parent*) gets a *mutant* built from three other, distinct members
``a``, ``b``, ``c`` (the DE/rand/1 rule)::

    mutant = a + F * (b - c)

clipped back into the box ``[lower, upper]``. Optionally, *binomial
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
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import Tensor

__all__ = [
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

# Fitness function: (candidates (m, popsize, dims), problem indices (m,)) -> fitness (m, popsize),
# or (fitness, aux) where aux (m, popsize, ...) is kept for each problem's best candidate.
Fitness = Callable[[Tensor, Tensor], "Tensor | tuple[Tensor, Tensor]"]

# --- the steps, one by one ----------------------------------------------------------------------


def _check_F(F: object) -> float:
    """F as a float in (0, 2]; Python and NumPy numbers and one-element tensors are accepted."""
    from ._validate import as_real as _as_real

    value = _as_real(F, "F (the mutation factor)", "a number in (0, 2]")
    if not (0.0 < value <= 2.0):
        raise ValueError(f"F (the mutation factor) must be a number in (0, 2], got {F!r}")
    return value


def _check_tensors(**named: object) -> None:
    for name, t in named.items():
        if not isinstance(t, Tensor) or not t.is_floating_point():
            got = t.dtype if isinstance(t, Tensor) else type(t).__name__
            raise ValueError(f"{name} must be a floating-point torch.Tensor, got {got}")


def mutate(a: Tensor, b: Tensor, c: Tensor, F: float) -> Tensor:
    """The DE/rand/1 mutant ``a + F * (b - c)`` (any matching shapes).

    Raises
    ------
    ValueError
        If a, b or c is not a float tensor, their shapes differ, or F is outside (0, 2].
    """
    _check_tensors(a=a, b=b, c=c)
    F = _check_F(F)
    if not a.shape == b.shape == c.shape:
        raise ValueError(
            f"a, b and c must have the same shape, got {tuple(a.shape)}, {tuple(b.shape)} "
            f"and {tuple(c.shape)}"
        )
    return a + F * (b - c)


def clip_to_bounds(v: Tensor, lower: Tensor, upper: Tensor) -> Tensor:
    """Clip each coordinate of ``v`` into ``[lower, upper]`` (broadcast over the last axis).

    Raises
    ------
    ValueError
        If an argument is not a float tensor, the bounds are not 1-D of ``v``'s last size, or
        some lower bound exceeds its upper bound.
    """
    _check_tensors(v=v, lower=lower, upper=upper)
    if v.ndim == 0 or lower.shape != (v.shape[-1],) or upper.shape != (v.shape[-1],):
        raise ValueError(
            f"lower and upper must be 1-D with one bound per coordinate ({v.shape[-1] if v.ndim else '?'}"
            f" for v of shape {tuple(v.shape)}), got {tuple(lower.shape)} and {tuple(upper.shape)}"
        )
    if bool((lower > upper).any()):
        raise ValueError("every lower bound must be <= its upper bound")
    return torch.minimum(torch.maximum(v, lower), upper)


def binomial_crossover(parent: Tensor, mutant: Tensor, mask: Tensor) -> Tensor:
    """The trial vector: the mutant's coordinate where ``mask`` is True, the parent's elsewhere.

    Raises
    ------
    ValueError
        If parent or mutant is not a float tensor, ``mask`` is not a boolean tensor, or
        the three shapes differ.
    """
    _check_tensors(parent=parent, mutant=mutant)
    if not isinstance(mask, Tensor) or mask.dtype != torch.bool:
        raise ValueError("mask must be a boolean tensor (True: take the mutant's coordinate)")
    if parent.shape != mutant.shape or mask.shape != parent.shape:
        raise ValueError(
            "parent, mutant and mask must have the same shape, got "
            f"{tuple(parent.shape)}, {tuple(mutant.shape)} and {tuple(mask.shape)}"
        )
    return torch.where(mask, mutant, parent)


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
    _check_tensors(parent=parent, f_parent=f_parent, trial=trial, f_trial=f_trial)
    if parent.ndim == 0 or trial.shape != parent.shape:
        raise ValueError(
            "parent and trial must be vectors of the same shape (..., dims), got "
            f"{tuple(parent.shape)} and {tuple(trial.shape)}"
        )
    if f_parent.shape != parent.shape[:-1] or f_trial.shape != trial.shape[:-1]:
        raise ValueError(
            "fitness must have the vectors' shape without the last axis: got "
            f"{tuple(f_parent.shape)} for {tuple(parent.shape)} and "
            f"{tuple(f_trial.shape)} for {tuple(trial.shape)}"
        )
    better = f_trial < f_parent
    return torch.where(better[..., None], trial, parent), torch.where(better, f_trial, f_parent)


# --- per-problem counter-based random numbers ---------------------------------------------------

_MASK64 = (1 << 64) - 1


def _i64(c: int) -> int:
    """An unsigned 64-bit constant as the signed int64 with the same bits."""
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
    from ._validate import check_count

    if (
        not isinstance(seeds, Tensor)
        or seeds.ndim != 1
        or seeds.is_floating_point()
        or seeds.is_complex()
        or seeds.dtype == torch.bool
    ):
        raise ValueError("seeds must be a 1-D integer tensor, one seed per problem")
    generation = check_count(generation, "generation", minimum=0)
    stream = check_count(stream, "stream", minimum=0)
    if isinstance(shape, (str, bytes)) or not isinstance(shape, (tuple, list, torch.Size)):
        raise ValueError(f"shape must be a tuple of sizes, got {type(shape).__name__}")
    shape = tuple(check_count(s, "each size in shape", minimum=0) for s in shape)
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
    """One int64 seed per problem: ``seed + p`` when ``seed`` is given, else drawn from
    ``generator`` (or PyTorch's global generator).

    ``seed`` may be any integer in 0 ... 2**64 - 1; it is hashed as its 64 bits, so
    ``seed + p`` wraps around like an unsigned 64-bit counter.

    Raises
    ------
    ValueError
        If ``n`` is not an integer >= 0, ``seed`` is not an integer in 0 ... 2**64 - 1,
        both ``seed`` and ``generator`` are given, ``generator`` is not a
        ``torch.Generator``, or ``device`` does not exist on this machine.
    """
    from ._validate import check_count, check_seed
    from .device import check_device

    n = check_count(n, "n (the number of problems)", minimum=0)
    device = check_device(device)
    if seed is not None and generator is not None:
        raise ValueError("pass either seed= or generator=, not both")
    if generator is not None and not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be a torch.Generator, got {type(generator).__name__}")
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


def _as_bounds(bound: object, name: str, dims: int | None, dtype: torch.dtype, device) -> Tensor:
    try:
        t = torch.as_tensor(bound, dtype=dtype, device=device)
    except (TypeError, ValueError, RuntimeError) as err:
        raise ValueError(
            f"{name} must be a 1-D sequence of numbers, one bound per dimension ({err})"
        ) from None
    if t.ndim != 1 or (dims is not None and t.shape[0] != dims):
        raise ValueError(f"{name} must be a 1-D sequence of one bound per dimension")
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} must be finite")
    return t


def _check_fitness(f: Tensor, shape: tuple[int, int]) -> Tensor:
    if not isinstance(f, Tensor) or tuple(f.shape) != shape or f.is_complex():
        got = tuple(f.shape) if isinstance(f, Tensor) else type(f).__name__
        raise ValueError(f"the fitness function must return a tensor of shape {shape}, got {got}")
    f = f.double()
    # a NaN fitness must never win a comparison: treat it as +inf
    return torch.nan_to_num(f, nan=math.inf)


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
    init: Tensor | None = None,
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
        Mutants are clipped into the box.
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
    init:
        Initial population ``(problems, popsize, dims)``; default uniform in the box.
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
        strategy, bounds of the wrong shape, not finite or with lower > upper,
        an ``init`` that is not a float (problems, popsize, dims) tensor, a bad
        ``stop_below``, seed or device, or a fitness function that returns
        the wrong shape (or an ``aux`` of the wrong shape).
    TypeError
        If ``fn`` or ``stop_when`` is not callable.
    """
    from ._validate import as_real as _as_real
    from ._validate import check_count, check_flag
    from .device import check_device

    popsize = check_count(popsize, "popsize", minimum=4)
    generations = check_count(generations, "generations", minimum=0)
    F = _check_F(F)
    if CR is not None:
        CR = _as_real(CR, "CR (the crossover rate)", "a number in [0, 1] or None")
        if not 0.0 <= CR <= 1.0:
            raise ValueError(f"CR (the crossover rate) must be in [0, 1] or None, got {CR!r}")
    if not isinstance(strategy, str) or strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    if stop_when is not None and not callable(stop_when):
        raise TypeError(f"stop_when must be callable or None, got {type(stop_when).__name__}")
    record = check_flag(record, "record")
    if seed is not None and generator is not None:
        raise ValueError("pass either seed= or generator=, not both")
    if init is not None:
        _check_tensors(init=init)
        if init.ndim != 3:
            raise ValueError(
                f"init must have shape (problems, popsize, dims), got {tuple(init.shape)}"
            )

    if device is None:
        device = init.device if isinstance(init, Tensor) else torch.device("cpu")
    device = check_device(device)
    dt = torch.float64
    lo = _as_bounds(lower, "lower", None, dt, device)
    hi = _as_bounds(upper, "upper", lo.shape[0], dt, device)
    if bool((lo > hi).any()):
        raise ValueError("every lower bound must be <= its upper bound")
    dims = lo.shape[0]

    if isinstance(seed, Tensor):
        if seed.ndim != 1 or seed.is_floating_point():
            raise ValueError("a seed tensor must be a 1-D integer tensor, one seed per problem")
        seeds = seed.to(device=device, dtype=torch.long)
        problems = len(seeds)
    else:
        if init is not None:
            problems = init.shape[0]
        problems = check_count(problems, "problems", minimum=1)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValueError(f"seed must be an int or a tensor of ints, got {type(seed).__name__}")
        seeds = problem_seeds(problems, seed=seed, generator=generator, device=device)

    if init is None:
        pop = lo + (hi - lo) * counter_uniform(seeds, 0, 0, (popsize, dims))
    else:
        if tuple(init.shape) != (problems, popsize, dims):
            raise ValueError(
                f"init must have shape (problems, popsize, dims) = {(problems, popsize, dims)}, "
                f"got {tuple(init.shape)}"
            )
        pop = clip_to_bounds(init.to(device=device, dtype=dt), lo, hi)

    if stop_below is None:
        threshold = torch.full((problems,), -math.inf, dtype=dt, device=device)
    else:
        bad = isinstance(stop_below, (bool, str, bytes))
        try:
            threshold = torch.as_tensor(stop_below, dtype=dt, device=device)
            bad = bad or threshold.ndim > 1 or threshold.numel() not in (1, problems)
        except (TypeError, ValueError, RuntimeError):
            bad = True
        if bad or bool(threshold.isnan().any()):
            raise ValueError(
                f"stop_below must be None, a number or one number per problem ({problems}), "
                f"got {stop_below!r}"
            )
        threshold = threshold.expand(problems).clone()

    def evaluate(cands: Tensor, idx: Tensor) -> tuple[Tensor, Tensor | None]:
        out = fn(cands, idx)
        aux = None
        if isinstance(out, tuple):
            if len(out) != 2:
                raise ValueError(
                    "the fitness function must return fitness or a pair (fitness, aux), "
                    f"got a tuple of {len(out)}"
                )
            out, aux = out
            if not isinstance(aux, Tensor) or aux.shape[:2] != (len(idx), popsize):
                got = tuple(aux.shape) if isinstance(aux, Tensor) else type(aux).__name__
                raise ValueError(
                    f"the fitness function's aux must be a tensor of shape "
                    f"({len(idx)}, {popsize}, ...), got {got}"
                )
        return _check_fitness(out, (len(idx), popsize)), aux

    all_idx = torch.arange(problems, device=device)
    fit, aux = evaluate(pop, all_idx)
    evaluations = torch.full((problems,), popsize, dtype=torch.long, device=device)
    gens = torch.zeros(problems, dtype=torch.long, device=device)
    best_f, best_j = fit.min(dim=1)
    best_x = pop[all_idx, best_j]
    best_aux = aux[all_idx, best_j].clone() if aux is not None else None

    def keep_going(idx: Tensor) -> Tensor:
        go = best_f[idx] >= threshold[idx]
        if stop_when is not None:
            aux_i = best_aux[idx] if best_aux is not None else None
            go = go & ~stop_when(best_f[idx], aux_i, idx).to(device=device, dtype=torch.bool)
        return go

    active = keep_going(all_idx)
    history = [pop.cpu().clone()] if record else []

    for g in range(1, generations + 1):
        idx = active.nonzero().flatten()
        if len(idx) == 0:
            if record:
                history.append(pop.cpu().clone())
            continue
        s = seeds[idx]
        parent, f_parent = pop[idx], fit[idx]
        m = len(idx)
        if strategy == "random":
            trial = lo + (hi - lo) * counter_uniform(s, g, 0, (popsize, dims))
        else:
            u = counter_uniform(s, g, 1, (popsize, 3))
            rows = torch.arange(m, device=device)[:, None]
            if strategy == "rand1":
                a_i, b_i, c_i = _donors(u, popsize, 3)
                base = parent[rows, a_i]
            else:
                b_i, c_i = _donors(u, popsize, 2)
                base = parent[rows[:, 0], f_parent.argmin(dim=1)][:, None, :].expand_as(parent)
            trial = clip_to_bounds(mutate(base, parent[rows, b_i], parent[rows, c_i], F), lo, hi)
            if CR is not None:
                mask = counter_uniform(s, g, 2, (popsize, dims)) < CR
                j_rand = (counter_uniform(s, g, 3, (popsize,)) * dims).long().clamp_max(dims - 1)
                mask = mask | torch.nn.functional.one_hot(j_rand, dims).bool()
                trial = binomial_crossover(parent, trial, mask)
        f_trial, aux_t = evaluate(trial, idx)
        evaluations[idx] += popsize
        gens[idx] = g
        if strategy == "random":
            pop[idx], fit[idx] = trial, f_trial
        else:
            pop[idx], fit[idx] = select(parent, f_parent, trial, f_trial)
        gf, gj = f_trial.min(dim=1)
        better = gf < best_f[idx]
        upd = idx[better]
        best_f[upd] = gf[better]
        best_x[upd] = trial[better, gj[better]]
        if best_aux is not None and aux_t is not None:
            best_aux[upd] = aux_t[better, gj[better]]
        active[idx] = keep_going(idx)
        if record:
            history.append(pop.cpu().clone())

    stopped = ~keep_going(all_idx) if stop_when is not None else best_f < threshold
    return DEResult(best_x, best_f, best_aux, pop, fit, gens, evaluations, stopped, history)
