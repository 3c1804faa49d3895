"""What the oversight services return: plain frozen dataclasses, no ORM objects."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["AdjudicationInfo", "Discrepancy", "QueueItem", "ReviewInfo"]


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.datetime) else value


@dataclass(frozen=True)
class QueueItem:
    """An AI result waiting for a reviewer (the study only by its pseudonymised key)."""

    result_id: int
    study_key: str
    site: str
    acquired_at: dt.datetime
    modality: str
    finding: str
    score: float | None
    call: bool | None
    findings_summary: str
    received_at: dt.datetime

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {k: _jsonable(v) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class ReviewInfo:
    """A recorded review."""

    id: int
    result_id: int
    reviewer: str
    decision: str
    reason: str | None
    comment: str | None
    reporter_final_call: bool | None
    seconds_taken: float | None
    source: str
    created_at: dt.datetime

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {k: _jsonable(v) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class Discrepancy:
    """A disagreement waiting for adjudication, with what the AI said."""

    review_id: int
    result_id: int
    tool: str
    version: str
    study_key: str
    finding: str
    score: float | None
    ai_call: bool | None
    reviewer: str
    reason: str | None
    comment: str | None
    reporter_final_call: bool | None
    reviewed_at: dt.datetime
    reference_label: bool | None
    reference_source: str | None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {k: _jsonable(v) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class AdjudicationInfo:
    """A ruling, and the reference before and after it (None when untouched or absent)."""

    id: int
    review_id: int
    adjudicator: str
    outcome_label: bool
    note: str | None
    became_reference: bool
    created_at: dt.datetime
    reference_before: dict[str, Any] | None
    reference_after: dict[str, Any] | None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        out = {k: _jsonable(v) for k, v in asdict(self).items()}
        for key in ("reference_before", "reference_after"):
            if out[key] is not None:
                out[key] = {k: _jsonable(v) for k, v in out[key].items()}
        return out
