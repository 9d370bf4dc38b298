"""``fit(on_epoch_end=...)`` and the catastrophic-overfitting guard built on it.

The guard used to count batches inside ``perturb`` and stop ``fit`` by raising. A frozen
copy of that mechanism lives here (``_OldGuard``, ``_old_adversarial_fit``), so the tests
can show that the hook-based guard checks the same model, on the same images, with the
same random draws, and stops at the same epoch: chapter 3's numbers stay bit-identical.
"""

from __future__ import annotations

import copy
import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import tiny_conv
from torch import Tensor, nn

import advlab
from advlab import fgsm, fit, pgd, predict
from advlab.defenses import (
    AdversarialTraining,
    CatastrophicOverfittingWarning,
    GuardRecord,
    OverfitGuard,
    adversarial_fit,
    adversarial_perturbation,
)

pytestmark = pytest.mark.usefixtures("one_thread")


def _problem(n: int = 96) -> tuple[Tensor, Tensor]:
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(n, 1, 8, 8, generator=gen)
    y = (x.mean(dim=(1, 2, 3)) > 0.5).long() + (x[:, 0, 0, 0] > 0.5).long()
    return x, y


def _params(model: nn.Module) -> list[Tensor]:
    return [t.detach().clone() for t in model.state_dict().values()]


def _same_params(a: list[Tensor], b: list[Tensor]) -> bool:
    return len(a) == len(b) and all(torch.equal(s, t) for s, t in zip(a, b, strict=True))


# --- fit(on_epoch_end=...) ---------------------------------------------------------------------


def test_on_epoch_end_is_called_after_each_epoch_with_the_history_so_far() -> None:
    x, y = _problem()
    seen: list[tuple[int, int, int]] = []
    holder: list[advlab.History] = []

    def hook(epoch: int, history: advlab.History) -> None:
        seen.append((epoch, len(history.loss), len(history.accuracy)))
        holder.append(history)

    history = fit(
        tiny_conv(), x, y, epochs=3, batch_size=32, device="cpu", progress=False, on_epoch_end=hook
    )
    assert seen == [(1, 1, 1), (2, 2, 2), (3, 3, 3)]
    assert all(h is history for h in holder)  # the history fit returns, filled as it goes


def test_on_epoch_end_returning_true_stops_after_that_epoch() -> None:
    """Stopping after epoch 2 of 5 gives exactly the model and history of a 2-epoch run."""
    x, y = _problem()
    kw = {"batch_size": 32, "seed": 4, "device": "cpu", "progress": False}
    stopped = tiny_conv()  # seeds PyTorch's global generator too (its dropout draws)
    h_stop = fit(stopped, x, y, epochs=5, on_epoch_end=lambda e, h: e == 2, **kw)
    short = tiny_conv()
    h_short = fit(short, x, y, epochs=2, **kw)
    assert h_stop == h_short and len(h_stop.loss) == 2
    assert _same_params(_params(stopped), _params(short))
    # a NumPy boolean is a boolean too
    h_np = fit(tiny_conv(), x, y, epochs=5, on_epoch_end=lambda e, h: np.bool_(e == 1), **kw)
    assert len(h_np.loss) == 1


def test_a_callback_that_only_measures_changes_nothing() -> None:
    """Evaluating and attacking (seeded) after each epoch leaves training bit-identical, on a
    model with dropout and batch norm (so a mode left wrong or a global draw would show)."""
    x, y = _problem()
    kw = {"epochs": 3, "batch_size": 32, "seed": 1, "device": "cpu", "progress": False}
    plain, watched = tiny_conv(), tiny_conv()
    torch.manual_seed(7)
    h_plain = fit(plain, x, y, **kw)

    def measure(epoch: int, history: advlab.History) -> bool:
        advlab.evaluate(watched, x, y)
        pgd(watched, x[:8], y[:8], eps=0.1, steps=2, seed=epoch)
        return False

    torch.manual_seed(7)
    h_watched = fit(watched, x, y, on_epoch_end=measure, **kw)
    assert h_plain == h_watched
    assert _same_params(_params(plain), _params(watched))


def test_on_epoch_end_is_checked() -> None:
    x, y = _problem()
    model = tiny_conv()
    before = _params(model)
    with pytest.raises(ValueError, match="on_epoch_end must be callable or None, got int"):
        fit(model, x, y, epochs=1, device="cpu", progress=False, on_epoch_end=3)  # type: ignore[arg-type]
    assert _same_params(before, _params(model))  # refused before any update
    for answer in (1, "stop", torch.tensor(True)):
        with pytest.raises(
            ValueError, match=r"on_epoch_end returned .* after epoch 1; return True"
        ):
            fit(
                tiny_conv(),
                x,
                y,
                epochs=2,
                device="cpu",
                progress=False,
                on_epoch_end=lambda e, h, a=answer: a,  # type: ignore[misc]
            )


