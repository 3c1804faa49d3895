"""Users, API tokens, the audit trail and the add-tool form: pages and JSON, through the app.

Every test runs on SQLite and on PostgreSQL. The exported audit chain is
re-checked here with hashlib alone, independently of radassure's verifier.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterator

import pytest
from _oversight_data import PASSWORD, csrf_of, seed, sign_in
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import text

from radassure.api import create_app
from radassure.config import Settings
from radassure.db.security import GENESIS_HASH
from radassure.services import Store, _users
from radassure.services.auth import create_token, system_actor

NEW_PASSWORD = "another long passphrase 9"


@pytest.fixture(autouse=True)
def quick_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_users, "hasher", PasswordHasher(time_cost=1, memory_cost=1024))


@pytest.fixture
def dept(store: Store, settings: Settings) -> Iterator[tuple[TestClient, Store]]:
    seed(store)
    with TestClient(create_app(settings)) as client:
        yield client, store


def bearer(store: Store, username: str) -> dict[str, str]:
    token = create_token(store, system_actor("test"), f"t-{username}", username)
    return {"Authorization": f"Bearer {token.token}"}


def can_sign_in(client: TestClient, username: str, password: str) -> bool:
    client.cookies.clear()
    token = csrf_of(client.get("/signin").text)
    response = client.post(
        "/signin",
        data={"username": username, "password": password, "csrf_token": token},
        follow_redirects=False,
    )
    return response.status_code == 303


def test_admin_adds_and_disables_users_through_the_page(
    dept: tuple[TestClient, Store],
) -> None:
    client, _ = dept
    sign_in(client, "ada")
    page = client.get("/admin/users")
    assert page.status_code == 200 and 'href="/api/users"' in page.text
    for control in ("username", "display_name", "role", "password"):
        assert f'<label for="{control}">' in page.text
    form = {"csrf_token": csrf_of(page.text), "username": "Nia", "display_name": "Nia N",
            "role": "reporter", "password": NEW_PASSWORD}  # fmt: skip
    added = client.post("/admin/users", data=form, follow_redirects=False)
    assert added.status_code == 303, added.text
    listed = {u["username"]: u for u in client.get("/api/users").json()}
    assert listed["nia"]["role"] == "reporter" and listed["nia"]["active"] is True
    # A short password and a taken name are shown on the form; nothing is added.
    short = client.post("/admin/users", data={**form, "username": "zed", "password": "short"})
    assert short.status_code == 422 and "password" in short.text.lower()
    taken = client.post("/admin/users", data=form)
    assert taken.status_code == 409 and "already exists" in taken.text
    assert "zed" not in {u["username"] for u in client.get("/api/users").json()}
    # The password is never echoed back or kept in the audit trail.
    audit = client.get("/api/audit?action=user.added&page_size=100").text
    assert NEW_PASSWORD not in audit and NEW_PASSWORD not in taken.text
    disable = client.post("/admin/users/nia/disable", data={"csrf_token": form["csrf_token"]})
    assert disable.status_code == 200
    assert {u["username"]: u["active"] for u in client.get("/api/users").json()}["nia"] is False
    assert not can_sign_in(client, "nia", NEW_PASSWORD)
    assert can_sign_in(client, "rita", PASSWORD)


def test_tokens_are_shown_once_work_and_can_be_revoked(
    dept: tuple[TestClient, Store],
) -> None:
    client, _ = dept
    sign_in(client, "ada")
    page = client.get("/admin/tokens")
    form = {"csrf_token": csrf_of(page.text), "name": "pacs-bridge", "username": "leo",
            "role": "viewer"}  # fmt: skip
    made = client.post("/admin/tokens", data=form)
    assert made.status_code == 201 and made.headers["cache-control"] == "no-store"
    found = re.search(r'id="new-token" type="text" readonly size="60" value="([^"]+)"', made.text)
    assert found is not None
    secret = found.group(1)
    assert secret.startswith("ra_")
    # Shown once: the listing, page or JSON, never holds it again.
    assert secret not in client.get("/admin/tokens").text
    assert secret not in client.get("/api/tokens").text
    listed = {t["name"]: t for t in client.get("/api/tokens").json()}
    assert listed["pacs-bridge"]["role"] == "viewer" and secret.startswith(
        listed["pacs-bridge"]["prefix"]
    )
    machine = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/tools", headers=machine).status_code == 200
    # The token's role is viewer, narrower than its user's: it may not adjudicate.
    assert client.get("/api/discrepancies", headers=machine).status_code == 403
    wider = client.post("/admin/tokens", data={**form, "name": "x", "username": "vic",
                                                "role": "admin"})  # fmt: skip
    assert wider.status_code == 422 and "cannot have role admin" in wider.text
    revoked = client.post(
        "/admin/tokens/pacs-bridge/revoke", data={"csrf_token": form["csrf_token"]}
    )
    assert revoked.status_code == 200
    assert client.get("/api/tools", headers=machine).status_code == 401


def test_user_and_token_api(dept: tuple[TestClient, Store]) -> None:
    client, store = dept
    admin = bearer(store, "ada")
    body = {"username": "omar", "password": NEW_PASSWORD, "role": "auditor"}
    made = client.post("/api/users", json=body, headers=admin)
    assert made.status_code == 201 and "password" not in made.json()
    assert client.post("/api/users", json=body, headers=admin).status_code == 409
    bad = client.post("/api/users", json={**body, "username": "p", "role": "boss"}, headers=admin)
    assert bad.status_code == 422
    token = client.post("/api/tokens", json={"name": "omar-cli", "username": "omar"},
                        headers=admin)  # fmt: skip
    assert token.status_code == 201 and token.json()["role"] == "auditor"
    omar = {"Authorization": f"Bearer {token.json()['token']}"}
    assert client.get("/api/audit/verify", headers=omar).json()["ok"] is True
    assert client.post("/api/tokens/omar-cli/revoke", headers=admin).json()["active"] is False
    assert client.get("/api/audit/verify", headers=omar).status_code == 401
    disabled = client.post("/api/users/omar/disable", headers=admin)
    assert disabled.status_code == 200 and disabled.json()["active"] is False
    assert client.post("/api/users/nobody/disable", headers=admin).status_code == 404
    assert client.post("/api/users/ada/disable", headers=admin).status_code == 409


def _chain_ok(rows: list[dict[str, object]]) -> bool:
    """Recompute the hash chain with hashlib and json only (no radassure code)."""
    prev = GENESIS_HASH
    for row in rows:
        payload = {k: v for k, v in row.items() if k != "hash"}
        canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        if (
            row["prev_hash"] != prev
            or hashlib.sha256(canonical.encode()).hexdigest() != row["hash"]
        ):
            return False
        prev = str(row["hash"])
    return True


def test_audit_page_filters_pages_exports_and_verifies(dept: tuple[TestClient, Store]) -> None:
    client, store = dept
    sign_in(client, "aud")
    page = client.get("/audit?action=user.added&page_size=3")
    assert page.status_code == 200 and 'href="/api/audit?action=user.added"' in page.text
    assert page.text.count("<code>user.added</code>") == 3 and 'rel="next"' in page.text
    twin = client.get("/api/audit?action=user.added&page_size=3").json()
    assert len(twin["events"]) == 3 and twin["has_next"] is True
    assert [e["id"] for e in twin["events"]] == sorted((e["id"] for e in twin["events"]),
                                                      reverse=True)  # fmt: skip
    second = client.get("/api/audit?action=user.added&page_size=3&page=3").json()
    assert len(second["events"]) == 1 and second["has_next"] is False  # 7 users added
    for control in ("f-actor", "f-action", "f-entity", "f-entity-id", "f-since", "f-until"):
        assert f'for="{control}"' in page.text
    assert 'href="/api/audit/export?format=csv&amp;action=user.added"' in page.text
    bad_time = client.get("/audit?since=yesterday")
    assert bad_time.status_code == 422 and "since" in bad_time.text
    # Exports: every field, hashes included, so the chain re-verifies from the file alone.
    jsonl = client.get("/api/audit/export?format=jsonl")
    assert jsonl.status_code == 200 and "attachment" in jsonl.headers["content-disposition"]
    rows = [json.loads(line) for line in jsonl.text.splitlines()]
    assert len(rows) > 10 and _chain_ok(rows)
    exported = list(csv.DictReader(io.StringIO(client.get("/api/audit/export").text)))
    as_rows: list[dict[str, object]] = [
        {**r, "id": int(r["id"]), "before": json.loads(r["before"]),
         "after": json.loads(r["after"]), "address": r["address"] or None,
         "entity_id": r["entity_id"] or None}
        for r in exported
    ]  # fmt: skip
    assert _chain_ok(as_rows)
    exports = client.get("/api/audit?action=audit.exported").json()["events"]
    assert {e["after"]["format"] for e in exports} == {"csv", "jsonl"}
    verified = client.get("/audit?verify=1")
    assert "The audit trail is intact" in verified.text
    # Someone edits a row behind radassure's back: the page names that row.
    target = rows[3]["id"]
    with store.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("DROP TRIGGER audit_event_append_only ON audit_event"))
        else:
            conn.execute(text("DROP TRIGGER audit_event_no_update"))
        conn.execute(text("UPDATE audit_event SET actor = 'mallory' WHERE id = :i"), {"i": target})
    broken = client.get("/audit?verify=1")
    assert f"First broken event: <strong>{target}</strong>" in broken.text
    assert client.get("/api/audit/verify").json()["broken_id"] == target


def test_add_tool_form_on_the_registry_page(dept: tuple[TestClient, Store]) -> None:
    client, _ = dept
    sign_in(client, "vic")
    assert 'action="/tools"' not in client.get("/tools").text  # viewers see no form
    sign_in(client, "ada")
    page = client.get("/tools").text
    for control in ("tool-name", "tool-manufacturer", "tool-task", "tool-modality", "tool-use"):
        assert f'for="{control}"' in page
    form = {"csrf_token": csrf_of(page), "name": "Wrist AI", "manufacturer": "Bone Co",
            "task": "detection", "modality": "DX"}  # fmt: skip
    added = client.post("/tools", data=form, follow_redirects=False)
    assert added.status_code == 303 and added.headers["location"] == "/tools/Wrist%20AI"
    tool = client.get("/api/tools/Wrist AI").json()
    assert (tool["manufacturer"], tool["task"], tool["status"]) == ("Bone Co", "detection",
                                                                   "proposed")  # fmt: skip
    bad = client.post("/tools", data={**form, "name": "Other", "task": "triage"})
    assert bad.status_code == 422 and "task" in bad.text


def test_navigation_shows_each_role_its_pages(dept: tuple[TestClient, Store]) -> None:
    client, _ = dept
    expected = {
        "ada": {"/admin/users", "/admin/tokens", "/audit"},
        "leo": {"/oversight", "/discrepancies"},  # the audit trail: auditors and admins
        "rita": {"/oversight"},
        "aud": {"/audit"},
        "vic": set(),
    }
    pages = {"/oversight", "/discrepancies", "/admin/users", "/admin/tokens", "/audit"}
    for who, wanted in expected.items():
        sign_in(client, who)
        nav = client.get("/sites").text.split('<nav aria-label="Main">')[1].split("</nav>")[0]
        shown = {p for p in pages if f'href="{p}"' in nav}
        assert shown == wanted, who
        for p in wanted:
            assert client.get(p).status_code == 200, (who, p)
