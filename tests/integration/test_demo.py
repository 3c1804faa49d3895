"""The demo department: deterministic, pseudonymised, and its planted truths are in the data."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import text

from radassure.config import Settings
from radassure.db import make_engine
from radassure.errors import ConfigurationError, ConflictError
from radassure.services import demo as demo_module
from radassure.services.demo import PLANTED_TRUTHS, DemoReport, build_demo

SECRET = "5e" * 32  # a fixed site secret makes study and patient keys comparable
SMALL = 3_000
MEDIUM = 30_000  # enough positives for a clear signal, still quick
TABLES = (
    "site",
    "ai_tool",
    "tool_version",
    "claimed_performance",
    "tool_status_change",
    "study",
    "ai_result",
    "reference",
)


def build(home: Path, *, seed: int = 20250101, n: int = SMALL, **kw: Any) -> DemoReport:
    return build_demo(Settings(home=home, site_secret=SECRET), seed=seed, n_studies=n, **kw)


def fingerprint(home: Path, tables: tuple[str, ...] = TABLES) -> str:
    """SHA-256 over every row of ``tables`` in id order (times included)."""
    digest = hashlib.sha256()
    engine = make_engine(f"sqlite:///{(home / 'radassure.db').as_posix()}")
    with engine.connect() as conn:
        for table in tables:
            rows = conn.execute(text(f"SELECT * FROM {table} ORDER BY id")).all()
            digest.update(f"{table}:{len(rows)}".encode())
            digest.update(repr([tuple(r) for r in rows]).encode())
    engine.dispose()
    return digest.hexdigest()


def query(home: Path, sql: str) -> list[Any]:
    engine = make_engine(f"sqlite:///{(home / 'radassure.db').as_posix()}")
    with engine.connect() as conn:
        rows = list(conn.execute(text(sql)).all())
    engine.dispose()
    return rows


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DemoReport]:
    home = tmp_path_factory.mktemp("demo-small")
    return home, build(home)


@pytest.fixture(scope="module")
def medium(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("demo-medium")
    build(home, n=MEDIUM)
    return home


# -- determinism ---------------------------------------------------------------
def test_same_seed_gives_identical_tables_and_files(
    small: tuple[Path, DemoReport], tmp_path: Path
) -> None:
    home, _ = small
    again = tmp_path / "again"
    build(again)
    assert fingerprint(again) == fingerprint(home)
    for name in ("studies.csv", "results.csv", "references.csv"):
        assert (again / "demo-data" / name).read_bytes() == (home / "demo-data" / name).read_bytes()


def test_other_seed_gives_other_data(small: tuple[Path, DemoReport], tmp_path: Path) -> None:
    home, _ = small
    other = tmp_path / "other"
    build(other, seed=7)
    for table in ("study", "ai_result", "reference"):
        assert fingerprint(other, (table,)) != fingerprint(home, (table,))
    # The registry does not depend on the seed.
    assert fingerprint(other, TABLES[:5]) == fingerprint(home, TABLES[:5])


# -- contents ------------------------------------------------------------------
def test_counts_tools_and_sites(small: tuple[Path, DemoReport]) -> None:
    home, report = small
    assert report.studies == SMALL
    assert query(home, "SELECT count(*) FROM study")[0][0] == SMALL
    assert query(home, "SELECT count(*) FROM ai_result")[0][0] == report.results
    assert query(home, "SELECT count(*) FROM reference")[0][0] == report.references
    tasks = dict(query(home, "SELECT name, task FROM ai_tool"))
    assert tasks == {
        "ThoraxGuard": "classification",
        "OsteoSpot": "detection",
        "ContourPilot": "segmentation",
    }
    assert report.tools == ("ThoraxGuard", "OsteoSpot", "ContourPilot")
    assert report.sites == ("NWG", "SBC")
    assert report.lines()[-1] == f"Next: radassure --home {home} serve"
    histories = query(
        home,
        "SELECT t.name, group_concat(c.to_status, '>') FROM "
        "tool_status_change c JOIN ai_tool t ON t.id = c.tool_id "
        "GROUP BY t.name",
    )
    assert {h for _, h in histories} == {"proposed>evaluating>approved>live"}
    claims = query(home, "SELECT count(*), min(source_document) FROM claimed_performance")
    assert claims[0][0] >= 20 and claims[0][1]
    manufacturers = query(
        home,
        "SELECT count(DISTINCT manufacturer), count(DISTINCT site_id), "
        "min(acquired_at), max(acquired_at) FROM study",
    )
    n_man, n_site, first, last = manufacturers[0]
    assert (n_man, n_site) == (3, 2)
    assert str(first) >= "2025-01-01" and str(last) < "2026-01-01"


def test_every_classifier_and_contour_result_has_a_later_reference(
    small: tuple[Path, DemoReport],
) -> None:
    home, _ = small
    rows = query(
        home,
        """
        SELECT t.name, count(*), count(f.id),
               sum(r.received_at > s.acquired_at), sum(f.recorded_at > s.acquired_at)
        FROM ai_result r
        JOIN study s ON s.id = r.study_id
        JOIN tool_version v ON v.id = r.version_id JOIN ai_tool t ON t.id = v.tool_id
        LEFT JOIN reference f ON f.study_id = r.study_id AND f.finding = r.finding
        GROUP BY t.name""",
    )
    by_tool = {name: (n, refs, later, rec_later) for name, n, refs, later, rec_later in rows}
    for tool in ("ThoraxGuard", "ContourPilot"):
        n, refs, later, rec_later = by_tool[tool]
        assert refs == n == later == rec_later
    n, refs, later, rec_later = by_tool["OsteoSpot"]
    assert 0.8 < refs / n < 0.95 and later == n and rec_later == refs


def test_detection_and_segmentation_payloads(small: tuple[Path, DemoReport]) -> None:
    home, _ = small
    rows = query(
        home,
        """
        SELECT t.name, r.score, r.localisations, f.localisations, f.label, f.source
        FROM ai_result r JOIN tool_version v ON v.id = r.version_id
        JOIN ai_tool t ON t.id = v.tool_id
        JOIN reference f ON f.study_id = r.study_id AND f.finding = r.finding
        WHERE t.name IN ('OsteoSpot', 'ContourPilot')""",
    )
    for name, score, loc, ref_loc, label, source in rows:
        marks, truth = json.loads(loc), json.loads(ref_loc)
        if name == "OsteoSpot":
            assert score == pytest.approx(max((m["score"] for m in marks), default=0.0))
            assert all({"x", "y", "score"} <= set(m) for m in marks)
            assert bool(label) == bool(truth)
        else:
            assert set(marks) == {"dice", "hd95_mm", "apl_mm", "volume_ml"}
            assert score == pytest.approx(marks["dice"]) and source == "consensus"
            assert truth["volume_ml"] > 0


def test_demographics_look_real(small: tuple[Path, DemoReport]) -> None:
    home, _ = small
    eth = dict(query(home, "SELECT coalesce(ethnic_group, ''), count(*) FROM study GROUP BY 1"))
    assert eth["A"] / SMALL > 0.5 and 0.05 < eth["Z"] / SMALL < 0.15 and eth[""] > 0
    missing_imd = query(home, "SELECT count(*) FROM study WHERE deprivation_decile IS NULL")
    assert 0 < missing_imd[0][0] < 0.1 * SMALL


def test_no_raw_identifier_reaches_the_database(small: tuple[Path, DemoReport]) -> None:
    home, _ = small
    assert b"DEMO-P" in (home / "demo-data" / "studies.csv").read_bytes()
    files = [p for p in home.iterdir() if p.name.startswith("radassure.db")]
    assert files
    for path in files:
        data = path.read_bytes()
        assert b"DEMO-P" not in data and b"DEMO-A" not in data, path.name


# -- planted truths ------------------------------------------------------------
def classifier_rows(home: Path) -> dict[str, np.ndarray]:
    rows = query(
        home,
        """
        SELECT r.finding, r.call, f.label, si.code, s.manufacturer, s.model,
               s.software_version, s.acquired_at, coalesce(s.age_years, -1), s.sex,
               coalesce(s.ethnic_group, ''), coalesce(s.deprivation_decile, 0)
        FROM ai_result r JOIN reference f ON f.study_id = r.study_id AND f.finding = r.finding
        JOIN study s ON s.id = r.study_id JOIN site si ON si.id = s.site_id
        JOIN tool_version v ON v.id = r.version_id JOIN ai_tool t ON t.id = v.tool_id
        WHERE t.name = 'ThoraxGuard'""",
    )
    names = (
        "finding",
        "call",
        "label",
        "site",
        "manufacturer",
        "model",
        "software",
        "time",
        "age",
        "sex",
        "ethnic",
        "imd",
    )
    cols = {n: np.array([r[i] for r in rows]) for i, n in enumerate(names)}
    cols["call"] = cols["call"].astype(bool)
    cols["label"] = cols["label"].astype(bool)
    cols["time"] = cols["time"].astype(str)
    return cols


def rate(c: dict[str, np.ndarray], mask: np.ndarray, positives: bool = True) -> float:
    """Sensitivity (or, with positives=False, specificity) among ``mask``."""
    sel = mask & (c["label"] == positives)
    return float(np.mean(c["call"][sel] == positives))


def check_upgrade(home: Path) -> None:
    pt, c = PLANTED_TRUTHS, classifier_rows(home)
    scanner = (
        (c["site"] == pt.upgrade_site)
        & (c["manufacturer"] == pt.upgrade_manufacturer)
        & (c["model"] == pt.upgrade_model)
    )
    after = c["time"] >= pt.upgrade_at.isoformat(sep=" ")
    assert set(c["software"][scanner & ~after]) == {pt.upgrade_from}
    assert set(c["software"][scanner & after]) == {pt.upgrade_to}
    assert set(c["software"][~scanner]) & {pt.upgrade_to} == set()
    ptx = c["finding"] == pt.upgrade_finding
    before_s, after_s = rate(c, ptx & scanner & ~after), rate(c, ptx & scanner & after)
    assert before_s - after_s > 0.1, (before_s, after_s)
    assert (
        abs(rate(c, ptx & scanner & ~after, False) - rate(c, ptx & scanner & after, False)) < 0.03
    )
    # Elsewhere, and for the other findings on that scanner, nothing changes.
    assert abs(rate(c, ptx & ~scanner & ~after) - rate(c, ptx & ~scanner & after)) < 0.06
    rest = ~ptx & scanner
    assert abs(rate(c, rest & ~after) - rate(c, rest & after)) < 0.05


def check_equity(home: Path) -> None:
    pt, c = PLANTED_TRUTHS, classifier_rows(home)
    known = c["age"] >= 0
    old = c["age"] >= pt.equity_min_age
    gap = rate(c, known & ~old) - rate(c, old)
    assert 0.06 < gap < 0.16, gap
    assert abs(rate(c, known & ~old, False) - rate(c, old, False)) < 0.02
    # No other grouping differs: sex, ethnic group, deprivation, site.
    groups = {
        "sex": (c["sex"] == "F", c["sex"] == "M"),
        "ethnic": (c["ethnic"] == "A", np.isin(c["ethnic"], list("BCDEFGHJKLMNPRS"))),
        "imd": ((c["imd"] >= 1) & (c["imd"] <= 5), c["imd"] >= 6),
    }
    for name, (a, b) in groups.items():
        for positives in (True, False):
            diff = abs(rate(c, a, positives) - rate(c, b, positives))
            assert diff < 0.04, (name, positives, diff)


def test_planted_scanner_upgrade_is_in_the_data(medium: Path) -> None:
    check_upgrade(medium)


def test_planted_age_group_is_in_the_data(medium: Path) -> None:
    check_equity(medium)


@pytest.mark.slow
def test_full_demo_builds_quickly_with_planted_truths(tmp_path: Path) -> None:
    report = build_demo(Settings(home=tmp_path / "full"))
    assert report.studies >= 50_000 and report.seconds < 120
    check_upgrade(tmp_path / "full")
    check_equity(tmp_path / "full")


def test_docs_state_the_planted_truths_exactly() -> None:
    from radassure.services._demo_model import CXR_THRESHOLD, SITES, WRIST_THRESHOLD

    doc = (Path(__file__).resolve().parents[2] / "docs" / "demo.md").read_text()
    pt = PLANTED_TRUTHS
    for fact in (
        f"`{pt.upgrade_site}`",
        pt.upgrade_manufacturer,
        pt.upgrade_model,
        pt.upgrade_from,
        pt.upgrade_to,
        pt.upgrade_at.isoformat(),
        f"`{pt.upgrade_finding}` only",
        f"{pt.upgrade_sensitivity_before:.2f} to {pt.upgrade_sensitivity_after:.2f}",
        f"≥ **{pt.equity_min_age}**",
        f"**{pt.equity_sensitivity_drop:.2f}**",
        f"**{CXR_THRESHOLD}**",
        f"**{WRIST_THRESHOLD}**",
        *SITES.values(),
    ):
        assert fact in doc, fact


# -- refusing to overwrite -----------------------------------------------------
def test_refuses_to_build_over_data_unless_told(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    messages: list[str] = []
    build_demo(settings, n_studies=1_000, progress=messages.append)
    assert messages and messages[0] == "Initialising the installation"
    secret = (tmp_path / "home" / "site-secret.key").read_text()
    before = fingerprint(tmp_path / "home", ("study",))
    with pytest.raises(ConflictError, match=r"already holds data.*--overwrite"):
        build_demo(settings, n_studies=1_000)
    assert fingerprint(tmp_path / "home", ("study",)) == before
    report = build_demo(settings, n_studies=1_000, seed=3, overwrite=True)
    assert report.studies == 1_000
    assert (tmp_path / "home" / "site-secret.key").read_text() != secret


def test_builds_into_an_initialised_empty_installation(tmp_path: Path) -> None:
    from radassure.services import init_store

    settings = Settings(home=tmp_path / "home")
    init_store(settings)
    assert build_demo(settings, n_studies=1_000).studies == 1_000


def test_overwrite_is_refused_for_other_databases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake: Callable[[str], bool] = lambda _url: True  # noqa: E731
    monkeypatch.setattr(demo_module, "_holds_data", fake)
    settings = Settings(home=tmp_path, database_url="postgresql+psycopg://u:pw@127.0.0.1:1/x")
    with pytest.raises(ConfigurationError, match="only removes SQLite") as info:
        build_demo(settings, n_studies=1_000, overwrite=True)
    assert "pw" not in str(info.value)


def test_too_few_studies_is_rejected(tmp_path: Path) -> None:
    for wrong in (10, 2_000_000, 5_000.0, True):
        with pytest.raises(ValueError, match="from 1,000 to 1,000,000"):
            build_demo(Settings(home=tmp_path), n_studies=wrong)  # type: ignore[arg-type]
    assert not (tmp_path / "radassure.db").exists()


@pytest.mark.postgres
def test_demo_on_postgresql(pg_url: str, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, database_url=pg_url, site_secret=SECRET)
    assert build_demo(settings, n_studies=1_000).studies == 1_000
    with pytest.raises(ConflictError):
        build_demo(settings, n_studies=1_000)
    with pytest.raises(ConfigurationError, match="only removes SQLite"):
        build_demo(settings, n_studies=1_000, overwrite=True)


def test_demo_creates_an_admin_who_can_sign_in(tmp_path: Path) -> None:
    from radassure.services import build_demo, open_store
    from radassure.services.auth import authenticate

    settings = Settings(home=tmp_path / "signin-demo")
    report = build_demo(settings, n_studies=1000)
    assert report.sign_in is not None
    user, password = report.sign_in
    assert any(password in line for line in report.lines())
    store = open_store(settings)
    try:
        actor = authenticate(store, user, password, "127.0.0.1")
        assert actor.role == "admin"
    finally:
        store.dispose()
