"""The .ipynb copies of the chapters (``make notebooks``) execute as readers will run them.

The book build executes the MyST Markdown chapters themselves; this checks the copies that
readers download for Jupyter or Colab. One chapter is enough to catch a broken conversion,
and keeps CI short: chapter 1, on the embedded digits.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
COPIES = ROOT / "_build" / "notebooks"
CHAPTER = "01_first_adversarial_example"

pytestmark = pytest.mark.notebooks


def _copy(tmp_path: Path) -> Path:
    """The copy `make notebooks` wrote, or (outside `make test`) one written here."""
    built = COPIES / f"{CHAPTER}.ipynb"
    if built.is_file():
        return built
    if os.environ.get("ADVLAB_REQUIRE_NOTEBOOKS") == "1":
        pytest.fail(
            f"{built} is missing: run `make notebooks` (required: ADVLAB_REQUIRE_NOTEBOOKS=1)"
        )
    jupytext = pytest.importorskip("jupytext")
    out = tmp_path / f"{CHAPTER}.ipynb"
    jupytext.write(jupytext.read(ROOT / "book" / f"{CHAPTER}.md"), out)
    return out


def test_notebook_copy_is_a_real_notebook(tmp_path: Path) -> None:
    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.read(_copy(tmp_path), as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert len(code) >= 5 and not any(c.get("outputs") for c in code), "copies carry no outputs"
    hidden = [c for c in code if "hide-input" in c.metadata.get("tags", [])]
    assert hidden, "cell tags (hide-input) survive the conversion"


def test_notebook_copy_executes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(_copy(tmp_path), as_version=4)
    for var in ("ADVLAB_DATASET", "ADVLAB_PROFILE", "ADVLAB_LIVE"):
        monkeypatch.delenv(var, raising=False)  # the defaults: digits, quick, static explorers
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    client = nbclient.NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(ROOT / "book")}}
    )
    client.execute()  # raises CellExecutionError on the first failing cell
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    widgets = [
        o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})
    ]
    assert widgets, "the explorer should be displayed"
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 3, "the chapter's static figures should be drawn"
