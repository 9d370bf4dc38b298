"""advlab.data: the embedded digits and colour digits, the real MNIST loader, CIFAR-10's pickle format,
dataset_available, errors."""

from __future__ import annotations

import pickle
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import MNIST_STEMS, touch_files

import advlab.data
from advlab.data import (
    DATASETS,
    DataUnavailableError,
    color_digits,
    dataset_available,
    load_dataset,
    load_split,
)

SHARED_MNIST = next(
    (
        up / "shared" / "data"
        for up in Path(__file__).resolve().parents
        if (up / "shared" / "data" / "MNIST" / "raw").is_dir()
    ),
    Path(__file__).resolve().parents[2] / "shared" / "data",
)  # /work/shared/data from the main checkout and from a worktree under /work/wt
HAVE_MNIST = (SHARED_MNIST / "MNIST" / "raw" / "t10k-images-idx3-ubyte.gz").is_file()


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADVLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("ADVLAB_DATA", raising=False)


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every download fails as it does on a machine without network."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise urllib.error.URLError("network is unreachable (simulated by the test)")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)


def test_digits_is_embedded_with_a_fixed_stratified_split() -> None:
    d = load_dataset("digits")
    assert (len(d.x_train), len(d.x_test)) == (1437, 360)
    assert d.image_shape == (1, 8, 8) and d.num_classes == 10
    assert d.classes == tuple(str(k) for k in range(10))
    for x in (d.x_train, d.x_test):
        assert x.dtype == torch.float32 and x.min() >= 0 and x.max() <= 1
    assert d.y_train.dtype == torch.int64
    # stratified: every class has 20% (±1 image) of its images in the test set
    counts_test = torch.bincount(d.y_test, minlength=10)
    counts_all = counts_test + torch.bincount(d.y_train, minlength=10)
    assert torch.all((counts_test - 0.2 * counts_all).abs() <= 1)
    again = load_dataset("digits")
    assert torch.equal(again.x_test, d.x_test) and torch.equal(again.y_train, d.y_train)


def test_unknown_dataset_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown dataset 'imagenet'") as err:
        load_dataset("imagenet")
    for name in DATASETS:
        assert repr(name) in str(err.value)


def test_unknown_split_is_rejected() -> None:
    with pytest.raises(ValueError, match="split must be 'train' or 'test'"):
        load_split("digits", "validation")  # type: ignore[arg-type]


@pytest.mark.skipif(not HAVE_MNIST, reason=f"the real MNIST test set is not at {SHARED_MNIST}")
def test_real_mnist_test_set_loads_from_a_folder_holding_only_gz_files(tmp_path: Path) -> None:
    before = sorted(p.name for p in (SHARED_MNIST / "MNIST" / "raw").iterdir())
    x, y, classes = load_split("mnist", "test", root=SHARED_MNIST, download=False)
    assert x.shape == (10_000, 1, 28, 28) and x.dtype == torch.float32
    assert 0 <= float(x.min()) and float(x.max()) == 1.0
    assert classes == tuple(str(k) for k in range(10))
    # the published class counts of MNIST's test set, and its famous first digit
    assert torch.bincount(y).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert int(y[0]) == 7
    # nothing was written into the data folder: the files were unpacked into the cache
    assert sorted(p.name for p in (SHARED_MNIST / "MNIST" / "raw").iterdir()) == before
    assert any((tmp_path / "cache" / "data" / "unpacked").rglob("t10k-images-idx3-ubyte"))


