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
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from radassure.db import AIResult, AITool, IngestLog, Reference, Site, Study, ToolVersion
from radassure.db.models import utcnow
from radassure.errors import DatabaseError, DataValidationError, InputProblem
from radassure.ingest import (
    CONTRACTS,
    CsvSource,
    Header,
    Pseudonymiser,
    ReferenceRecord,
    ResultRecord,
    StudyRecord,
    check_header,
    validate_references,
    validate_results,
    validate_studies,
)
from radassure.services.store import Store

__all__ = ["ON_CONFLICT", "IngestSummary", "ProgressFn", "ingest_csv", "ingest_records"]

ON_CONFLICT = ("error", "skip", "update")
#: Called after each batch with (bytes done, bytes total, rows done).
ProgressFn = Callable[[int, int, int], None]
_IN_CHUNK = 900  # below SQLite's oldest bound-parameter limit (999)


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
    ) -> None:
        if on_conflict not in ON_CONFLICT:
            raise ValueError(f"on_conflict must be one of {', '.join(ON_CONFLICT)}, "
                             f"not {on_conflict!r}.")
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
        self.seen: set[int] = set()
        self.findings: dict[str, int] = {}
        self._sites: dict[str, int] | None = None
        self._versions: dict[tuple[str, str], tuple[int, float, float, float | None]] | None = None

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
                select(AITool.name, ToolVersion.version, ToolVersion.id, ToolVersion.score_min,
                       ToolVersion.score_max, ToolVersion.operating_threshold)
                .join(ToolVersion, ToolVersion.tool_id == AITool.id)
            )
            self._versions = {(t, v): (i, lo, hi, th) for t, v, i, lo, hi, th in rows}
        return self._versions

    def study_ids(self, keys: Iterable[str]) -> dict[str, int]:
        unique = list(set(keys))
        found: dict[str, int] = {}
        for part in _chunks(unique):
            found.update(
                self.conn.execute(
                    select(Study.study_key, Study.id).where(Study.study_key.in_(part))
                ).all()
            )
        return found

    def unknown_study(self, row: int) -> None:
        self.problem(row, "study_id", "no study with this study_id has been ingested; ingest "
                     "the studies file first (`radassure ingest studies`).")

    def duplicate(self, key: int, row: int, what: str) -> bool:
        if key in self.seen:
            self.problem(row, None, f"duplicate: an earlier row of this file has the same {what}; "
                         "keep one row per key.")
            return True
        self.seen.add(key)
        return False

    def conflict(self, row: int, column: str, stored: Any, given: Any) -> None:
        self.problem(row, column, f"conflicts with what is stored ({stored!r}, file has "
                     f"{given!r}). If the file is right, ingest with --on-conflict update; to "
                     "keep what is stored, use --on-conflict skip.")


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
    ready: list[tuple[StudyRecord, dict[str, Any]]] = []
    for rec in recs:
        site_id = sites.get(rec.site)
        if site_id is None:
            if run.create_sites and run.writing:
                site_id = run.conn.execute(
                    insert(Site).values(code=rec.site, name=rec.site, created_at=run.now)
                    .returning(Site.id)
                ).scalar_one()
                sites[rec.site] = site_id
                run.sites_created.append(rec.site)
            else:
                run.problem(rec.row, "site", f"site {rec.site!r} is not registered; register it "
                            f"with `radassure site add {rec.site} --name ...` or ingest with "
                            "--create-sites.")
                continue
        if run.duplicate(int(rec.study_key[:16], 16), rec.row, "study_id"):
            continue
        ready.append((rec, _study_values(rec, site_id)))
    existing: dict[str, dict[str, Any]] = {}
    for part in _chunks([values["study_key"] for _, values in ready]):
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
    if run.writing and new:
        run.conn.execute(insert(Study), new)
        run.inserted += len(new)
    if run.writing and updates:
        run.conn.execute(
            update(Study).where(Study.id == bindparam("_id")),
            [{k: v for k, v in u.items() if k != "study_key"} for u in updates],
        )
        run.updated += len(updates)


