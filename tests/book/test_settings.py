"""advlab.book.settings.greyscale_settings: which grey-scale data the one-pixel chapter uses
(Fashion-MNIST when installed, else the embedded digits)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import MNIST_STEMS, touch_files

import advlab.data
from advlab.book.settings import _EPOCHS, BookSettings, greyscale_settings, settings
from advlab.data import load_dataset

REAL_DEBIAN = advlab.data.DEBIAN_FASHION_MNIST


@pytest.mark.parametrize("profile", ["quick", "full"])
@pytest.mark.parametrize("book", ["digits", "cifar10"])
def test_falls_back_on_the_digits_without_fashion_mnist(
    no_debian: Path, profile: str, book: str
) -> None:
    cfg = BookSettings(book, profile, 3, live=True)
    got = greyscale_settings(cfg)
    assert got == BookSettings("digits", profile, _EPOCHS[("digits", profile)], True)
    # the chapter's section then loads it with no network and no files
    assert load_dataset(got.dataset).image_shape == (1, 8, 8)


@pytest.mark.parametrize("profile", ["quick", "full"])
def test_uses_fashion_mnist_whenever_it_is_installed(
    no_debian: Path, monkeypatch: pytest.MonkeyPatch, profile: str
) -> None:
    debian = no_debian / "debian"
    touch_files(debian, [f"{s}.gz" for s in MNIST_STEMS])
    monkeypatch.setattr(advlab.data, "DEBIAN_FASHION_MNIST", debian)
    for book in ("digits", "cifar10", "fashion-mnist"):
        got = greyscale_settings(BookSettings(book, profile, 99))
        # chapter 1's epochs for Fashion-MNIST in this profile: one cached model for both chapters
        assert got == BookSettings(
            "fashion-mnist", profile, _EPOCHS[("fashion-mnist", profile)], False
        )
    # MNIST chosen as the book's dataset is 28x28 grey-scale too: kept
    got = greyscale_settings(BookSettings("mnist", profile, 99))
    assert (got.dataset, got.epochs) == ("mnist", _EPOCHS[("mnist", profile)])


def test_fashion_mnist_found_in_a_torchvision_folder(no_debian: Path) -> None:
    touch_files(no_debian / "root" / "FashionMNIST" / "raw", [f"{s}.gz" for s in MNIST_STEMS])
    cfg = BookSettings("digits", "quick", 10)
    assert greyscale_settings(cfg).dataset == "digits"
    assert greyscale_settings(cfg, root=no_debian / "root").dataset == "fashion-mnist"


def test_reads_the_environment_by_default(no_debian: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADVLAB_DATASET", "mnist")
    monkeypatch.setenv("ADVLAB_PROFILE", "full")
    assert greyscale_settings() == BookSettings("mnist", "full", _EPOCHS[("mnist", "full")])
    monkeypatch.setenv("ADVLAB_DATASET", "toaster")
    with pytest.raises(ValueError, match=r"ADVLAB_DATASET='toaster' is not a dataset"):
        greyscale_settings()


def test_greyscale_settings_rejects_bad_arguments(no_debian: Path) -> None:
    with pytest.raises(TypeError, match=r"^cfg must be BookSettings or None, got str$"):
        greyscale_settings("digits")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"cfg.profile must be one of quick, full, got 'slow'"):
        greyscale_settings(BookSettings("digits", "slow", 1))
    with pytest.raises(ValueError, match=r"^root must be a folder path or None, got list$"):
        greyscale_settings(BookSettings("digits", "quick", 1), root=[])  # type: ignore[arg-type]


@pytest.mark.skipif(
    not (REAL_DEBIAN / "train-images-idx3-ubyte.gz").is_file(),
    reason=f"Debian's dataset-fashion-mnist is not installed at {REAL_DEBIAN}",
)
def test_this_machines_debian_package_is_chosen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ADVLAB_DATA", str(tmp_path / "empty-data"))
    assert greyscale_settings(BookSettings("digits", "quick", 10)).dataset == "fashion-mnist"


def test_book_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ADVLAB_DATASET", raising=False)
    monkeypatch.delenv("ADVLAB_PROFILE", raising=False)
    assert settings().dataset == "digits" and settings().profile == "quick"
    monkeypatch.setenv("ADVLAB_DATASET", "CIFAR-10")
    monkeypatch.setenv("ADVLAB_PROFILE", "full")
    s = settings()
    assert (s.dataset, s.profile) == ("cifar10", "full") and s.epochs > 10
    monkeypatch.setenv("ADVLAB_PROFILE", "huge")
    with pytest.raises(ValueError, match="ADVLAB_PROFILE='huge'"):
        settings()
    monkeypatch.setenv("ADVLAB_DATASET", "svhn")
    with pytest.raises(ValueError, match="ADVLAB_DATASET='svhn'"):
        settings()


def test_book_settings_eps_per_dataset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADVLAB_DATASET", "digits")
    digits_eps = settings().eps
    monkeypatch.setenv("ADVLAB_DATASET", "fashion-mnist")
    # more pixels, smaller budget (the linearity argument)
    assert 0 < settings().eps < digits_eps <= 0.1
