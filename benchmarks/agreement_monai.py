"""Agreement of radassure's voxel-centre variant with MONAI, run in `.venv-bench`.

MONAI (with torch) is too heavy for the test environment, so this check lives with
the benchmarks: `make bench-contours` builds `.venv-bench`, then

    .venv-bench/bin/python benchmarks/agreement_monai.py

compares `segmentation_metrics(..., method="voxel")` with MONAI's
`compute_hausdorff_distance` (100th and 95th percentile, both directions),
`compute_average_surface_distance` (symmetric) and `DiceMetric` on seeded synthetic
cases (spheres, ellipsoids, blobs, a thin tube, anisotropic spacing, a structure at
the volume edge). It exits 1 and prints the cases that differ by more than 1e-6
relative.
"""

from __future__ import annotations

import sys

import numpy as np
from scipy import ndimage

from radassure.core import segmentation_metrics


def cases() -> list[tuple[str, np.ndarray, np.ndarray, tuple[float, float, float]]]:
    rng = np.random.default_rng(7)
    z, y, x = np.mgrid[:40, :64, :64]
    out = []
    sphere = (z - 20) ** 2 + (y - 32) ** 2 + (x - 32) ** 2 <= 12**2
    shifted = (z - 21) ** 2 + (y - 30) ** 2 + (x - 33) ** 2 <= 11**2
    out.append(("spheres", sphere, shifted, (1.0, 1.0, 1.0)))
    ell_a = ((z - 20) / 10) ** 2 + ((y - 32) / 20) ** 2 + ((x - 30) / 14) ** 2 <= 1
    ell_b = ((z - 19) / 9) ** 2 + ((y - 34) / 18) ** 2 + ((x - 31) / 15) ** 2 <= 1
    out.append(("ellipsoids anisotropic", ell_a, ell_b, (2.5, 0.98, 0.98)))
    noise_a = ndimage.gaussian_filter(rng.normal(size=(40, 64, 64)), 3) > 0.02
    noise_b = ndimage.gaussian_filter(rng.normal(size=(40, 64, 64)), 3) > 0.02
    out.append(("blobs", noise_a, noise_b, (1.5, 1.0, 1.2)))
    tube_a = (y - 32) ** 2 + (x - 20) ** 2 <= 9
    tube_b = (y - 33) ** 2 + (x - 21) ** 2 <= 9
    out.append(("tube", tube_a, tube_b, (2.5, 0.98, 0.98)))
    edge_a = np.zeros((40, 64, 64), bool)
    edge_a[:10, :20, :20] = True
    edge_b = np.zeros((40, 64, 64), bool)
    edge_b[:12, :18, :22] = True
    out.append(("touching the edge", edge_a, edge_b, (1.0, 1.0, 1.0)))
    return out


def main() -> int:
    import torch
    from monai.metrics import (
        DiceMetric,
        compute_average_surface_distance,
        compute_hausdorff_distance,
    )

    failures = []
    print("| case | metric | radassure (voxel) | MONAI | rel. difference |\n|---|---|---|---|---|")
    for name, ref, pred, spacing in cases():
        ours = segmentation_metrics(ref, pred, spacing, method="voxel")
        r = torch.from_numpy(ref[None, None].astype(np.float32))
        p = torch.from_numpy(pred[None, None].astype(np.float32))
        theirs = {
            "hd": float(compute_hausdorff_distance(p, r, spacing=spacing)[0, 0]),
            "hd95": float(compute_hausdorff_distance(p, r, percentile=95, spacing=spacing)[0, 0]),
            "assd": float(
                compute_average_surface_distance(p, r, symmetric=True, spacing=spacing)[0, 0]
            ),
            "dice": float(DiceMetric(include_background=True)(p, r)[0, 0]),
        }
        for key, value in theirs.items():
            mine = float(ours[key])  # type: ignore[literal-required]
            rel = abs(mine - value) / max(abs(value), 1e-12)
            print(f"| {name} | {key} | {mine:.6f} | {value:.6f} | {rel:.1e} |")
            if rel > 1e-6:
                failures.append((name, key, mine, value))
    if failures:
        print("DISAGREE:", failures)
        return 1
    print("all values agree to 1e-6 relative")
    return 0


if __name__ == "__main__":
    sys.exit(main())
