"""The application factory: JSON API, registry pages and health check in one app."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from anyio import to_thread
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from radassure import __version__, web
from radassure.api import (
    admin_routes,
    ingest_routes,
    monitoring_routes,
    oversight_routes,
    routes,
    runs_routes,
)
from radassure.api.deps import StoreHolder, authorized_actor, get_store
from radassure.api.form_auth import form_actor
from radassure.api.handlers import install_error_handlers
from radassure.config import Settings
from radassure.errors import RadassureError

__all__ = ["create_app"]

_log = logging.getLogger("radassure.api")

_DESCRIPTION = """\
radassure keeps a department's clinical AI tools safe: a registry of tools,
versions and the manufacturers' claims, their lifecycle, and the ingestion of
studies, AI results and reference standards for local validation and
monitoring. Every registry page (`/tools`, `/tools/{name}`, `/sites`) has its
JSON twin here under `/api`. Errors answer `{"error", "message", "problems"}`.

Every route but `/health` and this description needs an API token, sent as
`Authorization: Bearer <token>` (create one with `radassure token create`), or
a signed-in session; each route needs a permission of the caller's role, and
answers 401 without a valid token and 403 without the permission.
"""

_TAGS = [
    {"name": "tools", "description": "The AI tool registry: tools, versions, claims, status."},
    {"name": "sites", "description": "Hospitals and units."},
    {"name": "ingestion", "description": "Studies, AI results and reference standards in."},
    {"name": "runs", "description": "Validation runs: start one, read its results and report."},
    {"name": "monitoring", "description": "Monitoring rules, charts and alerts."},
    {"name": "oversight", "description": "Review queues, reviews, discrepancies, rulings."},
    {"name": "users", "description": "Users and API tokens (administrators)."},
    {"name": "audit", "description": "The hash-chained audit trail: browse, export, verify."},
    {"name": "health", "description": "Service and database health."},
]


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    holder: StoreHolder = app.state.store_holder
    try:
        await to_thread.run_sync(holder.get)
    except RadassureError as exc:
        # Keep serving: /health reports the problem and the next request retries.
        _log.warning("The store could not be opened at startup: %s", exc.message)
    try:
        yield
    finally:
        holder.dispose()


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the radassure web application.

    Parameters
    ----------
    settings : Settings, optional
        The installation to serve; read from the environment when omitted.
        The store is opened once at startup (or on the first request if that
        failed) and disposed of at shutdown.

    Returns
    -------
    fastapi.FastAPI
        JSON API under ``/api``, pages at ``/tools`` and ``/sites``,
        ``/health``, stylesheet under ``/static`` and the OpenAPI document.

    Examples
    --------
    >>> from pathlib import Path
    >>> app = create_app(Settings(home=Path("/tmp/radassure-doc")))
    >>> app.title, "/api/tools" in app.openapi()["paths"]
    ('radassure', True)

    """
    settings = settings if settings is not None else Settings()
    app = FastAPI(
        title="radassure",
        version=__version__,
        description=_DESCRIPTION,
        openapi_tags=_TAGS,
        lifespan=_lifespan,
    )
    app.state.settings = settings
    app.state.store_holder = StoreHolder(settings)
    install_error_handlers(app, web.render_error_page)
    app.include_router(routes.health_router)
    # Before the registry: /api/tools/{name}/runs must not match /api/tools/{name:path}.
    app.include_router(runs_routes.router)
    app.include_router(monitoring_routes.router)  # before /api/tools/{name:path}
    app.include_router(routes.router)
    app.include_router(ingest_routes.router)
    app.include_router(oversight_routes.router)
    app.include_router(admin_routes.router)
    pages = web.build_router(
        store_dependency=get_store,
        actor_dependency=authorized_actor,
        cookie_secure=settings.cookie_secure,
    )
    # Before the pages: /tools/{name}/monitoring must not match /tools/{name:path}.
    app.include_router(
        web.build_monitoring_router(
            store_dependency=get_store,
            actor_dependency=authorized_actor,
            form_actor_dependency=form_actor,
        )
    )
    # Oversight and administration pages: their forms carry the CSRF token as a field.
    app.include_router(
        web.build_oversight_router(store_dependency=get_store, actor_dependency=form_actor)
    )
    # Before the pages: POST /tools (the add-tool form) next to GET /tools.
    app.include_router(
        web.build_admin_router(store_dependency=get_store, actor_dependency=form_actor)
    )
    app.include_router(pages)
    app.mount("/static", StaticFiles(directory=web.STATIC_DIR), name="static")
    return app
