"""FROZEN REFERENCE -- test-only copy of the engines *before* the issue-17 refactor.

This module is the yardstick of ``tests/test_engines_identity.py``: it holds the
pre-refactor ``advlab.de.differential_evolution`` (with the random-number and
donor helpers it used) and the pre-refactor PGD (``pgd``, ``linf_ascent``,
``l2_ascent``, ``_random_start``, ``meaningful_budget``), copied from advlab at
commit 124e62a. The refactored package must reproduce its outputs bit for bit.

Do not "improve" or refactor this file: its only job is to stay what the code
was. Argument checks were dropped (the identity test passes valid arguments
only); the arithmetic, the order of random draws and the control flow are
unchanged. It imports nothing from ``advlab.de`` or ``advlab.attacks.pgd``, and
from elsewhere in advlab only attack math the refactor does not touch
(``input_gradient``, ``limit_direction``, ``objective``) and ``frozen_eval``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor, nn

from advlab._utils import frozen_eval
from advlab.attacks._common import input_gradient, limit_direction, objective

# --- differential evolution ---------------------------------------------------------------------

_MASK64 = (1 << 64) - 1


def _i64(c: int) -> int:
    c &= _MASK64
    return c - (1 << 64) if c >= 1 << 63 else c


_GOLDEN = _i64(0x9E3779B97F4A7C15)
_M1 = _i64(0xBF58476D1CE4E5B9)
_M2 = _i64(0x94D049BB133111EB)


def _shr(z: Tensor, k: int) -> Tensor:
    return (z >> k) & ((1 << (64 - k)) - 1)


def _mix(z: Tensor) -> Tensor:
    z = z + _GOLDEN
    z = (z ^ _shr(z, 30)) * _M1
    z = (z ^ _shr(z, 27)) * _M2
    return z ^ _shr(z, 31)


def counter_uniform(seeds: Tensor, generation: int, stream: int, shape: tuple[int, ...]) -> Tensor:
    n = math.prod(shape)
    offset = _i64((generation * 64 + stream + 1) * 0x9E3779B97F4A7C15)
    key = _mix(_mix(seeds.long())[:, None] + offset)
    j = torch.arange(n, device=seeds.device, dtype=torch.long)[None, :]
    bits = _shr(_mix(key ^ _mix(j)), 11)
    return (bits.double() * 2.0**-53).view(len(seeds), *shape)


def problem_seeds(n: int, *, seed: int | None = None, generator=None, device="cpu") -> Tensor:
    if seed is not None:
        base = torch.tensor(_i64(seed), dtype=torch.long, device=device)
        return base + torch.arange(n, dtype=torch.long, device=device)
    s = torch.randint(-(2**62), 2**62, (n,), generator=generator, dtype=torch.long)
    return s.to(device)


def _skip(v: Tensor, excluded: Tensor) -> Tensor:
    for e in excluded.sort(dim=-1).values.unbind(-1):
        v = v + (v >= e).long()
    return v


def _donors(u: Tensor, popsize: int, count: int) -> list[Tensor]:
    m = u.shape[0]
    parent = torch.arange(popsize, device=u.device).expand(m, popsize)
    chosen = [parent]
    for k in range(count):
        r = (u[..., k] * (popsize - 1 - k)).long().clamp_max(popsize - 2 - k)
        chosen.append(_skip(r, torch.stack(chosen, dim=-1)))
    return chosen[1:]


def _clip(v: Tensor, lower: Tensor, upper: Tensor) -> Tensor:
    return torch.minimum(torch.maximum(v, lower), upper)


def _select(parent, f_parent, trial, f_trial):
    better = f_trial < f_parent
    return torch.where(better[..., None], trial, parent), torch.where(better, f_trial, f_parent)


def _check_fitness(f: Tensor, shape: tuple[int, int]) -> Tensor:
    assert isinstance(f, Tensor) and tuple(f.shape) == shape
    return torch.nan_to_num(f.double(), nan=math.inf)


def differential_evolution(
    fn,
    lower,
    upper,
    *,
    problems: int = 1,
    popsize: int = 400,
    generations: int = 100,
    F: float = 0.5,
    CR: float | None = None,
    strategy: str = "rand1",
    init: Tensor | None = None,
    stop_below=None,
    stop_when: Callable | None = None,
    seed=None,
    generator: torch.Generator | None = None,
    device=None,
    record: bool = False,
) -> dict:
    """The pre-refactor solver; returns the DEResult fields as a dict."""
    F = float(F)
    CR = None if CR is None else float(CR)
    if device is None:
        device = init.device if isinstance(init, Tensor) else torch.device("cpu")
    device = torch.device(device)
    dt = torch.float64
    lo = torch.as_tensor(lower, dtype=dt, device=device)
    hi = torch.as_tensor(upper, dtype=dt, device=device)
    dims = lo.shape[0]

    if isinstance(seed, Tensor):
        seeds = seed.to(device=device, dtype=torch.long)
        problems = len(seeds)
    else:
        if init is not None:
            problems = init.shape[0]
        seeds = problem_seeds(problems, seed=seed, generator=generator, device=device)

    if init is None:
        pop = lo + (hi - lo) * counter_uniform(seeds, 0, 0, (popsize, dims))
    else:
        pop = _clip(init.to(device=device, dtype=dt), lo, hi)

    if stop_below is None:
        threshold = torch.full((problems,), -math.inf, dtype=dt, device=device)
    else:
        threshold = torch.as_tensor(stop_below, dtype=dt, device=device)
        threshold = threshold.expand(problems).clone()

    def evaluate(cands: Tensor, idx: Tensor) -> tuple[Tensor, Tensor | None]:
        out = fn(cands, idx)
        aux = None
        if isinstance(out, tuple):
            out, aux = out
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
            trial = _clip(base + F * (parent[rows, b_i] - parent[rows, c_i]), lo, hi)
            if CR is not None:
                mask = counter_uniform(s, g, 2, (popsize, dims)) < CR
                j_rand = (counter_uniform(s, g, 3, (popsize,)) * dims).long().clamp_max(dims - 1)
                mask = mask | torch.nn.functional.one_hot(j_rand, dims).bool()
                trial = torch.where(mask, trial, parent)
        f_trial, aux_t = evaluate(trial, idx)
        evaluations[idx] += popsize
        gens[idx] = g
        if strategy == "random":
            pop[idx], fit[idx] = trial, f_trial
        else:
            pop[idx], fit[idx] = _select(parent, f_parent, trial, f_trial)
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
    return dict(
        x=best_x,
        fun=best_f,
        aux=best_aux,
        population=pop,
        fitness=fit,
        generations=gens,
        evaluations=evaluations,
        stopped=stopped,
        history=history,
    )


# --- PGD ----------------------------------------------------------------------------------------


def pgd(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    *,
    eps: float,
    alpha: float | None = None,
    steps: int = 10,
    norm: str | int = "inf",
    random_start: bool = True,
    restarts: int = 1,
    targeted: bool = False,
    loss: str = "ce",
    seed: int | None = None,
) -> Tensor:
    """The pre-refactor ``advlab.pgd`` for valid arguments (``y`` given, ``norm`` "inf" or 2)."""
    if alpha is None:
        alpha = min(eps, 2.5 * eps / steps)
    p = "inf" if norm == "inf" else 2
    gen = torch.Generator().manual_seed(seed) if seed is not None else None
    x = x.detach()
    eps, alpha = meaningful_budget(eps, alpha, p, x[0].numel())
    with frozen_eval(model):
        y = y.long()
        best = best_success = best_score = None
        for _ in range(restarts):
            start = _random_start(x, eps, p, gen) if random_start else x.clone()
            ascent = linf_ascent if p == "inf" else l2_ascent
            x_adv = ascent(
                model, x, start, y, eps=eps, alpha=alpha, steps=steps, targeted=targeted, loss=loss
            )
            if restarts == 1:
                return x_adv
            with torch.no_grad():
                logits = model(x_adv)
            score = objective(logits, y, loss=loss, targeted=targeted)
            success = (logits.argmax(dim=1) == y) == targeted
            if best is None:
                best, best_success, best_score = x_adv, success, score
                continue
            better = (success & ~best_success) | ((success == best_success) & (score > best_score))
            best = torch.where(better[:, None, None, None], x_adv, best)
            best_success = best_success | success
            best_score = torch.where(better, score, best_score)
        return best


def meaningful_budget(eps: float, alpha: float, p, d: int) -> tuple[float, float]:
    if p == "inf":
        return min(eps, 1.0), min(alpha, 1.0)
    diameter = math.sqrt(d)
    return min(eps, diameter), min(alpha, 1e4 * diameter)


def linf_ascent(model, x, x_adv, y, *, eps, alpha, steps, targeted, loss) -> Tensor:
    lo = (x - eps).clamp_(min=0.0)
    hi = (x + eps).clamp_(max=1.0)
    for step in range(steps):
        grad, _ = input_gradient(
            model, x_adv, y, loss=loss, targeted=targeted, check_range=step == 0
        )
        x_adv.add_(grad.sign_(), alpha=alpha)
        x_adv.clamp_(min=lo, max=hi)
    return x_adv


def l2_ascent(model, x, x_adv, y, *, eps, alpha, steps, targeted, loss) -> Tensor:
    shape = (-1,) + (1,) * (x.ndim - 1)
    work = torch.float32 if x.dtype in (torch.float16, torch.bfloat16) else x.dtype
    x_work = x.to(work)
    for step in range(steps):
        grad, _ = input_gradient(
            model, x_adv, y, loss=loss, targeted=targeted, check_range=step == 0
        )
        grad = limit_direction(grad.to(work))
        grad_norm = torch.linalg.vector_norm(grad.flatten(1), dim=1).clamp_min_(1e-12)
        delta = x_adv.to(work).sub_(x_work).addcdiv_(grad, grad_norm.view(shape), value=alpha)
        length = torch.linalg.vector_norm(delta.flatten(1), dim=1)
        delta.mul_(torch.where(length > eps, eps / length, 1.0).view(shape))
        x_adv = delta.add_(x_work).clamp_(0.0, 1.0).to(x.dtype)
    return x_adv


def _random_start(x: Tensor, eps: float, p, gen: torch.Generator | None) -> Tensor:
    where = gen.device if gen is not None else torch.device("cpu")
    n, d = x.shape[0], x[0].numel()
    if p == "inf":
        u = torch.rand(x.shape, generator=gen, device=where)
        delta = u.mul_(2 * eps).sub_(eps)
    else:
        direction = torch.randn((n, d), generator=gen, device=where)
        direction /= torch.linalg.vector_norm(direction, dim=1, keepdim=True).clamp_min_(1e-12)
        radius = eps * torch.rand((n, 1), generator=gen, device=where).pow_(1.0 / d)
        delta = (direction * radius).view(x.shape)
    delta = delta.to(device=x.device, dtype=x.dtype)
    if p == "inf":
        return torch.clamp(x + delta, min=(x - eps).clamp_(min=0.0), max=(x + eps).clamp_(max=1.0))
    return (x + delta).clamp_(0.0, 1.0)
