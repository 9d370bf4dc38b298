"""The one-pixel attack against its floor and two peers, at the same model, images and budget.

    python benchmarks/bench_one_pixel.py --quick            # CPU, a few minutes
    python benchmarks/bench_one_pixel.py --device cuda      # GPU
    python benchmarks/bench_one_pixel.py --device cuda --paper-scale   # 1,000 32x32 images

What is compared, on a model trained through :mod:`advlab.zoo`:

``advlab``
    :func:`advlab.attacks.one_pixel`: every image's population in a few large
    forward passes.
``torchattacks``
    ``torchattacks.OnePixel`` (a Python loop over images, its own copy of
    SciPy's DE), with ``popsize`` chosen so its population equals ours.
``scipy``
    ``scipy.optimize.differential_evolution(vectorized=True)`` run image by
    image, DE/rand/1 with F = 0.5 and ``recombination=1`` (the trial is the
    mutant: no crossover), the paper's stopping rule in a callback.

Both peers are optional extras (not advlab dependencies): a missing one is
skipped. Every method's queries are counted by a wrapper around the model
(images forwarded), so "queries" means the same thing in every row. The
**floor** is the time of exactly as many plain forward passes (softmax
included) in batches of 512 or 4,096 images, whichever is faster here (in the
peers' table; 4,096 elsewhere): what any attack with those queries must
spend. Success is the model's answer changing (non-targeted); advlab and
scipy stop on the paper's rule (true-class probability below 5 %),
torchattacks on a changed answer.

Two image sets: a random sample of correctly classified test images, and
images for which a one-pixel solution is known to exist, found by an
exhaustive scan of every position with every extreme colour (the corners of
the RGB cube, or black and white): on a normally trained model one pixel
rarely suffices, and the random sample alone would hide the differences.

Then the cost per image as more images are batched together (``--batching-only``
runs only this part), on the book's own small models (the 8x8 digits SmallCNN
and chapter 8's All-Conv on ``digits-color-8``), where per-call overhead
matters: one batched call over N images against a Python loop of one-image
calls with the same seeds (identical results), for N = 1, 4, 16, 64, 256, small
and larger populations, and 1 or 2 threads. And (with ``--paper-scale``) the
paper's setting: 1,000 images of 32x32x3, population 400, 100 generations, 1, 3
and 5 pixels.

    python benchmarks/bench_one_pixel.py --batching-only --batching-threads 1,2
"""

from __future__ import annotations

import argparse
import itertools
import math
import time
from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor, nn

import advlab
from advlab.attacks import one_pixel
from advlab.attacks.one_pixel import apply_pixels, decode_candidates


