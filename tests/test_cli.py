"""The ``advlab`` command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from advlab.cli import main


def test_info_lists_datasets(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "digits" in out and "cifar10" in out and "device:" in out


def test_train_warms_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ADVLAB_CACHE", str(tmp_path))
    assert main(["train", "--epochs", "1", "--device", "cpu"]) == 0
    assert "trained in" in capsys.readouterr().out
    assert main(["train", "--epochs", "1", "--device", "cpu"]) == 0
    assert "loaded from cache" in capsys.readouterr().out


def test_bad_dataset_is_a_clean_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--dataset", "imagenet"]) == 2
    assert "unknown dataset 'imagenet'" in capsys.readouterr().err
