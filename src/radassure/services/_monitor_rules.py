"""Monitoring rules: add one (freezing its baseline and design) and list them."""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter, defaultdict
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from radassure.db import session_scope
from radassure.db.models import AITool, Run, ToolVersion, utcnow
from radassure.db.monitoring import MonitorRule, MonitorState
from radassure.errors import ConflictError, NotFoundError
from radassure.services._access import Actor, require
from radassure.services._monitor_data import ATTRIBUTES, DayRows, load_days
from radassure.services._monitor_types import RuleInfo
from radassure.services.audit import record
from radassure.services.store import Store

__all__ = ["add_rule", "list_rules", "rule_info"]

_QUANTILES = 101


def _version(s: Session, tool: str, version: str) -> tuple[AITool, ToolVersion]:
    row = s.execute(
        select(AITool, ToolVersion)
        .join(ToolVersion, ToolVersion.tool_id == AITool.id)
        .where(AITool.name == tool, ToolVersion.version == version)
    ).first()
    if row is None:
        raise NotFoundError(
            f"Tool {tool!r} has no version {version!r}; see `radassure tool show {tool}`."
        )
    return row[0], row[1]


def _baseline_from_run(
    s: Session, run_id: int, tool_id: int, version_id: int, finding: str
) -> tuple[dt.date, dt.date, str | None]:
    run = s.get(Run, run_id)
    if run is None:
        raise NotFoundError(f"baseline_run: there is no run {run_id}; see `radassure validate`.")
    if run.kind != "validation" or run.tool_id != tool_id or run.version_id != version_id:
        raise ValueError(
            f"baseline_run: run {run_id} is not a validation run of this tool version; pass "
            "a validation run of the same version, or a baseline date range instead."
        )
    params = run.parameters or {}
    if params.get("finding") not in (None, finding):
        raise ValueError(
            f"baseline_run: run {run_id} validated finding {params['finding']!r}, not "
            f"{finding!r}; pass a run covering this finding."
        )
    start = dt.date.fromisoformat(params["from"]) if params.get("from") else dt.date(1900, 1, 1)
    end = dt.date.fromisoformat(params["to"]) if params.get("to") else run.created_at.date()
    return start, end, params.get("site")


def _summary(days: dict[dt.date, DayRows], start: dt.date, end: dt.date) -> dict[str, Any]:
    """Baseline facts the label-free early warnings compare against."""
    n_days = (end - start).days + 1
    per_site: dict[str, int] = Counter()
    meta: dict[str, Counter[str]] = defaultdict(Counter)
    scores: list[float] = []
    calls = labelled = positives = reviewed = disagreed = 0
    tp = tn = 0
    for rows in days.values():
        for i, row in enumerate(rows.rows):
            per_site[str(row["site"])] += 1
            for field in ("manufacturer", "model", "software_version"):
                meta[field][str(row.get(field) or "not recorded")] += 1
            if rows.score[i] is not None:
                scores.append(float(rows.score[i]))  # type: ignore[arg-type]
            calls += rows.call[i]
            reviewed += rows.reviewed[i]
            disagreed += rows.disagreed[i]
            label = rows.label[i]
            if label is not None:
                labelled += 1
                positives += label
                tp += label and rows.call[i]
                tn += (not label) and (not rows.call[i])
    n = sum(len(r) for r in days.values())
    grid = np.linspace(0, 1, _QUANTILES)
    weekday, dispersion = _volume_pattern(days, start, end)
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "days": n_days,
        "results": n,
        "labelled": labelled,
        "positives": positives,
        "sensitivity": tp / positives if positives else None,
        "specificity": tn / (labelled - positives) if labelled - positives else None,
        "call_rate": calls / n if n else None,
        "discordance": disagreed / reviewed if reviewed else None,
        "reviews": reviewed,
        "per_site_daily": {k: v / n_days for k, v in sorted(per_site.items())},
        "per_site_weekday": weekday,
        "per_site_dispersion": dispersion,
        "metadata": {k: dict(sorted(c.items())) for k, c in sorted(meta.items())},
        "score_quantiles": np.quantile(scores, grid).tolist() if scores else [],
        "score_median": statistics.median(scores) if scores else None,
    }


