"""Gradient-masking sanity checks in one call: Athalye, Carlini & Wagner's (2018) warning signs.

A defense that only hides its gradient makes gradient attacks fail for the
wrong reason. Athalye et al. list the symptoms; :func:`masking_report` runs
the attacks that reveal them on one model and returns one line per check:

1. **Iterative beats single-step**: FGSM fools no image PGD misses, beyond noise.
2. **White-box beats transfer**: PGD examples crafted on a substitute fool no
   image white-box PGD misses, beyond noise (needs ``substitute=``).
3. **Accuracy falls with ε, to about 0 unbounded**: along ε × (¼, ½, 1, 2), no larger budget leaves
   images that a smaller one fooled, and at ε = 1 (any image reachable) PGD
   started *at the clean image* leaves about 0 accuracy. Its random start is
   not used there: at ε = 1 the random start alone fools most images of any
   model, so it would decide the check.
4. **Random noise does not beat gradient attacks**: ``noise_samples`` random
   corners of the ε-ball per image; an image counts as fooled by noise if any
   of them fools it.
5. **Gradient-free does not beat gradient attacks**: the same for SPSA.
6. **The gradient predicts the loss**: a step of PGD's size along the sign of
   the gradient, at the clean image and at PGD's result, raises the loss by
   at least ``consistency`` times the first-order increase the gradient
   promises. A zero gradient (saturation, a step function) promises nothing
   and fails too; so does a gradient swamped by a high-frequency term. This is
   the check that catches masking laid on top of a robust model, where the
   attacks in 1–5 may all report the same high accuracy. Not run on a
   randomised model, whose loss changes from call to call anyway.
7. **Outputs are deterministic, or attacked with EOT**: two identical calls
   give the same logits, or the report was asked to use ``eot > 1``.

The comparisons in 1–5 are **per image**: an image that the attack that should
be weaker fools, and the stronger one does not, is a warning sign, and the
verdict is an exact one-sided paired test (:func:`advlab.stats.paired_test`)
at level ``alpha``. Check 6 fails when the share of images whose gradient
misleads is significantly above ``allowed_share`` (exact binomial test). A
failed check is a warning sign, not a proof; a passed report is necessary,
not sufficient, for a robustness claim.

    >>> report = masking_report(model, x, y, eps=0.1, substitute=sub)
    >>> print(report)            # the table
    >>> report.flagged           # True if any check failed
    >>> report.fooled["SPSA"]    # which images each attack fooled
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise

import scipy.stats
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
from ..attacks.gradient import loss_gradient
from ..attacks.pgd import pgd
from ..attacks.spsa import random_noise, spsa
from ..stats import PairedTest, format_p, paired_test, rate_of

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
        The numbers, e.g. ``"FGSM fools 3 images PGD does not, PGD 41 that FGSM does not
        (one-sided exact paired test p = 1)"``, or why it was skipped.
    values:
        The accuracies (or shares) compared, by name.
    test:
        The paired test behind a per-image comparison (``a``: the attack that should be the
        weaker, ``b``: the stronger; their successes are the images fooled), else None.
    p_value:
        The p-value of the check's test (None for the determinism check and skipped checks).
    """

    name: str
    passed: bool | None
    detail: str
    values: dict[str, float] = field(default_factory=dict)
    test: PairedTest | None = None
    p_value: float | None = None

    @property
    def status(self) -> str:
        """``"pass"``, ``"FAIL"`` or ``"skipped"`` (when the check could not run)."""
        return {True: "pass", False: "FAIL", None: "skipped"}[self.passed]


