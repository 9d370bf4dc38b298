"""Part III exercises (chapter 5): the Jacobian-based augmentation of a substitute."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from torch import Tensor

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
)

__all__ = ["check_jacobian_augmentation"]


def check_jacobian_augmentation(
    fn: Callable[..., Tensor], *, trials: int = 6, seed: int = 0, verbose: bool = True
) -> CheckReport:
    """Check a reader's Jacobian-based augmentation step against advlab's.

    The reader writes ``fn(substitute, x, labels, lam) -> x_new``: for each
    image, the sign of the gradient of the substitute's logit *for the label
    the target gave it* (``labels``), times ``lam``, added to ``x`` and
    clipped to [0, 1] (Papernot et al. 2017). It is compared with
    :func:`advlab.attacks.jacobian_augment`.

    Parameters
    ----------
    fn:
        The reader's implementation.
    trials, seed, verbose:
        As in :func:`check_fgsm`.

    Returns
    -------
    CheckReport
        ``passed`` and the feedback (e.g. "you followed the loss, not the label's logit").
    """
    _check_function(fn, "check_jacobian_augmentation", "your augmentation function")
    trials, seed, verbose = _settings(trials, seed, verbose)
    problems = _problems(trials, seed)
    failures: list[str] = []
    for t, p in enumerate(problems):
        # the target's labels: not the substitute's predictions (shifted for some images)
        labels = p.y.clone()
        labels[::2] = (labels[::2] + 1) % int(p.model(p.x[:1]).shape[1])
        lam = p.eps * (1 if t % 2 == 0 else -1)
        q = _Problem(p.model, p.x, labels, abs(lam))
        out, err = _call(fn, q, lam)
        err = err or _shape_problem(out, p.x)
        if err is None:
            assert isinstance(out, Tensor)
            dtype, out = out.dtype, out.detach().to(p.x.dtype)
            err = _bounds_problem(
                out,
                q,
                "inf",
                projection="each pixel moves by exactly ±λ before clipping",
                dtype=dtype,
            )
            if err is None:
                err = _jacobian_mistake(out, p, labels=labels, lam=lam, atol=_atol(dtype))
        if err is not None:
            failures.append(err)
    report = _summary(
        "jacobian augmentation", "advlab.attacks.jacobian_augment", failures, len(problems)
    )
    if verbose:
        print(report)
    return report


def _jacobian_mistake(
    out: Tensor, p: _Problem, *, labels: Tensor, lam: float, atol: float = ATOL
) -> str | None:
    """Name the mistake behind a reader's augmentation step, or return ``None`` if it is right."""
    same = partial(_same, atol=atol)
    from ...attacks.substitute import jacobian_augment

    ref = jacobian_augment(p.model, p.x, labels, lam)
    if same(out, ref):
        return None
    own = jacobian_augment(p.model, p.x, p.model(p.x).argmax(1), lam)
    loss_step = (p.x + lam * _gradient(p.model, p.x, labels).sign()).clamp(0, 1)
    if same(out, own):
        return (
            "you differentiated the logit of the substitute's own prediction; use "
            "the label the target gave (labels), the only thing the attacker knows"
        )
    if same(out, loss_step) or _same(
        out, (p.x - lam * _gradient(p.model, p.x, labels).sign()).clamp(0, 1)
    ):
        return (
            "you followed the gradient of the cross-entropy loss; Papernot et al. "
            "follow the gradient of the label's logit F_label(x)"
        )
    if same(out, jacobian_augment(p.model, p.x, labels, abs(lam))):
        return "you dropped the sign of λ: a negative λ steps the other way"
    wrong = (out - ref).abs() > atol
    return (
        f"your result differs from advlab's on {int(wrong.sum())} of "
        f"{wrong.numel()} pixels; the step is x + λ·sign(∂F_label(x)/∂x)"
    )
