"""The department's flow in a real browser: sign in, add a tool, review, adjudicate, audit.

Chromium (Debian's, through Playwright) drives the real app under uvicorn; the
database behind the pages is checked too, so a page that only *says* it saved
something does not pass.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

import radassure.db.security  # noqa: F401  (registers the tables)
from browser._browser import SCORES, LiveApp, sign_in
from radassure.db import Reference
from radassure.db.security import Review

pytestmark = pytest.mark.browser


def _reviews(app: LiveApp) -> list[Any]:
    with app.store.engine.connect() as conn:
        return list(conn.execute(select(Review.__table__).order_by(Review.id)))


def _shown_result(page: Page) -> str:
    value = page.locator("input[name=result_id]").get_attribute("value")
    assert value is not None
    return value


def _sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r".*/signin$"))


def test_review_adjudicate_and_audit(live_app: LiveApp, new_page: Callable[..., Page]) -> None:
    base = live_app.url
    page = new_page()
    # An administrator signs in and registers a tool through the registry page.
    sign_in(page, base, "ada")
    page.get_by_label("Name", exact=True).fill("Knee AI")
    page.get_by_label("Manufacturer").fill("Joint Co")
    page.get_by_label("Task").select_option("detection")
    page.get_by_role("button", name="Register tool").click()
    page.wait_for_url(re.compile(r".*/tools/Knee%20AI$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Knee AI")
    _sign_out(page)

    # A reporter agrees with one key and disagrees with a click.
    sign_in(page, base, "rita")
    page.get_by_role("link", name="Oversight").click()
    page.get_by_role("link", name="CXR 1.0").click()
    expect(page.locator("#ai-score")).to_have_text(f"{SCORES[5]:g}")  # newest first, negative
    first = _shown_result(page)
    # At 200% zoom a 1280-pixel screen is 640 CSS pixels wide: nothing may scroll sideways.
    page.set_viewport_size({"width": 640, "height": 900})
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.get_by_role("button", name=re.compile("Agree with the AI")).focus()
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"  # focus is visible
    page.locator("h1").click()  # keys decide only outside form controls
    page.wait_for_timeout(300)  # reading time, measured in the browser
    page.keyboard.press("a")
    expect(page.get_by_role("status")).to_contain_text("Decision recorded (agree)")
    second = _shown_result(page)
    assert second != first
    expect(page.locator("#ai-call")).to_have_text("positive")  # 0.66 >= 0.5
    page.get_by_label("Comment (needed for “other”)").fill("Pleural edge is a skin fold.")
    page.get_by_role("button", name=re.compile("AI false positive")).click()
    expect(page.get_by_role("status")).to_contain_text("Decision recorded (ai false positive)")
    agree, disagree = _reviews(live_app)
    assert (str(agree.ai_result_id), agree.decision) == (first, "agree")
    assert 0.3 <= agree.seconds_taken < 60
    assert (str(disagree.ai_result_id), disagree.reason) == (second, "ai_false_positive")
    assert disagree.seconds_taken is not None and disagree.comment.startswith("Pleural")
    _sign_out(page)

    # A clinical lead rules on the disagreement and makes it the reference standard.
    sign_in(page, base, "leo")
    page.get_by_role("link", name="Discrepancies").click()
    section = page.get_by_role("region", name=re.compile(f"Review {disagree.id}:"))
    section.get_by_label("Finding absent").check()
    section.get_by_label("Note").fill("Agree with the reporter: skin fold.")
    section.get_by_label("Make this the reference standard for the study").check()
    section.get_by_role("button", name=f"Record ruling on review {disagree.id}").click()
    expect(page.get_by_role("status")).to_contain_text("recorded")
    expect(page.get_by_text("No disagreement is waiting for adjudication.")).to_be_visible()
    with live_app.store.engine.connect() as conn:
        ref = conn.execute(select(Reference.label, Reference.source)).one()
    assert (ref.label, ref.source) == (False, "consensus")
    _sign_out(page)

    # An auditor sees both reviews and the ruling in the audit trail, and the chain holds.
    sign_in(page, base, "aud")
    page.get_by_role("link", name="Audit trail").click()
    table = page.get_by_role("table")
    expect(table.get_by_text("review.recorded", exact=True)).to_have_count(2)
    expect(table.get_by_text("review.adjudicated", exact=True)).to_have_count(1)
    expect(table.get_by_text("reference.created", exact=True)).to_have_count(1)
    expect(table.get_by_text("tool.added", exact=True)).to_have_count(2)  # CXR and Knee AI
    page.get_by_label("Action").fill("review.recorded")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("table").locator("tbody tr")).to_have_count(2)
    page.get_by_role("button", name="Verify the whole chain").click()
    expect(page.locator("#verify-result")).to_contain_text("The audit trail is intact")


def test_oversight_works_without_javascript(
    live_app: LiveApp, new_page: Callable[..., Page]
) -> None:
    page = new_page(java_script_enabled=False)
    sign_in(page, live_app.url, "ravi")
    page.goto(f"{live_app.url}/oversight/CXR/1.0")
    shown = _shown_result(page)
    page.keyboard.press("a")  # no script: a key press decides nothing
    page.wait_for_timeout(200)
    assert _shown_result(page) == shown and _reviews(live_app) == []
    page.get_by_role("button", name=re.compile("Agree with the AI")).click()
    expect(page.get_by_role("status")).to_contain_text("Decision recorded (agree)")
    assert _shown_result(page) != shown
    (row,) = _reviews(live_app)
    # Timed on the server from the signed shown-at stamp, since no script measured it.
    assert str(row.ai_result_id) == shown and row.seconds_taken is not None
    assert 0.2 <= row.seconds_taken < 60
