"""Lesion-level and case-level performance of detection tools.

Each image has reference findings (points or boxes) and predicted findings.
Predictions are matched one-to-one to reference findings by the Hungarian
algorithm (``scipy.optimize.linear_sum_assignment``): among all one-to-one
matchings that only pair findings meeting the criterion (centre distance at
most ``max_distance``, or IoU at least ``min_iou``), it takes one with the
most pairs, and among those the smallest total distance (or the largest
total IoU). Unlike greedy matching, a prediction cannot "steal" a lesion that
another prediction alone could have matched.

Boxes are rows ``(lo_1, ..., lo_d, hi_1, ..., hi_d)``, for example
``(x0, y0, x1, y1)`` in 2-D; points are rows ``(x_1, ..., x_d)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment

from radassure.core._checks import FloatArray, check_level
from radassure.core.intervals import poisson_rate_interval, proportion_estimate
from radassure.core.results import Estimate

__all__ = [
    "DetectionMatch",
    "false_positives_per_image",
    "lesion_sensitivity",
    "match_detections",
]

Criterion = Literal["distance", "iou"]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class DetectionMatch:
    """One-to-one matching of predicted to reference findings in one image.

    Attributes
    ----------
    reference_index, predicted_index : numpy.ndarray of int
        Matched pairs: ``reference[reference_index[i]]`` is matched to
        ``predicted[predicted_index[i]]``.
    unmatched_reference, unmatched_predicted : numpy.ndarray of int
        Missed reference findings (false negatives) and false positive
        predictions.

    """

    reference_index: IntArray
    predicted_index: IntArray
    unmatched_reference: IntArray
    unmatched_predicted: IntArray

    @property
    def tp(self) -> int:
        """Matched pairs (true positives)."""
        return int(self.reference_index.size)

    @property
    def fn(self) -> int:
        """Reference findings left unmatched."""
        return int(self.unmatched_reference.size)

    @property
    def fp(self) -> int:
        """Predictions left unmatched."""
        return int(self.unmatched_predicted.size)


def _findings(values: npt.ArrayLike, name: str, width: int | None = None) -> FloatArray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.size == 0:
        return np.empty((0, width or 0))
    if arr.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D array with one row per finding (got shape {arr.shape})."
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite coordinates.")
    return arr


def _check_criterion(
    criterion: str, max_distance: float | None, min_iou: float | None
) -> tuple[Criterion, float]:
    if criterion == "distance":
        if max_distance is None or not 0 < max_distance < math.inf:
            raise ValueError(
                "criterion='distance' needs max_distance=, a positive distance in the units "
                f"of the coordinates (got {max_distance!r})."
            )
        return "distance", float(max_distance)
    if criterion == "iou":
        if min_iou is None or not 0 < min_iou <= 1:
            raise ValueError(
                f"criterion='iou' needs min_iou=, a number in (0, 1] such as 0.5 (got {min_iou!r})."
            )
        return "iou", float(min_iou)
    raise ValueError(f"criterion must be 'distance' or 'iou' (got {criterion!r}).")


def _iou(a: FloatArray, b: FloatArray) -> FloatArray:
    d = a.shape[1] // 2
    for arr, name in ((a, "reference"), (b, "predicted")):
        if arr.shape[1] % 2 or np.any(arr[:, d:] <= arr[:, :d]):
            raise ValueError(
                f"{name} boxes must be rows (lo_1..lo_d, hi_1..hi_d) with every hi above "
                "its lo, for example (x0, y0, x1, y1)."
            )
    lo = np.maximum(a[:, None, :d], b[None, :, :d])
    hi = np.minimum(a[:, None, d:], b[None, :, d:])
    inter = np.prod(np.clip(hi - lo, 0.0, None), axis=2)
    vol_a = np.prod(a[:, d:] - a[:, :d], axis=1)
    vol_b = np.prod(b[:, d:] - b[:, :d], axis=1)
    return np.asarray(inter / (vol_a[:, None] + vol_b[None, :] - inter), dtype=np.float64)


def _match(ref: FloatArray, pred: FloatArray, criterion: Criterion, limit: float) -> DetectionMatch:
    empty = np.empty(0, dtype=np.int64)
    if ref.shape[0] == 0 or pred.shape[0] == 0:
        return DetectionMatch(empty, empty, np.arange(ref.shape[0]), np.arange(pred.shape[0]))
    if ref.shape[1] != pred.shape[1]:
        raise ValueError(
            f"reference rows have {ref.shape[1]} coordinates but predicted rows have "
            f"{pred.shape[1]}; both must use the same layout."
        )
    if criterion == "distance":
        cost = np.sqrt(((ref[:, None, :] - pred[None, :, :]) ** 2).sum(axis=2))
        feasible = cost <= limit
    else:
        cost = 1.0 - _iou(ref, pred)
        feasible = cost <= 1.0 - limit + 1e-12
    # A forbidden pair costs more than any full set of allowed pairs, so the
    # optimum first maximises the number of allowed pairs.
    big = (min(cost.shape) + 1) * (float(cost[feasible].max(initial=0.0)) + 1.0)
    rows, cols = linear_sum_assignment(np.where(feasible, cost, big))
    keep = feasible[rows, cols]
    rows, cols = rows[keep].astype(np.int64), cols[keep].astype(np.int64)
    return DetectionMatch(
        rows,
        cols,
        np.setdiff1d(np.arange(ref.shape[0]), rows).astype(np.int64),
        np.setdiff1d(np.arange(pred.shape[0]), cols).astype(np.int64),
    )


def match_detections(
    reference: npt.ArrayLike,
    predicted: npt.ArrayLike,
    *,
    criterion: Criterion = "distance",
    max_distance: float | None = None,
    min_iou: float | None = None,
) -> DetectionMatch:
    """Match predicted findings one-to-one to reference findings in one image.

    Parameters
    ----------
    reference : array-like of shape (n_ref, k)
        Reference findings: points, or boxes for ``criterion="iou"``.
    predicted : array-like of shape (n_pred, k)
        Predicted findings in the same layout.
    criterion : {"distance", "iou"}, default "distance"
        Euclidean distance between points, or intersection over union of boxes.
    max_distance : float, optional
        Largest distance for a match (``criterion="distance"``), in the units
        of the coordinates (e.g. mm).
    min_iou : float, optional
        Smallest IoU for a match (``criterion="iou"``).

    Returns
    -------
    DetectionMatch
        A maximum matching (Hungarian algorithm), smallest total distance or
        largest total IoU among maximum matchings.

    Examples
    --------
    >>> m = match_detections([[0, 0], [10, 0]], [[9, 0], [1, 0], [50, 50]], max_distance=3)
    >>> m.reference_index.tolist(), m.predicted_index.tolist(), m.tp, m.fp, m.fn
    ([0, 1], [1, 0], 2, 1, 0)

    """
    kind, limit = _check_criterion(criterion, max_distance, min_iou)
    ref = _findings(reference, "reference")
    pred = _findings(predicted, "predicted")
    return _match(ref, pred, kind, limit)


def _images(
    reference: Sequence[npt.ArrayLike],
    predicted: Sequence[npt.ArrayLike],
    scores: Sequence[npt.ArrayLike] | None,
    threshold: float | None,
) -> list[tuple[FloatArray, FloatArray, FloatArray]]:
    """Per image: reference, predictions (at or above threshold) and their scores."""
    if len(reference) != len(predicted):
        raise ValueError(
            f"reference and predicted must have one entry per image, but reference has "
            f"{len(reference)} and predicted has {len(predicted)}."
        )
    if len(reference) == 0:
        raise ValueError("reference is empty; pass at least one image.")
    if threshold is not None and scores is None:
        raise ValueError("threshold= needs scores=, one array of scores per image.")
    if scores is not None and len(scores) != len(predicted):
        raise ValueError(
            f"scores must have one entry per image ({len(predicted)}), but has {len(scores)}."
        )
    out = []
    for i, (ref_i, pred_i) in enumerate(zip(reference, predicted, strict=True)):
        ref = _findings(ref_i, f"reference[{i}]")
        pred = _findings(pred_i, f"predicted[{i}]", ref.shape[1])
        if scores is None:
            score = np.full(pred.shape[0], np.inf)
        else:
            score = np.asarray(scores[i], dtype=np.float64).reshape(-1)
            if score.size != pred.shape[0] or not np.all(np.isfinite(score)):
                raise ValueError(
                    f"scores[{i}] must hold one finite score per prediction "
                    f"({pred.shape[0]}), but has {score.size} values or non-finite ones."
                )
        if threshold is not None:
            keep = score >= threshold
            pred, score = pred[keep], score[keep]
        out.append((ref, pred, score))
    return out


def _counts(
    reference: Sequence[npt.ArrayLike],
    predicted: Sequence[npt.ArrayLike],
    *,
    criterion: str,
    max_distance: float | None,
    min_iou: float | None,
    scores: Sequence[npt.ArrayLike] | None,
    threshold: float | None,
) -> list[DetectionMatch]:
    kind, limit = _check_criterion(criterion, max_distance, min_iou)
    return [
        _match(r, p, kind, limit) for r, p, _ in _images(reference, predicted, scores, threshold)
    ]


def lesion_sensitivity(
    reference: Sequence[npt.ArrayLike],
    predicted: Sequence[npt.ArrayLike],
    *,
    criterion: Criterion = "distance",
    max_distance: float | None = None,
    min_iou: float | None = None,
    scores: Sequence[npt.ArrayLike] | None = None,
    threshold: float | None = None,
    level: float = 0.95,
) -> Estimate:
    """Share of reference lesions matched by a prediction, over all images.

    Parameters
    ----------
    reference, predicted : sequence of array-like
        One array of findings per image (see :func:`match_detections`).
    criterion, max_distance, min_iou
        Matching rule, as in :func:`match_detections`.
    scores : sequence of array-like, optional
        One score per prediction per image; needed with ``threshold``.
    threshold : float, optional
        Keep only predictions scoring at or above it.
    level : float, default 0.95
        Confidence level.

    Returns
    -------
    Estimate
        Wilson interval over lesions. Lesions in one patient are not
        independent, so with many lesions per patient this interval is too
        narrow; bootstrap patients when that matters.

    Warns
    -----
    UndefinedMetricWarning
        When there are no reference lesions (NaN).

    Examples
    --------
    >>> ref = [[[0, 0], [10, 0]], [[5, 5]]]
    >>> pred = [[[1, 0]], [[5, 6], [20, 20]]]
    >>> lesion_sensitivity(ref, pred, max_distance=3).value
    0.6666666666666666

    """
    level = check_level(level)
    matches = _counts(
        reference,
        predicted,
        criterion=criterion,
        max_distance=max_distance,
        min_iou=min_iou,
        scores=scores,
        threshold=threshold,
    )
    tp = sum(m.tp for m in matches)
    n_ref = tp + sum(m.fn for m in matches)
    return proportion_estimate(tp, n_ref, level=level, what="lesion sensitivity (no lesions)")


def false_positives_per_image(
    reference: Sequence[npt.ArrayLike],
    predicted: Sequence[npt.ArrayLike],
    *,
    criterion: Criterion = "distance",
    max_distance: float | None = None,
    min_iou: float | None = None,
    scores: Sequence[npt.ArrayLike] | None = None,
    threshold: float | None = None,
    level: float = 0.95,
) -> Estimate:
    """Mean number of unmatched predictions per image.

    Parameters
    ----------
    reference, predicted : sequence of array-like
        One array of findings per image (see :func:`match_detections`).
    criterion, max_distance, min_iou
        Matching rule, as in :func:`match_detections`.
    scores : sequence of array-like, optional
        One score per prediction per image; needed with ``threshold``.
    threshold : float, optional
        Keep only predictions scoring at or above it.
    level : float, default 0.95
        Confidence level.

    Returns
    -------
    Estimate
        Exact Poisson (Garwood) interval for the total count divided by the
        number of images; ``n`` is the number of images. False positives
        that cluster in some images make this interval too narrow.

    Examples
    --------
    >>> ref = [[[0, 0], [10, 0]], [[5, 5]]]
    >>> pred = [[[1, 0]], [[5, 6], [20, 20]]]
    >>> false_positives_per_image(ref, pred, max_distance=3).value
    0.5

    """
    level = check_level(level)
    matches = _counts(
        reference,
        predicted,
        criterion=criterion,
        max_distance=max_distance,
        min_iou=min_iou,
        scores=scores,
        threshold=threshold,
    )
    fp = sum(m.fp for m in matches)
    low, high = poisson_rate_interval(fp, len(matches), level=level)
    return Estimate(fp / len(matches), low, high, level, "poisson-exact", len(matches))
