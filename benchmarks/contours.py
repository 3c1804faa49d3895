"""Contour QA metrics on a CT-sized volume: radassure against the peers, side by side.

One run builds a 512 x 512 x 150 grid (spacing 2.5 x 0.98 x 0.98 mm, z y x) with
two structures, each as a reference and a prediction that is shifted by a few mm
and shaped slightly differently:

* ``liver``: a liver-sized organ (about 1.5 l), an ellipsoid with a wavy surface;
* ``small``: a small structure (about 0.5 ml, cochlea- or chiasm-sized).

Each tool computes the metrics it supports, the way a user would call it, on the
same arrays, each in its own subprocess (so memory is its own):

* radassure ``segmentation_metrics`` (method="surface" and "voxel"): Dice, Jaccard,
  volumes, HD, HD95, ASSD, MASD, directed parts, surface Dice at 2 mm, APL, centroid;
* surface-distance (DeepMind): compute_surface_distances, Dice, HD, HD95, the
  average surface distance pair, surface Dice at 2 mm;
* MONAI (CPU): DiceMetric, compute_hausdorff_distance (HD and HD95),
  compute_average_surface_distance (symmetric), compute_surface_dice (2 mm);
* seg-metrics: write_metrics with dice, jaccard, vs, hd, hd95, msd, and again with
  the distances alone (its overlap block sums a SimpleITK image voxel by voxel in
  Python, which dominates on a full CT grid);
* MedPy: dc, jc, hd, hd95, assd, ravd.

Prints the median seconds of ``--repeat`` calls (one call for a tool that takes
over a minute; a tool still running after ``--timeout`` seconds is stopped and
reported as timed out), the ratio to surface-distance,
and the peak memory the calls added above the process' resident size before them
(Linux VmHWM after resetting it through /proc/self/clear_refs), plus HD95 as a
sanity check. Peers that are not importable are reported as not installed. Writes
benchmarks/out/contours.json. Run it from the benchmark environment (see the
``bench-contours`` notes in the change that added this file)::

    .venv-bench/bin/python benchmarks/contours.py [--repeat 3] [--cases liver small]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SHAPE = (150, 512, 512)
SPACING = (2.5, 0.98, 0.98)
TOLERANCE_MM = 2.0
SLOW_S = 60.0  # a tool slower than this per call is timed once

# (name, module that must be importable, label in the table)
TOOLS = [
    ("radassure-surface", "radassure", "radassure (surface)"),
    ("radassure-voxel", "radassure", "radassure (voxel)"),
    ("surface-distance", "surface_distance", "surface-distance"),
    ("monai", "monai", "MONAI (CPU)"),
    ("seg-metrics", "seg_metrics", "seg-metrics"),
    ("seg-metrics-distances", "seg_metrics", "seg-metrics (dist.)"),
    ("medpy", "medpy", "MedPy"),
]


def organ(centre_mm, radii_mm, wave_mm, phase):
    """An ellipsoid whose surface undulates by about ``wave_mm``, filled in its box only."""
    mask = np.zeros(SHAPE, dtype=bool)
    pad = [r + 2 * wave_mm for r in radii_mm]
    box = [
        (max(int((c - p) / s), 0), min(int((c + p) / s) + 2, n))
        for c, p, s, n in zip(centre_mm, pad, SPACING, SHAPE, strict=True)
    ]
    z, y, x = (
        np.arange(lo, hi)[tuple(slice(None) if a == k else None for a in range(3))] * s
        for k, ((lo, hi), s) in enumerate(zip(box, SPACING, strict=True))
    )
    r = np.sqrt(
        ((z - centre_mm[0]) / radii_mm[0]) ** 2
        + ((y - centre_mm[1]) / radii_mm[1]) ** 2
        + ((x - centre_mm[2]) / radii_mm[2]) ** 2
    )
    wave = wave_mm / min(radii_mm) * np.sin(x / 17.0 + phase) * np.cos(y / 23.0 - phase)
    mask[tuple(slice(lo, hi) for lo, hi in box)] = r <= 1.0 + wave
    return mask


CASES = {
    "liver": (
        ((190.0, 250.0, 230.0), (55.0, 80.0, 85.0), 4.0, 0.0),
        ((192.5, 248.0, 233.0), (57.0, 78.0, 86.0), 4.0, 0.7),
    ),
    "small": (
        ((160.0, 240.0, 300.0), (4.0, 6.0, 5.0), 0.5, 0.0),
        ((161.0, 241.0, 299.0), (4.5, 5.5, 5.0), 0.5, 0.9),
    ),
}


# ------------------------------------------------------------------ what each tool runs


def _radassure(method: str) -> Callable[[np.ndarray, np.ndarray], float]:
    from radassure.core import segmentation_metrics

    def run(ref: np.ndarray, pred: np.ndarray) -> float:
        return segmentation_metrics(ref, pred, SPACING, tolerance_mm=TOLERANCE_MM, method=method)[
            "hd95"
        ]

    return run


def _surface_distance() -> Callable[[np.ndarray, np.ndarray], float]:
    import surface_distance as sd

    def run(ref: np.ndarray, pred: np.ndarray) -> float:
        d = sd.compute_surface_distances(ref, pred, SPACING)
        sd.compute_dice_coefficient(ref, pred)
        sd.compute_robust_hausdorff(d, 100)
        sd.compute_average_surface_distance(d)
        sd.compute_surface_dice_at_tolerance(d, TOLERANCE_MM)
        return float(sd.compute_robust_hausdorff(d, 95))

    return run


def _monai() -> Callable[[np.ndarray, np.ndarray], float]:
    import torch
    from monai.metrics import (
        DiceMetric,
        compute_average_surface_distance,
        compute_hausdorff_distance,
        compute_surface_dice,
    )

    def run(ref: np.ndarray, pred: np.ndarray) -> float:
        y = torch.from_numpy(ref[None, None].astype(np.float32))
        y_pred = torch.from_numpy(pred[None, None].astype(np.float32))
        options = {"include_background": True, "spacing": SPACING}
        DiceMetric(include_background=True)(y_pred, y)
        compute_hausdorff_distance(y_pred, y, **options)
        hd95 = compute_hausdorff_distance(y_pred, y, percentile=95, **options)
        compute_average_surface_distance(y_pred, y, symmetric=True, **options)
        compute_surface_dice(y_pred, y, [TOLERANCE_MM], **options)
        return float(hd95.item())

    return run


def _seg_metrics(metrics: list[str]) -> Callable[[np.ndarray, np.ndarray], float]:
    from seg_metrics import seg_metrics as sg

    def run(ref: np.ndarray, pred: np.ndarray) -> float:
        out = sg.write_metrics(
            labels=[1],
            gdth_img=ref.astype(np.uint8),
            pred_img=pred.astype(np.uint8),
            spacing=SPACING,  # numpy input: (z, y, x), like the arrays
            metrics=metrics,
            verbose=False,
        )
        return float(out[0]["hd95"][0])

    return run


def _medpy() -> Callable[[np.ndarray, np.ndarray], float]:
    from medpy.metric import binary as mb

    def run(ref: np.ndarray, pred: np.ndarray) -> float:
        mb.dc(pred, ref)
        mb.jc(pred, ref)
        mb.hd(pred, ref, SPACING)
        mb.assd(pred, ref, SPACING)
        mb.ravd(pred, ref)
        return float(mb.hd95(pred, ref, SPACING))

    return run


FACTORIES: dict[str, Callable[[], Callable[[np.ndarray, np.ndarray], float]]] = {
    "radassure-surface": lambda: _radassure("surface"),
    "radassure-voxel": lambda: _radassure("voxel"),
    "surface-distance": _surface_distance,
    "monai": _monai,
    "seg-metrics": lambda: _seg_metrics(["dice", "jaccard", "vs", "hd", "hd95", "msd"]),
    "seg-metrics-distances": lambda: _seg_metrics(["hd", "hd95", "msd"]),
    "medpy": _medpy,
}


# ------------------------------------------------------------------------ child process


def _status_kb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return float(line.split()[1])
    return float("nan")


def child(tool: str, ref_path: str, pred_path: str, repeat: int) -> None:
    import warnings

    warnings.simplefilter("ignore")  # peers' deprecation notices are not the measurement
    run = FACTORIES[tool]()
    ref, pred = np.load(ref_path), np.load(pred_path)
    with contextlib.suppress(OSError):  # reset the high-water mark: the peak is the calls' own
        Path("/proc/self/clear_refs").write_text("5")
    before = _status_kb("VmRSS")
    seconds, value = [], float("nan")
    for _ in range(repeat):
        start = time.perf_counter()
        value = run(ref, pred)
        seconds.append(time.perf_counter() - start)
        if seconds[-1] > SLOW_S:  # minutes per call: one call tells enough
            break
    peak = _status_kb("VmHWM")
    print(
        json.dumps(
            {
                "seconds": seconds,
                "hd95": value,
                "peak_extra_mb": (peak - before) / 1024,
                "peak_mb": peak / 1024,
            }
        )
    )


# ----------------------------------------------------------------------- parent process


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cases", nargs="+", choices=sorted(CASES), default=["liver", "small"])
    parser.add_argument("--tools", nargs="+", choices=[t[0] for t in TOOLS], default=None)
    parser.add_argument(
        "--timeout", type=float, default=600.0, help="seconds before a tool is given up (per case)"
    )
    parser.add_argument("--child", nargs=3, metavar=("TOOL", "REF", "PRED"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], args.child[2], args.repeat)
        return

    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[attr-defined]
    tools = [t for t in TOOLS if args.tools is None or t[0] in args.tools]
    print(f"grid {SHAPE} (z, y, x), spacing {SPACING} mm, median of {args.repeat} calls")
    print(f"python {sys.executable}")
    results: dict[str, dict[str, dict[str, float] | str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for case in args.cases:
            ref = organ(*CASES[case][0])
            pred = organ(*CASES[case][1])
            ml = float(np.prod(SPACING)) / 1000
            print(
                f"\n[{case}] reference {ref.sum() * ml:.1f} ml, prediction {pred.sum() * ml:.1f} ml"
            )
            ref_path, pred_path = Path(tmp) / f"{case}_ref.npy", Path(tmp) / f"{case}_pred.npy"
            np.save(ref_path, ref)
            np.save(pred_path, pred)
            del ref, pred
            rows: dict[str, dict[str, float] | str] = {}
            for tool, module, _ in tools:
                if importlib.util.find_spec(module) is None:
                    rows[tool] = "not installed"
                    continue
                cmd = [sys.executable, __file__, "--repeat", str(args.repeat)]
                try:
                    out = subprocess.run(
                        [*cmd, "--child", tool, str(ref_path), str(pred_path)],
                        capture_output=True,
                        text=True,
                        check=False,
                        timeout=args.timeout,
                    )
                except subprocess.TimeoutExpired:
                    rows[tool] = f"timed out: no result within {args.timeout:g} s"
                    continue
                if out.returncode != 0:
                    rows[tool] = f"failed: {out.stderr.strip().splitlines()[-1:]}"
                    continue
                data = json.loads(out.stdout.strip().splitlines()[-1])
                data["median_s"] = statistics.median(data["seconds"])
                rows[tool] = data
            results[case] = rows
            _print_table(rows, tools)
    out_dir = HERE / "out"
    out_dir.mkdir(exist_ok=True)
    payload = {"shape": SHAPE, "spacing": SPACING, "repeat": args.repeat, "results": results}
    (out_dir / "contours.json").write_text(json.dumps(payload, indent=2))
    print(f"\nwrote {out_dir / 'contours.json'}")


def _print_table(
    rows: dict[str, dict[str, float] | str], tools: list[tuple[str, str, str]]
) -> None:
    base = rows.get("surface-distance")
    base_s = base["median_s"] if isinstance(base, dict) else None
    print(
        f"  {'tool':<22}{'seconds':>9}{'calls':>6}{'vs surface-distance':>21}"
        f"{'peak +MB':>10}{'hd95 mm':>9}"
    )
    for tool, _, label in tools:
        row = rows[tool]
        if isinstance(row, str):
            print(f"  {label:<22}{row}")
            continue
        ratio = f"{row['median_s'] / base_s:.2f}x" if base_s else "n/a"
        print(
            f"  {label:<22}{row['median_s']:>9.3f}{len(row['seconds']):>6}{ratio:>21}"
            f"{row['peak_extra_mb']:>10.0f}{row['hd95']:>9.2f}"
        )


if __name__ == "__main__":
    main()
