"""Which grey-scale data the one-pixel chapter uses: advlab.data.dataset_available and
advlab.book.settings.greyscale_settings (Fashion-MNIST when installed, else the embedded digits)."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

import advlab.data
from advlab.book.settings import _EPOCHS, BookSettings, greyscale_settings
from advlab.data import dataset_available, load_dataset

REAL_DEBIAN = advlab.data.DEBIAN_FASHION_MNIST
MNIST_STEMS = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
]


@pytest.fixture
def no_debian(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A machine without Debian's package and with empty data and cache folders."""
    monkeypatch.setattr(advlab.data, "DEBIAN_FASHION_MNIST", tmp_path / "no-debian-package")
    monkeypatch.setenv("ADVLAB_DATA", str(tmp_path / "empty-data"))
    monkeypatch.setenv("ADVLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("ADVLAB_DATASET", raising=False)
    monkeypatch.delenv("ADVLAB_PROFILE", raising=False)
    return tmp_path


def _touch(folder: Path, names: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(b"")


def test_embedded_datasets_are_always_available(no_debian: Path) -> None:
    for name in ("digits", "DIGITS", "digits-color-8", "digits-color", "digits-color-32"):
        assert dataset_available(name) is True


def test_nothing_on_disk_means_unavailable(no_debian: Path) -> None:
    for name in ("mnist", "fashion-mnist", "fashion_mnist", "cifar10"):
        assert dataset_available(name) is False
        assert dataset_available(name, root=no_debian / "elsewhere") is False


@pytest.mark.parametrize(
    ("name", "folder"), [("mnist", "MNIST"), ("fashion-mnist", "FashionMNIST")]
)
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_mnist_like_needs_both_splits_plain_or_gz(
    no_debian: Path, name: str, folder: str, suffix: str
) -> None:
    raw = no_debian / "root" / folder / "raw"
    _touch(raw, [f"{s}{suffix}" for s in MNIST_STEMS[2:]])  # the test split only
    assert dataset_available(name, root=no_debian / "root") is False
    _touch(raw, [f"{s}{suffix}" for s in MNIST_STEMS[:2]])
    assert dataset_available(name, root=no_debian / "root") is True
    # ADVLAB_DATA is the default root
    assert dataset_available(name) is False
    assert dataset_available(name, root=str(no_debian / "root")) is True


def test_debians_package_counts_for_fashion_mnist_only(
    no_debian: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    debian = no_debian / "debian"
    _touch(debian, [f"{s}.gz" for s in MNIST_STEMS[:3]])  # one file missing
    monkeypatch.setattr(advlab.data, "DEBIAN_FASHION_MNIST", debian)
    assert dataset_available("fashion-mnist") is False
    _touch(debian, [f"{MNIST_STEMS[3]}.gz"])
    assert dataset_available("fashion-mnist") is True
    assert dataset_available("mnist") is False


def test_cifar10_needs_every_batch(no_debian: Path) -> None:
    base = no_debian / "root" / "cifar-10-batches-py"
    _touch(base, [f"data_batch_{k}" for k in range(1, 6)] + ["batches.meta"])
    assert dataset_available("cifar10", root=no_debian / "root") is False
    (base / "test_batch").write_bytes(pickle.dumps({}))
    assert dataset_available("cifar10", root=no_debian / "root") is True


def test_dataset_available_rejects_bad_arguments(no_debian: Path) -> None:
    with pytest.raises(ValueError, match=r"unknown dataset 'svhn'; known datasets are 'digits'"):
        dataset_available("svhn")
    with pytest.raises(ValueError, match=r"^root must be a folder path or None, got int$"):
        dataset_available("mnist", root=3)  # type: ignore[arg-type]


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
    _touch(debian, [f"{s}.gz" for s in MNIST_STEMS])
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
    _touch(no_debian / "root" / "FashionMNIST" / "raw", [f"{s}.gz" for s in MNIST_STEMS])
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