class Counted(nn.Module):
    """The model, counting the images it is asked about."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.seen = 0

    def forward(self, x: Tensor) -> Tensor:
        self.seen += x.shape[0]
        return self.model(x)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


#: Batch sizes the peers' floor is timed at; the table uses the fastest.
FLOOR_BATCHES = (512, 4096)


def floor_time(
    model: nn.Module, shape: tuple[int, ...], n: int, device: torch.device, batch: int = 4096
) -> tuple[float, float]:
    """Seconds for ``n`` plain forward passes (+ softmax) in batches of ``batch``, all ``n`` timed.

    Timing the full count (not a sample scaled up) gives the floor the same
    duration as the attack it is compared with, so a busy machine slows both alike.
    Returns wall seconds and this process's CPU seconds (on a shared CPU, the
    CPU seconds of a one-thread run are the steadier measure).
    """
    xb = torch.rand(min(n, batch), *shape, device=device)
    with torch.no_grad():
        model(xb[:8])
        sync(device)
        start, cpu = time.perf_counter(), time.process_time()
        done = 0
        while done < n:
            b = min(len(xb), n - done)
            torch.softmax(model(xb[:b]), dim=1)
            done += b
        sync(device)
    return time.perf_counter() - start, time.process_time() - cpu


def solvable_by_scan(
    model: nn.Module, x: Tensor, y: Tensor, limit: int, batch: int = 8192
) -> Tensor:
    """Indices of images that one pixel set to an extreme colour misclassifies (exhaustive scan)."""
    n, c, h, w = x.shape
    corners = torch.tensor(list(itertools.product([0.0, 1.0], repeat=c)), device=x.device)
    pos = torch.tensor([(r, q) for r in range(h) for q in range(w)], device=x.device)
    cand_pos = pos.repeat_interleave(len(corners), 0)  # (h*w*corners, 2)
    cand_val = corners.repeat(h * w, 1)
    found = []
    with torch.no_grad():
        for i in range(n):
            fooled = False
            for s in range(0, len(cand_pos), batch):
                p, v = cand_pos[s : s + batch], cand_val[s : s + batch]
                imgs = apply_pixels(x[i : i + 1].expand(len(p), -1, -1, -1), p[:, None], v[:, None])
                if bool((model(imgs).argmax(1) != y[i]).any()):
                    fooled = True
                    break
            if fooled:
                found.append(i)
                if len(found) >= limit:
                    break
    return torch.tensor(found, dtype=torch.long)


def run_advlab(model, x, y, pixels, pop, gens) -> Tensor:
    res = one_pixel(model, x, y, pixels=pixels, popsize=pop, generations=gens, seed=0)
    return res.success


def run_advlab_success(model, x, y, pixels, pop, gens) -> Tensor:
    """Stopping as torchattacks does: as soon as the answer changes."""
    res = one_pixel(
        model, x, y, pixels=pixels, popsize=pop, generations=gens, seed=0, early_stop="success"
    )
    return res.success


def run_torchattacks(model, x, y, pixels, pop, gens) -> Tensor:
    import torchattacks

    # torchattacks' popsize is a multiplier of the dimension (SciPy's convention)
    atk = torchattacks.OnePixel(model, pixels=pixels, steps=gens, popsize=pop, inf_batch=4096)
    # (its OnePixel passes popsize // dims as SciPy's multiplier: population = pop, rounded down)
    np.random.seed(0)  # noqa: NPY002 (torchattacks draws from NumPy's global generator)
    x_adv = atk(x, y)
    with torch.no_grad():
        pred = model.model(x_adv).argmax(1)  # the check is not counted as a query
    return pred != y


def run_scipy(model, x, y, pixels, pop, gens) -> Tensor:
    from scipy.optimize import differential_evolution as scipy_de

    n, c, h, w = x.shape
    dims = pixels * (2 + c)
    bounds = [(0, h), (0, w)] + [(0, 1)] * c
    bounds = bounds * pixels
    success = torch.zeros(n, dtype=torch.bool)
    for i in range(n):
        xi, yi = x[i : i + 1], int(y[i])

        def images(vecs: np.ndarray, xi: Tensor = xi) -> Tensor:
            v = torch.as_tensor(vecs.T, dtype=torch.float64, device=x.device)  # (S, dims)
            pos, val = decode_candidates(v, (c, h, w), pixels)
            return apply_pixels(xi.expand(len(v), -1, -1, -1), pos, val.to(x.dtype))

        def fitness(vecs: np.ndarray, yi: int = yi, images=images) -> np.ndarray:
            with torch.no_grad():
                p = torch.softmax(model(images(vecs)), dim=1)[:, yi]
            return p.double().cpu().numpy()

        res = scipy_de(
            fitness,
            bounds,
            strategy="rand1bin",
            maxiter=gens,
            popsize=max(1, round(pop / dims)),
            mutation=0.5,
            recombination=1.0,
            init="random",
            polish=False,
            tol=0,
            atol=0,
            seed=i,
            vectorized=True,
            updating="deferred",
            callback=lambda intermediate_result: bool(intermediate_result.fun < 0.05),
        )
        with torch.no_grad():
            success[i] = bool(model.model(images(res.x[:, None])).argmax(1) != yi)
    return success


PEERS: dict[str, Callable] = {
    "advlab": run_advlab,
    "advlab (stop on success)": run_advlab_success,
    "torchattacks": run_torchattacks,
    "scipy": run_scipy,
}


def available(name: str) -> bool:
    if name.startswith("advlab"):
        return True
    try:
        __import__("torchattacks" if name == "torchattacks" else "scipy.optimize")
    except ImportError:
        return False
    return True


def compare(model, x, y, label, pixels, pop, gens, device, peers, repeats: int = 3) -> None:
    """One table: each method run ``repeats`` times in turn (interleaved), its fastest run kept,
    and beside it the fastest floor for the same number of queries (see :data:`FLOOR_BATCHES`)."""
    shape = tuple(x.shape[1:])
    print(
        f"\n### {label}: {len(x)} images {shape}, {pixels} pixel(s), population {pop}, "
        f"{gens} generations (max {1 + pop * (gens + 1)} queries/image), "
        f"fastest of {repeats} runs\n"
    )
    print(
        "| method | success | mean queries/image | wall s | floor wall s | wall/floor "
        "| cpu s | floor cpu s | cpu/floor |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    runs: dict[str, list[tuple[float, float, int, int]]] = {}
    for _ in range(repeats):
        for name in peers:
            if not available(name):
                continue
            counted = Counted(model)
            sync(device)
            start, cpu0 = time.perf_counter(), time.process_time()
            success = PEERS[name](counted, x, y, pixels, pop, gens)
            sync(device)
            wall, cpu = time.perf_counter() - start, time.process_time() - cpu0
            runs.setdefault(name, []).append((wall, cpu, int(success.sum()), counted.seen))
    for name in peers:
        if name not in runs:
            print(f"| {name} | skipped (not installed) | | | | | | | |")
            continue
        wall = min(r[0] for r in runs[name])
        cpu = min(r[1] for r in runs[name])
        _, _, success, seen = runs[name][0]  # every run is seeded: the same successes and queries
        # the floor at its best batch size here: 4,096 suits a GPU, a few hundred a CPU's caches
        floors = [
            floor_time(model, shape, seen, device, b) for b in FLOOR_BATCHES for _ in range(repeats)
        ]
        fl, fl_cpu = min(f[0] for f in floors), min(f[1] for f in floors)
        print(
            f"| {name} | {success}/{len(x)} | {seen / len(x):,.0f} | "
            f"{wall:.2f} | {fl:.2f} | {wall / fl:.2f} | {cpu:.2f} | {fl_cpu:.2f} | "
            f"{cpu / fl_cpu:.2f} |"
        )


def _timed(fn: Callable[[], object], device: torch.device) -> tuple[float, float, object]:
    """Wall seconds, this process's CPU seconds, and the result of ``fn()``."""
    sync(device)
    start, cpu0 = time.perf_counter(), time.process_time()
    out = fn()
    sync(device)
    return time.perf_counter() - start, time.process_time() - cpu0, out


