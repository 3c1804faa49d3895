"""Bulk import of reviews from a reporting system: all or nothing, like ingestion.

Every record is checked (fields, the AI result, the reviewer, the review
rules, duplicates, conflicts with stored reviews) before anything is written;
any problem rejects the whole request with a
:class:`~radassure.errors.DataValidationError` naming each record by its
0-based index. Re-sending the same records is a no-op. The import is one
audit event carrying the records' SHA-256 and the ids written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from radassure.db import AIResult, session_scope
from radassure.db.models import utcnow
from radassure.db.security import Review, User
from radassure.errors import DataValidationError, InputProblem
from radassure.ingest import parse_bool, parse_time
from radassure.services._access import Actor, permissions_of, require
from radassure.services._review_rules import ReviewFields, review_problems
from radassure.services.audit import record
from radassure.services.store import Store

__all__ = ["REVIEW_FIELDS", "ReviewImportSummary", "ingest_reviews"]

#: Fields of one review record; the first three are required.
REVIEW_FIELDS = (
    "result_id",
    "reviewer",
    "decision",
    "reason",
    "comment",
    "final_call",
    "seconds_taken",
    "reviewed_at",
)
_REQUIRED = REVIEW_FIELDS[:3]
_CHUNK = 5_000  # below SQLite's bound-parameter limit


@dataclass(frozen=True)
class ReviewImportSummary:
    """What an accepted import did."""

    source: str
    sha256: str
    rows: int
    inserted: int
    unchanged: int

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class _Parsed:
    index: int
    result_id: int
    reviewer: str
    fields: ReviewFields
    reviewed_at: dt.datetime | None


class _Problems:
    def __init__(self, source: str, limit: int) -> None:
        self.source, self.limit = source, limit
        self.items: list[InputProblem] = []
        self.truncated = False

    def add(self, index: int | None, column: str | None, message: str) -> None:
        if len(self.items) < self.limit:
            self.items.append(InputProblem(self.source, index, column, message, "record"))
        else:
            self.truncated = True

    def raise_any(self) -> None:
        if self.items:
            raise DataValidationError(self.items, truncated=self.truncated)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _parse(i: int, rec: Any, now: dt.datetime, out: _Problems) -> _Parsed | None:
    if not isinstance(rec, Mapping):
        out.add(i, None, "is not an object of field: value pairs.")
        return None
    found: list[tuple[str | None, str]] = [
        (name, "required field is missing.") for name in sorted(set(_REQUIRED) - set(rec))
    ]
    found += [
        (str(key), f"unknown field; fields accepted: {', '.join(REVIEW_FIELDS)}.")
        for key in rec
        if key not in REVIEW_FIELDS
    ]
    rid = rec.get("result_id")
    if isinstance(rid, str) and rid.strip().isdigit():
        rid = int(rid)
    if "result_id" in rec and (isinstance(rid, bool) or not isinstance(rid, int)):
        found.append(("result_id", f"{rid!r} is not an AI result id (a whole number)."))
    final: bool | None = None
    raw = rec.get("final_call")
    if isinstance(raw, bool):
        final = raw
    elif _text(raw) is not None:
        try:
            final = parse_bool(str(raw))
        except ValueError as exc:
            found.append(("final_call", str(exc)))
    seconds: float | None = None
    if _text(rec.get("seconds_taken")) is not None:
        try:
            seconds = float(rec["seconds_taken"])
        except (TypeError, ValueError):
            found.append(("seconds_taken", f"{rec['seconds_taken']!r} is not a number."))
    at: dt.datetime | None = None
    if _text(rec.get("reviewed_at")) is not None:
        try:
            at = parse_time(str(rec["reviewed_at"]), now)
        except ValueError as exc:
            found.append(("reviewed_at", str(exc)))
    for column, message in found:
        out.add(i, column, message)
    if found or not isinstance(rid, int):
        return None
    fields = ReviewFields(
        str(rec["decision"]).strip().lower(),
        _text(rec.get("reason")),
        _text(rec.get("comment")),
        final,
        seconds,
    )
    return _Parsed(i, rid, str(rec["reviewer"]).strip().lower(), fields, at)


def _chunks(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _lookups(
    s: Session, parsed: list[_Parsed]
) -> tuple[dict[int, bool | None], dict[str, User], dict[tuple[int, int], tuple[Any, ...]]]:
    ids = sorted({p.result_id for p in parsed})
    calls: dict[int, bool | None] = {}
    stored: dict[tuple[int, int], tuple[Any, ...]] = {}
    for part in _chunks(ids):
        calls.update(
            s.execute(select(AIResult.id, AIResult.call).where(AIResult.id.in_(part))).all()
        )
        for row in s.execute(
            select(
                Review.reviewer_id,
                Review.ai_result_id,
                Review.decision,
                Review.reason,
                Review.comment,
                Review.reporter_final_call,
                Review.seconds_taken,
            ).where(Review.ai_result_id.in_(part))
        ):
            stored[(row[0], row[1])] = tuple(row[2:])
    names = sorted({p.reviewer for p in parsed})
    users = {u.username: u for u in s.scalars(select(User).where(User.username.in_(names)))}
    return calls, users, stored


def ingest_reviews(
    store: Store,
    actor: Actor,
    records: Sequence[Mapping[str, Any]],
    *,
    source: str = "request",
    address: str | None = None,
    now: dt.datetime | None = None,
) -> ReviewImportSummary:
    """Import reviews made in a reporting system, all or nothing (needs ``ingest``).

    Each record has ``result_id``, ``reviewer`` (a username whose role may
    review), ``decision`` and optionally ``reason``, ``comment``,
    ``final_call``, ``seconds_taken`` and ``reviewed_at`` (ISO 8601).

    Raises
    ------
    DataValidationError
        Naming each bad record by index and field; nothing is written.

    """
    require(actor, "ingest")
    now = now or utcnow()
    out = _Problems(source, store.settings.ingest_max_problems)
    if not records:
        out.add(None, None, "has no records; send a non-empty list under 'records'.")
    parsed = [p for i, rec in enumerate(records) if (p := _parse(i, rec, now, out))]
    digest = hashlib.sha256(
        json.dumps(list(records), sort_keys=True, default=str).encode()
    ).hexdigest()
    with session_scope(store.engine) as s:
        calls, users, stored = _lookups(s, parsed)
        seen: set[tuple[int, int]] = set()
        new: list[dict[str, Any]] = []
        unchanged = 0
        for p in parsed:
            user = users.get(p.reviewer)
            if p.result_id not in calls:
                out.add(
                    p.index,
                    "result_id",
                    f"no AI result with id {p.result_id}; send "
                    "reviews only for results already ingested.",
                )
            if user is None:
                out.add(
                    p.index,
                    "reviewer",
                    f"no user named {p.reviewer!r}; add them first (`radassure user add`).",
                )
            elif not user.active or "review.write" not in permissions_of(user.role):
                why = "is disabled" if not user.active else f"has role {user.role}"
                out.add(p.index, "reviewer", f"user {p.reviewer!r} {why} and cannot review.")
            if p.result_id not in calls or user is None:
                continue
            problems, final = review_problems(p.fields, calls[p.result_id])
            for name, text in problems:
                out.add(p.index, name, text)
            key = (user.id, p.result_id)
            if problems or key in seen:
                if key in seen:
                    out.add(
                        p.index,
                        None,
                        "duplicate: an earlier record has the same reviewer and result_id.",
                    )
                continue
            seen.add(key)
            f = p.fields
            values = (f.decision, f.reason, f.comment, final, f.seconds_taken)
            if key in stored:
                if stored[key] == values:
                    unchanged += 1
                else:
                    out.add(
                        p.index,
                        None,
                        f"{p.reviewer} has already reviewed result "
                        f"{p.result_id} differently; reviews are not "
                        "replaced.",
                    )
                continue
            new.append(
                {
                    "ai_result_id": p.result_id,
                    "reviewer_id": user.id,
                    "decision": f.decision,
                    "reason": f.reason,
                    "comment": f.comment,
                    "reporter_final_call": final,
                    "seconds_taken": f.seconds_taken,
                    "source": "import",
                    "created_at": p.reviewed_at or now,
                }
            )
        out.raise_any()
        ids: list[int] = []
        for part in _chunks(new):
            ids.extend(s.scalars(insert(Review).returning(Review.id), list(part)).all())
        summary = ReviewImportSummary(source, digest, len(records), len(ids), unchanged)
        written = {"first_id": min(ids, default=None), "last_id": max(ids, default=None)}
        record(
            s,
            actor,
            "review.imported",
            "review",
            after={**summary.to_dict(), **written},
            address=address,
            now=now,
        )
    return summary
