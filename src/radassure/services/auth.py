"""Users, passwords and sign-in; the front door to sessions, tokens and permissions.

Passwords are hashed with argon2id and never stored, logged or audited
(users and passwords: ``_users.py``). Repeated failures lock an account: after every
:data:`MAX_FAILURES` consecutive failures it is locked for :data:`LOCK_BASE`,
doubling each time (capped at :data:`LOCK_MAX`), until a successful sign-in or
a password reset. Every sign-in, success or failure, is audited.

Sessions, CSRF tokens, API tokens and the permission table live in private
modules and are re-exported here, so fronts import one module.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from radassure.db import session_scope
from radassure.db.models import utcnow
from radassure.db.security import User
from radassure.services._access import (
    PERMISSION_DESCRIPTIONS,
    PERMISSIONS,
    ROLES,
    Actor,
    AuthenticationError,
    permissions_of,
    require,
    system_actor,
)
from radassure.services._sessions import (
    SESSION_IDLE,
    SESSION_LIFETIME,
    NewSession,
    SessionInfo,
    check_csrf,
    create_session,
    csrf_token,
    end_session,
    get_session,
)
from radassure.services._tokens import (
    NewToken,
    TokenInfo,
    authenticate_token,
    create_token,
    list_tokens,
    revoke_token,
)
from radassure.services._users import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    UserInfo,
    add_user,
    disable_user,
    dummy_hash,
    enable_user,
    hash_password,
    list_users,
    needs_rehash,
    normalise_username,
    password_ok,
    set_password,
)
from radassure.services.audit import record
from radassure.services.store import Store

__all__ = [
    "LOCK_BASE",
    "LOCK_MAX",
    "MAX_FAILURES",
    "MAX_PASSWORD_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "PERMISSIONS",
    "PERMISSION_DESCRIPTIONS",
    "ROLES",
    "SESSION_IDLE",
    "SESSION_LIFETIME",
    "Actor",
    "AuthenticationError",
    "NewSession",
    "NewToken",
    "SessionInfo",
    "TokenInfo",
    "UserInfo",
    "add_user",
    "authenticate",
    "authenticate_token",
    "check_csrf",
    "create_session",
    "create_token",
    "csrf_token",
    "disable_user",
    "enable_user",
    "end_session",
    "get_session",
    "list_tokens",
    "list_users",
    "permissions_of",
    "require",
    "revoke_token",
    "set_password",
    "system_actor",
]

MAX_FAILURES = 5
LOCK_BASE = dt.timedelta(minutes=15)
LOCK_MAX = dt.timedelta(hours=24)
_BAD_SIGN_IN = "The username or password is not correct."


def _lock_for(failures: int) -> dt.timedelta | None:
    if failures == 0 or failures % MAX_FAILURES:
        return None
    doublings = min(failures // MAX_FAILURES - 1, 16)
    lock: dt.timedelta = LOCK_BASE * 2**doublings
    return min(lock, LOCK_MAX)


def authenticate(
    store: Store,
    username: str,
    password: str,
    address: str | None = None,
    *,
    now: dt.datetime | None = None,
) -> Actor:
    """Check a username and password; return the signed-in :class:`Actor`.

    Raises
    ------
    AuthenticationError
        For an unknown user or a wrong password the same sentence, so the
        answer does not reveal which usernames exist; a locked or disabled
        account is named as such. The failure is audited (with the reason,
        never the password; an unknown username only as a hash prefix, since
        people type passwords into the username box).

    """
    now = now or utcnow()
    name = normalise_username(username)
    failure: AuthenticationError | None = None
    actor: Actor | None = None
    with session_scope(store.engine) as s:
        user = s.scalar(select(User).where(User.username == name))
        if user is None:
            password_ok(dummy_hash(), password)  # same time as for a real user
            tried = hashlib.sha256(name.encode()).hexdigest()[:12]
            who = Actor("(unknown user)", "user", "viewer", None, frozenset())
            after = {"reason": "unknown_user", "username_sha256": tried}
            record(s, who, "auth.sign_in_failed", "user", after=after, address=address, now=now)
            failure = AuthenticationError(_BAD_SIGN_IN)
        else:
            failure = _check_user(s, user, password, address, now)
            if failure is None:
                actor = Actor(user.username, "user", user.role, user.id, permissions_of(user.role))
                record(
                    s,
                    actor,
                    "auth.sign_in",
                    "user",
                    user.id,
                    after={"role": user.role},
                    address=address,
                    now=now,
                )
    # Outside the transaction: the failed attempt and its audit event are committed.
    if failure is not None or actor is None:
        raise failure or AuthenticationError(_BAD_SIGN_IN)
    return actor


def _check_user(
    s: Session, user: User, password: str, address: str | None, now: dt.datetime
) -> AuthenticationError | None:
    who = Actor(user.username, "user", user.role, user.id, frozenset())

    def fail(reason: str, message: str, **extra: Any) -> AuthenticationError:
        record(
            s,
            who,
            "auth.sign_in_failed",
            "user",
            user.id,
            after={"reason": reason, **extra},
            address=address,
            now=now,
        )
        return AuthenticationError(message)

    if user.locked_until is not None and user.locked_until > now:
        # Not checked and not counted: guesses during a lock learn nothing and
        # cannot stretch the lock for the real user.
        return fail("locked", _locked_message(user.locked_until), locked_until=user.locked_until)
    if not password_ok(user.password_hash, password):
        # One atomic increment: parallel guesses cannot share a count.
        failures = int(
            s.execute(
                update(User)
                .where(User.id == user.id)
                .values(failed_attempts=User.failed_attempts + 1)
                .returning(User.failed_attempts)
            ).scalar_one()
        )
        lock = _lock_for(failures)
        if lock is None:
            return fail("bad_password", _BAD_SIGN_IN, failed_attempts=failures)
        until = now + lock
        s.execute(update(User).where(User.id == user.id).values(locked_until=until))
        return fail(
            "bad_password",
            f"{_BAD_SIGN_IN} {_locked_message(until)}",
            failed_attempts=failures,
            locked_until=until,
        )
    if not user.active:
        return fail("disabled", "This account is disabled; ask an administrator.")
    user.failed_attempts, user.locked_until = 0, None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)  # keep hashes at today's cost
    return None


def _locked_message(until: dt.datetime) -> str:
    return (
        "After repeated failed sign-ins this account is locked until "
        f"{until:%Y-%m-%d %H:%M} UTC; try again then, or ask an administrator to reset "
        "the password."
    )