@dataclass(frozen=True)
class MaskingReport:
    """The result of :func:`masking_report`: one :class:`MaskingCheck` per warning sign.

    ``str(report)`` is a plain-text table; ``report.rows()`` the same as dicts
    (for pandas); ``report.flagged`` says whether any check failed;
    ``report.fooled`` holds, per attack, which images it fooled (bool, CPU), for
    further paired tests; ``report.examples`` the adversarial images themselves
    when asked for (``keep_examples=True``).
    """

    checks: tuple[MaskingCheck, ...]
    eps: float
    clean_accuracy: float
    accuracies: dict[str, float]
    n: int
    alpha: float = 0.05
    fooled: dict[str, Tensor] = field(default_factory=dict)
    examples: dict[str, Tensor] = field(default_factory=dict)

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
            f"(clean accuracy {self.clean_accuracy:.3f}; each FAILs at level {self.alpha:g})"
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
            f"(clean accuracy {self.clean_accuracy:.3f}; each fails at level {self.alpha:g})</p>"
            "<table><tr><th>check</th><th>result</th><th>the numbers</th></tr>"
            f"{cells}</table>"
        )


@torch.no_grad()
def _correct(model: nn.Module, x: Tensor, y: Tensor) -> Tensor:
    with frozen_eval(model):
        logits = check_finite_logits(check_logits(model(x), len(x)))
        return (logits.argmax(dim=1) == y).cpu()


def _weaker_check(
    name: str, fooled: dict[str, Tensor], strong: str, weak: str, alpha: float
) -> MaskingCheck:
    """FAIL when ``weak`` fools significantly more images that ``strong`` misses than the reverse."""
    t = paired_test(fooled[weak], fooled[strong], alternative="greater")
    detail = (
        f"{weak} fools {t.a_only} image(s) {strong} does not, {strong} {t.b_only} that {weak} "
        f"does not (one-sided exact paired test {format_p(t.p_value, alpha)}); accuracy "
        f"{strong} {1 - t.rate_b.value:.3f}, {weak} {1 - t.rate_a.value:.3f}"
    )
    values = {strong: 1 - t.rate_b.value, weak: 1 - t.rate_a.value}
    return MaskingCheck(name, not t.p_value < alpha, detail, values, t, t.p_value)


def _loss_and_gradient(
    model: nn.Module, x: Tensor, y: Tensor, loss: Loss, eot: int
) -> tuple[Tensor, Tensor]:
    """Per-image objective and its input gradient at ``x``, each the mean over ``eot`` calls."""
    grad = torch.zeros_like(x)
    value = torch.zeros(len(x), dtype=x.dtype, device=x.device)
    for _ in range(eot):
        v, g = loss_gradient(model, x, y, loss=loss)
        grad += g / eot
        value += v / eot
    return value, grad


def _misleading(
    model: nn.Module, x: Tensor, y: Tensor, *, step: float, loss: Loss, eot: int, kappa: float
) -> tuple[Tensor, Tensor]:
    """Flag, per image, a sign step of size ``step`` that misses the increase its gradient promises.

    Returns the flags and the ratio actual / promised increase (0 where nothing is promised).
    """
    with frozen_eval(model):
        value, grad = _loss_and_gradient(model, x, y, loss, eot)
        x_step = (x + step * grad.sign()).clamp(0.0, 1.0)
        promised = (grad * (x_step - x)).flatten(1).sum(1)
        gained = _loss_and_gradient(model, x_step, y, loss, eot)[0] - value
    ratio = torch.where(promised > 0, gained / promised.clamp_min(1e-30), torch.zeros_like(gained))
    flags = (promised <= 0) | (gained < kappa * promised)
    return flags.cpu(), ratio.cpu()


