"""Train once, then load: trained models cached on disk, keyed by their full training config.

    >>> trained = advlab.zoo.pretrained(TrainConfig(dataset="digits", epochs=8))
    >>> trained.model, trained.test_accuracy, trained.from_cache

The cache file name carries a hash of every field of :class:`TrainConfig` (and
of :data:`ZOO_FORMAT`, bumped whenever the training code changes what a config
produces), so changing any setting trains a new model instead of loading a
stale one. Files are written atomically and read with
``torch.load(..., weights_only=True)``; a file that is corrupt, was written for
another config, lacks a field or does not fit the model is reported with a
warning and the model is retrained from a fresh initialisation (nothing of
the bad file is kept), never crashed on. Before any training, the cache folder
is checked to be writable, so a run is never lost for want of a place to save
it. Checkpoints are written readable by everyone (mode 0644), so a lab's shared
cache warmed by ``advlab train`` serves every student.

The cache folder is ``cache_dir`` if given, else ``$ADVLAB_CACHE/models``, else
``~/.cache/advlab/models``.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ._utils import atomic_write
from ._validate import (
    ArgumentError,
    ArgumentTypeError,
    check_count,
    check_flag,
    check_real,
    check_seed,
)
from .data import Dataset, canonical_name, load_dataset
from .data import cache_dir as _cache_root
from .device import resolve_device
from .models import MODELS, build_model
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

    Fields are validated when the config is made: ``dataset`` is a known
    dataset (aliases such as ``"DIGITS"`` or ``"fashion_mnist"`` are stored
    under the canonical name, so they share one cache entry), ``model`` a key
    of :data:`advlab.models.MODELS`, ``epochs`` and ``batch_size`` integers
    >= 1, ``lr`` > 0 and ``weight_decay`` >= 0 finite numbers (stored as
    floats), ``seed`` in 0 … 2**64 - 1, ``recipe`` a non-empty string, and
    ``extra`` a JSON-serialisable dict with string keys, holding the settings
    of later recipes (adversarial training, distillation). Every field is part
    of the cache key. Configs are hashable (by their JSON form).

    Raises
    ------
    ValueError
        For any field outside the ranges above.
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

    def __post_init__(self) -> None:
        """Check every field and store it in canonical form (a ValueError names the bad one)."""
        put = object.__setattr__
        put(self, "dataset", canonical_name(self.dataset))
        if not isinstance(self.model, str) or self.model not in MODELS:
            known = ", ".join(repr(k) for k in MODELS)
            raise ArgumentError(f"unknown model {self.model!r}; known models are {known}")
        put(self, "epochs", check_count(self.epochs, "epochs"))
        put(self, "batch_size", check_count(self.batch_size, "batch_size"))
        put(self, "lr", check_real(self.lr, "lr", positive=True))
        put(self, "weight_decay", check_real(self.weight_decay, "weight_decay"))
        put(self, "seed", check_seed(self.seed))
        if not isinstance(self.recipe, str) or not self.recipe:
            raise ArgumentError(f"recipe must be a non-empty string, got {self.recipe!r}")
        if not isinstance(self.extra, dict) or not all(isinstance(k, str) for k in self.extra):
            raise ArgumentError(f"extra must be a dict with string keys, got {self.extra!r}")
        try:
            text = json.dumps(self.extra, sort_keys=True, allow_nan=False)
        except (TypeError, ValueError) as err:
            raise ArgumentError(
                f"extra must be JSON-serialisable (finite numbers): {err}"
            ) from None
        put(self, "extra", json.loads(text))  # a private copy: later edits to the caller's dict
        # cannot change this config's key

    def __hash__(self) -> int:
        """Hash the config by its JSON form, so equal configs hash alike."""
        return hash(self.to_json())

    def fit_kwargs(self) -> dict[str, Any]:
        """Return the optimisation settings every recipe passes on to its training loop."""
        return {
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "lr": self.lr,
            "weight_decay": self.weight_decay,
            "seed": self.seed,
        }

    def to_json(self) -> str:
        """Return the config and the cache format as canonical JSON (sorted keys)."""
        return json.dumps({"format": ZOO_FORMAT, **asdict(self)}, sort_keys=True)

    def key(self) -> str:
        """Return a short hash of the config (and the cache format)."""
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
    #: What the recipe recorded while training (JSON-like; e.g. the adversarial recipe's guard
    #: checks), saved in the checkpoint with the weights, so a cached model brings it back.
    notes: dict[str, Any] = field(default_factory=dict)


#: ``recipe(model, data, config, device, progress)`` trains ``model`` in place on ``data``; it
#: may return a dict of notes (JSON-serialisable: what it recorded while training), which the
#: cache stores beside the weights and :class:`Trained` hands back as ``notes``.
Recipe = Callable[[nn.Module, Dataset, "TrainConfig", torch.device, bool], "dict[str, Any] | None"]
_RECIPES: dict[str, Recipe] = {}
#: Training recipes by name (``TrainConfig.recipe``): "standard", and those of advlab.defenses.
RECIPES = _RECIPES


def register_recipe(name: str, recipe: Recipe) -> Recipe:
    """Make ``TrainConfig(recipe=name)`` train with ``recipe``, and return ``recipe``.

    Usable as a decorator via ``functools.partial``. A recipe reads its own settings
    from ``config.extra``.
    """
    if not isinstance(name, str) or not name:
        raise ArgumentError(f"a recipe name must be a non-empty string, got {name!r}")
    if not callable(recipe):
        raise ArgumentTypeError(f"recipe must be callable, got {type(recipe).__name__}")
    _RECIPES[name] = recipe
    return recipe


def _standard(
    model: nn.Module, data: Dataset, cfg: TrainConfig, device: torch.device, progress: bool
) -> None:
    """Plain empirical risk minimisation: Adam on cross-entropy."""
    fit(model, data.x_train, data.y_train, device=device, progress=progress, **cfg.fit_kwargs())


register_recipe("standard", _standard)


def checkpoint_path(config: TrainConfig, folder: str | os.PathLike[str] | None = None) -> Path:
    """Where the checkpoint for ``config`` lives (in ``folder``, default the models cache)."""
    if not isinstance(config, TrainConfig):
        raise ArgumentError(f"config must be a TrainConfig, got {type(config).__name__}")
    if folder is not None and not isinstance(folder, (str, os.PathLike)):
        raise ArgumentError(f"the cache folder must be a path, got {type(folder).__name__}")
    base = Path(folder).expanduser() if folder is not None else _cache_root() / "models"
    return base / f"{config.dataset}-{config.model}-{config.recipe}-{config.key()}.pt"


def _build(config: TrainConfig, data: Dataset) -> nn.Module:
    mean = data.x_train.mean(dim=(0, 2, 3)).tolist()  # one value per channel
    std = data.x_train.std(dim=(0, 2, 3)).clamp_min(1e-3).tolist()
    set_seed(config.seed)
    return build_model(config.model, data.image_shape, data.num_classes, mean=mean, std=std)


def _try_load(path: Path, config: TrainConfig, model: nn.Module) -> dict[str, Any] | None:
    """Load a checkpoint into ``model``; None (with a warning) if it is unusable.

    Everything is checked before a single tensor is copied (config, fields,
    every tensor's name and shape), and if loading still fails the model's
    fresh initial state is put back, so a bad file never leaves the model half
    overwritten.
    """
    if not path.is_file():
        return None
    fresh = {k: v.detach().clone() for k, v in model.state_dict().items()}
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(blob, dict) or blob.get("config") != config.to_json():
            raise ArgumentError("it was written for a different training config")
        for name in ("test_accuracy", "train_seconds"):
            value = blob.get(name)
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not math.isfinite(value)
            ):
                raise ArgumentError(f"its field {name!r} is missing or not a finite number")
        notes = blob.get("notes", {})
        if not isinstance(notes, dict) or not all(isinstance(k, str) for k in notes):
            raise ArgumentError("its field 'notes' is not a dict with string keys")
        state = blob.get("state_dict")
        if not isinstance(state, dict) or set(state) != set(fresh):
            raise ArgumentError("its state_dict does not hold this model's tensors")
        for name, tensor in state.items():
            if not isinstance(tensor, torch.Tensor) or tensor.shape != fresh[name].shape:
                raise ArgumentError(f"its tensor {name!r} does not fit the model")
        model.load_state_dict(state)
        return blob
    except Exception as err:  # corrupt, truncated, foreign or mismatched: retrain instead
        model.load_state_dict(fresh)
        warnings.warn(
            f"ignoring unusable checkpoint {path} ({type(err).__name__}: {err}); retraining",
            RuntimeWarning,
            stacklevel=3,
        )
        return None


def _check_writable(path: Path) -> None:
    """Fail now, not after training, if the checkpoint could not be written to ``path``."""
    folder = path.parent
    for parent in (folder, *folder.parents):
        if parent.exists():
            if not parent.is_dir():
                raise ArgumentError(
                    f"cannot cache models in {folder}: {parent} is a file, not a folder; "
                    "pass another cache_dir= or set ADVLAB_CACHE"
                )
            break
    if path.is_dir():
        raise ArgumentError(
            f"cannot write the checkpoint {path}: a folder of that name is in the way; remove it"
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".advlab-write-test.", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise ArgumentError(
            f"cannot cache models in {folder} ({type(err).__name__}: {err.strerror or err}); "
            "pass a writable cache_dir= or set ADVLAB_CACHE to a writable folder"
        ) from err


def pretrained(
    config: TrainConfig | str | None = None,
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
        The training config, or a dataset name (``pretrained("digits")`` is
        ``pretrained(TrainConfig(dataset="digits"))``); keyword ``overrides``
        replace its fields (``pretrained(epochs=5)`` is
        ``pretrained(TrainConfig(epochs=5))``).
    data:
        The dataset, if already loaded (must match ``config.dataset``).
    cache_dir:
        Folder for checkpoints (see the module docstring for the default).
    retrain:
        Train even if a valid checkpoint exists (and overwrite it).
    device:
        Where the returned model lives (and trains), checked like
        ``ADVLAB_DEVICE``; default :func:`advlab.device.default_device`.
    progress:
        Show training progress.

    Returns
    -------
    Trained
        With the model in eval mode on ``device``.

    Raises
    ------
    ValueError
        For a bad config field or override (see :class:`TrainConfig`), an
        unknown recipe, ``data`` that is not the config's dataset, a device
        this machine lacks, or a cache folder that cannot be written (checked
        before training).
    DataUnavailableError
        When ``data`` is None and the dataset cannot be loaded.
    """
    if isinstance(config, str):
        config = TrainConfig(dataset=config)
    elif config is not None and not isinstance(config, TrainConfig):
        raise ArgumentError(
            f"config must be a TrainConfig or a dataset name, got {type(config).__name__}"
        )
    known = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ArgumentError(
            f"unknown TrainConfig field(s) {', '.join(map(repr, unknown))}; "
            f"the fields are {', '.join(sorted(known))}"
        )
    cfg = TrainConfig(**{**asdict(config or TrainConfig()), **overrides})
    retrain = check_flag(retrain, "retrain")
    progress = check_flag(progress, "progress")
    if data is not None and not isinstance(data, Dataset):
        raise ArgumentError(f"data must be an advlab Dataset or None, got {type(data).__name__}")
    if cfg.recipe not in _RECIPES:
        raise ArgumentError(
            f"unknown training recipe {cfg.recipe!r}; registered recipes: {', '.join(_RECIPES)}"
        )
    dev = resolve_device(device)
    path = checkpoint_path(cfg, cache_dir)
    if retrain or not path.is_file():
        _check_writable(path)  # before loading data or training: fail in seconds, not later
    if data is None:
        data = load_dataset(cfg.dataset)
    elif data.name != cfg.dataset:
        raise ArgumentError(f"data is {data.name!r} but the config asks for {cfg.dataset!r}")
    model = _build(cfg, data)
    blob = None if retrain else _try_load(path, cfg, model)
    if blob is not None:
        model.to(dev).eval()
        return Trained(
            model,
            cfg,
            float(blob["test_accuracy"]),
            float(blob["train_seconds"]),
            path,
            True,
            dict(blob.get("notes", {})),
        )
    _check_writable(path)
    start = time.perf_counter()
    notes = _checked_notes(_RECIPES[cfg.recipe](model, data, cfg, dev, progress), cfg.recipe)
    seconds = time.perf_counter() - start
    model.eval()
    acc = evaluate(model, data.x_test.to(dev), data.y_test.to(dev))
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    blob = {
        "config": cfg.to_json(),
        "state_dict": state,
        "test_accuracy": acc,
        "train_seconds": seconds,
        "notes": notes,
    }
    atomic_write(path, lambda tmp: torch.save(blob, tmp), mode=0o644)
    return Trained(model, cfg, acc, seconds, path, False, notes)


def _checked_notes(notes: object, recipe: str) -> dict[str, Any]:
    """Return a recipe's notes as a plain JSON copy (what ``weights_only`` loading accepts), or {}."""
    if notes is None:
        return {}
    if not isinstance(notes, dict) or not all(isinstance(k, str) for k in notes):
        raise ArgumentTypeError(
            f"recipe {recipe!r} returned {type(notes).__name__}; a recipe returns None or a "
            "dict of notes with string keys"
        )
    try:
        return json.loads(json.dumps(notes, allow_nan=False))
    except (TypeError, ValueError) as err:
        raise ArgumentTypeError(
            f"recipe {recipe!r} returned notes that are not JSON-serialisable (finite numbers, "
            f"strings, lists, dicts): {err}"
        ) from None
