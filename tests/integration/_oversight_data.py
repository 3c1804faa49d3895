"""A small department for the oversight and administration page tests.

One site, chest X-ray tool CXR 1.0 with six AI results (two with marks), and
one user of each role, all added through the services. Helpers sign in through
the real sign-in form and read the CSRF token a page embeds.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from radassure.db import AIResult, Study
from radassure.services import Store, add_site, add_tool, add_version, ingest_records
from radassure.services.auth import add_user, system_actor

ADMIN = system_actor("cli:test")
PASSWORD = "a long enough passphrase 7"
#: username -> role; one of each role, two reporters and two clinical leads.
PEOPLE = {
    "ada": "admin",
    "rita": "reporter",
    "ravi": "reporter",
    "leo": "clinical_lead",
    "lena": "clinical_lead",
    "aud": "auditor",
    "vic": "viewer",
}
SCORES = (0.91, 0.12, 0.77, 0.08, 0.66, 0.35)
MARKS = {0: [{"x": 10, "y": 20, "score": 0.91, "region": "left apex"}], 2: [{"x": 5, "y": 6}]}


def seed(store: Store) -> dict[str, int]:
    """Build the department; return the AI result id of each accession (A0 ... A5)."""
    add_site(store, "RXH01", "Royal Example Hospital", actor=ADMIN)
    add_tool(store, name="CXR", manufacturer="Acme", task="classification", actor=ADMIN)
    add_version(store, "CXR", "1.0", operating_threshold=0.5, actor=ADMIN)
    studies = [
        {"patient_id": f"P{i}", "study_id": f"A{i}", "site": "RXH01", "modality": "DX",
         "acquired_at": f"2026-02-0{i + 1}T09:00:00"}
        for i in range(len(SCORES))
    ]  # fmt: skip
    ingest_records(store, "studies", studies, actor=ADMIN)
    results: list[dict[str, Any]] = [
        {"tool": "CXR", "version": "1.0", "study_id": f"A{i}", "finding": "pneumothorax",
         "score": s, "received_at": f"2026-02-0{i + 1}T10:00:00",
         **({"localisations": MARKS[i]} if i in MARKS else {})}
        for i, s in enumerate(SCORES)
    ]  # fmt: skip
    ingest_records(store, "results", results, actor=ADMIN)
    for name, role in PEOPLE.items():
        add_user(store, ADMIN, name, PASSWORD, role)
    with store.engine.connect() as conn:
        ids = dict(
            conn.execute(
                select(Study.study_key, AIResult.id).join(Study, Study.id == AIResult.study_id)
            ).all()
        )
    return {f"A{i}": ids[store.pseudonymiser.study(f"A{i}")] for i in range(len(SCORES))}


def csrf_of(html: str) -> str:
    """Return the first CSRF token a page embeds in a form."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None, html[:2000]
    return found.group(1)


def sign_in(client: TestClient, username: str) -> None:
    """Sign in through the sign-in form, as a browser would."""
    client.cookies.clear()
    token = csrf_of(client.get("/signin").text)
    response = client.post(
        "/signin",
        data={"username": username, "password": PASSWORD, "csrf_token": token, "next": "/tools"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def hidden(html: str, name: str) -> str:
    """Return the value of a hidden field of the page."""
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found is not None, f"no field {name}"
    return found.group(1)