def masking_report(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    *,
    eps: float,
    substitute: nn.Module | None = None,
    steps: int = 20,
    loss: Loss = "ce",
    unbounded_accuracy: float = 0.05,
    spsa_steps: int = 20,
    spsa_samples: int = 32,
    noise_samples: int = 20,
    consistency: float = 0.1,
    eot: int = 1,
    alpha: float = 0.05,
    keep_examples: bool = False,
    seed: int = 0,
) -> MaskingReport:
    """Run Athalye–Carlini–Wagner's gradient-masking sanity checks on ``model`` at budget ``eps``.

    Threat model of the attacks used: L∞ ball of radius ``eps`` in pixel
    units. White box: FGSM and PGD (``steps`` steps, random start, the
    evaluator's ``loss``); transfer: PGD crafted on ``substitute``; scores
    only: SPSA; none: random ±``eps`` noise. See the module docstring for the
    seven checks.

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
    unbounded_accuracy:
        The largest accuracy at ε = 1 that counts as "about 0": the check fails
        when the Wilson interval of the accuracy lies wholly above it.
    spsa_steps, spsa_samples:
        SPSA's budget (``2 * spsa_samples`` queries per image per step).
    noise_samples:
        Random corners of the ε-ball tried per image by the noise check.
    consistency:
        The fraction of the promised first-order loss increase a gradient step
        must deliver (check 6), in (0, 1]. The check fails when the share of
        images where it does not is significantly above 1 %.
    eot:
        Gradient samples per step for a randomised model (expectation over
        transformation); 1 for a deterministic one. A model whose two identical
        calls differ fails check 7 unless ``eot > 1``.
    alpha:
        Level of every test (one-sided).
    keep_examples:
        Keep the adversarial images of every attack in ``report.examples``.
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
        For bad images, labels or budgets (``eps`` must be > 0), or a model with
        non-finite outputs.
    """
    o = _Options.checked(
        model,
        substitute,
        eps=eps,
        steps=steps,
        loss=loss,
        unbounded=unbounded_accuracy,
        spsa_steps=spsa_steps,
        spsa_samples=spsa_samples,
        noise_samples=noise_samples,
        consistency=consistency,
        eot=eot,
        alpha=alpha,
        keep_examples=keep_examples,
        seed=seed,
    )
    check_images(model, x)
    y = check_labels(y, x)
    if substitute is not None:
        check_images(substitute, x)
    with torch.no_grad(), frozen_eval(model):
        first, second = (check_finite_logits(check_logits(model(x), len(x))) for _ in range(2))
        deterministic = torch.equal(first, second)
    fooled, examples, x_pgd = _run_attacks(model, substitute, x, y, o)
    acc = {"clean": float(_correct(model, x, y).float().mean())}
    acc.update({k: 1 - float(v.float().mean()) for k, v in fooled.items()})
    grad = "FGSM or PGD"
    checks = [
        _weaker_check("iterative beats single-step", fooled, "PGD", "FGSM", o.alpha),
        _weaker_check("white-box beats transfer", fooled, "PGD", "transfer", o.alpha)
        if substitute is not None
        else MaskingCheck("white-box beats transfer", None, "no substitute given (substitute=)"),
        _curve_check(fooled, o.grid, o.unbounded, o.alpha),
        _weaker_check(
            "random noise does not beat gradient attacks", fooled, grad, "noise", o.alpha
        ),
        _weaker_check(
            "gradient-free does not beat gradient attacks", fooled, grad, "SPSA", o.alpha
        ),
        _consistency_check(model, x, x_pgd, y, o, randomised=not deterministic),
        _determinism_check(deterministic, o.eot),
    ]
    return MaskingReport(tuple(checks), o.eps, acc["clean"], acc, len(x), o.alpha, fooled, examples)


#: The share of images on which an honest model's gradient may mislead (check 6's null).
HONEST_SHARE = 0.01


