"""Sign-in, lock-out, sessions, CSRF, API tokens and the permission table, on both databases."""

from __future__ import annotations

import datetime as dt
import getpass
import json
from collections.abc import Iterator
from importlib import import_module
from pathlib import Path
from typing import Any

import pytest
import typer
from argon2 import PasswordHasher
from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

import radassure.db.security  # noqa: F401  (registers the tables until db/__init__ does)
from radassure.cli.security import token_app, user_app
from radassure.config import Settings
from radassure.db.security import AuditEvent, User
from radassure.errors import ConflictError, PermissionDeniedError
from radassure.services import Store, _users
from radassure.services.audit import verify
from radassure.services.auth import (
    LOCK_BASE,
    PERMISSIONS,
    ROLES,
    Actor,
    AuthenticationError,
    add_user,
    authenticate,
    authenticate_token,
    check_csrf,
    create_session,
    create_token,
    csrf_token,
    disable_user,
    end_session,
    get_session,
    list_tokens,
    list_users,
    permissions_of,
    require,
    revoke_token,
    set_password,
    system_actor,
)

T0 = dt.datetime(2026, 3, 2, 8, 0, 0)
PASSWORD = "correct horse battery staple"
LEE_PASSWORD = "lamp oyster gravel window"
VIC_PASSWORD = "quiet marble fern ladder"
ADMIN = system_actor("cli:test")


