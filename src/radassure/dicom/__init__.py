"""DICOM in: image series geometry, RT structure sets, SEG and NIfTI masks, TG-263 names.

Read tolerant, named in DICOM's own terms. Every mask is a boolean array in
(z, y, x) order, z being the slice index along the slice normal, so it can go
straight into :func:`radassure.core.segmentation_metrics` with ``grid.spacing``.
Errors in a file raise :class:`~radassure.errors.DataValidationError` naming the
file and the DICOM attribute.
"""

from radassure.dicom.grid import ImageGrid, load_image_series
from radassure.dicom.names import (
    StructureName,
    load_name_mapping,
    normalise_structure_name,
    normalise_structure_names,
    tg263_names,
)
from radassure.dicom.nifti import read_nifti
from radassure.dicom.rasterise import rasterise_rtstruct
from radassure.dicom.rtstruct import Contour, RTStruct, StructureSetROI, read_rtstruct
from radassure.dicom.seg import SegmentMasks, read_seg

__all__ = [
    "Contour",
    "ImageGrid",
    "RTStruct",
    "SegmentMasks",
    "StructureName",
    "StructureSetROI",
    "load_image_series",
    "load_name_mapping",
    "normalise_structure_name",
    "normalise_structure_names",
    "rasterise_rtstruct",
    "read_nifti",
    "read_rtstruct",
    "read_seg",
    "tg263_names",
]
