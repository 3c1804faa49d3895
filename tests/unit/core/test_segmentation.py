"""Auto-contour QA metrics: closed forms, an independent brute-force oracle, properties."""

from __future__ import annotations

import math
from itertools import permutations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from radassure.core import (
    UndefinedMetricWarning,
    aggregate_segmentation,
    segmentation_metrics,
)
from radassure.core._surface_tables import contour_length_table, surface_area_table

ISO = (1.0, 1.0, 1.0)
ANISO = (2.5, 0.7, 0.9)
SQ2, SQ3 = math.sqrt(2.0), math.sqrt(3.0)
DISTANCES = ("hd", "hd95", "assd", "masd", "centroid_distance_mm")


def box(shape, lo, hi):
    m = np.zeros(shape, dtype=bool)
    m[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]] = True
    return m


def voxel(shape, at):
    m = np.zeros(shape, dtype=bool)
    m[at] = True
    return m


def code_of(*offsets):
    return sum(1 << (4 * a + 2 * b + c) for a, b, c in offsets)


# ----------------------------------------------------------------------------- tables


@pytest.mark.parametrize(
    ("offsets", "area"),
    [
        ([(0, 0, 0)], SQ3 / 8),  # one corner: a triangle
        ([(0, 0, 0), (0, 0, 1)], SQ2 / 2),  # an edge: a planar quadrilateral
        ([(0, 0, 0), (0, 0, 1), (0, 1, 0), (0, 1, 1)], 1.0),  # a face: a unit square
        ([(0, 0, 0), (1, 1, 1)], 2 * SQ3 / 8),  # body diagonal: two triangles
        ([(0, 0, 0), (0, 1, 1)], 2 * SQ3 / 8),  # face diagonal: separated
        ([(0, 0, 0), (0, 0, 1), (0, 1, 0)], 0.5 + 3 * SQ3 / 8),  # L: triangle + quad
        ([(0, 0, 0), (0, 0, 1), (0, 1, 0), (1, 0, 0)], 3 * SQ3 / 4),  # tripod: hexagon
        ([(0, 0, 0), (0, 0, 1), (0, 1, 1), (1, 1, 1)], (SQ2 + SQ3) / 2),  # zig-zag
        ([(0, 0, 0), (0, 1, 1), (1, 0, 1), (1, 1, 0)], 4 * SQ3 / 8),  # tetrahedron
        ([(0, 0, 0), (0, 0, 1), (1, 1, 1)], SQ2 / 2 + SQ3 / 8),  # edge + far corner
        ([(0, 0, 0), (0, 0, 1), (1, 1, 0), (1, 1, 1)], SQ2),  # two opposite edges
        ([(0, 0, 0), (0, 0, 1), (0, 1, 0), (1, 1, 1)], 0.5 + SQ3 / 2),  # L + far corner
    ],
)
def test_area_table_closed_forms(offsets, area):
    table = surface_area_table(ISO)
    assert table[code_of(*offsets)] == pytest.approx(area, rel=1e-12)
    assert table[255 - code_of(*offsets)] == pytest.approx(area, rel=1e-12)


def test_area_table_matches_reference_library_checksums():
    # Sums of the DeepMind surface-distance table (lookup_tables.py) at these spacings,
    # computed from that library; every one of the 256 entries was also compared
    # one by one (max relative difference 4e-16) when this table was derived.
    assert surface_area_table(ISO).sum() == pytest.approx(241.34313970553737, rel=1e-13)
    assert surface_area_table((2.5, 1.1, 0.4)).sum() == pytest.approx(391.22013286252275, rel=1e-13)
    assert surface_area_table(ISO)[[0, 255]].tolist() == [0.0, 0.0]


