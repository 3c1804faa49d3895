"""Which permission each route needs: the one declared table.

Keys are ``(method, path template)`` as the router knows them (``{name:path}``
written ``{name}``, as in the OpenAPI document); the value is a permission of
:data:`radassure.services.auth.PERMISSIONS`, or ``None`` for the few routes
that answer without signing in. Every route's acting-user dependency
(:func:`radassure.api.deps.authorized_actor`) looks its route up here, so a
route missing from the table is refused, never left open; a test checks that
the table and the application's routes are the same set.
"""

from __future__ import annotations

__all__ = ["PUBLIC_ROUTES", "ROUTE_PERMISSIONS"]

ROUTE_PERMISSIONS: dict[tuple[str, str], str | None] = {
    # -- public: health, sign-in, stylesheet and the API description
    ("GET", "/health"): None,
    ("GET", "/signin"): None,
    ("POST", "/signin"): None,
    ("POST", "/signout"): None,  # without a session it only clears the cookie
    ("GET", "/static/{path}"): None,
    ("GET", "/openapi.json"): None,
    ("GET", "/docs"): None,
    ("GET", "/docs/oauth2-redirect"): None,
    ("GET", "/redoc"): None,
    # -- registry pages and their JSON twins
    ("GET", "/"): "registry.read",
    ("GET", "/tools"): "registry.read",
    ("GET", "/tools/{name}"): "registry.read",
    ("GET", "/sites"): "registry.read",
    ("GET", "/api/tools"): "registry.read",
    ("GET", "/api/tools/{name}"): "registry.read",
    ("GET", "/api/sites"): "registry.read",
    # -- registry changes
    ("POST", "/api/sites"): "registry.write",
    ("POST", "/api/tools"): "registry.write",
    ("POST", "/api/tools/{name}/status"): "registry.write",
    ("POST", "/api/tools/{name}/versions"): "registry.write",
    ("POST", "/api/tools/{name}/versions/{version}/claims"): "registry.write",
    # -- ingestion
    ("POST", "/api/ingest/{kind}"): "ingest",
    # -- validation and equity runs
    ("GET", "/runs/{run_id}"): "runs.read",
    ("GET", "/runs/{run_id}/report"): "runs.read",
    ("GET", "/api/runs/{run_id}"): "runs.read",
    ("GET", "/api/tools/{name}/runs"): "runs.read",
    ("POST", "/api/tools/{name}/versions/{version}/validate"): "runs.write",
    ("POST", "/api/tools/{name}/versions/{version}/equity"): "runs.write",
}

#: The routes that answer without signing in.
PUBLIC_ROUTES = frozenset(
    key for key, permission in ROUTE_PERMISSIONS.items() if permission is None
)
