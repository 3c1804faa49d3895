"""Tables for sign-in, roles, the audit trail and human oversight.

Secrets never reach these tables: passwords are stored as argon2 hashes, API
tokens and session cookies as SHA-256 digests of 256-bit random values. The
audit trail is append-only (database triggers, see migration 0003) and
hash-chained, so an edit made by someone who removed the triggers still shows
when the chain is verified.

Times are naive UTC, as everywhere in the store.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from radassure.db.models import Base, utcnow

__all__ = [
    "ACTOR_KINDS",
    "GENESIS_HASH",
    "REVIEW_DECISIONS",
    "REVIEW_REASONS",
    "REVIEW_SOURCES",
    "ROLES",
    "Adjudication",
    "ApiToken",
    "AuditEvent",
    "Review",
    "User",
    "WebSession",
]

#: Roles, from most to least powerful in the department's eyes (not a hierarchy:
#: what each may do is the permission table in ``radassure.services.auth``).
ROLES = ("admin", "clinical_lead", "reporter", "auditor", "viewer")
ACTOR_KINDS = ("user", "token", "system")
REVIEW_DECISIONS = ("agree", "disagree")
REVIEW_REASONS = ("ai_false_positive", "ai_false_negative", "other")
#: "app": captured in radassure; "import": bulk-loaded from a reporting system.
REVIEW_SOURCES = ("app", "import")
#: prev_hash of the first audit event.
GENESIS_HASH = "0" * 64


def _in(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"


class User(Base):
    """A person who signs in to the web app (table ``app_user``: ``user`` is reserved)."""

    __tablename__ = "app_user"
    __table_args__ = (CheckConstraint(_in("role", ROLES), name="role"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    # Consecutive failed sign-ins since the last success; drives the back-off.
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime)


class ApiToken(Base):
    """A bearer token for scripts and the JSON API; only its SHA-256 is stored."""

    __tablename__ = "api_token"
    __table_args__ = (CheckConstraint(_in("role", ROLES), name="role"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class WebSession(Base):
    """A signed-in browser; ``id`` is the SHA-256 of the cookie value, never the value."""

    __tablename__ = "web_session"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime)
    csrf_hash: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str | None] = mapped_column(String(64))


class AuditEvent(Base):
    """One change, sign-in or export: append-only and hash-chained.

    ``hash`` is the SHA-256 of the canonical JSON of every other field
    (``prev_hash`` included), so editing, inserting or deleting a row breaks
    the chain from that row on.
    """

    __tablename__ = "audit_event"
    __table_args__ = (
        CheckConstraint(_in("actor_kind", ACTOR_KINDS), name="actor_kind"),
        # An entity's history (a review, a user) is read by the pages.
        Index("ix_audit_event_entity", "entity", "entity_id"),
    )
    # Assigned by the writer under the chain lock (it is part of the hash).
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    actor: Mapped[str] = mapped_column(String(200), index=True)
    actor_kind: Mapped[str] = mapped_column(String(8))
    address: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    before: Mapped[Any | None] = mapped_column(JSON(none_as_null=True))
    after: Mapped[Any | None] = mapped_column(JSON(none_as_null=True))
    # Unique: two writers that raced past the lock cannot fork the chain.
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class Review(Base):
    """A person's agreement with, or override of, one AI result (human oversight)."""

    __tablename__ = "review"
    __table_args__ = (
        # One review per reviewer and result; also the "not yet reviewed by me" probe.
        UniqueConstraint("reviewer_id", "ai_result_id"),
        CheckConstraint(_in("decision", REVIEW_DECISIONS), name="decision"),
        CheckConstraint("reason IS NULL OR " + _in("reason", REVIEW_REASONS), name="reason"),
        CheckConstraint(
            "(decision = 'agree' AND reason IS NULL) OR "
            "(decision = 'disagree' AND reason IS NOT NULL)",
            name="reason_for_disagreement",
        ),
        CheckConstraint("seconds_taken IS NULL OR seconds_taken >= 0", name="seconds"),
        CheckConstraint(_in("source", REVIEW_SOURCES), name="source"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # No cascade: a review is evidence and must outlive edits to results.
    ai_result_id: Mapped[int] = mapped_column(ForeignKey("ai_result.id"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    decision: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str | None] = mapped_column(String(24))
    comment: Mapped[str | None] = mapped_column(Text)
    reporter_final_call: Mapped[bool | None] = mapped_column(Boolean)
    seconds_taken: Mapped[float | None] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(8), default="app")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Adjudication(Base):
    """A clinical lead's ruling on a review (usually a disagreement)."""

    __tablename__ = "adjudication"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("review.id"), unique=True)
    adjudicator_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    outcome_label: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str | None] = mapped_column(Text)
    became_reference: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