@pytest.mark.parametrize("perm", list(permutations(range(3))))
def test_area_table_respects_cube_symmetries(perm):
    base = surface_area_table(ANISO)
    permuted = surface_area_table(tuple(ANISO[p] for p in perm))
    for code in range(256):
        corners = [((i >> 2) & 1, (i >> 1) & 1, i & 1) for i in range(8) if code >> i & 1]
        moved = code_of(*[tuple(c[p] for p in perm) for c in corners])
        flipped = code_of(*[(1 - c[0], c[1], c[2]) for c in corners])
        assert permuted[moved] == pytest.approx(base[code], rel=1e-12)
        assert base[flipped] == pytest.approx(base[code], rel=1e-12)
        assert base[255 - code] == pytest.approx(base[code], rel=1e-12)


def test_contour_length_table():
    t = contour_length_table((0.7, 0.9))
    diag = 0.5 * math.hypot(0.7, 0.9)
    assert t[[0, 15]].tolist() == [0.0, 0.0]
    assert t[[1, 2, 4, 8, 7, 11, 13, 14]] == pytest.approx([diag] * 8)
    assert t[[3, 12]] == pytest.approx([0.9, 0.9])  # a row: runs along axis 1
    assert t[[5, 10]] == pytest.approx([0.7, 0.7])  # a column: runs along axis 0
    assert t[[6, 9]] == pytest.approx([2 * diag, 2 * diag])


def test_nearest_distances_are_bitwise_the_distance_transform():
    from scipy import ndimage

    from radassure.core._surface import nearest_distances

    rng = np.random.default_rng(3)
    for spacing in [ISO, ANISO, (3.0, 0.9765625, 0.9765625)]:
        features = rng.random((9, 11, 13)) < 0.05
        features[4, 5, 6] = True
        at = rng.random(features.shape) < 0.3
        expected = ndimage.distance_transform_edt(~features, sampling=spacing)[at]
        assert np.array_equal(nearest_distances(features, at, spacing), expected)
        expected_2d = ndimage.distance_transform_edt(~features[4], sampling=spacing[1:])[at[4]]
        assert np.array_equal(nearest_distances(features[4], at[4], spacing[1:]), expected_2d)


# ------------------------------------------------------------------- closed forms


def box_surfel_area(n, s):
    """Surfel area of an n0 x n1 x n2 box: faces, edges and corners of the corner grid."""
    (n0, n1, n2), (s0, s1, s2) = n, s
    faces = 2 * ((n1 - 1) * (n2 - 1) * s1 * s2 + (n0 - 1) * (n2 - 1) * s0 * s2)
    faces += 2 * (n0 - 1) * (n1 - 1) * s0 * s1
    edges = 2 * (n2 - 1) * s2 * math.hypot(s0, s1) + 2 * (n1 - 1) * s1 * math.hypot(s0, s2)
    edges += 2 * (n0 - 1) * s0 * math.hypot(s1, s2)
    corner = math.sqrt((s1 * s2) ** 2 + (s0 * s2) ** 2 + (s0 * s1) ** 2)
    return faces + edges + corner


@pytest.mark.parametrize("spacing", [ISO, ANISO])
def test_box_surface_area_closed_form(spacing):
    from radassure.core import _surface

    ref = box((9, 9, 9), (2, 1, 3), (5, 7, 8))
    to_pred, _ = _surface.surface_distances(*_surface.padded_crops(ref, ref), spacing)
    assert to_pred.total() == pytest.approx(box_surfel_area((3, 6, 5), spacing), rel=1e-12)
    assert np.all(to_pred.distances == 0)


