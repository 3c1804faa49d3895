"""Every change to the registry, the data and the runs leaves one audit event (issue 6).

Each changing service takes an Actor, checks its permission itself and writes
its audit event in the same transaction as the change, so the two commit or
roll back together; the chain stays verifiable throughout.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from typer.testing import CliRunner

from radassure.api import create_app
from radassure.cli.main import app as cli_app
from radassure.config import Settings
from radassure.db import IngestLog, Study, session_scope
from radassure.db.security import AuditEvent
from radassure.errors import ConflictError, DataValidationError, PermissionDeniedError
from radassure.services import (
    ClaimInfo,
    Store,
    _ingest_transaction,
    add_claim,
    add_site,
    add_tool,
    add_version,
    get_tool,
    ingest_csv,
    ingest_records,
    init_store,
    open_store,
    registry,
    set_status,
)
from radassure.services.audit import verify
from radassure.services.auth import Actor, permissions_of, system_actor
from radassure.services.equity import run_equity
from radassure.services.validation import run_validation

LEAD = Actor("lee", "user", "clinical_lead", 7, permissions_of("clinical_lead"))
REPORTER = Actor("rita", "user", "reporter", 8, permissions_of("reporter"))
SYSTEM = system_actor("cli:test")
RAW_PATIENT, RAW_STUDY = "9434765919", "ACC-20250101-7788"  # must never reach the trail


def events(store: Store) -> list[AuditEvent]:
    with session_scope(store.engine) as s:
        rows = list(s.scalars(select(AuditEvent).order_by(AuditEvent.id)))
        s.expunge_all()
        return rows


def only_new(store: Store, before: int) -> AuditEvent:
    """The single event written since there were ``before`` events."""
    new = events(store)[before:]
    assert len(new) == 1, [(e.action, e.entity_id) for e in new]
    return new[0]


def n_events(store: Store) -> int:
    return len(events(store))


def test_each_registry_change_leaves_one_event_with_before_and_after(store: Store) -> None:
    n = n_events(store)
    add_site(store, "RXH01", "Royal Example", actor=LEAD, address="10.0.0.5")
    e = only_new(store, n)
    assert (e.action, e.entity, e.actor, e.actor_kind, e.address) == (
        "site.added", "site", "lee", "user", "10.0.0.5",
    )  # fmt: skip
    assert e.before is None and e.after == {"code": "RXH01", "name": "Royal Example"}

    n = n_events(store)
    add_site(store, "RXH01", "Royal Example", actor=LEAD)  # no change, no event
    assert n_events(store) == n

    add_tool(store, name="ChestAI", manufacturer="Acme", task="classification", modality="dx",
             actor=LEAD)  # fmt: skip
    e = only_new(store, n)
    assert e.action == "tool.added" and e.before is None
    assert e.after["name"] == "ChestAI" and e.after["status"] == "proposed"
    assert e.after["modality"] == "DX" and e.after["manufacturer"] == "Acme"
    assert get_tool(store, "ChestAI").status_history[0].changed_by == "lee"

    n = n_events(store)
    set_status(store, "ChestAI", "evaluating", actor=LEAD, reason="local validation")
    e = only_new(store, n)
    assert (e.action, e.entity) == ("tool.status_changed", "tool")
    assert e.before == {"status": "proposed"}
    assert e.after == {"status": "evaluating", "reason": "local validation"}

    n = n_events(store)
    add_version(store, "ChestAI", "2.1", operating_threshold=0.4, actor=LEAD)
    e = only_new(store, n)
    assert (e.action, e.entity, e.before) == ("version.added", "tool_version", None)
    assert e.after["tool"] == "ChestAI" and e.after["version"] == "2.1"
    assert e.after["operating_threshold"] == pytest.approx(0.4)

    n = n_events(store)
    first = ClaimInfo("sensitivity", 0.9, "", 0.85, 0.94, 0.95, "IFU 3.2")
    add_claim(store, "ChestAI", "2.1", first, actor=LEAD)
    e = only_new(store, n)
    assert e.action == "claim.added" and e.before is None
    assert e.after["value"] == pytest.approx(0.9) and e.after["source_document"] == "IFU 3.2"

    n = n_events(store)
    add_claim(store, "ChestAI", "2.1", ClaimInfo("sensitivity", 0.92), actor=LEAD)
    e = only_new(store, n)
    assert e.action == "claim.replaced"
    assert e.before["value"] == pytest.approx(0.9) and e.before["ci_low"] == pytest.approx(0.85)
    assert e.after["value"] == pytest.approx(0.92) and e.after["ci_low"] is None

    report = verify(store)
    assert report.ok and report.checked == n_events(store)


def test_refused_changes_write_nothing(store: Store) -> None:
    add_site(store, "S1", actor=LEAD)
    add_tool(store, name="T", manufacturer="M", task="classification", actor=LEAD)
    add_version(store, "T", "1", actor=LEAD)
    n = n_events(store)
    with pytest.raises(ConflictError):
        set_status(store, "T", "live", actor=LEAD)  # proposed -> live is not allowed
    with pytest.raises(ConflictError):
        add_version(store, "T", "1", actor=LEAD)
    with pytest.raises(ValueError, match="Status 'paused'"):
        set_status(store, "T", "paused", actor=LEAD)
    assert n_events(store) == n
    assert get_tool(store, "T").status == "proposed"


def test_a_reporter_is_refused_by_the_services_themselves(store: Store, tmp_path: Path) -> None:
    add_site(store, "S1", actor=LEAD)
    add_tool(store, name="T", manufacturer="M", task="classification", actor=LEAD)
    add_version(store, "T", "1", actor=LEAD)
    csv = tmp_path / "studies.csv"
    csv.write_text("patient_id,study_id,site,acquired_at,modality\nP1,S1,S1,2025-01-02,DX\n")
    n = n_events(store)
    attempts: list[Callable[[], Any]] = [
        lambda: add_site(store, "S2", actor=REPORTER),
        lambda: add_tool(store, name="U", manufacturer="M", task="detection", actor=REPORTER),
        lambda: set_status(store, "T", "evaluating", actor=REPORTER, reason="mine"),
        lambda: add_version(store, "T", "2", actor=REPORTER),
        lambda: add_claim(store, "T", "1", ClaimInfo("auc", 0.9), actor=REPORTER),
        lambda: ingest_csv(store, "studies", csv, actor=REPORTER),
        lambda: ingest_records(store, "studies", [{"patient_id": "P"}], actor=REPORTER),
        lambda: run_validation(store, "T", "1", actor=REPORTER),
        lambda: run_equity(store, "T", "1", actor=REPORTER),
    ]
    for attempt in attempts:
        with pytest.raises(PermissionDeniedError, match=r"rita \(reporter\) may not"):
            attempt()
    assert n_events(store) == n
    tool = get_tool(store, "T")
    assert tool.status == "proposed" and [v.version for v in tool.versions] == ["1"]
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Study)).scalar_one() == 0


def _studies(n: int) -> list[dict[str, Any]]:
    return [
        {"patient_id": f"{RAW_PATIENT}{i}", "study_id": f"{RAW_STUDY}-{i}", "site": "S1",
         "acquired_at": f"2025-01-{1 + i:02d}T09:00:00", "modality": "DX", "sex": "FM"[i % 2]}
        for i in range(n)
    ]  # fmt: skip


def test_one_event_per_ingestion_with_counts_and_fingerprint(store: Store) -> None:
    add_site(store, "S1", actor=LEAD)
    n = n_events(store)
    summary = ingest_records(store, "studies", _studies(5), actor=LEAD, address="10.1.1.1")
    e = only_new(store, n)
    assert (e.action, e.entity, e.address) == ("ingest.accepted", "ingest_log", "10.1.1.1")
    with session_scope(store.engine) as s:
        log = s.scalars(select(IngestLog)).one()
        assert e.entity_id == str(log.id) and log.actor == "lee"
    assert e.after["kind"] == "studies" and e.after["source"] == "request"
    assert e.after["rows"] == 5 and e.after["inserted"] == 5 and e.after["unchanged"] == 0
    assert e.after["sha256"] == summary.sha256 and len(summary.sha256) == 64

    n = n_events(store)
    ingest_records(store, "studies", _studies(5), actor=LEAD)  # idempotent re-run
    e = only_new(store, n)
    assert e.after["inserted"] == 0 and e.after["unchanged"] == 5
    assert e.after["sha256"] == summary.sha256
    assert verify(store).ok


def test_a_rejected_ingestion_leaves_no_data_and_no_success_event(
    store: Store, tmp_path: Path
) -> None:
    add_site(store, "S1", actor=LEAD)
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "patient_id,study_id,site,acquired_at,modality\n"
        f"{RAW_PATIENT},{RAW_STUDY},S1,2025-01-02,DX\n"
        f"{RAW_PATIENT}2,{RAW_STUDY}2,NOPE,2025-01-02,DX\n"
        f"{RAW_PATIENT}3,{RAW_STUDY}3,S1,not-a-date,DX\n"
    )
    n = n_events(store)
    with pytest.raises(DataValidationError):
        ingest_csv(store, "studies", bad, actor=LEAD)
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Study)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(IngestLog)).scalar_one() == 0
    e = only_new(store, n)
    assert e.action == "ingest.rejected" and e.entity_id is None
    assert e.after["source"] == "bad.csv" and e.after["problems"] >= 2
    assert set(e.after["columns"]) >= {"site", "acquired_at"}
    assert verify(store).ok


def test_no_raw_identifier_reaches_the_audit_trail(store: Store) -> None:
    add_site(store, "S1", actor=LEAD)
    ingest_records(store, "studies", _studies(3), actor=LEAD)
    with pytest.raises(DataValidationError):
        ingest_records(store, "studies", [{**_studies(1)[0], "sex": "?"}], actor=LEAD,
                       on_conflict="error")  # fmt: skip
    with store.engine.connect() as conn:
        dump = repr(conn.execute(text("SELECT * FROM audit_event")).all())
    assert "ingest.rejected" in dump
    assert RAW_PATIENT not in dump and RAW_STUDY not in dump


def _department(store: Store) -> None:
    add_site(store, "S1", actor=LEAD)
    add_tool(store, name="T", manufacturer="M", task="classification", actor=LEAD)
    add_version(store, "T", "1", operating_threshold=0.5, actor=LEAD)
    ingest_records(store, "studies", _studies(24), actor=LEAD)
    ingest_records(store, "results", [
        {"tool": "T", "version": "1", "study_id": f"{RAW_STUDY}-{i}", "finding": "nodule",
         "score": (i % 12) / 12}
        for i in range(24)
    ], actor=LEAD)  # fmt: skip
    ingest_records(store, "references", [
        {"study_id": f"{RAW_STUDY}-{i}", "finding": "nodule", "label": int(i % 12 >= 5),
         "source": "report"}
        for i in range(24)
    ], actor=LEAD)  # fmt: skip


def test_a_saved_run_leaves_one_event_naming_its_data(store: Store) -> None:
    _department(store)
    n = n_events(store)
    run = run_validation(store, "T", "1", actor=LEAD, address="10.2.2.2")
    e = only_new(store, n)
    assert (e.action, e.entity, e.entity_id) == ("run.created", "run", str(run.id))
    assert e.after["kind"] == "validation" and e.after["tool"] == "T"
    assert e.after["data_fingerprint"] == run.data_fingerprint and e.after["n_rows"] == 24
    assert e.at == run.created_at and run.created_by == "lee"
    assert verify(store).ok


def test_at_back_dates_the_change_and_its_event(store: Store) -> None:
    when = dt.datetime(2024, 7, 1, 10, 0)
    n = n_events(store)
    add_tool(store, name="Old", manufacturer="M", task="detection", actor=SYSTEM, at=when)
    e = only_new(store, n)
    assert e.at == when and e.actor == "cli:test" and e.actor_kind == "system"
    later = dt.datetime(2024, 8, 1, 9, 30)
    set_status(store, "Old", "evaluating", actor=SYSTEM, at=later)
    history = get_tool(store, "Old").status_history
    assert [h.changed_at for h in history] == [when, later]
    assert verify(store).ok


def test_set_status_joins_the_callers_transaction(store: Store) -> None:
    add_tool(store, name="T", manufacturer="M", task="classification", status="live", actor=LEAD)
    n = n_events(store)

    class AbortError(Exception):
        pass

    with pytest.raises(AbortError), session_scope(store.engine) as s:
        info = set_status(store, "T", "suspended", actor=LEAD, reason="alert 3", session=s)
        assert info.status == "suspended" and info.status_history[-1].reason == "alert 3"
        raise AbortError  # the caller's later step fails: the move and its event roll back
    assert get_tool(store, "T").status == "live" and n_events(store) == n
    with session_scope(store.engine) as s:
        set_status(store, "T", "suspended", actor=LEAD, reason="alert 3", session=s)
    assert get_tool(store, "T").status == "suspended"
    assert only_new(store, n).action == "tool.status_changed"


@pytest.fixture
def client(settings: Settings, auth_headers: Callable[..., dict[str, str]]) -> Iterator[TestClient]:
    init_store(settings)
    with TestClient(create_app(settings), headers=auth_headers(settings)) as c:
        yield c


def test_the_api_audits_the_token_and_address(client: TestClient, settings: Settings) -> None:
    assert client.post("/api/sites", json={"code": "S1", "name": "One"}).status_code == 201
    r = client.post("/api/ingest/studies", json={"records": _studies(2)})
    assert r.status_code == 200, r.text
    st = open_store(settings)
    try:
        trail = [e for e in events(st) if e.action in ("site.added", "ingest.accepted")]
    finally:
        st.dispose()
    assert [e.action for e in trail] == ["site.added", "ingest.accepted"]
    for e in trail:
        assert e.actor_kind == "token" and e.actor.startswith("test-")
        assert e.address == "testclient"  # what Starlette's test client reports as the peer


def test_the_cli_audits_the_login(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RADASSURE_DATABASE_URL", db_url)
    monkeypatch.setenv("USER", "alice")
    monkeypatch.setenv("LOGNAME", "alice")
    home = str(tmp_path / "home")
    runner = CliRunner()
    for args in (
        ["init"],
        ["site", "add", "S1"],
        ["tool", "add", "T", "--manufacturer", "M", "--task", "classification"],
        ["tool", "status", "T", "evaluating", "--by", "Dr Who"],
    ):
        result = runner.invoke(cli_app, ["--home", home, *args])
        assert result.exit_code == 0, result.output
    store = open_store(Settings(home=tmp_path / "home", database_url=db_url))
    try:
        trail = events(store)
        assert [e.action for e in trail] == ["site.added", "tool.added", "tool.status_changed"]
        assert {e.address for e in trail} == {"cli"}
        assert [e.actor for e in trail] == ["cli:alice", "cli:alice", "Dr Who (cli:alice)"]
        assert get_tool(store, "T").status_history[-1].changed_by == "Dr Who (cli:alice)"
        assert verify(store).ok
    finally:
        store.dispose()


def test_a_change_whose_event_fails_is_rolled_back(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The event is written in the change's own transaction: both or neither."""

    def broken(*args: Any, **kwargs: Any) -> int:
        raise RuntimeError("audit store unavailable")

    add_site(store, "S1", actor=LEAD)
    monkeypatch.setattr(registry, "record", broken)
    monkeypatch.setattr(_ingest_transaction, "record", broken)
    with pytest.raises(RuntimeError):
        add_tool(store, name="T", manufacturer="M", task="classification", actor=LEAD)
    with pytest.raises(RuntimeError):
        ingest_records(store, "studies", _studies(4), actor=LEAD)
    with store.engine.connect() as conn:
        for table in ("ai_tool", "tool_status_change", "study", "ingest_log"):
            assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() == 0, table
    assert [e.action for e in events(store)] == ["site.added"]
