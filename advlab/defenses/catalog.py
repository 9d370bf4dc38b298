"""Deprecated alias of :mod:`advlab.book.catalog` (moved there in 0.2; this path works for one release).

Importing it warns once and hands back :mod:`advlab.book.catalog` itself, so that every name, private
ones included, and every monkeypatch reaches the one module.
"""

import importlib
import sys
import warnings

warnings.warn(
    "advlab.defenses.catalog moved to advlab.book.catalog; import it from there (advlab.defenses.catalog will be removed in the next release)",
    DeprecationWarning,
    stacklevel=2,
)
sys.modules[__name__] = importlib.import_module("advlab.book.catalog")
