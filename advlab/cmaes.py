"""CMA-ES (Hansen), batched over independent problems: a second evolutionary optimiser.

The covariance matrix adaptation evolution strategy keeps, per problem, a Gaussian search
distribution ``N(m, sigma^2 C)``. Each generation it draws ``popsize`` candidates, ranks them by
fitness, moves the mean to a weighted average of the best half, and adapts the step size
``sigma`` (from the length of an evolution path) and the covariance ``C`` (a rank-one update from
a second path, and a rank-mu update from the selected steps). Unlike differential evolution,
whose population is its memory, CMA-ES's memory is the distribution itself; on smooth,
ill-conditioned or rotated problems it learns the shape of the valley.

One call here optimises many problems at once, as :func:`advlab.de.differential_evolution` does:
the fitness function scores every running problem's candidates in one call, each problem stops
on its own once its best value falls below ``stop_below``, and
:attr:`CMAESResult.evaluations` counts exactly what each problem scored. Randomness is per
problem, from the same counter-based generator as DE (:func:`advlab.de.counter_uniform`), so a
batch gives bit-for-bit what each problem solved alone with the same seed gives.

The strategy parameters are the standard defaults: ``popsize = 4 + floor(3 ln n)``, ``mu =
popsize // 2`` log-rank weights, and the learning rates of the step size and the covariance
listed in :func:`strategy_parameters`. A box ``[lower, upper]`` is handled by evaluating, and
learning from, the candidate clipped into the box.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from ._validate import ArgumentError, ArgumentTypeError, check_count
from ._validate import as_real as _as_real
from .de import _resolve_seeds, _uniform
from .device import check_device

__all__ = ["CMAESResult", "StrategyParameters", "cma_es", "strategy_parameters"]

#: The largest population accepted: more candidates per generation than this is a mistake.
MAX_POPSIZE = 100_000
#: (candidates (m, popsize, dims) float64, problem indices (m,)) -> fitness (m, popsize)
Fitness = Callable[[Tensor, Tensor], Tensor]


@dataclass(frozen=True)
class StrategyParameters:
    """CMA-ES's default constants for ``dims`` dimensions and ``popsize`` candidates.

    Attributes
    ----------
    popsize, mu:
        Candidates per generation, and how many of the best are recombined.
    weights:
        The ``mu`` positive recombination weights, decreasing, summing to 1.
    mueff:
        The variance-effective selection mass, ``1 / sum(weights ** 2)``.
    cs, damps:
        Learning rate and damping of the step-size path.
    cc, c1, cmu:
        Learning rates of the covariance path, the rank-one and the rank-mu update.
    chi_n:
        ``E||N(0, I)||`` in ``dims`` dimensions (approximation).
    """

    popsize: int
    mu: int
    weights: tuple[float, ...]
    mueff: float
    cs: float
    damps: float
    cc: float
    c1: float
    cmu: float
    chi_n: float


def strategy_parameters(dims: int, popsize: int | None = None) -> StrategyParameters:
    """Return CMA-ES's default strategy parameters.

    ``weights_i ∝ ln((popsize + 1) / 2) - ln i`` for ``i = 1 … mu`` (``mu = popsize // 2``);
    ``cs = (mueff + 2) / (n + mueff + 3)``;
    ``damps = 1 + 2 max(0, sqrt((mueff - 1) / (n + 1)) - 1) + cs``;
    ``cc = (4 + mueff / n) / (n + 4 + 2 mueff / n)``; ``c1 = 2 / ((n + 1.3)^2 + mueff)``;
    ``cmu = min(1 - c1, 2 (mueff - 2 + 1 / mueff) / ((n + 2)^2 + mueff))``.

    Raises
    ------
    ValueError
        If ``dims < 1``, ``popsize < 2`` or ``popsize > MAX_POPSIZE``.
    """
    n = check_count(dims, "dims")
    lam = (
        4 + int(3 * math.log(n)) if popsize is None else check_count(popsize, "popsize", minimum=2)
    )
    if lam > MAX_POPSIZE:
        raise ArgumentError(f"popsize must be at most {MAX_POPSIZE:,}, got {lam:,}")
    mu = lam // 2
    raw = [math.log((lam + 1) / 2) - math.log(i) for i in range(1, mu + 1)]
    total = sum(raw)
    weights = tuple(w / total for w in raw)
    mueff = 1.0 / sum(w * w for w in weights)
    cs = (mueff + 2) / (n + mueff + 3)
    damps = 1 + 2 * max(0.0, math.sqrt((mueff - 1) / (n + 1)) - 1) + cs
    cc = (4 + mueff / n) / (n + 4 + 2 * mueff / n)
    c1 = 2 / ((n + 1.3) ** 2 + mueff)
    cmu = min(1 - c1, 2 * (mueff - 2 + 1 / mueff) / ((n + 2) ** 2 + mueff))
    chi_n = math.sqrt(n) * (1 - 1 / (4 * n) + 1 / (21 * n * n))
    return StrategyParameters(lam, mu, weights, mueff, cs, damps, cc, c1, cmu, chi_n)


@dataclass(frozen=True)
class CMAESResult:
    """The outcome of :func:`cma_es`, per problem.

    Attributes
    ----------
    x, fun:
        The best candidate ever evaluated (problems, dims) and its fitness (problems,).
    mean, sigma:
        The final distribution's mean (problems, dims) and step size (problems,).
    generations:
        Generations each problem ran.
    evaluations:
        Exact number of candidates each problem had scored (int64).
    stopped:
        True where the problem met ``stop_below``.
    """

    x: Tensor
    fun: Tensor
    mean: Tensor
    sigma: Tensor
    generations: Tensor
    evaluations: Tensor
    stopped: Tensor


def _normal(seeds: Tensor, g: int, shape: tuple[int, ...]) -> Tensor:
    """Draw standard normals per problem from its own counter stream (Box-Muller, streams 30, 31)."""
    u = _uniform(seeds, g, 30, shape)
    v = _uniform(seeds, g, 31, shape)
    return torch.sqrt(-2.0 * torch.log1p(-u)) * torch.cos(2.0 * math.pi * v)


def _vector(value: object, name: str, dims: int | None, device: torch.device) -> Tensor:
    try:
        t = torch.as_tensor(value, dtype=torch.float64, device=device)
    except (TypeError, ValueError, RuntimeError) as err:
        raise ArgumentError(f"{name} must be a 1-D sequence of numbers ({err})") from None
    if t.ndim != 1 or t.numel() == 0 or (dims is not None and t.shape[0] != dims):
        want = "one number per dimension" if dims is not None else "at least one number"
        raise ArgumentError(f"{name} must be a 1-D sequence of {want}")
    if not bool(torch.isfinite(t).all()):
        raise ArgumentError(f"{name} must be finite")
    return t


@dataclass
class _State:
    """Per-problem state between generations."""

    mean: Tensor  # (p, n)
    sigma: Tensor  # (p,)
    cov: Tensor  # (p, n, n)
    basis: Tensor  # (p, n, n): eigenvectors of cov
    scale: Tensor  # (p, n): square roots of its eigenvalues
    ps: Tensor  # (p, n): the step-size path
    pc: Tensor  # (p, n): the covariance path
    best_x: Tensor
    best_f: Tensor
    generations: Tensor
    evaluations: Tensor
    active: Tensor

    @classmethod
    def start(cls, mean: Tensor, sigma: float, problems: int) -> _State:
        p, n, dev = problems, mean.shape[0], mean.device
        eye = torch.eye(n, dtype=torch.float64, device=dev).expand(p, n, n).clone()
        zeros = torch.zeros(p, n, dtype=torch.float64, device=dev)
        count = torch.zeros(p, dtype=torch.long, device=dev)
        return cls(
            mean=mean.expand(p, n).clone(),
            sigma=torch.full((p,), sigma, dtype=torch.float64, device=dev),
            cov=eye,
            basis=eye.clone(),
            scale=torch.ones(p, n, dtype=torch.float64, device=dev),
            ps=zeros,
            pc=zeros.clone(),
            best_x=mean.expand(p, n).clone(),
            best_f=torch.full((p,), math.inf, dtype=torch.float64, device=dev),
            generations=count,
            evaluations=count.clone(),
            active=torch.ones(p, dtype=torch.bool, device=dev),
        )


@dataclass(frozen=True)
class _Problem:
    """What stays fixed: the fitness, the box, the constants, the seeds."""

    fn: Fitness
    lo: Tensor | None
    hi: Tensor | None
    sp: StrategyParameters
    weights: Tensor
    seeds: Tensor


def _sample(pb: _Problem, st: _State, idx: Tensor, g: int) -> tuple[Tensor, Tensor]:
    """Candidates x (k, popsize, n) and their steps y = (x - m) / sigma, clipped into the box."""
    n = st.mean.shape[1]
    z = _normal(pb.seeds[idx], g, (pb.sp.popsize, n))  # (k, popsize, n)
    y = torch.einsum("kij,klj->kli", st.basis[idx], z * st.scale[idx][:, None, :])  # B D z
    m, s = st.mean[idx][:, None, :], st.sigma[idx][:, None, None]
    x = m + s * y
    if pb.lo is not None and pb.hi is not None:
        x = torch.maximum(torch.minimum(x, pb.hi), pb.lo)
        y = (x - m) / s
    return x, y


def _score(pb: _Problem, st: _State, idx: Tensor, x: Tensor) -> Tensor:
    """Fitness of the running problems' candidates, checked; count them; keep the best."""
    k, lam = len(idx), pb.sp.popsize
    f = pb.fn(x, idx)
    if not isinstance(f, Tensor) or tuple(f.shape) != (k, lam):
        got = tuple(f.shape) if isinstance(f, Tensor) else type(f).__name__
        raise ArgumentError(f"the fitness function must return shape {(k, lam)}, got {got}")
    f = torch.nan_to_num(f.to(torch.float64), nan=math.inf)
    st.evaluations[idx] += lam
    st.generations[idx] += 1
    order = f.argsort(dim=1)
    first = order[:, 0]
    rows = torch.arange(k, device=x.device)
    f_best, x_best = f[rows, first], x[rows, first]
    better = f_best < st.best_f[idx]
    st.best_f[idx] = torch.where(better, f_best, st.best_f[idx])
    st.best_x[idx] = torch.where(better[:, None], x_best, st.best_x[idx])
    return order


def _adapt(pb: _Problem, st: _State, idx: Tensor, y: Tensor, order: Tensor) -> None:
    """Move the mean, update both paths, the covariance and the step size."""
    sp, w, n = pb.sp, pb.weights, st.mean.shape[1]
    rows = torch.arange(len(idx), device=y.device)[:, None]
    y_sel = y[rows, order[:, : sp.mu]]  # (k, mu, n), best first
    y_w = (w[None, :, None] * y_sel).sum(dim=1)
    st.mean[idx] = st.mean[idx] + st.sigma[idx][:, None] * y_w
    basis, scale = st.basis[idx], st.scale[idx]
    inv_sqrt = torch.einsum("kij,kj,klj,kl->ki", basis, 1.0 / scale, basis, y_w)  # C^-1/2 y_w
    ps = (1 - sp.cs) * st.ps[idx] + math.sqrt(sp.cs * (2 - sp.cs) * sp.mueff) * inv_sqrt
    norm_ps = ps.norm(dim=1)
    decay = torch.sqrt(1 - (1 - sp.cs) ** (2 * st.generations[idx].double()))
    hsig = (norm_ps / decay < (1.4 + 2 / (n + 1)) * sp.chi_n).double()
    pc = (1 - sp.cc) * st.pc[idx] + (
        hsig[:, None] * math.sqrt(sp.cc * (2 - sp.cc) * sp.mueff) * y_w
    )
    rank_mu = torch.einsum("j,kji,kjl->kil", w, y_sel, y_sel)
    rank_one = pc[:, :, None] * pc[:, None, :]
    keep = 1 - sp.c1 - sp.cmu + (1 - hsig) * sp.c1 * sp.cc * (2 - sp.cc)
    cov = keep[:, None, None] * st.cov[idx] + sp.c1 * rank_one + sp.cmu * rank_mu
    cov = (cov + cov.transpose(1, 2)) / 2
    st.sigma[idx] = st.sigma[idx] * torch.exp((sp.cs / sp.damps) * (norm_ps / sp.chi_n - 1))
    eigvals, eigvecs = torch.linalg.eigh(cov)
    st.ps[idx], st.pc[idx], st.cov[idx] = ps, pc, cov
    st.basis[idx], st.scale[idx] = eigvecs, eigvals.clamp_min(1e-300).sqrt()


def _check_box(lower: object, upper: object, n: int, dev: torch.device) -> tuple:
    lo = None if lower is None else _vector(lower, "lower", n, dev)
    hi = None if upper is None else _vector(upper, "upper", n, dev)
    if (lo is None) != (hi is None):
        raise ArgumentError("pass lower and upper together, or neither")
    if lo is not None and hi is not None and bool((lo > hi).any()):
        raise ArgumentError("lower must be <= upper in every dimension")
    return lo, hi


def cma_es(
    fn: Fitness,
    mean: object,
    sigma: float,
    *,
    lower: object = None,
    upper: object = None,
    problems: int = 1,
    popsize: int | None = None,
    generations: int = 100,
    stop_below: float | None = None,
    seed: int | Tensor | None = None,
    device: torch.device | str | None = None,
) -> CMAESResult:
    """Minimise ``problems`` independent functions at once with CMA-ES.

    Parameters
    ----------
    fn:
        ``fn(candidates, index)``: candidates (m, popsize, dims) float64 of the running problems
        ``index`` (m,) → fitness (m, popsize), lower is better; NaN counts as +inf.
    mean:
        The initial mean, one number per dimension (shared by all problems).
    sigma:
        The initial step size, > 0.
    lower, upper:
        Optional box, one bound per dimension: candidates are clipped into it before they are
        scored, and the clipped candidates are the ones the distribution learns from.
    problems:
        Number of independent problems (ignored when ``seed`` is a tensor of seeds).
    popsize:
        Candidates per generation (default ``4 + floor(3 ln dims)``), at least 2.
    generations:
        Maximum number of generations (>= 0).
    stop_below:
        Stop a problem as soon as its best fitness is strictly below this value.
    seed:
        An int (problem ``p`` uses ``seed + p``) or an int64 tensor of one seed per problem.
    device:
        Where the state lives (default: the CPU).

    Returns
    -------
    CMAESResult

    Raises
    ------
    TypeError
        If ``fn`` is not callable.
    ValueError
        For a bad mean, sigma, box, count, seed or device, or a fitness of the wrong shape.
    """
    if not callable(fn):
        raise ArgumentTypeError(f"fn must be callable, got {type(fn).__name__}")
    dev = check_device("cpu" if device is None else device)
    m = _vector(mean, "mean", None, dev)
    sigma = _as_real(sigma, "sigma", "a number > 0")
    if not (math.isfinite(sigma) and sigma > 0):
        raise ArgumentError(f"sigma must be a finite number > 0, got {sigma!r}")
    lo, hi = _check_box(lower, upper, m.shape[0], dev)
    sp = strategy_parameters(m.shape[0], popsize)
    generations = check_count(generations, "generations", minimum=0)
    seeds = _resolve_seeds(seed, None, None, problems, dev)  # DE's rule: seed + p, or a tensor
    threshold = -math.inf
    if stop_below is not None:
        threshold = _as_real(stop_below, "stop_below", "a number or None")
    weights = torch.tensor(sp.weights, dtype=torch.float64, device=dev)
    pb = _Problem(fn, lo, hi, sp, weights, seeds)
    st = _State.start(m, sigma, len(seeds))
    for g in range(generations):
        idx = st.active.nonzero().flatten()
        if len(idx) == 0:
            break
        x, y = _sample(pb, st, idx, g)
        order = _score(pb, st, idx, x)
        _adapt(pb, st, idx, y, order)
        st.active[idx] = st.best_f[idx] >= threshold
    return CMAESResult(
        st.best_x, st.best_f, st.mean, st.sigma, st.generations, st.evaluations,
        st.best_f < threshold,
    )  # fmt: skip
