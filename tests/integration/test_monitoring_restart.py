"""Killing `radassure monitor run` at any point and running it again loses and duplicates nothing.

Two copies of one installation: one is monitored by a single uninterrupted
run; the other by `radassure monitor run` subprocesses killed with
``os._exit`` (no clean-up, as SIGKILL) at chosen points: inside a day's
transaction before it commits, just after a commit, in the early warnings,
and finally run to the end. Alerts and chart points must be the same rows.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from _monitoring_data import ACTOR, BASELINE, FINDING, TOOL, VERSION, seed
from sqlalchemy import select

from radassure.config import Settings
from radassure.db.monitoring import Alert, ChartPointRow, MonitorState
from radassure.services import init_store, monitoring, open_store

_SCRIPT = textwrap.dedent(
    """
    import os, sys
    from radassure.services import _monitor_run
    stage, after = sys.argv[1], int(sys.argv[2])
    seen = {"n": 0}
    def hook(name, rule_id, day):
        if name == stage:
            seen["n"] += 1
            if seen["n"] > after:
                os._exit(137)
    _monitor_run.set_day_hook(hook)
    from radassure.cli.main import main
    sys.argv = ["radassure", "--home", sys.argv[3], "monitor", "run"]
    main()
    """
)


def _rows(settings: Settings) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    st = open_store(settings)
    try:
        with st.engine.connect() as c:
            alerts = [
                tuple(r)
                for r in c.execute(
                    select(
                        Alert.rule_id,
                        Alert.key,
                        Alert.kind,
                        Alert.day,
                        Alert.statistic,
                        Alert.threshold,
                        Alert.change_day,
                        Alert.message,
                        Alert.state,
                    ).order_by(Alert.key, Alert.day)
                )
            ]
            points = [
                tuple(r)
                for r in c.execute(
                    select(
                        ChartPointRow.key,
                        ChartPointRow.day,
                        ChartPointRow.statistic,
                        ChartPointRow.threshold,
                        ChartPointRow.events,
                        ChartPointRow.n,
                    ).order_by(ChartPointRow.key, ChartPointRow.day)
                )
            ]
            states = list(c.execute(select(MonitorState.last_day, MonitorState.early_day)))
    finally:
        st.dispose()
    return alerts, points + [("state", *s) for s in states]  # type: ignore[list-item]


def _run(home: Path, stage: str, after: int) -> int:
    proc = subprocess.run(
        [sys.executable, "-c", _SCRIPT, stage, str(after), str(home)],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "RADASSURE_HOME": str(home)},
    )
    assert proc.returncode in (0, 137), proc.stderr
    return proc.returncode


@pytest.fixture
def twins(tmp_path: Path) -> tuple[Settings, Settings]:
    one = Settings(home=tmp_path / "one")
    init_store(one)
    st = open_store(one)
    try:
        seed(st)
        monitoring.add_rule(
            st,
            ACTOR,
            TOOL,
            VERSION,
            FINDING,
            baseline_start=BASELINE[0],
            baseline_end=BASELINE[1],
            attributes=("site",),
        )
    finally:
        st.dispose()  # the last connection closing checkpoints the WAL into the file
    shutil.copytree(tmp_path / "one", tmp_path / "two")
    return one, Settings(home=tmp_path / "two")


def test_kills_at_many_points_neither_lose_nor_duplicate(twins: tuple[Settings, Settings]) -> None:
    reference, killed = twins
    st = open_store(reference)
    try:
        summary = monitoring.run_monitor(st, ACTOR)
    finally:
        st.dispose()
    assert any(a.kind == "label-based" for a in summary.new_alerts)
    # Inside a label day's transaction (3 times), right after commits, inside the early
    # warnings, then to the end.
    plan = [
        ("label", 3),
        ("label", 0),
        ("label-committed", 7),
        ("label", 12),
        ("early", 5),
        ("early-committed", 0),
        ("label", 1),
    ]
    codes = [_run(killed.home, stage, after) for stage, after in plan]
    assert 137 in codes
    while _run(killed.home, "never", 0) != 0:
        pass
    assert _rows(killed) == _rows(reference)


@pytest.mark.slow
def test_sigkill_at_random_moments(twins: tuple[Settings, Settings]) -> None:
    reference, killed = twins
    st = open_store(reference)
    try:
        monitoring.run_monitor(st, ACTOR)
    finally:
        st.dispose()
    for delay in (1.5, 2.0, 2.5, 3.0):
        proc = subprocess.Popen(
            [sys.executable, "-m", "radassure", "--home", str(killed.home), "monitor", "run"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    _run(killed.home, "never", 0)
    assert _rows(killed) == _rows(reference)
