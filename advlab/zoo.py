"""Train once, then load: trained models cached on disk, keyed by their full training config.

    >>> trained = advlab.zoo.pretrained(TrainConfig(dataset="digits", epochs=8))
    >>> trained.model, trained.test_accuracy, trained.from_cache

The cache file name carries a hash of every field of :class:`TrainConfig` (and
of :data:`ZOO_FORMAT`, bumped whenever the training code changes what a config
produces), so changing any setting trains a new model instead of loading a
stale one. Files are written atomically and read with
``torch.load(..., weights_only=True)``; a file that is corrupt, was written for
another config, or does not fit the model is reported with a warning and the
model is retrained, never crashed on.

The cache folder is ``cache_dir`` if given, else ``$ADVLAB_CACHE/models``, else
``~/.cache/advlab/models``.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ._utils import atomic_write
from .data import Dataset, load_dataset
from .data import cache_dir as _cache_root
from .device import default_device
from .models import build_model
from .train import evaluate, fit, set_seed

__all__ = [
    "RECIPES",
    "ZOO_FORMAT",
    "Recipe",
    "TrainConfig",
    "Trained",
    "checkpoint_path",
    "pretrained",
    "register_recipe",
]

#: Bump when training code changes what a given config produces.
ZOO_FORMAT = 1


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a trained model.

    ``extra`` holds JSON-serialisable settings of later recipes (adversarial
    training, distillation); it is part of the cache key like every other field.
    """

    dataset: str = "digits"
    model: str = "small_cnn"
    epochs: int = 10
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.0
    seed: int = 0
    recipe: str = "standard"
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps({"format": ZOO_FORMAT, **asdict(self)}, sort_keys=True)

    def key(self) -> str:
        """A short hash of the config (and the cache format)."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:16]


@dataclass
class Trained:
    """A trained model and what is known about it."""

    model: nn.Module
    config: TrainConfig
    test_accuracy: float
    train_seconds: float
    path: Path
    from_cache: bool


#: ``recipe(model, data, config, device, progress)`` trains ``model`` in place on ``data``.
Recipe = Callable[[nn.Module, Dataset, "TrainConfig", torch.device, bool], None]
_RECIPES: dict[str, Recipe] = {}
#: Training recipes by name (``TrainConfig.recipe``): "standard", and those of advlab.defenses.
RECIPES = _RECIPES


def register_recipe(name: str, recipe: Recipe) -> Recipe:
    """Make ``TrainConfig(recipe=name)`` train with ``recipe``; returns it (usable as a decorator
    via ``functools.partial``). A recipe reads its own settings from ``config.extra``."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"a recipe name must be a non-empty string, got {name!r}")
    if not callable(recipe):
        raise TypeError(f"recipe must be callable, got {type(recipe).__name__}")
    _RECIPES[name] = recipe
    return recipe


def _standard(
    model: nn.Module, data: Dataset, cfg: TrainConfig, device: torch.device, progress: bool
) -> None:
    """Plain empirical risk minimisation: Adam on cross-entropy."""
    fit(
        model,
        data.x_train,
        data.y_train,
        epochs=cfg.epochs,
        batch_size=cfg.batch_size,
        lr=cfg.lr,
        weight_decay=cfg.weight_decay,
        seed=cfg.seed,
        device=device,
        progress=progress,
    )


register_recipe("standard", _standard)


def checkpoint_path(config: TrainConfig, folder: str | os.PathLike[str] | None = None) -> Path:
    """Where the checkpoint for ``config`` lives."""
    base = Path(folder).expanduser() if folder is not None else _cache_root() / "models"
    return base / f"{config.dataset}-{config.model}-{config.recipe}-{config.key()}.pt"


def _build(config: TrainConfig, data: Dataset) -> nn.Module:
    mean = data.x_train.mean(dim=(0, 2, 3)).tolist()  # one value per channel
    std = data.x_train.std(dim=(0, 2, 3)).clamp_min(1e-3).tolist()
    set_seed(config.seed)
    return build_model(config.model, data.image_shape, data.num_classes, mean=mean, std=std)


def _try_load(path: Path, config: TrainConfig, model: nn.Module) -> dict[str, Any] | None:
    """Load a checkpoint into ``model``; None (with a warning) if it is unusable."""
    if not path.is_file():
        return None
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(blob, dict) or blob.get("config") != config.to_json():
            raise ValueError("it was written for a different training config")
        model.load_state_dict(blob["state_dict"])
        return blob
    except Exception as err:  # corrupt, truncated, foreign or mismatched: retrain instead
        warnings.warn(
            f"ignoring unusable checkpoint {path} ({type(err).__name__}: {err}); retraining",
            RuntimeWarning,
            stacklevel=3,
        )
        return None


def pretrained(
    config: TrainConfig | None = None,
    *,
    data: Dataset | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    retrain: bool = False,
    device: torch.device | str | None = None,
    progress: bool = True,
    **overrides: Any,
) -> Trained:
    """Return the model trained with ``config``: from the cache if there, else trained and cached.

    Parameters
    ----------
    config:
        The training config; keyword ``overrides`` replace its fields
        (``pretrained(epochs=5)`` is ``pretrained(TrainConfig(epochs=5))``).
    data:
        The dataset, if already loaded (must match ``config.dataset``).
    cache_dir:
        Folder for checkpoints (see the module docstring for the default).
    retrain:
        Train even if a valid checkpoint exists (and overwrite it).
    device:
        Where the returned model lives (and trains); default :func:`advlab.device.default_device`.
    progress:
        Show training progress.

    Returns
    -------
    Trained
        With the model in eval mode on ``device``.
    """
    cfg = TrainConfig(**{**asdict(config or TrainConfig()), **overrides})
    if cfg.recipe not in _RECIPES:
        raise ValueError(
            f"unknown training recipe {cfg.recipe!r}; registered recipes: {', '.join(_RECIPES)}"
        )
    if data is None:
        data = load_dataset(cfg.dataset)
    elif data.name != cfg.dataset:
        raise ValueError(f"data is {data.name!r} but the config asks for {cfg.dataset!r}")
    dev = torch.device(device) if device is not None else default_device()
    path = checkpoint_path(cfg, cache_dir)
    model = _build(cfg, data)
    blob = None if retrain else _try_load(path, cfg, model)
    if blob is not None:
        model.to(dev).eval()
        return Trained(
            model, cfg, float(blob["test_accuracy"]), float(blob["train_seconds"]), path, True
        )
    start = time.perf_counter()
    _RECIPES[cfg.recipe](model, data, cfg, dev, progress)
    seconds = time.perf_counter() - start
    model.eval()
    acc = evaluate(model, data.x_test.to(dev), data.y_test.to(dev))
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    blob = {
        "config": cfg.to_json(),
        "state_dict": state,
        "test_accuracy": acc,
        "train_seconds": seconds,
    }
    atomic_write(path, lambda tmp: torch.save(blob, tmp))
    return Trained(model, cfg, acc, seconds, path, False)
