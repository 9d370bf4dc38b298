"""advlab.stats: known answers (textbook values, independent formulas), glue text, bad inputs."""

from __future__ import annotations

import math
import warnings
from statistics import NormalDist
from types import SimpleNamespace

import numpy as np
import pytest
import scipy.stats
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import advlab
from advlab import stats
from advlab.stats import (
    Interval,
    bootstrap_ci,
    bootstrap_median_diff,
    compare,
    format_p,
    paired_test,
    rate,
    rate_of,
)

# --- helpers written here only, as independent cross-checks -----------------------------------


def wilson(k: int, n: int, confidence: float) -> tuple[float, float]:
    """The Wilson score interval from its textbook formula (stdlib only, no SciPy)."""
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def sign_test_p(x: int, m: int) -> float:
    """Two-sided exact sign test of x successes in m fair trials, from binomial coefficients."""
    tail = sum(math.comb(m, i) for i in range(min(x, m - x) + 1)) / 2**m
    return min(1.0, 2 * tail)


def masks(a_only: int, b_only: int, both: int = 0, neither: int = 0) -> tuple[list, list]:
    a = [True] * a_only + [False] * b_only + [True] * both + [False] * neither
    b = [False] * a_only + [True] * b_only + [True] * both + [False] * neither
    return a, b


# --- rates ------------------------------------------------------------------------------------


def test_wilson_textbook_value() -> None:
    r = rate(8, 10)
    assert (r.low, r.high) == pytest.approx((0.4902, 0.9433), abs=5e-5)
    assert (r.low, r.high) == pytest.approx(wilson(8, 10, 0.95), rel=1e-12)
    assert (r.k, r.n, r.value, r.confidence) == (8, 10, 0.8, 0.95)


@pytest.mark.parametrize(
    ("k", "n", "confidence"), [(1, 3, 0.95), (37, 200, 0.9), (90, 200, 0.99), (5, 7, 0.5)]
)
def test_wilson_matches_the_formula(k: int, n: int, confidence: float) -> None:
    r = rate(k, n, confidence)
    assert (r.low, r.high) == pytest.approx(wilson(k, n, confidence), rel=1e-10)


def test_zero_and_all_successes_touch_the_bounds() -> None:
    assert rate(0, 20).low == 0.0 and rate(0, 20).high == pytest.approx(wilson(0, 20, 0.95)[1])
    assert rate(20, 20).high == 1.0 and rate(20, 20).low == pytest.approx(wilson(20, 20, 0.95)[0])


def test_rate_text() -> None:
    assert str(rate(90, 200)) == "45.0 % (95 % CI 38.3–51.9 %, n = 200)"
    assert rate(90, 200, 0.9).text(".3f") == "0.450 (90 % CI 0.393–0.508, n = 200)"
    assert rate(1, 2000).text() == "0.1 % (95 % CI 0.0–0.3 %, n = 2,000)"


def test_rate_of_accepts_every_kind_of_mask() -> None:
    flags = [True, False, True, True, False]
    expected = rate(3, 5)
    kinds = [
        flags,
        tuple(flags),
        np.array(flags),
        torch.tensor(flags),
        torch.tensor(flags, requires_grad=False).int(),
        np.array(flags, dtype=np.uint8),
        [int(f) for f in flags],
        SimpleNamespace(success=torch.tensor(flags)),  # an attack result
    ]
    for kind in kinds:
        assert rate_of(kind) == expected
    t = torch.tensor(flags)
    assert rate(t.sum(), len(t)) == expected  # a one-element count tensor is a count


# --- the exact paired test --------------------------------------------------------------------


def test_exact_mcnemar_known_value() -> None:
    a, b = masks(10, 2, both=5, neither=3)
    t = paired_test(a, b)
    assert (t.a_only, t.b_only, t.both, t.neither, t.n) == (10, 2, 5, 3, 20)
    assert t.p_value == pytest.approx(2 * scipy.stats.binom.cdf(2, 12, 0.5), rel=1e-12)
    assert t.p_value == pytest.approx(0.03857, abs=1e-5)
    assert t.p_value == pytest.approx(sign_test_p(10, 12), rel=1e-12)
    assert t.rate_a == rate(15, 20) and t.rate_b == rate(7, 20)


