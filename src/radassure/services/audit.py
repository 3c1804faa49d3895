"""The tamper-evident audit trail: append, verify, list and export.

Each event's ``hash`` is the SHA-256 of the canonical JSON (sorted keys, no
spaces, UTF-8) of its fields, ``id`` and ``prev_hash`` included, and each
``prev_hash`` is the hash of the event before it. The database refuses UPDATE
and DELETE of events (triggers); should someone remove the triggers and edit,
delete or insert a row, :func:`verify` names the first event where the chain
breaks. Removing events from the *end* leaves a shorter, valid chain, so
record :attr:`VerifyReport.last_hash` in the governance minutes (or any
external log) now and then: a later chain that does not contain it was cut.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any, cast

from sqlalchemy import Connection, Row, Select, Table, insert, select, text
from sqlalchemy.orm import Session

from radassure.db import session_scope
from radassure.db.models import utcnow
from radassure.db.security import GENESIS_HASH, AuditEvent
from radassure.services._access import Actor, require
from radassure.services.store import Store

__all__ = [
    "EXPORT_FORMATS",
    "AuditEntry",
    "AuditFilter",
    "AuditPage",
    "VerifyReport",
    "canonical_json",
    "event_hash",
    "export",
    "list_events",
    "record",
    "verify",
]

EXPORT_FORMATS = ("csv", "jsonl")
#: Key of the PostgreSQL advisory lock that serialises appends ("RADAUDIT").
_LOCK_KEY = 0x5241444155444954
_BATCH = 5_000
_T = cast(Table, AuditEvent.__table__)
_COLUMNS = (
    "id",
    "at",
    "actor",
    "actor_kind",
    "address",
    "action",
    "entity",
    "entity_id",
    "before",
    "after",
    "prev_hash",
    "hash",
)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((_plain(v) for v in value), key=canonical_json)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON has no NaN; the text keeps what was meant
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def canonical_json(value: Any) -> str:
    """Return the canonical JSON text of ``value``: sorted keys, no spaces, UTF-8.

    Examples
    --------
    >>> canonical_json({"b": [1, 2.5], "a": "é"})
    '{"a":"é","b":[1,2.5]}'

    """
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def event_hash(fields: dict[str, Any]) -> str:
    """Return the chain hash of an event given all its fields except ``hash``.

    Examples
    --------
    >>> f = dict(id=1, at=dt.datetime(2026, 1, 1), actor="ann", actor_kind="user",
    ...          address=None, action="user.added", entity="user", entity_id="2",
    ...          before=None, after={"role": "viewer"}, prev_hash=GENESIS_HASH)
    >>> len(event_hash(f))
    64

    """
    payload = {k: fields[k] for k in _COLUMNS if k != "hash"}
    payload["at"] = payload["at"].isoformat(timespec="microseconds")
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()


def _lock_chain(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
    else:
        # pysqlite opens the transaction only at the first write, so a plain SELECT of
        # the last event could race another writer. A write that touches no row takes
        # SQLite's write lock first; the triggers do not fire on zero rows.
        conn.execute(text("UPDATE audit_event SET id = id WHERE 1 = 0"))


def record(
    target: Session | Connection,
    actor: Actor,
    action: str,
    entity: str,
    entity_id: object | None = None,
    *,
    before: Any = None,
    after: Any = None,
    address: str | None = None,
    now: dt.datetime | None = None,
) -> int:
    """Append one event to the chain inside the caller's transaction; return its id.

    Parameters
    ----------
    target : Session or Connection
        The transaction making the change, so the change and its audit event
        commit or roll back together.
    actor : Actor
        Who acted (its ``name`` and ``kind`` are recorded).
    action : str
        Dotted verb, e.g. ``review.recorded``, ``auth.sign_in_failed``.
    entity, entity_id : str, object
        What was acted on (``entity_id`` is stored as text).
    before, after : JSON-like
        The state before and after (None for creation or deletion). Never
        pass secrets: they would be kept for ever.
    address : str, optional
        Client IP address, or the name of the channel (``cli``).
    now : datetime, optional
        Event time (naive UTC); for tests.

    """
    if isinstance(target, Session):
        target.flush()  # ids of rows added in this session exist before they are named
        conn = target.connection()
    else:
        conn = target
    at = now or utcnow()
    if at.tzinfo is not None:  # the store keeps naive UTC; an aware time would hash differently
        at = at.astimezone(dt.UTC).replace(tzinfo=None)
    _lock_chain(conn)
    last = conn.execute(select(_T.c.id, _T.c.hash).order_by(_T.c.id.desc()).limit(1)).first()
    fields: dict[str, Any] = {
        "id": 1 if last is None else last.id + 1,
        "at": at,
        "actor": actor.name[:200],
        "actor_kind": actor.kind,
        "address": address[:64] if address else None,
        "action": action,
        "entity": entity,
        "entity_id": None if entity_id is None else str(entity_id)[:64],
        # Hash exactly what the JSON columns will give back when read.
        "before": json.loads(canonical_json(_plain(before))),
        "after": json.loads(canonical_json(_plain(after))),
        "prev_hash": GENESIS_HASH if last is None else last.hash,
    }
    fields["hash"] = event_hash(fields)
    conn.execute(insert(_T).values(**fields))
    return int(fields["id"])


@dataclass(frozen=True)
class VerifyReport:
    """Outcome of :func:`verify`.

    ``problem`` is ``"hash"`` when the named event's contents no longer match
    its hash (it was edited), ``"prev_hash"`` when it does not follow the event
    before it (an event before it was deleted, inserted or rewritten).
    """

    ok: bool
    checked: int
    last_id: int | None
    last_hash: str | None
    message: str
    broken_id: int | None = None
    problem: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return asdict(self)


def _batches(store: Store, query: Select[*tuple[Any, ...]]) -> Iterator[Sequence[Row[Any]]]:
    """Yield rows of ``query`` (ordered by id) in keyset batches: bounded memory."""
    after = 0
    while True:
        with store.engine.connect() as conn:
            rows = conn.execute(query.where(_T.c.id > after).order_by(_T.c.id).limit(_BATCH)).all()
        if not rows:
            return
        yield rows
        after = rows[-1].id


def verify(store: Store) -> VerifyReport:
    """Recompute the whole chain and name the first event where it breaks.

    Examples
    --------
    >>> # see tests/integration/test_audit.py

    """
    checked = 0
    prev_id: int | None = None
    prev_hash = GENESIS_HASH
    for rows in _batches(store, select(*(_T.c[c] for c in _COLUMNS))):
        for row in rows:
            fields = row._asdict()
            if row.prev_hash != prev_hash:
                gap = (
                    f" (ids jump from {prev_id} to {row.id})"
                    if prev_id is not None and row.id != prev_id + 1
                    else ""
                )
                follows = "the start of the trail" if prev_id is None else f"event {prev_id}"
                return VerifyReport(
                    False,
                    checked,
                    prev_id,
                    prev_hash,
                    f"Audit event {row.id} does not follow {follows}{gap}: its prev_hash is "
                    "not the hash of the event before it, so an event before it was "
                    "deleted, inserted or rewritten.",
                    broken_id=row.id,
                    problem="prev_hash",
                )
            if event_hash(fields) != row.hash:
                return VerifyReport(
                    False,
                    checked,
                    prev_id,
                    prev_hash,
                    f"Audit event {row.id} ({row.action} by {row.actor} at "
                    f"{row.at:%Y-%m-%d %H:%M:%S}) does not match its hash: it was changed "
                    "after it was written.",
                    broken_id=row.id,
                    problem="hash",
                )
            checked += 1
            prev_id, prev_hash = row.id, row.hash
    message = (
        f"The audit trail is intact: {checked} events, last {prev_id} with hash {prev_hash}."
        if checked
        else "The audit trail is empty."
    )
    return VerifyReport(True, checked, prev_id, None if prev_id is None else prev_hash, message)


@dataclass(frozen=True)
class AuditFilter:
    """Which events to list or export; every given field must match."""

    actor: str | None = None
    action: str | None = None
    entity: str | None = None
    entity_id: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


@dataclass(frozen=True)
class AuditEntry:
    """One audit event as read."""

    id: int
    at: dt.datetime
    actor: str
    actor_kind: str
    address: str | None
    action: str
    entity: str
    entity_id: str | None
    before: Any
    after: Any
    prev_hash: str
    hash: str

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (time as ISO text)."""
        out = asdict(self)
        out["at"] = self.at.isoformat(timespec="microseconds")
        return out


