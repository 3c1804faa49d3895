"""Monitoring through the fronts: JSON routes, the page with its forms, and the CLI.

The alert here is written straight into the tables (as a monitoring run would),
so these tests exercise the fronts and the alert services without depending on
the charts; test_monitoring_service.py runs the charts for real.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from radassure.api import create_app
from radassure.cli.main import app as cli
from radassure.config import Settings
from radassure.db import session_scope
from radassure.db.monitoring import Alert, ChartPointRow, MonitorRule, MonitorState
from radassure.services import Store, add_tool, add_version, get_tool, set_status
from radassure.services.auth import system_actor

ACTOR = system_actor("test")
TEST_PASSWORD = "correct horse battery staple"


def _alert(store: Store) -> int:
    add_tool(store, name="ChestScan", manufacturer="Acme", task="classification", actor=ACTOR)
    add_version(store, "ChestScan", "2.0", operating_threshold=0.5, actor=ACTOR)
    for status in ("evaluating", "approved", "live"):
        set_status(store, "ChestScan", status, actor=ACTOR, reason="test")
    tool = get_tool(store, "ChestScan")
    assert tool.status == "live"
    with session_scope(store.engine) as s:
        from sqlalchemy import select

        from radassure.db.models import AITool, ToolVersion

        tid = s.scalar(select(AITool.id).where(AITool.name == "ChestScan"))
        vid = s.scalar(select(ToolVersion.id).where(ToolVersion.tool_id == tid))
        rule = MonitorRule(
            tool_id=tid,
            version_id=vid,
            finding="pneumothorax",
            attributes=["site"],
            arl0_cases=73_000.0,
            p1_ratio=2.0,
            min_events=3,
            min_group_positives=30,
            baseline_start=dt.date(2025, 1, 1),
            baseline_end=dt.date(2025, 6, 30),
            monitor_from=dt.date(2025, 7, 1),
            label_complete=0.95,
            label_wait_days=28,
            design={},
            baseline_summary={},
            enabled=True,
            created_by="test",
        )
        s.add(rule)
        s.flush()
        s.add(
            MonitorState(
                rule_id=rule.id,
                last_day=dt.date(2025, 8, 3),
                state={},
                early_day=None,
                early_state={},
            )
        )
        for i, stat in enumerate([0.0, 1.2, 2.9, 4.1]):
            s.add(
                ChartPointRow(
                    rule_id=rule.id,
                    day=dt.date(2025, 7, 31) + dt.timedelta(days=i),
                    key="miss:site=NWG",
                    statistic=stat,
                    threshold=3.5,
                    events=i,
                    n=40,
                )
            )
        alert = Alert(
            rule_id=rule.id,
            key="miss:site=NWG",
            kind="label-based",
            outcome="miss",
            attribute="site",
            subgroup="NWG",
            day=dt.date(2025, 8, 3),
            statistic=4.1,
            threshold=3.5,
            change_day=dt.date(2025, 8, 1),
            message="ChestScan 2.0 pneumothorax: misses rose for site NWG.",
            state="open",
        )
        s.add(alert)
        s.flush()
        return alert.id


def _form_token(text: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', text)
    assert found is not None
    return found.group(1)


def test_json_routes(
    store: Store, settings: Settings, auth_headers: Callable[..., dict[str, str]]
) -> None:
    alert_id = _alert(store)
    lead, viewer = auth_headers(settings, "clinical_lead"), auth_headers(settings, "viewer")
    with TestClient(create_app(settings)) as client:
        got = client.get("/api/tools/ChestScan/monitoring", headers=viewer)
        assert got.status_code == 200, got.text
        body: dict[str, Any] = got.json()
        assert body["alerts"][0]["id"] == alert_id
        assert [p["statistic"] for p in next(iter(body["charts"].values()))["miss:site=NWG"]] == [
            0.0,
            1.2,
            2.9,
            4.1,
        ]
        listed = client.get("/api/alerts", params={"state": "open"}, headers=viewer).json()
        assert [a["id"] for a in listed] == [alert_id]
        denied = client.post(f"/api/alerts/{alert_id}/ack", json={"note": "x"}, headers=viewer)
        assert denied.status_code == 403
        acked = client.post(f"/api/alerts/{alert_id}/ack", json={"note": "On it."}, headers=lead)
        assert acked.status_code == 200 and acked.json()["state"] == "acknowledged"
        bad = client.post(
            f"/api/alerts/{alert_id}/resolve", json={"action": "shrug", "note": "x"}, headers=lead
        )
        assert bad.status_code == 422
        done = client.post(
            f"/api/alerts/{alert_id}/resolve",
            json={"action": "suspend-tool", "note": "Scanner upgrade at NWG."},
            headers=lead,
        )
        assert done.status_code == 200, done.text
        assert client.get("/api/tools/ChestScan", headers=viewer).json()["status"] == "suspended"
        missing = client.post("/api/alerts/999/ack", json={"note": "x"}, headers=lead)
        assert missing.status_code == 404


def test_page_shows_chart_and_acts_through_csrf_protected_forms(
    sqlite_store: Store, auth_headers: Callable[..., dict[str, str]]
) -> None:
    settings = sqlite_store.settings
    alert_id = _alert(sqlite_store)
    auth_headers(settings, "clinical_lead")  # creates clinical-lead-user
    with TestClient(create_app(settings)) as client:
        signin = client.get("/signin")
        signed = client.post(
            "/signin",
            data={
                "username": "clinical-lead-user",
                "password": TEST_PASSWORD,
                "csrf_token": _form_token(signin.text),
                "next": "/tools/ChestScan/monitoring",
            },
            follow_redirects=False,
        )
        assert signed.status_code == 303, signed.text
        page = client.get("/tools/ChestScan/monitoring")
        assert page.status_code == 200, page.text
        assert "<svg" in page.text and "site NWG" in page.text and "threshold" in page.text
        assert f'id="alert-{alert_id}"' in page.text
        action = f"/tools/ChestScan/monitoring/alerts/{alert_id}/ack"
        assert f'action="{action}"' in page.text
        token = _form_token(page.text.split(action, 1)[1])
        forged = client.post(action, data={"note": "x", "csrf_token": "nope"})
        assert forged.status_code == 403
        ok = client.post(
            action, data={"note": "Looking.", "csrf_token": token}, follow_redirects=False
        )
        assert ok.status_code == 303 and ok.headers["location"].endswith(f"#alert-{alert_id}")
        after = client.get("/tools/ChestScan/monitoring").text
        assert "Looking." in after and "clinical-lead-user" in after


def test_cli_lists_acknowledges_and_resolves(sqlite_store: Store) -> None:
    alert_id = _alert(sqlite_store)
    home = ["--home", str(sqlite_store.settings.home)]
    runner = CliRunner()
    listed = runner.invoke(cli, [*home, "monitor", "alerts", "--state", "open", "--json"])
    assert listed.exit_code == 0, listed.output
    assert '"id": ' + str(alert_id) in listed.output
    text = runner.invoke(cli, [*home, "monitor", "alerts", "--state", "open"])
    assert text.exit_code == 0, text.output
    assert f"#{alert_id}  " in text.output and "  open  label-based  " in text.output
    no_note = runner.invoke(cli, [*home, "monitor", "ack", str(alert_id), "--note", " "])
    assert no_note.exit_code == 2 and "note" in no_note.output
    acked = runner.invoke(cli, [*home, "monitor", "ack", str(alert_id), "--note", "Seen."])
    assert acked.exit_code == 0, acked.output
    resolved = runner.invoke(
        cli,
        [
            *home,
            "monitor",
            "resolve",
            str(alert_id),
            "--action",
            "investigate",
            "--note",
            "Vendor called.",
        ],
    )
    assert resolved.exit_code == 0, resolved.output
    rules = runner.invoke(cli, [*home, "monitor", "rule", "list", "--json"])
    assert rules.exit_code == 0 and '"finding": "pneumothorax"' in rules.output
    bad = runner.invoke(cli, [*home, "monitor", "run", "--every", "soon"])
    assert bad.exit_code == 2 and "--every" in bad.output
