"""Users and passwords: add, list, disable, enable, set password.

Passwords are hashed with argon2id (argon2-cffi's defaults, rehashed on sign-in
when those defaults rise) and are never stored, logged or audited.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import asdict, dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from radassure.db import session_scope
from radassure.db.models import utcnow
from radassure.db.security import User, WebSession
from radassure.errors import ConflictError, NotFoundError, PermissionDeniedError
from radassure.services._access import ROLES, Actor, require
from radassure.services.audit import record
from radassure.services.store import Store

__all__ = [
    "MAX_PASSWORD_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "UserInfo",
    "add_user",
    "disable_user",
    "dummy_hash",
    "enable_user",
    "hash_password",
    "hasher",
    "list_users",
    "needs_rehash",
    "normalise_username",
    "password_ok",
    "set_password",
]

#: NCSC advice: length over composition rules. Staff accounts reach patient data.
MIN_PASSWORD_LENGTH = 12
#: Bounds the work an attacker can make argon2 do per request.
MAX_PASSWORD_LENGTH = 1024
_USERNAME = re.compile(r"[a-z0-9][a-z0-9._@-]{1,63}")
#: argon2id with argon2-cffi's defaults (RFC 9106 low-memory profile). Module
#: state so tests may swap in cheaper parameters; always read through the
#: functions below.
hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """Return the argon2id hash of ``password`` (salted; never the same twice)."""
    return hasher.hash(password)


def needs_rehash(stored: str) -> bool:
    """Return True when ``stored`` was made with weaker parameters than today's."""
    return hasher.check_needs_rehash(stored)


@functools.cache
def dummy_hash() -> str:
    """Return a hash to verify against when the user does not exist (equal timing)."""
    return hash_password("radassure: no such user")


