"""Calibration of predicted probabilities against observed outcomes.

Covers the Brier score, logistic recalibration (calibration intercept and
slope; Cox 1958, Van Calster et al. 2016), binned reliability and expected
calibration error, and the integrated calibration index of Austin and
Steyerberg (2019) from a loess smoother.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import special

from radassure.core._checks import (
    FloatArray,
    binary_labels,
    check_level,
    check_positive_int,
    check_same_length,
    probabilities,
    undefined,
    z_value,
)
from radassure.core._fitting import fit_logistic, loess
from radassure.core.intervals import wilson_bounds
from radassure.core.results import Estimate

__all__ = [
    "CalibrationFit",
    "ReliabilityCurve",
    "brier_score",
    "calibration_intercept_slope",
    "expected_calibration_error",
    "integrated_calibration_index",
    "reliability_curve",
]

# Probabilities are clipped this far from 0 and 1 before taking logits.
_EPS = 1e-10


def _inputs(y_true: npt.ArrayLike, y_prob: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    truth = binary_labels(y_true, "y_true").astype(np.float64)
    prob = probabilities(y_prob, "y_prob")
    check_same_length(y_true=truth, y_prob=prob)
    return truth, prob


def brier_score(y_true: npt.ArrayLike, y_prob: npt.ArrayLike) -> float:
    """Mean squared difference between predicted probability and outcome.

    Lower is better (0 is perfect; always predicting 0.5 scores 0.25). The
    name follows common usage although it is a loss.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Outcomes, 0/1 or False/True.
    y_prob : array-like of shape (n,)
        Predicted probabilities of the outcome, in [0, 1].

    Returns
    -------
    float

    Examples
    --------
    >>> round(brier_score([0, 1, 1, 0], [0.1, 0.9, 0.8, 0.3]), 4)
    0.0375

    """
    truth, prob = _inputs(y_true, y_prob)
    return float(np.mean((prob - truth) ** 2))


@dataclass(frozen=True)
class CalibrationFit:
    """Logistic recalibration of predicted probabilities.

    Attributes
    ----------
    intercept : Estimate
        Calibration intercept (calibration-in-the-large): ``a`` in
        ``logit P(y=1) = a + logit(p)``; 0 is ideal, > 0 means predictions
        are too low on average.
    slope : Estimate
        Calibration slope: ``b`` in ``logit P(y=1) = c + b * logit(p)``; 1 is
        ideal, < 1 means predictions are too extreme.

    """

    intercept: Estimate
    slope: Estimate


def calibration_intercept_slope(
    y_true: npt.ArrayLike, y_prob: npt.ArrayLike, *, level: float = 0.95
) -> CalibrationFit:
    """Calibration intercept and slope by logistic recalibration.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Outcomes, 0/1 or False/True.
    y_prob : array-like of shape (n,)
        Predicted probabilities in [0, 1]; they are clipped to
        ``[1e-10, 1 - 1e-10]`` before taking logits.
    level : float, default 0.95
        Confidence level of the Wald intervals (from the observed information).

    Returns
    -------
    CalibrationFit
        The intercept is fitted with the slope fixed at 1 (``logit(p)`` as an
        offset); the slope with its own free intercept. Both are maximum
        likelihood fits by Newton-Raphson.

    Warns
    -----
    UndefinedMetricWarning
        When every outcome is the same (both NaN), when every probability is the
        same (slope NaN), or when a fit does not converge, e.g. under complete
        separation (that estimate NaN).

    Examples
    --------
    >>> y = [0, 0, 1, 0, 1, 1, 0, 1, 1, 0]
    >>> p = [0.1, 0.3, 0.6, 0.2, 0.5, 0.9, 0.7, 0.4, 0.8, 0.3]
    >>> fit = calibration_intercept_slope(y, p)
    >>> round(fit.slope.value, 3), round(fit.intercept.value, 3)
    (1.587, 0.107)

    """
    level = check_level(level)
    truth, prob = _inputs(y_true, y_prob)
    n = truth.size
    nan = math.nan
    blank_i = Estimate(nan, nan, nan, level, "logistic (offset)", n)
    blank_s = Estimate(nan, nan, nan, level, "logistic", n)
    if np.ptp(truth) == 0:
        undefined("Calibration intercept and slope are undefined because every outcome is equal.")
        return CalibrationFit(blank_i, blank_s)
    x = special.logit(np.clip(prob, _EPS, 1 - _EPS))
    z = z_value(level)

    def estimate(fit: tuple[FloatArray, FloatArray], k: int, method: str) -> Estimate:
        value = float(fit[0][k])
        se = math.sqrt(float(fit[1][k, k]))
        return Estimate(value, value - z * se, value + z * se, level, method, n)

    fit_i = fit_logistic(np.ones((n, 1)), truth, x)
    if fit_i is None:
        undefined("The calibration intercept fit did not converge; it is reported as NaN.")
        intercept = blank_i
    else:
        intercept = estimate(fit_i, 0, "logistic (offset)")
    if np.ptp(x) == 0:
        undefined("The calibration slope is undefined because every probability is equal.")
        return CalibrationFit(intercept, blank_s)
    fit_s = fit_logistic(np.column_stack([np.ones(n), x]), truth, np.zeros(n))
    if fit_s is None:
        undefined(
            "The calibration slope fit did not converge (the outcomes may be perfectly "
            "separated by the predictions); it is reported as NaN."
        )
        return CalibrationFit(intercept, blank_s)
    return CalibrationFit(intercept, estimate(fit_s, 1, "logistic"))


def _bin_ids(prob: FloatArray, n_bins: int, strategy: str) -> FloatArray:
    if strategy == "uniform":
        edges = np.linspace(0.0, 1.0, n_bins + 1)
    elif strategy == "quantile":
        edges = np.percentile(prob, np.linspace(0, 100, n_bins + 1))
    else:
        raise ValueError(f"strategy must be 'uniform' or 'quantile' (got {strategy!r}).")
    # Bins are closed on the right, as in scikit-learn's calibration_curve.
    return np.asarray(np.searchsorted(edges[1:-1], prob), dtype=np.float64)


@dataclass(frozen=True)
class ReliabilityCurve:
    """Observed outcome rate against mean predicted probability, per bin.

    Only non-empty bins are listed.

    Attributes
    ----------
    mean_predicted : numpy.ndarray
        Mean predicted probability in each bin.
    observed : numpy.ndarray
        Share of positive outcomes in each bin.
    observed_low, observed_high : numpy.ndarray
        Wilson interval of the observed share.
    count : numpy.ndarray
        Cases in each bin.
    level : float
        Confidence level of the intervals.

    """

    mean_predicted: FloatArray
    observed: FloatArray
    observed_low: FloatArray
    observed_high: FloatArray
    count: npt.NDArray[np.int64]
    level: float


def _binned(
    y_true: npt.ArrayLike, y_prob: npt.ArrayLike, n_bins: int, strategy: str
) -> tuple[FloatArray, FloatArray, npt.NDArray[np.int64]]:
    truth, prob = _inputs(y_true, y_prob)
    n_bins = check_positive_int(n_bins, "n_bins")
    ids = _bin_ids(prob, n_bins, strategy).astype(np.int64)
    count = np.bincount(ids, minlength=n_bins).astype(np.int64)
    keep = count > 0
    sum_p = np.bincount(ids, weights=prob, minlength=n_bins)[keep]
    sum_y = np.bincount(ids, weights=truth, minlength=n_bins)[keep]
    return sum_p.astype(np.float64), sum_y.astype(np.float64), count[keep]


def reliability_curve(
    y_true: npt.ArrayLike,
    y_prob: npt.ArrayLike,
    *,
    n_bins: int = 10,
    strategy: Literal["uniform", "quantile"] = "uniform",
    level: float = 0.95,
) -> ReliabilityCurve:
    """Binned reliability diagram with Wilson intervals on the observed rate.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Outcomes, 0/1 or False/True.
    y_prob : array-like of shape (n,)
        Predicted probabilities in [0, 1].
    n_bins : int, default 10
        Number of bins.
    strategy : {"uniform", "quantile"}, default "uniform"
        Equal-width bins on [0, 1], or bins with equal numbers of cases.
    level : float, default 0.95
        Confidence level.

    Returns
    -------
    ReliabilityCurve
        Bins match scikit-learn's ``calibration_curve``.

    Examples
    --------
    >>> r = reliability_curve([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.6], n_bins=2)
    >>> r.mean_predicted.tolist(), r.observed.tolist(), r.count.tolist()
    ([0.15000000000000002, 0.7], [0.0, 1.0], [2, 2])

    """
    level = check_level(level)
    sum_p, sum_y, count = _binned(y_true, y_prob, n_bins, strategy)
    low, high = wilson_bounds(sum_y.round(), count, level=level)
    return ReliabilityCurve(sum_p / count, sum_y / count, low, high, count, level)


def expected_calibration_error(
    y_true: npt.ArrayLike,
    y_prob: npt.ArrayLike,
    *,
    n_bins: int = 10,
    strategy: Literal["uniform", "quantile"] = "uniform",
) -> float:
    """Expected calibration error: case-weighted mean gap between bins' rates.

    ``ECE = sum_b (n_b / n) * |observed_b - mean_predicted_b|`` over the bins of
    :func:`reliability_curve`. It depends on the binning and is biased upwards
    in small samples; prefer :func:`integrated_calibration_index` for reports.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Outcomes, 0/1 or False/True.
    y_prob : array-like of shape (n,)
        Predicted probabilities in [0, 1].
    n_bins : int, default 10
        Number of bins.
    strategy : {"uniform", "quantile"}, default "uniform"
        Binning strategy, as in :func:`reliability_curve`.

    Returns
    -------
    float

    Examples
    --------
    >>> round(expected_calibration_error([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.6], n_bins=2), 3)
    0.225

    """
    sum_p, sum_y, count = _binned(y_true, y_prob, n_bins, strategy)
    return float(np.sum(np.abs(sum_y - sum_p)) / count.sum())


def integrated_calibration_index(
    y_true: npt.ArrayLike,
    y_prob: npt.ArrayLike,
    *,
    frac: float = 0.75,
    n_eval: int = 200,
) -> float:
    """Integrated calibration index (Austin and Steyerberg 2019).

    The mean absolute difference between each predicted probability and the
    observed rate at that probability, the latter estimated by a loess
    smooth of the outcomes on the predictions (local quadratic, span ``frac``,
    degree 2), clipped to [0, 1].

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Outcomes, 0/1 or False/True.
    y_prob : array-like of shape (n,)
        Predicted probabilities in [0, 1].
    frac : float, default 0.75
        Loess span.
    n_eval : int, default 200
        With more distinct probabilities than this, the smooth is computed at
        ``n_eval`` quantiles of the predictions and linearly interpolated
        between them, which keeps the cost linear in ``n``.

    Returns
    -------
    float

    Warns
    -----
    UndefinedMetricWarning
        With fewer than 3 distinct predicted probabilities, where no smooth
        calibration curve can be fitted (NaN).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> p = rng.uniform(0.05, 0.95, 2000)
    >>> y = rng.uniform(size=2000) < p
    >>> integrated_calibration_index(y, p) < 0.03
    True

    """
    truth, prob = _inputs(y_true, y_prob)
    n_eval = check_positive_int(n_eval, "n_eval")
    grid = np.unique(prob)
    if grid.size < 3:
        return undefined(
            "The integrated calibration index needs at least 3 distinct predicted "
            "probabilities to fit a calibration curve."
        )
    if grid.size > n_eval:
        grid = np.unique(np.quantile(prob, np.linspace(0, 1, n_eval)))
    smooth = np.clip(loess(prob, truth, grid, frac=frac, degree=2), 0.0, 1.0)
    observed = np.interp(prob, grid, smooth)
    return float(np.mean(np.abs(prob - observed)))
