"""One ingestion in one transaction: the batch loop, the log, the audit events.

:func:`_ingest` picks the validator and writer for a kind and translates a
database refusal into :class:`~radassure.errors.DatabaseError`;
:func:`_ingest_in_transaction` streams the batches through them, rolls back
on any problem and otherwise writes the ingestion log and the
``ingest.accepted`` event; :func:`_rejections_audited` records a refused file.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import insert
from sqlalchemy.exc import SQLAlchemyError

from radassure.db import IngestLog
from radassure.db.models import utcnow
from radassure.errors import DatabaseError, DataValidationError, InputProblem
from radassure.ingest import (
    Header,
    Pseudonymiser,
    validate_references,
    validate_results,
    validate_studies,
)
from radassure.services._access import Actor
from radassure.services._ingest_run import _Run
from radassure.services._ingest_writers import _write_references, _write_results, _write_studies
from radassure.services.audit import record
from radassure.services.store import Store


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
    #: Whether the file was read column by column (a clean results file); False
    #: when it was read row by row, including after the fast path declined it.
    fast_path: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return asdict(self)


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
    validate: Callable[..., tuple[Any, list[InputProblem], bool]] | None = None,
    prepare: Callable[[_Run, Any], Any] | None = None,
    write: Callable[[_Run, Any], None] | None = None,
    started: float | None = None,
) -> IngestSummary:
    if kind not in _WRITERS:
        raise ValueError(f"Unknown record kind {kind!r}; use studies, results or references.")
    started = time.perf_counter() if started is None else started
    validate = validate or _VALIDATORS[kind]
    write = write or _WRITERS[kind]
    try:
        # The row path makes a list per row and needs the collector paused; the fast
        # path makes a few arrays per batch and ran as fast with it on (measured), so
        # it leaves the collector alone (it is process-wide: `serve` runs requests beside).
        with _cyclic_gc_paused() if prepare is None else nullcontext():
            return _ingest_in_transaction(
                store,
                kind,
                source,
                batches=batches,
                header=header,
                fingerprint=fingerprint,
                validate=validate,
                prepare=prepare,
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
    prepare: Callable[[_Run, Any], Any] | None,
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
        # Foreign keys stay enforced row by row (the engine turns them on for SQLite):
        # measured at 3 to 7% of the ingestion time, a small price for a second check
        # behind this run's own lookups.
        sqlite = conn.dialect.name == "sqlite"
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
                        if prepare is not None:
                            # While the previous batch is still being inserted.
                            recs = prepare(run, recs)
                        run.sync()
                        write(run, recs)
                    if progress is not None:
                        progress(run.rows)
            finally:
                run.close_reader()
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
                fast_path=prepare is not None,
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
    return summary


class _GcPause:
    """Counts the ingestions running, so the last one to end resumes the collector."""

    lock = threading.Lock()
    running = 0
    was_enabled = False


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a file is ingested.

    A batch holds tens of thousands of row lists and tuples; each time the
    collector's counters trip it walks every tracked object, and at a million
    rows the full collections alone took a quarter of the ingestion time.
    Ingestion makes no reference cycles (its objects are freed by reference
    counting as each batch is done), so pausing the collector frees nothing
    later; it resumes when the last concurrent ingestion ends, as it was.
    """
    with _GcPause.lock:
        if _GcPause.running == 0:
            _GcPause.was_enabled = gc.isenabled()
            gc.disable()
        _GcPause.running += 1
    try:
        yield
    finally:
        with _GcPause.lock:
            _GcPause.running -= 1
            if _GcPause.running == 0 and _GcPause.was_enabled:
                gc.enable()


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
