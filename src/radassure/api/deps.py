"""Request dependencies: the open store and the acting user.

This module is the only place in the fronts that touches the database
connection (see ``DESIGN.md``): it opens the :class:`~radassure.services.Store`
once per application, lazily and thread-safely, and it reads the schema
revision for ``/health``. Every route, JSON or HTML, takes :data:`ActorDep`;
today the actor is anonymous (``None``) and the authentication issue replaces
:func:`current_actor` alone, without touching the routes.
"""

from __future__ import annotations

import threading
from typing import Annotated

from alembic.runtime.migration import MigrationContext
from fastapi import Depends, Request
from sqlalchemy.exc import SQLAlchemyError

from radassure.config import Settings
from radassure.errors import DatabaseError, RadassureError
from radassure.services import Store, open_store

__all__ = [
    "ActorDep",
    "StoreDep",
    "StoreHolder",
    "current_actor",
    "get_store",
    "schema_revision",
]


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


def current_actor() -> str | None:
    """Return who is acting: anonymous (``None``) until authentication arrives.

    Returns
    -------
    str or None
        The user name recorded in status histories and ingestion logs.

    """
    return None


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
ActorDep = Annotated[str | None, Depends(current_actor)]
