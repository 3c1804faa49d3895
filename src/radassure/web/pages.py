"""Server-rendered registry pages over the same services as the JSON API.

Every page has a JSON twin at the matching ``/api`` route, linked from the
page. The pages receive the store and the signed-in user through the
dependencies the application factory passes to :func:`build_router`; the actor
dependency checks each route's declared permission.
"""

# No ``from __future__ import annotations``: FastAPI reads these closures'
# annotations at definition time, and they name the builder's arguments.

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from radassure import services
from radassure.errors import NotFoundError
from radassure.services import runs
from radassure.services.auth import Actor
from radassure.web.render import render_page
from radassure.web.signin import add_signin_routes

__all__ = ["build_router", "live_version", "site_label"]

# The stored report is served as its own sandboxed document: inline styles and
# data: images only, no scripts, no forms, framed only by this site's run page.
_REPORT_HEADERS = {
    "Content-Security-Policy": (
        "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        "frame-ancestors 'self'; base-uri 'none'; form-action 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def live_version(tool: services.ToolInfo, *, today: dt.date | None = None) -> str | None:
    """Return the version a live tool runs (the API's ``live_version``), else None.

    The latest deployment date on or before ``today`` wins; with no dates, the
    newest registered version. Tests check this agrees with the JSON twin.
    """
    if tool.status != "live" or not tool.versions:
        return None
    day = today or dt.date.today()
    deployed = [v for v in tool.versions if v.deployment_date and v.deployment_date <= day]
    if deployed:
        return max(deployed, key=lambda v: v.deployment_date or day).version
    return tool.versions[-1].version


def site_label(sites: list[services.SiteInfo]) -> str | None:
    """Name the site (or network of sites) for the page header.

    Examples
    --------
    >>> site_label([services.SiteInfo("RXH01", "Royal Example Hospital")])
    'Royal Example Hospital'
    >>> site_label([services.SiteInfo("A", "A"), services.SiteInfo("B", "B")])
    'Imaging network of 2 sites'

    """
    if not sites:
        return None
    if len(sites) == 1:
        return sites[0].name
    return f"Imaging network of {len(sites)} sites"


def build_router(
    *,
    store_dependency: Callable[..., services.Store],
    actor_dependency: Callable[..., Actor],
    cookie_secure: bool = False,
) -> APIRouter:
    """Return the pages' router, wired to the application's dependencies.

    Parameters
    ----------
    store_dependency : callable
        FastAPI dependency giving the open :class:`~radassure.services.Store`.
    actor_dependency : callable
        FastAPI dependency giving the signed-in user allowed the route (it
        raises for anyone else; pages then send them to ``/signin``).
    cookie_secure : bool
        Mark the sign-in cookies Secure even over plain HTTP.

    Returns
    -------
    fastapi.APIRouter
        ``/``, ``/tools``, ``/tools/{name}``, ``/sites``, ``/runs/{id}``,
        ``/runs/{id}/report``, ``/signin`` and ``/signout``.

    """
    router = APIRouter(include_in_schema=False)
    store_dep = Annotated[services.Store, Depends(store_dependency)]
    actor_dep = Annotated[Actor, Depends(actor_dependency)]
    add_signin_routes(router, store_dependency, cookie_secure=cookie_secure)

    @router.get("/")
    def home(actor: actor_dep) -> RedirectResponse:
        """Send visitors to the registry."""
        return RedirectResponse("/tools", status_code=303)

    @router.get("/tools", response_class=HTMLResponse)
    def tools_page(request: Request, store: store_dep, actor: actor_dep) -> HTMLResponse:
        """Show the registry table."""
        rows: list[dict[str, Any]] = [
            {"tool": t, "live_version": live_version(t)} for t in services.list_tools(store)
        ]
        return render_page(
            request, "tools.html", json_url="/api/tools",
            site_label=site_label(services.list_sites(store)), rows=rows,
        )  # fmt: skip

    @router.get("/tools/{name:path}", response_class=HTMLResponse)
    def tool_page(name: str, request: Request, store: store_dep, actor: actor_dep) -> HTMLResponse:
        """Show one tool: registry fields, versions and claims, history and data counts."""
        tool = services.get_tool(store, name)
        return render_page(
            request, "tool.html", json_url=f"/api/tools/{quote(name, safe='')}",
            site_label=site_label(services.list_sites(store)), tool=tool,
            live_version=live_version(tool), counts=services.tool_counts(store, name),
            runs=runs.list_runs(store, name, limit=10),
            runs_url=f"/api/tools/{quote(name, safe='')}/runs",
        )  # fmt: skip

    @router.get("/runs/{run_id}", response_class=HTMLResponse)
    def run_page(run_id: int, request: Request, store: store_dep, actor: actor_dep) -> HTMLResponse:
        """Show a run's record and headline, with its report framed (sandboxed) below."""
        run = runs.get_run(store, run_id)
        response = render_page(
            request, "run.html", json_url=f"/api/runs/{run_id}",
            site_label=site_label(services.list_sites(store)), run=run,
        )  # fmt: skip
        # This page alone frames a document: the run's own report, from this site.
        csp = response.headers["Content-Security-Policy"]
        response.headers["Content-Security-Policy"] = f"{csp}; frame-src 'self'"
        return response

    @router.get("/runs/{run_id}/report", response_class=HTMLResponse)
    def run_report(
        run_id: int, store: store_dep, actor: actor_dep, download: bool = False
    ) -> HTMLResponse:
        """Answer the run's self-contained HTML report (``?download=1`` to save it)."""
        run = runs.get_run(store, run_id)
        if not run.report_html:
            raise NotFoundError(f"Run {run_id} has no report.")
        headers = dict(_REPORT_HEADERS)
        if download:
            name = f"radassure-run-{run_id}.html"
            headers["Content-Disposition"] = f'attachment; filename="{name}"'
        return HTMLResponse(run.report_html, headers=headers)

    @router.get("/sites", response_class=HTMLResponse)
    def sites_page(request: Request, store: store_dep, actor: actor_dep) -> HTMLResponse:
        """Show the registered sites."""
        sites = services.list_sites(store)
        return render_page(
            request, "sites.html", json_url="/api/sites", site_label=site_label(sites),
            sites=sites,
        )  # fmt: skip

    return router
