"""read_seg on highdicom's and pydicom's SEG files and on SEGs highdicom writes; read_nifti."""

from __future__ import annotations

import highdicom as hd
import nibabel as nib
import numpy as np
import pydicom
import pytest
from pydicom.sr.codedict import codes

from radassure.dicom import ImageGrid, load_image_series, read_nifti, read_seg
from radassure.errors import DataValidationError


def frames_by_position(path, segment=1):
    """Frames of one segment sorted by position along z, read with pydicom alone."""
    ds = pydicom.dcmread(path)
    frames = ds.pixel_array.reshape(-1, ds.Rows, ds.Columns)
    items = [
        (float(fg.PlanePositionSequence[0].ImagePositionPatient[2]), frames[n])
        for n, fg in enumerate(ds.PerFrameFunctionalGroupsSequence)
        if fg.SegmentIdentificationSequence[0].ReferencedSegmentNumber == segment
    ]
    return sorted(items, key=lambda item: item[0])


def test_binary_seg_on_its_own_grid(dicom_data):
    path = dicom_data / "highdicom" / "seg_image_ct_binary.dcm"
    masks = read_seg(path)
    assert list(masks) == ["first segment"]
    mask = masks["first segment"]
    assert mask.shape == (3, 16, 16) and mask.dtype == bool
    expected = frames_by_position(path)
    for k, (z, frame) in enumerate(expected):
        assert np.array_equal(mask[k], frame.astype(bool))
        assert masks.grid.to_patient([[k, 0, 0]])[0] == pytest.approx([-125.0, -128.100006, z])
    assert masks.grid.spacing == pytest.approx((1.25, 0.488281, 0.488281))
    assert masks.grid.modality == "SEG" and masks.grid.frame_of_reference_uid


def test_fractional_seg_thresholds_to_the_binary_one(dicom_data):
    binary = read_seg(dicom_data / "highdicom" / "seg_image_ct_binary.dcm")
    fractional = read_seg(dicom_data / "highdicom" / "seg_image_ct_binary_fractional.dcm")
    assert np.array_equal(fractional["first segment"], binary["first segment"])
    assert fractional.grid == binary.grid
    with pytest.raises(ValueError, match="threshold"):
        read_seg(dicom_data / "highdicom" / "seg_image_ct_binary_fractional.dcm", threshold=0)


def test_overlapping_segments_each_keep_their_voxels(dicom_data):
    path = dicom_data / "highdicom" / "seg_image_ct_binary_overlap.dcm"
    masks = read_seg(path)
    assert list(masks) == ["first segment", "second segment"]
    first, second = masks.values()
    assert (first & second).sum() == 16  # the second segment lies inside the first
    # Frames at z = -99.48 and 103.02..105.52 mm: one regular 1.25 mm grid, empty between.
    assert first.shape == (165, 16, 16)
    assert np.flatnonzero(first.any(axis=(1, 2))).tolist() == [0, 162, 163, 164]
    for segment, mask in ((1, first), (2, second)):
        filled = [k for k in range(165) if mask[k].any()]
        frames = frames_by_position(path, segment)
        for k, (z, frame) in zip(filled, frames, strict=True):
            assert np.array_equal(mask[k], frame.astype(bool))
            assert masks.grid.to_patient([[k, 0, 0]])[0, 2] == pytest.approx(z, abs=1e-3)


def test_projection_and_non_seg_files_are_refused(dicom_data):
    with pytest.raises(DataValidationError) as excinfo:
        read_seg(dicom_data / "highdicom" / "seg_image_cr_binary.dcm")
    assert excinfo.value.problems[0].column == "PlanePositionSequence"
    assert "projection image" in str(excinfo.value)
    with pytest.raises(DataValidationError, match="not a DICOM Segmentation") as excinfo:
        read_seg(dicom_data / "highdicom" / "ct_image.dcm")
    assert excinfo.value.problems[0].column == "SOPClassUID"


def _write_seg(path, series, mask, labels=("Parotid L",), *, omit_empty_frames=False):
    descriptions = [
        hd.seg.SegmentDescription(
            segment_number=n,
            segment_label=label,
            segmented_property_category=codes.SCT.Organ,
            segmented_property_type=codes.SCT.ParotidGland,
            algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
            algorithm_identification=hd.AlgorithmIdentificationSequence(
                name="radassure-test", version="1", family=codes.DCM.ArtificialIntelligence
            ),
        )
        for n, label in enumerate(labels, start=1)
    ]
    seg = hd.seg.Segmentation(
        source_images=series,
        pixel_array=mask.astype(np.uint8),
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=descriptions,
        series_instance_uid=hd.UID(),
        series_number=3,
        sop_instance_uid=hd.UID(),
        instance_number=1,
        manufacturer="radassure",
        manufacturer_model_name="tests",
        software_versions="1",
        device_serial_number="1",
        omit_empty_frames=omit_empty_frames,
    )
    seg.save_as(path)
    return path