@dataclass(frozen=True)
class AuditPage:
    """One page of events, newest first."""

    events: tuple[AuditEntry, ...]
    page: int
    page_size: int
    has_next: bool


def _filtered(filters: AuditFilter | None) -> Select[*tuple[Any, ...]]:
    query = select(*(_T.c[c] for c in _COLUMNS))
    f = filters or AuditFilter()
    for name in ("actor", "action", "entity", "entity_id"):
        value = getattr(f, name)
        if value is not None:
            query = query.where(_T.c[name] == value)
    if f.since is not None:
        query = query.where(_T.c.at >= f.since)
    if f.until is not None:
        query = query.where(_T.c.at < f.until)
    return query


def list_events(
    store: Store,
    actor: Actor,
    filters: AuditFilter | None = None,
    *,
    page: int = 1,
    page_size: int = 50,
) -> AuditPage:
    """Return one page of events matching ``filters``, newest first (needs ``audit.read``)."""
    require(actor, "audit.read")
    if page < 1 or not 1 <= page_size <= 1000:
        raise ValueError("page must be 1 or more and page_size 1 to 1000.")
    query = _filtered(filters).order_by(_T.c.id.desc())
    with store.engine.connect() as conn:
        rows = conn.execute(query.offset((page - 1) * page_size).limit(page_size + 1)).all()
    events = tuple(AuditEntry(**r._asdict()) for r in rows[:page_size])
    return AuditPage(events, page, page_size, len(rows) > page_size)


