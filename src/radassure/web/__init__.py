"""Server-rendered pages over the services; every page has a JSON twin under ``/api``."""

from radassure.web.admin_pages import build_admin_router
from radassure.web.monitoring_pages import build_monitoring_router
from radassure.web.oversight_pages import build_oversight_router
from radassure.web.pages import build_router, live_version, site_label
from radassure.web.render import STATIC_DIR, render_error_page, render_page
from radassure.web.signin import CSRF_COOKIE, SESSION_COOKIE, safe_next

__all__ = [
    "CSRF_COOKIE",
    "SESSION_COOKIE",
    "STATIC_DIR",
    "build_admin_router",
    "build_monitoring_router",
    "build_oversight_router",
    "build_router",
    "live_version",
    "render_error_page",
    "render_page",
    "safe_next",
    "site_label",
]
