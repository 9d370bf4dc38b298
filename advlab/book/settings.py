"""What the book's chapters run on: the dataset and the profile, chosen by environment variables.

``ADVLAB_DATASET``
    ``digits`` (default, embedded, no network), ``mnist``, ``fashion-mnist`` or ``cifar10``.
``ADVLAB_PROFILE``
    ``quick`` (default: minutes on a laptop CPU) or ``full`` (longer training and
    larger evaluations, meant for a GPU and the real datasets).
``ADVLAB_SEED``
    A non-negative integer (default 0) added to every seed the chapters use:
    training runs, the evaluation subset, attacks with a random start, differential
    evolution. The book is written so that every assertion in it holds for any value;
    building it with another seed (CI builds one with ``ADVLAB_SEED=1``) checks that
    no claim rests on one run's luck. :meth:`BookSettings.seed_for` and
    :meth:`BookSettings.generator` derive a chapter's seeds from it.
``ADVLAB_THREADS``
    How many CPU threads torch uses in the chapters (a positive integer). Unset, each
    chapter picks its own (one, on the small images most of them use: a contended
    thread pool is slower there). Set it to check that a build's claims do not depend
    on the thread count (floating-point sums, and so training runs, differ with it).
``ADVLAB_LIVE``
    ``1`` when a person runs the chapters in a kernel (``make lab`` sets it): the
    explorers then add free controls that recompute. Unset for the static book,
    whose pages have no kernel.

The evaluation subset
    The quick profile evaluates every chapter on the same fixed subset of at most
    :data:`QUICK_EVAL_SIZE` (500) test images: the first 500 of a permutation
    of the test set drawn with seed ``ADVLAB_SEED`` (default 0), in test-set order. Datasets with fewer test
    images (the embedded digits: 360) are evaluated whole. The full profile uses
    every test image.

The heavy subset
    Cells that run many iterative attacks (sweeps over ε and steps, budget searches,
    every source–target pair) cost much more per image on 28×28 or larger images
    than on the 8×8 digits. In the quick profile, on images with more than 64
    pixels per channel, they use only the first :data:`QUICK_HEAVY_SIZE` (100) images
    of the evaluation subset (:meth:`BookSettings.heavy_size`); the chapters say so
    where it applies. On the digits, and in the full profile, they use the whole
    evaluation set.

Every chapter prints the settings it ran with, so each number in it can be traced.
"""

from __future__ import annotations

import numbers
import os
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from .._validate import ArgumentError, ArgumentTypeError
from ..data import DATASETS, Dataset, canonical_name, dataset_available

__all__ = [
    "PROFILES",
    "QUICK_EVAL_SIZE",
    "QUICK_HEAVY_SIZE",
    "SEED_MAX",
    "BookSettings",
    "eval_indices",
    "greyscale_settings",
    "settings",
]

PROFILES = ("quick", "full")

#: How many test images the quick profile evaluates (a fixed subset, the same in every chapter).
QUICK_EVAL_SIZE = 500

#: How many of those the quick profile's expensive cells use on images larger than 8×8.
QUICK_HEAVY_SIZE = 100


#: The largest ``ADVLAB_SEED`` (seeds derived from it must stay below 2**63 for torch generators).
SEED_MAX = 2**32 - 1

#: The largest test set :func:`eval_indices` permutes (its permutation is held in memory).
MAX_TEST_SIZE = 10**8


