"""Alerts people act on: list, acknowledge with a note, resolve with the action taken.

Every state change is audited in the same transaction as the change. Resolving
with ``suspend-tool`` also suspends the tool through the registry, in that same
transaction (the registry audits the status change itself), so an alert can
never be marked as acted on without the suspension, or the reverse.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from radassure.db import session_scope
from radassure.db.models import AITool, ToolVersion, utcnow
from radassure.db.monitoring import (
    ALERT_KINDS,
    ALERT_STATES,
    RESOLUTION_ACTIONS,
    Alert,
    AlertDelivery,
    MonitorRule,
)
from radassure.errors import ConflictError, NotFoundError
from radassure.services._access import Actor, require
from radassure.services._monitor_types import AlertInfo
from radassure.services.audit import record
from radassure.services.registry import set_status
from radassure.services.store import Store

__all__ = ["acknowledge_alert", "alert_info", "get_alert", "list_alerts", "resolve_alert"]

_NOTE_MAX = 4_000


def alert_info(a: Alert, tool: str, version: str, finding: str, deliveries: list[Any]) -> AlertInfo:
    """Return the service's view of an alert row."""
    return AlertInfo(
        id=a.id,
        rule_id=a.rule_id,
        tool=tool,
        version=version,
        finding=finding,
        key=a.key,
        kind=a.kind,
        outcome=a.outcome,
        attribute=a.attribute,
        subgroup=a.subgroup,
        day=a.day,
        statistic=a.statistic,
        threshold=a.threshold,
        change_day=a.change_day,
        message=a.message,
        state=a.state,
        created_at=a.created_at,
        ack_note=a.ack_note,
        ack_by=a.ack_by,
        ack_at=a.ack_at,
        resolution=a.resolution,
        resolution_note=a.resolution_note,
        resolved_by=a.resolved_by,
        resolved_at=a.resolved_at,
        delivered_at=a.delivered_at,
        deliveries=tuple(
            {
                "channel": d.channel,
                "status": d.status,
                "attempts": d.attempts,
                "last_error": d.last_error,
                "delivered_at": d.delivered_at,
            }
            for d in deliveries
        ),
    )


def _query() -> Any:
    return (
        select(Alert, AITool.name, ToolVersion.version, MonitorRule.finding)
        .join(MonitorRule, MonitorRule.id == Alert.rule_id)
        .join(AITool, AITool.id == MonitorRule.tool_id)
        .join(ToolVersion, ToolVersion.id == MonitorRule.version_id)
    )


def _infos(s: Session, rows: list[Any]) -> list[AlertInfo]:
    ids = [r[0].id for r in rows]
    by_alert: dict[int, list[AlertDelivery]] = {}
    if ids:
        for d in s.scalars(
            select(AlertDelivery).where(AlertDelivery.alert_id.in_(ids)).order_by(AlertDelivery.id)
        ):
            by_alert.setdefault(d.alert_id, []).append(d)
    return [alert_info(a, t, v, f, by_alert.get(a.id, [])) for a, t, v, f in rows]


def list_alerts(
    store: Store,
    actor: Actor,
    *,
    tool: str | None = None,
    state: str | None = None,
    kind: str | None = None,
    limit: int = 200,
) -> list[AlertInfo]:
    """Return alerts, newest day first (needs ``monitoring.read``).

    Parameters
    ----------
    store : Store
        The open installation.
    actor : Actor
        Who asks.
    tool : str, optional
        Only this tool's alerts.
    state : str, optional
        ``open``, ``acknowledged`` or ``resolved``.
    kind : str, optional
        ``label-based`` or ``early-warning``.
    limit : int
        At most this many (1 to 5,000).

    """
    require(actor, "monitoring.read")
    if state is not None and state not in ALERT_STATES:
        raise ValueError(f"state {state!r} must be one of: {', '.join(ALERT_STATES)}.")
    if kind is not None and kind not in ALERT_KINDS:
        raise ValueError(f"kind {kind!r} must be one of: {', '.join(ALERT_KINDS)}.")
    if not 1 <= limit <= 5_000:
        raise ValueError(f"limit must be 1 to 5000, not {limit}.")
    query = _query().order_by(Alert.day.desc(), Alert.id.desc()).limit(limit)
    if tool is not None:
        query = query.where(AITool.name == tool)
    if state is not None:
        query = query.where(Alert.state == state)
    if kind is not None:
        query = query.where(Alert.kind == kind)
    with session_scope(store.engine) as s:
        if tool is not None and s.scalar(select(AITool.id).where(AITool.name == tool)) is None:
            raise NotFoundError(f"No tool named {tool!r}; see `radassure tool list`.")
        return _infos(s, list(s.execute(query)))


