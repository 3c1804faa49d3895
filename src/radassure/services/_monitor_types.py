"""What the monitoring services hand back: rules, chart points, alerts and run summaries.

Plain frozen dataclasses with a ``to_dict`` for JSON, so the CLI, the API and
the pages show the same fields and no database session leaks out.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = [
    "AlertInfo",
    "ChartPointInfo",
    "MonitorSummary",
    "RuleInfo",
    "RuleRunSummary",
    "jsonable",
]


def jsonable(value: Any) -> Any:
    """Return ``value`` with dates as ISO text and NaN as None, ready for JSON.

    Examples
    --------
    >>> jsonable({"day": dt.date(2025, 8, 1), "x": float("nan"), "k": (1, 2)})
    {'day': '2025-08-01', 'x': None, 'k': [1, 2]}

    """
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass(frozen=True)
class RuleInfo:
    """A monitoring rule: what is charted, against which baseline, and where it stands."""

    id: int
    tool: str
    version: str
    finding: str
    attributes: tuple[str, ...]
    arl0_cases: float
    p1_ratio: float
    min_events: int
    min_group_positives: int
    baseline_run_id: int | None
    baseline_start: dt.date | None
    baseline_end: dt.date | None
    monitor_from: dt.date
    label_complete: float
    label_wait_days: int
    enabled: bool
    created_by: str
    created_at: dt.datetime
    last_day: dt.date | None
    early_day: dt.date | None
    charts: tuple[str, ...] = ()
    baseline: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        out: dict[str, Any] = jsonable(asdict(self))
        return out


@dataclass(frozen=True)
class ChartPointInfo:
    """One day of one chart."""

    rule_id: int
    key: str
    day: dt.date
    statistic: float | None
    threshold: float | None
    events: int
    n: int

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        out: dict[str, Any] = jsonable(asdict(self))
        return out


@dataclass(frozen=True)
class AlertInfo:
    """An alert with its state, acknowledgement, resolution and delivery."""

    id: int
    rule_id: int
    tool: str
    version: str
    finding: str
    key: str
    kind: str
    outcome: str | None
    attribute: str | None
    subgroup: str | None
    day: dt.date
    statistic: float | None
    threshold: float | None
    change_day: dt.date | None
    message: str
    state: str
    created_at: dt.datetime
    ack_note: str | None = None
    ack_by: str | None = None
    ack_at: dt.datetime | None = None
    resolution: str | None = None
    resolution_note: str | None = None
    resolved_by: str | None = None
    resolved_at: dt.datetime | None = None
    delivered_at: dt.datetime | None = None
    deliveries: tuple[dict[str, Any], ...] = ()

    @property
    def path(self) -> str:
        """Where the alert is shown in the web app."""
        from urllib.parse import quote

        return f"/tools/{quote(self.tool, safe='')}/monitoring#alert-{self.id}"

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (with the page path)."""
        out: dict[str, Any] = jsonable(asdict(self))
        out["path"] = self.path
        return out


@dataclass(frozen=True)
class RuleRunSummary:
    """What one monitoring run did for one rule."""

    rule_id: int
    tool: str
    version: str
    finding: str
    days_charted: int
    first_day: dt.date | None
    last_day: dt.date | None
    early_days: int
    waiting_from: dt.date | None
    waiting_reason: str | None
    new_alerts: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        out: dict[str, Any] = jsonable(asdict(self))
        return out


@dataclass(frozen=True)
class MonitorSummary:
    """What :func:`~radassure.services.monitoring.run_monitor` did."""

    now: dt.datetime
    rules: tuple[RuleRunSummary, ...]
    new_alerts: tuple[AlertInfo, ...]
    deliveries_sent: int
    deliveries_failed: int

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "now": self.now.isoformat(),
            "rules": [r.to_dict() for r in self.rules],
            "new_alerts": [a.to_dict() for a in self.new_alerts],
            "deliveries_sent": self.deliveries_sent,
            "deliveries_failed": self.deliveries_failed,
        }

    def lines(self) -> list[str]:
        """Human-readable lines for the CLI.

        Examples
        --------
        >>> MonitorSummary(dt.datetime(2026, 1, 1), (), (), 0, 0).lines()
        ['No enabled monitoring rules.']

        """
        if not self.rules:
            return ["No enabled monitoring rules."]
        out = []
        for r in self.rules:
            span = (
                f"{r.days_charted} day(s) charted ({r.first_day} to {r.last_day})"
                if r.days_charted
                else "no new day charted"
            )
            wait = f"; waiting at {r.waiting_from}: {r.waiting_reason}" if r.waiting_reason else ""
            out.append(
                f"Rule {r.rule_id} {r.tool} {r.version} {r.finding}: {span}, "
                f"{r.early_days} day(s) of early warnings, {len(r.new_alerts)} new alert(s){wait}."
            )
        out += [f"ALERT {a.id} [{a.kind}] {a.message}" for a in self.new_alerts]
        if self.deliveries_sent or self.deliveries_failed:
            out.append(
                f"Deliveries: {self.deliveries_sent} sent, {self.deliveries_failed} failed "
                "(failed ones are tried again by the next run)."
            )
        return out
