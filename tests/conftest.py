"""Shared fixtures: every database test runs on SQLite and on a real PostgreSQL.

PostgreSQL comes from ``RADASSURE_TEST_POSTGRES_URL`` (default: the local server
at 127.0.0.1:5432, user postgres, database test). Each test gets its own fresh
database, created from a migrated template so tests stay fast and isolated. A
missing server is an error, never a skip: `.ci/run` starts one.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from hypothesis import settings as hypothesis_settings
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from radassure.config import Settings
from radassure.services import Store, _users, auth, init_store, open_store

# These machines are shared and noisy: a per-example deadline would fail tests on load,
# not on behaviour. Performance is measured in benchmarks/, never in tests.
hypothesis_settings.register_profile("radassure", deadline=None)
hypothesis_settings.load_profile("radassure")

PG_ADMIN_URL = os.environ.get(
    "RADASSURE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
SHARED = Path(__file__).resolve().parents[2] / "shared"
if not SHARED.exists():  # CI clones next to a copy of shared/
    SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def _admin_engine():  # type: ignore[no-untyped-def]
    return create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A migrated template database, built once per test session."""
    name = f"radassure_tmpl_{uuid.uuid4().hex[:10]}"
    admin = _admin_engine()
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # pragma: no cover - environment problem
        pytest.fail(
            f"PostgreSQL is not reachable at {PG_ADMIN_URL} ({exc}). Start it (.ci/run does) "
            "or set RADASSURE_TEST_POSTGRES_URL."
        )
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    from radassure.db import make_engine, upgrade

    eng = make_engine(url)
    upgrade(eng)
    eng.dispose()
    yield name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def pg_url(pg_template: str) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for one test."""
    name = f"radassure_t_{uuid.uuid4().hex[:12]}"
    admin = _admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"'))
    yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Database URL for the test: a SQLite file, then a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{(tmp_path / 'home' / 'radassure.db').as_posix()}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    """Settings for an installation in a temporary home."""
    return Settings(home=tmp_path / "home", database_url=db_url)


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    """An initialised, open installation (on SQLite and on PostgreSQL)."""
    init_store(settings)
    st = open_store(settings)
    yield st
    st.dispose()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    """An initialised SQLite-only installation (for file-level checks)."""
    s = Settings(home=tmp_path / "home")
    init_store(s)
    st = open_store(s)
    yield st
    st.dispose()


@pytest.fixture
def quick_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap argon2 parameters keep the suite fast (test_auth checks the real ones)."""
    monkeypatch.setattr(_users, "hasher", PasswordHasher(time_cost=1, memory_cost=1024))


#: Password of the users :func:`auth_headers` creates.
TEST_PASSWORD = "correct horse battery staple"


@pytest.fixture
def auth_headers(quick_hashes: None) -> Callable[..., dict[str, str]]:
    """Return ``make(settings, role="admin")``: headers with a fresh API token of that role.

    The user (``<role>-user``) is added on first use; the store must be initialised.
    """

    def make(settings: Settings, role: str = "admin") -> dict[str, str]:
        st = open_store(settings)
        try:
            cli = auth.system_actor("test")
            username = f"{role.replace('_', '-')}-user"
            if username not in {u.username for u in auth.list_users(st, cli)}:
                auth.add_user(st, cli, username, TEST_PASSWORD, role)
            token = auth.create_token(st, cli, f"test-{uuid.uuid4().hex[:10]}", username)
        finally:
            st.dispose()
        return {"Authorization": f"Bearer {token.token}"}

    return make
