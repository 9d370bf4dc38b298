"""Datasets as in-memory tensors: images in [0, 1], shape (N, C, H, W), labels int64.

One entry point, :func:`load_dataset`, serves every chapter:

``"digits"`` (the default)
    scikit-learn's 8x8 handwritten digits: 1,797 real grey-scale images that ship
    inside the scikit-learn package, so the book builds with no network. Pixel
    values 0..16 are divided by 16. The split is fixed and documented: a
    stratified 80/20 split with ``random_state=0`` (1,437 train, 360 test images).
``"mnist"``, ``"fashion-mnist"``, ``"cifar10"``
    Loaded through torchvision's own dataset classes from a data folder: the
    ``root`` argument, else ``$ADVLAB_DATA``, else ``~/.cache/advlab/data``
    (``$XDG_CACHE_HOME`` respected). Missing files are downloaded when the
    network allows; when it does not, :class:`DataUnavailableError` says which
    dataset, which folder was searched and how to fix it.

``"digits-color"`` (16 px), ``"digits-color-8"``, ``"digits-color-32"``
    The same digits in colour, built offline (see :func:`color_digits`): each
    image gets its own foreground and background colour and is up-scaled to
    16 (or 8, 32) pixels. The same images, split and labels at every size, for
    the one-pixel chapter's [x, y, r, g, b] attack and its image-size study.

A folder that holds only one split (say MNIST's test files) is enough to load
that split with :func:`load_split`. A folder holding only the compressed MNIST
files (``*-ubyte.gz``) works too, read-only or not: they are unpacked into the
cache folder, never beside the originals.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import pickle
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from torch import Tensor

__all__ = [
    "DATASETS",
    "DataUnavailableError",
    "Dataset",
    "cache_dir",
    "color_digits",
    "data_root",
    "load_dataset",
    "load_split",
]

Split = Literal["train", "test"]

#: Names accepted by :func:`load_dataset`, with a one-line description each.
DATASETS: dict[str, str] = {
    "digits": "scikit-learn 8x8 handwritten digits, embedded (no network needed)",
    "mnist": "MNIST 28x28 handwritten digits (torchvision)",
    "fashion-mnist": "Fashion-MNIST 28x28 clothing images (torchvision)",
    "cifar10": "CIFAR-10 32x32 colour images (torchvision)",
}

_ALIASES = {
    "fashion_mnist": "fashion-mnist",
    "fashionmnist": "fashion-mnist",
    "cifar-10": "cifar10",
}

DIGITS_TEST_FRACTION = 0.2
DIGITS_SPLIT_SEED = 0


class DataUnavailableError(FileNotFoundError):
    """A dataset's files are neither on disk nor downloadable right now."""


@dataclass(frozen=True, eq=False)
class Dataset:
    """A dataset held in memory.

    Attributes
    ----------
    name:
        Canonical dataset name (a key of :data:`DATASETS`).
    x_train, x_test:
        float32 images in [0, 1], shape (N, C, H, W), on the CPU.
    y_train, y_test:
        int64 labels, shape (N,).
    classes:
        Human-readable class names; ``classes[k]`` names label ``k``.
    source:
        Where the data came from, for the chapters to print.
    """

    name: str
    x_train: Tensor
    y_train: Tensor
    x_test: Tensor
    y_test: Tensor
    classes: tuple[str, ...]
    source: str

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        c, h, w = self.x_train.shape[1:]
        return (int(c), int(h), int(w))

    def describe(self) -> str:
        """One line for a chapter to print: name, sizes, shape and source."""
        c, h, w = self.image_shape
        return (
            f"{self.name}: {len(self.x_train):,} train / {len(self.x_test):,} test images, "
            f"{c}x{h}x{w}, {self.num_classes} classes — {self.source}"
        )

    def __repr__(self) -> str:
        return f"Dataset({self.describe()})"


