"""Deprecated alias of :mod:`advlab.book.exercises` (moved there in 0.2; this path works for one release).

Importing it warns once and hands back :mod:`advlab.book.exercises` itself, so that every name, private
ones included, and every monkeypatch reaches the one module.
"""

import importlib
import sys
import warnings

warnings.warn(
    "advlab.exercises moved to advlab.book.exercises; import it from there (advlab.exercises will be removed in the next release)",
    DeprecationWarning,
    stacklevel=2,
)
sys.modules[__name__] = importlib.import_module("advlab.book.exercises")