def password_ok(stored: str, password: str) -> bool:
    """Return True when ``password`` matches the argon2 hash ``stored``."""
    try:
        return hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class UserInfo:
    """A user as shown to administrators (never the password hash)."""

    username: str
    display_name: str
    role: str
    active: bool
    created_at: dt.datetime
    failed_attempts: int
    locked_until: dt.datetime | None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (times as ISO text)."""
        out = asdict(self)
        out["created_at"] = self.created_at.isoformat()
        out["locked_until"] = self.locked_until.isoformat() if self.locked_until else None
        return out


def _info(u: User) -> UserInfo:
    return UserInfo(
        u.username,
        u.display_name,
        u.role,
        u.active,
        u.created_at,
        u.failed_attempts,
        u.locked_until,
    )


def _state(u: User) -> dict[str, Any]:
    """What the audit trail keeps of a user: everything but the password hash."""
    return {
        "username": u.username,
        "display_name": u.display_name,
        "role": u.role,
        "active": u.active,
    }


def normalise_username(username: str) -> str:
    """Return the stored form of a username (trimmed, lower case)."""
    return username.strip().lower()


def _user_row(s: Session, username: str) -> User:
    user = s.scalar(select(User).where(User.username == normalise_username(username)))
    if user is None:
        raise NotFoundError(
            f"No user named {username!r}; see `radassure user list` for the users there are."
        )
    return user


def _check_password(password: str, username: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(
            f"The password is too short: use at least {MIN_PASSWORD_LENGTH} characters "
            "(three random words make a strong, memorable one)."
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValueError(f"The password is longer than {MAX_PASSWORD_LENGTH} characters.")
    # Short names (e.g. "lee") occur inside ordinary words; only longer ones are telling.
    if len(username) >= 4 and username.lower() in password.lower():
        raise ValueError("The password must not contain the username.")


def add_user(
    store: Store,
    actor: Actor,
    username: str,
    password: str,
    role: str,
    *,
    display_name: str | None = None,
    address: str | None = None,
    now: dt.datetime | None = None,
) -> UserInfo:
    """Add a user who can sign in (needs ``users.manage``); audited without the password.

    Usernames are stored in lower case: 2 to 64 of ``a-z 0-9 . _ @ -``.
    """
    require(actor, "users.manage")
    name = normalise_username(username)
    if not _USERNAME.fullmatch(name):
        raise ValueError(
            f"Username {username!r} is not valid: use 2 to 64 characters of a-z, 0-9, "
            "'.', '_', '@' and '-', starting with a letter or digit."
        )
    if role not in ROLES:
        raise ValueError(f"Role {role!r} is not one of: {', '.join(ROLES)}.")
    _check_password(password, name)
    with session_scope(store.engine) as s:
        if s.scalar(select(User.id).where(User.username == name)) is not None:
            raise ConflictError(f"A user named {name!r} already exists.")
        user = User(
            username=name,
            display_name=(display_name or name).strip()[:200],
            role=role,
            password_hash=hash_password(password),
            active=True,
            created_at=now or utcnow(),
            failed_attempts=0,
        )
        s.add(user)
        s.flush()
        record(
            s, actor, "user.added", "user", user.id, after=_state(user), address=address, now=now
        )
        return _info(user)


def list_users(store: Store, actor: Actor) -> list[UserInfo]:
    """Return every user, by username (needs ``users.manage``)."""
    require(actor, "users.manage")
    with session_scope(store.engine) as s:
        return [_info(u) for u in s.scalars(select(User).order_by(User.username))]


def _end_all_sessions(s: Session, user_id: int) -> int:
    ended = s.execute(delete(WebSession).where(WebSession.user_id == user_id))
    return int(getattr(ended, "rowcount", 0) or 0)


def _set_active(
    store: Store, actor: Actor, username: str, active: bool, address: str | None
) -> UserInfo:
    require(actor, "users.manage")
    with session_scope(store.engine) as s:
        user = _user_row(s, username)
        if not active and user.id == actor.user_id:
            raise ConflictError("You cannot disable your own account; ask another administrator.")
        if user.active == active:
            return _info(user)
        before = _state(user)
        user.active = active
        if active:
            user.failed_attempts, user.locked_until = 0, None
        after: dict[str, Any] = _state(user)
        if not active:
            after["sessions_ended"] = _end_all_sessions(s, user.id)
        action = "user.enabled" if active else "user.disabled"
        record(s, actor, action, "user", user.id, before=before, after=after, address=address)
        return _info(user)


def disable_user(
    store: Store, actor: Actor, username: str, *, address: str | None = None
) -> UserInfo:
    """Stop a user signing in and end their sessions (needs ``users.manage``).

    Their API tokens stop working too (tokens of disabled users are refused);
    their reviews and audit events stay, as evidence.
    """
    return _set_active(store, actor, username, False, address)


def enable_user(
    store: Store, actor: Actor, username: str, *, address: str | None = None
) -> UserInfo:
    """Let a disabled user sign in again, clearing any lock (needs ``users.manage``)."""
    return _set_active(store, actor, username, True, address)


def set_password(
    store: Store,
    actor: Actor,
    username: str,
    new_password: str,
    *,
    current_password: str | None = None,
    address: str | None = None,
    now: dt.datetime | None = None,
) -> UserInfo:
    """Set a user's password, clear their lock and end their sessions.

    Administrators (``users.manage``) may set anyone's password; a signed-in
    user may change their own by giving the current one.
    """
    with session_scope(store.engine) as s:
        user = _user_row(s, username)
        own = actor.kind == "user" and actor.user_id == user.id
        if not actor.can("users.manage"):
            if not own:
                require(actor, "users.manage")  # raises, naming the permission
            if current_password is None or not password_ok(user.password_hash, current_password):
                raise PermissionDeniedError(
                    "The current password is not correct; the password was not changed."
                )
        _check_password(new_password, user.username)
        user.password_hash = hash_password(new_password)
        user.failed_attempts, user.locked_until = 0, None
        ended = _end_all_sessions(s, user.id)
        after = {"username": user.username, "sessions_ended": ended}
        record(
            s, actor, "user.password_set", "user", user.id, after=after, address=address, now=now
        )
        return _info(user)