# -- results -----------------------------------------------------------------
def _write_results(run: _Run, recs: list[ResultRecord]) -> None:
    versions = run.versions()
    study_ids = run.study_ids(r.study_key for r in recs)
    ready: list[dict[str, Any]] = []
    rows: list[int] = []
    for rec in recs:
        ver = versions.get((rec.tool, rec.version))
        if ver is None:
            known = sorted(v for (t, v) in versions if t == rec.tool)
            if known:
                run.problem(rec.row, "version", f"tool {rec.tool!r} has no version "
                            f"{rec.version!r}; registered versions: {', '.join(known)}. Add it "
                            "with `radassure version add`.")
            else:
                run.problem(rec.row, "tool", f"no tool named {rec.tool!r} is registered "
                            "(or it has no versions); see `radassure tool list`.")
            continue
        version_id, lo, hi, threshold = ver
        score = rec.score
        if score is not None and not lo <= score <= hi:
            run.problem(rec.row, "score", f"{score!r} is outside the score range {lo:g} to "
                        f"{hi:g} of {rec.tool} {rec.version}.")
            continue
        study_id = study_ids.get(rec.study_key)
        if study_id is None:
            run.unknown_study(rec.row)
            continue
        key = (version_id << 44) | (study_id << 12) | run.finding_id(rec.finding)
        if run.duplicate(key, rec.row, "tool, version, study_id and finding"):
            continue
        call = rec.call
        if call is None and score is not None and threshold is not None:
            call = score >= threshold
        ready.append({
            "version_id": version_id, "study_id": study_id, "finding": rec.finding,
            "score": score, "call": call, "localisations": rec.localisations,
            "received_at": rec.received_at or run.now,
        })  # fmt: skip
        rows.append(rec.row)
    by_version: dict[int, list[int]] = {}
    for values in ready:
        by_version.setdefault(values["version_id"], []).append(values["study_id"])
    existing: dict[tuple[int, int, str], tuple[int, float | None, bool | None, Any]] = {}
    for version_id, sids in by_version.items():
        for part in _chunks(sorted(set(sids))):
            for rid, sid, finding, score, call, loc in run.conn.execute(
                select(AIResult.id, AIResult.study_id, AIResult.finding, AIResult.score,
                       AIResult.call, AIResult.localisations)
                .where(AIResult.version_id == version_id, AIResult.study_id.in_(part))
            ):
                existing[(version_id, sid, finding)] = (rid, score, call, loc)
    new: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for row, values in zip(rows, ready, strict=True):
        stored = existing.get((values["version_id"], values["study_id"], values["finding"]))
        if stored is None:
            new.append(values)
            continue
        rid, s_score, s_call, s_loc = stored
        given = (values["score"], values["call"], values["localisations"])
        if (s_score, s_call, s_loc) == given:
            run.unchanged += 1
        elif run.on_conflict == "error":
            field, old, now = next(
                (f, a, b) for f, a, b in zip(("score", "call", "localisations"),
                                             (s_score, s_call, s_loc), given, strict=True)
                if a != b
            )
            run.conflict(row, field, old, now)
        elif run.on_conflict == "skip":
            run.skipped += 1
        else:
            updates.append({"_id": rid, "score": values["score"], "call": values["call"],
                            "localisations": values["localisations"],
                            "received_at": values["received_at"]})
    if run.writing and new:
        run.conn.execute(insert(AIResult), new)
        run.inserted += len(new)
    if run.writing and updates:
        run.conn.execute(update(AIResult).where(AIResult.id == bindparam("_id")), updates)
        run.updated += len(updates)


