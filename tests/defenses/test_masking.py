"""advlab.defenses.masking: the label-only wrapper has zero input gradients and the same
predictions, the input transforms are flat, ``ScaledLogits`` (logits × 1000, the minimal model of
a distilled network's saturation) kills the CE gradient; the wrappers refuse what is not a model.

Also (until it is split by module) the Part III argument battery over the masking defenses,
BPDA, transfer, the substitute, SPSA and the masking report.
"""

from __future__ import annotations

import pytest
import torch
from conftest import accuracy

from advlab.attacks import bpda, disjoint_split, fgsm, pgd, spsa, train_substitute, transfer_attack
from advlab.attacks._common import input_gradient
from advlab.defenses import (
    InputTransform,
    LabelOnly,
    LogitWiggle,
    NoisyInput,
    ScaledLogits,
    quantize,
    quantized,
    threshold,
    thresholded,
)
from advlab.metrics import masking_report

# --- the masking defenses ------------------------------------------------------------------------


def test_label_only_has_zero_gradient_and_same_predictions(digits, digits_model) -> None:
    x, y = digits.x_test[:64], digits.y_test[:64]
    masked = LabelOnly(digits_model)
    out = masked(x)
    assert torch.equal(out.argmax(1), digits_model(x).argmax(1))
    assert torch.equal(out.sum(1), torch.ones(64)) and set(out.unique().tolist()) == {0.0, 1.0}
    grad, _ = input_gradient(masked, x, y, loss="ce", targeted=False)
    assert torch.count_nonzero(grad) == 0
    assert torch.count_nonzero(input_gradient(digits_model, x, y, loss="ce", targeted=False)[0])
    assert torch.equal(fgsm(masked, x, y, eps=0.2), x)  # sign(0) = 0: FGSM is blind
    # ... and the points the model gets wrong are still wrong
    x_adv = pgd(digits_model, x, y, eps=0.2, steps=10, seed=0)
    assert torch.equal(masked(x_adv).argmax(1), digits_model(x_adv).argmax(1))


def test_input_transforms_are_flat_and_keep_predictions_close(digits, digits_model) -> None:
    x, y = digits.x_test, digits.y_test
    for defended in (quantized(digits_model, 2), thresholded(digits_model)):
        grad, _ = input_gradient(defended, x[:32], y[:32], loss="ce", targeted=False)
        assert torch.count_nonzero(grad) == 0, defended
        assert accuracy(defended, x, y) > accuracy(digits_model, x, y) - 0.1, defended
    assert sorted(quantize(torch.linspace(0, 1, 101), 2).unique().tolist()) == pytest.approx(
        [0, 1 / 3, 2 / 3, 1]
    )
    assert torch.equal(threshold(torch.tensor([0.2, 0.5, 0.7])), torch.tensor([0.0, 0.0, 1.0]))


def test_scaled_logits_keep_predictions_and_kill_the_ce_gradient(digits, digits_model) -> None:
    x, y = digits.x_test[:64], digits.y_test[:64]
    stand_in = ScaledLogits(digits_model, 1000.0)
    assert torch.equal(stand_in(x).argmax(1), digits_model(x).argmax(1))
    right = digits_model(x).argmax(1) == y
    grad, _ = input_gradient(stand_in, x, y, loss="ce", targeted=False)
    zero = grad.flatten(1).abs().amax(1) == 0
    assert zero[right].float().mean() > 0.8  # a saturated softmax: no gradient at all


# --- bad arguments -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "build",
    [
        LabelOnly,
        lambda m: ScaledLogits(m, 10.0),
        lambda m: NoisyInput(m, 0.1),
        LogitWiggle,
        quantized,
        thresholded,
        lambda m: InputTransform(m, quantize),
    ],
)
@pytest.mark.parametrize("not_a_model", [lambda x: x, "model", None])
def test_wrappers_refuse_what_is_not_a_model(build, not_a_model) -> None:
    with pytest.raises(TypeError, match=r"must be a torch\.nn\.Module"):
        build(not_a_model)