@pytest.mark.skipif(not HAVE_MNIST, reason=f"the real MNIST test set is not at {SHARED_MNIST}")
def test_missing_split_offline_names_dataset_folder_and_fixes(offline: None) -> None:
    with pytest.raises(DataUnavailableError) as err:
        load_dataset("mnist", root=SHARED_MNIST)  # holds the test split only
    msg = str(err.value)
    assert msg.startswith("mnist:") and str(SHARED_MNIST) in msg
    assert "ADVLAB_DATA" in msg and 'load_dataset("digits")' in msg
    assert "Traceback" not in msg


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist", "cifar10"])
def test_offline_with_nothing_on_disk_gives_a_clear_error(
    name: str, tmp_path: Path, offline: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(advlab.data, "DEBIAN_FASHION_MNIST", tmp_path / "no-debian-package")
    with pytest.raises(DataUnavailableError, match=rf"^{name}: .*download failed") as err:
        load_split(name, "test", root=tmp_path / "empty")
    assert str(tmp_path / "empty") in str(err.value)


def test_data_root_comes_from_advlab_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, offline: None
) -> None:
    monkeypatch.setattr(advlab.data, "DEBIAN_FASHION_MNIST", tmp_path / "no-debian-package")
    monkeypatch.setenv("ADVLAB_DATA", str(tmp_path / "from-env"))
    with pytest.raises(DataUnavailableError, match="from-env"):
        load_split("fashion-mnist", "test")


