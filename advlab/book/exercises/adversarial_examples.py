"""Part I exercises (chapters 1 and 2): FGSM and PGD written by the reader."""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import Literal

from torch import Tensor

from ..._validate import ArgumentError
from ...attacks import fgsm, pgd
from ._core import (
    ATOL,
    CheckReport,
    _atol,
    _bounds_problem,
    _call,
    _check_function,
    _gradient,
    _Problem,
    _problems,
    _same,
    _settings,
    _shape_problem,
    _summary,
    _variant,
)

__all__ = ["check_fgsm", "check_pgd"]


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
    _check_function(fn, "check_fgsm", "your FGSM function")
    trials, seed, verbose = _settings(trials, seed, verbose)
    problems = _problems(trials, seed)
    failures: list[str] = []
    for p in problems:
        out, err = _call(fn, p, eps=p.eps)
        err = err or _shape_problem(out, p.x)
        if err is None:
            assert isinstance(out, Tensor)
            dtype, out = out.dtype, out.detach().to(p.x.dtype)
            err = _bounds_problem(
                out,
                p,
                "inf",
                projection="FGSM moves each pixel by exactly ±ε before clipping",
                dtype=dtype,
            )
            if err is None:
                err = _fgsm_mistake(out, p, atol=_atol(dtype))
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
    _check_function(fn, "check_pgd", "your PGD function")
    key = str(norm).lower().replace("l", "")
    if key not in ("inf", "2", "∞"):
        raise ArgumentError(f"norm must be 'inf' or 2, got {norm!r}")
    key = "2" if key == "2" else "inf"
    trials, seed, verbose = _settings(trials, seed, verbose)
    problems = _problems(trials, seed)
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
            dtype, out = out.dtype, out.detach().to(p.x.dtype)
            err = _bounds_problem(
                out,
                p,
                key,
                dtype=dtype,
                projection="the projection is missing: after each step, bring x_adv - x back "
                + (
                    "into [-ε, ε] (clamp)"
                    if key == "inf"
                    else "to length ≤ ε (scale by min(1, ε/‖δ‖₂))"
                ),
            )
            if err is None:
                err = _pgd_mistake(out, p, key=key, alpha=alpha, steps=steps, atol=_atol(dtype))
        if err is not None:
            failures.append(err)
    report = _summary(
        f"pgd (L{'∞' if key == 'inf' else '2'})", "advlab.pgd", failures, len(problems)
    )
    if verbose:
        print(report)
    return report


def _fgsm_mistake(out: Tensor, p: _Problem, *, atol: float = ATOL) -> str | None:
    """Name the mistake behind a reader's FGSM output, or return ``None`` if it is right."""
    same = partial(_same, atol=atol)
    if same(out, fgsm(p.model, p.x, p.y, eps=p.eps)):
        return None
    g = _gradient(p.model, p.x, p.y)
    unit = g / g.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, 1, 1, 1)
    if same(out, (p.x - p.eps * g.sign()).clamp(0, 1)):
        return (
            "you stepped against the gradient: x - ε·sign(∇) lowers the loss; "
            "an untargeted attack adds ε·sign(∇)"
        )
    if same(out, (p.x + p.eps * g).clamp(0, 1)) or same(out, (p.x + p.eps * unit).clamp(0, 1)):
        return (
            "you stepped along the gradient itself, not its sign: the L∞ step that "
            "maximises the linearised loss is ε·sign(∇) (the L2 step would be ε·∇/‖∇‖₂)"
        )
    if same(out, p.x + p.eps * g.sign()):
        return "your result is right before clipping; clip it to [0, 1] with .clamp(0, 1)"
    wrong = (out - fgsm(p.model, p.x, p.y, eps=p.eps)).abs() > atol
    return (
        f"your result differs from advlab.fgsm on {int(wrong.sum())} of "
        f"{wrong.numel()} pixels; check the loss (cross-entropy with the true "
        "labels, not the predictions' softmax) and the sign step"
    )


def _pgd_mistake(
    out: Tensor, p: _Problem, *, key: str, alpha: float, steps: int, atol: float = ATOL
) -> str | None:
    """Name the mistake behind a reader's PGD output, or return ``None`` if it is right."""
    same = partial(_same, atol=atol)
    eps = p.eps
    norm: Literal["inf", 2] = "inf" if key == "inf" else 2
    ref = pgd(p.model, p.x, p.y, norm=norm, eps=eps, alpha=alpha, steps=steps, random_start=False)
    if same(out, ref):
        return None
    flipped = _variant(p, eps, alpha, steps, step=key, ball=key, sign=-1.0)
    other_step = "2" if key == "inf" else "inf"
    other = _variant(p, eps, alpha, steps, step=other_step, ball=key, sign=1.0)
    one = pgd(p.model, p.x, p.y, norm=norm, eps=eps, alpha=alpha, steps=1, random_start=False)
    if same(out, flipped):
        return (
            "you stepped against the gradient: each step must increase the loss "
            "(x + α·sign(∇) for L∞)"
        )
    if same(out, other):
        return (
            f"you took {'L2' if key == 'inf' else 'L∞'} steps in an "
            f"{'L∞' if key == 'inf' else 'L2'} attack: use "
            + ("α·sign(∇)" if key == "inf" else "α·∇/‖∇‖₂ per image")
        )
    if same(out, one):
        return "your result equals one step: recompute the gradient at x_adv every step"
    wrong = (out - ref).abs() > atol
    return (
        f"your result differs from advlab.pgd on {int(wrong.sum())} of "
        f"{wrong.numel()} pixels; check that each step reads the gradient at the "
        "current x_adv, then projects onto the ball around the ORIGINAL x"
    )
