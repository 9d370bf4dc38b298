"""Part II exercises (chapter 4): the JSMA pair choice."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, cast

import torch
from torch import Tensor

from ..._validate import check_flag
from ._core import (
    CheckReport,
    _check_function,
    _summary,
)

__all__ = ["check_best_pair"]


def check_best_pair(
    best_pair: Callable[[Tensor, Tensor], object], *, verbose: bool = True
) -> CheckReport:
    """Check the reader's JSMA pair choice against :func:`advlab.attacks.jsma.best_pairs`.

    ``best_pair(alpha, beta)`` receives one image's saliency maps as 1-D tensors
    (θ = +1, every feature in the search domain) and must return the pair
    ``(p, q)`` of feature indices, ``p != q``, with the largest
    ``(α_p + α_q)·|β_p + β_q|`` among pairs with ``α_p + α_q > 0`` and
    ``β_p + β_q < 0``, or ``None`` when no pair qualifies. Either order of ``p``
    and ``q`` is accepted. Runs 8 random problems (some with no qualifying pair,
    some where the best single features are not the best pair).

    Returns
    -------
    CheckReport
        ``passed`` and feedback naming the first kind of mistake found.
    """
    verbose = check_flag(verbose, "verbose")
    from ...attacks.jsma import best_pairs

    _check_function(best_pair, "check_best_pair", "your best_pair function")
    gen = torch.Generator().manual_seed(0)
    failures: list[str] = []
    for t in range(8):
        d = 5 + 3 * t
        alpha = torch.randn(d, generator=gen)
        beta = torch.randn(d, generator=gen)
        if t == 3:  # no pair can have α > 0 and β < 0
            alpha, beta = -alpha.abs(), beta.abs()
        pq, found = best_pairs(alpha[None], beta[None], torch.ones(1, d, dtype=torch.bool))
        expected = {int(pq[0, 0]), int(pq[0, 1])} if bool(found[0]) else None
        a_in, b_in = alpha.clone(), beta.clone()
        try:
            out = best_pair(a_in, b_in)
        except Exception as exc:  # the reader's code: report any failure as feedback
            failures.append(f"your function raised {type(exc).__name__}: {exc}")
            continue
        if not (torch.equal(a_in, alpha) and torch.equal(b_in, beta)):
            failures.append("your function modified alpha or beta in place")
            continue
        err = _pair_mistake(out, alpha, beta, expected)
        if err is not None:
            failures.append(err)
    report = _summary("JSMA pair choice", "advlab.attacks.jsma.best_pairs", failures, 8)
    if verbose:
        print(report)
    return report


def _pair_mistake(
    out: object, alpha: Tensor, beta: Tensor, expected: set[int] | None
) -> str | None:
    """Name the mistake in the reader's pair ``out``, or return ``None`` if it is right."""
    if expected is None:
        if out is not None:
            return (
                "no pair qualifies here (no α_p + α_q > 0 with β_p + β_q < 0), "
                f"but you returned {out!r}: return None"
            )
        return None
    pair = _read_pair(out)
    if isinstance(pair, str):
        return pair
    p, q = pair
    if p == q:
        return "p and q must be two different features"
    if {p, q} == expected:
        return None
    return _wrong_pair(p, q, alpha, beta)


def _read_pair(out: object) -> tuple[int, int] | str:
    """Return the reader's answer as two ints, or say why it is not a pair of indices."""
    try:
        values = list(cast("Iterable[Any]", out))
        p, q = (int(v) for v in values)
        whole = all(float(v) == int(v) for v in values)
    except Exception:  # anything the reader returned: say what a pair is
        return f"return a pair (p, q) of indices, got {_shown(out)}"
    if not whole:
        return f"the indices must be whole numbers, got {_shown(out)}"
    return p, q


def _shown(out: object) -> str:
    """Return the reader's value, as short as a feedback line needs."""
    text = repr(out)
    return text if len(text) <= 80 else f"{text[:77]}..."


def _wrong_pair(p: int, q: int, alpha: Tensor, beta: Tensor) -> str:
    """Say why the distinct pair ``(p, q)``, not the best one, is wrong."""
    a_pq, b_pq = float(alpha[p] + alpha[q]), float(beta[p] + beta[q])
    top_alpha = set(alpha.topk(2).indices.tolist())
    if {p, q} == top_alpha:
        return (
            "you picked the two largest α: the score also needs |β_p + β_q|, and the pair "
            "must have β_p + β_q < 0"
        )
    if not (a_pq > 0 and b_pq < 0):
        return (
            f"your pair ({p}, {q}) has α sum {a_pq:.3g} and β sum {b_pq:.3g}: only pairs "
            "with α_p + α_q > 0 and β_p + β_q < 0 qualify"
        )
    return (
        f"your pair ({p}, {q}) qualifies but scores {a_pq * abs(b_pq):.3g}, less than "
        "the best; compare (α_p + α_q)·|β_p + β_q| over all pairs p < q"
    )
