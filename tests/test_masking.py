"""Part III: masking defenses, BPDA, transfer, Papernot's substitute, SPSA and the sanity checks.

The issue's list: the label-only wrapper has zero input gradients and the same
predictions; transfer from a substitute succeeds well above chance against the
label-only model; BPDA beats plain PGD on the quantised model; the sanity
checks flag the label-only and the distilled models and pass a PGD-trained
one; query counts are exact; bad arguments get clear errors. Plus the attack
contract for the two new registered attacks (SPSA, random noise).

The distilled model is the real one (advlab.defenses.distillation at T = 100,
trained on the defender's half); ``ScaledLogits`` (logits × 1000) is tested on
its own as the minimal model of the same saturation.
"""

from __future__ import annotations

import pytest
import torch
from conftest import tiny_conv
from torch import Tensor, nn

import advlab
from advlab.attacks import (
    ATTACKS,
    BPDA,
    LabelOracle,
    bpda,
    disjoint_split,
    fgsm,
    jacobian_augment,
    pgd,
    random_noise,
    spsa,
    train_substitute,
    transfer_attack,
)
from advlab.attacks._common import input_gradient
from advlab.defenses import (
    InputTransform,
    LabelOnly,
    ScaledLogits,
    quantize,
    quantized,
    threshold,
    thresholded,
)
from advlab.metrics import masking_report

pytestmark = pytest.mark.usefixtures("one_thread")


def images(n: int = 6, seed: int = 0) -> Tensor:
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 1, 8, 8, generator=g)
    x[:, :, 0] = 0.0
    x[:, :, -1] = 1.0
    return x


def accuracy(model: nn.Module, x: Tensor, y: Tensor) -> float:
    return float((advlab.predict(model, x).argmax(1) == y).float().mean())


@pytest.fixture(scope="module")
def split_models(digits, tmp_path_factory) -> tuple[nn.Module, nn.Module]:
    """Target trained on half 0 of the digits' training set, the attacker's substitute on half 1."""
    folder = tmp_path_factory.mktemp("zoo-split")
    target, sub = (
        advlab.pretrained(
            recipe="split",
            extra={"part": part, "parts": 2},
            epochs=8,
            data=digits,
            cache_dir=folder,
            device="cpu",
            progress=False,
        ).model
        for part in (0, 1)
    )
    return target, sub


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


# --- BPDA ----------------------------------------------------------------------------------------


def test_bpda_keeps_the_forward_pass_and_uses_the_approximation_backwards() -> None:
    layer = BPDA(lambda t: quantize(t, 1))
    x = images().requires_grad_(True)
    out = layer(x)
    assert torch.equal(out, quantize(x.detach(), 1))
    (grad,) = torch.autograd.grad((out * 3).sum(), x)
    assert torch.equal(grad, torch.full_like(x, 3.0))  # the identity's derivative
    square = BPDA(lambda t: quantize(t, 1), backward_fn=lambda t: t * t)
    (grad,) = torch.autograd.grad(square(x).sum(), x)
    assert torch.allclose(grad, 2 * x.detach())


def test_bpda_beats_plain_pgd_on_the_quantised_model(digits, digits_model) -> None:
    x, y = digits.x_test[:120], digits.y_test[:120]
    defended = quantized(digits_model, 2)
    wrapped = bpda(defended)
    assert torch.equal(wrapped(x), defended(x))  # same forward: its adversarials are defended's
    plain = accuracy(defended, pgd(defended, x, y, eps=0.2, steps=10, seed=0), y)
    broken = accuracy(defended, pgd(wrapped, x, y, eps=0.2, steps=10, seed=0), y)
    assert plain > 0.8  # the gradient is zero: PGD is only noise
    assert broken < plain - 0.5, (plain, broken)


# --- transfer and Papernot's substitute ----------------------------------------------------------


