"""Saving contour QA runs and reading an earlier run back as an outlier baseline."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from radassure import __version__
from radassure.db import AITool, ToolVersion, session_scope
from radassure.db.models import Run, utcnow
from radassure.errors import NotFoundError
from radassure.reports.contours import render_contour_report
from radassure.services._access import Actor, require
from radassure.services.runs import RunInfo, audit_run, get_run, run_info
from radassure.services.store import Store

if TYPE_CHECKING:
    from radassure.services.contours import ContourComparison

__all__ = ["baseline_from_run", "fingerprint", "save_contour_run"]


def fingerprint(comparisons: Sequence[ContourComparison]) -> str:
    """SHA-256 over the sorted SHA-256 of every input file."""
    hashes = sorted({h for c in comparisons for h in c.input_hashes.values()})
    return hashlib.sha256("\n".join(hashes).encode()).hexdigest()


def baseline_from_run(store: Store, run_id: int) -> dict[str, dict[str, list[float]]]:
    """Per-structure Dice and HD95 values of an earlier contour run, as a baseline."""
    run = get_run(store, run_id)
    if run.kind != "contours":
        raise NotFoundError(f"Run {run_id} is a {run.kind} run, not a contour QA run.")
    stored: dict[str, dict[str, list[float]]] = run.results.get("baseline", {})
    return stored


def save_contour_run(
    store: Store,
    comparisons: Sequence[ContourComparison],
    results: Mapping[str, Any],
    *,
    tool: str,
    version: str,
    actor: Actor,
    address: str | None = None,
) -> RunInfo:
    """Save a contour QA run (kind ``"contours"``) with its report for a registered version.

    Needs ``runs.write``; audited as ``run.created`` in the same transaction.
    """
    require(actor, "runs.write")
    with session_scope(store.engine) as s:
        tool_row = s.scalar(select(AITool).where(AITool.name == tool))
        if tool_row is None:
            raise NotFoundError(f"No tool named {tool!r} is registered; add it first.")
        tv = s.scalar(
            select(ToolVersion).where(
                ToolVersion.tool_id == tool_row.id, ToolVersion.version == version
            )
        )
        if tv is None:
            raise NotFoundError(
                f"Tool {tool!r} has no version {version!r}; register it with "
                "`radassure version add`."
            )
        data = dict(results)
        run = Run(
            kind="contours",
            tool_id=tool_row.id,
            version_id=tv.id,
            parameters=dict(data["parameters"]),
            data_fingerprint=fingerprint(comparisons),
            n_rows=sum(len(c.structures) for c in comparisons),
            results=data,
            created_at=utcnow(),
            created_by=actor.name,
            radassure_version=__version__,
        )
        s.add(run)
        s.flush()
        audit_run(s, actor, run, tool=tool, version=version, address=address)
        meta = {
            "id": run.id,
            "tool": tool,
            "version": version,
            "created_at": run.created_at.isoformat(),
            "created_by": actor.name,
            "data_fingerprint": run.data_fingerprint,
            "radassure_version": __version__,
        }
        run.report_html = render_contour_report({**data, "run": meta})
        return run_info(run, tool, version, full=True)
