"""The audit trail: append-only in the database, hash-chained, verifiable, exportable."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import threading
from importlib import import_module
from pathlib import Path

import pytest
import typer
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

import radassure.db.security  # noqa: F401  (registers the tables until db/__init__ does)
from radassure.cli.security import audit_app, user_app
from radassure.config import Settings
from radassure.db import session_scope
from radassure.db.security import GENESIS_HASH, AuditEvent
from radassure.errors import PermissionDeniedError
from radassure.services import Store
from radassure.services.audit import (
    AuditFilter,
    event_hash,
    export,
    list_events,
    record,
    verify,
)
from radassure.services.auth import Actor, permissions_of, system_actor

ADMIN = system_actor("cli:test")
# The module, not the ``main`` function that radassure.cli re-exports under that name.
cli_main = import_module("radassure.cli.main")
T0 = dt.datetime(2026, 3, 2, 8, 0, 0)
_T = AuditEvent.__table__


def write_events(store: Store, n: int) -> None:
    for i in range(n):
        with session_scope(store.engine) as s:
            record(
                s,
                ADMIN,
                "tool.changed",
                "ai_tool",
                i % 3 + 1,
                before={"status": "proposed", "i": i},
                after={"status": "evaluating", "note": "é ✓", "when": T0, "n": 0.1 * i},
                address="10.0.0.1",
                now=T0 + dt.timedelta(seconds=i),
            )


def drop_triggers(store: Store) -> None:
    with store.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("DROP TRIGGER audit_event_append_only ON audit_event"))
        else:
            conn.execute(text("DROP TRIGGER audit_event_no_update"))
            conn.execute(text("DROP TRIGGER audit_event_no_delete"))


def test_chain_verifies_and_values_round_trip(store: Store) -> None:
    assert verify(store).ok and verify(store).checked == 0
    write_events(store, 7)
    report = verify(store)
    assert report.ok and report.checked == 7 and report.last_id == 7
    assert report.last_hash is not None and report.last_hash in report.message
    with store.engine.connect() as conn:
        first = conn.execute(select(_T).where(_T.c.id == 1)).one()
    assert first.prev_hash == GENESIS_HASH
    assert first.after == {"status": "evaluating", "note": "é ✓", "when": T0.isoformat(), "n": 0.0}
    assert event_hash(first._asdict()) == first.hash


def test_the_database_refuses_to_change_or_delete_events(store: Store) -> None:
    write_events(store, 3)
    for statement in (
        update(_T).where(_T.c.id == 2).values(actor="someone else"),
        delete(_T).where(_T.c.id == 2),
    ):
        with pytest.raises(DBAPIError, match="append-only"), store.engine.begin() as conn:
            conn.execute(statement)
    if store.engine.dialect.name == "postgresql":
        with pytest.raises(DBAPIError, match="append-only"), store.engine.begin() as conn:
            conn.execute(text("TRUNCATE audit_event"))
    assert verify(store).ok


def test_an_edit_behind_the_triggers_back_is_named(store: Store) -> None:
    write_events(store, 6)
    drop_triggers(store)
    with store.engine.begin() as conn:
        conn.execute(update(_T).where(_T.c.id == 4).values(after={"status": "live"}))
    report = verify(store)
    assert not report.ok
    assert (report.broken_id, report.problem, report.checked) == (4, "hash", 3)
    assert "Audit event 4 (tool.changed by cli:test" in report.message
    assert "changed after it was written" in report.message


def test_a_deleted_event_is_named_by_the_next_ones_prev_hash(store: Store) -> None:
    write_events(store, 6)
    drop_triggers(store)
    with store.engine.begin() as conn:
        conn.execute(delete(_T).where(_T.c.id == 3))
    report = verify(store)
    assert (report.ok, report.broken_id, report.problem) == (False, 4, "prev_hash")
    assert "does not follow event 2 (ids jump from 2 to 4)" in report.message


def test_a_rewritten_event_with_a_recomputed_hash_still_shows(store: Store) -> None:
    write_events(store, 5)
    drop_triggers(store)
    with store.engine.begin() as conn:
        row = conn.execute(select(_T).where(_T.c.id == 2)).one()._asdict()
        row["after"] = {"status": "approved"}
        row["hash"] = event_hash(row)
        conn.execute(update(_T).where(_T.c.id == 2).values(after=row["after"], hash=row["hash"]))
    report = verify(store)
    assert (report.broken_id, report.problem) == (3, "prev_hash")


def test_concurrent_writers_keep_one_unbroken_chain(store: Store) -> None:
    errors: list[BaseException] = []

    def writer(k: int) -> None:
        try:
            for i in range(8):
                with session_scope(store.engine) as s:
                    record(s, ADMIN, "test.append", "thread", k, after={"i": i})
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    report = verify(store)
    assert report.ok and report.checked == 32 and report.last_id == 32


def test_export_is_audited_and_reverifiable_from_the_file_alone(store: Store) -> None:
    write_events(store, 4)
    csv_text = "".join(export(store, ADMIN, "csv", address="10.9.9.9"))
    rows = list(csv.DictReader(io.StringIO(csv_text)))
    assert [r["action"] for r in rows][-1] == "audit.exported"  # the export saw itself
    assert rows[-1]["address"] == "10.9.9.9"
    prev = GENESIS_HASH
    for r in rows:
        fields: dict[str, object] = dict(r)
        fields["id"] = int(r["id"])
        fields["at"] = dt.datetime.fromisoformat(r["at"])
        fields["before"], fields["after"] = json.loads(r["before"]), json.loads(r["after"])
        for key in ("address", "entity_id"):
            fields[key] = r[key] or None
        assert r["prev_hash"] == prev and event_hash(fields) == r["hash"]
        prev = r["hash"]
    lines = "".join(export(store, ADMIN, "jsonl")).splitlines()
    assert len(lines) == 6 and json.loads(lines[0])["after"]["status"] == "evaluating"
    with pytest.raises(ValueError, match="xml"):
        export(store, ADMIN, "xml")


def test_listing_filters_pages_and_needs_audit_read(store: Store) -> None:
    write_events(store, 9)
    page = list_events(store, ADMIN, AuditFilter(entity="ai_tool", entity_id="1"), page_size=2)
    assert [e.id for e in page.events] == [7, 4] and page.has_next
    page2 = list_events(
        store, ADMIN, AuditFilter(entity="ai_tool", entity_id="1"), page=2, page_size=2
    )
    assert [e.id for e in page2.events] == [1] and not page2.has_next
    window = AuditFilter(since=T0 + dt.timedelta(seconds=2), until=T0 + dt.timedelta(seconds=4))
    assert [e.id for e in list_events(store, ADMIN, window).events] == [4, 3]
    assert page.events[0].to_dict()["at"] == "2026-03-02T08:00:06.000000"
    viewer = Actor("vic", "user", "viewer", 9, permissions_of("viewer"))
    with pytest.raises(PermissionDeniedError):
        list_events(store, viewer)
    with pytest.raises(PermissionDeniedError):
        export(store, viewer, "csv")


@pytest.fixture
def run_cli(store: Store, settings: Settings, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("RADASSURE_DATABASE_URL", settings.resolved_database_url())
    monkeypatch.setitem(cli_main._state, "home", settings.home)
    root = typer.Typer()
    root.add_typer(user_app, name="user")
    root.add_typer(audit_app, name="audit")
    runner = CliRunner()

    def run(*args: str, code: int = 0, stdin: str | None = None) -> str:
        result = runner.invoke(root, list(args), input=stdin)
        assert result.exit_code == code, result.output
        return result.output

    return run


def test_cli_verify_and_export(run_cli, store: Store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run_cli(
        "user",
        "add",
        "ann",
        "--role",
        "reporter",
        "--password-stdin",
        stdin="correct horse battery staple\n",
    )
    assert "intact: 1 events" in run_cli("audit", "verify")
    assert json.loads(run_cli("audit", "verify", "--json"))["ok"] is True
    target = tmp_path / "trail.jsonl"
    run_cli("audit", "export", "--format", "jsonl", "--output", str(target))
    assert target.stat().st_mode & 0o077 == 0
    assert [json.loads(x)["action"] for x in target.read_text().splitlines()] == [
        "user.added",
        "audit.exported",
    ]
    assert run_cli("audit", "export").startswith("id,at,actor,")
    drop_triggers(store)
    with store.engine.begin() as conn:
        conn.execute(update(_T).where(_T.c.id == 2).values(actor="nobody"))
    output = run_cli("audit", "verify", code=1)
    assert "Audit event 2" in output
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(_T)).scalar_one() == 3
