"""FROC curves and case-level metrics derived from lesion-level detection.

Matching follows :func:`radassure.core.match_detections` (one-to-one,
Hungarian algorithm); see :mod:`radassure.core.detection` for the layout of
points and boxes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from radassure.core._checks import FloatArray, check_level, undefined
from radassure.core.classification import diagnostic_metrics
from radassure.core.detection import Criterion, _check_criterion, _images, _match
from radassure.core.results import Estimate

__all__ = ["FrocCurve", "case_level_metrics", "froc_points"]

DEFAULT_FP_RATES = (0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)


@dataclass(frozen=True)
class FrocCurve:
    """Free-response ROC: lesion sensitivity against false positives per image.

    Attributes
    ----------
    thresholds : numpy.ndarray
        ``inf`` then each distinct prediction score, decreasing.
    sensitivity, fp_per_image : numpy.ndarray
        Lesion sensitivity and mean false positives per image at each threshold.
    fp_rates : numpy.ndarray
        False-positive rates at which sensitivity is read off.
    sensitivity_at : numpy.ndarray
        Highest sensitivity with at most that many false positives per image.
    n_images, n_lesions : int
        Images and reference lesions.

    """

    thresholds: FloatArray
    sensitivity: FloatArray
    fp_per_image: FloatArray
    fp_rates: FloatArray
    sensitivity_at: FloatArray
    n_images: int
    n_lesions: int

    @property
    def mean_sensitivity(self) -> float:
        """Mean of ``sensitivity_at`` (the CPM score with the default rates)."""
        return float(np.mean(self.sensitivity_at))


def froc_points(
    reference: Sequence[npt.ArrayLike],
    predicted: Sequence[npt.ArrayLike],
    scores: Sequence[npt.ArrayLike],
    *,
    criterion: Criterion = "distance",
    max_distance: float | None = None,
    min_iou: float | None = None,
    fp_rates: Sequence[float] = DEFAULT_FP_RATES,
) -> FrocCurve:
    """FROC curve with sensitivities at chosen false-positive rates.

    At every threshold the predictions scoring at or above it are matched
    afresh (Hungarian, as :func:`~radassure.core.match_detections`), so each point is an
    honest one-to-one count.

    Parameters
    ----------
    reference, predicted : sequence of array-like
        One array of findings per image (see :func:`~radassure.core.match_detections`).
    scores : sequence of array-like
        One score per prediction per image.
    criterion, max_distance, min_iou
        Matching rule, as in :func:`~radassure.core.match_detections`.
    fp_rates : sequence of float, default (1/8, 1/4, 1/2, 1, 2, 4, 8)
        False positives per image at which to read sensitivity; the mean of
        the readings at the default rates is the CPM score (Niemeijer 2011).

    Returns
    -------
    FrocCurve

    Examples
    --------
    >>> ref = [[[0, 0]], [[5, 5]]]
    >>> pred = [[[0, 1], [9, 9]], [[5, 5]]]
    >>> c = froc_points(ref, pred, [[0.9, 0.8], [0.4]], max_distance=2, fp_rates=[0.5])
    >>> c.sensitivity.tolist(), c.fp_per_image.tolist(), c.sensitivity_at.tolist()
    ([0.0, 0.5, 0.5, 1.0], [0.0, 0.0, 0.5, 0.5], [1.0])

    """
    kind, limit = _check_criterion(criterion, max_distance, min_iou)
    rates = np.asarray(fp_rates, dtype=np.float64).reshape(-1)
    if rates.size == 0 or np.any(rates < 0) or not np.all(np.isfinite(rates)):
        raise ValueError("fp_rates must be one or more non-negative numbers, e.g. [0.5, 1, 2].")
    images = _images(reference, predicted, scores, None)
    all_scores = np.concatenate([s for _, _, s in images])
    thresholds = np.r_[np.inf, np.unique(all_scores)[::-1]]
    tp_total = np.zeros(thresholds.size)
    kept_total = np.zeros(thresholds.size)
    n_lesions = 0
    for ref, unsorted_pred, unsorted_score in images:
        n_lesions += ref.shape[0]
        order = np.argsort(-unsorted_score, kind="stable")
        pred, score = unsorted_pred[order], unsorted_score[order]
        # Matches found with the top j predictions, for each j = 0..k.
        tp_prefix = np.zeros(score.size + 1)
        for j in range(1, score.size + 1):
            if j < score.size and score[j] == score[j - 1]:
                continue
            tp_prefix[j] = _match(ref, pred[:j], kind, limit).tp
        kept = score.size - np.searchsorted(score[::-1], thresholds, side="left")
        tp_total += tp_prefix[kept]
        kept_total += kept
    n_images = len(images)
    with np.errstate(invalid="ignore", divide="ignore"):
        sensitivity = tp_total / n_lesions if n_lesions else np.full(thresholds.size, np.nan)
    fppi = (kept_total - tp_total) / n_images
    at = np.array([np.max(sensitivity[fppi <= r], initial=0.0) for r in rates])
    if n_lesions == 0:
        undefined("The FROC sensitivity is undefined because there are no reference lesions.")
        at = np.full(rates.size, np.nan)
    return FrocCurve(thresholds, sensitivity, fppi, rates, at, n_images, n_lesions)


def case_level_metrics(
    reference: Sequence[npt.ArrayLike],
    predicted: Sequence[npt.ArrayLike],
    *,
    criterion: Criterion = "distance",
    max_distance: float | None = None,
    min_iou: float | None = None,
    scores: Sequence[npt.ArrayLike] | None = None,
    threshold: float | None = None,
    require_localisation: bool = False,
    level: float = 0.95,
) -> dict[str, Estimate]:
    """Case-level diagnostic metrics derived from lesion-level findings.

    A case is positive on the reference standard when it has at least one
    reference finding, and called positive when it has at least one
    (kept) prediction. With ``require_localisation=True`` a positive case
    counts as a true positive only when at least one of its lesions is
    matched; otherwise it counts as a false negative.

    Parameters
    ----------
    reference, predicted : sequence of array-like
        One array of findings per image (see :func:`~radassure.core.match_detections`).
    criterion, max_distance, min_iou
        Matching rule, as in :func:`~radassure.core.match_detections`; used only with
        ``require_localisation=True``.
    scores : sequence of array-like, optional
        One score per prediction per image; needed with ``threshold``.
    threshold : float, optional
        Keep only predictions scoring at or above it.
    require_localisation : bool, default False
        Demand a correctly placed prediction for a true positive case.
    level : float, default 0.95
        Confidence level.

    Returns
    -------
    dict of str to Estimate
        As :func:`~radassure.core.diagnostic_metrics`.

    Examples
    --------
    >>> ref = [[[0, 0]], [[5, 5]], [], []]
    >>> pred = [[[0, 1]], [[40, 40]], [[3, 3]], []]
    >>> m = case_level_metrics(ref, pred, max_distance=2, require_localisation=True)
    >>> m["sensitivity"].value, m["specificity"].value
    (0.5, 0.5)

    """
    level = check_level(level)
    images = _images(reference, predicted, scores, threshold)
    truth = np.array([ref.shape[0] > 0 for ref, _, _ in images])
    calls = np.array([pred.shape[0] > 0 for _, pred, _ in images])
    if require_localisation:
        kind, limit = _check_criterion(criterion, max_distance, min_iou)
        located = np.array([_match(ref, pred, kind, limit).tp > 0 for ref, pred, _ in images])
        calls = np.where(truth, located, calls)
    return diagnostic_metrics(truth, calls, level=level)
