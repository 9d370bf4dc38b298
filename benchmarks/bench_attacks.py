"""Gradient attacks against the floor they cannot beat: the same number of input-gradient passes.

    python benchmarks/bench_attacks.py            # digits model + 28x28 batch, CPU or CUDA
    python benchmarks/bench_attacks.py --quick    # fewer repeats, smaller batches

An attack that takes ``k`` gradient steps must run ``k`` forward and backward
passes; everything else it does (argument checks, projections, mode switches,
bookkeeping) is overhead. The *floor* is exactly those ``k`` passes and nothing
else: ``torch.autograd.grad`` of the summed cross-entropy with respect to the
input, on a model already in eval mode with frozen parameters. The table
reports ``attack time / floor time`` (target: at most 1.05) from the medians
of interleaved repeats, so drifts in machine speed hit both alike, and from
the fastest runs, which other processes disturb least. Every sample is about
40 passes long: a one-pass attack (FGSM) is timed over 40 calls.

Two workloads: the digits SmallCNN of the book (cached by :mod:`advlab.zoo`,
trained on first use) on the 360 test images, and ``SmallCNN((1, 28, 28), 10)``
on a batch of random 28x28 images, large enough that Python overhead does not
dominate. If ``torchattacks`` is importable it is timed too, for comparison (it
is not a dependency of advlab).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

import advlab
from advlab import bim, cw_l2, fgsm, pgd

STEPS = 40


@dataclass
class Row:
    workload: str
    name: str
    passes: int  # forward+backward passes the attack needs
    run: Callable[[], object]
    floor: str  # key of the floor it is compared against


def gradient_floor(model: nn.Module, x: Tensor, y: Tensor, passes: int) -> Tensor:
    """``passes`` input-gradient passes and nothing else (model already frozen, in eval mode)."""
    grad = x
    for _ in range(passes):
        xi = x.detach().requires_grad_(True)
        loss = F.cross_entropy(model(xi), y, reduction="sum")
        (grad,) = torch.autograd.grad(loss, xi)
    return grad


def freeze(model: nn.Module) -> nn.Module:
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def workloads(device: torch.device, quick: bool) -> dict[str, tuple[nn.Module, Tensor, Tensor]]:
    trained = advlab.pretrained(device=device, progress=True)
    digits = advlab.load_dataset("digits")
    n = 120 if quick else len(digits.x_test)
    x_digits = digits.x_test[:n].to(device)
    y_digits = digits.y_test[:n].to(device)

    torch.manual_seed(0)
    big = advlab.SmallCNN((1, 28, 28), 10).to(device)
    g = torch.Generator().manual_seed(0)
    m = 32 if quick else 128
    x_big = torch.rand(m, 1, 28, 28, generator=g).to(device)
    with torch.no_grad():
        y_big = big(x_big).argmax(1)
    return {
        f"digits 8x8 (n={n})": (freeze(trained.model), x_digits, y_digits),
        f"28x28 (n={m})": (freeze(big), x_big, y_big),
    }


def rows_for(label: str, model: nn.Module, x: Tensor, y: Tensor) -> list[Row]:
    eps, eps2 = 0.1, 1.0
    rows = [
        Row(label, "fgsm", 1, lambda: fgsm(model, x, y, eps=eps), "floor x1"),
        Row(label, f"bim {STEPS}", STEPS, lambda: bim(model, x, y, eps=eps, steps=STEPS), "floor"),
        Row(
            label,
            f"pgd-linf {STEPS}",
            STEPS,
            lambda: pgd(model, x, y, eps=eps, steps=STEPS, seed=0),
            "floor",
        ),
        Row(
            label,
            f"pgd-l2 {STEPS}",
            STEPS,
            lambda: pgd(model, x, y, eps=eps2, norm=2, steps=STEPS, seed=0),
            "floor",
        ),
        Row(
            label,
            f"cw-l2 2x{STEPS // 2}",
            STEPS,
            lambda: cw_l2(model, x, y, binary_search_steps=2, steps=STEPS // 2),
            "floor",
        ),
    ]
    try:
        import torchattacks  # optional peer library, not a dependency
    except ImportError:
        return rows
    atk_fgsm = torchattacks.FGSM(model, eps=eps)
    atk_pgd = torchattacks.PGD(model, eps=eps, alpha=2.5 * eps / STEPS, steps=STEPS)
    atk_l2 = torchattacks.PGDL2(model, eps=eps2, alpha=2.5 * eps2 / STEPS, steps=STEPS)
    rows += [
        Row(label, "torchattacks FGSM", 1, lambda: atk_fgsm(x, y), "floor x1"),
        Row(label, f"torchattacks PGD {STEPS}", STEPS, lambda: atk_pgd(x, y), "floor"),
        Row(label, f"torchattacks PGDL2 {STEPS}", STEPS, lambda: atk_l2(x, y), "floor"),
    ]
    return rows


def timed(fn: Callable[[], object], calls: int, device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


def bench(
    label: str,
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    device: torch.device,
    repeats: int,
) -> list[tuple[str, str, float, float, float, float]]:
    """Per row: (workload, attack, attack s, floor s, median ratio, min ratio), per call."""
    rows = rows_for(label, model, x, y)
    jobs: dict[str, tuple[Callable[[], object], int]] = {
        "floor x1": (lambda: gradient_floor(model, x, y, 1), 1),
        "floor": (lambda: gradient_floor(model, x, y, STEPS), STEPS),
    }
    jobs.update({r.name: (r.run, r.passes) for r in rows})
    names = list(jobs)
    for name in names:  # warm-up: kernels, allocator, lazy imports
        jobs[name][0]()
    times: dict[str, list[float]] = {name: [] for name in names}
    for rep in range(repeats):
        order = names[rep % len(names) :] + names[: rep % len(names)]  # rotate: no fixed neighbour
        for name in order:
            fn, passes = jobs[name]
            calls = max(1, STEPS // passes)  # every sample is ~STEPS passes long
            times[name].append(timed(fn, calls, device) / calls)
    med = {name: statistics.median(ts) for name, ts in times.items()}
    low = {name: min(ts) for name, ts in times.items()}
    return [
        (
            label,
            r.name,
            med[r.name],
            med[r.floor],
            med[r.name] / med[r.floor],
            low[r.name] / low[r.floor],
        )
        for r in rows
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="interleaved repeats (median)")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1 (default: advlab's)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--quick", action="store_true", help="smaller batches, 3 repeats")
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device) if args.device else advlab.default_device()
    repeats = 3 if args.quick else args.repeats

    print(
        f"torch {torch.__version__}, device {device}, {torch.get_num_threads()} CPU threads, "
        f"median of {repeats} interleaved repeats; floor = the same number of "
        "input-gradient passes (autograd.grad, frozen model in eval mode)"
    )
    busy = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    if device.type == "cpu" and busy > 0.5:
        print(
            f"warning: load average {busy:.1f} on {os.cpu_count()} cores before starting; other "
            "processes compete for the CPU and make timings noisy (try --threads 1)"
        )
    results = []
    for label, (model, x, y) in workloads(device, args.quick).items():
        results += bench(label, model, x, y, device, repeats)

    head = (
        f"{'workload':<20} {'attack':<26} {'attack ms':>10} {'floor ms':>10} "
        f"{'ratio':>7} {'min ratio':>9}"
    )
    print(head)
    print("-" * len(head))
    for label, name, t_attack, t_floor, ratio, ratio_min in results:
        flag = "" if ratio <= 1.05 else "  > 1.05"
        print(
            f"{label:<20} {name:<26} {1e3 * t_attack:>10.1f} {1e3 * t_floor:>10.1f} "
            f"{ratio:>7.3f} {ratio_min:>9.3f}{flag}"
        )
    print(
        "ratio: medians of attack and floor times; min ratio: their fastest runs (less sensitive "
        "to other processes). A 1-pass attack is timed over 40 calls per sample."
    )


if __name__ == "__main__":
    main()
