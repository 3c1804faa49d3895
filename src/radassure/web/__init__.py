"""Server-rendered pages over the services; every page has a JSON twin under ``/api``."""

from radassure.web.pages import build_router, live_version, site_label
from radassure.web.render import STATIC_DIR, render_error_page, render_page

__all__ = [
    "STATIC_DIR",
    "build_router",
    "live_version",
    "render_error_page",
    "render_page",
    "site_label",
]
