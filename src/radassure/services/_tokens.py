"""API tokens: 256-bit random bearer tokens, shown once, stored as SHA-256.

A token acts with its own role, narrowed to what its user's role allows at the
time of use, so lowering a user's role lowers their tokens too. Uses are not
audited one by one (the changes they make are); failed uses are.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from radassure.db import session_scope
from radassure.db.models import utcnow
from radassure.db.security import ApiToken, User
from radassure.errors import ConflictError, NotFoundError
from radassure.services._access import (
    ROLES,
    Actor,
    AuthenticationError,
    permissions_of,
    require,
)
from radassure.services.audit import record
from radassure.services.store import Store

__all__ = [
    "TOKEN_PREFIX",
    "NewToken",
    "TokenInfo",
    "authenticate_token",
    "create_token",
    "list_tokens",
    "revoke_token",
]

#: Marks radassure tokens, so secret scanners and people can recognise one.
TOKEN_PREFIX = "ra_"
_TOUCH_EVERY = dt.timedelta(seconds=60)
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,99}")


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class NewToken:
    """A token just created. ``token`` is shown once and cannot be recovered."""

    name: str
    username: str
    role: str
    prefix: str
    token: str = field(repr=False)


@dataclass(frozen=True)
class TokenInfo:
    """A token as listed (never the token or its hash)."""

    name: str
    username: str
    role: str
    prefix: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None

    @property
    def active(self) -> bool:
        """True unless revoked."""
        return self.revoked_at is None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (times as ISO text)."""
        out = {
            k: v.isoformat() if isinstance(v, dt.datetime) else v for k, v in asdict(self).items()
        }
        out["active"] = self.active
        return out


def _info(t: ApiToken, username: str) -> TokenInfo:
    return TokenInfo(t.name, username, t.role, t.prefix, t.created_at, t.last_used_at, t.revoked_at)


def _may_manage(actor: Actor, owner_id: int) -> None:
    # Users may manage their own tokens from a session, never from another token.
    if not (actor.kind == "user" and actor.user_id == owner_id):
        require(actor, "users.manage")


def create_token(
    store: Store,
    actor: Actor,
    name: str,
    username: str,
    *,
    role: str | None = None,
    address: str | None = None,
    now: dt.datetime | None = None,
) -> NewToken:
    """Create an API token for a user; return it once (audited without the token).

    ``role`` defaults to the user's and may not grant what the user's role
    does not. Needs ``users.manage`` unless users create their own.
    """
    name = name.strip()
    if not _NAME.fullmatch(name):
        raise ValueError(
            f"Token name {name!r} is not valid: use 1 to 100 characters of letters, digits, "
            "'.', '_', ':' and '-', e.g. pacs-bridge."
        )
    with session_scope(store.engine) as s:
        user = s.scalar(select(User).where(User.username == username.strip().lower()))
        if user is None:
            raise NotFoundError(f"No user named {username!r}; add them with `radassure user add`.")
        _may_manage(actor, user.id)
        role = role or user.role
        if role not in ROLES:
            raise ValueError(f"Role {role!r} is not one of: {', '.join(ROLES)}.")
        extra = permissions_of(role) - permissions_of(user.role)
        if extra:
            raise ValueError(
                f"A token of {user.username} ({user.role}) cannot have role {role}: it would "
                f"grant {', '.join(sorted(extra))}. Choose a role within the user's own."
            )
        if not user.active:
            raise ConflictError(f"User {user.username!r} is disabled; enable them first.")
        if s.scalar(select(ApiToken.id).where(ApiToken.name == name)) is not None:
            raise ConflictError(f"A token named {name!r} already exists; choose another name.")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        prefix = token[: len(TOKEN_PREFIX) + 6]
        row = ApiToken(
            user_id=user.id,
            name=name,
            role=role,
            token_hash=_sha256(token),
            prefix=prefix,
            created_at=now or utcnow(),
        )
        s.add(row)
        s.flush()
        after = {"name": name, "user": user.username, "role": role, "prefix": prefix}
        record(
            s, actor, "token.created", "api_token", row.id, after=after, address=address, now=now
        )
        return NewToken(name, user.username, role, prefix, token)


def _token_row(s: Session, name: str) -> tuple[ApiToken, str]:
    found = s.execute(
        select(ApiToken, User.username)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.name == name.strip())
    ).first()
    if found is None:
        raise NotFoundError(f"No API token named {name!r}; see `radassure token list`.")
    return found[0], found[1]


def revoke_token(
    store: Store,
    actor: Actor,
    name: str,
    *,
    address: str | None = None,
    now: dt.datetime | None = None,
) -> TokenInfo:
    """Revoke a token for good (audited); revoking twice is a no-op."""
    with session_scope(store.engine) as s:
        row, username = _token_row(s, name)
        _may_manage(actor, row.user_id)
        if row.revoked_at is None:
            row.revoked_at = now or utcnow()
            record(
                s,
                actor,
                "token.revoked",
                "api_token",
                row.id,
                before={"name": row.name, "user": username, "revoked": False},
                after={"name": row.name, "user": username, "revoked": True},
                address=address,
                now=now,
            )
        return _info(row, username)


def list_tokens(store: Store, actor: Actor, *, username: str | None = None) -> list[TokenInfo]:
    """List tokens by name: all of them (``users.manage``), or the actor's own."""
    query = select(ApiToken, User.username).join(User, User.id == ApiToken.user_id)
    if not actor.can("users.manage"):
        if actor.kind != "user" or actor.user_id is None:
            require(actor, "users.manage")
        query = query.where(ApiToken.user_id == actor.user_id)
    if username is not None:
        query = query.where(User.username == username.strip().lower())
    with session_scope(store.engine) as s:
        return [_info(t, u) for t, u in s.execute(query.order_by(ApiToken.name))]


def authenticate_token(
    store: Store,
    token: str | None,
    address: str | None = None,
    *,
    now: dt.datetime | None = None,
) -> Actor:
    """Return the actor for a bearer token, noting when it was last used.

    Raises
    ------
    AuthenticationError
        Missing, unknown or revoked token, or a disabled user. The failure
        is audited with a prefix of the token's hash, never the token.

    """
    now = now or utcnow()
    digest = _sha256(token or "")
    with session_scope(store.engine) as s:
        found = (
            s.execute(
                select(ApiToken, User)
                .join(User, User.id == ApiToken.user_id)
                .where(ApiToken.token_hash == digest)
            ).first()
            if token
            else None
        )
        if found is not None:
            row, user = found
            if row.revoked_at is None and user.active:
                if row.last_used_at is None or now - row.last_used_at >= _TOUCH_EVERY:
                    row.last_used_at = now
                return Actor(
                    row.name,
                    "token",
                    row.role,
                    user.id,
                    permissions_of(row.role) & permissions_of(user.role),
                )
            reason = "revoked" if row.revoked_at is not None else "user_disabled"
            who = Actor(row.name, "token", row.role, user.id, frozenset())
        else:
            reason = "unknown_token"
            who = Actor("(unknown token)", "token", "viewer", None, frozenset())
        record(
            s,
            who,
            "auth.token_failed",
            "api_token",
            after={"reason": reason, "token_sha256": digest[:12]},
            address=address,
            now=now,
        )
    raise AuthenticationError(
        "The API token is not valid: it is missing, unknown or revoked, or its user is "
        "disabled. Ask an administrator for a new one (`radassure token create`)."
    )
