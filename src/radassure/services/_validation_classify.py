"""The per-finding analysis of scores and calls against a binary reference standard.

Classification tools get every part; detection tools reuse it for their
case-level (study) scores, without calibration since a detector's study score
is the highest mark's score, not a probability of the finding.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

import numpy as np
import numpy.typing as npt

from radassure.core import (
    ConfusionCounts,
    Estimate,
    average_precision,
    brier_score,
    calibration_intercept_slope,
    confusion_counts,
    diagnostic_metrics,
    expected_calibration_error,
    integrated_calibration_index,
    pr_curve,
    reliability_curve,
    roc_auc,
    roc_curve_with_band,
    sample_adequacy,
)
from radassure.services._validation_common import (
    ClaimRow,
    Reasons,
    capture,
    check_claims,
    estimate_dict,
    jsonable,
    thin,
)

__all__ = ["N_BINS", "binary_analysis"]

#: Equal-width bins of the reliability curve and the ECE.
N_BINS = 10

BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]


def _calls(
    score: FloatArray, call: npt.NDArray[np.int8], threshold: float | None, notes: list[str]
) -> tuple[BoolArray, BoolArray, str]:
    """Binary calls at the operating threshold, which cases have one, and where they came from."""
    has_score = ~np.isnan(score)
    if threshold is not None:
        with np.errstate(invalid="ignore"):
            at_threshold = score >= threshold
        pred = np.where(has_score, at_threshold, call == 1)
        stored = has_score & (call >= 0)
        differ = int(np.count_nonzero(stored & ((call == 1) != at_threshold)))
        if differ:
            notes.append(
                f"{differ:,} stored call(s) differ from score ≥ {threshold:g}; the metrics use "
                "the version's operating threshold on the score."
            )
        return pred, np.ones(score.size, dtype=np.bool_), f"score ≥ {threshold:g}"
    called = call >= 0
    if not called.all():
        notes.append(
            f"{int((~called).sum()):,} result(s) have a score but no call and the version has no "
            "operating threshold, so they are left out of the metrics at the threshold. Record "
            "the threshold (radassure version add ... --threshold T) to use them."
        )
    return call == 1, called, "the stored calls (the version has no operating threshold)"


def _calibration(y: BoolArray, s: FloatArray, level: float, reasons: Reasons) -> dict[str, Any]:
    if s.size == 0 or s.min() < 0.0 or s.max() > 1.0:
        why = (
            "Calibration is not assessed because the scores are not probabilities "
            "(some lie outside 0 to 1)."
        )
        return {"assessed": False, "reason": why}
    fit = capture(partial(calibration_intercept_slope, y, s, level=level), reasons)
    ici = capture(partial(integrated_calibration_index, y, s), reasons)
    rel = reliability_curve(y, s, n_bins=N_BINS, level=level)
    return {
        "assessed": True,
        "brier": brier_score(y, s),
        "intercept": estimate_dict(fit.intercept, reasons, "calibration intercept"),
        "slope": estimate_dict(fit.slope, reasons, "calibration slope"),
        "ece": expected_calibration_error(y, s, n_bins=N_BINS),
        "ici": ici,
        "n_bins": N_BINS,
        "reliability": {
            "mean_predicted": rel.mean_predicted,
            "observed": rel.observed,
            "observed_low": rel.observed_low,
            "observed_high": rel.observed_high,
            "count": rel.count,
        },
    }


def _near(est: Estimate) -> float | None:
    # sample_adequacy needs a value strictly inside (0, 1) to plan around.
    return float(np.clip(est.value, 0.01, 0.99)) if est.defined else None


def _adequacy(
    c: ConfusionCounts,
    sens: Estimate,
    spec: Estimate,
    auc: Estimate,
    *,
    half_width: float,
    level: float,
) -> dict[str, Any]:
    if c.positives < 1 or c.negatives < 1 or not (sens.defined or spec.defined or auc.defined):
        return {
            "adequate": None,
            "half_width": half_width,
            "statement": "Sample adequacy cannot be assessed without both positive and "
            "negative cases.",
        }
    a = sample_adequacy(
        c.positives,
        c.negatives,
        half_width=half_width,
        sensitivity=_near(sens),
        specificity=_near(spec),
        auc=_near(auc),
        level=level,
    )
    return {
        "adequate": a.adequate,
        "half_width": half_width,
        "statement": a.statement,
        "expected_half_width": a.expected_half_width,
        "required": a.required,
    }


def _curves(y: BoolArray, s: FloatArray, level: float, reasons: Reasons) -> dict[str, Any]:
    roc = capture(partial(roc_curve_with_band, y, s, level=level), reasons)
    keep = thin(roc.fpr, roc.tpr)
    pr = capture(partial(pr_curve, y, s, level=level), reasons)
    keep_pr = thin(pr.recall, pr.precision)
    return {
        "roc": {
            "thresholds": roc.thresholds[keep],
            "fpr": roc.fpr[keep],
            "tpr": roc.tpr[keep],
            "tpr_low": roc.tpr_low[keep],
            "tpr_high": roc.tpr_high[keep],
            "fpr_low": roc.fpr_low[keep],
            "fpr_high": roc.fpr_high[keep],
            "points": int(roc.fpr.size),
            "level": level,
        },
        "pr": {
            "thresholds": pr.thresholds[keep_pr],
            "recall": pr.recall[keep_pr],
            "precision": pr.precision[keep_pr],
            "precision_low": pr.precision_low[keep_pr],
            "precision_high": pr.precision_high[keep_pr],
            "points": int(pr.recall.size),
            "level": level,
        },
    }


def binary_analysis(
    finding: str,
    label: BoolArray,
    score: FloatArray,
    call: npt.NDArray[np.int8],
    *,
    threshold: float | None,
    claims: Sequence[ClaimRow],
    margin: float,
    level: float,
    half_width: float,
    calibration: bool,
    extra_estimates: dict[str, Estimate] | None = None,
) -> dict[str, Any]:
    """Everything the report shows for one finding of a scored binary tool.

    Parameters
    ----------
    finding : str
        The finding analysed.
    label : ndarray of bool
        Reference standard per result.
    score : ndarray of float
        The tool's score per result (NaN where it gave only a call).
    call : ndarray of int8
        Stored call per result: 1, 0, or -1 for none.
    threshold : float or None
        The version's operating threshold; calls are ``score >= threshold``.
    claims : sequence of ClaimRow
        The version's claims; those for this finding or the whole tool are checked.
    margin, level, half_width : float
        Claim margin, confidence level and the wanted CI half-width for adequacy.
    calibration : bool
        Assess calibration (for probability-like scores).
    extra_estimates : dict, optional
        More local estimates claims may be checked against (e.g. lesion sensitivity).

    Returns
    -------
    dict
        JSON-ready: counts, confusion matrix, metrics at the threshold, AUC,
        average precision, thinned curves, calibration, claim checks, sample
        adequacy, notes and the reasons for every undefined metric.

    """
    reasons = Reasons()
    notes: list[str] = []
    pred, called, calls_from = _calls(score, call, threshold, notes)
    y_called, p_called = label[called], pred[called]
    counts = confusion_counts(y_called, p_called)
    metrics = capture(partial(diagnostic_metrics, y_called, p_called, level=level), reasons)
    has_score = ~np.isnan(score)
    ys, ss = label[has_score], score[has_score]
    nan = float("nan")
    blank = Estimate(nan, nan, nan, level, "delong", int(ys.size))
    auc, ap, curves, calib = blank, blank, None, None
    if ys.size:
        auc = capture(partial(roc_auc, ys, ss, level=level), reasons)
        ap = capture(partial(average_precision, ys, ss, level=level), reasons)
        curves = _curves(ys, ss, level, reasons)
        curves["roc"]["operating_point"] = {
            "threshold": threshold,
            "fpr": 1.0 - metrics["specificity"].value,
            "tpr": metrics["sensitivity"].value,
        }
        if calibration:
            calib = _calibration(ys, ss, level, reasons)
    else:
        reasons.add(["No result has a score, so the AUC, curves and calibration are undefined."])
    local = {**metrics, "auc": auc, "roc_auc": auc, "average_precision": ap}
    local.update(extra_estimates or {})
    claim_rows = check_claims(claims, finding, local, margin=margin, reasons=reasons)
    adequacy = _adequacy(
        counts,
        metrics["sensitivity"],
        metrics["specificity"],
        auc,
        half_width=half_width,
        level=level,
    )
    out: dict[str, Any] = {
        "finding": finding,
        "counts": {
            "used": int(label.size),
            "positives": int(label.sum()),
            "negatives": int((~label).sum()),
            "with_score": int(ys.size),
            "with_call": int(called.sum()),
        },
        "threshold": threshold,
        "calls_from": calls_from,
        "confusion": {"tp": counts.tp, "fp": counts.fp, "fn": counts.fn, "tn": counts.tn},
        "metrics": {k: estimate_dict(v, reasons, k) for k, v in metrics.items()},
        "auc": estimate_dict(auc, reasons, "auc"),
        "average_precision": estimate_dict(ap, reasons, "average precision"),
        "roc": curves["roc"] if curves else None,
        "pr": curves["pr"] if curves else None,
        "calibration": calib,
        "claims": claim_rows,
        "adequacy": adequacy,
        "notes": notes,
    }
    result: dict[str, Any] = jsonable(out)
    result["undefined"] = list(reasons.items)
    return result