def _volume_pattern(
    days: dict[dt.date, DayRows], start: dt.date, end: dt.date
) -> tuple[dict[str, list[float]], dict[str, float]]:
    """Mean results per site and weekday, and the day-to-day overdispersion left.

    Imaging volume follows the week (weekends and lists are quieter) and varies more
    than a Poisson count, so a flat Poisson chart alarms every quiet Saturday. The
    dispersion is the variance-to-mean ratio of daily counts around their weekday
    means (at least 1), which the volume chart takes as a negative binomial.
    """
    calendar = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
    counts: dict[str, Counter[dt.date]] = defaultdict(Counter)
    for day, rows in days.items():
        for row in rows.rows:
            counts[str(row["site"])][day] += 1
    weekday: dict[str, list[float]] = {}
    dispersion: dict[str, float] = {}
    for site, by_day in sorted(counts.items()):
        sums, ns = [0.0] * 7, [0] * 7
        for day in calendar:
            sums[day.weekday()] += by_day.get(day, 0)
            ns[day.weekday()] += 1
        means = [sums[w] / ns[w] if ns[w] else 0.0 for w in range(7)]
        weekday[site] = means
        ratios = [
            (by_day.get(day, 0) - means[day.weekday()]) ** 2 / means[day.weekday()]
            for day in calendar
            if means[day.weekday()] > 0
        ]
        dof = max(len(ratios) - 7, 1)
        dispersion[site] = max(1.0, sum(ratios) / dof) if ratios else 1.0
    return weekday, dispersion


def _labelled_arrays(
    days: dict[dt.date, DayRows], attributes: tuple[str, ...]
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], dict[str, np.ndarray[Any, Any]]]:
    parts = [rows.labelled(attributes) for rows in days.values() if rows.n_labelled]
    if not parts:
        return np.zeros(0, dtype=bool), np.zeros(0, dtype=bool), {}
    y_true = np.concatenate([p[0] for p in parts])
    y_pred = np.concatenate([p[1] for p in parts])
    groups = {a: np.concatenate([p[2][a] for p in parts]) for a in attributes}
    return y_true, y_pred, groups


#: Score charts are added when at least this many baseline positives carry a score.
MIN_SCORED_POSITIVES = 30


def _baseline_scores(
    days: dict[dt.date, DayRows], y_true: np.ndarray[Any, Any]
) -> np.ndarray[Any, Any] | None:
    """Baseline scores for the score charts, or None when too few positives have one."""
    parts = [rows.labelled_scores() for rows in days.values() if rows.n_labelled]
    if not parts:
        return None
    scores = np.concatenate(parts)
    scored_pos = scores[y_true & np.isfinite(scores)]
    if scored_pos.size < MIN_SCORED_POSITIVES or np.unique(scored_pos).size < 2:
        return None
    return scores


def _with_scores(outcomes: tuple[str, ...], scored: bool) -> tuple[str, ...]:
    """Score charts watch sensitivity: added with the misses when the baseline has scores."""
    base = tuple(o for o in outcomes if o != "score_drop")
    return (*base, "score_drop") if scored and "misses" in base else base


