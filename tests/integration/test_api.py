"""The JSON API over a real store: registry, lifecycle, ingestion, errors, OpenAPI.

Every test runs on SQLite and on PostgreSQL (the ``settings`` fixture).
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from radassure import __version__
from radassure.api import create_app, deps, schemas
from radassure.config import Settings
from radassure.ingest import CONTRACTS
from radassure.services import ON_CONFLICT, auth, init_store
from radassure.services import registry as reg

TOOL = {
    "name": "ChestScan",
    "manufacturer": "Acme Imaging Ltd",
    "task": "classification",
    "modality": "dx",
    "body_part": "CHEST",
    "regulatory_marking": "UKCA",
    "device_class": "IIa",
    "intended_use": "Triage of adult chest radiographs for pneumothorax.",
    "clinical_owner": "Dr A. Radiologist",
}
WHEN = "2026-01-10T09:30:00"


@pytest.fixture
def client(settings: Settings, auth_headers: Callable[..., dict[str, str]]) -> Iterator[TestClient]:
    init_store(settings)
    with TestClient(create_app(settings), headers=auth_headers(settings)) as c:
        yield c


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _setup_tool(client: TestClient, threshold: float = 0.5) -> None:
    _ok(client.post("/api/sites", json={"code": "RXH01", "name": "Royal Example"}), 201)
    _ok(client.post("/api/tools", json=TOOL), 201)
    _ok(
        client.post(
            "/api/tools/ChestScan/versions",
            json={"version": "2.0", "operating_threshold": threshold},
        ),
        201,
    )


def _studies(n: int, start: int = 0, site: str = "RXH01") -> list[dict[str, Any]]:
    return [
        {
            "patient_id": f"P{i:06d}",
            "study_id": f"ACC{i:06d}",
            "site": site,
            "acquired_at": WHEN,
            "modality": "DX",
            "sex": "FM"[i % 2],
            "age": 20 + i % 70,
        }
        for i in range(start, start + n)
    ]


def _results(n: int, start: int = 0) -> list[dict[str, Any]]:
    return [
        {
            "tool": "ChestScan",
            "version": "2.0",
            "study_id": f"ACC{i:06d}",
            "finding": "pneumothorax",
            "score": round((i % 100) / 100, 2),
        }
        for i in range(start, start + n)
    ]


def _counts(client: TestClient) -> dict[str, Any]:
    counts: dict[str, Any] = _ok(client.get("/api/tools/ChestScan"))["counts"]
    return counts


# -- health and app -----------------------------------------------------------
def test_health_reports_database_and_schema_revision(
    settings: Settings, client: TestClient
) -> None:
    revision = init_store(settings).revision_after
    assert _ok(client.get("/health")) == {
        "status": "ok",
        "database": "ok",
        "schema_revision": revision,
        "message": None,
    }
    assert revision


def test_uninitialised_store_is_reported_not_crashed(tmp_path: Path) -> None:
    # SQLite only: on the PostgreSQL fixture the schema already exists, and open_store
    # then leaks its engine when the secret is missing (see the services note).
    settings = Settings(home=tmp_path / "fresh")
    with TestClient(create_app(settings)) as c:
        health = c.get("/health")
        assert health.status_code == 503
        assert health.json()["database"] == "unavailable"
        assert "radassure init" in health.json()["message"]
        tools = c.get("/api/tools")
        assert tools.status_code == 500
        assert tools.json()["error"] == "ConfigurationError"
        page = c.get("/tools")
        assert page.status_code == 500
        assert page.headers["content-type"].startswith("text/html")
        assert "radassure init" in page.text
        init_store(settings)  # the next request opens the store: no restart needed
        assert _ok(c.get("/health"))["status"] == "ok"


def test_app_metadata_and_openapi(client: TestClient) -> None:
    spec = _ok(client.get("/openapi.json"))
    assert spec["info"]["title"] == "radassure"
    assert spec["info"]["version"] == __version__
    paths = spec["paths"]
    for path, method in [
        ("/api/tools", "get"),
        ("/api/tools", "post"),
        ("/api/tools/{name}", "get"),
        ("/api/tools/{name}/status", "post"),
        ("/api/tools/{name}/versions", "post"),
        ("/api/tools/{name}/versions/{version}/claims", "post"),
        ("/api/sites", "get"),
        ("/api/sites", "post"),
        ("/api/ingest/{kind}", "post"),
        ("/health", "get"),
    ]:
        assert method in paths[path], (path, method)
    assert "/tools" not in paths  # the pages are not part of the API description
    components = spec["components"]["schemas"]
    for name in (
        "ToolCreate",
        "ToolDetail",
        "ToolSummary",
        "VersionCreate",
        "Version",
        "Claim",
        "StatusUpdate",
        "IngestRequest",
        "IngestResult",
        "ErrorBody",
    ):
        assert name in components
    assert components["ToolCreate"]["properties"]["name"]["description"]
    assert components["ToolCreate"]["examples"]
    ingest = paths["/api/ingest/{kind}"]["post"]
    assert ingest["responses"]["422"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/ErrorBody"
    )
    for kind, columns in CONTRACTS.items():
        assert f"**{kind}**" in ingest["description"]
        for column in columns:
            assert column.name in ingest["description"], (kind, column.name)


def test_schema_choices_match_the_services() -> None:
    assert typing.get_args(schemas.Task) == reg.TASKS
    assert typing.get_args(schemas.LifecycleStatus) == reg.LIFECYCLE_STATUSES
    assert typing.get_args(schemas.RegulatoryMarking) == reg.REGULATORY_MARKINGS
    assert typing.get_args(schemas.DeviceClass) == reg.DEVICE_CLASSES
    assert typing.get_args(schemas.OnConflict) == ON_CONFLICT
    assert typing.get_args(schemas.RecordKind) == tuple(CONTRACTS)


# -- registry -------------------------------------------------------------------
def test_tool_version_claim_and_status_round_trip(client: TestClient) -> None:
    created = client.post("/api/tools", json=TOOL)
    body = _ok(created, 201)
    assert created.headers["location"] == "/api/tools/ChestScan"
    assert body["status"] == "proposed"
    assert body["modality"] == "DX"
    assert body["counts"] == {
        "studies": 0,
        "results": 0,
        "results_with_reference": 0,
        "by_version": {},
    }
    assert [h["to_status"] for h in body["status_history"]] == ["proposed"]

    version = _ok(
        client.post(
            "/api/tools/ChestScan/versions",
            json={
                "version": "2.0",
                "deployment_date": "2026-01-05",
                "operating_threshold": 0.5,
                "notes": "Vendor upgrade",
            },
        ),
        201,
    )
    assert version == {
        "version": "2.0",
        "deployment_date": "2026-01-05",
        "operating_threshold": 0.5,
        "score_min": 0.0,
        "score_max": 1.0,
        "notes": "Vendor upgrade",
        "claims": [],
    }
    claim = {
        "metric": "sensitivity",
        "value": 0.92,
        "finding": "pneumothorax",
        "ci_low": 0.88,
        "ci_high": 0.95,
        "level": 0.95,
        "source_document": "IFU v2.0",
    }
    with_claim = _ok(client.post("/api/tools/ChestScan/versions/2.0/claims", json=claim))
    assert with_claim["claims"] == [claim]
    # the same metric and finding again replaces the claim
    replaced = _ok(
        client.post("/api/tools/ChestScan/versions/2.0/claims", json={**claim, "value": 0.9})
    )
    assert [c["value"] for c in replaced["claims"]] == [0.9]

    for step in ("evaluating", "approved", "live"):
        moved = _ok(
            client.post(
                "/api/tools/ChestScan/status", json={"status": step, "reason": f"to {step}"}
            )
        )
        assert moved["status"] == step
    tool = _ok(client.get("/api/tools/ChestScan"))
    assert tool["live_version"] == "2.0"
    assert tool["intended_use"] == TOOL["intended_use"]
    assert tool["versions"][0]["claims"][0]["metric"] == "sensitivity"
    history = tool["status_history"]
    assert [(h["from_status"], h["to_status"]) for h in history] == [
        (None, "proposed"),
        ("proposed", "evaluating"),
        ("evaluating", "approved"),
        ("approved", "live"),
    ]
    assert history[-1]["reason"] == "to live"
    assert history[-1]["changed_by"].startswith("test-")  # the API token that acted

    listing = _ok(client.get("/api/tools"))
    assert listing == [
        {
            **{k: None for k in ("product", "clinical_pathway", "mhra_reference", "udi_di")},
            **TOOL,
            "modality": "DX",
            "status": "live",
            "live_version": "2.0",
            "versions": ["2.0"],
        }
    ]


def test_refused_lifecycle_moves_answer_409_with_the_allowed_moves(client: TestClient) -> None:
    _ok(client.post("/api/tools", json=TOOL), 201)
    refused = client.post("/api/tools/ChestScan/status", json={"status": "live"})
    assert refused.status_code == 409
    body = refused.json()
    assert body["error"] == "ConflictError"
    assert "cannot move from proposed to live" in body["message"]
    assert "evaluating, retired" in body["message"]
    same = client.post("/api/tools/ChestScan/status", json={"status": "proposed"})
    assert same.status_code == 409
    assert "already proposed" in same.json()["message"]
    _ok(client.post("/api/tools/ChestScan/status", json={"status": "retired"}))
    final = client.post("/api/tools/ChestScan/status", json={"status": "evaluating"})
    assert final.status_code == 409
    assert "retired is final" in final.json()["message"]
    assert _ok(client.get("/api/tools/ChestScan"))["status"] == "retired"


def test_unknown_tool_version_and_duplicates(client: TestClient) -> None:
    missing = client.get("/api/tools/Nope")
    assert missing.status_code == 404
    assert missing.json()["error"] == "NotFoundError"
    assert "No tool named 'Nope' is registered" in missing.json()["message"]
    assert client.post("/api/tools/Nope/status", json={"status": "evaluating"}).status_code == 404
    assert client.post("/api/tools/Nope/versions", json={"version": "1"}).status_code == 404
    _setup_tool(client)
    no_version = client.post(
        "/api/tools/ChestScan/versions/9.9/claims", json={"metric": "auc", "value": 0.9}
    )
    assert no_version.status_code == 404
    assert "has no version '9.9'" in no_version.json()["message"]
    again = client.post("/api/tools", json=TOOL)
    assert again.status_code == 409
    assert "already registered" in again.json()["message"]
    dup = client.post("/api/tools/ChestScan/versions", json={"version": "2.0"})
    assert dup.status_code == 409
    unknown_route = client.get("/api/nothing-here")
    assert unknown_route.status_code == 404
    assert unknown_route.json()["error"] == "NotFound"
    not_allowed = client.delete("/api/tools")
    assert not_allowed.status_code == 405
    assert "allow" in not_allowed.headers


def test_tool_names_with_slashes_and_spaces(client: TestClient) -> None:
    _ok(client.post("/api/tools", json={**TOOL, "name": "Acme/CXR triage"}), 201)
    assert _ok(client.get("/api/tools/Acme%2FCXR%20triage"))["name"] == "Acme/CXR triage"
    _ok(client.post("/api/tools/Acme%2FCXR%20triage/versions", json={"version": "1"}), 201)
    moved = _ok(client.post("/api/tools/Acme/CXR triage/status", json={"status": "evaluating"}))
    assert moved["versions"][0]["version"] == "1"


def test_invalid_requests_answer_422_with_problems(client: TestClient) -> None:
    bad = client.post("/api/tools", json={"name": "X", "task": "triage", "colour": "red"})
    assert bad.status_code == 422
    body = bad.json()
    assert body["error"] == "RequestValidationError"
    columns = {p["column"] for p in body["problems"]}
    assert {"manufacturer", "task", "colour"} <= columns
    assert "nothing was written" in body["message"]
    broken = client.post(
        "/api/tools", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert broken.status_code == 422
    assert "not valid JSON" in broken.json()["problems"][0]["message"]
    _setup_tool(client)
    # ValueError raised by the services becomes 422 with its message
    threshold = client.post(
        "/api/tools/ChestScan/versions", json={"version": "3", "operating_threshold": 7}
    )
    assert threshold.status_code == 422
    assert threshold.json() == {
        "error": "InvalidValue",
        "message": "Operating threshold 7.0 is outside the score range 0.0 to 1.0.",
    }
    claim = client.post(
        "/api/tools/ChestScan/versions/2.0/claims",
        json={"metric": "auc", "value": 0.9, "ci_low": 0.91, "ci_high": 0.95},
    )
    assert claim.status_code == 422
    assert "outside its own interval" in claim.json()["message"]
    bad_kind = client.post("/api/ingest/patients", json={"records": [{"a": 1}]})
    assert bad_kind.status_code == 422
    assert bad_kind.json()["problems"][0]["source"] == "path"


def test_sites(client: TestClient) -> None:
    assert _ok(client.get("/api/sites")) == []
    assert _ok(client.post("/api/sites", json={"code": "RXH01", "name": "Royal Example"}), 201) == {
        "code": "RXH01",
        "name": "Royal Example",
    }
    _ok(client.post("/api/sites", json={"code": "RXH01", "name": "Royal Example"}), 201)
    _ok(client.post("/api/sites", json={"code": "RXH02"}), 201)
    clash = client.post("/api/sites", json={"code": "RXH01", "name": "Other"})
    assert clash.status_code == 409
    assert _ok(client.get("/api/sites")) == [
        {"code": "RXH01", "name": "Royal Example"},
        {"code": "RXH02", "name": "RXH02"},
    ]


def test_actor_dependency_reaches_the_services(settings: Settings) -> None:
    init_store(settings)
    app = create_app(settings)
    alice = auth.Actor("alice", "user", "admin", 1, auth.permissions_of("admin"))
    app.dependency_overrides[deps.current_actor] = lambda: alice
    with TestClient(app) as c:
        body = _ok(c.post("/api/tools", json=TOOL), 201)
        assert body["status_history"][0]["changed_by"] == "alice"
        moved = _ok(c.post("/api/tools/ChestScan/status", json={"status": "evaluating"}))
        assert moved["status_history"][-1]["changed_by"] == "alice"


# -- ingestion -----------------------------------------------------------------
def test_ingest_studies_then_results_rejection_and_idempotence(client: TestClient) -> None:
    _setup_tool(client)
    studies = _studies(5)
    summary = _ok(client.post("/api/ingest/studies", json={"records": studies}))
    assert summary["kind"] == "studies"
    assert (summary["rows"], summary["inserted"], summary["unchanged"]) == (5, 5, 0)
    again = _ok(client.post("/api/ingest/studies", json={"records": studies}))
    assert (again["inserted"], again["unchanged"]) == (0, 5)
    assert again["sha256"] == summary["sha256"]

    # A rejected batch lists every problem with record index and column; nothing is written.
    bad = _studies(4, start=100)
    bad[1]["age"] = 200
    bad[3]["site"] = "NOPE"
    del bad[2]["modality"]
    rejected = client.post("/api/ingest/studies", json={"records": bad})
    assert rejected.status_code == 422
    problems = rejected.json()["problems"]
    assert [(p["record"], p["column"]) for p in problems] == [(2, "modality")]
    del bad[2]
    bad.insert(2, _studies(1, start=102)[0])
    rejected = client.post("/api/ingest/studies", json={"records": bad})
    assert rejected.status_code == 422
    body = rejected.json()
    assert body["error"] == "DataValidationError"
    assert "nothing was written" in body["message"]
    found = {(p["record"], p["column"]) for p in body["problems"]}
    assert found == {(1, "age"), (3, "site")}
    assert all(p["source"] == "request" and p["message"] for p in body["problems"])
    fixed = [*bad[:1], _studies(1, start=101)[0], bad[2], _studies(1, start=103)[0]]
    accepted = _ok(client.post("/api/ingest/studies", json={"records": fixed}))
    assert accepted["inserted"] == 4  # proves the rejected batch wrote nothing

    results = _results(5)
    got = _ok(client.post("/api/ingest/results", json={"records": results}))
    assert (got["inserted"], got["unchanged"]) == (5, 0)
    before = _counts(client)
    assert before == {
        "studies": 5,
        "results": 5,
        "results_with_reference": 0,
        "by_version": {"2.0": 5},
    }
    bad_results = _results(3, start=100)
    bad_results[0]["score"] = 1.5
    bad_results[2]["study_id"] = "NEVER-INGESTED"
    rejected = client.post("/api/ingest/results", json={"records": bad_results})
    assert rejected.status_code == 422
    found = {(p["record"], p["column"]) for p in rejected.json()["problems"]}
    assert found == {(0, "score"), (2, "study_id")}
    assert _counts(client) == before
    repost = _ok(client.post("/api/ingest/results", json={"records": results}))
    assert (repost["inserted"], repost["unchanged"]) == (0, 5)
    assert _counts(client) == before

    # A contradicting record is a problem unless the caller says skip or update.
    changed = [{**results[0], "score": 0.99}]
    conflict = client.post("/api/ingest/results", json={"records": changed})
    assert conflict.status_code == 422
    assert conflict.json()["problems"][0]["column"] == "score"
    skipped = _ok(
        client.post("/api/ingest/results", json={"records": changed, "on_conflict": "skip"})
    )
    assert skipped["skipped_conflicts"] == 1
    updated = _ok(
        client.post("/api/ingest/results", json={"records": changed, "on_conflict": "update"})
    )
    assert updated["updated"] == 1

    refs = [
        {"study_id": f"ACC{i:06d}", "finding": "pneumothorax", "label": i % 2, "source": "report"}
        for i in range(3)
    ]
    _ok(client.post("/api/ingest/references", json={"records": refs}))
    assert _counts(client)["results_with_reference"] == 3


def test_ingest_create_sites_and_empty_batch(client: TestClient) -> None:
    refused = client.post("/api/ingest/studies", json={"records": _studies(1, site="NEW01")})
    assert refused.status_code == 422
    assert refused.json()["problems"][0]["column"] == "site"
    made = _ok(
        client.post(
            "/api/ingest/studies", json={"records": _studies(1, site="NEW01"), "create_sites": True}
        )
    )
    assert made["sites_created"] == ["NEW01"]
    assert _ok(client.get("/api/sites")) == [{"code": "NEW01", "name": "NEW01"}]
    empty = client.post("/api/ingest/studies", json={"records": []})
    assert empty.status_code == 422
    assert "no records" in empty.json()["message"]
    wrong_value = client.post(
        "/api/ingest/studies", json={"records": _studies(1), "on_conflict": "overwrite"}
    )
    assert wrong_value.status_code == 422
    assert wrong_value.json()["problems"][0]["column"] == "on_conflict"


def test_bulk_ingestion_of_ten_thousand_records(client: TestClient) -> None:
    _setup_tool(client)
    n = 10_000
    studies = _ok(client.post("/api/ingest/studies", json={"records": _studies(n)}))
    assert (studies["rows"], studies["inserted"]) == (n, n)
    results = _ok(client.post("/api/ingest/results", json={"records": _results(n)}))
    assert (results["rows"], results["inserted"]) == (n, n)
    assert _counts(client) == {
        "studies": n,
        "results": n,
        "results_with_reference": 0,
        "by_version": {"2.0": n},
    }
    again = _ok(client.post("/api/ingest/results", json={"records": _results(n)}))
    assert (again["inserted"], again["unchanged"]) == (0, n)
