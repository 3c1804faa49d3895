"""JSON route for bulk ingestion of studies, AI results and reference standards."""

from __future__ import annotations

from fastapi import APIRouter, Request

from radassure import services
from radassure.api.deps import ActorDep, StoreDep, client_address
from radassure.api.schemas import (
    INGEST_DESCRIPTION,
    ErrorBody,
    IngestRequest,
    IngestResult,
    RecordKind,
)

__all__ = ["router"]

router = APIRouter(prefix="/api")


@router.post(
    "/ingest/{kind}",
    response_model=IngestResult,
    tags=["ingestion"],
    summary="Ingest studies, results or references (all or nothing)",
    description=INGEST_DESCRIPTION,
    responses={
        422: {
            "model": ErrorBody,
            "description": "The batch was rejected and nothing was written; `problems` lists "
            "each with its 0-based `record` index and `column`.",
        }
    },
)
def ingest(
    kind: RecordKind, body: IngestRequest, request: Request, store: StoreDep, actor: ActorDep
) -> IngestResult:
    """Validate and write a batch of records in one transaction."""
    summary = services.ingest_records(
        store, kind, body.records, source="request", on_conflict=body.on_conflict,
        create_sites=body.create_sites, actor=actor, address=client_address(request),
    )  # fmt: skip
    return IngestResult.from_summary(summary)
