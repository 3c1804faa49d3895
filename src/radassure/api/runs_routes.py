"""JSON routes of analysis runs: start a validation, read a run, list a tool's runs.

``GET /api/runs/{id}`` is the JSON twin of the page ``/runs/{id}``;
``GET /api/tools/{name}/runs`` lists a tool's latest runs, as the tool page
does. This router is included before the registry's so that
``/api/tools/{name}/runs`` is not read as a tool named ``{name}/runs``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from radassure.api.deps import ActorDep, StoreDep, client_address
from radassure.api.schemas import ErrorBody
from radassure.services import equity, runs, validation

__all__ = ["EquityRequest", "RunDetail", "RunSummary", "ValidateRequest", "router"]

router = APIRouter(prefix="/api", tags=["runs"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {
        "model": ErrorBody,
        "description": "Unknown tool, version, site, finding or run; "
        "or no usable data in the scope (the message says which and what to do).",
    },
    422: {
        "model": ErrorBody,
        "description": "A parameter is out of range, or (equity) an unknown attribute or "
        "an attribute with one group only.",
    },
}


class RunSummary(BaseModel):
    """A saved run without its full results."""

    id: int
    kind: str = Field(description="validation or equity (later: monitoring, contours).")
    tool: str
    version: str | None
    parameters: dict[str, Any] = Field(description="site, from, to, finding, margin, level ...")
    data_fingerprint: str = Field(description="SHA-256 over the data rows the run used.")
    n_rows: int = Field(description="Results (with a reference standard) the run used.")
    created_at: dt.datetime
    created_by: str | None
    radassure_version: str
    headline: list[dict[str, Any]] = Field(description="Key estimates and claim outcomes.")
    url: str = Field(description="This run as JSON.")
    page: str = Field(description="This run as a web page.")
    report: str = Field(description="The self-contained HTML report.")

    @classmethod
    def fields_of(cls, run: runs.RunInfo) -> dict[str, Any]:
        """The fields shared by summaries and details."""
        data = run.to_dict()
        data.pop("results")
        data["created_at"] = run.created_at
        return {
            **data,
            "url": f"/api/runs/{run.id}",
            "page": f"/runs/{run.id}",
            "report": f"/runs/{run.id}/report",
        }

    @classmethod
    def from_info(cls, run: runs.RunInfo) -> RunSummary:
        """Build from the service's result."""
        return cls(**cls.fields_of(run))


class RunDetail(RunSummary):
    """A saved run with every number it computed (NaN as null)."""

    results: dict[str, Any]

    @classmethod
    def from_info(cls, run: runs.RunInfo) -> RunDetail:
        """Build from the service's result."""
        return cls(**cls.fields_of(run), results=run.results)


class ValidateRequest(BaseModel):
    """What to validate; every field is optional."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    site: str | None = Field(None, description="Only studies from this site code.")
    date_from: dt.date | None = Field(None, alias="from", description="First acquisition day.")
    date_to: dt.date | None = Field(None, alias="to", description="Last acquisition day.")
    finding: str | None = Field(None, description="Only this finding or structure.")
    margin: float = Field(0.05, ge=0, description="Accepted shortfall from each claim.")
    level: float = Field(0.95, gt=0, lt=1, description="Confidence level.")
    half_width: float = Field(
        0.05, ge=validation.MIN_HALF_WIDTH, lt=1, description="Wanted CI half-width."
    )
    max_distance: float = Field(50.0, gt=0, description="Detection: mark-to-lesion match distance.")


class EquityRequest(BaseModel):
    """What to check for group differences; every field is optional."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    attributes: list[str] | None = Field(
        None,
        description="Of sex, age_band, ethnic_group, deprivation, site, manufacturer, model; "
        "default the four patient attributes.",
    )
    site: str | None = Field(None, description="Only studies from this site code.")
    date_from: dt.date | None = Field(None, alias="from", description="First acquisition day.")
    date_to: dt.date | None = Field(None, alias="to", description="Last acquisition day.")
    finding: str | None = Field(None, description="Only this finding; default all, pooled.")
    margin: float = Field(0.05, gt=0, lt=1, description="Smallest gap that matters.")
    correction: Literal["holm", "bh"] = Field("holm", description="Multiple-comparison control.")
    level: float = Field(0.95, gt=0, lt=1, description="Confidence level.")


