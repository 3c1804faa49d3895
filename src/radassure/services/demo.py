"""The demo department: a deterministic year of synthetic data with planted truths.

``radassure demo`` builds a complete installation: two sites, three registered
AI tools (a chest X-ray triage classifier, a wrist fracture detector and a head
and neck auto-contouring tool) and twelve months of studies, AI results and
reference standards, generated from one seed, written as example CSV files and
ingested through the ordinary ingestion path. Effects are planted in the data
on purpose (:data:`PLANTED_TRUTHS`, described in ``docs/demo.md``) so that
validation, equity and monitoring analyses can be shown, and tested, to find them.
"""

from __future__ import annotations

import csv
import secrets
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from radassure.config import Settings
from radassure.db import AITool, Site, Study, make_engine
from radassure.errors import ConfigurationError, ConflictError, DatabaseError
from radassure.services._access import system_actor
from radassure.services._demo_generate import generate
from radassure.services._demo_model import PLANTED_TRUTHS, SITES, PlantedTruths
from radassure.services._demo_monitoring import add_demo_rule
from radassure.services._demo_registry import TOOLS, register
from radassure.services._demo_tools import Table
from radassure.services._users import add_user
from radassure.services.ingestion import ingest_csv
from radassure.services.store import init_store, open_store

__all__ = [
    "DEMO_MAX_STUDIES",
    "DEMO_MIN_STUDIES",
    "PLANTED_TRUTHS",
    "DemoReport",
    "PlantedTruths",
    "build_demo",
]

#: Fewer studies than this leave too few positives per tool to show anything.
DEMO_MIN_STUDIES = 1_000
#: Patient numbers are 7 digits; more studies than this would run out of them.
DEMO_MAX_STUDIES = 1_000_000
_ACTOR = "radassure demo"
#: The demo's web-app administrator (its password is random and printed once).
DEMO_ADMIN = "demo-admin"
_FILES = ("studies", "results", "references")


@dataclass(frozen=True)
class DemoReport:
    """What :func:`build_demo` built.

    Attributes
    ----------
    home : Path
        The installation's home folder (the example CSV files are in ``demo-data``).
    database : str
        Database URL, password hidden.
    studies, results, references : int
        Rows ingested.
    tools, sites : tuple of str
        Registered tool names and site codes.
    planted : tuple of str
        One line per planted truth.
    seconds : float
        Wall-clock time of the build.

    """

    home: Path
    database: str
    studies: int
    results: int
    references: int
    tools: tuple[str, ...]
    sites: tuple[str, ...]
    planted: tuple[str, ...]
    seconds: float
    sign_in: tuple[str, str] | None = None

    def lines(self) -> list[str]:
        """Return human-readable lines for the CLI, ending with the next step.

        Examples
        --------
        >>> r = DemoReport(Path("/tmp/d"), "sqlite:////tmp/d/radassure.db", 3, 4, 5,
        ...                ("T",), ("S",), ("x",), 1.0)
        >>> r.lines()[-1]
        'Next: radassure --home /tmp/d serve'

        """
        return [
            f"Demo department built in {self.seconds:.1f} s.",
            f"Database: {self.database}",
            f"Sites: {', '.join(self.sites)}",
            f"Tools: {', '.join(self.tools)}",
            f"Ingested {self.studies:,} studies, {self.results:,} AI results and "
            f"{self.references:,} reference standards (calendar year 2025).",
            f"Example CSV files: {self.home / 'demo-data'}",
            "Planted truths for validation, equity and monitoring to find (docs/demo.md):",
            *(f"  - {line}" for line in self.planted),
            *(
                [
                    f"Sign in to the web app as {self.sign_in[0]} with the password "
                    f"{self.sign_in[1]} (shown once; change it with `radassure --home "
                    f"{shlex.quote(str(self.home))} user password {self.sign_in[0]}`)."
                ]
                if self.sign_in
                else []
            ),
            "To chart the ThoraxGuard monitoring rule (`make demo` does it; about 10 s): "
            f"radassure --home {shlex.quote(str(self.home))} monitor run",
            f"Next: radassure --home {shlex.quote(str(self.home))} serve",
        ]


