"""No import order can hide a cycle: every advlab module imports first, on its own.

``import advlab`` imports its subpackages in one fixed order, and that order can
hide a cycle (``a`` imports ``b``, which imports ``a`` while ``a`` is half
initialised) that any other entry point would hit. Here each module is imported
first, in an interpreter where no advlab module has been loaded and where
``advlab/__init__.py`` is bypassed: ``advlab`` is an empty package object whose
``__path__`` points at the sources. The layer contract in ``pyproject.toml``
(``lint-imports``, run by ``make lint``) says which imports are allowed at all.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import advlab

PACKAGE = Path(advlab.__file__).parent

# Runs in a fresh interpreter. Third-party packages stay loaded between modules (they cannot
# hide an advlab cycle); every advlab module is forgotten before the next one is imported.
PROBE = r"""
import importlib, sys, traceback, types
root, names = sys.argv[1], sys.argv[2:]
failed = []
for name in names:
    for key in [k for k in sys.modules if k == "advlab" or k.startswith("advlab.")]:
        del sys.modules[key]
    stub = types.ModuleType("advlab")
    stub.__path__ = [root]
    sys.modules["advlab"] = stub
    try:
        importlib.import_module(name)
    except Exception:
        failed.append(name + ":\n" + traceback.format_exc(limit=-3))
print("\n".join(failed))
sys.exit(1 if failed else 0)
"""


def advlab_modules() -> list[str]:
    """Every module under ``advlab/`` (from the files, without importing any of them)."""
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__main__":
            continue
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def test_the_walk_finds_the_package() -> None:
    names = advlab_modules()
    assert {"advlab", "advlab._validate", "advlab.attacks.pgd", "advlab.train"} <= set(names)


def test_every_module_imports_first_with_the_package_init_bypassed() -> None:
    names = [n for n in advlab_modules() if n != "advlab"]
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(PACKAGE), *names],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, "modules that fail to import first:\n" + done.stdout + done.stderr


def test_the_probe_catches_a_cycle(tmp_path: Path) -> None:
    """The probe itself: a package whose ``a`` and ``b`` import each other fails it."""
    pkg = tmp_path / "advlab"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("from . import b\n")  # this order hides the cycle
    (pkg / "a.py").write_text("from .b import B\nA = 1\n")
    (pkg / "b.py").write_text("from .a import A\nB = 2\n")
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(pkg), "advlab.a"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1
    assert "advlab.a" in done.stdout
