"""advlab.models, advlab.train, advlab.zoo, advlab.device and advlab.book.settings."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from advlab import default_device, evaluate, fit, load_dataset, predict
from advlab.book.settings import settings
from advlab.models import Normalize, SmallCNN, build_model
from advlab.zoo import TrainConfig, checkpoint_path, pretrained

# ---- models ---------------------------------------------------------------------------------


def test_normalize_is_per_channel_and_inside_the_model() -> None:
    norm = Normalize([0.5, 0.0, 1.0], [0.5, 1.0, 2.0])
    x = torch.ones(2, 3, 4, 4)
    out = norm(x)
    assert torch.allclose(out[:, 0], torch.ones(2, 4, 4))
    assert torch.allclose(out[:, 1], torch.ones(2, 4, 4))
    assert torch.allclose(out[:, 2], torch.zeros(2, 4, 4))
    assert "normalize.mean" in SmallCNN((3, 8, 8), 10).state_dict()


@pytest.mark.parametrize(
    ("shape", "classes"), [((1, 8, 8), 10), ((1, 28, 28), 10), ((3, 32, 32), 7), ((3, 5, 9), 2)]
)
def test_small_cnn_adapts_to_any_shape_and_class_count(
    shape: tuple[int, int, int], classes: int
) -> None:
    model = build_model("small_cnn", shape, classes)
    assert model(torch.rand(4, *shape)).shape == (4, classes)


def test_build_model_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match=r"unknown model 'resnet'.*'small_cnn'"):
        build_model("resnet", (1, 8, 8), 10)
    with pytest.raises(ValueError, match="image_shape must be"):
        build_model("small_cnn", (8, 8), 10)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="num_classes"):
        build_model("small_cnn", (1, 8, 8), 1)
    with pytest.raises(ValueError, match="std must be positive"):
        Normalize([0.0], [0.0])


# ---- train ----------------------------------------------------------------------------------


def _tiny_problem() -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(64, 1, 8, 8, generator=gen)
    y = (x.mean(dim=(1, 2, 3)) > 0.5).long()
    return x, y


def test_fit_is_deterministic_given_the_seed() -> None:
    x, y = _tiny_problem()
    weights = []
    for _ in range(2):
        torch.manual_seed(1)
        model = SmallCNN((1, 8, 8), 2, width=4)
        fit(model, x, y, epochs=2, batch_size=16, seed=3, device="cpu", progress=False)
        weights.append(torch.cat([p.flatten() for p in model.parameters()]))
    assert torch.equal(weights[0], weights[1])


def test_fit_hooks_perturb_and_soft_label_loss() -> None:
    x, y = _tiny_problem()
    seen: list[int] = []

    def perturb(model: nn.Module, xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        seen.append(len(xb))
        return xb.flip(-1)

    soft = F.one_hot(y, 2).float() * 0.9 + 0.05
    model = SmallCNN((1, 8, 8), 2, width=4)
    hist = fit(
        model,
        x,
        soft,
        epochs=2,
        batch_size=32,
        device="cpu",
        progress=False,
        perturb=perturb,
        loss_fn=lambda logits, t: F.cross_entropy(logits, t),
    )
    assert seen == [32, 32, 32, 32] and len(hist.loss) == 2


def test_fit_perturb_may_return_a_larger_batch_with_its_labels() -> None:
    x, y = _tiny_problem()
    sizes: list[int] = []

    def mixed(model: nn.Module, xb: torch.Tensor, yb: torch.Tensor):
        return torch.cat([xb, xb.flip(-1)]), torch.cat([yb, yb])

    def bad(model: nn.Module, xb: torch.Tensor, yb: torch.Tensor):
        return torch.cat([xb, xb]), yb

    model = SmallCNN((1, 8, 8), 2, width=4)
    orig_forward = model.forward
    model.forward = lambda inp: (sizes.append(len(inp)), orig_forward(inp))[1]  # type: ignore[method-assign]
    fit(model, x, y, epochs=1, batch_size=32, device="cpu", progress=False, perturb=mixed)
    assert sizes == [64, 64]
    with pytest.raises(ValueError, match="64 images for 32 labels"):
        fit(model, x, y, epochs=1, batch_size=32, device="cpu", progress=False, perturb=bad)


def test_fit_rejects_mismatched_data() -> None:
    x, y = _tiny_problem()
    with pytest.raises(ValueError, match=r"y must have shape \(64,\) to match x's 64 images"):
        fit(SmallCNN((1, 8, 8), 2), x, y[:10], progress=False)
    with pytest.raises(ValueError, match="epochs must be an integer >= 1, got 0"):
        fit(SmallCNN((1, 8, 8), 2), x, y, epochs=0, progress=False)


def test_predict_and_evaluate_restore_train_mode() -> None:
    x, y = _tiny_problem()
    model = SmallCNN((1, 8, 8), 2).train()
    model.classifier.eval()  # a mixed state is restored module by module
    evaluate(model, x, y)
    assert model.training and model.features.training and not model.classifier.training
    assert predict(model, x).shape == (64, 2)


# ---- zoo ------------------------------------------------------------------------------------


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


# ---- device and settings ----------------------------------------------------------------------


def test_device_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADVLAB_DEVICE", "cpu")
    assert default_device() == torch.device("cpu")
    monkeypatch.setenv("ADVLAB_DEVICE", "toaster")
    with pytest.raises(ValueError, match="ADVLAB_DEVICE='toaster'"):
        default_device()
    if not torch.cuda.is_available():
        monkeypatch.setenv("ADVLAB_DEVICE", "cuda")
        with pytest.raises(ValueError, match="names a device this machine does not have"):
            default_device()
    monkeypatch.delenv("ADVLAB_DEVICE")
    assert default_device().type == ("cuda" if torch.cuda.is_available() else "cpu")


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
