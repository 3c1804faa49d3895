"""Validation runs: numbers equal to direct computations, fingerprints, reports, fronts.

Every test that takes ``store``, ``settings`` or ``client`` runs on SQLite and on
PostgreSQL. The demo check builds a small demo department on SQLite only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from scipy import stats
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    confusion_matrix,
    roc_auc_score,
)
from sqlalchemy import select, text
from typer.testing import CliRunner

import radassure.cli.validate  # noqa: F401  (registers `radassure validate` on the app)
from radassure import core
from radassure.api import create_app
from radassure.cli.main import app
from radassure.config import Settings
from radassure.db import session_scope
from radassure.db.models import Run
from radassure.errors import NotFoundError
from radassure.services import (
    ClaimInfo,
    Store,
    add_claim,
    add_site,
    add_tool,
    add_version,
    build_demo,
    ingest_records,
    init_store,
    open_store,
)
from radassure.services.auth import system_actor
from radassure.services.runs import get_run, list_runs
from radassure.services.validation import run_validation

THRESHOLD = 0.4
N = 240
UNREFERENCED = 20  # the last studies have no pneumothorax reference yet
START = dt.datetime(2025, 1, 1, 9, 0)


# -- a small synthetic department ----------------------------------------------
def _classification(store: Store) -> dict[str, Any]:
    """ChestAI 1.0 with two findings; returns what was ingested, for direct checks."""
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
    for metric, value, lo, hi in [
        ("sensitivity", 0.95, 0.92, 0.97),
        ("specificity", 0.50, 0.45, 0.55),
        ("auc", 0.90, 0.87, 0.93),
        ("youden", 0.50, None, None),
    ]:
        claim = ClaimInfo(metric, value, "pneumothorax", lo, hi, 0.95 if lo else None, "IFU 7")
        add_claim(store, "ChestAI", "1.0", claim, actor=system_actor("test"))
    rng = np.random.default_rng(7)
    label = rng.random(N) < 0.3
    score = np.round(np.clip(rng.normal(0.3 + 0.3 * label, 0.15), 0.001, 0.999), 3)
    nodule = rng.random(N) < 0.25
    studies = [
        {
            "patient_id": f"P{i:05d}",
            "study_id": f"S{i:05d}",
            "site": "A" if i % 5 < 3 else "B",
            "acquired_at": (START + dt.timedelta(days=i)).isoformat(),
            "modality": "DX",
            "manufacturer": "Kestrel",
            "model": "Vela" if i % 2 else "Orion",
            "sex": "FMFU"[i % 4],
            "age": 10 + (i * 7) % 85,
            "ethnic_group": ["A", "C", "Z", ""][i % 4],
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
    ] + [
        # Nodule scores never reach the threshold: no positive calls, PPV undefined.
        {
            "tool": "ChestAI",
            "version": "1.0",
            "study_id": f"S{i:05d}",
            "finding": "nodule",
            "score": 0.05 + 0.1 * bool(nodule[i]),
        }
        for i in range(N)
    ]
    # One stored call contradicts the threshold; the analysis must use the threshold.
    results[0]["call"] = "0" if score[0] >= THRESHOLD else "1"
    refs = [
        {
            "study_id": f"S{i:05d}",
            "finding": "pneumothorax",
            "label": int(label[i]),
            "source": "report",
        }
        for i in range(N - UNREFERENCED)
    ] + [
        {
            "study_id": f"S{i:05d}",
            "finding": "nodule",
            "label": int(nodule[i]),
            "source": "consensus",
        }
        for i in range(N)
    ]
    ingest_records(store, "studies", studies, actor=system_actor("test"))
    ingest_records(store, "results", results, actor=system_actor("test"))
    ingest_records(store, "references", refs, actor=system_actor("test"))
    used = slice(0, N - UNREFERENCED)
    return {"label": label[used], "score": score[used], "nodule": nodule}


@pytest.fixture
def chest(store: Store) -> dict[str, Any]:
    return _classification(store)


def _finding(run: Any, name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(f for f in run.results["findings"] if f["finding"] == name)
    return found


def _close(est: dict[str, Any], direct: core.Estimate) -> None:
    for key in ("value", "ci_low", "ci_high"):
        assert est[key] == pytest.approx(getattr(direct, key), abs=1e-12), key
    assert est["method"] == direct.method and est["n"] == direct.n


# -- numbers -------------------------------------------------------------------
def test_run_numbers_equal_direct_core_and_sklearn(store: Store, chest: dict[str, Any]) -> None:
    run = run_validation(store, "ChestAI", "1.0", margin=0.05, actor=system_actor("Dr Test"))
    y, s = chest["label"], chest["score"]
    f = _finding(run, "pneumothorax")
    assert f["counts"] == {
        "results": N,
        "with_reference": N - UNREFERENCED,
        "used": N - UNREFERENCED,
        "positives": int(y.sum()),
        "negatives": int((~y).sum()),
        "with_score": N - UNREFERENCED,
        "with_call": N - UNREFERENCED,
    }
    direct = core.diagnostic_metrics(y, s >= THRESHOLD)
    for key, est in direct.items():
        _close(f["metrics"][key], est)
    tn, fp, fn, tp = confusion_matrix(y, s >= THRESHOLD).ravel()
    assert f["confusion"] == {"tp": tp, "fp": fp, "fn": fn, "tn": tn}
    auc = core.roc_auc(y, s)
    _close(f["auc"], auc)
    assert f["auc"]["value"] == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    assert f["auc"]["method"] == "delong"
    assert f["average_precision"]["value"] == pytest.approx(average_precision_score(y, s))
    cal = f["calibration"]
    assert cal["brier"] == pytest.approx(brier_score_loss(y, s))
    fit = core.calibration_intercept_slope(y, s)
    _close(cal["intercept"], fit.intercept)
    _close(cal["slope"], fit.slope)
    assert cal["ece"] == pytest.approx(core.expected_calibration_error(y, s))
    assert cal["ici"] == pytest.approx(core.integrated_calibration_index(y, s))
    rel = core.reliability_curve(y, s)
    assert cal["reliability"]["observed"] == pytest.approx(rel.observed.tolist())
    roc = core.roc_curve_with_band(y, s)
    assert f["roc"]["points"] == roc.fpr.size and f["roc"]["fpr"][0] == 0.0
    assert f["roc"]["operating_point"]["tpr"] == direct["sensitivity"].value
    # claims: outcome and verdict as check_claim gives them; unknown metrics not checked
    claims = {c["metric"]: c for c in f["claims"]}
    expect = core.check_claim(direct["sensitivity"], 0.95, margin=0.05, metric="sensitivity")
    assert claims["sensitivity"]["outcome"] == expect.outcome
    assert claims["sensitivity"]["p_value"] == pytest.approx(expect.p_value)
    assert claims["auc"]["outcome"] == core.check_claim(auc, 0.90, margin=0.05).outcome
    assert claims["youden"]["outcome"] == "not checked"
    assert "no local estimate of 'youden'" in claims["youden"]["verdict"]
    adequacy = core.sample_adequacy(
        int(y.sum()),
        int((~y).sum()),
        half_width=0.05,
        sensitivity=direct["sensitivity"].value,
        specificity=direct["specificity"].value,
        auc=auc.value,
    )
    assert f["adequacy"]["statement"] == adequacy.statement
    assert any("1 stored call(s) differ from score ≥ 0.4" in n for n in f["notes"])
    methods = {m["method"] for m in run.results["methods"]}
    assert {"wilson", "delong", "log (Simel 1991)", "logit (Boyd 2013)"} <= methods
    # the cohort: distinct studies with a referenced result, by group
    cohort = run.results["cohort"]
    assert cohort["studies"] == N
    sites = {g["group"]: g for g in cohort["groups"]["site"]}
    assert sites["A"]["studies"] + sites["B"]["studies"] == N
    assert sum(g["positives"]["pneumothorax"] for g in sites.values()) == int(y.sum())
    assert {g["group"] for g in cohort["groups"]["sex"]} == {"F", "M", "U"}


def test_undefined_metrics_carry_their_reason(store: Store, chest: dict[str, Any]) -> None:
    run = run_validation(store, "ChestAI", "1.0", finding="nodule", actor=system_actor("test"))
    f = _finding(run, "nodule")
    assert f["confusion"]["tp"] + f["confusion"]["fp"] == 0
    ppv = f["metrics"]["ppv"]
    assert ppv["value"] is None and "no positive calls" in ppv["reason"]
    assert f["metrics"]["lr_positive"]["value"] is None
    assert f["undefined"]
    html = run.report_html or ""
    assert "undefined: " in html and "no positive calls" in html
    json.dumps(run.results, allow_nan=False)  # NaN is stored as null, never as NaN


def test_run_is_saved_and_listed(store: Store, chest: dict[str, Any]) -> None:
    run = run_validation(store, "ChestAI", "1.0", site="A", actor=system_actor("Dr Test"))
    again = get_run(store, run.id)
    assert again.results == json.loads(json.dumps(run.results))
    assert again.report_html == run.report_html
    assert again.parameters == {
        "site": "A",
        "from": None,
        "to": None,
        "finding": None,
        "margin": 0.05,
        "level": 0.95,
        "half_width": 0.05,
    }
    assert again.created_by == "Dr Test" and again.kind == "validation"
    with session_scope(store.engine) as s:
        row = s.scalars(select(Run).where(Run.id == run.id)).one()
        assert row.radassure_version and row.n_rows == run.n_rows
        assert row.report_html and row.report_html.startswith("<!DOCTYPE html>")
    second = run_validation(
        store, "ChestAI", "1.0", finding="pneumothorax", actor=system_actor("test")
    )
    listed = list_runs(store, "ChestAI")
    assert [r.id for r in listed] == [second.id, run.id]
    assert listed[0].results == {} and listed[0].headline[0]["finding"] == "pneumothorax"


def test_scope_filters_site_dates_and_finding(store: Store, chest: dict[str, Any]) -> None:
    full = run_validation(store, "ChestAI", "1.0", actor=system_actor("test"))
    assert full.n_rows == 2 * N - UNREFERENCED
    site_a = run_validation(
        store, "ChestAI", "1.0", site="A", finding="pneumothorax", actor=system_actor("test")
    )
    in_a = sum(1 for i in range(N - UNREFERENCED) if i % 5 < 3)
    assert site_a.n_rows == in_a
    window = run_validation(
        store,
        "ChestAI",
        "1.0",
        finding="pneumothorax",
        date_from=dt.date(2025, 1, 11),
        date_to=dt.date(2025, 1, 30),
        actor=system_actor("test"),
    )
    assert window.n_rows == 20  # days 10 to 29 inclusive
    assert window.results["scope"] == (
        "for finding 'pneumothorax' acquired 2025-01-11 to 2025-01-30"
    )


def _expected_fingerprint(store: Store, finding: str) -> str:
    digest = hashlib.sha256()
    with store.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT r.id, r.score, r.call, f.label FROM ai_result r JOIN reference f "
                "ON f.study_id = r.study_id AND f.finding = r.finding "
                "WHERE r.finding = :f ORDER BY r.id"
            ),
            {"f": finding},
        ).all()
    for rid, score, call, label in rows:
        c = "" if call is None else str(int(bool(call)))
        s = "" if score is None else repr(float(score))
        digest.update(f"{rid}\t{s}\t{c}\t{int(bool(label))}\n".encode())
    return digest.hexdigest()


def test_fingerprint_is_stable_and_follows_the_data(store: Store, chest: dict[str, Any]) -> None:
    first = run_validation(
        store, "ChestAI", "1.0", finding="pneumothorax", actor=system_actor("test")
    )
    assert first.data_fingerprint == _expected_fingerprint(store, "pneumothorax")
    assert run_validation(
        store, "ChestAI", "1.0", finding="pneumothorax", actor=system_actor("test")
    ).data_fingerprint == (first.data_fingerprint)
    # a new reference standard brings one more result in
    ingest_records(
        store,
        "references",
        [{"study_id": f"S{N - 1:05d}", "finding": "pneumothorax", "label": 1, "source": "report"}],
        actor=system_actor("test"),
    )
    more = run_validation(
        store, "ChestAI", "1.0", finding="pneumothorax", actor=system_actor("test")
    )
    assert more.n_rows == first.n_rows + 1 and more.data_fingerprint != first.data_fingerprint
    # a corrected score changes the fingerprint too
    ingest_records(
        store,
        "results",
        [
            {
                "tool": "ChestAI",
                "version": "1.0",
                "study_id": "S00003",
                "finding": "pneumothorax",
                "score": 0.5013,
            }
        ],
        on_conflict="update",
        actor=system_actor("test"),
    )
    fixed = run_validation(
        store, "ChestAI", "1.0", finding="pneumothorax", actor=system_actor("test")
    )
    assert fixed.n_rows == more.n_rows and fixed.data_fingerprint != more.data_fingerprint
    assert fixed.data_fingerprint == _expected_fingerprint(store, "pneumothorax")


def test_report_is_self_contained(store: Store, chest: dict[str, Any]) -> None:
    html = run_validation(store, "ChestAI", "1.0", actor=system_actor("test")).report_html or ""
    assert html.startswith("<!DOCTYPE html>") and "<style>" in html
    assert "http://" not in html and "https://" not in html
    assert "<script" not in html and "<link" not in html and "<img" not in html
    assert not re.search(r'(?:src|href)="(?!#)', html)  # only in-page links
    assert html.count("<svg") >= 6  # ROC, PR, reliability per finding and claims plots
    assert 'role="img"' in html and "<title id=" in html
    for text_ in (
        "ChestAI 1.0",
        "pneumothorax",
        "nodule",
        "Confusion matrix",
        "Calibration",
        "DeLong",
        "Data fingerprint",
        "below the claim",
    ):
        assert text_ in html, text_


def test_bad_requests_get_clear_errors(store: Store, chest: dict[str, Any]) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"tool": "Nope", "version": "1.0"}, "No tool named 'Nope' is registered"),
        ({"version": "9.9"}, "has no version '9.9' (its versions: 1.0)"),
        ({"site": "ZZ"}, "No site with code 'ZZ'"),
        ({"finding": "fracture"}, "its findings are nodule, pneumothorax"),
        ({"date_from": dt.date(2026, 1, 1)}, "has no results acquired from 2026-01-01"),
        (
            {"finding": "pneumothorax", "date_from": dt.date(2025, 8, 9)},
            "has a reference standard yet",
        ),
    ]
    for kwargs, message in cases:
        args = {"tool": "ChestAI", "version": "1.0", **kwargs}
        with pytest.raises(NotFoundError, match=re.escape(message)):
            run_validation(
                store, args.pop("tool"), args.pop("version"), **args, actor=system_actor("test")
            )
    with pytest.raises(ValueError, match="margin must be zero or a positive number"):
        run_validation(store, "ChestAI", "1.0", margin=-1, actor=system_actor("test"))
    with pytest.raises(ValueError, match=r"starts .* after it ends"):
        run_validation(
            store,
            "ChestAI",
            "1.0",
            date_from=dt.date(2025, 3, 1),
            date_to=dt.date(2025, 2, 1),
            actor=system_actor("test"),
        )


def test_a_finding_with_no_positives_is_refused(store: Store) -> None:
    add_site(store, "A", actor=system_actor("test"))
    add_tool(
        store, name="Quiet", manufacturer="Acme", task="classification", actor=system_actor("test")
    )
    add_version(store, "Quiet", "1", operating_threshold=0.5, actor=system_actor("test"))
    ingest_records(
        store,
        "studies",
        [
            {
                "patient_id": f"P{i}",
                "study_id": f"Q{i}",
                "site": "A",
                "acquired_at": "2025-03-01T10:00:00",
                "modality": "DX",
            }
            for i in range(5)
        ],
        actor=system_actor("test"),
    )
    ingest_records(
        store,
        "results",
        [
            {
                "tool": "Quiet",
                "version": "1",
                "study_id": f"Q{i}",
                "finding": "mass",
                "score": 0.1 * i,
            }
            for i in range(5)
        ],
        actor=system_actor("test"),
    )
    ingest_records(
        store,
        "references",
        [
            {"study_id": f"Q{i}", "finding": "mass", "label": 0, "source": "report"}
            for i in range(5)
        ],
        actor=system_actor("test"),
    )
    with pytest.raises(NotFoundError, match="no positive cases of 'mass' among the 5"):
        run_validation(store, "Quiet", "1", finding="mass", actor=system_actor("test"))


# -- detection and segmentation ------------------------------------------------
def _detection(store: Store) -> tuple[list[Any], list[Any], list[Any], np.ndarray, np.ndarray]:
    add_site(store, "A", actor=system_actor("test"))
    add_tool(
        store, name="WristAI", manufacturer="Acme", task="detection", actor=system_actor("test")
    )
    add_version(store, "WristAI", "2", operating_threshold=0.5, actor=system_actor("test"))
    add_claim(
        store,
        "WristAI",
        "2",
        ClaimInfo("lesion_sensitivity", 0.8, "fracture"),
        actor=system_actor("test"),
    )
    add_claim(
        store,
        "WristAI",
        "2",
        ClaimInfo("fp_per_image", 0.3, "fracture"),
        actor=system_actor("test"),
    )
    rng = np.random.default_rng(11)
    refs, preds, scores, labels, study_score = [], [], [], [], []
    for _ in range(80):
        sites = [
            (float(rng.uniform(100, 900)), float(rng.uniform(100, 900)))
            for _ in range(int(rng.choice([0, 0, 1, 2])))
        ]
        marks = [
            (x + rng.normal(0, 5), y + rng.normal(0, 5), float(rng.uniform(0.2, 0.95)))
            for x, y in sites
            if rng.random() < 0.85
        ]
        marks += [
            (
                float(rng.uniform(0, 1000)),
                float(rng.uniform(0, 1000)),
                float(rng.uniform(0.05, 0.7)),
            )
            for _ in range(int(rng.poisson(0.6)))
        ]
        marks = [(round(x, 1), round(y, 1), round(s, 3)) for x, y, s in marks]
        refs.append(sites)
        preds.append([(x, y) for x, y, _ in marks])
        scores.append([s for _, _, s in marks])
        labels.append(bool(sites))
        study_score.append(max((s for _, _, s in marks), default=0.0))
    ingest_records(
        store,
        "studies",
        [
            {
                "patient_id": f"P{i}",
                "study_id": f"W{i}",
                "site": "A",
                "acquired_at": "2025-05-01T10:00:00",
                "modality": "DX",
            }
            for i in range(80)
        ],
        actor=system_actor("test"),
    )
    ingest_records(
        store,
        "results",
        [
            {
                "tool": "WristAI",
                "version": "2",
                "study_id": f"W{i}",
                "finding": "fracture",
                "score": study_score[i],
                "localisations": [
                    {"x": x, "y": y, "score": s}
                    for (x, y), s in zip(preds[i], scores[i], strict=True)
                ],
            }
            for i in range(80)
        ],
        actor=system_actor("test"),
    )
    ingest_records(
        store,
        "references",
        [
            {
                "study_id": f"W{i}",
                "finding": "fracture",
                "label": int(labels[i]),
                "source": "report",
                "localisations": [{"x": x, "y": y} for x, y in refs[i]],
            }
            for i in range(80)
        ],
        actor=system_actor("test"),
    )
    return refs, preds, scores, np.array(labels), np.array(study_score)


def test_detection_run_has_lesion_level_metrics(store: Store) -> None:
    refs, preds, scores, labels, study_score = _detection(store)
    run = run_validation(store, "WristAI", "2", max_distance=20, actor=system_actor("test"))
    f = _finding(run, "fracture")
    ref_a = [np.asarray(r, dtype=float).reshape(-1, 2) for r in refs]
    pred_a = [np.asarray(p, dtype=float).reshape(-1, 2) for p in preds]
    kw: dict[str, Any] = {"max_distance": 20, "scores": scores, "threshold": 0.5}
    lesion = f["lesion"]
    _close(lesion["lesion_sensitivity"], core.lesion_sensitivity(ref_a, pred_a, **kw))
    _close(lesion["fp_per_image"], core.false_positives_per_image(ref_a, pred_a, **kw))
    located = core.case_level_metrics(ref_a, pred_a, **kw, require_localisation=True)
    _close(lesion["localised"]["sensitivity"], located["sensitivity"])
    froc = core.froc_points(ref_a, pred_a, scores, max_distance=20)
    assert lesion["froc"]["sensitivity_at"] == pytest.approx(froc.sensitivity_at.tolist())
    assert lesion["froc"]["mean_sensitivity"] == pytest.approx(froc.mean_sensitivity)
    _close(
        f["metrics"]["sensitivity"],
        core.diagnostic_metrics(labels, study_score >= 0.5)["sensitivity"],
    )
    assert f["auc"]["value"] == pytest.approx(roc_auc_score(labels, study_score))
    assert f["calibration"] is None  # a detector's study score is not a probability
    outcomes = {c["metric"]: c for c in f["claims"]}
    assert outcomes["fp_per_image"]["direction"] == "lower"
    assert run.parameters["max_distance"] == 20
    assert "FROC" in (run.report_html or "")


def test_segmentation_run_summarises_each_structure(store: Store) -> None:
    add_site(store, "A", actor=system_actor("test"))
    add_tool(
        store,
        name="Contourer",
        manufacturer="Acme",
        task="segmentation",
        actor=system_actor("test"),
    )
    add_version(store, "Contourer", "5", actor=system_actor("test"))
    add_claim(
        store,
        "Contourer",
        "5",
        ClaimInfo("dice", 0.9, "parotid_l", 0.89, 0.91, 0.95),
        actor=system_actor("test"),
    )
    rng = np.random.default_rng(5)
    dice = {s: np.round(rng.uniform(0.7, 0.95, 30), 4) for s in ("parotid_l", "mandible")}
    hd95 = {s: np.round(rng.uniform(1, 9, 30), 1) for s in dice}
    ingest_records(
        store,
        "studies",
        [
            {
                "patient_id": f"P{i}",
                "study_id": f"C{i}",
                "site": "A",
                "acquired_at": "2025-06-01T10:00:00",
                "modality": "CT",
            }
            for i in range(30)
        ],
        actor=system_actor("test"),
    )
    ingest_records(
        store,
        "results",
        [
            {
                "tool": "Contourer",
                "version": "5",
                "study_id": f"C{i}",
                "finding": s,
                "score": float(dice[s][i]),
                "localisations": {"dice": float(dice[s][i]), "hd95_mm": float(hd95[s][i])},
            }
            for s in dice
            for i in range(30)
        ],
        actor=system_actor("test"),
    )
    ingest_records(
        store,
        "references",
        [
            {"study_id": f"C{i}", "finding": s, "label": 1, "source": "consensus"}
            for s in dice
            for i in range(30)
        ],
        actor=system_actor("test"),
    )
    run = run_validation(store, "Contourer", "5", actor=system_actor("test"))
    f = _finding(run, "parotid_l")
    mean = f["summaries"]["dice"]["mean"]
    x = dice["parotid_l"]
    low, high = stats.t.interval(0.95, x.size - 1, loc=x.mean(), scale=stats.sem(x))
    assert mean["value"] == pytest.approx(x.mean())
    assert (mean["ci_low"], mean["ci_high"]) == pytest.approx((low, high))
    assert mean["method"] == "t"
    assert f["summaries"]["hd95_mm"]["median"] == pytest.approx(np.median(hd95["parotid_l"]))
    claim = f["claims"][0]
    assert (
        claim["outcome"]
        == core.check_claim(
            core.Estimate(mean["value"], low, high, 0.95, "t", 30), 0.9, margin=0.05
        ).outcome
    )
    assert _finding(run, "mandible")["claims"] == []
    assert "hd95_mm by structure" in (run.report_html or "")


# -- command line --------------------------------------------------------------
runner = CliRunner()


@pytest.fixture
def cli_home(settings: Settings, chest: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("RADASSURE_DATABASE_URL", settings.resolved_database_url())
    return str(settings.home)


def _cli(home: str, *args: str, code: int = 0) -> str:
    result = runner.invoke(app, ["--home", home, "validate", *args])
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    return result.output


def test_cli_json_and_report_file(cli_home: str, tmp_path: Path) -> None:
    report = tmp_path / "report.html"
    out = _cli(
        cli_home,
        "--tool",
        "ChestAI",
        "--version",
        "1.0",
        "--site",
        "A",
        "--from",
        "2025-01-01",
        "--finding",
        "pneumothorax",
        "--json",
        "--output",
        str(report),
    )
    data = json.loads(out)
    assert data["parameters"]["site"] == "A" and data["parameters"]["from"] == "2025-01-01"
    assert data["results"]["findings"][0]["finding"] == "pneumothorax"
    assert data["report_path"] == str(report) and "report_html" not in data
    html = report.read_text(encoding="utf-8")
    assert "<svg" in html and "http://" not in html
    text_ = _cli(cli_home, "--tool", "ChestAI", "--version", "1.0")
    assert "Validation run" in text_ and "sensitivity" in text_ and "/runs/" in text_
    assert "Data fingerprint:" in text_


def test_cli_errors_are_sentences(cli_home: str) -> None:
    assert "No tool named 'Nope'" in _cli(cli_home, "--tool", "Nope", "--version", "1", code=1)
    bad = _cli(cli_home, "--tool", "ChestAI", "--version", "1.0", "--from", "May", code=2)
    assert "--from 'May' is not a date; use YYYY-MM-DD." in bad
    window = _cli(cli_home, "--tool", "ChestAI", "--version", "1.0", "--from", "2027-01-01", code=1)
    assert "has no results acquired from 2027-01-01" in window


# -- API and pages -------------------------------------------------------------
@pytest.fixture
def client(settings: Settings, auth_headers: Callable[..., dict[str, str]]) -> Iterator[TestClient]:
    init_store(settings)
    st = open_store(settings)
    try:
        _classification(st)
    finally:
        st.dispose()
    with TestClient(create_app(settings), headers=auth_headers(settings)) as c:
        yield c


def test_api_starts_reads_and_lists_runs(client: TestClient) -> None:
    url = "/api/tools/ChestAI/versions/1.0/validate"
    made = client.post(url, json={"site": "B", "from": "2025-01-01", "finding": "pneumothorax"})
    assert made.status_code == 201, made.text
    body = made.json()
    assert made.headers["location"] == f"/api/runs/{body['id']}"
    assert body["parameters"]["site"] == "B" and body["results"]["findings"]
    assert body["report"] == f"/runs/{body['id']}/report"
    plain = client.post(url)  # no body: every default
    assert plain.status_code == 201, plain.text
    got = client.get(f"/api/runs/{body['id']}").json()
    assert got["results"] == body["results"] and got["data_fingerprint"] == body["data_fingerprint"]
    listed = client.get("/api/tools/ChestAI/runs").json()
    assert [r["id"] for r in listed] == [plain.json()["id"], body["id"]]
    assert "results" not in listed[0]
    assert (
        client.get("/api/tools/ChestAI/runs", params={"limit": 1}).json()[0]["id"]
        == (plain.json()["id"])
    )
    # errors in the one shape
    missing = client.get("/api/runs/999")
    assert missing.status_code == 404 and "There is no run 999" in missing.json()["message"]
    nope = client.post("/api/tools/ChestAI/versions/9/validate")
    assert nope.status_code == 404 and "has no version '9'" in nope.json()["message"]
    bad = client.post(url, json={"margin": -1})
    assert bad.status_code == 422 and bad.json()["problems"][0]["column"] == "margin"
    spec = client.get("/openapi.json").json()["paths"]
    assert "post" in spec["/api/tools/{name}/versions/{version}/validate"]
    assert "get" in spec["/api/runs/{run_id}"] and "get" in spec["/api/tools/{name}/runs"]


def test_run_page_report_and_tool_page(client: TestClient) -> None:
    assert "No validation has been run yet" in client.get("/tools/ChestAI").text
    run_id = client.post("/api/tools/ChestAI/versions/1.0/validate").json()["id"]
    page = client.get(f"/runs/{run_id}")
    assert page.status_code == 200
    html = page.text
    assert '<html lang="en-GB">' in html and '<main id="main"' in html
    assert html.count("<h1>") == 1 and "<script" not in html
    assert f'<iframe src="/runs/{run_id}/report"' in html and 'sandbox=""' in html
    assert f'href="/api/runs/{run_id}"' in html and "pneumothorax" in html
    assert "frame-src 'self'" in page.headers["content-security-policy"]
    report = client.get(f"/runs/{run_id}/report")
    assert report.status_code == 200 and "<svg" in report.text
    csp = report.headers["content-security-policy"]
    assert csp.startswith("sandbox;") and "script-src" not in csp
    saved = client.get(f"/runs/{run_id}/report", params={"download": 1})
    assert saved.headers["content-disposition"].startswith("attachment;")
    tool = client.get("/tools/ChestAI").text
    assert f'href="/runs/{run_id}"' in tool and 'href="/api/tools/ChestAI/runs"' in tool
    missing = client.get("/runs/999")
    assert missing.status_code == 404 and "There is no run 999" in missing.text


# -- the demo department -------------------------------------------------------
@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("demo-validate")
    build_demo(Settings(home=home, site_secret="5e" * 32), n_studies=20_000)
    return home


def test_demo_upgrade_lowers_pneumothorax_sensitivity_at_nwg(
    demo_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RADASSURE_DATABASE_URL", raising=False)
    monkeypatch.setenv("RADASSURE_SITE_SECRET", "5e" * 32)
    base = [
        "--tool",
        "ThoraxGuard",
        "--version",
        "3.2.0",
        "--site",
        "NWG",
        "--finding",
        "pneumothorax",
        "--json",
    ]
    after = json.loads(_cli(str(demo_home), *base, "--from", "2025-08-01"))
    before = json.loads(_cli(str(demo_home), *base, "--to", "2025-07-31"))
    sens_after = after["results"]["findings"][0]["metrics"]["sensitivity"]
    sens_before = before["results"]["findings"][0]["metrics"]["sensitivity"]
    assert sens_after["n"] >= 100 and sens_before["n"] >= 100
    assert sens_after["value"] < sens_before["value"] - 0.1
    assert sens_after["ci_high"] < sens_before["value"]
    spec_after = after["results"]["findings"][0]["metrics"]["specificity"]
    spec_before = before["results"]["findings"][0]["metrics"]["specificity"]
    assert abs(spec_after["value"] - spec_before["value"]) < 0.03  # negatives untouched
    assert after["data_fingerprint"] != before["data_fingerprint"]
    # Planted truth 3: specificity below every claim over the whole year.
    year = json.loads(_cli(str(demo_home), "--tool", "ThoraxGuard", "--version", "3.2.0", "--json"))
    for f in year["results"]["findings"]:
        spec = next(c for c in f["claims"] if c["metric"] == "specificity")
        assert spec["outcome"] == "worse", f["finding"]
        assert math.isclose(f["threshold"], 0.35)
