"""read_rtstruct and rasterise_rtstruct on third-party structure sets (rt-utils, pydicom)."""

from __future__ import annotations

import numpy as np
import pytest
from pydicom.data import get_testdata_file

from radassure.dicom import (
    ImageGrid,
    load_image_series,
    rasterise_rtstruct,
    read_rtstruct,
)
from radassure.errors import DataValidationError

MISSING_IMAGE = "2.16.840.1.114362.1.11940992.23790159890.563423471.995.90"


def shoelace(xy: np.ndarray) -> tuple[float, np.ndarray]:
    """Signed-area-free polygon area (mm^2) and centroid by the shoelace formula."""
    x, y = xy[:, 0], xy[:, 1]
    x1, y1 = np.roll(x, -1), np.roll(y, -1)
    cross = x * y1 - x1 * y
    area = cross.sum() / 2
    centroid = np.array([((x + x1) * cross).sum(), ((y + y1) * cross).sum()]) / (6 * area)
    return abs(area), centroid


@pytest.fixture(scope="module")
def mock(dicom_data):
    folder = dicom_data / "rt-utils" / "mock_data"
    return folder, load_image_series(folder)


def test_rt_utils_structure_set_reads_in_dicom_terms(mock):
    folder, grid = mock
    rs = read_rtstruct(folder / "rt.dcm")
    assert rs.roi_names == ["ROI-1"]
    (roi,) = rs.rois
    assert roi.number == 1 and roi.generation_algorithm == "MANUAL"
    assert [c.geometric_type for c in roi.contours] == ["CLOSED_PLANAR"] * 2
    assert [len(c.points) for c in roi.contours] == [4, 8]
    assert rs.referenced_series_instance_uids == (grid.series_instance_uid,)
    assert set(rs.referenced_sop_instance_uids) == set(grid.sop_instance_uids)
    assert all(c.referenced_sop_instance_uids == (grid.sop_instance_uids[0],) for c in roi.contours)


def test_rt_utils_contours_rasterise_with_the_hole(mock):
    folder, grid = mock
    rs = read_rtstruct(folder / "rt.dcm")
    mask = rasterise_rtstruct(rs, grid)["ROI-1"]
    assert mask.shape == grid.shape and mask.dtype == bool
    assert mask[0].any() and not mask[1].any()  # both contours lie at z = 60 mm: slice 0
    outer, inner = (c.points[:, :2] for c in rs.rois[0].contours)
    (a_out, c_out), (a_in, c_in) = shoelace(outer), shoelace(inner)
    expected_area = a_out - a_in  # the inner contour is a hole (even-odd)
    pixel_area = grid.spacing[1] * grid.spacing[2]
    assert mask.sum() * pixel_area == pytest.approx(expected_area, rel=0.05)
    expected_centroid = (a_out * c_out - a_in * c_in) / expected_area
    ij = np.argwhere(mask[0]).mean(axis=0)
    centroid = grid.to_patient([[0, *ij]])[0, :2]
    assert np.linalg.norm(centroid - expected_centroid) < 0.5  # mm
    # Patient (x, y) -> voxel: inside the ring, inside the hole, outside.
    for (x, y), inside in [
        ((-49.0, -49.0), True),
        ((-39.5, -39.5), False),
        ((-20.0, -20.0), False),
    ]:
        k, i, j = np.rint(grid.to_index([[x, y, 60.0]])[0]).astype(int)
        assert (k, bool(mask[k, i, j])) == (0, inside)


@pytest.mark.parametrize("name", ["non_existent_reference_rt.dcm", "invalid_reference_rt.dcm"])
def test_broken_references_name_the_missing_image(mock, name):
    folder, grid = mock
    rs = read_rtstruct(folder / name)
    assert rs.roi_names == ["ROI-1", "ROI-2", "ROI-3", "ROI-4"]
    with pytest.raises(DataValidationError) as excinfo:
        rasterise_rtstruct(rs, grid)
    (p,) = excinfo.value.problems
    assert p.source.endswith(name) and p.column == "ReferencedSOPInstanceUID"
    assert MISSING_IMAGE in p.message and "ROI-4" in p.message
    # By position alone the z = 70 mm contours still lie beyond the two slices.
    with pytest.raises(DataValidationError) as excinfo:
        rasterise_rtstruct(rs, grid, check_references=False)
    assert excinfo.value.problems[0].column == "ContourData"
    assert "0 to 5.000 mm" in str(excinfo.value)


def test_broken_references_rasterise_where_the_images_exist(mock):
    folder, grid = mock
    rs = read_rtstruct(folder / "invalid_reference_rt.dcm")
    # Restricted to the two slices that exist, the contours fill the right slices.
    kept = [
        type(roi)(
            roi.number,
            roi.name,
            roi.frame_of_reference_uid,
            roi.generation_algorithm,
            roi.interpreted_type,
            tuple(c for c in roi.contours if MISSING_IMAGE not in c.referenced_sop_instance_uids),
        )
        for roi in rs.rois
    ]
    masks = rasterise_rtstruct(type(rs)(**{**rs.__dict__, "rois": tuple(kept)}), grid)
    for roi in kept:
        mask = masks[roi.name]
        for contour in roi.contours:
            k = grid.sop_instance_uids.index(contour.referenced_sop_instance_uids[0])
            area, _ = shoelace(contour.points[:, :2])
            assert mask[k].sum() * grid.spacing[1] * grid.spacing[2] == pytest.approx(area, rel=0.1)


def test_pydicom_structure_set_without_file_meta(recwarn):
    rs = read_rtstruct(get_testdata_file("rtstruct.dcm"))
    assert rs.structure_set_label == "sep30"
    assert [(r.number, r.name, r.interpreted_type) for r in rs.rois] == [
        (1, "patient", "EXTERNAL"),
        (2, "Isocenter 1", "ISOCENTER"),
        (3, "Isocenter 2", "ISOCENTER"),
    ]
    assert [r.has_area for r in rs.rois] == [True, False, False]
    # 10 mm voxels whose centres straddle the 400 x 300 mm body outline at z = -200..-180.
    grid = ImageGrid.axial((4, 40, 50), spacing=(10.0, 10.0, 10.0), origin=(-245.0, -195.0, -200.0))
    masks = rasterise_rtstruct(rs, grid)
    assert list(masks) == ["patient"]  # isocentres (POINT) have no area
    assert masks["patient"].sum(axis=(1, 2)).tolist() == [1200, 1200, 1200, 0]


def test_roi_selection_and_unknown_names(mock):
    folder, grid = mock
    rs = read_rtstruct(folder / "rt.dcm")
    assert list(rasterise_rtstruct(rs, grid, roi_names=["ROI-1"])) == ["ROI-1"]
    with pytest.raises(DataValidationError, match=r"no ROI is named \['Parotid_L'\]"):
        rasterise_rtstruct(rs, grid, roi_names=["Parotid_L"])
    with pytest.raises(ValueError, match="tolerance_mm"):
        rasterise_rtstruct(rs, grid, tolerance_mm=-1)


def test_not_a_structure_set(dicom_data, tmp_path):
    with pytest.raises(DataValidationError) as excinfo:
        read_rtstruct(dicom_data / "rt-utils" / "mock_data" / "ct_1.dcm")
    assert excinfo.value.problems[0].column == "SOPClassUID"
    assert "CT Image Storage" in str(excinfo.value)
    with pytest.raises(DataValidationError, match="not a DICOM object"):
        read_rtstruct(dicom_data / "rt-utils" / "oriented_data" / "info.txt")
