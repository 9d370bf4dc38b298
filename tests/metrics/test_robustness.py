"""advlab.metrics.robustness and the book settings' evaluation subset."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
from torch import nn

from advlab import fgsm, pgd, predict
from advlab.book.settings import QUICK_EVAL_SIZE, eval_indices, settings
from advlab.metrics import first_success, margin_at, robust_accuracy, robust_mask, success_matrix


class Linear2(nn.Module):
    """Two classes on one-pixel images: logits (x - 0.5, 0.5 - x) * scale."""

    def __init__(self, scale: float = 4.0) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.tensor(scale))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        v = x.flatten(1).mean(dim=1) - 0.5
        return torch.stack([v, -v], dim=1) * self.w


@pytest.fixture
def lin() -> nn.Module:
    return Linear2().eval()


def _pixels(*values: float) -> torch.Tensor:
    return torch.tensor(values).reshape(-1, 1, 1, 1)


# ---------------------------------------------------------------- margin_at


def test_margin_known_answer(lin) -> None:
    x = _pixels(0.9, 0.6, 0.2)
    y = torch.tensor([0, 1, 1])
    m = margin_at(lin, x, y)
    # logit 0 = 4(x - 0.5), logit 1 = -4(x - 0.5): margin for class 0 is 8(x - 0.5)
    assert torch.allclose(m, torch.tensor([3.2, -0.8, 2.4]), atol=1e-5)
    assert ((m > 0) == (predict(lin, x).argmax(1) == y)).all()


def test_margin_on_digits_matches_accuracy(digits, digits_model) -> None:
    x, y = digits.x_test[:100], digits.y_test[:100]
    m = margin_at(digits_model, x, y)
    acc = float((predict(digits_model, x).argmax(1) == y).float().mean())
    assert float((m > 0).float().mean()) == pytest.approx(acc)


def test_margin_rejects_bad_labels(lin) -> None:
    with pytest.raises(ValueError, match=re.escape("class indices in [0, 1]")):
        margin_at(lin, _pixels(0.5), torch.tensor([2]))
    with pytest.raises(ValueError, match="must have shape"):
        margin_at(lin, _pixels(0.5, 0.6), torch.tensor([0]))


# ---------------------------------------------------------------- robust_accuracy


def test_robust_accuracy_known_answer(lin) -> None:
    # FGSM moves each pixel by eps away from its class: images within eps of 0.5 flip.
    x = _pixels(0.9, 0.62, 0.55, 0.1, 0.45)
    y = torch.tensor([0, 0, 0, 1, 1])
    assert robust_accuracy(lin, fgsm, x, y, eps=0.0) == 1.0
    assert robust_accuracy(lin, fgsm, x, y, eps=0.1) == pytest.approx(3 / 5)
    assert robust_accuracy(lin, "fgsm", x, y, eps=0.3) == pytest.approx(2 / 5)


def test_robust_mask_keeps_the_per_image_outcome(lin) -> None:
    x = _pixels(0.9, 0.62, 0.55, 0.1, 0.45)
    y = torch.tensor([0, 0, 0, 1, 1])
    mask = robust_mask(lin, fgsm, x, y, eps=0.1)
    assert mask.dtype == torch.bool and mask.shape == y.shape
    assert mask.tolist() == [True, True, False, True, False]  # 0.55 and 0.45 are within 0.1
    assert float(mask.float().mean()) == robust_accuracy(lin, fgsm, x, y, eps=0.1)
    with pytest.raises(ValueError, match="untargeted"):
        robust_mask(lin, fgsm, x, y, eps=0.1, targeted=True)


def test_robust_accuracy_real_effect(digits, digits_model) -> None:
    x, y = digits.x_test[:120], digits.y_test[:120]
    clean = robust_accuracy(digits_model, fgsm, x, y, eps=0.0)
    weak = robust_accuracy(digits_model, fgsm, x, y, eps=0.1)
    strong = robust_accuracy(digits_model, pgd, x, y, eps=0.1, steps=10, seed=0)
    assert clean > 0.8 and weak < clean - 0.1 and strong <= weak


def test_robust_accuracy_rejects(lin) -> None:
    x, y = _pixels(0.9), torch.tensor([0])
    with pytest.raises(ValueError, match="drop targeted=True"):
        robust_accuracy(lin, fgsm, x, y, eps=0.1, targeted=True)
    with pytest.raises(ValueError, match="unknown attack 'nope'"):
        robust_accuracy(lin, "nope", x, y)
    with pytest.raises(TypeError, match="x_adv"):
        robust_accuracy(lin, lambda m, x, y: 3, x, y)


# ---------------------------------------------------------------- first_success


def test_first_success_known_answer(lin) -> None:
    x = _pixels(0.9, 0.62, 0.55, 0.1)
    y = torch.tensor([0, 0, 0, 1])
    size, budget = first_success(
        lin, lambda xs, ys, e: fgsm(lin, xs, ys, eps=e), x, y, [0.05, 0.1, 0.2, 0.3]
    )
    # distances to 0.5: 0.4, 0.12, 0.05, 0.4 -> flips at the first eps > distance
    assert budget[1] == pytest.approx(0.2) and budget[2] == pytest.approx(0.1)
    assert math.isnan(budget[0]) and math.isnan(budget[3]) and math.isnan(size[0])
    assert size[1] == pytest.approx(0.2) and size[2] == pytest.approx(0.1)  # one pixel: L2 = L∞


def test_first_success_only_attacks_the_survivors(lin) -> None:
    x = _pixels(0.9, 0.55)
    y = torch.tensor([0, 0])
    seen = []

    def attack(xs, ys, e):
        seen.append(len(xs))
        return fgsm(lin, xs, ys, eps=e)

    first_success(lin, attack, x, y, [0.1, 0.2, 0.3])
    assert seen == [2, 1, 1]


def test_first_success_rejects(lin) -> None:
    x, y = _pixels(0.9), torch.tensor([0])
    with pytest.raises(ValueError, match="budgets must be a non-empty"):
        first_success(lin, lambda a, b, e: a, x, y, [])
    with pytest.raises(ValueError, match="unknown norm"):
        first_success(lin, lambda a, b, e: a, x, y, [0.1], norm=3)


# ---------------------------------------------------------------- success_matrix


def test_success_matrix_counts_pairs() -> None:
    class Fixed(nn.Module):
        """Predicts the class stored in the first pixel (times 10)."""

        def forward(self, x):
            k = (x.flatten(1)[:, 0] * 10).round().long()
            return nn.functional.one_hot(k, 3).float()

    x_adv = _pixels(0.1, 0.2, 0.0, 0.2, 0.0)  # predictions 1, 2, 0, 2, 0
    src = torch.tensor([0, 0, 1, 1, 2])
    tgt = torch.tensor([1, 1, 0, 2, 1])
    m = success_matrix(Fixed(), x_adv, src, tgt, 3)
    assert m.shape == (3, 3)
    assert m[0, 1] == 0.5 and m[1, 0] == 1.0 and m[1, 2] == 1.0 and m[2, 1] == 0.0
    assert np.isnan(m[0, 0]) and np.isnan(m[2, 0])
    with pytest.raises(ValueError, match=re.escape("targets must hold class indices in [0, 2]")):
        success_matrix(Fixed(), x_adv, src, tgt + 2, 3)


# ---------------------------------------------------------------- settings


def test_eval_subset_is_fixed_and_documented(monkeypatch, digits) -> None:
    a, b = eval_indices(10_000, QUICK_EVAL_SIZE), eval_indices(10_000, QUICK_EVAL_SIZE)
    assert torch.equal(a, b) and len(a) == QUICK_EVAL_SIZE == len(set(a.tolist()))
    assert (a[1:] > a[:-1]).all() and int(a.max()) < 10_000
    assert torch.equal(eval_indices(360, 1000), torch.arange(360))
    assert torch.equal(eval_indices(50, None), torch.arange(50))
    monkeypatch.delenv("ADVLAB_PROFILE", raising=False)
    monkeypatch.delenv("ADVLAB_DATASET", raising=False)
    x, y = settings().eval_subset(digits)
    assert len(x) == len(y) == len(digits.y_test)  # 360 < 500: the whole test set
    with pytest.raises(ValueError, match="size must be None"):
        eval_indices(10, 0)
    with pytest.raises(TypeError, match="advlab Dataset"):
        settings().eval_subset((x, y))


def test_settings_live_and_profile(monkeypatch) -> None:
    monkeypatch.setenv("ADVLAB_LIVE", "1")
    monkeypatch.setenv("ADVLAB_PROFILE", "full")
    s = settings()
    assert s.live and s.eval_size is None and "all" in s.describe()
    monkeypatch.delenv("ADVLAB_LIVE")
    monkeypatch.setenv("ADVLAB_PROFILE", "quick")
    assert not settings().live and settings().eval_size == QUICK_EVAL_SIZE


def test_seed_setting_shifts_every_derived_seed(monkeypatch) -> None:
    monkeypatch.delenv("ADVLAB_SEED", raising=False)
    base = settings()
    assert base.seed == 0 and base.seed_for(3) == 3 and "seed=0" in base.describe()
    monkeypatch.setenv("ADVLAB_SEED", " 7 ")
    s = settings()
    assert s.seed == 7 and s.seed_for(0) == 7 and s.seed_for(3) == 10 and "seed=7" in s.describe()
    # generators: the same offset gives the same stream, another seed another one
    assert torch.equal(
        torch.rand(5, generator=s.generator(2)), torch.rand(5, generator=s.generator(2))
    )
    assert not torch.equal(
        torch.rand(5, generator=s.generator(2)), torch.rand(5, generator=base.generator(2))
    )
    for bad in ("-1", "one", "1.5", str(2**40)):
        monkeypatch.setenv("ADVLAB_SEED", bad)
        with pytest.raises(ValueError, match=r"ADVLAB_SEED=.*use an integer from 0"):
            settings()
    with pytest.raises(ValueError, match="offset must be an integer"):
        s.seed_for(-1)
    with pytest.raises(ValueError, match="offset must be an integer"):
        s.seed_for(True)


def test_eval_subset_follows_the_seed(monkeypatch) -> None:
    a, b = eval_indices(10_000, QUICK_EVAL_SIZE, 0), eval_indices(10_000, QUICK_EVAL_SIZE, 1)
    assert torch.equal(a, eval_indices(10_000, QUICK_EVAL_SIZE))  # seed 0 is the default
    assert len(b) == QUICK_EVAL_SIZE and not torch.equal(a, b)
    assert torch.equal(eval_indices(360, 500, 5), torch.arange(360))  # a small set: all of it
    with pytest.raises(ValueError, match="seed must be an integer"):
        eval_indices(100, 10, -2)


def test_threads_setting(monkeypatch) -> None:
    before = torch.get_num_threads()
    try:
        monkeypatch.delenv("ADVLAB_THREADS", raising=False)
        s = settings()
        assert s.threads is None and s.apply_threads("cpu", default=1) == 1
        assert s.apply_threads("cpu", default=None) == 1  # None: left as it is
        monkeypatch.setenv("ADVLAB_THREADS", "2")
        s = settings()
        assert s.threads == 2 and "threads=2" in s.describe()
        assert s.apply_threads("cpu", default=1) == 2  # the setting wins over the default
        for bad in ("0", "two", "-3"):
            monkeypatch.setenv("ADVLAB_THREADS", bad)
            with pytest.raises(ValueError, match=r"ADVLAB_THREADS=.*positive integer"):
                settings()
    finally:
        torch.set_num_threads(before)


# --- found by the hypothesis suite (tests/test_fuzz_public_api.py) --------------------------------


def _tiny3() -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    return (
        nn.Sequential(nn.Flatten(), nn.Linear(16, 3)),
        torch.rand(4, 1, 4, 4),
        torch.arange(4) % 3,
    )


def test_metrics_refuse_an_attack_that_returns_the_wrong_number_of_images() -> None:
    model, x, y = _tiny3()

    def shrink(
        model: nn.Module, x: torch.Tensor, y: torch.Tensor, **kwargs: object
    ) -> torch.Tensor:
        return x[:1]

    with pytest.raises(ValueError, match="one adversarial image per input image"):
        robust_accuracy(model, shrink, x, y)
    with pytest.raises(ValueError, match="one adversarial image per input image"):
        first_success(model, lambda x, y, b: x[:1], x, y, [0.1])
    with pytest.raises(ValueError, match="one adversarial image per input image"):
        first_success(model, lambda x, y, b: x[..., :2], x, y, [0.1])


def test_robust_accuracy_takes_a_real_flag_for_targeted() -> None:
    model, x, y = _tiny3()
    with pytest.raises(ValueError, match="targeted must be True or False"):
        robust_accuracy(model, fgsm, x, y, eps=0.1, targeted="False")
    assert 0 <= robust_accuracy(model, fgsm, x, y, eps=0.1, targeted=False) <= 1


@pytest.mark.parametrize(
    ("num_classes", "message"),
    [
        (2.5, "num_classes must be an integer >= 1, got float"),
        ("3", "num_classes must be an integer >= 1, got str"),
        (True, "num_classes must be an integer >= 1, got bool"),
        (0, "num_classes must be an integer >= 1, got 0"),
        (10**12, "exceeds the model's 3 classes"),
    ],
)
def test_success_matrix_checks_num_classes(num_classes: object, message: str) -> None:
    model, x, y = _tiny3()
    with pytest.raises(ValueError, match=message):
        success_matrix(model, x, y % 2, (y + 1) % 2, num_classes=num_classes)  # type: ignore[arg-type]
    assert success_matrix(model, x, y % 2, (y + 1) % 2, num_classes=np.int64(2)).shape == (2, 2)


def test_eval_indices_takes_numpy_integers_and_refuses_tensors_and_huge_sets() -> None:
    assert torch.equal(eval_indices(np.int64(20), np.int64(4)), eval_indices(20, 4))
    with pytest.raises(ValueError, match="size must be None"):
        eval_indices(20, torch.tensor([1, 2]))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="larger than any test set"):
        eval_indices(10**12, 5)


def test_heavy_size_only_shrinks_large_images_in_the_quick_profile(monkeypatch, digits) -> None:
    from dataclasses import replace

    from advlab.book.settings import QUICK_HEAVY_SIZE

    monkeypatch.delenv("ADVLAB_DATASET", raising=False)
    monkeypatch.setenv("ADVLAB_PROFILE", "quick")
    quick = settings()
    assert quick.heavy_size(digits) is None  # 8×8: the expensive cells use every evaluated image
    # the same data upsampled to 16×16 (256 pixels > 64): the quick profile's heavy subset
    big = replace(
        digits,
        x_test=torch.nn.functional.interpolate(digits.x_test[:4], scale_factor=2),
        y_test=digits.y_test[:4],
    )
    assert quick.heavy_size(big) == QUICK_HEAVY_SIZE < QUICK_EVAL_SIZE
    monkeypatch.setenv("ADVLAB_PROFILE", "full")
    assert settings().heavy_size(big) is None
    with pytest.raises(TypeError, match="advlab Dataset"):
        quick.heavy_size((digits.x_test, digits.y_test))


# ---------------------------------------------------------------- issue 18: NaN models, label ranges


class NaNModel(nn.Module):
    """A diverged model: every logit is NaN (its arg-max would be class 0)."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.tensor(float("nan")))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1)[:, :3] * self.w


