"""Every defense against every attack: one table of accuracy under attack at a stated budget.

:func:`attack_table` runs each attack of the registry (:data:`advlab.attacks.ATTACKS`),
plus any extra attacks you pass (transfer from a substitute, say), against
each model, and returns an :class:`AttackTable`. One budget holds for the
whole table, so its cells compare:

- attacks with an ``eps`` run at ``eps`` (L∞ attacks) or ``l2_eps`` (L2 attacks);
- minimum-distance attacks without one (CW-L2) count as successful only on the
  images where their perturbation is within the budget of their norm;
- attacks budgeted otherwise (pixel counts) run with their own defaults.

Every attack runs untargeted against the true labels; one that refuses to
(JSMA is targeted only) runs targeted at each image's runner-up class, the
class the model finds most likely after the true one.

Its last column, *worst L∞*, is the accuracy when each image meets the L∞
attack (registered or extra) that fools it: what a careful evaluation at
that budget reports. Attacks in other threat models (L2, L0) have their own
columns and stay out of it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from .._utils import frozen_eval
from .._validate import (
    ArgumentError,
    ArgumentTypeError,
    check_count,
    check_eps,
    check_finite_logits,
    check_images,
    check_label_range,
    check_labels,
    check_logits,
    check_seed,
)
from ..attacks.registry import ATTACKS, AttackInfo
from ..attacks.result import adversarial_images

__all__ = ["AttackTable", "attack_table"]

#: ``extra[name](model, x, y) -> x_adv``: an attack outside the registry, e.g. a transfer attack.
ExtraAttack = Callable[[nn.Module, Tensor, Tensor], Tensor]


@dataclass
class AttackTable:
    """Accuracy under attack for models × attacks, and the per-model worst case.

    Attributes
    ----------
    models, attacks:
        Row and column names, in order (the attacks' display titles).
    clean:
        Clean accuracy of each model.
    accuracy:
        ``accuracy[model][attack]``: accuracy under that attack (NaN if it failed to run).
    worst:
        ``worst[model]``: accuracy when each image meets its most effective L∞
        attack (the registered L∞ attacks and every extra one).
    errors:
        ``errors[(model, attack)]``: why a cell is NaN.
    examples:
        ``examples[(model, attack)]``: the adversarial versions of the first
        ``keep`` images (see :func:`attack_table`), for figures.
    eps, l2_eps, n:
        The budgets and the number of images.
    """

    models: list[str]
    attacks: list[str]
    clean: dict[str, float]
    accuracy: dict[str, dict[str, float]]
    worst: dict[str, float]
    eps: float
    l2_eps: float
    n: int
    errors: dict[tuple[str, str], str] = field(default_factory=dict)
    examples: dict[tuple[str, str], Tensor] = field(default_factory=dict)

    def best_attack(self, model: str) -> str:
        """Return the attack that leaves ``model`` the lowest accuracy."""
        row = {a: v for a, v in self.accuracy[model].items() if not math.isnan(v)}
        return min(row, key=row.__getitem__)

    def rows(self) -> list[dict[str, Any]]:
        """One dict per model: clean, each attack, worst case."""
        return [
            {"model": m, "clean": self.clean[m], **self.accuracy[m], "worst L∞": self.worst[m]}
            for m in self.models
        ]

    def _cells(self) -> tuple[list[str], list[list[str]]]:
        head = ["model", "clean", *self.attacks, "worst L∞"]
        body = [
            [m, f"{self.clean[m]:.3f}"]
            + [f"{self.accuracy[m][a]:.3f}" for a in self.attacks]
            + [f"{self.worst[m]:.3f}"]
            for m in self.models
        ]
        return head, body

    def __str__(self) -> str:
        """Return the table as aligned plain text, accuracies to three decimals."""
        head, body = self._cells()
        widths = [max(len(r[i]) for r in [head, *body]) for i in range(len(head))]
        line = lambda r: "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True))  # noqa: E731
        title = (
            f"Accuracy under attack on {self.n} images, L∞ ε = {self.eps:g}, "
            f"L2 ε = {self.l2_eps:.3g} (pixel units)"
        )
        return "\n".join([title, line(head), *map(line, body)])

    def _repr_html_(self) -> str:
        head, body = self._cells()
        th = "".join(f"<th>{h}</th>" for h in head)
        trs = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in body)
        return (
            f"<p>Accuracy under attack on {self.n} images, L∞ ε = {self.eps:g}, "
            f"L2 ε = {self.l2_eps:.3g} (pixel units)</p><table><tr>{th}</tr>{trs}</table>"
        )


def _kwargs(info: AttackInfo, eps: float, l2_eps: float, steps: int, seed: int) -> dict[str, Any]:
    kw: dict[str, Any] = {"targeted": False} if info.targeted and info.untargeted else {}
    if info.takes_eps:
        kw["eps"] = l2_eps if info.norm == "2" else eps
    if info.takes_steps:
        kw["steps"] = steps
    if info.randomised:
        kw["seed"] = seed
    return kw


def _within(info: AttackInfo, delta: Tensor, eps: float, l2_eps: float) -> Tensor:
    """Per image: the perturbation respects the table's budget in the attack's norm."""
    flat = delta.flatten(1)
    if info.norm == "2":
        return flat.norm(dim=1) <= l2_eps + 1e-6
    if info.norm == "inf":
        return flat.abs().amax(dim=1) <= eps + 1e-6
    return torch.ones(len(delta), dtype=torch.bool, device=delta.device)


@torch.no_grad()
def _runner_up(model: nn.Module, x: Tensor, y: Tensor) -> Tensor:
    """Each image's most likely class other than ``y`` and other than its prediction.

    For a correctly classified image that is the runner-up; for a misclassified
    one any target will do (it is wrong already), but it must not be the
    current prediction, which a targeted attack refuses.
    """
    with frozen_eval(model):
        logits = model(x)
    pred = logits.argmax(dim=1)
    masked = logits.scatter(1, y[:, None], float("-inf")).scatter(1, pred[:, None], float("-inf"))
    return masked.argmax(dim=1)


def _check_models(models: object) -> nn.Module:
    """Check that ``models`` maps display names to modules; return the first model."""
    if not isinstance(models, Mapping) or not models:
        raise ArgumentError("models must map at least one display name to a model")
    for name, m in models.items():
        if not isinstance(m, nn.Module):
            raise ArgumentTypeError(
                f"models[{name!r}] must be a torch.nn.Module, got {type(m).__name__}"
            )
    return next(iter(models.values()))


def _check_attack_choice(
    attacks: object, extra: object, options: object
) -> tuple[list[str], dict[str, dict[str, Any]], dict[str, ExtraAttack]]:
    """Check which attacks run; return the registry names, their options and the extra attacks."""
    if attacks is not None and (isinstance(attacks, str) or not isinstance(attacks, Sequence)):
        raise ArgumentTypeError("attacks must be a list of registered attack names")
    if extra is not None and not isinstance(extra, Mapping):
        raise ArgumentTypeError(
            "extra must map display names to functions fn(model, x, y) -> x_adv"
        )
    if options is not None and not isinstance(options, Mapping):
        raise ArgumentTypeError("options must map attack names to keyword-argument dicts")
    names = [n for n in ATTACKS] if attacks is None else list(attacks)
    for n in names:
        if n not in ATTACKS:
            raise ArgumentError(f"unknown attack {n!r}; registered: {', '.join(ATTACKS)}")
    opts = {k: dict(v) for k, v in (options or {}).items() if isinstance(v, Mapping)}
    for n in opts:
        if n not in names:
            raise ArgumentError(f"options names {n!r}, which is not among the attacks run: {names}")
    extras = dict(extra or {})
    for n, fn in extras.items():
        if not callable(fn):
            raise ArgumentTypeError(f"extra[{n!r}] must be a function fn(model, x, y) -> x_adv")
    return names, opts, extras


def _run_registered(
    info: AttackInfo, model: nn.Module, x: Tensor, y: Tensor, kw: dict[str, Any]
) -> Tensor:
    """Run a registered attack untargeted; one that is targeted only aims at the runner-up."""
    if info.untargeted:
        out = info.fn(model, x, y, **kw)
    else:
        out = info.fn(model, x, _runner_up(model, x, y), **{**kw, "targeted": True})
    return adversarial_images(out, x)


def _correct(model: nn.Module, x: Tensor, y: Tensor) -> Tensor:
    """Return per image (N,) bool whether ``model`` classifies the clean image right."""
    check_images(model, x)
    with torch.no_grad(), frozen_eval(model):
        logits = check_finite_logits(check_logits(model(x), len(x)))
    check_label_range(y, logits.shape[1])
    return logits.argmax(dim=1) == y


def _right(model: nn.Module, x_adv: Tensor, y: Tensor, ok: Tensor, correct: Tensor) -> Tensor:
    """Return per image (N,) bool whether ``model`` is right on ``x_adv`` (clean where not ``ok``).

    An adversarial image outside the budget (``ok`` False) does not count: the clean
    answer ``correct`` stands.
    """
    with torch.no_grad(), frozen_eval(model):
        right = check_finite_logits(model(x_adv)).argmax(dim=1) == y
    return torch.where(ok, right, correct)


def attack_table(
    models: Mapping[str, nn.Module],
    x: Tensor,
    y: Tensor,
    *,
    eps: float,
    l2_eps: float | None = None,
    attacks: Sequence[str] | None = None,
    extra: Mapping[str, ExtraAttack] | None = None,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    steps: int = 20,
    seed: int = 0,
    keep: int = 0,
    progress: bool = False,
) -> AttackTable:
    """Accuracy of every model under every attack at one budget, and the L∞ worst case per model.

    Parameters
    ----------
    models:
        Display name → model (anything whose arg-max is its prediction).
    x, y:
        Images (N, C, H, W) in [0, 1] and true labels (N,), on the models' device.
    eps:
        L∞ budget in pixel units, > 0.
    l2_eps:
        L2 budget in pixel units; default ``eps * sqrt(C * H * W) / 2``, half
        the L2 length of a corner of the L∞ ball.
    attacks:
        Registry names to run; default every registered untargeted attack.
    extra:
        Display name → ``fn(model, x, y) -> x_adv`` for attacks outside the
        registry (their results are checked against the L∞ budget).
    options:
        Registry name → keyword arguments that override the table's own for
        that attack, e.g. ``{"spsa": {"samples": 16}}``.
    steps:
        Iterations for every iterative attack.
    seed:
        Seed of every randomised attack.
    keep:
        Keep the adversarial versions of the first ``keep`` images in
        :attr:`AttackTable.examples` (0: none).
    progress:
        Show a progress bar over the cells.

    Returns
    -------
    AttackTable

    Raises
    ------
    TypeError
        If a model is not an ``nn.Module`` or an extra attack is not callable.
    ValueError
        For bad images, labels or budgets, no models, or an unknown attack name.
    """
    first = _check_models(models)
    eps = check_eps(eps)
    if eps == 0:
        raise ArgumentError("eps must be > 0")
    check_images(first, x)
    d = math.prod(x.shape[1:])
    l2_eps = eps * math.sqrt(d) / 2 if l2_eps is None else check_eps(l2_eps, "l2_eps")
    steps = check_count(steps, "steps")
    keep = check_count(keep, "keep", minimum=0)
    seed = check_seed(seed)
    if not isinstance(progress, bool):
        raise ArgumentError(f"progress must be True or False, got {progress!r}")
    names, opts, extras = _check_attack_choice(attacks, extra, options)
    infos = [ATTACKS[n] for n in names]
    y = check_labels(y, x)
    titles = [i.label for i in infos] + list(extras)
    # the keyword arguments of each registered attack: the table's budget, then its options
    kws = [{**_kwargs(i, eps, l2_eps, steps, seed), **opts.get(i.name, {})} for i in infos]

    clean: dict[str, float] = {}
    acc: dict[str, dict[str, float]] = {}
    worst: dict[str, float] = {}
    errors: dict[tuple[str, str], str] = {}
    examples: dict[tuple[str, str], Tensor] = {}
    cells = [(m, a) for m in models for a in range(len(titles))]
    bar = tqdm(total=len(cells), desc="attack table", disable=not progress, leave=False)
    for mname, model in models.items():
        correct = _correct(model, x, y)
        clean[mname] = float(correct.float().mean())
        still = correct.clone()
        acc[mname] = {}
        for k, title in enumerate(titles):
            try:
                if k < len(infos):
                    x_adv = _run_registered(infos[k], model, x, y, kws[k])
                    ok = _within(infos[k], x_adv - x, eps, l2_eps)
                else:
                    x_adv = extras[title](model, x, y)
                    ok = (x_adv - x).flatten(1).abs().amax(dim=1) <= eps + 1e-6
                right = _right(model, x_adv, y, ok, correct)
                if keep:
                    kept = torch.where(ok[:keep, None, None, None], x_adv[:keep], x[:keep])
                    examples[(mname, title)] = kept.detach()
                acc[mname][title] = float(right.float().mean())
                if k >= len(infos) or infos[k].norm == "inf":
                    still &= right
            except Exception as err:  # report, do not hide: the cell shows NaN, errors says why
                acc[mname][title] = float("nan")
                errors[(mname, title)] = f"{type(err).__name__}: {err}"
            bar.update()
        worst[mname] = float(still.float().mean())
    bar.close()
    return AttackTable(
        list(models), titles, clean, acc, worst, eps, l2_eps, len(x), errors, examples
    )
