"""Contour QA runs: synthetic patients written with pydicom, and rt-utils' files."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

import radassure.cli.contours  # noqa: F401  (registers `radassure contours` on the app)
from radassure.cli.main import app
from radassure.errors import DataValidationError
from radassure.services import Store, add_tool, add_version, get_run
from radassure.services.auth import system_actor
from radassure.services.contours import (
    compare_batch,
    compare_structure_sets,
    contour_report,
    contour_results,
    save_contour_run,
)

_spec = importlib.util.spec_from_file_location(
    "radassure_dicom_test_helpers", Path(__file__).parents[1] / "unit" / "dicom" / "conftest.py"
)
assert _spec is not None and _spec.loader is not None
helpers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(helpers)

SHAPE = (10, 32, 32)
SPACING = (2.0, 1.0, 1.0)  # z, row, column in mm
runner = CliRunner()


def _box(x0: int, y0: int, size: int = 8, slices: range = range(3, 7)) -> list[tuple[int, Any]]:
    """A square of ``size`` voxels from column x0 and row y0, on each slice in ``slices``."""
    lo_x, hi_x, lo_y, hi_y = x0 - 0.5, x0 + size - 0.5, y0 - 0.5, y0 + size - 0.5
    return [
        (
            k,
            np.array(
                [
                    [lo_x, lo_y, k * SPACING[0]],
                    [hi_x, lo_y, k * SPACING[0]],
                    [hi_x, hi_y, k * SPACING[0]],
                    [lo_x, hi_y, k * SPACING[0]],
                ]
            ),
        )
        for k in slices
    ]


def write_patient(
    folder: Path,
    *,
    shift: int = 3,
    ai_cord: bool = False,
    ai_extra: bool = True,
    empty_ai_cord: bool = False,
) -> Path:
    """CT series + approved set (Parotid_L, SpinalCord) + AI set ("L Parotid" shifted in x)."""
    series = helpers.write_ct_series(folder / "ct", shape=SHAPE, spacing=SPACING)
    approved = {"Parotid_L": _box(4, 4), "SpinalCord": _box(18, 18, size=4)}
    ai: dict[str, Any] = {"L Parotid": _box(4 + shift, 4)}
    if ai_cord:
        ai["Cord"] = _box(18, 18, size=4)
    if empty_ai_cord:
        ai["Cord"] = []
    if ai_extra:
        ai["Brainstem"] = _box(20, 4, size=3)
    helpers.write_rtstruct(folder / "approved.dcm", series, approved)
    helpers.write_rtstruct(folder / "ai.dcm", series, ai)
    return folder


def test_shifted_structure_has_known_metrics_and_unpaired_are_listed(tmp_path: Path) -> None:
    p = write_patient(tmp_path / "p1", shift=3)
    c = compare_structure_sets(p / "ai.dcm", p / "approved.dcm", p / "ct")
    [parotid] = c.structures
    assert parotid["structure"] == "Parotid_L"
    assert (parotid["ai_name"], parotid["approved_name"]) == ("L Parotid", "Parotid_L")
    assert parotid["status"] == "both_present"
    assert parotid["dice"] == pytest.approx(5 / 8)  # 3 of 8 columns shifted out
    assert parotid["hd"] == pytest.approx(3 * SPACING[2])
    assert parotid["hd95"] <= parotid["hd"]
    assert c.missed == [{"structure": "SpinalCord", "approved_name": "SpinalCord"}]
    assert c.hallucinated == [{"structure": "Brainstem", "ai_name": "Brainstem"}]
    assert c.patient == "ct"
    assert len(c.input_hashes) == SHAPE[0] + 2


def test_identical_sets_and_user_mapping(tmp_path: Path) -> None:
    p = write_patient(tmp_path / "p1", shift=0, ai_cord=True, ai_extra=False)
    c = compare_structure_sets(p / "ai.dcm", p / "approved.dcm", p / "ct")
    assert [s["structure"] for s in c.structures] == ["Parotid_L", "SpinalCord"]
    assert all(s["dice"] == 1.0 and s["hd"] == 0.0 for s in c.structures)
    assert c.missed == c.hallucinated == []
    mapped = compare_structure_sets(
        p / "ai.dcm", p / "approved.dcm", p / "ct", mapping={"Cord": "Brainstem"}
    )
    assert [m["structure"] for m in mapped.missed] == ["SpinalCord"]
    assert [m["ai_name"] for m in mapped.hallucinated] == ["Cord"]


def test_batch_flags_the_outlier_and_reports(tmp_path: Path) -> None:
    root = tmp_path / "batch"
    for name, shift in (("p1", 1), ("p2", 1), ("p3", 4)):
        write_patient(root / name, shift=shift, ai_cord=True, ai_extra=False)
    seen: list[tuple[int, int, str]] = []
    comps = compare_batch(root, progress=lambda d, t, p: seen.append((d, t, p)))
    assert seen == [(1, 3, "p1"), (2, 3, "p2"), (3, 3, "p3")]
    results = contour_results(comps, parameters={"tolerance_mm": 2.0, "method": "surface"})
    flagged = {(o["patient"], o["structure"], o["metric"]) for o in results["outliers"]}
    assert ("p3", "Parotid_L", "dice") in flagged
    assert not any(p in ("p1", "p2") for p, _, _ in flagged)
    parotid = next(s for s in results["structures"] if s["structure"] == "Parotid_L")
    assert parotid["n_paired"] == 3
    assert parotid["distributions"]["dice"]["median"] == pytest.approx(7 / 8)
    assert results["worst"][0]["patient"] == "p3"
    # An earlier run as the baseline: p1's values (shift 1) make every case here normal.
    same = contour_results(comps[:2], parameters={}, baseline=results["baseline"])
    assert [o for o in same["outliers"] if o["metric"] != "status"] == []
    html = contour_report(results)
    assert html.count("<svg") >= 3 and "Parotid_L" in html and "docs/metrics.md" in html
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org", "")
    assert json.loads(json.dumps(results, allow_nan=False))


def test_batch_convention_errors_name_the_folder(tmp_path: Path) -> None:
    p = write_patient(tmp_path / "batch" / "p1")
    (p / "ai.dcm").rename(p / "auto.dcm")
    with pytest.raises(DataValidationError, match=r"p1.*no file match the AI"):
        compare_batch(tmp_path / "batch")


def test_run_stored_with_null_distances_and_status(store: Store, tmp_path: Path) -> None:
    add_tool(
        store,
        name="AutoContour",
        manufacturer="Acme",
        task="segmentation",
        actor=system_actor("test"),
    )
    add_version(store, "AutoContour", "1.0", actor=system_actor("test"))
    p = write_patient(tmp_path / "p1", empty_ai_cord=True)
    c = compare_structure_sets(p / "ai.dcm", p / "approved.dcm", p / "ct", patient="p1")
    results = contour_results([c], parameters={"tolerance_mm": 2.0, "method": "surface"})
    run = save_contour_run(
        store, [c], results, tool="AutoContour", version="1.0", actor=system_actor("qa")
    )
    again = get_run(store, run.id)
    assert again.kind == "contours" and again.n_rows == 2 and len(again.data_fingerprint) == 64
    cord = next(
        s for s in again.results["patients"][0]["structures"] if s["structure"] == "SpinalCord"
    )
    assert cord["status"] == "missed" and cord["hd95"] is None and cord["dice"] == 0.0
    assert "<svg" in (again.report_html or "")
    rerun = save_contour_run(
        store, [c], results, tool="AutoContour", version="1.0", actor=system_actor("test")
    )
    assert rerun.data_fingerprint == run.data_fingerprint


def test_cli_compare_json_and_stored_run(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RADASSURE_DATABASE_URL", db_url)
    home = str(tmp_path / "home")
    p = write_patient(tmp_path / "p1")
    args = ["contours", "compare", "--ai", str(p / "ai.dcm"), "--approved", str(p / "approved.dcm")]
    args += ["--images", str(p / "ct")]
    result = runner.invoke(app, ["--home", home, *args, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["run"] is None
    [parotid] = data["results"]["patients"][0]["structures"]
    assert parotid["hd"] == pytest.approx(3.0)
    report = tmp_path / "report.html"
    assert runner.invoke(app, ["--home", home, "init"]).exit_code == 0
    for cmd in (
        ["tool", "add", "AutoContour", "--manufacturer", "Acme", "--task", "segmentation"],
        ["version", "add", "AutoContour", "1.0"],
    ):
        assert runner.invoke(app, ["--home", home, *cmd]).exit_code == 0
    saved = runner.invoke(
        app,
        ["--home", home, *args, "--tool", "AutoContour", "--version", "1.0", "-o", str(report)],
    )
    assert saved.exit_code == 0, saved.output
    assert "Saved as run" in saved.output and "SpinalCord missed" in saved.output
    assert "<svg" in report.read_text()


def test_cli_errors_name_the_file_without_traceback(tmp_path: Path) -> None:
    p = write_patient(tmp_path / "p1")
    other = helpers.write_ct_series(tmp_path / "other", shape=SHAPE, spacing=SPACING)
    helpers.write_rtstruct(tmp_path / "elsewhere.dcm", other, {"Parotid_L": _box(4, 4)})
    (tmp_path / "broken.dcm").write_bytes(b"not dicom at all")
    (tmp_path / "empty").mkdir()

    def run(ai: Path, images: Path) -> str:
        argv = ["contours", "compare", "--ai", str(ai), "--approved", str(p / "approved.dcm")]
        result = runner.invoke(app, [*argv, "--images", str(images)])
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output
        return " ".join(result.output.split())

    assert "elsewhere.dcm" in run(tmp_path / "elsewhere.dcm", p / "ct")
    assert "broken.dcm" in run(tmp_path / "broken.dcm", p / "ct")
    assert "no CT/MR image slice" in run(p / "ai.dcm", tmp_path / "empty")
    assert "does not exist" in run(p / "ai.dcm", tmp_path / "nowhere")


def test_rt_utils_structure_set_against_itself() -> None:
    folder = helpers.shared_dicom() / "rt-utils" / "mock_data"
    c = compare_structure_sets(folder / "rt.dcm", folder / "rt.dcm", folder)
    [roi] = c.structures
    assert roi["structure"] == "ROI-1" and roi["status"] == "both_present"
    assert roi["dice"] == 1.0
    assert all(roi[k] == 0.0 for k in ("hd", "hd95", "assd", "apl_mm"))
    assert c.unmatched_names == ["ROI-1"] and math.isfinite(roi["volume_reference_ml"])


def test_cli_batch_json(tmp_path: Path) -> None:
    root = tmp_path / "batch"
    for name, shift in (("p1", 1), ("p2", 1), ("p3", 4)):
        write_patient(root / name, shift=shift, ai_cord=True, ai_extra=False)
    result = runner.invoke(app, ["contours", "batch", str(root), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)["results"]
    assert data["n_patients"] == 3
    assert any(o["patient"] == "p3" for o in data["outliers"])
    text = runner.invoke(app, ["contours", "batch", str(root)])
    assert text.exit_code == 0 and "outlier p3 Parotid_L" in " ".join(text.output.split())