# --- a frozen copy of the guard before the hook (advlab at commit 124e62a) -----------------------


class _StopTraining(Exception):
    pass


@dataclass
class _OldGuard:
    """The old guard: a config that also kept the records of the runs it watched."""

    eps: float
    pgd_steps: int = 10
    drop: float = 0.2
    gap: float | None = 0.3
    stop: bool = False
    held_out: int = 128
    records: list[GuardRecord] = field(default_factory=list)
    stopped_at: int | None = None
    best_epoch: int | None = None

    def is_collapse(self, fgsm_accuracy: float, pgd_accuracy: float) -> bool:
        if self.gap is not None and fgsm_accuracy - pgd_accuracy > self.gap:
            return True
        best = max(self.records, key=lambda r: r.pgd_accuracy, default=None)
        return (
            best is not None
            and pgd_accuracy < best.pgd_accuracy - self.drop
            and fgsm_accuracy >= best.fgsm_accuracy
        )

    def check(self, model: nn.Module, x: Tensor, y: Tensor, epoch: int) -> GuardRecord:
        clean = float((predict(model, x).argmax(1) == y).float().mean())
        x_f = fgsm(model, x, y, eps=self.eps)
        x_p = pgd(model, x, y, eps=self.eps, steps=self.pgd_steps, seed=epoch)
        acc_f = float((predict(model, x_f).argmax(1) == y).float().mean())
        acc_p = float((predict(model, x_p).argmax(1) == y).float().mean())
        record = GuardRecord(epoch, clean, acc_f, acc_p, self.is_collapse(acc_f, acc_p))
        self.records.append(record)
        return record


def _old_adversarial_fit(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    settings: AdversarialTraining,
    guard: _OldGuard,
    *,
    epochs: int,
    batch_size: int,
    seed: int,
    lr: float,
) -> tuple[list[float], list[float], int | None]:
    """The old ``adversarial_fit`` with a guard (its checks, bar and warning left out): the
    check after epoch e ran inside ``perturb`` at the first batch of epoch e + 1, the last
    one after ``fit`` returned, and a stop raised out of ``fit``. Returns (loss, accuracy,
    stopped_at)."""
    s = settings.resolved()
    weight = float(s.clean_weight)
    gen = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed((seed + 1) % 2**64))
    keep, held = order[guard.held_out :], order[: guard.held_out]
    x, y, x_check, y_check = x[keep], y[keep], x[held], y[held]
    batches_per_epoch = math.ceil(len(x) / batch_size)
    state: dict = {"batch": 0, "best": None, "best_acc": -1.0}

    def epoch_end(net: nn.Module, epoch: int) -> None:
        record = guard.check(net, x_check, y_check, epoch)
        if record.pgd_accuracy > state["best_acc"]:
            state["best_acc"] = record.pgd_accuracy
            state["best"] = copy.deepcopy(net.state_dict())
            guard.best_epoch = epoch
        if record.collapsed and guard.stop:
            guard.stopped_at = epoch
            raise _StopTraining

    def perturb(net: nn.Module, xb: Tensor, yb: Tensor) -> Tensor | tuple[Tensor, Tensor]:
        state["batch"] += 1
        if state["batch"] > 1 and (state["batch"] - 1) % batches_per_epoch == 0:
            epoch_end(net, (state["batch"] - 1) // batches_per_epoch)
        x_adv = adversarial_perturbation(net, xb, yb, s, generator=gen)
        if weight == 0.0:
            return x_adv
        return torch.cat([xb, x_adv]), torch.cat([yb, yb])

    def loss_fn(logits: Tensor, targets: Tensor) -> Tensor:
        if weight == 0.0:
            return F.cross_entropy(logits, targets)
        half = len(targets) // 2
        clean = F.cross_entropy(logits[:half], targets[:half])
        return weight * clean + (1.0 - weight) * F.cross_entropy(logits[half:], targets[half:])

    try:
        inner = fit(
            model,
            x,
            y,
            epochs=epochs,
            batch_size=batch_size,
            lr=lr,
            seed=seed,
            device="cpu",
            perturb=perturb,
            loss_fn=loss_fn,
            progress=False,
        )
        epoch_end(model, epochs)
    except _StopTraining:
        model.load_state_dict(state["best"])
        return [], [], guard.stopped_at
    return inner.loss, inner.accuracy, None


# Chapter 3's catastrophic-overfitting runs at small scale (plain FGSM on adversarial images
# only, a large eps, the drop and gap rules, record only), and two that stop mid-run.
GUARD_CASES = {
    "chapter3_record_only": (
        AdversarialTraining(method="fgsm", eps=0.3, clean_weight=0.0),
        {"drop": 0.1, "held_out": 64, "stop": False},
    ),
    "fgsm_rs_gap_rule_stops": (
        AdversarialTraining(method="fgsm_rs", eps=0.3),
        {"drop": 0.1, "gap": 0.05, "held_out": 64, "stop": True},
    ),
    "chapter3_drop_rule_stops": (  # stops after epoch 5 and restores epoch 4's weights
        AdversarialTraining(method="fgsm", eps=0.3, clean_weight=0.0),
        {"drop": 0.05, "gap": None, "held_out": 64, "stop": True},
    ),
    "fgsm_mixed_gap_rule_stops": (
        AdversarialTraining(method="fgsm", eps=0.3),
        {"drop": 0.05, "gap": 0.02, "held_out": 64, "stop": True},
    ),
}


def _guarded_run(
    digits: advlab.Dataset, case: str, new: bool, guard: OverfitGuard | None = None
) -> tuple[list[Tensor], list[GuardRecord], int | None, int | None, list[float]]:
    settings, knobs = GUARD_CASES[case]
    x, y = digits.x_train[:400], digits.y_train[:400]
    model = tiny_conv(digits.num_classes)
    kw = {"epochs": 6, "batch_size": 64, "seed": 3, "lr": 1e-2}
    if new:
        guard = guard or OverfitGuard(eps=settings.eps, pgd_steps=3, **knobs)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CatastrophicOverfittingWarning)
            h = adversarial_fit(
                model, x, y, settings, guard=guard, device="cpu", progress=False, **kw
            )
        return _params(model), h.guard, h.stopped_at, h.best_epoch, h.loss
    old = _OldGuard(eps=settings.eps, pgd_steps=3, **knobs)
    loss, _, stopped_at = _old_adversarial_fit(model, x, y, settings, old, **kw)
    return _params(model), old.records, stopped_at, old.best_epoch, loss


