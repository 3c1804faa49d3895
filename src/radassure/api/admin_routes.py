"""JSON routes of administration: users, API tokens and the audit trail.

``GET /api/users`` and ``GET /api/tokens`` are the JSON twins of the pages
``/admin/users`` and ``/admin/tokens``; ``GET /api/audit`` of ``/audit``.
Every change goes through :mod:`radassure.services.auth`, which checks the
permission again and audits it (never a password or a token).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, status
from fastapi.responses import StreamingResponse

from radassure.api.deps import ActorDep, StoreDep, client_address
from radassure.api.oversight_schemas import (
    AuditEvent,
    AuditEventPage,
    AuditVerify,
    Token,
    TokenCreate,
    TokenCreated,
    User,
    UserCreate,
)
from radassure.api.schemas import ErrorBody
from radassure.services import audit, auth

__all__ = ["router"]

router = APIRouter(prefix="/api")

_NAME = Path(min_length=1, max_length=200)
_MEDIA = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    text = {
        404: "No such user or token.",
        409: "The name is taken, the user is disabled, or one cannot disable oneself.",
        422: "A field is not valid (the message names it and the fix).",
    }
    return {c: {"model": ErrorBody, "description": text[c]} for c in codes}


# -- users ------------------------------------------------------------------------
@router.get("/users", response_model=list[User], tags=["users"], summary="List users")
def list_users(store: StoreDep, actor: ActorDep) -> list[User]:
    """Return every user by username (the JSON twin of ``/admin/users``)."""
    return [User.from_info(u) for u in auth.list_users(store, actor)]


@router.post(
    "/users",
    response_model=User,
    status_code=status.HTTP_201_CREATED,
    tags=["users"],
    summary="Add a user",
    responses=_errors(409, 422),
)
def add_user(body: UserCreate, request: Request, store: StoreDep, actor: ActorDep) -> User:
    """Add a user who can sign in; the addition is audited without the password."""
    info = auth.add_user(
        store, actor, body.username, body.password, body.role,
        display_name=body.display_name, address=client_address(request),
    )  # fmt: skip
    return User.from_info(info)


@router.post(
    "/users/{username}/disable",
    response_model=User,
    tags=["users"],
    summary="Disable a user",
    responses=_errors(404, 409),
)
def disable_user(
    username: Annotated[str, _NAME], request: Request, store: StoreDep, actor: ActorDep
) -> User:
    """Stop a user signing in, end their sessions and stop their tokens (audited)."""
    info = auth.disable_user(store, actor, username, address=client_address(request))
    return User.from_info(info)


# -- tokens -------------------------------------------------------------------------
@router.get("/tokens", response_model=list[Token], tags=["users"], summary="List API tokens")
def list_tokens(
    store: StoreDep,
    actor: ActorDep,
    username: Annotated[str | None, Query(max_length=64, description="Only this user's.")] = None,
) -> list[Token]:
    """Return API tokens by name, never the token itself (the twin of ``/admin/tokens``)."""
    return [Token.from_info(t) for t in auth.list_tokens(store, actor, username=username)]


@router.post(
    "/tokens",
    response_model=TokenCreated,
    status_code=status.HTTP_201_CREATED,
    tags=["users"],
    summary="Create an API token (shown once)",
    responses=_errors(404, 409, 422),
)
def create_token(
    body: TokenCreate, request: Request, store: StoreDep, actor: ActorDep
) -> TokenCreated:
    """Create a token for a user; the answer is the only time the token is shown."""
    new = auth.create_token(
        store, actor, body.name, body.username, role=body.role, address=client_address(request)
    )
    return TokenCreated.from_info(new)


@router.post(
    "/tokens/{name}/revoke",
    response_model=Token,
    tags=["users"],
    summary="Revoke an API token",
    responses=_errors(404),
)
def revoke_token(
    name: Annotated[str, _NAME], request: Request, store: StoreDep, actor: ActorDep
) -> Token:
    """Revoke a token for good; revoking twice changes nothing."""
    return Token.from_info(auth.revoke_token(store, actor, name, address=client_address(request)))


# -- audit ----------------------------------------------------------------------------
def audit_filter(
    *,
    actor: str | None = None,
    action: str | None = None,
    entity: str | None = None,
    entity_id: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> audit.AuditFilter:
    """Build the service's filter from query values (blank means no filter; times UTC).

    Examples
    --------
    >>> audit_filter(actor="ann", action="").action is None
    True

    """

    def blank(value: str | None) -> str | None:
        return value.strip() or None if value is not None else None

    def naive(value: dt.datetime | None, name: str) -> dt.datetime | None:
        # The store keeps naive UTC: an aware time is converted, not compared wrongly.
        if value is None or value.tzinfo is None:
            return value
        try:
            return value.astimezone(dt.UTC).replace(tzinfo=None)
        except OverflowError as exc:
            raise ValueError(
                f"{name}: {value.isoformat()} is outside the years 1 to 9999."
            ) from exc

    return audit.AuditFilter(
        blank(actor),
        blank(action),
        blank(entity),
        blank(entity_id),
        naive(since, "since"),
        naive(until, "until"),
    )


_Text = Annotated[str | None, Query(max_length=200)]
_Since = Annotated[dt.datetime | None, Query(description="Events at or after (ISO 8601, UTC).")]
_Until = Annotated[dt.datetime | None, Query(description="Events before (ISO 8601, UTC).")]


@router.get(
    "/audit", response_model=AuditEventPage, tags=["audit"], summary="Browse the audit trail"
)
def list_audit(
    store: StoreDep,
    actor: ActorDep,
    *,
    who: Annotated[str | None, Query(alias="actor", max_length=200)] = None,
    action: _Text = None,
    entity: _Text = None,
    entity_id: _Text = None,
    since: _Since = None,
    until: _Until = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> AuditEventPage:
    """Return one page of events matching every filter given, newest first (twin of ``/audit``)."""
    wanted = audit_filter(
        actor=who, action=action, entity=entity, entity_id=entity_id, since=since, until=until
    )
    found = audit.list_events(store, actor, wanted, page=page, page_size=page_size)
    return AuditEventPage(
        events=[AuditEvent(**e.to_dict()) for e in found.events],
        page=found.page,
        page_size=found.page_size,
        has_next=found.has_next,
    )


@router.get(
    "/audit/export",
    tags=["audit"],
    summary="Export the audit trail (CSV or JSON lines)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}, "application/x-ndjson": {}}}},
)
def export_audit(
    request: Request,
    store: StoreDep,
    actor: ActorDep,
    *,
    format: Literal["csv", "jsonl"] = "csv",  # the query parameter's name
    who: Annotated[str | None, Query(alias="actor", max_length=200)] = None,
    action: _Text = None,
    entity: _Text = None,
    entity_id: _Text = None,
    since: _Since = None,
    until: _Until = None,
) -> StreamingResponse:
    """Stream every matching event, oldest first, with its hashes (the export is audited).

    Each line carries ``prev_hash`` and ``hash``, so the chain can be checked
    without radassure.
    """
    wanted = audit_filter(
        actor=who, action=action, entity=entity, entity_id=entity_id, since=since, until=until
    )
    lines: Iterator[str] = audit.export(
        store, actor, format, filters=wanted, address=client_address(request)
    )
    name = f"radassure-audit-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}.{format}"
    return StreamingResponse(
        lines,
        media_type=_MEDIA[format],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get(
    "/audit/verify", response_model=AuditVerify, tags=["audit"], summary="Verify the hash chain"
)
def verify_audit(store: StoreDep, actor: ActorDep) -> AuditVerify:
    """Recompute the whole chain and name the first event where it breaks, if any."""
    return AuditVerify(**audit.verify(store).to_dict())
