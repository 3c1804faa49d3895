"""Tables of monitoring: rules, chart state, chart points, alerts and their delivery.

A rule freezes a surveillance design (baseline, charts, thresholds) for one
tool version and finding. Each monitored day is written in one transaction:
the new chart state with its high-water mark, the day's chart points and any
alerts. ``alert`` is unique on (rule, chart key, day) and ``chart_point`` on
(rule, day, chart key), so a re-run after a crash can neither duplicate nor
lose what a committed day wrote.

Times are naive UTC; days are acquisition dates (UTC).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from radassure.db.models import Base, utcnow

__all__ = [
    "ALERT_KINDS",
    "ALERT_STATES",
    "DELIVERY_CHANNELS",
    "DELIVERY_STATUSES",
    "RESOLUTION_ACTIONS",
    "Alert",
    "AlertDelivery",
    "ChartPointRow",
    "MonitorRule",
    "MonitorState",
]

#: label-based: a control chart fed by the reference standard (the safety signal);
#: early-warning: label-free context (volume, call rate, drift, discordance).
ALERT_KINDS = ("label-based", "early-warning")
ALERT_STATES = ("open", "acknowledged", "resolved")
RESOLUTION_ACTIONS = ("investigate", "re-threshold", "suspend-tool")
DELIVERY_CHANNELS = ("webhook", "email")
DELIVERY_STATUSES = ("pending", "sent", "failed")


def _in(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"


class MonitorRule(Base):
    """What to monitor for one tool version and finding, with its frozen design."""

    __tablename__ = "monitor_rule"
    __table_args__ = (
        UniqueConstraint("version_id", "finding"),
        CheckConstraint(
            "baseline_run_id IS NOT NULL OR "
            "(baseline_start IS NOT NULL AND baseline_end IS NOT NULL)",
            name="baseline",
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # No cascade: a rule and its alerts are evidence and outlive registry edits.
    tool_id: Mapped[int] = mapped_column(ForeignKey("ai_tool.id"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("tool_version.id"))
    finding: Mapped[str] = mapped_column(String(64))
    attributes: Mapped[Any] = mapped_column(JSON(none_as_null=True))
    arl0_cases: Mapped[float] = mapped_column(Float)
    p1_ratio: Mapped[float] = mapped_column(Float)
    min_events: Mapped[int] = mapped_column(Integer)
    min_group_positives: Mapped[int] = mapped_column(Integer)
    baseline_run_id: Mapped[int | None] = mapped_column(ForeignKey("run.id"))
    baseline_start: Mapped[dt.date | None] = mapped_column(Date)
    baseline_end: Mapped[dt.date | None] = mapped_column(Date)
    #: First acquisition day monitored (the day after the baseline by default).
    monitor_from: Mapped[dt.date] = mapped_column(Date)
    #: A day is charted once this share of its results has a reference standard ...
    label_complete: Mapped[float] = mapped_column(Float)
    #: ... or once it is this many days old, whichever comes first.
    label_wait_days: Mapped[int] = mapped_column(Integer)
    design: Mapped[dict[str, Any]] = mapped_column(JSON(none_as_null=True))
    baseline_summary: Mapped[dict[str, Any]] = mapped_column(JSON(none_as_null=True))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class MonitorState(Base):
    """Where a rule's charts stand: high-water marks and chart state."""

    __tablename__ = "monitor_state"
    rule_id: Mapped[int] = mapped_column(
        ForeignKey("monitor_rule.id", ondelete="CASCADE"), primary_key=True
    )
    #: Last acquisition day charted from labels (None: none yet).
    last_day: Mapped[dt.date | None] = mapped_column(Date)
    state: Mapped[dict[str, Any]] = mapped_column(JSON(none_as_null=True))
    #: Last day checked by the label-free early warnings.
    early_day: Mapped[dt.date | None] = mapped_column(Date)
    early_state: Mapped[dict[str, Any]] = mapped_column(JSON(none_as_null=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class ChartPointRow(Base):
    """One day of one chart (table ``chart_point``)."""

    __tablename__ = "chart_point"
    __table_args__ = (UniqueConstraint("rule_id", "day", "key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("monitor_rule.id", ondelete="CASCADE"))
    day: Mapped[dt.date] = mapped_column(Date)
    key: Mapped[str] = mapped_column(String(200))
    statistic: Mapped[float | None] = mapped_column(Float)
    threshold: Mapped[float | None] = mapped_column(Float)
    events: Mapped[int] = mapped_column(Integer)
    n: Mapped[int] = mapped_column(Integer)


class Alert(Base):
    """A monitoring signal people act on: acknowledge, then resolve with an action."""

    __tablename__ = "alert"
    __table_args__ = (
        # A re-run after a crash can never raise the same alert twice.
        UniqueConstraint("rule_id", "key", "day"),
        CheckConstraint(_in("kind", ALERT_KINDS), name="kind"),
        CheckConstraint(_in("state", ALERT_STATES), name="state"),
        CheckConstraint(
            "resolution IS NULL OR " + _in("resolution", RESOLUTION_ACTIONS), name="resolution"
        ),
        Index("ix_alert_state", "state"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("monitor_rule.id"))
    key: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str | None] = mapped_column(String(64))
    attribute: Mapped[str | None] = mapped_column(String(64))
    subgroup: Mapped[str | None] = mapped_column(String(200))
    day: Mapped[dt.date] = mapped_column(Date)
    statistic: Mapped[float | None] = mapped_column(Float)
    threshold: Mapped[float | None] = mapped_column(Float)
    change_day: Mapped[dt.date | None] = mapped_column(Date)
    message: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    ack_note: Mapped[str | None] = mapped_column(Text)
    ack_by: Mapped[str | None] = mapped_column(String(200))
    ack_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    resolution: Mapped[str | None] = mapped_column(String(16))
    resolution_note: Mapped[str | None] = mapped_column(Text)
    resolved_by: Mapped[str | None] = mapped_column(String(200))
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    #: When every configured channel had it (None while any delivery is due).
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class AlertDelivery(Base):
    """One alert on one channel: attempts and the last error, until sent."""

    __tablename__ = "alert_delivery"
    __table_args__ = (
        UniqueConstraint("alert_id", "channel"),
        CheckConstraint(_in("channel", DELIVERY_CHANNELS), name="channel"),
        CheckConstraint(_in("status", DELIVERY_STATUSES), name="status"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alert.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_attempt_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
