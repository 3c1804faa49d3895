"""Administration pages: users, API tokens, the audit trail, and the add-tool form.

Plain forms posting with the session's CSRF token in a hidden field; each
change goes through :mod:`radassure.services.auth` or the registry service,
which check the permission again and audit it. A new API token is shown once,
on the page answering its creation, sent with ``Cache-Control: no-store``.
"""

# No ``from __future__ import annotations``: FastAPI reads these closures'
# annotations at definition time, and they name the builder's arguments.

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from radassure import services
from radassure.errors import ConflictError, NotFoundError, RadassureError
from radassure.services import audit, auth
from radassure.services.auth import Actor
from radassure.web.render import render_page

__all__ = ["AUDIT_FILTERS", "audit_query", "build_admin_router"]

#: The audit page's filter fields, as in ``GET /api/audit``.
AUDIT_FILTERS = ("actor", "action", "entity", "entity_id", "since", "until")
_TASKS = ("classification", "detection", "segmentation")


def _address(request: Request) -> str | None:
    return request.client.host if request.client else None


def _csrf(request: Request) -> str:
    return str(getattr(request.state, "csrf_token", None) or "")


def _time(value: str, name: str) -> dt.datetime | None:
    if not value.strip():
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
    except (ValueError, OverflowError) as exc:
        raise ValueError(
            f"{name}: {value!r} is not a date or time; write e.g. 2026-03-02 or "
            "2026-03-02T08:30 (UTC)."
        ) from exc
    return parsed


def audit_query(values: dict[str, str]) -> str:
    """Return the query string of the non-blank audit filters (for paging and export links).

    Examples
    --------
    >>> audit_query({"actor": "ann", "action": "", "page": "2"})
    'actor=ann'

    """
    return urlencode({k: values[k] for k in AUDIT_FILTERS if values.get(k)})


