"""Confidence-based performance estimation without labels (re-exported by ``drift``).

The idea of NannyML's CBPE: if the tool's scores, mapped to probabilities on
a labelled baseline, stay calibrated on current data, the expected number of
true positives among current studies is the sum of those probabilities over
the studies called positive. It is an *estimate that holds only if
calibration holds*: it depends on the scores alone, so it cannot see a
conditional shift (a scanner upgrade that makes diseased studies score like
healthy ones leaves the estimate unchanged while sensitivity falls). It is
context for the label-based charts, never the safety verdict.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from radassure.core._checks import (
    FloatArray,
    binary_labels,
    check_same_length,
    finite_scores,
    undefined,
    z_value,
)
from radassure.core._drift_types import EARLY_WARNING, DriftResult
from radassure.core.results import Estimate

__all__ = ["PerformanceEstimate", "estimated_performance", "isotonic_calibrator"]

Calibrator = Callable[[FloatArray], npt.ArrayLike]

_BLIND_SPOT = (
    "it holds only if the tool's calibration on the baseline still holds, and it cannot see a "
    "change in how scores relate to disease (for example after a scanner upgrade), so it is "
    "an early warning, not a safety verdict."
)


def isotonic_calibrator(scores: npt.ArrayLike, labels: npt.ArrayLike) -> Calibrator:
    """Fit a monotone map from score to probability of disease (pool-adjacent-violators).

    Between fitted scores the map interpolates linearly; outside them it holds
    the end values (as scikit-learn's ``IsotonicRegression`` does).

    Parameters
    ----------
    scores : array-like of float
        Baseline AI scores.
    labels : array-like of {0, 1}
        Baseline reference standard, with both classes present.

    Returns
    -------
    callable
        Maps an array of scores to probabilities in [0, 1].

    Examples
    --------
    >>> f = isotonic_calibrator([0.1, 0.2, 0.3, 0.4], [0, 1, 0, 1])
    >>> np.asarray(f(np.array([0.1, 0.25, 0.4]))).tolist()
    [0.0, 0.5, 1.0]

    """
    x = finite_scores(scores, "baseline_scores")
    y = binary_labels(labels, "baseline_labels").astype(np.float64)
    check_same_length(baseline_scores=x, baseline_labels=y)
    if y.min() == y.max():
        raise ValueError(
            "baseline_labels must contain both positive and negative cases to calibrate the "
            "scores; choose a longer baseline period."
        )
    order = np.argsort(x, kind="mergesort")
    xs, start, counts = np.unique(x[order], return_index=True, return_counts=True)
    sums = np.add.reduceat(y[order], start)
    # Pool adjacent violators: a stack of blocks (sum, weight, number of distinct scores).
    blocks: list[list[float]] = []
    for s, w in zip(sums.tolist(), counts.tolist(), strict=True):
        blocks.append([s, float(w), 1.0])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
            last = blocks.pop()
            blocks[-1] = [blocks[-1][0] + last[0], blocks[-1][1] + last[1], blocks[-1][2] + last[2]]
    fitted = np.repeat([b[0] / b[1] for b in blocks], [int(b[2]) for b in blocks])

    def calibrate(values: FloatArray) -> FloatArray:
        return np.asarray(np.interp(values, xs, fitted), dtype=np.float64)

    return calibrate


@dataclass(frozen=True)
class PerformanceEstimate:
    """Sensitivity and specificity estimated from scores alone (early warning only).

    Attributes
    ----------
    sensitivity, specificity : Estimate
        Expected values on the current studies, with a normal (delta-method)
        interval for the realised value that assumes calibration holds; the
        interval leaves out the uncertainty of the baseline calibration.
    prevalence : float
        Expected share of current studies with disease (mean probability).
    n_baseline, n_current : int
        Baseline studies the calibration was fitted on (0 for a supplied
        calibrator) and current studies.
    calibration : str
        ``"isotonic"`` (fitted on the baseline) or ``"supplied"``.
    message : str
        Plain sentence with the estimates and the condition they rest on.
    role : str
        Always ``"early-warning"``.

    Examples
    --------
    >>> e = estimated_performance([0.9, 0.2, 0.7, 0.1], 0.5, calibrator=lambda s: s)
    >>> round(e.sensitivity.value, 3), e.to_dict()["role"]
    (0.842, 'early-warning')

    """

    sensitivity: Estimate
    specificity: Estimate
    prevalence: float
    n_baseline: int
    n_current: int
    calibration: str
    message: str
    role: str = EARLY_WARNING

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-ready dict; NaN becomes None."""
        return {
            "sensitivity": self.sensitivity.to_dict(),
            "specificity": self.specificity.to_dict(),
            "prevalence": None if math.isnan(self.prevalence) else self.prevalence,
            "n_baseline": self.n_baseline,
            "n_current": self.n_current,
            "calibration": self.calibration,
            "message": self.message,
            "role": self.role,
        }

    def to_drift_results(
        self, *, min_sensitivity: float | None = None, min_specificity: float | None = None
    ) -> list[DriftResult]:
        """One :class:`DriftResult` per metric, flagged when its interval lies below a minimum.

        Examples
        --------
        >>> e = estimated_performance([0.9, 0.2, 0.7, 0.1], 0.5, calibrator=lambda s: s)
        >>> [r.name for r in e.to_drift_results(min_sensitivity=0.8)]
        ['estimated_sensitivity', 'estimated_specificity']

        """
        out = []
        for metric, est, floor in (
            ("sensitivity", self.sensitivity, min_sensitivity),
            ("specificity", self.specificity, min_specificity),
        ):
            if floor is not None and not (isinstance(floor, int | float) and 0 <= floor <= 1):
                raise ValueError(f"min_{metric} must lie between 0 and 1 (got {floor!r}).")
            flagged = floor is not None and est.defined and est.ci_high < floor
            below = f" Its whole interval lies below the minimum {floor:.2f}." if flagged else ""
            out.append(
                DriftResult(
                    f"estimated_{metric}",
                    est.value,
                    None if floor is None else float(floor),
                    None,
                    None,
                    None,
                    flagged,
                    self.n_baseline,
                    self.n_current,
                    f"Estimated {metric} from AI scores without labels is {est.format()};{below} "
                    + _BLIND_SPOT,
                )
            )
        return out


def _ratio(weights: FloatArray, hit: FloatArray, var_y: FloatArray, z: float) -> Estimate:
    total = float(weights.sum())
    n = int(weights.size)
    if total <= 0:
        nan = undefined(
            "The estimate is undefined: the calibrated probabilities give this class no "
            "expected cases.",
            stacklevel=4,
        )
        return Estimate(nan, nan, nan, 0.0, "cbpe-delta", n)
    r = float(weights @ hit) / total
    # Delta method for sum(y*a)/sum(y) with independent y_i ~ Bernoulli(p_i).
    se = math.sqrt(float(var_y @ (hit - r) ** 2)) / total
    return Estimate(r, max(0.0, r - z * se), min(1.0, r + z * se), 0.0, "cbpe-delta", n)


def estimated_performance(
    scores: npt.ArrayLike,
    threshold: float,
    *,
    calibrator: Calibrator | None = None,
    baseline_scores: npt.ArrayLike | None = None,
    baseline_labels: npt.ArrayLike | None = None,
    level: float = 0.95,
) -> PerformanceEstimate:
    """Confidence-based estimate of sensitivity and specificity without labels.

    Each current score is mapped to a probability ``p_i`` of disease by
    ``calibrator`` or by an isotonic fit on the labelled baseline; then the
    expected sensitivity is ``sum(p_i * [s_i >= t]) / sum(p_i)`` and the
    expected specificity ``sum((1 - p_i) * [s_i < t]) / sum(1 - p_i)``.
    The estimate holds only if calibration holds. It is blind to a conditional
    shift: when the relation between score and disease changes (a scanner
    upgrade, a new protocol) the estimate does not move while sensitivity
    falls. Use it as context; the label-based charts are the safety signal.

    Parameters
    ----------
    scores : array-like of float
        Current AI scores.
    threshold : float
        Operating threshold: a score at or above it is a positive call.
    calibrator : callable, optional
        Maps an array of scores to probabilities (pass ``lambda s: s`` for
        scores that are already calibrated probabilities). Give either this or
        the baseline arrays.
    baseline_scores, baseline_labels : array-like, optional
        Labelled baseline (e.g. the validation run) to fit the isotonic map on.
    level : float, default 0.95
        Confidence level of the intervals.

    Returns
    -------
    PerformanceEstimate

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> s = rng.random(2000); y = rng.random(2000) < s
    >>> e = estimated_performance(rng.random(500), 0.5, baseline_scores=s, baseline_labels=y)
    >>> 0.65 < e.sensitivity.value < 0.85
    True

    """
    current = finite_scores(scores, "scores")
    if isinstance(threshold, bool) or not (
        isinstance(threshold, int | float) and math.isfinite(threshold)
    ):
        raise ValueError(f"threshold must be a finite operating threshold (got {threshold!r}).")
    z = z_value(level)
    has_baseline = baseline_scores is not None or baseline_labels is not None
    if (calibrator is not None) == has_baseline:
        raise ValueError(
            "Pass either calibrator= or both baseline_scores= and baseline_labels= (a labelled "
            "baseline to calibrate the scores on), not both and not neither."
        )
    if calibrator is None:
        if baseline_scores is None or baseline_labels is None:
            raise ValueError("baseline_scores and baseline_labels must be passed together.")
        calibrator = isotonic_calibrator(baseline_scores, baseline_labels)
        n_baseline, how = int(np.asarray(baseline_scores).size), "isotonic"
    else:
        n_baseline, how = 0, "supplied"
    prob = np.asarray(calibrator(current), dtype=np.float64)
    if prob.shape != current.shape or not np.all((prob >= 0) & (prob <= 1)):
        raise ValueError(
            "calibrator must return one probability between 0 and 1 for each score; check "
            "that it maps scores to probabilities of disease."
        )
    called = (current >= threshold).astype(np.float64)
    var_y = prob * (1.0 - prob)
    sens = _ratio(prob, called, var_y, z)
    spec = _ratio(1.0 - prob, 1.0 - called, var_y, z)
    sens, spec = (
        Estimate(e.value, e.ci_low, e.ci_high, level, e.method, e.n) for e in (sens, spec)
    )
    message = (
        f"Estimated from {current.size} AI scores without labels: sensitivity "
        f"{sens.format()}, specificity {spec.format()}; " + _BLIND_SPOT
    )
    return PerformanceEstimate(
        sens, spec, float(prob.mean()), n_baseline, int(current.size), how, message
    )