def _is_int(value: object) -> bool:
    """Tell whether ``value`` is a Python or NumPy integer (not a bool, not a tensor)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def eval_indices(n_test: int, size: int | None, seed: int = 0) -> Tensor:
    """Return the test-set indices a chapter evaluates: all, or a fixed subset of ``size``.

    The subset is the first ``size`` entries of a permutation of ``range(n_test)``
    drawn with ``seed``, sorted (so, for one seed, it is the same on every machine and
    in every chapter). ``size=None``, or ``size >= n_test``, gives every index.

    Raises
    ------
    ValueError
        If ``n_test`` is not a positive integer (Python or NumPy) of at most
        :data:`MAX_TEST_SIZE`, ``size`` is not ``None`` or a positive integer, or
        ``seed`` is not an integer in 0 … :data:`SEED_MAX`.
    """
    if not _is_int(n_test) or n_test < 1:
        raise ArgumentError(f"n_test must be a positive integer, got {n_test!r}")
    if n_test > MAX_TEST_SIZE:
        raise ArgumentError(
            f"n_test={n_test} is larger than any test set eval_indices can permute in memory "
            f"(at most {MAX_TEST_SIZE:,}); pass the number of images in the test set"
        )
    if size is not None and (not _is_int(size) or size < 1):
        raise ArgumentError(f"size must be None (every image) or a positive integer, got {size!r}")
    if not _is_int(seed) or not 0 <= seed <= SEED_MAX:
        raise ArgumentError(f"seed must be an integer in 0 … {SEED_MAX}, got {seed!r}")
    n_test = int(n_test)
    size = None if size is None else int(size)
    if size is None or size >= n_test:
        return torch.arange(n_test)
    perm = torch.randperm(n_test, generator=torch.Generator().manual_seed(int(seed)))
    return perm[:size].sort().values


# Training epochs per (dataset, profile) for the chapters' standard models.
_EPOCHS = {
    ("digits", "quick"): 10,
    ("digits", "full"): 30,
    ("mnist", "quick"): 2,
    ("mnist", "full"): 10,
    # one epoch: 88.9 % test accuracy (three: 91.9 %), enough for chapters 1-2's comparisons, at a
    # third of the training time (80-90 s on one CPU thread); chapter 8 shares the model
    ("fashion-mnist", "quick"): 1,
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
    live: bool = False
    seed: int = 0
    threads: int | None = None

    def apply_threads(self, device: torch.device | str, default: int | None = 1) -> int:
        """Set torch's CPU thread count for a chapter; return the count in force.

        On a CPU ``device`` the count is ``ADVLAB_THREADS`` when set, else ``default``
        (``None``: leave torch's own). On other devices nothing changes.
        """
        if torch.device(device).type == "cpu":
            n = self.threads if self.threads is not None else default
            if n is not None:
                torch.set_num_threads(int(n))
        return torch.get_num_threads()

    def seed_for(self, offset: int = 0) -> int:
        """Return the seed of one experiment in a chapter: ``ADVLAB_SEED + offset``.

        A chapter numbers its experiments with small fixed offsets (0, 1, 2, ...), so
        that the default build (``ADVLAB_SEED=0``) uses seeds 0, 1, 2, ... and any other
        value shifts all of them together.

        Raises
        ------
        ValueError
            If ``offset`` is not a non-negative integer of at most :data:`SEED_MAX`.
        """
        if not _is_int(offset) or not 0 <= offset <= SEED_MAX:
            raise ArgumentError(f"offset must be an integer in 0 … {SEED_MAX}, got {offset!r}")
        return self.seed + int(offset)

    def generator(
        self, offset: int = 0, device: torch.device | str | None = None
    ) -> torch.Generator:
        """Return a fresh :class:`torch.Generator` seeded with :meth:`seed_for` ``(offset)``."""
        gen = torch.Generator(device=device) if device is not None else torch.Generator()
        return gen.manual_seed(self.seed_for(offset))

    @property
    def eval_size(self) -> int | None:
        """Test images a chapter evaluates at most: :data:`QUICK_EVAL_SIZE`, or ``None`` (all)."""
        return QUICK_EVAL_SIZE if self.profile == "quick" else None

    def eval_subset(self, data: Dataset) -> tuple[Tensor, Tensor]:
        """Return the test images and labels this profile evaluates (see :func:`eval_indices`).

        Returns
        -------
        (x, y)
            Images (N, C, H, W) in [0, 1] and labels (N,), on the CPU, in test-set order.
        """
        if not isinstance(data, Dataset):
            raise ArgumentTypeError(f"data must be an advlab Dataset, got {type(data).__name__}")
        idx = eval_indices(len(data.y_test), self.eval_size, self.seed)
        return data.x_test[idx], data.y_test[idx]

    def heavy_size(self, data: Dataset) -> int | None:
        """How many evaluation images the expensive cells (many iterative attacks) use.

        ``None`` means all of the evaluation subset: on images of at most 8×8 pixels
        per channel (the embedded digits) and in the full profile. In the quick profile,
        on larger images, :data:`QUICK_HEAVY_SIZE`: a chapter takes the first that many
        images of :meth:`eval_subset` (a fixed prefix, the same in every chapter).

        Raises
        ------
        TypeError
            If ``data`` is not an advlab :class:`~advlab.data.Dataset`.
        """
        if not isinstance(data, Dataset):
            raise ArgumentTypeError(f"data must be an advlab Dataset, got {type(data).__name__}")
        if self.profile == "full" or data.x_test.shape[-2] * data.x_test.shape[-1] <= 64:
            return None
        return QUICK_HEAVY_SIZE

    @property
    def eps(self) -> float:
        """The chapters' reference L∞ budget for this dataset (pixel units); others scale from it."""
        return _EPS[self.dataset]

    def describe(self) -> str:
        """One line naming every setting, printed at the top of each chapter."""
        size = "all" if self.eval_size is None else f"≤ {self.eval_size:,}"
        threads = "" if self.threads is None else f", threads={self.threads}"
        return (
            f"dataset={self.dataset!r}, profile={self.profile!r}, epochs={self.epochs}, "
            f"seed={self.seed}{threads}, test images evaluated: {size}"
        )


def _seed_from_env() -> int:
    raw = os.environ.get("ADVLAB_SEED", "0").strip() or "0"
    try:
        seed = int(raw, 10)
    except ValueError:
        seed = -1
    if not 0 <= seed <= SEED_MAX:
        raise ArgumentError(
            f"ADVLAB_SEED={raw!r} is not a seed; use an integer from 0 to {SEED_MAX} (default 0)"
        )
    return seed


def _threads_from_env() -> int | None:
    raw = os.environ.get("ADVLAB_THREADS", "").strip()
    if not raw:
        return None
    try:
        n = int(raw, 10)
    except ValueError:
        n = 0
    if n < 1:
        raise ArgumentError(f"ADVLAB_THREADS={raw!r} is not a thread count; use a positive integer")
    return n


def settings() -> BookSettings:
    """Read ``ADVLAB_DATASET``, ``ADVLAB_PROFILE``, ``ADVLAB_SEED`` and ``ADVLAB_LIVE``.

    See the module docstring for what each means.

    Raises
    ------
    ValueError
        If a variable names something unknown, or ``ADVLAB_SEED`` is not an integer in
        0 … :data:`SEED_MAX` (the message says what to use).
    """
    raw = os.environ.get("ADVLAB_DATASET", "digits")
    try:
        dataset = canonical_name(raw)
    except ValueError as err:
        raise ArgumentError(
            f"ADVLAB_DATASET={raw!r} is not a dataset advlab knows; use one of {', '.join(DATASETS)}"
        ) from err
    profile = os.environ.get("ADVLAB_PROFILE", "quick").strip().lower()
    if profile not in PROFILES:
        raise ArgumentError(
            f"ADVLAB_PROFILE={profile!r} is unknown; use one of {', '.join(PROFILES)}"
        )
    live = os.environ.get("ADVLAB_LIVE", "0").strip().lower() in ("1", "true", "yes")
    return BookSettings(
        dataset, profile, _EPOCHS[(dataset, profile)], live, _seed_from_env(), _threads_from_env()
    )


#: The 28×28 grey-scale datasets :func:`greyscale_settings` keeps when ``ADVLAB_DATASET`` names one.
GREYSCALE_28 = ("fashion-mnist", "mnist")


def greyscale_settings(
    cfg: BookSettings | None = None, *, root: str | os.PathLike[str] | None = None
) -> BookSettings:
    """Choose the grey-scale dataset the one-pixel chapter evaluates, in ``cfg``'s profile.

    ``ADVLAB_DATASET``'s own data when it is a 28×28 grey-scale set (``"mnist"``,
    ``"fashion-mnist"``); otherwise Fashion-MNIST whenever
    :func:`advlab.data.dataset_available` finds it (Debian's
    ``dataset-fashion-mnist`` package, or torchvision's files under ``root``), in
    either profile; otherwise the embedded 8×8 digits, which need nothing. The
    epochs are the table's for that dataset and profile, the same as chapter 1
    trains with, so both chapters share one cached model.

    Parameters
    ----------
    cfg:
        The chapter's settings; default :func:`settings` (the environment).
    root:
        The data folder to search (see :func:`advlab.data.data_root`).

    Returns
    -------
    BookSettings
        ``cfg`` with ``dataset`` and ``epochs`` replaced (same profile, ``live`` and ``seed``).

    Raises
    ------
    TypeError
        If ``cfg`` is neither None nor a :class:`BookSettings`.
    ValueError
        If ``cfg`` is None and the environment names an unknown dataset or profile, or
        ``root`` is not a path.
    """
    if cfg is None:
        cfg = settings()
    elif not isinstance(cfg, BookSettings):
        raise ArgumentTypeError(f"cfg must be BookSettings or None, got {type(cfg).__name__}")
    if cfg.profile not in PROFILES:
        raise ArgumentError(
            f"cfg.profile must be one of {', '.join(PROFILES)}, got {cfg.profile!r}"
        )
    if root is not None and not isinstance(root, (str, os.PathLike)):
        raise ArgumentError(f"root must be a folder path or None, got {type(root).__name__}")
    if cfg.dataset in GREYSCALE_28:
        name = cfg.dataset
    elif dataset_available("fashion-mnist", root=root):
        name = "fashion-mnist"
    else:
        name = "digits"
    return BookSettings(
        name, cfg.profile, _EPOCHS[(name, cfg.profile)], cfg.live, cfg.seed, cfg.threads
    )
