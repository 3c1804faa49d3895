"""Operating thresholds and decision curves.

A case is called positive when its score is ``>=`` the threshold. Thresholds
chosen on the same data they are then evaluated on are optimistic; confirm a
chosen threshold on separate cases before go-live.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from radassure.core._checks import (
    FloatArray,
    binary_labels,
    check_same_length,
    finite_scores,
    probabilities,
)
from radassure.core.classification import diagnostic_metrics
from radassure.core.curves import counts_at_thresholds
from radassure.core.results import Estimate

__all__ = [
    "DecisionCurve",
    "OperatingPoint",
    "net_benefit",
    "threshold_for_sensitivity",
    "threshold_for_specificity",
    "threshold_metrics",
    "youden_threshold",
]


def threshold_metrics(
    y_true: npt.ArrayLike,
    y_score: npt.ArrayLike,
    *,
    threshold: float,
    level: float = 0.95,
) -> dict[str, Estimate]:
    """Diagnostic metrics of the calls ``y_score >= threshold``.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Reference standard, 0/1 or False/True.
    y_score : array-like of shape (n,)
        The tool's scores.
    threshold : float
        Operating threshold; a score equal to it counts as a positive call.
    level : float, default 0.95
        Confidence level.

    Returns
    -------
    dict of str to Estimate
        As :func:`~radassure.core.diagnostic_metrics`.

    Examples
    --------
    >>> y = [0, 0, 1, 1, 0, 1]
    >>> m = threshold_metrics(y, [0.1, 0.4, 0.35, 0.8, 0.5, 0.2], threshold=0.35)
    >>> m["sensitivity"].format(), m["specificity"].format()
    ('0.67 (95% CI 0.21 to 0.94)', '0.33 (95% CI 0.06 to 0.79)')

    """
    if not isinstance(threshold, int | float | np.number) or math.isnan(threshold):
        raise ValueError(f"threshold must be a number (got {threshold!r}).")
    score = finite_scores(y_score, "y_score")
    truth = binary_labels(y_true, "y_true")
    check_same_length(y_true=truth, y_score=score)
    return diagnostic_metrics(truth, score >= threshold, level=level)


@dataclass(frozen=True)
class OperatingPoint:
    """A threshold and the sensitivity and specificity it gives on the data.

    Attributes
    ----------
    threshold : float
        Call positive when ``score >= threshold`` (``inf``: call nothing positive).
    sensitivity, specificity : float
        In-sample rates at that threshold.

    """

    threshold: float
    sensitivity: float
    specificity: float


def _rates(
    y_true: npt.ArrayLike, y_score: npt.ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray, npt.NDArray[np.int64]]:
    """Thresholds (``inf`` first, then decreasing), sensitivities, specificities.

    The last item is Youden's J times ``n_pos * n_neg``, in exact integers so
    that tied J values compare equal.
    """
    thresholds, tps, fps, n_pos, n_neg = counts_at_thresholds(y_true, y_score)
    if n_pos == 0 or n_neg == 0:
        missing = "positive" if n_pos == 0 else "negative"
        raise ValueError(
            f"y_true has no {missing} cases, so no threshold can be chosen; a threshold "
            "needs cases of both classes."
        )
    tps, fps = np.r_[0, tps], np.r_[0, fps]
    return (
        np.r_[np.inf, thresholds],
        tps / n_pos,
        (n_neg - fps) / n_neg,
        tps * n_neg - fps * n_pos,
    )


def _target(target: float) -> float:
    if not isinstance(target, int | float) or not 0.0 < float(target) <= 1.0:
        raise ValueError(
            f"target must be a proportion in (0, 1], for example 0.9 (got {target!r})."
        )
    return float(target)


def threshold_for_sensitivity(
    y_true: npt.ArrayLike, y_score: npt.ArrayLike, *, target: float
) -> OperatingPoint:
    """Highest threshold whose sensitivity reaches ``target``.

    The highest such threshold gives the best specificity among those that
    meet the target.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Reference standard, 0/1 or False/True; both classes must be present.
    y_score : array-like of shape (n,)
        The tool's scores.
    target : float
        Required sensitivity, in (0, 1].

    Returns
    -------
    OperatingPoint

    Examples
    --------
    >>> threshold_for_sensitivity([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], target=0.9)
    OperatingPoint(threshold=0.35, sensitivity=1.0, specificity=0.5)

    """
    target = _target(target)
    thresholds, sens, spec, _ = _rates(y_true, y_score)
    # Sensitivity never falls as the threshold falls, so the first hit is the highest.
    i = int(np.argmax(sens >= target - 1e-12))
    return OperatingPoint(float(thresholds[i]), float(sens[i]), float(spec[i]))


def threshold_for_specificity(
    y_true: npt.ArrayLike, y_score: npt.ArrayLike, *, target: float
) -> OperatingPoint:
    """Lowest threshold whose specificity reaches ``target``.

    The lowest such threshold gives the best sensitivity among those that
    meet the target. It is ``inf`` (call nothing positive) when only that
    meets the target.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Reference standard, 0/1 or False/True; both classes must be present.
    y_score : array-like of shape (n,)
        The tool's scores.
    target : float
        Required specificity, in (0, 1].

    Returns
    -------
    OperatingPoint

    Examples
    --------
    >>> threshold_for_specificity([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], target=0.5)
    OperatingPoint(threshold=0.35, sensitivity=1.0, specificity=0.5)

    """
    target = _target(target)
    thresholds, sens, spec, _ = _rates(y_true, y_score)
    # Specificity never rises as the threshold falls: take the last that meets it.
    i = int(np.flatnonzero(spec >= target - 1e-12)[-1])
    return OperatingPoint(float(thresholds[i]), float(sens[i]), float(spec[i]))


def youden_threshold(y_true: npt.ArrayLike, y_score: npt.ArrayLike) -> OperatingPoint:
    """Threshold maximising Youden's J = sensitivity + specificity - 1.

    Ties go to the highest threshold (fewest positive calls).

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Reference standard, 0/1 or False/True; both classes must be present.
    y_score : array-like of shape (n,)
        The tool's scores.

    Returns
    -------
    OperatingPoint

    Examples
    --------
    >>> youden_threshold([0, 0, 1, 1, 0], [0.1, 0.4, 0.35, 0.8, 0.2])
    OperatingPoint(threshold=0.35, sensitivity=1.0, specificity=0.6666666666666666)

    """
    thresholds, sens, spec, scaled_j = _rates(y_true, y_score)
    i = int(np.argmax(scaled_j))
    return OperatingPoint(float(thresholds[i]), float(sens[i]), float(spec[i]))


@dataclass(frozen=True)
class DecisionCurve:
    """Net benefit of a model and of the two default strategies.

    Attributes
    ----------
    thresholds : numpy.ndarray
        Threshold probabilities ``p_t``.
    net_benefit : numpy.ndarray
        Net benefit of treating cases with ``y_prob >= p_t``.
    treat_all : numpy.ndarray
        Net benefit of treating every case.
    treat_none : numpy.ndarray
        Net benefit of treating no case (always 0).
    n : int
        Number of cases.

    """

    thresholds: FloatArray
    net_benefit: FloatArray
    treat_all: FloatArray
    treat_none: FloatArray
    n: int


def net_benefit(
    y_true: npt.ArrayLike, y_prob: npt.ArrayLike, *, thresholds: npt.ArrayLike
) -> DecisionCurve:
    """Decision-curve net benefit (Vickers and Elkin 2006).

    ``NB(p_t) = TP/n - FP/n * p_t / (1 - p_t)``, with positive calls
    ``y_prob >= p_t``. The odds ``p_t / (1 - p_t)`` is the harm of a false
    positive relative to the benefit of a true positive that a clinician
    choosing threshold ``p_t`` implies.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Reference standard, 0/1 or False/True.
    y_prob : array-like of shape (n,)
        Predicted probabilities in [0, 1].
    thresholds : array-like of float
        Threshold probabilities, each strictly between 0 and 1.

    Returns
    -------
    DecisionCurve

    Examples
    --------
    >>> dc = net_benefit([1, 0, 1, 0], [0.9, 0.6, 0.7, 0.2], thresholds=[0.5])
    >>> dc.net_benefit.tolist(), dc.treat_all.tolist()
    ([0.25], [0.0])

    """
    truth = binary_labels(y_true, "y_true")
    prob = probabilities(y_prob, "y_prob")
    n = check_same_length(y_true=truth, y_prob=prob)
    pt = np.atleast_1d(np.asarray(thresholds, dtype=np.float64))
    if pt.ndim != 1 or pt.size == 0 or not np.all((pt > 0) & (pt < 1)):
        raise ValueError(
            "thresholds must be one or more probabilities strictly between 0 and 1, "
            "for example thresholds=[0.05, 0.1, 0.2]."
        )
    pos = np.sort(prob[truth])
    neg = np.sort(prob[~truth])
    tp = pos.size - np.searchsorted(pos, pt, side="left")
    fp = neg.size - np.searchsorted(neg, pt, side="left")
    odds = pt / (1 - pt)
    prevalence = truth.mean()
    return DecisionCurve(
        thresholds=pt,
        net_benefit=tp / n - fp / n * odds,
        treat_all=prevalence - (1 - prevalence) * odds,
        treat_none=np.zeros_like(pt),
        n=n,
    )