# -- references --------------------------------------------------------------
def _write_references(run: _Run, recs: list[ReferenceRecord]) -> None:
    study_ids = run.study_ids(r.study_key for r in recs)
    ready: list[tuple[int, dict[str, Any]]] = []
    for rec in recs:
        study_id = study_ids.get(rec.study_key)
        if study_id is None:
            run.unknown_study(rec.row)
            continue
        if run.duplicate((study_id << 12) | run.finding_id(rec.finding), rec.row,
                         "study_id and finding"):
            continue
        ready.append((rec.row, {
            "study_id": study_id, "finding": rec.finding, "label": rec.label,
            "source": rec.source, "localisations": rec.localisations,
            "recorded_at": rec.recorded_at or run.now,
        }))  # fmt: skip
    existing: dict[tuple[int, str], tuple[int, bool, str, Any]] = {}
    for part in _chunks(sorted({v["study_id"] for _, v in ready})):
        for rid, sid, finding, label, source, loc in run.conn.execute(
            select(Reference.id, Reference.study_id, Reference.finding, Reference.label,
                   Reference.source, Reference.localisations)
            .where(Reference.study_id.in_(part))
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
        given = [values["label"], values["source"], values["localisations"]]
        if old == given:
            run.unchanged += 1
        elif run.on_conflict == "error":
            field, a, b = next(
                (f, a, b) for f, a, b in zip(("label", "source", "localisations"), old, given,
                                             strict=True) if a != b
            )
            run.conflict(row, field, a, b)
        elif run.on_conflict == "skip":
            run.skipped += 1
        else:
            updates.append({"_id": rid, **{k: v for k, v in values.items() if k != "study_id"}})
    if run.writing and new:
        run.conn.execute(insert(Reference), new)
        run.inserted += len(new)
    if run.writing and updates:
        run.conn.execute(
            update(Reference).where(Reference.id == bindparam("_id")),
            [{k: v for k, v in u.items() if k != "finding"} for u in updates],
        )
        run.updated += len(updates)


_VALIDATORS: dict[str, Callable[..., tuple[list[Any], list[InputProblem], bool]]] = {
    "studies": validate_studies,
    "results": validate_results,
    "references": validate_references,
}
_WRITERS: dict[str, Callable[[_Run, list[Any]], None]] = {
    "studies": _write_studies,
    "results": _write_results,
    "references": _write_references,
}


def _ingest(
    store: Store,
    kind: str,
    source: str,
    batches: Callable[[], Iterator[tuple[int, list[list[str]]]]],
    header: Callable[[], Header],
    fingerprint: Callable[[], str],
    *,
    on_conflict: str,
    create_sites: bool,
    actor: str | None,
    row_label: str,
    progress: Callable[[int], None] | None,
) -> IngestSummary:
    if kind not in _WRITERS:
        raise ValueError(f"Unknown record kind {kind!r}; use studies, results or references.")
    started = time.perf_counter()
    validate, write = _VALIDATORS[kind], _WRITERS[kind]
    try:
        return _ingest_in_transaction(store, kind, source, batches, header, fingerprint,
                                      validate, write, on_conflict=on_conflict,
                                      create_sites=create_sites, actor=actor,
                                      row_label=row_label, progress=progress, started=started)
    except SQLAlchemyError as exc:
        # Validation should make this unreachable; if the database still refuses a row,
        # say so plainly (the transaction was rolled back, nothing was written).
        raise DatabaseError(
            f"{source}: the database refused the data ({type(exc.orig or exc).__name__}: "
            f"{str(exc.orig or exc).splitlines()[0]}); nothing was written. Please report "
            "this with the file's first rows."
        ) from exc


def _ingest_in_transaction(
    store: Store,
    kind: str,
    source: str,
    batches: Callable[[], Iterator[tuple[int, list[list[str]]]]],
    header: Callable[[], Header],
    fingerprint: Callable[[], str],
    validate: Callable[..., tuple[list[Any], list[InputProblem], bool]],
    write: Callable[[_Run, list[Any]], None],
    *,
    on_conflict: str,
    create_sites: bool,
    actor: str | None,
    row_label: str,
    progress: Callable[[int], None] | None,
    started: float,
) -> IngestSummary:
    pseudo: Pseudonymiser = store.pseudonymiser
    settings = store.settings
    with store.engine.connect() as conn, conn.begin() as tx:
        run = _Run(conn, kind, source, on_conflict=on_conflict, create_sites=create_sites,
                   max_problems=settings.ingest_max_problems, row_label=row_label)
        for first, rows in batches():
            run.rows += len(rows)
            if run.full:
                continue  # keep reading so file-level faults (truncation) still surface
            recs, problems, overflow = validate(
                first, rows, header(), pseudo, now=run.now, source=source,
                max_problems=settings.ingest_max_problems, row_label=row_label,
            )
            run.extend(problems, overflow)
            if recs:
                write(run, recs)
            if progress is not None:
                progress(run.rows)
        if run.problems:
            tx.rollback()
            raise DataValidationError(run.problems, truncated=run.overflow)
        summary = IngestSummary(
            kind=kind, source=source, sha256=fingerprint(), rows=run.rows,
            inserted=run.inserted, unchanged=run.unchanged, updated=run.updated,
            skipped_conflicts=run.skipped, sites_created=tuple(run.sites_created),
            seconds=round(time.perf_counter() - started, 3),
        )
        conn.execute(insert(IngestLog).values(
            kind=kind, source_name=source[:500], sha256=summary.sha256, rows_total=run.rows,
            rows_inserted=run.inserted, rows_unchanged=run.unchanged, rows_updated=run.updated,
            started_at=run.now, finished_at=utcnow(), actor=actor,
        ))  # fmt: skip
    return summary


def ingest_csv(
    store: Store,
    kind: str,
    path: str | Path,
    *,
    mapping: Mapping[str, str] | None = None,
    delimiter: str = ",",
    on_conflict: str = "error",
    create_sites: bool = False,
    actor: str | None = None,
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
    actor : str, optional
        Who ingested (for the ingestion log).
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
    src = CsvSource(path, kind, mapping=mapping, delimiter=delimiter,
                    batch_rows=store.settings.ingest_batch_rows)

    def header() -> Header:
        assert src.header is not None  # set before the first batch is yielded
        return src.header

    def report(rows: int) -> None:
        if progress is not None:
            progress(src.bytes_read, src.total_bytes, rows)

    return _ingest(store, kind, src.source, src.batches, header, lambda: src.sha256,
                   on_conflict=on_conflict, create_sites=create_sites, actor=actor,
                   row_label="row", progress=report)


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
    actor: str | None = None,
) -> IngestSummary:
    """Ingest JSON-style records with the same contract and checks as CSV files.

    Each record is a mapping from contract column name to value. Problems are
    reported by 0-based record index.
    """
    if not records:
        raise DataValidationError([InputProblem(source, None, None, "has no records; send a "
                                                "non-empty list under 'records'.")])
    contract = [c.name for c in CONTRACTS[kind]] if kind in CONTRACTS else []
    names: list[str] = list(contract)
    extra: list[str] = []
    for rec in records:
        for key in rec:
            if key not in names and key not in extra:
                extra.append(key)
    names.extend(extra)
    hdr = check_header(names, kind, source)
    # Absent optional columns are sent as blanks; required ones must be present per record.
    required = {c.name for c in CONTRACTS[kind] if c.required}
    problems: list[InputProblem] = []
    rows: list[list[str]] = []
    for i, rec in enumerate(records):
        for name in sorted(required - set(rec)):
            if len(problems) < store.settings.ingest_max_problems:
                problems.append(InputProblem(source, i, name, "required field is missing.",
                                             "record"))
        rows.append([_as_text(rec.get(name)) for name in names])
    if problems:
        raise DataValidationError(problems)
    digest = hashlib.sha256(
        json.dumps(list(records), sort_keys=True, default=str).encode()
    ).hexdigest()
    size = store.settings.ingest_batch_rows

    def batches() -> Iterator[tuple[int, list[list[str]]]]:
        for start in range(0, len(rows), size):
            yield start, rows[start : start + size]

    return _ingest(store, kind, source, batches, lambda: hdr, lambda: digest,
                   on_conflict=on_conflict, create_sites=create_sites, actor=actor,
                   row_label="record", progress=None)
