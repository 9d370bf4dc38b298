"""What the defenses of Part II cost, as ratios.

    python benchmarks/bench_defenses.py            # digits, CPU or CUDA
    python benchmarks/bench_defenses.py --quick    # fewer repeats, fewer JSMA images

1. One epoch of each adversarial-training mode on the digits SmallCNN, relative
   to one epoch of standard training (same data, batch size, model): FGSM's
   mixed objective needs one extra gradient pass per batch and a double-size
   update, FGSM-RS one extra pass, PGD-k ``k`` extra passes. Defensive
   distillation trains twice (teacher and student), so it costs two standard
   trainings and is not listed.
2. JSMA's time per image, batched over images on the device, against a plain
   per-image loop (the same attack called on one image at a time), on the
   digits model, on the 360 test images with the next class as the target.

Times are medians of interleaved repeats (after one warm-up), so drifts in
machine speed hit every row alike. On the CPU they are CPU times of this
process (run with ``OMP_NUM_THREADS=1`` on a shared machine), so other programs
do not inflate them; with CUDA, wall-clock times.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch

import advlab
from advlab.attacks import jsma
from advlab.defenses import AdversarialTraining, adversarial_fit
from advlab.zoo import TrainConfig


def timed(fn: Callable[[], object]) -> float:
    """Seconds ``fn`` takes: CPU time of this process on the CPU (other programs on a
    shared machine do not count), wall-clock time with a GPU (after synchronising)."""
    if torch.cuda.is_available():
        torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        return time.perf_counter() - start
    start = time.process_time()
    fn()
    return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and images")
    args = parser.parse_args()
    repeats = 2 if args.quick else 5
    device = advlab.default_device()
    data = advlab.load_dataset("digits")
    print(f"device: {device}, torch {torch.__version__}, threads {torch.get_num_threads()}")

    modes: dict[str, AdversarialTraining | None] = {
        "standard": None,
        "FGSM (mixed, α=0.5)": AdversarialTraining(method="fgsm", eps=0.1),
        "FGSM-RS (step 1.25ε)": AdversarialTraining(method="fgsm_rs", eps=0.1),
        "PGD-7": AdversarialTraining(method="pgd", eps=0.1, steps=7),
    }

    def one_epoch(settings: AdversarialTraining | None) -> Callable[[], object]:
        def run() -> object:
            torch.manual_seed(0)
            model = advlab.build_model("small_cnn", data.image_shape, data.num_classes)
            if settings is None:
                return advlab.fit(
                    model, data.x_train, data.y_train, epochs=1, device=device, progress=False
                )
            return adversarial_fit(
                model, data.x_train, data.y_train, settings, epochs=1, device=device, progress=False
            )

        return run

    samples: dict[str, list[float]] = {name: [] for name in modes}
    for s in modes.values():  # warm-up
        one_epoch(s)()
    for _ in range(repeats):
        for name, s in modes.items():
            samples[name].append(timed(one_epoch(s)))
    base = statistics.median(samples["standard"])
    print("\nOne training epoch on the digits (1,437 images), relative to standard training")
    print(f"{'mode':<24}{'median s':>10}{'ratio':>8}")
    for name, times in samples.items():
        med = statistics.median(times)
        print(f"{name:<24}{med:>10.3f}{med / base:>8.2f}")

    trained = advlab.pretrained(TrainConfig(dataset="digits"), data=data, device=device)
    model = trained.model
    n = 60 if args.quick else len(data.x_test)
    x = data.x_test[:n].to(device)
    with torch.no_grad():
        target = (model(x).argmax(1) + 1) % data.num_classes

    def batched() -> object:
        return jsma(model, x, target)

    def per_image() -> object:
        return [jsma(model, x[i : i + 1], target[i : i + 1]) for i in range(n)]

    batched(), per_image()  # warm-up
    t_batch, t_loop = [], []
    for _ in range(repeats):
        t_batch.append(timed(batched))
        t_loop.append(timed(per_image))
    mb, ml = statistics.median(t_batch), statistics.median(t_loop)
    result = batched()
    assert isinstance(result, advlab.attacks.JSMAResult)
    print(f"\nJSMA (θ=+1, γ=0.145, softmax Jacobian) on {n} digits test images")
    print(f"{'':<24}{'ms / image':>12}")
    print(f"{'batched':<24}{1000 * mb / n:>12.2f}")
    print(f"{'per-image loop':<24}{1000 * ml / n:>12.2f}")
    print(
        f"speed-up of batching: {ml / mb:.1f}x; success {float(result.success.float().mean()):.2f}"
    )


if __name__ == "__main__":
    main()
