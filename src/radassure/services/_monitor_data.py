"""The rows monitoring reads: one version's results for one finding, with labels and groups.

A *day* is the study's acquisition date (UTC). A result's label is its
reference standard (which includes adjudicated oversight outcomes made the
reference, source ``consensus``), counted only when it was recorded by ``now``,
so a run "as of" a past moment sees what was known then.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from radassure.db.models import AIResult, Reference, Site, Study, ToolVersion
from radassure.db.security import Review

__all__ = [
    "ATTRIBUTES",
    "DayRows",
    "group_value",
    "load_days",
]

#: Attributes a rule may chart by, and how each is read from a study.
ATTRIBUTES = ("site", "manufacturer", "model", "scanner", "software_version", "sex", "age_band")
_NOT_RECORDED = "not recorded"


def _age_band(age: int | None) -> str:
    if age is None:
        return _NOT_RECORDED
    for high, label in ((17, "0-17"), (39, "18-39"), (59, "40-59"), (79, "60-79")):
        if age <= high:
            return label
    return "80+"


def group_value(attribute: str, row: dict[str, object]) -> str:
    """Return the group of one study row for ``attribute``.

    Examples
    --------
    >>> group_value("scanner", {"site": "NWG", "manufacturer": "K", "model": "V"})
    'NWG K V'
    >>> group_value("age_band", {"age": 85})
    '80+'

    """
    if attribute == "scanner":
        parts = [row.get("site"), row.get("manufacturer"), row.get("model")]
        return " ".join(str(p) for p in parts if p) or _NOT_RECORDED
    if attribute == "age_band":
        age = row.get("age")
        return _age_band(age if isinstance(age, int) else None)
    value = row.get(attribute)
    return _NOT_RECORDED if value is None or value == "" else str(value)


@dataclass
class DayRows:
    """The results of one acquisition day (all of them, labelled or not)."""

    day: dt.date
    label: list[bool | None] = field(default_factory=list)
    call: list[bool] = field(default_factory=list)
    score: list[float | None] = field(default_factory=list)
    reviewed: list[int] = field(default_factory=list)
    disagreed: list[int] = field(default_factory=list)
    rows: list[dict[str, object]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.call)

    @property
    def n_labelled(self) -> int:
        """Results with a reference standard."""
        return sum(lab is not None for lab in self.label)

    def labelled(
        self, attributes: tuple[str, ...]
    ) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_], dict[str, npt.NDArray[np.str_]]]:
        """Return ``y_true``, ``y_pred`` and the groups of the labelled results."""
        keep = [i for i, lab in enumerate(self.label) if lab is not None]
        y_true = np.array([bool(self.label[i]) for i in keep], dtype=bool)
        y_pred = np.array([self.call[i] for i in keep], dtype=bool)
        groups = {
            a: np.array([group_value(a, self.rows[i]) for i in keep], dtype=str) for a in attributes
        }
        return y_true, y_pred, groups

    def labelled_scores(self) -> npt.NDArray[np.float64]:
        """Scores of the labelled results, in :meth:`labelled` order (NaN where none)."""
        return np.array(
            [
                math.nan if self.score[i] is None else float(self.score[i])  # type: ignore[arg-type]
                for i, lab in enumerate(self.label)
                if lab is not None
            ],
            dtype=np.float64,
        )


def _call(score: float | None, call: bool | None, threshold: float | None) -> bool:
    if call is not None:
        return bool(call)
    # Ingestion derives the call from the threshold; a result stored with a score only
    # (no threshold then) is read the same way now.
    return score is not None and threshold is not None and score >= threshold


def load_days(
    s: Session,
    version_id: int,
    finding: str,
    first: dt.date,
    last: dt.date,
    *,
    now: dt.datetime,
    with_reviews: bool = False,
) -> dict[dt.date, DayRows]:
    """Return the results acquired from ``first`` to ``last`` (inclusive), by day.

    Only results received by ``now`` are read, and only references recorded
    by ``now`` count as labels. Days without results are absent.
    """
    threshold = s.scalar(
        select(ToolVersion.operating_threshold).where(ToolVersion.id == version_id)
    )
    start = dt.datetime.combine(first, dt.time())
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time())
    query = (
        select(
            AIResult.id,
            Study.acquired_at,
            Site.code,
            Study.manufacturer,
            Study.model,
            Study.software_version,
            Study.sex,
            Study.age_years,
            AIResult.score,
            AIResult.call,
            Reference.label,
        )
        .join(Study, Study.id == AIResult.study_id)
        .join(Site, Site.id == Study.site_id)
        .outerjoin(
            Reference,
            and_(
                Reference.study_id == AIResult.study_id,
                Reference.finding == AIResult.finding,
                Reference.recorded_at <= now,
            ),
        )
        .where(
            AIResult.version_id == version_id,
            AIResult.finding == finding,
            AIResult.received_at <= now,
            Study.acquired_at >= start,
            Study.acquired_at < end,
        )
        .order_by(Study.acquired_at, AIResult.id)
    )
    days: dict[dt.date, DayRows] = {}
    index: dict[int, tuple[DayRows, int]] = {}
    for rid, at, site, manu, model, soft, sex, age, score, call, label in s.execute(query):
        day = at.date()
        rows = days.get(day)
        if rows is None:
            rows = days[day] = DayRows(day)
        index[rid] = (rows, len(rows))
        rows.label.append(None if label is None else bool(label))
        rows.call.append(_call(score, call, threshold))
        rows.score.append(score)
        rows.reviewed.append(0)
        rows.disagreed.append(0)
        rows.rows.append(
            {
                "site": site,
                "manufacturer": manu,
                "model": model,
                "software_version": soft,
                "sex": sex,
                "age": age,
            }
        )
    if with_reviews and index:
        _add_reviews(s, index, now)
    return days


def _add_reviews(s: Session, index: dict[int, tuple[DayRows, int]], now: dt.datetime) -> None:
    counts: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    ids = list(index)
    for chunk in range(0, len(ids), 5_000):
        part = ids[chunk : chunk + 5_000]
        query = select(Review.ai_result_id, Review.decision).where(
            Review.ai_result_id.in_(part), Review.created_at <= now
        )
        for rid, decision in s.execute(query):
            counts[rid][0] += 1
            counts[rid][1] += decision == "disagree"
    for rid, (n, d) in counts.items():
        rows, i = index[rid]
        rows.reviewed[i], rows.disagreed[i] = n, d