@pytest.mark.parametrize("spacing", [ISO, ANISO])
@pytest.mark.parametrize("axis", [0, 1, 2])
@pytest.mark.parametrize("k", [1, 3])
def test_single_voxels_offset_by_k(spacing, axis, k):
    at = [3, 3, 3]
    moved = list(at)
    moved[axis] += k
    r = segmentation_metrics(voxel((9, 9, 9), tuple(at)), voxel((9, 9, 9), tuple(moved)), spacing)
    s = spacing[axis]
    assert r["status"] == "both_present"
    assert (r["dice"], r["jaccard"]) == (0.0, 0.0)
    assert r["hd"] == pytest.approx(k * s) and r["hd95"] == pytest.approx(k * s)
    # four corners at (k - 1) s, four at k s, equal areas
    assert r["assd"] == pytest.approx((k - 0.5) * s) and r["masd"] == pytest.approx((k - 0.5) * s)
    assert r["centroid_distance_mm"] == pytest.approx(k * s)
    cases = [(k * s, 1.0), (k * s - 1e-9, 0.5), ((k - 1) * s, 0.5)]
    cases += [((k - 1) * s - 1e-9, 0.0)] if k > 1 else []
    for tol, expected in cases:
        sd = segmentation_metrics(
            voxel((9, 9, 9), tuple(at)), voxel((9, 9, 9), tuple(moved)), spacing, tolerance_mm=tol
        )["surface_dice"]
        assert sd == pytest.approx(expected)
    rv = segmentation_metrics(
        voxel((9, 9, 9), tuple(at)), voxel((9, 9, 9), tuple(moved)), spacing, method="voxel"
    )
    assert rv["hd"] == rv["hd95"] == rv["assd"] == pytest.approx(k * s)


def test_single_voxel_against_itself():
    m = voxel((5, 5, 5), (2, 2, 2))
    r = segmentation_metrics(m, m, ANISO)
    assert (r["dice"], r["surface_dice"], r["apl_mm"]) == (1.0, 1.0, 0.0)
    assert all(r[k] == 0.0 for k in DISTANCES)
    assert r["volume_reference_ml"] == pytest.approx(2.5 * 0.7 * 0.9 / 1000)


@pytest.mark.parametrize("spacing", [ISO, (2.0, 2.0, 2.0)])
def test_plane_shifted_by_k_voxels(spacing):
    # A box moved k slices along z: its far face is exactly k*s0 from the other box
    # and no point is farther, so HD = HD95 = k*s0 and surface Dice is 1 at that tolerance.
    s0, k = spacing[0], 2
    ref = box((14, 14, 14), (2, 2, 2), (7, 12, 12))
    pred = box((14, 14, 14), (2 + k, 2, 2), (7 + k, 12, 12))
    r = segmentation_metrics(ref, pred, spacing, tolerance_mm=k * s0)
    assert r["hd"] == r["hd95"] == k * s0
    assert r["hd95_reference_to_prediction"] == r["hd95_prediction_to_reference"] == k * s0
    assert r["surface_dice"] == 1.0
    assert r["dice"] == pytest.approx(2 * 3 / 10)
    assert r["volume_difference_ml"] == 0.0
    below = segmentation_metrics(ref, pred, spacing, tolerance_mm=k * s0 - 1e-9)
    assert below["surface_dice"] < 1.0
    rv = segmentation_metrics(ref, pred, spacing, method="voxel")
    assert rv["hd"] == k * s0


@pytest.mark.parametrize("m", [1, 2])
def test_concentric_cubes(m):
    n = 4
    ref = box((16, 16, 16), (6, 6, 6), (6 + n, 6 + n, 6 + n))
    pred = box((16, 16, 16), (6 - m,) * 3, (6 + n + m,) * 3)
    for method in ("surface", "voxel"):
        r = segmentation_metrics(ref, pred, (1.5, 1.5, 1.5), method=method, tolerance_mm=1.5 * m)
        # every reference point lies exactly m voxels inside the prediction's surface
        assert r["msd_reference_to_prediction"] == pytest.approx(1.5 * m)
        assert r["hd95_reference_to_prediction"] == pytest.approx(1.5 * m)
        assert r["hd"] == pytest.approx(1.5 * m * SQ3)  # corner to corner
        assert r["centroid_distance_mm"] == pytest.approx(0.0, abs=1e-12)
        assert r["dice"] == pytest.approx(2 * n**3 / (n**3 + (n + 2 * m) ** 3))
        # the smallest reference distance (percentile 0) is m*s too: all are exactly m*s
        low = segmentation_metrics(ref, pred, (1.5, 1.5, 1.5), method=method, percentile=0.0)
        assert low["hd95_reference_to_prediction"] == pytest.approx(1.5 * m)
    aniso = segmentation_metrics(ref, pred, ANISO)
    assert aniso["hd"] == pytest.approx(m * math.sqrt(sum(s * s for s in ANISO)))


