"""Shared data and builders for the DICOM tests.

Third-party files come from ``shared/data/dicom`` beside the repository (in CI
the repository is cloned next to a copy of shared/). Synthetic series and
structure sets are written with pydicom into ``tmp_path`` from known geometry,
so the expected masks are exact.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

REPO = Path(__file__).resolve().parents[3]
CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
RT_STRUCTURE_SET_STORAGE = "1.2.840.10008.5.1.4.1.1.481.3"
AXIAL = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)


def shared_dicom() -> Path:
    """``shared/data/dicom``: beside the repository, or inside it as a fallback."""
    for candidate in (REPO / ".." / "shared", REPO / "shared"):
        folder = candidate.resolve() / "data" / "dicom"
        if folder.is_dir():
            return folder
    pytest.fail(f"shared/data/dicom was not found beside {REPO}; the DICOM tests need it.")


@pytest.fixture(scope="session")
def dicom_data() -> Path:
    return shared_dicom()


def _file_meta(sop_class: str, sop_instance: str) -> FileMetaDataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = sop_instance
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return meta


def _patient_study(ds: Dataset, study_uid: str) -> None:
    ds.PatientName = "Phantom^Disk"
    ds.PatientID = "PHANTOM1"
    ds.PatientBirthDate = ""
    ds.PatientSex = "O"
    ds.StudyInstanceUID = study_uid
    ds.StudyDate = "20240101"
    ds.StudyTime = "120000"
    ds.StudyID = "1"
    ds.AccessionNumber = ""
    ds.ReferringPhysicianName = ""
    ds.Manufacturer = "radassure tests"


def write_ct_series(
    folder: Path,
    *,
    shape: tuple[int, int, int],
    spacing: tuple[float, float, float],
    origin: Sequence[float] = (0.0, 0.0, 0.0),
    orientation: Sequence[float] = AXIAL,
    positions: Sequence[Sequence[float]] | None = None,
    series_uid: str | None = None,
    frame_uid: str | None = None,
) -> list[Dataset]:
    """Write single-frame CT slices (zero pixels) and return their datasets, in slice order.

    ``positions`` overrides the ImagePositionPatient of each slice (to build broken
    series); otherwise slice k lies at ``origin + k * spacing[0] * normal``. Files are
    written in reverse order so readers must sort them.
    """
    folder.mkdir(parents=True, exist_ok=True)
    row, col = np.asarray(orientation[:3], float), np.asarray(orientation[3:], float)
    normal = np.cross(row, col)
    study, series = generate_uid(), series_uid or generate_uid()
    frame = frame_uid or generate_uid()
    out = []
    n = shape[0] if positions is None else len(positions)
    for k in range(n):
        pos = (
            np.asarray(origin, float) + k * spacing[0] * normal
            if positions is None
            else np.asarray(positions[k], float)
        )
        uid = generate_uid()
        ds = Dataset()
        ds.file_meta = _file_meta(CT_IMAGE_STORAGE, uid)
        _patient_study(ds, study)
        ds.SOPClassUID = CT_IMAGE_STORAGE
        ds.SOPInstanceUID = uid
        ds.Modality = "CT"
        ds.SeriesInstanceUID = series
        ds.SeriesNumber = 1
        ds.InstanceNumber = k + 1
        ds.FrameOfReferenceUID = frame
        ds.PositionReferenceIndicator = ""
        ds.ImagePositionPatient = [f"{v:.6f}" for v in pos]
        ds.ImageOrientationPatient = [f"{v:.7f}" for v in orientation]
        ds.PixelSpacing = [f"{spacing[1]:g}", f"{spacing[2]:g}"]
        ds.SliceThickness = f"{spacing[0]:g}"
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.Rows, ds.Columns = shape[1], shape[2]
        ds.BitsAllocated = ds.BitsStored = 16
        ds.HighBit = 15
        ds.PixelRepresentation = 0
        ds.RescaleIntercept, ds.RescaleSlope = "-1024", "1"
        ds.PixelData = np.zeros(shape[1:], dtype=np.uint16).tobytes()
        out.append(ds)
    for k in reversed(range(n)):
        out[k].save_as(folder / f"slice_{k:03d}.dcm", enforce_file_format=True)
    return out


def write_rtstruct(
    path: Path,
    series: Sequence[Dataset],
    rois: dict[str, list[tuple[int, np.ndarray]]],
    *,
    reference_images: bool = True,
) -> Path:
    """Write an RTSTRUCT whose ROI ``name`` holds CLOSED_PLANAR contours.

    ``rois[name]`` lists ``(slice index, (n, 3) patient points)``; each contour
    references the image of its slice when ``reference_images``.
    """
    first = series[0]
    uid = generate_uid()
    ds = Dataset()
    ds.file_meta = _file_meta(RT_STRUCTURE_SET_STORAGE, uid)
    _patient_study(ds, first.StudyInstanceUID)
    ds.SOPClassUID = RT_STRUCTURE_SET_STORAGE
    ds.SOPInstanceUID = uid
    ds.Modality = "RTSTRUCT"
    ds.SeriesInstanceUID = generate_uid()
    ds.SeriesNumber = 2
    ds.InstanceNumber = 1
    ds.StructureSetLabel = "QA"
    ds.StructureSetDate, ds.StructureSetTime = "20240101", "120000"

    def image_ref(image: Dataset) -> Dataset:
        ref = Dataset()
        ref.ReferencedSOPClassUID = image.SOPClassUID
        ref.ReferencedSOPInstanceUID = image.SOPInstanceUID
        return ref

    series_item = Dataset()
    series_item.SeriesInstanceUID = first.SeriesInstanceUID
    series_item.ContourImageSequence = [image_ref(im) for im in series]
    study_item = Dataset()
    study_item.ReferencedSOPClassUID = "1.2.840.10008.3.1.2.3.1"
    study_item.ReferencedSOPInstanceUID = first.StudyInstanceUID
    study_item.RTReferencedSeriesSequence = [series_item]
    frame_item = Dataset()
    frame_item.FrameOfReferenceUID = first.get("FrameOfReferenceUID", generate_uid())
    frame_item.RTReferencedStudySequence = [study_item]
    ds.ReferencedFrameOfReferenceSequence = [frame_item]
    ds.StructureSetROISequence, ds.ROIContourSequence, ds.RTROIObservationsSequence = [], [], []
    for number, (name, contours) in enumerate(rois.items(), start=1):
        roi = Dataset()
        roi.ROINumber = number
        roi.ReferencedFrameOfReferenceUID = frame_item.FrameOfReferenceUID
        roi.ROIName = name
        roi.ROIGenerationAlgorithm = "AUTOMATIC"
        ds.StructureSetROISequence.append(roi)
        item = Dataset()
        item.ReferencedROINumber = number
        item.ROIDisplayColor = [255, 0, 0]
        item.ContourSequence = []
        for k, points in contours:
            contour = Dataset()
            if reference_images:
                contour.ContourImageSequence = [image_ref(series[k])]
            contour.ContourGeometricType = "CLOSED_PLANAR"
            contour.NumberOfContourPoints = len(points)
            contour.ContourData = [f"{v:.4f}" for v in np.asarray(points).ravel()]
            item.ContourSequence.append(contour)
        ds.ROIContourSequence.append(item)
        obs = Dataset()
        obs.ObservationNumber = number
        obs.ReferencedROINumber = number
        obs.RTROIInterpretedType = "ORGAN"
        obs.ROIInterpreter = ""
        ds.RTROIObservationsSequence.append(obs)
    ds.ApprovalStatus = "UNAPPROVED"
    ds.save_as(path, enforce_file_format=True)
    return path


@pytest.fixture
def ct_series() -> Callable[..., list[Dataset]]:
    return write_ct_series


@pytest.fixture
def rtstruct_writer() -> Callable[..., Path]:
    return write_rtstruct
