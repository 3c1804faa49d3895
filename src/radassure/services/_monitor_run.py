"""Charting one rule, day by day, each day in one transaction.

For each acquisition day after the rule's high-water mark whose labels are in
(enough of its results have a reference standard, or it is old enough), one
transaction locks the rule's state row, updates the surveillance state,
writes the day's chart points and any alerts (with their pending deliveries)
and moves the high-water mark. Killed at any point, a run leaves either the
whole day or none of it; the next run starts at the first day not committed.
The unique keys on ``chart_point`` and ``alert`` make a second writer that
raced past the lock fail rather than duplicate.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from radassure.db import session_scope
from radassure.db.models import AIResult, Study, utcnow
from radassure.db.monitoring import Alert, AlertDelivery, ChartPointRow, MonitorRule, MonitorState
from radassure.services._access import Actor, system_actor
from radassure.services._monitor_data import DayRows, load_days
from radassure.services.audit import record
from radassure.services.store import Store

__all__ = ["ChartRun", "RuleContext", "add_alert", "chart_rule", "lock_state", "set_day_hook"]

#: Called inside each day's transaction just before it commits (``"label"`` or
#: ``"early"``, rule id, day), and after it commits (``"label-committed"`` ...).
#: Only tests set it: to kill the process at a chosen point and check restart safety.
_day_hook: Callable[[str, int, dt.date], None] | None = None

_OUTCOMES = {
    "miss": "misses among reference-positive cases (sensitivity)",
    "misses": "misses among reference-positive cases (sensitivity)",
    "false_negative": "misses among reference-positive cases (sensitivity)",
    "false_positive": "false positives among reference-negative cases (specificity)",
    "false_positives": "false positives among reference-negative cases (specificity)",
}

#: What rose (or fell) when a chart of that outcome alarms.
_CHANGES = {
    "score_drop": "scores of reference-positive cases fell below the baseline's for {who} "
    "(sensitivity at risk: positives score closer to the operating threshold or below it)",
}


def set_day_hook(hook: Callable[[str, int, dt.date], None] | None) -> None:
    """Install (or remove, with None) the test hook called around each day's commit."""
    global _day_hook  # noqa: PLW0603 - a process-wide test hook, set only by tests
    _day_hook = hook


def _hook(stage: str, rule_id: int, day: dt.date) -> None:
    if _day_hook is not None:
        _day_hook(stage, rule_id, day)


@dataclass(frozen=True)
class RuleContext:
    """What a run needs to know about a rule, read once."""

    id: int
    tool: str
    version: str
    version_id: int
    finding: str
    attributes: tuple[str, ...]
    monitor_from: dt.date
    label_complete: float
    label_wait_days: int
    design: dict[str, Any]
    baseline: dict[str, Any]
    channels: tuple[str, ...]
    actor: Actor = field(default_factory=lambda: system_actor("monitor"))


@dataclass
class ChartRun:
    """What :func:`chart_rule` did."""

    days: int = 0
    first: dt.date | None = None
    last: dt.date | None = None
    waiting_from: dt.date | None = None
    waiting_reason: str | None = None
    alerts: tuple[int, ...] = ()


