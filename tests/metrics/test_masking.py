"""advlab.metrics.masking: the sanity checks flag the label-only and the distilled models and pass
the undefended and a PGD-trained one.

The distilled model is the real one (advlab.defenses.distillation at T = 100, trained on the
defender's half); ``ScaledLogits`` is its minimal stand-in.
"""

from __future__ import annotations

import pytest
import torch

import advlab
from advlab.attacks import pgd
from advlab.defenses import LabelOnly, LogitWiggle, NoisyInput, ScaledLogits
from advlab.metrics import masking_report

# --- the sanity checks ---------------------------------------------------------------------------

REPORT = {"steps": 10, "spsa_steps": 10, "spsa_samples": 8}


def test_masking_report_flags_the_label_only_model(digits, split_models) -> None:
    target, substitute = split_models
    x, y = digits.x_test[:60], digits.y_test[:60]
    report = masking_report(LabelOnly(target), x, y, eps=0.15, substitute=substitute, **REPORT)
    assert report.flagged
    assert report["white-box beats transfer"].passed is False
    assert report["accuracy falls"].passed is False
    assert "FAIL" in str(report) and len(report.rows()) == 7
    # at eps = 1 the check starts PGD at the clean image: its random start alone fools many
    # images even of a model with no gradient, and must not decide the check
    start, from_x = report.fooled["random start @1"], report.fooled["PGD@1 from x"]
    assert start.sum() > from_x.sum() + 10
    assert report["the gradient predicts the loss"].passed is False  # zero gradient everywhere


def test_masking_report_flags_the_distilled_model(digits, split_models, tmp_path_factory) -> None:
    from advlab.book.catalog import defender_config

    _, substitute = split_models
    cfg = defender_config("digits", 8, "distillation", {"temperature": 100.0})
    distilled = advlab.pretrained(
        cfg,
        data=digits,
        cache_dir=tmp_path_factory.mktemp("zoo-distilled"),
        device="cpu",
        progress=False,
    ).model
    x, y = digits.x_test[:60], digits.y_test[:60]
    report = masking_report(distilled, x, y, eps=0.15, substitute=substitute, **REPORT)
    assert report.flagged, str(report)
    assert report["white-box beats transfer"].passed is False, str(report)
    # the minimal model of the same saturation is flagged for the same reasons
    stand_in = masking_report(
        ScaledLogits(split_models[0], 1000.0), x, y, eps=0.15, substitute=substitute, **REPORT
    )
    assert stand_in["gradient-free does not beat gradient attacks"].passed is False
    assert stand_in["white-box beats transfer"].passed is False


def test_masking_report_passes_the_undefended_model(digits, split_models) -> None:
    target, substitute = split_models
    x, y = digits.x_test[:60], digits.y_test[:60]
    report = masking_report(target, x, y, eps=0.15, substitute=substitute, **REPORT)
    assert not report.flagged, str(report)
    assert all(c.passed for c in report.checks)
    skipped = masking_report(target, x[:20], y[:20], eps=0.15, **REPORT)
    assert skipped["white-box beats transfer"].passed is None


@pytest.mark.slow
def test_masking_report_passes_a_pgd_trained_model(digits, split_models) -> None:
    _, substitute = split_models
    torch.manual_seed(0)
    model = advlab.build_model("small_cnn", digits.image_shape, 10)
    advlab.fit(
        model,
        digits.x_train,
        digits.y_train,
        epochs=10,
        device="cpu",
        progress=False,
        perturb=lambda m, xb, yb: pgd(m, xb, yb, eps=0.15, steps=5, seed=0),
    )
    model.eval()
    x, y = digits.x_test[:60], digits.y_test[:60]
    report = masking_report(model, x, y, eps=0.15, substitute=substitute, **REPORT)
    assert not report.flagged, str(report)
    assert report.accuracies["PGD"] > 0.3  # robust, not just unmasked


# --- issue 20 items 8-13: per-image verdicts, many noise draws, EOT, masking on top --------------


