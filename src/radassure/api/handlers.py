"""The one error handler of the API and the pages.

Every error a request can meet is answered with the same JSON shape,
``{"error", "message", "problems"?}``, under ``/api`` and ``/health``, and with
a readable HTML page everywhere else:

* :class:`~radassure.errors.RadassureError` with its ``http_status`` and
  ``to_dict()`` (a rejected batch lists every problem); a page asked for
  without signing in is redirected (303) to ``/signin?next=...``;
* ``ValueError`` from the services (a bad argument) as 422 with its message;
* FastAPI's request validation as 422 listing each field at fault;
* routing errors (404, 405) and, last, anything unexpected as 500 without
  internal detail.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from radassure.errors import RadassureError
from radassure.services.auth import AuthenticationError

__all__ = ["HtmlErrorRenderer", "install_error_handlers", "is_api_path", "validation_body"]

#: Renders the HTML error page: (request, status, JSON payload, extra headers).
HtmlErrorRenderer = Callable[[Request, int, Mapping[str, Any], Mapping[str, str] | None], Response]

_log = logging.getLogger("radassure.api")


def is_api_path(path: str) -> bool:
    """Whether ``path`` is answered in JSON (the API and the health check).

    Examples
    --------
    >>> is_api_path("/api/tools"), is_api_path("/health"), is_api_path("/tools")
    (True, True, False)

    """
    return path == "/api" or path.startswith("/api/") or path in ("/health", "/openapi.json")


def _where(problem: Mapping[str, Any]) -> str:
    parts = [str(problem["source"])]
    if problem.get("record") is not None:
        parts.append(f"record {problem['record']}")
    if problem.get("column"):
        parts.append(f"field '{problem['column']}'")
    return ", ".join(parts)


def validation_body(errors: list[Any]) -> dict[str, Any]:
    """Translate FastAPI's validation errors into radassure's error shape.

    Parameters
    ----------
    errors : list of dict
        ``RequestValidationError.errors()``.

    Returns
    -------
    dict
        ``error``, ``message`` (a full sentence listing each problem) and
        ``problems``, each with ``source``, ``record`` (index into
        ``records`` for ingestion bodies), ``column``, ``message`` and ``location``.

    Examples
    --------
    >>> body = validation_body([{"loc": ("body", "name"), "msg": "Field required"}])
    >>> body["problems"][0]["column"], body["message"].splitlines()[1]
    ('name', "  body, field 'name': Field required")

    """
    problems: list[dict[str, Any]] = []
    for err in errors:
        loc = [x if isinstance(x, int) else str(x) for x in err.get("loc", ())]
        source = str(loc[0]) if loc else "request"
        rest = loc[1:]
        record: int | None = None
        message = str(err.get("msg", "invalid value"))
        if err.get("type") == "json_invalid":
            ctx = err.get("ctx") or {}
            at = f" at character {rest[0]}" if rest else ""
            message = f"the body is not valid JSON ({ctx.get('error', 'decode error')}{at})."
            rest = []
        elif len(rest) >= 2 and rest[0] == "records" and isinstance(rest[1], int):
            record, rest = rest[1], rest[2:]
        column = ".".join(str(x) for x in rest) or None
        problems.append({"source": source, "record": record, "column": column,
                         "message": message, "location": loc})  # fmt: skip
    n = len(problems)
    head = f"The request was rejected; nothing was written. {n} problem{'s' if n != 1 else ''}:"
    lines = [head, *(f"  {_where(p)}: {p['message']}" for p in problems)]
    return {"error": "RequestValidationError", "message": "\n".join(lines), "problems": problems}


def install_error_handlers(app: FastAPI, render_html: HtmlErrorRenderer) -> None:
    """Register the shared handler on ``app``.

    Parameters
    ----------
    app : FastAPI
        The application.
    render_html : callable
        Renders the HTML error page for requests outside ``/api``.

    """

    def answer(
        request: Request,
        status: int,
        payload: Mapping[str, Any],
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        if is_api_path(request.url.path):
            return JSONResponse(dict(payload), status_code=status, headers=headers)
        return render_html(request, status, payload, headers)

    async def on_radassure(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RadassureError)
        if isinstance(exc, AuthenticationError):
            if not is_api_path(request.url.path):
                # A page asked for by someone not signed in: to the form, and back after.
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(f"/signin?next={quote(target, safe='')}", 303)
            return answer(request, exc.http_status, exc.to_dict(), {"WWW-Authenticate": "Bearer"})
        return answer(request, exc.http_status, exc.to_dict())

    async def on_value(request: Request, exc: Exception) -> Response:
        return answer(request, 422, {"error": "InvalidValue", "message": str(exc)})

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return answer(request, 422, validation_body(list(exc.errors())))

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        phrase = HTTPStatus(exc.status_code).phrase
        if exc.status_code == 404 and exc.detail == phrase:
            message = (f"There is nothing at {request.url.path}. The registry is at /tools and "
                       "the API is described at /openapi.json.")  # fmt: skip
        elif exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}."
        else:
            message = str(exc.detail)
        return answer(
            request,
            exc.status_code,
            {"error": phrase.replace(" ", ""), "message": message},
            exc.headers,
        )

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        _log.error("Unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        return answer(request, 500, {
            "error": "InternalServerError",
            "message": "radassure met an unexpected error; it has been logged. Please report "
            "it with the time it happened.",
        })  # fmt: skip

    app.add_exception_handler(RadassureError, on_radassure)
    app.add_exception_handler(ValueError, on_value)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)
