"""advlab.book: the top layer (settings, widgets, exercises, catalog, chapter_setup) and its old paths."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import advlab
from advlab.book import ChapterSetup, chapter_setup
from advlab.book.settings import eval_indices

pytestmark = pytest.mark.usefixtures("one_thread")

PACKAGE = Path(advlab.__file__).resolve().parent
ROOT = PACKAGE.parent

#: old import path -> the module it now is
MOVED = {
    "advlab.settings": "advlab.book.settings",
    "advlab.widgets": "advlab.book.widgets",
    "advlab.exercises": "advlab.book.exercises",
    "advlab.defenses.catalog": "advlab.book.catalog",
}


#: old attribute -> (what it must be, the new path its warning names)
OLD_ATTRIBUTES = {
    "advlab.exercises.check_fgsm": ("advlab.book.exercises.check_fgsm", "advlab.book.exercises"),
    "advlab.settings.settings": ("advlab.book.settings.settings", "advlab.book.settings"),
    "advlab.defenses.DEFENSES": ("advlab.book.catalog.DEFENSES", "advlab.book.catalog"),
    "advlab.defenses.build_defenses": (
        "advlab.book.catalog.build_defenses",
        "advlab.book.catalog",
    ),
}

# One fresh interpreter does every check that needs one (torch takes seconds to import): it
# imports advlab, then each old path and each old attribute, recording the DeprecationWarnings.
_SCRIPT = """
import importlib, json, sys, warnings
out = {}
def deprecations(w):
    return [str(x.message) for x in w if issubclass(x.category, DeprecationWarning)]
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter("always")
    import advlab
    reach = callable(advlab.book.chapter_setup) and callable(advlab.book.exercises.check_fgsm)
out["import advlab"] = {"ok": reach, "warnings": deprecations(w)}
# the attributes first: importing an old module path binds its attribute for good
for old, (expected, _) in OLD.items():
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        value = eval(old)
    out[old + "()"] = {"same": value is eval(expected), "msgs": deprecations(w)}
for old, new in MOVED.items():
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        mod = importlib.import_module(old)
    target = importlib.import_module(new)
    out[old] = {"same": mod is target, "msgs": deprecations(w), "all": sorted(target.__all__)}
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def fresh() -> dict:
    """What a fresh interpreter (this checkout's advlab) saw: see ``_SCRIPT``."""
    code = f"MOVED = {MOVED!r}\nOLD = {OLD_ATTRIBUTES!r}\n" + _SCRIPT
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_advlab_warns_nothing_and_reaches_the_book(fresh: dict) -> None:
    assert fresh["import advlab"] == {"ok": True, "warnings": []}


@pytest.mark.parametrize(("old", "new"), MOVED.items())
def test_old_import_path_warns_and_is_the_new_module(fresh: dict, old: str, new: str) -> None:
    got = fresh[old]
    assert got["same"], f"{old} is not the module {new}"
    assert len(got["msgs"]) == 1 and new in got["msgs"][0] and old in got["msgs"][0]
    assert got["all"], f"{new} exports nothing"


@pytest.mark.parametrize("old", OLD_ATTRIBUTES)
def test_old_attributes_warn_and_resolve(fresh: dict, old: str) -> None:
    got = fresh[old + "()"]
    assert got["same"], f"{old} is not {OLD_ATTRIBUTES[old][0]}"
    assert got["msgs"] and all(OLD_ATTRIBUTES[old][1] in m for m in got["msgs"])


def test_unknown_attributes_still_raise() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = advlab.nope  # type: ignore[attr-defined]
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = advlab.defenses.nope  # type: ignore[attr-defined]
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = advlab.book.nope  # type: ignore[attr-defined]


