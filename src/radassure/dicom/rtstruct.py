"""RT Structure Set (RTSTRUCT): its ROIs and contours, read as the file says them.

Named in DICOM's terms (StructureSetROISequence, ROIContourSequence,
ContourSequence, RTROIObservationsSequence); :mod:`radassure.dicom.rasterise`
turns the contours into masks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pydicom.dataset import Dataset

from radassure.dicom._common import PathLike, problem, read_dataset, tolerant_values

__all__ = ["AREA_TYPES", "Contour", "RTStruct", "StructureSetROI", "read_rtstruct"]

RT_STRUCTURE_SET_STORAGE = "1.2.840.10008.5.1.4.1.1.481.3"
#: ContourGeometricType values that enclose an area (the second is DICOM 2023's XOR form).
AREA_TYPES = frozenset({"CLOSED_PLANAR", "CLOSEDPLANAR_XOR"})


@dataclass(frozen=True, eq=False)
class Contour:
    """One item of a ContourSequence.

    Attributes
    ----------
    geometric_type : str
        ContourGeometricType (``"CLOSED_PLANAR"``, ``"POINT"``, ``"OPEN_PLANAR"`` ...).
    points : ndarray of shape (n, 3)
        ContourData as patient positions ``(x, y, z)`` in mm.
    referenced_sop_instance_uids : tuple of str
        ReferencedSOPInstanceUID of each ContourImageSequence item (often one).

    """

    geometric_type: str
    points: NDArray[np.float64]
    referenced_sop_instance_uids: tuple[str, ...] = ()


@dataclass(frozen=True)
class StructureSetROI:
    """One ROI: its StructureSetROISequence item with its contours and observation.

    Attributes
    ----------
    number : int
        ROINumber.
    name : str
        ROIName as written in the file (see :func:`normalise_structure_name`).
    frame_of_reference_uid : str or None
        ReferencedFrameOfReferenceUID.
    generation_algorithm : str or None
        ROIGenerationAlgorithm (``"AUTOMATIC"``, ``"SEMIAUTOMATIC"``, ``"MANUAL"``).
    interpreted_type : str or None
        RTROIInterpretedType from RTROIObservationsSequence (``"ORGAN"``, ``"PTV"`` ...).
    contours : tuple of Contour
        The ROI's ContourSequence (empty for an ROI defined but never drawn).

    """

    number: int
    name: str
    frame_of_reference_uid: str | None
    generation_algorithm: str | None
    interpreted_type: str | None
    contours: tuple[Contour, ...]

    @property
    def has_area(self) -> bool:
        """True when the ROI can be rasterised: closed contours, or no contour at all."""
        return not self.contours or any(c.geometric_type in AREA_TYPES for c in self.contours)


@dataclass(frozen=True)
class RTStruct:
    """What :func:`read_rtstruct` found in an RT Structure Set.

    Attributes
    ----------
    source : str
        The file it was read from.
    sop_instance_uid, structure_set_label : str or None
        SOPInstanceUID and StructureSetLabel.
    frame_of_reference_uids : tuple of str
        FrameOfReferenceUID of each ReferencedFrameOfReferenceSequence item.
    referenced_series_instance_uids : tuple of str
        SeriesInstanceUID of each RTReferencedSeriesSequence item.
    referenced_sop_instance_uids : tuple of str
        The images those items list (their ContourImageSequence).
    rois : tuple of StructureSetROI
        In StructureSetROISequence order.

    """

    source: str
    sop_instance_uid: str | None
    structure_set_label: str | None
    frame_of_reference_uids: tuple[str, ...]
    referenced_series_instance_uids: tuple[str, ...]
    referenced_sop_instance_uids: tuple[str, ...]
    rois: tuple[StructureSetROI, ...]

    @property
    def roi_names(self) -> list[str]:
        """ROIName of every ROI, in file order."""
        return [roi.name for roi in self.rois]


def _text(item: Dataset, keyword: str) -> str | None:
    value = item.get(keyword)
    return str(value) if value not in (None, "") else None


def _contour(item: Dataset, source: str, roi: int) -> Contour:
    kind = str(item.get("ContourGeometricType", "")).upper()
    data: Any = item.get("ContourData") or []
    try:
        values = np.asarray([float(v) for v in data], dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise problem(source, "ContourData", f"ROI {roi} has non-numeric ContourData.") from exc
    if values.size % 3 or not np.all(np.isfinite(values)):
        raise problem(
            source,
            "ContourData",
            f"ROI {roi} has ContourData of {values.size} values; it must hold finite "
            "(x, y, z) triplets.",
        )
    refs = tuple(
        str(ref.ReferencedSOPInstanceUID)
        for ref in item.get("ContourImageSequence", [])
        if "ReferencedSOPInstanceUID" in ref
    )
    return Contour(kind, values.reshape(-1, 3), refs)


def _references(ds: Dataset) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    frames: list[str] = []
    series: list[str] = []
    images: list[str] = []
    for frame in ds.get("ReferencedFrameOfReferenceSequence", []):
        if "FrameOfReferenceUID" in frame:
            frames.append(str(frame.FrameOfReferenceUID))
        for study in frame.get("RTReferencedStudySequence", []):
            for item in study.get("RTReferencedSeriesSequence", []):
                if "SeriesInstanceUID" in item:
                    series.append(str(item.SeriesInstanceUID))
                images.extend(
                    str(ref.ReferencedSOPInstanceUID)
                    for ref in item.get("ContourImageSequence", [])
                    if "ReferencedSOPInstanceUID" in ref
                )
    return tuple(frames), tuple(series), tuple(images)


def read_rtstruct(path: PathLike) -> RTStruct:
    """Read the ROIs and contours of an RT Structure Set file.

    Tolerant: a file without file meta header reads, optional attributes may be
    missing, and ROIs without contours are kept (an ROI defined but not drawn).

    Parameters
    ----------
    path : path
        The RTSTRUCT file.

    Returns
    -------
    RTStruct
        ROI numbers, names, observations and contours, plus the referenced frame
        of reference, series and image UIDs.

    Raises
    ------
    DataValidationError
        When the file is not DICOM, not an RT Structure Set, or its contours or
        ROI references are malformed; the message names the file and attribute.

    Examples
    --------
    >>> from pydicom.data import get_testdata_file
    >>> rs = read_rtstruct(get_testdata_file("rtstruct.dcm"))  # no file meta header
    >>> rs.roi_names
    ['patient', 'Isocenter 1', 'Isocenter 2']
    >>> [roi.has_area for roi in rs.rois]  # isocentres are POINT contours
    [True, False, False]

    """
    source = str(path)
    with tolerant_values():
        ds = read_dataset(path, stop_before_pixels=True)
        if str(ds.SOPClassUID) != RT_STRUCTURE_SET_STORAGE and ds.get("Modality") != "RTSTRUCT":
            raise problem(
                source,
                "SOPClassUID",
                f"the file is a {ds.SOPClassUID.name} (Modality {ds.get('Modality')}), "
                "not an RT Structure Set.",
            )
        contours: dict[int, tuple[Contour, ...]] = {}
        for item in ds.get("ROIContourSequence", []):
            if "ReferencedROINumber" not in item:
                raise problem(
                    source, "ReferencedROINumber", "an ROIContourSequence item names no ROI."
                )
            number = int(item.ReferencedROINumber)
            contours[number] = tuple(
                _contour(c, source, number) for c in item.get("ContourSequence", [])
            )
        kinds = {
            int(obs.ReferencedROINumber): _text(obs, "RTROIInterpretedType")
            for obs in ds.get("RTROIObservationsSequence", [])
            if "ReferencedROINumber" in obs
        }
        rois = []
        for item in ds.get("StructureSetROISequence", []):
            number = int(item.ROINumber)
            rois.append(
                StructureSetROI(
                    number=number,
                    name=str(item.get("ROIName", "") or ""),
                    frame_of_reference_uid=_text(item, "ReferencedFrameOfReferenceUID"),
                    generation_algorithm=_text(item, "ROIGenerationAlgorithm"),
                    interpreted_type=kinds.get(number),
                    contours=contours.pop(number, ()),
                )
            )
        if contours:
            raise problem(
                source,
                "ReferencedROINumber",
                f"ROIContourSequence refers to ROI number(s) {sorted(contours)} that "
                "StructureSetROISequence does not define.",
            )
        frames, series, images = _references(ds)
        return RTStruct(
            source=source,
            sop_instance_uid=_text(ds, "SOPInstanceUID"),
            structure_set_label=_text(ds, "StructureSetLabel"),
            frame_of_reference_uids=frames,
            referenced_series_instance_uids=series,
            referenced_sop_instance_uids=images,
            rois=tuple(rois),
        )
