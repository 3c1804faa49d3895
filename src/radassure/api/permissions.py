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
    # -- human oversight (pages and JSON twins)
    ("GET", "/oversight"): "review.write",
    ("GET", "/oversight/{tool}/{version}"): "review.write",
    ("POST", "/oversight/{tool}/{version}"): "review.write",
    ("GET", "/api/oversight/{tool}/{version}/queue"): "review.write",
    ("POST", "/api/reviews"): "review.write",
    ("POST", "/api/reviews/bulk"): "ingest",
    ("GET", "/discrepancies"): "adjudicate",
    ("POST", "/discrepancies/{review_id}/adjudicate"): "adjudicate",
    ("GET", "/api/discrepancies"): "adjudicate",
    ("POST", "/api/discrepancies/{review_id}/adjudicate"): "adjudicate",
    # -- users, API tokens and the audit trail (pages and JSON twins)
    ("GET", "/admin/users"): "users.manage",
    ("POST", "/admin/users"): "users.manage",
    ("POST", "/admin/users/{username}/disable"): "users.manage",
    ("GET", "/admin/tokens"): "users.manage",
    ("POST", "/admin/tokens"): "users.manage",
    ("POST", "/admin/tokens/{name}/revoke"): "users.manage",
    ("GET", "/api/users"): "users.manage",
    ("POST", "/api/users"): "users.manage",
    ("POST", "/api/users/{username}/disable"): "users.manage",
    ("GET", "/api/tokens"): "users.manage",
    ("POST", "/api/tokens"): "users.manage",
    ("POST", "/api/tokens/{name}/revoke"): "users.manage",
    ("GET", "/audit"): "audit.read",
    ("GET", "/api/audit"): "audit.read",
    ("GET", "/api/audit/export"): "audit.read",
    ("GET", "/api/audit/verify"): "audit.read",
    # -- the registry page's add-tool form (its JSON twin is POST /api/tools)
    ("POST", "/tools"): "registry.write",
    # -- monitoring: a tool's charts and alerts; acknowledging and resolving alerts
    ("GET", "/tools/{name}/monitoring"): "monitoring.read",
    ("POST", "/tools/{name}/monitoring/alerts/{alert_id}/ack"): "monitoring.write",
    ("POST", "/tools/{name}/monitoring/alerts/{alert_id}/resolve"): "monitoring.write",
    ("GET", "/api/tools/{name}/monitoring"): "monitoring.read",
    ("GET", "/api/alerts"): "monitoring.read",
    ("POST", "/api/alerts/{alert_id}/ack"): "monitoring.write",
    ("POST", "/api/alerts/{alert_id}/resolve"): "monitoring.write",
}

#: The routes that answer without signing in.
PUBLIC_ROUTES = frozenset(
    key for key, permission in ROUTE_PERMISSIONS.items() if permission is None
)