def _imports_of(path: Path) -> set[str]:
    """The advlab modules ``path`` imports (relative imports resolved), at any depth in the file."""
    module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    package = package.removesuffix(".__init__")
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            found.add(name)
            found |= {f"{name}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "import_module":
            if node.args and isinstance(node.args[0], ast.Constant):
                found.add(str(node.args[0].value))
    return {m for m in found if m == "advlab" or m.startswith("advlab.")}


def test_nothing_below_the_book_layer_imports_it() -> None:
    shims = {PACKAGE / "settings.py", PACKAGE / "widgets.py", PACKAGE / "exercises.py"}
    shims |= {PACKAGE / "defenses" / "catalog.py", PACKAGE / "defenses" / "__init__.py"}
    shims.add(PACKAGE / "__init__.py")  # the package itself offers every layer
    offenders = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if path in shims or (PACKAGE / "book") in path.parents:
            continue
        bad = {m for m in _imports_of(path) if m == "advlab.book" or m.startswith("advlab.book.")}
        if bad:
            offenders[str(path.relative_to(ROOT))] = sorted(bad)
    assert offenders == {}
    # the scan does see imports: the book's own modules import the layers below
    assert "advlab.zoo" in _imports_of(PACKAGE / "book" / "chapter.py")


def test_exercises_keep_one_namespace_split_by_part() -> None:
    ex = advlab.book.exercises
    for name in ex.__all__:
        obj = getattr(ex, name)
        home = obj.__module__
        assert home.startswith("advlab.book.exercises."), (name, home)
    parts = {getattr(ex, n).__module__ for n in ex.__all__ if n.startswith("check_")}
    assert len(parts) == 4  # one module per part of the book


# --- chapter_setup -----------------------------------------------------------------------------


@pytest.fixture
def book_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for var in ("ADVLAB_DATASET", "ADVLAB_PROFILE", "ADVLAB_THREADS", "ADVLAB_LIVE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("ADVLAB_SEED", "3")
    monkeypatch.setenv("ADVLAB_CACHE", str(tmp_path))
    return tmp_path


def test_chapter_setup_without_a_model(book_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    s = chapter_setup(model=False)
    assert isinstance(s, ChapterSetup)
    assert s.model is None and s.correct is None and s.clean_acc is None
    assert s.settings.seed == 3 and s.data is not None and s.data.name == "digits"
    # the profile's fixed evaluation subset, on the device
    assert s.x is not None and s.y is not None
    idx = eval_indices(len(s.data.y_test), s.settings.eval_size, 3)
    assert torch.equal(s.y.cpu(), s.data.y_test[idx])
    assert s.x.device.type == s.device.type
    assert s.threads == torch.get_num_threads() == 1
    printed = capsys.readouterr().out
    assert "dataset='digits'" in printed and "seed=3" in printed and "1 CPU thread" in printed
    assert not (book_env / "models").exists()  # no model was trained or loaded


def test_chapter_setup_first_images_and_no_data(
    book_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    s = chapter_setup(model=False, eval_set="first", n_first=7, note="ε = 0.1")
    assert s.data is not None and s.y is not None
    assert torch.equal(s.y.cpu(), s.data.y_test[:7]) and s.n_eval == 7 and s.n_heavy == 7
    assert "ε = 0.1" in capsys.readouterr().out
    monkeypatch.setenv("ADVLAB_PROFILE", "full")
    s = chapter_setup(model=False, eval_set="first", n_first=7, verbose=False)
    assert s.data is not None and s.n_eval == len(s.data.y_test)
    none = chapter_setup(data=False, model=False, eval_set=None)
    assert none.data is None and none.x is None and none.n_eval == 0 and none.n_heavy == 0


def test_chapter_setup_threads(book_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        assert chapter_setup(data=False, model=False, threads=None, verbose=False).threads == 2
        s = chapter_setup(model=False, threads="small-images", verbose=False)
        assert s.threads == 1  # the 8×8 digits
        monkeypatch.setenv("ADVLAB_THREADS", "2")
        assert chapter_setup(data=False, model=False, verbose=False).threads == 2
    finally:
        torch.set_num_threads(before)


def test_chapter_setup_with_the_cached_model(book_env: Path) -> None:
    s = chapter_setup(verbose=False, progress=False)
    assert s.trained is not None and s.model is s.trained.model and not s.trained.from_cache
    assert s.trained.config.seed == 3 and s.trained.config.epochs == s.settings.epochs
    assert s.x is not None and s.y is not None and s.correct is not None
    assert s.clean_acc == advlab.evaluate(s.model, s.x, s.y) > 0.8
    text = s.describe()
    assert "SmallCNN" in text and "seed 3" in text and "trained now" in text
    again = chapter_setup(verbose=False)
    assert again.trained is not None and again.trained.from_cache
    assert again.clean_acc == s.clean_acc


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"eval_set": "all"}, ValueError, "eval_set"),
        ({"n_first": 0}, ValueError, "n_first"),
        ({"n_first": True}, ValueError, "n_first"),
        ({"threads": 0}, ValueError, "threads"),
        ({"threads": "many"}, ValueError, "threads"),
        ({"model": 1}, TypeError, "model must be True or False"),
        ({"verbose": "yes"}, TypeError, "verbose"),
        ({"note": 3}, TypeError, "note"),
        ({"dataset": 3}, TypeError, "dataset"),
        ({"data": False}, ValueError, "model=True needs data=True"),
        ({"dataset": "nope", "model": False}, ValueError, "nope"),
    ],
)
def test_chapter_setup_refuses_bad_arguments(
    book_env: Path, kwargs: dict, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        chapter_setup(**kwargs)
