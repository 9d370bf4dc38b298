"""`make test-real` builds a subset of the book: its table of contents must stay in step with the main one."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _files(toc: dict) -> list[str]:
    return [toc["root"]] + [ch["file"] for part in toc["parts"] for ch in part["chapters"]]


def test_real_toc_is_a_subset_of_the_book_with_what_chapters_1_2_need() -> None:
    main = yaml.safe_load((ROOT / "_toc.yml").read_text())
    real = yaml.safe_load((ROOT / "_toc_real.yml").read_text())
    assert real["format"] == main["format"] and real["root"] == main["root"]
    files = _files(real)
    assert set(files) <= set(_files(main)), set(files) - set(_files(main))
    for page in ("book/01_first_adversarial_example", "book/02_fgsm_family"):
        assert page in files
    # chapters 1-2 cite papers and link API functions: the bibliography and the reference are built
    assert "book/references" in files and "book/reference" in files
    # and nothing slow: only the intro, chapters 1-2 and the appendices
    assert len(files) == 5
    for f in files:
        assert (ROOT / f"{f}.md").is_file(), f


def test_make_test_real_uses_the_real_toc_with_warnings_as_errors() -> None:
    make = (ROOT / "Makefile").read_text()
    recipe = make[make.index("test-real:") :].split("\n\n")[0]
    assert "--toc _toc_real.yml" in recipe and " -W " in recipe
    assert "ADVLAB_DATASET=fashion-mnist" in recipe
