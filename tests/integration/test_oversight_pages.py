"""The oversight page, the discrepancy queue and their JSON routes, through the real app.

Every test runs on SQLite and on PostgreSQL (the ``store`` fixture). Reviews are
read back from the database, never only from the page that wrote them.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from typing import Any, get_args

import pytest
from _oversight_data import csrf_of, hidden, seed, sign_in
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import select

import radassure.db.security  # noqa: F401  (registers the tables)
from radassure.api import create_app, oversight_schemas
from radassure.config import Settings
from radassure.db import Reference
from radassure.db.security import REVIEW_REASONS, ROLES, AuditEvent, Review
from radassure.services import Store, _users
from radassure.services.auth import create_token, system_actor
from radassure.web.oversight_pages import sign_shown

PAGE = "/oversight/CXR/1.0"


@pytest.fixture(autouse=True)
def quick_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_users, "hasher", PasswordHasher(time_cost=1, memory_cost=1024))


@pytest.fixture
def dept(store: Store, settings: Settings) -> Iterator[tuple[TestClient, dict[str, int], Store]]:
    ids = seed(store)
    with TestClient(create_app(settings)) as client:
        yield client, ids, store


def reviews(store: Store) -> list[Any]:
    with store.engine.connect() as conn:
        return list(conn.execute(select(Review.__table__).order_by(Review.id)))


def bearer(store: Store, username: str) -> dict[str, str]:
    token = create_token(store, system_actor("test"), f"t-{username}", username)
    return {"Authorization": f"Bearer {token.token}"}


def test_schema_literals_match_the_database() -> None:
    assert get_args(oversight_schemas.Reason) == REVIEW_REASONS
    assert get_args(oversight_schemas.Role) == ROLES


def test_page_shows_the_newest_unreviewed_result_and_its_json_twin(
    dept: tuple[TestClient, dict[str, int], Store],
) -> None:
    client, ids, _ = dept
    sign_in(client, "rita")
    page = client.get(PAGE)
    assert page.status_code == 200, page.text
    # Newest received first (A5), as the JSON twin says.
    assert hidden(page.text, "result_id") == str(ids["A5"])
    twin = client.get("/api/oversight/CXR/1.0/queue?limit=2").json()
    assert [i["result_id"] for i in twin["items"]] == [ids["A5"], ids["A4"]]
    assert twin["next_before_id"] == ids["A4"] and twin["page"] == PAGE
    assert 'href="/api/oversight/CXR/1.0/queue"' in page.text
    assert "0.35" in page.text and '<dd id="ai-call">negative</dd>' in page.text
    # Only this page runs a script: the local one, never inline or from elsewhere.
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert '<script src="/static/oversight.js" defer></script>' in page.text
    assert client.get("/static/oversight.js").status_code == 200
    # Every form control has a label.
    for control in ("comment", "final-implied", "final-positive", "final-negative"):
        assert f'for="{control}"' in page.text


def test_no_javascript_decisions_store_the_server_measured_time(
    dept: tuple[TestClient, dict[str, int], Store],
) -> None:
    client, ids, store = dept
    sign_in(client, "rita")
    before = time.monotonic()
    page = client.get(PAGE).text
    time.sleep(0.2)
    form = {k: hidden(page, k) for k in ("csrf_token", "result_id", "shown_at", "shown_sig")}
    done = client.post(PAGE, data={**form, "choice": "agree"}, follow_redirects=False)
    elapsed = time.monotonic() - before
    assert done.status_code == 303 and done.headers["location"] == f"{PAGE}?recorded=agree"
    (row,) = reviews(store)
    assert row.ai_result_id == ids["A5"] and row.decision == "agree" and row.source == "app"
    assert row.reporter_final_call is False  # agreeing with a negative call (0.35 < 0.5)
    assert 0.2 <= row.seconds_taken <= elapsed + 0.01
    # The next page shows the next study and says the decision was recorded.
    following = client.get(done.headers["location"]).text
    assert hidden(following, "result_id") == str(ids["A4"])
    assert "Decision recorded (agree)" in following


def test_browser_time_is_used_when_plausible_and_a_forged_stamp_stores_no_time(
    dept: tuple[TestClient, dict[str, int], Store],
) -> None:
    client, _, store = dept
    sign_in(client, "rita")
    page = client.get(PAGE).text
    form = {k: hidden(page, k) for k in ("csrf_token", "result_id", "shown_at", "shown_sig")}
    ok = client.post(PAGE, data={**form, "choice": "agree", "seconds_taken": "1.5"})
    assert ok.status_code == 200
    page = client.get(PAGE).text
    form = {k: hidden(page, k) for k in ("csrf_token", "result_id", "shown_at", "shown_sig")}
    # A stamp moved an hour back no longer matches its HMAC: no time rather than a false one.
    earlier = dt.datetime.fromisoformat(form["shown_at"]) - dt.timedelta(hours=1)
    forged = {**form, "shown_at": earlier.isoformat(), "choice": "agree", "seconds_taken": "3600"}
    assert client.post(PAGE, data=forged).status_code == 200
    page = client.get(PAGE).text
    form = {k: hidden(page, k) for k in ("csrf_token", "result_id", "shown_at", "shown_sig")}
    # An implausible browser time (longer than the page was shown) gives way to the server's.
    too_long = {**form, "choice": "agree", "seconds_taken": "500"}
    assert client.post(PAGE, data=too_long).status_code == 200
    first, second, third = reviews(store)
    assert first.seconds_taken == 1.5
    assert second.seconds_taken is None
    assert third.seconds_taken is not None and third.seconds_taken < 60
    # The signature is bound to the session cookie, so it is not a function of the page alone.
    assert form["shown_sig"] != sign_shown(b"", int(form["result_id"]), form["shown_at"])


def test_disagreement_rules_and_csrf_are_enforced_without_writing(
    dept: tuple[TestClient, dict[str, int], Store],
) -> None:
    client, _, store = dept
    sign_in(client, "rita")
    page = client.get(PAGE).text
    form = {k: hidden(page, k) for k in ("csrf_token", "result_id", "shown_at", "shown_sig")}
    # "other" needs a comment: the page says so, keeps the study, and writes nothing.
    bad = client.post(PAGE, data={**form, "choice": "other"})
    assert bad.status_code == 422 and "comment" in bad.text and 'role="alert"' in bad.text
    assert hidden(bad.text, "result_id") == form["result_id"]
    # The AI said negative (0.35), so it cannot have been a false positive.
    wrong = client.post(PAGE, data={**form, "choice": "ai_false_positive"})
    assert wrong.status_code == 422 and "ai_false_negative" in wrong.text
    for token in ("", "0" * 64):
        forged = client.post(PAGE, data={**form, "csrf_token": token, "choice": "agree"})
        assert forged.status_code == 403, forged.text
    assert reviews(store) == []
    fine = {**form, "choice": "ai_false_negative", "comment": "Small apical pneumothorax."}
    assert client.post(PAGE, data={**fine, "final_call": "positive"}).status_code == 200
    (row,) = reviews(store)
    assert (row.decision, row.reason, row.reporter_final_call) == (
        "disagree", "ai_false_negative", True,
    )  # fmt: skip
    assert row.comment == "Small apical pneumothorax."
    # A second submit of the same study is refused (a review is evidence).
    again = client.post(PAGE, data={**fine, "final_call": "positive"})
    assert again.status_code == 409 and "already reviewed" in again.text


def test_roles_without_review_write_cannot_open_the_page(
    dept: tuple[TestClient, dict[str, int], Store],
) -> None:
    client, _, _ = dept
    for who in ("ada", "aud", "vic"):
        sign_in(client, who)
        assert client.get(PAGE).status_code == 403
        assert 'href="/oversight"' not in client.get("/tools").text
    sign_in(client, "rita")
    nav = client.get("/tools").text
    assert 'href="/oversight"' in nav and 'href="/discrepancies"' not in nav


def test_review_api_single_and_bulk(dept: tuple[TestClient, dict[str, int], Store]) -> None:
    client, ids, store = dept
    rita = bearer(store, "rita")
    one = {"result_id": ids["A0"], "decision": "agree", "seconds_taken": 4.5}
    made = client.post("/api/reviews", json=one, headers=rita)
    assert made.status_code == 201, made.text
    assert made.json()["reviewer"] == "rita" and made.json()["reporter_final_call"] is True
    assert client.post("/api/reviews", json=one, headers=rita).status_code == 409
    no_reason = {"result_id": ids["A1"], "decision": "disagree"}
    refused = client.post("/api/reviews", json=no_reason, headers=rita)
    assert refused.status_code == 422 and "reason" in refused.json()["message"]
    # Bulk import: all or nothing, each problem named by record index and field.
    admin = bearer(store, "ada")
    records = [
        {"result_id": ids["A1"], "reviewer": "ravi", "decision": "agree"},
        {"result_id": ids["A2"], "reviewer": "ravi", "decision": "disagree", "reason": "bogus"},
        {"result_id": ids["A3"], "reviewer": "vic", "decision": "agree"},
    ]
    rejected = client.post("/api/reviews/bulk", json={"records": records}, headers=admin)
    assert rejected.status_code == 422
    where = {(p["record"], p["column"]) for p in rejected.json()["problems"]}
    assert {(1, "reason"), (2, "reviewer")} <= where
    assert len(reviews(store)) == 1
    good = [records[0], {**records[1], "reason": "ai_false_positive", "seconds_taken": "7"}]
    first = client.post("/api/reviews/bulk", json={"records": good}, headers=admin)
    assert first.status_code == 200, first.text
    assert (first.json()["inserted"], first.json()["unchanged"]) == (2, 0)
    again = client.post("/api/reviews/bulk", json={"records": good}, headers=admin).json()
    assert (again["inserted"], again["unchanged"]) == (0, 2)
    assert [r.source for r in reviews(store)] == ["app", "import", "import"]
    # Reporters review; they do not import for others.
    assert client.post("/api/reviews/bulk", json={"records": good}, headers=rita).status_code == 403


def test_discrepancy_queue_and_adjudication_set_the_reference(
    dept: tuple[TestClient, dict[str, int], Store],
) -> None:
    client, ids, store = dept
    rita = bearer(store, "rita")
    disagree = {"result_id": ids["A0"], "decision": "disagree", "reason": "ai_false_positive"}
    review_id = client.post("/api/reviews", json=disagree, headers=rita).json()["id"]
    sign_in(client, "leo")
    page = client.get("/discrepancies")
    assert page.status_code == 200 and f"Review {review_id}:" in page.text
    assert 'href="/api/discrepancies"' in page.text
    twin = client.get("/api/discrepancies").json()
    assert [d["review_id"] for d in twin] == [review_id] and twin[0]["reviewer"] == "rita"
    for control in (f"present-{review_id}", f"absent-{review_id}", f"note-{review_id}",
                    f"ref-{review_id}"):  # fmt: skip
        assert f'for="{control}"' in page.text
    form = {"csrf_token": csrf_of(page.text), "outcome": "absent", "note": "Skin fold.",
            "make_reference": "1"}  # fmt: skip
    done = client.post(f"/discrepancies/{review_id}/adjudicate", data=form, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].startswith("/discrepancies?")
    assert client.get("/api/discrepancies").json() == []
    with store.engine.connect() as conn:
        ref = conn.execute(select(Reference.label, Reference.source)).one()
        actions = list(conn.execute(select(AuditEvent.action).order_by(AuditEvent.id)).scalars())
    assert (ref.label, ref.source) == (False, "consensus")
    assert actions[-2:] == ["review.adjudicated", "reference.created"]
    # Twice is refused; the API gives the same answer.
    again = client.post(
        f"/api/discrepancies/{review_id}/adjudicate",
        json={"outcome_label": True},
        headers=bearer(store, "lena"),
    )
    assert again.status_code == 409


def test_a_reviewer_cannot_adjudicate_their_own_review(
    dept: tuple[TestClient, dict[str, int], Store],
) -> None:
    client, ids, store = dept
    leo = bearer(store, "leo")  # clinical leads may review too
    disagree = {"result_id": ids["A1"], "decision": "disagree", "reason": "ai_false_negative"}
    review_id = client.post("/api/reviews", json=disagree, headers=leo).json()["id"]
    own = client.post(
        f"/api/discrepancies/{review_id}/adjudicate", json={"outcome_label": True}, headers=leo
    )
    assert own.status_code == 409 and "your own" in own.json()["message"]
