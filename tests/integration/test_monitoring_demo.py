"""On the demo department, monitoring finds the planted drop at NWG in time, and nothing before.

Planted truth 1 (docs/demo.md): ThoraxGuard's pneumothorax sensitivity falls on
the NWG Kestrel scanner from 2025-08-01. The demo's rule (baseline January to
June, charted from July, by site and scanner) must raise a label-based alarm
naming the NWG scanner after the upgrade, and no label-based alarm before it.
The issue's target is an alarm within two weeks of the upgrade (measured on the
default build: the score chart of the NWG scanner on 2025-08-12, 11 days after,
change point estimated at 2025-08-01; the misses charts alone took 32 days).
One default demo build is shared by the module's tests.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from radassure.config import Settings
from radassure.services import Store, build_demo, monitoring, open_store
from radassure.services.auth import system_actor

UPGRADE = dt.date(2025, 8, 1)
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Store, monitoring.MonitorSummary]]:
    home: Path = tmp_path_factory.mktemp("demo-monitoring")
    build_demo(Settings(home=home))
    store = open_store(Settings(home=home))
    try:
        summary = monitoring.run_monitor(store, system_actor("test"), now=dt.datetime(2026, 6, 1))
        yield store, summary
    finally:
        store.dispose()


def test_demo_has_the_thoraxguard_rule(demo: tuple[Store, monitoring.MonitorSummary]) -> None:
    store, _ = demo
    (rule,) = monitoring.list_rules(store, system_actor("test"), tool="ThoraxGuard")
    assert (rule.version, rule.finding) == ("3.2.0", "pneumothorax")
    assert rule.attributes == ("site", "scanner")
    assert rule.baseline_end is not None and rule.baseline_end < UPGRADE
    assert rule.last_day is not None and rule.last_day >= dt.date(2025, 12, 1)


def _nwg(summary: monitoring.MonitorSummary) -> list[monitoring.AlertInfo]:
    return [
        a
        for a in summary.new_alerts
        if a.kind == "label-based"
        and (
            (a.attribute, a.subgroup) == ("site", "NWG")
            or str(a.subgroup).startswith("NWG Kestrel")
        )
    ]


def test_alarm_names_nwg_after_the_upgrade_and_none_before(
    demo: tuple[Store, monitoring.MonitorSummary],
) -> None:
    _, summary = demo
    label = [a for a in summary.new_alerts if a.kind == "label-based"]
    described = [(a.key, a.day.isoformat(), str(a.change_day)) for a in label]
    assert not [a for a in label if a.day < UPGRADE], described
    first = min(_nwg(summary), key=lambda a: a.day)
    # Measured on the default build: 2025-08-12, change estimated at 2025-08-01.
    assert first.day <= UPGRADE + dt.timedelta(days=14), described
    assert first.change_day is not None
    assert abs((first.change_day - UPGRADE).days) <= 3, described
    assert "NWG" in first.message
    # No sensitivity alarm where nothing changed: SBC's scanners, NWG's Aster unit. (With
    # one false alarm a year, a chance alarm on some chart over the six monitored months
    # is expected about 40% of the time, so only the sensitivity charts, misses and
    # positives' scores, are held to this.)
    unchanged = [
        a
        for a in label
        if a.outcome in ("misses", "score_drop")
        and str(a.subgroup).startswith(("SBC", "NWG Aster"))
    ]
    assert not unchanged, described


def test_first_alarm_is_a_score_chart_within_two_weeks(
    demo: tuple[Store, monitoring.MonitorSummary],
) -> None:
    _, summary = demo
    first = min(_nwg(summary), key=lambda a: a.day)
    assert first.day <= UPGRADE + dt.timedelta(days=14)
    assert first.outcome == "score_drop"
    assert "scores of reference-positive cases fell" in first.message


def test_early_warnings_are_few_and_name_the_upgrade(
    demo: tuple[Store, monitoring.MonitorSummary],
) -> None:
    _, summary = demo
    early = [a for a in summary.new_alerts if a.kind == "early-warning"]
    described = [(a.key, a.day.isoformat()) for a in early]
    # The software version change is context worth a look: flagged once, within a week.
    software = [a for a in early if a.key == "ew:metadata:software_version"]
    assert len(software) == 1, described
    assert UPGRADE <= software[0].day <= UPGRADE + dt.timedelta(days=7), described
    # Volume follows the week: with weekday baselines and the measured overdispersion,
    # two sites over six monitored months at one false alarm a year each should give
    # about one alarm, not one every quiet Saturday.
    volume = [a for a in early if a.key.startswith("ew:volume")]
    assert len(volume) <= 4, described
    # The demo's streams end on 2025-12-31, so run later both sites are silent since then
    # (this once named 12-23: the last day the saved state happened to change).
    gaps = {a.subgroup: a.day for a in early if a.key.startswith("ew:stream_gap")}
    assert gaps == {"NWG": dt.date(2026, 1, 1), "SBC": dt.date(2026, 1, 1)}, described
