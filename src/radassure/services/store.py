"""Opening and initialising a radassure installation.

A *store* is a migrated database plus the site secret used to pseudonymise
identifiers. ``init_store`` creates both when missing; ``open_store`` refuses
to work on a database that is not initialised or not up to date, so nothing is
ever written against the wrong schema.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from radassure.config import Settings
from radassure.db import current_revision, head_revision, make_engine, upgrade
from radassure.errors import ConfigurationError
from radassure.ingest import Pseudonymiser, new_secret

__all__ = ["InitReport", "Store", "init_store", "open_store"]


@dataclass
class Store:
    """An open installation: database engine and pseudonymiser."""

    engine: Engine
    pseudonymiser: Pseudonymiser
    settings: Settings

    def dispose(self) -> None:
        """Close the database connections."""
        self.engine.dispose()


@dataclass(frozen=True)
class InitReport:
    """What ``init_store`` did."""

    database: str
    secret_file: str | None
    secret_created: bool
    revision_before: str | None
    revision_after: str | None


def _read_secret(settings: Settings) -> str:
    if settings.site_secret:
        return settings.site_secret
    path = settings.resolved_secret_file()
    if not path.exists():
        raise ConfigurationError(
            f"No site secret at {path}. Run `radassure init` first (it creates one), or set "
            "RADASSURE_SITE_SECRET / RADASSURE_SECRET_FILE to the department's secret."
        )
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise ConfigurationError(
            f"The site secret file {path} can be read by other users (mode {mode:04o}); "
            f"restrict it with `chmod 600 {path}`."
        )
    return path.read_text(encoding="ascii").strip()


def _write_secret(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_EXCL: never overwrite an existing secret (that would orphan every key).
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(new_secret() + "\n")


def init_store(settings: Settings) -> InitReport:
    """Create the site secret (if absent) and migrate the database to the newest schema.

    Safe to run again: an existing secret is kept and migrations are idempotent.

    Examples
    --------
    >>> import tempfile
    >>> s = Settings(home=Path(tempfile.mkdtemp()))
    >>> init_store(s).secret_created
    True
    >>> init_store(s).secret_created
    False

    """
    created = False
    secret_path: Path | None = None
    if not settings.site_secret:
        secret_path = settings.resolved_secret_file()
        if not secret_path.exists():
            _write_secret(secret_path)
            created = True
    Pseudonymiser(_read_secret(settings))
    engine = make_engine(settings.resolved_database_url())
    try:
        before = current_revision(engine)
        upgrade(engine)
        after = current_revision(engine)
    finally:
        engine.dispose()
    return InitReport(
        database=engine.url.render_as_string(hide_password=True),
        secret_file=str(secret_path) if secret_path else None,
        secret_created=created,
        revision_before=before,
        revision_after=after,
    )


def open_store(settings: Settings) -> Store:
    """Open an initialised installation; refuse one that is missing or out of date."""
    pseudonymiser = Pseudonymiser(_read_secret(settings))
    engine = make_engine(settings.resolved_database_url())
    try:
        current = current_revision(engine)
        head = head_revision(engine)
        where = engine.url.render_as_string(hide_password=True)
        if current is None:
            raise ConfigurationError(
                f"The database {where} has no radassure schema. Run `radassure init` first."
            )
        if current != head:
            raise ConfigurationError(
                f"The database {where} is at schema revision {current} but this radassure "
                f"needs {head}. Run `radassure init` to upgrade it (take a backup first)."
            )
    except BaseException:
        engine.dispose()
        raise
    return Store(engine=engine, pseudonymiser=pseudonymiser, settings=settings)