def test_the_verdicts_are_paired_tests_on_the_same_images(digits, split_models) -> None:
    target, substitute = split_models
    x, y = digits.x_test[:60], digits.y_test[:60]
    report = masking_report(LabelOnly(target), x, y, eps=0.15, substitute=substitute, **REPORT)
    check = report["white-box beats transfer"]
    t = check.test
    assert t is not None and t.n == 60
    # a_only: the images transfer fools and PGD does not, from the report's own masks
    fooled = report.fooled
    assert t.a_only == int((fooled["transfer"] & ~fooled["PGD"]).sum())
    assert t.b_only == int((fooled["PGD"] & ~fooled["transfer"]).sum())
    assert check.p_value == t.p_value < report.alpha
    assert all(len(v) == 60 and v.dtype == torch.bool for v in fooled.values())


def test_more_noise_draws_fool_a_superset_of_the_images(digits, split_models) -> None:
    target, _ = split_models
    x, y = digits.x_test[:60], digits.y_test[:60]
    one = masking_report(target, x, y, eps=0.15, noise_samples=1, **REPORT).fooled["noise"]
    many = masking_report(target, x, y, eps=0.15, noise_samples=30, **REPORT).fooled["noise"]
    assert bool((one <= many).all()) and many.sum() > one.sum()


def test_a_wiggle_on_the_logits_fails_the_gradient_check(digits, split_models) -> None:
    target, _ = split_models
    x, y = digits.x_test[:60], digits.y_test[:60]
    honest = masking_report(target, x, y, eps=0.15, **REPORT)
    assert honest["the gradient predicts the loss"].passed, str(honest)
    wiggled = masking_report(LogitWiggle(target), x, y, eps=0.15, **REPORT)
    check = wiggled["the gradient predicts the loss"]
    assert check.passed is False and check.values["misleading share"] > 0.5, str(wiggled)
    # the wiggle leaves plain PGD with far more accuracy than on the model underneath
    assert wiggled.accuracies["PGD"] > honest.accuracies["PGD"] + 0.2


def test_a_randomised_model_must_be_attacked_with_eot(digits, split_models) -> None:
    target, _ = split_models
    x, y = digits.x_test[:40], digits.y_test[:40]
    plain = masking_report(NoisyInput(target, 0.1), x, y, eps=0.15, **REPORT)
    assert plain["outputs are deterministic"].passed is False
    assert "eot=" in plain["outputs are deterministic"].detail
    assert plain["the gradient predicts the loss"].passed is None  # not run on random outputs
    with_eot = masking_report(NoisyInput(target, 0.1), x, y, eps=0.15, eot=4, **REPORT)
    assert with_eot["outputs are deterministic"].passed is True
    assert masking_report(target, x, y, eps=0.15, **REPORT)["outputs are deterministic"].passed


def test_keep_examples_returns_images_inside_the_ball(digits, split_models) -> None:
    target, substitute = split_models
    x, y = digits.x_test[:20], digits.y_test[:20]
    report = masking_report(
        target, x, y, eps=0.15, substitute=substitute, keep_examples=True, **REPORT
    )
    for name in ("FGSM", "PGD", "SPSA", "transfer"):
        d = (report.examples[name] - x).abs().amax()
        assert d <= 0.15 + 1e-6, name
    assert masking_report(target, x, y, eps=0.15, **REPORT).examples == {}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"consistency": 0}, "consistency must be a finite number > 0"),
        ({"consistency": 1.5}, r"consistency must lie in \(0, 1\]"),
        ({"alpha": 1.0}, r"alpha must lie in \(0, 1\)"),
        ({"noise_samples": 0}, "noise_samples must be an integer >= 1"),
        ({"eot": 0}, "eot must be an integer >= 1"),
        ({"keep_examples": "yes"}, "keep_examples must be True or False"),
    ],
)
def test_bad_report_options_get_clear_errors(digits, split_models, kwargs, message) -> None:
    target, _ = split_models
    with pytest.raises((ValueError, TypeError), match=message):
        masking_report(target, digits.x_test[:5], digits.y_test[:5], eps=0.1, **kwargs)
