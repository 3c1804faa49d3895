"""JSON routes of the registry: sites, tools, versions, claims and lifecycle status.

Each route parses its body into a schema, calls one service and answers with a
schema built from the service's result. Errors are raised by the services and
answered by the application's single handler (see :mod:`radassure.api.app`).
Tool names may contain ``/``, so they are matched with the ``path`` converter.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import JSONResponse

from radassure import services
from radassure.api.deps import ActorDep, StoreDep, client_address, get_store, schema_revision
from radassure.api.schemas import Claim as ClaimBody
from radassure.api.schemas import (
    ErrorBody,
    Health,
    Site,
    SiteCreate,
    StatusUpdate,
    ToolCreate,
    ToolDetail,
    ToolSummary,
    Version,
    VersionCreate,
)
from radassure.errors import RadassureError

__all__ = ["health_router", "router"]

router = APIRouter(prefix="/api")
health_router = APIRouter()


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    text = {
        404: "The tool, version or site does not exist.",
        409: "The request contradicts what is stored (e.g. a refused lifecycle move).",
        422: "The request is invalid; `problems` names each field at fault.",
    }
    return {code: {"model": ErrorBody, "description": text[code]} for code in codes}


def _tool_url(name: str) -> str:
    return f"/api/tools/{quote(name, safe='')}"


def _detail(store: services.Store, name: str) -> ToolDetail:
    return ToolDetail.from_info(services.get_tool(store, name), services.tool_counts(store, name))


@health_router.get(
    "/health",
    response_model=Health,
    tags=["health"],
    summary="Service and database health",
    responses={503: {"model": Health, "description": "The database is unavailable."}},
)
def health(request: Request) -> Health | JSONResponse:
    """Answer whether the database can be reached and its schema revision."""
    try:
        store = get_store(request)
        revision = schema_revision(store)
    except RadassureError as exc:
        body = Health(status="error", database="unavailable", schema_revision=None,
                      message=exc.message)  # fmt: skip
        return JSONResponse(body.model_dump(), status_code=status.HTTP_503_SERVICE_UNAVAILABLE)
    return Health(status="ok", database="ok", schema_revision=revision)


# -- sites -------------------------------------------------------------------
@router.get("/sites", response_model=list[Site], tags=["sites"], summary="List sites")
def list_sites(store: StoreDep, actor: ActorDep) -> list[Site]:
    """Return every registered site, ordered by code."""
    return [Site.from_info(s) for s in services.list_sites(store)]


@router.post(
    "/sites",
    response_model=Site,
    status_code=status.HTTP_201_CREATED,
    tags=["sites"],
    summary="Register a site",
    responses=_errors(409, 422),
)
def add_site(body: SiteCreate, request: Request, store: StoreDep, actor: ActorDep) -> Site:
    """Register a site; registering the same code and name again changes nothing."""
    info = services.add_site(store, body.code, body.name, actor=actor,
                             address=client_address(request))  # fmt: skip
    return Site.from_info(info)


# -- tools -------------------------------------------------------------------
@router.get("/tools", response_model=list[ToolSummary], tags=["tools"], summary="List tools")
def list_tools(store: StoreDep, actor: ActorDep) -> list[ToolSummary]:
    """Return the registry: every tool, ordered by name (the JSON twin of ``/tools``)."""
    return [ToolSummary.from_info(t) for t in services.list_tools(store)]


@router.post(
    "/tools",
    response_model=ToolDetail,
    status_code=status.HTTP_201_CREATED,
    tags=["tools"],
    summary="Register a tool",
    responses=_errors(409, 422),
)
def add_tool(
    body: ToolCreate, request: Request, response: Response, store: StoreDep, actor: ActorDep
) -> ToolDetail:
    """Register an AI tool; its status history starts with the registration."""
    fields = body.model_dump(exclude_none=True)
    name, manufacturer, task = fields.pop("name"), fields.pop("manufacturer"), fields.pop("task")
    info = services.add_tool(store, name=name, manufacturer=manufacturer, task=task,
                             actor=actor, address=client_address(request), **fields)  # fmt: skip
    response.headers["Location"] = _tool_url(info.name)
    return ToolDetail.from_info(info, services.tool_counts(store, info.name))


@router.get(
    "/tools/{name:path}",
    response_model=ToolDetail,
    tags=["tools"],
    summary="One tool in full",
    responses=_errors(404),
)
def get_tool(name: str, store: StoreDep, actor: ActorDep) -> ToolDetail:
    """Return a tool with versions, claims, status history and data counts.

    The JSON twin of the page ``/tools/{name}``.
    """
    return _detail(store, name)


@router.post(
    "/tools/{name:path}/status",
    response_model=ToolDetail,
    tags=["tools"],
    summary="Move a tool through its lifecycle",
    responses=_errors(404, 409, 422),
)
def set_status(
    name: str, body: StatusUpdate, request: Request, store: StoreDep, actor: ActorDep
) -> ToolDetail:
    """Change the lifecycle status, recording who and why.

    Allowed moves: proposed → evaluating or retired; evaluating → approved,
    proposed or retired; approved → live, evaluating or retired; live →
    suspended or retired; suspended → live, evaluating or retired; retired is
    final. Any other move answers 409 naming the moves allowed.
    """
    services.set_status(store, name, body.status, actor=actor, reason=body.reason,
                        address=client_address(request))  # fmt: skip
    return _detail(store, name)


@router.post(
    "/tools/{name:path}/versions",
    response_model=Version,
    status_code=status.HTTP_201_CREATED,
    tags=["tools"],
    summary="Register a version",
    responses=_errors(404, 409, 422),
)
def add_version(
    name: str, body: VersionCreate, request: Request, store: StoreDep, actor: ActorDep
) -> Version:
    """Register a version of a tool with its operating threshold and score range."""
    info = services.add_version(
        store, name, body.version, deployment_date=body.deployment_date,
        operating_threshold=body.operating_threshold, score_min=body.score_min,
        score_max=body.score_max, notes=body.notes, actor=actor,
        address=client_address(request),
    )  # fmt: skip
    return Version.from_info(info)


@router.post(
    "/tools/{name:path}/versions/{version}/claims",
    response_model=Version,
    tags=["tools"],
    summary="Record a claimed performance figure",
    responses=_errors(404, 422),
)
def add_claim(
    name: str, version: str, body: ClaimBody, *, request: Request, store: StoreDep, actor: ActorDep
) -> Version:
    """Record the manufacturer's claim for a version, replacing one for the same metric and finding.

    Answers the version with all its claims.
    """
    claim = services.ClaimInfo(**body.model_dump())
    info = services.add_claim(store, name, version, claim, actor=actor,
                              address=client_address(request))  # fmt: skip
    return Version.from_info(info)
