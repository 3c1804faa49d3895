"""Row validators: raw strings in, typed pseudonymised records out.

Each validator checks one batch of rows against its contract and returns the
records that passed plus the problems found, so the caller can keep collecting
problems across the whole file and write nothing if any were found. Checks that
need the store (unknown tool, unknown study, score range of a version,
conflicts with stored rows) are made by the ingestion service.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from radassure.errors import InputProblem
from radassure.ingest.pseudonym import Pseudonymiser
from radassure.ingest.reader import Header

__all__ = [
    "ReferenceRecord",
    "ResultBatch",
    "ResultRecord",
    "StudyRecord",
    "parse_bool",
    "parse_time",
    "validate_references",
    "validate_results",
    "validate_studies",
]

ETHNIC = frozenset(
    ["A", "B", "C", "D", "E", "F", "G", "H", "J", "K", "L", "M", "N", "P", "R", "S", "Z", "99"]
)
SOURCES = frozenset(["report", "consensus", "pathology", "follow-up"])
_TRUE = frozenset(["1", "true", "yes", "y", "positive", "pos", "t"])
_FALSE = frozenset(["0", "false", "no", "n", "negative", "neg", "f"])
_SEX = {
    "f": "F", "female": "F", "m": "M", "male": "M", "o": "O", "other": "O",
    "u": "U", "unknown": "U", "not known": "U", "not stated": "U", "": "U",
}  # fmt: skip
_EARLIEST = dt.datetime(1900, 1, 1)
_MAX_ID = 256
_MAX_TEXT = 100


class StudyRecord(NamedTuple):
    """A validated, pseudonymised study row."""

    row: int
    study_key: str
    patient_key: str
    site: str
    acquired_at: dt.datetime
    modality: str
    manufacturer: str | None
    model: str | None
    software_version: str | None
    body_part: str | None
    acquisition: dict[str, float] | None
    sex: str
    age_years: int | None
    ethnic_group: str | None
    deprivation_decile: int | None


class ResultRecord(NamedTuple):
    """A validated result row (tool and version still as names)."""

    row: int
    tool: str
    version: str
    study_key: str
    finding: str
    score: float | None
    call: bool | None
    localisations: Any
    received_at: dt.datetime | None


class ReferenceRecord(NamedTuple):
    """A validated reference-standard row."""

    row: int
    study_key: str
    finding: str
    label: bool
    source: str
    localisations: Any
    recorded_at: dt.datetime | None


def parse_bool(text: str) -> bool:
    """Parse a yes/no value; raise ValueError naming accepted forms.

    Examples
    --------
    >>> parse_bool("Positive"), parse_bool("0")
    (True, False)

    """
    low = text.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise ValueError(
        f"{text!r} is not a yes/no value; use 1/0, true/false, yes/no or positive/negative."
    )


def parse_time(text: str, now: dt.datetime) -> dt.datetime:
    """Parse ISO 8601 into naive UTC; reject implausible dates.

    Examples
    --------
    >>> parse_time("2026-03-01T09:30:00+01:00", dt.datetime(2026, 6, 1))
    datetime.datetime(2026, 3, 1, 8, 30)

    """
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"{text!r} is not an ISO 8601 date or date-time; write e.g. 2026-03-01 or "
            "2026-03-01T09:30:00."
        ) from None
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    if value < _EARLIEST:
        raise ValueError(f"{text!r} is before 1900; check the date.")
    if value > now + dt.timedelta(days=1):
        raise ValueError(f"{text!r} is in the future; check the date and its time zone.")
    return value


def _key_text(value: str, name: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError(f"{name} is blank; every row needs one.")
    if len(value) > _MAX_ID:
        raise ValueError(f"{name} is longer than {_MAX_ID} characters.")
    return value


def _finding(value: str) -> str:
    value = value.strip().lower()
    if not value:
        raise ValueError("finding is blank; name the finding (e.g. pneumothorax).")
    if len(value) > 64 or " " in value:
        raise ValueError(
            f"{value!r} is not a valid finding name: at most 64 characters, no spaces (use _)."
        )
    return value


def _opt_text(value: str) -> str | None:
    value = value.strip()
    if not value:
        return None
    if len(value) > _MAX_TEXT:
        raise ValueError(f"is longer than {_MAX_TEXT} characters.")
    return value


def _json(value: str) -> Any:
    value = value.strip()
    if not value:
        return None
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise ValueError(f"is not valid JSON ({exc.msg} at character {exc.pos}).") from None


def _score(value: str) -> float | None:
    value = value.strip()
    if not value:
        return None
    try:
        score = float(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a number.") from None
    if not math.isfinite(score):
        raise ValueError(f"{value!r} is not a finite number.")
    return score


def _int_in(value: str, low: int, high: int, what: str) -> int | None:
    value = value.strip()
    if not value:
        return None
    try:
        number = int(value)
    except ValueError:
        try:
            as_float = float(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a whole number ({what}).") from None
        if not as_float.is_integer():
            raise ValueError(f"{value!r} is not a whole number ({what}).") from None
        number = int(as_float)
    if not low <= number <= high:
        raise ValueError(f"{value!r} is outside {low} to {high} ({what}).")
    return number


class _Collector:
    """Collects problems for one batch, bounded in number."""

    def __init__(self, source: str, limit: int, row_label: str) -> None:
        self.source = source
        self.limit = limit
        self.row_label = row_label
        self.problems: list[InputProblem] = []
        self.overflow = False

    def add(self, row: int, column: str | None, message: str) -> None:
        if len(self.problems) < self.limit:
            self.problems.append(InputProblem(self.source, row, column, message, self.row_label))
        else:
            self.overflow = True


def _shape_ok(row: list[str], header: Header, row_no: int, out: _Collector) -> bool:
    if not row:
        return False  # a blank line: nothing to store, nothing wrong
    if len(row) != header.width:
        out.add(
            row_no,
            None,
            f"has {len(row)} fields but the header has {header.width}; "
            "check for a stray comma or an unquoted field.",
        )
        return False
    return True


def validate_studies(
    first_row: int,
    rows: list[list[str]],
    header: Header,
    pseudo: Pseudonymiser,
    *,
    now: dt.datetime,
    source: str,
    max_problems: int = 50,
    row_label: str = "row",
) -> tuple[list[StudyRecord], list[InputProblem], bool]:
    """Validate a batch of study rows.

    Returns
    -------
    records, problems, overflow
        Valid records, the problems found (at most ``max_problems``) and
        whether more problems were found than listed.

    """
    out = _Collector(source, max_problems, row_label)
    recs: list[StudyRecord] = []
    ix = header.index
    i_pat, i_study, i_site = ix["patient_id"], ix["study_id"], ix["site"]
    i_time, i_mod = ix["acquired_at"], ix["modality"]
    opt = {
        name: ix.get(name)
        for name in (
            "manufacturer",
            "model",
            "software_version",
            "body_part",
            "sex",
            "age",
            "ethnic_group",
            "deprivation_decile",
        )
    }
    acq = header.acquisition
    for offset, row in enumerate(rows):
        row_no = first_row + offset
        if not _shape_ok(row, header, row_no, out):
            continue
        col = ""
        try:
            col = "patient_id"
            patient = _key_text(row[i_pat], col)
            col = "study_id"
            study = _key_text(row[i_study], col)
            col = "site"
            site = row[i_site].strip()
            if not site:
                raise ValueError("site is blank; give the site code.")
            col = "acquired_at"
            when = parse_time(row[i_time], now)
            col = "modality"
            modality = row[i_mod].strip().upper()
            if not modality or len(modality) > 16 or not modality.isalnum():
                raise ValueError(f"{row[i_mod]!r} is not a DICOM modality code (e.g. CR, CT, MR).")
            texts: dict[str, str | None] = {}
            for col in ("manufacturer", "model", "software_version", "body_part"):
                pos = opt[col]
                texts[col] = _opt_text(row[pos]) if pos is not None else None
            col = "sex"
            pos = opt["sex"]
            sex = "U"
            if pos is not None:
                raw_sex = row[pos].strip().lower()
                if raw_sex not in _SEX:
                    raise ValueError(f"{row[pos]!r} is not a sex code; use F, M, O or U.")
                sex = _SEX[raw_sex]
            col = "age"
            pos = opt["age"]
            age = _int_in(row[pos], 0, 130, "years") if pos is not None else None
            col = "ethnic_group"
            pos = opt["ethnic_group"]
            ethnic: str | None = None
            if pos is not None:
                raw_eth = row[pos].strip().upper()
                if raw_eth:
                    if raw_eth not in ETHNIC:
                        raise ValueError(
                            f"{row[pos]!r} is not an NHS ethnic category code; use "
                            "A-S (as in the NHS Data Dictionary), Z or 99."
                        )
                    ethnic = raw_eth
            col = "deprivation_decile"
            pos = opt["deprivation_decile"]
            decile = _int_in(row[pos], 1, 10, "IMD decile") if pos is not None else None
            acquisition: dict[str, float] | None = None
            if acq:
                acquisition = {}
                for name, pos in acq.items():
                    col = f"acq_{name}"
                    value = _score(row[pos])
                    if value is not None:
                        acquisition[name] = value
                acquisition = acquisition or None
        except ValueError as exc:
            out.add(row_no, col, str(exc))
            continue
        recs.append(
            StudyRecord(
                row_no,
                pseudo.study(study),
                pseudo.patient(patient),
                site,
                when,
                modality,
                texts["manufacturer"],
                texts["model"],
                texts["software_version"],
                texts["body_part"],
                acquisition,
                sex,
                age,
                ethnic,
                decile,
            )
        )
    return recs, out.problems, out.overflow


@dataclass
class ResultBatch:
    """A validated batch of AI-result rows, column by column.

    Columns are parallel lists (one entry per accepted row); keeping them as
    columns lets the store resolve names and check keys for the whole batch
    at once.
    """

    rows: list[int]
    tool: list[str]
    version: list[str]
    study_key: list[str]
    finding: list[str]
    score: list[float | None]
    call: list[bool | None]
    localisations: list[Any] | None
    received_at: list[dt.datetime | None] | None

    def __len__(self) -> int:
        return len(self.rows)

    def records(self) -> list[ResultRecord]:
        """Return the batch as row records (for small batches and tests)."""
        n = len(self.rows)
        locs = self.localisations or [None] * n
        recv = self.received_at or [None] * n
        return [
            ResultRecord(*values)
            for values in zip(
                self.rows,
                self.tool,
                self.version,
                self.study_key,
                self.finding,
                self.score,
                self.call,
                locs,
                recv,
                strict=True,
            )
        ]

    @classmethod
    def from_records(cls, recs: list[ResultRecord]) -> ResultBatch:
        """Build a batch from row records."""
        return cls(
            [r.row for r in recs], [r.tool for r in recs], [r.version for r in recs],
            [r.study_key for r in recs], [r.finding for r in recs], [r.score for r in recs],
            [r.call for r in recs], [r.localisations for r in recs],
            [r.received_at for r in recs],
        )  # fmt: skip


def _map_unique(values: tuple[str, ...], fn: Any) -> list[Any]:
    """Apply ``fn`` once per distinct value (findings, calls and versions repeat a lot)."""
    table = {v: fn(v) for v in set(values)}
    return [table[v] for v in values]


def _results_fast(
    first_row: int, rows: list[list[str]], header: Header, pseudo: Pseudonymiser, now: dt.datetime
) -> ResultBatch:
    """Validate a clean batch column-wise; raise ValueError at the first irregularity.

    The caller then re-runs the row-wise validator, which names every problem;
    so this path only has to be right on clean data and never more lenient.
    """
    width = header.width
    for row in rows:
        if len(row) != width:
            raise ValueError("shape")
    cols = list(zip(*rows, strict=True))
    ix = header.index

    def text(raw: str) -> str:
        value = raw.strip()
        if not value:
            raise ValueError("blank")
        return value

    def study(raw: str) -> str:
        return pseudo.study(_key_text(raw, "study_id"))

    tool = _map_unique(cols[ix["tool"]], text)
    version = _map_unique(cols[ix["version"]], text)
    study_key = _map_unique(cols[ix["study_id"]], study)
    finding = _map_unique(cols[ix["finding"]], _finding)
    n = len(rows)
    i_score = ix.get("score")
    score: list[float | None]
    if i_score is not None:
        arr = np.asarray(cols[i_score], dtype=np.float64)  # ValueError on blanks or text
        if not np.isfinite(arr).all():
            raise ValueError("non-finite")
        score = arr.tolist()
    else:
        score = [None] * n
    i_call = ix.get("call")
    call: list[bool | None] = [None] * n
    if i_call is not None:
        call = _map_unique(cols[i_call], lambda v: parse_bool(v) if v.strip() else None)
    if i_score is None and any(c is None for c in call):
        raise ValueError("no score and no call")
    i_loc = ix.get("localisations")
    locs = [_json(v) for v in cols[i_loc]] if i_loc is not None else None
    i_recv = ix.get("received_at")
    recv = None
    if i_recv is not None:
        recv = _map_unique(cols[i_recv], lambda v: parse_time(v, now) if v.strip() else None)
    return ResultBatch(
        list(range(first_row, first_row + n)),
        tool,
        version,
        study_key,
        finding,
        score,
        call,
        locs,
        recv,
    )


def validate_results(
    first_row: int,
    rows: list[list[str]],
    header: Header,
    pseudo: Pseudonymiser,
    *,
    now: dt.datetime,
    source: str,
    max_problems: int = 50,
    row_label: str = "row",
) -> tuple[ResultBatch, list[InputProblem], bool]:
    """Validate a batch of AI-result rows (see :func:`validate_studies`).

    Clean batches take a column-wise path (each distinct tool, study, finding
    or call is checked once); a batch with any problem is re-checked row by
    row so every problem is named.
    """
    try:
        return _results_fast(first_row, rows, header, pseudo, now), [], False
    except ValueError:
        pass
    recs, problems, overflow = _validate_results_rows(
        first_row,
        rows,
        header,
        pseudo,
        now=now,
        source=source,
        max_problems=max_problems,
        row_label=row_label,
    )
    return ResultBatch.from_records(recs), problems, overflow


def _validate_results_rows(
    first_row: int,
    rows: list[list[str]],
    header: Header,
    pseudo: Pseudonymiser,
    *,
    now: dt.datetime,
    source: str,
    max_problems: int = 50,
    row_label: str = "row",
) -> tuple[list[ResultRecord], list[InputProblem], bool]:
    out = _Collector(source, max_problems, row_label)
    recs: list[ResultRecord] = []
    ix = header.index
    i_tool, i_ver, i_study, i_find = ix["tool"], ix["version"], ix["study_id"], ix["finding"]
    i_score, i_call = ix.get("score"), ix.get("call")
    i_loc, i_recv = ix.get("localisations"), ix.get("received_at")
    width = header.width
    last_raw = ""
    last_key = ""
    study_key = pseudo.study
    for offset, row in enumerate(rows):
        row_no = first_row + offset
        if len(row) != width:
            _shape_ok(row, header, row_no, out)
            continue
        col = ""
        try:
            col = "tool"
            tool = row[i_tool].strip()
            if not tool:
                raise ValueError("tool is blank; give the registered tool name.")
            col = "version"
            version = row[i_ver].strip()
            if not version:
                raise ValueError("version is blank; give the registered version.")
            col = "study_id"
            raw_study = row[i_study]
            if raw_study != last_raw:
                # Results for one study usually come together (one row per finding).
                last_key = study_key(_key_text(raw_study, col))
                last_raw = raw_study
            col = "finding"
            finding = _finding(row[i_find])
            col = "score"
            score = _score(row[i_score]) if i_score is not None else None
            col = "call"
            call: bool | None = None
            if i_call is not None and row[i_call].strip():
                call = parse_bool(row[i_call])
            col = "localisations"
            loc = _json(row[i_loc]) if i_loc is not None else None
            col = "received_at"
            received = None
            if i_recv is not None and row[i_recv].strip():
                received = parse_time(row[i_recv], now)
        except ValueError as exc:
            out.add(row_no, col, str(exc))
            continue
        if score is None and call is None:
            out.add(
                row_no,
                "score" if i_score is not None else "call",
                "score is blank and no call is given; give at least one.",
            )
            continue
        recs.append(
            ResultRecord(row_no, tool, version, last_key, finding, score, call, loc, received)
        )
    return recs, out.problems, out.overflow


def validate_references(
    first_row: int,
    rows: list[list[str]],
    header: Header,
    pseudo: Pseudonymiser,
    *,
    now: dt.datetime,
    source: str,
    max_problems: int = 50,
    row_label: str = "row",
) -> tuple[list[ReferenceRecord], list[InputProblem], bool]:
    """Validate a batch of reference-standard rows (see :func:`validate_studies`)."""
    out = _Collector(source, max_problems, row_label)
    recs: list[ReferenceRecord] = []
    ix = header.index
    i_study, i_find, i_label, i_src = ix["study_id"], ix["finding"], ix["label"], ix["source"]
    i_loc, i_rec = ix.get("localisations"), ix.get("recorded_at")
    for offset, row in enumerate(rows):
        row_no = first_row + offset
        if not _shape_ok(row, header, row_no, out):
            continue
        col = ""
        try:
            col = "study_id"
            key = pseudo.study(_key_text(row[i_study], col))
            col = "finding"
            finding = _finding(row[i_find])
            col = "label"
            label = parse_bool(row[i_label])
            col = "source"
            src = row[i_src].strip().lower().replace("followup", "follow-up")
            if src not in SOURCES:
                raise ValueError(
                    f"{row[i_src]!r} is not a reference source; use report, "
                    "consensus, pathology or follow-up."
                )
            col = "localisations"
            loc = _json(row[i_loc]) if i_loc is not None else None
            col = "recorded_at"
            recorded = None
            if i_rec is not None and row[i_rec].strip():
                recorded = parse_time(row[i_rec], now)
        except ValueError as exc:
            out.add(row_no, col, str(exc))
            continue
        recs.append(ReferenceRecord(row_no, key, finding, label, src, loc, recorded))
    return recs, out.problems, out.overflow
