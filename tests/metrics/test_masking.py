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
from advlab.defenses import LabelOnly, ScaledLogits
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
    assert "FAIL" in str(report) and len(report.rows()) == 5


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