def build_admin_router(
    *,
    store_dependency: Callable[..., services.Store],
    actor_dependency: Callable[..., Actor],
) -> APIRouter:
    """Return the router of ``/admin/users``, ``/admin/tokens``, ``/audit`` and ``POST /tools``.

    Parameters
    ----------
    store_dependency : callable
        FastAPI dependency giving the open :class:`~radassure.services.Store`.
    actor_dependency : callable
        FastAPI dependency giving the signed-in user allowed the route; for a
        form post it checks the form's CSRF token.

    Examples
    --------
    >>> router = build_admin_router(store_dependency=lambda: None, actor_dependency=lambda: None)
    >>> "/audit" in {r.path for r in router.routes}
    True

    """
    router = APIRouter(include_in_schema=False)
    store_dep = Annotated[services.Store, Depends(store_dependency)]
    actor_dep = Annotated[Actor, Depends(actor_dependency)]

    # -- users --------------------------------------------------------------------
    def users_page(
        request: Request, store: services.Store, actor: Actor, *, error: str | None = None,
        done: str | None = None, form: dict[str, str] | None = None, status_code: int = 200,
    ) -> HTMLResponse:  # fmt: skip
        return render_page(
            request, "users.html", status_code=status_code, json_url="/api/users",
            users=auth.list_users(store, actor), roles=auth.ROLES, csrf=_csrf(request),
            error=error, done=done, form=form or {},
        )  # fmt: skip

    @router.get("/admin/users", response_class=HTMLResponse)
    def list_users(
        request: Request, store: store_dep, actor: actor_dep, done: str | None = None
    ) -> HTMLResponse:
        """List users, with the add-user form and a disable button for each."""
        return users_page(request, store, actor, done=done)

    @router.post("/admin/users", response_class=HTMLResponse)
    def add_user(
        request: Request,
        store: store_dep,
        actor: actor_dep,
        *,
        username: Annotated[str, Form(max_length=64)],
        password: Annotated[str, Form(max_length=1024)],
        role: Annotated[str, Form(max_length=40)],
        display_name: Annotated[str, Form(max_length=200)] = "",
    ) -> Response:
        """Add a user (audited without the password), or show what to fix."""
        try:
            info = auth.add_user(
                store, actor, username, password, role, display_name=display_name or None,
                address=_address(request),
            )  # fmt: skip
        except (ValueError, ConflictError) as exc:
            form = {"username": username, "role": role, "display_name": display_name}
            code = 409 if isinstance(exc, ConflictError) else 422
            return users_page(request, store, actor, error=str(exc), form=form, status_code=code)
        return RedirectResponse(f"/admin/users?{urlencode({'done': info.username})}", 303)

    @router.post("/admin/users/{username}/disable")
    def disable_user(
        username: str, request: Request, store: store_dep, actor: actor_dep
    ) -> RedirectResponse:
        """Disable a user, ending their sessions and stopping their tokens."""
        auth.disable_user(store, actor, username, address=_address(request))
        return RedirectResponse("/admin/users", 303)

    # -- tokens ---------------------------------------------------------------------
    def tokens_page(
        request: Request, store: services.Store, actor: Actor, *, status_code: int = 200,
        error: str | None = None, new: auth.NewToken | None = None,
        form: dict[str, str] | None = None,
    ) -> HTMLResponse:  # fmt: skip
        response = render_page(
            request, "tokens.html", status_code=status_code, json_url="/api/tokens",
            tokens=auth.list_tokens(store, actor), users=auth.list_users(store, actor),
            roles=auth.ROLES, csrf=_csrf(request), error=error, new=new, form=form or {},
        )  # fmt: skip
        response.headers["Cache-Control"] = "no-store"  # the new token must not be cached
        return response

    @router.get("/admin/tokens", response_class=HTMLResponse)
    def list_tokens(request: Request, store: store_dep, actor: actor_dep) -> HTMLResponse:
        """List API tokens, with the create form and a revoke button for each."""
        return tokens_page(request, store, actor)

    @router.post("/admin/tokens", response_class=HTMLResponse)
    def create_token(
        request: Request,
        store: store_dep,
        actor: actor_dep,
        *,
        name: Annotated[str, Form(max_length=100)],
        username: Annotated[str, Form(max_length=64)],
        role: Annotated[str, Form(max_length=40)] = "",
    ) -> HTMLResponse:
        """Create a token and show it this once (no redirect: it is never shown again)."""
        try:
            new = auth.create_token(
                store, actor, name, username, role=role or None, address=_address(request)
            )
        except (ValueError, ConflictError, NotFoundError) as exc:
            form = {"name": name, "username": username, "role": role}
            return tokens_page(
                request, store, actor, error=str(exc), form=form, status_code=_exc_status(exc)
            )
        return tokens_page(request, store, actor, new=new, status_code=201)

    @router.post("/admin/tokens/{name}/revoke")
    def revoke_token(
        name: str, request: Request, store: store_dep, actor: actor_dep
    ) -> RedirectResponse:
        """Revoke a token for good."""
        auth.revoke_token(store, actor, name, address=_address(request))
        return RedirectResponse("/admin/tokens", 303)

    # -- audit ------------------------------------------------------------------------
    @router.get("/audit", response_class=HTMLResponse)
    def audit_page(
        request: Request, store: store_dep, actor: actor_dep, verify: bool = False
    ) -> HTMLResponse:
        """Browse the audit trail with filters and paging; export it; verify the chain."""
        q = request.query_params
        values = {k: q.get(k, "")[:200] for k in AUDIT_FILTERS}
        try:
            page = max(1, min(int(q.get("page", "1") or 1), 1_000_000))
            size = max(1, min(int(q.get("page_size", "50") or 50), 1000))
        except ValueError as exc:
            raise ValueError("page and page_size must be whole numbers.") from exc
        text = {k: values[k].strip() or None for k in AUDIT_FILTERS[:4]}
        filters = audit.AuditFilter(
            **text, since=_time(values["since"], "since"), until=_time(values["until"], "until")
        )
        found = audit.list_events(store, actor, filters, page=page, page_size=size)
        query = audit_query(values)
        return render_page(
            request, "audit.html", json_url=f"/api/audit?{query}" if query else "/api/audit",
            events=found.events, page=found.page, page_size=found.page_size,
            has_next=found.has_next, values=values, query=query,
            report=audit.verify(store) if verify else None,
        )  # fmt: skip

    # -- the registry's add-tool form -----------------------------------------------------
    @router.post("/tools")
    def add_tool_form(
        request: Request,
        store: store_dep,
        actor: actor_dep,
        *,
        name: Annotated[str, Form(max_length=200)],
        manufacturer: Annotated[str, Form(max_length=200)],
        task: Annotated[str, Form(max_length=40)],
        modality: Annotated[str, Form(max_length=16)] = "",
        intended_use: Annotated[str, Form(max_length=2000)] = "",
    ) -> RedirectResponse:
        """Register a tool (status proposed) and show its page."""
        if task not in _TASKS:
            raise ValueError(f"task: {task!r} is not one of: {', '.join(_TASKS)}.")
        fields: dict[str, Any] = {
            k: v.strip() for k, v in (("modality", modality), ("intended_use", intended_use))
            if v.strip()
        }  # fmt: skip
        info = services.add_tool(
            store, name=name.strip(), manufacturer=manufacturer.strip(), task=task,
            actor=actor, address=_address(request), **fields,
        )  # fmt: skip
        return RedirectResponse(f"/tools/{quote(info.name, safe='')}", 303)

    return router


def _exc_status(exc: Exception) -> int:
    """Return the HTTP status an error is answered with (422 for a bad value)."""
    return exc.http_status if isinstance(exc, RadassureError) else 422