@dataclass(frozen=True)
class _Options:
    eps: float
    steps: int
    loss: Loss
    grid: list[float]
    unbounded: float
    spsa_steps: int
    spsa_samples: int
    noise_samples: int
    consistency: float
    eot: int
    alpha: float
    keep_examples: bool
    seed: int

    @classmethod
    def checked(
        cls,
        model: object,
        substitute: object,
        *,
        eps: float,
        loss: Loss,
        unbounded: float,
        consistency: float,
        alpha: float,
        keep_examples: bool,
        **counts: int,
    ) -> _Options:
        if not isinstance(model, nn.Module):
            raise ArgumentTypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        if substitute is not None and not isinstance(substitute, nn.Module):
            raise ArgumentTypeError(
                f"substitute must be a torch.nn.Module or None, got {type(substitute).__name__}"
            )
        eps = check_eps(eps)
        if eps == 0:
            raise ArgumentError(
                "eps must be > 0: the checks compare attacks at a non-trivial budget"
            )
        check_loss(loss)
        grid = sorted({eps * f for f in (0.25, 0.5, 1.0, 2.0)})
        consistency = check_real(consistency, "consistency", positive=True)
        if consistency > 1:
            raise ArgumentError(f"consistency must lie in (0, 1], got {consistency}")
        alpha = check_real(alpha, "alpha", positive=True)
        if not alpha < 1:
            raise ArgumentError(f"alpha must lie in (0, 1), got {alpha}")
        if not isinstance(keep_examples, bool):
            raise ArgumentTypeError(f"keep_examples must be True or False, got {keep_examples!r}")
        return cls(
            eps=eps,
            steps=check_count(counts["steps"], "steps"),
            loss=loss,
            grid=[e for e in grid if 0 < e < 1.0] + [1.0],
            unbounded=check_real(unbounded, "unbounded_accuracy"),
            spsa_steps=check_count(counts["spsa_steps"], "spsa_steps"),
            spsa_samples=check_count(counts["spsa_samples"], "spsa_samples"),
            noise_samples=check_count(counts["noise_samples"], "noise_samples"),
            consistency=consistency,
            eot=check_count(counts["eot"], "eot"),
            alpha=alpha,
            keep_examples=keep_examples,
            seed=check_seed(counts["seed"]),
        )


def _run_attacks(
    model: nn.Module, substitute: nn.Module | None, x: Tensor, y: Tensor, o: _Options
) -> tuple[dict[str, Tensor], dict[str, Tensor], Tensor]:
    """Every attack of the report: which images each fooled, their images if kept, PGD's."""
    examples: dict[str, Tensor] = {}
    fooled: dict[str, Tensor] = {}

    def attacked(name: str, x_adv: Tensor) -> Tensor:
        if o.keep_examples:
            examples[name] = x_adv
        fooled[name] = ~_correct(model, x_adv, y)
        return x_adv

    def run_pgd(e: float, steps: int = o.steps, *, random_start: bool = True) -> Tensor:
        alpha = e if steps == 1 else None
        return pgd(
            model,
            x,
            y,
            eps=e,
            steps=steps,
            alpha=alpha,
            random_start=random_start,
            loss=o.loss,
            eot=o.eot,
            seed=o.seed,
        )

    if o.eot == 1:
        attacked("FGSM", fgsm(model, x, y, eps=o.eps, loss=o.loss))
    else:  # FGSM on the mean of eot gradients: one full-length step from the clean image
        attacked("FGSM", run_pgd(o.eps, 1, random_start=False))
    at = {e: attacked(f"PGD@{e:g}", run_pgd(e)) for e in o.grid[:-1]}
    x_pgd = attacked("PGD", at[o.eps] if o.eps in at else run_pgd(o.eps))
    attacked("PGD@1 from x", run_pgd(1.0, random_start=False))
    g = torch.Generator().manual_seed(o.seed)
    u = torch.empty(x.shape, dtype=x.dtype).uniform_(-1.0, 1.0, generator=g)
    attacked("random start @1", (x + u.to(x.device)).clamp(0.0, 1.0))
    fooled["noise"] = torch.zeros(len(x), dtype=torch.bool)
    for i in range(o.noise_samples):
        x_noise = random_noise(model, x, y, eps=o.eps, seed=o.seed + i)
        fooled["noise"] |= ~_correct(model, x_noise, y)
    x_spsa = spsa(model, x, y, eps=o.eps, steps=o.spsa_steps, samples=o.spsa_samples, seed=o.seed)
    attacked("SPSA", x_spsa)
    if substitute is not None:
        attacked("transfer", pgd(substitute, x, y, eps=o.eps, steps=o.steps, seed=o.seed))
    fooled["FGSM or PGD"] = fooled["FGSM"] | fooled["PGD"]
    return fooled, examples, x_pgd