def test_concentric_spheres():
    g = np.arange(31) - 15
    r2 = g[:, None, None] ** 2 + g[None, :, None] ** 2 + g[None, None, :] ** 2
    r = segmentation_metrics(r2 <= 8**2, r2 <= 11**2, ISO, tolerance_mm=3.0)
    # Radii differ by 3 voxels. On a curved surface the border corners form a shell
    # about sqrt(3) voxels thick, so surfel distances run below 3 on average.
    assert 3.0 - SQ3 / 2 < r["assd"] < 3.0
    assert 3.0 <= r["hd95"] <= r["hd"] <= 3.0 + SQ3 / 2
    assert r["surface_dice"] > 0.9 and r["centroid_distance_mm"] == pytest.approx(0, abs=1e-12)
    assert r["dice"] == pytest.approx(2 * 8**3 / (8**3 + 11**3), rel=0.05)
    v = segmentation_metrics(r2 <= 8**2, r2 <= 11**2, ISO, method="voxel")
    assert v["assd"] == pytest.approx(3.0, abs=0.15)


# ---------------------------------------------------------------------- APL


def square_contour(n, sy, sx):
    return 2 * (n - 1) * (sy + sx) + 2 * math.hypot(sy, sx)


@pytest.mark.parametrize("spacing", [ISO, ANISO])
def test_apl_missing_slices_and_whole_structure(spacing):
    ref = box((8, 10, 10), (1, 2, 2), (6, 7, 7))
    pred = ref.copy()
    pred[4:6] = False  # two slices not contoured
    per_slice = square_contour(5, spacing[1], spacing[2])
    assert segmentation_metrics(ref, pred, spacing)["apl_mm"] == pytest.approx(2 * per_slice)
    assert segmentation_metrics(ref, ref, spacing)["apl_mm"] == 0.0
    missed = segmentation_metrics(ref, np.zeros_like(ref), spacing)
    assert missed["apl_mm"] == pytest.approx(5 * per_slice)


def test_apl_in_plane_margin_against_tolerance():
    ref = box((3, 12, 12), (1, 3, 3), (2, 8, 8))
    pred = box((3, 12, 12), (1, 2, 2), (2, 9, 9))  # one pixel larger all round
    s = (3.0, 1.2, 1.2)
    assert segmentation_metrics(ref, pred, s, tolerance_mm=1.2)["apl_mm"] == 0.0
    assert segmentation_metrics(ref, pred, s, tolerance_mm=1.1)["apl_mm"] == pytest.approx(
        square_contour(5, 1.2, 1.2)
    )


# ------------------------------------------------------------- empty masks, policy


def test_empty_mask_states():
    ref = box((6, 6, 6), (1, 1, 1), (4, 4, 4))
    empty = np.zeros_like(ref)
    both = segmentation_metrics(empty, empty, ISO)
    assert both["status"] == "both_absent"
    assert (both["dice"], both["jaccard"], both["surface_dice"]) == (1.0, 1.0, 1.0)
    assert all(both[k] == 0.0 for k in DISTANCES) and both["apl_mm"] == 0.0
    for status, a, b in [("missed", ref, empty), ("hallucinated", empty, ref)]:
        r = segmentation_metrics(a, b, ISO)
        assert r["status"] == status
        assert (r["dice"], r["jaccard"], r["surface_dice"]) == (0.0, 0.0, 0.0)
        assert all(math.isinf(r[k]) for k in DISTANCES)
        full = 3 * square_contour(3, 1.0, 1.0)  # every reference slice must be drawn
        assert r["apl_mm"] == (0.0 if status == "hallucinated" else pytest.approx(full))
        assert not any(isinstance(v, float) and math.isnan(v) for v in r.values())


