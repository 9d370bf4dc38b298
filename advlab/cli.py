"""``advlab`` command line: long runs outside the notebooks (e.g. warming a lab's model cache on a GPU box).

advlab info                         # device, cache folders, datasets
advlab train --dataset mnist --epochs 10

Also runs as ``python -m advlab``. Every expected failure (a bad argument or
device, data that cannot be read, a cache that cannot be written) is reported
as one ``advlab: error: ...`` line on stderr with exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["main"]


def _info(_: argparse.Namespace) -> int:
    import torch

    from . import __version__
    from .data import DATASETS, cache_dir, data_root
    from .device import default_device

    print(f"advlab {__version__}, torch {torch.__version__}")
    print(f"device: {default_device()} (CUDA available: {torch.cuda.is_available()})")
    print(f"cache: {cache_dir()}  data: {data_root()}")
    for name, what in DATASETS.items():
        print(f"  {name:14s} {what}")
    return 0


def _train(args: argparse.Namespace) -> int:
    from .zoo import TrainConfig, pretrained

    cfg = TrainConfig(
        dataset=args.dataset,
        model=args.model,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        seed=args.seed,
    )
    trained = pretrained(cfg, retrain=args.retrain, device=args.device)
    source = (
        "loaded from cache" if trained.from_cache else f"trained in {trained.train_seconds:.1f} s"
    )
    print(f"{cfg.dataset}/{cfg.model}: test accuracy {trained.test_accuracy:.2%} ({source})")
    print(f"checkpoint: {trained.path}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``advlab`` command (and of ``python -m advlab``).

    Returns
    -------
    int
        0 on success, 2 for an expected failure (printed as one
        ``advlab: error: ...`` line); argparse exits with 2 for bad options.
    """
    parser = argparse.ArgumentParser(prog="advlab", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("info", help="show device, cache folders and datasets").set_defaults(run=_info)
    t = sub.add_parser("train", help="train a model into the cache (or confirm it is there)")
    t.add_argument("--dataset", default="digits")
    t.add_argument("--model", default="small_cnn")
    t.add_argument("--epochs", type=int, default=10)
    t.add_argument("--batch-size", type=int, default=64)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--device", default=None, help="e.g. cpu, cuda, cuda:1 (default: auto)")
    t.add_argument("--retrain", action="store_true", help="train even if cached")
    t.set_defaults(run=_train)
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except (ValueError, TypeError, OSError) as err:  # DataUnavailableError is an OSError
        message = " ".join(str(err).split())  # one line, whatever the message held
        print(f"advlab: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