@pytest.mark.parametrize("download", [False, True])
@pytest.mark.parametrize("name", ["mnist", "fashion-mnist", "cifar10"])
def test_a_failed_load_from_a_missing_advlab_data_creates_nothing(
    name: str, download: bool, tmp_path: Path, offline: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 18 item 12: torchvision made ``$ADVLAB_DATA/MNIST/raw`` before failing."""
    monkeypatch.setattr(advlab.data, "DEBIAN_FASHION_MNIST", tmp_path / "no-debian-package")
    monkeypatch.setenv("ADVLAB_DATA", str(tmp_path / "data" / "missing"))
    with pytest.raises(DataUnavailableError):
        load_dataset(name, download=download)
    assert not (tmp_path / "data").exists()
    assert not (tmp_path / "cache").exists()


@pytest.mark.parametrize("name", ["mnist", "cifar10"])
def test_a_failed_load_leaves_an_existing_folder_as_it_was(
    name: str, tmp_path: Path, offline: None
) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    (folder / "MNIST").mkdir()  # a user's own, empty: not the loader's to remove
    before = sorted(p.relative_to(folder) for p in folder.rglob("*"))
    with pytest.raises(DataUnavailableError):
        load_dataset(name, root=folder)
    assert sorted(p.relative_to(folder) for p in folder.rglob("*")) == before


def _write_tiny_cifar10(root: Path, rng: np.random.Generator) -> dict[str, dict]:
    """A CIFAR-10 folder in the real pickle format: 5 train batches of 2 images, a test batch of 3."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    batches = {}
    for name, n in [*[(f"data_batch_{k}", 2) for k in range(1, 6)], ("test_batch", 3)]:
        entry = {
            "batch_label": name,
            "data": rng.integers(0, 256, size=(n, 3 * 32 * 32), dtype=np.uint8),
            "labels": rng.integers(0, 10, size=n).tolist(),
            "filenames": [f"img{i}.png" for i in range(n)],
        }
        with open(folder / name, "wb") as fh:
            pickle.dump(entry, fh)
        batches[name] = entry
    names = [
        "airplane",
        "automobile",
        "bird",
        "cat",
        "deer",
        "dog",
        "frog",
        "horse",
        "ship",
        "truck",
    ]
    with open(folder / "batches.meta", "wb") as fh:
        pickle.dump({"label_names": names, "num_cases_per_batch": 2, "num_vis": 3072}, fh)
    return batches


def test_cifar10_loader_reads_the_real_pickle_format(tmp_path: Path, offline: None) -> None:
    batches = _write_tiny_cifar10(tmp_path, np.random.default_rng(0))
    d = load_dataset("cifar10", root=tmp_path)
    assert d.x_train.shape == (10, 3, 32, 32) and d.x_test.shape == (3, 3, 32, 32)
    assert d.classes[3] == "cat" and d.num_classes == 10
    test = batches["test_batch"]
    assert d.y_test.tolist() == test["labels"]
    # rows are stored channel-major: 1024 red, then 1024 green, then 1024 blue values
    raw = test["data"][1]
    for c, i, j in [(0, 0, 0), (1, 5, 7), (2, 31, 30)]:
        assert float(d.x_test[1, c, i, j]) == pytest.approx(raw[c * 1024 + i * 32 + j] / 255)
    assert torch.equal(
        d.x_train[:2], torch.from_numpy(batches["data_batch_1"]["data"]).view(2, 3, 32, 32) / 255
    )


def test_cifar10_corrupt_file_is_reported_clearly(tmp_path: Path, offline: None) -> None:
    _write_tiny_cifar10(tmp_path, np.random.default_rng(1))
    (tmp_path / "cifar-10-batches-py" / "test_batch").write_bytes(b"not a pickle")
    with pytest.raises(DataUnavailableError, match=r"cifar10: .*unreadable"):
        load_split("cifar10", "test", root=tmp_path)


DEBIAN = advlab.data.DEBIAN_FASHION_MNIST


@pytest.mark.skipif(
    not (DEBIAN / "t10k-images-idx3-ubyte.gz").is_file(),
    reason=f"Debian's dataset-fashion-mnist is not installed at {DEBIAN}",
)
def test_fashion_mnist_falls_back_to_debians_package(tmp_path: Path, offline: None) -> None:
    """No root, no ADVLAB_DATA folder holding it: Debian's files are used, and said so."""
    before = sorted(p.name for p in DEBIAN.iterdir())
    d = load_dataset("fashion-mnist")
    assert (len(d.x_train), len(d.x_test)) == (60_000, 10_000)
    assert d.image_shape == (1, 28, 28) and d.classes[0] == "T-shirt/top"
    assert torch.bincount(d.y_test).tolist() == [1000] * 10  # the published balanced test set
    assert "Debian's dataset-fashion-mnist package at /usr/share/datasets/fashion-mnist" in d.source
    assert sorted(p.name for p in DEBIAN.iterdir()) == before  # unpacked into the cache only
    assert any((tmp_path / "cache" / "data" / "unpacked").rglob("t10k-images-idx3-ubyte"))
    # a data folder that holds the dataset wins over the system copy
    with pytest.raises(DataUnavailableError, match="exist but are corrupt"):
        (tmp_path / "mine" / "FashionMNIST" / "raw").mkdir(parents=True)
        for name in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
            (tmp_path / "mine" / "FashionMNIST" / "raw" / name).write_bytes(b"")
        load_split("fashion-mnist", "test", root=tmp_path / "mine")


# --- dataset_available: is a dataset on this machine (no download) ----------------------------


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
    touch_files(raw, [f"{s}{suffix}" for s in MNIST_STEMS[2:]])  # the test split only
    assert dataset_available(name, root=no_debian / "root") is False
    touch_files(raw, [f"{s}{suffix}" for s in MNIST_STEMS[:2]])
    assert dataset_available(name, root=no_debian / "root") is True
    # ADVLAB_DATA is the default root
    assert dataset_available(name) is False
    assert dataset_available(name, root=str(no_debian / "root")) is True


def test_debians_package_counts_for_fashion_mnist_only(
    no_debian: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    debian = no_debian / "debian"
    touch_files(debian, [f"{s}.gz" for s in MNIST_STEMS[:3]])  # one file missing
    monkeypatch.setattr(advlab.data, "DEBIAN_FASHION_MNIST", debian)
    assert dataset_available("fashion-mnist") is False
    touch_files(debian, [f"{MNIST_STEMS[3]}.gz"])
    assert dataset_available("fashion-mnist") is True
    assert dataset_available("mnist") is False


def test_cifar10_needs_every_batch(no_debian: Path) -> None:
    base = no_debian / "root" / "cifar-10-batches-py"
    touch_files(base, [f"data_batch_{k}" for k in range(1, 6)] + ["batches.meta"])
    assert dataset_available("cifar10", root=no_debian / "root") is False
    (base / "test_batch").write_bytes(pickle.dumps({}))
    assert dataset_available("cifar10", root=no_debian / "root") is True


def test_dataset_available_rejects_bad_arguments(no_debian: Path) -> None:
    with pytest.raises(ValueError, match=r"unknown dataset 'svhn'; known datasets are 'digits'"):
        dataset_available("svhn")
    with pytest.raises(ValueError, match=r"^root must be a folder path or None, got int$"):
        dataset_available("mnist", root=3)  # type: ignore[arg-type]


# --- the offline colour digits at several sizes (color_digits) --------------------------------


def test_colour_digits_same_images_at_every_size(digits: advlab.Dataset) -> None:
    sets = {
        n: advlab.load_dataset(n) for n in ("digits-color-8", "digits-color", "digits-color-32")
    }
    for name, size in (("digits-color-8", 8), ("digits-color", 16), ("digits-color-32", 32)):
        d = sets[name]
        assert d.x_test.shape == (360, 3, size, size) and d.x_train.shape[0] == 1437
        assert torch.equal(d.y_test, digits.y_test) and torch.equal(d.y_train, digits.y_train)
        assert d.x_test.min() >= 0 and d.x_test.max() <= 1
    small, big = sets["digits-color-8"].x_test, sets["digits-color-32"].x_test
    # same colours: down-sampling the 32 px images recovers the 8 px ones closely
    down = torch.nn.functional.avg_pool2d(big, 4)
    assert (down - small).abs().mean() < 0.08
    # each image has its own colours, the same on every load
    assert torch.equal(advlab.load_dataset("digits-color").x_test, sets["digits-color"].x_test)
    corners = small[:, :, 0, 0]
    assert len(torch.unique(corners, dim=0)) > 300


def test_color_digits_checks_size() -> None:
    with pytest.raises(ValueError, match="size must be an integer >= 8"):
        color_digits(torch.zeros(1, 1, 8, 8), torch.zeros(1, dtype=torch.long), 4)


# --- found by the hypothesis suite (tests/test_fuzz_public_api.py) ------------------------------


def test_color_digits_checks_images_index_and_seed() -> None:
    """Before: AttributeError on junk x/index, and NumPy's own error for a negative index."""
    x = torch.rand(2, 1, 8, 8)
    with pytest.raises(ValueError, match="x must be floating-point"):
        color_digits(None, torch.tensor([0, 1]))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"x must lie in \[0, 1\]"):
        color_digits(x * 255, torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="index must be an integer tensor"):
        color_digits(x, torch.zeros(2))
    with pytest.raises(ValueError, match="index must hold non-negative"):
        color_digits(x, torch.tensor([-1, 1]))
    with pytest.raises(ValueError, match="seed must be an integer"):
        color_digits(x, torch.tensor([0, 1]), seed=-1)
    with pytest.raises(ValueError, match="size must be at most"):
        color_digits(x, torch.tensor([0, 1]), 10**6)
    assert color_digits(x, torch.tensor([0, 1]), 8).shape == (2, 3, 8, 8)


@pytest.mark.parametrize("name", ["digits", "mnist"])
def test_a_root_that_is_not_a_path_is_named(name: str) -> None:
    from advlab._validate import ArgumentTypeError

    with pytest.raises(ArgumentTypeError, match=r"root must be a folder path .*got int"):
        advlab.data.load_dataset(name, root=123)  # type: ignore[arg-type]


def test_a_split_that_is_not_a_string_is_named() -> None:
    """Found by the 10x hypothesis run: an array split crashed in ``in ("train", "test")``."""
    with pytest.raises(advlab.ArgumentError, match="split must be 'train' or 'test'"):
        load_split("digits", np.zeros(3))  # type: ignore[arg-type]
