"""Weekly label-free checks: AI score distribution, scanner metadata, estimated performance.

Every seventh monitored day the last seven days are compared with the
baseline: the score distribution (Kolmogorov-Smirnov with an effect-size
floor), scanner manufacturer, model and software version (chi-square with a
Cramér's V floor, Bonferroni over the fields), and a confidence-based
sensitivity estimate from the baseline's isotonic calibration, which holds
only while calibration holds and is blind to the very failure that matters
most (a conditional shift). All early warning: context, never the verdict.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import select
from sqlalchemy.orm import Session

from radassure.db.models import ToolVersion
from radassure.services._monitor_data import DayRows, load_days

__all__ = ["WINDOW_DAYS", "WeeklyBaseline", "is_weekly_day", "load_baseline", "weekly_checks"]

#: Days in each weekly comparison window.
WINDOW_DAYS = 7
_FIELDS = ("manufacturer", "model", "software_version")
_MIN_SCORES = 30


@dataclass(frozen=True)
class WeeklyBaseline:
    """Baseline scores, labels and metadata of a rule, read once per run."""

    scores: npt.NDArray[np.float64]
    labelled_scores: npt.NDArray[np.float64]
    labels: npt.NDArray[np.bool_]
    metadata: dict[str, list[str]]
    threshold: float | None
    sensitivity: float | None


def is_weekly_day(day: dt.date, monitor_from: dt.date) -> bool:
    """Whether ``day`` closes a weekly window counted from ``monitor_from``.

    Examples
    --------
    >>> d0 = dt.date(2025, 7, 1)
    >>> is_weekly_day(dt.date(2025, 7, 7), d0), is_weekly_day(dt.date(2025, 7, 8), d0)
    (True, False)

    """
    return (day - monitor_from).days % WINDOW_DAYS == WINDOW_DAYS - 1


def _meta(row: dict[str, object], field: str) -> str:
    value = row.get(field)
    return "not recorded" if value is None or value == "" else str(value)


def load_baseline(
    s: Session, version_id: int, finding: str, base: dict[str, Any], now: dt.datetime
) -> WeeklyBaseline | None:
    """Read the rule's baseline rows again (its period is fixed in the rule)."""
    if not base.get("start") or not base.get("end"):
        return None
    days = load_days(
        s, version_id, finding, dt.date.fromisoformat(base["start"]),
        dt.date.fromisoformat(base["end"]), now=now,
    )  # fmt: skip
    site = base.get("site")
    scores: list[float] = []
    lab_scores: list[float] = []
    labels: list[bool] = []
    meta: dict[str, list[str]] = {f: [] for f in _FIELDS}
    for rows in days.values():
        for i, row in enumerate(rows.rows):
            if site is not None and row["site"] != site:
                continue
            for f in _FIELDS:
                meta[f].append(_meta(row, f))
            score = rows.score[i]
            if score is None:
                continue
            scores.append(float(score))
            if rows.label[i] is not None:
                lab_scores.append(float(score))
                labels.append(bool(rows.label[i]))
    threshold = s.scalar(
        select(ToolVersion.operating_threshold).where(ToolVersion.id == version_id)
    )
    return WeeklyBaseline(
        np.asarray(scores, dtype=float), np.asarray(lab_scores, dtype=float),
        np.asarray(labels, dtype=bool), meta, threshold, base.get("sensitivity"),
    )  # fmt: skip


def _result(key: str, r: Any, n: int) -> dict[str, Any]:
    return {
        "key": key,
        "statistic": float(r.statistic),
        "threshold": None if r.threshold is None else float(r.threshold),
        "events": 0,
        "n": n,
        "flagged": bool(r.flagged),
        "attribute": None,
        "subgroup": None,
        "message": str(r.message),
    }


def weekly_checks(
    finding: str,
    day: dt.date,
    window: Sequence[DayRows],
    base: WeeklyBaseline,
    calibrator: Callable[[Any], Any] | None,
) -> list[dict[str, Any]]:
    """Return the week's checks ending on ``day``, in the shape of the daily ones."""
    from radassure.core import drift

    scores = [float(x) for rows in window for x in rows.score if x is not None]
    out: list[dict[str, Any]] = []
    if len(scores) >= _MIN_SCORES and base.scores.size >= _MIN_SCORES:
        shift = drift.distribution_shift(base.scores, scores, name="score_distribution")
        out.append(_result("ew:score_distribution", shift, len(scores)))
    current = {f: [_meta(r, f) for rows in window for r in rows.rows] for f in _FIELDS}
    if current[_FIELDS[0]] and base.metadata[_FIELDS[0]]:
        kinds = dict.fromkeys(_FIELDS, "categorical")
        for r in drift.metadata_drift(base.metadata, current, kinds=kinds):
            out.append(_result(f"ew:{r.name}", r, len(current[_FIELDS[0]])))
    if calibrator is not None and base.threshold is not None and len(scores) >= _MIN_SCORES:
        est = drift.estimated_performance(scores, base.threshold, calibrator=calibrator)
        sens = est.sensitivity
        ref = base.sensitivity
        # Context only: flagged when even the upper bound sits clearly below the baseline.
        flagged = ref is not None and sens.ci_high is not None and sens.ci_high < ref - 0.05
        out.append(
            {
                "key": "ew:estimated_sensitivity",
                "statistic": float(sens.value),
                "threshold": None if ref is None else float(ref),
                "events": 0,
                "n": len(scores),
                "flagged": bool(flagged),
                "attribute": None,
                "subgroup": None,
                "message": (
                    f"Estimated {finding} sensitivity for the week to {day}: "
                    f"{est.message} (baseline {ref if ref is None else round(ref, 3)})."
                ),
            }
        )
    return out
