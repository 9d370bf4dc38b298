"""Issue 8: every public function keeps the attacks' contract.

One test (or a small group) per item of the issue: silent wrong answers,
deep crashes and unclear errors, and the CIFAR-10 pickle hole. Each asserts
the documented result or the exact clear error, on tiny models and files
built here (no network, a few seconds in all).
"""

from __future__ import annotations

import gzip
import os
import pickle
import struct
import subprocess
import sys
import threading
import urllib.error
import urllib.request
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import Tensor, nn

import advlab
import advlab.data
import advlab.zoo
from advlab import build_model, cw_l2, evaluate, fgsm, fit, pgd, predict, pretrained
from advlab.cli import main
from advlab.data import DataUnavailableError, load_dataset, load_split
from advlab.models import Normalize
from advlab.zoo import TrainConfig, checkpoint_path


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADVLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("ADVLAB_DATA", raising=False)
    monkeypatch.delenv("ADVLAB_DEVICE", raising=False)
    monkeypatch.setattr(
        advlab.data, "DEBIAN_FASHION_MNIST", tmp_path / "no-debian-package", raising=False
    )


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise urllib.error.URLError("network is unreachable (simulated by the test)")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)


def linear(num_classes: int = 3, dtype: torch.dtype = torch.float32) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(64, num_classes)).to(dtype)


def images(n: int = 6, dtype: torch.dtype = torch.float32) -> Tensor:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(n, 1, 8, 8, generator=g)
    x[:, :, 0] = 0.0
    return x.to(dtype)


# --- silent wrong answers -------------------------------------------------------------------


def _tiny_digits() -> advlab.Dataset:
    d = load_dataset("digits")
    return advlab.Dataset(
        "digits", d.x_train[:64], d.y_train[:64], d.x_test[:32], d.y_test[:32], d.classes, "t"
    )


@pytest.mark.parametrize(
    "damage", ["missing-tensor", "wrong-shape", "no-accuracy", "text-accuracy"]
)
def test_failed_checkpoint_load_leaves_a_fresh_model(tmp_path: Path, damage: str) -> None:
    """Item 1: a bad checkpoint for the same config is retrained from a *fresh* model."""
    data, cfg = _tiny_digits(), TrainConfig(epochs=1, batch_size=32)
    kw = {"data": data, "cache_dir": tmp_path, "device": "cpu", "progress": False}
    clean = pretrained(cfg, **kw)
    reference = predict(clean.model, data.x_test)
    blob = torch.load(clean.path, weights_only=True)
    poisoned = {k: torch.full_like(v, 0.5) for k, v in blob["state_dict"].items()}
    if damage == "missing-tensor":
        poisoned.pop("classifier.3.bias")
    elif damage == "wrong-shape":
        poisoned["classifier.3.bias"] = torch.zeros(11)
    elif damage == "no-accuracy":
        blob.pop("test_accuracy")
    else:
        blob["test_accuracy"] = "0.9"
    if damage in ("missing-tensor", "wrong-shape"):
        blob["state_dict"] = poisoned
    torch.save(blob, clean.path)
    with pytest.warns(RuntimeWarning, match="unusable checkpoint"):
        again = pretrained(cfg, **kw)
    assert not again.from_cache
    torch.testing.assert_close(predict(again.model, data.x_test), reference)  # same as fresh


def test_evaluate_validates_labels() -> None:
    """Item 2: mis-shaped labels are refused instead of broadcast."""
    model, x = linear(), images()
    y = predict(model, x).argmax(1)
    assert evaluate(model, x, y) == 1.0
    for bad, match in [
        (y[:, None], r"y must have shape \(6,\)"),
        (y[:3], r"y must have shape \(6,\)"),
        (nn.functional.one_hot(y, 3), r"y must have shape \(6,\)"),
        (y.float(), "integer class indices"),
        (y + 3, r"class indices in \[0, 2\]"),
    ]:
        with pytest.raises(ValueError, match=match):
            evaluate(model, x, bad)


def test_predict_and_fit_validate_images() -> None:
    """Item 3."""
    model, x = linear(), images()
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1, got 0"):
        predict(model, x, batch_size=0)
    assert predict(model, x[:0]).shape == (0, 3)
    with pytest.raises(ValueError, match="x must be a floating-point tensor"):
        predict(model, (x * 255).to(torch.uint8))
    y = torch.zeros(6, dtype=torch.long)
    for bad, match in [
        (torch.full_like(x, float("nan")), "NaN or infinite"),
        ((x * 255).to(torch.uint8), "x must be a floating-point tensor"),
        (x * 255, r"x must lie in \[0, 1\]"),
    ]:
        with pytest.raises(ValueError, match=match):
            fit(model, bad, y, epochs=1, device="cpu", progress=False)


