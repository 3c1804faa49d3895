"""The monitoring page of a tool: charts (server-rendered SVG) and alerts with forms.

``/tools/{name}/monitoring`` shows each rule, its label-based CUSUM charts
(threshold, alarms, estimated change point, subgroup named) and the label-free
early warnings as context, then the alerts with acknowledge and resolve forms
for those allowed to act. Its JSON twin is ``/api/tools/{name}/monitoring``.
The forms post to this router with the session's CSRF token as a hidden field
and come back to the page (post/redirect/get).
"""

# No ``from __future__ import annotations``: FastAPI reads these closures'
# annotations at definition time, and they name the builder's arguments.

from collections.abc import Callable
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from radassure import services
from radassure.services import monitoring
from radassure.services.auth import Actor
from radassure.web.pages import site_label
from radassure.web.render import render_page

__all__ = ["build_monitoring_router"]


def build_monitoring_router(
    *,
    store_dependency: Callable[..., services.Store],
    actor_dependency: Callable[..., Actor],
    form_actor_dependency: Callable[..., Actor],
) -> APIRouter:
    """Return the monitoring pages' router, wired to the application's dependencies.

    Parameters
    ----------
    store_dependency : callable
        FastAPI dependency giving the open store.
    actor_dependency : callable
        Dependency giving the signed-in user allowed the route.
    form_actor_dependency : callable
        The same for a page form post: it takes the CSRF token from the form.

    Returns
    -------
    fastapi.APIRouter
        ``GET /tools/{name}/monitoring`` and the ``ack`` and ``resolve`` form posts.
        Include it before the pages' router: ``/tools/{name}`` takes any path.

    """
    router = APIRouter(include_in_schema=False)
    store_dep = Annotated[services.Store, Depends(store_dependency)]
    actor_dep = Annotated[Actor, Depends(actor_dependency)]
    form_dep = Annotated[Actor, Depends(form_actor_dependency)]

    def _back(name: str, alert_id: int) -> RedirectResponse:
        return RedirectResponse(
            f"/tools/{quote(name, safe='')}/monitoring#alert-{alert_id}", status_code=303
        )

    @router.get("/tools/{name:path}/monitoring", response_class=HTMLResponse)
    def monitoring_page(
        name: str, request: Request, store: store_dep, actor: actor_dep
    ) -> HTMLResponse:
        """Show a tool's monitoring charts and alerts."""
        tool = services.get_tool(store, name)
        view = monitoring.tool_monitoring(store, actor, name)
        figs = monitoring.figures(view.rules, view.charts, view.alerts)
        return render_page(
            request,
            "monitoring.html",
            json_url=f"/api/tools/{quote(name, safe='')}/monitoring",
            site_label=site_label(services.list_sites(store)),
            tool=tool,
            view=view,
            # Charts that alarmed first, then sensitivity (misses) before false positives.
            label_figures=sorted(
                (f for f in figs if f.label_based),
                key=lambda f: (-f.alarms, "false positives" in f.title),
            ),
            early_figures=[f for f in figs if not f.label_based],
            can_act=actor.can("monitoring.write"),
            can_suspend=actor.can("registry.write"),
            form_token=getattr(request.state, "csrf_token", None),
        )

    @router.post("/tools/{name:path}/monitoring/alerts/{alert_id}/ack")
    def ack_form(
        name: str,
        alert_id: int,
        *,
        request: Request,
        store: store_dep,
        actor: form_dep,
        note: Annotated[str, Form(max_length=4000)] = "",
    ) -> RedirectResponse:
        """Acknowledge an alert from the page's form."""
        address = request.client.host if request.client else None
        monitoring.acknowledge_alert(store, actor, alert_id, note, address=address)
        return _back(name, alert_id)

    @router.post("/tools/{name:path}/monitoring/alerts/{alert_id}/resolve")
    def resolve_form(
        name: str,
        alert_id: int,
        *,
        request: Request,
        store: store_dep,
        actor: form_dep,
        action: Annotated[str, Form(max_length=32)] = "",
        note: Annotated[str, Form(max_length=4000)] = "",
    ) -> RedirectResponse:
        """Resolve an alert from the page's form."""
        address = request.client.host if request.client else None
        monitoring.resolve_alert(store, actor, alert_id, action, note, address=address)
        return _back(name, alert_id)

    return router