def _csv_line(values: list[Any]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(values)
    return buf.getvalue()


def _export_lines(store: Store, fmt: str, filters: AuditFilter | None) -> Iterator[str]:
    if fmt == "csv":
        yield _csv_line(list(_COLUMNS))
    for rows in _batches(store, _filtered(filters)):
        for row in rows:
            entry = AuditEntry(**row._asdict()).to_dict()
            if fmt == "jsonl":
                yield canonical_json(entry) + "\n"
            else:
                # JSON cells hold the canonical text that was hashed, so anyone can
                # re-verify the chain from the file alone.
                entry["before"] = canonical_json(entry["before"])
                entry["after"] = canonical_json(entry["after"])
                yield _csv_line([entry[c] for c in _COLUMNS])


def export(
    store: Store,
    actor: Actor,
    fmt: str = "csv",
    *,
    filters: AuditFilter | None = None,
    address: str | None = None,
) -> Iterator[str]:
    """Record the export, then return its lines (oldest first), streamed in batches.

    Needs ``audit.read``. The export is itself audited before any line is
    produced. Every field, ``prev_hash`` and ``hash`` included, is exported so
    the chain can be checked independently of radassure.
    """
    require(actor, "audit.read")
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"Export format {fmt!r} is not one of: {', '.join(EXPORT_FORMATS)}.")
    with session_scope(store.engine) as s:
        wanted = {k: v for k, v in asdict(filters or AuditFilter()).items() if v is not None}
        after = {"format": fmt, "filters": wanted}
        record(s, actor, "audit.exported", "audit_event", after=after, address=address)
    return _export_lines(store, fmt, filters)
