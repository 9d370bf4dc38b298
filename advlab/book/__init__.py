"""The book layer: what only the course book needs, on top of the rest of advlab.

:mod:`advlab.book.settings`
    The dataset, profile, seed and threads a chapter runs with (environment variables).
:mod:`advlab.book.chapter`
    :func:`chapter_setup`, the one setup cell every chapter shares.
:mod:`advlab.book.catalog`
    The defended models Part III compares.
:mod:`advlab.book.exercises`
    Checkers for the readers' exercises, one module per part of the book.
:mod:`advlab.book.widgets`
    The explorers (ipywidgets), precomputed for the static page; imported on first use.

Nothing else in advlab imports this package: it is the top layer.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from . import catalog, exercises, settings
from .chapter import ChapterSetup, chapter_setup

__all__ = ["ChapterSetup", "catalog", "chapter_setup", "exercises", "settings", "widgets"]


def __getattr__(name: str) -> ModuleType:
    # the widgets pull in ipywidgets and matplotlib: load them when a chapter asks
    if name == "widgets":
        return importlib.import_module(".widgets", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
