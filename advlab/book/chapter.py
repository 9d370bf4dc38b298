"""The one setup every chapter shares: settings, device, threads, data, model, evaluation set.

Seven chapters used to open with their own copy of the same cell. :func:`chapter_setup`
is that cell, with keyword arguments for what differs between chapters, and it prints
the line that says which dataset, model, seed and threads a chapter's numbers come from.

It makes the same calls in the same order as those cells did (settings, device, threads,
dataset, cached model, evaluation subset, clean predictions), and draws no random number
itself: :func:`~advlab.book.settings.eval_indices` uses its own generator and a cached
model is only loaded, so a chapter's numbers do not change when it calls this instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor, nn

from .._validate import ArgumentError, ArgumentTypeError
from ..data import Dataset, load_dataset
from ..device import default_device
from ..train import predict
from ..zoo import Trained, pretrained
from .settings import _EPOCHS, BookSettings, settings

__all__ = ["ChapterSetup", "chapter_setup"]

#: ``threads="small-images"``: the datasets of 8×8 images, where one thread beats a contended pool.
SMALL_IMAGE_SETS = ("digits", "digits-color-8")


@dataclass(frozen=True)
class ChapterSetup:
    """What a chapter runs on, as :func:`chapter_setup` prepared it.

    Attributes
    ----------
    settings:
        The chapter's :class:`~advlab.book.settings.BookSettings` (from the environment).
    device:
        Where the model and the evaluation images live.
    threads:
        torch's CPU thread count in force after the setup.
    data:
        The dataset, or ``None`` for a chapter without one.
    trained:
        The standard model of ``data`` from :func:`advlab.pretrained`, or ``None``.
    x, y:
        The evaluation images (N, C, H, W) in [0, 1] and labels (N,), on ``device``,
        or ``None`` when the chapter asked for no evaluation set.
    correct:
        Per evaluation image, whether the model classifies it correctly (bool, (N,)),
        or ``None`` without a model or an evaluation set.
    """

    settings: BookSettings
    device: torch.device
    threads: int
    data: Dataset | None = None
    trained: Trained | None = None
    x: Tensor | None = None
    y: Tensor | None = None
    correct: Tensor | None = None

    @property
    def model(self) -> nn.Module | None:
        """The trained model (``trained.model``), or ``None``."""
        return None if self.trained is None else self.trained.model

    @property
    def clean_acc(self) -> float | None:
        """The model's accuracy on the evaluation set (a fraction), or ``None``."""
        return None if self.correct is None else float(self.correct.float().mean())

    @property
    def n_eval(self) -> int:
        """How many images the evaluation set holds (0 without one)."""
        return 0 if self.y is None else len(self.y)

    @property
    def n_heavy(self) -> int:
        """How many evaluation images the expensive cells use: the first that many.

        All of them on the 8×8 digits and in the full profile, at most
        :data:`~advlab.book.settings.QUICK_HEAVY_SIZE` on larger images in the quick
        profile (see :meth:`~advlab.book.settings.BookSettings.heavy_size`).
        """
        if self.data is None or self.y is None:
            return 0
        heavy = self.settings.heavy_size(self.data)
        return len(self.y) if heavy is None else min(heavy, len(self.y))

    def describe(self, note: str = "") -> str:
        """Return the lines a chapter prints: data, settings, device and threads, model."""
        lines = [] if self.data is None else [self.data.describe()]
        extra = f"; {note}" if note else ""
        here = "" if self.y is None else f"; evaluating on {self.n_eval:,} test images"
        lines.append(
            f"settings: {self.settings.describe()}; device: {self.device}, "
            f"{self.threads} CPU thread(s){here}{extra}"
        )
        if self.trained is not None:
            model = self.trained.model
            acc = "" if self.clean_acc is None else f", accuracy {self.clean_acc:.1%}"
            source = "loaded from cache" if self.trained.from_cache else "trained now"
            lines.append(
                f"model: {type(model).__name__} ({self.trained.config.epochs} epochs, "
                f"seed {self.trained.config.seed}, {source}){acc} on the {self.n_eval:,} "
                f"evaluated test images"
            )
        return "\n".join(lines)


def _thread_default(threads: int | Literal["small-images"] | None, name: str | None) -> int | None:
    if threads != "small-images":
        return threads
    return 1 if name is None or name in SMALL_IMAGE_SETS else None