def _idx(path: Path, array: np.ndarray) -> None:
    """Write ``array`` (uint8) as a gzipped IDX file, the MNIST format."""
    header = struct.pack(">HBB", 0, 8, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as fh:
        fh.write(header + array.astype(np.uint8).tobytes())


def _fake_mnist(root: Path, labels: list[int], n_images: int | None = None) -> Path:
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    n = len(labels) if n_images is None else n_images
    _idx(raw / "t10k-images-idx3-ubyte.gz", np.full((n, 28, 28), 255))
    _idx(raw / "t10k-labels-idx1-ubyte.gz", np.array(labels))
    return raw


def test_unpacked_copy_follows_a_changed_gz(tmp_path: Path, offline: None) -> None:
    """Item 4: a replaced .gz is unpacked afresh, never served stale."""
    raw = _fake_mnist(tmp_path / "data", [1, 2, 3])
    assert load_split("mnist", "test", root=tmp_path / "data")[1].tolist() == [1, 2, 3]
    _fake_mnist(tmp_path / "data", [4, 5, 6, 7])
    stamp = (raw / "t10k-labels-idx1-ubyte.gz").stat().st_mtime_ns + 10**9
    for f in raw.iterdir():
        os.utime(f, ns=(stamp, stamp))
    assert load_split("mnist", "test", root=tmp_path / "data")[1].tolist() == [4, 5, 6, 7]


def test_corrupt_but_parseable_data_is_refused(tmp_path: Path, offline: None) -> None:
    """Item 5: counts that differ and labels out of range."""
    _fake_mnist(tmp_path / "a", [1, 2, 3], n_images=2)
    with pytest.raises(DataUnavailableError, match="2 images but 3 labels"):
        load_split("mnist", "test", root=tmp_path / "a")
    _fake_mnist(tmp_path / "b", [1, 200])
    with pytest.raises(DataUnavailableError, match=r"labels span \[1, 200\]"):
        load_split("mnist", "test", root=tmp_path / "b")
    folder = _tiny_cifar(tmp_path / "c")
    _cifar_entry(folder / "test_batch", labels=[0, 99, 1])
    with pytest.raises(DataUnavailableError, match=r"labels span \[0, 99\]"):
        load_split("cifar10", "test", root=tmp_path / "c")


def test_build_model_refuses_bad_sizes_and_statistics() -> None:
    """Item 6."""
    cases = [
        ({"num_classes": 2.5}, "num_classes must be an integer >= 2, got 2.5"),
        ({"image_shape": (1, 8.0, 8)}, "image_shape must be"),
        ({"mean": [float("nan")]}, "mean must hold finite numbers"),
        ({"std": [float("inf")]}, "std must hold finite numbers"),
        ({"mean": [0.1, 0.2]}, "one value per channel: the images have 1 channel"),
    ]
    for change, match in cases:
        kw = {"image_shape": (1, 8, 8), "num_classes": 10, **change}
        with pytest.raises(ValueError, match=match):
            build_model("small_cnn", **kw)  # type: ignore[arg-type]
    model = build_model("small_cnn", (np.int64(1), 8, 8), np.int64(3))
    assert model(torch.rand(2, 1, 8, 8)).shape == (2, 3)


class Sqrt(nn.Module):
    """Infinite input gradient at black pixels: d sqrt(x)/dx = inf at 0."""

    def forward(self, x: Tensor) -> Tensor:
        return x.flatten(1).sqrt() @ torch.linspace(-1, 1, 64 * 3).view(64, 3)

    def append_param(self) -> Sqrt:
        """Give it a parameter its output ignores."""
        self.unused = nn.Parameter(torch.zeros(1))
        return self


class _NaNBackward(torch.autograd.Function):
    """The identity, with a NaN gradient (as ``0 * inf`` inside a model gives)."""

    @staticmethod
    def forward(ctx: Any, z: Tensor) -> Tensor:
        return z.clone()

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        return grad * float("nan")


class NaNGrad(nn.Module):
    """Finite logits, NaN input gradient everywhere.

    (The first version added ``(z - z.detach()) * nan``, whose forward value is
    NaN too: a diverged model, which the attacks now refuse.)
    """

    def forward(self, x: Tensor) -> Tensor:
        return _NaNBackward.apply(x.flatten(1)[:, :3])


@pytest.mark.parametrize("model", [Sqrt(), NaNGrad()], ids=["inf-grad", "nan-grad"])
def test_attacks_never_return_nan(model: nn.Module) -> None:
    """Item 7: non-finite gradients and huge budgets."""
    x = images()
    results = [
        fgsm(model, x, eps=0.1),
        pgd(model, x, eps=0.1, steps=3, seed=0),
        pgd(model, x, eps=1.0, norm=2, steps=3, seed=0),
        pgd(model, x, eps=1e300, steps=2, seed=0),
        pgd(model, x, eps=3e38, norm=2, steps=2, seed=0),
        pgd(model, x, eps=0.5, alpha=1e300, norm=2, steps=2, seed=0),
        fgsm(model, x, eps=1e300),
        cw_l2(model, x, steps=3, binary_search_steps=2),
    ]
    for x_adv in results:
        assert torch.isfinite(x_adv).all() and x_adv.min() >= 0 and x_adv.max() <= 1


def test_huge_linf_eps_is_the_whole_cube() -> None:
    model, x = linear(), images()
    huge = pgd(model, x, eps=1e30, steps=2, seed=0)
    torch.testing.assert_close(huge, pgd(model, x, eps=1.0, steps=2, seed=0))


# --- crashes and unclear errors -------------------------------------------------------------


def test_nothing_is_trained_that_cannot_be_saved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []

    def recipe(*args: object) -> None:
        calls.append("trained")

    advlab.zoo.register_recipe("count-only", recipe)
    try:
        data = _tiny_digits()
        kw = {"data": data, "device": "cpu", "progress": False, "recipe": "count-only"}
        blocker = tmp_path / "a-file"
        blocker.write_text("")
        with pytest.raises(ValueError, match="is a file, not a folder"):
            pretrained(cache_dir=blocker / "models", **kw)
        cfg = TrainConfig(recipe="count-only")
        checkpoint_path(cfg, tmp_path / "c").mkdir(parents=True)
        with pytest.raises(ValueError, match="a folder of that name is in the way"):
            pretrained(cfg, cache_dir=tmp_path / "c", data=data, device="cpu", progress=False)

        def read_only(*args: object, **kwargs: object) -> None:
            raise PermissionError(13, "Permission denied")

        monkeypatch.setattr(advlab.zoo.tempfile, "mkstemp", read_only)
        with pytest.raises(ValueError, match=r"cannot cache models in .*Permission denied"):
            pretrained(cache_dir=tmp_path / "ro", **kw)
    finally:
        advlab.zoo.RECIPES.pop("count-only")
    assert calls == []


def test_a_recipe_with_bad_notes_fails_and_writes_nothing(tmp_path: Path) -> None:
    """A recipe's notes must survive JSON (and so ``weights_only`` loading); if they do not,
    pretrained says so and leaves no checkpoint behind."""
    advlab.zoo.register_recipe("bad-notes", lambda *args: {"when": object()})
    advlab.zoo.register_recipe("list-notes", lambda *args: [1, 2])
    try:
        data = _tiny_digits()
        for recipe, message in [
            ("bad-notes", "not JSON-serialisable"),
            ("list-notes", "dict of notes"),
        ]:
            cfg = TrainConfig(recipe=recipe, epochs=1)
            with pytest.raises(TypeError, match=message):
                pretrained(cfg, data=data, cache_dir=tmp_path, device="cpu", progress=False)
            assert not checkpoint_path(cfg, tmp_path).exists()
    finally:
        advlab.zoo.RECIPES.pop("bad-notes")
        advlab.zoo.RECIPES.pop("list-notes")


@pytest.mark.parametrize("content", [b"\x1f\x8b\x08\x00truncated", b"random bytes, not gzip"])
def test_bad_gz_files_raise_data_unavailable(tmp_path: Path, content: bytes, offline: None) -> None:
    raw = _fake_mnist(tmp_path, [1, 2])
    (raw / "t10k-images-idx3-ubyte.gz").write_bytes(content)
    with pytest.raises(DataUnavailableError, match=r"exist but are corrupt.*not a complete gzip"):
        load_split("mnist", "test", root=tmp_path)


def test_corrupt_unpacked_files_are_not_called_missing(tmp_path: Path, offline: None) -> None:
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (raw / name).write_bytes(b"\x00\x00\x08\x03garbage")
    with pytest.raises(DataUnavailableError) as err:
        load_split("mnist", "test", root=tmp_path)
    assert "exist but are corrupt" in str(err.value) and "not found" not in str(err.value)


def test_unreadable_folder_raises_data_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def denied(self: Path) -> bool:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "is_file", denied)
    for name in ("mnist", "cifar10"):
        with pytest.raises(DataUnavailableError, match=f"^{name}: cannot read .*Permission denied"):
            load_split(name, "test", root=tmp_path)


