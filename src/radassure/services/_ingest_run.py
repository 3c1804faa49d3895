"""State of one ingestion: its bulk writes, the problems found, and its key lookups.

:class:`_Run` holds one ingestion's transaction (connection, counts, problems)
and what every writer needs: driver-level bulk inserts (``COPY`` on
PostgreSQL, ``executemany`` on SQLite) that may run on a worker thread while
the next batch is parsed, the bounded problem list, and the cached or chunked
lookups of sites, tool versions and stored keys (``select_in``).
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from itertools import chain, islice, repeat
from typing import Any

import numpy as np
from sqlalchemy import Connection, Table, bindparam, func, select, update

from radassure.db import AIResult, AITool, Reference, Site, Study, ToolVersion
from radassure.db.models import utcnow
from radassure.errors import InputProblem

ON_CONFLICT = ("error", "skip", "update")
_IN_CHUNK = 5_000  # below SQLite's bound-parameter limit (32,766 since 3.32)
# Rows per multi-row INSERT on SQLite: 100 to 4,000 measured alike within this machine's
# noise (250 best of them); 10,000 is clearly slower (bigger statement than the CPU cache).
_ROWS_PER_INSERT = 250


def _sqlite_time(value: dt.datetime) -> str:
    # The exact text SQLAlchemy's SQLite DateTime type writes and parses.
    return value.isoformat(" ", "microseconds")


_SCALARS = (int, float, str, bool, dt.datetime)
_AS_INT: dict[bool | None, int | None] = {True: 1, False: 0, None: None}


def _constant(values: Sequence[Any]) -> bool:
    """Whether every value is the same (equal and of one type), checked at C speed."""
    if not values:
        return False
    first = values[0]
    if first is None:
        return values.count(None) == len(values)
    if type(first) not in _SCALARS or values.count(first) != len(values):
        return False
    return len(set(map(type, values))) == 1


def _max_params(driver: Any) -> int:
    try:
        return int(driver.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))
    except AttributeError:  # Python < 3.11: assume the oldest default
        return 999


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
        self._reader: Connection | None = None
        # The driver's refusal of a row (unique key, foreign key): see the fast path.
        self.integrity_errors: type[Exception] = conn.dialect.loaded_dbapi.IntegrityError
        self._sites: dict[str, int] | None = None
        self._sql: dict[tuple[str, int, int, int], str] = {}
        self._versions: dict[tuple[str, str], tuple[int, float, float, float | None]] | None = None

    def bulk_insert(
        self,
        table: str,
        columns: Mapping[str, list[Any]],
        *,
        json_cols: Sequence[str] = (),
        time_cols: Sequence[str] = (),
        bool_cols: Sequence[str] = (),
    ) -> None:
        """Insert columns of values through the driver, inside this run's transaction.

        The insert may still be running (on the worker thread) when this returns;
        see :meth:`insert_job` and :meth:`submit`.
        """
        self.submit(
            self.insert_job(
                table, columns, json_cols=json_cols, time_cols=time_cols, bool_cols=bool_cols
            )
        )

    def insert_job(
        self,
        table: str,
        columns: Mapping[str, list[Any]],
        *,
        json_cols: Sequence[str] = (),
        time_cols: Sequence[str] = (),
        bool_cols: Sequence[str] = (),
    ) -> Callable[[], None]:
        """Convert columns of values for the driver; return the insert, to be run later.

        SQLAlchemy's per-row parameter processing costs more than the insert
        itself at millions of rows, so values are converted here column by
        column: JSON to text, and on SQLite times to the text form SQLAlchemy
        itself stores and parses, and booleans to the integers 1 and 0 it
        stores (sqlite3 binds an int directly, but passes a bool through its
        adapter lookup: a quarter of the insert's time at a million rows). A
        column holding one value for the whole batch (the version, the arrival
        time, no call) is converted once.
        """
        sqlite = self.conn.dialect.name == "sqlite"
        data: dict[str, list[Any]] = {}
        same: dict[str, Any] = {}
        for name, values in columns.items():
            if _constant(values):
                same[name] = values[0]
            else:
                data[name] = values
        for name in json_cols:
            if name in same:
                same[name] = None if same[name] is None else json.dumps(same[name])
            else:
                data[name] = [None if v is None else json.dumps(v) for v in data[name]]
        if sqlite:
            for name in bool_cols:
                if name in same:
                    same[name] = _AS_INT[same[name]]
                else:
                    data[name] = list(map(_AS_INT.__getitem__, data[name]))
            for name in time_cols:
                if name in same:
                    t = same[name]
                    same[name] = None if t is None else _sqlite_time(t)
                else:
                    cache: dict[dt.datetime, str] = {}
                    data[name] = [
                        None if t is None else cache.get(t) or cache.setdefault(t, _sqlite_time(t))
                        for t in data[name]
                    ]
        n = len(next(iter(columns.values())))
        if sqlite:
            return partial(self._insert_sqlite, table, n, data, same)
        return partial(self._copy, table, n, {**data, **{k: repeat(v) for k, v in same.items()}})

    def submit(self, job: Callable[[], None]) -> None:
        """Run ``job`` (which uses this run's connection) once the previous one is done.

        With a worker pool the job runs on the worker thread and this returns at
        once: the database works on this batch while the caller parses the next
        one (sqlite3 and psycopg release the GIL while the engine runs).
        """
        self.sync()
        if self.pool is None:
            job()
        else:
            self.pending = self.pool.submit(job)

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
        bool_cols: Sequence[str] = (),
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
                bool_cols=bool_cols,
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

    def _insert_sqlite(
        self, table: str, n: int, data: dict[str, list[Any]], same: dict[str, Any]
    ) -> None:
        """Insert ``n`` rows with multi-row ``VALUES`` statements.

        ``executemany`` binds and steps one row at a time, and binding each
        value from Python costs about as much as SQLite's own work; a
        statement of a few hundred rows, each batch-constant value bound once
        per statement (numbered parameters), inserts 2 to 3 times faster.
        Each statement is one release of the GIL (while SQLite works), so the
        thread that parses the next batch runs meanwhile.
        """
        driver = self.conn.connection.driver_connection
        assert driver is not None
        names = [*data, *same]
        width = len(data)
        per_stmt = max(1, min(_ROWS_PER_INSERT, (_max_params(driver) - len(same)) // max(width, 1)))
        flat = list(chain.from_iterable(zip(*data.values(), strict=True))) if width else []
        consts = list(same.values())
        head = f"INSERT INTO {table} ({', '.join(names)}) VALUES "

        def statement(rows: int) -> str:
            key = (head, width, len(same), rows)
            sql = self._sql.get(key)
            if sql is None:
                last = rows * width
                tail = [f"?{last + j + 1}" for j in range(len(same))]
                sql = self._sql[key] = head + ", ".join(
                    "(" + ", ".join([*(f"?{r * width + j + 1}" for j in range(width)), *tail]) + ")"
                    for r in range(rows)
                )
            return sql

        cur = driver.cursor()
        try:
            full, rest = divmod(n, per_stmt)
            if full:
                sql, step = statement(per_stmt), per_stmt * width
                for start in range(0, full * step, step):
                    cur.execute(sql, flat[start : start + step] + consts)
            if rest:
                cur.execute(statement(rest), flat[full * per_stmt * width :] + consts)
        finally:
            cur.close()

    def _copy(self, table: str, n: int, data: dict[str, Iterable[Any]]) -> None:
        driver = self.conn.connection.driver_connection
        assert driver is not None
        sql = f"COPY {table} ({', '.join(data)}) FROM STDIN"
        with driver.cursor() as cur, cur.copy(sql) as copy:
            for row in islice(zip(*data.values(), strict=False), n):  # constants repeat
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
        conn: Connection | None = None,
    ) -> list[Any]:
        """Rows of ``table`` whose ``key`` is one of ``values`` (and ``where`` holds).

        Plain driver SQL, in chunks: compiling an expanding IN of thousands of
        values costs more than the lookup. On PostgreSQL the values are joined
        from ``unnest`` so that the planner looks each one up in the index; with
        ``= ANY`` and statistics that predate this transaction's inserts it
        would scan every row inserted so far, once per batch. ``where`` uses
        ``?`` placeholders bound to ``params``; columns are prefixed ``t.``.
        ``conn`` is this run's connection unless another is given.
        """
        conn = conn or self.conn
        out: list[Any] = []
        sqlite = conn.dialect.name == "sqlite"
        cond = f" AND {where}" if where else ""
        for part in _chunks(values, self.in_chunk):
            if sqlite:
                marks = ", ".join("?" * len(part))
                sql = f"SELECT {columns} FROM {table} t WHERE t.{key} IN ({marks}){cond}"
                out.extend(conn.exec_driver_sql(sql, (*part, *params)).all())
            else:
                kind = "text" if part and isinstance(part[0], str) else "bigint"
                sql = (
                    f"SELECT {columns} FROM unnest(%s::{kind}[]) AS k(v) "
                    f"JOIN {table} t ON t.{key} = k.v{cond.replace('?', '%s')}"
                )
                out.extend(conn.exec_driver_sql(sql, (list(part), *params)).all())
        return out

    def study_ids(self, keys: Iterable[str]) -> dict[str, int]:
        rows = self.select_in("study", "t.study_key, t.id", "study_key", list(set(keys)))
        return {key: sid for key, sid in rows}

    def committed_study_ids(self, keys: Sequence[str]) -> np.ndarray:
        """Ids of studies committed before this run (0 if none), on a second connection.

        While this run's connection inserts one batch on the worker thread, the
        next batch's studies are looked up here, so the lookups leave the
        critical path. Only for files that create no studies (results): their
        studies were committed before. The foreign key on every inserted row
        still checks that each study exists when the row is written.

        On SQLite the keys go in as one JSON array and the ids come back as two
        comma-separated lists (positions, ids) in one row: fetching a row per
        key would cost a Python tuple and a release of the GIL per key, and the
        worker thread needs the GIL for its inserts.
        """
        if self._reader is None:
            self._reader = self.conn.engine.connect()
            if self._reader.dialect.name != "sqlite":
                # As on the run's connection: index lookups, whatever the statistics say.
                self._reader.exec_driver_sql("SET LOCAL enable_seqscan = off")
        ids = np.zeros(len(keys), dtype=np.int64)
        if self._reader.dialect.name != "sqlite":
            rows = self.select_in(
                "study", "t.study_key, t.id", "study_key", keys, conn=self._reader
            )
            found = dict(rows)
            ids[:] = [found.get(k, 0) for k in keys]
            return ids
        sql = (
            "SELECT group_concat(j.key), group_concat(s.id) FROM json_each(?) j "
            "JOIN study s ON s.study_key = j.value"
        )
        for start in range(0, len(keys), self.in_chunk):
            part = keys[start : start + self.in_chunk]
            at, found = self._reader.exec_driver_sql(sql, (json.dumps(list(part)),)).one()
            if at:
                where = np.array(at.split(","), dtype=np.int64)
                ids[start + where] = np.array(found.split(","), dtype=np.int64)
        return ids

    def close_reader(self) -> None:
        """Close the second connection, if open.

        Before the commit: an open reader would hold back SQLite's checkpoint.
        """
        if self._reader is not None:
            reader, self._reader = self._reader, None
            reader.rollback()
            reader.close()

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
