"""Equity runs: flags JSON, the saved run, the report, the fronts and the demo's truths.

Every test that takes ``store``, ``settings`` or ``client`` runs on SQLite and on
PostgreSQL. The demo checks build a demo department on SQLite only.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

import radassure.cli.equity  # noqa: F401  (registers `radassure equity` on the app)
from radassure import core
from radassure.api import create_app
from radassure.cli.main import app
from radassure.config import Settings
from radassure.db import session_scope
from radassure.db.models import Run
from radassure.errors import NotFoundError
from radassure.services import (
    Store,
    add_site,
    add_tool,
    add_version,
    build_demo,
    ingest_records,
    init_store,
    open_store,
)
from radassure.services.auth import system_actor
from radassure.services.equity import ATTRIBUTES, run_equity
from radassure.services.runs import get_run
from radassure.services.validation import run_validation

THRESHOLD = 0.5
N = 4000
START = dt.datetime(2025, 1, 1, 9, 0)
FLAG_KEYS = {"attribute", "group", "metric", "estimate", "reference", "difference", "p_adjusted"}


# -- a small synthetic department: sensitivity 0.65 for patients aged 80+, 0.90 otherwise
def _department(store: Store, *, references: bool = True) -> dict[str, Any]:
    add_site(store, "A", "Alpha General", actor=system_actor("test"))
    add_site(store, "B", "Beta Community", actor=system_actor("test"))
    add_tool(
        store,
        name="ChestAI",
        manufacturer="Acme",
        task="classification",
        modality="DX",
        actor=system_actor("test"),
    )
    add_version(store, "ChestAI", "1.0", operating_threshold=THRESHOLD, actor=system_actor("test"))
    rng = np.random.default_rng(11)
    age = rng.integers(18, 100, N)
    label = rng.random(N) < 0.4
    old = age >= 80
    hit = rng.random(N) < np.where(old, 0.65, 0.90)
    false_alarm = rng.random(N) < 0.15
    score = np.where(label, np.where(hit, 0.8, 0.2), np.where(false_alarm, 0.7, 0.3))
    studies = [
        {
            "patient_id": f"P{i:05d}",
            "study_id": f"S{i:05d}",
            "site": "A" if i % 3 else "B",
            "acquired_at": (START + dt.timedelta(hours=2 * i)).isoformat(),
            "modality": "DX",
            "manufacturer": "Kestrel",
            "model": "Vela" if i % 2 else "Orion",
            "sex": "FM"[i % 2],
            "age": int(age[i]),
            # Ethnic category goes missing far more often at site B.
            "ethnic_group": ("Z" if i % 3 == 0 and i % 2 else "ACHN"[i % 4]),
            "deprivation_decile": 1 + i % 10,
        }
        for i in range(N)
    ]
    results = [
        {
            "tool": "ChestAI",
            "version": "1.0",
            "study_id": f"S{i:05d}",
            "finding": "pneumothorax",
            "score": float(score[i]),
        }
        for i in range(N)
    ]
    ingest_records(store, "studies", studies, actor=system_actor("test"))
    ingest_records(store, "results", results, actor=system_actor("test"))
    if references:
        refs = [
            {"study_id": f"S{i:05d}", "finding": "pneumothorax", "label": int(label[i])}
            for i in range(N)
        ]
        ingest_records(
            store,
            "references",
            [{**r, "source": "report"} for r in refs],
            actor=system_actor("test"),
        )
    return {"label": label, "score": score, "age": age}


@pytest.fixture
def dept(store: Store) -> dict[str, Any]:
    return _department(store)


def test_flags_json_contract_and_numbers(store: Store, dept: dict[str, Any]) -> None:
    run = run_equity(store, "ChestAI", "1.0", actor=system_actor("Dr Test"))
    r = run.results
    assert r["attributes"] == ["sex", "age_band", "ethnic_group", "deprivation"]
    assert r["metrics"] == ["sensitivity", "specificity", "auc"]
    # Lower sensitivity lowers the AUC too: the same group, and nothing else.
    assert [(f["attribute"], f["group"], f["metric"]) for f in r["flags"]] == [
        ("age_band", "80+", "sensitivity"),
        ("age_band", "80+", "auc"),
    ]
    flag = r["flags"][0]
    assert set(flag) >= FLAG_KEYS and "reading" in flag
    # The numbers are core's on the derived groups.
    y, s = dept["label"], dept["score"]
    old = dept["age"] >= 80
    direct = core.diagnostic_metrics(y[old], s[old] >= THRESHOLD)["sensitivity"]
    assert flag["estimate"] == pytest.approx(direct.value)
    rest = core.diagnostic_metrics(y[~old], s[~old] >= THRESHOLD)["sensitivity"]
    assert flag["reference"] == pytest.approx(rest.value)
    assert flag["difference"] == pytest.approx(direct.value - rest.value)
    assert 0 <= flag["p_adjusted"] <= 0.05
    assert r["groups"]["age_band"] == ["<40", "40-59", "60-79", "80+"]
    assert r["groups"]["ethnic_group"] == ["White", "Asian", "Black", "not recorded"]
    assert r["groups"]["deprivation"][0] == "quintile 1 (most deprived)"
    # Completeness counts studies and warns about site B's missing ethnic group.
    eth = next(a for a in r["completeness"]["attributes"] if a["attribute"] == "ethnic_group")
    assert eth["n"] == N and eth["missing_codes"] == {"Z": eth["missing"]}
    assert any(
        w["attribute"] == "ethnic_group" and w["across"] == "site"
        for w in r["completeness"]["warnings"]
    )
    json.dumps(r, allow_nan=False)  # NaN stored as null


def test_run_is_stored_with_parameters_and_fingerprint(store: Store, dept: dict[str, Any]) -> None:
    run = run_equity(
        store,
        "ChestAI",
        "1.0",
        attributes=["age_band", "site"],
        correction="bh",
        actor=system_actor("test"),
    )
    assert run.kind == "equity" and run.n_rows == N
    assert run.parameters["attributes"] == ["age_band", "site"]
    assert run.parameters["correction"] == "bh"
    with session_scope(store.engine) as s:
        saved = s.scalar(select(Run).where(Run.id == run.id))
        assert saved is not None and saved.kind == "equity"
        assert saved.results["flags"] == run.results["flags"]
        assert saved.report_html and saved.report_html.startswith("<!DOCTYPE html>")
    again = get_run(store, run.id)
    assert again.results == run.results and again.headline[0]["group"] == "80+"
    same = run_equity(
        store,
        "ChestAI",
        "1.0",
        attributes=["age_band", "site"],
        correction="bh",
        actor=system_actor("test"),
    )
    assert same.data_fingerprint == run.data_fingerprint
    other = run_equity(
        store, "ChestAI", "1.0", attributes=["age_band", "sex"], actor=system_actor("test")
    )
    assert other.data_fingerprint != run.data_fingerprint  # the grouping is part of the data


def test_report_is_self_contained_with_svg(store: Store, dept: dict[str, Any]) -> None:
    html = run_equity(store, "ChestAI", "1.0", actor=system_actor("test")).report_html or ""
    assert html.startswith("<!DOCTYPE html>") and "<style>" in html
    assert "http://" not in html and "https://" not in html
    assert "<script" not in html and "<link" not in html and "<img" not in html
    assert not re.search(r'(?:src|href)="(?!#)', html)
    assert html.count("<svg") == 3  # one forest plot per metric
    for text_ in (
        "Sensitivity by group",
        "Sensitivity for patients with age band 80+",
        "Insufficient data",
        "Completeness of the attributes",
        "ethnic_group is missing for",
        "Data fingerprint",
    ):
        assert text_ in html, text_


def test_validation_report_includes_the_equity_section(store: Store, dept: dict[str, Any]) -> None:
    run = run_validation(store, "ChestAI", "1.0", actor=system_actor("test"))
    eq = run.results["equity"]
    assert eq["computed"] and eq["flags"][0]["group"] == "80+"
    html = run.report_html or ""
    assert 'id="equity"' in html and "Sensitivity by group" in html


def test_bad_requests_get_clear_errors(store: Store, dept: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"Unknown attribute 'race'; the known attributes are"):
        run_equity(store, "ChestAI", "1.0", attributes="sex,race", actor=system_actor("test"))
    with pytest.raises(ValueError, match=", ".join(ATTRIBUTES)):
        run_equity(store, "ChestAI", "1.0", attributes=["religion"], actor=system_actor("test"))
    with pytest.raises(ValueError, match="'manufacturer' has one group only"):
        run_equity(store, "ChestAI", "1.0", attributes="manufacturer", actor=system_actor("test"))
    with pytest.raises(ValueError, match="'site' has one group only"):
        run_equity(
            store,
            "ChestAI",
            "1.0",
            attributes="age_band,site",
            site="B",
            actor=system_actor("test"),
        )
    with pytest.raises(ValueError, match="correction must be 'holm' or 'bh'"):
        run_equity(store, "ChestAI", "1.0", correction="bonferroni", actor=system_actor("test"))
    with pytest.raises(NotFoundError, match="No tool named 'Nope'"):
        run_equity(store, "Nope", "1.0", actor=system_actor("test"))


def test_no_reference_standard_yet(store: Store) -> None:
    _department(store, references=False)
    with pytest.raises(NotFoundError, match="has a reference standard yet"):
        run_equity(store, "ChestAI", "1.0", actor=system_actor("test"))


# -- command line --------------------------------------------------------------
runner = CliRunner()


@pytest.fixture
def cli_home(settings: Settings, dept: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("RADASSURE_DATABASE_URL", settings.resolved_database_url())
    return str(settings.home)


def _cli(home: str, *args: str, code: int = 0) -> str:
    result = runner.invoke(app, ["--home", home, "equity", *args])
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    return result.output


def test_cli_json_text_and_errors(cli_home: str, tmp_path: Path) -> None:
    report = tmp_path / "equity.html"
    base = ["--tool", "ChestAI", "--version", "1.0"]
    data = json.loads(_cli(cli_home, *base, "--json", "--output", str(report)))
    assert data["kind"] == "equity" and data["report_path"] == str(report)
    assert set(data["results"]["flags"][0]) >= FLAG_KEYS
    assert "<svg" in report.read_text(encoding="utf-8")
    text_ = _cli(cli_home, *base, "--attributes", "age_band,site", "--margin", "0.08")
    assert "Equity run" in text_ and "80+" in text_ and "/runs/" in text_
    bad = _cli(cli_home, *base, "--attributes", "sex,colour", code=2)
    assert "Unknown attribute 'colour'" in bad and "manufacturer" in bad
    one = _cli(cli_home, *base, "--attributes", "manufacturer", code=2)
    assert "has one group only" in one
    assert "--from 'May' is not a date" in _cli(cli_home, *base, "--from", "May", code=2)


# -- API and pages -------------------------------------------------------------
@pytest.fixture
def client(settings: Settings, auth_headers: Callable[..., dict[str, str]]) -> Iterator[TestClient]:
    init_store(settings)
    st = open_store(settings)
    try:
        _department(st)
    finally:
        st.dispose()
    with TestClient(create_app(settings), headers=auth_headers(settings)) as c:
        yield c


def test_api_starts_and_reads_an_equity_run(client: TestClient) -> None:
    url = "/api/tools/ChestAI/versions/1.0/equity"
    made = client.post(url, json={"attributes": ["age_band", "sex"], "margin": 0.05})
    assert made.status_code == 201, made.text
    body = made.json()
    assert made.headers["location"] == f"/api/runs/{body['id']}"
    assert body["kind"] == "equity" and set(body["results"]["flags"][0]) >= FLAG_KEYS
    got = client.get(f"/api/runs/{body['id']}").json()
    assert got["results"] == body["results"]
    assert client.post(url).status_code == 201  # no body: every default
    bad = client.post(url, json={"attributes": ["shoe_size"]})
    assert bad.status_code == 422 and "Unknown attribute 'shoe_size'" in bad.json()["message"]
    one = client.post(url, json={"attributes": ["model"], "site": "A", "from": "2025-01-01"})
    assert one.status_code == 201  # two models at site A
    nope = client.post("/api/tools/ChestAI/versions/9/equity")
    assert nope.status_code == 404 and "has no version '9'" in nope.json()["message"]
    paths = client.get("/openapi.json").json()["paths"]
    assert "post" in paths["/api/tools/{name}/versions/{version}/equity"]
    page = client.get(f"/runs/{body['id']}")
    assert page.status_code == 200 and "Equity run" in page.text and "age band 80+" in page.text
    assert "<svg" in client.get(f"/runs/{body['id']}/report").text
    assert f'href="/runs/{body["id"]}"' in client.get("/tools/ChestAI").text


# -- the demo department -------------------------------------------------------
@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    home = tmp_path_factory.mktemp("demo-equity")
    settings = Settings(home=home, site_secret="5e" * 32)
    build_demo(settings, n_studies=DEMO_STUDIES)
    st = open_store(settings)
    yield st
    st.dispose()


DEMO_STUDIES = 20_000


def test_demo_flags_the_80_plus_group_and_nothing_else(demo_store: Store) -> None:
    run = run_equity(demo_store, "ThoraxGuard", "3.2.0", actor=system_actor("test"))
    flagged = {(f["attribute"], f["group"], f["metric"]) for f in run.results["flags"]}
    assert ("age_band", "80+", "sensitivity") in flagged
    # The planted truth lowers positives' scores: sensitivity, and with it the AUC.
    assert flagged <= {("age_band", "80+", "sensitivity"), ("age_band", "80+", "auc")}
    for other in ("OsteoSpot",):
        version = "2.4.1"
        assert (
            run_equity(demo_store, other, version, actor=system_actor("test")).results["flags"]
            == []
        )


def test_demo_equipment_attributes_find_only_the_scanner_upgrade(demo_store: Store) -> None:
    attrs = "sex,age_band,ethnic_group,deprivation,site,manufacturer,model"
    pooled = run_equity(
        demo_store, "ThoraxGuard", "3.2.0", attributes=attrs, actor=system_actor("test")
    )
    assert {f["attribute"] for f in pooled.results["flags"]} == {"age_band"}
    after = run_equity(
        demo_store,
        "ThoraxGuard",
        "3.2.0",
        attributes=attrs,
        finding="pneumothorax",
        date_from=dt.date(2025, 8, 1),
        actor=system_actor("test"),
    )
    for f in after.results["flags"]:
        key = (f["attribute"], f["group"])
        assert f["metric"] in ("sensitivity", "auc"), f
        assert key in {("age_band", "80+"), ("site", "NWG"), ("model", "Vela DR 600")}, f
    # Asked about the equipment alone, the upgraded unit's pneumothorax gap is found.
    narrow = run_equity(
        demo_store,
        "ThoraxGuard",
        "3.2.0",
        attributes="site,model",
        finding="pneumothorax",
        date_from=dt.date(2025, 8, 1),
        actor=system_actor("test"),
    )
    found = {(f["attribute"], f["group"]) for f in narrow.results["flags"]}
    assert found and found <= {("site", "NWG"), ("model", "Vela DR 600")}
