"""ROC and precision-recall curves with pointwise bands, and average precision.

A case is called positive at threshold ``t`` when its score is ``>= t``; the
curves have one point per distinct score, highest threshold first. Bands are
pointwise Wilson intervals of the rates at each threshold, treating the
threshold as fixed: they say how precisely each point is known, not where
the whole curve lies (they are not simultaneous bands).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from radassure.core._checks import (
    FloatArray,
    binary_labels,
    check_level,
    check_same_length,
    finite_scores,
    undefined,
    z_value,
)
from radassure.core.intervals import wilson_bounds
from radassure.core.results import Estimate

__all__ = [
    "PrCurve",
    "RocCurve",
    "average_precision",
    "counts_at_thresholds",
    "pr_curve",
    "roc_curve_with_band",
]

IntArray = npt.NDArray[np.int64]


def counts_at_thresholds(
    y_true: npt.ArrayLike, y_score: npt.ArrayLike
) -> tuple[FloatArray, IntArray, IntArray, int, int]:
    """True and false positive counts at every distinct score.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Reference standard, 0/1 or False/True.
    y_score : array-like of shape (n,)
        Scores; a case is called positive when its score is ``>=`` the threshold.

    Returns
    -------
    thresholds : numpy.ndarray
        Distinct scores, in decreasing order.
    tps, fps : numpy.ndarray of int
        Positive calls that are true / false positives at each threshold.
    n_positive, n_negative : int
        Cases positive and negative on the reference standard.

    Examples
    --------
    >>> t, tps, fps, p, n = counts_at_thresholds([0, 1, 1, 0], [0.1, 0.8, 0.4, 0.4])
    >>> t.tolist(), tps.tolist(), fps.tolist()
    ([0.8, 0.4, 0.1], [1, 2, 2], [0, 1, 2])

    """
    truth = binary_labels(y_true, "y_true")
    score = finite_scores(y_score, "y_score")
    check_same_length(y_true=truth, y_score=score)
    order = np.argsort(-score, kind="stable")
    score, truth = score[order], truth[order]
    # The last index of each run of equal scores marks a threshold.
    last = np.r_[np.flatnonzero(np.diff(score)), score.size - 1]
    tps = np.cumsum(truth, dtype=np.int64)[last]
    fps = (last + 1 - tps).astype(np.int64)
    n_pos = int(truth.sum())
    return score[last], tps, fps, n_pos, truth.size - n_pos


@dataclass(frozen=True)
class RocCurve:
    """An empirical ROC curve with pointwise Wilson bands.

    Attributes
    ----------
    thresholds : numpy.ndarray
        ``inf`` (no case called positive) then each distinct score, decreasing.
    fpr, tpr : numpy.ndarray
        False and true positive rates at each threshold.
    fpr_low, fpr_high, tpr_low, tpr_high : numpy.ndarray
        Pointwise Wilson bounds of each rate.
    level : float
        Confidence level of the bands.
    n_positive, n_negative : int
        Class sizes.

    """

    thresholds: FloatArray
    fpr: FloatArray
    tpr: FloatArray
    fpr_low: FloatArray
    fpr_high: FloatArray
    tpr_low: FloatArray
    tpr_high: FloatArray
    level: float
    n_positive: int
    n_negative: int


def roc_curve_with_band(
    y_true: npt.ArrayLike, y_score: npt.ArrayLike, *, level: float = 0.95
) -> RocCurve:
    """ROC curve with a pointwise Wilson band on both rates.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Reference standard, 0/1 or False/True.
    y_score : array-like of shape (n,)
        The tool's scores; higher means more likely positive.
    level : float, default 0.95
        Confidence level of the pointwise intervals.

    Returns
    -------
    RocCurve
        Points match ``sklearn.metrics.roc_curve(..., drop_intermediate=False)``.

    Warns
    -----
    UndefinedMetricWarning
        With no positive (or no negative) cases; the TPR (or FPR) is NaN.

    Examples
    --------
    >>> c = roc_curve_with_band([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> c.fpr.tolist(), c.tpr.tolist()
    ([0.0, 0.0, 0.5, 0.5, 1.0], [0.0, 0.5, 0.5, 1.0, 1.0])
    >>> round(float(c.tpr_low[1]), 3), round(float(c.tpr_high[1]), 3)
    (0.095, 0.905)

    """
    level = check_level(level)
    thresholds, tps, fps, n_pos, n_neg = counts_at_thresholds(y_true, y_score)
    tps = np.r_[0, tps]
    fps = np.r_[0, fps]
    for size, name in ((n_pos, "positive"), (n_neg, "negative")):
        if size == 0:
            rate = "true" if name == "positive" else "false"
            undefined(f"There are no {name} cases, so the {rate} positive rate is NaN.")
    with np.errstate(divide="ignore", invalid="ignore"):
        tpr = tps / n_pos if n_pos else np.full(tps.shape, math.nan)
        fpr = fps / n_neg if n_neg else np.full(fps.shape, math.nan)
    tpr_low, tpr_high = wilson_bounds(tps, n_pos, level=level)
    fpr_low, fpr_high = wilson_bounds(fps, n_neg, level=level)
    return RocCurve(
        thresholds=np.r_[np.inf, thresholds],
        fpr=fpr,
        tpr=tpr,
        fpr_low=fpr_low,
        fpr_high=fpr_high,
        tpr_low=tpr_low,
        tpr_high=tpr_high,
        level=level,
        n_positive=n_pos,
        n_negative=n_neg,
    )


@dataclass(frozen=True)
class PrCurve:
    """An empirical precision-recall curve with pointwise Wilson bands.

    Attributes
    ----------
    thresholds : numpy.ndarray
        Distinct scores, decreasing.
    recall, precision : numpy.ndarray
        Recall (sensitivity) and precision (PPV) at each threshold.
    recall_low, recall_high, precision_low, precision_high : numpy.ndarray
        Pointwise Wilson bounds.
    level : float
        Confidence level of the bands.
    n_positive : int
        Cases positive on the reference standard.

    """

    thresholds: FloatArray
    recall: FloatArray
    precision: FloatArray
    recall_low: FloatArray
    recall_high: FloatArray
    precision_low: FloatArray
    precision_high: FloatArray
    level: float
    n_positive: int


def pr_curve(y_true: npt.ArrayLike, y_score: npt.ArrayLike, *, level: float = 0.95) -> PrCurve:
    """Precision-recall curve with a pointwise Wilson band on both axes.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Reference standard, 0/1 or False/True.
    y_score : array-like of shape (n,)
        The tool's scores; higher means more likely positive.
    level : float, default 0.95
        Confidence level of the pointwise intervals.

    Returns
    -------
    PrCurve
        One point per distinct score, highest threshold first. Unlike
        scikit-learn's ``precision_recall_curve`` no artificial
        ``(recall 0, precision 1)`` end point is added.

    Warns
    -----
    UndefinedMetricWarning
        With no positive cases; recall is NaN.

    Examples
    --------
    >>> c = pr_curve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> c.precision.round(3).tolist(), c.recall.tolist()
    ([1.0, 0.5, 0.667, 0.5], [0.5, 0.5, 1.0, 1.0])

    """
    level = check_level(level)
    thresholds, tps, fps, n_pos, _ = counts_at_thresholds(y_true, y_score)
    if n_pos == 0:
        undefined("There are no positive cases, so recall is NaN.")
        recall = np.full(tps.shape, math.nan)
    else:
        recall = tps / n_pos
    precision = tps / (tps + fps)
    recall_low, recall_high = wilson_bounds(tps, n_pos, level=level)
    precision_low, precision_high = wilson_bounds(tps, tps + fps, level=level)
    return PrCurve(
        thresholds=thresholds,
        recall=recall,
        precision=precision,
        recall_low=recall_low,
        recall_high=recall_high,
        precision_low=precision_low,
        precision_high=precision_high,
        level=level,
        n_positive=n_pos,
    )


def average_precision(
    y_true: npt.ArrayLike, y_score: npt.ArrayLike, *, level: float = 0.95
) -> Estimate:
    """Average precision (step-wise area under the precision-recall curve).

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Reference standard, 0/1 or False/True.
    y_score : array-like of shape (n,)
        The tool's scores; higher means more likely positive.
    level : float, default 0.95
        Confidence level.

    Returns
    -------
    Estimate
        ``AP = sum_k (R_k - R_{k-1}) P_k`` over decreasing thresholds, as
        scikit-learn's ``average_precision_score`` (no interpolation). The
        interval is the logit interval of Boyd, Eng and Page (2013):
        ``expit(logit(AP) +/- z / sqrt(n_pos * AP * (1 - AP)))``.

    Warns
    -----
    UndefinedMetricWarning
        With no positive cases (value NaN), or when AP is 0 or 1 (value kept,
        logit interval NaN).

    Examples
    --------
    >>> average_precision([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]).value
    0.8333333333333333

    """
    level = check_level(level)
    _, tps, fps, n_pos, n_neg = counts_at_thresholds(y_true, y_score)
    method = "logit (Boyd 2013)"
    nan = math.nan
    if n_pos == 0:
        undefined("Average precision is undefined because there are no positive cases.")
        return Estimate(nan, nan, nan, level, method, n_neg)
    precision = tps / (tps + fps)
    # Summing new true positives (integers) keeps a perfect ranking at exactly 1.
    value = float(np.sum(np.diff(np.r_[0, tps]) * precision)) / n_pos
    if not 0.0 < value < 1.0:
        undefined(
            f"Average precision is {value:g}, where its logit interval is undefined; the "
            "interval is NaN."
        )
        return Estimate(value, nan, nan, level, method, n_pos + n_neg)
    centre = math.log(value / (1 - value))
    half = z_value(level) / math.sqrt(n_pos * value * (1 - value))
    low, high = (1 / (1 + math.exp(-(centre + s * half))) for s in (-1, 1))
    return Estimate(value, low, high, level, method, n_pos + n_neg)