@pytest.mark.parametrize("case", list(GUARD_CASES))
def test_the_hook_guard_reproduces_the_old_guard_bit_for_bit(
    digits: advlab.Dataset, case: str
) -> None:
    """Same weights (torch.equal), same records, same stop and best epoch as the old guard."""
    p_old, r_old, stop_old, best_old, loss_old = _guarded_run(digits, case, new=False)
    p_new, r_new, stop_new, best_new, loss_new = _guarded_run(digits, case, new=True)
    assert r_new == r_old and stop_new == stop_old and best_new == best_old
    assert _same_params(p_new, p_old)
    if stop_old is None:
        assert loss_new == loss_old and len(r_new) == 6
    else:  # the cases are chosen so that the stop really happens, and before the end
        assert GUARD_CASES[case][1]["stop"] and 1 < stop_old < 6 and len(r_new) == stop_old
        assert best_new is not None and best_new <= stop_new
        if "drop_rule" in case:  # the restored weights are an earlier epoch's
            assert best_new < stop_new


# --- issue 18: a reused guard starts fresh; a stopped run keeps its history ----------------------


def _adv_run(digits: advlab.Dataset, guard: OverfitGuard) -> tuple[nn.Module, object]:
    model = tiny_conv(digits.num_classes)
    settings = AdversarialTraining(method="fgsm", eps=0.3, clean_weight=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CatastrophicOverfittingWarning)
        history = adversarial_fit(
            model,
            digits.x_train[:400],
            digits.y_train[:400],
            settings,
            guard=guard,
            epochs=6,
            batch_size=64,
            lr=1e-2,
            seed=3,
            device="cpu",
            progress=False,
        )
    return model, history


def test_a_guard_reused_across_runs_starts_each_run_fresh(digits: advlab.Dataset) -> None:
    """The second run with the same guard is the run a fresh guard gives: the same checks
    (not the first run's as well), the same stop, the same weights."""
    knobs = {"eps": 0.3, "pgd_steps": 3, "drop": 0.05, "gap": None, "held_out": 64, "stop": True}
    shared = OverfitGuard(**knobs)
    _adv_run(digits, shared)
    again, h_again = _adv_run(digits, shared)
    fresh, h_fresh = _adv_run(digits, OverfitGuard(**knobs))
    assert h_again.guard == h_fresh.guard and len(h_fresh.guard) == h_fresh.stopped_at == 5
    assert h_again.stopped_at == h_fresh.stopped_at
    assert _same_params(_params(again), _params(fresh))


def test_a_stopped_run_returns_the_history_of_what_it_trained(digits: advlab.Dataset) -> None:
    """Stopped after epoch 5, the history holds those 5 epochs: the first 5 of the same run
    left to finish (the guard only records then)."""
    knobs = {"eps": 0.3, "pgd_steps": 3, "drop": 0.05, "gap": None, "held_out": 64}
    _, stopped = _adv_run(digits, OverfitGuard(**knobs, stop=True))
    _, full = _adv_run(digits, OverfitGuard(**knobs, stop=False))
    assert stopped.stopped_at == 5 and full.stopped_at is None and len(full.loss) == 6
    assert stopped.loss == full.loss[:5] and stopped.accuracy == full.accuracy[:5]
    assert stopped.guard == full.guard[:5]
