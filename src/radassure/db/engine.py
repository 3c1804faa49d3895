"""Engines, sessions and schema migration.

SQLite files run in WAL mode with foreign keys enforced; PostgreSQL is used
as given. The schema is only ever created through Alembic migrations so that a
SQLite file and a PostgreSQL database built from the same release are equal.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib.resources import files
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from radassure.errors import ConfigurationError, DatabaseError

__all__ = [
    "alembic_config",
    "current_revision",
    "head_revision",
    "make_engine",
    "session_scope",
    "upgrade",
]


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    # NORMAL is durable across application crashes in WAL mode and much faster.
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """Create an engine for ``url``; SQLite files get WAL and foreign keys.

    Parameters
    ----------
    url : str
        SQLAlchemy URL, e.g. ``sqlite:///radassure.db`` or
        ``postgresql+psycopg://user@127.0.0.1:5432/db``.
    echo : bool
        Log SQL statements (never enable in production: parameters are logged).

    Returns
    -------
    sqlalchemy.Engine

    Examples
    --------
    >>> eng = make_engine("sqlite://")
    >>> eng.dialect.name
    'sqlite'

    """
    try:
        parsed = make_url(url)
    except SQLAlchemyError as exc:
        raise ConfigurationError(
            f"The database URL {url!r} is not a valid SQLAlchemy URL; use e.g. "
            "sqlite:///path/radassure.db or postgresql+psycopg://user@host:5432/db."
        ) from exc
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        # psycopg 3 is the driver we ship; plain postgresql:// would ask for psycopg2.
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, echo=echo)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(parsed, echo=echo, pool_pre_ping=True)


def alembic_config(engine: Engine) -> Config:
    """Return an Alembic config pointing at the packaged migrations."""
    cfg = Config()
    cfg.set_main_option("script_location", str(files("radassure.db") / "migrations"))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` (idempotent)."""
    try:
        command.upgrade(alembic_config(engine), revision)
    except OperationalError as exc:
        raise DatabaseError(
            f"Could not migrate the database at {engine.url.render_as_string()}: "
            f"{str(exc.orig).strip().splitlines()[0]}. Check RADASSURE_DATABASE_URL and "
            "that the server is running."
        ) from exc


def head_revision(engine: Engine) -> str | None:
    """Return the newest migration revision shipped with this release."""
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """Return the revision the database is at, or None for an empty database."""
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    except OperationalError as exc:
        raise DatabaseError(
            f"Could not open the database at {engine.url.render_as_string()}: "
            f"{str(exc.orig).strip().splitlines()[0]}. Check RADASSURE_DATABASE_URL and that "
            "the server is running."
        ) from exc


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """Yield a session in one transaction: commit on success, roll back on error."""
    factory = sessionmaker(engine, expire_on_commit=False)
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
