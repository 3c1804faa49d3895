"""Registry: tools, versions, claims, lifecycle status with history; store set-up."""

from __future__ import annotations

import datetime as dt
import os
import stat
from pathlib import Path

import pytest

from radassure.config import Settings
from radassure.errors import ConfigurationError, ConflictError, NotFoundError
from radassure.services import (
    ClaimInfo,
    Store,
    add_claim,
    add_site,
    add_tool,
    add_version,
    get_tool,
    init_store,
    list_sites,
    list_tools,
    open_store,
    set_status,
    tool_counts,
)
from radassure.services.auth import system_actor


def test_tool_with_regulatory_fields_versions_and_claims(store: Store) -> None:
    add_tool(
        store,
        name="ChestAI",
        manufacturer="Acme Medical",
        task="classification",
        product="Acme CXR",
        intended_use="Triage of adult chest radiographs",
        modality="dx",
        body_part="CHEST",
        clinical_pathway="Urgent CXR reporting",
        regulatory_marking="UKCA",
        device_class="IIa",
        mhra_reference="MHRA-123",
        udi_di="05060000000001",
        clinical_owner="Dr A Lead",
        actor=system_actor("ai.lead"),
    )
    add_version(
        store,
        "ChestAI",
        "2.1",
        deployment_date=dt.date(2025, 3, 1),
        operating_threshold=0.45,
        actor=system_actor("test"),
    )
    add_claim(
        store,
        "ChestAI",
        "2.1",
        ClaimInfo("sensitivity", 0.92, "pneumothorax", 0.89, 0.94, 0.95, "IFU 3.2 s7"),
        actor=system_actor("test"),
    )
    add_claim(
        store,
        "ChestAI",
        "2.1",
        ClaimInfo("sensitivity", 0.93, "pneumothorax"),
        actor=system_actor("test"),
    )
    tool = get_tool(store, "ChestAI")
    assert (tool.modality, tool.regulatory_marking, tool.status) == ("DX", "UKCA", "proposed")
    (version,) = tool.versions
    assert version.operating_threshold == 0.45 and version.deployment_date == dt.date(2025, 3, 1)
    assert [(c.metric, c.value) for c in version.claims] == [("sensitivity", 0.93)]  # replaced
    assert tool.status_history[0].changed_by == "ai.lead"
    assert tool.to_dict()["versions"][0]["deployment_date"] == "2025-03-01"
    assert [t.name for t in list_tools(store)] == ["ChestAI"]


def test_lifecycle_moves_are_checked_and_recorded(store: Store) -> None:
    add_tool(store, name="T", manufacturer="M", task="detection", actor=system_actor("test"))
    for status in ("evaluating", "approved", "live", "suspended", "live"):
        set_status(store, "T", status, actor=system_actor("lead"), reason=f"to {status}")
    with pytest.raises(
        ConflictError,
        match="cannot move from live to approved; from live it can move to: suspended, retired",
    ):
        set_status(store, "T", "approved", actor=system_actor("test"))
    set_status(store, "T", "retired", actor=system_actor("test"))
    with pytest.raises(ConflictError, match="retired is final"):
        set_status(store, "T", "live", actor=system_actor("test"))
    history = get_tool(store, "T").status_history
    assert [h.to_status for h in history] == [
        "proposed",
        "evaluating",
        "approved",
        "live",
        "suspended",
        "live",
        "retired",
    ]
    assert history[3].from_status == "approved" and history[3].reason == "to live"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"task": "triage"}, "Task 'triage' is not one of: classification, detection"),
        ({"task": "detection", "regulatory_marking": "FDA"}, "Regulatory marking 'FDA'"),
        ({"task": "detection", "device_class": "IV"}, "Device class 'IV'"),
        ({"task": "detection", "colour": "red"}, "Unknown tool field(s): colour"),
    ],
)
def test_bad_tool_fields_are_refused(store: Store, kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        add_tool(store, name="X", manufacturer="M", **kwargs, actor=system_actor("test"))  # type: ignore[arg-type]
    assert list_tools(store) == []


def test_duplicates_and_unknowns(store: Store) -> None:
    add_tool(store, name="T", manufacturer="M", task="detection", actor=system_actor("test"))
    with pytest.raises(ConflictError, match="already registered"):
        add_tool(store, name="T", manufacturer="M", task="detection", actor=system_actor("test"))
    add_version(store, "T", "1", actor=system_actor("test"))
    with pytest.raises(ConflictError, match="already has version '1'"):
        add_version(store, "T", "1", actor=system_actor("test"))
    with pytest.raises(
        NotFoundError, match=r"No tool named 'U' is registered\. Registered tools: T"
    ):
        add_version(store, "U", "1", actor=system_actor("test"))
    with pytest.raises(ValueError, match=r"outside the score range 0\.0 to 1\.0"):
        add_version(store, "T", "2", operating_threshold=5, actor=system_actor("test"))
    with pytest.raises(ValueError, match="lies outside its own interval"):
        add_claim(
            store, "T", "1", ClaimInfo("auc", 0.9, "", 0.91, 0.95), actor=system_actor("test")
        )
    assert add_site(store, "S1", "One", actor=system_actor("test")) == add_site(
        store, "S1", actor=system_actor("test")
    )
    with pytest.raises(ConflictError):
        add_site(store, "S1", "Another name", actor=system_actor("test"))
    assert [s.code for s in list_sites(store)] == ["S1"]


def test_counts_for_a_tool_without_data(store: Store) -> None:
    add_tool(store, name="T", manufacturer="M", task="classification", actor=system_actor("test"))
    add_version(store, "T", "1", actor=system_actor("test"))
    counts = tool_counts(store, "T")
    assert (counts.studies, counts.results, counts.by_version) == (0, 0, {"1": 0})


def test_init_creates_a_private_secret_and_is_rerunnable(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "h")
    first = init_store(settings)
    secret = settings.resolved_secret_file()
    assert first.secret_created and stat.S_IMODE(secret.stat().st_mode) == 0o600
    content = secret.read_text()
    second = init_store(settings)
    assert not second.secret_created and secret.read_text() == content
    assert second.revision_before == second.revision_after == first.revision_after


def test_open_store_refuses_uninitialised_or_exposed(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "h")
    with pytest.raises(ConfigurationError, match="Run `radassure init` first"):
        open_store(settings)
    init_store(settings)
    os.chmod(settings.resolved_secret_file(), 0o644)
    with pytest.raises(ConfigurationError, match="chmod 600"):
        open_store(settings)


def test_sqlite_runs_in_wal_mode_with_foreign_keys(sqlite_store: Store) -> None:
    with sqlite_store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
