"""The server-rendered registry pages: content, JSON twins, accessibility basics, escaping.

Every test runs on SQLite and on PostgreSQL (the ``settings`` fixture).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from radassure import web
from radassure.api import create_app, schemas
from radassure.config import Settings
from radassure.services import SiteInfo, ToolInfo, VersionInfo, init_store

TOOL = {
    "name": "ChestScan",
    "manufacturer": "Acme Imaging Ltd",
    "product": "ChestScan CXR",
    "task": "classification",
    "modality": "DX",
    "body_part": "CHEST",
    "clinical_pathway": "ED chest X-ray reporting",
    "regulatory_marking": "UKCA",
    "device_class": "IIa",
    "mhra_reference": "MHRA-12345",
    "udi_di": "05012345678900",
    "intended_use": "Triage of adult chest radiographs for pneumothorax.",
    "clinical_owner": "Dr A. Radiologist",
}
XSS = '<script>alert("x")</script>'


@pytest.fixture
def client(settings: Settings, auth_headers: Callable[..., dict[str, str]]) -> Iterator[TestClient]:
    init_store(settings)
    with TestClient(create_app(settings), headers=auth_headers(settings)) as c:
        yield c


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response


def _html(client: TestClient, url: str, status: int = 200) -> str:
    response = _ok(client.get(url), status)
    assert response.headers["content-type"].startswith("text/html")
    text: str = response.text
    return text


def _live_tool(client: TestClient) -> None:
    _ok(client.post("/api/sites", json={"code": "RXH01", "name": "Royal Example Hospital"}), 201)
    _ok(client.post("/api/tools", json=TOOL), 201)
    _ok(
        client.post(
            "/api/tools/ChestScan/versions",
            json={
                "version": "1.0",
                "deployment_date": "2025-06-01",
                "operating_threshold": 0.4,
            },
        ),
        201,
    )
    _ok(
        client.post(
            "/api/tools/ChestScan/versions",
            json={
                "version": "2.0",
                "deployment_date": "2026-01-05",
                "operating_threshold": 0.5,
                "notes": "Recalibrated for DX",
            },
        ),
        201,
    )
    _ok(
        client.post(
            "/api/tools/ChestScan/versions/2.0/claims",
            json={
                "metric": "sensitivity",
                "value": 0.92,
                "finding": "pneumothorax",
                "ci_low": 0.88,
                "ci_high": 0.95,
                "level": 0.95,
                "source_document": "IFU v2.0 section 7",
            },
        )
    )
    for step, why in [
        ("evaluating", "Local validation starts"),
        ("approved", "Governance group sign-off"),
        ("live", "Go-live"),
    ]:
        _ok(client.post("/api/tools/ChestScan/status", json={"status": step, "reason": why}))
    studies = [
        {
            "patient_id": f"P{i}",
            "study_id": f"S{i}",
            "site": "RXH01",
            "acquired_at": "2026-01-10T10:00:00",
            "modality": "DX",
        }
        for i in range(7)
    ]
    _ok(client.post("/api/ingest/studies", json={"records": studies}))
    results = [
        {
            "tool": "ChestScan",
            "version": "2.0",
            "study_id": f"S{i}",
            "finding": "pneumothorax",
            "score": 0.1 * i,
        }
        for i in range(7)
    ]
    results += [
        {
            "tool": "ChestScan",
            "version": "1.0",
            "study_id": f"S{i}",
            "finding": "pneumothorax",
            "score": 0.2,
        }
        for i in range(3)
    ]
    _ok(client.post("/api/ingest/results", json={"records": results}))
    refs = [
        {"study_id": f"S{i}", "finding": "pneumothorax", "label": "yes", "source": "report"}
        for i in range(4)
    ]
    _ok(client.post("/api/ingest/references", json={"records": refs}))


def _accessible_frame(html: str) -> None:
    assert '<html lang="en-GB">' in html
    assert '<a class="skip-link" href="#main">Skip to main content</a>' in html
    assert '<main id="main"' in html
    assert html.count("<h1>") == 1 or html.count("<h1") == 1
    assert '<nav aria-label="Main">' in html
    assert 'href="/static/radassure.css"' in html
    # no CDN, no script
    assert not re.search(r'(?:src|href)="(?:https?:)?//', html)
    assert "<script" not in html


def test_root_redirects_to_the_registry(client: TestClient) -> None:
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/tools"


def test_empty_registry_page(client: TestClient) -> None:
    html = _html(client, "/tools")
    _accessible_frame(html)
    assert "No AI tools are registered yet" in html
    assert 'href="/api/tools"' in html


def test_registry_table_shows_the_tools(client: TestClient) -> None:
    _live_tool(client)
    _ok(
        client.post(
            "/api/tools",
            json={"name": "BoneAge", "manufacturer": "Other & Co", "task": "detection"},
        ),
        201,
    )
    html = _html(client, "/tools")
    _accessible_frame(html)
    assert "<caption>Registered AI tools (2)</caption>" in html
    for header in (
        "Name",
        "Manufacturer",
        "Task",
        "Modality",
        "Status",
        "Live version",
        "Regulatory marking",
    ):
        assert f'<th scope="col">{header}</th>' in html
    assert html.index('href="/tools/BoneAge"') < html.index('href="/tools/ChestScan"')
    row = html[html.index('href="/tools/ChestScan"') :].split("</tr>")[0]
    for text in (
        "Acme Imaging Ltd",
        "classification",
        "<td>DX</td>",
        "badge-live",
        "<td>2.0</td>",
        "<td>UKCA</td>",
    ):
        assert text in row, text
    assert "Other &amp; Co" in html
    assert '<span class="badge badge-proposed">proposed</span>' in html
    # header names radassure and the site; the JSON twin is linked
    assert ">radassure</a>" in html
    assert "Royal Example Hospital" in html
    assert '<link rel="alternate" type="application/json" href="/api/tools">' in html
    assert 'aria-current="page">AI tools' in html


def test_tool_page_shows_every_field_versions_claims_history_and_counts(
    client: TestClient,
) -> None:
    _live_tool(client)
    html = _html(client, "/tools/ChestScan")
    _accessible_frame(html)
    assert "<h1>ChestScan" in html
    for value in TOOL.values():
        assert str(value) in html, value
    # versions with thresholds and per-version counts
    assert "<caption>Versions of ChestScan (2)</caption>" in html
    v2 = html[html.index('<th scope="row">2.0') :]
    assert '<span class="tag">live</span>' in v2.split("</tr>")[0]
    assert "<td>2026-01-05</td>" in v2 and "<td>0.5</td>" in v2 and "Recalibrated for DX" in v2
    assert '<td class="num">7</td>' in v2.split("</tr>")[0]
    v1 = html[html.index('<th scope="row">1.0') :].split("</tr>")[0]
    assert "<td>0.4</td>" in v1 and '<td class="num">3</td>' in v1
    # claims
    assert "Manufacturer's claims for ChestScan 2.0" in html
    assert "sensitivity" in html and '<td class="num">0.92</td>' in html
    assert "0.88 to 0.95 (95%)" in html and "IFU v2.0 section 7" in html
    assert "No claimed performance is recorded for this version." in html  # version 1.0
    # status history, oldest first
    history = html[html.index('id="history"') :]
    order = [
        history.index(r)
        for r in ("registered", "Local validation starts", "Governance group sign-off", "Go-live")
    ]
    assert order == sorted(order)
    assert "test-" in history  # the API token that made the changes
    # data counts
    counts = html[html.index('id="data"') : html.index('id="versions"')]
    # 7 studies; 7 + 3 results; references on 4 studies cover 4 + 3 of those results
    assert counts.count("<dd>7</dd>") == 2 and "<dd>10</dd>" in counts
    # JSON twin holds the same data
    assert 'href="/api/tools/ChestScan"' in html
    twin = client.get("/api/tools/ChestScan").json()
    assert twin["counts"] == {
        "studies": 7,
        "results": 10,
        "results_with_reference": 7,
        "by_version": {"1.0": 3, "2.0": 7},
    }
    assert twin["live_version"] == "2.0"


def test_sites_page(client: TestClient) -> None:
    assert "No sites are registered yet" in _html(client, "/sites")
    _ok(client.post("/api/sites", json={"code": "RXH01", "name": "Royal Example Hospital"}), 201)
    _ok(client.post("/api/sites", json={"code": "RXH02", "name": "Example Community Unit"}), 201)
    html = _html(client, "/sites")
    _accessible_frame(html)
    assert "<caption>Registered sites (2)</caption>" in html
    assert "Example Community Unit" in html
    assert "Imaging network of 2 sites" in html
    assert 'href="/api/sites"' in html


def test_static_stylesheet_is_served_locally(client: TestClient) -> None:
    response = _ok(client.get("/static/radassure.css"))
    assert response.headers["content-type"].startswith("text/css")
    assert ".badge-live" in response.text and ".skip-link" in response.text
    assert "@import" not in response.text and "url(" not in response.text


def test_pages_send_security_headers(client: TestClient) -> None:
    response = _ok(client.get("/tools"))
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"


def test_names_are_escaped_everywhere(client: TestClient) -> None:
    _ok(client.post("/api/tools", json={**TOOL, "name": XSS, "clinical_owner": "<b>Dr X</b>"}), 201)
    _ok(
        client.post(
            f"/api/tools/{quote(XSS, safe='')}/versions",
            json={"version": "<i>1</i>", "notes": "a & b"},
        ),
        201,
    )
    listing = _html(client, "/tools")
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in listing
    assert "<script" not in listing
    link = f'href="/tools/{quote(XSS, safe="")}"'
    assert link in listing
    detail = _html(client, f"/tools/{quote(XSS, safe='')}")
    assert "<script" not in detail and "<b>" not in detail and "<i>1</i>" not in detail
    assert "&lt;b&gt;Dr X&lt;/b&gt;" in detail and "&lt;i&gt;1&lt;/i&gt;" in detail
    assert "a &amp; b" in detail
    missing = _html(client, f"/tools/{quote('<img src=x>', safe='')}", 404)
    assert "<img" not in missing and "&lt;img src=x&gt;" in missing


def test_error_pages_are_readable_html(client: TestClient) -> None:
    html = _html(client, "/tools/Nope", 404)
    _accessible_frame(html)
    assert "<h1>Not Found</h1>" in html
    assert "No tool named &#39;Nope&#39; is registered." in html
    assert 'role="alert"' in html
    nothing = _html(client, "/no/such/page", 404)
    assert "There is nothing at /no/such/page" in nothing
    api = client.get("/api/tools/Nope")
    assert api.headers["content-type"] == "application/json"


def test_page_and_api_agree_on_the_live_version() -> None:
    def version(name: str, day: dt.date | None) -> VersionInfo:
        return VersionInfo(name, day, 0.5, 0.0, 1.0, None)

    today = dt.date(2026, 2, 1)
    cases = [
        ("live", ()),
        ("live", (version("1", None), version("2", None))),
        ("live", (version("1", dt.date(2026, 1, 1)), version("2", dt.date(2025, 1, 1)))),
        ("live", (version("1", dt.date(2026, 1, 1)), version("2", dt.date(2026, 3, 1)))),
        ("approved", (version("1", dt.date(2026, 1, 1)),)),
    ]
    expected = [None, "2", "1", "1", None]
    for (status, versions), want in zip(cases, expected, strict=True):
        tool = ToolInfo("T", "M", "classification", status, versions=versions)
        assert web.live_version(tool, today=today) == want
        assert schemas.live_version(tool, today=today) == want


def test_site_label() -> None:
    assert web.site_label([]) is None
    assert web.site_label([SiteInfo("A", "Alpha")]) == "Alpha"
