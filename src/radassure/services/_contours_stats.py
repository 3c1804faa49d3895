"""Per-structure distributions, outlier flags and worst cases of contour QA runs.

Works on the JSON-ready comparison dicts of :mod:`radassure.services.contours`
(distances ``None`` where :func:`~radassure.core.segmentation_metrics` gives
``inf``, always with the ``status`` beside them).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

import numpy as np

from radassure.core import aggregate_segmentation
from radassure.services._validation_common import Reasons, capture, jsonable

__all__ = ["OUTLIER_METRICS", "baseline_values", "outliers", "structure_summaries", "worst_cases"]

#: Metrics checked for outliers: beyond the baseline mean +- 3 SD of that structure.
OUTLIER_METRICS = ("dice", "hd95")
_PLOTTED = ("dice", "hd95", "apl_mm")
_SD_LIMIT = 3.0


def _rows(patients: Sequence[Mapping[str, Any]]) -> list[tuple[str, Mapping[str, Any]]]:
    return [(p["patient"], s) for p in patients for s in p["structures"]]


def _distribution(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"n": 0, "min": None, "q1": None, "median": None, "q3": None, "max": None}
    arr = np.asarray(values, dtype=np.float64)
    q1, median, q3 = np.percentile(arr, [25, 50, 75])
    return {
        "n": len(values),
        "min": float(arr.min()),
        "q1": float(q1),
        "median": float(median),
        "q3": float(q3),
        "max": float(arr.max()),
        "mean": float(arr.mean()),
    }


def _finite(rows: list[Mapping[str, Any]], key: str) -> list[float]:
    return [float(r[key]) for r in rows if r.get(key) is not None and math.isfinite(r[key])]


def _restore(row: Mapping[str, Any]) -> dict[str, Any]:
    """Give back the ``inf`` that JSON stored as null, for aggregate_segmentation."""
    return {k: (math.inf if v is None else v) for k, v in row.items()}


def structure_summaries(patients: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One entry per structure: the aggregate, distributions and unpaired counts."""
    order: list[str] = []
    by: dict[str, list[Mapping[str, Any]]] = {}
    for _, row in _rows(patients):
        if row["structure"] not in by:
            order.append(row["structure"])
        by.setdefault(row["structure"], []).append(row)
    missing: dict[str, int] = {}
    extra: dict[str, int] = {}
    for p in patients:
        for u in p["missed"]:
            missing[u["structure"]] = missing.get(u["structure"], 0) + 1
        for u in p["hallucinated"]:
            extra[u["structure"]] = extra.get(u["structure"], 0) + 1
    order += sorted((set(missing) | set(extra)) - set(order))
    out = []
    for name in order:
        rows = by.get(name, [])
        reasons = Reasons()
        summary = None
        if rows:
            restored = [_restore(r) for r in rows]
            summary = jsonable(capture(partial(aggregate_segmentation, restored), reasons))
        out.append(
            {
                "structure": name,
                "n_paired": len(rows),
                "n_not_contoured_by_ai": missing.get(name, 0),
                "n_ai_only": extra.get(name, 0),
                "summary": summary,
                "distributions": {k: _distribution(_finite(rows, k)) for k in _PLOTTED},
                "undefined": reasons.items,
            }
        )
    return out


def baseline_values(patients: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, list[float]]]:
    """Finite Dice and HD95 values per structure (a baseline for later runs)."""
    out: dict[str, dict[str, list[float]]] = {}
    for _, row in _rows(patients):
        entry = out.setdefault(row["structure"], {m: [] for m in OUTLIER_METRICS})
        for metric in OUTLIER_METRICS:
            value = row.get(metric)
            if row["status"] == "both_present" and value is not None and math.isfinite(value):
                entry[metric].append(float(value))
    return out


def _limits(values: list[float]) -> tuple[float, float, float, float] | None:
    if len(values) < 2:
        return None
    mean, sd = float(np.mean(values)), float(np.std(values, ddof=1))
    return mean, sd, mean - _SD_LIMIT * sd, mean + _SD_LIMIT * sd


def outliers(
    patients: Sequence[Mapping[str, Any]],
    baseline: Mapping[str, Mapping[str, Sequence[float]]] | None = None,
) -> list[dict[str, Any]]:
    """Cases beyond the baseline mean +- 3 SD of their structure's Dice or HD95.

    Without ``baseline`` each case is compared with the *other* cases of the
    batch (leave one out), so a single failure cannot widen its own limits.
    Structures the AI missed or added are flagged by their status instead,
    since they have no distance to compare.
    """
    own = baseline_values(patients)
    out: list[dict[str, Any]] = []
    for patient, row in _rows(patients):
        name = row["structure"]
        if row["status"] in ("missed", "hallucinated"):
            out.append(
                {"patient": patient, "structure": name, "metric": "status", "value": row["status"]}
            )
            continue
        if row["status"] != "both_present":
            continue
        for metric in OUTLIER_METRICS:
            value = float(row[metric])
            if baseline is not None:
                ref = [float(v) for v in baseline.get(name, {}).get(metric, [])]
            else:
                ref = list(own[name][metric])
                ref.remove(value)
            limits = _limits(ref)
            if limits is None:
                continue
            mean, sd, low, high = limits
            if value < low - 1e-9 or value > high + 1e-9:
                out.append(
                    {
                        "patient": patient,
                        "structure": name,
                        "metric": metric,
                        "value": value,
                        "baseline_mean": mean,
                        "baseline_sd": sd,
                        "low": low,
                        "high": high,
                        "baseline_n": len(ref),
                    }
                )
    return out


def worst_cases(patients: Sequence[Mapping[str, Any]], limit: int = 10) -> list[dict[str, Any]]:
    """The structures with the lowest Dice (then largest HD95), worst first."""

    def key(item: tuple[str, Mapping[str, Any]]) -> tuple[float, float]:
        row = item[1]
        hd = row.get("hd95")
        return float(row["dice"]), -(math.inf if hd is None else float(hd))

    ranked = sorted(_rows(patients), key=key)[:limit]
    return [
        {
            "patient": p,
            "structure": r["structure"],
            "status": r["status"],
            "dice": r["dice"],
            "hd95": r["hd95"],
            "apl_mm": r["apl_mm"],
        }
        for p, r in ranked
    ]
