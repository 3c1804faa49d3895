"""Area under the ROC curve with DeLong or stratified-bootstrap intervals.

The AUC is the Mann-Whitney probability that a random positive case scores
above a random negative case, ties counted as half. Its DeLong (1988)
variance needs the placement value of every case (the share of the other
class below it); as in the midrank algorithm of Sun and Xu (2014) these come
in O(n log n) rather than from the O(n^2) table of pairwise comparisons, here
from one sort of each class and binary searches between them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import stats

from radassure.core._checks import (
    FloatArray,
    binary_labels,
    check_level,
    check_positive_int,
    check_same_length,
    finite_scores,
    resolve_rng,
    undefined,
    z_value,
)
from radassure.core.results import Estimate

__all__ = ["DeLongTest", "delong_test", "roc_auc"]

# Bootstrap work is chunked so that a chunk's arrays stay near this many cells.
_CHUNK_CELLS = 2_000_000
# Resamples are then processed in blocks of about this many cells, to stay in cache.
_BLOCK_CELLS = 1 << 16


def _split(y_true: npt.ArrayLike, *scores: npt.ArrayLike) -> tuple[FloatArray, int, int]:
    """Return scores as a (k, m + n) array with the m positives first."""
    truth = binary_labels(y_true, "y_true")
    names = ["y_score"] if len(scores) == 1 else ["score_a", "score_b"]
    arrays = [finite_scores(s, name) for s, name in zip(scores, names, strict=True)]
    check_same_length(y_true=truth, **dict(zip(names, arrays, strict=True)))
    order = np.concatenate([np.flatnonzero(truth), np.flatnonzero(~truth)])
    return np.vstack(arrays)[:, order], int(truth.sum()), int((~truth).sum())


def _twice_placements(
    pos_sorted: FloatArray, neg_sorted: FloatArray
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Twice the placement counts of two sorted classes, in exact integers.

    For each positive ``2 * (negatives below) + (negatives tied)``; for each
    negative ``2 * (positives below) + (positives tied)``.
    """
    n = neg_sorted.size
    lo = np.searchsorted(neg_sorted, pos_sorted, "left")
    hi = np.searchsorted(neg_sorted, pos_sorted, "right")
    # Positive i is at or below negative j exactly when j >= lo[i], and strictly
    # below it when j >= hi[i]: counting those is a cumulative sum, not a search.
    counts = np.bincount(lo, minlength=n + 1)[:n] + np.bincount(hi, minlength=n + 1)[:n]
    return lo + hi, np.cumsum(counts)


