"""Pydantic models of the oversight, user, token and audit routes.

Built from the services' frozen dataclasses (``QueueItem``, ``ReviewInfo``,
``Discrepancy``, ``AdjudicationInfo``, ``UserInfo``, ``TokenInfo``,
``AuditEntry``, ``VerifyReport``), never from ORM rows. The shared error shape
is :class:`~radassure.api.schemas.ErrorBody`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from radassure.services.auth import NewToken, TokenInfo, UserInfo
from radassure.services.oversight import AdjudicationInfo, Discrepancy, QueueItem, ReviewInfo

__all__ = [
    "Adjudication",
    "AdjudicationCreate",
    "AuditEvent",
    "AuditEventPage",
    "AuditVerify",
    "DiscrepancyItem",
    "Queue",
    "QueueEntry",
    "Reason",
    "Review",
    "ReviewCreate",
    "ReviewImport",
    "ReviewImportResult",
    "Role",
    "Token",
    "TokenCreate",
    "TokenCreated",
    "User",
    "UserCreate",
]

# Kept equal to the database's tuples by tests/integration/test_oversight_pages.py.
Role = Literal["admin", "clinical_lead", "reporter", "auditor", "viewer"]
Decision = Literal["agree", "disagree"]
Reason = Literal["ai_false_positive", "ai_false_negative", "other"]


# -- oversight ------------------------------------------------------------------
class QueueEntry(BaseModel):
    """An AI result waiting for the signed-in reporter (study by pseudonymised key only)."""

    result_id: int
    study_key: str = Field(description="The pseudonymised study key (never the accession).")
    site: str
    acquired_at: dt.datetime
    modality: str
    finding: str
    score: float | None
    call: bool | None = Field(description="The AI's call at the operating threshold.")
    findings_summary: str = Field(description="The AI's localisations in one line.")
    received_at: dt.datetime

    @classmethod
    def from_info(cls, item: QueueItem) -> QueueEntry:
        """Build from the service's result."""
        return cls(**item.__dict__)


class Queue(BaseModel):
    """One page of the review queue, newest result first."""

    tool: str
    version: str
    items: list[QueueEntry]
    next_before_id: int | None = Field(
        description="Pass as `before_id` for the next page; null when this page is the last."
    )
    page: str = Field(description="The oversight page for this tool version.")


class ReviewCreate(BaseModel):
    """One reviewer's decision about one AI result."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"result_id": 12, "decision": "agree", "seconds_taken": 7.5},
                {
                    "result_id": 13,
                    "decision": "disagree",
                    "reason": "ai_false_positive",
                    "comment": "Skin fold, not a pneumothorax.",
                },
            ]
        },
    )
    result_id: int = Field(ge=1, le=2**31 - 1, description="The AI result reviewed.")
    decision: Decision
    reason: Reason | None = Field(None, description="Required when disagreeing, else absent.")
    comment: str | None = Field(None, max_length=4000, description="Required for reason other.")
    final_call: bool | None = Field(
        None, description="The reviewer's own call; default the one the answer implies."
    )
    seconds_taken: float | None = Field(
        None, ge=0, le=86_400, description="Reading time, from showing the result to deciding."
    )


class Review(BaseModel):
    """A recorded review."""

    id: int
    result_id: int
    reviewer: str
    decision: Decision
    reason: Reason | None
    comment: str | None
    reporter_final_call: bool | None
    seconds_taken: float | None
    source: str = Field(description="app (recorded here) or import (from a reporting system).")
    created_at: dt.datetime

    @classmethod
    def from_info(cls, info: ReviewInfo) -> Review:
        """Build from the service's result."""
        return cls(**info.__dict__)


class ReviewImport(BaseModel):
    """Reviews made in a reporting system, imported all or nothing."""

    model_config = ConfigDict(extra="forbid")
    records: list[dict[str, Any]] = Field(
        description="Each with result_id, reviewer (username), decision and optionally "
        "reason, comment, final_call, seconds_taken, reviewed_at (ISO 8601).",
        max_length=100_000,
    )


class ReviewImportResult(BaseModel):
    """What an accepted import did (re-sending the same records changes nothing)."""

    source: str
    sha256: str = Field(description="SHA-256 of the records as sent.")
    rows: int
    inserted: int
    unchanged: int