class Returns(nn.Module):
    def __init__(self, what: str) -> None:
        super().__init__()
        self.what = what
        self.lin = nn.Linear(64, 3)

    def forward(self, x: Tensor) -> object:
        z = self.lin(x.flatten(1))
        return {
            "tuple": (z, z),
            "dict": {"logits": z},
            "1d": z[:, 0],
            "3d": z[:, :, None],
            "int": z.long(),
        }[self.what]


@pytest.mark.parametrize(
    ("what", "match"),
    [
        ("tuple", "it returned tuple"),
        ("dict", "it returned dict"),
        ("1d", r"it returned shape \(6,\)"),
        ("3d", r"it returned shape \(6, 3, 1\)"),
        ("int", "floating-point logits, but it returned dtype torch.int64"),
    ],
)
def test_model_output_is_checked(what: str, match: str) -> None:
    model, x = Returns(what), images()
    y = torch.zeros(6, dtype=torch.long)
    for call in (
        lambda: fgsm(model, x, y, eps=0.1),
        lambda: fgsm(model, x, eps=0.1),
        lambda: pgd(model, x, y, eps=0.1, steps=1),
        lambda: cw_l2(model, x, y, steps=1, binary_search_steps=1),
        lambda: predict(model, x),
        lambda: evaluate(model, x, y),
        lambda: fit(model, x, y, epochs=1, device="cpu", progress=False),
    ):
        with pytest.raises(ValueError, match=match):
            call()


