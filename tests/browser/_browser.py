"""Helpers of the browser tests: the seeded department, the live app, signing in."""

from __future__ import annotations

import re
from dataclasses import dataclass

from playwright.sync_api import Page

from radassure.services import Store, add_site, add_tool, add_version, ingest_records
from radassure.services.auth import add_user, system_actor

PASSWORD = "a long enough passphrase 7"
PEOPLE = {"ada": "admin", "leo": "clinical_lead", "rita": "reporter", "ravi": "reporter",
          "aud": "auditor"}  # fmt: skip
#: AI scores of studies A0 ... A5 (threshold 0.5); the queue shows the newest first.
SCORES = (0.91, 0.12, 0.77, 0.08, 0.66, 0.35)


@dataclass
class LiveApp:
    """The running app: its address and its store (for checks behind the pages)."""

    url: str
    store: Store


def seed(store: Store) -> None:
    """Add a site, CXR 1.0 with six studies and AI results, and one user per role."""
    actor = system_actor("cli:browser-test")
    add_site(store, "RXH01", "Royal Example Hospital", actor=actor)
    add_tool(store, name="CXR", manufacturer="Acme", task="classification", actor=actor)
    add_version(store, "CXR", "1.0", operating_threshold=0.5, actor=actor)
    ingest_records(store, "studies", [
        {"patient_id": f"P{i}", "study_id": f"A{i}", "site": "RXH01", "modality": "DX",
         "acquired_at": f"2026-02-0{i + 1}T09:00:00"}
        for i in range(len(SCORES))
    ], actor=actor)  # fmt: skip
    ingest_records(store, "results", [
        {"tool": "CXR", "version": "1.0", "study_id": f"A{i}", "finding": "pneumothorax",
         "score": s, "received_at": f"2026-02-0{i + 1}T10:00:00",
         "localisations": [{"x": 3, "y": 4, "score": s, "region": "left apex"}]}
        for i, s in enumerate(SCORES)
    ], actor=actor)  # fmt: skip
    for name, role in PEOPLE.items():
        add_user(store, actor, name, PASSWORD, role)


def sign_in(page: Page, base: str, username: str) -> None:
    """Sign in through the form, as a person would."""
    page.goto(f"{base}/signin")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r".*/tools$"))
