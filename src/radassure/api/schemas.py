"""Pydantic models of the JSON API, separate from the database tables.

The models describe what crosses the wire and carry the descriptions and
examples shown in the OpenAPI document (``/openapi.json``). They are built from
the services' frozen ``*Info`` dataclasses, never from ORM rows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from radassure.services import IngestSummary, SiteInfo, ToolCounts, ToolInfo, VersionInfo

__all__ = [
    "INGEST_DESCRIPTION",
    "Claim",
    "DataCounts",
    "DeviceClass",
    "ErrorBody",
    "Health",
    "IngestRequest",
    "IngestResult",
    "LifecycleStatus",
    "OnConflict",
    "Problem",
    "RecordKind",
    "RegulatoryMarking",
    "Site",
    "SiteCreate",
    "StatusChange",
    "StatusUpdate",
    "Task",
    "ToolCreate",
    "ToolDetail",
    "ToolSummary",
    "Version",
    "VersionCreate",
    "live_version",
]

# Kept equal to the services' tuples by tests/integration/test_api.py.
Task = Literal["classification", "detection", "segmentation"]
LifecycleStatus = Literal["proposed", "evaluating", "approved", "live", "suspended", "retired"]
RegulatoryMarking = Literal["UKCA", "CE", "CE-UKNI", "none"]
DeviceClass = Literal["I", "IIa", "IIb", "III"]
RecordKind = Literal["studies", "results", "references"]
OnConflict = Literal["error", "skip", "update"]


def live_version(tool: ToolInfo, *, today: dt.date | None = None) -> str | None:
    """Return the version a live tool runs, or None when the tool is not live.

    The live version is the one with the latest deployment date on or before
    ``today``; when no version has a deployment date, the newest registered one.

    Examples
    --------
    >>> v = VersionInfo("2.0", dt.date(2026, 1, 5), 0.5, 0.0, 1.0, None)
    >>> live_version(ToolInfo("CXR", "Acme", "classification", "live", versions=(v,)))
    '2.0'
    >>> live_version(ToolInfo("CXR", "Acme", "classification", "approved", versions=(v,)))

    """
    if tool.status != "live" or not tool.versions:
        return None
    day = today or dt.date.today()
    deployed = [v for v in tool.versions if v.deployment_date and v.deployment_date <= day]
    if deployed:
        return max(deployed, key=lambda v: v.deployment_date or day).version
    return tool.versions[-1].version


# -- sites -------------------------------------------------------------------
class SiteCreate(BaseModel):
    """A site (hospital or unit) to register."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"code": "RXH01", "name": "Royal Example Hospital"}]},
    )
    code: str = Field(
        min_length=1, max_length=64, description="Short site code, e.g. an ODS code.",
        examples=["RXH01"],
    )  # fmt: skip
    name: str | None = Field(
        default=None, max_length=200, description="Full name; defaults to the code.",
        examples=["Royal Example Hospital"],
    )  # fmt: skip


class Site(BaseModel):
    """A registered site."""

    code: str = Field(description="Short site code.", examples=["RXH01"])
    name: str = Field(description="Full name.", examples=["Royal Example Hospital"])

    @classmethod
    def from_info(cls, info: SiteInfo) -> Site:
        """Build from the services' :class:`~radassure.services.SiteInfo`."""
        return cls(code=info.code, name=info.name)


# -- tools -------------------------------------------------------------------
class _ToolFields(BaseModel):
    """Optional registry fields shared by requests and answers."""

    product: str | None = Field(
        default=None, max_length=200, description="Product name as marketed.",
        examples=["ChestScan CXR"],
    )  # fmt: skip
    intended_use: str | None = Field(
        default=None, description="The manufacturer's intended use statement.",
        examples=["Triage of adult frontal chest radiographs for pneumothorax."],
    )  # fmt: skip
    modality: str | None = Field(
        default=None, max_length=16, description="DICOM modality code (stored upper case).",
        examples=["DX"],
    )  # fmt: skip
    body_part: str | None = Field(
        default=None, max_length=64, description="Body part, as DICOM Body Part Examined.",
        examples=["CHEST"],
    )  # fmt: skip
    clinical_pathway: str | None = Field(
        default=None, max_length=200, description="Where in the pathway the tool is used.",
        examples=["ED chest X-ray reporting"],
    )  # fmt: skip
    regulatory_marking: RegulatoryMarking | None = Field(
        default=None, description="UKCA, CE, CE-UKNI or none.", examples=["UKCA"]
    )
    device_class: DeviceClass | None = Field(
        default=None, description="Medical device class: I, IIa, IIb or III.", examples=["IIa"]
    )
    mhra_reference: str | None = Field(
        default=None, max_length=64, description="MHRA device registration reference.",
        examples=["MHRA-12345"],
    )  # fmt: skip
    udi_di: str | None = Field(
        default=None, max_length=64, description="Unique Device Identifier (device identifier).",
    )  # fmt: skip
    clinical_owner: str | None = Field(
        default=None, max_length=200, description="Named clinician accountable for the tool.",
        examples=["Dr A. Radiologist"],
    )  # fmt: skip


