"""load_image_series and ImageGrid on third-party and synthetic CT series."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file

from radassure.dicom import ImageGrid, load_image_series
from radassure.errors import DataValidationError


def problem_of(excinfo: pytest.ExceptionInfo[DataValidationError]):
    (p,) = excinfo.value.problems
    return p


def test_rt_utils_series_skips_non_images_and_sorts(dicom_data):
    folder = dicom_data / "rt-utils" / "mock_data"
    grid = load_image_series(folder)  # the folder also holds three RTSTRUCTs
    assert grid.shape == (2, 512, 512)
    assert grid.spacing == pytest.approx((5.0, 0.488281, 0.488281))
    assert grid.origin == pytest.approx((-125.0, -125.0, 60.0))
    assert grid.direction == ((0.0, 0.0, 1.0), (0.0, 1.0, 0.0), (1.0, 0.0, 0.0))
    assert not grid.is_oblique
    assert [p.rsplit("/", 1)[-1] for p in grid.files] == ["ct_1.dcm", "ct_2.dcm"]
    assert grid.sop_instance_uids[1].endswith(".985.89")
    assert grid.modality == "CT"
    # The same files given explicitly in the wrong order give the same grid.
    again = load_image_series([folder / "ct_2.dcm", folder / "ct_1.dcm"])
    assert again == grid


def test_files_must_all_be_image_slices(dicom_data):
    folder = dicom_data / "rt-utils" / "mock_data"
    with pytest.raises(DataValidationError) as excinfo:
        load_image_series([folder / "ct_1.dcm", folder / "rt.dcm"])
    p = problem_of(excinfo)
    assert p.source.endswith("rt.dcm") and p.column == "ImagePositionPatient"
    assert "RTSTRUCT" in p.message


def test_oblique_series_geometry_matches_every_file(dicom_data):
    folder = dicom_data / "rt-utils" / "oriented_data"
    grid = load_image_series(folder)  # info.txt in the folder is skipped
    assert grid.shape == (3, 50, 100)
    assert grid.is_oblique
    assert grid.spacing == pytest.approx((4.5, 3.5, 2.5), rel=1e-6)
    for k, path in enumerate(grid.files):
        ds = pydicom.dcmread(path)
        iop = np.asarray(ds.ImageOrientationPatient, float)
        assert grid.to_patient([[k, 0, 0]])[0] == pytest.approx(
            np.asarray(ds.ImagePositionPatient, float)
        )
        # One step along a row (column index j) moves PixelSpacing[1] along the row cosines.
        step = grid.to_patient([[k, 0, 1]])[0] - grid.to_patient([[k, 0, 0]])[0]
        assert step == pytest.approx(float(ds.PixelSpacing[1]) * iop[:3], abs=1e-5)
        step = grid.to_patient([[k, 1, 0]])[0] - grid.to_patient([[k, 0, 0]])[0]
        assert step == pytest.approx(float(ds.PixelSpacing[0]) * iop[3:], abs=1e-5)
    points = np.random.default_rng(0).uniform(0, 40, size=(20, 3))
    assert grid.to_index(grid.to_patient(points)) == pytest.approx(points)


@pytest.mark.parametrize(
    "path",
    [get_testdata_file("CT_small.dcm"), "highdicom/ct_image.dcm"],
)
def test_single_slice_takes_depth_from_slice_thickness(dicom_data, path):
    grid = load_image_series([path if path.startswith("/") else dicom_data / path])
    assert grid.shape == (1, 128, 128)
    assert grid.spacing[1:] == pytest.approx((0.661468, 0.661468))


@pytest.mark.parametrize(
    "orientation",
    [
        (1.0, 0.0, 0.0, 0.0, 1.0, 0.0),  # axial, head first
        (-1.0, 0.0, 0.0, 0.0, 1.0, 0.0),  # axial, normal towards the feet
        (1.0, 0.0, 0.0, 0.0, 0.0, -1.0),  # coronal
        (0.0, 1.0, 0.0, 0.0, 0.0, -1.0),  # sagittal
    ],
)
def test_slices_sorted_along_the_normal(tmp_path, ct_series, orientation):
    written = ct_series(
        tmp_path,
        shape=(5, 6, 7),
        spacing=(2.0, 0.5, 0.7),
        origin=(3, -4, 5),
        orientation=orientation,
    )
    grid = load_image_series(tmp_path)
    assert grid.sop_instance_uids == tuple(ds.SOPInstanceUID for ds in written)
    assert grid.shape == (5, 6, 7) and grid.spacing == pytest.approx((2.0, 0.5, 0.7))
    normal = np.cross(orientation[:3], orientation[3:])
    assert grid.direction[0] == pytest.approx(normal)
    assert np.linalg.det(np.asarray(grid.direction)) == pytest.approx(-1.0)  # (n, c, r) order


def test_several_series_need_a_choice(tmp_path, ct_series):
    a = ct_series(tmp_path / "a", shape=(3, 4, 4), spacing=(2.0, 1.0, 1.0))
    ct_series(tmp_path / "b", shape=(2, 4, 4), spacing=(2.0, 1.0, 1.0))
    with pytest.raises(DataValidationError) as excinfo:
        load_image_series(tmp_path)
    p = problem_of(excinfo)
    assert p.column == "SeriesInstanceUID" and "series_instance_uid=" in p.message
    assert "(3 slices)" in p.message and "(2 slices)" in p.message
    grid = load_image_series(tmp_path, series_instance_uid=a[0].SeriesInstanceUID)
    assert grid.shape == (3, 4, 4)


def test_missing_slice_is_named(tmp_path, ct_series):
    ct_series(
        tmp_path,
        shape=(0, 4, 4),
        spacing=(2.0, 1.0, 1.0),
        positions=[(0, 0, 0), (0, 0, 2), (0, 0, 6), (0, 0, 8)],
    )
    with pytest.raises(DataValidationError, match="a slice is missing") as excinfo:
        load_image_series(tmp_path)
    p = problem_of(excinfo)
    assert p.source.endswith("slice_002.dcm") and p.column == "ImagePositionPatient"


def test_duplicate_slice_is_named(tmp_path, ct_series):
    ct_series(tmp_path, shape=(0, 4, 4), spacing=(2.0, 1.0, 1.0), positions=[(0, 0, 0), (0, 0, 0)])
    with pytest.raises(DataValidationError, match="same position"):
        load_image_series(tmp_path)


def test_tilted_stack_is_refused(tmp_path, ct_series):
    positions = [(0, 0.0, 0), (0, 0.5, 2), (0, 1.0, 4)]  # shifted in-plane: gantry tilt
    ct_series(tmp_path, shape=(0, 4, 4), spacing=(2.0, 1.0, 1.0), positions=positions)
    with pytest.raises(DataValidationError, match="tilted gantry"):
        load_image_series(tmp_path)


@pytest.mark.parametrize(
    ("keyword", "value", "column"),
    [
        ("ImageOrientationPatient", [0, 1, 0, 0, 0, -1], "ImageOrientationPatient"),
        ("PixelSpacing", [0.8, 0.8], "PixelSpacing"),
        ("Rows", 5, "Rows"),
        ("ImageOrientationPatient", [1, 0, 0, 1, 0, 0], "ImageOrientationPatient"),
        ("PixelSpacing", [0, 1], "PixelSpacing"),
        ("NumberOfFrames", 3, "NumberOfFrames"),
    ],
)
def test_inconsistent_slice_is_named(tmp_path, ct_series, keyword, value, column):
    ct_series(tmp_path, shape=(3, 4, 4), spacing=(2.0, 1.0, 1.0))
    bad = tmp_path / "slice_001.dcm"
    ds = pydicom.dcmread(bad)
    setattr(ds, keyword, value)
    ds.save_as(bad)
    with pytest.raises(DataValidationError) as excinfo:
        load_image_series(tmp_path)
    p = problem_of(excinfo)
    assert p.column == column
    assert "slice_001.dcm" in str(excinfo.value)


def test_nothing_to_read(tmp_path):
    (tmp_path / "notes.txt").write_text("not DICOM")
    with pytest.raises(DataValidationError, match="no CT/MR image slice"):
        load_image_series(tmp_path)
    with pytest.raises(DataValidationError, match="not a DICOM object"):
        load_image_series([tmp_path / "notes.txt"])
    with pytest.raises(DataValidationError, match="does not exist"):
        load_image_series([tmp_path / "absent.dcm"])
    with pytest.raises(ValueError, match="No files were given"):
        load_image_series([])


def test_grid_validates_its_fields():
    with pytest.raises(ValueError, match="shape"):
        ImageGrid.axial((0, 2, 2), spacing=(1.0, 1.0, 1.0))
    with pytest.raises(ValueError, match="spacing"):
        ImageGrid.axial((1, 2, 2), spacing=(1.0, -1.0, 1.0))
    with pytest.raises(ValueError, match="orthonormal"):
        ImageGrid((1, 2, 2), (1.0, 1.0, 1.0), (0, 0, 0), ((1, 0, 0), (1, 0, 0), (0, 0, 1)))
    with pytest.raises(ValueError, match="one instance per slice"):
        ImageGrid.axial((2, 2, 2), spacing=(1.0, 1.0, 1.0)).__class__(
            (2, 2, 2), (1.0, 1.0, 1.0), (0.0, 0.0, 0.0), sop_instance_uids=("1.2",)
        )