def test_disjoint_split_is_a_stratified_partition(digits) -> None:
    parts = disjoint_split(digits.y_train, 3, seed=1)
    together = torch.cat(parts)
    assert len(together) == len(digits.y_train) == len(together.unique())
    for p in parts:
        counts = torch.bincount(digits.y_train[p], minlength=10)
        assert counts.min() >= torch.bincount(digits.y_train).min() // 3
    assert all(
        torch.equal(a, b)
        for a, b in zip(parts, disjoint_split(digits.y_train, 3, seed=1), strict=True)
    )


def test_transfer_from_a_substitute_beats_the_label_only_model(digits, split_models) -> None:
    target, substitute = split_models
    x, y = digits.x_test, digits.y_test
    masked = LabelOnly(target)
    white_box = accuracy(masked, pgd(masked, x, y, eps=0.2, steps=10, seed=0), y)
    result = transfer_attack(masked, substitute, x, y, attack="pgd", eps=0.2, steps=10, seed=0)
    noise = accuracy(masked, random_noise(masked, x, y, eps=0.2, seed=0), y)
    chance = 1 - noise / accuracy(masked, x, y)  # success rate of noise of the same size
    assert result.success_rate > 0.5 and result.success_rate > chance + 0.4, (
        result.success_rate,
        chance,
    )
    assert 1 - accuracy(masked, result.x_adv, y) > 1 - white_box + 0.3  # transfer >> white box
    assert result.queries == 2 * len(x)
    assert result.substitute_success_rate > result.success_rate


