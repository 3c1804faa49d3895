"""Human oversight: review queue, agreement and override, discrepancies, adjudication, imports."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select, text

import radassure.db.security  # noqa: F401  (registers the tables until db/__init__ does)
from radassure.db import AIResult, Reference, Study
from radassure.db.security import AuditEvent, Review
from radassure.errors import ConflictError, DataValidationError, NotFoundError
from radassure.errors import PermissionDeniedError as Denied
from radassure.services import (
    Store,
    _users,
    add_site,
    add_tool,
    add_version,
    ingest_records,
)
from radassure.services.audit import verify
from radassure.services.auth import Actor, add_user, authenticate, system_actor
from radassure.services.oversight import (
    adjudicate,
    discrepancy_queue,
    ingest_reviews,
    queue_for_review,
    record_review,
)

ADMIN = system_actor("cli:test")
PASSWORDS = {
    "ann": "ann's long passphrase",
    "bob": "bob's long passphrase",
    "lee": "lee's long passphrase",
    "kim": "kim's long passphrase",
    "vic": "vic's long passphrase",
}
ROLES = {
    "ann": "reporter",
    "bob": "reporter",
    "lee": "clinical_lead",
    "kim": "clinical_lead",
    "vic": "viewer",
}
T0 = dt.datetime(2026, 3, 2, 8, 0, 0)


@pytest.fixture(autouse=True)
def quick_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_users, "hasher", PasswordHasher(time_cost=1, memory_cost=1024))


@pytest.fixture
def dept(store: Store) -> dict[str, Any]:
    """Two sites, a chest X-ray tool with six results and a wrist tool with one."""
    add_site(store, "S1", actor=ADMIN)
    add_site(store, "S2", actor=ADMIN)
    add_tool(store, name="CXR", manufacturer="Acme", task="classification", actor=ADMIN)
    add_version(store, "CXR", "1.0", operating_threshold=0.5, actor=ADMIN)
    add_tool(store, name="Wrist", manufacturer="Acme", task="detection", actor=ADMIN)
    add_version(store, "Wrist", "2.0", operating_threshold=0.5, actor=ADMIN)
    ingest_records(
        store,
        "studies",
        [
            {
                "patient_id": f"P{i}",
                "study_id": f"A{i}",
                "site": "S1" if i <= 4 else "S2",
                "acquired_at": f"2026-01-0{i}T09:00:00",
                "modality": "DX",
            }
            for i in range(1, 8)
        ],
        actor=ADMIN,
    )
    ingest_records(
        store,
        "results",
        [
            {
                "tool": "CXR",
                "version": "1.0",
                "study_id": f"A{i}",
                "finding": "nodule",
                "score": score,
                "received_at": f"2026-01-0{i}T10:00:00",
            }
            for i, score in zip(range(1, 7), (0.9, 0.2, 0.7, 0.1, 0.8, 0.3), strict=True)
        ],
        actor=ADMIN,
    )
    ingest_records(
        store,
        "results",
        [
            {
                "tool": "Wrist",
                "version": "2.0",
                "study_id": "A7",
                "finding": "fracture",
                "score": 0.91,
                "localisations": [{"x": 1, "y": 2, "score": 0.91, "region": "radius"}],
            }
        ],
        actor=ADMIN,
    )
    ingest_records(
        store,
        "references",
        [
            {"study_id": "A2", "finding": "nodule", "label": 0, "source": "report"},
        ],
        actor=ADMIN,
    )
    people = {}
    for name, role in ROLES.items():
        add_user(store, ADMIN, name, PASSWORDS[name], role)
        people[name] = authenticate(store, name, PASSWORDS[name], "10.0.0.1")
    with store.engine.connect() as conn:
        ids = dict(
            conn.execute(
                select(Study.study_key, AIResult.id).join(Study, Study.id == AIResult.study_id)
            ).all()
        )
    results = {f"A{i}": ids[store.pseudonymiser.study(f"A{i}")] for i in range(1, 8)}
    return {"store": store, "people": people, "results": results}


def audit_rows(store: Store, action: str) -> list[Any]:
    table = AuditEvent.__table__
    with store.engine.connect() as conn:
        return list(
            conn.execute(select(table).where(table.c.action == action).order_by(table.c.id))
        )


def count_reviews(store: Store) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(Review)).scalar_one())


def test_queue_shows_unreviewed_results_newest_first(dept: dict[str, Any]) -> None:
    store, p, r = dept["store"], dept["people"], dept["results"]
    queue = queue_for_review(store, "CXR", "1.0", p["ann"], limit=10)
    assert [q.result_id for q in queue] == [r[f"A{i}"] for i in (6, 5, 4, 3, 2, 1)]
    first = queue[0]
    assert (first.site, first.finding, first.score, first.call) == ("S2", "nodule", 0.3, False)
    assert first.study_key == store.pseudonymiser.study("A6")  # never the raw identifier
    assert [
        q.result_id for q in queue_for_review(store, "CXR", "1.0", p["ann"], limit=10, site="S1")
    ] == [r[f"A{i}"] for i in (4, 3, 2, 1)]
    page = queue_for_review(store, "CXR", "1.0", p["ann"], limit=2, before_id=queue[1].result_id)
    assert [q.result_id for q in page] == [r["A4"], r["A3"]]
    record_review(store, p["ann"], r["A6"], "agree")
    assert r["A6"] not in [q.result_id for q in queue_for_review(store, "CXR", "1.0", p["ann"])]
    assert r["A6"] in [q.result_id for q in queue_for_review(store, "CXR", "1.0", p["bob"])]
    (wrist,) = queue_for_review(store, "Wrist", "2.0", p["ann"])
    assert wrist.findings_summary == "1 mark, top score 0.91 (radius)"
    with pytest.raises(NotFoundError, match="no version '9'"):
        queue_for_review(store, "CXR", "9", p["ann"])
    with pytest.raises(Denied):
        queue_for_review(store, "CXR", "1.0", p["vic"])


def test_agree_and_disagree_are_validated_and_audited(dept: dict[str, Any]) -> None:
    store, p, r = dept["store"], dept["people"], dept["results"]
    agreed = record_review(
        store, p["ann"], r["A1"], "agree", seconds_taken=14.5, address="10.2.3.4", now=T0
    )
    assert (agreed.reviewer, agreed.reporter_final_call, agreed.source) == ("ann", True, "app")
    over = record_review(
        store,
        p["ann"],
        r["A3"],
        "disagree",
        reason="ai_false_positive",
        comment="scar, not a nodule",
    )
    assert over.reporter_final_call is False
    bad = [
        (r["A2"], "agree", {"reason": "other"}, "give no reason"),
        (r["A2"], "disagree", {}, "needs a reason"),
        (r["A2"], "disagree", {"reason": "ai_false_positive"}, "cannot be a false positive"),
        (r["A1"], "disagree", {"reason": "ai_false_negative"}, "cannot be a false negative"),
        (r["A2"], "disagree", {"reason": "other"}, "comment"),
        (r["A2"], "maybe", {}, "not one of"),
        (r["A2"], "agree", {"final_call": True}, "contradicts"),
        (r["A2"], "agree", {"seconds_taken": -1.0}, "seconds"),
    ]
    for result_id, decision, extra, message in bad:
        with pytest.raises(ValueError, match=message):
            record_review(store, p["bob"], result_id, decision, **extra)
    with pytest.raises(ConflictError, match="already reviewed"):
        record_review(store, p["ann"], r["A1"], "disagree", reason="ai_false_positive")
    with pytest.raises(NotFoundError):
        record_review(store, p["ann"], 999_999, "agree")
    with pytest.raises(Denied, match="viewer"):
        record_review(store, p["vic"], r["A2"], "agree")
    with pytest.raises(ValueError, match="named person"):
        record_review(store, ADMIN, r["A2"], "agree")
    assert count_reviews(store) == 2
    events = audit_rows(store, "review.recorded")
    assert [(e.actor, e.entity, e.entity_id) for e in events] == [
        ("ann", "review", str(agreed.id)),
        ("ann", "review", str(over.id)),
    ]
    assert events[0].address == "10.2.3.4" and events[0].at == T0
    assert events[1].after["reason"] == "ai_false_positive" and events[1].before is None


def test_discrepancies_are_adjudicated_into_the_reference(dept: dict[str, Any]) -> None:
    store, p, r = dept["store"], dept["people"], dept["results"]
    record_review(store, p["ann"], r["A1"], "agree")
    d1 = record_review(store, p["ann"], r["A2"], "disagree", reason="ai_false_negative")
    d2 = record_review(store, p["bob"], r["A5"], "disagree", reason="other", comment="artefact")
    d3 = record_review(store, p["lee"], r["A7"], "disagree", reason="ai_false_positive")
    queue = discrepancy_queue(store, p["lee"])
    assert [d.review_id for d in queue] == [d1.id, d2.id, d3.id]
    assert (queue[0].reference_label, queue[0].reference_source) == (False, "report")
    assert [d.review_id for d in discrepancy_queue(store, p["lee"], "Wrist")] == [d3.id]
    with pytest.raises(Denied):
        discrepancy_queue(store, p["ann"])
    with pytest.raises(ConflictError, match="your own"):
        adjudicate(store, p["lee"], d3.id, False)
    # A2: the report said negative; the lead rules positive and replaces the reference.
    ruling = adjudicate(
        store,
        p["lee"],
        d1.id,
        True,
        note="nodule on lateral view",
        make_reference=True,
        address="10.5.5.5",
        now=T0,
    )
    assert ruling.became_reference and ruling.reference_before is not None
    assert (ruling.reference_before["label"], ruling.reference_before["source"]) == (
        False,
        "report",
    )
    assert ruling.reference_after is not None and ruling.reference_after["label"] is True
    # A5 had no reference: one is created.
    adjudicate(store, p["kim"], d2.id, False, make_reference=True, now=T0)
    adjudicate(store, p["kim"], d3.id, True)  # a ruling without touching the reference
    with pytest.raises(ConflictError, match="already adjudicated"):
        adjudicate(store, p["kim"], d1.id, True)
    assert discrepancy_queue(store, p["lee"]) == []
    with store.engine.connect() as conn:
        refs = {
            key: (label, source)
            for key, label, source in conn.execute(
                select(Study.study_key, Reference.label, Reference.source).join(
                    Study, Study.id == Reference.study_id
                )
            )
        }
    key = store.pseudonymiser.study
    assert refs == {key("A2"): (True, "consensus"), key("A5"): (False, "consensus")}
    updated = audit_rows(store, "reference.updated")
    assert len(updated) == 1 and updated[0].address == "10.5.5.5"
    assert updated[0].before["label"] is False and updated[0].before["source"] == "report"
    assert updated[0].after["label"] is True and updated[0].after["source"] == "consensus"
    assert updated[0].after["adjudication_id"] == ruling.id
    (created,) = audit_rows(store, "reference.created")
    assert created.before is None and created.after["label"] is False
    assert [e.actor for e in audit_rows(store, "review.adjudicated")] == ["lee", "kim", "kim"]
    assert verify(store).ok


def test_bulk_reviews_are_all_or_nothing(dept: dict[str, Any]) -> None:
    store, r = dept["store"], dept["results"]
    records: list[dict[str, Any]] = [
        {"result_id": r["A1"], "reviewer": "ann", "decision": "agree", "seconds_taken": "12"},
        {
            "result_id": r["A2"],
            "reviewer": "bob",
            "decision": "disagree",
            "reason": "ai_false_negative",
            "final_call": "positive",
            "reviewed_at": "2026-01-02T11:00:00",
        },
        {"result_id": r["A3"], "reviewer": "lee", "decision": "agree"},
    ]
    bad = [
        *records,
        {"result_id": 987_654, "reviewer": "ann", "decision": "agree"},
        {"result_id": r["A4"], "reviewer": "vic", "decision": "agree"},
        {"result_id": r["A4"], "reviewer": "ann", "decision": "agree", "colour": "red"},
        {"result_id": r["A1"], "reviewer": "ann", "decision": "agree"},
        {"result_id": "x", "reviewer": "ann", "decision": "agree"},
    ]
    with pytest.raises(DataValidationError) as info:
        ingest_reviews(store, ADMIN, bad, source="ris-export.json")
    found = {(p.row, p.column) for p in info.value.problems}
    assert found == {(3, "result_id"), (4, "reviewer"), (5, "colour"), (6, None), (7, "result_id")}
    message = str(info.value)
    assert "ris-export.json, record 3, column 'result_id': no AI result with id 987654" in message
    assert "nothing was written" in message
    assert count_reviews(store) == 0
    summary = ingest_reviews(store, ADMIN, records, source="ris-export.json")
    assert (summary.rows, summary.inserted, summary.unchanged) == (3, 3, 0)
    again = ingest_reviews(store, ADMIN, records)
    assert (again.inserted, again.unchanged) == (0, 3)
    changed = [{**records[0], "decision": "disagree", "reason": "ai_false_positive"}]
    with pytest.raises(DataValidationError, match="already reviewed result"):
        ingest_reviews(store, ADMIN, changed)
    with pytest.raises(DataValidationError, match="no records"):
        ingest_reviews(store, ADMIN, [])
    with pytest.raises(Denied):
        ingest_reviews(store, dept["people"]["ann"], records)
    with store.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT source, reporter_final_call, created_at FROM review ORDER BY id")
        ).all()
    assert [row[0] for row in rows] == ["import"] * 3
    assert bool(rows[1][1]) is True
    assert str(rows[1][2]).startswith("2026-01-02 11:00:00")
    (imported, _) = audit_rows(store, "review.imported")
    assert imported.after["inserted"] == 3 and imported.after["sha256"] == summary.sha256
    assert imported.actor == "cli:test"


def test_token_reviewer_is_the_tokens_user(dept: dict[str, Any]) -> None:
    from radassure.services.auth import authenticate_token, create_token

    store, r = dept["store"], dept["results"]
    token = create_token(store, ADMIN, "ris-bridge", "bob")
    actor: Actor = authenticate_token(store, token.token)
    review = record_review(store, actor, r["A4"], "agree")
    assert review.reviewer == "bob"
    (event,) = audit_rows(store, "review.recorded")
    assert (event.actor, event.actor_kind) == ("ris-bridge", "token")