class ToolCreate(_ToolFields):
    """An AI tool to register; it starts ``proposed`` unless ``status`` is given."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "ChestScan",
                    "manufacturer": "Acme Imaging Ltd",
                    "task": "classification",
                    "modality": "DX",
                    "body_part": "CHEST",
                    "regulatory_marking": "UKCA",
                    "device_class": "IIa",
                }
            ]
        },
    )
    name: str = Field(
        min_length=1, max_length=200, description="Unique name the department uses for the tool.",
        examples=["ChestScan"],
    )  # fmt: skip
    manufacturer: str = Field(
        min_length=1, max_length=200, description="Manufacturer.", examples=["Acme Imaging Ltd"]
    )
    task: Task = Field(description="classification, detection or segmentation.")
    status: LifecycleStatus | None = Field(
        default=None, description="Initial lifecycle status (default proposed)."
    )


class StatusUpdate(BaseModel):
    """A lifecycle move, with the reason recorded in the status history."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"status": "evaluating", "reason": "Local validation starts."}]
        },
    )
    status: LifecycleStatus = Field(description="The new lifecycle status.")
    reason: str | None = Field(
        default=None, max_length=2000, description="Why; kept in the history.",
        examples=["Local validation approved by the AI governance group."],
    )  # fmt: skip


class StatusChange(BaseModel):
    """One entry of a tool's lifecycle history."""

    from_status: str | None = Field(description="Status before (null when registered).")
    to_status: str = Field(description="Status after.")
    changed_at: dt.datetime = Field(description="When, in UTC (naive ISO 8601).")
    changed_by: str | None = Field(description="Who made the change (null: anonymous).")
    reason: str | None = Field(description="Why.")


class Claim(BaseModel):
    """A performance figure the manufacturer claims for a version."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "metric": "sensitivity",
                    "value": 0.92,
                    "finding": "pneumothorax",
                    "ci_low": 0.88,
                    "ci_high": 0.95,
                    "level": 0.95,
                    "source_document": "IFU v2.0, section 7",
                }
            ]
        },
    )
    metric: str = Field(
        min_length=1, max_length=64, description="Metric name, e.g. sensitivity, auc.",
        examples=["sensitivity"],
    )  # fmt: skip
    value: float = Field(description="Claimed value.", examples=[0.92])
    finding: str = Field(
        default="", max_length=64, description="Finding the claim is about ('' for overall).",
        examples=["pneumothorax"],
    )  # fmt: skip
    ci_low: float | None = Field(default=None, description="Lower confidence limit.")
    ci_high: float | None = Field(default=None, description="Upper confidence limit.")
    level: float | None = Field(
        default=None, gt=0, lt=1, description="Confidence level, e.g. 0.95."
    )
    source_document: str | None = Field(
        default=None, max_length=500, description="Where the claim is published."
    )


class VersionCreate(BaseModel):
    """A version of a tool to register."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"version": "2.0", "deployment_date": "2026-01-05", "operating_threshold": 0.5}
            ]
        },
    )
    version: str = Field(
        min_length=1, max_length=64, description="Version string as the manufacturer gives it.",
        examples=["2.0"],
    )  # fmt: skip
    deployment_date: dt.date | None = Field(
        default=None, description="Date the version went into clinical use."
    )
    operating_threshold: float | None = Field(
        default=None, description="Score at or above which the call is positive."
    )
    score_min: float = Field(default=0.0, description="Lowest score the version outputs.")
    score_max: float = Field(default=1.0, description="Highest score the version outputs.")
    notes: str | None = Field(default=None, description="Free-text notes.")