def add_rule(
    store: Store,
    actor: Actor,
    tool: str,
    version: str,
    finding: str,
    *,
    baseline_start: dt.date | None = None,
    baseline_end: dt.date | None = None,
    baseline_run: int | None = None,
    attributes: tuple[str, ...] | list[str] = ("site", "manufacturer"),
    arl0_cases: float | None = None,
    p1_ratio: float = 2.0,
    min_events: int = 3,
    min_group_positives: int = 30,
    monitor_from: dt.date | None = None,
    label_complete: float = 0.95,
    label_wait_days: int = 28,
    outcomes: tuple[str, ...] | list[str] = ("misses", "false_positives"),
    address: str | None = None,
) -> RuleInfo:
    """Add a monitoring rule for one tool version and finding, freezing its design.

    The baseline (in-control) rates come from a named date range or from the
    scope of a validation run; the chart thresholds are designed once, here,
    from ``arl0_cases`` (in-control average run length in cases), and frozen
    in the rule so later data never moves them. Needs ``monitoring.write``;
    audited as ``monitor_rule.added``.

    Parameters
    ----------
    store : Store
        The open installation.
    actor : Actor
        Who adds it.
    tool, version, finding : str
        What is monitored.
    baseline_start, baseline_end : date, optional
        The baseline period (acquisition days, inclusive); or ``baseline_run``.
    baseline_run : int, optional
        A validation run of this version whose dates (and site) are the baseline.
    attributes : sequence of str
        Subgroup charts, of :data:`~radassure.services._monitor_data.ATTRIBUTES`.
    arl0_cases : float, optional
        In-control average run length of the whole chart family, in cases
        (results). Default: a year at the baseline's volume, ``365 x`` its results
        per calendar day, so about one false alarm a year at that volume (a fixed
        number would mean one a week for a busy tool and one a decade for a quiet
        one). The value chosen is stored in the rule.
    p1_ratio, min_events, min_group_positives
        Design of the surveillance charts (see ``radassure.core.surveillance``).
    monitor_from : date, optional
        First day charted; default the day after the baseline.
    label_complete, label_wait_days
        A day is charted once this share of its results has a reference
        standard, or once it is this many days old.
    outcomes : sequence of str
        Charted outcomes: ``misses`` (sensitivity) and/or ``false_positives``
        (specificity). With ``misses``, ``score_drop`` charts on the scores of
        reference-positive cases are added when at least ``MIN_SCORED_POSITIVES``
        baseline positives have a score. Charting misses only gives them (and
        their score charts) the whole budget.
    address : str, optional
        Client address for the audit trail.

    Examples
    --------
    >>> # see tests/integration/test_monitoring_service.py

    """
    from radassure.core.surveillance import design_surveillance, initial_state

    require(actor, "monitoring.write")
    attrs = tuple(dict.fromkeys(attributes))
    unknown = [a for a in attrs if a not in ATTRIBUTES]
    if unknown:
        raise ValueError(
            f"attributes: {', '.join(unknown)} not known; choose from {', '.join(ATTRIBUTES)}."
        )
    if (baseline_run is None) == (baseline_start is None and baseline_end is None):
        raise ValueError(
            "Give the baseline either as baseline_start and baseline_end (dates) or as "
            "baseline_run (a validation run id), not both and not neither."
        )
    if baseline_run is None and (baseline_start is None or baseline_end is None):
        raise ValueError("baseline_start and baseline_end must both be given (YYYY-MM-DD).")
    if not 0 < label_complete <= 1:
        raise ValueError(f"label_complete must be in (0, 1], not {label_complete}.")
    if label_wait_days < 0:
        raise ValueError(f"label_wait_days must be 0 or more, not {label_wait_days}.")
    now = utcnow()
    with session_scope(store.engine) as s:
        tool_row, version_row = _version(s, tool, version)
        site: str | None = None
        if baseline_run is not None:
            start, end, site = _baseline_from_run(
                s, baseline_run, tool_row.id, version_row.id, finding
            )
        else:
            assert baseline_start is not None and baseline_end is not None
            start, end = baseline_start, baseline_end
        if end < start:
            raise ValueError(f"The baseline ends ({end}) before it starts ({start}).")
        days = load_days(s, version_row.id, finding, start, end, now=now, with_reviews=True)
        if site is not None:
            for rows in days.values():
                keep = [i for i, r in enumerate(rows.rows) if r["site"] == site]
                for name in ("label", "call", "score", "reviewed", "disagreed", "rows"):
                    values = getattr(rows, name)
                    setattr(rows, name, [values[i] for i in keep])
        y_true, y_pred, groups = _labelled_arrays(days, attrs)
        scores = _baseline_scores(days, y_true)
        if arl0_cases is None:
            per_day = sum(len(rows) for rows in days.values()) / ((end - start).days + 1)
            arl0_cases = max(round(365.0 * per_day), 1000.0)
        if not y_true.size:
            raise NotFoundError(
                f"{tool} {version} has no {finding!r} results with a reference standard "
                f"acquired {start} to {end}; choose a baseline period with labelled data."
            )
        design = design_surveillance(
            y_true,
            y_pred,
            groups or None,
            arl0_cases=arl0_cases,
            p1_ratio=p1_ratio,
            min_events=min_events,
            min_group_positives=min_group_positives,
            outcomes=_with_scores(tuple(outcomes), scores is not None),
            scores=scores,
        )
        summary = _summary(days, start, end)
        if site is not None:
            summary["site"] = site
        rule = MonitorRule(
            tool_id=tool_row.id,
            version_id=version_row.id,
            finding=finding,
            attributes=list(attrs),
            arl0_cases=float(arl0_cases),
            p1_ratio=float(p1_ratio),
            min_events=int(min_events),
            min_group_positives=int(min_group_positives),
            baseline_run_id=baseline_run,
            baseline_start=None if baseline_run is not None else start,
            baseline_end=None if baseline_run is not None else end,
            monitor_from=monitor_from or end + dt.timedelta(days=1),
            label_complete=float(label_complete),
            label_wait_days=int(label_wait_days),
            design=design.to_dict(),
            baseline_summary=summary,
            enabled=True,
            created_by=actor.name[:200],
            created_at=now,
        )
        s.add(rule)
        try:
            s.flush()
        except IntegrityError as exc:
            raise ConflictError(
                f"{tool} {version} already has a monitoring rule for {finding!r}; see "
                "`radassure monitor rule list`."
            ) from exc
        s.add(
            MonitorState(
                rule_id=rule.id,
                last_day=None,
                state=initial_state(design).to_dict(),
                early_day=None,
                early_state={},
                updated_at=now,
            )
        )
        info = rule_info(rule, tool_row.name, version_row.version, None, None)
        after = {k: v for k, v in info.to_dict().items() if k not in ("baseline",)}
        record(
            s, actor, "monitor_rule.added", "monitor_rule", rule.id, after=after, address=address
        )
        return info