def _consistency_check(
    model: nn.Module, x: Tensor, x_pgd: Tensor, y: Tensor, o: _Options, *, randomised: bool
) -> MaskingCheck:
    """Check 6: a step along the gradient's sign delivers the loss increase it promises."""
    name = "the gradient predicts the loss"
    if randomised:
        return MaskingCheck(
            name,
            None,
            "not run: the model is randomised, so one small step's change of loss is mostly "
            "its noise; checks 1-5 (with eot=) judge it",
        )
    step = min(o.eps, 2.5 * o.eps / o.steps)  # PGD's default step
    kw = {"step": step, "loss": o.loss, "eot": o.eot, "kappa": o.consistency}
    at_x, ratio = _misleading(model, x, y, **kw)  # type: ignore[arg-type]
    at_adv, _ = _misleading(model, x_pgd, y, **kw)  # type: ignore[arg-type]
    k, n = int((at_x | at_adv).sum()), len(x)
    p = float(scipy.stats.binomtest(k, n, HONEST_SHARE, alternative="greater").pvalue)
    detail = (
        f"a step of {step:g} along the gradient's sign gains less than {o.consistency:g} of "
        f"the loss increase it promises (or nothing is promised) on {k} of {n} images, at the "
        f"clean image or at PGD's; median gained / promised at the clean images "
        f"{float(ratio.median()):.2f}; exact binomial test against {HONEST_SHARE:g}: "
        f"{format_p(p, o.alpha)}"
    )
    values = {"misleading share": k / n, "median ratio": float(ratio.median())}
    return MaskingCheck(name, not p < o.alpha, detail, values, None, p)


def _curve_check(
    fooled: dict[str, Tensor], grid: list[float], unbounded: float, alpha: float
) -> MaskingCheck:
    """Check 3: no significant rise of accuracy along the ε grid, and ~0 unbounded from x."""
    names = [f"PGD@{e:g}" for e in grid[:-1]] + ["PGD@1 from x"]
    rises = []
    for a, b in pairwise(names):
        t = paired_test(fooled[a], fooled[b], alternative="greater")
        if t.p_value < alpha:
            rises.append(
                f"{a} fools {t.a_only} image(s) {b} does not ({format_p(t.p_value, alpha)})"
            )
    at_one = rate_of(~fooled["PGD@1 from x"])
    start = 1 - float(fooled["random start @1"].float().mean())
    ok = not rises and not at_one.low > unbounded
    shown = ", ".join(
        f"{e:g}: {1 - float(fooled[nm].float().mean()):.3f}"
        for e, nm in zip(grid, names, strict=True)
    )
    detail = (
        f"PGD accuracy by eps {{{shown}}}; at eps = 1, PGD from the clean image leaves "
        f"{at_one.text('.0%')} (must be about 0, at most {unbounded:g}), its random start alone "
        f"{start:.3f}" + "".join(f"; {r}" for r in rises)
    )
    values = {nm: 1 - float(fooled[nm].float().mean()) for nm in names}
    values["random start @1"] = start
    return MaskingCheck("accuracy falls with eps, to ~0 unbounded", ok, detail, values)


def _determinism_check(deterministic: bool, eot: int) -> MaskingCheck:
    """Check 7: two identical calls agree, or the report used EOT."""
    name = "outputs are deterministic, or attacked with EOT"
    if deterministic:
        return MaskingCheck(name, True, "two identical calls give the same logits")
    if eot > 1:
        return MaskingCheck(
            name, True, f"randomised: two identical calls differ; attacked with eot={eot}"
        )
    return MaskingCheck(
        name,
        False,
        "randomised: two identical calls give different logits, and the attacks used one sample "
        "per step; rerun with eot=k (k gradient samples per step, e.g. 10)",
    )