class Version(BaseModel):
    """A registered version with its claims."""

    version: str = Field(description="Version string.")
    deployment_date: dt.date | None = Field(description="Date of clinical deployment.")
    operating_threshold: float | None = Field(description="Operating threshold on the score.")
    score_min: float = Field(description="Lowest score.")
    score_max: float = Field(description="Highest score.")
    notes: str | None = Field(description="Notes.")
    claims: list[Claim] = Field(description="The manufacturer's claimed performance.")

    @classmethod
    def from_info(cls, info: VersionInfo) -> Version:
        """Build from the services' :class:`~radassure.services.VersionInfo`."""
        return cls.model_validate(asdict(info))


class DataCounts(BaseModel):
    """How much data the store holds for a tool."""

    studies: int = Field(description="Studies with at least one result of the tool.")
    results: int = Field(description="AI results of every version.")
    results_with_reference: int = Field(description="Results with a reference standard.")
    by_version: dict[str, int] = Field(description="Results per version.")


class ToolSummary(_ToolFields):
    """A row of the registry."""

    name: str = Field(description="Tool name.")
    manufacturer: str = Field(description="Manufacturer.")
    task: str = Field(description="classification, detection or segmentation.")
    status: str = Field(description="Lifecycle status.")
    live_version: str | None = Field(
        description=(
            "For a live tool, the version with the latest deployment date not in the future "
            "(the newest registered one when none has a date); null when the tool is not live."
        )
    )
    versions: list[str] = Field(description="Registered version strings, oldest first.")

    @classmethod
    def from_info(cls, info: ToolInfo) -> ToolSummary:
        """Build from the services' :class:`~radassure.services.ToolInfo`."""
        data = asdict(info)
        data.pop("status_history")
        data["versions"] = [v.version for v in info.versions]
        data["live_version"] = live_version(info)
        return cls.model_validate(data)


class ToolDetail(_ToolFields):
    """A tool with every registry field, its versions, claims, history and data counts."""

    name: str = Field(description="Tool name.")
    manufacturer: str = Field(description="Manufacturer.")
    task: str = Field(description="classification, detection or segmentation.")
    status: str = Field(description="Lifecycle status.")
    live_version: str | None = Field(description="See ToolSummary.live_version.")
    versions: list[Version] = Field(description="Registered versions, oldest first.")
    status_history: list[StatusChange] = Field(description="Lifecycle history, oldest first.")
    counts: DataCounts = Field(description="Data held for the tool.")

    @classmethod
    def from_info(cls, info: ToolInfo, counts: ToolCounts) -> ToolDetail:
        """Build from the services' tool and its counts."""
        data = asdict(info)
        data["live_version"] = live_version(info)
        data["counts"] = asdict(counts)
        return cls.model_validate(data)


# -- ingestion -----------------------------------------------------------------
INGEST_DESCRIPTION = """\
Ingest a batch of records, all or nothing, with the same checks as CSV files.

Each record is an object from column name to value (string, number, boolean or,
for `localisations`, JSON). Optional columns may be left out. A rejected batch
answers **422** listing every problem (up to the configured limit) with its
0-based `record` index and `column`; nothing of it is written. Posting the same
records again is a no-op (`unchanged`). A record that contradicts a stored one
is a problem unless `on_conflict` is `skip` (keep stored) or `update`.

**studies** (ingest these first; `site` must be registered unless `create_sites`)

| column | required | value |
| --- | --- | --- |
| patient_id | yes | patient identifier; pseudonymised on arrival, never stored |
| study_id | yes | accession number or Study Instance UID; pseudonymised, unique per batch |
| site | yes | registered site code |
| acquired_at | yes | ISO 8601 date-time (UTC unless an offset is given) |
| modality | yes | DICOM modality code: CR, DX, CT, MR, MG, US, PT, NM, RTPLAN ... |
| manufacturer, model, software_version | no | scanner details (DICOM terms) |
| body_part | no | DICOM Body Part Examined, e.g. CHEST |
| sex | no | F, M, O or U (female/male/other/unknown accepted) |
| age | no | whole years, 0 to 130 |
| ethnic_group | no | NHS ethnic category code A-S, Z or 99 |
| deprivation_decile | no | IMD decile 1 (most deprived) to 10 |
| acq_* | no | numeric acquisition parameters, e.g. acq_kvp |

**results** (the tool, version and study must exist)

| column | required | value |
| --- | --- | --- |
| tool | yes | registered tool name |
| version | yes | registered version of that tool |
| study_id | yes | study identifier as ingested in studies |
| finding | yes | lower case, no spaces, e.g. pneumothorax |
| score | no | number inside the version's score range; blank only with a call |
| call | no | 1/0, true/false, yes/no; blank: score >= operating threshold |
| localisations | no | JSON findings, boxes or per-structure summaries |
| received_at | no | ISO 8601; blank: time of ingestion |

**references** (the study must exist)

| column | required | value |
| --- | --- | --- |
| study_id | yes | study identifier as ingested in studies |
| finding | yes | the finding labelled, as in results |
| label | yes | 1/0, true/false, yes/no, positive/negative |
| source | yes | report, consensus, pathology or follow-up |
| localisations | no | JSON reference findings or contours |
| recorded_at | no | ISO 8601; blank: time of ingestion |
"""


