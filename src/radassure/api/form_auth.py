"""The acting user of a page form: the session cookie plus the form's CSRF token.

:func:`~radassure.api.deps.current_actor` takes a cookie-signed change's CSRF
token from the ``X-CSRF-Token`` header, which only scripts can send. Pages
work without JavaScript, so their forms carry the same token as a hidden
``csrf_token`` field; :func:`form_actor` accepts it there (and still accepts
the header, or an API token). The route's permission is then checked against
the one declared table, as for every other route.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from radassure.api.deps import CSRF_HEADER, authorized_actor, current_actor, get_store
from radassure.services import Store
from radassure.services.auth import (
    Actor,
    AuthenticationError,
    check_csrf,
    csrf_token,
    get_session,
)
from radassure.web import SESSION_COOKIE

__all__ = ["FORM_FIELD", "form_actor"]

#: Name of the hidden form field carrying the session's CSRF token.
FORM_FIELD = "csrf_token"
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def _form_token(request: Request) -> str | None:
    """Return the form's ``csrf_token`` field of a state-changing form post, else None.

    Async because reading the body is; Starlette keeps the parsed form, so the
    route's own ``Form`` parameters read the same one.
    """
    if request.method in _SAFE_METHODS:
        return None
    if not request.headers.get("content-type", "").startswith(_FORM_TYPES):
        return None
    value = (await request.form()).get(FORM_FIELD)
    return value if isinstance(value, str) else None


def form_actor(
    request: Request,
    store: Annotated[Store, Depends(get_store)],
    token: Annotated[str | None, Depends(_form_token)],
) -> Actor:
    """Return the signed-in actor of a page (form post or read), permission checked.

    Raises
    ------
    AuthenticationError
        Not signed in (pages redirect to ``/signin``).
    PermissionDeniedError
        A form post whose CSRF token does not match the session, or a role
        without the route's permission.

    """
    plain_form_post = (
        request.method not in _SAFE_METHODS
        and "authorization" not in request.headers
        and CSRF_HEADER.lower() not in request.headers
    )
    if not plain_form_post:
        return authorized_actor(request, current_actor(request, store))
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise AuthenticationError(
            "You are not signed in: sign in at /signin and send the form again."
        )
    session = get_session(store, cookie)
    check_csrf(session, token)
    request.state.actor = session.actor
    request.state.csrf_token = csrf_token(cookie)
    return authorized_actor(request, session.actor)
