"""Gradient-masking sanity checks in one call: Athalye, Carlini & Wagner's (2018) warning signs.

A defense that only hides its gradient makes gradient attacks fail for the
wrong reason. Athalye et al. list the symptoms; :func:`masking_report` runs
the attacks that reveal them on one model and returns one line per check:

1. **Iterative beats single-step**: PGD leaves no more accuracy than FGSM.
2. **White-box beats transfer**: PGD on the model itself leaves no more
   accuracy than PGD examples crafted on a substitute (needs ``substitute=``).
3. **Accuracy falls with ε, to about 0 unbounded**: PGD accuracy does not rise
   along the ε grid, and at ε = 1 (any image reachable) it is near 0.
4. **Random noise does not beat gradient attacks**: random ±ε noise leaves no
   less accuracy than the best gradient attack.
5. **Gradient-free does not beat gradient attacks**: SPSA (scores only)
   leaves no less accuracy than the best gradient attack.

"Beats" is measured on accuracy under attack, with a tolerance (default two
points, about seven of the book's 360 test digits), so a check fails only on a
clear difference. A failed check is a warning sign, not a proof; a passed
report is necessary, not sufficient, for a robustness claim.

    >>> report = masking_report(model, x, y, eps=0.1, substitute=sub)
    >>> print(report)            # the table
    >>> report.flagged           # True if any check failed
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise

import torch
from torch import Tensor, nn

from .._utils import frozen_eval
from .._validate import (
    ArgumentError,
    ArgumentTypeError,
    Loss,
    check_count,
    check_eps,
    check_finite_logits,
    check_images,
    check_labels,
    check_logits,
    check_loss,
    check_real,
    check_seed,
)
from ..attacks.fgsm import fgsm
from ..attacks.pgd import pgd
from ..attacks.spsa import random_noise, spsa

__all__ = ["MaskingCheck", "MaskingReport", "masking_report"]


@dataclass(frozen=True)
class MaskingCheck:
    """One sanity check: its name, whether it passed (None: not run), and the numbers behind it.

    Attributes
    ----------
    name:
        The check, phrased as what a sound evaluation shows.
    passed:
        True (no warning sign), False (warning sign), or None (skipped).
    detail:
        The numbers, e.g. ``"PGD 0.12 ≤ FGSM 0.45"``, or why it was skipped.
    values:
        The accuracies compared, by attack name.
    """

    name: str
    passed: bool | None
    detail: str
    values: dict[str, float] = field(default_factory=dict)

    @property
    def status(self) -> str:
        """``"pass"``, ``"FAIL"`` or ``"skipped"`` (when the check could not run)."""
        return {True: "pass", False: "FAIL", None: "skipped"}[self.passed]


@dataclass(frozen=True)
class MaskingReport:
    """The result of :func:`masking_report`: one :class:`MaskingCheck` per warning sign.

    ``str(report)`` is a plain-text table; ``report.rows()`` the same as dicts
    (for pandas); ``report.flagged`` says whether any check failed.
    """

    checks: tuple[MaskingCheck, ...]
    eps: float
    clean_accuracy: float
    accuracies: dict[str, float]
    n: int

    @property
    def flagged(self) -> bool:
        """True when at least one check failed: the model shows a sign of gradient masking."""
        return any(c.passed is False for c in self.checks)

    @property
    def failed(self) -> list[str]:
        """Names of the failed checks."""
        return [c.name for c in self.checks if c.passed is False]

    def __getitem__(self, name: str) -> MaskingCheck:
        """Return the check called ``name``, or the first whose name starts with it."""
        for c in self.checks:
            if c.name == name or c.name.startswith(name):
                return c
        raise KeyError(f"no check named {name!r}; checks: {[c.name for c in self.checks]}")

    def rows(self) -> list[dict[str, str]]:
        """Return one dict per check (``check``, ``result``, ``numbers``), e.g. for pandas."""
        return [{"check": c.name, "result": c.status, "numbers": c.detail} for c in self.checks]

    def __str__(self) -> str:
        """Return the report as a plain-text table."""
        head = (
            f"Gradient-masking checks at eps={self.eps:g} on {self.n} images "
            f"(clean accuracy {self.clean_accuracy:.3f}; accuracy under attack below)"
        )
        width = max(len(c.name) for c in self.checks)
        lines = [head] + [f"  {c.name:<{width}}  {c.status:<7}  {c.detail}" for c in self.checks]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        cells = "".join(
            f"<tr><td style='text-align:left'>{c.name}</td><td><b>{c.status}</b></td>"
            f"<td style='text-align:left'>{c.detail}</td></tr>"
            for c in self.checks
        )
        return (
            f"<p>Gradient-masking checks at ε = {self.eps:g} on {self.n} images "
            f"(clean accuracy {self.clean_accuracy:.3f})</p>"
            "<table><tr><th>check</th><th>result</th><th>accuracy under attack</th></tr>"
            f"{cells}</table>"
        )


@torch.no_grad()
def _accuracy(model: nn.Module, x: Tensor, y: Tensor) -> float:
    with frozen_eval(model):
        logits = check_finite_logits(check_logits(model(x), len(x)))
        return float((logits.argmax(dim=1) == y).float().mean())


def masking_report(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    *,
    eps: float,
    substitute: nn.Module | None = None,
    steps: int = 20,
    loss: Loss = "ce",
    eps_grid: Sequence[float] | None = None,
    unbounded_accuracy: float = 0.05,
    spsa_steps: int = 20,
    spsa_samples: int = 32,
    tolerance: float = 0.02,
    seed: int = 0,
) -> MaskingReport:
    """Run Athalye–Carlini–Wagner's gradient-masking sanity checks on ``model`` at budget ``eps``.

    Threat model of the attacks used: L∞ ball of radius ``eps`` in pixel
    units. White box: FGSM and PGD (``steps`` steps, random start, the
    evaluator's ``loss``); transfer: PGD crafted on ``substitute``; scores
    only: SPSA; none: random ±``eps`` noise. See the module docstring for the
    five checks.

    Parameters
    ----------
    model:
        The (defended) classifier; anything whose arg-max is its prediction.
    x, y:
        Images (N, C, H, W) in [0, 1] and true labels (N,), on the model's device.
    eps:
        The budget of the robustness claim, pixel units, > 0.
    substitute:
        The attacker's own model for the transfer check (e.g. trained on a
        disjoint split); without it that check is skipped.
    steps:
        PGD steps.
    loss:
        The gradient attacks' loss, ``"ce"`` or ``"margin"``: use the one the
        evaluation under scrutiny used.
    eps_grid:
        Budgets for the monotonicity check; default ``eps`` × (¼, ½, 1, 2).
        ε = 1 (unbounded) is always added.
    unbounded_accuracy:
        The largest accuracy at ε = 1 that counts as "about 0".
    spsa_steps, spsa_samples:
        SPSA's budget (``2 * spsa_samples`` queries per image per step).
    tolerance:
        How much accuracy (a fraction) one attack must beat another by to count.
    seed:
        Seeds PGD's random start, SPSA and the noise.

    Returns
    -------
    MaskingReport

    Raises
    ------
    TypeError
        If ``model`` or ``substitute`` is not an ``nn.Module``.
    ValueError
        For bad images, labels or budgets (``eps`` must be > 0).
    """
    if not isinstance(model, nn.Module):
        raise ArgumentTypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if substitute is not None and not isinstance(substitute, nn.Module):
        raise ArgumentTypeError(
            f"substitute must be a torch.nn.Module or None, got {type(substitute).__name__}"
        )
    eps = check_eps(eps)
    if eps == 0:
        raise ArgumentError("eps must be > 0: the checks compare attacks at a non-trivial budget")
    steps = check_count(steps, "steps")
    check_loss(loss)
    grid = sorted(
        {eps * f for f in (0.25, 0.5, 1.0, 2.0)}
        if eps_grid is None
        else {check_eps(e, "eps_grid") for e in eps_grid}
    )
    grid = [e for e in grid if e < 1.0] + [1.0]
    unbounded_accuracy = check_real(unbounded_accuracy, "unbounded_accuracy")
    tolerance = check_real(tolerance, "tolerance")
    seed = check_seed(seed)
    check_images(model, x)
    y = check_labels(y, x)
    if substitute is not None:
        check_images(substitute, x)

    def pgd_acc(e: float) -> float:
        if e == 0:
            return clean
        x_adv = pgd(model, x, y, eps=e, steps=steps, loss=loss, seed=seed)
        return _accuracy(model, x_adv, y)

    clean = _accuracy(model, x, y)
    acc: dict[str, float] = {"clean": clean}
    acc["FGSM"] = _accuracy(model, fgsm(model, x, y, eps=eps, loss=loss), y)
    curve = {e: pgd_acc(e) for e in grid}
    acc["PGD"] = curve[eps] if eps in curve else pgd_acc(eps)
    acc["noise"] = _accuracy(model, random_noise(model, x, y, eps=eps, seed=seed), y)
    x_spsa = spsa(model, x, y, eps=eps, steps=spsa_steps, samples=spsa_samples, seed=seed)
    acc["SPSA"] = _accuracy(model, x_spsa, y)
    if substitute is not None:
        x_tr = pgd(substitute, x, y, eps=eps, steps=steps, seed=seed)
        acc["transfer"] = _accuracy(model, x_tr, y)

    best_grad = min(acc["FGSM"], acc["PGD"])
    grad_name = "PGD" if acc["PGD"] <= acc["FGSM"] else "FGSM"
    checks = [
        MaskingCheck(
            "iterative beats single-step",
            acc["PGD"] <= acc["FGSM"] + tolerance,
            f"PGD {acc['PGD']:.3f} vs FGSM {acc['FGSM']:.3f}",
            {"PGD": acc["PGD"], "FGSM": acc["FGSM"]},
        ),
    ]
    if substitute is None:
        checks.append(
            MaskingCheck("white-box beats transfer", None, "no substitute given (substitute=)")
        )
    else:
        checks.append(
            MaskingCheck(
                "white-box beats transfer",
                acc["PGD"] <= acc["transfer"] + tolerance,
                f"PGD {acc['PGD']:.3f} vs transfer {acc['transfer']:.3f}",
                {"PGD": acc["PGD"], "transfer": acc["transfer"]},
            )
        )
    values = list(curve.values())
    rises = [(a, b) for (a, b) in pairwise(grid) if curve[b] > curve[a] + tolerance]
    ok = not rises and curve[1.0] <= unbounded_accuracy
    shown = ", ".join(f"{e:g}: {curve[e]:.3f}" for e in grid)
    checks.append(
        MaskingCheck(
            "accuracy falls with eps, to ~0 unbounded",
            ok,
            f"PGD by eps {{{shown}}}; unbounded must be <= {unbounded_accuracy:g}",
            {f"PGD@{e:g}": v for e, v in zip(grid, values, strict=True)},
        )
    )
    checks.append(
        MaskingCheck(
            "random noise does not beat gradient attacks",
            best_grad <= acc["noise"] + tolerance,
            f"{grad_name} {best_grad:.3f} vs noise {acc['noise']:.3f}",
            {grad_name: best_grad, "noise": acc["noise"]},
        )
    )
    checks.append(
        MaskingCheck(
            "gradient-free does not beat gradient attacks",
            best_grad <= acc["SPSA"] + tolerance,
            f"{grad_name} {best_grad:.3f} vs SPSA {acc['SPSA']:.3f}",
            {grad_name: best_grad, "SPSA": acc["SPSA"]},
        )
    )
    return MaskingReport(tuple(checks), eps, clean, acc, len(x))
