"""segmentation_metrics(method="surface") agrees with DeepMind's surface-distance library.

The reference is ``surface_distance`` 0.1 (Nikolov et al. 2018), run on the same
arrays. How our keys map onto its functions:

* ``dice`` = ``compute_dice_coefficient(ref, pred)``;
* ``hd`` = ``compute_robust_hausdorff(d, 100)``, ``hd95`` = ``compute_robust_hausdorff(d, q)``
  (the larger of the two directed area-weighted percentiles);
* ``msd_reference_to_prediction``, ``msd_prediction_to_reference`` = the two elements of
  ``compute_average_surface_distance(d)`` (its tuple is two *directed* means: ground
  truth to prediction first);
* ``masd`` = the mean of that tuple; ``assd`` is not in the library: it is the
  area-weighted mean over both directed sets pooled, computed here from the raw
  ``distances_*``/``surfel_areas_*`` arrays the library returns. The two differ
  whenever the surfaces differ in area;
* ``surface_dice`` = ``compute_surface_dice_at_tolerance(d, tolerance_mm)``.

Empty masks are left out: under NumPy 2 the library fails on them (``np.Inf``), and
radassure's empty-mask policy is pinned in test_segmentation.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from radassure.core import _surface, segmentation_metrics

sd = pytest.importorskip("surface_distance")

# The library reaches scipy.ndimage through its deprecated sub-namespaces.
pytestmark = pytest.mark.filterwarnings(
    r"ignore:Please import `\w+` from the `scipy.ndimage` namespace:DeprecationWarning"
)

REL = 1e-6


def ellipsoid(shape, spacing, centre_mm, radii_mm):
    axes = [np.arange(n) * s for n, s in zip(shape, spacing, strict=True)]
    z, y, x = np.meshgrid(*axes, indexing="ij")
    r = (
        ((z - centre_mm[0]) / radii_mm[0]) ** 2
        + ((y - centre_mm[1]) / radii_mm[1]) ** 2
        + ((x - centre_mm[2]) / radii_mm[2]) ** 2
    )
    return r <= 1.0


def blob(shape, seed, sigma=3.0, level=0.55):
    noise = np.random.default_rng(seed).random(shape)
    smooth = ndimage.gaussian_filter(noise, sigma)
    smooth = (smooth - smooth.min()) / (smooth.max() - smooth.min())
    return smooth > level


def tube(shape, spacing, radius_mm, offset_mm):
    """A cord-like tube along z whose centre drifts sideways by a few mm."""
    out = np.zeros(shape, dtype=bool)
    y = np.arange(shape[1])[:, None] * spacing[1]
    x = np.arange(shape[2])[None, :] * spacing[2]
    for k in range(2, shape[0] - 2):
        cy = shape[1] * spacing[1] / 2 + 3.0 * np.sin(k / 6.0) + offset_mm[0]
        cx = shape[2] * spacing[2] / 2 + offset_mm[1]
        out[k] = (y - cy) ** 2 + (x - cx) ** 2 <= radius_mm**2
    return out


def _cases():
    iso, aniso, ct = (1.0, 1.0, 1.0), (3.0, 0.9, 0.8), (2.5, 0.98, 0.98)
    few_ref = np.zeros((6, 7, 8), dtype=bool)
    few_ref[2, 3, 3:6] = True
    few_pred = np.zeros_like(few_ref)
    few_pred[2:4, 3, 4] = True
    edge_ref = np.zeros((12, 14, 16), dtype=bool)
    edge_ref[0:5, 0:9, 3:16] = True  # touches the low z, low y and high x faces
    edge_pred = np.zeros_like(edge_ref)
    edge_pred[0:6, 1:10, 2:15] = True
    liver = (48, 90, 100), (3.0, 2.0, 2.0)
    return {
        "spheres": (
            ellipsoid((30, 30, 30), iso, (15, 15, 15), (9, 9, 9)),
            ellipsoid((30, 30, 30), iso, (16, 14.5, 15), (8, 8, 8)),
            iso,
        ),
        "ellipsoids anisotropic": (
            ellipsoid((20, 60, 60), aniso, (30, 27, 24), (18, 15, 12)),
            ellipsoid((20, 60, 60), aniso, (31, 26, 25), (15, 16, 13)),
            aniso,
        ),
        "irregular blobs": (blob((24, 40, 36), 1), blob((24, 40, 36), 2, level=0.5), aniso),
        "spinal cord tube": (
            tube((40, 40, 40), ct, 5.0, (0.0, 0.0)),
            tube((40, 40, 40), ct, 4.5, (1.2, -0.7)),
            ct,
        ),
        "liver-sized organ": (
            ellipsoid(liver[0], liver[1], (72, 90, 100), (60, 75, 85)),
            ellipsoid(liver[0], liver[1], (75, 88, 103), (62, 73, 88)),
            liver[1],
        ),
        "few voxels": (few_ref, few_pred, ct),
        "touching the volume edge": (edge_ref, edge_pred, (2.0, 1.1, 0.7)),
    }


CASES = _cases()


def deepmind(reference, prediction, spacing, tolerance_mm, percentile):
    d = sd.compute_surface_distances(reference, prediction, spacing)
    to_pred = d["distances_gt_to_pred"] * d["surfel_areas_gt"]
    to_ref = d["distances_pred_to_gt"] * d["surfel_areas_pred"]
    avg = sd.compute_average_surface_distance(d)
    return d, {
        "dice": sd.compute_dice_coefficient(reference, prediction),
        "hd": sd.compute_robust_hausdorff(d, 100),
        "hd95": sd.compute_robust_hausdorff(d, percentile),
        "msd_reference_to_prediction": avg[0],
        "msd_prediction_to_reference": avg[1],
        "masd": (avg[0] + avg[1]) / 2,
        "assd": (to_pred.sum() + to_ref.sum())
        / (d["surfel_areas_gt"].sum() + d["surfel_areas_pred"].sum()),
        "surface_dice": sd.compute_surface_dice_at_tolerance(d, tolerance_mm),
    }


@pytest.mark.parametrize("case", list(CASES))
def test_every_metric_agrees_with_surface_distance(case):
    reference, prediction, spacing = CASES[case]
    assert reference.any() and prediction.any()
    for tolerance_mm, percentile in ((2.0, 95.0), (0.0, 100.0), (1.5, 50.0), (3.2, 99.0)):
        ours = segmentation_metrics(
            reference, prediction, spacing, tolerance_mm=tolerance_mm, percentile=percentile
        )
        _, theirs = deepmind(reference, prediction, spacing, tolerance_mm, percentile)
        for key, value in theirs.items():
            assert ours[key] == pytest.approx(float(value), rel=REL, abs=1e-12), (
                case,
                key,
                tolerance_mm,
                percentile,
            )


@pytest.mark.parametrize("case", list(CASES))
def test_directed_surfel_sets_are_the_same(case):
    reference, prediction, spacing = CASES[case]
    d = sd.compute_surface_distances(reference, prediction, spacing)
    to_pred, to_ref = _surface.surface_distances(
        *_surface.padded_crops(reference, prediction), spacing
    )
    for ours, distances, areas in (
        (to_pred, d["distances_gt_to_pred"], d["surfel_areas_gt"]),
        (to_ref, d["distances_pred_to_gt"], d["surfel_areas_pred"]),
    ):
        assert ours.distances.shape == distances.shape
        np.testing.assert_allclose(ours.distances, distances, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(ours.weights, areas, rtol=1e-12, atol=1e-12)


def test_directed_percentiles_match_the_library_rule():
    reference, prediction, spacing = CASES["irregular blobs"]
    d = sd.compute_surface_distances(reference, prediction, spacing)
    one_way = {**d, "distances_pred_to_gt": np.zeros(1), "surfel_areas_pred": np.ones(1)}
    other_way = {**d, "distances_gt_to_pred": np.zeros(1), "surfel_areas_gt": np.ones(1)}
    for percentile in (5.0, 50.0, 95.0):
        ours = segmentation_metrics(reference, prediction, spacing, percentile=percentile)
        assert ours["hd95_reference_to_prediction"] == pytest.approx(
            sd.compute_robust_hausdorff(one_way, percentile), rel=REL
        )
        assert ours["hd95_prediction_to_reference"] == pytest.approx(
            sd.compute_robust_hausdorff(other_way, percentile), rel=REL
        )


def test_assd_and_masd_differ_when_surface_areas_differ():
    # A small sphere inside a big one: the pooled mean (assd) leans to the bigger surface.
    reference, _, spacing = CASES["spheres"]
    ours = segmentation_metrics(
        reference, ellipsoid(reference.shape, spacing, (15, 15, 15), (4, 4, 4)), spacing
    )
    assert ours["assd"] != pytest.approx(ours["masd"], rel=1e-3)
    assert ours["msd_reference_to_prediction"] > ours["assd"] > ours["msd_prediction_to_reference"]