@pytest.fixture(autouse=True)
def quick_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap argon2 parameters keep the suite fast; one test checks the real ones."""
    monkeypatch.setattr(_users, "hasher", PasswordHasher(time_cost=1, memory_cost=1024))


def dump(store: Store) -> str:
    """Every value of every table, as text."""
    values: list[str] = []
    with store.engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            for row in conn.execute(text(f"SELECT * FROM {table}")):
                values.extend(str(v) for v in row)
    return "\n".join(values)


def raw_bytes(store: Store) -> bytes:
    db = Path(str(store.engine.url.database))
    return b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))


def events(store: Store, action: str | None = None) -> list[Any]:
    """Audit events (rows with attribute access), oldest first."""
    table = AuditEvent.__table__
    query = select(table).order_by(table.c.id)
    if action is not None:
        query = query.where(table.c.action == action)
    with store.engine.connect() as conn:
        return list(conn.execute(query))


def count(store: Store, table: str) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def user_row(store: Store, username: str) -> User:
    with Session(store.engine) as s:
        user = s.scalar(select(User).where(User.username == username))
        assert user is not None
        s.expunge(user)
        return user


@pytest.fixture
def people(store: Store) -> Iterator[Store]:
    add_user(store, ADMIN, "ann", PASSWORD, "reporter", display_name="Ann Reporter")
    add_user(store, ADMIN, "lee", LEE_PASSWORD, "clinical_lead")
    add_user(store, ADMIN, "vic", VIC_PASSWORD, "viewer")
    yield store


def test_passwords_are_argon2_hashes_and_never_stored(people: Store) -> None:
    actor = authenticate(people, "ANN ", PASSWORD, "10.0.0.1")  # usernames are case-blind
    assert (actor.name, actor.kind, actor.role) == ("ann", "user", "reporter")
    hashed = user_row(people, "ann").password_hash
    assert hashed.startswith("$argon2id$")
    set_password(people, ADMIN, "vic", "a brand new long passphrase")
    blob = dump(people)
    for secret in (PASSWORD, "a brand new long passphrase"):
        assert secret not in blob
    if people.engine.dialect.name == "sqlite":
        assert PASSWORD.encode() not in raw_bytes(people)
    # The production parameters: argon2id at argon2-cffi's defaults (64 MiB, t=3).
    real = PasswordHasher().hash(PASSWORD)
    assert real.startswith("$argon2id$v=19$m=65536,t=3,p=4$")


def test_password_rules(people: Store) -> None:
    with pytest.raises(ValueError, match="too short"):
        add_user(people, ADMIN, "sam", "short", "viewer")
    with pytest.raises(ValueError, match="username"):
        add_user(people, ADMIN, "samantha", "samantha-is-my-password", "viewer")
    with pytest.raises(ValueError, match="Role"):
        add_user(people, ADMIN, "sam", PASSWORD, "superuser")
    with pytest.raises(ConflictError):
        add_user(people, ADMIN, "Ann", PASSWORD, "viewer")


def test_lock_out_after_repeated_failures_then_release_and_doubling(people: Store) -> None:
    clock = T0
    for attempt in range(1, 5):
        with pytest.raises(AuthenticationError, match="not correct") as info:
            authenticate(people, "ann", "guess", "10.0.0.9", now=clock)
        assert "locked" not in str(info.value)
        assert user_row(people, "ann").failed_attempts == attempt
    with pytest.raises(AuthenticationError, match="locked until 2026-03-02 08:15"):
        authenticate(people, "ann", "guess", "10.0.0.9", now=clock)
    assert user_row(people, "ann").locked_until == T0 + LOCK_BASE
    # During the lock even the right password is refused, and attempts are not counted.
    with pytest.raises(AuthenticationError, match="locked"):
        authenticate(people, "ann", PASSWORD, now=T0 + dt.timedelta(minutes=14))
    assert user_row(people, "ann").failed_attempts == 5
    # Five more failures after the lock lapses: locked again, for twice as long.
    clock = T0 + dt.timedelta(minutes=16)
    for _ in range(5):
        with pytest.raises(AuthenticationError):
            authenticate(people, "ann", "guess", now=clock)
    assert user_row(people, "ann").locked_until == clock + 2 * LOCK_BASE
    with pytest.raises(AuthenticationError, match="locked"):
        authenticate(people, "ann", PASSWORD, now=clock + dt.timedelta(minutes=29))
    actor = authenticate(people, "ann", PASSWORD, now=clock + dt.timedelta(minutes=31))
    assert actor.name == "ann"
    released = user_row(people, "ann")
    assert (released.failed_attempts, released.locked_until) == (0, None)


def test_every_sign_in_success_and_failure_is_audited(people: Store) -> None:
    authenticate(people, "ann", PASSWORD, "10.0.0.1", now=T0)
    with pytest.raises(AuthenticationError):
        authenticate(people, "ann", "wrong password", "10.0.0.2", now=T0)
    with pytest.raises(AuthenticationError, match="not correct"):  # same words: no enumeration
        authenticate(people, "my-secret-pass", "whatever", "10.0.0.3", now=T0)
    disable_user(people, ADMIN, "vic")
    with pytest.raises(AuthenticationError, match="disabled"):
        authenticate(people, "vic", VIC_PASSWORD, "10.0.0.4", now=T0)
    ok = events(people, "auth.sign_in")
    failed = events(people, "auth.sign_in_failed")
    assert [(e.actor, e.address) for e in ok] == [("ann", "10.0.0.1")]
    assert [(e.actor, e.address, e.after["reason"]) for e in failed] == [
        ("ann", "10.0.0.2", "bad_password"),
        ("(unknown user)", "10.0.0.3", "unknown_user"),
        ("vic", "10.0.0.4", "disabled"),
    ]
    blob = dump(people)
    # Neither passwords nor a mistyped username (often a password) reach the trail.
    for secret in (PASSWORD, "wrong password", "whatever", "my-secret-pass"):
        assert secret not in blob
    assert verify(people).ok


def test_sessions_slide_expire_and_end(people: Store) -> None:
    actor = authenticate(people, "ann", PASSWORD, now=T0)
    new = create_session(people, actor, "10.0.0.1", now=T0)
    assert new.cookie_value not in dump(people) and new.csrf_token not in dump(people)
    assert new.cookie_value not in repr(new)
    s1 = get_session(people, new.cookie_value, now=T0 + dt.timedelta(minutes=20))
    assert s1.actor.name == "ann"
    assert s1.expires_at == T0 + dt.timedelta(minutes=50)  # slid forward
    s2 = get_session(people, new.cookie_value, now=T0 + dt.timedelta(minutes=45))
    assert s2.expires_at == T0 + dt.timedelta(minutes=75)
    with pytest.raises(AuthenticationError, match="expired"):
        get_session(people, new.cookie_value, now=T0 + dt.timedelta(minutes=76))
    with pytest.raises(AuthenticationError, match="ended"):  # and it is gone
        get_session(people, new.cookie_value, now=T0 + dt.timedelta(minutes=77))
    with pytest.raises(AuthenticationError):
        get_session(people, None)
    # Sign out.
    other = create_session(people, actor, now=T0)
    assert end_session(people, other.cookie_value, "10.0.0.1") is True
    assert end_session(people, other.cookie_value) is False
    assert [e.actor for e in events(people, "auth.sign_out")] == ["ann"]


def test_session_lifetime_is_capped_and_disabling_ends_sessions(people: Store) -> None:
    ann = authenticate(people, "ann", PASSWORD, now=T0)
    new = create_session(people, ann, now=T0)
    for k in range(1, 36):  # a request every 20 minutes for 11 h 40 min
        info = get_session(people, new.cookie_value, now=T0 + k * dt.timedelta(minutes=20))
    assert info.expires_at == T0 + dt.timedelta(hours=12)  # capped at the lifetime
    with pytest.raises(AuthenticationError, match="expired"):
        get_session(people, new.cookie_value, now=T0 + dt.timedelta(hours=12))
    vic = authenticate(people, "vic", VIC_PASSWORD, now=T0)
    vic_session = create_session(people, vic, now=T0)
    disable_user(people, ADMIN, "vic")
    with pytest.raises(AuthenticationError):
        get_session(people, vic_session.cookie_value, now=T0)
    assert count(people, "web_session") == 0  # expired one deleted when read; vic's on disable


def test_csrf_token_is_checked_in_constant_time(people: Store) -> None:
    ann = authenticate(people, "ann", PASSWORD, now=T0)
    new = create_session(people, ann, now=T0)
    session = get_session(people, new.cookie_value, now=T0)
    assert csrf_token(new.cookie_value) == new.csrf_token  # pages can re-derive it
    check_csrf(session, new.csrf_token)
    # Change the last character (to a different one: it may already be "0").
    altered = new.csrf_token[:-1] + ("1" if new.csrf_token.endswith("0") else "0")
    for bad in (None, "", altered, csrf_token("another cookie")):
        with pytest.raises(PermissionDeniedError, match="security token"):
            check_csrf(session, bad)


def test_api_tokens_are_hashed_at_rest_scoped_and_revocable(people: Store) -> None:
    new = create_token(people, ADMIN, "pacs-bridge", "lee", role="reporter", now=T0)
    assert new.token.startswith("ra_") and len(new.token) >= 43  # 256 random bits
    assert new.token not in repr(new)
    blob = dump(people)
    assert new.token not in blob and new.prefix in blob
    if people.engine.dialect.name == "sqlite":
        assert new.token.encode() not in raw_bytes(people)
    actor = authenticate_token(people, new.token, "10.1.1.1", now=T0 + dt.timedelta(hours=1))
    assert (actor.name, actor.kind, actor.role) == ("pacs-bridge", "token", "reporter")
    assert actor.can("review.write") and not actor.can("adjudicate")  # narrower than lee's
    (listed,) = list_tokens(people, ADMIN)
    assert listed.last_used_at == T0 + dt.timedelta(hours=1)
    with pytest.raises(ValueError, match="cannot have role admin"):
        create_token(people, ADMIN, "too-much", "ann", role="admin")
    with pytest.raises(ConflictError):
        create_token(people, ADMIN, "pacs-bridge", "ann")
    revoked = revoke_token(people, ADMIN, "pacs-bridge")
    assert not revoked.active
    with pytest.raises(AuthenticationError, match="not valid"):
        authenticate_token(people, new.token, "10.1.1.1")
    with pytest.raises(AuthenticationError):
        authenticate_token(people, "ra_made-up", "10.1.1.2")
    reasons = [e.after["reason"] for e in events(people, "auth.token_failed")]
    assert reasons == ["revoked", "unknown_token"]
    assert [e.action for e in events(people) if e.entity == "api_token"][:2] == [
        "token.created",
        "token.revoked",
    ]
    assert new.token not in dump(people)


def test_tokens_of_disabled_users_stop_working(people: Store) -> None:
    new = create_token(people, ADMIN, "ann-script", "ann")
    assert authenticate_token(people, new.token).name == "ann-script"
    disable_user(people, ADMIN, "ann")
    with pytest.raises(AuthenticationError):
        authenticate_token(people, new.token)


def test_users_manage_their_own_password_and_tokens_only(people: Store) -> None:
    ann = authenticate(people, "ann", PASSWORD)
    with pytest.raises(PermissionDeniedError, match="current password"):
        set_password(people, ann, "ann", "another long passphrase", current_password="nope")
    set_password(people, ann, "ann", "another long passphrase", current_password=PASSWORD)
    authenticate(people, "ann", "another long passphrase")
    with pytest.raises(PermissionDeniedError, match=r"users\.manage"):
        set_password(people, ann, "lee", "hijacked passphrase!")
    own = create_token(people, ann, "ann-own", "ann")
    with pytest.raises(PermissionDeniedError):
        create_token(people, ann, "for-lee", "lee")
    assert [t.name for t in list_tokens(people, ann)] == ["ann-own"]
    with pytest.raises(PermissionDeniedError):
        list_users(people, ann)
    token_actor = authenticate_token(people, own.token)
    with pytest.raises(PermissionDeniedError):  # a token cannot mint tokens
        create_token(people, token_actor, "chain", "ann")


def test_admin_cannot_disable_themselves(people: Store) -> None:
    add_user(people, ADMIN, "ada", "ada passphrase twelve", "admin")
    ada = authenticate(people, "ada", "ada passphrase twelve")
    with pytest.raises(ConflictError, match="own account"):
        disable_user(people, ada, "ada")
    assert [u.username for u in list_users(people, ada)] == ["ada", "ann", "lee", "vic"]


def test_permission_table_is_complete_and_enforced() -> None:
    assert set(PERMISSIONS) == {
        "registry.read",
        "registry.write",
        "ingest",
        "review.write",
        "adjudicate",
        "audit.read",
        "users.manage",
        "runs.read",
        "runs.write",
        "summary.read",
        "monitoring.read",
        "monitoring.write",
    }
    for permission, roles in PERMISSIONS.items():
        assert roles, f"{permission} has no role"
        assert roles <= set(ROLES)
    assert PERMISSIONS["users.manage"] == {"admin"}
    # Acknowledging or resolving an alert (which may suspend a tool) is a lead's call.
    assert PERMISSIONS["monitoring.write"] == {"admin", "clinical_lead"}
    viewer = Actor("vic", "user", "viewer", 3, permissions_of("viewer"))
    writes = [p for p in PERMISSIONS if not p.endswith(".read")]
    for permission in writes:
        with pytest.raises(PermissionDeniedError, match=f"vic \\(viewer\\) may not .*{permission}"):
            require(viewer, permission)
    for permission in ("registry.read", "runs.read", "summary.read"):
        require(viewer, permission)
    with pytest.raises(PermissionDeniedError):
        require(viewer, "audit.read")
    require(Actor("aud", "user", "auditor", 4, permissions_of("auditor")), "audit.read")
    with pytest.raises(ValueError, match=r"Unknown permission 'registry\.delete'"):
        require(viewer, "registry.delete")
    with pytest.raises(ValueError, match="Role"):
        permissions_of("root")


def test_cli_users_and_tokens(
    store: Store, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RADASSURE_DATABASE_URL", settings.resolved_database_url())
    monkeypatch.setitem(import_module("radassure.cli.main")._state, "home", settings.home)
    root = typer.Typer()
    root.add_typer(user_app, name="user")
    root.add_typer(token_app, name="token")
    runner = CliRunner()

    def run(*args: str, code: int = 0, stdin: str | None = None) -> str:
        result = runner.invoke(root, list(args), input=stdin)
        assert result.exit_code == code, result.output
        return result.output

    typed = f"{PASSWORD}\n{PASSWORD}\n"  # asked twice, hidden
    assert "Added ann (Ann R) as reporter" in run(
        "user", "add", "ann", "--role", "reporter", "--name", "Ann R", stdin=typed
    )
    assert PASSWORD not in run("user", "add", "bob", "--role", "viewer", stdin=typed)
    assert "too short" in run(
        "user", "add", "cy", "--role", "viewer", "--password-stdin", stdin="short\n", code=2
    )
    listed = json.loads(run("user", "list", "--json"))
    assert [(u["username"], u["role"], u["active"]) for u in listed] == [
        ("ann", "reporter", True),
        ("bob", "viewer", True),
    ]
    created = json.loads(run("token", "create", "ris", "--user", "ann", "--json"))
    assert authenticate_token(store, created["token"]).name == "ris"
    assert created["token"] not in run("token", "list")
    run("token", "revoke", "ris")
    assert json.loads(run("token", "list", "--json"))[0]["active"] is False
    run("user", "disable", "bob")
    with pytest.raises(AuthenticationError, match="disabled"):
        authenticate(store, "bob", PASSWORD)
    assert "No user named 'zed'" in run("user", "disable", "zed", code=1)
    actors = {e.actor for e in events(store) if e.action.startswith(("user.", "token."))}
    assert actors == {"cli:" + getpass.getuser()}
