"""advlab.zoo: train once then load, cache keys, damaged checkpoints, atomic writes, recipes."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import torch

from advlab import fit, load_dataset, predict
from advlab.models import build_model
from advlab.zoo import TrainConfig, checkpoint_path, pretrained


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def test_pretrained_trains_once_then_loads(tmp_path: Path, digits) -> None:
    first = pretrained(data=digits, epochs=3, cache_dir=tmp_path, device="cpu", progress=False)
    assert not first.from_cache and first.path.is_file()
    assert first.test_accuracy > 0.85  # a real model, not a stub
    assert not first.model.training
    again = pretrained(data=digits, epochs=3, cache_dir=tmp_path, device="cpu", progress=False)
    assert again.from_cache and again.test_accuracy == first.test_accuracy
    assert torch.equal(predict(first.model, digits.x_test), predict(again.model, digits.x_test))
    assert [p.name for p in tmp_path.iterdir()] == [first.path.name]  # no temporary files left


def test_every_config_field_changes_the_key() -> None:
    base = TrainConfig()
    paths = {checkpoint_path(base)}
    for change in [
        {"epochs": 11},
        {"lr": 2e-3},
        {"seed": 1},
        {"batch_size": 32},
        {"extra": {"a": 1}},
    ]:
        paths.add(checkpoint_path(TrainConfig(**{**base.__dict__, **change})))
    assert len(paths) == 6


@pytest.mark.parametrize("damage", ["garbage", "truncated", "other-config", "pickled-object"])
def test_unusable_checkpoint_is_retrained_not_crashed_on(
    tmp_path: Path, digits, damage: str
) -> None:
    cfg = TrainConfig(epochs=2)
    path = checkpoint_path(cfg, tmp_path)
    if damage == "garbage":
        path.write_bytes(b"\x00not a checkpoint")
    elif damage == "truncated":
        good = pretrained(cfg, data=digits, cache_dir=tmp_path, device="cpu", progress=False)
        data = good.path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif damage == "other-config":
        other = pretrained(
            cfg, data=digits, cache_dir=tmp_path, device="cpu", progress=False, seed=5
        )
        path.write_bytes(other.path.read_bytes())
    else:  # weights_only=True must refuse arbitrary pickled objects
        model = build_model("small_cnn", (1, 8, 8), 10)
        torch.save(
            {"config": cfg.to_json(), "state_dict": model.state_dict(), "x": Path("/")}, path
        )
    with pytest.warns(RuntimeWarning, match="unusable checkpoint"):
        trained = pretrained(cfg, data=digits, cache_dir=tmp_path, device="cpu", progress=False)
    assert not trained.from_cache
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert pretrained(
            cfg, data=digits, cache_dir=tmp_path, device="cpu", progress=False
        ).from_cache


def test_failed_write_leaves_no_half_file(
    tmp_path: Path, digits, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_save(obj: object, f: str) -> None:
        Path(f).write_bytes(b"partial")
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        pretrained(data=digits, epochs=1, cache_dir=tmp_path, device="cpu", progress=False)
    assert list(tmp_path.iterdir()) == []


def test_pretrained_rejects_mismatched_data_and_unknown_recipe(digits) -> None:
    with pytest.raises(ValueError, match="data is 'digits' but the config asks for 'mnist'"):
        pretrained(data=digits, dataset="mnist", progress=False)
    with pytest.raises(ValueError, match=r"unknown training recipe 'distilled'.*standard"):
        pretrained(data=digits, recipe="distilled", progress=False)


def test_registered_recipe_trains_the_cached_model(tmp_path: Path, digits) -> None:
    from advlab.zoo import RECIPES, register_recipe

    calls: list[str] = []

    def recipe(model, data, cfg, device, progress) -> None:
        calls.append(cfg.recipe)
        fit(model, data.x_train[:64], data.y_train[:64], epochs=1, device=device, progress=False)

    register_recipe("test-only", recipe)
    try:
        first = pretrained(data=digits, recipe="test-only", cache_dir=tmp_path, progress=False)
        again = pretrained(data=digits, recipe="test-only", cache_dir=tmp_path, progress=False)
    finally:
        RECIPES.pop("test-only")
    assert calls == ["test-only"] and not first.from_cache and again.from_cache
    assert "-test-only-" in first.path.name
