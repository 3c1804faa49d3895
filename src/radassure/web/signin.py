"""Sign-in and sign-out pages: a plain form, CSRF-protected, and the session cookie.

Before sign-in there is no session to bind a CSRF token to, so the form uses a
double submit: ``GET /signin`` sets a random pre-session cookie and embeds its
HMAC (:func:`~radassure.services.auth.csrf_token`) in the form; ``POST /signin``
accepts the form only when the two match. After sign-in the session's own CSRF
token protects the sign-out form. Every sign-in, success or failure, is audited
by the services.
"""

# No ``from __future__ import annotations``: FastAPI reads the closures'
# annotations at definition time, and they name the builder's arguments.

import hmac
import secrets
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from radassure import services
from radassure.services import auth
from radassure.web.render import render_page

__all__ = ["CSRF_COOKIE", "SESSION_COOKIE", "add_signin_routes", "safe_next"]

#: The session cookie: HttpOnly, SameSite=Lax, Secure over HTTPS.
SESSION_COOKIE = "ra_session"
#: The pre-session cookie the sign-in form's CSRF token is bound to.
CSRF_COOKIE = "ra_signin"
_DEFAULT_NEXT = "/tools"


def safe_next(target: str | None) -> str:
    """Return ``target`` when it is a path on this site, else the registry.

    Examples
    --------
    >>> safe_next("/tools/ChestAI?x=1"), safe_next("//evil.example"), safe_next(None)
    ('/tools/ChestAI?x=1', '/tools', '/tools')

    """
    if (
        not target
        or not target.startswith("/")
        or target.startswith(("//", "/\\"))
        or any(c in target for c in "\r\n\\")
        or target.startswith(("/signin", "/signout"))
    ):
        return _DEFAULT_NEXT
    return target


def _address(request: Request) -> str | None:
    return request.client.host if request.client else None


def add_signin_routes(
    router: APIRouter, store_dependency: Callable[..., services.Store], *, cookie_secure: bool
) -> None:
    """Add ``GET /signin``, ``POST /signin`` and ``POST /signout`` to ``router``.

    Parameters
    ----------
    router : APIRouter
        The pages' router.
    store_dependency : callable
        FastAPI dependency giving the open store.
    cookie_secure : bool
        Mark cookies Secure even over plain HTTP (behind a TLS-ending proxy).

    """
    store_dep = Annotated[services.Store, Depends(store_dependency)]

    def secure(request: Request) -> bool:
        return cookie_secure or request.url.scheme == "https"

    def form_page(
        request: Request,
        next_url: str,
        *,
        username: str = "",
        error: str | None = None,
        status_code: int = 200,
    ) -> HTMLResponse:
        pre = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
        response = render_page(
            request, "signin.html", status_code=status_code, title="Sign in",
            next_url=safe_next(next_url), username=username, error=error,
            form_token=auth.csrf_token(pre),
        )  # fmt: skip
        response.set_cookie(
            CSRF_COOKIE, pre, max_age=3600, path="/", secure=secure(request), httponly=True,
            samesite="lax",
        )  # fmt: skip
        return response

    @router.get("/signin", response_class=HTMLResponse)
    def signin_page(request: Request, next: str = _DEFAULT_NEXT) -> HTMLResponse:
        """Show the sign-in form."""
        return form_page(request, next)

    @router.post("/signin", response_class=HTMLResponse)
    def signin(
        request: Request,
        store: store_dep,
        *,
        username: Annotated[str, Form(max_length=200)] = "",
        password: Annotated[str, Form(max_length=1024)] = "",
        csrf_token: Annotated[str, Form(max_length=200)] = "",
        next: Annotated[str, Form(max_length=2000)] = _DEFAULT_NEXT,
    ) -> Response:
        """Check the username and password; start a session and go on to ``next``."""
        pre = request.cookies.get(CSRF_COOKIE)
        if not pre or not hmac.compare_digest(auth.csrf_token(pre), csrf_token):
            return form_page(
                request, next, username=username, status_code=403,
                error="The sign-in form expired or was not sent from this site; please try again.",
            )  # fmt: skip
        try:
            actor = auth.authenticate(store, username, password, _address(request))
        except auth.AuthenticationError as exc:
            # Wrong password, locked or disabled: say so plainly on the form.
            return form_page(request, next, username=username, error=exc.message)
        session = auth.create_session(store, actor, _address(request))
        response = RedirectResponse(safe_next(next), status_code=303)
        response.set_cookie(
            SESSION_COOKIE, session.cookie_value, path="/", secure=secure(request),
            httponly=True, samesite="lax",
        )  # fmt: skip
        response.delete_cookie(CSRF_COOKIE, path="/", secure=secure(request), httponly=True,
                               samesite="lax")  # fmt: skip
        return response

    @router.post("/signout")
    def signout(
        request: Request,
        store: store_dep,
        *,
        csrf_token: Annotated[str, Form(max_length=200)] = "",
    ) -> RedirectResponse:
        """End the session (when the form's token matches it) and go to the sign-in page."""
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie:
            try:
                session = auth.get_session(store, cookie)
            except auth.AuthenticationError:
                session = None  # already ended: only the cookie is left to clear
            if session is not None:
                auth.check_csrf(session, csrf_token)
                auth.end_session(store, cookie, _address(request))
        response = RedirectResponse("/signin", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/", secure=secure(request), httponly=True,
                               samesite="lax")  # fmt: skip
        return response
