"""The standard evaluation's attacks (APGD, Square) against their floor and against torchattacks.

    python benchmarks/bench_evaluation.py              # digits models, 360 test images
    python benchmarks/bench_evaluation.py --quick      # 120 images, 2 repeats
    python benchmarks/bench_evaluation.py --threads 1  # on a shared or busy machine
    python benchmarks/bench_evaluation.py --seeds 5    # strength averaged over 5 random starts

Two measurements in one run, on the same model, images and budget:

- **speed**: APGD with ``steps`` iterations needs at least ``steps + 1`` input-gradient passes
  (plus one per checkpoint at which it halves a step), so its floor is that many passes of
  ``torch.autograd.grad`` on the frozen model. Square needs one forward pass per query; its
  floor is a forward pass over as many images as it queried (counted by a wrapper). The table
  gives ``time / floor`` from the medians of interleaved repeats;
- **strength**: the robust accuracy each implementation leaves, advlab's and torchattacks'
  (if importable: ``pip install --no-deps torchattacks``; it is not an advlab dependency, and
  its pinned ``requests`` conflicts with the book's toolchain), with the same settings. One
  seed's random start moves an accuracy by an image or two; ``--seeds k`` gives the mean over
  seeds 0..k-1 of each library and the largest per-seed gap.

Models: the book's standard digits SmallCNN and a PGD-trained one (ε = 0.2, 5 steps), both
cached by :mod:`advlab.zoo`.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from functools import partial

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from advlab import apgd, load_dataset, pretrained, square
from advlab.defenses import adversarial_config
from advlab.zoo import TrainConfig

STEPS, QUERIES = 100, 1000


class Counting(nn.Module):
    """Counts the images a model is asked about."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner, self.images = inner, 0

    def forward(self, x: Tensor) -> Tensor:
        self.images += x.shape[0]
        return self.inner(x)


def gradient_floor(model: nn.Module, x: Tensor, y: Tensor, passes: int) -> None:
    for _ in range(passes):
        xi = x.detach().requires_grad_(True)
        (_,) = torch.autograd.grad(F.cross_entropy(model(xi), y, reduction="sum"), xi)


@torch.no_grad()
def forward_floor(model: nn.Module, x: Tensor, images: int) -> None:
    n = len(x)
    for _ in range(images // n):
        model(x)
    if images % n:
        model(x[: images % n])


def median_time(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--seeds", type=int, default=1, help="random starts to average over")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        import torchattacks  # type: ignore[import-not-found]
    except ImportError:
        torchattacks = None
    data = load_dataset("digits")
    n = 120 if args.quick else len(data.y_test)
    repeats = 2 if args.quick else 3
    x, y = data.x_test[:n], data.y_test[:n]
    models = {
        "standard, ε 0.1": (TrainConfig(epochs=10), 0.1),
        "PGD-trained, ε 0.2": (
            adversarial_config(TrainConfig(epochs=10), method="pgd", eps=0.2, steps=5),
            0.2,
        ),
    }
    print(
        f"| model | attack | robust acc. (advlab) | robust acc. (torchattacks) | largest gap "
        f"over {args.seeds} seed(s) | time / floor |"
    )
    print("|---|---|---:|---:|---:|---:|")
    for label, (cfg, eps) in models.items():
        model = pretrained(cfg, data=data, progress=False).model.eval()
        for p in model.parameters():
            p.requires_grad_(False)
        for row in bench_model(model, x, y, eps, repeats, torchattacks, range(args.seeds)):
            print(f"| {label} | " + " | ".join(row) + " |")


def bench_model(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    eps: float,
    repeats: int,
    torchattacks: object,
    seeds: range,
) -> list[tuple[str, ...]]:
    """Rows for one model: APGD-CE, APGD-DLR and Square, each with both libraries' numbers."""

    def acc(x_adv: Tensor) -> float:
        return float((model(x_adv).argmax(1) == y).float().mean())

    def strength(ours: Callable[[int], Tensor], theirs: Callable[[int], Tensor] | None) -> tuple:
        a = [acc(ours(s)) for s in seeds]
        if theirs is None:
            return f"{statistics.mean(a):.1%}", "—", "—"
        b = [acc(theirs(s)) for s in seeds]
        gap = max(abs(p - q) for p, q in zip(a, b, strict=True))
        return f"{statistics.mean(a):.1%}", f"{statistics.mean(b):.1%}", f"{gap:.1%}"

    rows = []
    for loss in ("ce", "dlr"):
        run = partial(apgd, model, x, y, eps=eps, steps=STEPS, loss=loss, seed=0)
        floor = partial(gradient_floor, model, x, y, STEPS + 1)
        ratio = median_time(run, repeats) / median_time(floor, repeats)
        theirs = None
        if torchattacks is not None:
            theirs = lambda s, loss=loss: torchattacks.APGD(  # type: ignore[attr-defined]  # noqa: E731
                model, norm="Linf", eps=eps, steps=STEPS, n_restarts=1, loss=loss, seed=s
            )(x, y)
        ours = lambda s, loss=loss: apgd(model, x, y, eps=eps, steps=STEPS, loss=loss, seed=s)  # noqa: E731
        rows.append((f"APGD-{loss.upper()} {STEPS}", *strength(ours, theirs), f"{ratio:.2f}"))
    counting = Counting(model)
    square(counting, x, y, eps=eps, steps=QUERIES, seed=0)
    run = partial(square, model, x, y, eps=eps, steps=QUERIES, seed=0)
    floor = partial(forward_floor, model, x, counting.images)
    ratio = median_time(run, repeats) / median_time(floor, repeats)
    theirs = None
    if torchattacks is not None:
        theirs = lambda s: torchattacks.Square(  # type: ignore[attr-defined]  # noqa: E731
            model, norm="Linf", eps=eps, n_queries=QUERIES, n_restarts=1, seed=s
        )(x, y)
    ours = lambda s: square(model, x, y, eps=eps, steps=QUERIES, seed=s)  # noqa: E731
    rows.append((f"Square {QUERIES}", *strength(ours, theirs), f"{ratio:.2f}"))
    return rows


if __name__ == "__main__":
    main()
