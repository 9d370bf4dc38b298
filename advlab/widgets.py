"""Deprecated alias of :mod:`advlab.book.widgets` (moved there in 0.2; this path works for one release).

Importing it warns once and hands back :mod:`advlab.book.widgets` itself, so that every name, private
ones included, and every monkeypatch reaches the one module.
"""

import importlib
import sys
import warnings

warnings.warn(
    "advlab.widgets moved to advlab.book.widgets; import it from there (advlab.widgets will be removed in the next release)",
    DeprecationWarning,
    stacklevel=2,
)
sys.modules[__name__] = importlib.import_module("advlab.book.widgets")
