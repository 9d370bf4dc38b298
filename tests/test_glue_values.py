"""scripts/glue_values.py: glued values read back from executed notebooks, compared, and cell lengths."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("glue_values", ROOT / "scripts" / "glue_values.py")
assert _spec is not None and _spec.loader is not None
gv = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gv)


def _glue_output(name: str, value: str, hidden: bool = True) -> dict:
    """A display output as ``myst_nb.glue(name, value, display=not hidden)`` writes it."""
    prefix = "application/papermill.record/" if hidden else ""
    return {
        "output_type": "display_data",
        "metadata": {"scrapbook": {"name": name, "mime_prefix": prefix}},
        "data": {prefix + "text/plain": value, prefix + "image/png": "iVBOR" + value},
    }


def _notebook(path: Path, values: dict[str, str]) -> None:
    outputs = [_glue_output(k, v, hidden=i % 2 == 0) for i, (k, v) in enumerate(values.items())]
    outputs.append({"output_type": "stream", "name": "stdout", "text": "not glued"})
    cells = [{"cell_type": "code", "source": "", "metadata": {}, "outputs": outputs}]
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4}))


def test_reads_glued_values_and_finds_differences(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    _notebook(a / "01.ipynb", {"acc": "0.95", "n": "360"})
    _notebook(b / "01.ipynb", {"acc": "0.95", "n": "360"})
    got = gv.glued(a / "01.ipynb")
    assert got["acc"]["text/plain"] == "0.95" and got["n"]["text/plain"] == "360"
    assert got["acc"]["image/png"].startswith("sha256:")  # other forms as digests
    assert gv.main([str(a), str(b)]) == 0
    _notebook(b / "01.ipynb", {"acc": "0.94", "m": "1"})
    lines = gv.differences(gv.folder_values(a), gv.folder_values(b))
    assert any("acc" in ln and "0.95" in ln and "0.94" in ln for ln in lines)
    assert any("n: no longer glued" in ln for ln in lines)
    assert any("m: newly glued" in ln for ln in lines)
    assert gv.main([str(a), str(b)]) == 1
    assert gv.main([str(a), str(b), "--ignore", "^(acc|n|m)$"]) == 0  # e.g. measured times
    _notebook(a / "02.ipynb", {})
    assert any("only in the first" in ln for ln in gv.differences(gv.folder_values(a), {}))


def test_empty_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match=r"no \.ipynb"):
        gv.folder_values(tmp_path)


def test_cell_lengths_skip_options_and_flag_figures(tmp_path: Path) -> None:
    md = tmp_path / "01_x.md"
    long_body = "\n".join(f"a{i} = {i}" for i in range(31))
    md.write_text(
        "# t\n\n```{code-cell}\n:tags: [hide-input]\n\nx = 1\ny = 2\n```\n\ntext\n\n"
        f"```{{code-cell}}\n---\ntags: [hide-cell]\n---\n{long_body}\n```\n\n"
        f"```{{code-cell}}\nfig = plt.figure()\n{long_body}\n```\n\n```python\nnot a cell\n```\n"
    )
    cells = gv.code_cells(md)
    assert [(n, fig) for _, n, fig in cells] == [(2, False), (31, False), (32, True)]
    report = gv.cell_report([md])
    assert report["code_cells"] == 3 and report["over_30_lines"] == 2
    assert report["over_30_lines_not_figures"] == 1
