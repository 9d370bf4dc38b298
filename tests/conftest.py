"""Shared fixtures. Keep this small: one real dataset and one real model, built once per session."""

from __future__ import annotations

import pytest
from torch import nn

import advlab


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
