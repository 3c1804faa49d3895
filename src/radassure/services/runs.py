"""Saved analysis runs: read one, list a tool's latest.

A run (see :class:`~radassure.db.models.Run`) keeps what an analysis used and
found: its parameters, a fingerprint of the data rows, every number (JSON,
NaN as null), who ran it with which radassure, and the HTML report. Runs are
written by the analyses (:mod:`radassure.services.validation`) and never
changed afterwards.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, defer

from radassure import __version__
from radassure.db import AITool, ToolVersion, session_scope
from radassure.db.models import Run, utcnow
from radassure.errors import NotFoundError
from radassure.services._access import Actor, require
from radassure.services.audit import record
from radassure.services.store import Store

__all__ = ["MAX_ID", "RunInfo", "audit_run", "get_run", "list_runs", "run_info", "save_run"]


@dataclass(frozen=True)
class RunInfo:
    """A saved analysis run (``results`` is empty in listings)."""

    id: int
    kind: str
    tool: str
    version: str | None
    parameters: dict[str, Any]
    data_fingerprint: str
    n_rows: int
    created_at: dt.datetime
    created_by: str | None
    radassure_version: str
    results: dict[str, Any] = field(default_factory=dict)
    headline: list[dict[str, Any]] = field(default_factory=list)
    report_html: str | None = None

    def to_dict(self, *, report: bool = False) -> dict[str, Any]:
        """Return a JSON-ready dict; the report HTML only when ``report`` is true."""
        out = {
            "id": self.id,
            "kind": self.kind,
            "tool": self.tool,
            "version": self.version,
            "parameters": self.parameters,
            "data_fingerprint": self.data_fingerprint,
            "n_rows": self.n_rows,
            "created_at": self.created_at.isoformat(),
            "created_by": self.created_by,
            "radassure_version": self.radassure_version,
            "headline": self.headline,
            "results": self.results,
        }
        if report:
            out["report_html"] = self.report_html
        return out


def run_info(run: Run, tool: str, version: str | None, *, full: bool) -> RunInfo:
    """Build a :class:`RunInfo`; ``full`` adds the results and the report."""
    results = run.results if full else {}
    return RunInfo(
        id=run.id,
        kind=run.kind,
        tool=tool,
        version=version,
        parameters=run.parameters,
        data_fingerprint=run.data_fingerprint,
        n_rows=run.n_rows,
        created_at=run.created_at,
        created_by=run.created_by,
        radassure_version=run.radassure_version,
        results=results,
        headline=list(run.results.get("headline", [])),
        report_html=run.report_html if full else None,
    )


#: Largest id the store can hold (INTEGER columns on PostgreSQL are 32-bit).
MAX_ID = 2**31 - 1


def get_run(store: Store, run_id: int) -> RunInfo:
    """Return one saved run with its results and report."""
    if not 1 <= run_id <= MAX_ID:
        # An id no row can have would make the driver overflow (a 500), not miss.
        raise NotFoundError(f"There is no run {run_id}; run ids are whole numbers from 1.")
    with session_scope(store.engine) as s:
        found = s.execute(
            select(Run, AITool.name, ToolVersion.version)
            .join(AITool, AITool.id == Run.tool_id)
            .outerjoin(ToolVersion, ToolVersion.id == Run.version_id)
            .where(Run.id == run_id)
        ).one_or_none()
        if found is None:
            raise NotFoundError(f"There is no run {run_id}; the tool pages list the saved runs.")
        run, tool, version = found
        return run_info(run, tool, version, full=True)


def list_runs(store: Store, tool: str, *, limit: int = 20) -> list[RunInfo]:
    """Return a tool's latest runs, newest first, without their results and reports."""
    if not (isinstance(limit, int) and 1 <= limit <= 1000):
        raise ValueError(f"limit must be a whole number from 1 to 1000 (got {limit!r}).")
    with session_scope(store.engine) as s:
        tool_id = s.scalar(select(AITool.id).where(AITool.name == tool))
        if tool_id is None:
            raise NotFoundError(f"No tool named {tool!r} is registered.")
        found = s.execute(
            select(Run, ToolVersion.version)
            .options(defer(Run.report_html))
            .outerjoin(ToolVersion, ToolVersion.id == Run.version_id)
            .where(Run.tool_id == tool_id)
            .order_by(Run.created_at.desc(), Run.id.desc())
            .limit(limit)
        ).all()
        return [run_info(run, tool, version, full=False) for run, version in found]


def audit_run(
    s: Session, actor: Actor, run: Run, *, tool: str, version: str | None, address: str | None
) -> int:
    """Write the ``run.created`` audit event of a new run in its transaction.

    The event keeps what identifies the analysis (kind, tool, version,
    parameters, data fingerprint, rows), not its results: the run row is never
    changed afterwards, and the fingerprint ties the two together.
    """
    after = {
        "kind": run.kind,
        "tool": tool,
        "version": version,
        "parameters": run.parameters,
        "data_fingerprint": run.data_fingerprint,
        "n_rows": run.n_rows,
    }
    return record(s, actor, "run.created", "run", run.id, after=after, address=address,
                  now=run.created_at)  # fmt: skip


def save_run(
    store: Store,
    *,
    kind: str,
    tool: str,
    tool_id: int,
    version: str | None,
    version_id: int | None,
    parameters: dict[str, Any],
    fingerprint: str,
    n_rows: int,
    results: dict[str, Any],
    actor: Actor,
    render: Callable[[dict[str, Any]], str],
    address: str | None = None,
) -> RunInfo:
    """Store an analysis as a Run, with its report rendered from the saved record.

    Needs ``runs.write``. The report shows the run's own id, time and
    fingerprint, so it is rendered after the row exists, in the same
    transaction as the row and its audit event (``run.created``).
    """
    require(actor, "runs.write")
    with session_scope(store.engine) as s:
        run = Run(
            kind=kind,
            tool_id=tool_id,
            version_id=version_id,
            parameters=parameters,
            data_fingerprint=fingerprint,
            n_rows=n_rows,
            results=results,
            created_at=utcnow(),
            created_by=actor.name,
            radassure_version=__version__,
        )
        s.add(run)
        s.flush()
        audit_run(s, actor, run, tool=tool, version=version, address=address)
        meta = {
            "id": run.id,
            "created_at": run.created_at.isoformat(),
            "created_by": actor.name,
            "data_fingerprint": fingerprint,
            "radassure_version": __version__,
        }
        run.report_html = render({**results, "run": meta})
        return run_info(run, tool, version, full=True)
