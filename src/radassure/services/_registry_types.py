"""Registry records as returned by the services: plain frozen dataclasses.

Kept apart from :mod:`radassure.services.registry` so the use cases stay short;
the CLI, API and pages all show these same fields and no ORM session leaks out.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from radassure.db import AITool, ToolVersion

__all__ = [
    "OPTIONAL_TOOL_FIELDS",
    "ClaimInfo",
    "SiteInfo",
    "StatusChangeInfo",
    "ToolCounts",
    "ToolInfo",
    "VersionInfo",
    "tool_info",
    "tool_state",
    "version_info",
    "version_state",
]


@dataclass(frozen=True)
class SiteInfo:
    """A registered site."""

    code: str
    name: str


@dataclass(frozen=True)
class ClaimInfo:
    """A manufacturer's claimed performance figure."""

    metric: str
    value: float
    finding: str = ""
    ci_low: float | None = None
    ci_high: float | None = None
    level: float | None = None
    source_document: str | None = None


@dataclass(frozen=True)
class VersionInfo:
    """A tool version."""

    version: str
    deployment_date: dt.date | None
    operating_threshold: float | None
    score_min: float
    score_max: float
    notes: str | None
    claims: tuple[ClaimInfo, ...] = ()


@dataclass(frozen=True)
class StatusChangeInfo:
    """One lifecycle status change."""

    from_status: str | None
    to_status: str
    changed_at: dt.datetime
    changed_by: str | None
    reason: str | None


@dataclass(frozen=True)
class ToolInfo:
    """A registered AI tool with its versions and status history."""

    name: str
    manufacturer: str
    task: str
    status: str
    product: str | None = None
    intended_use: str | None = None
    modality: str | None = None
    body_part: str | None = None
    clinical_pathway: str | None = None
    regulatory_marking: str | None = None
    device_class: str | None = None
    mhra_reference: str | None = None
    udi_di: str | None = None
    clinical_owner: str | None = None
    versions: tuple[VersionInfo, ...] = ()
    status_history: tuple[StatusChangeInfo, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (dates as ISO strings)."""
        out: dict[str, Any] = _jsonable(asdict(self))
        return out


@dataclass(frozen=True)
class ToolCounts:
    """How much data the store holds for a tool, per version."""

    studies: int
    results: int
    results_with_reference: int
    by_version: dict[str, int]


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


def version_info(v: ToolVersion) -> VersionInfo:
    """Return the record of a version row (with its claims)."""
    return VersionInfo(
        version=v.version,
        deployment_date=v.deployment_date,
        operating_threshold=v.operating_threshold,
        score_min=v.score_min,
        score_max=v.score_max,
        notes=v.notes,
        claims=tuple(
            ClaimInfo(c.metric, c.value, c.finding, c.ci_low, c.ci_high, c.level, c.source_document)
            for c in v.claims
        ),
    )


def tool_info(t: AITool) -> ToolInfo:
    """Return the record of a tool row (with versions and status history)."""
    return ToolInfo(
        name=t.name, manufacturer=t.manufacturer, task=t.task, status=t.status,
        product=t.product, intended_use=t.intended_use, modality=t.modality,
        body_part=t.body_part, clinical_pathway=t.clinical_pathway,
        regulatory_marking=t.regulatory_marking, device_class=t.device_class,
        mhra_reference=t.mhra_reference, udi_di=t.udi_di, clinical_owner=t.clinical_owner,
        versions=tuple(version_info(v) for v in t.versions),
        status_history=tuple(
            StatusChangeInfo(h.from_status, h.to_status, h.changed_at, h.changed_by, h.reason)
            for h in t.status_history
        ),
    )  # fmt: skip


#: Registry fields of a tool besides name, manufacturer, task and status.
OPTIONAL_TOOL_FIELDS = (
    "product",
    "intended_use",
    "modality",
    "body_part",
    "clinical_pathway",
    "regulatory_marking",
    "device_class",
    "mhra_reference",
    "udi_di",
    "clinical_owner",
)


def tool_state(t: AITool) -> dict[str, Any]:
    """What the audit trail keeps of a tool: its registry fields and status."""
    fields = ("name", "manufacturer", "task", "status", *OPTIONAL_TOOL_FIELDS)
    return {f: getattr(t, f) for f in fields}


def version_state(tool: str, v: ToolVersion) -> dict[str, Any]:
    """What the audit trail keeps of a version."""
    return {
        "tool": tool,
        "version": v.version,
        "deployment_date": v.deployment_date,
        "operating_threshold": v.operating_threshold,
        "score_min": v.score_min,
        "score_max": v.score_max,
        "notes": v.notes,
    }
