"""JSON routes of monitoring: a tool's rules, charts and alerts; acknowledging and resolving.

``GET /api/tools/{name}/monitoring`` is the JSON twin of the page
``/tools/{name}/monitoring``. This router is included before the registry's,
so that ``/api/tools/{name}/monitoring`` is not read as a tool named
``{name}/monitoring``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from radassure.api.deps import ActorDep, StoreDep, client_address
from radassure.api.schemas import ErrorBody
from radassure.services import monitoring

__all__ = ["AckRequest", "ResolveRequest", "router"]

router = APIRouter(prefix="/api", tags=["monitoring"])

#: Alert ids are 32-bit database keys; anything else is refused before the database.
AlertId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The alert's id.")]

_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "Unknown tool or alert."},
    409: {"model": ErrorBody, "description": "The alert is not in a state that allows this."},
    422: {"model": ErrorBody, "description": "A missing note or an unknown action."},
}


class AckRequest(BaseModel):
    """Acknowledge an alert."""

    model_config = ConfigDict(extra="forbid")

    note: str = Field(min_length=1, max_length=4000, description="What was checked or will be.")


class ResolveRequest(BaseModel):
    """Resolve an alert with the action taken."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["investigate", "re-threshold", "suspend-tool"] = Field(
        description="suspend-tool also suspends the tool (needs registry.write)."
    )
    note: str = Field(min_length=1, max_length=4000, description="What was found and done.")


@router.get("/tools/{name:path}/monitoring", summary="A tool's monitoring", responses=_ERRORS)
def tool_monitoring(
    name: str,
    store: StoreDep,
    actor: ActorDep,
    days: Annotated[int, Query(ge=1, le=3660, description="Days of each chart.")] = 180,
) -> dict[str, Any]:
    """Return the tool's rules, each chart's last ``days`` of points, and its alerts.

    ``charts`` maps rule id to chart key to points (day, statistic, threshold,
    events, n). Label-based charts are the safety signal; keys starting
    ``ew:`` are label-free early warnings, shown as context.
    """
    return monitoring.tool_monitoring(store, actor, name, days=days).to_dict()


@router.get("/alerts", summary="Monitoring alerts", responses=_ERRORS)
def list_alerts(
    *,
    store: StoreDep,
    actor: ActorDep,
    state: Annotated[
        Literal["open", "acknowledged", "resolved"] | None, Query(description="Only this state.")
    ] = None,
    tool: Annotated[str | None, Query(description="Only this tool.")] = None,
    kind: Annotated[
        Literal["label-based", "early-warning"] | None, Query(description="Only this kind.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=5000, description="At most this many.")] = 200,
) -> list[dict[str, Any]]:
    """Return alerts, newest day first."""
    found = monitoring.list_alerts(store, actor, tool=tool, state=state, kind=kind, limit=limit)
    return [a.to_dict() for a in found]


@router.post("/alerts/{alert_id}/ack", summary="Acknowledge an alert", responses=_ERRORS)
def acknowledge(
    alert_id: AlertId, body: AckRequest, request: Request, store: StoreDep, actor: ActorDep
) -> dict[str, Any]:
    """Acknowledge an open alert with a note (audited)."""
    info = monitoring.acknowledge_alert(
        store, actor, alert_id, body.note, address=client_address(request)
    )
    return info.to_dict()


@router.post("/alerts/{alert_id}/resolve", summary="Resolve an alert", responses=_ERRORS)
def resolve(
    alert_id: AlertId, body: ResolveRequest, request: Request, store: StoreDep, actor: ActorDep
) -> dict[str, Any]:
    """Resolve an alert with the action taken (audited); suspend-tool suspends the tool."""
    info = monitoring.resolve_alert(
        store, actor, alert_id, body.action, body.note, address=client_address(request)
    )
    return info.to_dict()
