"""Writers of one validated batch each: studies, AI results and reference standards.

Each resolves the batch's keys against the store (through the run's lookups),
reports unknown keys, duplicates inside the file and conflicts with stored
rows, then inserts the new rows and applies updates while the run is still
writing (see :class:`~radassure.services._ingest_run._Run`).
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import repeat
from typing import Any

import numpy as np
from sqlalchemy import bindparam, insert, select, update

from radassure.db import AIResult, Reference, Site, Study
from radassure.ingest import ReferenceRecord, ResultBatch, StudyRecord
from radassure.ingest.columnar import FastPathDeclinedError, ResultColumns
from radassure.services._ingest_run import _chunks, _Run

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
def _result_key(vid: Any, sid: Any, fid: Any) -> Any:
    """One integer per (version id, study id, finding id), for arrays or scalars."""
    return (vid << 44) | (sid << 12) | fid


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
    sid = np.fromiter(map(study_ids.get, batch.study_key, repeat(0)), dtype=np.int64, count=n)
    for finding in set(batch.finding):
        run.finding_id(finding)
    fid = np.fromiter(map(run.findings.__getitem__, batch.finding), dtype=np.int64, count=n)
    if None in batch.score:
        scores = np.array([np.nan if x is None else x for x in batch.score], dtype=np.float64)
    else:
        scores = np.array(batch.score, dtype=np.float64)
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
    keys = _result_key(vid, sid, fid)
    order = np.argsort(keys, kind="stable")
    dup = np.zeros(n, dtype=bool)
    dup[order[1:]] = keys[order[1:]] == keys[order[:-1]]
    for i in np.flatnonzero(ok & dup).tolist():
        ok[i] = False
        run.duplicate_row(rows[i], "tool, version, study_id and finding")
    # Calls: as given, else derived from the version's operating threshold.
    with np.errstate(invalid="ignore"):
        derived = (scores >= thr).tolist()
    derivable = has_score & ~np.isnan(thr)
    calls: list[bool | None]
    if batch.call.count(None) == n and derivable.all():
        calls = derived  # the usual file: scores only, the version has a threshold
    else:
        calls = [
            c if c is not None else (d if can else None)
            for c, d, can in zip(batch.call, derived, derivable.tolist(), strict=True)
        ]
    keep = np.flatnonzero(ok)
    existing = _stored_results(run, vid[keep], sid[keep])
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
    }, json_cols=("localisations",), time_cols=("received_at",),
       bool_cols=("call",))  # fmt: skip
    run.inserted += m


def _resolve_result_columns(run: _Run, cols: ResultColumns) -> tuple[Callable[[], None], int]:
    """Resolve and check a clean column-wise batch (the fast path), or decline it.

    Runs while the previous batch is still being inserted, so it uses only the
    run's second connection (for the studies) and cached lookups. The checks
    are those of :func:`_write_results`, made per distinct value (tool and
    version, study, finding) and with numpy over the rows. The fast path
    writes only new rows of a clean file: an unknown tool, version or study, a
    score out of range, a duplicate key or a row already stored raises
    :class:`FastPathDeclinedError`, and the caller ingests the file through
    the row path, which names each problem or applies ``on_conflict``.

    Returns
    -------
    job, rows
        The insert, to be run on the run's connection (it declines the file if
        the database refuses a row: a key stored already), and its number of rows.

    """
    n = len(cols)
    versions = run.versions()
    info = [versions.get(pair) for pair in cols.pairs]
    if any(v is None for v in info):
        raise FastPathDeclinedError("unknown tool or version")
    sid_of = run.committed_study_ids(cols.study_keys)
    if not sid_of.all():
        raise FastPathDeclinedError("unknown study")
    codes = cols.pair_codes
    vid = np.array([v[0] for v in info if v], dtype=np.int64)[codes]
    sid = sid_of[cols.study_codes]
    fid = np.array([run.finding_id(f) for f in cols.findings], dtype=np.int64)[cols.finding_codes]
    scores = cols.score
    thr = np.array([np.nan if v[3] is None else v[3] for v in info if v])[codes]
    if scores is not None:
        lo = np.array([v[1] for v in info if v])[codes]
        hi = np.array([v[2] for v in info if v])[codes]
        if ((scores < lo) | (scores > hi)).any():
            raise FastPathDeclinedError("score out of range")
    keys = np.sort(_result_key(vid, sid, fid))
    if (keys[1:] == keys[:-1]).any():
        raise FastPathDeclinedError("duplicate key in the batch")
    # Calls: as given, else derived from the version's operating threshold.
    calls: list[bool | None]
    if scores is not None:
        with np.errstate(invalid="ignore"):
            derived = np.where(np.isnan(thr), -1, scores >= thr).astype(np.int8)
    else:
        derived = np.full(n, -1, dtype=np.int8)
    given = cols.call if cols.call is not None else np.full(n, -1, dtype=np.int8)
    merged = np.where(given >= 0, given, derived)
    if (merged >= 0).all():
        calls = (merged == 1).tolist()
    else:
        calls = [None if c < 0 else c == 1 for c in merged.tolist()]
    received = cols.received_at
    insert = run.insert_job("ai_result", {
        "version_id": vid.tolist(),
        "study_id": sid.tolist(),
        "finding": np.array(cols.findings, dtype=object)[cols.finding_codes].tolist(),
        "score": scores.tolist() if scores is not None else [None] * n,
        "call": calls,
        "localisations": cols.localisations or [None] * n,
        "received_at": [run.now] * n if received is None else [t or run.now for t in received],
    }, json_cols=("localisations",), time_cols=("received_at",),
       bool_cols=("call",))  # fmt: skip

    def job() -> None:
        # Rows already stored (by an earlier ingestion, or by an earlier batch of this
        # file) break the unique key: the row path then sorts them out (unchanged,
        # conflict, duplicate). Catching the refusal costs nothing on a clean file,
        # where probing for stored rows before every batch would.
        try:
            insert()
        except run.integrity_errors as exc:
            raise FastPathDeclinedError(
                f"a row refused by the database ({type(exc).__name__})"
            ) from exc

    return job, n


def _write_result_columns(run: _Run, prepared: tuple[Callable[[], None], int]) -> None:
    """Insert a batch resolved by :func:`_resolve_result_columns` (on the worker thread)."""
    job, n = prepared
    if run.writing:
        run.submit(job)
        run.inserted += n


def _stored_results(
    run: _Run,
    vid: np.ndarray,
    sid: np.ndarray,
    *,
    finding_id: Callable[[str], int] | None = None,
) -> dict[int, tuple[int, float | None, bool | None, Any]]:
    """Stored results for the given (version id, study id) rows, by row key.

    The key is :func:`_result_key` of (version, study, finding id); the value is
    the stored (id, score, call, localisations). ``finding_id`` (the run's by
    default) numbers findings; a stored finding it gives -1 is left out.
    """
    finding_id = finding_id or run.finding_id
    existing: dict[int, tuple[int, float | None, bool | None, Any]] = {}
    for version_id in np.unique(vid).tolist():
        sids = np.unique(sid[vid == version_id]).tolist()
        # Cheapest probe first: one index range read. Results usually come in the
        # order their studies were ingested, so a first ingestion finds nothing
        # stored in the batch's range of study ids and skips the per-study probe.
        in_range = AIResult.study_id.between(sids[0], sids[-1])
        probe = select(AIResult.id).where(AIResult.version_id == version_id, in_range).limit(1)
        if run.conn.execute(probe).first() is None:
            continue
        # Cheap probe next: a study with nothing stored skips the detailed read.
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
                fid = finding_id(finding)
                if fid >= 0:
                    existing[_result_key(version_id, s_id, fid)] = (rid, score, call, loc)
    return existing


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
        bool_cols=("label",),
    )