def test_structures_touching_the_volume_edge_are_closed_like_padding():
    ref = box((6, 7, 8), (0, 0, 2), (4, 7, 8))
    pred = box((6, 7, 8), (0, 1, 0), (6, 7, 6))
    pad = ((2, 1), (1, 3), (0, 2))
    for method in ("surface", "voxel"):
        r = segmentation_metrics(ref, pred, ANISO, method=method)
        padded = segmentation_metrics(np.pad(ref, pad), np.pad(pred, pad), ANISO, method=method)
        assert r == padded


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((np.zeros((4, 4), bool), np.zeros((4, 4), bool), ISO), "reference must be a 3-D"),
        ((np.zeros((4, 4, 4), bool), np.zeros((4, 4, 5), bool), ISO), "same shape"),
        ((np.zeros((4, 4, 4)), np.full((4, 4, 4), 2), ISO), "prediction must be boolean"),
        ((np.full((4, 4, 4), 0.5), np.zeros((4, 4, 4)), ISO), "reference must be boolean"),
        ((np.full((4, 4, 4), np.nan), np.zeros((4, 4, 4)), ISO), "reference must be boolean"),
        ((np.full((4, 4, 4), "a"), np.zeros((4, 4, 4)), ISO), "reference must be a boolean"),
        ((np.zeros((4, 4, 4)), np.zeros((4, 4, 4)), (1.0, 1.0)), "spacing must hold 3"),
        ((np.zeros((4, 4, 4)), np.zeros((4, 4, 4)), (1.0, 0.0, 1.0)), "spacing must be positive"),
        ((np.zeros((4, 4, 4)), np.zeros((4, 4, 4)), (1.0, -1, 1.0)), "spacing must be positive"),
        ((np.zeros((4, 4, 4)), np.zeros((4, 4, 4)), (1.0, np.inf, 1.0)), "spacing must be"),
    ],
)
def test_bad_input_is_rejected_with_a_sentence(args, match):
    with pytest.raises(ValueError, match=match):
        segmentation_metrics(*args)


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"tolerance_mm": -1.0}, "tolerance_mm"),
        ({"tolerance_mm": math.nan}, "tolerance_mm"),
        ({"percentile": 101.0}, "percentile"),
        ({"method": "mesh"}, "method"),
    ],
)
def test_bad_options_are_rejected(options, match):
    with pytest.raises(ValueError, match=match):
        segmentation_metrics(np.zeros((3, 3, 3)), np.zeros((3, 3, 3)), ISO, **options)


def test_zero_one_numbers_are_accepted_like_booleans():
    ref = box((6, 6, 6), (1, 1, 1), (4, 4, 4))
    pred = box((6, 6, 6), (2, 1, 1), (5, 4, 5))
    expected = segmentation_metrics(ref, pred, ISO)
    assert segmentation_metrics(ref.astype(np.uint8), pred.astype(float), [1, 1, 1]) == expected


# ---------------------------------------------------------------- aggregation


def test_aggregate_keeps_missed_cases_in_means():
    ref = box((8, 8, 8), (2, 2, 2), (6, 6, 6))
    shifted = box((8, 8, 8), (3, 2, 2), (7, 6, 6))
    empty = np.zeros_like(ref)
    cases = [
        segmentation_metrics(ref, ref, ISO),
        segmentation_metrics(ref, shifted, ISO),
        segmentation_metrics(ref, empty, ISO),
        segmentation_metrics(empty, ref, ISO),
        segmentation_metrics(empty, empty, ISO),
    ]
    s = aggregate_segmentation(cases)
    assert (s["n_cases"], s["n_both_present"], s["n_missed"]) == (5, 2, 1)
    assert (s["n_hallucinated"], s["n_both_absent"]) == (1, 1)
    assert s["dice_mean"] == pytest.approx((1 + 0.75 + 0 + 0 + 1) / 5)
    assert s["dice_median"] == pytest.approx(0.75)
    assert s["hd95_median"] == pytest.approx((0 + cases[1]["hd95"]) / 2)
    assert math.isfinite(s["hd_median"]) and s["apl_mm_total"] > 0