def test_one_sided_alternatives() -> None:
    a, b = masks(10, 2)
    greater = sum(math.comb(12, i) for i in range(10, 13)) / 2**12
    assert paired_test(a, b, alternative="greater").p_value == pytest.approx(greater)
    assert paired_test(a, b, alternative="less").p_value == pytest.approx(
        1 - sum(math.comb(12, i) for i in range(11, 13)) / 2**12
    )
    assert paired_test(b, a, alternative="less").p_value == pytest.approx(greater)


def test_no_discordant_pairs_gives_p_one() -> None:
    a, b = masks(0, 0, both=7, neither=5)
    assert paired_test(a, b).p_value == 1.0
    assert paired_test(a, b, alternative="greater").p_value == 1.0


# --- compare ----------------------------------------------------------------------------------


def test_compare_names_the_winner_in_both_directions() -> None:
    a, b = masks(10, 2, both=30, neither=58)  # 40 % against 32 %, p = 0.039
    c = compare("DE", a, "random search", b)
    assert c.significant and c.winner == "DE"
    assert c.text == (
        "DE beats random search (40.0 % against 32.0 %, exact paired test p = 0.039, n = 100)"
    )
    c = compare("DE", b, "random search", a, verb="is stronger than")
    assert c.significant and c.winner == "random search"
    assert c.text.startswith("random search is stronger than DE (40.0 % against 32.0 %")
    assert str(c) == c.text and c.test.b_only == 10


def test_compare_says_beats_only_when_significant() -> None:
    a, b = masks(10, 2, both=30, neither=58)
    c = compare("DE", a, "RS", b, alpha=0.01)  # p = 0.039 is not below 0.01
    assert not c.significant and c.winner is None and "beats" not in c.text
    assert c.text == "no difference at this sample size (DE 40.0 %, RS 32.0 %, p = 0.039, n = 100)"


@pytest.mark.parametrize("overlap", [0, 5, 10])
def test_compare_book_case_11_of_20_against_10_of_20(overlap: int) -> None:
    de = [True] * 11 + [False] * 9
    rs = [False] * (10 - overlap) + [True] * 10 + [False] * overlap
    rs = rs[10 - overlap :] + rs[: 10 - overlap]  # 10 successes, `overlap`-dependent pairing
    assert sum(rs) == 10
    c = compare("DE", de, "random search", torch.tensor(rs))
    assert not c.significant and c.winner is None
    assert c.text.startswith("no difference at this sample size (DE 55.0 %, random search 50.0 %")


def test_compare_accepts_attack_results() -> None:
    a, b = masks(30, 5, neither=65)
    c = compare("PGD", SimpleNamespace(success=torch.tensor(a)), "FGSM", SimpleNamespace(success=b))
    assert c.winner == "PGD" and "p < 0.001" in c.text


def test_format_p() -> None:
    assert format_p(0.0004) == "p < 0.001"
    assert format_p(0.41) == "p = 0.41"
    assert format_p(0.003) == "p = 0.003"
    assert format_p(1.0) == "p = 1"
    # never rounded onto the other side of alpha
    assert format_p(0.04996, alpha=0.05) == "p = 0.04996"
    assert format_p(0.0004, alpha=0.0001) == "p = 0.0004"


# --- bootstrap --------------------------------------------------------------------------------