def lock_state(s: Session, rule_id: int) -> MonitorState:
    """Lock and return the rule's state row for this transaction.

    The UPDATE takes a row lock on PostgreSQL and the write lock on SQLite
    before the state is read, so two runs of the same rule take turns.
    """
    s.execute(
        update(MonitorState)
        .where(MonitorState.rule_id == rule_id)
        .values(updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    state = s.scalar(
        select(MonitorState)
        .where(MonitorState.rule_id == rule_id)
        .execution_options(populate_existing=True)
    )
    if state is None:  # created with the rule; only a hand-edited database lacks it
        raise RuntimeError(f"Monitoring rule {rule_id} has no state row.")
    return state


def add_alert(s: Session, rule: RuleContext, **fields: Any) -> Alert:
    """Add an alert, one pending delivery per configured channel, and its audit event."""
    alert = Alert(rule_id=rule.id, state="open", created_at=utcnow(), **fields)
    s.add(alert)
    s.flush()
    for channel in rule.channels:
        s.add(AlertDelivery(alert_id=alert.id, channel=channel, status="pending", attempts=0))
    raised = {k: fields.get(k) for k in ("key", "kind", "attribute", "subgroup", "day",
                                          "statistic", "threshold", "change_day")}  # fmt: skip
    record(s, rule.actor, "alert.raised", "alert", alert.id, after={**raised, "state": "open"})
    return alert


def _describe(rule: RuleContext, alarm: Any, day: dt.date, change: dt.date | None) -> str:
    what = _OUTCOMES.get(str(alarm.outcome), str(alarm.outcome))
    who = (
        f"{alarm.attribute} {alarm.group}"
        if getattr(alarm, "attribute", None) and getattr(alarm, "group", None) is not None
        else "all cases"
    )
    since = f"; the change most likely began on {change}" if change is not None else ""
    change_text = _CHANGES.get(str(alarm.outcome), f"{what} rose for {{who}}").format(who=who)
    return (
        f"{rule.tool} {rule.version} {rule.finding}: {change_text}. The CUSUM "
        f"statistic {float(alarm.statistic):.2f} crossed its threshold "
        f"{float(alarm.threshold):.2f} on {day}{since} ({int(alarm.events)} events). "
        "This is the label-based safety signal: investigate, and consider suspending the tool."
    )


def _date_of(value: object) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.date):
        return value
    return dt.date.fromordinal(int(value))  # type: ignore[call-overload]


def _write_day(
    store: Store, rule: RuleContext, design: Any, day: dt.date, rows: DayRows | None
) -> list[int] | None:
    """Chart one day in one transaction; None when another run already did."""
    from radassure.core.surveillance import SurveillanceState
    from radassure.core.surveillance import update as update_charts

    with session_scope(store.engine) as s:
        st = lock_state(s, rule.id)
        if st.last_day is not None and st.last_day >= day:
            return None
        state = SurveillanceState.from_dict(st.state)
        if rows is not None and rows.n_labelled:
            y_true, y_pred, groups = rows.labelled(rule.attributes)
            scores = rows.labelled_scores()
        else:
            y_true = np.zeros(0, dtype=bool)
            y_pred = np.zeros(0, dtype=bool)
            groups = {a: np.zeros(0, dtype=str) for a in rule.attributes}
            scores = np.zeros(0)
        new_state, points, alarms = update_charts(
            design,
            state,
            day=day.toordinal(),
            y_true=y_true,
            y_pred=y_pred,
            groups=groups or None,
            scores=scores,
        )
        for p in points:
            s.add(
                ChartPointRow(
                    rule_id=rule.id,
                    day=day,
                    key=str(p.key),
                    statistic=_finite(p.statistic),
                    threshold=_finite(p.threshold),
                    events=int(p.events),
                    n=int(p.n),
                )
            )
        ids: list[int] = []
        for alarm in alarms:
            change = _date_of(alarm.change_day)
            alert = add_alert(
                s,
                rule,
                key=str(alarm.key),
                kind="label-based",
                outcome=str(alarm.outcome),
                attribute=alarm.attribute,
                subgroup=None if alarm.group is None else str(alarm.group),
                day=day,
                statistic=_finite(alarm.statistic),
                threshold=_finite(alarm.threshold),
                change_day=change,
                message=_describe(rule, alarm, day, change),
            )
            ids.append(alert.id)
        st.state = new_state.to_dict()
        st.last_day = day
        s.flush()
        _hook("label", rule.id, day)
    _hook("label-committed", rule.id, day)
    return ids


def _finite(value: object) -> float | None:
    if value is None:
        return None
    x = float(value)  # type: ignore[arg-type]
    return x if np.isfinite(x) else None


def last_result_day(s: Session, version_id: int, finding: str, now: dt.datetime) -> dt.date | None:
    """Return the latest acquisition day with a result received by ``now``."""
    latest = s.scalar(
        select(Study.acquired_at)
        .join(AIResult, AIResult.study_id == Study.id)
        .where(
            AIResult.version_id == version_id,
            AIResult.finding == finding,
            AIResult.received_at <= now,
        )
        .order_by(Study.acquired_at.desc())
        .limit(1)
    )
    return None if latest is None else latest.date()


def _days(first: dt.date, last: dt.date) -> Sequence[dt.date]:
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def chart_rule(store: Store, rule: RuleContext, *, now: dt.datetime) -> ChartRun:
    """Chart every day of ``rule`` whose labels are in, after its high-water mark."""
    from radassure.core.surveillance import SurveillanceDesign

    out = ChartRun()
    design = SurveillanceDesign.from_dict(rule.design)
    today = now.date()
    with session_scope(store.engine) as s:
        st = s.get(MonitorState, rule.id)
        done = st.last_day if st is not None else None
        first = max(rule.monitor_from, done + dt.timedelta(days=1)) if done else rule.monitor_from
        # Days after the newest result are not charted yet: they may still fill.
        last_data = last_result_day(s, rule.version_id, rule.finding, now)
        last = min(today - dt.timedelta(days=1), last_data) if last_data else None
        if last is None or first > last:
            return out
        data = load_days(s, rule.version_id, rule.finding, first, last, now=now)
    alerts: list[int] = []
    for day in _days(first, last):
        rows = data.get(day)
        if rows is not None and len(rows):
            share = rows.n_labelled / len(rows)
            age = (today - day).days
            if share < rule.label_complete and age < rule.label_wait_days:
                out.waiting_from = day
                out.waiting_reason = (
                    f"{share:.0%} of its {len(rows)} results have a reference standard; it is "
                    f"charted at {rule.label_complete:.0%} or on "
                    f"{day + dt.timedelta(days=rule.label_wait_days)}"
                )
                break
        ids = _write_day(store, rule, design, day, rows)
        if ids is None:
            continue
        alerts += ids
        out.days += 1
        out.first = out.first or day
        out.last = day
    out.alerts = tuple(alerts)
    return out


def rule_context(
    rule: MonitorRule, tool: str, version: str, channels: tuple[str, ...], actor: Actor
) -> RuleContext:
    """Return the run's view of a rule row."""
    return RuleContext(
        id=rule.id,
        tool=tool,
        version=version,
        version_id=rule.version_id,
        finding=rule.finding,
        attributes=tuple(rule.attributes or ()),
        monitor_from=rule.monitor_from,
        label_complete=rule.label_complete,
        label_wait_days=rule.label_wait_days,
        design=rule.design,
        baseline=rule.baseline_summary or {},
        channels=channels,
        actor=actor,
    )
