"""Human oversight: review queues, agreement or override, discrepancies, adjudication.

A reporter works through a queue of a tool version's results they have not
reviewed yet and agrees or disagrees with each. Disagreements wait in the
discrepancy queue until a clinical lead (not the reviewer) adjudicates; the
ruling may become the study's reference standard, with source ``consensus``.
Every change is audited with its before and after state.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Select, exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from radassure.db import AIResult, AITool, Reference, Site, Study, ToolVersion, session_scope
from radassure.db.models import utcnow
from radassure.db.security import Adjudication, Review, User
from radassure.errors import ConflictError, NotFoundError
from radassure.services._access import Actor, require
from radassure.services._oversight_types import (
    AdjudicationInfo,
    Discrepancy,
    QueueItem,
    ReviewInfo,
)
from radassure.services._review_import import ReviewImportSummary, ingest_reviews
from radassure.services._review_rules import ReviewFields, review_problems, summarise_localisations
from radassure.services.audit import record
from radassure.services.store import Store

__all__ = [
    "AdjudicationInfo",
    "Discrepancy",
    "QueueItem",
    "ReviewImportSummary",
    "ReviewInfo",
    "adjudicate",
    "discrepancy_queue",
    "ingest_reviews",
    "queue_for_review",
    "record_review",
    "summarise_localisations",
]


def _version_id(s: Session, tool: str, version: str) -> int:
    vid = s.scalar(
        select(ToolVersion.id)
        .join(AITool, AITool.id == ToolVersion.tool_id)
        .where(AITool.name == tool, ToolVersion.version == version)
    )
    if vid is None:
        raise NotFoundError(
            f"Tool {tool!r} has no version {version!r}; see `radassure tool show {tool}`."
        )
    return vid


def _reviewer_id(actor: Actor) -> int:
    if actor.user_id is None:
        raise ValueError(
            "Reviews record a named person: sign in (or use a user's token) to review; "
            "the system account cannot."
        )
    return actor.user_id


def queue_for_review(
    store: Store,
    tool: str,
    version: str,
    reviewer: Actor,
    *,
    limit: int = 50,
    site: str | None = None,
    before_id: int | None = None,
) -> list[QueueItem]:
    """Return up to ``limit`` results of a version not yet reviewed by ``reviewer``.

    Newest first (latest received into the store); pass the last ``result_id``
    as ``before_id`` for the next page. Needs ``review.write``. Each step is an
    index probe (results by id, reviews by reviewer and result), so the queue
    stays quick over millions of results.
    """
    require(reviewer, "review.write")
    if not 1 <= limit <= 500:
        raise ValueError("limit must be 1 to 500.")
    rid = _reviewer_id(reviewer)
    with session_scope(store.engine) as s:
        vid = _version_id(s, tool, version)
        reviewed = exists().where(Review.ai_result_id == AIResult.id, Review.reviewer_id == rid)
        query = (
            select(
                AIResult.id,
                Study.study_key,
                Site.code,
                Study.acquired_at,
                Study.modality,
                AIResult.finding,
                AIResult.score,
                AIResult.call,
                AIResult.localisations,
                AIResult.received_at,
            )
            .join(Study, Study.id == AIResult.study_id)
            .join(Site, Site.id == Study.site_id)
            .where(AIResult.version_id == vid, ~reviewed)
            .order_by(AIResult.id.desc())
            .limit(limit)
        )
        if site is not None:
            query = query.where(Site.code == site)
        if before_id is not None:
            query = query.where(AIResult.id < before_id)
        return [
            QueueItem(
                r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], summarise_localisations(r[8]), r[9]
            )
            for r in s.execute(query)
        ]


def _review_state(r: Review) -> dict[str, Any]:
    return {
        "ai_result_id": r.ai_result_id,
        "reviewer_id": r.reviewer_id,
        "decision": r.decision,
        "reason": r.reason,
        "comment": r.comment,
        "reporter_final_call": r.reporter_final_call,
        "seconds_taken": r.seconds_taken,
        "source": r.source,
    }


def record_review(
    store: Store,
    actor: Actor,
    result_id: int,
    decision: str,
    *,
    reason: str | None = None,
    comment: str | None = None,
    final_call: bool | None = None,
    seconds_taken: float | None = None,
    address: str | None = None,
    now: dt.datetime | None = None,
) -> ReviewInfo:
    """Record the actor's agreement with, or override of, one AI result (audited).

    Needs ``review.write``. ``reason`` is required when disagreeing
    (``ai_false_positive``, ``ai_false_negative`` or ``other`` with a comment)
    and must be None when agreeing; ``final_call`` defaults to the call the
    answer implies. One review per person and result.
    """
    require(actor, "review.write")
    rid = _reviewer_id(actor)
    fields = ReviewFields(decision, reason, comment or None, final_call, seconds_taken)
    with session_scope(store.engine) as s:
        ai_call = s.scalar(select(AIResult.call).where(AIResult.id == result_id))
        if ai_call is None and s.get(AIResult, result_id) is None:
            raise NotFoundError(f"No AI result with id {result_id}.")
        problems, final = review_problems(fields, ai_call)
        if problems:
            raise ValueError(" ".join(f"{name}: {text}" for name, text in problems))
        taken = s.scalar(
            select(Review.id).where(Review.reviewer_id == rid, Review.ai_result_id == result_id)
        )
        if taken is not None:
            raise ConflictError(
                f"You have already reviewed AI result {result_id} (review {taken}); a review "
                "is evidence and is not changed. Ask a clinical lead to adjudicate instead."
            )
        review = Review(
            ai_result_id=result_id,
            reviewer_id=rid,
            decision=decision,
            reason=reason,
            comment=fields.comment,
            reporter_final_call=final,
            seconds_taken=seconds_taken,
            source="app",
            created_at=now or utcnow(),
        )
        s.add(review)
        _flush_once(s, f"AI result {result_id} was reviewed by you just now (a second submit?).")
        record(
            s,
            actor,
            "review.recorded",
            "review",
            review.id,
            after=_review_state(review),
            address=address,
            now=now,
        )
        return ReviewInfo(
            review.id,
            result_id,
            actor.name if actor.kind == "user" else _username(s, rid),
            decision,
            reason,
            fields.comment,
            final,
            seconds_taken,
            "app",
            review.created_at,
        )


def _flush_once(s: Session, message: str) -> None:
    """Flush; a unique key taken by a concurrent request since our check is a conflict."""
    try:
        s.flush()
    except IntegrityError as exc:
        raise ConflictError(message) from exc


def _username(s: Session, user_id: int) -> str:
    return str(s.scalar(select(User.username).where(User.id == user_id)))


def _discrepancies(tool: str | None) -> Select[*tuple[Any, ...]]:
    adjudicated = exists().where(Adjudication.review_id == Review.id)
    query = (
        select(
            Review.id,
            AIResult.id,
            AITool.name,
            ToolVersion.version,
            Study.study_key,
            AIResult.finding,
            AIResult.score,
            AIResult.call,
            User.username,
            Review.reason,
            Review.comment,
            Review.reporter_final_call,
            Review.created_at,
            Reference.label,
            Reference.source,
        )
        .join(AIResult, AIResult.id == Review.ai_result_id)
        .join(ToolVersion, ToolVersion.id == AIResult.version_id)
        .join(AITool, AITool.id == ToolVersion.tool_id)
        .join(Study, Study.id == AIResult.study_id)
        .join(User, User.id == Review.reviewer_id)
        .outerjoin(
            Reference,
            (Reference.study_id == AIResult.study_id) & (Reference.finding == AIResult.finding),
        )
        .where(Review.decision == "disagree", ~adjudicated)
        .order_by(Review.id)
    )
    return query if tool is None else query.where(AITool.name == tool)


def discrepancy_queue(
    store: Store, actor: Actor, tool: str | None = None, *, limit: int = 200
) -> list[Discrepancy]:
    """Return disagreements not yet adjudicated, oldest first (needs ``adjudicate``)."""
    require(actor, "adjudicate")
    with session_scope(store.engine) as s:
        return [Discrepancy(*row) for row in s.execute(_discrepancies(tool).limit(limit))]


def _reference_state(ref: Reference | None) -> dict[str, Any] | None:
    if ref is None:
        return None
    return {
        "study_id": ref.study_id,
        "finding": ref.finding,
        "label": ref.label,
        "source": ref.source,
        "recorded_at": ref.recorded_at,
    }


def _set_reference(
    s: Session, study_id: int, finding: str, label: bool, now: dt.datetime
) -> tuple[Reference, dict[str, Any] | None]:
    ref = s.scalar(
        select(Reference).where(Reference.study_id == study_id, Reference.finding == finding)
    )
    before = _reference_state(ref)
    if ref is None:
        ref = Reference(
            study_id=study_id,
            finding=finding,
            label=label,
            source="consensus",
            localisations=None,
            recorded_at=now,
        )
        s.add(ref)
    else:
        if ref.label != label:
            ref.localisations = None  # marks drawn for the old label no longer apply
        ref.label, ref.source, ref.recorded_at = label, "consensus", now
    s.flush()
    return ref, before


def adjudicate(
    store: Store,
    actor: Actor,
    review_id: int,
    outcome_label: bool,
    *,
    note: str | None = None,
    make_reference: bool = False,
    address: str | None = None,
    now: dt.datetime | None = None,
) -> AdjudicationInfo:
    """Rule on a review; with ``make_reference`` also set the study's reference.

    Needs ``adjudicate``; the adjudicator may not be the reviewer. The
    reference for the result's study and finding is written or replaced with
    ``outcome_label`` and source ``consensus``; both the ruling and the
    reference change are audited (the latter with before and after).
    """
    require(actor, "adjudicate")
    by = _reviewer_id(actor)
    now = now or utcnow()
    with session_scope(store.engine) as s:
        review = s.get(Review, review_id)
        if review is None:
            raise NotFoundError(f"No review with id {review_id}.")
        if review.reviewer_id == by:
            raise ConflictError(
                f"Review {review_id} is your own; another clinical lead must adjudicate it."
            )
        done = s.scalar(select(Adjudication.id).where(Adjudication.review_id == review_id))
        if done is not None:
            raise ConflictError(f"Review {review_id} is already adjudicated ({done}).")
        result = s.get(AIResult, review.ai_result_id)
        assert result is not None  # foreign key
        ruling = Adjudication(
            review_id=review_id,
            adjudicator_id=by,
            outcome_label=bool(outcome_label),
            note=note or None,
            became_reference=bool(make_reference),
            created_at=now,
        )
        s.add(ruling)
        _flush_once(s, f"Review {review_id} was adjudicated just now by someone else.")
        ruled = {
            "review_id": review_id,
            "outcome_label": ruling.outcome_label,
            "note": ruling.note,
            "became_reference": ruling.became_reference,
        }
        record(
            s,
            actor,
            "review.adjudicated",
            "adjudication",
            ruling.id,
            after=ruled,
            address=address,
            now=now,
        )
        before = after = None
        if make_reference:
            ref, before = _set_reference(
                s, result.study_id, result.finding, ruling.outcome_label, now
            )
            after = _reference_state(ref)
            action = "reference.created" if before is None else "reference.updated"
            record(
                s,
                actor,
                action,
                "reference",
                ref.id,
                before=before,
                after={**(after or {}), "adjudication_id": ruling.id},
                address=address,
                now=now,
            )
        return AdjudicationInfo(
            ruling.id,
            review_id,
            actor.name,
            ruling.outcome_label,
            ruling.note,
            ruling.became_reference,
            now,
            before,
            after,
        )