def test_robust_accuracy_refuses_a_nan_model() -> None:
    from advlab.attacks import random_noise

    x, y = torch.rand(4, 1, 2, 2), torch.zeros(4, dtype=torch.long)
    with pytest.raises(ValueError, match="NaN or infinite logits"):
        robust_accuracy(NaNModel(), random_noise, x, y, eps=0.1, seed=0)
    with pytest.raises(ValueError, match="NaN or infinite logits"):
        robust_mask(NaNModel(), "random_noise", x, y, eps=0.1, seed=0)


def test_robust_accuracy_refuses_labels_beyond_the_model_with_a_label_blind_attack(lin) -> None:
    from advlab.attacks import random_noise

    x, y = _pixels(0.2, 0.8), torch.tensor([0, 7])
    with pytest.raises(ValueError, match=r"class indices in \[0, 1\]"):
        robust_accuracy(lin, random_noise, x, y, eps=0.1, seed=0)


def test_first_success_refuses_labels_beyond_the_model(lin) -> None:
    with pytest.raises(ValueError, match=r"class indices in \[0, 1\]"):
        first_success(lin, lambda x, y, e: x, _pixels(0.2, 0.8), torch.tensor([0, 5]), [0.1])


def test_first_success_refuses_nan_budgets(lin) -> None:
    with pytest.raises(ValueError, match="budgets must be a non-empty list of finite"):
        first_success(lin, lambda x, y, e: x, _pixels(0.2), torch.tensor([1]), [0.1, math.nan])
