"""Execute the book's chapters outside the HTML build, once per seed, and report each one.

Every assertion in a chapter must hold for any ``ADVLAB_SEED``, cold (an empty model cache)
and with one or two torch threads. This runs the chapters as notebooks (jupytext, then
nbclient, in ``book/`` as the build does) for each seed asked for, each seed in its own model
cache unless ``--cache`` is given, and prints one line per chapter and seed: passed or the
failing cell's error, and the wall time. A summary table goes to ``--report`` (Markdown).

    .venv/bin/python scripts/execute_chapters.py --seeds 0 1 2 3            # every chapter, cold
    .venv/bin/python scripts/execute_chapters.py 03 08 --seeds 1 --threads 2
    .venv/bin/python scripts/execute_chapters.py --seeds 0 --cache ~/.cache/advlab   # warm

Exit status 0 when every chapter passed for every seed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"


def chapters(prefixes: list[str]) -> list[Path]:
    """The chapter files (``book/NN_*.md`` with a jupytext header) matching ``prefixes``."""
    found = sorted(p for p in BOOK.glob("[0-9][0-9]_*.md") if "jupytext:" in p.read_text()[:400])
    if not prefixes:
        return found
    chosen = [p for p in found if any(p.name.startswith(pre) for pre in prefixes)]
    missing = [pre for pre in prefixes if not any(p.name.startswith(pre) for p in found)]
    if missing:
        raise SystemExit(f"no chapter starts with {', '.join(missing)} (book/NN_name.md)")
    return chosen


def execute(path: Path, timeout: int, save: Path | None = None) -> tuple[bool, str]:
    """Run one chapter in a fresh kernel; ``(passed, error summary)``; keep it in ``save``."""
    import jupytext
    import nbclient
    import nbformat
    from nbclient.exceptions import CellExecutionError

    nb = jupytext.read(path)
    client = nbclient.NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(BOOK)}}
    )
    try:
        client.execute()
    except CellExecutionError as err:
        if save is not None:
            nbformat.write(nb, save)
        text = re.sub(r"\x1b\[[0-9;]*m", "", str(err))  # no terminal colours in the report
        lines = [ln for ln in text.splitlines() if ln.strip()]
        return False, " | ".join(lines[-3:])[:600]
    if save is not None:
        nbformat.write(nb, save)
    return True, ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapters", nargs="*", help="chapter prefixes (03, 08_one); default all")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0], help="ADVLAB_SEED values")
    parser.add_argument(
        "--threads", type=int, default=None, help="ADVLAB_THREADS (default: each chapter's own)"
    )
    parser.add_argument("--cache", help="one model cache for every seed (default: a new one each)")
    parser.add_argument("--timeout", type=int, default=1800, help="per-cell timeout in seconds")
    parser.add_argument("--report", type=Path, help="write a Markdown table here")
    parser.add_argument("--save", type=Path, help="keep each executed notebook in this folder")
    args = parser.parse_args(argv)

    todo = chapters(args.chapters)
    if args.threads is not None:
        os.environ["ADVLAB_THREADS"] = str(args.threads)
    rows: list[tuple[int, str, bool, float, str]] = []
    for seed in args.seeds:
        os.environ["ADVLAB_SEED"] = str(seed)
        cache = args.cache or tempfile.mkdtemp(prefix=f"advlab-seed{seed}-")
        os.environ["ADVLAB_CACHE"] = str(cache)
        for path in todo:
            start = time.perf_counter()
            save = None
            if args.save:
                args.save.mkdir(parents=True, exist_ok=True)
                save = args.save / f"{path.stem}.seed{seed}.ipynb"
            ok, why = execute(path, args.timeout, save)
            seconds = time.perf_counter() - start
            rows.append((seed, path.stem, ok, seconds, why))
            status = "passed" if ok else f"FAILED: {why}"
            print(f"seed {seed}  {path.stem:<32} {seconds:7.1f} s  {status}", flush=True)
    if args.report:
        lines = ["| seed | chapter | result | seconds |", "|---|---|---|---:|"]
        lines += [
            f"| {s} | {c} | {'passed' if ok else 'FAILED: ' + why.replace('|', '/')} | {t:.0f} |"
            for s, c, ok, t, why in rows
        ]
        args.report.write_text("\n".join(lines) + "\n")
    return 0 if all(ok for _, _, ok, _, _ in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
