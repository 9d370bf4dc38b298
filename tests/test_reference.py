"""The API reference covers the whole package: every public module, every name in every ``__all__``.

The reference page (``book/reference.md``) is generated at build time by the Sphinx extension
``book/_ext/advlab_reference.py``. The fast tests here check its configuration and what it
generates, against an independent walk of the package and against a small package made up
for the test; ``test_built_reference_has_every_public_name`` checks the built HTML and runs
after ``make book`` (in ``make test``, marked like the other tests of the built book).
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import pkgutil
import re
import sys
import textwrap
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
import yaml
from docutils.nodes import make_id

import advlab

ROOT = Path(__file__).resolve().parents[1]
EXTENSION = ROOT / "book" / "_ext" / "advlab_reference.py"
REFERENCE_PAGE = ROOT / "book" / "reference.md"
BUILT_REFERENCE = ROOT / "_build" / "html" / "book" / "reference.html"


def _load_extension() -> ModuleType:
    spec = importlib.util.spec_from_file_location("advlab_reference", EXTENSION)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # (dataclasses look their module up there)
    spec.loader.exec_module(module)
    return module


ref = _load_extension()


def _import_quietly(name: str) -> ModuleType:
    # old import paths kept for a release warn when imported; they are public all the same
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        return importlib.import_module(name)


def walk_public_modules() -> dict[str, ModuleType]:
    """Every public advlab module, found here independently of the extension."""
    found = {"advlab": advlab}
    for info in pkgutil.walk_packages(advlab.__path__, "advlab."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            found[info.name] = _import_quietly(info.name)
    return found


def public_names() -> Iterator[tuple[str, str, object]]:
    """(module, name, object) for every name in every public module's ``__all__``."""
    for module_name, module in sorted(walk_public_modules().items()):
        for name in getattr(module, "__all__", []):
            yield module_name, name, getattr(module, name)


# --- fast: the configuration and what the extension generates ------------------------------


def test_the_book_configuration_generates_the_reference_page() -> None:
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    sphinx = config["sphinx"]
    assert sphinx["local_extensions"]["advlab_reference"] == "book/_ext"
    assert (ROOT / sphinx["local_extensions"]["advlab_reference"] / EXTENSION.name).is_file()
    for needed in ("sphinx.ext.autodoc", "sphinx.ext.autosummary", "sphinx.ext.napoleon"):
        assert needed in sphinx["extra_extensions"]
    page = REFERENCE_PAGE.read_text(encoding="utf-8")
    (match,) = ref.PLACEHOLDER.finditer(page)  # exactly one placeholder, for the whole package
    assert match.group("package") == "advlab"
    # the page is in both tables of contents that build it
    for toc in ("_toc.yml", "_toc_real.yml"):
        assert "file: book/reference\n" in (ROOT / toc).read_text(encoding="utf-8"), toc


def test_no_generated_reference_file_is_committed() -> None:
    # the extension writes nothing to disk; stale autosummary stubs would shadow the generation
    leftovers = [p for p in (ROOT / "book").rglob("advlab.*") if p.suffix in {".rst", ".md"}]
    assert not leftovers


def test_plan_covers_every_public_module_and_every_name() -> None:
    plans = {p.name: p for p in ref.plan("advlab")}
    modules = walk_public_modules()
    assert set(plans) == set(modules), "the reference must list exactly the public modules"
    for name, module in modules.items():
        assert [e.name for e in plans[name].entries] == list(getattr(module, "__all__", []))
    text = ref.render("advlab")
    for name in modules:
        assert f"## `{name}`\n" in text
        assert f".. automodule:: {name}\n" in text


def test_every_object_is_described_in_full_exactly_once_and_every_listing_points_there() -> None:
    entries = [e for p in ref.plan("advlab") for e in p.entries]
    by_path = {e.path: e for e in entries}
    homes = [e.path for e in entries if e.is_home]
    assert len(homes) == len(set(homes))
    text = ref.render("advlab")
    for entry in entries:
        if entry.kind == "module":
            continue
        home = by_path[entry.home]
        assert home.is_home, f"{entry.path} points at {entry.home}, which is not described there"
        module = sys.modules[entry.module]
        assert getattr(sys.modules[home.module], home.name) is getattr(module, entry.name)
        directive = ref.DIRECTIVES[entry.kind][0]
        described = text.count(f".. {directive}:: {entry.path}\n")
        assert described == (1 if entry.is_home else 0), entry.path


def test_objects_are_described_at_their_public_paths() -> None:
    homes = {e.path: e.home for p in ref.plan("advlab") for e in p.entries}
    # below the top level, in the package one imports from (not the private or leaf module)
    assert homes["advlab.pgd"] == "advlab.attacks.pgd"
    assert homes["advlab.attacks.pgd.pgd"] == "advlab.attacks.pgd"
    assert homes["advlab.fit"] == "advlab.train.fit"
    assert homes["advlab.metrics.robustness.robust_accuracy"] == "advlab.metrics.robust_accuracy"
    assert homes["advlab.stats.paired_test"] == "advlab.stats.paired_test"
    assert homes["advlab.DATASETS"] == "advlab.data.DATASETS"  # a constant: where it is assigned
    # the module advlab.attacks.pgd hides behind the function of the same dotted name
    indexed = {p.name: p.indexed for p in ref.plan("advlab")}
    assert not indexed["advlab.attacks.pgd"]
    assert indexed["advlab.attacks"] and indexed["advlab.stats"] and indexed["advlab"]