def test_aggregate_warns_when_distances_are_undefined():
    ref = box((5, 5, 5), (1, 1, 1), (3, 3, 3))
    missed = segmentation_metrics(ref, np.zeros_like(ref), ISO)
    with pytest.warns(UndefinedMetricWarning, match="distance"):
        s = aggregate_segmentation([missed, missed])
    assert s["dice_mean"] == 0.0 and math.isnan(s["hd95_median"]) and s["n_missed"] == 2
    with pytest.warns(UndefinedMetricWarning, match="empty"):
        assert math.isnan(aggregate_segmentation([])["dice_mean"])


def test_aggregate_rejects_mixed_or_foreign_results():
    ref = box((5, 5, 5), (1, 1, 1), (3, 3, 3))
    a = segmentation_metrics(ref, ref, ISO)
    b = segmentation_metrics(ref, ref, ISO, method="voxel")
    with pytest.raises(ValueError, match="method"):
        aggregate_segmentation([a, b])
    with pytest.raises(ValueError, match=r"results\[1\] has status"):
        aggregate_segmentation([a, {**a, "status": "unknown"}])
    with pytest.raises(ValueError, match=r"results\[0\] has no number under 'dice'"):
        aggregate_segmentation([{**a, "dice": "high"}])


# ------------------------------------------------- brute-force oracle and properties


def oracle(ref, pred, spacing, tol, pct, method):
    """Naive re-implementation: no crop, loops over corners, all-pairs distances."""
    sp = np.asarray(spacing)
    table = surface_area_table(spacing)

    def elements(m):
        p = np.pad(m, 1)
        if method == "voxel":
            inner = np.ones_like(p)
            for ax in range(3):
                for step in (1, -1):
                    inner &= np.roll(p, step, axis=ax)
            idx = np.argwhere(p & ~inner)
            return idx, np.ones(len(idx))
        pts, areas = [], []
        for corner in np.ndindex(*(n - 1 for n in p.shape)):
            code = sum(
                1 << b
                for b in range(8)
                if p[corner[0] + (b >> 2 & 1), corner[1] + (b >> 1 & 1), corner[2] + (b & 1)]
            )
            if code not in (0, 255):
                pts.append(corner)
                areas.append(table[code])
        return np.asarray(pts), np.asarray(areas)

    (pr, ar), (pp, ap) = elements(ref), elements(pred)
    # grid steps times spacing, then the root of the sum of squares (as an EDT does)
    steps = (np.asarray(pr)[:, None, :] - np.asarray(pp)[None, :, :]) * sp
    d = np.sqrt(np.sum(steps**2, axis=-1))
    dr, dp = d.min(axis=1), d.min(axis=0)

    def pctl(dist, w, q):
        if method == "voxel":
            return float(np.percentile(dist, q))
        pairs = sorted(zip(dist.tolist(), w.tolist(), strict=True))
        ws = np.cumsum([a for _, a in pairs]) / np.sum([a for _, a in pairs])
        return next((pairs[i][0] for i in range(len(pairs)) if ws[i] >= q / 100), pairs[-1][0])

    lengths = contour_length_table((spacing[1], spacing[2]))

    def contour(m, z):
        p = np.pad(m[z], 1)
        out = {}
        for corner in np.ndindex(p.shape[0] - 1, p.shape[1] - 1):
            code = sum(1 << b for b in range(4) if p[corner[0] + (b >> 1), corner[1] + (b & 1)])
            if code not in (0, 15):
                out[corner] = lengths[code]
        return out

    apl = 0.0
    for z in range(ref.shape[0]):
        rc, pc = contour(ref, z), contour(pred, z)
        for corner, length in rc.items():
            near = [
                math.sqrt(((corner[0] - q[0]) * sp[1]) ** 2 + ((corner[1] - q[1]) * sp[2]) ** 2)
                for q in pc
            ]
            apl += length if min(near, default=math.inf) > tol else 0.0
    return {
        "apl_mm": apl,
        "hd": max(dr.max(), dp.max()),
        "hd95": max(pctl(dr, ar, pct), pctl(dp, ap, pct)),
        "assd": (dr @ ar + dp @ ap) / (ar.sum() + ap.sum()),
        "masd": (dr @ ar / ar.sum() + dp @ ap / ap.sum()) / 2,
        "surface_dice": (ar[dr <= tol].sum() + ap[dp <= tol].sum()) / (ar.sum() + ap.sum()),
        "dice": 2 * (ref & pred).sum() / (ref.sum() + pred.sum()),
    }


