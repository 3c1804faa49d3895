"""Equity runs: check whether a tool version works worse for some patient groups.

:func:`run_equity` reads the version's results that have a reference standard
(the same query as a validation run), derives patient groups (sex, age band,
census ethnic group, deprivation quintile; optionally site, scanner
manufacturer and model), computes sensitivity, specificity and the AUC per
group at the operating threshold with :func:`radassure.core.disaggregate`,
flags meaningful and significant gaps with
:func:`radassure.core.flag_disparities`, checks how complete the attributes
are by site with :func:`radassure.core.completeness`, and saves a
:class:`~radassure.db.models.Run` of kind ``"equity"`` with its report.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from radassure.db import session_scope
from radassure.errors import NotFoundError
from radassure.reports.equity import render_equity_report
from radassure.services._access import Actor, require
from radassure.services._equity_analysis import (
    ATTRIBUTES,
    DEFAULT_ATTRIBUTES,
    EQUIPMENT_ATTRIBUTES,
    EquityInputError,
    equity_analysis,
    equity_section,
    parse_attributes,
)
from radassure.services._validation_data import Scope, load_rows, window_counts
from radassure.services.runs import RunInfo, save_run
from radassure.services.store import Store
from radassure.services.validation import _check_scope, _lookup, _no_results

__all__ = [
    "ATTRIBUTES",
    "DEFAULT_ATTRIBUTES",
    "EQUIPMENT_ATTRIBUTES",
    "EquityInputError",
    "equity_section",
    "run_equity",
]


def _headline(found: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "attribute": f["attribute"],
            "group": f["group"],
            "metric": f["metric"],
            "estimate": f["estimate"],
            "reference": f["reference"],
            "difference": f["difference"],
            "p_adjusted": f["p_adjusted"],
            "reading": f["reading"],
            "claims": [],  # the tool page counts claim outcomes over every run's headline
        }
        for f in found["flags"]
    ]


def run_equity(
    store: Store,
    tool: str,
    version: str,
    *,
    attributes: Sequence[str] | str | None = None,
    finding: str | None = None,
    site: str | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    margin: float = 0.05,
    correction: str = "holm",
    alpha: float = 0.05,
    level: float = 0.95,
    actor: Actor,
    address: str | None = None,
) -> RunInfo:
    """Check a tool version for worse performance in patient groups; save the run.

    Parameters
    ----------
    store : Store
        The open installation.
    tool, version : str
        The registered tool and version.
    attributes : list of str or comma-separated str, optional
        Of ``sex, age_band, ethnic_group, deprivation, site, manufacturer,
        model``; default the four patient attributes.
    finding : str, optional
        Only this finding; by default every finding's results are pooled.
    site : str, optional
        Only studies from this site (code).
    date_from, date_to : datetime.date, optional
        Only studies acquired in these whole days (UTC).
    margin : float, default 0.05
        Smallest gap that matters clinically (absolute, every metric).
    correction : {"holm", "bh"}, default "holm"
        Multiple-comparison control over every group, attribute and metric.
    alpha : float, default 0.05
        Significance level after the correction.
    level : float, default 0.95
        Confidence level of every interval.
    actor : Actor
        Who runs it: needs ``runs.write``; named in the run and the audit trail.
    address : str, optional
        Client address or channel, for the audit trail.

    Returns
    -------
    RunInfo
        The saved run; ``results["flags"]`` holds objects with at least
        ``attribute``, ``group``, ``metric``, ``estimate``, ``reference``,
        ``difference`` and ``p_adjusted``.

    Raises
    ------
    NotFoundError
        Unknown tool, version, site or finding; no results or no reference
        standard in the scope; no positive or no negative cases.
    EquityInputError
        An unknown attribute (the message lists the known ones), an attribute
        with one group only, a segmentation tool, or a parameter out of range.

    Examples
    --------
    >>> # see tests/integration/test_equity.py for full runs

    """
    require(actor, "runs.write")  # refuse before any work
    names = parse_attributes(attributes)
    if date_from is not None and date_to is not None and date_from > date_to:
        raise EquityInputError(
            f"The window starts ({date_from}) after it ends ({date_to}); swap them."
        )
    with session_scope(store.engine) as s:
        tool_row, tv = _lookup(s, tool, version)
        label = f"{tool} {version}"
        if tool_row.task == "segmentation":
            raise EquityInputError(
                f"{label} is a segmentation tool: its structures have no negative cases, so "
                "sensitivity and specificity cannot be compared between patient groups."
            )
        scope = Scope(tv.id, site, date_from, date_to, finding)
        _check_scope(s, tv, scope, label)
        counts = window_counts(s, scope)
        if not counts:
            raise _no_results(s, tv, scope, label)
        if not any(k for _, k in counts.values()):
            n = sum(n for n, _ in counts.values())
            raise NotFoundError(
                f"None of the {n:,} results of {label}{scope.suffix()} has a reference "
                "standard yet, so no group can be checked. Ingest reference standards "
                "(radassure ingest references FILE) and run the equity check again."
            )
        rows = load_rows(s, scope, localisations=False)
        threshold = tv.operating_threshold
        tool_id, version_id = tool_row.id, tv.id
        tool_fields = {k: getattr(tool_row, k) for k in ("name", "manufacturer", "task")}
        version_fields = {"version": tv.version, "operating_threshold": threshold}
    found = equity_analysis(
        rows,
        threshold=threshold,
        attributes=names,
        margin=margin,
        correction=correction,
        alpha=alpha,
        level=level,
    )
    fingerprint = found.pop("fingerprint")
    parameters = {
        "site": site,
        "from": date_from.isoformat() if date_from else None,
        "to": date_to.isoformat() if date_to else None,
        "finding": finding,
        "attributes": list(names),
        "margin": float(margin),
        "correction": correction,
        "alpha": float(alpha),
        "level": float(level),
    }
    results: dict[str, Any] = {
        "schema": "radassure.equity/1",
        "tool": tool_fields,
        "version": version_fields,
        "parameters": parameters,
        "scope": scope.describe(),
        "findings": sorted(counts),
        "data": {
            "results": sum(n for n, _ in counts.values()),
            "used": len(rows),
            "without_reference": sum(n - k for n, k in counts.values()),
        },
        **found,
        "headline": _headline(found),
    }
    return save_run(
        store,
        kind="equity",
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
        render=render_equity_report,
    )
