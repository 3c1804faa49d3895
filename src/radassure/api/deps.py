"""Request dependencies: the open store and the acting user.

This module is the only place in the fronts that touches the database
connection (see ``DESIGN.md``): it opens the :class:`~radassure.services.Store`
once per application, lazily and thread-safely, and it reads the schema
revision for ``/health``. Every route that needs a signed-in user, JSON or
HTML, takes :data:`ActorDep`: :func:`current_actor` finds who is asking (an API
token or the session cookie) and :func:`authorized_actor` checks the route's
permission in :data:`~radassure.api.permissions.ROUTE_PERMISSIONS`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Annotated

from alembic.runtime.migration import MigrationContext
from fastapi import Depends, Request
from sqlalchemy.exc import SQLAlchemyError

from radassure.api.permissions import ROUTE_PERMISSIONS
from radassure.config import Settings
from radassure.errors import DatabaseError, PermissionDeniedError, RadassureError
from radassure.services import Store, open_store
from radassure.services.auth import (
    PERMISSIONS,
    Actor,
    AuthenticationError,
    authenticate_token,
    check_csrf,
    csrf_token,
    get_session,
    require,
)
from radassure.web import SESSION_COOKIE

__all__ = [
    "CSRF_HEADER",
    "ActorDep",
    "StoreDep",
    "StoreHolder",
    "authorized_actor",
    "client_address",
    "current_actor",
    "get_store",
    "require_permission",
    "route_key",
    "schema_revision",
]

#: Header carrying the session's CSRF token on a state-changing request signed in by cookie.
CSRF_HEADER = "X-CSRF-Token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class StoreHolder:
    """Open the store on first use, keep it for the application, dispose of it at shutdown.

    A failed open is not remembered: the next request tries again, so a server
    started before ``radassure init`` recovers without a restart.

    Parameters
    ----------
    settings : Settings
        Where the installation lives.

    Examples
    --------
    >>> from pathlib import Path
    >>> holder = StoreHolder(Settings(home=Path("/nonexistent/radassure-doc")))
    >>> holder.is_open
    False

    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._store: Store | None = None
        self._lock = threading.Lock()

    @property
    def is_open(self) -> bool:
        """Whether the store has been opened."""
        return self._store is not None

    def get(self) -> Store:
        """Return the open store, opening it on the first call.

        Raises
        ------
        ConfigurationError
            The installation is not initialised or not up to date.
        DatabaseError
            The database could not be reached.

        """
        with self._lock:
            if self._store is None:
                try:
                    self._store = open_store(self.settings)
                except RadassureError:
                    raise
                except (SQLAlchemyError, OSError) as exc:
                    # open_store lets driver errors through; name the setting to fix.
                    raise DatabaseError(
                        f"Could not open the database ({type(exc).__name__}: "
                        f"{str(exc).splitlines()[0] if str(exc) else 'no detail'}). Check "
                        "RADASSURE_DATABASE_URL and that the database server is running."
                    ) from exc
            return self._store

    def dispose(self) -> None:
        """Close the store's connections (safe to call when never opened)."""
        with self._lock:
            if self._store is not None:
                self._store.dispose()
                self._store = None


def get_store(request: Request) -> Store:
    """Return the application's open store (a FastAPI dependency)."""
    holder: StoreHolder = request.app.state.store_holder
    return holder.get()


def client_address(request: Request) -> str | None:
    """Return the client's address as the server saw it (for the audit trail)."""
    return request.client.host if request.client else None


def current_actor(request: Request, store: Annotated[Store, Depends(get_store)]) -> Actor:
    """Return who is asking: the ``Authorization: Bearer`` token, else the session cookie.

    A state-changing request signed in by cookie must also carry the session's
    CSRF token in the ``X-CSRF-Token`` header (pages send it in their forms).

    Raises
    ------
    AuthenticationError
        Neither a valid token nor a live session (answered 401, or a redirect
        to ``/signin`` for pages).
    PermissionDeniedError
        A cookie-signed state-changing request without the right CSRF token.

    """
    address = client_address(request)
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationError(
                "The Authorization header must be `Bearer <token>`, with an API token from "
                "`radassure token create`."
            )
        actor = authenticate_token(store, token.strip(), address)
    else:
        cookie = request.cookies.get(SESSION_COOKIE)
        if not cookie:
            raise AuthenticationError(
                "You are not signed in: sign in at /signin, or send an API token as "
                "`Authorization: Bearer <token>`."
            )
        session = get_session(store, cookie)
        if request.method not in _SAFE_METHODS:
            check_csrf(session, request.headers.get(CSRF_HEADER))
        actor = session.actor
        request.state.csrf_token = csrf_token(cookie)
    request.state.actor = actor
    return actor


def route_key(request: Request) -> tuple[str, str]:
    """Return the ``(method, path template)`` of the route answering ``request``."""
    route = request.scope.get("route")
    template = getattr(route, "path_format", None) or request.url.path
    method = "GET" if request.method == "HEAD" else request.method
    return method, template


def authorized_actor(request: Request, actor: Annotated[Actor, Depends(current_actor)]) -> Actor:
    """Return the signed-in actor once the route's declared permission is checked.

    Raises
    ------
    PermissionDeniedError
        The actor's role lacks the permission, or the route is missing from
        :data:`~radassure.api.permissions.ROUTE_PERMISSIONS` (refused, never open).

    """
    key = route_key(request)
    if key not in ROUTE_PERMISSIONS:
        raise PermissionDeniedError(
            f"{key[0]} {key[1]} has no entry in the permission table; add it to "
            "radassure.api.permissions.ROUTE_PERMISSIONS."
        )
    permission = ROUTE_PERMISSIONS[key]
    if permission is not None:
        require(actor, permission)
    return actor


def require_permission(permission: str) -> Callable[..., Actor]:
    """Return a dependency giving the signed-in actor once ``permission`` is checked.

    For a check beyond the route's own entry in the table (e.g. a page that
    shows more to those who may change it).

    Examples
    --------
    >>> dependency = require_permission("registry.write")
    >>> callable(dependency)
    True

    """
    if permission not in PERMISSIONS:
        raise ValueError(f"Unknown permission {permission!r}; see services.auth.PERMISSIONS.")

    def dependency(actor: Annotated[Actor, Depends(current_actor)]) -> Actor:
        require(actor, permission)
        return actor

    return dependency


def schema_revision(store: Store) -> str | None:
    """Return the migration revision the store's database is at.

    Raises
    ------
    DatabaseError
        The database did not answer.

    """
    try:
        with store.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    except SQLAlchemyError as exc:
        raise DatabaseError(
            f"The database did not answer ({type(exc).__name__}). Check that the database "
            "server is running and RADASSURE_DATABASE_URL is right."
        ) from exc


StoreDep = Annotated[Store, Depends(get_store)]
ActorDep = Annotated[Actor, Depends(authorized_actor)]