@pytest.mark.parametrize(
    "orientation",
    [
        (1.0, 0, 0, 0, 1, 0),
        (-1.0, 0, 0, 0, 1, 0),
        (0.9541666, -0.2080757, 0.2151061, 0.2785886, 0.880128, -0.3843997),
    ],
)
def test_seg_written_by_highdicom_lies_on_the_source_series_grid(tmp_path, ct_series, orientation):
    series = ct_series(
        tmp_path / "ct",
        shape=(6, 20, 24),
        spacing=(2.5, 0.8, 0.9),
        origin=(-10, 5, 40),
        orientation=orientation,
    )
    grid = load_image_series(tmp_path / "ct")
    mask = np.zeros(grid.shape, dtype=bool)
    mask[1:4, 5:12, 3:9] = True
    mask[2, 0, 0] = True  # asymmetric, so any flip shows
    masks = read_seg(_write_seg(tmp_path / "seg.dcm", series, mask))
    assert np.array_equal(masks["Parotid L"], mask)
    assert masks.grid.shape == grid.shape
    assert np.allclose(masks.grid.affine, grid.affine, atol=1e-4)
    # With empty frames omitted the SEG's own grid starts at the first segmented slice.
    cropped = read_seg(_write_seg(tmp_path / "crop.dcm", series, mask, omit_empty_frames=True))
    assert np.array_equal(cropped["Parotid L"], mask[1:4])
    assert np.allclose(cropped.grid.origin, grid.to_patient([[1, 0, 0]])[0], atol=1e-4)


def test_duplicate_segment_labels_are_refused(tmp_path, ct_series):
    series = ct_series(tmp_path / "ct", shape=(2, 6, 6), spacing=(2.0, 1.0, 1.0))
    mask = np.zeros((2, 6, 6, 2), dtype=bool)
    mask[0, 1:3, 1:3, 0] = mask[1, 2:4, 2:4, 1] = True
    path = _write_seg(tmp_path / "seg.dcm", series, mask, labels=("Cord", "Cord"))
    with pytest.raises(DataValidationError, match=r"share the label\(s\) \['Cord'\]"):
        read_seg(path)


# ----------------------------------------------------------------------------- NIfTI


def _lps_to_ras_affine(grid: ImageGrid) -> np.ndarray:
    """The affine dcm2niix writes: NIfTI voxel (x, y, z) = radassure (j, i, k), world RAS+."""
    affine = np.eye(4)
    affine[:3, :3] = grid.affine[:3, [2, 1, 0]]
    affine[:3, 3] = grid.affine[:3, 3]
    return np.diag([-1.0, -1.0, 1.0, 1.0]) @ affine


def test_nifti_round_trip_matches_the_dicom_layout(tmp_path):
    rng = np.random.default_rng(2)
    mask = rng.random((5, 7, 9)) < 0.3
    grid = ImageGrid.axial(mask.shape, spacing=(2.5, 0.75, 0.5), origin=(-10.0, 20.0, 30.0))
    xyz = mask.transpose(2, 1, 0).astype(np.uint8)
    nib.save(nib.Nifti1Image(xyz, _lps_to_ras_affine(grid)), tmp_path / "dcm2niix.nii.gz")
    got, spacing = read_nifti(tmp_path / "dcm2niix.nii.gz")
    assert np.array_equal(got, mask) and spacing == (2.5, 0.75, 0.5)
    # The same voxels stored flipped to a positive (canonical RAS+) affine read the same.
    canonical = nib.as_closest_canonical(nib.load(tmp_path / "dcm2niix.nii.gz"))
    nib.save(canonical, tmp_path / "canonical.nii")
    assert np.allclose(np.diag(canonical.affine)[:3], [0.5, 0.75, 2.5])
    got, spacing = read_nifti(tmp_path / "canonical.nii")
    assert np.array_equal(got, mask) and spacing == (2.5, 0.75, 0.5)


def test_nifti_label_maps_and_shapes(tmp_path):
    labels = np.zeros((4, 5, 6), dtype=np.int16)
    labels[1, 1, 1], labels[2, 2, 2] = 1, 2
    nib.save(nib.Nifti1Image(labels, np.eye(4)), tmp_path / "labels.nii.gz")
    with pytest.raises(DataValidationError, match="Pass label= to select") as excinfo:
        read_nifti(tmp_path / "labels.nii.gz")
    assert "0, 1, 2" in str(excinfo.value)
    mask, _ = read_nifti(tmp_path / "labels.nii.gz", label=2)
    assert mask.sum() == 1 and mask.shape == (6, 5, 4)
    nib.save(nib.Nifti1Image(labels[..., None].clip(0, 1), np.eye(4)), tmp_path / "one.nii.gz")
    assert read_nifti(tmp_path / "one.nii.gz")[0].sum() == 2  # a 4-D file holding one volume
    nib.save(nib.Nifti1Image(np.stack([labels] * 2, -1), np.eye(4)), tmp_path / "two.nii.gz")
    with pytest.raises(DataValidationError, match="a 3-D mask is needed"):
        read_nifti(tmp_path / "two.nii.gz")
    (tmp_path / "bad.nii").write_text("not NIfTI")
    with pytest.raises(DataValidationError, match="could not be read as NIfTI"):
        read_nifti(tmp_path / "bad.nii")
