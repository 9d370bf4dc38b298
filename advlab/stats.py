"""The book's evidence, over :mod:`scipy.stats`: rates with intervals, paired tests, bootstraps.

A rate is shown with its Wilson interval (:func:`rate`, :func:`rate_of`); "A beats B" on the
same images is an exact paired test (:func:`paired_test`, :func:`compare`); a median or a
median difference has a bootstrap interval (:func:`bootstrap_ci`,
:func:`bootstrap_median_diff`). Nothing here is computed by hand that SciPy computes.

A *mask* is one success flag per image: a 1-D boolean torch tensor, NumPy array or list,
an integer one holding only 0 and 1, or an object with such a ``.success`` attribute (an
attack result). Bad arguments raise ``TypeError`` (wrong kind) or ``ValueError`` (wrong value).
"""

from __future__ import annotations

import inspect
import math
import numbers
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import scipy.stats
import torch

from ._validate import ArgumentError, ArgumentTypeError, check_seed

__all__ = [
    "Comparison",
    "Interval",
    "PairedTest",
    "Rate",
    "bootstrap_ci",
    "bootstrap_indices",
    "bootstrap_median_diff",
    "compare",
    "format_p",
    "paired_test",
    "rate",
    "rate_of",
]

Alternative = Literal["two-sided", "greater", "less"]
Method = Literal["BCa", "percentile", "basic"]
#: SciPy 1.15 renamed bootstrap's ``random_state`` to ``rng``.
_RNG_ARG = "rng" if "rng" in inspect.signature(scipy.stats.bootstrap).parameters else "random_state"


def _real(value: object, name: str) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ArgumentTypeError(f"{name} must be a real number, got {type(value).__name__}")
    return float(value)


def _confidence(value: object, name: str = "confidence") -> float:
    value = _real(value, name)
    if not 0.0 < value < 1.0:
        raise ArgumentError(
            f"{name} must lie strictly between 0 and 1 (0.95 for 95 %), got {value}"
        )
    return value


def _count(value: object, name: str) -> int:
    if isinstance(value, torch.Tensor) and value.numel() == 1 and value.device.type != "meta":
        if value.dtype != torch.bool and not (value.is_floating_point() or value.is_complex()):
            value = value.item()  # e.g. mask.sum()
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ArgumentTypeError(f"{name} must be an integer count, got {type(value).__name__}")
    if not 0 <= int(value) <= 2**53:
        raise ArgumentError(f"{name} must be a count in 0 ... 2**53, got {int(value)}")
    return int(value)


