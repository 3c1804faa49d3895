"""Monitoring service: rules, incremental idempotent runs, alerts, acknowledgement, resolution."""

from __future__ import annotations

import datetime as dt

import pytest
from _monitoring_data import ACTOR, BASELINE, CHANGE, FINDING, START, TOOL, VERSION, seed
from alembic import command
from sqlalchemy import func, select, text

from radassure.db import alembic_config, current_revision, head_revision, upgrade
from radassure.db.monitoring import Alert, ChartPointRow
from radassure.db.security import AuditEvent
from radassure.errors import ConflictError, NotFoundError, PermissionDeniedError
from radassure.services import Store, get_tool, monitoring
from radassure.services.audit import verify
from radassure.services.auth import Actor, permissions_of

NOW = None  # as of now: the synthetic results are received at ingestion


def _rule(store: Store) -> monitoring.RuleInfo:
    return monitoring.add_rule(
        store,
        ACTOR,
        TOOL,
        VERSION,
        FINDING,
        baseline_start=BASELINE[0],
        baseline_end=BASELINE[1],
        attributes=("site",),
    )


def _counts(store: Store) -> tuple[int, int]:
    with store.engine.connect() as c:
        alerts = c.execute(select(func.count()).select_from(Alert)).scalar_one()
        points = c.execute(select(func.count()).select_from(ChartPointRow)).scalar_one()
    return alerts, points


def test_run_finds_the_planted_drop_at_site_b_and_is_idempotent(store: Store) -> None:
    seed(store)
    rule = _rule(store)
    assert rule.monitor_from == BASELINE[1] + dt.timedelta(days=1)
    assert rule.baseline["positives"] > 300
    first = monitoring.run_monitor(store, ACTOR, now=NOW)
    label = [a for a in first.new_alerts if a.kind == "label-based"]
    # The drop is at site B only, from CHANGE: an alarm naming B within two weeks, none before.
    assert label, first.lines()
    assert all(a.day >= CHANGE for a in label), [(a.key, a.day) for a in label]
    at_b = [a for a in label if a.attribute == "site" and a.subgroup == "B"]
    assert at_b and min(a.day for a in at_b) <= CHANGE + dt.timedelta(days=14)
    assert not [a for a in label if a.subgroup == "A"]
    assert "site B" in at_b[0].message
    before = _counts(store)
    # Incremental: a second run has nothing new to chart and writes nothing.
    again = monitoring.run_monitor(store, ACTOR, now=NOW)
    assert again.new_alerts == () and all(r.days_charted == 0 for r in again.rules)
    assert _counts(store) == before
    # Chart points: one per day and chart from monitor_from to the last data day.
    tm = monitoring.tool_monitoring(store, ACTOR, TOOL, days=365)
    charts = tm.charts[rule.id]
    overall = [k for k in charts if not k.startswith("ew:")]
    assert overall
    last_day = START + dt.timedelta(days=89)
    for key in overall:
        days = [p.day for p in charts[key]]
        assert days == sorted(set(days)) and days[-1] <= last_day
    assert verify(store).ok


def test_default_budget_is_a_year_at_the_baseline_volume(store: Store) -> None:
    seed(store)
    rule = _rule(store)
    days = (BASELINE[1] - BASELINE[0]).days + 1
    with store.engine.connect() as c:
        results = c.execute(
            text(
                "SELECT count(*) FROM ai_result r JOIN study s ON s.id = r.study_id "
                "WHERE r.finding = :f AND s.acquired_at >= :a AND s.acquired_at < :b"
            ),
            {"f": FINDING, "a": BASELINE[0], "b": BASELINE[1] + dt.timedelta(days=1)},
        ).scalar_one()
    assert results > 0
    assert rule.arl0_cases == pytest.approx(365.0 * results / days, abs=1.0)


def test_labels_not_yet_in_hold_the_high_water_mark(store: Store) -> None:
    seed(store, days=60)
    monitoring.add_rule(
        store,
        ACTOR,
        TOOL,
        VERSION,
        FINDING,
        baseline_start=BASELINE[0],
        baseline_end=BASELINE[1],
        label_wait_days=100_000,
    )
    # Run "as of" the moment the last result arrived, before any reference was recorded.
    with store.engine.connect() as c:
        from radassure.db.models import AIResult, Reference

        first_ref = c.execute(select(func.min(Reference.recorded_at))).scalar_one()
        early = c.execute(select(func.max(AIResult.received_at))).scalar_one()
    assert early < first_ref
    summary = monitoring.run_monitor(store, ACTOR, now=early)
    (r,) = summary.rules
    assert r.days_charted == 0 and r.waiting_from == BASELINE[1] + dt.timedelta(days=1)
    assert r.waiting_reason is not None and r.waiting_reason.startswith("0% of its")
    # Once the labels are in, the same days are charted.
    later = monitoring.run_monitor(store, ACTOR, now=NOW)
    assert later.rules[0].days_charted == 20