def shifted(n: int = 300, shift: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(12345)
    b = rng.exponential(1.0, n)
    return b + shift + rng.normal(0, 0.3, n), b


def test_bootstrap_median_diff_contains_the_true_shift() -> None:
    a, b = shifted()
    unpaired = bootstrap_median_diff(a, b, n_resamples=2000)
    paired = bootstrap_median_diff(a, b, paired=True, n_resamples=2000)
    for iv in (unpaired, paired):
        assert iv.low < 2.0 < iv.high and iv.low <= iv.estimate <= iv.high
    assert paired.high - paired.low < unpaired.high - unpaired.low  # pairing removes b's spread
    assert paired.high - paired.low < 0.2
    assert unpaired.estimate == pytest.approx(np.median(a) - np.median(b))
    assert paired.estimate == pytest.approx(np.median(a - b))


def test_bootstrap_ci_is_scipys_and_deterministic() -> None:
    x = np.random.default_rng(3).normal(size=50)
    iv = bootstrap_ci(x, np.mean, n_resamples=500, seed=7)
    ref = scipy.stats.bootstrap((x,), np.mean, n_resamples=500, rng=np.random.default_rng(7))
    assert (iv.low, iv.high) == pytest.approx(tuple(ref.confidence_interval), rel=1e-12)
    assert iv == bootstrap_ci(torch.tensor(x), np.mean, n_resamples=500, seed=7)
    assert iv != bootstrap_ci(x, np.mean, n_resamples=500, seed=8)
    assert isinstance(iv, Interval) and iv.estimate == pytest.approx(x.mean())
    assert bootstrap_ci([1, 2, 3, 4], method="percentile", n_resamples=100).low >= 1


def test_bootstrap_degenerate_cases_without_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert bootstrap_ci([2.5] * 6) == Interval(2.5, 2.5, 2.5, 0.95)
        assert bootstrap_median_diff([1, 1, 1], [0, 0, 0, 0]) == Interval(1.0, 1.0, 1.0, 0.95)
        # BCa is undefined here (SciPy returns NaN): the percentile interval instead
        iv = bootstrap_ci([1.0] * 7 + [5.0], n_resamples=500)
        assert math.isfinite(iv.low) and iv.low <= iv.estimate <= iv.high
    assert str(Interval(0.5, 0.25, 0.75, 0.9)) == "0.5 (90 % CI 0.25–0.75)"


# --- bad inputs -------------------------------------------------------------------------------

OK = [True, False, True]
BAD = [
    (rate, (0, 0), {}, ValueError, "n = 0"),
    (rate, (5, 3), {}, ValueError, "cannot exceed"),
    (rate, (-1, 3), {}, ValueError, "count"),
    (rate, (1.5, 3), {}, TypeError, "integer count"),
    (rate, (True, 3), {}, TypeError, "integer count"),
    (rate, (1, 3), {"confidence": 95}, ValueError, "between 0 and 1"),
    (rate, (1, 3), {"confidence": 1.0}, ValueError, "between 0 and 1"),
    (rate, (1, 3), {"confidence": "0.95"}, TypeError, "real number"),
    (rate_of, ([],), {}, ValueError, "non-empty"),
    (rate_of, (torch.zeros(0, dtype=torch.bool),), {}, ValueError, "non-empty"),
    (rate_of, (torch.rand(3),), {}, TypeError, "boolean"),
    (rate_of, (np.array([0.0, 1.0]),), {}, TypeError, "boolean"),
    (rate_of, ([0, 2, 1],), {}, ValueError, "other than 0 and 1"),
    (rate_of, (np.array([0, 2]),), {}, ValueError, "other than 0 and 1"),
    (rate_of, (["yes"],), {}, TypeError, "True/False"),
    (rate_of, ("TFT",), {}, TypeError, "boolean tensor"),
    (rate_of, (torch.ones(2, 2, dtype=torch.bool),), {}, ValueError, "1-D"),
    (paired_test, (OK, OK[:2]), {}, ValueError, "same images"),
    (paired_test, (OK, OK), {"alternative": "bigger"}, ValueError, "one of"),
    (compare, ("A", OK, "B", OK[:2]), {}, ValueError, "same images"),
    (compare, ("A", OK, "", OK), {}, TypeError, "name_b"),
    (compare, ("A", OK, "B", OK), {"verb": None}, TypeError, "verb"),
    (compare, ("A", OK, "B", OK), {"alpha": 0}, ValueError, "alpha"),
    (format_p, (1.5,), {}, ValueError, "probability"),
    (format_p, (float("nan"),), {}, ValueError, "probability"),
    (bootstrap_ci, ([1.0],), {}, ValueError, "at least 2"),
    (bootstrap_ci, ([],), {}, ValueError, "at least 2"),
    (bootstrap_ci, ([1.0, float("nan")],), {}, ValueError, "NaN or infinite"),
    (bootstrap_ci, (torch.tensor([1.0, float("inf")]),), {}, ValueError, "NaN or infinite"),
    (bootstrap_ci, ([[1.0, 2.0]],), {}, ValueError, "1-D"),
    (bootstrap_ci, (["a", "b"],), {}, TypeError, "real numbers"),
    (bootstrap_ci, (torch.tensor([True, False]),), {}, TypeError, "real-valued"),
    (bootstrap_ci, ([1.0, 2.0], "median"), {}, TypeError, "statistic"),
    (bootstrap_ci, ([1.0, 2.0], np.sort), {}, TypeError, "one number"),
    (bootstrap_ci, ([1.0, 2.0],), {"confidence": 0}, ValueError, "between 0 and 1"),
    (bootstrap_ci, ([1.0, 2.0],), {"n_resamples": 10}, ValueError, "n_resamples"),
    (bootstrap_ci, ([1.0, 2.0],), {"n_resamples": 1e4}, TypeError, "n_resamples"),
    (bootstrap_ci, ([1.0, 2.0],), {"seed": -1}, ValueError, "seed"),
    (bootstrap_ci, ([1.0, 2.0],), {"method": "bca"}, ValueError, "BCa"),
    (bootstrap_median_diff, ([1.0, 2.0], [1.0]), {}, ValueError, "at least 2"),
    (bootstrap_median_diff, ([1.0, 2.0], [1.0, 2, 3]), {"paired": True}, ValueError, "equal"),
    (bootstrap_median_diff, ([1.0, 2.0], [3.0, 4]), {"paired": "yes"}, TypeError, "paired"),
    (bootstrap_median_diff, ([1e308, 2.0], [-1e308, 4]), {"paired": True}, ValueError, "overflow"),
]


@pytest.mark.parametrize(
    ("fn", "args", "kwargs", "error", "match"),
    BAD,
    ids=[f"{fn.__name__}-{i}" for i, (fn, *_) in enumerate(BAD)],
)
def test_bad_input_raises_a_clear_error(fn, args, kwargs, error, match) -> None:
    with pytest.raises(error, match=match):
        fn(*args, **kwargs)


def test_the_module_is_exported_and_lists_its_api() -> None:
    assert advlab.stats is stats
    assert all(hasattr(stats, name) for name in stats.__all__)


# --- properties -------------------------------------------------------------------------------


@settings(max_examples=200, derandomize=True, deadline=None)
@given(
    n=st.integers(1, 10**7),
    frac=st.floats(0, 1),
    confidence=st.floats(0.01, 0.9999),
)
def test_rate_interval_holds_the_estimate(n: int, frac: float, confidence: float) -> None:
    k = round(frac * n)
    r = rate(k, n, confidence)
    assert 0.0 <= r.low <= r.value <= r.high <= 1.0
    assert r.value == k / n and (k > 0 or r.low == 0.0) and (k < n or r.high == 1.0)


@settings(max_examples=100, derandomize=True, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.booleans()), min_size=1, max_size=60))
def test_paired_test_counts_and_symmetry(pairs: list[tuple[bool, bool]]) -> None:
    a, b = [p[0] for p in pairs], [p[1] for p in pairs]
    t, r = paired_test(a, b), paired_test(b, a)
    assert t.a_only + t.b_only + t.both + t.neither == t.n == len(pairs)
    assert t.rate_a.k == sum(a) and 0.0 <= t.p_value <= 1.0 and t.p_value == r.p_value
    ab, ba = compare("A", a, "B", b), compare("A", b, "B", a)
    assert ab.significant == ba.significant == (t.p_value < 0.05)
    assert {ab.winner, ba.winner} == ({"A", "B"} if ab.significant else {None})


def test_bootstrap_indices_resamples_images_for_a_statistic_of_several_arrays() -> None:
    """A paired difference of means over indices equals bootstrap_ci of the per-image differences."""
    rng = np.random.default_rng(1)
    a, b = rng.normal(1.0, 1.0, 80), rng.normal(0.0, 1.0, 80)
    via_idx = advlab.stats.bootstrap_indices(
        lambda i: a[i].mean(-1) - b[i].mean(-1), 80, n_resamples=500, seed=3
    )
    direct = advlab.stats.bootstrap_ci(a - b, np.mean, n_resamples=500, seed=3)
    assert via_idx.estimate == pytest.approx(direct.estimate)
    assert via_idx.low == pytest.approx(direct.low) and via_idx.high == pytest.approx(direct.high)
    assert via_idx.low < 1.0 < via_idx.high
    assert via_idx.inline("+.2f", " points").startswith(f"{via_idx.estimate:+.2f} points, 95 % CI ")
    with pytest.raises(TypeError, match="stat must be a function"):
        advlab.stats.bootstrap_indices(3, 80)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="n must be an integer"):
        advlab.stats.bootstrap_indices(lambda i: i.mean(-1), 8.0)  # type: ignore[arg-type]