def batching(
    name: str,
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    pop: int,
    gens: int,
    device: torch.device,
    sizes: list[int],
    threads: list[int],
    per_point: int,
    chunk: int = 4096,
) -> None:
    """Cost per image as more images share one call, against a loop of one-image calls.

    For each N: ``one_pixel`` on N images in one batched call (image ``i`` seeded
    ``i``), and a Python loop calling ``one_pixel`` on each image alone with seed
    ``i``, which gives exactly the same results (checked). No early stop, so every
    image costs ``1 + pop * (gens + 1)`` queries; "same images" says whether both
    returned identical adversarial images. Each point runs ``per_point /
    N`` times (rounded up) so that every point attacks about the same number of
    images; the table gives wall and CPU milliseconds per image, and the floor:
    the same queries as plain forward passes in batches of ``chunk`` images, the
    attack's own forward-pass size (its ``batch_size``).
    """
    queries = 1 + pop * (gens + 1)
    shape = tuple(x.shape[1:])
    print(
        f"\n### {name}: cost per image against images per call (population {pop}, "
        f"{gens} generations, no early stop: {queries} queries/image; forward passes of at "
        f"most {chunk} images)\n"
    )
    print(
        "| threads | N | batched wall ms/img | batched cpu ms/img | loop wall ms/img "
        "| loop cpu ms/img | loop/batched (cpu) | floor wall ms/img | floor cpu ms/img "
        "| batched/floor (cpu) | same images |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    kw = dict(popsize=pop, generations=gens, early_stop=False, batch_size=chunk)
    for t in threads:
        torch.set_num_threads(t)
        fl_wall, fl_cpu = floor_time(model, shape, queries * per_point, device, chunk)
        fl_wall, fl_cpu = fl_wall / per_point, fl_cpu / per_point
        one_pixel(model, x[:2], y[:2], seed=0, **kw)  # warm-up
        for n in sizes:
            xs, ys = x[:n], y[:n]
            if len(xs) < n:
                reps = math.ceil(n / len(xs))
                xs, ys = xs.repeat(reps, 1, 1, 1)[:n], ys.repeat(reps)[:n]
            rounds = math.ceil(per_point / n)

            def batched(xs: Tensor = xs, ys: Tensor = ys, rounds: int = rounds) -> object:
                for _ in range(rounds):
                    res = one_pixel(model, xs, ys, seed=0, **kw)
                return res

            def loop(xs: Tensor = xs, ys: Tensor = ys, rounds: int = rounds) -> object:
                for _ in range(rounds):
                    out = [
                        one_pixel(model, xs[i : i + 1], ys[i : i + 1], seed=i, **kw)
                        for i in range(len(xs))
                    ]
                return out

            bw, bc, res = _timed(batched, device)
            lw, lc, alone = _timed(loop, device)
            same = torch.equal(res.x_adv, torch.cat([r.x_adv for r in alone])) and bool(
                (res.queries == queries).all()
            )
            done = n * rounds
            print(
                f"| {t} | {n} | {1000 * bw / done:.2f} | {1000 * bc / done:.2f} | "
                f"{1000 * lw / done:.2f} | {1000 * lc / done:.2f} | {lc / bc:.1f} | "
                f"{1000 * fl_wall:.2f} | {1000 * fl_cpu:.2f} | {bc / done / fl_cpu:.2f} | "
                f"{'yes' if same else 'NO'} |"
            )


BOOK_MODELS = {
    # the book's small models, trained exactly as the chapters train them (shared cache entries)
    "digits 8x8 grey, SmallCNN (chapters 1-6)": ("digits", "small_cnn", 10),
    "digits-color-8 8x8 RGB, All-Conv (chapter 8)": ("digits-color-8", "all_conv", 12),
}


def run_batching(args: argparse.Namespace, device: torch.device) -> None:
    sizes = [int(s) for s in args.scaling.split(",") if s]
    threads = [int(t) for t in args.batching_threads.split(",") if t]
    pops = [int(p) for p in args.batching_popsizes.split(",") if p]
    for label, (dataset, arch, epochs) in BOOK_MODELS.items():
        data = advlab.load_dataset(dataset)
        trained = advlab.pretrained(
            advlab.TrainConfig(dataset=dataset, model=arch, epochs=epochs),
            data=data,
            device=device,
            progress=False,
        )
        x, y = data.x_test.to(device), data.y_test.to(device)
        print(f"\n{label}: test accuracy {trained.test_accuracy:.3f}")
        for pop in pops:
            batching(
                label,
                trained.model,
                x,
                y,
                pop,
                args.batching_generations,
                device,
                sizes,
                threads,
                max(sizes),
                args.batching_chunk,
            )


def paper_scale(device: torch.device, n: int, pop: int, gens: int) -> None:
    data = advlab.load_dataset("digits-color-32")
    trained = advlab.pretrained(
        advlab.TrainConfig(dataset="digits-color-32", model="all_conv", epochs=10),
        data=data,
        device=device,
        progress=False,
    )
    model = trained.model
    reps = math.ceil(n / len(data.x_test))
    x = data.x_test.repeat(reps, 1, 1, 1)[:n].to(device)
    y = data.y_test.repeat(reps)[:n].to(device)
    print(
        f"\n### paper scale: {n} images 3x32x32 (digits-color-32 test images, repeated), "
        f"all_conv (test accuracy {trained.test_accuracy:.3f}), population {pop}, "
        f"{gens} generations\n"
    )
    print("| pixels | success | mean queries/image | wall s | floor s | wall/floor |")
    print("|---|---|---|---|---|---|")
    total = 0.0
    for pixels in (1, 3, 5):
        sync(device)
        start = time.perf_counter()
        res = one_pixel(
            model,
            x,
            y,
            pixels=pixels,
            popsize=pop,
            generations=gens,
            seed=0,
            batch_size=16384 if device.type == "cuda" else 4096,
        )
        sync(device)
        wall = time.perf_counter() - start
        total += wall
        fl, _ = floor_time(model, (3, 32, 32), int(res.queries.sum()), device)
        print(
            f"| {pixels} | {int(res.success.sum())}/{n} | {res.queries.double().mean():,.0f} | "
            f"{wall:.1f} | {fl:.1f} | {wall / fl:.2f} |"
        )
    print(f"\ntotal for 1, 3 and 5 pixels: {total:.1f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dataset", default="digits-color-8")
    ap.add_argument("--model", default="all_conv")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--images", type=int, default=16)
    ap.add_argument("--popsize", type=int, default=400)
    ap.add_argument("--generations", type=int, default=100)
    ap.add_argument("--pixels", type=int, default=1)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="population 100, 20 generations, 8 images")
    ap.add_argument("--peers", default=",".join(PEERS))
    ap.add_argument("--scaling", default="1,4,16,64,256", help="images per call (batching)")
    ap.add_argument(
        "--batching-only",
        action="store_true",
        help="only the cost-per-image-against-batch-size tables, on the book's small models",
    )
    ap.add_argument("--batching-popsizes", default="10,100")
    ap.add_argument("--batching-generations", type=int, default=5)
    ap.add_argument("--batching-threads", default="1", help="thread counts to compare, e.g. 1,2")
    ap.add_argument(
        "--batching-chunk", type=int, default=4096, help="images per forward pass (batch_size)"
    )
    ap.add_argument("--no-batching", action="store_true", help="only the floor and peers tables")
    ap.add_argument("--paper-scale", action="store_true")
    ap.add_argument("--paper-images", type=int, default=1000)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.quick:
        args.popsize, args.generations, args.images = 100, 20, 8
    device = torch.device(args.device)
    print(f"torch {torch.__version__}, device {device}, threads {torch.get_num_threads()}")
    if args.paper_scale:
        paper_scale(device, args.paper_images, 400, 100)
        return
    if args.batching_only:
        run_batching(args, device)
        return
    data = advlab.load_dataset(args.dataset)
    trained = advlab.pretrained(
        advlab.TrainConfig(dataset=args.dataset, model=args.model, epochs=args.epochs),
        data=data,
        device=device,
        progress=False,
    )
    model = trained.model
    print(f"{data.describe()}\nmodel {args.model}, test accuracy {trained.test_accuracy:.3f}")
    x, y = data.x_test.to(device), data.y_test.to(device)
    with torch.no_grad():
        correct = (model(x).argmax(1) == y).nonzero().flatten().cpu()
    g = torch.Generator().manual_seed(0)
    sample = correct[torch.randperm(len(correct), generator=g)]
    rnd = sample[: args.images]
    start = time.perf_counter()
    solv = solvable_by_scan(model, x[sample], y[sample], args.images)
    solv = sample[solv]
    print(
        f"exhaustive scan found {len(solv)} one-pixel-solvable images "
        f"in {time.perf_counter() - start:.1f} s"
    )
    peers = [p for p in args.peers.split(",") if p]
    for label, idx in (("random correctly classified", rnd), ("one-pixel solvable", solv)):
        if len(idx):
            compare(
                model,
                x[idx],
                y[idx],
                label,
                args.pixels,
                args.popsize,
                args.generations,
                device,
                peers,
            )
    if not args.no_batching:
        run_batching(args, device)


if __name__ == "__main__":
    main()
