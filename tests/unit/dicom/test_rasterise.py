"""Rasterising contours: synthetic round trips from known masks, scan conversion, refusals."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
from pydicom.uid import generate_uid

from radassure.core import segmentation_metrics
from radassure.dicom import load_image_series, rasterise_rtstruct, read_rtstruct
from radassure.dicom._scan import fill_polygons
from radassure.errors import DataValidationError

R_OUT, R_IN = 14.0, 5.0  # mm: a disk with a hole (a ring)


def circle(centre_uv, radius, n=240):
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.stack([centre_uv[0] + radius * np.cos(t), centre_uv[1] + radius * np.sin(t)], 1)


def ring_case(grid, positions, row, col, slices, centre_uv):
    """Contours of a ring on ``slices`` and the exact mask of pixel centres inside it.

    (u, v) are in-plane mm along the row and column cosines from each slice's
    ImagePositionPatient, so the same code serves every orientation.
    """
    contours = []
    for k in slices:
        for radius in (R_OUT, R_IN):
            uv = circle(centre_uv, radius)
            contours.append((k, positions[k] + uv[:, :1] * row + uv[:, 1:] * col))
    v = np.arange(grid.shape[1])[:, None] * grid.spacing[1]
    u = np.arange(grid.shape[2])[None, :] * grid.spacing[2]
    d = np.hypot(u - centre_uv[0], v - centre_uv[1])
    expected = np.zeros(grid.shape, dtype=bool)
    expected[list(slices)] = (d <= R_OUT) & (d > R_IN)
    hole = np.zeros(grid.shape, dtype=bool)
    hole[list(slices)] = d < R_IN - 0.5
    return contours, expected, hole


ORIENTATIONS = {
    "axial": (1.0, 0.0, 0.0, 0.0, 1.0, 0.0),
    "axial feet-first": (-1.0, 0.0, 0.0, 0.0, 1.0, 0.0),
    "coronal": (1.0, 0.0, 0.0, 0.0, 0.0, -1.0),
    "oblique": (0.9541666, -0.2080757, 0.2151061, 0.2785886, 0.880128, -0.3843997),
}


@pytest.mark.parametrize("orientation", list(ORIENTATIONS))
def test_ring_round_trip_through_dicom_files(tmp_path, ct_series, rtstruct_writer, orientation):
    iop = ORIENTATIONS[orientation]
    series = ct_series(
        tmp_path / "ct",
        shape=(8, 48, 40),
        spacing=(3.0, 0.8, 0.9),
        origin=(-20.0, -30.0, 100.0),
        orientation=iop,
    )
    grid = load_image_series(tmp_path / "ct")
    positions = np.array([np.asarray(ds.ImagePositionPatient, float) for ds in series])
    row, col = np.asarray(iop[:3]), np.asarray(iop[3:])
    contours, expected, hole = ring_case(grid, positions, row, col, range(2, 6), (17.3, 19.1))
    path = rtstruct_writer(tmp_path / "rs.dcm", series, {"Ring": contours})
    mask = rasterise_rtstruct(read_rtstruct(path), grid)["Ring"]
    result = segmentation_metrics(expected, mask, grid.spacing)
    assert result["dice"] > 0.98
    assert mask.sum(axis=(1, 2)).nonzero()[0].tolist() == [2, 3, 4, 5]
    # The hole survives: every pixel well inside the inner contour is empty.
    assert hole.sum() > 4 * 80 and not (mask & hole).any()
    ring = np.pi * (R_OUT**2 - R_IN**2) / (0.8 * 0.9)
    assert mask[3].sum() == pytest.approx(ring, rel=0.03)


def test_ring_round_trip_on_the_third_party_oblique_series(tmp_path, dicom_data, rtstruct_writer):
    folder = dicom_data / "rt-utils" / "oriented_data"
    grid = load_image_series(folder)
    series = [pydicom.dcmread(f) for f in grid.files]
    positions = np.array([np.asarray(ds.ImagePositionPatient, float) for ds in series])
    row, col = np.asarray(grid.direction[2]), np.asarray(grid.direction[1])
    contours, expected, hole = ring_case(grid, positions, row, col, range(3), (150.0, 80.0))
    path = rtstruct_writer(tmp_path / "rs.dcm", series, {"Ring": contours})
    mask = rasterise_rtstruct(read_rtstruct(path), grid)["Ring"]
    assert segmentation_metrics(expected, mask, grid.spacing)["dice"] > 0.95  # 2.5 x 3.5 mm pixels
    assert hole.any() and not (mask & hole).any()
    # Drawn on the oblique series, the contours do not lie on an axial grid's slices.
    axial = type(grid).axial((20, 100, 100), spacing=(4.5, 3.5, 2.5), origin=(0.0, -500.0, 0.0))
    with pytest.raises(DataValidationError, match="slice plane"):
        rasterise_rtstruct(read_rtstruct(path), axial, check_references=False)


def _series_and_square(tmp_path, ct_series, **kwargs):
    series = ct_series(tmp_path / "ct", shape=(3, 10, 10), spacing=(2.0, 1.0, 1.0), **kwargs)
    square = np.array([[2.0, 2, 2], [6, 2, 2], [6, 6, 2], [2, 6, 2]])  # on slice 1 (z = 2)
    return series, load_image_series(tmp_path / "ct"), square


def test_contour_off_its_slice_plane_is_refused(tmp_path, ct_series, rtstruct_writer):
    series, grid, square = _series_and_square(tmp_path, ct_series)
    path = rtstruct_writer(
        tmp_path / "rs.dcm", series, {"Cord": [(1, square + np.array([0, 0, 0.8]))]}
    )
    with pytest.raises(DataValidationError, match=r"tolerance of 0\.5 mm") as excinfo:
        rasterise_rtstruct(read_rtstruct(path), grid)
    assert excinfo.value.problems[0].column == "ContourData"
    mask = rasterise_rtstruct(read_rtstruct(path), grid, tolerance_mm=1.0)["Cord"]
    assert mask.sum(axis=(1, 2)).tolist() == [0, 16, 0]


def test_contour_referencing_another_slice_is_refused(tmp_path, ct_series, rtstruct_writer):
    series, grid, square = _series_and_square(tmp_path, ct_series)
    path = rtstruct_writer(tmp_path / "rs.dcm", series, {"Cord": [(0, square)]})  # lies on 1
    with pytest.raises(DataValidationError, match="disagree on geometry"):
        rasterise_rtstruct(read_rtstruct(path), grid)
    assert rasterise_rtstruct(read_rtstruct(path), grid, check_references=False)["Cord"].any()


def test_other_series_and_frame_of_reference_are_refused(tmp_path, ct_series, rtstruct_writer):
    series, _, square = _series_and_square(tmp_path, ct_series)
    other = ct_series(tmp_path / "other", shape=(3, 10, 10), spacing=(2.0, 1.0, 1.0))
    grid = load_image_series(tmp_path / "other")
    path = rtstruct_writer(tmp_path / "rs.dcm", series, {"Cord": [(1, square)]})
    with pytest.raises(DataValidationError) as excinfo:
        rasterise_rtstruct(read_rtstruct(path), grid)
    columns = {p.column for p in excinfo.value.problems}
    assert columns == {"ReferencedSOPInstanceUID", "SeriesInstanceUID"}
    # Without image references the frame of reference decides.
    path = rtstruct_writer(
        tmp_path / "rs2.dcm", series, {"Cord": [(1, square)]}, reference_images=False
    )
    rs = read_rtstruct(path)
    rs = type(rs)(**{**rs.__dict__, "referenced_series_instance_uids": ()})
    with pytest.raises(DataValidationError) as excinfo:
        rasterise_rtstruct(rs, grid)
    assert [p.column for p in excinfo.value.problems] == ["FrameOfReferenceUID"]
    assert other[0].FrameOfReferenceUID in str(excinfo.value)
    assert rasterise_rtstruct(rs, grid, check_references=False)["Cord"].sum() == 16


def test_duplicate_names_and_empty_rois(tmp_path, ct_series, rtstruct_writer):
    series, grid, square = _series_and_square(tmp_path, ct_series)
    path = rtstruct_writer(tmp_path / "rs.dcm", series, {"Cord": [(1, square)], "Empty": []})
    rs = read_rtstruct(path)
    masks = rasterise_rtstruct(rs, grid)
    assert list(masks) == ["Cord", "Empty"]
    assert not masks["Empty"].any()  # an ROI defined but not drawn: an empty structure
    twin = type(rs)(**{**rs.__dict__, "rois": (rs.rois[0], rs.rois[0])})
    with pytest.raises(DataValidationError, match=r"share the name\(s\) \['Cord'\]"):
        rasterise_rtstruct(twin, grid)


def test_malformed_contour_data_is_named(tmp_path, ct_series, rtstruct_writer):
    series, _, square = _series_and_square(tmp_path, ct_series)
    path = rtstruct_writer(tmp_path / "rs.dcm", series, {"Cord": [(1, square)]})
    ds = pydicom.dcmread(path)
    ds.ROIContourSequence[0].ContourSequence[0].ContourData = ["1", "2", "3", "4"]
    ds.SOPInstanceUID = generate_uid()
    ds.save_as(path)
    with pytest.raises(DataValidationError, match="ROI 1 has ContourData of 4 values"):
        read_rtstruct(path)
    ds.ROIContourSequence[0].ReferencedROINumber = 7
    ds.ROIContourSequence[0].ContourSequence[0].ContourData = ["1", "2", "3"]
    ds.save_as(path)
    with pytest.raises(DataValidationError, match=r"ROI number\(s\) \[7\]"):
        read_rtstruct(path)


# ----------------------------------------------------------------- scan conversion


def test_even_odd_fill_islands_holes_and_nesting():
    big = np.array([[0.5, 0.5], [0.5, 8.5], [8.5, 8.5], [8.5, 0.5]])
    hole = np.array([[2.5, 2.5], [2.5, 6.5], [6.5, 6.5], [6.5, 2.5]])
    island = np.array([[3.5, 3.5], [3.5, 5.5], [5.5, 5.5], [5.5, 3.5]])
    out = fill_polygons([big, hole, island], (10, 10))
    assert out.sum() == 64 - 16 + 4
    assert out[1, 1] and not out[3, 3] and out[4, 4]
    # Winding direction does not matter; disjoint polygons are separate islands.
    flipped = fill_polygons([big[::-1], hole, island[::-1]], (10, 10))
    assert np.array_equal(out, flipped)
    assert fill_polygons([island, island + 4], (10, 10)).sum() == 8


def test_shared_edges_tile_without_gap_or_overlap():
    rng = np.random.default_rng(5)
    xs = np.sort(rng.uniform(0, 20, 3))
    left = np.array([[0.0, 0.0], [0.0, xs[1]], [20.0, xs[2]], [20.0, 0.0]])
    right = np.array([[0.0, xs[1]], [0.0, 20.0], [20.0, 20.0], [20.0, xs[2]]])
    a, b = fill_polygons([left], (20, 20)), fill_polygons([right], (20, 20))
    whole = fill_polygons([np.array([[0.0, 0], [0, 20], [20, 20], [20, 0]])], (20, 20))
    assert not (a & b).any() and np.array_equal(a | b, whole)


def test_vertices_on_pixel_rows_and_shapes_beyond_the_image():
    diamond = np.array([[0.0, 3.0], [3.0, 6.0], [6.0, 3.0], [3.0, 0.0]])  # vertices on centres
    out = fill_polygons([diamond], (7, 7))
    # Half-open rows and columns: the top apex and right vertex are out, the left one in,
    # so the pixel count equals the diamond's area (18) exactly.
    assert out.sum(axis=1).tolist() == [0, 2, 4, 6, 4, 2, 0]
    assert out[3, 0] and not out[3, 6] and not out[0, 3]
    beyond = np.array([[-5.0, -5.0], [-5.0, 2.5], [2.5, 2.5], [2.5, -5.0]])
    assert fill_polygons([beyond], (6, 6)).sum() == 9
    assert not fill_polygons([beyond - 20], (6, 6)).any()
    assert not fill_polygons([np.array([[1.0, 1.0], [2.0, 2.0]])], (4, 4)).any()
    assert not fill_polygons([], (4, 4)).any()


def test_polygon_area_matches_shoelace_for_random_polygons():
    rng = np.random.default_rng(11)
    for _ in range(20):
        t = np.sort(rng.uniform(0, 2 * np.pi, 12))
        r = rng.uniform(60, 100, 12)
        poly = np.stack([150 + r * np.sin(t), 150 + r * np.cos(t)], 1)
        x, y = poly[:, 0], poly[:, 1]
        area = abs(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y)) / 2
        assert fill_polygons([poly], (300, 300)).sum() == pytest.approx(area, rel=0.01)