def chapter_setup(
    *,
    dataset: str | None = None,
    data: bool = True,
    model: bool = True,
    eval_set: Literal["subset", "first"] | None = "subset",
    n_first: int = 100,
    threads: int | Literal["small-images"] | None = 1,
    progress: bool = True,
    note: str = "",
    verbose: bool = True,
) -> ChapterSetup:
    """Prepare a chapter: settings, device, threads, dataset, cached model, evaluation set.

    Parameters
    ----------
    dataset:
        The dataset to load; default the settings' (``ADVLAB_DATASET``). Chapter 8
        names its colour set here.
    data:
        ``False`` for a chapter without data (only the settings, device and threads).
    model:
        Load (or train once and cache) the standard model of the dataset with the
        settings' epochs and seed (:func:`advlab.pretrained`), and classify the
        evaluation set with it.
    eval_set:
        ``"subset"``: the profile's fixed evaluation subset
        (:meth:`~advlab.book.settings.BookSettings.eval_subset`); ``"first"``: the first
        ``n_first`` test images (every test image in the full profile); ``None``: none.
    n_first:
        How many test images ``eval_set="first"`` takes in the quick profile.
    threads:
        torch's CPU thread count when ``ADVLAB_THREADS`` is unset: a number, ``None``
        (torch's own), or ``"small-images"`` (one thread on the 8×8 digits, where a
        contended pool is slower, torch's own on larger images; see :data:`SMALL_IMAGE_SETS`).
    progress:
        Show a progress bar if the model has to be trained.
    note:
        Appended to the printed settings line (a chapter's own budgets, say).
    verbose:
        Print :meth:`ChapterSetup.describe` (the book always does).

    Returns
    -------
    ChapterSetup
        The record; ``setup.model``, ``setup.x``, ``setup.y`` and ``setup.clean_acc``
        are what most cells use.

    Raises
    ------
    ValueError
        For an unknown ``eval_set``, an ``n_first`` below 1, ``model=True`` without data,
        and what :func:`~advlab.book.settings.settings` refuses in the environment.
    TypeError
        For flags that are not booleans or a ``note`` that is not a string.
    """
    _check_setup_args(
        data=data,
        model=model,
        eval_set=eval_set,
        n_first=n_first,
        threads=threads,
        progress=progress,
        note=note,
        verbose=verbose,
        dataset=dataset,
    )
    cfg = settings()
    device = default_device()
    name = None if not data else cfg.dataset if dataset is None else dataset
    n = cfg.apply_threads(device, default=_thread_default(threads, name))
    if name is None:
        setup = ChapterSetup(cfg, device, n)
    else:
        ds = load_dataset(name)
        trained = None
        if model:
            trained = pretrained(
                dataset=name,
                epochs=cfg.epochs if dataset is None else _EPOCHS[(name, cfg.profile)],
                seed=cfg.seed,
                data=ds,
                device=device,
                progress=progress,
            )
        x, y = _eval_set(cfg, ds, device, eval_set=eval_set, n_first=n_first)
        correct: Tensor | None = None
        if trained is not None and x is not None and y is not None:
            correct = predict(trained.model, x).argmax(dim=1) == y
        setup = ChapterSetup(cfg, device, n, ds, trained, x, y, correct)
    if verbose:
        print(setup.describe(note))
    return setup


def _check_setup_args(
    *,
    data: object,
    model: object,
    eval_set: object,
    n_first: object,
    threads: object,
    progress: object,
    note: object,
    verbose: object,
    dataset: object,
) -> None:
    """Raise :func:`chapter_setup`'s argument errors, in the order it documents them."""
    for label, flag in (
        ("data", data),
        ("model", model),
        ("progress", progress),
        ("verbose", verbose),
    ):
        if not isinstance(flag, bool):
            raise ArgumentTypeError(f"{label} must be True or False, got {flag!r}")
    if eval_set is not None and (
        not isinstance(eval_set, str) or eval_set not in ("subset", "first")
    ):
        raise ArgumentError(f"eval_set must be 'subset', 'first' or None, got {eval_set!r}")
    if isinstance(n_first, bool) or not isinstance(n_first, int) or n_first < 1:
        raise ArgumentError(f"n_first must be a positive integer, got {n_first!r}")
    if threads != "small-images" and threads is not None:
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
            raise ArgumentError(
                f"threads must be a positive integer, None or 'small-images', got {threads!r}"
            )
    if not isinstance(note, str):
        raise ArgumentTypeError(f"note must be a string, got {type(note).__name__}")
    if dataset is not None and not isinstance(dataset, str):
        raise ArgumentTypeError(
            f"dataset must be a dataset name or None, got {type(dataset).__name__}"
        )
    if model and not data:
        raise ArgumentError("model=True needs data=True: the model is trained on the dataset")


def _eval_set(
    cfg: BookSettings,
    ds: Dataset,
    device: torch.device,
    *,
    eval_set: Literal["subset", "first"] | None,
    n_first: int,
) -> tuple[Tensor | None, Tensor | None]:
    """Return the evaluation images and labels ``eval_set`` asks for, on ``device``."""
    if eval_set == "subset":
        x, y = (t.to(device) for t in cfg.eval_subset(ds))
        return x, y
    if eval_set == "first":
        k = len(ds.x_test) if cfg.profile == "full" else min(n_first, len(ds.x_test))
        return ds.x_test[:k].to(device), ds.y_test[:k].to(device)
    return None, None
