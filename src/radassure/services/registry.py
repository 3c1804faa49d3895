"""The AI-tool registry: sites, tools, versions, claims and lifecycle status.

Functions return plain frozen dataclasses (``*Info``, in
:mod:`radassure.services._registry_types`) rather than ORM objects, so the CLI,
API and pages all show the same fields and no session leaks out. Every change
takes the acting :class:`~radassure.services._access.Actor`, checks its
``registry.write`` permission itself and writes one audit event (before and
after) in the same transaction as the change, so neither can exist without
the other. ``at`` back-dates a change (the demo's synthetic history); it
stamps both the row and its audit event.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from radassure.db import (
    AITool,
    ClaimedPerformance,
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
from radassure.services._access import Actor, require
from radassure.services._registry_reads import (
    get_tool,
    list_sites,
    list_tools,
    tool_counts,
    tool_row,
)
from radassure.services._registry_types import (
    OPTIONAL_TOOL_FIELDS,
    ClaimInfo,
    SiteInfo,
    StatusChangeInfo,
    ToolCounts,
    ToolInfo,
    VersionInfo,
    tool_info,
    tool_state,
    version_info,
    version_state,
)
from radassure.services.audit import record
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


def _choice(value: str | None, allowed: tuple[str, ...], what: str) -> None:
    if value is not None and value not in allowed:
        raise ValueError(f"{what} {value!r} is not one of: {', '.join(allowed)}.")


@contextmanager
def _transaction(store: Store, session: Session | None) -> Iterator[Session]:
    """Use the caller's session (its transaction), or open and commit one."""
    if session is not None:
        yield session
        return
    with session_scope(store.engine) as s:
        yield s


def add_site(
    store: Store,
    code: str,
    name: str | None = None,
    *,
    actor: Actor,
    address: str | None = None,
    at: dt.datetime | None = None,
) -> SiteInfo:
    """Register a site (needs ``registry.write``; audited as ``site.added``).

    Adding an existing code with the same name (or no name) changes nothing
    and writes no audit event.

    Examples
    --------
    >>> # see tests/integration/test_registry.py and test_audit_changes.py

    """
    require(actor, "registry.write")
    code = code.strip()
    if not code or len(code) > 64:
        raise ValueError("Site code must be 1 to 64 characters, e.g. RXH01.")
    with session_scope(store.engine) as s:
        existing = s.scalar(select(Site).where(Site.code == code))
        if existing is not None:
            if name and name != existing.name:
                raise ConflictError(f"Site {code!r} is already registered as {existing.name!r}.")
            return SiteInfo(existing.code, existing.name)
        site = Site(code=code, name=name or code, created_at=at or utcnow())
        s.add(site)
        s.flush()
        after = {"code": site.code, "name": site.name}
        record(s, actor, "site.added", "site", site.id, after=after, address=address, now=at)
    return SiteInfo(code, name or code)


def add_tool(
    store: Store,
    *,
    name: str,
    manufacturer: str,
    task: str,
    actor: Actor,
    address: str | None = None,
    at: dt.datetime | None = None,
    **fields: Any,
) -> ToolInfo:
    """Register an AI tool (status ``proposed`` unless ``status`` is given).

    Parameters
    ----------
    store : Store
        The open installation.
    name, manufacturer, task : str
        Required identity; ``task`` is classification, detection or segmentation.
    actor : Actor
        Who registers it: needs ``registry.write``; named in the status
        history and the audit trail (``tool.added``).
    address : str, optional
        Client address or channel, for the audit trail.
    at : datetime, optional
        When it was registered (naive UTC; default now).
    **fields
        Any other :class:`ToolInfo` field (product, intended_use, modality,
        body_part, clinical_pathway, regulatory_marking, device_class,
        mhra_reference, udi_di, clinical_owner, status).

    Examples
    --------
    >>> # see tests/integration/test_registry.py for a full run

    """
    require(actor, "registry.write")
    name = name.strip()
    if not name:
        raise ValueError("Tool name must not be blank.")
    _choice(task, TASKS, "Task")
    status = fields.pop("status", None) or "proposed"
    _choice(status, LIFECYCLE_STATUSES, "Status")
    _choice(fields.get("regulatory_marking"), REGULATORY_MARKINGS, "Regulatory marking")
    _choice(fields.get("device_class"), DEVICE_CLASSES, "Device class")
    unknown = set(fields) - set(OPTIONAL_TOOL_FIELDS)
    if unknown:
        raise ValueError(f"Unknown tool field(s): {', '.join(sorted(unknown))}.")
    if fields.get("modality"):
        fields["modality"] = str(fields["modality"]).upper()
    when = at or utcnow()
    with session_scope(store.engine) as s:
        if s.scalar(select(AITool.id).where(AITool.name == name)) is not None:
            raise ConflictError(
                f"A tool named {name!r} is already registered; choose another "
                "name or add a version to it with `radassure version add`."
            )
        tool = AITool(
            name=name, manufacturer=manufacturer, task=task, status=status, created_at=when,
            **fields,
        )  # fmt: skip
        s.add(tool)
        s.flush()
        s.add(
            ToolStatusChange(
                tool_id=tool.id,
                from_status=None,
                to_status=status,
                changed_by=actor.name,
                changed_at=when,
                reason="registered",
            )
        )
        after = tool_state(tool)
        record(s, actor, "tool.added", "tool", tool.id, after=after, address=address, now=at)
    return get_tool(store, name)


