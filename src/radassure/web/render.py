"""Rendering of the server-side pages: one Jinja2 environment, autoescaped.

Every page extends ``base.html`` (language, skip link, header naming radassure
and the site, navigation, footer with the JSON twin) and is sent with headers
that forbid scripts and framing: the pages need no JavaScript.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, StrictUndefined
from starlette.requests import Request
from starlette.responses import HTMLResponse

from radassure import __version__

__all__ = ["STATIC_DIR", "render_error_page", "render_page"]

#: Folder of the stylesheet, served under ``/static``.
STATIC_DIR = Path(__file__).resolve().parent / "static"

_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def _blank(value: Any) -> Any:
    """Show missing values as an em dash (rendered, not stored)."""
    return "—" if value is None or value == "" else value


def _when(value: dt.datetime | dt.date | None) -> str:
    """Format a stored naive-UTC time (or a date) for reading."""
    if value is None:
        return "—"
    if isinstance(value, dt.datetime):
        return f"{value:%Y-%m-%d %H:%M} UTC"
    return value.isoformat()


def _num(value: float | None) -> str:
    """Format a number compactly (0.5, 0.925, 1e-06)."""
    return "—" if value is None else f"{value:g}"


def _segment(value: str) -> str:
    """Quote a value as one URL path segment (a tool name may hold ``/`` or ``<``)."""
    return quote(value, safe="")


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("radassure.web", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        blank=_blank, when=_when, num=_num, segment=_segment, count=lambda n: f"{int(n):,}"
    )
    env.globals.update(version=__version__)
    return env


_ENV = _environment()


def render_page(
    request: Request,
    template: str,
    *,
    status_code: int = 200,
    json_url: str | None = None,
    site_label: str | None = None,
    **context: Any,
) -> HTMLResponse:
    """Render ``template`` into a response with the pages' security headers.

    Parameters
    ----------
    request : Request
        The request (its path marks the current navigation entry).
    template : str
        Template file name in ``radassure/web/templates``.
    status_code : int
        HTTP status of the answer.
    json_url : str, optional
        The page's JSON twin, linked from the page and its ``<head>``.
    site_label : str, optional
        The site named in the header.
    **context
        Template variables.

    """
    # Set by the actor dependency: who is signed in, and the session's CSRF token.
    actor = getattr(request.state, "actor", None)
    signout_token = getattr(request.state, "csrf_token", None)
    html = _ENV.get_template(template).render(
        path=request.url.path, json_url=json_url, site_label=site_label, actor=actor,
        signout_token=signout_token, **context,
    )  # fmt: skip
    return HTMLResponse(html, status_code=status_code, headers=_SECURITY_HEADERS)


def render_error_page(
    request: Request,
    status_code: int,
    payload: Mapping[str, Any],
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """Render the readable error page for an error answer.

    Parameters
    ----------
    request : Request
        The request that failed.
    status_code : int
        HTTP status.
    payload : mapping
        The error's JSON form: ``error``, ``message`` and optional ``problems``.
    headers : mapping, optional
        Extra headers (e.g. ``Allow`` for 405).

    """
    try:
        title = HTTPStatus(status_code).phrase
    except ValueError:
        title = "Error"
    response = render_page(
        request, "error.html", status_code=status_code, title=title,
        error=payload.get("error", title), message=payload.get("message", ""),
        problems=payload.get("problems") or [],
    )  # fmt: skip
    if headers:
        response.headers.update(headers)
    return response
