"""The data a validation run uses: the query, its fingerprint and the cohort summary.

Results and reference standards are matched on (study, finding); only results
with a reference standard enter the analysis, and the rows are read in result
id order so that the fingerprint is the same on SQLite and PostgreSQL for the
same stored data.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from radassure.db.models import ETHNIC_CATEGORIES, SEX_CODES, AIResult, Reference, Site, Study
from radassure.errors import NotFoundError

__all__ = ["Scope", "ValidationRows", "cohort_summary", "load_rows", "window_counts"]

_AGE_BANDS = ((0, 17, "0-17"), (18, 39, "18-39"), (40, 59, "40-59"), (60, 79, "60-79"))
_NOT_RECORDED = "not recorded"


@dataclass(frozen=True)
class Scope:
    """Which results a run covers: one version, optionally a site, dates and a finding."""

    version_id: int
    site: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    finding: str | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        """SQL conditions on ``AIResult``, ``Study`` and ``Site`` selecting the scope."""
        conds: list[ColumnElement[bool]] = [AIResult.version_id == self.version_id]
        if self.site is not None:
            conds.append(Site.code == self.site)
        if self.date_from is not None:
            conds.append(Study.acquired_at >= dt.datetime.combine(self.date_from, dt.time()))
        if self.date_to is not None:
            # --to names a whole day: everything acquired before the next midnight.
            end = dt.datetime.combine(self.date_to + dt.timedelta(days=1), dt.time())
            conds.append(Study.acquired_at < end)
        if self.finding is not None:
            conds.append(AIResult.finding == self.finding)
        return conds

    def describe(self) -> str:
        """The scope in words, e.g. ``"at site NWG acquired from 2025-08-01"``; empty for all."""
        parts = []
        if self.finding is not None:
            parts.append(f"for finding {self.finding!r}")
        if self.site is not None:
            parts.append(f"at site {self.site}")
        if self.date_from is not None and self.date_to is not None:
            parts.append(f"acquired {self.date_from} to {self.date_to}")
        elif self.date_from is not None:
            parts.append(f"acquired from {self.date_from}")
        elif self.date_to is not None:
            parts.append(f"acquired up to {self.date_to}")
        return " ".join(parts)

    def suffix(self) -> str:
        """:meth:`describe` with a leading space, or nothing for the whole data."""
        text = self.describe()
        return f" {text}" if text else ""


@dataclass
class ValidationRows:
    """Matched result and reference rows, one entry per result, in result id order."""

    result_id: npt.NDArray[np.int64]
    study_id: npt.NDArray[np.int64]
    finding: npt.NDArray[np.str_]
    score: npt.NDArray[np.float64]  # NaN where the tool gave only a call
    call: npt.NDArray[np.int8]  # 1, 0, or -1 where no call is stored
    label: npt.NDArray[np.bool_]
    acquired_at: list[dt.datetime]
    source: list[str]
    site: list[str]
    scanner: list[str]
    software: list[str]
    sex: list[str]
    age: list[int | None]
    ethnic_group: list[str | None]
    deprivation: list[int | None]
    result_loc: list[Any]
    reference_loc: list[Any]
    # Scanner manufacturer and model apart (None when not recorded), for equity runs.
    manufacturer: list[str | None] = field(default_factory=list)
    model: list[str | None] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.result_id.size)

    def fingerprint(self, *, with_localisations: bool) -> str:
        """SHA-256 over the ordered (result id, score, call, label) tuples used.

        Detection and segmentation runs also use the localisations, so those
        are hashed too (as canonical JSON).
        """
        # One line per row: "id<TAB>score<TAB>call<TAB>label[<TAB>json<TAB>json]\n", with
        # repr() of the score so that equal floats give equal text on every database.
        scores = ["" if math.isnan(x) else repr(x) for x in self.score.tolist()]
        calls = [{1: "1", 0: "0"}.get(c, "") for c in self.call.tolist()]
        lines = [
            f"{rid}\t{sc}\t{c}\t{int(lab)}"
            for rid, sc, c, lab in zip(
                self.result_id.tolist(), scores, calls, self.label.tolist(), strict=True
            )
        ]
        if with_localisations:
            lines = [
                f"{line}\t{json.dumps(a, sort_keys=True)}\t{json.dumps(b, sort_keys=True)}"
                for line, a, b in zip(lines, self.result_loc, self.reference_loc, strict=True)
            ]
        digest = hashlib.sha256()
        # Hashing in slices keeps memory flat; the digest equals one pass over all lines.
        for start in range(0, len(lines), 50_000):
            digest.update("".join(f"{x}\n" for x in lines[start : start + 50_000]).encode())
        return digest.hexdigest()


def window_counts(session: Session, scope: Scope) -> dict[str, tuple[int, int]]:
    """Per finding: results in the scope, and how many of them have a reference standard."""
    stmt = (
        select(AIResult.finding, func.count(AIResult.id), func.count(Reference.id))
        .join(Study, Study.id == AIResult.study_id)
        .join(Site, Site.id == Study.site_id)
        .outerjoin(
            Reference,
            (Reference.study_id == AIResult.study_id) & (Reference.finding == AIResult.finding),
        )
        .where(*scope.conditions())
        .group_by(AIResult.finding)
        .order_by(AIResult.finding)
    )
    return {f: (int(n), int(k)) for f, n, k in session.execute(stmt).all()}


def load_rows(session: Session, scope: Scope, *, localisations: bool) -> ValidationRows:
    """Read every result in the scope that has a reference standard."""
    cols = [
        AIResult.id,
        AIResult.study_id,
        AIResult.finding,
        AIResult.score,
        AIResult.call,
        Reference.label,
        Study.acquired_at,
        Reference.source,
        Site.code,
        Study.manufacturer,
        Study.model,
        Study.software_version,
        Study.sex,
        Study.age_years,
        Study.ethnic_group,
        Study.deprivation_decile,
    ]
    if localisations:
        cols += [AIResult.localisations, Reference.localisations]
    stmt = (
        select(*cols)
        .join(Study, Study.id == AIResult.study_id)
        .join(Site, Site.id == Study.site_id)
        .join(
            Reference,
            (Reference.study_id == AIResult.study_id) & (Reference.finding == AIResult.finding),
        )
        .where(*scope.conditions())
        .order_by(AIResult.id)
    )
    # Core rows through the session's connection: no ORM processing of 100,000s of rows.
    rows = session.connection().execute(stmt).all()
    if not rows:
        raise NotFoundError("No results with a reference standard are in this scope.")
    cols_t = list(zip(*rows, strict=True))
    n = len(rows)
    return ValidationRows(
        result_id=np.asarray(cols_t[0], dtype=np.int64),
        study_id=np.asarray(cols_t[1], dtype=np.int64),
        finding=np.asarray(cols_t[2], dtype=np.str_),
        score=np.array([np.nan if v is None else float(v) for v in cols_t[3]], dtype=np.float64),
        call=np.array([-1 if v is None else int(bool(v)) for v in cols_t[4]], dtype=np.int8),
        label=np.array([bool(v) for v in cols_t[5]], dtype=np.bool_),
        acquired_at=list(cols_t[6]),
        source=list(cols_t[7]),
        site=list(cols_t[8]),
        scanner=[
            " ".join(p for p in (m, mo) if p) or _NOT_RECORDED
            for m, mo in zip(cols_t[9], cols_t[10], strict=True)
        ],
        software=[v or _NOT_RECORDED for v in cols_t[11]],
        sex=list(cols_t[12]),
        age=list(cols_t[13]),
        ethnic_group=list(cols_t[14]),
        deprivation=list(cols_t[15]),
        result_loc=list(cols_t[16]) if localisations else [None] * n,
        reference_loc=list(cols_t[17]) if localisations else [None] * n,
        manufacturer=[v or None for v in cols_t[9]],
        model=[v or None for v in cols_t[10]],
    )


def _age_band(age: int | None) -> str:
    if age is None:
        return _NOT_RECORDED
    for low, high, name in _AGE_BANDS:
        if low <= age <= high:
            return name
    return "80+"


def _ordered(counts: Counter[str], order: tuple[str, ...] | None) -> list[str]:
    if order is None:  # by size, largest first; ties by name for a stable report
        return sorted(counts, key=lambda g: (-counts[g], g))
    known = [g for g in order if g in counts]
    return known + sorted(g for g in counts if g not in order)


def cohort_summary(rows: ValidationRows, *, positives: bool) -> dict[str, Any]:
    """Studies (and positive cases per finding) by site, scanner and patient group.

    Parameters
    ----------
    rows : ValidationRows
        The rows the run uses.
    positives : bool
        Count positive reference labels per finding in each group (not for
        segmentation, where every structure is present).

    Returns
    -------
    dict
        ``studies`` (distinct), ``first``/``last`` acquisition, ``sources``
        (reference standard sources) and ``groups``: for each dimension a list
        of ``{"group", "studies", "positives": {finding: count}}``.

    """
    first: dict[int, int] = {}
    for i, sid in enumerate(rows.study_id.tolist()):
        first.setdefault(sid, i)
    idx = list(first.values())
    dims: dict[str, tuple[list[str], tuple[str, ...] | None]] = {
        "site": ([rows.site[i] for i in idx], None),
        "scanner": ([rows.scanner[i] for i in idx], None),
        "software_version": ([rows.software[i] for i in idx], None),
        "sex": ([rows.sex[i] for i in idx], SEX_CODES),
        "age_band": (
            [_age_band(rows.age[i]) for i in idx],
            (*(b[2] for b in _AGE_BANDS), "80+", _NOT_RECORDED),
        ),
        "ethnic_group": (
            [rows.ethnic_group[i] or _NOT_RECORDED for i in idx],
            (*ETHNIC_CATEGORIES, _NOT_RECORDED),
        ),
        "deprivation_decile": (
            [
                _NOT_RECORDED if rows.deprivation[i] is None else str(rows.deprivation[i])
                for i in idx
            ],
            (*(str(d) for d in range(1, 11)), _NOT_RECORDED),
        ),
    }
    ids = np.asarray(list(first), dtype=np.int64)
    order = np.argsort(ids)
    # Position of each row's study among the sorted distinct studies.
    where = np.searchsorted(ids[order], rows.study_id)
    groups: dict[str, list[dict[str, Any]]] = {}
    findings = sorted(set(rows.finding.tolist()))
    for dim, (values, ordering) in dims.items():
        counts = Counter(values)
        pos: dict[str, Counter[str]] = {f: Counter() for f in findings}
        if positives:
            study_group = np.asarray(values, dtype=object)[order]
            for f in findings:
                hit = (rows.finding == f) & rows.label
                pos[f] = Counter(study_group[where[hit]].tolist())
        groups[dim] = [
            {
                "group": g,
                "studies": counts[g],
                "positives": {f: pos[f][g] for f in findings} if positives else {},
            }
            for g in _ordered(counts, ordering)
        ]
    times = rows.acquired_at
    return {
        "studies": len(first),
        "first": min(times).isoformat() if times else None,
        "last": max(times).isoformat() if times else None,
        "sources": dict(sorted(Counter(rows.source).items())),
        "groups": groups,
    }
