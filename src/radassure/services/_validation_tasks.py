"""Detection (lesion level, FROC) and segmentation (per-structure summaries) analyses.

Detection results carry ``localisations`` as a list of marks
``{"x", "y", "score"}`` and references as a list of true sites ``{"x", "y"}``
(see ``services/_demo_tools.py``); segmentation results carry per-structure
numbers such as ``{"dice", "hd95_mm", "apl_mm", "volume_ml"}``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import partial
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import stats

from radassure.core import (
    Estimate,
    case_level_metrics,
    false_positives_per_image,
    froc_points,
    lesion_sensitivity,
)
from radassure.services._validation_classify import binary_analysis
from radassure.services._validation_common import (
    ClaimRow,
    Reasons,
    capture,
    check_claims,
    estimate_dict,
    jsonable,
    thin,
)

__all__ = ["detection_analysis", "mean_estimate", "segmentation_analysis"]

FloatArray = npt.NDArray[np.float64]
Points = npt.NDArray[np.float64]


def _points(loc: Any, *, scored: bool) -> tuple[Points, FloatArray] | None:
    """Marks or true sites as an (n, 2) array (and scores); None when not readable."""
    if not isinstance(loc, list):
        return None
    xy: list[tuple[float, float]] = []
    scores: list[float] = []
    for m in loc:
        if not isinstance(m, dict) or "x" not in m or "y" not in m:
            return None
        if scored and "score" not in m:
            return None
        try:
            xy.append((float(m["x"]), float(m["y"])))
            scores.append(float(m["score"]) if scored else math.nan)
        except (TypeError, ValueError):
            return None
    return np.asarray(xy, dtype=np.float64).reshape(-1, 2), np.asarray(scores, dtype=np.float64)


def detection_analysis(
    finding: str,
    label: npt.NDArray[np.bool_],
    score: FloatArray,
    call: npt.NDArray[np.int8],
    *,
    result_loc: Sequence[Any],
    reference_loc: Sequence[Any],
    threshold: float | None,
    claims: Sequence[ClaimRow],
    margin: float,
    level: float,
    half_width: float,
    max_distance: float,
) -> dict[str, Any]:
    """Case-level metrics from the study scores, lesion-level metrics from the marks.

    A mark matches a true site within ``max_distance`` (coordinate units,
    pixels in the demo), one-to-one (Hungarian). Marks below the operating
    threshold are dropped for lesion sensitivity, false positives per image
    and localised case-level metrics; the FROC curve uses every mark.
    """
    reasons = Reasons()
    notes: list[str] = []
    refs: list[Points] = []
    preds: list[Points] = []
    scores: list[FloatArray] = []
    unreadable = inconsistent = 0
    for i in range(label.size):
        pred = _points(result_loc[i], scored=True)
        ref = _points(reference_loc[i], scored=False)
        if pred is None or ref is None:
            unreadable += 1
        elif bool(label[i]) != (ref[0].shape[0] > 0):
            inconsistent += 1
        else:
            refs.append(ref[0])
            preds.append(pred[0])
            scores.append(pred[1])
    if unreadable:
        notes.append(
            f"{unreadable:,} result(s) lack readable marks or reference sites "
            '(lists of {"x", "y"[, "score"]}) and are left out of the lesion-level metrics.'
        )
    if inconsistent:
        notes.append(
            f"{inconsistent:,} reference(s) whose label disagrees with their list of true sites "
            "(positive with no site, or negative with sites) are left out of the lesion level."
        )
    lesion: dict[str, Any] | None = None
    extra: dict[str, Estimate] = {}
    if refs:
        kw: dict[str, Any] = {"criterion": "distance", "max_distance": max_distance}
        at: dict[str, Any] = {"scores": scores, "threshold": threshold}
        sens = capture(partial(lesion_sensitivity, refs, preds, **kw, **at, level=level), reasons)
        fppi = capture(
            partial(false_positives_per_image, refs, preds, **kw, **at, level=level), reasons
        )
        froc = capture(partial(froc_points, refs, preds, scores, **kw), reasons)
        located = capture(
            partial(
                case_level_metrics, refs, preds, **kw, **at, require_localisation=True, level=level
            ),
            reasons,
        )
        keep = thin(froc.fp_per_image, froc.sensitivity)
        extra = {
            "lesion_sensitivity": sens,
            "fp_per_image": fppi,
            "false_positives_per_image": fppi,
            "localised_sensitivity": located["sensitivity"],
        }
        lesion = {
            "images": len(refs),
            "lesions": int(sum(r.shape[0] for r in refs)),
            "marks": int(sum(p.shape[0] for p in preds)),
            "max_distance": max_distance,
            "threshold": threshold,
            "lesion_sensitivity": estimate_dict(sens, reasons, "lesion sensitivity"),
            "fp_per_image": estimate_dict(fppi, reasons, "false positives per image"),
            "localised": {
                k: estimate_dict(located[k], reasons, k)
                for k in ("sensitivity", "specificity", "ppv", "npv")
            },
            "froc": jsonable(
                {
                    "fp_per_image": froc.fp_per_image[keep],
                    "sensitivity": froc.sensitivity[keep],
                    "thresholds": froc.thresholds[keep],
                    "fp_rates": froc.fp_rates,
                    "sensitivity_at": froc.sensitivity_at,
                    "mean_sensitivity": froc.mean_sensitivity,
                    "points": int(froc.thresholds.size),
                }
            ),
        }
    else:
        reasons.add(
            [
                "No result has readable marks and reference sites, so the lesion-level "
                "metrics are undefined."
            ]
        )
    out = binary_analysis(
        finding,
        label,
        score,
        call,
        threshold=threshold,
        claims=claims,
        margin=margin,
        level=level,
        half_width=half_width,
        calibration=False,
        extra_estimates=extra,
    )
    out["lesion"] = lesion
    out["notes"] = [*out["notes"], *notes]
    out["undefined"] = [*out["undefined"], *(r for r in reasons.items if r not in out["undefined"])]
    return out


def mean_estimate(values: npt.ArrayLike, *, level: float, reasons: Reasons, what: str) -> Estimate:
    """Mean with a Student t interval (NaN interval, with a reason, for fewer than 2 values).

    Examples
    --------
    >>> r = Reasons()
    >>> e = mean_estimate([0.8, 0.9, 0.85, 0.87], level=0.95, reasons=r, what="dice")
    >>> round(e.value, 3), round(e.ci_low, 3), round(e.ci_high, 3), e.method
    (0.855, 0.788, 0.922, 't')

    """
    x = np.asarray(values, dtype=np.float64)
    nan = math.nan
    if x.size == 0:
        reasons.add([f"{what} is undefined because no case has a value."])
        return Estimate(nan, nan, nan, level, "t", 0)
    mean = float(x.mean())
    if x.size < 2:
        reasons.add([f"{what}: the t interval needs at least two cases; it is undefined."])
        return Estimate(mean, nan, nan, level, "t", 1)
    half = (
        float(stats.t.ppf(0.5 + level / 2, x.size - 1)) * float(x.std(ddof=1)) / math.sqrt(x.size)
    )
    return Estimate(mean, mean - half, mean + half, level, "t", int(x.size))


def segmentation_analysis(
    finding: str,
    label: npt.NDArray[np.bool_],
    score: FloatArray,
    result_loc: Sequence[Any],
    *,
    claims: Sequence[ClaimRow],
    margin: float,
    level: float,
    half_width: float,
) -> dict[str, Any]:
    """Per-structure summaries of the numbers each result carries (Dice, HD95, APL ...)."""
    reasons = Reasons()
    notes: list[str] = []
    values: dict[str, list[float]] = {}
    missing = 0
    for i, loc in enumerate(result_loc):
        if not isinstance(loc, dict):
            missing += 1
            if not math.isnan(score[i]):
                values.setdefault("score", []).append(float(score[i]))
            continue
        for key, v in loc.items():
            if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v):
                values.setdefault(str(key), []).append(float(v))
    if missing:
        notes.append(f"{missing:,} result(s) carry no per-structure values; their score is used.")
    absent = int((~label).sum())
    if absent:
        notes.append(f"{absent:,} reference(s) mark the structure as absent.")
    summaries: dict[str, Any] = {}
    estimates: dict[str, Estimate] = {}
    for key in sorted(values, key=lambda k: (k != "dice", k)):
        x = np.asarray(values[key])
        est = mean_estimate(x, level=level, reasons=reasons, what=f"mean {key}")
        estimates[key] = est
        q = np.percentile(x, [0, 25, 50, 75, 100])
        summaries[key] = {
            "mean": estimate_dict(est, reasons, f"mean {key}"),
            "sd": float(x.std(ddof=1)) if x.size > 1 else None,
            "min": q[0],
            "q1": q[1],
            "median": q[2],
            "q3": q[3],
            "max": q[4],
        }
    main = "dice" if "dice" in estimates else next(iter(estimates), None)
    adequacy: dict[str, Any] = {
        "adequate": None,
        "half_width": half_width,
        "statement": "No values to assess.",
    }
    if main is not None and math.isfinite(estimates[main].ci_high):
        est = estimates[main]
        achieved = (est.ci_high - est.ci_low) / 2
        ok = achieved <= half_width
        adequacy = {
            "adequate": ok,
            "half_width": half_width,
            "statement": f"With {est.n} cases the {level * 100:g}% CI of the mean {main} is "
            f"±{achieved:.3f}, {'within' if ok else 'wider than'} the ±{half_width:.3f} wanted.",
        }
    claim_rows = check_claims(claims, finding, estimates, margin=margin, reasons=reasons)
    out: dict[str, Any] = jsonable(
        {
            "finding": finding,
            "counts": {"used": int(label.size), "positives": int(label.sum()), "negatives": absent},
            "summaries": summaries,
            "claims": claim_rows,
            "adequacy": adequacy,
            "notes": notes,
        }
    )
    out["undefined"] = list(reasons.items)
    return out
