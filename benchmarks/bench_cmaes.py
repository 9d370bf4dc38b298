"""CMA-ES against differential evolution and against the reference implementation ``cma``.

    python benchmarks/bench_cmaes.py             # 5 dimensions, 20 problems per function
    python benchmarks/bench_cmaes.py --quick     # 5 problems
    python benchmarks/bench_cmaes.py --threads 1

Three measurements in one run, on the same functions and targets:

- **evaluations to the target** (median over problems, each with its own seed; "—" where the
  median problem never reached it): advlab's CMA-ES, ``cma`` 4.5 (``CMA_active=False``, the
  same algorithm) and advlab's DE/rand/1 (population 20, no crossover, and CR = 0.9);
- **success**: how many problems reached the target within the budget;
- **speed**: wall time per 1,000 evaluations of each optimiser, all problems together (advlab's
  are batched over the problems; ``cma`` runs one problem at a time, as it is used), and that of
  the fitness function alone on the same number of candidates (the floor). On these toy
  functions a candidate costs microseconds, so the time is the optimiser's own bookkeeping; on
  a network's fitness (the one-pixel attack) the forward passes dominate instead.

Functions, 5-D, start at (1, ..., 1) with step 0.5 for CMA-ES and the box [-3, 3] for DE:
the sphere, a rotated ellipsoid of condition 1e4, and Rastrigin's function (amplitude 3).
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor

from advlab.cmaes import cma_es
from advlab.de import differential_evolution

DIMS, TARGET, BUDGET = 5, 1e-8, 20_000


def functions() -> dict[str, Callable[[Tensor], Tensor]]:
    g = torch.Generator().manual_seed(0)
    q, _ = torch.linalg.qr(torch.randn(DIMS, DIMS, generator=g, dtype=torch.float64))
    s = torch.tensor([1e4 ** (i / (DIMS - 1)) for i in range(DIMS)], dtype=torch.float64)
    return {
        "sphere": lambda v: (v**2).sum(-1),
        "rotated ellipsoid": lambda v: ((v @ q.T) ** 2 * s).sum(-1),
        "Rastrigin": lambda v: (v**2).sum(-1) + 3 * (DIMS - torch.cos(2 * math.pi * v).sum(-1)),
    }


def median_or_dash(evals: list[int], reached: list[bool]) -> str:
    ordered = sorted(e if r else math.inf for e, r in zip(evals, reached, strict=True))
    mid = statistics.median(ordered)
    return "—" if math.isinf(mid) else f"{mid:,.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    import cma  # type: ignore[import-untyped]

    problems = 5 if args.quick else 20
    lo, hi = torch.full((DIMS,), -3.0, dtype=torch.float64), torch.full((DIMS,), 3.0)
    print(
        f"| function | optimiser | reached (of {problems}) | median evaluations | ms / 1,000 evals |"
    )
    print("|---|---|---:|---:|---:|")
    for name, f in functions().items():
        for label, e, ok, seconds in run_all(f, problems, lo, hi, cma):
            per = 1e6 * seconds / max(sum(e), 1)
            shown = median_or_dash(e, ok) if len(e) > 1 else "—"
            reached = sum(ok) if len(e) > 1 else "—"
            print(f"| {name} | {label} | {reached} | {shown} | {per:.2f} |")


def run_all(
    f: Callable[[Tensor], Tensor], problems: int, lo: Tensor, hi: Tensor, cma: object
) -> list:
    """Rows (label, evaluations per problem, reached per problem, seconds) for one function."""
    fit = lambda c, i: f(c)  # noqa: E731
    rows = []
    t0 = time.perf_counter()
    ours = cma_es(fit, [1.0] * DIMS, 0.5, problems=problems, generations=BUDGET // 8,
                  stop_below=TARGET, seed=0)  # fmt: skip
    rows.append(("advlab CMA-ES", ours.evaluations.tolist(), ours.stopped.tolist(),
                 time.perf_counter() - t0))  # fmt: skip
    ref_e, ref_ok = [], []
    t0 = time.perf_counter()
    for s in range(problems):
        es = cma.CMAEvolutionStrategy(  # type: ignore[attr-defined]
            [1.0] * DIMS, 0.5,
            {"verbose": -9, "seed": s + 1, "CMA_active": False, "ftarget": TARGET,
             "maxfevals": BUDGET},
        )  # fmt: skip
        es.optimize(lambda x: float(f(torch.as_tensor(np.asarray(x)))))
        ref_e.append(es.countevals)
        ref_ok.append(es.best.f < TARGET)
    rows.append(("cma 4.5 (reference)", ref_e, ref_ok, time.perf_counter() - t0))
    for label, cr in (("advlab DE/rand/1", None), ("advlab DE/rand/1, CR 0.9", 0.9)):
        t0 = time.perf_counter()
        de = differential_evolution(fit, lo, hi, problems=problems, popsize=20,
                                    generations=BUDGET // 20 - 1, CR=cr, stop_below=TARGET,
                                    seed=0)  # fmt: skip
        rows.append((label, de.evaluations.tolist(), de.stopped.tolist(),
                     time.perf_counter() - t0))  # fmt: skip
    cands = torch.rand(problems, 8, DIMS, dtype=torch.float64)
    evals = int(ours.evaluations.sum())
    t0 = time.perf_counter()
    for _ in range(max(evals // (problems * 8), 1)):
        f(cands)
    rows.append(("fitness alone (floor)", [evals], [True], time.perf_counter() - t0))
    return rows


if __name__ == "__main__":
    main()
