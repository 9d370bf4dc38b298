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

import codecs
import contextlib
import gzip
import hashlib
import os
import pickle
import shutil
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from torch import Tensor

from ._validate import ArgumentError, ArgumentTypeError, check_count, check_pixel_values, check_seed
from .models import MAX_SIDE

__all__ = [
    "DATASETS",
    "DataUnavailableError",
    "Dataset",
    "cache_dir",
    "color_digits",
    "data_root",
    "dataset_available",
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
        """Number of classes, ``len(classes)``."""
        return len(self.classes)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of one image, in channels and pixels."""
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
        """Return ``Dataset(...)`` around :meth:`describe`'s line."""
        return f"Dataset({self.describe()})"


def cache_dir() -> Path:
    """Return the cache folder: ``$ADVLAB_CACHE``, else ``$XDG_CACHE_HOME/advlab``, else ``~/.cache/advlab``."""
    env = os.environ.get("ADVLAB_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "advlab"


def data_root(root: str | os.PathLike[str] | None = None) -> Path:
    """Return the torchvision data folder: ``root``, else ``$ADVLAB_DATA``, else the cache."""
    if root is not None:
        if not isinstance(root, (str, os.PathLike)):
            raise ArgumentTypeError(
                f"root must be a folder path (a str or pathlib.Path), got {type(root).__name__}; "
                "e.g. root='~/data'"
            )
        return Path(root).expanduser()
    env = os.environ.get("ADVLAB_DATA")
    if env:
        return Path(env).expanduser()
    return cache_dir() / "data"


def canonical_name(name: object) -> str:
    """Return the registry key of a dataset name or alias (``"MNIST"``, ``" fashion "`` …), checked."""
    if not isinstance(name, str):
        raise ArgumentTypeError(f"dataset name must be a string, got {type(name).__name__}")
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in DATASETS:
        known = ", ".join(repr(k) for k in DATASETS)
        raise ArgumentError(f"unknown dataset {name!r}; known datasets are {known}")
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
    key = canonical_name(name)
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
    key = canonical_name(name)
    if not isinstance(split, str) or split not in ("train", "test"):
        raise ArgumentError(f"split must be 'train' or 'test', got {split!r}")
    x, y, classes, _ = _load(key, split, root, download)
    return x, y, classes


def dataset_available(name: str, *, root: str | os.PathLike[str] | None = None) -> bool:
    """Whether both splits of ``name`` are on this machine, so loading them needs no network.

    Looks where :func:`load_dataset` looks, without reading the images: the
    embedded datasets (``"digits"`` and the coloured digits) are always there;
    MNIST and Fashion-MNIST need their four files, plain or ``.gz``, in
    ``<root>/MNIST/raw`` or ``<root>/FashionMNIST/raw`` (``root`` as in
    :func:`data_root`), and Fashion-MNIST is also found in Debian's
    ``dataset-fashion-mnist`` package (:data:`DEBIAN_FASHION_MNIST`);
    CIFAR-10 needs its python batches in ``<root>/cifar-10-batches-py``. Only
    presence is checked: files that are there but corrupt count as available,
    and :func:`load_dataset` then says what is wrong with them. A folder that
    cannot be read counts as absent.

    Parameters
    ----------
    name:
        A dataset name or alias (see :data:`DATASETS`).
    root:
        The data folder to search; default ``$ADVLAB_DATA``, else the cache folder.

    Returns
    -------
    bool
        True when ``load_dataset(name, root=root, download=False)`` finds every file.

    Raises
    ------
    ValueError
        For an unknown dataset name (the message lists the known ones), or a ``root``
        that is not a path.
    """
    key = canonical_name(name)
    if root is not None and not isinstance(root, (str, os.PathLike)):
        raise ArgumentError(f"root must be a folder path or None, got {type(root).__name__}")
    if key == "digits" or key.startswith("digits-color"):
        return True
    folder = data_root(root)
    try:
        if key == "cifar10":
            base = folder / "cifar-10-batches-py"
            names = [f"data_batch_{k}" for k in range(1, 6)] + ["test_batch", "batches.meta"]
            return all((base / n).is_file() for n in names)
        raw = folder / ("MNIST" if key == "mnist" else "FashionMNIST") / "raw"
        for train in (True, False):
            stems = _mnist_files(train)
            here = all((raw / s).is_file() for s in stems) or all(
                (raw / f"{s}.gz").is_file() for s in stems
            )
            debian = key == "fashion-mnist" and all(
                (DEBIAN_FASHION_MNIST / f"{s}.gz").is_file() for s in stems
            )
            if not (here or debian):
                return False
        return True
    except OSError:  # an unreadable folder: the loader could not use it either
        return False


def _load(
    key: str, split: Split, root: str | os.PathLike[str] | None, download: bool
) -> tuple[Tensor, Tensor, tuple[str, ...], str]:
    folder = data_root(root)  # checks root first, even for the embedded digits
    if key == "digits":
        return _load_digits(split)
    if key.startswith("digits-color"):
        return _load_digits_color(key, split)
    if key in ("mnist", "fashion-mnist"):
        written = [folder / ("MNIST" if key == "mnist" else "FashionMNIST") / "raw"]
        with _nothing_left_on_failure(*written, cache_dir() / "data" / "unpacked"):
            return _load_mnist_like(key, split, folder, download)
    written = [folder / "cifar-10-batches-py", folder / "cifar-10-python.tar.gz"]
    with _nothing_left_on_failure(*written):
        return _load_cifar10(split, folder, download)


@contextlib.contextmanager
def _nothing_left_on_failure(*paths: Path) -> Iterator[None]:
    """On a failed load, remove each of ``paths`` (and the folders above it) that it created.

    torchvision makes ``<root>/MNIST/raw`` before it looks for the files, and a
    download makes its folder before it fails offline; a load that raises
    leaves the disk as it found it. Only paths that did not exist before are
    removed, so nothing a user put there is touched.
    """
    created: list[Path] = []
    for path in paths:
        top = _highest_missing(path)
        if top is not None and top not in created:
            created.append(top)
    try:
        yield
    except BaseException:
        for top in created:
            if top.is_dir() and not top.is_symlink():
                shutil.rmtree(top, ignore_errors=True)
            else:
                top.unlink(missing_ok=True)
        raise


def _highest_missing(path: Path) -> Path | None:
    """Return the highest folder on the way to ``path`` that does not exist (``None``: it exists)."""
    top = None
    try:
        while not path.exists():
            top = path
            if path.parent == path:
                break
            path = path.parent
    except OSError:  # a folder that cannot be read: the loader reports it; touch nothing there
        return None
    return top


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

#: Where Debian's ``dataset-fashion-mnist`` package installs the original ``*-ubyte.gz`` files.
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")


def _unavailable(key: str, folder: Path, why: str) -> DataUnavailableError:
    return DataUnavailableError(
        f"{key}: {why} Searched {folder} (from the root argument, else $ADVLAB_DATA, else the "
        f"advlab cache). To fix it, either put the torchvision-format files there (or point "
        f"ADVLAB_DATA at a folder that has them), allow the download on a machine with network "
        f'access, or use the embedded default: load_dataset("digits").'
    )


def _corrupt(key: str, where: Path, why: str) -> DataUnavailableError:
    return DataUnavailableError(
        f"{key}: the files in {where} exist but are corrupt: {why} Replace them with intact "
        f"copies (or delete them so that they are downloaded again), or use the embedded "
        f'default: load_dataset("digits").'
    )


def _unreadable(key: str, where: Path, err: OSError) -> DataUnavailableError:
    return DataUnavailableError(
        f"{key}: cannot read {where} ({type(err).__name__}: {err.strerror or err}). Fix its "
        f"permissions, point ADVLAB_DATA or root= at a readable folder, or use the embedded "
        f'default: load_dataset("digits").'
    )


def _check_arrays(
    key: str, where: Path, x: Tensor, y: Tensor, num_classes: int
) -> tuple[Tensor, Tensor]:
    """Check counts agree and labels are in range, or raise DataUnavailableError naming the files."""
    if len(x) != len(y):
        raise _corrupt(key, where, f"{len(x):,} images but {len(y):,} labels.")
    if len(y) and (int(y.min()) < 0 or int(y.max()) >= num_classes):
        raise _corrupt(
            key,
            where,
            f"labels span [{int(y.min())}, {int(y.max())}] but {key} has classes "
            f"0 ... {num_classes - 1}.",
        )
    return x, y


def _mnist_files(train: bool) -> list[str]:
    """Return the two unpacked files of one MNIST-format split, as torchvision names them."""
    prefix = "train" if train else "t10k"
    return [f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"]


def _mnist_class(key: str) -> type:
    from torchvision import datasets

    base = datasets.MNIST if key == "mnist" else datasets.FashionMNIST

    class SplitOnly(base):  # type: ignore[misc, valid-type]  # base: one of two torchvision classes
        """torchvision's class, but only this split's files need to exist."""

        def _check_exists(self) -> bool:
            files = _mnist_files(self.train)
            return all(os.path.isfile(os.path.join(self.raw_folder, f)) for f in files)

    SplitOnly.__name__ = base.__name__  # torchvision derives the folder name from the class name
    return SplitOnly


def _unpack_gz(key: str, src_raw: Path, dst_raw: Path, stems: list[str]) -> None:
    """Unpack ``stem.gz`` files from ``src_raw`` into ``dst_raw`` (atomically).

    A truncated or non-gzip file, or a cache that cannot be written, gives a
    :class:`DataUnavailableError` with the true cause.
    """
    for stem in stems:
        target = dst_raw / stem
        if target.is_file():
            continue
        packed = src_raw / f"{stem}.gz"
        tmp = target.with_name(f".{stem}.{os.getpid()}.tmp")
        try:
            dst_raw.mkdir(parents=True, exist_ok=True)
            with gzip.open(packed, "rb") as fin, open(tmp, "wb") as fout:
                shutil.copyfileobj(fin, fout)
            os.replace(tmp, target)
        except (EOFError, zlib.error, gzip.BadGzipFile) as err:
            raise _corrupt(
                key, src_raw, f"{packed.name} is not a complete gzip file ({err})."
            ) from err
        except OSError as err:
            raise DataUnavailableError(
                f"{key}: cannot unpack {packed} into {dst_raw} ({type(err).__name__}: "
                f"{err.strerror or err}). Make ADVLAB_CACHE a writable folder."
            ) from err
        finally:
            tmp.unlink(missing_ok=True)


def _unpack_tag(raw: Path, stems: list[str]) -> str:
    """Name a folder for unpacked copies by the source folder and each .gz file's size and mtime.

    A replaced ``.gz`` is then unpacked afresh instead of serving a stale copy.
    """
    parts = [str(raw.resolve())]
    for stem in stems:
        st = (raw / f"{stem}.gz").stat()
        parts.append(f"{stem}:{st.st_size}:{st.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def _load_mnist_like(
    key: str, split: Split, folder: Path, download: bool
) -> tuple[Tensor, Tensor, tuple[str, ...], str]:
    cls = _mnist_class(key)
    train = split == "train"
    raw = folder / cls.__name__ / "raw"
    stems = _mnist_files(train)
    try:
        plain = all((raw / s).is_file() for s in stems)
        packed = not plain and all((raw / f"{s}.gz").is_file() for s in stems)
        debian = (
            key == "fashion-mnist"
            and not (plain or packed)
            and all((DEBIAN_FASHION_MNIST / f"{s}.gz").is_file() for s in stems)
        )
        root, where = folder, raw
        if packed or debian:
            # Compressed files only: unpack them into the cache (never into the data folder,
            # which may be shared or read-only), keyed by where they came from and their stat.
            where = raw if packed else DEBIAN_FASHION_MNIST
            root = cache_dir() / "data" / "unpacked" / _unpack_tag(where, stems)
            _unpack_gz(key, where, root / cls.__name__ / "raw", stems)
    except PermissionError as err:
        raise _unreadable(key, Path(err.filename or folder), err) from err
    exists = plain or packed or debian
    try:
        ds = cls(str(root), train=train, download=download and not exists)
    except Exception as err:  # torchvision raises RuntimeError/URLError/OSError from deep inside
        if exists:
            raise _corrupt(key, where, f"{type(err).__name__}: {err}.") from err
        how = "files not found" + (" and the download failed" if download else "")
        raise _unavailable(key, folder, f"{how} ({type(err).__name__}: {err}).") from err
    if key == "mnist":
        classes = tuple(str(k) for k in range(10))
    else:
        classes = tuple(ds.classes)
    x, y = _check_arrays(key, where, ds.data, ds.targets, len(classes))
    x = (x.to(torch.float32) / 255.0).unsqueeze(1).contiguous()
    y = y.to(torch.int64).clone()
    if debian:
        source = (
            f"Debian's dataset-fashion-mnist package at {DEBIAN_FASHION_MNIST} "
            "(unpacked into the advlab cache)"
        )
    else:
        source = f"torchvision {cls.__name__} from {where}"
    return x, y, classes, source


# --- CIFAR-10: pickles, read with a restricted unpickler -----------------------------------------


def _numpy_reconstructors() -> dict[tuple[str, str], object]:
    """Return the only globals a CIFAR-10 batch may name: NumPy's array and dtype rebuilders."""
    from numpy._core import multiarray, numeric

    allowed: dict[tuple[str, str], object] = {}
    for module in ("numpy.core.multiarray", "numpy._core.multiarray"):
        allowed[(module, "_reconstruct")] = multiarray._reconstruct
        allowed[(module, "scalar")] = multiarray.scalar
    for module in ("numpy.core.numeric", "numpy._core.numeric"):
        allowed[(module, "_frombuffer")] = numeric._frombuffer  # type: ignore[attr-defined]  # private, absent from NumPy's stubs
    allowed[("numpy", "ndarray")] = np.ndarray
    allowed[("numpy", "dtype")] = np.dtype
    allowed[("_codecs", "encode")] = codecs.encode  # how protocol 2 writes bytes
    return allowed


class _CifarUnpickler(pickle.Unpickler):
    """Admits only what real CIFAR-10 files hold: dicts, lists, bytes, str, ints, NumPy arrays.

    Any other global (``os.system``, ``builtins.eval``, a class...) is refused,
    so a crafted file placed in the data folder cannot run code when loaded.
    """

    allowed = _numpy_reconstructors()

    def find_class(self, module: str, name: str) -> object:
        try:
            return self.allowed[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"it asks to load {module}.{name}, which real CIFAR-10 files never contain"
            ) from None


def _read_cifar_pickle(path: Path) -> dict:
    try:
        with open(path, "rb") as fh:
            blob = _CifarUnpickler(fh, encoding="latin1").load()
    except PermissionError as err:
        raise _unreadable("cifar10", path, err) from err
    except Exception as err:  # UnpicklingError, EOFError, ValueError...: anything malformed
        raise _corrupt(
            "cifar10",
            path.parent,
            f"{path.name} is unreadable or not a CIFAR-10 batch ({type(err).__name__}: {err}).",
        ) from err
    if not isinstance(blob, dict):
        raise _corrupt("cifar10", path.parent, f"{path.name} is not a CIFAR-10 batch.")
    return blob


def _cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    blob = _read_cifar_pickle(path)
    data, labels = blob.get("data"), blob.get("labels")
    if not (
        isinstance(data, np.ndarray)
        and data.dtype == np.uint8
        and data.ndim == 2
        and data.shape[1] == 3 * 32 * 32
        and isinstance(labels, list)
        and all(isinstance(v, int) and not isinstance(v, bool) for v in labels)
    ):
        raise _corrupt(
            "cifar10",
            path.parent,
            f"{path.name} is not a CIFAR-10 batch (it needs 'data', uint8 of shape (N, 3072), "
            "and 'labels', a list of ints).",
        )
    return data, np.asarray(labels, dtype=np.int64)


def _download_cifar10(folder: Path) -> None:
    from torchvision.datasets import CIFAR10
    from torchvision.datasets.utils import download_and_extract_archive

    download_and_extract_archive(
        CIFAR10.url, str(folder), filename=CIFAR10.filename, md5=CIFAR10.tgz_md5
    )


def _load_cifar10(
    split: Split, folder: Path, download: bool
) -> tuple[Tensor, Tensor, tuple[str, ...], str]:
    base = folder / "cifar-10-batches-py"
    names = [f"data_batch_{k}" for k in range(1, 6)] if split == "train" else ["test_batch"]
    try:
        have = all((base / n).is_file() for n in [*names, "batches.meta"])
    except PermissionError as err:
        raise _unreadable("cifar10", Path(err.filename or base), err) from err
    if not have:
        if not download:
            raise _unavailable("cifar10", folder, "files not found.")
        try:
            _download_cifar10(folder)
        except Exception as err:
            raise _unavailable(
                "cifar10",
                folder,
                f"files not found and the download failed ({type(err).__name__}: {err}).",
            ) from err
    meta = _read_cifar_pickle(base / "batches.meta")
    classes = meta.get("label_names")
    if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes) or not classes:
        raise _corrupt("cifar10", base, "batches.meta has no list of class names.")
    parts = [_cifar_batch(base / n) for n in names]
    data = np.concatenate([d for d, _ in parts])
    x, y = _check_arrays(
        "cifar10",
        base,
        torch.from_numpy(data).view(-1, 3, 32, 32),
        torch.from_numpy(np.concatenate([lab for _, lab in parts])),
        len(classes),
    )
    x = (x.to(torch.float32) / 255.0).contiguous()
    return x, y, tuple(classes), f"CIFAR-10 python batches from {base}"


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
        For a ``size`` that is not an integer in 8 ... 4096, images that are not float
        (N, 1, H, W) in [0, 1], an ``index`` that is not one non-negative integer per
        image, or a seed outside 0 ... 2**64 - 1.
    """
    size = check_count(size, "size", minimum=8)
    if size > MAX_SIDE:
        raise ArgumentError(f"size must be at most {MAX_SIDE} pixels a side, got {size}")
    seed = check_seed(seed)
    if not isinstance(x, Tensor) or not x.is_floating_point() or x.ndim != 4 or x.shape[1] != 1:
        got = f"{x.dtype} {tuple(x.shape)}" if isinstance(x, Tensor) else type(x).__name__
        raise ArgumentError(
            f"x must be floating-point (N, 1, H, W) grey images in [0, 1], got {got}"
        )
    check_pixel_values(x)
    if (
        not isinstance(index, Tensor)
        or index.is_floating_point()
        or index.is_complex()
        or index.dtype == torch.bool
        or index.shape != (x.shape[0],)
    ):
        got = f"{index.dtype} {tuple(index.shape)}" if isinstance(index, Tensor) else type(index)
        raise ArgumentError(
            f"index must be an integer tensor of shape ({x.shape[0]},), one per image, got {got}"
        )
    if len(index) and int(index.min()) < 0:
        raise ArgumentError(f"index must hold non-negative integers, got {int(index.min())}")
    a = x.detach().float().cpu()
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