@router.get(
    "/runs/{run_id}",
    response_model=RunDetail,
    summary="One run in full",
    responses={404: _ERRORS[404]},
)
def get_run(
    run_id: Annotated[int, Path(ge=1, le=runs.MAX_ID)], store: StoreDep, actor: ActorDep
) -> RunDetail:
    """Return a run with its parameters, data fingerprint and every result.

    The JSON twin of the page ``/runs/{run_id}``; the report itself is at
    ``/runs/{run_id}/report``.
    """
    return RunDetail.from_info(runs.get_run(store, run_id))


@router.get(
    "/tools/{name:path}/runs",
    response_model=list[RunSummary],
    summary="A tool's latest runs",
    responses={404: _ERRORS[404]},
)
def list_runs(
    name: str,
    store: StoreDep,
    actor: ActorDep,
    limit: Annotated[int, Query(ge=1, le=1000, description="How many, newest first.")] = 20,
) -> list[RunSummary]:
    """Return a tool's runs, newest first, without their full results."""
    return [RunSummary.from_info(r) for r in runs.list_runs(store, name, limit=limit)]


@router.post(
    "/tools/{name:path}/versions/{version}/validate",
    response_model=RunDetail,
    status_code=status.HTTP_201_CREATED,
    summary="Validate a version on local data",
    responses=_ERRORS,
)
def validate(
    name: str,
    version: str,
    *,
    request: Request,
    response: Response,
    store: StoreDep,
    actor: ActorDep,
    body: Annotated[ValidateRequest | None, Body()] = None,
) -> RunDetail:
    """Run a validation of the version's results with a reference standard and save it.

    Metrics at the version's operating threshold with confidence intervals,
    AUC, curves, calibration (classification), lesion-level metrics
    (detection) or per-structure summaries (segmentation), and the check of
    every stored claim. Answers the saved run; its report is at the ``report``
    address.
    """
    req = body or ValidateRequest()
    run = validation.run_validation(
        store,
        name,
        version,
        site=req.site,
        date_from=req.date_from,
        date_to=req.date_to,
        finding=req.finding,
        margin=req.margin,
        level=req.level,
        half_width=req.half_width,
        max_distance=req.max_distance,
        actor=actor,
        address=client_address(request),
    )
    response.headers["Location"] = f"/api/runs/{run.id}"
    return RunDetail.from_info(run)


@router.post(
    "/tools/{name:path}/versions/{version}/equity",
    response_model=RunDetail,
    status_code=status.HTTP_201_CREATED,
    summary="Check a version for worse performance in patient groups",
    responses=_ERRORS,
)
def check_equity(
    name: str,
    version: str,
    *,
    request: Request,
    response: Response,
    store: StoreDep,
    actor: ActorDep,
    body: Annotated[EquityRequest | None, Body()] = None,
) -> RunDetail:
    """Run an equity check of the version's results with a reference standard and save it.

    Sensitivity, specificity and AUC per group at the operating threshold,
    flags (``results.flags``: attribute, group, metric, estimate, reference,
    difference, p_adjusted and a reading), insufficient-data groups with the
    cases needed, and attribute completeness by site. Answers the saved run.
    """
    req = body or EquityRequest()
    run = equity.run_equity(
        store,
        name,
        version,
        attributes=req.attributes,
        site=req.site,
        date_from=req.date_from,
        date_to=req.date_to,
        finding=req.finding,
        margin=req.margin,
        correction=req.correction,
        level=req.level,
        actor=actor,
        address=client_address(request),
    )
    response.headers["Location"] = f"/api/runs/{run.id}"
    return RunDetail.from_info(run)