def _structural_components(
    scores: FloatArray, m: int, *, keep_order: bool = True
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """AUCs and DeLong placement values from one sort per class and row.

    ``scores`` has shape (k, m + n) with the positives first. Returns ``auc``
    of shape (k,), ``v10`` of shape (k, m) (share of negatives below each
    positive) and ``v01`` of shape (k, n) (share of positives above each
    negative), ties counted as half. These are the midrank differences of Sun
    and Xu (2014), read off the sorted classes instead of three rankings.
    With ``keep_order`` the placements follow the order of the cases in
    ``scores`` (needed to pair the rows, as the covariance of two tools
    does); without it they are in sorted order, which is cheaper and enough
    for one row's variance.
    """
    k, total = scores.shape
    n = total - m
    auc = np.empty(k)
    v10 = np.empty((k, m))
    v01 = np.empty((k, n))
    for row in range(k):
        pos, neg = scores[row, :m], scores[row, m:]
        if keep_order:
            pos_order, neg_order = np.argsort(pos), np.argsort(neg)
            below, pos_below = _twice_placements(pos[pos_order], neg[neg_order])
            v10[row, pos_order] = below / (2 * n)
            v01[row, neg_order] = 1.0 - pos_below / (2 * m)
        else:
            below, pos_below = _twice_placements(np.sort(pos), np.sort(neg))
            v10[row] = below / (2 * n)
            v01[row] = 1.0 - pos_below / (2 * m)
        auc[row] = int(below.sum()) / (2 * m * n)
    return auc, v10, v01


def _delong_covariance(v10: FloatArray, v01: FloatArray) -> FloatArray:
    m, n = v10.shape[1], v01.shape[1]
    s10 = np.atleast_2d(np.cov(v10))
    s01 = np.atleast_2d(np.cov(v01))
    return np.asarray(s10 / m + s01 / n, dtype=np.float64)


def _bootstrap_aucs(
    pos: FloatArray, neg: FloatArray, n_boot: int, rng: np.random.Generator
) -> FloatArray:
    """AUCs of ``n_boot`` stratified resamples, in O(n_boot * (m + n)).

    Resample ``b`` draws ``n`` indices into the sorted negatives and ``m``
    into the sorted positives; indexing sorted cases makes a seeded interval
    independent of the order the cases came in. Nothing is re-sorted per
    resample: the multiplicities
    of the smaller class, cumulated in sorted order, give for every case of the
    larger class the weighted count of the other class below it (ties as
    half), and summing those over the larger class's draws gives twice the
    Mann-Whitney count, exactly, in integers.
    """
    m, n = pos.size, neg.size
    neg = np.sort(neg)
    pos = np.sort(pos)
    count_pos = m < n
    order: npt.NDArray[np.intp] | None = None
    if count_pos:
        counted, gathered, size = pos, neg, m
    else:
        counted, gathered, size = neg, pos, n
    lo = np.searchsorted(counted, gathered, side="left")
    hi = np.searchsorted(counted, gathered, side="right")
    ties = not np.array_equal(lo, hi)
    pairs = 2 * m * n

    def _twice_count(
        counted_draw: npt.NDArray[np.int64], gathered_draw: npt.NDArray[np.int64]
    ) -> int:
        weights = np.bincount(counted_draw, minlength=size)
        if order is not None:
            weights = weights.take(order)
        cum = np.zeros(size + 1, dtype=np.int64)
        np.cumsum(weights, out=cum[1:])
        twice_below = cum.take(lo)
        if ties:
            twice_below += cum.take(hi)
        else:
            twice_below *= 2
        return int(twice_below.take(gathered_draw).sum())

    out = np.empty(n_boot)
    # Draws come in chunks (negatives, then positives) so the random stream does
    # not depend on the block size below, which only keeps the work in cache.
    rows = max(1, _CHUNK_CELLS // (m + n + 1))
    block = max(1, _BLOCK_CELLS // (m + n + 1))
    for start in range(0, n_boot, rows):
        b = min(rows, n_boot - start)
        neg_draws = rng.integers(0, n, size=(b, n))
        pos_draws = rng.integers(0, m, size=(b, m))
        counted_draws, gathered_draws = (
            (pos_draws, neg_draws) if count_pos else (neg_draws, pos_draws)
        )
        for first in range(start, start + b, block):
            r = min(block, start + b - first)
            rel = slice(first - start, first - start + r)
            if r == 1:
                # One large resample: flat arrays avoid the cost of 2-D indexing.
                twice = np.array([_twice_count(counted_draws[rel][0], gathered_draws[rel][0])])
            else:
                offsets = (np.arange(r) * size)[:, None]
                weights = np.bincount(
                    (counted_draws[rel] + offsets).ravel(), minlength=r * size
                ).reshape(r, size)
                if order is not None:
                    weights = weights[:, order]
                cum = np.zeros((r, size + 1), dtype=np.int64)
                np.cumsum(weights, axis=1, out=cum[:, 1:])
                twice_below = cum[:, lo]
                if ties:
                    twice_below += cum[:, hi]
                else:
                    twice_below *= 2
                twice = np.take_along_axis(twice_below, gathered_draws[rel], axis=1).sum(axis=1)
            if count_pos:
                # The count was of positives below each negative: take the complement.
                twice = pairs - twice
            out[first : first + r] = twice / pairs
    return out


def _bca_limits(
    boots: FloatArray, value: float, v10: FloatArray, v01: FloatArray, level: float
) -> tuple[float, float] | None:
    """BCa limits (Efron 1987) with the two-sample jackknife acceleration.

    Returns None when the bias correction is infinite (every resample on one
    side of the estimate).
    """
    share = (np.count_nonzero(boots < value) + np.count_nonzero(boots <= value)) / (2 * boots.size)
    if share <= 0.0 or share >= 1.0:
        return None
    z0 = float(stats.norm.ppf(share))
    num = 0.0
    den = 0.0
    for v in (v10, v01):
        k = v.size
        # Leave-one-out AUCs: dropping one case removes its placement value.
        jack = (k * value - v) / (k - 1)
        u = (k - 1) * (jack.mean() - jack)
        num += float(np.sum(u**3)) / k**3
        den += float(np.sum(u**2)) / k**2
    accel = num / (6.0 * den**1.5) if den > 0 else 0.0
    alpha = (1.0 - level) / 2
    limits = []
    for z_a in (stats.norm.ppf(alpha), stats.norm.ppf(1 - alpha)):
        limits.append(float(stats.norm.cdf(z0 + (z0 + z_a) / (1 - accel * (z0 + z_a)))))
    low, high = np.quantile(boots, limits)
    return float(low), float(high)


def roc_auc(
    y_true: npt.ArrayLike,
    y_score: npt.ArrayLike,
    *,
    level: float = 0.95,
    method: Literal["delong", "bootstrap"] = "delong",
    rng: np.random.Generator | int | None = None,
    n_boot: int = 2000,
    ci: Literal["percentile", "bca"] = "bca",
) -> Estimate:
    """Area under the ROC curve with a confidence interval.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Reference standard, 0/1 or False/True.
    y_score : array-like of shape (n,)
        The tool's scores; higher means more likely positive.
    level : float, default 0.95
        Confidence level.
    method : {"delong", "bootstrap"}, default "delong"
        ``"delong"``: Wald interval ``AUC +/- z * SE`` with the DeLong et al.
        (1988) standard error (Sun and Xu 2014 algorithm), clipped to [0, 1]
        as pROC does. ``"bootstrap"``: stratified bootstrap that resamples the
        positives and the negatives separately, so every resample keeps the
        observed numbers of each.
    rng : numpy.random.Generator or int
        Source of randomness; required for ``method="bootstrap"``.
    n_boot : int, default 2000
        Number of bootstrap resamples.
    ci : {"percentile", "bca"}, default "bca"
        Bootstrap interval: percentile, or bias-corrected and accelerated
        (Efron 1987; acceleration from the two-sample jackknife).

    Returns
    -------
    Estimate
        ``method`` is ``"delong"``, ``"bootstrap-percentile"`` or
        ``"bootstrap-bca"``; ``n`` is the number of cases.

    Warns
    -----
    UndefinedMetricWarning
        With no positive or no negative cases (value NaN); with constant scores
        or a single case in a class (value kept, interval NaN); when BCa
        cannot correct its bias (falls back to the percentile interval).

    Examples
    --------
    >>> y = [0, 0, 1, 1, 0, 1]
    >>> s = [0.1, 0.4, 0.35, 0.8, 0.2, 0.9]
    >>> e = roc_auc(y, s)
    >>> round(e.value, 4), e.method
    (0.8889, 'delong')
    >>> roc_auc(y, s, method="bootstrap", rng=0, n_boot=200).method
    'bootstrap-bca'

    """
    level = check_level(level)
    if method not in ("delong", "bootstrap"):
        raise ValueError(f"method must be 'delong' or 'bootstrap' (got {method!r}).")
    if ci not in ("percentile", "bca"):
        raise ValueError(f"ci must be 'percentile' or 'bca' (got {ci!r}).")
    label = "delong" if method == "delong" else f"bootstrap-{ci}"
    generator = None
    if method == "bootstrap":
        n_boot = check_positive_int(n_boot, "n_boot")
        generator = resolve_rng(rng, "roc_auc(method='bootstrap')")
    scores, m, n = _split(y_true, y_score)
    nan = math.nan
    if m == 0 or n == 0:
        undefined(
            f"The AUC is undefined because there are no {'positive' if m == 0 else 'negative'} "
            "cases in y_true.",
        )
        return Estimate(nan, nan, nan, level, label, m + n)
    auc, v10, v01 = _structural_components(scores, m, keep_order=False)
    value = float(auc[0])
    if np.ptp(scores) == 0:
        undefined("Every score is the same, so the AUC is 0.5 and its interval is undefined.")
        return Estimate(value, nan, nan, level, label, m + n)
    if method == "delong":
        if m < 2 or n < 2:
            undefined(
                "The DeLong interval needs at least two positive and two negative cases; "
                "the interval is NaN."
            )
            return Estimate(value, nan, nan, level, label, m + n)
        se = math.sqrt(max(0.0, float(_delong_covariance(v10, v01)[0, 0])))
        half = z_value(level) * se
        return Estimate(value, max(0.0, value - half), min(1.0, value + half), level, label, m + n)
    assert generator is not None
    boots = _bootstrap_aucs(scores[0, :m], scores[0, m:], n_boot, generator)
    if ci == "bca" and (m < 2 or n < 2):
        undefined(
            "The BCa acceleration needs at least two positive and two negative cases; the "
            "percentile interval is reported instead."
        )
        label = "bootstrap-percentile"
    elif ci == "bca" and np.ptp(boots) > 0:
        limits = _bca_limits(boots, value, v10[0], v01[0], level)
        if limits is not None:
            return Estimate(value, limits[0], limits[1], level, label, m + n)
        undefined(
            "Every bootstrap AUC lies on one side of the estimate, so the BCa bias "
            "correction is infinite; the percentile interval is reported instead.",
        )
        label = "bootstrap-percentile"
    alpha = (1.0 - level) / 2
    low, high = np.quantile(boots, [alpha, 1 - alpha])
    return Estimate(value, float(low), float(high), level, label, m + n)


@dataclass(frozen=True)
class DeLongTest:
    """Paired comparison of two AUCs read on the same cases.

    Attributes
    ----------
    difference : Estimate
        AUC(a) - AUC(b) with its DeLong Wald interval.
    z : float
        Difference divided by its DeLong standard error.
    p_value : float
        Two-sided p-value for equal AUCs.
    auc_a, auc_b : Estimate
        Each tool's AUC with its own DeLong interval.

    """

    difference: Estimate
    z: float
    p_value: float
    auc_a: Estimate
    auc_b: Estimate


def delong_test(
    y_true: npt.ArrayLike,
    score_a: npt.ArrayLike,
    score_b: npt.ArrayLike,
    *,
    level: float = 0.95,
) -> DeLongTest:
    """DeLong test for the difference of two correlated AUCs.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Reference standard, 0/1 or False/True.
    score_a, score_b : array-like of shape (n,)
        Scores of tools a and b on the same cases, in the same order.
    level : float, default 0.95
        Confidence level of the intervals.

    Returns
    -------
    DeLongTest
        ``z = (AUC_a - AUC_b) / SE`` with ``SE**2 = var_a + var_b - 2 cov_ab``
        from the DeLong et al. (1988) covariance matrix; ``p_value`` is
        two-sided.

    Warns
    -----
    UndefinedMetricWarning
        When a class has fewer than two cases, or the variance of the
        difference is 0 (for example identical scores): ``z``, ``p_value``
        and the interval are NaN.

    Examples
    --------
    >>> y = [0, 0, 0, 1, 1, 1, 0, 1]
    >>> a = [0.1, 0.3, 0.2, 0.8, 0.7, 0.4, 0.5, 0.9]
    >>> b = [0.2, 0.6, 0.1, 0.7, 0.5, 0.3, 0.4, 0.6]
    >>> t = delong_test(y, a, b)
    >>> round(t.difference.value, 4), round(t.p_value, 3)
    (0.1562, 0.35)

    """
    level = check_level(level)
    scores, m, n = _split(y_true, score_a, score_b)
    nan = math.nan

    def empty(message: str, a: Estimate, b: Estimate) -> DeLongTest:
        undefined(message, stacklevel=4)
        diff = Estimate(a.value - b.value, nan, nan, level, "delong", m + n)
        return DeLongTest(diff, nan, nan, a, b)

    if m < 2 or n < 2:
        blank = Estimate(nan, nan, nan, level, "delong", m + n)
        return empty(
            "The DeLong test needs at least two positive and two negative cases.", blank, blank
        )
    auc, v10, v01 = _structural_components(scores, m)
    cov = _delong_covariance(v10, v01)
    z_crit = z_value(level)
    singles = []
    for i in range(2):
        half = z_crit * math.sqrt(max(0.0, float(cov[i, i])))
        value = float(auc[i])
        singles.append(
            Estimate(value, max(0.0, value - half), min(1.0, value + half), level, "delong", m + n)
        )
    var = float(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
    diff_value = float(auc[0] - auc[1])
    if not var > 1e-15:
        return empty(
            "The variance of the AUC difference is 0 (the two tools rank the cases alike), "
            "so the test is undefined.",
            singles[0],
            singles[1],
        )
    se = math.sqrt(var)
    z = diff_value / se
    diff = Estimate(
        diff_value,
        max(-1.0, diff_value - z_crit * se),
        min(1.0, diff_value + z_crit * se),
        level,
        "delong",
        m + n,
    )
    p_value = float(2 * stats.norm.sf(abs(z)))
    return DeLongTest(diff, z, p_value, singles[0], singles[1])