def _load(s: Session, alert_id: int) -> tuple[Alert, str, str, str]:
    # Ids past a 32-bit integer cannot exist, and some drivers raise on them.
    row = (
        s.execute(_query().where(Alert.id == alert_id)).first()
        if 0 < alert_id <= 2**31 - 1
        else None
    )
    if row is None:
        raise NotFoundError(
            f"There is no alert {alert_id}; see `radassure monitor alerts` for their ids."
        )
    return row[0], row[1], row[2], row[3]


def get_alert(store: Store, actor: Actor, alert_id: int) -> AlertInfo:
    """Return one alert (needs ``monitoring.read``)."""
    require(actor, "monitoring.read")
    with session_scope(store.engine) as s:
        a, t, v, f = _load(s, alert_id)
        return _infos(s, [(a, t, v, f)])[0]


def _state(a: Alert) -> dict[str, Any]:
    return {
        "state": a.state,
        "ack_note": a.ack_note,
        "ack_by": a.ack_by,
        "resolution": a.resolution,
        "resolution_note": a.resolution_note,
        "resolved_by": a.resolved_by,
    }


def _note(note: str | None, what: str) -> str:
    text = (note or "").strip()
    if not text:
        raise ValueError(
            f"note: say why you {what} the alert (e.g. what was checked and by whom); "
            "it is kept in the audit trail."
        )
    if len(text) > _NOTE_MAX:
        raise ValueError(f"note: at most {_NOTE_MAX} characters, not {len(text)}.")
    return text


def acknowledge_alert(
    store: Store, actor: Actor, alert_id: int, note: str, *, address: str | None = None
) -> AlertInfo:
    """Acknowledge an open alert with a note (needs ``monitoring.write``; audited)."""
    require(actor, "monitoring.write")
    text = _note(note, "acknowledge")
    with session_scope(store.engine) as s:
        a, t, v, f = _load(s, alert_id)
        if a.state != "open":
            raise ConflictError(
                f"Alert {alert_id} is {a.state}, not open; only an open alert is acknowledged."
            )
        before = _state(a)
        a.state, a.ack_note, a.ack_by, a.ack_at = "acknowledged", text, actor.name[:200], utcnow()
        s.flush()
        record(
            s,
            actor,
            "alert.acknowledged",
            "alert",
            a.id,
            before=before,
            after=_state(a),
            address=address,
        )
        return _infos(s, [(a, t, v, f)])[0]


def resolve_alert(
    store: Store,
    actor: Actor,
    alert_id: int,
    action: str,
    note: str,
    *,
    address: str | None = None,
    now: dt.datetime | None = None,
) -> AlertInfo:
    """Resolve an open or acknowledged alert, recording the action taken (audited).

    Parameters
    ----------
    store : Store
        The open installation.
    actor : Actor
        Who resolves it; needs ``monitoring.write``, and ``registry.write``
        for ``suspend-tool``.
    alert_id : int
        The alert.
    action : str
        ``investigate``, ``re-threshold`` or ``suspend-tool``; the last also
        moves the tool to ``suspended`` (unless it already is), in the same
        transaction, with the note as the reason.
    note : str
        What was found and done.
    address : str, optional
        Client address for the audit trail.
    now : datetime, optional
        Time of the resolution (naive UTC); for tests.

    """
    require(actor, "monitoring.write")
    if action not in RESOLUTION_ACTIONS:
        raise ValueError(f"action {action!r} must be one of: {', '.join(RESOLUTION_ACTIONS)}.")
    if action == "suspend-tool":
        require(actor, "registry.write")
    text = _note(note, "resolve")
    with session_scope(store.engine) as s:
        a, t, v, f = _load(s, alert_id)
        if a.state == "resolved":
            raise ConflictError(
                f"Alert {alert_id} was already resolved ({a.resolution}) by {a.resolved_by}."
            )
        before = _state(a)
        suspended = False
        if action == "suspend-tool":
            status = s.scalar(select(AITool.status).where(AITool.name == t))
            if status != "suspended":
                set_status(
                    store,
                    t,
                    "suspended",
                    actor=actor,
                    address=address,
                    session=s,
                    reason=f"Monitoring alert {alert_id} ({a.key}, {a.day}): {text}",
                )
                suspended = True
        a.state, a.resolution, a.resolution_note = "resolved", action, text
        a.resolved_by, a.resolved_at = actor.name[:200], now or utcnow()
        s.flush()
        after = {**_state(a), "tool_suspended": suspended}
        record(
            s, actor, "alert.resolved", "alert", a.id, before=before, after=after, address=address
        )
        return _infos(s, [(a, t, v, f)])[0]