def test_rule_validation_and_conflicts(store: Store) -> None:
    seed(store, days=45)
    with pytest.raises(ValueError, match="attributes"):
        monitoring.add_rule(
            store,
            ACTOR,
            TOOL,
            VERSION,
            FINDING,
            baseline_start=BASELINE[0],
            baseline_end=BASELINE[1],
            attributes=("shoe_size",),
        )
    with pytest.raises(ValueError, match="baseline"):
        monitoring.add_rule(store, ACTOR, TOOL, VERSION, FINDING)
    with pytest.raises(NotFoundError, match="no version"):
        monitoring.add_rule(
            store, ACTOR, TOOL, "9.9", FINDING, baseline_start=BASELINE[0], baseline_end=BASELINE[1]
        )
    with pytest.raises(NotFoundError, match="reference standard"):
        monitoring.add_rule(
            store,
            ACTOR,
            TOOL,
            VERSION,
            "nodule",
            baseline_start=BASELINE[0],
            baseline_end=BASELINE[1],
        )
    _rule(store)
    with pytest.raises(ConflictError, match="already has a monitoring rule"):
        _rule(store)
    viewer = Actor("vic", "user", "viewer", None, permissions_of("viewer"))
    with pytest.raises(PermissionDeniedError):
        monitoring.run_monitor(store, viewer, now=NOW)
    assert monitoring.list_rules(store, viewer)[0].finding == FINDING


def test_acknowledge_resolve_and_suspend_are_audited(store: Store) -> None:
    seed(store)
    _rule(store)
    summary = monitoring.run_monitor(store, ACTOR, now=NOW)
    first, second = summary.new_alerts[0], summary.new_alerts[-1]
    reporter = Actor("rita", "user", "reporter", None, permissions_of("reporter"))
    with pytest.raises(PermissionDeniedError):
        monitoring.acknowledge_alert(store, reporter, first.id, "seen")
    with pytest.raises(ValueError, match="note"):
        monitoring.acknowledge_alert(store, ACTOR, first.id, "  ")
    acked = monitoring.acknowledge_alert(store, ACTOR, first.id, "Checking the scanner at B.")
    assert acked.state == "acknowledged" and acked.ack_by == ACTOR.name
    with pytest.raises(ConflictError):
        monitoring.acknowledge_alert(store, ACTOR, first.id, "again")
    with pytest.raises(ValueError, match="action"):
        monitoring.resolve_alert(store, ACTOR, first.id, "ignore", "no")
    # The tool must be live to be suspended.
    from radassure.services import set_status

    for status in ("evaluating", "approved", "live"):
        set_status(store, TOOL, status, actor=ACTOR, reason="test")
    done = monitoring.resolve_alert(store, ACTOR, first.id, "suspend-tool", "Sensitivity at B.")
    assert done.state == "resolved" and done.resolution == "suspend-tool"
    tool = get_tool(store, TOOL)
    assert tool.status == "suspended"
    assert "Monitoring alert" in (tool.status_history[-1].reason or "")
    if second.id != first.id:
        # Already suspended: resolving another alert the same way does not fail.
        again = monitoring.resolve_alert(store, ACTOR, second.id, "suspend-tool", "Same cause.")
        assert again.state == "resolved"
    with pytest.raises(ConflictError, match="already resolved"):
        monitoring.resolve_alert(store, ACTOR, first.id, "investigate", "x")
    with store.engine.connect() as c:
        actions = [a for (a,) in c.execute(select(AuditEvent.action).order_by(AuditEvent.id))]
    assert actions.count("alert.raised") == len(summary.new_alerts)
    assert actions.count("alert.acknowledged") == 1
    assert "alert.resolved" in actions
    # The suspension is audited once, by the registry, next to the resolution.
    assert actions.count("tool.status_changed") == 4
    assert verify(store).ok
    assert [a.id for a in monitoring.list_alerts(store, ACTOR, state="resolved")][-1] == first.id


def test_migration_0004_is_reversible(sqlite_store: Store) -> None:
    eng = sqlite_store.engine
    command.downgrade(alembic_config(eng), "0003")
    assert current_revision(eng) == "0003"
    upgrade(eng)
    assert current_revision(eng) == head_revision(eng)
