"""JSON routes of human oversight: review queue, reviews, bulk import, discrepancies.

``GET /api/oversight/{tool}/{version}/queue`` is the JSON twin of the page
``/oversight/{tool}/{version}``, and ``GET /api/discrepancies`` of
``/discrepancies``. Every change goes through :mod:`radassure.services.oversight`,
which checks the permission again and audits it.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request, status

from radassure.api.deps import ActorDep, StoreDep, client_address
from radassure.api.oversight_schemas import (
    Adjudication,
    AdjudicationCreate,
    DiscrepancyItem,
    Queue,
    QueueEntry,
    Review,
    ReviewCreate,
    ReviewImport,
    ReviewImportResult,
)
from radassure.api.schemas import ErrorBody
from radassure.services import oversight

__all__ = ["router"]

router = APIRouter(prefix="/api", tags=["oversight"])
#: Ids are 32-bit integers in the database; larger ones cannot exist (and would overflow).
MAX_ID = 2**31 - 1


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    text = {
        404: "Unknown tool, version, AI result or review.",
        409: "Already reviewed (a review is evidence and is not changed), already "
        "adjudicated, or adjudicating one's own review.",
        422: "A field is missing or inconsistent (e.g. a disagreement without a reason); "
        "the message names the field and the fix.",
    }
    return {c: {"model": ErrorBody, "description": text[c]} for c in codes}


@router.get(
    "/oversight/{tool:path}/{version}/queue",
    response_model=Queue,
    summary="The next AI results for the signed-in reporter to review",
    responses=_errors(404, 422),
)
def review_queue(
    tool: str,
    version: str,
    store: StoreDep,
    actor: ActorDep,
    *,
    limit: Annotated[int, Query(ge=1, le=500, description="Results per page.")] = 20,
    before_id: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="`next_before_id` of the previous page.")
    ] = None,
    site: Annotated[str | None, Query(max_length=64, description="Only this site code.")] = None,
) -> Queue:
    """Return results of a tool version that the caller has not reviewed, newest first.

    Page on with ``before_id``; each page is an index probe, so the queue stays
    quick over millions of results.
    """
    items = oversight.queue_for_review(
        store, tool, version, actor, limit=limit, site=site, before_id=before_id
    )
    return Queue(
        tool=tool,
        version=version,
        items=[QueueEntry.from_info(i) for i in items],
        next_before_id=items[-1].result_id if len(items) == limit else None,
        page=f"/oversight/{quote(tool, safe='')}/{quote(version, safe='')}",
    )


@router.post(
    "/reviews",
    response_model=Review,
    status_code=status.HTTP_201_CREATED,
    summary="Record one agreement with, or override of, an AI result",
    responses=_errors(404, 409, 422),
)
def record_review(body: ReviewCreate, request: Request, store: StoreDep, actor: ActorDep) -> Review:
    """Record the caller's decision about one AI result (audited, one per person and result).

    A disagreement needs a reason (``ai_false_positive``, ``ai_false_negative``,
    or ``other`` with a comment); the final call defaults to the one the answer
    implies.
    """
    info = oversight.record_review(
        store, actor, body.result_id, body.decision, reason=body.reason, comment=body.comment,
        final_call=body.final_call, seconds_taken=body.seconds_taken,
        address=client_address(request),
    )  # fmt: skip
    return Review.from_info(info)


@router.post(
    "/reviews/bulk",
    response_model=ReviewImportResult,
    summary="Import reviews made in a reporting system (all or nothing)",
    responses={
        422: {
            "model": ErrorBody,
            "description": "The import was rejected and nothing was written; `problems` "
            "names each bad record by its 0-based `record` index and its `column` (field).",
        }
    },
)
def import_reviews(
    body: ReviewImport, request: Request, store: StoreDep, actor: ActorDep
) -> ReviewImportResult:
    """Validate every record, then write them in one transaction; re-sending is a no-op."""
    summary = oversight.ingest_reviews(
        store, actor, body.records, source="request", address=client_address(request)
    )
    return ReviewImportResult(**summary.to_dict())


@router.get(
    "/discrepancies",
    response_model=list[DiscrepancyItem],
    summary="Disagreements waiting for adjudication",
)
def discrepancies(
    store: StoreDep,
    actor: ActorDep,
    tool: Annotated[str | None, Query(max_length=200, description="Only this tool.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[DiscrepancyItem]:
    """Return disagreements not yet adjudicated, oldest first (the twin of ``/discrepancies``)."""
    found = oversight.discrepancy_queue(store, actor, tool, limit=limit)
    return [DiscrepancyItem.from_info(d) for d in found]


@router.post(
    "/discrepancies/{review_id}/adjudicate",
    response_model=Adjudication,
    status_code=status.HTTP_201_CREATED,
    summary="Rule on a disagreement, optionally setting the reference standard",
    responses=_errors(404, 409, 422),
)
def adjudicate(
    review_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    body: AdjudicationCreate,
    request: Request,
    store: StoreDep,
    actor: ActorDep,
) -> Adjudication:
    """Record the ruling; with ``make_reference`` it becomes the study's consensus reference."""
    info = oversight.adjudicate(
        store, actor, review_id, body.outcome_label, note=body.note,
        make_reference=body.make_reference, address=client_address(request),
    )  # fmt: skip
    return Adjudication.from_info(info)
