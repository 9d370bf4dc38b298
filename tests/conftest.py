"""Shared fixtures. Keep this small: one real dataset and one real model, built once per session,
a one-thread switch for modules of tiny tensors, the tiny model the attack tests share, and the
target/substitute pair and the small helpers of the Part III tests (attacks, defenses, metrics).

Test modules in subfolders import the plain helpers as ``from conftest import tiny_conv``
(``tests/`` is on ``sys.path``: ``pythonpath`` in ``pyproject.toml``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from torch import Tensor, nn

import advlab
import advlab.data
from advlab.models import Normalize


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    """Run every test module on one CPU thread (restored afterwards).

    Its tensors are tiny, so extra threads only add synchronisation; and on a
    shared 2-core machine a second OpenMP thread that is descheduled makes every
    small op wait for a time slice (measured: 25 s instead of 0.6 s for one test).
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def tiny_conv(num_classes: int = 3) -> nn.Module:
    """A small seeded convolutional classifier of 8x8 grey images, with BatchNorm and Dropout
    (so a forgotten eval mode shows)."""
    torch.manual_seed(0)
    return nn.Sequential(
        Normalize([0.4], [0.3]),
        nn.Conv2d(1, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.Dropout(0.25),
        nn.Flatten(),
        nn.Linear(4 * 8 * 8, num_classes),
    )


@pytest.fixture(scope="session")
def digits() -> advlab.Dataset:
    """scikit-learn's embedded 8x8 digits (no network)."""
    return advlab.load_dataset("digits")


@pytest.fixture(scope="session")
def digits_model(digits: advlab.Dataset, tmp_path_factory: pytest.TempPathFactory) -> nn.Module:
    """A SmallCNN trained on the digits for a few epochs on the CPU (~95% test accuracy).

    Trained into a fresh cache folder, so every session tests training as well as
    loading; treat it as read-only (attacks restore its mode and flags).
    """
    trained = advlab.pretrained(
        epochs=5,
        data=digits,
        cache_dir=tmp_path_factory.mktemp("zoo"),
        device="cpu",
        progress=False,
    )
    return trained.model


def images(n: int = 6, seed: int = 0) -> Tensor:
    """Seeded random 8x8 grey images whose first row is 0 and last row is 1 (both bounds reached)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 1, 8, 8, generator=g)
    x[:, :, 0] = 0.0
    x[:, :, -1] = 1.0
    return x


def accuracy(model: nn.Module, x: Tensor, y: Tensor) -> float:
    """The fraction of ``x`` that ``model`` classifies as ``y``."""
    return float((advlab.predict(model, x).argmax(1) == y).float().mean())


@pytest.fixture(scope="session")
def split_models(
    digits: advlab.Dataset, tmp_path_factory: pytest.TempPathFactory
) -> tuple[nn.Module, nn.Module]:
    """Target trained on half 0 of the digits' training set, the attacker's substitute on half 1."""
    folder = tmp_path_factory.mktemp("zoo-split")
    target, sub = (
        advlab.pretrained(
            recipe="split",
            extra={"part": part, "parts": 2},
            epochs=8,
            data=digits,
            cache_dir=folder,
            device="cpu",
            progress=False,
        ).model
        for part in (0, 1)
    )
    return target, sub


# --- what is on disk: the data-availability tests of advlab.data and advlab.settings ---------------

MNIST_STEMS = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
]


def touch_files(folder: Path, names: list[str]) -> None:
    """Create ``folder`` and an empty file for each of ``names`` in it."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(b"")


@pytest.fixture
def no_debian(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A machine without Debian's package and with empty data and cache folders."""
    monkeypatch.setattr(advlab.data, "DEBIAN_FASHION_MNIST", tmp_path / "no-debian-package")
    monkeypatch.setenv("ADVLAB_DATA", str(tmp_path / "empty-data"))
    monkeypatch.setenv("ADVLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("ADVLAB_DATASET", raising=False)
    monkeypatch.delenv("ADVLAB_PROFILE", raising=False)
    return tmp_path