masks = arrays(np.bool_, st.tuples(*[st.integers(2, 6)] * 3))
spacings = st.sampled_from([ISO, ANISO, (3.0, 0.5, 0.5), (1.0, 2.0, 1.5)])


@settings(max_examples=150, deadline=None, database=None)
@given(data=st.data(), spacing=spacings, method=st.sampled_from(["surface", "voxel"]))
def test_agrees_with_brute_force_oracle(data, spacing, method):
    ref = data.draw(masks)
    pred = data.draw(arrays(np.bool_, ref.shape))
    tol = data.draw(st.sampled_from([0.0, 0.7, 1.0, 2.5]))
    pct = data.draw(st.sampled_from([50.0, 95.0, 100.0]))
    r = segmentation_metrics(ref, pred, spacing, tolerance_mm=tol, percentile=pct, method=method)
    if r["status"] != "both_present":
        assert (
            r["status"]
            == {(0, 0): "both_absent", (1, 0): "missed", (0, 1): "hallucinated"}[
                (int(ref.any()), int(pred.any()))
            ]
        )
        return
    expected = oracle(ref, pred, spacing, tol, pct, method)
    for key, value in expected.items():
        assert r[key] == pytest.approx(value, rel=1e-9, abs=1e-12), key


@settings(max_examples=150, deadline=None, database=None)
@given(data=st.data(), spacing=spacings, method=st.sampled_from(["surface", "voxel"]))
def test_properties_symmetry_padding_translation_scaling(data, spacing, method):
    ref = data.draw(masks)
    pred = data.draw(arrays(np.bool_, ref.shape))
    r = segmentation_metrics(ref, pred, spacing, method=method)
    swapped = segmentation_metrics(pred, ref, spacing, method=method)
    for key in ("dice", "jaccard", "hd", "hd95", "assd", "masd", "surface_dice"):
        assert swapped[key] == pytest.approx(r[key], rel=1e-12), key
    assert swapped["volume_difference_ml"] == -r["volume_difference_ml"]

    pad = data.draw(st.tuples(*[st.tuples(st.integers(0, 3), st.integers(0, 3))] * 3))
    padded = segmentation_metrics(np.pad(ref, pad), np.pad(pred, pad), spacing, method=method)
    assert padded == r
    shift = data.draw(st.tuples(*[st.integers(-2, 2)] * 3))
    moved = [np.roll(np.pad(m, 2), shift, axis=(0, 1, 2)) for m in (ref, pred)]
    assert segmentation_metrics(*moved, spacing, method=method) == r

    c = data.draw(st.sampled_from([0.5, 2.0, 4.0]))  # powers of two scale exactly
    scaled = segmentation_metrics(
        ref, pred, tuple(c * s for s in spacing), tolerance_mm=2.0 * c, method=method
    )
    for key in ("hd", "hd95", "assd", "masd", "centroid_distance_mm", "apl_mm"):
        assert scaled[key] == pytest.approx(c * r[key], rel=1e-12), key
    for key in ("dice", "surface_dice"):
        assert scaled[key] == pytest.approx(r[key], rel=1e-12), key


@settings(max_examples=25, deadline=None, database=None)
@given(ref=masks, spacing=spacings, method=st.sampled_from(["surface", "voxel"]))
def test_identical_masks_have_zero_distances(ref, spacing, method):
    r = segmentation_metrics(ref, ref, spacing, method=method)
    if not ref.any():
        assert r["status"] == "both_absent"
    assert all(r[k] == 0.0 for k in DISTANCES)
    assert (r["dice"], r["surface_dice"], r["apl_mm"]) == (1.0, 1.0, 0.0)