def rule_info(
    rule: MonitorRule,
    tool: str,
    version: str,
    last_day: dt.date | None,
    early_day: dt.date | None,
) -> RuleInfo:
    """Return the service's view of a rule row."""
    listed = (rule.design or {}).get("charts", [])
    # The design names its charts as dicts with a "key" (or plain keys); either is shown.
    charts = tuple(str(c.get("key") if isinstance(c, dict) else c) for c in listed if c)
    return RuleInfo(
        id=rule.id,
        tool=tool,
        version=version,
        finding=rule.finding,
        attributes=tuple(rule.attributes or ()),
        arl0_cases=rule.arl0_cases,
        p1_ratio=rule.p1_ratio,
        min_events=rule.min_events,
        min_group_positives=rule.min_group_positives,
        baseline_run_id=rule.baseline_run_id,
        baseline_start=rule.baseline_start,
        baseline_end=rule.baseline_end,
        monitor_from=rule.monitor_from,
        label_complete=rule.label_complete,
        label_wait_days=rule.label_wait_days,
        enabled=rule.enabled,
        created_by=rule.created_by,
        created_at=rule.created_at,
        last_day=last_day,
        early_day=early_day,
        charts=charts,
        baseline={k: v for k, v in (rule.baseline_summary or {}).items() if k != "score_quantiles"},
    )


def list_rules(store: Store, actor: Actor, *, tool: str | None = None) -> list[RuleInfo]:
    """Return the monitoring rules (of one tool, or all), oldest first.

    Needs ``monitoring.read``.
    """
    require(actor, "monitoring.read")
    with session_scope(store.engine) as s:
        query = (
            select(MonitorRule, AITool.name, ToolVersion.version, MonitorState)
            .join(AITool, AITool.id == MonitorRule.tool_id)
            .join(ToolVersion, ToolVersion.id == MonitorRule.version_id)
            .outerjoin(MonitorState, MonitorState.rule_id == MonitorRule.id)
            .order_by(MonitorRule.id)
        )
        if tool is not None:
            if s.scalar(select(AITool.id).where(AITool.name == tool)) is None:
                raise NotFoundError(f"No tool named {tool!r}; see `radassure tool list`.")
            query = query.where(AITool.name == tool)
        return [
            rule_info(r, name, ver, st.last_day if st else None, st.early_day if st else None)
            for r, name, ver, st in s.execute(query)
        ]