class IngestRequest(BaseModel):
    """A batch of records of one kind; see the route's description for the columns."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "records": [
                        {
                            "patient_id": "P001",
                            "study_id": "ACC0001",
                            "site": "RXH01",
                            "acquired_at": "2026-03-01T09:30:00",
                            "modality": "DX",
                            "sex": "F",
                            "age": 54,
                        }
                    ],
                    "on_conflict": "error",
                    "create_sites": False,
                }
            ]
        },
    )
    records: list[dict[str, Any]] = Field(
        description="The records: column name to value, one object per record."
    )
    on_conflict: OnConflict = Field(
        default="error",
        description="A record contradicting a stored one: error (reject), skip or update.",
    )
    create_sites: bool = Field(
        default=False, description="Studies only: register unknown site codes."
    )


class IngestResult(BaseModel):
    """What an accepted ingestion did."""

    kind: str = Field(description="studies, results or references.")
    source: str = Field(description="Name of the input ('request' for the API).")
    sha256: str = Field(description="Fingerprint of the records as sent.")
    rows: int = Field(description="Records received.")
    inserted: int = Field(description="Records written new.")
    unchanged: int = Field(description="Records equal to stored ones (re-posts).")
    updated: int = Field(description="Stored records replaced (on_conflict=update).")
    skipped_conflicts: int = Field(description="Conflicting records kept as stored (skip).")
    sites_created: list[str] = Field(description="Site codes registered (create_sites).")
    seconds: float = Field(description="Time taken.")

    @classmethod
    def from_summary(cls, summary: IngestSummary) -> IngestResult:
        """Build from the services' :class:`~radassure.services.IngestSummary`."""
        return cls.model_validate(summary.to_dict())


# -- errors and health -------------------------------------------------------------
class Problem(BaseModel):
    """One problem in a rejected request or batch."""

    model_config = ConfigDict(extra="allow")
    source: str = Field(description="The input: 'request', 'body', 'path', 'query' ...")
    record: int | None = Field(
        default=None, description="0-based index of the record at fault (batches)."
    )
    row: int | None = Field(default=None, description="Row number (header checks).")
    column: str | None = Field(default=None, description="Column or field at fault.")
    message: str = Field(description="What is wrong and how to fix it.")


class ErrorBody(BaseModel):
    """Every error answer: a class name, a full-sentence message and any problems."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"error": "NotFoundError", "message": "No tool named 'X' is registered."}]
        }
    )
    error: str = Field(description="Error class, e.g. NotFoundError, ConflictError.")
    message: str = Field(description="What is wrong and how to fix it.")
    problems: list[Problem] | None = Field(
        default=None, description="Each problem (validation errors only)."
    )
    truncated: bool | None = Field(
        default=None, description="True when more problems existed than listed."
    )


class Health(BaseModel):
    """Whether the service and its database answer."""

    status: Literal["ok", "error"] = Field(description="ok when the database answers.")
    database: Literal["ok", "unavailable"] = Field(description="State of the database.")
    schema_revision: str | None = Field(description="Migration revision of the database.")
    message: str | None = Field(default=None, description="What is wrong, when not ok.")
