"""Shared fixtures. Keep this small: one real dataset and one real model, built once per session,
a one-thread switch for modules of tiny tensors, and the tiny model the attack tests share."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch
from torch import nn

import advlab
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