def test_devices_are_checked_everywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    model, x = linear(), images()
    y = torch.zeros(6, dtype=torch.long)
    for device in ("mps", "xpu", "cuda:7" if torch.cuda.is_available() else "cuda", "toaster"):
        with pytest.raises(ValueError, match=f"device={device!r}"):
            fit(model, x, y, epochs=1, device=device, progress=False)
        with pytest.raises(ValueError, match=f"device={device!r}"):
            pretrained(data=_tiny_digits(), device=device, progress=False)
    monkeypatch.setenv("ADVLAB_DEVICE", "mps")
    with pytest.raises(ValueError, match="ADVLAB_DEVICE='mps' names a device"):
        advlab.default_device()
    with pytest.raises(ValueError, match="x is on meta but the model is on cpu"):
        fgsm(model, x.to("meta"), eps=0.1)
    with pytest.raises(ValueError, match="x is a meta tensor"):
        predict(model, x.to("meta"))


def test_cli_turns_expected_failures_into_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    cases = [
        (["train", "--device", "mps"], "device='mps' names a device"),
        (["train", "--dataset", "cifar10", "--epochs", "1"], "cifar10: cannot read"),
        (["train", "--epochs", "0"], "epochs must be an integer >= 1, got 0"),
    ]

    real_is_file = Path.is_file
    data = tmp_path / "data"
    monkeypatch.setenv("ADVLAB_DATA", str(data))

    def denied(self: Path) -> bool:
        if str(self).startswith(str(data)):
            raise PermissionError(13, "Permission denied", str(self))
        return real_is_file(self)

    for argv, match in cases:
        with monkeypatch.context() as m:
            if "cifar10" in argv:
                m.setattr(Path, "is_file", denied)
            assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("advlab: error: ") and match in err and err.count("\n") == 1
    monkeypatch.setenv("ADVLAB_CACHE", str(blocker))
    assert main(["train", "--epochs", "1", "--device", "cpu"]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err
    monkeypatch.setenv("ADVLAB_DEVICE", "toaster")
    assert main(["info"]) == 2
    assert "ADVLAB_DEVICE='toaster'" in capsys.readouterr().err


def test_python_dash_m_advlab() -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    done = subprocess.run(
        [sys.executable, "-m", "advlab", "train", "--device", "toaster"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 2 and done.stderr.startswith("advlab: error: device='toaster'")


def test_numpy_numbers_and_seed_range() -> None:
    model, x = linear(), images()
    a = pgd(model, x, eps=np.float32(0.1), steps=np.int64(2), alpha=np.float64(0.05), seed=0)
    b = pgd(model, x, eps=0.1, steps=2, alpha=0.05, seed=np.uint64(0))
    torch.testing.assert_close(a, b)
    assert torch.equal(
        pgd(model, x, eps=0.1, steps=1, seed=2**64 - 1),
        pgd(model, x, eps=0.1, steps=1, seed=2**64 - 1),
    )
    with pytest.raises(ValueError, match="got seed=-3"):
        pgd(model, x, eps=0.1, seed=-3)
    with pytest.raises(ValueError, match="got seed=-3"):
        advlab.train.set_seed(-3)
    with pytest.raises(ValueError, match="got seed=-3"):
        TrainConfig(seed=-3)
    fit(
        model,
        x,
        torch.zeros(6, dtype=torch.long),
        epochs=np.int64(1),
        lr=np.float32(0.01),
        seed=np.int64(1),
        device="cpu",
        progress=False,
    )


def test_train_config_validates_and_is_hashable() -> None:
    assert TrainConfig(dataset="DIGITS").key() == TrainConfig().key()
    assert hash(TrainConfig(dataset="Digits")) == hash(TrainConfig())
    assert len({TrainConfig(), TrainConfig(dataset="digits"), TrainConfig(epochs=3)}) == 2
    assert TrainConfig(lr=1).lr == 1.0 and TrainConfig(epochs=np.int64(3)).epochs == 3
    for change, match in [
        ({"epochs": 2.5}, "epochs must be an integer"),
        ({"lr": float("nan")}, "lr must be a finite number > 0"),
        ({"dataset": "imagenet"}, "unknown dataset 'imagenet'"),
        ({"model": "resnet"}, "unknown model 'resnet'"),
        ({"extra": {"f": object()}}, "extra must be JSON-serialisable"),
        ({"extra": {"x": float("inf")}}, "extra must be JSON-serialisable"),
        ({"recipe": ""}, "recipe must be a non-empty string"),
    ]:
        with pytest.raises(ValueError, match=match):
            TrainConfig(**change)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown TrainConfig field"):
        pretrained(epoch=3)


def test_pretrained_takes_a_dataset_name(tmp_path: Path) -> None:
    data = _tiny_digits()
    got = pretrained(
        "DIGITS", data=data, epochs=1, cache_dir=tmp_path, device="cpu", progress=False
    )
    assert got.config.dataset == "digits"
    with pytest.raises(ValueError, match="config must be a TrainConfig or a dataset name"):
        pretrained(3)  # type: ignore[arg-type]


def test_cw_l2_runs_on_float16() -> None:
    model, x = linear(dtype=torch.float16), images(dtype=torch.float16)
    y = predict(model, x).argmax(1)
    x_adv = cw_l2(model, x, y, steps=30, binary_search_steps=6, lr=0.1)
    assert x_adv.dtype == torch.float16 and torch.isfinite(x_adv).all()
    fooled = predict(model, x_adv).argmax(1) != y
    assert fooled.float().mean() >= 0.5
    x_pgd = pgd(model, x, y, eps=0.5, norm=2, steps=5, seed=0)
    length = (x_pgd.float() - x.float()).flatten(1).norm(dim=1)
    from advlab.attacks._common import ball_tolerance

    assert length.max() <= 0.5 + 64**0.5 * ball_tolerance(torch.float16)


class Slow(nn.Module):
    """Waits at a barrier in its first forward pass, so two threads are inside an attack at once."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(64, 3)
        self.drop = nn.Dropout(0.5)
        self.barrier = threading.Barrier(2, timeout=10)

    def forward(self, x: Tensor) -> Tensor:
        if not torch.is_grad_enabled() or x.requires_grad:
            try:
                self.barrier.wait()
            except threading.BrokenBarrierError:
                pass
        return self.lin(self.drop(x.flatten(1)))


def test_two_threads_attacking_one_model_restore_it() -> None:
    x = images()
    for _ in range(10):
        model = Slow().train()
        errors: list[BaseException] = []

        def attack(model: nn.Module = model, errors: list[BaseException] = errors) -> None:
            try:
                fgsm(model, x, torch.zeros(6, dtype=torch.long), eps=0.1)
            except BaseException as err:  # pragma: no cover - reported below
                errors.append(err)

        threads = [threading.Thread(target=attack) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        assert model.training and model.drop.training
        assert all(p.requires_grad for p in model.parameters())


def test_checkpoints_are_group_readable(tmp_path: Path) -> None:
    got = pretrained(
        data=_tiny_digits(), epochs=1, cache_dir=tmp_path, device="cpu", progress=False
    )
    assert got.path.stat().st_mode & 0o777 == 0o644


def test_inference_mode_gets_a_clear_error() -> None:
    model, x = linear(), images()
    with torch.inference_mode():
        with pytest.raises(ValueError, match=r"call the attack outside the `with torch\.inference"):
            fgsm(model, x, eps=0.1)
        frozen = x.clone()
    with pytest.raises(ValueError, match="x is an inference tensor"):
        pgd(model, frozen, eps=0.1, steps=1)
    assert torch.isfinite(fgsm(model, frozen.clone(), eps=0.1)).all()


# --- security: CIFAR-10 pickles ---------------------------------------------------------------


def _cifar_entry(path: Path, labels: list[int]) -> None:
    data = np.zeros((len(labels), 3072), dtype=np.uint8)
    with open(path, "wb") as fh:
        pickle.dump({"data": data, "labels": labels, "batch_label": "b"}, fh, protocol=2)


def _tiny_cifar(root: Path) -> Path:
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for k in range(1, 6):
        _cifar_entry(folder / f"data_batch_{k}", [k % 10])
    _cifar_entry(folder / "test_batch", [0, 1, 2])
    with open(folder / "batches.meta", "wb") as fh:
        pickle.dump({"label_names": [f"c{k}" for k in range(10)]}, fh)
    return folder


class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (exec, (f"open({str(self.marker)!r}, 'w').write('pwned')",))


@pytest.mark.parametrize("victim", ["batches.meta", "data_batch_3", "test_batch"])
def test_crafted_cifar_pickle_runs_no_code(tmp_path: Path, victim: str, offline: None) -> None:
    folder = _tiny_cifar(tmp_path)
    marker = tmp_path / "marker"
    with open(folder / victim, "wb") as fh:
        pickle.dump({"label_names": ["x"] * 10, "data": _Payload(marker), "labels": []}, fh)
    split = "test" if victim != "data_batch_3" else "train"
    with pytest.raises(DataUnavailableError, match=r"not a CIFAR-10 batch.*builtins\.exec"):
        load_split("cifar10", split, root=tmp_path)
    assert not marker.exists()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # real-format files load without NumPy deprecation noise
        _tiny_cifar(tmp_path / "ok")
        x, y, classes = load_split("cifar10", "test", root=tmp_path / "ok")
    assert x.shape == (3, 3, 32, 32) and y.tolist() == [0, 1, 2] and classes[2] == "c2"


def test_normalize_refuses_mismatched_statistics() -> None:
    with pytest.raises(ValueError, match="2 means and 1 stds"):
        Normalize([0.1, 0.2], [0.3])


def test_adam_step_exceeds_lr_when_a_pixel_leaves_saturation() -> None:
    """Issue 7 item 8: cw_l2's docstring no longer claims at most about lr per Adam step."""
    from advlab.attacks.cw import _Adam

    jumps = {}
    for quiet in (50, 10_000):
        w = torch.zeros(1)
        adam = _Adam(w, lr=1.0)
        for _ in range(quiet):  # a saturated pixel: gradient ~ 1 - tanh(7.25)^2
            adam.step(w, torch.tensor([2e-6]))
        steps = []
        for _ in range(100):  # it leaves saturation: the gradient jumps and stays
            before = w.clone()
            adam.step(w, torch.tensor([1.0]))
            steps.append(abs(float(w - before)))
        jumps[quiet] = max(steps)
    assert 1.5 < jumps[50] < 1.8 and 6.0 < jumps[10_000] < 7.0
    assert '"At most about lr per step" is therefore not a bound' in " ".join(cw_l2.__doc__.split())


def test_fit_refuses_a_model_with_nothing_to_train() -> None:
    """Found by the hypothesis suite's slow mode: a deep autograd RuntimeError before."""
    x, y = images(), torch.zeros(6, dtype=torch.long)
    with pytest.raises(ValueError, match="has no trainable parameters"):
        fit(nn.Flatten(), x, y, epochs=1, device="cpu", progress=False)
    frozen = linear()
    frozen.requires_grad_(False)
    with pytest.raises(ValueError, match="has no trainable parameters"):
        fit(frozen, x, y, epochs=1, device="cpu", progress=False)
    with pytest.raises(ValueError, match="does not depend on any trainable parameter"):
        fit(Sqrt().append_param(), x, y, epochs=1, device="cpu", progress=False)
