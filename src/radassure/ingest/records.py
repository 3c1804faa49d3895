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
from typing import Any, NamedTuple

from radassure.errors import InputProblem
from radassure.ingest.pseudonym import Pseudonymiser
from radassure.ingest.reader import Header

__all__ = [
    "ReferenceRecord",
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
    raise ValueError(f"{text!r} is not a yes/no value; use 1/0, true/false, yes/no or "
                     "positive/negative.")


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
        raise ValueError(f"{value!r} is not a valid finding name: at most 64 characters, no "
                         "spaces (use _).")
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
    if len(row) != header.width:
        out.add(row_no, None, f"has {len(row)} fields but the header has {header.width}; "
                "check for a stray comma or an unquoted field.")
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
    opt = {name: ix.get(name) for name in (
        "manufacturer", "model", "software_version", "body_part", "sex", "age",
        "ethnic_group", "deprivation_decile")}
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
                        raise ValueError(f"{row[pos]!r} is not an NHS ethnic category code; use "
                                         "A-S (as in the NHS Data Dictionary), Z or 99.")
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
                row_no, pseudo.study(study), pseudo.patient(patient), site, when, modality,
                texts["manufacturer"], texts["model"], texts["software_version"],
                texts["body_part"], acquisition, sex, age, ethnic, decile,
            )
        )
    return recs, out.problems, out.overflow


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
) -> tuple[list[ResultRecord], list[InputProblem], bool]:
    """Validate a batch of AI-result rows (see :func:`validate_studies`)."""
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
            out.add(row_no, "score" if i_score is not None else "call",
                    "score is blank and no call is given; give at least one.")
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
                raise ValueError(f"{row[i_src]!r} is not a reference source; use report, "
                                 "consensus, pathology or follow-up.")
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
