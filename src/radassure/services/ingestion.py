"""Ingestion use case: validated records into the store, all or nothing.

One transaction per file. Rows stream through in batches: each batch is
validated (format, then everything that needs the store: unknown site, tool,
version or study, score range, duplicates inside the file, conflicts with what
is stored) and written while no problem has been found. After the first
problem nothing more is written, but validation goes on so the user sees the
problems of the whole file at once (up to a limit); then the transaction is
rolled back and a :class:`~radassure.errors.DataValidationError` lists them.

Re-ingesting the same file is a no-op: rows equal to stored rows are counted as
unchanged. A row that contradicts a stored row is a problem unless the caller
chooses ``on_conflict="skip"`` (keep stored) or ``"update"`` (replace stored).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Connection, Table, bindparam, func, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from radassure.db import AIResult, AITool, IngestLog, Reference, Site, Study, ToolVersion
from radassure.db.models import utcnow
from radassure.errors import DatabaseError, DataValidationError, InputProblem
from radassure.ingest import (
    ACQ_PREFIX,
    CONTRACTS,
    CsvSource,
    Header,
    Pseudonymiser,
    ReferenceRecord,
    ResultBatch,
    StudyRecord,
    check_header,
    validate_references,
    validate_results,
    validate_studies,
)
from radassure.services._access import Actor, require
from radassure.services.audit import record
from radassure.services.store import Store

__all__ = ["ON_CONFLICT", "IngestSummary", "ProgressFn", "ingest_csv", "ingest_records"]

ON_CONFLICT = ("error", "skip", "update")
#: Called after each batch with (bytes done, bytes total, rows done).
ProgressFn = Callable[[int, int, int], None]
_IN_CHUNK = 5_000  # below SQLite's bound-parameter limit (32,766 since 3.32)


def _sqlite_time(value: dt.datetime) -> str:
    # The exact text SQLAlchemy's SQLite DateTime type writes and parses.
    return value.isoformat(" ", "microseconds")


@dataclass(frozen=True)
class IngestSummary:
    """What one accepted ingestion did."""

    kind: str
    source: str
    sha256: str
    rows: int
    inserted: int
    unchanged: int
    updated: int
    skipped_conflicts: int
    sites_created: tuple[str, ...]
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return asdict(self)


def _chunks(items: Sequence[Any], size: int = _IN_CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class _Run:
    """State of one ingestion (one transaction)."""

    def __init__(
        self,
        conn: Connection,
        kind: str,
        source: str,
        *,
        on_conflict: str,
        create_sites: bool,
        max_problems: int,
        row_label: str,
        pool: ThreadPoolExecutor | None = None,
    ) -> None:
        if on_conflict not in ON_CONFLICT:
            raise ValueError(
                f"on_conflict must be one of {', '.join(ON_CONFLICT)}, not {on_conflict!r}."
            )
        self.conn = conn
        self.kind = kind
        self.source = source
        self.on_conflict = on_conflict
        self.create_sites = create_sites
        self.max_problems = max_problems
        self.row_label = row_label
        self.now = utcnow()
        self.problems: list[InputProblem] = []
        self.overflow = False
        self.rows = 0
        self.inserted = 0
        self.unchanged = 0
        self.updated = 0
        self.skipped = 0
        self.sites_created: list[str] = []
        self.findings: dict[str, int] = {}
        self.pool = pool
        self.pending: Future[None] | None = None
        self.in_chunk = _IN_CHUNK if conn.dialect.name == "sqlite" else 10_000
        # Rows with ids above these were inserted by this run: lets the existence check
        # tell a duplicate inside the file from a row stored before, in O(1) memory.
        self.first_id = {
            table.name: int(
                conn.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()
            )
            for table in (Study.__table__, AIResult.__table__, Reference.__table__)
            if isinstance(table, Table)
        }
        self._sites: dict[str, int] | None = None
        self._versions: dict[tuple[str, str], tuple[int, float, float, float | None]] | None = None

    def bulk_insert(
        self,
        table: str,
        columns: Mapping[str, list[Any]],
        *,
        json_cols: Sequence[str] = (),
        time_cols: Sequence[str] = (),
    ) -> None:
        """Insert columns of values through the driver, inside this run's transaction.

        SQLAlchemy's per-row parameter processing costs more than the insert
        itself at millions of rows, so values are converted here column by
        column: JSON to text, and on SQLite times to the text form SQLAlchemy
        itself stores and parses.
        """
        sqlite = self.conn.dialect.name == "sqlite"
        data = dict(columns)
        for name in json_cols:
            values = data[name]
            if any(v is not None for v in values):
                data[name] = [None if v is None else json.dumps(v) for v in values]
        if sqlite:
            for name in time_cols:
                cache: dict[dt.datetime, str] = {}
                data[name] = [
                    None if t is None else (cache.get(t) or cache.setdefault(t, _sqlite_time(t)))
                    for t in data[name]
                ]
        names = list(data)
        rows = zip(*data.values(), strict=True)
        sql = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
        copy_sql = f"COPY {table} ({', '.join(names)}) FROM STDIN"
        self.sync()
        if self.pool is None:
            self._insert(sql if sqlite else copy_sql, rows, sqlite)
        else:
            # The database works on this batch while the caller parses the next one:
            # sqlite3 and psycopg release the GIL while the engine runs.
            self.pending = self.pool.submit(self._insert, sql if sqlite else copy_sql, rows, sqlite)

    def store_rows(
        self,
        table: Any,
        names: Sequence[str],
        new: list[dict[str, Any]],
        updates: list[dict[str, Any]],
        *,
        key_cols: Sequence[str],
        json_cols: Sequence[str] = (),
        time_cols: Sequence[str] = (),
    ) -> None:
        """Insert ``new`` rows and apply ``updates`` (dicts with ``_id``), if still writing."""
        if not self.writing:
            return
        if new:
            self.bulk_insert(
                table.name,
                {c: [v[c] for v in new] for c in names},
                json_cols=json_cols,
                time_cols=time_cols,
            )
            self.inserted += len(new)
        if updates:
            self.sync()
            self.conn.execute(
                update(table).where(table.c.id == bindparam("_id")),
                [{k: v for k, v in u.items() if k not in key_cols} for u in updates],
            )
            self.updated += len(updates)

    def sync(self) -> None:
        """Wait for the insert in flight (raising its error, if any)."""
        if self.pending is not None:
            pending, self.pending = self.pending, None
            pending.result()

    def _insert(self, sql: str, rows: Iterator[tuple[Any, ...]], sqlite: bool) -> None:
        driver = self.conn.connection.driver_connection
        assert driver is not None
        if sqlite:
            cur = driver.cursor()
            try:
                cur.executemany(sql, rows)
            finally:
                cur.close()
        else:
            with driver.cursor() as cur, cur.copy(sql) as copy:
                for row in rows:
                    copy.write_row(row)

    # -- problems -------------------------------------------------------
    def problem(self, row: int, column: str | None, message: str) -> None:
        if len(self.problems) < self.max_problems:
            self.problems.append(InputProblem(self.source, row, column, message, self.row_label))
        else:
            self.overflow = True

    def extend(self, problems: list[InputProblem], overflow: bool) -> None:
        for p in problems:
            if len(self.problems) < self.max_problems:
                self.problems.append(p)
            else:
                self.overflow = True
        self.overflow = self.overflow or overflow

    @property
    def writing(self) -> bool:
        return not self.problems

    @property
    def full(self) -> bool:
        return len(self.problems) >= self.max_problems

    # -- lookups --------------------------------------------------------
    def finding_id(self, finding: str) -> int:
        fid = self.findings.get(finding)
        if fid is None:
            fid = self.findings[finding] = len(self.findings)
        return fid

    def sites(self) -> dict[str, int]:
        if self._sites is None:
            self._sites = dict(self.conn.execute(select(Site.code, Site.id)).all())
        return self._sites

    def versions(self) -> dict[tuple[str, str], tuple[int, float, float, float | None]]:
        if self._versions is None:
            rows = self.conn.execute(
                select(
                    AITool.name,
                    ToolVersion.version,
                    ToolVersion.id,
                    ToolVersion.score_min,
                    ToolVersion.score_max,
                    ToolVersion.operating_threshold,
                ).join(ToolVersion, ToolVersion.tool_id == AITool.id)
            )
            self._versions = {(t, v): (i, lo, hi, th) for t, v, i, lo, hi, th in rows}
        return self._versions

    def select_in(
        self,
        table: str,
        columns: str,
        key: str,
        values: Sequence[Any],
        *,
        where: str = "",
        params: Sequence[Any] = (),
    ) -> list[Any]:
        """Rows of ``table`` whose ``key`` is one of ``values`` (and ``where`` holds).

        Plain driver SQL, in chunks: compiling an expanding IN of thousands of
        values costs more than the lookup. On PostgreSQL the values are joined
        from ``unnest`` so that the planner looks each one up in the index; with
        ``= ANY`` and statistics that predate this transaction's inserts it
        would scan every row inserted so far, once per batch. ``where`` uses
        ``?`` placeholders bound to ``params``; columns are prefixed ``t.``.
        """
        out: list[Any] = []
        sqlite = self.conn.dialect.name == "sqlite"
        cond = f" AND {where}" if where else ""
        for part in _chunks(values, self.in_chunk):
            if sqlite:
                marks = ", ".join("?" * len(part))
                sql = f"SELECT {columns} FROM {table} t WHERE t.{key} IN ({marks}){cond}"
                out.extend(self.conn.exec_driver_sql(sql, (*part, *params)).all())
            else:
                kind = "text" if part and isinstance(part[0], str) else "bigint"
                sql = (
                    f"SELECT {columns} FROM unnest(%s::{kind}[]) AS k(v) "
                    f"JOIN {table} t ON t.{key} = k.v{cond.replace('?', '%s')}"
                )
                out.extend(self.conn.exec_driver_sql(sql, (list(part), *params)).all())
        return out

    def study_ids(self, keys: Iterable[str]) -> dict[str, int]:
        rows = self.select_in("study", "t.study_key, t.id", "study_key", list(set(keys)))
        return {key: sid for key, sid in rows}

    def unknown_study(self, row: int) -> None:
        self.problem(
            row,
            "study_id",
            "no study with this study_id has been ingested; ingest "
            "the studies file first (`radassure ingest studies`).",
        )

    def duplicate_row(self, row: int, what: str) -> None:
        self.problem(
            row,
            None,
            f"duplicate: an earlier row of this file has the same {what}; keep one row per key.",
        )

    def conflict(self, row: int, column: str, stored: Any, given: Any) -> None:
        self.problem(
            row,
            column,
            f"conflicts with what is stored ({stored!r}, file has "
            f"{given!r}). If the file is right, ingest with --on-conflict update; to "
            "keep what is stored, use --on-conflict skip.",
        )


# -- studies -----------------------------------------------------------------
_STUDY_FIELDS = ("site_id", "acquired_at", "modality", "manufacturer", "model",
                 "software_version", "body_part", "acquisition", "sex", "age_years",
                 "ethnic_group", "deprivation_decile", "patient_key")  # fmt: skip


def _study_values(rec: StudyRecord, site_id: int) -> dict[str, Any]:
    return {
        "study_key": rec.study_key, "patient_key": rec.patient_key, "site_id": site_id,
        "acquired_at": rec.acquired_at, "modality": rec.modality,
        "manufacturer": rec.manufacturer, "model": rec.model,
        "software_version": rec.software_version, "body_part": rec.body_part,
        "acquisition": rec.acquisition, "sex": rec.sex, "age_years": rec.age_years,
        "ethnic_group": rec.ethnic_group, "deprivation_decile": rec.deprivation_decile,
    }  # fmt: skip


def _write_studies(run: _Run, recs: list[StudyRecord]) -> None:
    sites = run.sites()
    batch_keys: set[str] = set()
    ready: list[tuple[StudyRecord, dict[str, Any]]] = []
    for rec in recs:
        site_id = sites.get(rec.site)
        if site_id is None:
            if run.create_sites and run.writing:
                site_id = run.conn.execute(
                    insert(Site)
                    .values(code=rec.site, name=rec.site, created_at=run.now)
                    .returning(Site.id)
                ).scalar_one()
                sites[rec.site] = site_id
                run.sites_created.append(rec.site)
            else:
                run.problem(
                    rec.row,
                    "site",
                    f"site {rec.site!r} is not registered; register it "
                    f"with `radassure site add {rec.site} --name ...` or ingest with "
                    "--create-sites.",
                )
                continue
        if rec.study_key in batch_keys:
            run.duplicate_row(rec.row, "study_id")
            continue
        batch_keys.add(rec.study_key)
        ready.append((rec, _study_values(rec, site_id)))
    existing: dict[str, dict[str, Any]] = {}
    keys = [values["study_key"] for _, values in ready]
    stored_keys = [r[0] for r in run.select_in("study", "t.study_key", "study_key", keys)]
    for part in _chunks(stored_keys, run.in_chunk):
        cols = [Study.__table__.c[f] for f in ("study_key", "id", *_STUDY_FIELDS)]
        for row in run.conn.execute(select(*cols).where(Study.study_key.in_(part))).mappings():
            existing[row["study_key"]] = dict(row)
    new: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for rec, values in ready:
        stored = existing.get(rec.study_key)
        if stored is None:
            new.append(values)
            continue
        if stored["id"] > run.first_id["study"]:
            run.duplicate_row(rec.row, "study_id")
            continue
        diff = [f for f in _STUDY_FIELDS if stored[f] != values[f]]
        if not diff:
            run.unchanged += 1
        elif run.on_conflict == "error":
            field = diff[0]
            shown = "(pseudonymised)" if field == "patient_key" else stored[field]
            given = "(a different patient)" if field == "patient_key" else values[field]
            run.conflict(rec.row, "patient_id" if field == "patient_key" else field, shown, given)
        elif run.on_conflict == "skip":
            run.skipped += 1
        else:
            updates.append({"_id": stored["id"], **values})
    run.store_rows(
        Study.__table__,
        ("study_key", *_STUDY_FIELDS),
        new,
        updates,
        key_cols=("study_key",),
        json_cols=("acquisition",),
        time_cols=("acquired_at",),
    )


# -- results -----------------------------------------------------------------
def _write_results(run: _Run, batch: ResultBatch) -> None:
    """Resolve, check and insert a column-wise batch of results.

    Work is done per distinct value (versions, studies) and with numpy over
    the batch; Python loops run only over rows that have a problem.
    """
    n = len(batch)
    if n == 0:
        return
    versions = run.versions()
    pairs = list(zip(batch.tool, batch.version, strict=True))
    info = {p: versions.get(p) for p in set(pairs)}
    vid_of = {p: (v[0] if v else 0) for p, v in info.items()}
    lo_of = {p: (v[1] if v else np.nan) for p, v in info.items()}
    hi_of = {p: (v[2] if v else np.nan) for p, v in info.items()}
    thr_of = {p: (v[3] if v and v[3] is not None else np.nan) for p, v in info.items()}
    if len(info) == 1:
        (only,) = info
        vid = np.full(n, vid_of[only], dtype=np.int64)
        lo, hi, thr = (np.full(n, d[only], dtype=np.float64) for d in (lo_of, hi_of, thr_of))
    else:
        vid = np.fromiter(map(vid_of.__getitem__, pairs), dtype=np.int64, count=n)
        lo, hi, thr = (
            np.fromiter(map(d.__getitem__, pairs), dtype=np.float64, count=n)
            for d in (lo_of, hi_of, thr_of)
        )
    study_ids = run.study_ids(batch.study_key)
    sid = np.fromiter((study_ids.get(k, 0) for k in batch.study_key), dtype=np.int64, count=n)
    fid = np.fromiter(map(run.finding_id, batch.finding), dtype=np.int64, count=n)
    scores = np.array([np.nan if x is None else x for x in batch.score], dtype=np.float64)
    has_score = ~np.isnan(scores)
    ok = np.ones(n, dtype=bool)
    rows = batch.rows
    for i in np.flatnonzero(vid == 0).tolist():
        ok[i] = False
        tool, version = pairs[i]
        known = sorted(v for (t, v) in versions if t == tool)
        if known:
            run.problem(
                rows[i],
                "version",
                f"tool {tool!r} has no version {version!r}; "
                f"registered versions: {', '.join(known)}. Add it with "
                "`radassure version add`.",
            )
        else:
            run.problem(
                rows[i],
                "tool",
                f"no tool named {tool!r} is registered (or it has no "
                "versions); see `radassure tool list`.",
            )
    with np.errstate(invalid="ignore"):
        out_of_range = ok & has_score & ((scores < lo) | (scores > hi))
    for i in np.flatnonzero(out_of_range).tolist():
        ok[i] = False
        tool, version = pairs[i]
        run.problem(
            rows[i],
            "score",
            f"{batch.score[i]!r} is outside the score range {lo[i]:g} to "
            f"{hi[i]:g} of {tool} {version}.",
        )
    for i in np.flatnonzero(ok & (sid == 0)).tolist():
        ok[i] = False
        run.unknown_study(rows[i])
    keys = (vid << 44) | (sid << 12) | fid
    order = np.argsort(keys, kind="stable")
    dup = np.zeros(n, dtype=bool)
    dup[order[1:]] = keys[order[1:]] == keys[order[:-1]]
    for i in np.flatnonzero(ok & dup).tolist():
        ok[i] = False
        run.duplicate_row(rows[i], "tool, version, study_id and finding")
    # Calls: as given, else derived from the version's operating threshold.
    with np.errstate(invalid="ignore"):
        derived = (scores >= thr).tolist()
    derivable = (has_score & ~np.isnan(thr)).tolist()
    calls: list[bool | None] = [
        c if c is not None else (d if can else None)
        for c, d, can in zip(batch.call, derived, derivable, strict=True)
    ]
    keep = np.flatnonzero(ok)
    existing: dict[int, tuple[int, float | None, bool | None, Any]] = {}
    for version_id in np.unique(vid[keep]).tolist():
        sids = np.unique(sid[keep][vid[keep] == version_id]).tolist()
        # Cheap probe first: a first ingestion finds nothing and skips the detailed read.
        stored_sids = sorted({
            r[0] for r in run.select_in("ai_result", "t.study_id", "study_id", sids,
                                        where="t.version_id = ?", params=(version_id,))
        })  # fmt: skip
        for part in _chunks(stored_sids, run.in_chunk):
            for rid, s_id, finding, score, call, loc in run.conn.execute(
                select(
                    AIResult.id,
                    AIResult.study_id,
                    AIResult.finding,
                    AIResult.score,
                    AIResult.call,
                    AIResult.localisations,
                ).where(AIResult.version_id == version_id, AIResult.study_id.in_(part))
            ):
                key = (version_id << 44) | (s_id << 12) | run.finding_id(finding)
                existing[key] = (rid, score, call, loc)
    locs = batch.localisations
    recv = batch.received_at
    if existing:
        new_list: list[int] = []
        updates: list[dict[str, Any]] = []
        for i in keep.tolist():
            stored = existing.get(int(keys[i]))
            if stored is None:
                new_list.append(i)
                continue
            rid, s_score, s_call, s_loc = stored
            if rid > run.first_id["ai_result"]:
                run.duplicate_row(rows[i], "tool, version, study_id and finding")
                continue
            loc = locs[i] if locs is not None else None
            given = (batch.score[i], calls[i], loc)
            if (s_score, s_call, s_loc) == given:
                run.unchanged += 1
            elif run.on_conflict == "error":
                field, old, now = next(
                    (f, a, b)
                    for f, a, b in zip(
                        ("score", "call", "localisations"),
                        (s_score, s_call, s_loc),
                        given,
                        strict=True,
                    )
                    if a != b
                )
                run.conflict(rows[i], field, old, now)
            elif run.on_conflict == "skip":
                run.skipped += 1
            else:
                updates.append(
                    {
                        "_id": rid,
                        "score": batch.score[i],
                        "call": calls[i],
                        "localisations": loc,
                        "received_at": (recv[i] if recv else None) or run.now,
                    }
                )
        if run.writing and updates:
            run.conn.execute(update(AIResult).where(AIResult.id == bindparam("_id")), updates)
            run.updated += len(updates)
        new_idx = np.asarray(new_list, dtype=np.int64)
    else:
        new_idx = keep
    if not run.writing or len(new_idx) == 0:
        return
    whole = len(new_idx) == n

    def pick(values: list[Any]) -> list[Any]:
        return values if whole else [values[i] for i in new_idx.tolist()]

    m = len(new_idx)
    received: list[Any] = [run.now] * m if recv is None else [t or run.now for t in pick(recv)]
    run.bulk_insert("ai_result", {
        "version_id": vid[new_idx].tolist(),
        "study_id": sid[new_idx].tolist(),
        "finding": pick(batch.finding),
        "score": pick(batch.score),
        "call": pick(calls),
        "localisations": pick(locs) if locs is not None else [None] * m,
        "received_at": received,
    }, json_cols=("localisations",), time_cols=("received_at",))  # fmt: skip
    run.inserted += m


# -- references --------------------------------------------------------------
def _write_references(run: _Run, recs: list[ReferenceRecord]) -> None:
    study_ids = run.study_ids(r.study_key for r in recs)
    batch_keys: set[tuple[int, str]] = set()
    ready: list[tuple[int, dict[str, Any]]] = []
    for rec in recs:
        study_id = study_ids.get(rec.study_key)
        if study_id is None:
            run.unknown_study(rec.row)
            continue
        if (study_id, rec.finding) in batch_keys:
            run.duplicate_row(rec.row, "study_id and finding")
            continue
        batch_keys.add((study_id, rec.finding))
        ready.append((rec.row, {
            "study_id": study_id, "finding": rec.finding, "label": rec.label,
            "source": rec.source, "localisations": rec.localisations,
            "recorded_at": rec.recorded_at or run.now,
        }))  # fmt: skip
    existing: dict[tuple[int, str], tuple[int, bool, str, Any]] = {}
    sids = sorted({v["study_id"] for _, v in ready})
    stored_sids = sorted({r[0] for r in run.select_in("reference", "t.study_id", "study_id", sids)})
    for part in _chunks(stored_sids, run.in_chunk):
        for rid, sid, finding, label, source, loc in run.conn.execute(
            select(
                Reference.id,
                Reference.study_id,
                Reference.finding,
                Reference.label,
                Reference.source,
                Reference.localisations,
            ).where(Reference.study_id.in_(part))
        ):
            existing[(sid, finding)] = (rid, label, source, loc)
    new: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for row, values in ready:
        stored = existing.get((values["study_id"], values["finding"]))
        if stored is None:
            new.append(values)
            continue
        rid, *old = stored
        if rid > run.first_id["reference"]:
            run.duplicate_row(row, "study_id and finding")
            continue
        given = [values["label"], values["source"], values["localisations"]]
        if old == given:
            run.unchanged += 1
        elif run.on_conflict == "error":
            field, a, b = next(
                (f, a, b)
                for f, a, b in zip(("label", "source", "localisations"), old, given, strict=True)
                if a != b
            )
            run.conflict(row, field, a, b)
        elif run.on_conflict == "skip":
            run.skipped += 1
        else:
            updates.append({"_id": rid, **{k: v for k, v in values.items() if k != "study_id"}})
    run.store_rows(
        Reference.__table__,
        ("study_id", "finding", "label", "source", "localisations", "recorded_at"),
        new,
        updates,
        key_cols=("study_id", "finding"),
        json_cols=("localisations",),
        time_cols=("recorded_at",),
    )


_VALIDATORS: dict[str, Callable[..., tuple[Any, list[InputProblem], bool]]] = {
    "studies": validate_studies,
    "results": validate_results,
    "references": validate_references,
}
_WRITERS: dict[str, Callable[[_Run, Any], None]] = {
    "studies": _write_studies,
    "results": _write_results,
    "references": _write_references,
}


def _ingest(
    store: Store,
    kind: str,
    source: str,
    *,
    batches: Callable[[], Iterator[tuple[int, list[list[str]]]]],
    header: Callable[[], Header],
    fingerprint: Callable[[], str],
    on_conflict: str,
    create_sites: bool,
    actor: Actor,
    address: str | None,
    row_label: str,
    progress: Callable[[int], None] | None,
) -> IngestSummary:
    if kind not in _WRITERS:
        raise ValueError(f"Unknown record kind {kind!r}; use studies, results or references.")
    started = time.perf_counter()
    validate, write = _VALIDATORS[kind], _WRITERS[kind]
    try:
        return _ingest_in_transaction(
            store,
            kind,
            source,
            batches=batches,
            header=header,
            fingerprint=fingerprint,
            validate=validate,
            write=write,
            on_conflict=on_conflict,
            create_sites=create_sites,
            actor=actor,
            address=address,
            row_label=row_label,
            progress=progress,
            started=started,
        )
    except SQLAlchemyError as exc:
        # Validation should make this unreachable; if the database still refuses a row,
        # say so plainly (the transaction was rolled back, nothing was written).
        cause = getattr(exc, "orig", None) or exc
        raise DatabaseError(
            f"{source}: the database refused the data ({type(cause).__name__}: "
            f"{str(cause).splitlines()[0]}); nothing was written. Please report this "
            "with the file's first rows."
        ) from exc


def _ingest_in_transaction(
    store: Store,
    kind: str,
    source: str,
    *,
    batches: Callable[[], Iterator[tuple[int, list[list[str]]]]],
    header: Callable[[], Header],
    fingerprint: Callable[[], str],
    validate: Callable[..., tuple[Any, list[InputProblem], bool]],
    write: Callable[[_Run, Any], None],
    on_conflict: str,
    create_sites: bool,
    actor: Actor,
    address: str | None,
    row_label: str,
    progress: Callable[[int], None] | None,
    started: float,
) -> IngestSummary:
    pseudo: Pseudonymiser = store.pseudonymiser
    settings = store.settings
    with store.engine.connect() as conn, ThreadPoolExecutor(1, "radassure-ingest") as pool:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            # Bulk-load setting, outside the transaction (SQLite ignores it inside one):
            # every foreign key is resolved by this run's own lookups in the same write
            # transaction (SQLite has one writer), so the per-row re-check is redundant.
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            conn.commit()
        try:
            with conn.begin() as tx:
                if not sqlite:
                    # Tables grow inside this transaction while their statistics stay as
                    # they were (often empty), so the planner would answer each batch's
                    # key lookups with sequential scans: quadratic in the file size.
                    conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
                run = _Run(
                    conn,
                    kind,
                    source,
                    on_conflict=on_conflict,
                    create_sites=create_sites,
                    max_problems=settings.ingest_max_problems,
                    row_label=row_label,
                    pool=pool,
                )
                try:
                    for first, rows in batches():
                        run.rows += len(rows)
                        if run.full:
                            continue  # keep reading: file-level faults (truncation) still show
                        recs, problems, overflow = validate(
                            first,
                            rows,
                            header(),
                            pseudo,
                            now=run.now,
                            source=source,
                            max_problems=settings.ingest_max_problems,
                            row_label=row_label,
                        )
                        run.extend(problems, overflow)
                        if len(recs):
                            run.sync()
                            write(run, recs)
                        if progress is not None:
                            progress(run.rows)
                finally:
                    run.sync()
                if run.problems:
                    tx.rollback()
                    raise DataValidationError(run.problems, truncated=run.overflow)
                summary = IngestSummary(
                    kind=kind,
                    source=source,
                    sha256=fingerprint(),
                    rows=run.rows,
                    inserted=run.inserted,
                    unchanged=run.unchanged,
                    updated=run.updated,
                    skipped_conflicts=run.skipped,
                    sites_created=tuple(run.sites_created),
                    seconds=round(time.perf_counter() - started, 3),
                )
                logged = conn.execute(insert(IngestLog).values(
                    kind=kind, source_name=source[:500], sha256=summary.sha256,
                    rows_total=run.rows, rows_inserted=run.inserted,
                    rows_unchanged=run.unchanged, rows_updated=run.updated,
                    started_at=run.now, finished_at=utcnow(), actor=actor.name[:200],
                ))  # fmt: skip
                # Last, so the audit chain's lock is held only for the commit. Counts and
                # the fingerprint only: never a row's values (they hold identifiers).
                after = {k: v for k, v in summary.to_dict().items() if k != "seconds"}
                (log_id,) = logged.inserted_primary_key or (None,)
                record(conn, actor, "ingest.accepted", "ingest_log", log_id, after=after,
                       address=address)  # fmt: skip
        finally:
            if sqlite:
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                conn.commit()
    return summary


@contextmanager
def _rejections_audited(
    store: Store, actor: Actor, kind: str, source: str, address: str | None
) -> Iterator[None]:
    """Record a refused ingestion (who tried to load what) after its rollback.

    Only the kind, the file name, the number of problems and the columns at
    fault are kept: a problem's text may quote a raw value, an identifier.
    """
    try:
        yield
    except DataValidationError as exc:
        columns = sorted({p.column for p in exc.problems if p.column})[:50]
        after = {"kind": kind, "source": source[:500], "problems": len(exc.problems),
                 "truncated": exc.truncated, "columns": columns}  # fmt: skip
        with store.engine.begin() as conn:
            record(conn, actor, "ingest.rejected", "ingest", None, after=after, address=address)
        raise


def ingest_csv(
    store: Store,
    kind: str,
    path: str | Path,
    *,
    mapping: Mapping[str, str] | None = None,
    delimiter: str = ",",
    on_conflict: str = "error",
    create_sites: bool = False,
    actor: Actor,
    address: str | None = None,
    progress: ProgressFn | None = None,
) -> IngestSummary:
    """Ingest a CSV file of ``kind`` (studies, results or references), all or nothing.

    Parameters
    ----------
    store : Store
        The open installation.
    kind : str
        ``studies``, ``results`` or ``references`` (see ``docs/ingest.md``).
    path : path-like
        UTF-8 CSV with a header row.
    mapping : mapping, optional
        Vendor column name to contract column name; ``-`` drops a column.
    delimiter : str
        Field delimiter.
    on_conflict : {"error", "skip", "update"}
        What to do with a row whose key is stored with different values.
    create_sites : bool
        Register unknown site codes instead of rejecting the file (studies only).
    actor : Actor
        Who ingests: needs ``ingest``; named in the ingestion log and the
        audit trail (one ``ingest.accepted`` event per accepted file, in its
        transaction; a rejected file leaves an ``ingest.rejected`` event).
    address : str, optional
        Client address or channel, for the audit trail.
    progress : callable, optional
        Called after each batch with (bytes done, bytes total, rows done).

    Returns
    -------
    IngestSummary

    Raises
    ------
    DataValidationError
        Naming file, row, column and the fix for every problem (bounded list);
        nothing of the file is written.

    """
    require(actor, "ingest")
    with _rejections_audited(store, actor, kind, Path(path).name, address):
        src = CsvSource(
            path,
            kind,
            mapping=mapping,
            delimiter=delimiter,
            batch_rows=store.settings.ingest_batch_rows,
        )
        return _ingest_csv(
            store, kind, src, on_conflict=on_conflict, create_sites=create_sites, actor=actor,
            address=address, progress=progress,
        )  # fmt: skip


def _ingest_csv(
    store: Store,
    kind: str,
    src: CsvSource,
    *,
    on_conflict: str,
    create_sites: bool,
    actor: Actor,
    address: str | None,
    progress: ProgressFn | None,
) -> IngestSummary:

    def header() -> Header:
        assert src.header is not None  # set before the first batch is yielded
        return src.header

    def report(rows: int) -> None:
        if progress is not None:
            progress(src.bytes_read, src.total_bytes, rows)

    return _ingest(
        store,
        kind,
        src.source,
        batches=src.batches,
        header=header,
        fingerprint=lambda: src.sha256,
        on_conflict=on_conflict,
        create_sites=create_sites,
        actor=actor,
        address=address,
        row_label="row",
        progress=report,
    )


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def ingest_records(
    store: Store,
    kind: str,
    records: Sequence[Mapping[str, Any]],
    *,
    source: str = "request",
    on_conflict: str = "error",
    create_sites: bool = False,
    actor: Actor,
    address: str | None = None,
) -> IngestSummary:
    """Ingest JSON-style records with the same contract and checks as CSV files.

    Each record is a mapping from contract column name to value. Problems are
    reported by 0-based record index. Needs ``ingest``; audited like
    :func:`ingest_csv`.
    """
    require(actor, "ingest")
    with _rejections_audited(store, actor, kind, source, address):
        return _ingest_records(
            store, kind, records, source=source, on_conflict=on_conflict,
            create_sites=create_sites, actor=actor, address=address,
        )  # fmt: skip


def _ingest_records(
    store: Store,
    kind: str,
    records: Sequence[Mapping[str, Any]],
    *,
    source: str,
    on_conflict: str,
    create_sites: bool,
    actor: Actor,
    address: str | None,
) -> IngestSummary:
    if not records:
        raise DataValidationError(
            [
                InputProblem(
                    source, None, None, "has no records; send a non-empty list under 'records'."
                )
            ]
        )
    if kind not in CONTRACTS:
        raise ValueError(f"Unknown record kind {kind!r}; use studies, results or references.")
    contract = [c.name for c in CONTRACTS[kind]]
    allowed = set(contract)
    required = {c.name for c in CONTRACTS[kind] if c.required}
    limit = store.settings.ingest_max_problems
    problems: list[InputProblem] = []
    truncated = False
    names: list[str] = list(contract)
    for i, rec in enumerate(records):
        if not isinstance(rec, Mapping):
            found = [
                InputProblem(source, i, None, "is not an object of field: value pairs.", "record")
            ]
        else:
            found = [
                InputProblem(source, i, name, "required field is missing.", "record")
                for name in sorted(required - set(rec))
            ]
            for key in rec:
                if key in allowed or key in names:
                    continue
                if key.startswith(ACQ_PREFIX) and len(key) > len(ACQ_PREFIX):
                    names.append(key)
                    continue
                found.append(
                    InputProblem(
                        source,
                        i,
                        key,
                        f"unknown field. Fields accepted for {kind}: "
                        f"{', '.join(contract)}, and numeric acquisition parameters named "
                        f"{ACQ_PREFIX}*.",
                        "record",
                    )
                )
        for problem in found:
            if len(problems) < limit:
                problems.append(problem)
            else:
                truncated = True
    if problems:
        raise DataValidationError(problems, truncated=truncated)
    hdr = check_header(names, kind, source)
    rows = [[_as_text(rec.get(name)) for name in names] for rec in records]
    digest = hashlib.sha256(
        json.dumps(list(records), sort_keys=True, default=str).encode()
    ).hexdigest()
    size = store.settings.ingest_batch_rows

    def batches() -> Iterator[tuple[int, list[list[str]]]]:
        for start in range(0, len(rows), size):
            yield start, rows[start : start + size]

    return _ingest(
        store,
        kind,
        source,
        batches=batches,
        header=lambda: hdr,
        fingerprint=lambda: digest,
        on_conflict=on_conflict,
        create_sites=create_sites,
        actor=actor,
        address=address,
        row_label="record",
        progress=None,
    )
