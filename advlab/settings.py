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
}


# The chapters' reference L∞ budget per dataset (pixel units). The linearity argument (chapter 2)
# says the budget that matters shrinks as the number of pixels grows: the 64-pixel digits (17 grey
# levels) need a visible 0.1; the 784-pixel sets fall at smaller budgets (0.1 for MNIST's thick
# strokes, 0.05 for Fashion-MNIST); 3072-value CIFAR-10 at the customary 2/255 for an undefended model.
_EPS = {"digits": 0.1, "mnist": 0.1, "fashion-mnist": 0.05, "cifar10": 2 / 255}


@dataclass(frozen=True)
class BookSettings:
    """The dataset and profile a chapter runs with, and what follows from them."""

    dataset: str
    profile: str
    epochs: int

    @property
    def eps(self) -> float:
        """The chapters' reference L∞ budget for this dataset (pixel units); others scale from it."""
        return _EPS[self.dataset]

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