def cache_dir() -> Path:
    """advlab's cache folder: ``$ADVLAB_CACHE``, else ``$XDG_CACHE_HOME/advlab``, else ``~/.cache/advlab``."""
    env = os.environ.get("ADVLAB_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "advlab"


def data_root(root: str | os.PathLike[str] | None = None) -> Path:
    """The folder searched for torchvision datasets: ``root``, else ``$ADVLAB_DATA``, else the cache."""
    if root is not None:
        return Path(root).expanduser()
    env = os.environ.get("ADVLAB_DATA")
    if env:
        return Path(env).expanduser()
    return cache_dir() / "data"


def _canonical(name: str) -> str:
    if not isinstance(name, str):
        raise ValueError(f"dataset name must be a string, got {type(name).__name__}")
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in DATASETS:
        known = ", ".join(repr(k) for k in DATASETS)
        raise ValueError(f"unknown dataset {name!r}; known datasets are {known}")
    return key


def load_dataset(
    name: str = "digits",
    *,
    root: str | os.PathLike[str] | None = None,
    download: bool = True,
) -> Dataset:
    """Load both splits of a dataset as tensors in [0, 1], NCHW.

    Parameters
    ----------
    name:
        One of :data:`DATASETS` (``"digits"``, ``"mnist"``, ``"fashion-mnist"``, ``"cifar10"``).
    root:
        Folder holding torchvision datasets; defaults to ``$ADVLAB_DATA`` or the cache folder.
        Ignored for the embedded ``"digits"``.
    download:
        Download missing files when the network allows.

    Raises
    ------
    ValueError
        For an unknown name (the message lists the known ones).
    DataUnavailableError
        When files are missing and cannot be downloaded.
    """
    key = _canonical(name)
    x_tr, y_tr, classes, source = _load(key, "train", root, download)
    x_te, y_te, _, _ = _load(key, "test", root, download)
    return Dataset(key, x_tr, y_tr, x_te, y_te, classes, source)


def load_split(
    name: str,
    split: Split,
    *,
    root: str | os.PathLike[str] | None = None,
    download: bool = True,
) -> tuple[Tensor, Tensor, tuple[str, ...]]:
    """Load one split: ``(x, y, classes)`` with ``x`` in [0, 1], NCHW, and int64 ``y``.

    Only that split's files need to exist, so a folder holding just MNIST's test
    set can be used for evaluation. See :func:`load_dataset` for the arguments.
    """
    key = _canonical(name)
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    x, y, classes, _ = _load(key, split, root, download)
    return x, y, classes


def _load(
    key: str, split: Split, root: str | os.PathLike[str] | None, download: bool
) -> tuple[Tensor, Tensor, tuple[str, ...], str]:
    if key == "digits":
        return _load_digits(split)
    if key.startswith("digits-color"):
        return _load_digits_color(key, split)
    folder = data_root(root)
    if key in ("mnist", "fashion-mnist"):
        return _load_mnist_like(key, split, folder, download)
    return _load_cifar10(split, folder, download)


# --- embedded digits ----------------------------------------------------------------------------


def _load_digits(split: Split) -> tuple[Tensor, Tensor, tuple[str, ...], str]:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    images = bunch.images.astype(np.float32) / 16.0  # 0..16 grey levels
    labels = bunch.target.astype(np.int64)
    idx = np.arange(len(labels))
    idx_train, idx_test = train_test_split(
        idx, test_size=DIGITS_TEST_FRACTION, random_state=DIGITS_SPLIT_SEED, stratify=labels
    )
    chosen = np.sort(idx_train if split == "train" else idx_test)
    x = torch.from_numpy(images[chosen]).unsqueeze(1).contiguous()
    y = torch.from_numpy(labels[chosen])
    classes = tuple(str(int(k)) for k in bunch.target_names)
    return x, y, classes, "scikit-learn's embedded 8x8 digits (no download)"


# --- torchvision datasets -----------------------------------------------------------------------


def _unavailable(key: str, folder: Path, why: str) -> DataUnavailableError:
    return DataUnavailableError(
        f"{key}: {why} Searched {folder} (from the root argument, else $ADVLAB_DATA, else the "
        f"advlab cache). To fix it, either put the torchvision-format files there (or point "
        f"ADVLAB_DATA at a folder that has them), allow the download on a machine with network "
        f'access, or use the embedded default: load_dataset("digits").'
    )


def _mnist_files(train: bool) -> list[str]:
    """The two unpacked files of one MNIST-format split, as torchvision names them."""
    prefix = "train" if train else "t10k"
    return [f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"]


def _mnist_class(key: str):
    from torchvision import datasets

    base = datasets.MNIST if key == "mnist" else datasets.FashionMNIST

    class SplitOnly(base):  # type: ignore[misc, valid-type]
        """torchvision's class, but only this split's files need to exist."""

        def _check_exists(self) -> bool:
            files = _mnist_files(self.train)
            return all(os.path.isfile(os.path.join(self.raw_folder, f)) for f in files)

    SplitOnly.__name__ = base.__name__  # torchvision derives the folder name from the class name
    return SplitOnly


def _unpack_gz(src_raw: Path, dst_raw: Path, stems: list[str]) -> bool:
    """Unpack ``stem.gz`` files from ``src_raw`` into ``dst_raw`` (atomically); True if all exist now."""
    for stem in stems:
        target = dst_raw / stem
        if target.is_file():
            continue
        packed = src_raw / f"{stem}.gz"
        if not packed.is_file():
            return False
        dst_raw.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{stem}.{os.getpid()}.tmp")
        try:
            with gzip.open(packed, "rb") as fin, open(tmp, "wb") as fout:
                shutil.copyfileobj(fin, fout)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
    return True


def _load_mnist_like(
    key: str, split: Split, folder: Path, download: bool
) -> tuple[Tensor, Tensor, tuple[str, ...], str]:
    cls = _mnist_class(key)
    train = split == "train"
    raw = folder / cls.__name__ / "raw"
    stems = _mnist_files(train)
    root = folder
    if not all((raw / s).is_file() for s in stems) and all(
        (raw / f"{s}.gz").is_file() for s in stems
    ):
        # Compressed files only: unpack them into the cache (never into the data folder, which
        # may be shared or read-only), in a folder keyed by where they came from.
        tag = hashlib.sha256(str(raw.resolve()).encode()).hexdigest()[:12]
        root = cache_dir() / "data" / "unpacked" / tag
        _unpack_gz(raw, root / cls.__name__ / "raw", stems)
    try:
        ds = cls(str(root), train=train, download=download)
    except Exception as err:  # torchvision raises RuntimeError/URLError/OSError from deep inside
        how = "files not found" + (" and the download failed" if download else "")
        raise _unavailable(key, folder, f"{how} ({type(err).__name__}: {err}).") from err
    x = (ds.data.to(torch.float32) / 255.0).unsqueeze(1).contiguous()
    y = ds.targets.to(torch.int64).clone()
    if key == "mnist":
        classes = tuple(str(k) for k in range(10))
    else:
        classes = tuple(ds.classes)
    return x, y, classes, f"torchvision {cls.__name__} from {root}"


def _cifar10_class():
    from torchvision import datasets

    class SplitOnly(datasets.CIFAR10):
        """torchvision's CIFAR10, but only this split's files (and the meta file) need to exist.

        The md5 sums are still checked by torchvision whenever it downloads the archive.
        """

        def _check_integrity(self) -> bool:
            wanted = self.train_list if self.train else self.test_list
            names = [f for f, _ in wanted] + [self.meta["filename"]]
            return all(os.path.isfile(os.path.join(self.root, self.base_folder, n)) for n in names)

        def _load_meta(self) -> None:
            path = os.path.join(self.root, self.base_folder, self.meta["filename"])
            with open(path, "rb") as infile:
                meta = pickle.load(infile, encoding="latin1")
            self.classes = meta[self.meta["key"]]
            self.class_to_idx = {c: i for i, c in enumerate(self.classes)}

    return SplitOnly


def _load_cifar10(split: Split, folder: Path, download: bool):
    cls = _cifar10_class()
    try:
        ds = cls(str(folder), train=split == "train", download=download)
    except Exception as err:
        how = "files not found or unreadable" + (" and the download failed" if download else "")
        raise _unavailable("cifar10", folder, f"{how} ({type(err).__name__}: {err}).") from err
    x = torch.from_numpy(np.ascontiguousarray(ds.data)).permute(0, 3, 1, 2).to(torch.float32)
    x = (x / 255.0).contiguous()
    y = torch.as_tensor(ds.targets, dtype=torch.int64)
    return x, y, tuple(ds.classes), f"torchvision CIFAR10 from {folder}"


# --- coloured digits at several sizes (Part IV) -------------------------------------------------

#: Seed of the per-image colours of the coloured digits (fixed: the data are part of the book).
DIGITS_COLOR_SEED = 1234
#: Sizes at which the coloured digits are offered, by dataset name.
DIGITS_COLOR_SIZES = {"digits-color-8": 8, "digits-color": 16, "digits-color-32": 32}
DATASETS.update(
    {
        name: f"the embedded digits, coloured (per-image fg/bg), {size}x{size} RGB (no network)"
        for name, size in DIGITS_COLOR_SIZES.items()
    }
)
_ALIASES.update({"digits-color-16": "digits-color", "digits_color": "digits-color"})


def color_digits(
    x: Tensor, index: Tensor, size: int = 16, *, seed: int = DIGITS_COLOR_SEED
) -> Tensor:
    """Colour grey digits and up-scale them: (N, 1, 8, 8) in [0, 1] -> (N, 3, size, size).

    Image ``i`` gets a background and a foreground colour drawn from a
    generator seeded by ``seed`` and its ``index[i]`` (its position in
    scikit-learn's 1,797 digits), so an image has the same colours in every
    split, batch and size. One of the two colours is dark (every channel in
    [0, 0.4]) and the other light ([0.6, 1]), chosen by a coin flip, so the
    digit always stands out whatever the hues. The grey level ``a`` mixes them,
    ``(1 - a) * background + a * foreground``, after bilinear up-scaling of
    ``a`` to ``size`` (``size=8`` keeps the original pixels).

    Raises
    ------
    ValueError
        For a ``size`` below 8, or images that are not (N, 1, H, W).
    """
    if isinstance(size, bool) or not isinstance(size, int) or size < 8:
        raise ValueError(f"size must be an int >= 8, got {size!r}")
    if x.ndim != 4 or x.shape[1] != 1 or index.shape != (x.shape[0],):
        raise ValueError("x must be (N, 1, H, W) grey images and index one int per image")
    a = x.float()
    if a.shape[-1] != size:
        a = torch.nn.functional.interpolate(
            a, size=(size, size), mode="bilinear", align_corners=False
        )
        a = a.clamp(0.0, 1.0)
    gen = np.random.default_rng
    cols = np.stack(
        [gen([seed, int(i)]).uniform(0.0, 0.4, size=(2, 3)) for i in index.tolist()]
    )  # (N, 2, 3): a dark colour and a light one (0.6 + ...)
    flip = np.array([gen([seed, int(i), 1]).integers(0, 2) for i in index.tolist()], dtype=bool)
    dark, light = cols[:, 0], 0.6 + cols[:, 1]
    bg = np.where(flip[:, None], light, dark)
    fg = np.where(flip[:, None], dark, light)
    bg_t = torch.from_numpy(bg.astype(np.float32))[:, :, None, None]
    fg_t = torch.from_numpy(fg.astype(np.float32))[:, :, None, None]
    return ((1.0 - a) * bg_t + a * fg_t).clamp(0.0, 1.0).contiguous()


def _load_digits_color(key: str, split: Split) -> tuple[Tensor, Tensor, tuple[str, ...], str]:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    size = DIGITS_COLOR_SIZES[key]
    labels = load_digits().target
    idx = np.arange(len(labels))
    idx_train, idx_test = train_test_split(
        idx, test_size=DIGITS_TEST_FRACTION, random_state=DIGITS_SPLIT_SEED, stratify=labels
    )
    chosen = np.sort(idx_train if split == "train" else idx_test)
    x, y, classes, _ = _load_digits(split)  # the same images, in the same order
    x = color_digits(x, torch.from_numpy(chosen), size)
    return (
        x,
        y,
        classes,
        f"scikit-learn's 8x8 digits, coloured and up-scaled to {size}x{size} (no download)",
    )
