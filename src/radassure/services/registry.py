"""The AI-tool registry: sites, tools, versions, claims and lifecycle status.

Functions return plain frozen dataclasses (``*Info``) rather than ORM objects,
so the CLI, API and pages all show the same fields and no session leaks out.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from radassure.db import (
    AIResult,
    AITool,
    ClaimedPerformance,
    Reference,
    Site,
    ToolStatusChange,
    ToolVersion,
    session_scope,
)
from radassure.db.models import (
    DEVICE_CLASSES,
    LIFECYCLE_STATUSES,
    REGULATORY_MARKINGS,
    TASKS,
    utcnow,
)
from radassure.errors import ConflictError, NotFoundError
from radassure.services.store import Store

__all__ = [
    "ALLOWED_TRANSITIONS",
    "DEVICE_CLASSES",
    "LIFECYCLE_STATUSES",
    "REGULATORY_MARKINGS",
    "TASKS",
    "ClaimInfo",
    "SiteInfo",
    "StatusChangeInfo",
    "ToolCounts",
    "ToolInfo",
    "VersionInfo",
    "add_claim",
    "add_site",
    "add_tool",
    "add_version",
    "get_tool",
    "list_sites",
    "list_tools",
    "set_status",
    "tool_counts",
]

#: Lifecycle moves a department may make. Retired is final; suspended tools
#: can return to evaluation or go live again after investigation.
ALLOWED_TRANSITIONS: dict[str, tuple[str, ...]] = {
    "proposed": ("evaluating", "retired"),
    "evaluating": ("approved", "proposed", "retired"),
    "approved": ("live", "evaluating", "retired"),
    "live": ("suspended", "retired"),
    "suspended": ("live", "evaluating", "retired"),
    "retired": (),
}


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


def _choice(value: str | None, allowed: tuple[str, ...], what: str) -> None:
    if value is not None and value not in allowed:
        raise ValueError(f"{what} {value!r} is not one of: {', '.join(allowed)}.")


def _tool_row(session: Session, name: str) -> AITool:
    tool = session.scalar(select(AITool).where(AITool.name == name))
    if tool is None:
        known = session.scalars(select(AITool.name).order_by(AITool.name)).all()
        hint = (
            f" Registered tools: {', '.join(known)}." if known else " No tools are registered yet."
        )
        raise NotFoundError(
            f"No tool named {name!r} is registered.{hint} Add it with `radassure tool add`."
        )
    return tool


def _version_info(v: ToolVersion) -> VersionInfo:
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


def _tool_info(t: AITool) -> ToolInfo:
    return ToolInfo(
        name=t.name, manufacturer=t.manufacturer, task=t.task, status=t.status,
        product=t.product, intended_use=t.intended_use, modality=t.modality,
        body_part=t.body_part, clinical_pathway=t.clinical_pathway,
        regulatory_marking=t.regulatory_marking, device_class=t.device_class,
        mhra_reference=t.mhra_reference, udi_di=t.udi_di, clinical_owner=t.clinical_owner,
        versions=tuple(_version_info(v) for v in t.versions),
        status_history=tuple(
            StatusChangeInfo(h.from_status, h.to_status, h.changed_at, h.changed_by, h.reason)
            for h in t.status_history
        ),
    )  # fmt: skip


def add_site(store: Store, code: str, name: str | None = None) -> SiteInfo:
    """Register a site; adding an existing code with the same name is a no-op."""
    code = code.strip()
    if not code or len(code) > 64:
        raise ValueError("Site code must be 1 to 64 characters, e.g. RXH01.")
    with session_scope(store.engine) as s:
        existing = s.scalar(select(Site).where(Site.code == code))
        if existing is not None:
            if name and name != existing.name:
                raise ConflictError(f"Site {code!r} is already registered as {existing.name!r}.")
            return SiteInfo(existing.code, existing.name)
        s.add(Site(code=code, name=name or code))
    return SiteInfo(code, name or code)


def list_sites(store: Store) -> list[SiteInfo]:
    """Return every site, ordered by code."""
    with session_scope(store.engine) as s:
        return [SiteInfo(x.code, x.name) for x in s.scalars(select(Site).order_by(Site.code))]


def add_tool(
    store: Store,
    *,
    name: str,
    manufacturer: str,
    task: str,
    actor: str | None = None,
    **fields: Any,
) -> ToolInfo:
    """Register an AI tool (status ``proposed`` unless ``status`` is given).

    Parameters
    ----------
    store : Store
        The open installation.
    name, manufacturer, task : str
        Required identity; ``task`` is classification, detection or segmentation.
    actor : str, optional
        Who registered it (kept in the status history).
    **fields
        Any other :class:`ToolInfo` field (product, intended_use, modality,
        body_part, clinical_pathway, regulatory_marking, device_class,
        mhra_reference, udi_di, clinical_owner, status).

    Examples
    --------
    >>> # see tests/integration/test_registry.py for a full run

    """
    name = name.strip()
    if not name:
        raise ValueError("Tool name must not be blank.")
    _choice(task, TASKS, "Task")
    status = fields.pop("status", None) or "proposed"
    _choice(status, LIFECYCLE_STATUSES, "Status")
    _choice(fields.get("regulatory_marking"), REGULATORY_MARKINGS, "Regulatory marking")
    _choice(fields.get("device_class"), DEVICE_CLASSES, "Device class")
    allowed = set(ToolInfo.__dataclass_fields__) - {
        "name",
        "manufacturer",
        "task",
        "status",
        "versions",
        "status_history",
    }
    unknown = set(fields) - allowed
    if unknown:
        raise ValueError(f"Unknown tool field(s): {', '.join(sorted(unknown))}.")
    if fields.get("modality"):
        fields["modality"] = str(fields["modality"]).upper()
    with session_scope(store.engine) as s:
        if s.scalar(select(AITool.id).where(AITool.name == name)) is not None:
            raise ConflictError(
                f"A tool named {name!r} is already registered; choose another "
                "name or add a version to it with `radassure version add`."
            )
        tool = AITool(name=name, manufacturer=manufacturer, task=task, status=status, **fields)
        s.add(tool)
        s.flush()
        s.add(
            ToolStatusChange(
                tool_id=tool.id,
                from_status=None,
                to_status=status,
                changed_by=actor,
                reason="registered",
            )
        )
    return get_tool(store, name)


def get_tool(store: Store, name: str) -> ToolInfo:
    """Return one tool with versions, claims and status history."""
    with session_scope(store.engine) as s:
        return _tool_info(_tool_row(s, name))


def list_tools(store: Store) -> list[ToolInfo]:
    """Return every tool, ordered by name."""
    with session_scope(store.engine) as s:
        return [_tool_info(t) for t in s.scalars(select(AITool).order_by(AITool.name))]


def set_status(
    store: Store, name: str, status: str, *, actor: str | None = None, reason: str | None = None
) -> ToolInfo:
    """Move a tool to a new lifecycle status, recording who, when and why.

    Only the moves in :data:`ALLOWED_TRANSITIONS` are accepted.
    """
    _choice(status, LIFECYCLE_STATUSES, "Status")
    with session_scope(store.engine) as s:
        tool = _tool_row(s, name)
        if status == tool.status:
            raise ConflictError(f"Tool {name!r} is already {status}.")
        allowed = ALLOWED_TRANSITIONS[tool.status]
        if status not in allowed:
            options = ", ".join(allowed) or "none (retired is final)"
            raise ConflictError(
                f"Tool {name!r} cannot move from {tool.status} to {status}; from {tool.status} "
                f"it can move to: {options}."
            )
        s.add(
            ToolStatusChange(
                tool_id=tool.id,
                from_status=tool.status,
                to_status=status,
                changed_by=actor,
                reason=reason,
                changed_at=utcnow(),
            )
        )
        tool.status = status
    return get_tool(store, name)


def add_version(
    store: Store,
    tool: str,
    version: str,
    *,
    deployment_date: dt.date | None = None,
    operating_threshold: float | None = None,
    score_min: float = 0.0,
    score_max: float = 1.0,
    notes: str | None = None,
) -> VersionInfo:
    """Register a version of a tool, with its operating threshold and score range."""
    version = version.strip()
    if not version:
        raise ValueError("Version must not be blank.")
    if not score_min < score_max:
        raise ValueError(f"score_min ({score_min}) must be below score_max ({score_max}).")
    if operating_threshold is not None and not score_min <= operating_threshold <= score_max:
        raise ValueError(
            f"Operating threshold {operating_threshold} is outside the score range "
            f"{score_min} to {score_max}."
        )
    with session_scope(store.engine) as s:
        row = _tool_row(s, tool)
        if any(v.version == version for v in row.versions):
            raise ConflictError(f"Tool {tool!r} already has version {version!r}.")
        tv = ToolVersion(
            tool_id=row.id,
            version=version,
            deployment_date=deployment_date,
            operating_threshold=operating_threshold,
            score_min=score_min,
            score_max=score_max,
            notes=notes,
        )
        s.add(tv)
        s.flush()
        s.refresh(tv)
        return _version_info(tv)


def add_claim(store: Store, tool: str, version: str, claim: ClaimInfo) -> VersionInfo:
    """Record a manufacturer's claimed performance for a version (replacing the same metric)."""
    if (
        claim.ci_low is not None
        and claim.ci_high is not None
        and not (claim.ci_low <= claim.value <= claim.ci_high)
    ):
        raise ValueError(
            f"Claimed {claim.metric} {claim.value} lies outside its own interval "
            f"{claim.ci_low} to {claim.ci_high}; check the figures from the source document."
        )
    with session_scope(store.engine) as s:
        row = _tool_row(s, tool)
        tv = next((v for v in row.versions if v.version == version), None)
        if tv is None:
            raise NotFoundError(f"Tool {tool!r} has no version {version!r}.")
        existing = next(
            (c for c in tv.claims if c.metric == claim.metric and c.finding == claim.finding), None
        )
        if existing is not None:
            s.delete(existing)
            s.flush()
        s.add(ClaimedPerformance(version_id=tv.id, **asdict(claim)))
        s.flush()
        s.refresh(tv)
        return _version_info(tv)


def tool_counts(store: Store, name: str) -> ToolCounts:
    """Count studies, results and referenced results for a tool."""
    with session_scope(store.engine) as s:
        tool = _tool_row(s, name)
        by_version = dict(
            s.execute(
                select(ToolVersion.version, func.count(AIResult.id))
                .join(AIResult, AIResult.version_id == ToolVersion.id, isouter=True)
                .where(ToolVersion.tool_id == tool.id)
                .group_by(ToolVersion.version)
            ).all()
        )
        base = select(AIResult).join(ToolVersion).where(ToolVersion.tool_id == tool.id).subquery()
        studies = s.scalar(select(func.count(func.distinct(base.c.study_id)))) or 0
        results = s.scalar(select(func.count()).select_from(base)) or 0
        with_ref = (
            s.scalar(
                select(func.count())
                .select_from(base)
                .join(
                    Reference,
                    (Reference.study_id == base.c.study_id) & (Reference.finding == base.c.finding),
                )
            )
            or 0
        )
    return ToolCounts(studies, results, with_ref, by_version)