def _holds_data(url: str) -> bool:
    """Whether the database at ``url`` already has sites, tools or studies."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = parsed.database
        if not path or path == ":memory:" or not Path(path).exists():
            return False
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table(Study.__tablename__):
                return False
            return any(
                conn.execute(select(func.count()).select_from(model)).scalar_one() > 0
                for model in (Site, AITool, Study)
            )
    except SQLAlchemyError as exc:
        raise DatabaseError(
            f"Could not read the database at {parsed.render_as_string(hide_password=True)} "
            f"to check it is empty ({exc.__class__.__name__}). Check RADASSURE_DATABASE_URL "
            "and that the server is running."
        ) from exc
    finally:
        engine.dispose()


def _clear(settings: Settings) -> None:
    """Remove the SQLite file (with -wal/-shm) and the secret file kept in home."""
    url = settings.resolved_database_url()
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        raise ConfigurationError(
            f"The database {parsed.render_as_string(hide_password=True)} already holds data "
            "and overwrite only removes SQLite files. Build the demo into an empty database "
            "(create a new one, or drop and re-create this one yourself), or into a home "
            "folder with the default SQLite database (leave RADASSURE_DATABASE_URL unset)."
        )
    db = Path(parsed.database or "")
    for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm"), Path(f"{db}-journal")):
        path.unlink(missing_ok=True)
    secret = settings.resolved_secret_file()
    # Only a secret inside home belongs to this installation; one kept elsewhere
    # may be the department's real secret and must never be deleted here.
    if not settings.site_secret and secret.resolve().is_relative_to(settings.home.resolve()):
        secret.unlink(missing_ok=True)


def _write_csv(path: Path, table: Table) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(table)
        writer.writerows(zip(*table.values(), strict=True))


def build_demo(
    settings: Settings,
    *,
    seed: int = 20250101,
    n_studies: int = 52_000,
    overwrite: bool = False,
    progress: Callable[[str], None] | None = None,
) -> DemoReport:
    """Build the demo department into the installation of ``settings``.

    Parameters
    ----------
    settings : Settings
        Where to build: ``home`` receives the example CSV files (``demo-data``)
        and, by default, the SQLite database and the site secret.
    seed : int
        Seed of every random draw. The same seed gives the same CSV files and
        the same table contents (study and patient keys also depend on the
        installation's site secret).
    n_studies : int
        Studies over the year, :data:`DEMO_MIN_STUDIES` to :data:`DEMO_MAX_STUDIES`:
        about 71% chest
        X-rays, 28% wrist X-rays and 1.2% radiotherapy planning CTs.
    overwrite : bool
        Replace an installation that already holds data. Only SQLite is
        supported: its file, -wal/-shm files and the secret file in ``home``
        are removed first.
    progress : callable, optional
        Called with a short message before each step.

    Returns
    -------
    DemoReport

    Raises
    ------
    ConflictError
        The database already holds data and ``overwrite`` is false.
    ConfigurationError
        ``overwrite`` was asked for a database that is not SQLite.
    ValueError
        ``n_studies`` is not a whole number in the supported range.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as home:
    ...     report = build_demo(Settings(home=Path(home)), n_studies=1_000)
    >>> report.studies, report.tools
    (1000, ('ThoraxGuard', 'OsteoSpot', 'ContourPilot'))

    """
    if (
        isinstance(n_studies, bool)
        or not isinstance(n_studies, int)
        or not DEMO_MIN_STUDIES <= n_studies <= DEMO_MAX_STUDIES
    ):
        raise ValueError(
            f"n_studies must be a whole number from {DEMO_MIN_STUDIES:,} to "
            f"{DEMO_MAX_STUDIES:,}, not {n_studies!r}."
        )
    started = time.perf_counter()

    def say(message: str) -> None:
        if progress is not None:
            progress(message)

    url = settings.resolved_database_url()
    shown = make_url(url).render_as_string(hide_password=True)
    if _holds_data(url):
        if not overwrite:
            raise ConflictError(
                f"The database {shown} already holds data; the demo is only built into an "
                "empty installation. Build it into another home folder or, to replace this "
                "installation and everything in it, run the demo again with --overwrite."
            )
        say(f"Removing the existing installation at {shown}")
        _clear(settings)
    say("Initialising the installation")
    init_store(settings)
    store = open_store(settings)
    try:
        say("Registering 2 sites and 3 AI tools with versions, claims and status histories")
        register(store)
        say(f"Generating {n_studies:,} studies from seed {seed}")
        tables = generate(seed, n_studies)
        folder = settings.home / "demo-data"
        folder.mkdir(parents=True, exist_ok=True)
        counts: dict[str, int] = {}
        for kind, table in zip(
            _FILES, (tables.studies, tables.results, tables.references), strict=True
        ):
            path = folder / f"{kind}.csv"
            _write_csv(path, table)
            rows = len(next(iter(table.values())))
            say(f"Ingesting {path.name} ({rows:,} rows)")
            counts[kind] = ingest_csv(store, kind, path, actor=system_actor(_ACTOR)).inserted
        add_demo_rule(store)  # ThoraxGuard pneumothorax monitoring (docs/demo.md, truth 1)
        # The web app needs a user: a demo admin with a fresh random password (never a
        # fixed one, even in a demo that may end up on a network).
        password = secrets.token_urlsafe(12)
        add_user(
            store, system_actor("demo"), DEMO_ADMIN, password, "admin", display_name="Demo AI lead"
        )
    finally:
        store.dispose()
    return DemoReport(
        home=settings.home,
        database=shown,
        studies=counts["studies"],
        results=counts["results"],
        references=counts["references"],
        tools=tuple(str(t.fields["name"]) for t in TOOLS),
        sites=tuple(SITES),
        planted=PLANTED_TRUTHS.descriptions(),
        seconds=round(time.perf_counter() - started, 2),
        sign_in=(DEMO_ADMIN, password),
    )
