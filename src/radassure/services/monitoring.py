"""Monitoring deployed tools: rules, incremental and idempotent runs, alerts, delivery.

* :func:`add_rule` freezes a surveillance design (label-based CUSUM charts,
  overall and per subgroup, thresholds from an in-control ARL in cases) for a
  tool version and finding, from a baseline period or validation run.
* :func:`run_monitor` charts, for every enabled rule, each new acquisition day
  whose labels are in, then the label-free early warnings, each day in one
  transaction (see :mod:`radassure.services._monitor_run`): safe to run from
  cron or ``radassure monitor run --every 1h``, and safe to kill. It then
  delivers new alerts by webhook and e-mail (:mod:`._monitor_delivery`).
* :func:`list_alerts`, :func:`acknowledge_alert`, :func:`resolve_alert`
  (``suspend-tool`` suspends the tool through the registry), all audited.
* :func:`tool_monitoring` gathers a tool's rules, chart paths and open alerts
  for its monitoring page and the JSON twin.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from radassure.db import session_scope
from radassure.db.models import AITool, ToolVersion, utcnow
from radassure.db.monitoring import Alert, AlertDelivery, ChartPointRow, MonitorRule
from radassure.errors import NotFoundError
from radassure.services._access import Actor, require
from radassure.services._monitor_alerts import (
    _infos,
    _query,
    acknowledge_alert,
    get_alert,
    list_alerts,
    resolve_alert,
)
from radassure.services._monitor_data import ATTRIBUTES
from radassure.services._monitor_delivery import DeliveryConfig, deliver_pending
from radassure.services._monitor_early import early_warnings
from radassure.services._monitor_figures import Figure, figures
from radassure.services._monitor_rules import add_rule, list_rules
from radassure.services._monitor_run import chart_rule, rule_context
from radassure.services._monitor_types import (
    AlertInfo,
    ChartPointInfo,
    MonitorSummary,
    RuleInfo,
    RuleRunSummary,
)
from radassure.services.store import Store

__all__ = [
    "ATTRIBUTES",
    "AlertInfo",
    "ChartPointInfo",
    "DeliveryConfig",
    "Figure",
    "MonitorSummary",
    "RuleInfo",
    "ToolMonitoring",
    "acknowledge_alert",
    "add_rule",
    "figures",
    "get_alert",
    "list_alerts",
    "list_rules",
    "resolve_alert",
    "run_monitor",
    "tool_monitoring",
]


def run_monitor(
    store: Store,
    actor: Actor,
    *,
    tool: str | None = None,
    now: dt.datetime | None = None,
    delivery: DeliveryConfig | None = None,
) -> MonitorSummary:
    """Chart every new day of every enabled rule, check early warnings, deliver alerts.

    Incremental and idempotent: only days after each rule's high-water mark are
    charted, each in one transaction with its chart points and alerts, so a run
    killed at any point and started again neither duplicates nor loses an
    alert. Deliveries still due from earlier runs are retried; one sent is
    never sent again. Needs ``monitoring.write``.

    Parameters
    ----------
    store : Store
        The open installation.
    actor : Actor
        Who runs it (named on the alerts' audit events).
    tool : str, optional
        Only this tool's rules.
    now : datetime, optional
        The moment to run "as of" (naive UTC): only results received and
        references recorded by then are used, and days up to the one before.
    delivery : DeliveryConfig, optional
        Where to deliver; default from the store's settings.

    Returns
    -------
    MonitorSummary

    Examples
    --------
    >>> # see tests/integration/test_monitoring_service.py

    """
    require(actor, "monitoring.write")
    now = now or utcnow()
    cfg = delivery or DeliveryConfig.from_settings(store.settings)
    with session_scope(store.engine) as s:
        query = (
            select(MonitorRule, AITool.name, ToolVersion.version)
            .join(AITool, AITool.id == MonitorRule.tool_id)
            .join(ToolVersion, ToolVersion.id == MonitorRule.version_id)
            .where(MonitorRule.enabled.is_(True))
            .order_by(MonitorRule.id)
        )
        if tool is not None:
            if s.scalar(select(AITool.id).where(AITool.name == tool)) is None:
                raise NotFoundError(f"No tool named {tool!r}; see `radassure tool list`.")
            query = query.where(AITool.name == tool)
        rules = [rule_context(r, t, v, cfg.channels, actor) for r, t, v in s.execute(query)]
    summaries: list[RuleRunSummary] = []
    new_ids: list[int] = []
    for rule in rules:
        charted = chart_rule(store, rule, now=now)
        early = early_warnings(store, rule, now=now)
        ids = (*charted.alerts, *early.alerts)
        new_ids += ids
        summaries.append(
            RuleRunSummary(
                rule_id=rule.id,
                tool=rule.tool,
                version=rule.version,
                finding=rule.finding,
                days_charted=charted.days,
                first_day=charted.first,
                last_day=charted.last,
                early_days=early.days,
                waiting_from=charted.waiting_from,
                waiting_reason=charted.waiting_reason,
                new_alerts=ids,
            )
        )
    with session_scope(store.engine) as s:
        # Every alert with a delivery still due, not only this run's: failures are retried.
        due = select(AlertDelivery.alert_id).where(AlertDelivery.status != "sent")
        rows = list(s.execute(_query().where(Alert.id.in_(due) | Alert.id.in_(new_ids or [-1]))))
        infos = {a.id: a for a in _infos(s, rows)}
    outcome = deliver_pending(store, cfg, infos)
    if outcome.sent:
        with session_scope(store.engine) as s:
            rows = list(s.execute(_query().where(Alert.id.in_(new_ids or [-1]))))
            infos.update({a.id: a for a in _infos(s, rows)})
    return MonitorSummary(
        now=now,
        rules=tuple(summaries),
        new_alerts=tuple(infos[i] for i in new_ids if i in infos),
        deliveries_sent=outcome.sent,
        deliveries_failed=outcome.failed,
    )


@dataclass(frozen=True)
class ToolMonitoring:
    """A tool's monitoring: rules, each chart's recent path, and its alerts."""

    tool: str
    rules: tuple[RuleInfo, ...]
    charts: dict[int, dict[str, tuple[ChartPointInfo, ...]]]
    alerts: tuple[AlertInfo, ...]

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict; ``charts`` maps rule id to chart key to points."""
        return {
            "tool": self.tool,
            "rules": [r.to_dict() for r in self.rules],
            "charts": {
                str(rid): {k: [p.to_dict() for p in pts] for k, pts in charts.items()}
                for rid, charts in self.charts.items()
            },
            "alerts": [a.to_dict() for a in self.alerts],
        }


def tool_monitoring(
    store: Store, actor: Actor, tool: str, *, days: int = 180, alerts: int = 100
) -> ToolMonitoring:
    """Return a tool's rules, the last ``days`` of each chart, and its latest alerts.

    Open and acknowledged alerts come first, then resolved ones, newest day
    first. Needs ``monitoring.read``.
    """
    require(actor, "monitoring.read")
    if not 1 <= days <= 3_660:
        raise ValueError(f"days must be 1 to 3660, not {days}.")
    rules = list_rules(store, actor, tool=tool)
    charts: dict[int, dict[str, tuple[ChartPointInfo, ...]]] = {}
    with session_scope(store.engine) as s:
        for rule in rules:
            latest = max((d for d in (rule.last_day, rule.early_day) if d), default=None)
            if latest is None:
                charts[rule.id] = {}
                continue
            since = latest - dt.timedelta(days=days - 1)
            by_key: dict[str, list[ChartPointInfo]] = {}
            for p in s.scalars(
                select(ChartPointRow)
                .where(ChartPointRow.rule_id == rule.id, ChartPointRow.day >= since)
                .order_by(ChartPointRow.key, ChartPointRow.day)
            ):
                by_key.setdefault(p.key, []).append(
                    ChartPointInfo(rule.id, p.key, p.day, p.statistic, p.threshold, p.events, p.n)
                )
            charts[rule.id] = {k: tuple(v) for k, v in by_key.items()}
    found = list_alerts(store, actor, tool=tool, limit=5_000)
    ordered = sorted(found, key=lambda a: (a.state == "resolved", -a.day.toordinal(), -a.id))
    return ToolMonitoring(tool, tuple(rules), charts, tuple(ordered[:alerts]))