def set_status(
    store: Store,
    name: str,
    status: str,
    *,
    actor: Actor,
    reason: str | None = None,
    address: str | None = None,
    at: dt.datetime | None = None,
    session: Session | None = None,
) -> ToolInfo:
    """Move a tool to a new lifecycle status, recording who, when and why.

    Only the moves in :data:`ALLOWED_TRANSITIONS` are accepted. Needs
    ``registry.write``; audited as ``tool.status_changed`` with the status
    before and after. Pass ``session`` to make the move part of the caller's
    transaction (e.g. suspending a tool while resolving an alert): it is then
    flushed but not committed.

    Examples
    --------
    >>> # see tests/integration/test_registry.py and test_audit_changes.py

    """
    require(actor, "registry.write")
    _choice(status, LIFECYCLE_STATUSES, "Status")
    when = at or utcnow()
    with _transaction(store, session) as s:
        tool = tool_row(s, name)
        if status == tool.status:
            raise ConflictError(f"Tool {name!r} is already {status}.")
        allowed = ALLOWED_TRANSITIONS[tool.status]
        if status not in allowed:
            options = ", ".join(allowed) or "none (retired is final)"
            raise ConflictError(
                f"Tool {name!r} cannot move from {tool.status} to {status}; from {tool.status} "
                f"it can move to: {options}."
            )
        before = {"status": tool.status}
        s.add(
            ToolStatusChange(
                tool_id=tool.id,
                from_status=tool.status,
                to_status=status,
                changed_by=actor.name,
                reason=reason,
                changed_at=when,
            )
        )
        tool.status = status
        s.flush()
        after = {"status": status, "reason": reason}
        record(s, actor, "tool.status_changed", "tool", tool.id, before=before, after=after,
               address=address, now=at)  # fmt: skip
        s.expire(tool, ["status_history"])
        return tool_info(tool)


def add_version(
    store: Store,
    tool: str,
    version: str,
    *,
    actor: Actor,
    deployment_date: dt.date | None = None,
    operating_threshold: float | None = None,
    score_min: float = 0.0,
    score_max: float = 1.0,
    notes: str | None = None,
    address: str | None = None,
    at: dt.datetime | None = None,
) -> VersionInfo:
    """Register a version of a tool, with its operating threshold and score range.

    Needs ``registry.write``; audited as ``version.added``.

    Examples
    --------
    >>> # see tests/integration/test_registry.py and test_audit_changes.py

    """
    require(actor, "registry.write")
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
        row = tool_row(s, tool)
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
            created_at=at or utcnow(),
        )
        s.add(tv)
        s.flush()
        s.refresh(tv)
        after = version_state(row.name, tv)
        record(s, actor, "version.added", "tool_version", tv.id, after=after, address=address,
               now=at)  # fmt: skip
        return version_info(tv)


def add_claim(
    store: Store,
    tool: str,
    version: str,
    claim: ClaimInfo,
    *,
    actor: Actor,
    address: str | None = None,
    at: dt.datetime | None = None,
) -> VersionInfo:
    """Record a manufacturer's claimed performance for a version (replacing the same metric).

    Needs ``registry.write``; audited as ``claim.added``, or ``claim.replaced``
    with the claim it replaced as ``before``.

    Examples
    --------
    >>> # see tests/integration/test_registry.py and test_audit_changes.py

    """
    require(actor, "registry.write")
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
        row = tool_row(s, tool)
        tv = next((v for v in row.versions if v.version == version), None)
        if tv is None:
            raise NotFoundError(f"Tool {tool!r} has no version {version!r}.")
        existing = next(
            (c for c in tv.claims if c.metric == claim.metric and c.finding == claim.finding), None
        )
        before: dict[str, Any] | None = None
        if existing is not None:
            before = asdict(
                ClaimInfo(existing.metric, existing.value, existing.finding, existing.ci_low,
                          existing.ci_high, existing.level, existing.source_document)
            )  # fmt: skip
            s.delete(existing)
            s.flush()
        s.add(ClaimedPerformance(version_id=tv.id, **asdict(claim)))
        s.flush()
        s.refresh(tv)
        after = {"tool": row.name, "version": tv.version, **asdict(claim)}
        action = "claim.added" if before is None else "claim.replaced"
        record(s, actor, action, "tool_version", tv.id, before=before, after=after,
               address=address, now=at)  # fmt: skip
        return version_info(tv)
