"""What the book's chapters run on: the dataset and the profile, chosen by environment variables.

``ADVLAB_DATASET``
    ``digits`` (default, embedded, no network), ``mnist``, ``fashion-mnist`` or ``cifar10``.
``ADVLAB_PROFILE``
    ``quick`` (default: minutes on a laptop CPU) or ``full`` (longer training and
    larger evaluations, meant for a GPU and the real datasets).

Every chapter prints the settings it ran with, so each number in it can be traced.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from .data import DATASETS, _canonical

__all__ = ["PROFILES", "BookSettings", "settings"]

PROFILES = ("quick", "full")

# Training epochs per (dataset, profile) for the chapters' standard models.
_EPOCHS = {
    ("digits", "quick"): 10,
    ("digits", "full"): 30,
    ("mnist", "quick"): 2,
    ("mnist", "full"): 10,
    ("fashion-mnist", "quick"): 3,
    ("fashion-mnist", "full"): 15,
    ("cifar10", "quick"): 10,
    ("cifar10", "full"): 40,
    # the coloured digits of Part IV (8, 16 and 32 px)
    ("digits-color-8", "quick"): 12,
    ("digits-color-8", "full"): 40,
    ("digits-color", "quick"): 12,
    ("digits-color", "full"): 40,
    ("digits-color-32", "quick"): 12,
    ("digits-color-32", "full"): 40,
}


@dataclass(frozen=True)
class BookSettings:
    """The dataset and profile a chapter runs with, and what follows from them."""

    dataset: str
    profile: str
    epochs: int

    def describe(self) -> str:
        return f"dataset={self.dataset!r}, profile={self.profile!r}, epochs={self.epochs}"


def settings() -> BookSettings:
    """Read ``ADVLAB_DATASET`` and ``ADVLAB_PROFILE`` (see the module docstring).

    Raises
    ------
    ValueError
        If either variable names something unknown (the message lists the choices).
    """
    raw = os.environ.get("ADVLAB_DATASET", "digits")
    try:
        dataset = _canonical(raw)
    except ValueError as err:
        raise ValueError(
            f"ADVLAB_DATASET={raw!r} is not a dataset advlab knows; use one of {', '.join(DATASETS)}"
        ) from err
    profile = os.environ.get("ADVLAB_PROFILE", "quick").strip().lower()
    if profile not in PROFILES:
        raise ValueError(f"ADVLAB_PROFILE={profile!r} is unknown; use one of {', '.join(PROFILES)}")
    return BookSettings(dataset, profile, _EPOCHS[(dataset, profile)])