def _choice(value: object, name: str, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ArgumentError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value


def _mask(x: object, name: str) -> np.ndarray:
    """Return a 1-D NumPy bool array from a mask (see the module's docstring), or a clear error."""
    if not isinstance(x, (torch.Tensor, np.ndarray, list, tuple)) and hasattr(x, "success"):
        x = x.success  # an attack result
    hint = "pass one True/False per image, e.g. (model(x_adv).argmax(1) != y)"
    x = _mask_array(x, name, hint)
    if x.dtype.kind not in "biu":
        raise ArgumentTypeError(
            f"{name} must be a boolean (or 0/1 integer) array, got {x.dtype}; {hint}"
        )
    if x.ndim != 1 or x.size == 0:
        raise ArgumentError(f"{name} must be 1-D and non-empty (one flag per image), got {x.shape}")
    if x.dtype.kind != "b" and not np.isin(x, (0, 1)).all():
        raise ArgumentError(f"{name} holds integers other than 0 and 1; {hint}")
    return x.astype(bool)


def _mask_array(x: object, name: str, hint: str) -> np.ndarray:
    """Return a mask given as a tensor, list or tuple as a NumPy array (an array as it is)."""
    if isinstance(x, torch.Tensor):
        if x.device.type == "meta" or x.is_floating_point() or x.is_complex():
            raise ArgumentTypeError(
                f"{name} must be a boolean (or 0/1 integer) tensor, got {x.dtype}; {hint}"
            )
        x = x.detach().cpu().numpy()
    elif isinstance(x, (list, tuple)):
        if not all(isinstance(v, numbers.Integral) for v in x):
            raise ArgumentTypeError(f"{name} must hold only True/False (or 0/1); {hint}")
        if not all(v in (0, 1) for v in x):
            raise ArgumentError(f"{name} holds integers other than 0 and 1; {hint}")
        x = np.array([bool(v) for v in x], dtype=bool)
    elif not isinstance(x, np.ndarray):
        raise ArgumentTypeError(
            f"{name} must be a boolean tensor, array or list, got {type(x).__name__}"
        )
    return x


def _values(x: object, name: str) -> np.ndarray:
    """Return a 1-D float64 array of at least two finite numbers, or raise a clear error."""
    if isinstance(x, torch.Tensor):
        if x.device.type == "meta" or x.dtype == torch.bool or x.is_complex():
            raise ArgumentTypeError(f"{name} must be a real-valued tensor, got {x.dtype}")
        x = x.detach().cpu().double().numpy()
    elif isinstance(x, (list, tuple, np.ndarray)):
        try:
            x = np.asarray(x)
        except (ValueError, TypeError):
            raise ArgumentTypeError(f"{name} must be a flat sequence of numbers") from None
    else:
        raise ArgumentTypeError(
            f"{name} must be a tensor, array or list of numbers, not {type(x).__name__}"
        )
    if x.dtype.kind not in "iuf":
        raise ArgumentTypeError(
            f"{name} must hold real numbers (not bool or text), got dtype {x.dtype}"
        )
    if x.ndim != 1 or x.size < 2:
        raise ArgumentError(f"{name} must be 1-D with at least 2 values, got shape {x.shape}")
    x = x.astype(np.float64)
    if not np.isfinite(x).all():
        raise ArgumentError(
            f"{name} contains NaN or infinite values; drop them before bootstrapping"
        )
    return x


def _fmt(x: float, fmt: str) -> str:
    s = format(x, fmt)
    return s[:-1] + " %" if s.endswith("%") else s  # the book's "45.0 %"


def _ci_text(low: float, high: float, confidence: float, fmt: str) -> str:
    lo, hi = _fmt(low, fmt), _fmt(high, fmt)
    return f"{100 * confidence:g} % CI {lo.removesuffix(' %')}–{hi}"


@dataclass(frozen=True)
class Rate:
    """``k`` successes out of ``n`` with the Wilson score interval [``low``, ``high``]."""

    k: int
    n: int
    value: float
    low: float
    high: float
    confidence: float

    def text(self, fmt: str = ".1%") -> str:
        """E.g. ``"45.0 % (95 % CI 38.3–51.9 %, n = 200)"`` for 90 of 200; ``fmt``: a format spec."""
        ci = _ci_text(self.low, self.high, self.confidence, fmt)
        return f"{_fmt(self.value, fmt)} ({ci}, n = {self.n:,})"

    def __str__(self) -> str:
        """Return :meth:`text` with its default format."""
        return self.text()


def rate(successes: int, n: int, confidence: float = 0.95) -> Rate:
    """Return the rate ``successes / n`` with its Wilson score interval.

    Parameters
    ----------
    successes, n : int
        Counts, ``0 <= successes <= n`` and ``n >= 1`` (one-element integer tensors too).
    confidence : float
        Confidence level in (0, 1).

    Returns
    -------
    Rate
        From ``scipy.stats.binomtest(k, n).proportion_ci(method="wilson")``.
    """
    k, n, confidence = _count(successes, "successes"), _count(n, "n"), _confidence(confidence)
    if n == 0:
        raise ArgumentError("n = 0: a rate over no images has no value; evaluate at least one")
    if k > n:
        raise ArgumentError(f"successes ({k}) cannot exceed n ({n})")
    ci = scipy.stats.binomtest(k, n).proportion_ci(confidence_level=confidence, method="wilson")
    value = k / n  # the clamps only absorb rounding: Wilson's interval always holds k / n
    return Rate(
        k, n, value, min(max(float(ci.low), 0.0), value), max(float(ci.high), value), confidence
    )


def rate_of(mask: Any, confidence: float = 0.95) -> Rate:
    """:func:`rate` of a success mask (bool tensor, array or list; 0/1 integers; ``.success``)."""
    m = _mask(mask, "mask")
    return rate(int(m.sum()), m.size, confidence)


@dataclass(frozen=True)
class PairedTest:
    """Exact McNemar test of two success masks on the same ``n`` images."""

    a_only: int
    b_only: int
    both: int
    neither: int
    n: int
    p_value: float
    rate_a: Rate
    rate_b: Rate


def paired_test(
    a: Any, b: Any, *, alternative: Alternative = "two-sided", confidence: float = 0.95
) -> PairedTest:
    """Test (exact McNemar) if A succeeds where B fails more (or less) often than the reverse.

    Parameters
    ----------
    a, b : mask
        Success per image, the same images in the same order.
    alternative : {"two-sided", "greater", "less"}
        "greater": A's success rate is higher; "less": lower.
    confidence : float
        Level of the Wilson intervals in ``rate_a`` and ``rate_b``.

    Returns
    -------
    PairedTest
        ``p_value`` is the sign test on the discordant pairs,
        ``scipy.stats.binomtest(a_only, a_only + b_only, 0.5)``; 1.0 when there are none.
    """
    side = _choice(alternative, "alternative", ("two-sided", "greater", "less"))
    confidence = _confidence(confidence)
    a, b = _mask(a, "a"), _mask(b, "b")
    if a.size != b.size:
        raise ArgumentError(f"a and b must cover the same images, got {a.size} and {b.size} flags")
    a_only, b_only = int((a & ~b).sum()), int((~a & b).sum())
    both, n = int((a & b).sum()), a.size
    p = 1.0
    if a_only + b_only:
        p = float(scipy.stats.binomtest(a_only, a_only + b_only, 0.5, side).pvalue)
    ra, rb = rate(int(a.sum()), n, confidence), rate(int(b.sum()), n, confidence)
    return PairedTest(a_only, b_only, both, n - a_only - b_only - both, n, p, ra, rb)


def format_p(p: float, alpha: float | None = None) -> str:
    """Format a p-value as ``"p = 0.041"``, or ``"p < 0.001"``.

    Two significant digits, more if needed to fall on the same side of ``alpha`` as ``p``.
    """
    p = _real(p, "p")
    if not 0.0 <= p <= 1.0:
        raise ArgumentError(f"p must be a probability in [0, 1], got {p}")
    alpha = None if alpha is None else _confidence(alpha, "alpha")
    if p < 0.001 and (alpha is None or alpha > 0.001):
        return "p < 0.001"
    for digits in (2, 3, 4, 6, 17):
        s = f"{p:.{digits}g}"
        if alpha is None or (float(s) < alpha) == (p < alpha):
            break
    return f"p = {s}"


@dataclass(frozen=True)
class Comparison:
    """The outcome of :func:`compare`: ``winner`` is a name or None; ``text`` the sentence."""

    winner: str | None
    significant: bool
    text: str
    test: PairedTest

    def __str__(self) -> str:
        """Return the sentence, :attr:`text`."""
        return self.text


def compare(
    name_a: str, a: Any, name_b: str, b: Any, *, alpha: float = 0.05, verb: str = "beats"
) -> Comparison:
    """Which of two attacks (or models) succeeds more often on the same images, if either.

    Parameters
    ----------
    name_a, name_b : str
        Names used in the sentence.
    a, b : mask
        Success per image (or objects with a ``.success`` mask), the same images.
    alpha : float
        Significance level of the two-sided exact paired test (:func:`paired_test`).
    verb : str
        E.g. "beats" or "is stronger than".

    Returns
    -------
    Comparison
        ``text`` is "A beats B (41.0 % against 30.5 %, exact paired test p = 0.003, n = 200)"
        when the higher rate is significant, else "no difference at this sample size (A 41.0 %,
        B 38.0 %, p = 0.41, n = 200)".
    """
    for value, name in ((name_a, "name_a"), (name_b, "name_b"), (verb, "verb")):
        if not isinstance(value, str) or not value.strip():
            raise ArgumentTypeError(f"{name} must be a non-empty string, got {value!r}")
    alpha = _confidence(alpha, "alpha")
    t = paired_test(a, b)
    ra, rb = _fmt(t.rate_a.value, ".1%"), _fmt(t.rate_b.value, ".1%")
    p_text = format_p(t.p_value, alpha)
    if t.p_value < alpha and t.a_only != t.b_only:
        (win, rw), (lose, rl) = (name_a, ra), (name_b, rb)
        if t.b_only > t.a_only:
            (win, rw), (lose, rl) = (lose, rl), (win, rw)
        text = f"{win} {verb} {lose} ({rw} against {rl}, exact paired test {p_text}, n = {t.n:,})"
        return Comparison(win, True, text, t)
    text = (
        f"no difference at this sample size ({name_a} {ra}, {name_b} {rb}, {p_text}, n = {t.n:,})"
    )
    return Comparison(None, False, text, t)


@dataclass(frozen=True)
class Interval:
    """A point ``estimate`` with its bootstrap confidence interval [``low``, ``high``]."""

    estimate: float
    low: float
    high: float
    confidence: float

    def text(self, fmt: str = ".3g") -> str:
        """E.g. ``"0.12 (95 % CI 0.05–0.2)"``; ``fmt`` is a format spec."""
        return f"{_fmt(self.estimate, fmt)} ({_ci_text(self.low, self.high, self.confidence, fmt)})"

    def __str__(self) -> str:
        """Return :meth:`text` with its default format."""
        return self.text()

    def inline(self, fmt: str = "+.1f", unit: str = "") -> str:
        """To sit inside parentheses: ``"+2.5 points, 95 % CI +0.3 to +4.7"``.

        ``fmt`` is a format spec (signed by default: differences read best signed) and
        ``unit`` follows the estimate (e.g. ``" points"``).
        """
        level = f"{100 * self.confidence:g} %"
        return f"{self.estimate:{fmt}}{unit}, {level} CI {self.low:{fmt}} to {self.high:{fmt}}"


def _boot_args(
    confidence: object, n_resamples: object, seed: object, method: object
) -> tuple[float, int, int, str]:
    """Check the bootstrap settings; return ``(confidence, n_resamples, seed, method)``."""
    confidence = _confidence(confidence)
    method = _choice(method, "method", ("BCa", "percentile", "basic"))
    if isinstance(n_resamples, (bool, np.bool_)) or not isinstance(n_resamples, numbers.Integral):
        raise ArgumentTypeError(f"n_resamples must be an int, got {type(n_resamples).__name__}")
    if not 100 <= int(n_resamples) <= 1_000_000:
        raise ArgumentError(
            f"n_resamples must be in 100 ... 10**6 (9999 is usual), got {n_resamples}"
        )
    return confidence, int(n_resamples), check_seed(seed), method


def _bootstrap(
    data: tuple[np.ndarray, ...],
    statistic: Callable[..., Any],
    estimate: float,
    settings: tuple[float, int, int, str],
) -> Interval:
    """Bootstrap ``statistic`` on ``data``; ``settings`` as :func:`_boot_args` returns them."""
    confidence, n_resamples, seed, method = settings
    if not math.isfinite(estimate):
        raise ArgumentError(f"the statistic is not finite on the data ({estimate}); rescale it")
    if all(np.ptp(d) == 0 for d in data):  # every resample gives the estimate
        return Interval(estimate, estimate, estimate, confidence)
    batch = max(1, 2**22 // max(len(d) for d in data))  # bounded memory
    for m in dict.fromkeys((method, "percentile")):  # BCa fails on degenerate resamples
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # SciPy's DegenerateDataWarning too
            ci = scipy.stats.bootstrap(
                data, statistic, n_resamples=n_resamples, batch=batch, method=m,
                confidence_level=confidence, **{_RNG_ARG: np.random.default_rng(seed)},
            ).confidence_interval  # fmt: skip
        if math.isfinite(ci.low) and math.isfinite(ci.high):
            return Interval(estimate, float(ci.low), float(ci.high), confidence)
    raise ArgumentError("the statistic is not finite on some resamples; rescale the values")


def bootstrap_ci(
    values: Any,
    statistic: Callable[..., Any] = np.median,
    *,
    confidence: float = 0.95,
    n_resamples: int = 9999,
    seed: int = 0,
    method: Method = "BCa",
) -> Interval:
    """Bootstrap confidence interval of ``statistic(values)`` (``scipy.stats.bootstrap``).

    Parameters
    ----------
    values : tensor, array or list of real numbers
        At least two finite values.
    statistic : callable
        A sample to a number, e.g. ``np.median`` or ``np.mean`` (vectorised if it takes ``axis``).
    confidence, n_resamples, seed, method
        Level in (0, 1); resamples in 100 ... 1e6; the seed (same seed, same interval);
        SciPy's method. If BCa cannot be computed (degenerate resamples, where SciPy returns
        NaN) the percentile interval of the same resamples is returned; if all values are
        equal, the point interval ``[estimate, estimate]``.

    Returns
    -------
    Interval
        Deterministic for a given ``seed``.
    """
    args = _boot_args(confidence, n_resamples, seed, method)
    x = _values(values, "values")
    if not callable(statistic):
        raise ArgumentTypeError(
            f"statistic must be a function of a sample, got {type(statistic).__name__}"
        )
    try:
        estimate = float(statistic(x))
    except (TypeError, ValueError) as err:
        raise ArgumentTypeError(f"statistic must map a sample to one number ({err})") from None
    return _bootstrap((x,), statistic, estimate, args)


def bootstrap_indices(
    stat: Callable[[np.ndarray], Any],
    n: int,
    *,
    confidence: float = 0.95,
    n_resamples: int = 9999,
    seed: int = 0,
    method: Method = "BCa",
) -> Interval:
    """Bootstrap interval of a statistic of several per-image arrays, resampling the images.

    For a statistic that needs more than one array at once (a difference of two models'
    accuracies on the same images, a correlation, a ratio of gains), resample the image
    *indices* and let ``stat`` index its own arrays: ``stat(idx)`` gets an integer array
    whose last axis holds ``n`` image indices (SciPy passes a batch of resamples as
    leading axes) and returns one value per resample. ``stat(np.arange(n))`` is the
    estimate.

    Parameters
    ----------
    stat : callable
        Integer index array (..., n) to values (...); vectorised over the leading axes.
    n : int
        How many images (at least 2).
    confidence, n_resamples, seed, method
        As in :func:`bootstrap_ci`.

    Returns
    -------
    Interval
    """
    if not callable(stat):
        raise ArgumentTypeError(
            f"stat must be a function of image indices, got {type(stat).__name__}"
        )
    n = _count(n, "n")
    return bootstrap_ci(
        np.arange(n),
        lambda i, axis=-1: stat(i.astype(int)),
        confidence=confidence,
        n_resamples=n_resamples,
        seed=seed,
        method=method,
    )


def bootstrap_median_diff(
    a: Any,
    b: Any,
    *,
    paired: bool = False,
    confidence: float = 0.95,
    n_resamples: int = 9999,
    seed: int = 0,
    method: Method = "BCa",
) -> Interval:
    """Bootstrap interval of a median difference between ``a`` and ``b``.

    Parameters
    ----------
    a, b : tensor, array or list of real numbers
        At least two finite values each (e.g. per-image budgets of two attacks).
    paired : bool
        False: ``median(a) - median(b)``, the two samples resampled independently.
        True: the median of ``a - b`` per image (equal lengths), pairs resampled together.
    confidence, n_resamples, seed, method
        As in :func:`bootstrap_ci`, and so are the degenerate cases.

    Returns
    -------
    Interval
    """
    if not isinstance(paired, (bool, np.bool_)):
        raise ArgumentTypeError(f"paired must be True or False, got {paired!r}")
    args = _boot_args(confidence, n_resamples, seed, method)
    a, b = _values(a, "a"), _values(b, "b")
    if paired:
        if a.size != b.size:
            raise ArgumentError(
                f"paired samples must have equal lengths, got {a.size} and {b.size}"
            )
        with np.errstate(over="ignore"):
            d = a - b
        if not np.isfinite(d).all():
            raise ArgumentError("a - b overflows to infinity; rescale the values")
        return _bootstrap((d,), np.median, float(np.median(d)), args)

    def diff(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.median(x, axis=axis) - np.median(y, axis=axis)

    with np.errstate(over="ignore"):
        estimate = float(diff(a, b))
    return _bootstrap((a, b), diff, estimate, args)