def test_bad_arguments_get_clear_errors(digits, split_models) -> None:
    target, substitute = split_models
    seed = digits.x_train[:10]
    for lam in (0, -0.1, float("nan")):
        with pytest.raises(
            ValueError, match=r"lam \(the augmentation step λ\) must be a finite number > 0"
        ):
            train_substitute(target, seed, lam=lam)
    for rounds in (0, -1):
        with pytest.raises(ValueError, match="rounds must be an integer >= 1"):
            train_substitute(target, seed, rounds=rounds)
    with pytest.raises(ValueError, match="rounds must be an integer >= 1, got float"):
        train_substitute(target, seed, rounds=2.0)
    with pytest.raises(TypeError, match=r"the target must be a torch\.nn\.Module"):
        train_substitute(lambda x: x, seed)
    with pytest.raises(ValueError, match="pass x_eval and y_eval together"):
        train_substitute(target, seed, x_eval=seed)
    with pytest.raises(ValueError, match=r"bits must be an integer in 1\.\.8"):
        quantized(target, 9)
    with pytest.raises(ValueError, match="bits must be an integer >= 1"):
        quantized(target, 0)
    with pytest.raises(ValueError, match="level must lie strictly between 0 and 1"):
        thresholded(target, 1.0)
    with pytest.raises(ValueError, match="factor must be a finite number > 0"):
        ScaledLogits(target, 0)
    for bad in (0, -1.0, float("inf")):
        with pytest.raises(ValueError, match="sigma must be a finite number > 0"):
            NoisyInput(target, bad)
        with pytest.raises(ValueError, match="amplitude must be a finite number > 0"):
            LogitWiggle(target, amplitude=bad)
        with pytest.raises(ValueError, match="frequency must be a finite number > 0"):
            LogitWiggle(target, frequency=bad)
    with pytest.raises(TypeError, match=r"bpda expects a model built by advlab\.defenses"):
        bpda(target)
    with pytest.raises(TypeError, match=r"substitute must be a torch\.nn\.Module"):
        transfer_attack(target, "sub", seed, digits.y_train[:10])
    with pytest.raises(ValueError, match="unknown attack 'nope'"):
        transfer_attack(target, substitute, seed, digits.y_train[:10], attack="nope")
    with pytest.raises(ValueError, match="eps must be > 0"):
        masking_report(target, seed, digits.y_train[:10], eps=0)
    with pytest.raises(ValueError, match="parts must be an integer >= 2"):
        disjoint_split(digits.y_train, 1)
    with pytest.raises(ValueError, match="samples must be an integer >= 1"):
        spsa(target, seed, eps=0.1, samples=0)
    with pytest.raises(ValueError, match="delta must be a finite number > 0"):
        spsa(target, seed, eps=0.1, delta=0)


# --- issue 18 item 4: the transforms map [0, 1] images, and refuse others ------------------------


@pytest.mark.parametrize(
    "transform",
    [lambda x: quantize(x, 2), lambda x: threshold(x, 0.5)],
    ids=["quantize", "threshold"],
)
@pytest.mark.parametrize("bad", [2.0, -1.0, float("nan")], ids=["above", "below", "nan"])
def test_transforms_refuse_images_outside_the_unit_interval(transform, bad: float) -> None:
    x = torch.rand(2, 1, 4, 4)
    x[0, 0, 0, 0] = bad
    with pytest.raises(ValueError, match=r"\[0, 1\]|NaN"):
        transform(x)


def test_quantize_of_doubled_images_is_refused_not_stretched() -> None:
    x = torch.rand(2, 1, 4, 4)
    assert float(quantize(x, 2).max()) <= 1.0
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\]"):
        quantize(x * 2 + 0.01, 2)


def test_a_transform_inside_a_model_takes_probes_just_outside_the_box() -> None:
    """SPSA probes x ± delta·v unclipped; the defended model must score them (chapter 5 does),
    while quantize/threshold called directly still refuse images outside [0, 1]."""
    from conftest import tiny_conv

    from advlab.attacks import spsa

    base = tiny_conv().eval()
    x = torch.rand(3, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    y = torch.tensor([0, 1, 2])
    for defended in (quantized(base, 2), thresholded(base)):
        x_adv = spsa(defended, x, y, eps=0.05, steps=2, samples=4, seed=0)
        assert x_adv.shape == x.shape and 0 <= float(x_adv.min()) and float(x_adv.max()) <= 1
        outside = x * 1.02 - 0.01  # values in [-0.01, 1.01], as SPSA's probes
        with torch.no_grad():
            assert torch.isfinite(defended(outside)).all()
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        quantize(x * 1.02 - 0.01, 2)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        threshold(x * 1.02 - 0.01)


# --- issue 20 items 12-13: a randomised defense and a wiggle on the logits -----------------------


def test_noisy_input_differs_between_calls_and_repeats_from_its_seed(digits, digits_model) -> None:
    x = digits.x_test[:50]
    a, b = NoisyInput(digits_model, 0.1, seed=3), NoisyInput(digits_model, 0.1, seed=3)
    with torch.no_grad():
        first, second = a(x), a(x)
        assert not torch.equal(first, second)  # randomised
        assert torch.equal(first, b(x))  # but reproducible from its seed
        # small noise keeps most predictions: it is a defense, not a broken model
        agree = (first.argmax(1) == digits_model(x).argmax(1)).float().mean()
    assert agree > 0.8


def test_logit_wiggle_keeps_predictions_and_swamps_the_gradient(digits, digits_model) -> None:
    x, y = digits.x_test[:50], digits.y_test[:50]
    wiggled = LogitWiggle(digits_model, amplitude=0.5, frequency=300.0)
    with torch.no_grad():
        agree = (wiggled(x).argmax(1) == digits_model(x).argmax(1)).float().mean()
        assert torch.equal(wiggled(x), wiggled(x))  # deterministic
    assert agree > 0.9
    g_wiggled, _ = input_gradient(wiggled, x, y, loss="ce", targeted=False)
    g_plain, _ = input_gradient(digits_model, x, y, loss="ce", targeted=False)
    # the wiggle's term (amplitude x frequency / 8 per pixel and logit) dwarfs the model's gradient
    assert g_wiggled.abs().mean() > 5 * g_plain.abs().mean()
