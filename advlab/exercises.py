"""Checkers for the book's exercises: the reader writes an attack, advlab says what is wrong with it.

Each ``check_*`` function runs the reader's implementation on a few small,
random models and inputs, next to advlab's own implementation, and answers with
specific feedback rather than a bare pass/fail::

    >>> def my_fgsm(model, x, y, eps):
    ...     x = x.clone().requires_grad_(True)
    ...     loss = torch.nn.functional.cross_entropy(model(x), y)
    ...     (grad,) = torch.autograd.grad(loss, x)
    ...     return (x + eps * grad.sign()).clamp(0, 1).detach()
    >>> check_fgsm(my_fgsm)
    ✔ exact match with advlab.fgsm on 6 random problems

The diagnoses cover the mistakes students make most: a result outside [0, 1]
(clipping forgotten), a step against the gradient (sign flipped, i.e. the loss
descended), the raw gradient or an L2 step where the sign was meant (wrong
norm), a perturbation outside the ε-ball (projection missing), the input
modified in place, and outputs of the wrong shape, dtype or device.

The test problems use models without dropout or batch norm, so the reader's
code gives the same answer in train and eval mode, and labels equal to the
models' clean predictions (an untargeted attack on correctly classified
images).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .attacks import fgsm, pgd
from .attacks._common import check_count

__all__ = ["CheckReport", "check_fgsm", "check_pgd"]

#: Absolute tolerance for "the same image": float32 rounding of x + eps·sign(g).
ATOL = 1e-5


@dataclass
class CheckReport:
    """The verdict on a reader's implementation: ``passed`` and the feedback lines.

    Printing it (or leaving it as a cell's last value) shows the feedback; use
    ``assert report.passed`` to stop a notebook when the implementation is wrong.
    """

    name: str
    passed: bool
    lines: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        mark = "✔" if self.passed else "✘"
        return "\n".join([f"{mark} {self.lines[0]}", *(f"  {s}" for s in self.lines[1:])])

    def __repr__(self) -> str:
        return str(self)

    def __bool__(self) -> bool:
        return self.passed


@dataclass(frozen=True)
class _Problem:
    model: nn.Module
    x: Tensor
    y: Tensor
    eps: float


def _problems(trials: int, seed: int) -> list[_Problem]:
    """Small random classifiers (linear and convolutional) with images that touch 0 and 1."""
    gen = torch.Generator().manual_seed(seed)
    out = []
    for t in range(trials):
        torch.manual_seed(seed * 1000 + t)
        c, h, k = (1, 6, 3) if t % 2 == 0 else (3, 5, 4)
        if t % 3 == 2:
            model: nn.Module = nn.Sequential(nn.Flatten(), nn.Linear(c * h * h, k))
        else:
            model = nn.Sequential(
                nn.Conv2d(c, 4, 3, padding=1), nn.Tanh(), nn.Flatten(), nn.Linear(4 * h * h, k)
            )
        model.eval()
        x = torch.rand((5, c, h, h), generator=gen)
        # some pixels exactly at the bounds, so a missing clip shows
        x = torch.where(x < 0.15, torch.zeros_like(x), torch.where(x > 0.85, torch.ones_like(x), x))
        with torch.no_grad():
            y = model(x).argmax(dim=1)
        eps = (0.05, 0.1, 0.3)[t % 3]
        out.append(_Problem(model, x, y, eps))
    return out


def _gradient(model: nn.Module, x: Tensor, y: Tensor) -> Tensor:
    x = x.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        loss = F.cross_entropy(model(x), y, reduction="sum")
        (g,) = torch.autograd.grad(loss, x)
    return g


def _call(fn: Callable[..., object], p: _Problem, **kwargs: object) -> tuple[object, str | None]:
    x_before = p.x.clone()
    try:
        out = fn(p.model, p.x, p.y, **kwargs)
    except Exception as err:  # the reader's code: report any failure as feedback
        return None, f"your function raised {type(err).__name__}: {err}"
    if not torch.equal(p.x, x_before):
        return None, "your function modified x in place; work on a copy (x = x.clone())"
    return out, None


def _shape_problem(out: object, x: Tensor) -> str | None:
    if not isinstance(out, Tensor):
        return f"your function returned {type(out).__name__}; return the adversarial images as a tensor"
    if out.shape != x.shape:
        return f"your result has shape {tuple(out.shape)}, x has {tuple(x.shape)}; return one image per input"
    if not out.is_floating_point():
        return f"your result has dtype {out.dtype}; keep x's float dtype"
    if out.requires_grad:
        return "your result still requires grad; return x_adv.detach()"
    if not bool(torch.isfinite(out).all()):
        return "your result contains NaN or inf"
    return None


def _bounds_problem(out: Tensor, p: _Problem, norm: str, *, projection: str) -> str | None:
    lo, hi = float(out.min()), float(out.max())
    if lo < -ATOL or hi > 1 + ATOL:
        return (
            f"your result leaves [0, 1] (values from {lo:.3f} to {hi:.3f}): clip the images with "
            ".clamp(0, 1) after each step"
        )
    delta = (out - p.x).flatten(1)
    size = delta.abs().amax(dim=1) if norm == "inf" else delta.norm(dim=1)
    worst = float(size.max())
    if worst > p.eps + 1e-4:
        sym = "L∞" if norm == "inf" else "L2"
        return (
            f"your perturbation leaves the ε-ball: its {sym} size reaches {worst:.3f} for "
            f"ε = {p.eps}; {projection}"
        )
    return None


def _variant(
    p: _Problem, eps: float, alpha: float, steps: int, *, step: str, ball: str, sign: float
) -> Tensor:
    """A PGD with a chosen step norm, ball and step sign: the shapes of typical mistakes."""
    x_adv = p.x.clone()
    for _ in range(steps):
        g = _gradient(p.model, x_adv, p.y)
        if step == "inf":
            g = g.sign()
        else:
            g = g / g.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, 1, 1, 1)
        d = x_adv + sign * alpha * g - p.x
        if ball == "inf":
            d = d.clamp(-eps, eps)
        else:
            d = d * (eps / d.flatten(1).norm(dim=1).clamp_min(1e-12)).clamp(max=1).view(-1, 1, 1, 1)
        x_adv = (p.x + d).clamp(0, 1)
    return x_adv


def _same(a: Tensor, b: Tensor) -> bool:
    return bool(torch.allclose(a, b, atol=ATOL, rtol=0))


def _summary(name: str, ref_name: str, failures: list[str], n: int) -> CheckReport:
    if not failures:
        return CheckReport(name, True, [f"exact match with {ref_name} on {n} random problems"])
    first = failures[0]
    more = (
        [f"(and {len(failures) - 1} more of the {n} problems failed)"] if len(failures) > 1 else []
    )
    return CheckReport(name, False, [first, *more])


def _trials(trials: object) -> int:
    return check_count(trials, "trials", minimum=1)


def check_fgsm(
    fn: Callable[..., Tensor], *, trials: int = 6, seed: int = 0, verbose: bool = True
) -> CheckReport:
    """Check a reader's FGSM, ``fn(model, x, y, eps) -> x_adv``, against :func:`advlab.fgsm`.

    The reader's function takes a model returning logits, images ``x`` in
    [0, 1] (N, C, H, W), true labels ``y`` and an L∞ budget ``eps`` (pixel
    units), and returns ``clip(x + eps * sign(∇ₓ CE(model(x), y)), 0, 1)``.

    Parameters
    ----------
    fn:
        The reader's implementation.
    trials:
        How many random problems (small models, 5 images each) to try.
    seed:
        Seed of the random problems.
    verbose:
        Print the report (in a notebook, the feedback appears under the cell).

    Returns
    -------
    CheckReport
        ``passed`` and the feedback: "exact match", or the first mistake found,
        e.g. "you stepped against the gradient".
    """
    if not callable(fn):
        raise TypeError(f"check_fgsm takes your FGSM function, got {type(fn).__name__}")
    problems = _problems(_trials(trials), seed)
    failures: list[str] = []
    for p in problems:
        out, err = _call(fn, p, eps=p.eps)
        err = err or _shape_problem(out, p.x)
        if err is None:
            assert isinstance(out, Tensor)
            out = out.detach().to(p.x.dtype)
            err = _bounds_problem(
                out, p, "inf", projection="FGSM moves each pixel by exactly ±ε before clipping"
            )
        if err is None and not _same(out, fgsm(p.model, p.x, p.y, eps=p.eps)):
            g = _gradient(p.model, p.x, p.y)
            unit = g / g.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, 1, 1, 1)
            if _same(out, (p.x - p.eps * g.sign()).clamp(0, 1)):
                err = (
                    "you stepped against the gradient: x - ε·sign(∇) lowers the loss; "
                    "an untargeted attack adds ε·sign(∇)"
                )
            elif _same(out, (p.x + p.eps * g).clamp(0, 1)) or _same(
                out, (p.x + p.eps * unit).clamp(0, 1)
            ):
                err = (
                    "you stepped along the gradient itself, not its sign: the L∞ step that "
                    "maximises the linearised loss is ε·sign(∇) (the L2 step would be ε·∇/‖∇‖₂)"
                )
            elif _same(out, p.x + p.eps * g.sign()):
                err = "your result is right before clipping; clip it to [0, 1] with .clamp(0, 1)"
            else:
                wrong = (out - fgsm(p.model, p.x, p.y, eps=p.eps)).abs() > ATOL
                err = (
                    f"your result differs from advlab.fgsm on {int(wrong.sum())} of "
                    f"{wrong.numel()} pixels; check the loss (cross-entropy with the true "
                    "labels, not the predictions' softmax) and the sign step"
                )
        if err is not None:
            failures.append(err)
    report = _summary("fgsm", "advlab.fgsm", failures, len(problems))
    if verbose:
        print(report)
    return report


def check_pgd(
    fn: Callable[..., Tensor],
    *,
    norm: str = "inf",
    trials: int = 6,
    seed: int = 0,
    verbose: bool = True,
) -> CheckReport:
    """Check a reader's PGD, ``fn(model, x, y, eps, alpha, steps) -> x_adv``, against advlab's.

    The reader's PGD starts at ``x`` (no random start, so the answer is
    deterministic), and repeats ``steps`` times: a step of length ``alpha``
    along the gradient of the cross-entropy (its sign for ``norm="inf"``, its
    per-image direction ``∇/‖∇‖₂`` for ``norm=2``), then a projection onto the
    ε-ball around ``x`` and a clip to [0, 1]. It is compared with
    ``advlab.pgd(..., random_start=False)``.

    Parameters
    ----------
    fn:
        The reader's implementation.
    norm:
        ``"inf"`` or ``2``: which ball the reader's PGD works in.
    trials, seed, verbose:
        As in :func:`check_fgsm`.

    Returns
    -------
    CheckReport
        ``passed`` and the feedback (e.g. "projection missing").
    """
    if not callable(fn):
        raise TypeError(f"check_pgd takes your PGD function, got {type(fn).__name__}")
    key = str(norm).lower().replace("l", "")
    if key not in ("inf", "2", "∞"):
        raise ValueError(f"norm must be 'inf' or 2, got {norm!r}")
    key = "2" if key == "2" else "inf"
    problems = _problems(_trials(trials), seed)
    failures: list[str] = []
    steps = 5
    for p in problems:
        # L2 budgets are larger numbers than L∞ ones (a whole image's length)
        eps = p.eps if key == "inf" else p.eps * math.sqrt(p.x[0].numel()) / 2
        p = _Problem(p.model, p.x, p.y, eps)
        alpha = eps / 2
        out, err = _call(fn, p, eps=eps, alpha=alpha, steps=steps)
        err = err or _shape_problem(out, p.x)
        if err is None:
            assert isinstance(out, Tensor)
            out = out.detach().to(p.x.dtype)
            err = _bounds_problem(
                out,
                p,
                key,
                projection="the projection is missing: after each step, bring x_adv - x back "
                + (
                    "into [-ε, ε] (clamp)"
                    if key == "inf"
                    else "to length ≤ ε (scale by min(1, ε/‖δ‖₂))"
                ),
            )
        if err is None:
            kw = {"eps": eps, "alpha": alpha, "steps": steps, "random_start": False}
            ref = pgd(p.model, p.x, p.y, norm="inf" if key == "inf" else 2, **kw)
            if not _same(out, ref):
                flipped = _variant(p, eps, alpha, steps, step=key, ball=key, sign=-1.0)
                other_step = "2" if key == "inf" else "inf"
                other = _variant(p, eps, alpha, steps, step=other_step, ball=key, sign=1.0)
                one = pgd(
                    p.model, p.x, p.y, norm="inf" if key == "inf" else 2, **{**kw, "steps": 1}
                )
                if _same(out, flipped):
                    err = (
                        "you stepped against the gradient: each step must increase the loss "
                        "(x + α·sign(∇) for L∞)"
                    )
                elif _same(out, other):
                    err = (
                        f"you took {'L2' if key == 'inf' else 'L∞'} steps in an "
                        f"{'L∞' if key == 'inf' else 'L2'} attack: use "
                        + ("α·sign(∇)" if key == "inf" else "α·∇/‖∇‖₂ per image")
                    )
                elif _same(out, one):
                    err = "your result equals one step: recompute the gradient at x_adv every step"
                else:
                    wrong = (out - ref).abs() > ATOL
                    err = (
                        f"your result differs from advlab.pgd on {int(wrong.sum())} of "
                        f"{wrong.numel()} pixels; check that each step reads the gradient at the "
                        "current x_adv, then projects onto the ball around the ORIGINAL x"
                    )
        if err is not None:
            failures.append(err)
    report = _summary(
        f"pgd (L{'∞' if key == 'inf' else '2'})", "advlab.pgd", failures, len(problems)
    )
    if verbose:
        print(report)
    return report
