"""Contour QA metrics on a CT-sized volume: seconds per structure.

Builds a 512 x 512 x 150 grid (spacing 2.5 x 0.98 x 0.98 mm) holding two offset
ellipsoids, a reference and a prediction shifted by a few mm and slightly
larger, in two sizes: ``organ`` (about 7.5 x 9 x 10 cm, liver or heart sized)
and ``body`` (about 36 x 24 x 40 cm, an external contour filling most of the
scan). Times ``segmentation_metrics`` with ``method="surface"`` (surfel areas,
Nikolov et al.) and ``method="voxel"`` (boundary voxel centres, MONAI's
definition). Each call includes validation, cropping, both 3-D distance
transforms, every metric and the per-slice APL; the distance transforms
dominate and grow with the cropped volume.

The peers named in DESIGN.md for this claim, the DeepMind ``surface-distance``
package and MONAI, are timed in the same run on the same arrays when they are
importable; otherwise they are reported as not installed. Usage::

    .venv/bin/python benchmarks/segmentation.py [--repeat 3] [--cases organ body]
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import time
from collections.abc import Callable

import numpy as np

from radassure.core import segmentation_metrics

SHAPE = (150, 512, 512)
SPACING = (2.5, 0.9765625, 0.9765625)


def ellipsoid(centre_mm: tuple[float, ...], radii_mm: tuple[float, ...]) -> np.ndarray:
    """A boolean ellipsoid on the CT grid, filled only inside its bounding box."""
    mask = np.zeros(SHAPE, dtype=bool)
    box = [
        (max(int((c - r) / s) - 1, 0), min(int((c + r) / s) + 2, n))
        for c, r, s, n in zip(centre_mm, radii_mm, SPACING, SHAPE, strict=True)
    ]
    axes = [
        ((np.arange(lo, hi) * s - c) / r) ** 2
        for (lo, hi), s, c, r in zip(box, SPACING, centre_mm, radii_mm, strict=True)
    ]
    inside = axes[0][:, None, None] + axes[1][None, :, None] + axes[2][None, None, :] <= 1.0
    mask[tuple(slice(lo, hi) for lo, hi in box)] = inside
    return mask


CASES = {
    "organ": (
        ((187.5, 250.0, 250.0), (37.5, 45.0, 50.0)),
        ((190.0, 253.0, 248.0), (40.0, 46.0, 51.0)),
    ),
    "body": (
        ((187.5, 250.0, 250.0), (180.0, 120.0, 200.0)),
        ((190.0, 253.0, 248.0), (183.0, 122.0, 204.0)),
    ),
}


def median_time(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run_case(name: str, reference: np.ndarray, prediction: np.ndarray, repeat: int) -> None:
    ml = np.prod(SPACING) / 1000
    print(
        f"[{name}] reference {reference.sum() * ml:.1f} ml, "
        f"prediction {prediction.sum() * ml:.1f} ml"
    )
    for method in ("surface", "voxel"):
        result = segmentation_metrics(reference, prediction, SPACING, method=method)
        seconds = median_time(
            lambda m=method: segmentation_metrics(reference, prediction, SPACING, method=m),
            repeat,
        )
        print(
            f"  radassure method={method:<8}  {seconds:6.2f} s  "
            f"dice {result['dice']:.4f}  hd95 {result['hd95']:.2f} mm  "
            f"assd {result['assd']:.3f} mm  surface dice@2mm {result['surface_dice']:.4f}  "
            f"apl {result['apl_mm']:.0f} mm"
        )
    if importlib.util.find_spec("surface_distance") is not None:
        import surface_distance as sd

        def deepmind() -> float:
            dists = sd.compute_surface_distances(reference, prediction, SPACING)
            return float(sd.compute_robust_hausdorff(dists, 95))

        print(
            f"  surface-distance (DeepMind) {median_time(deepmind, repeat):6.2f} s  "
            f"hd95 {deepmind():.2f} mm"
        )
    else:
        print("  surface-distance (DeepMind) not installed, not timed")
    if importlib.util.find_spec("monai") is not None:
        from monai.metrics import compute_hausdorff_distance

        def monai() -> float:
            value = compute_hausdorff_distance(
                prediction[None, None],
                reference[None, None],
                include_background=True,
                percentile=95,
                spacing=SPACING,
            )
            return float(value.item())

        print(
            f"  MONAI (voxel centres)       {median_time(monai, repeat):6.2f} s  "
            f"hd95 {monai():.2f} mm"
        )
    else:
        print("  MONAI                       not installed, not timed")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cases", nargs="+", choices=sorted(CASES), default=["organ", "body"])
    args = parser.parse_args()
    print(f"grid {SHAPE} (z, y, x), spacing {SPACING} mm, median of {args.repeat} runs")
    for name in args.cases:
        (ref_c, ref_r), (pred_c, pred_r) = CASES[name]
        run_case(name, ellipsoid(ref_c, ref_r), ellipsoid(pred_c, pred_r), args.repeat)


if __name__ == "__main__":
    main()
