"""Validation runs: a tool version's local performance, saved with its evidence.

:func:`run_validation` reads the version's results that have a reference
standard (matched on study and finding) within an optional site, date window
and finding, computes the task's metrics with :mod:`radassure.core`, checks the
manufacturer's stored claims, saves a :class:`~radassure.db.models.Run` with the
parameters, a fingerprint of the data used and every number, and renders the
self-contained HTML report kept with it.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from radassure.db import AIResult, AITool, Site, Study, ToolVersion, session_scope
from radassure.errors import NotFoundError
from radassure.reports.validation import render_validation_report
from radassure.services._access import Actor, require
from radassure.services._equity_analysis import equity_section
from radassure.services._validation_classify import binary_analysis
from radassure.services._validation_common import ClaimRow, methods_used
from radassure.services._validation_data import (
    Scope,
    ValidationRows,
    cohort_summary,
    load_rows,
    window_counts,
)
from radassure.services._validation_tasks import detection_analysis, segmentation_analysis
from radassure.services.runs import RunInfo, save_run
from radassure.services.store import Store

__all__ = ["run_validation"]


#: Narrowest CI half-width the sample-size statements are worked out for.
MIN_HALF_WIDTH = 0.001


def _check_parameters(
    *,
    margin: float,
    level: float,
    half_width: float,
    max_distance: float,
    date_from: dt.date | None,
    date_to: dt.date | None,
) -> None:
    if not (isinstance(margin, int | float) and math.isfinite(margin) and margin >= 0):
        raise ValueError(f"margin must be zero or a positive number (got {margin!r}), e.g. 0.05.")
    if not (isinstance(level, int | float) and 0 < level < 1):
        raise ValueError(f"level must lie strictly between 0 and 1 (got {level!r}).")
    # Below 0.001 the sample sizes run to billions of cases (and the search for
    # them overflows): no department could collect them, so refuse plainly.
    if not (isinstance(half_width, int | float) and MIN_HALF_WIDTH <= half_width < 1):
        raise ValueError(
            f"half_width must be from {MIN_HALF_WIDTH} to below 1 (got {half_width!r}), e.g. 0.05."
        )
    if not (isinstance(max_distance, int | float) and 0 < max_distance < math.inf):
        raise ValueError(f"max_distance must be a positive distance (got {max_distance!r}).")
    if date_from is not None and date_to is not None and date_from > date_to:
        raise ValueError(f"The window starts ({date_from}) after it ends ({date_to}); swap them.")


def _lookup(s: Session, tool: str, version: str) -> tuple[AITool, ToolVersion]:
    row = s.scalar(select(AITool).where(AITool.name == tool))
    if row is None:
        known = ", ".join(s.scalars(select(AITool.name).order_by(AITool.name))) or "none yet"
        raise NotFoundError(f"No tool named {tool!r} is registered (registered: {known}).")
    tv = next((v for v in row.versions if v.version == version), None)
    if tv is None:
        known = ", ".join(v.version for v in row.versions) or "none yet"
        raise NotFoundError(
            f"Tool {tool!r} has no version {version!r} (its versions: {known}). Register it "
            "with `radassure version add`."
        )
    return row, tv


def _check_scope(s: Session, tv: ToolVersion, scope: Scope, label: str) -> None:
    if scope.site is not None and s.scalar(select(Site.id).where(Site.code == scope.site)) is None:
        known = ", ".join(s.scalars(select(Site.code).order_by(Site.code))) or "none yet"
        raise NotFoundError(f"No site with code {scope.site!r} is registered (sites: {known}).")
    findings = list(
        s.scalars(select(AIResult.finding).where(AIResult.version_id == tv.id).distinct())
    )
    if not findings:
        raise NotFoundError(f"{label} has no AI results yet; ingest them first (radassure ingest).")
    if scope.finding is not None and scope.finding not in findings:
        raise NotFoundError(
            f"{label} has no results for finding {scope.finding!r}; its findings are "
            f"{', '.join(sorted(findings))}."
        )


def _no_results(s: Session, tv: ToolVersion, scope: Scope, label: str) -> NotFoundError:
    first, last = s.execute(
        select(func.min(Study.acquired_at), func.max(Study.acquired_at))
        .join(AIResult, AIResult.study_id == Study.id)
        .where(AIResult.version_id == tv.id)
    ).one()
    return NotFoundError(
        f"{label} has no results{scope.suffix()}. Its results were acquired from "
        f"{first:%Y-%m-%d} to {last:%Y-%m-%d}; widen the window (--from/--to) or check --site."
    )


def _analyse(
    rows: ValidationRows, task: str, tv: ToolVersion, claims: list[ClaimRow], **opts: Any
) -> dict[str, dict[str, Any]]:
    out = {}
    for f in sorted(set(rows.finding.tolist())):
        sel = rows.finding == f
        idx = np.flatnonzero(sel)
        label, score, call = rows.label[sel], rows.score[sel], rows.call[sel]
        common = {
            "claims": claims,
            "margin": opts["margin"],
            "level": opts["level"],
            "half_width": opts["half_width"],
        }
        if task == "segmentation":
            locs = [rows.result_loc[i] for i in idx]
            out[f] = segmentation_analysis(f, label, score, locs, **common)
        elif task == "detection":
            out[f] = detection_analysis(
                f,
                label,
                score,
                call,
                result_loc=[rows.result_loc[i] for i in idx],
                reference_loc=[rows.reference_loc[i] for i in idx],
                threshold=tv.operating_threshold,
                max_distance=opts["max_distance"],
                **common,
            )
        else:
            out[f] = binary_analysis(
                f, label, score, call, threshold=tv.operating_threshold, calibration=True, **common
            )
    return out


def _require_both_classes(findings: dict[str, dict[str, Any]], label: str, scope: Scope) -> None:
    """Refuse a run where no finding has both positive and negative reference cases."""
    if any(r["counts"]["positives"] and r["counts"]["negatives"] for r in findings.values()):
        return
    f, r = next(iter(findings.items()))
    kind = "positive" if not r["counts"]["positives"] else "negative"
    raise NotFoundError(
        f"The reference standard has no {kind} cases of {f!r} among the {r['counts']['used']:,} "
        f"referenced results of {label}{scope.suffix()}, so sensitivity, specificity, the "
        "AUC and the claims cannot be estimated. Widen the window (--from/--to), drop --site, "
        "or ingest more reference standards."
    )


def _headline(task: str, findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for r in findings:
        claims = [{"metric": c["metric"], "outcome": c["outcome"]} for c in r["claims"]]
        if task == "segmentation":
            main = next(iter(r["summaries"]), None)
            est = r["summaries"][main]["mean"] if main else None
            rows.append(
                {
                    "finding": r["finding"],
                    "metric": f"mean {main}",
                    "estimate": est,
                    "claims": claims,
                }
            )
            continue
        rows.append(
            {
                "finding": r["finding"],
                "sensitivity": r["metrics"]["sensitivity"],
                "specificity": r["metrics"]["specificity"],
                "auc": r["auc"],
                "positives": r["counts"]["positives"],
                "claims": claims,
            }
        )
    return rows


def run_validation(
    store: Store,
    tool: str,
    version: str,
    *,
    site: str | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    finding: str | None = None,
    margin: float = 0.05,
    level: float = 0.95,
    half_width: float = 0.05,
    max_distance: float = 50.0,
    actor: Actor,
    address: str | None = None,
) -> RunInfo:
    """Validate a tool version on the store's data and save the run with its report.

    Parameters
    ----------
    store : Store
        The open installation.
    tool, version : str
        The registered tool and version.
    site : str, optional
        Only studies from this site (code).
    date_from, date_to : datetime.date, optional
        Only studies acquired on or after ``date_from`` and on or before
        ``date_to`` (whole days, UTC).
    finding : str, optional
        Only this finding (structure, for segmentation tools).
    margin : float, default 0.05
        Accepted shortfall from each claim, in the metric's units.
    level : float, default 0.95
        Confidence level of every interval.
    half_width : float, default 0.05
        Wanted CI half-width for the sample-adequacy statements.
    max_distance : float, default 50
        Detection tools: how far (coordinate units) a mark may lie from a true site.
    actor : Actor
        Who runs it: needs ``runs.write``; named in the run and the audit trail.
    address : str, optional
        Client address or channel, for the audit trail.

    Returns
    -------
    RunInfo
        The saved run with its results and report.

    Raises
    ------
    NotFoundError
        Unknown tool, version, site or finding; no results in the scope; none
        with a reference standard; or no positive (or negative) cases.
    ValueError
        A parameter out of range.

    Examples
    --------
    >>> # see tests/integration/test_validation.py for full runs

    """
    require(actor, "runs.write")  # refuse before any work
    _check_parameters(
        margin=margin,
        level=level,
        half_width=half_width,
        max_distance=max_distance,
        date_from=date_from,
        date_to=date_to,
    )
    with session_scope(store.engine) as s:
        tool_row, tv = _lookup(s, tool, version)
        label = f"{tool} {version}"
        scope = Scope(tv.id, site, date_from, date_to, finding)
        _check_scope(s, tv, scope, label)
        counts = window_counts(s, scope)
        if not counts:
            raise _no_results(s, tv, scope, label)
        if not any(k for _, k in counts.values()):
            n = sum(n for n, _ in counts.values())
            raise NotFoundError(
                f"None of the {n:,} results of {label}{scope.suffix()} has a reference "
                "standard yet. Ingest reference standards (radassure ingest references FILE) "
                "and run the validation again."
            )
        task = tool_row.task
        rows = load_rows(s, scope, localisations=task != "classification")
        claims = [
            ClaimRow(c.metric, c.finding, c.value, c.ci_low, c.ci_high, c.level, c.source_document)
            for c in tv.claims
        ]
        tool_id, version_id = tool_row.id, tv.id
        tool_fields = {
            k: getattr(tool_row, k)
            for k in (
                "name",
                "manufacturer",
                "product",
                "task",
                "modality",
                "body_part",
                "intended_use",
                "clinical_pathway",
                "regulatory_marking",
                "device_class",
                "clinical_owner",
                "status",
            )
        }
        version_fields = {
            "version": tv.version,
            "operating_threshold": tv.operating_threshold,
            "deployment_date": tv.deployment_date.isoformat() if tv.deployment_date else None,
            "score_min": tv.score_min,
            "score_max": tv.score_max,
        }
    opts = {
        "margin": float(margin),
        "level": float(level),
        "half_width": float(half_width),
        "max_distance": float(max_distance),
    }
    by_finding = _analyse(rows, task, tv, claims, **opts)
    if task != "segmentation":
        _require_both_classes(by_finding, label, scope)
    for f, r in by_finding.items():
        total, referenced = counts[f]
        r["counts"] = {"results": total, "with_reference": referenced, **r["counts"]}
    unreferenced = sum(n - k for n, k in counts.values())
    parameters = {
        "site": site,
        "from": date_from.isoformat() if date_from else None,
        "to": date_to.isoformat() if date_to else None,
        "finding": finding,
        **opts,
    }
    if task != "detection":
        parameters.pop("max_distance")
    findings = list(by_finding.values())
    results: dict[str, Any] = {
        "schema": "radassure.validation/1",
        "tool": tool_fields,
        "version": version_fields,
        "parameters": parameters,
        "scope": scope.describe(),
        "data": {
            "results": sum(n for n, _ in counts.values()),
            "used": len(rows),
            "without_reference": unreferenced,
        },
        "cohort": cohort_summary(rows, positives=task != "segmentation"),
        "findings": findings,
        "headline": _headline(task, findings),
        "methods": methods_used(findings),
        "equity": equity_section(
            rows, task=task, threshold=tv.operating_threshold, level=float(level)
        ),
    }
    fingerprint = rows.fingerprint(with_localisations=task != "classification")
    return save_run(
        store,
        kind="validation",
        tool=tool,
        tool_id=tool_id,
        version=version,
        version_id=version_id,
        parameters=parameters,
        fingerprint=fingerprint,
        n_rows=len(rows),
        results=results,
        actor=actor,
        address=address,
        render=render_validation_report,
    )