class Counting(nn.Module):
    """Counts every image that goes through the wrapped model."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.seen = 0

    def forward(self, x: Tensor) -> Tensor:
        self.seen += len(x)
        return self.model(x)


@pytest.mark.parametrize("rounds", [1, 3])
def test_substitute_query_counts_are_exact(digits, split_models, rounds: int) -> None:
    target, _ = split_models
    counted = Counting(LabelOnly(target))
    seed = digits.x_train[disjoint_split(digits.y_train, 2)[1][:30]]
    result = train_substitute(counted, seed, rounds=rounds, lam=0.1, epochs=2)
    assert result.queries == 30 * 2 ** (rounds - 1)
    assert counted.seen == result.queries + 1  # + the one pass that reads the output width
    # each round labels only its new points: the set doubles, and so do the cumulative queries
    assert result.set_sizes == result.queries_per_round == [30 * 2**r for r in range(rounds)]
    assert len(result.x_train) == len(result.y_train) == result.queries
    # the labels it trained on are the target's
    assert torch.equal(result.y_train, target(result.x_train).argmax(1))


def test_label_oracle_counts_and_jacobian_augmentation_moves_by_lam(digits, split_models) -> None:
    target, substitute = split_models
    oracle = LabelOracle(target, batch_size=7)
    x = digits.x_test[:20]
    labels = oracle(x)
    assert oracle.queries == 20 and torch.equal(labels, target(x).argmax(1))
    new = jacobian_augment(substitute, x, labels, 0.1)
    step = (new - x).abs()
    inside = (x > 0.1) & (x < 0.9)  # no clipping there
    assert torch.allclose(step[inside], torch.full_like(step[inside], 0.1), atol=1e-6)


def test_substitute_from_label_queries_learns_and_transfers(digits, split_models) -> None:
    target, _ = split_models
    masked = LabelOnly(target)
    seed = digits.x_train[disjoint_split(digits.y_train, 2)[1][:100]]
    x, y = digits.x_test, digits.y_test
    result = train_substitute(masked, seed, rounds=3, lam=0.1, epochs=5, x_eval=x, y_eval=y)
    assert result.agreement[-1] > 0.6 and result.accuracy[-1] > 0.6
    transfer = transfer_attack(masked, result.substitute, x, y, eps=0.2, steps=10, seed=0)
    noise = 1 - accuracy(masked, random_noise(masked, x, y, eps=0.2, seed=0), y) / accuracy(
        masked, x, y
    )
    assert transfer.success_rate > noise + 0.2, (transfer.success_rate, noise)


# --- SPSA and random noise: the attack contract --------------------------------------------------


NEW_ATTACKS = {
    "spsa": lambda m, x, y=None, **kw: spsa(
        m, x, y, **{"eps": 0.1, "steps": 3, "samples": 4, "seed": 0, **kw}
    ),
    "random_noise": lambda m, x, y=None, **kw: random_noise(
        m, x, y, **{"eps": 0.1, "seed": 0, **kw}
    ),
}


@pytest.mark.parametrize("name", list(NEW_ATTACKS))
def test_new_attacks_are_pure_bounded_and_deterministic(name: str) -> None:
    attack = NEW_ATTACKS[name]
    model = tiny_conv()
    model.train()
    buffers = [b.clone() for b in model.buffers()]
    x = images()
    x_before = x.clone()
    x_adv = attack(model, x)
    assert torch.equal(x, x_before) and model.training
    assert all(p.requires_grad for p in model.parameters())
    assert all(map(torch.equal, model.buffers(), buffers)), "ran in train mode"
    assert x_adv.shape == x.shape and not x_adv.requires_grad and not torch.equal(x_adv, x)
    assert (x_adv - x).abs().max() <= 0.1 + 1e-6 and x_adv.min() >= 0 and x_adv.max() <= 1
    assert torch.equal(attack(model, x), x_adv)
    assert not torch.equal(attack(model, x, seed=1), x_adv)
    assert torch.equal(attack(model, x, eps=0.0), x)
    assert attack(model.double(), x.double()).dtype == torch.float64
    with pytest.raises(ValueError, match=r"x must lie in \[0, 1\]"):
        attack(model.float(), x * 2)
    with pytest.raises(ValueError, match="pass either generator= or seed="):
        attack(model, x, generator=torch.Generator())
    assert ATTACKS[name].fn is (spsa if name == "spsa" else random_noise)


def test_spsa_lowers_accuracy_without_gradients(digits, digits_model) -> None:
    x, y = digits.x_test[:60], digits.y_test[:60]
    x_adv = spsa(digits_model, x, y, eps=0.2, steps=10, samples=8, seed=0)
    noise = random_noise(digits_model, x, y, eps=0.2, seed=0)
    assert accuracy(digits_model, x_adv, y) < accuracy(digits_model, noise, y) - 0.4
    targets = (y + 1) % 10
    hit = spsa(digits_model, x, targets, eps=0.3, steps=10, samples=8, seed=0, targeted=True)
    assert float((advlab.predict(digits_model, hit).argmax(1) == targets).float().mean()) > 0.3


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


# --- bad arguments -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "build",
    [
        LabelOnly,
        lambda m: ScaledLogits(m, 10.0),
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


# --- the chapter's exercise checker, the defense catalogue and the attack table ------------------


def _logit_grad(model: nn.Module, x: Tensor, labels: Tensor) -> Tensor:
    xg = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(model(xg).gather(1, labels[:, None]).sum(), xg)
    return g


def good_augment(model, x, labels, lam):
    return (x + lam * _logit_grad(model, x, labels).sign()).clamp(0, 1).detach()


def own_prediction_augment(model, x, labels, lam):
    return good_augment(model, x, model(x).argmax(1), lam)


def loss_augment(model, x, labels, lam):
    xg = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(torch.nn.functional.cross_entropy(model(xg), labels), xg)
    return (x + lam * g.sign()).clamp(0, 1).detach()


def unsigned_lam_augment(model, x, labels, lam):
    return good_augment(model, x, labels, abs(lam))


def unclipped_augment(model, x, labels, lam):
    return (x + lam * _logit_grad(model, x, labels).sign()).detach()


@pytest.mark.parametrize(
    ("fn", "passed", "match"),
    [
        (good_augment, True, "exact match"),
        (own_prediction_augment, False, "substitute's own prediction"),
        (loss_augment, False, "gradient of the cross-entropy loss"),
        (unsigned_lam_augment, False, "dropped the sign of λ"),
        (unclipped_augment, False, r"clip the images"),
    ],
)
def test_check_jacobian_augmentation_names_the_mistake(fn, passed: bool, match: str) -> None:
    from advlab.book.exercises import check_jacobian_augmentation

    report = check_jacobian_augmentation(fn, verbose=False)
    assert report.passed is passed
    assert match in str(report) or __import__("re").search(match, str(report)), str(report)


def test_defense_catalogue_builds_each_kind(digits, tmp_path, monkeypatch) -> None:
    from advlab.book.catalog import DEFENSES, build_defenses

    monkeypatch.setenv("ADVLAB_CACHE", str(tmp_path))
    assert {"none", "adv_pgd", "distillation", "label_only", "quantized"} <= set(DEFENSES)
    models = build_defenses(digits, epochs=1, names=["none", "label_only", "quantized"])
    base = models["none"]
    assert models["label-only output"].model is base
    assert models["2-bit input quantisation"].model is base  # one trained model, wrapped twice
    with pytest.raises(ValueError, match="unknown defense 'nope'"):
        build_defenses(digits, epochs=1, names=["nope"])


def test_attack_table_worst_case_and_budget(digits, digits_model) -> None:
    from advlab.metrics import attack_table

    x, y = digits.x_test[:40], digits.y_test[:40]
    models = {"plain": digits_model, "label-only": LabelOnly(digits_model)}
    table = attack_table(
        models,
        x,
        y,
        eps=0.1,
        attacks=["fgsm", "pgd", "random_noise", "cw_l2"],
        steps=5,
        extra={"big noise": lambda m, xx, yy: (xx + 0.5).clamp(0, 1)},
        keep=3,
    )
    assert not table.errors
    assert table.attacks == ["FGSM", "PGD", "noise", "CW-L2", "big noise"]
    for m in models:
        row = table.accuracy[m]
        assert table.worst[m] <= min(v for a, v in row.items() if a != "CW-L2") + 1e-9
        assert row["big noise"] == table.clean[m]  # out of the L∞ budget: the clean answer stands
    assert table.accuracy["plain"]["PGD"] < table.accuracy["label-only"]["PGD"] - 0.2
    assert table.best_attack("plain") in ("PGD", "CW-L2")
    assert "worst L∞" in str(table) and len(table.rows()) == 2
    assert table.examples["plain", "PGD"].shape == (3, 1, 8, 8)
    assert torch.equal(table.examples["plain", "big noise"], x[:3])  # out of budget: kept clean


def test_part3_figures_draw_and_refuse_junk() -> None:
    import matplotlib.pyplot as plt

    from advlab.viz import (
        accuracy_matrix_figure,
        gradient_modes_figure,
        prediction_strip_figure,
        substitute_growth_figure,
    )

    classes = [str(k) for k in range(3)]
    x = images(4)
    figs = [
        gradient_modes_figure(
            x[0], {"p": torch.tensor([0.2, 0.8, 0.0])}, {"p": torch.zeros(1, 8, 8)}, classes
        ),
        prediction_strip_figure(x, torch.tensor([0, 1, 2, 1]), [0, 0, 2, 1], classes),
        accuracy_matrix_figure(["a", "b"], ["x"], [[0.5], [float("nan")]]),
        substitute_growth_figure([10, 20], {"acc": [0.5, 0.7]}),
    ]
    assert all(len(f.axes) >= 1 for f in figs)
    plt.close("all")
    with pytest.raises(ValueError, match="class indices"):
        prediction_strip_figure(x, [0, 1, 2, 5], [0, 0, 2, 1], classes)
    with pytest.raises(ValueError, match="has 1 values for 2 query counts"):
        substitute_growth_figure([10, 20], {"acc": [0.5]})
    with pytest.raises(ValueError, match=r"values must have shape \(2, 1\)"):
        accuracy_matrix_figure(["a", "b"], ["x"], [[0.5, 0.2]])
    for junk in [("a", "b", "c", "d"), (1, 2, 3, 4), (None, None, None, None)]:
        for fn in (gradient_modes_figure, prediction_strip_figure):
            with pytest.raises(TypeError):
                fn(*junk)
