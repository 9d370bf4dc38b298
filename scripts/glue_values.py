"""Every number a chapter glues into its prose, read from executed notebooks; and the cell lengths.

    python scripts/glue_values.py DIR                 # print DIR's glued values as JSON
    python scripts/glue_values.py DIR --out v.json    # ... and save them
    python scripts/glue_values.py OLD NEW             # the differences; exit 1 if any
    python scripts/glue_values.py OLD NEW --ignore 'cost_'   # ... not counting measured times
    python scripts/glue_values.py --cells [FILE.md ...]   # code cells and their lengths

``DIR`` holds executed ``.ipynb`` files, as ``scripts/execute_chapters.py --save DIR`` keeps
them. ``myst_nb.glue(name, value)`` stores each value as a display output whose metadata
is ``{"scrapbook": {"name": name, "mime_prefix": prefix}}``, its MIME bundle keyed
``prefix + mime type`` (the prefix hides it from the page when ``display=False``). This
reads those outputs back: the ``text/plain`` form of each value (what ``{glue:text}``
formats), and a SHA-256 of any other form (figures, HTML). A name glued twice keeps its
last value, as the build does.

``--cells`` counts the code cells of the MyST chapters (default ``book/[0-9][0-9]_*.md``):
lines of code between the cell fences, not counting the cell's options (``:tags:`` lines or
a ``---`` block); a cell that builds a figure (``plt.``, ``*_figure(``, ``gallery(``, ...)
is marked as one, since those may exceed the 30-line aim.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Longest code cell the chapters aim at (figure cells excepted), as QuantEcon's lectures do.
LIMIT = 30

_FIGURE = re.compile(r"\bplt\.|_figure\(|\bgallery\(|\bplot_curves\(|\bshow_image\(|\.subplots\(")


def glued(notebook: Path) -> dict[str, dict[str, str]]:
    """Name -> {mime type: value} of every ``myst_nb.glue`` output in one executed notebook."""
    nb = json.loads(notebook.read_text())
    out: dict[str, dict[str, str]] = {}
    for cell in nb.get("cells", []):
        for output in cell.get("outputs", []):
            meta = output.get("metadata", {}).get("scrapbook")
            if not meta:
                continue
            prefix = meta.get("mime_prefix", "")
            bundle: dict[str, str] = {}
            for key, value in output.get("data", {}).items():
                mime = key[len(prefix) :] if key.startswith(prefix) else key
                text = "".join(value) if isinstance(value, list) else str(value)
                if mime == "text/plain":
                    bundle[mime] = text
                else:
                    bundle[mime] = "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:16]
            out[meta["name"]] = bundle
    return out


def folder_values(folder: Path) -> dict[str, dict[str, dict[str, str]]]:
    """Notebook file name -> its glued values, for every ``.ipynb`` in ``folder``."""
    books = sorted(folder.glob("*.ipynb"))
    if not books:
        raise SystemExit(f"{folder}: no .ipynb files (run scripts/execute_chapters.py --save)")
    return {p.name: glued(p) for p in books}


def differences(old: dict, new: dict, ignore: str | None = None) -> list[str]:
    """One line per notebook missing on a side, and per glued value that differs.

    ``ignore``: a regular expression; glued names it matches (``re.search``) are skipped,
    for values no two runs share, such as a measured time.
    """
    lines = []
    for book in sorted(set(old) | set(new)):
        if book not in new:
            lines.append(f"{book}: only in the first folder")
            continue
        if book not in old:
            lines.append(f"{book}: only in the second folder")
            continue
        a, b = old[book], new[book]
        for name in sorted(set(a) | set(b)):
            if ignore and re.search(ignore, name):
                continue
            if name not in b:
                lines.append(f"{book}: {name}: no longer glued (was {a[name]})")
            elif name not in a:
                lines.append(f"{book}: {name}: newly glued ({b[name]})")
            elif a[name] != b[name]:
                lines.append(f"{book}: {name}: {a[name]} -> {b[name]}")
    return lines


def code_cells(path: Path) -> list[tuple[int, int, bool]]:
    """(first line, lines of code, builds a figure) of each code cell in a MyST chapter."""
    cells = []
    lines = path.read_text().splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith("```{code-cell}"):
            start, i = i + 1, i + 1
            body = []
            while i < len(lines) and lines[i].rstrip() != "```":
                body.append(lines[i])
                i += 1
            if body and body[0].strip() == "---":  # a YAML block of options
                end = next((k for k in range(1, len(body)) if body[k].strip() == "---"), 0)
                body = body[end + 1 :]
            while body and re.match(r"^:\w[\w-]*:", body[0]):  # :tags: [...] options
                body = body[1:]
            while body and not body[0].strip():
                body = body[1:]
            while body and not body[-1].strip():
                body = body[:-1]
            cells.append((start, len(body), bool(_FIGURE.search("\n".join(body)))))
        i += 1
    return cells


def cell_report(paths: list[Path]) -> dict:
    """Counts of code cells, of those over :data:`LIMIT` lines, and the long ones by chapter."""
    total, over, over_plain, rows = 0, 0, 0, {}
    for path in paths:
        cells = code_cells(path)
        total += len(cells)
        long = [(line, n, fig) for line, n, fig in cells if n > LIMIT]
        over += len(long)
        over_plain += sum(1 for _, _, fig in long if not fig)
        rows[path.name] = {
            "cells": len(cells),
            "longest": max((n for _, n, _ in cells), default=0),
            "over": [
                f"line {line}: {n} lines{' (figure)' if fig else ''}" for line, n, fig in long
            ],
        }
    return {
        "code_cells": total,
        f"over_{LIMIT}_lines": over,
        f"over_{LIMIT}_lines_not_figures": over_plain,
        "chapters": rows,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="*", type=Path, help="one folder to list, two to compare")
    parser.add_argument("--out", type=Path, help="save the (first folder's) values as JSON here")
    parser.add_argument("--ignore", help="skip glued names matching this regular expression")
    parser.add_argument(
        "--cells", nargs="*", type=Path, default=None, help="count code cells (default: chapters)"
    )
    args = parser.parse_args(argv)

    if args.cells is not None:
        paths = args.cells or sorted((ROOT / "book").glob("[0-9][0-9]_*.md"))
        print(json.dumps(cell_report(paths), indent=1, ensure_ascii=False))
        return 0
    if len(args.folders) not in (1, 2):
        parser.error("give one folder of executed notebooks, or two to compare")
    first = folder_values(args.folders[0])
    if args.out:
        args.out.write_text(json.dumps(first, indent=1, ensure_ascii=False) + "\n")
    if len(args.folders) == 1:
        print(json.dumps(first, indent=1, ensure_ascii=False))
        return 0
    second = folder_values(args.folders[1])
    diff = differences(first, second, args.ignore)
    common = sorted(set(first) & set(second))
    n = sum(len(first[book]) for book in common)
    for line in diff:
        print(line)
    print(
        f"{len(common)} notebooks in both, {n} glued values in them (first folder): "
        + ("no differences" if not diff else f"{len(diff)} differences")
    )
    return 1 if diff else 0


if __name__ == "__main__":
    sys.exit(main())