@pytest.fixture
def madeup_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A small package with what the reference must handle: a new module, private modules,
    a module hidden behind a function of its name, re-exports, a constant."""
    files = {
        "mupkg/__init__.py": """
            from .sub import tool, helper
            __all__ = ["tool", "LIMIT", "sub"]
            from .sub.core import LIMIT
            from . import sub
        """,
        "mupkg/_private.py": "__all__ = ['secret']\nsecret = 1\n",
        "mupkg/sub/__init__.py": """
            '''The sub package.'''
            from .tool import tool
            from .core import helper, Thing
            __all__ = ["Thing", "helper", "tool"]
        """,
        "mupkg/sub/tool.py": """
            __all__ = ["tool"]
            def tool():
                '''A tool.'''
        """,
        "mupkg/sub/core.py": """
            from .._private import secret
            __all__ = ["LIMIT", "Thing", "helper"]
            #: A limit.
            LIMIT = 3
            class Thing:
                '''A thing.'''
            def helper():
                '''Helps.'''
        """,
        "mupkg/sub/_hidden/__init__.py": "__all__ = ['x']\nx = 1\n",
        "mupkg/sub/_hidden/inner.py": "__all__ = ['y']\ny = 2\n",
        "mupkg/brand_new.py": "'''Added later.'''\n__all__ = ['fresh']\ndef fresh(): ...\n",
    }
    for name, source in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "mupkg"
    for name in [m for m in sys.modules if m == "mupkg" or m.startswith("mupkg.")]:
        del sys.modules[name]


def test_a_made_up_package_gets_every_public_module_and_no_private_one(madeup_package: str) -> None:
    plans = {p.name: p for p in ref.plan(madeup_package)}
    assert sorted(plans) == [
        "mupkg",
        "mupkg.brand_new",
        "mupkg.sub",
        "mupkg.sub.core",
        "mupkg.sub.tool",
    ]
    homes = {e.path: e.home for p in plans.values() for e in p.entries}
    kinds = {e.path: e.kind for p in plans.values() for e in p.entries}
    assert homes == {
        "mupkg.tool": "mupkg.sub.tool",
        "mupkg.LIMIT": "mupkg.sub.core.LIMIT",
        "mupkg.sub": "mupkg.sub",
        "mupkg.brand_new.fresh": "mupkg.brand_new.fresh",
        "mupkg.sub.Thing": "mupkg.sub.Thing",
        "mupkg.sub.helper": "mupkg.sub.helper",
        "mupkg.sub.tool": "mupkg.sub.tool",
        "mupkg.sub.core.LIMIT": "mupkg.sub.core.LIMIT",
        "mupkg.sub.core.Thing": "mupkg.sub.Thing",
        "mupkg.sub.core.helper": "mupkg.sub.helper",
        "mupkg.sub.tool.tool": "mupkg.sub.tool",
    }
    assert kinds["mupkg.sub"] == "module" and kinds["mupkg.sub.Thing"] == "class"
    assert kinds["mupkg.LIMIT"] == "data" and kinds["mupkg.tool"] == "function"
    assert not plans["mupkg.sub.tool"].indexed  # the function mupkg.sub.tool has its name
    assert all(p.indexed for n, p in plans.items() if n != "mupkg.sub.tool")

    text = ref.render(madeup_package)
    assert ".. autofunction:: mupkg.brand_new.fresh\n" in text
    assert ".. automodule:: mupkg.sub.tool\n   :no-members:\n   :no-index:\n" in text
    assert "_private" not in text and "_hidden" not in text
    # a re-export is a short entry that links to the full description
    assert "   tool function mupkg.sub.tool\n" in text
    # the class's defining path is registered by autodoc itself (:canonical:), not twice
    assert "   Thing class mupkg.sub.Thing noted\n" in text


def test_a_name_in_all_that_does_not_exist_is_a_clear_error(madeup_package: str) -> None:
    importlib.import_module("mupkg.brand_new").__all__.append("missing")
    with pytest.raises(AttributeError, match=r"mupkg\.brand_new\.__all__ lists \['missing'\]"):
        ref.plan(madeup_package)


# --- after the build: every public name is a documented object of the HTML page -------------


def _require_book() -> None:
    reason = "the book is not built; run `make book`"
    if os.environ.get("ADVLAB_REQUIRE_BOOK") == "1":
        pytest.fail(f"{reason} (required because ADVLAB_REQUIRE_BOOK=1)")
    pytest.skip(reason)


@pytest.mark.browser
def test_built_reference_has_every_public_name() -> None:
    if not BUILT_REFERENCE.is_file():
        _require_book()
    html = BUILT_REFERENCE.read_text(encoding="utf-8")
    ids = set(re.findall(r'\bid="([^"]+)"', html))
    missing = []
    for module_name in walk_public_modules():
        # a module's section: its module target, or (a module hidden behind a function of
        # its own dotted name, such as advlab.attacks.pgd) its heading
        if f"module-{module_name}" not in ids and make_id(module_name) not in ids:
            missing.append(module_name)
    for module_name, name, obj in public_names():
        path = f"{module_name}.{name}"
        wanted = {path}
        if inspect.ismodule(obj):
            wanted.add(f"module-{obj.__name__}")
        if not wanted & ids:
            missing.append(path)
    assert not missing, f"not documented in {BUILT_REFERENCE.relative_to(ROOT)}: {missing}"
    # a re-export's short entry links to the full description
    alias = re.search(r'<li id="advlab\.pgd">(.*?)</li>', html, re.S)
    assert alias is not None and 'href="#advlab.attacks.pgd"' in alias.group(1)
    assert re.search(r'<dt class="sig sig-object py" id="advlab\.attacks\.pgd">', html)
