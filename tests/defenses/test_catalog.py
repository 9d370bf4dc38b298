"""advlab.book.catalog: the defense catalogue builds each kind."""

from __future__ import annotations

import pytest


def test_defense_catalogue_builds_each_kind(digits, tmp_path, monkeypatch) -> None:
    from advlab.book.catalog import DEFENSES, build_defenses

    monkeypatch.setenv("ADVLAB_CACHE", str(tmp_path))
    assert {"none", "adv_pgd", "distillation", "label_only", "quantized"} <= set(DEFENSES)
    models = build_defenses(digits, epochs=1, names=["none", "label_only", "quantized"])
    base = models["none"]
    assert models["label-only output"].model is base
    assert models["2-bit input quantisation"].model is base  # one trained model, wrapped twice
    with pytest.raises(ValueError, match="unknown defense 'nope'"):
        build_defenses(digits, epochs=1, names=["nope"])
