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

The work is split over private modules: :mod:`._ingest_run` (one run's state,
bulk writes and key lookups), :mod:`._ingest_writers` (studies, results,
references) and :mod:`._ingest_transaction` (the transaction, the ingestion
log and the audit events).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from radassure.errors import DataValidationError, InputProblem
from radassure.ingest import ACQ_PREFIX, CONTRACTS, CsvSource, Header, check_header
from radassure.ingest.columnar import (
    ArrowCsvSource,
    FastPathDeclinedError,
    ResultColumns,
    validate_result_columns,
)
from radassure.services._access import Actor, require
from radassure.services._ingest_run import ON_CONFLICT
from radassure.services._ingest_transaction import IngestSummary, _ingest, _rejections_audited
from radassure.services._ingest_writers import _resolve_result_columns, _write_result_columns
from radassure.services.store import Store

__all__ = ["ON_CONFLICT", "IngestSummary", "ProgressFn", "ingest_csv", "ingest_records"]

#: Called after each batch with (bytes done, bytes total, rows done).
ProgressFn = Callable[[int, int, int], None]


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
    started = time.perf_counter()  # the summary's time includes a declined fast path
    with _rejections_audited(store, actor, kind, Path(path).name, address):
        if kind == "results":
            try:
                fast = ArrowCsvSource(path, kind, mapping=mapping, delimiter=delimiter,
                                      batch_rows=store.settings.ingest_batch_rows)  # fmt: skip
                return _ingest_csv(
                    store, kind, fast, on_conflict=on_conflict, create_sites=create_sites,
                    actor=actor, address=address, progress=progress, fast=True, started=started,
                )  # fmt: skip
            except FastPathDeclinedError:
                pass  # nothing was written; the row path reads the file and names any problem
        src = CsvSource(
            path,
            kind,
            mapping=mapping,
            delimiter=delimiter,
            batch_rows=store.settings.ingest_batch_rows,
        )
        return _ingest_csv(
            store, kind, src, on_conflict=on_conflict, create_sites=create_sites, actor=actor,
            address=address, progress=progress, started=started,
        )  # fmt: skip


def _ingest_csv(
    store: Store,
    kind: str,
    src: CsvSource | ArrowCsvSource,
    *,
    on_conflict: str,
    create_sites: bool,
    actor: Actor,
    address: str | None,
    progress: ProgressFn | None,
    fast: bool = False,
    started: float | None = None,
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
        validate=_validate_columns if fast else None,
        prepare=_resolve_result_columns if fast else None,
        write=_write_result_columns if fast else None,
        started=started,
    )


def _validate_columns(
    first: int, batch: Any, header: Header, pseudo: Any, *, now: dt.datetime, **_: Any
) -> tuple[ResultColumns, list[InputProblem], bool]:
    # The fast path has no problems to report: it declines at the first one.
    return validate_result_columns(batch, header, pseudo, now=now), [], False


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