class DiscrepancyItem(BaseModel):
    """A disagreement waiting for a clinical lead's ruling."""

    review_id: int
    result_id: int
    tool: str
    version: str
    study_key: str
    finding: str
    score: float | None
    ai_call: bool | None
    reviewer: str
    reason: Reason | None
    comment: str | None
    reporter_final_call: bool | None
    reviewed_at: dt.datetime
    reference_label: bool | None = Field(description="The study's reference now, if any.")
    reference_source: str | None

    @classmethod
    def from_info(cls, info: Discrepancy) -> DiscrepancyItem:
        """Build from the service's result."""
        return cls(**info.__dict__)


class AdjudicationCreate(BaseModel):
    """A clinical lead's ruling on a disagreement."""

    model_config = ConfigDict(extra="forbid")
    outcome_label: bool = Field(description="Whether the finding is truly present.")
    note: str | None = Field(None, max_length=4000)
    make_reference: bool = Field(
        False, description="Also make the ruling the study's reference standard (consensus)."
    )


class Adjudication(BaseModel):
    """A ruling, with the study's reference before and after (null when untouched)."""

    id: int
    review_id: int
    adjudicator: str
    outcome_label: bool
    note: str | None
    became_reference: bool
    created_at: dt.datetime
    reference_before: dict[str, Any] | None
    reference_after: dict[str, Any] | None

    @classmethod
    def from_info(cls, info: AdjudicationInfo) -> Adjudication:
        """Build from the service's result."""
        return cls(**info.to_dict())


# -- users and tokens -------------------------------------------------------------
class User(BaseModel):
    """A user (never the password or its hash)."""

    username: str
    display_name: str
    role: Role
    active: bool
    created_at: dt.datetime
    failed_attempts: int
    locked_until: dt.datetime | None

    @classmethod
    def from_info(cls, info: UserInfo) -> User:
        """Build from the service's result."""
        return cls(**info.__dict__)


class UserCreate(BaseModel):
    """A user to add; the password is hashed with argon2id and never stored or logged."""

    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=2, max_length=64, description="a-z 0-9 . _ @ -")
    password: str = Field(min_length=1, max_length=1024, description="At least 12 characters.")
    role: Role
    display_name: str | None = Field(None, max_length=200)


class Token(BaseModel):
    """An API token as listed (never the token or its hash)."""

    name: str
    username: str
    role: Role
    prefix: str = Field(description="The token's first characters, to recognise it.")
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None
    active: bool

    @classmethod
    def from_info(cls, info: TokenInfo) -> Token:
        """Build from the service's result."""
        return cls(**info.__dict__, active=info.active)


class TokenCreate(BaseModel):
    """An API token to create for a user."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100, description="e.g. pacs-bridge")
    username: str = Field(min_length=1, max_length=64)
    role: Role | None = Field(None, description="Default the user's role; never wider.")


class TokenCreated(BaseModel):
    """A token just created: ``token`` is shown this once and cannot be recovered."""

    name: str
    username: str
    role: Role
    prefix: str
    token: str = Field(description="Send as `Authorization: Bearer <token>`.")

    @classmethod
    def from_info(cls, info: NewToken) -> TokenCreated:
        """Build from the service's result."""
        fields = {"name": info.name, "username": info.username, "role": info.role,
                  "prefix": info.prefix, "token": info.token}  # fmt: skip
        return cls.model_validate(fields)


# -- audit --------------------------------------------------------------------------
class AuditEvent(BaseModel):
    """One event of the hash-chained audit trail."""

    id: int
    at: dt.datetime
    actor: str
    actor_kind: str
    address: str | None
    action: str
    entity: str
    entity_id: str | None
    before: Any
    after: Any
    prev_hash: str
    hash: str


class AuditEventPage(BaseModel):
    """One page of audit events, newest first."""

    events: list[AuditEvent]
    page: int
    page_size: int
    has_next: bool


class AuditVerify(BaseModel):
    """The outcome of recomputing the whole chain."""

    ok: bool
    checked: int
    last_id: int | None
    last_hash: str | None = Field(description="Record it outside radassure now and then.")
    message: str
    broken_id: int | None = Field(None, description="The first event where the chain breaks.")
    problem: Literal["hash", "prev_hash"] | None = None
