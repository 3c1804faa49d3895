"""Auto-contour QA metrics for radiotherapy structures (3D binary masks).

Overlap (Dice, Jaccard), volumes, surface distances (Hausdorff, HD95, ASSD,
MASD), surface Dice at a tolerance, added path length and centroid distance,
with empty masks reported as explicit states instead of silent numbers. The
surface definitions follow Nikolov et al. (2018) and reproduce the DeepMind
``surface-distance`` library; ``method="voxel"`` gives the voxel-centre variant
that MONAI computes. Every formula is written out in docs/metrics.md.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Literal, TypedDict, get_args

import numpy as np
from numpy.typing import ArrayLike, NDArray

from radassure.core import _surface
from radassure.errors import UndefinedMetricWarning

__all__ = [
    "SegmentationResult",
    "SegmentationStatus",
    "SegmentationSummary",
    "aggregate_segmentation",
    "segmentation_metrics",
]

SegmentationStatus = Literal["both_present", "missed", "hallucinated", "both_absent"]
_STATUSES: tuple[str, ...] = get_args(SegmentationStatus)
_DISTANCE_KEYS = (
    "hd",
    "hd95",
    "assd",
    "masd",
    "msd_reference_to_prediction",
    "msd_prediction_to_reference",
    "hd95_reference_to_prediction",
    "hd95_prediction_to_reference",
    "centroid_distance_mm",
)


class SegmentationResult(TypedDict):
    """What :func:`segmentation_metrics` returns for one structure (a plain dict)."""

    status: SegmentationStatus
    method: str
    tolerance_mm: float
    percentile: float
    dice: float
    jaccard: float
    volume_reference_ml: float
    volume_prediction_ml: float
    volume_difference_ml: float
    hd: float
    hd95: float
    hd95_reference_to_prediction: float
    hd95_prediction_to_reference: float
    assd: float
    masd: float
    msd_reference_to_prediction: float
    msd_prediction_to_reference: float
    surface_dice: float
    apl_mm: float
    centroid_distance_mm: float


class SegmentationSummary(TypedDict):
    """What :func:`aggregate_segmentation` returns for a set of cases (a plain dict)."""

    n_cases: int
    n_both_present: int
    n_missed: int
    n_hallucinated: int
    n_both_absent: int
    dice_mean: float
    dice_median: float
    jaccard_mean: float
    surface_dice_mean: float
    surface_dice_median: float
    volume_difference_ml_mean: float
    apl_mm_mean: float
    apl_mm_median: float
    apl_mm_total: float
    hd_median: float
    hd95_median: float
    assd_median: float
    masd_median: float
    centroid_distance_mm_median: float


def _as_mask(name: str, value: ArrayLike) -> NDArray[np.bool_]:
    arr = np.asarray(value)
    if arr.ndim != 3:
        raise ValueError(
            f"{name} must be a 3-D mask in (z, y, x) order; got an array of shape "
            f"{arr.shape}. Pass one structure as a 3-D boolean array."
        )
    if arr.dtype == np.bool_:
        return arr
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be a boolean mask; got an array of dtype {arr.dtype}.")
    valid = (arr == 0) | (arr == 1)
    if not valid.all():
        bad = arr[~valid].flat[0]
        raise ValueError(
            f"{name} must be boolean or contain only 0 and 1; found the value {bad!r}. "
            "Select one label (labels == k) or threshold probabilities first."
        )
    return np.asarray(arr != 0, dtype=np.bool_)


def _as_spacing(spacing: ArrayLike) -> tuple[float, float, float]:
    values = np.asarray(spacing, dtype=np.float64).ravel()
    if values.size != 3:
        raise ValueError(
            f"spacing must hold 3 voxel sizes in mm in (z, y, x) order; got {values.size} values."
        )
    if not (np.all(np.isfinite(values)) and np.all(values > 0)):
        raise ValueError(
            f"spacing must be positive and finite along every axis; got {tuple(values.tolist())}."
        )
    return float(values[0]), float(values[1]), float(values[2])


def _check_options(tolerance_mm: float, percentile: float, method: str) -> None:
    if not (math.isfinite(tolerance_mm) and tolerance_mm >= 0):
        raise ValueError(f"tolerance_mm must be a finite number >= 0; got {tolerance_mm!r}.")
    if not (math.isfinite(percentile) and 0 <= percentile <= 100):
        raise ValueError(f"percentile must lie between 0 and 100; got {percentile!r}.")
    if method not in ("surface", "voxel"):
        raise ValueError(f"method must be 'surface' or 'voxel'; got {method!r}.")


def _empty_result(
    status: SegmentationStatus, distance: float, overlap: float
) -> dict[str, float | str]:
    out: dict[str, float | str] = {"status": status}
    out.update(dict.fromkeys(_DISTANCE_KEYS, distance))
    out.update(dice=overlap, jaccard=overlap, surface_dice=overlap)
    return out


def segmentation_metrics(
    reference: ArrayLike,
    prediction: ArrayLike,
    spacing: ArrayLike,
    *,
    tolerance_mm: float = 2.0,
    percentile: float = 95.0,
    method: Literal["surface", "voxel"] = "surface",
) -> SegmentationResult:
    """Compare a predicted structure with the reference contour.

    Parameters
    ----------
    reference, prediction : array_like of shape (nz, ny, nx)
        Binary masks (bool, or numbers that are all 0 or 1) on the same grid,
        axes in (z, y, x) order, z being the axial slice index.
    spacing : sequence of 3 floats
        Voxel size in mm along (z, y, x).
    tolerance_mm : float, default 2.0
        Distance within which surfaces count as agreeing (surface Dice, APL).
    percentile : float, default 95.0
        Percentile of the robust Hausdorff distance reported as ``hd95``.
    method : {"surface", "voxel"}, default "surface"
        ``"surface"``: area-weighted surface elements (Nikolov et al. 2018,
        reproduces the DeepMind ``surface-distance`` library). ``"voxel"``:
        boundary-voxel centres, each weighing 1 (MONAI's definition).

    Returns
    -------
    SegmentationResult
        A dict with ``status`` (``"both_present"``, ``"missed"``: reference
        only, ``"hallucinated"``: prediction only, ``"both_absent"``), ``dice``,
        ``jaccard``, volumes in ml (difference = prediction - reference),
        ``hd``, ``hd95``, ``assd``, ``masd``, their directed parts, ``surface_dice``,
        ``apl_mm``, ``centroid_distance_mm`` and the options used. Distances in mm.
        Missed or hallucinated: overlaps 0 and every distance ``inf``; both
        absent: overlaps 1 and distances 0 (see docs/metrics.md).

    Raises
    ------
    ValueError
        If a mask is not 3-D or not binary, the shapes differ, the spacing is
        not three positive numbers, or an option is out of range.

    Examples
    --------
    >>> import numpy as np
    >>> ref = np.zeros((8, 8, 8), dtype=bool)
    >>> ref[2:5, 2:6, 2:6] = True
    >>> pred = np.roll(ref, 1, axis=0)  # one slice too far up
    >>> r = segmentation_metrics(ref, pred, spacing=(3.0, 1.0, 1.0))
    >>> r["status"], round(r["dice"], 3), r["hd"], r["hd95"]
    ('both_present', 0.667, 3.0, 3.0)
    >>> segmentation_metrics(ref, np.zeros_like(ref), (3.0, 1.0, 1.0))["hd95"]
    inf

    """
    ref = _as_mask("reference", reference)
    pred = _as_mask("prediction", prediction)
    if ref.shape != pred.shape:
        raise ValueError(
            f"reference and prediction must have the same shape; got {ref.shape} and "
            f"{pred.shape}. Resample both onto one grid first."
        )
    sp = _as_spacing(spacing)
    tolerance_mm, percentile = float(tolerance_mm), float(percentile)
    _check_options(tolerance_mm, percentile, method)
    voxel_ml = sp[0] * sp[1] * sp[2] / 1000.0
    common = {"method": method, "tolerance_mm": tolerance_mm, "percentile": percentile}

    crops = _surface.padded_crops(ref, pred)
    if crops is None:
        out = _empty_result("both_absent", 0.0, 1.0)
        out.update(common, volume_reference_ml=0.0, volume_prediction_ml=0.0)
        out.update(volume_difference_ml=0.0, apl_mm=0.0)
        return _typed(out)
    cref, cpred = crops
    n_ref, n_pred = np.count_nonzero(cref), np.count_nonzero(cpred)
    out = {
        **common,
        "volume_reference_ml": n_ref * voxel_ml,
        "volume_prediction_ml": n_pred * voxel_ml,
        "volume_difference_ml": (n_pred - n_ref) * voxel_ml,
        "apl_mm": _surface.added_path_length(cref, cpred, sp, tolerance_mm),
    }
    if n_pred == 0 or n_ref == 0:
        out.update(_empty_result("missed" if n_pred == 0 else "hallucinated", math.inf, 0.0))
        return _typed(out)

    n_both = np.count_nonzero(cref & cpred)
    distances = _surface.surface_distances if method == "surface" else _surface.voxel_distances
    to_pred, to_ref = distances(cref, cpred, sp)
    if method == "surface":
        p_ref = _surface.weighted_percentile(to_pred, percentile)
        p_pred = _surface.weighted_percentile(to_ref, percentile)
        hd = max(_surface.weighted_percentile(d, 100.0) for d in (to_pred, to_ref))
    else:
        p_ref = float(np.percentile(to_pred.distances, percentile))
        p_pred = float(np.percentile(to_ref.distances, percentile))
        hd = float(max(to_pred.distances[-1], to_ref.distances[-1]))
    msd_ref, msd_pred = to_pred.mean(), to_ref.mean()
    total = to_pred.total() + to_ref.total()
    shift = _surface.centroid(cref, sp) - _surface.centroid(cpred, sp)
    out.update(
        status="both_present",
        dice=2.0 * n_both / (n_ref + n_pred),
        jaccard=n_both / (n_ref + n_pred - n_both),
        hd=hd,
        hd95=max(p_ref, p_pred),
        hd95_reference_to_prediction=p_ref,
        hd95_prediction_to_reference=p_pred,
        assd=(to_pred.weighted_sum() + to_ref.weighted_sum()) / total,
        masd=(msd_ref + msd_pred) / 2.0,
        msd_reference_to_prediction=msd_ref,
        msd_prediction_to_reference=msd_pred,
        surface_dice=(to_pred.within(tolerance_mm) + to_ref.within(tolerance_mm)) / total,
        centroid_distance_mm=float(np.linalg.norm(shift)),
    )
    return _typed(out)


def _typed(values: Mapping[str, float | str]) -> SegmentationResult:
    """Order the keys as declared and convert numbers to plain floats."""
    out = {
        key: (values[key] if key in ("status", "method") else float(values[key]))
        for key in SegmentationResult.__annotations__
    }
    return out  # type: ignore[return-value]


def _values(results: Sequence[Mapping[str, object]], key: str, states: set[str]) -> list[float]:
    out = []
    for i, r in enumerate(results):
        if r["status"] in states:
            value = r.get(key)
            if not isinstance(value, numbers.Real) or isinstance(value, bool):
                raise ValueError(
                    f"results[{i}] has no number under '{key}'; pass the dicts returned "
                    "by segmentation_metrics."
                )
            out.append(float(value))
    return out


def _stat(values: list[float], how: Literal["mean", "median", "sum"]) -> float:
    if not values:
        return math.nan
    if how == "mean":
        return float(np.mean(values))
    return float(np.median(values)) if how == "median" else float(np.sum(values))


def aggregate_segmentation(results: Iterable[Mapping[str, object]]) -> SegmentationSummary:
    """Summarise many :func:`segmentation_metrics` results without losing empty cases.

    Overlap summaries (Dice, Jaccard, surface Dice, volume difference, APL) run
    over *all* cases, so a missed structure counts with Dice 0 and both-absent
    cases with Dice 1. Distance medians (HD, HD95, ASSD, MASD, centroid) run over
    ``both_present`` cases only, since a missed structure has no distance to
    report, and the counts of missed and hallucinated cases stand beside them:
    a missed structure never scores a perfect HD95 of 0.

    Parameters
    ----------
    results : iterable of dict
        Results of :func:`segmentation_metrics`, all computed with the same
        method, tolerance and percentile.

    Returns
    -------
    SegmentationSummary
        Counts per status and the summaries above. A summary over no case is
        NaN and emits :class:`~radassure.errors.UndefinedMetricWarning`.

    Raises
    ------
    ValueError
        If a result has an unknown status or lacks a number, or the results
        mix methods, tolerances or percentiles.

    Examples
    --------
    >>> import numpy as np
    >>> ref = np.zeros((6, 6, 6), dtype=bool)
    >>> ref[1:4, 1:4, 1:4] = True
    >>> cases = [
    ...     segmentation_metrics(ref, ref, (1.0, 1.0, 1.0)),
    ...     segmentation_metrics(ref, np.zeros_like(ref), (1.0, 1.0, 1.0)),
    ... ]
    >>> s = aggregate_segmentation(cases)
    >>> s["dice_mean"], s["hd95_median"], s["n_missed"]
    (0.5, 0.0, 1)

    """
    rows = list(results)
    for i, r in enumerate(rows):
        if r.get("status") not in _STATUSES:
            raise ValueError(
                f"results[{i}] has status {r.get('status')!r}; expected one of {_STATUSES}."
            )
    for option in ("method", "tolerance_mm", "percentile"):
        seen = {r.get(option) for r in rows}
        if len(seen) > 1:
            raise ValueError(
                f"results mix several values of {option} ({sorted(map(str, seen))}); "
                "aggregate results computed with the same options."
            )
    counts = {s: sum(r["status"] == s for r in rows) for s in _STATUSES}
    every, present = set(_STATUSES), {"both_present"}
    if not rows:
        warnings.warn(
            "results is empty, so every summary is undefined; NaN is returned.",
            UndefinedMetricWarning,
            stacklevel=2,
        )
    elif not counts["both_present"]:
        warnings.warn(
            "No case has both a reference and a predicted structure, so the distance "
            "medians (hd, hd95, assd, masd, centroid) are undefined; NaN is returned.",
            UndefinedMetricWarning,
            stacklevel=2,
        )
    return {
        "n_cases": len(rows),
        "n_both_present": counts["both_present"],
        "n_missed": counts["missed"],
        "n_hallucinated": counts["hallucinated"],
        "n_both_absent": counts["both_absent"],
        "dice_mean": _stat(_values(rows, "dice", every), "mean"),
        "dice_median": _stat(_values(rows, "dice", every), "median"),
        "jaccard_mean": _stat(_values(rows, "jaccard", every), "mean"),
        "surface_dice_mean": _stat(_values(rows, "surface_dice", every), "mean"),
        "surface_dice_median": _stat(_values(rows, "surface_dice", every), "median"),
        "volume_difference_ml_mean": _stat(_values(rows, "volume_difference_ml", every), "mean"),
        "apl_mm_mean": _stat(_values(rows, "apl_mm", every), "mean"),
        "apl_mm_median": _stat(_values(rows, "apl_mm", every), "median"),
        "apl_mm_total": _stat(_values(rows, "apl_mm", every), "sum"),
        "hd_median": _stat(_values(rows, "hd", present), "median"),
        "hd95_median": _stat(_values(rows, "hd95", present), "median"),
        "assd_median": _stat(_values(rows, "assd", present), "median"),
        "masd_median": _stat(_values(rows, "masd", present), "median"),
        "centroid_distance_mm_median": _stat(
            _values(rows, "centroid_distance_mm", present), "median"
        ),
    }
