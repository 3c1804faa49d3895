"""Web sessions with sliding expiry, and their CSRF tokens.

The cookie value is 256 random bits; the table keeps only its SHA-256, so a
copy of the database does not let anyone take over a session. The CSRF token
is an HMAC of the cookie value: the page can embed it on every render without
storing it, it reveals nothing about the cookie, and the table keeps only its
SHA-256 to check against.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field

from sqlalchemy import delete, select

from radassure.db import session_scope
from radassure.db.models import utcnow
from radassure.db.security import User, WebSession
from radassure.errors import PermissionDeniedError
from radassure.services._access import Actor, AuthenticationError, permissions_of
from radassure.services.audit import record
from radassure.services.store import Store

__all__ = [
    "SESSION_IDLE",
    "SESSION_LIFETIME",
    "NewSession",
    "SessionInfo",
    "check_csrf",
    "create_session",
    "csrf_token",
    "end_session",
    "get_session",
]

#: A session ends after this long without a request (a workstation left signed in).
SESSION_IDLE = dt.timedelta(minutes=30)
#: ... and in any case this long after sign-in (one clinical shift).
SESSION_LIFETIME = dt.timedelta(hours=12)
#: Seen-times are written at most this often: one write per request would make
#: every page view a database write.
_TOUCH_EVERY = dt.timedelta(seconds=60)


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def csrf_token(cookie_value: str) -> str:
    """Return the CSRF token of the session whose cookie value is given.

    Examples
    --------
    >>> csrf_token("a") == csrf_token("a") != csrf_token("b")
    True

    """
    return hmac.new(cookie_value.encode("utf-8"), b"radassure-csrf", hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class NewSession:
    """A session just created: set ``cookie_value`` as an HttpOnly, Secure cookie."""

    actor: Actor
    expires_at: dt.datetime
    cookie_value: str = field(repr=False)
    csrf_token: str = field(repr=False)


@dataclass(frozen=True)
class SessionInfo:
    """A live session and who it belongs to (their role as it is now)."""

    actor: Actor
    created_at: dt.datetime
    expires_at: dt.datetime
    last_seen_at: dt.datetime
    ip: str | None
    csrf_hash: str = field(repr=False)


def create_session(
    store: Store,
    actor: Actor,
    address: str | None = None,
    *,
    now: dt.datetime | None = None,
    idle: dt.timedelta = SESSION_IDLE,
    lifetime: dt.timedelta = SESSION_LIFETIME,
) -> NewSession:
    """Start a session for a signed-in user (from :func:`~radassure.services.auth.authenticate`).

    The sign-in itself is already audited; this also clears the user's
    expired sessions.
    """
    if actor.kind != "user" or actor.user_id is None:
        raise ValueError("Only a signed-in user can have a web session.")
    now = now or utcnow()
    cookie = secrets.token_urlsafe(32)
    expires = min(now + idle, now + lifetime)
    with session_scope(store.engine) as s:
        s.execute(
            delete(WebSession).where(
                WebSession.user_id == actor.user_id, WebSession.expires_at <= now
            )
        )
        s.add(
            WebSession(
                id=_sha256(cookie),
                user_id=actor.user_id,
                created_at=now,
                expires_at=expires,
                last_seen_at=now,
                csrf_hash=_sha256(csrf_token(cookie)),
                ip=address[:64] if address else None,
            )
        )
    return NewSession(actor, expires, cookie, csrf_token(cookie))


def get_session(
    store: Store,
    cookie_value: str | None,
    *,
    now: dt.datetime | None = None,
    idle: dt.timedelta = SESSION_IDLE,
    lifetime: dt.timedelta = SESSION_LIFETIME,
) -> SessionInfo:
    """Return the live session for a cookie value, extending its idle expiry.

    Raises
    ------
    AuthenticationError
        No cookie, an unknown or ended session, an expired one (deleted
        here), or a user disabled since sign-in.

    """
    if not cookie_value:
        raise AuthenticationError("You are not signed in; sign in to continue.")
    now = now or utcnow()
    key = _sha256(cookie_value)
    with session_scope(store.engine) as s:
        found = s.execute(
            select(WebSession, User)
            .join(User, User.id == WebSession.user_id)
            .where(WebSession.id == key)
        ).first()
        if found is None:
            raise AuthenticationError("Your session has ended; sign in again.")
        ws, user = found
        hard_end = ws.created_at + lifetime
        if now >= ws.expires_at or now >= hard_end or not user.active:
            s.delete(ws)
            s.commit()  # the raise below would otherwise roll the deletion back
            why = "your account was disabled" if not user.active else "it expired"
            raise AuthenticationError(f"Your session has ended ({why}); sign in again.")
        if now - ws.last_seen_at >= _TOUCH_EVERY:
            ws.last_seen_at = now
            ws.expires_at = min(now + idle, hard_end)
        actor = Actor(user.username, "user", user.role, user.id, permissions_of(user.role))
        return SessionInfo(
            actor, ws.created_at, ws.expires_at, ws.last_seen_at, ws.ip, ws.csrf_hash
        )


def end_session(
    store: Store,
    cookie_value: str | None,
    address: str | None = None,
    *,
    now: dt.datetime | None = None,
) -> bool:
    """Sign out: delete the session (audited). Return False when there was none."""
    if not cookie_value:
        return False
    with session_scope(store.engine) as s:
        found = s.execute(
            select(WebSession, User)
            .join(User, User.id == WebSession.user_id)
            .where(WebSession.id == _sha256(cookie_value))
        ).first()
        if found is None:
            return False
        ws, user = found
        s.delete(ws)
        actor = Actor(user.username, "user", user.role, user.id, frozenset())
        record(s, actor, "auth.sign_out", "user", user.id, address=address, now=now)
    return True


def check_csrf(session: SessionInfo, presented: str | None) -> None:
    """Refuse a state-changing request whose CSRF token does not match its session.

    The comparison takes the same time whatever the token, so it cannot be
    guessed byte by byte.

    Raises
    ------
    PermissionDeniedError
        The token is missing or wrong.

    """
    given = _sha256(presented or "")
    if not presented or not hmac.compare_digest(given, session.csrf_hash):
        raise PermissionDeniedError(
            "The form's security token is missing or does not match your session; "
            "reload the page and try again."
        )
