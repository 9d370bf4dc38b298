"""Adversarial training: train on the attacks the model will face.

Three recipes from the papers the book follows, all run through
:func:`advlab.train.fit`'s ``perturb`` and ``loss_fn`` hooks:

``"fgsm"``
    Goodfellow, Shlens & Szegedy (2015): the mixed objective
    ``α · CE(x, y) + (1 − α) · CE(x + ε·sign ∇x CE(x, y), y)``, with the FGSM
    images recomputed for every batch against the current weights. ``α`` is
    ``clean_weight`` (0.5 in the paper; 0 trains on adversarial images only).
``"pgd"``
    Madry, Makelov, Schmidt, Tsipras & Vladu (2018): train on PGD images only
    (random start, ``steps`` steps of ``step_size``), the inner maximisation
    of their min-max objective.
``"fgsm_rs"``
    Wong, Rice & Kolter (2020), "Fast is better than free": one FGSM step of
    ``step_size`` (default ``1.25 ε``) from a uniform random start in the
    ε-ball, projected back onto the ball.

``labels="predicted"`` crafts the training perturbations against the model's
own predictions instead of the true labels, which removes *label leaking*
(Kurakin, Goodfellow & Bengio, 2017): FGSM on the true label encodes that label
in the perturbation, and a model trained on such images learns to read it,
becoming *more* accurate on FGSM(true label) images than on clean ones.

A :class:`OverfitGuard` watches for *catastrophic overfitting* (Wong et al.):
after each epoch it measures FGSM and PGD accuracy on a held-out batch of
training images; when PGD accuracy collapses while FGSM accuracy holds or
rises, the model has learned to defeat the single step only. The guard
records it, warns, and (``stop=True``) ends training and restores the weights
of the epoch with the best PGD accuracy.

Every setting lives in :class:`AdversarialTraining`; :func:`adversarial_config`
puts them, defaults filled in, into a :class:`~advlab.zoo.TrainConfig` for the
``"adversarial"`` recipe, so cached models are keyed by all of them.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm.auto import tqdm

from .._utils import frozen_eval
from .._validate import (
    ArgumentError,
    ArgumentTypeError,
    check_count,
    check_eps,
    check_flag,
    check_image_batch,
    check_images,
    check_labels,
    check_module,
    check_real,
    check_seed,
    check_targets,
    make_generator,
)
from ..attacks.fgsm import fgsm
from ..attacks.pgd import ascent, meaningful_budget, pgd, uniform_start
from ..train import History, fit, predict
from ..zoo import TrainConfig, register_recipe

__all__ = [
    "METHODS",
    "AdversarialHistory",
    "AdversarialTraining",
    "CatastrophicOverfittingWarning",
    "GuardRecord",
    "OverfitGuard",
    "adversarial_config",
    "adversarial_fit",
    "adversarial_perturbation",
    "fgsm_rs",
]

Method = Literal["fgsm", "pgd", "fgsm_rs"]
#: The training methods, by name.
METHODS: tuple[str, ...] = ("fgsm", "pgd", "fgsm_rs")
LabelSource = Literal["true", "predicted"]


class CatastrophicOverfittingWarning(RuntimeWarning):
    """PGD accuracy collapsed during single-step adversarial training while FGSM accuracy held."""


@dataclass(frozen=True)
class AdversarialTraining:
    """The settings of one adversarial-training run (all in pixel units, images in [0, 1]).

    Attributes
    ----------
    method:
        ``"fgsm"`` (Goodfellow et al.'s mixed objective), ``"pgd"`` (Madry et al.)
        or ``"fgsm_rs"`` (FGSM from a random start, Wong et al.).
    eps:
        L∞ radius of the training perturbations.
    clean_weight:
        Weight α of the clean loss in the mixed objective
        ``α·CE(x) + (1 − α)·CE(x_adv)``, in [0, 1]. Default 0.5 for ``"fgsm"``
        (Goodfellow et al.), 0 (adversarial images only) for ``"pgd"`` and ``"fgsm_rs"``.
    step_size:
        ``"pgd"``: step of each iteration, at most ε (default ``min(ε, 2.5 ε / steps)``);
        ``"fgsm_rs"``: the single step (default ``1.25 ε``, which may exceed ε);
        ``"fgsm"``: must stay None (the step is ε).
    steps:
        PGD iterations (``"pgd"`` only; default 7).
    labels:
        ``"true"``: perturb against the true labels; ``"predicted"``: against the
        model's current predictions (no label leaking). The loss always uses the true labels.
    """

    method: Method = "fgsm"
    eps: float = 0.1
    clean_weight: float | None = None
    step_size: float | None = None
    steps: int | None = None
    labels: LabelSource = "true"

    def __post_init__(self) -> None:
        """Check every setting (pixel units, ranges, what applies to which method)."""
        if not isinstance(self.method, str) or self.method not in METHODS:
            raise ArgumentError(
                f"unknown adversarial-training method {self.method!r}; choose one of "
                + ", ".join(map(repr, METHODS))
            )
        eps = check_eps(self.eps)
        if eps == 0:
            raise ArgumentError(
                "eps must be > 0 for adversarial training (eps=0 is standard training)"
            )
        object.__setattr__(self, "eps", eps)
        if self.clean_weight is not None:
            weight = check_real(self.clean_weight, "clean_weight")
            if weight > 1:
                raise ArgumentError(f"clean_weight must lie in [0, 1], got {weight}")
            object.__setattr__(self, "clean_weight", weight)
        self._check_step(eps)
        if self.steps is not None:
            if self.method != "pgd":
                raise ArgumentError(f"steps applies to method='pgd' only, not {self.method!r}")
            object.__setattr__(self, "steps", check_count(self.steps, "steps"))
        if not isinstance(self.labels, str) or self.labels not in ("true", "predicted"):
            raise ArgumentError(f"labels must be 'true' or 'predicted', got {self.labels!r}")

    def _check_step(self, eps: float) -> None:
        """Check ``step_size`` against the method and ``eps`` (PGD's step stays in the ball)."""
        if self.step_size is not None:
            if self.method == "fgsm":
                raise ArgumentError(
                    "method='fgsm' steps by exactly eps; leave step_size=None, or use "
                    "method='fgsm_rs' for a random start and a step of your choice"
                )
            step = check_real(self.step_size, "step_size", positive=True)
            if self.method == "pgd" and step > eps:
                raise ArgumentError(
                    f"step_size ({step}) must not exceed eps ({eps}) for PGD training: the "
                    "projection cuts a longer step back to the ball; leave it None for 2.5 eps / steps"
                )
            object.__setattr__(self, "step_size", step)

    def resolved(self) -> AdversarialTraining:
        """Return the same settings with every default filled in (what a cache key holds)."""
        weight = self.clean_weight
        if weight is None:
            weight = 0.5 if self.method == "fgsm" else 0.0
        steps = self.steps if self.steps is not None else (7 if self.method == "pgd" else None)
        step = self.step_size
        if step is None and self.method == "pgd" and steps is not None:
            step = min(self.eps, 2.5 * self.eps / steps)
        elif step is None and self.method == "fgsm_rs":
            step = 1.25 * self.eps
        return replace(self, clean_weight=weight, steps=steps, step_size=step)

    def describe(self) -> str:
        """Return a short human-readable name, e.g. ``FGSM-RS ε=0.1 step=0.125``."""
        s = self.resolved()
        name = {"fgsm": "FGSM", "pgd": "PGD", "fgsm_rs": "FGSM-RS"}[s.method]
        parts = [name, f"ε={s.eps:g}"]
        if s.method == "pgd":
            parts.append(f"{s.steps}×{s.step_size:.3g}")
        if s.method == "fgsm_rs":
            parts.append(f"step={s.step_size:.3g}")
        if s.method == "fgsm" and s.clean_weight != 0.5:
            parts.append(f"α={s.clean_weight:g}")
        if s.labels == "predicted":
            parts.append("predicted labels")
        return " ".join(parts)


def fgsm_rs(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    *,
    eps: float,
    step_size: float,
    generator: torch.Generator | None = None,
) -> Tensor:
    """One FGSM step of ``step_size`` from a uniform random point of the L∞ ε-ball (Wong et al.).

    The training-time attack of "Fast is better than free": ``δ ~ U(−ε, ε)``,
    ``δ ← clip_ε(δ + step_size · sign ∇x CE(x + δ, y))``, ``x + δ`` clipped to [0, 1].
    Unlike :func:`~advlab.attacks.pgd`, the step may be longer than ``eps``
    (1.25 ε is the paper's default): the projection then lands the step on a
    corner of the ball from almost any start.

    Parameters
    ----------
    model:
        Classifier returning logits; run in eval mode with frozen parameters (both restored).
    x, y:
        Images, float (N, C, H, W) in [0, 1] on the model's device, and true labels (N,).
    eps:
        L∞ radius in pixel units.
    step_size:
        Length of the signed step, > 0 (may exceed ``eps``).
    generator:
        Source of the random start (default: PyTorch's global generator).

    Returns
    -------
    Tensor
        Detached images in the ε-ball around ``x`` and in [0, 1].

    Raises
    ------
    ValueError
        For a negative or non-finite ``eps``, a step that is not > 0, bad images or labels,
        or a ``generator`` that is not a ``torch.Generator``.

    Notes
    -----
    A radius or step beyond 1 changes nothing for images in [0, 1] (the L∞ ball
    already holds every image), so both are clamped to 1 before use; without the
    clamp a huge ``eps`` would overflow the random start to inf and NaN.
    """
    eps = check_eps(eps)
    step_size = check_real(step_size, "step_size", positive=True)
    generator = make_generator(generator, None)
    check_images(model, x)
    y = check_labels(y, x)
    x = x.detach()
    # beyond 1 (pixel units) a radius or a signed step changes nothing; huge values would overflow
    eps, step_size = meaningful_budget(eps, step_size, "inf", x[0].numel())
    with frozen_eval(model):
        start = uniform_start(x, eps, "inf", generator)
        return ascent(
            model,
            x,
            start,
            y,
            eps=eps,
            alpha=step_size,
            steps=1,
            targeted=False,
            loss="ce",
            norm="inf",
        ).detach()


def adversarial_perturbation(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    settings: AdversarialTraining,
    *,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Make the training-time adversarial images of ``settings`` for a batch (labels ``y``).

    With ``settings.labels == "predicted"`` the perturbation is crafted against
    the model's predictions instead of ``y`` (Kurakin et al.'s fix for label leaking).

    Returns
    -------
    Tensor
        Detached images in the L∞ ``settings.eps``-ball around ``x`` and in [0, 1].

    Raises
    ------
    TypeError
        If ``settings`` is not an :class:`AdversarialTraining`.
    ValueError
        For bad images, labels or ``generator`` (as the attacks check them).
    """
    if not isinstance(settings, AdversarialTraining):
        raise ArgumentTypeError(
            f"settings must be an AdversarialTraining, got {type(settings).__name__}; "
            "e.g. AdversarialTraining(method='pgd', eps=0.1)"
        )
    generator = make_generator(generator, None)
    check_images(model, x)
    y = check_labels(y, x)
    s = settings.resolved()
    with torch.no_grad(), frozen_eval(model):
        target = predict(model, x).argmax(dim=1) if s.labels == "predicted" else y
    if s.method == "fgsm":
        return fgsm(model, x, target, eps=s.eps)
    if s.method == "fgsm_rs" and s.step_size is not None:
        return fgsm_rs(model, x, target, eps=s.eps, step_size=s.step_size, generator=generator)
    if s.method == "pgd" and s.step_size is not None and s.steps is not None:
        return pgd(
            model, x, target, eps=s.eps, alpha=s.step_size, steps=s.steps, generator=generator
        )
    raise AssertionError(f"AdversarialTraining.resolved() left a budget unset: {s}")


@dataclass
class GuardRecord:
    """One check of the :class:`OverfitGuard`: held-out accuracies after an epoch."""

    epoch: int
    clean_accuracy: float
    fgsm_accuracy: float
    pgd_accuracy: float
    collapsed: bool


@dataclass(frozen=True)
class OverfitGuard:
    """Detects catastrophic overfitting on a held-out batch, after every epoch.

    A frozen configuration: what a run measures (its records, the epoch it stopped at,
    its best epoch) comes back in that run's :class:`AdversarialHistory`, so one guard
    can watch any number of runs (a loop over ε) and each is judged on its own checks.

    Attributes
    ----------
    eps:
        L∞ radius of the FGSM and PGD checks (usually the training ε).
    pgd_steps:
        Iterations of the PGD check (random start, step ``2.5 ε / steps``).
    drop:
        The collapse threshold: PGD accuracy fell by more than ``drop`` (absolute)
        below its best so far while FGSM accuracy is at least what it was then.
    gap:
        Second rule, on by default (0.3): flag when FGSM accuracy exceeds PGD accuracy
        by more than ``gap`` (absolute). It catches runs that overfit to the single step
        without ever having been PGD-robust (no drop to see), which is how catastrophic
        overfitting often looks when it sets in during the first epoch (as single-step
        training on the 8x8 digits does at large ε, and Fashion-MNIST at ε = 0.2 on some
        CPUs). A robust model's FGSM and PGD accuracies differ by a few points, so the
        rule does not fire on one. None turns it off (the drop rule alone).
    stop:
        On collapse, end training and restore the weights of the best PGD epoch
        (Wong et al.'s early stopping); otherwise only warn and record.
    held_out:
        How many training images are set aside for the checks (not trained on).
    """

    eps: float
    pgd_steps: int = 10
    drop: float = 0.2
    gap: float | None = 0.3
    stop: bool = False
    held_out: int = 128

    def __post_init__(self) -> None:
        """Check the guard's settings."""
        object.__setattr__(self, "eps", check_eps(self.eps))
        object.__setattr__(self, "pgd_steps", check_count(self.pgd_steps, "pgd_steps"))
        object.__setattr__(self, "drop", check_real(self.drop, "drop", positive=True))
        if self.gap is not None:
            object.__setattr__(self, "gap", check_real(self.gap, "gap", positive=True))
        if not isinstance(self.stop, bool):
            raise ArgumentError(f"stop must be True or False, got {self.stop!r}")
        object.__setattr__(self, "held_out", check_count(self.held_out, "held_out"))

    def is_collapse(
        self, fgsm_accuracy: float, pgd_accuracy: float, earlier: Sequence[GuardRecord] = ()
    ) -> bool:
        """Apply the collapse rule to one check, given this run's ``earlier`` checks.

        A collapse is PGD accuracy more than ``drop`` below its best check so far (in
        ``earlier``, this run's previous checks), while FGSM accuracy is at least what it
        was at that check (FGSM-robust, PGD-broken); or, with ``gap`` set, FGSM accuracy
        more than ``gap`` above PGD accuracy.
        """
        if self.gap is not None and fgsm_accuracy - pgd_accuracy > self.gap:
            return True
        best = max(earlier, key=lambda r: r.pgd_accuracy, default=None)
        return (
            best is not None
            and pgd_accuracy < best.pgd_accuracy - self.drop
            and fgsm_accuracy >= best.fgsm_accuracy
        )

    def check(
        self,
        model: nn.Module,
        x: Tensor,
        y: Tensor,
        epoch: int,
        earlier: Sequence[GuardRecord] = (),
    ) -> GuardRecord:
        """Measure the held-out batch ``(x, y)`` after ``epoch`` and flag a collapse.

        Returns
        -------
        GuardRecord
            The clean, FGSM and PGD (seeded by ``epoch``) accuracies, and whether
            :meth:`is_collapse` finds a collapse against ``earlier`` (this run's
            previous records). The guard keeps nothing; the caller keeps the record.
        """
        clean = float((predict(model, x).argmax(1) == y).float().mean())
        x_f = fgsm(model, x, y, eps=self.eps)
        x_p = pgd(model, x, y, eps=self.eps, steps=self.pgd_steps, seed=epoch)
        acc_f = float((predict(model, x_f).argmax(1) == y).float().mean())
        acc_p = float((predict(model, x_p).argmax(1) == y).float().mean())
        return GuardRecord(epoch, clean, acc_f, acc_p, self.is_collapse(acc_f, acc_p, earlier))


@dataclass
class AdversarialHistory(History):
    """:class:`~advlab.train.History` plus the guard's checks (empty without a guard).

    Attributes
    ----------
    guard:
        One :class:`GuardRecord` per epoch trained, this run's only.
    stopped_at:
        The epoch after which the guard stopped training (None if it did not); ``loss``
        and ``accuracy`` then hold the epochs up to it.
    best_epoch:
        The checked epoch with the best held-out PGD accuracy (the first, among ties);
        a stopped run's model holds that epoch's weights. None without a guard.
    held_out:
        The indices (into the ``x`` given) of the images the guard held out, sorted;
        empty without a guard. The model never trained on them.
    """

    guard: list[GuardRecord] = field(default_factory=list)
    stopped_at: int | None = None
    best_epoch: int | None = None
    held_out: list[int] = field(default_factory=list)

    @property
    def collapsed(self) -> bool:
        """Whether any of the guard's checks found a collapse."""
        return any(r.collapsed for r in self.guard)


def adversarial_fit(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    settings: AdversarialTraining,
    *,
    epochs: int = 10,
    batch_size: int = 64,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    seed: int = 0,
    device: torch.device | str | None = None,
    guard: OverfitGuard | None = None,
    progress: bool = True,
) -> AdversarialHistory:
    """Adversarially train ``model`` in place on ``(x, y)``; return its history.

    Threat model of the defense: an L∞ attacker with budget ``settings.eps``
    (pixel units). Each batch is replaced by adversarial images crafted against
    the current weights (see :class:`AdversarialTraining` for the three
    methods), mixed with the clean batch when ``clean_weight > 0``, through
    :func:`~advlab.train.fit`'s ``perturb`` and ``loss_fn`` hooks.

    Parameters
    ----------
    model:
        Classifier returning logits for images in [0, 1]; trained in place.
    x, y:
        Training images (N, C, H, W) in [0, 1] and integer labels (N,).
    settings:
        The adversarial-training method and its knobs.
    epochs, batch_size, lr, weight_decay, seed, device, progress:
        As in :func:`~advlab.train.fit` (``seed`` also drives the random starts).
    guard:
        Optional :class:`OverfitGuard`; its ``held_out`` images are taken from
        ``(x, y)`` (a seeded random choice) and not trained on. It checks the model
        after every epoch, through :func:`~advlab.train.fit`'s ``on_epoch_end``; a
        guard may be reused, each run is judged on its own checks.

    Returns
    -------
    AdversarialHistory
        Per-epoch loss and accuracy on the (mixed) training batches (up to the stop,
        if the guard stopped training), this run's guard records, the epoch training
        stopped at, and the best PGD epoch (whose weights a stopped run restores).

    Raises
    ------
    TypeError
        If ``settings`` or ``guard`` has the wrong type.
    ValueError
        As :func:`~advlab.train.fit` does, or if the guard would hold out every image.
    """
    x, y = _check_run(settings, guard, model, x, y)
    epochs = check_count(epochs, "epochs")
    batch_size = check_count(batch_size, "batch_size")
    seed = check_seed(seed)
    progress = check_flag(progress, "progress")
    s = settings.resolved()
    weight = 0.0 if s.clean_weight is None else float(s.clean_weight)  # resolved() sets it
    gen = torch.Generator().manual_seed(seed)
    x_check = y_check = None
    held_out: list[int] = []
    if guard is not None:
        x, y, x_check, y_check, held_out = _hold_out(x, y, guard.held_out, seed)
    records: list[GuardRecord] = []
    best: dict[str, Any] = {"epoch": None, "acc": -1.0, "weights": None}
    # with a guard, one bar that shows its checks; without, fit's own bar
    bar = tqdm(
        total=epochs,
        desc=f"adversarial training ({s.describe()})",
        disable=not progress or guard is None,
    )

    def perturb(net: nn.Module, xb: Tensor, yb: Tensor) -> Tensor | tuple[Tensor, Tensor]:
        x_adv = adversarial_perturbation(net, xb, yb, s, generator=gen)
        if weight == 0.0:
            return x_adv
        return torch.cat([xb, x_adv]), torch.cat([yb, yb])

    def on_epoch_end(epoch: int, trained: History) -> bool:
        """Run the guard's check after ``epoch``; return True (stop) on a collapse with ``stop``."""
        assert guard is not None and x_check is not None and y_check is not None
        dev = next(model.parameters()).device
        record = guard.check(model, x_check.to(dev), y_check.to(dev), epoch, records)
        records.append(record)
        bar.update(1)
        bar.set_postfix(fgsm=f"{record.fgsm_accuracy:.2f}", pgd=f"{record.pgd_accuracy:.2f}")
        if record.pgd_accuracy > best["acc"]:
            best.update(epoch=epoch, acc=record.pgd_accuracy)
            best["weights"] = copy.deepcopy(model.state_dict())
        if record.collapsed:
            what = "stopping and restoring" if guard.stop else "the best PGD accuracy was at"
            warnings.warn(
                f"catastrophic overfitting after epoch {epoch}: held-out PGD accuracy "
                f"{record.pgd_accuracy:.2f} (best {best['acc']:.2f}) while FGSM accuracy "
                f"is {record.fgsm_accuracy:.2f}; {what} epoch {best['epoch']}",
                CatastrophicOverfittingWarning,
                stacklevel=4,  # on_epoch_end < fit < adversarial_fit < its caller
            )
        return record.collapsed and guard.stop

    try:
        inner = fit(
            model,
            x,
            y,
            epochs=epochs,
            batch_size=batch_size,
            lr=lr,
            weight_decay=weight_decay,
            seed=seed,
            device=device,
            perturb=perturb,
            loss_fn=_mixed_loss(weight),
            on_epoch_end=None if guard is None else on_epoch_end,
            progress=progress and guard is None,
        )
    finally:
        bar.close()
    history = AdversarialHistory(
        loss=inner.loss,
        accuracy=inner.accuracy,
        guard=records,
        best_epoch=best["epoch"],
        held_out=held_out,
    )
    if guard is not None and guard.stop and records[-1].collapsed:
        model.load_state_dict(best["weights"])
        history.stopped_at = records[-1].epoch
    return history


def _check_run(
    settings: object, guard: object, model: object, x: object, y: object
) -> tuple[Tensor, Tensor]:
    """Check what :func:`adversarial_fit` uses before ``fit``'s own checks; return ``(x, y)``."""
    if not isinstance(settings, AdversarialTraining):
        raise ArgumentTypeError(
            f"settings must be an AdversarialTraining, got {type(settings).__name__}; "
            "e.g. AdversarialTraining(method='pgd', eps=0.1)"
        )
    if guard is not None and not isinstance(guard, OverfitGuard):
        raise ArgumentTypeError(
            f"guard must be an OverfitGuard or None, got {type(guard).__name__}"
        )
    check_module(model)
    xt = check_image_batch(x, allow_empty=False)
    yt = check_targets(y, xt.shape[0])
    if yt.ndim != 1:
        raise ArgumentError(
            f"y must be integer class labels (N,) for adversarial training, got shape "
            f"{tuple(yt.shape)}"
        )
    return xt, yt


def _hold_out(
    x: Tensor, y: Tensor, held_out: int, seed: int
) -> tuple[Tensor, Tensor, Tensor, Tensor, list[int]]:
    """Split off the guard's ``held_out`` images.

    Returns ``(x_train, y_train, x_check, y_check, check_indices)``, the indices sorted.
    """
    if held_out >= len(x):
        raise ArgumentError(
            f"the guard holds out {held_out} images but there are only {len(x)}; "
            "lower OverfitGuard(held_out=...)"
        )
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed((seed + 1) % 2**64))
    keep, check = order[held_out:], order[:held_out]
    return x[keep], y[keep], x[check], y[check], sorted(check.tolist())


def _mixed_loss(weight: float) -> Callable[[Tensor, Tensor], Tensor]:
    """Return the training loss: cross-entropy, or ``weight`` clean + ``1 - weight`` adversarial.

    With ``weight > 0`` each batch is the clean half followed by its adversarial half.
    """

    def loss_fn(logits: Tensor, targets: Tensor) -> Tensor:
        if weight == 0.0:
            return F.cross_entropy(logits, targets)
        half = len(targets) // 2
        clean = F.cross_entropy(logits[:half], targets[:half])
        adv = F.cross_entropy(logits[half:], targets[half:])
        return weight * clean + (1.0 - weight) * adv

    return loss_fn


# --- the zoo recipe ------------------------------------------------------------------------------

_GUARD_KEYS = ("guard", "guard_stop", "guard_drop", "guard_gap", "guard_held_out", "train_size")


def adversarial_config(
    base: TrainConfig | None = None,
    *,
    guard: bool = False,
    guard_stop: bool = True,
    guard_drop: float = 0.2,
    guard_gap: float | None = 0.3,
    guard_held_out: int = 128,
    train_size: int | None = None,
    **settings: Any,
) -> TrainConfig:
    """Return a :class:`~advlab.zoo.TrainConfig` for the ``"adversarial"`` recipe.

    ``settings`` are the fields of :class:`AdversarialTraining` (``method``,
    ``eps``, ...); they are checked and stored in ``config.extra`` with every
    default filled in, so two configs that train the same model share one cache key.
    ``guard=True`` trains with an :class:`OverfitGuard` (``guard_drop``, ``guard_gap``,
    ``guard_held_out``); with ``guard_stop=True`` (the default) it stops on collapse and
    keeps the best epoch's weights, with ``guard_stop=False`` it only records. Either way
    its checks come back with the model, from the cache too, in
    ``pretrained(config).notes["guard"]`` (one dict per epoch, the fields of
    :class:`GuardRecord`), with ``notes["stopped_at"]``, ``notes["best_epoch"]`` and
    ``notes["train_accuracy"]`` (per epoch, on the batches trained on) and ``notes["held_out"]``
    (the indices of the training images the guard held out).
    ``train_size`` trains on the first ``train_size`` training images only (default: all),
    for experiments that must stay cheap on a large dataset.

        >>> cfg = adversarial_config(TrainConfig(epochs=5), method="pgd", eps=0.1)
        >>> advlab.zoo.pretrained(cfg).model
    """
    base = TrainConfig() if base is None else base
    if not isinstance(base, TrainConfig):
        raise ArgumentTypeError(f"base must be a TrainConfig, got {type(base).__name__}")
    guard = check_flag(guard, "guard")
    guard_stop = check_flag(guard_stop, "guard_stop")
    s = AdversarialTraining(**settings).resolved()
    extra: dict[str, Any] = dict(asdict(s))
    if guard:
        checked = OverfitGuard(eps=s.eps, drop=guard_drop, gap=guard_gap, held_out=guard_held_out)
        extra.update(
            guard=True,
            guard_stop=guard_stop,
            guard_drop=checked.drop,
            guard_gap=checked.gap,
            guard_held_out=checked.held_out,
        )
    if train_size is not None:
        extra["train_size"] = check_count(train_size, "train_size")
    return replace(base, recipe="adversarial", extra=extra)


def settings_from_extra(
    extra: Mapping[str, Any],
) -> tuple[AdversarialTraining, OverfitGuard | None]:
    """Read the adversarial-training settings (and guard) back from ``TrainConfig.extra``."""
    fields = {k: v for k, v in extra.items() if k not in _GUARD_KEYS}
    known = set(AdversarialTraining.__dataclass_fields__)
    unknown = set(fields) - known
    if unknown:
        raise ArgumentError(
            f"unknown adversarial-training settings {sorted(unknown)} in TrainConfig.extra; "
            f"known: {sorted(known | set(_GUARD_KEYS))}"
        )
    s = AdversarialTraining(**fields)
    guard = None
    if extra.get("guard"):
        guard = OverfitGuard(
            eps=s.eps,
            drop=extra.get("guard_drop", 0.2),
            gap=extra.get("guard_gap"),
            held_out=extra.get("guard_held_out", 128),
            stop=bool(extra.get("guard_stop", True)),
        )
    return s, guard


def _recipe(
    model: nn.Module, data: Any, cfg: TrainConfig, device: torch.device, progress: bool
) -> dict[str, Any]:
    """Train the zoo recipe ``"adversarial"`` with the settings in ``cfg.extra``.

    See :func:`adversarial_config`.

    Returns the guard's checks as notes for the cache (empty without a guard).
    """
    s, guard = settings_from_extra(cfg.extra)
    n = cfg.extra.get("train_size")
    history = adversarial_fit(
        model,
        data.x_train[:n],
        data.y_train[:n],
        s,
        device=device,
        guard=guard,
        progress=progress,
        **cfg.fit_kwargs(),
    )
    if guard is None:
        return {}
    return {
        "guard": [asdict(r) for r in history.guard],
        "stopped_at": history.stopped_at,
        "best_epoch": history.best_epoch,
        # the accuracy on the (adversarial) batches trained on, per epoch: beside the guard's
        # held-out checks it shows robust overfitting (training accuracy rising, held-out falling)
        "train_accuracy": list(history.accuracy),
        # which of the training images the guard held out (never trained on)
        "held_out": history.held_out,
    }


register_recipe("adversarial", _recipe)
