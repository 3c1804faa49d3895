"""Rasterise RTSTRUCT contours onto the voxel grid of their image series.

Every contour point is mapped to the grid through ImagePositionPatient,
ImageOrientationPatient and PixelSpacing (see :class:`~radassure.dicom.ImageGrid`),
each CLOSED_PLANAR contour is assigned to the slice it lies on by its position
along the slice normal, and the contours of one ROI on one slice are filled
together with the even-odd rule, so inner contours are holes and separate
contours are islands.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from numpy.typing import NDArray

from radassure.dicom._common import problem
from radassure.dicom._scan import fill_polygons
from radassure.dicom.grid import ImageGrid
from radassure.dicom.rtstruct import AREA_TYPES, RTStruct, StructureSetROI
from radassure.errors import DataValidationError, InputProblem

__all__ = ["rasterise_rtstruct"]

_MAX_PROBLEMS = 20


def _check_references(rtstruct: RTStruct, grid: ImageGrid, rois: list[StructureSetROI]) -> None:
    """Refuse contours that reference images the grid does not have."""
    problems: list[InputProblem] = []
    known = set(grid.sop_instance_uids)
    missing: dict[str, list[str]] = {}
    for roi in rois:
        for contour in roi.contours:
            for uid in contour.referenced_sop_instance_uids:
                if uid not in known:
                    missing.setdefault(uid, []).append(roi.name)
    for uid, names in missing.items():
        problems.append(
            InputProblem(
                rtstruct.source,
                None,
                "ReferencedSOPInstanceUID",
                f"contours of ROI {', '.join(sorted(set(names)))} reference the image {uid}, "
                "which is not in the image series given. Load the series the structure set "
                "was drawn on, or pass check_references=False to rasterise by position alone.",
            )
        )
    series = rtstruct.referenced_series_instance_uids
    if grid.series_instance_uid and series and grid.series_instance_uid not in series:
        problems.append(
            InputProblem(
                rtstruct.source,
                None,
                "SeriesInstanceUID",
                f"the structure set references series {', '.join(series)}, not the series "
                f"given ({grid.series_instance_uid}). Load the series it was drawn on.",
            )
        )
    has_links = any(c.referenced_sop_instance_uids for roi in rois for c in roi.contours)
    frames = {roi.frame_of_reference_uid for roi in rois} | set(rtstruct.frame_of_reference_uids)
    frames.discard(None)
    # Image UIDs are the stronger link; the frame of reference decides only without them.
    if not has_links and grid.frame_of_reference_uid and frames - {grid.frame_of_reference_uid}:
        problems.append(
            InputProblem(
                rtstruct.source,
                None,
                "FrameOfReferenceUID",
                f"the structure set's frame of reference {sorted(map(str, frames))} is not the "
                f"image series' ({grid.frame_of_reference_uid}), so its coordinates do not "
                "apply to these images.",
            )
        )
    if problems:
        raise DataValidationError(problems[:_MAX_PROBLEMS], truncated=len(problems) > _MAX_PROBLEMS)


def _slice_polygons(
    rtstruct: RTStruct,
    roi: StructureSetROI,
    grid: ImageGrid,
    tolerance_mm: float,
    check_references: bool,
) -> dict[int, list[NDArray[np.float64]]]:
    by_slice: dict[int, list[NDArray[np.float64]]] = {}
    dz = grid.spacing[0]
    for contour in roi.contours:
        if contour.geometric_type not in AREA_TYPES or len(contour.points) < 3:
            continue
        index = grid.to_index(contour.points)
        k = int(np.rint(np.mean(index[:, 0])))
        off_plane = float(np.max(np.abs(index[:, 0] - k))) * dz
        if off_plane > tolerance_mm or not 0 <= k < grid.shape[0]:
            depth = float(np.mean(index[:, 0])) * dz
            raise problem(
                rtstruct.source,
                "ContourData",
                f"a contour of ROI '{roi.name}' lies {depth:.3f} mm along the slice normal "
                f"from the first slice (points up to {off_plane:.3f} mm off the nearest "
                f"slice plane), but the slices lie at 0 to {(grid.shape[0] - 1) * dz:.3f} mm "
                f"every {dz:.4g} mm within a tolerance of {tolerance_mm} mm. Rasterise onto "
                "the series the structure set was drawn on.",
            )
        if check_references and grid.sop_instance_uids and contour.referenced_sop_instance_uids:
            here = grid.sop_instance_uids[k]
            if here not in contour.referenced_sop_instance_uids:
                raise problem(
                    rtstruct.source,
                    "ReferencedSOPInstanceUID",
                    f"a contour of ROI '{roi.name}' references image "
                    f"{contour.referenced_sop_instance_uids[0]} but lies on slice {k} "
                    f"({here}); the structure set and the series disagree on geometry.",
                )
        by_slice.setdefault(k, []).append(index[:, 1:])
    return by_slice


def rasterise_rtstruct(
    rtstruct: RTStruct,
    grid: ImageGrid,
    *,
    roi_names: Iterable[str] | None = None,
    tolerance_mm: float = 0.5,
    check_references: bool = True,
) -> dict[str, NDArray[np.bool_]]:
    """Turn the closed contours of each ROI into a boolean mask on ``grid``.

    A voxel is inside when its centre is inside by the even-odd rule over all
    CLOSED_PLANAR contours of the ROI on its slice, so inner contours make
    holes. Each contour is assigned to the slice nearest its position along
    the slice normal; every point must lie within ``tolerance_mm`` of that
    slice plane. Oblique series are handled exactly (the contours are projected
    through the grid's direction cosines). ROIs with only POINT or OPEN
    contours (isocentres, markers) are left out; an ROI without any contour is
    returned as an empty mask.

    Parameters
    ----------
    rtstruct : RTStruct
        From :func:`read_rtstruct`.
    grid : ImageGrid
        The referenced image series, from :func:`load_image_series`.
    roi_names : iterable of str, optional
        Rasterise only these ROIs (by ROIName); default all with an area.
    tolerance_mm : float, default 0.5
        Largest distance of a contour point from its slice plane.
    check_references : bool, default True
        Refuse contours whose ReferencedSOPInstanceUID is not in ``grid`` (or
        lies on another slice), a referenced series that is not ``grid``'s, and,
        when contours reference no image, a different FrameOfReferenceUID.
        ``False`` rasterises by position alone (e.g. onto a resampled grid).

    Returns
    -------
    dict of str to ndarray of bool, shape ``grid.shape`` (z, y, x)
        One mask per ROIName, in file order.

    Raises
    ------
    DataValidationError
        Naming the file, attribute and missing UID for broken references,
        contours off the grid's slices, unknown or duplicated ROI names.

    Examples
    --------
    >>> import numpy as np
    >>> from radassure.dicom import Contour, ImageGrid, RTStruct, StructureSetROI
    >>> square = np.array([[-2.0, -2, 5], [2, -2, 5], [2, 2, 5], [-2, 2, 5]])
    >>> roi = StructureSetROI(1, "GTV", None, None, "GTV", (Contour("CLOSED_PLANAR", square),))
    >>> rs = RTStruct("rs.dcm", None, None, (), (), (), (roi,))
    >>> grid = ImageGrid.axial((3, 8, 8), spacing=(5.0, 1.0, 1.0), origin=(-3.5, -3.5, 0.0))
    >>> mask = rasterise_rtstruct(rs, grid)["GTV"]
    >>> mask.sum(axis=(1, 2)).tolist()  # 4 x 4 mm square on the slice at z = 5 mm
    [0, 16, 0]

    """
    if not (np.isfinite(tolerance_mm) and tolerance_mm >= 0):
        raise ValueError(f"tolerance_mm must be a finite number >= 0; got {tolerance_mm!r}.")
    rois = [roi for roi in rtstruct.rois if roi.has_area]
    if roi_names is not None:
        wanted = list(roi_names)
        unknown = sorted(set(wanted) - set(rtstruct.roi_names))
        if unknown:
            raise problem(
                rtstruct.source,
                "ROIName",
                f"no ROI is named {unknown}; the structure set has {rtstruct.roi_names}.",
            )
        rois = [roi for roi in rtstruct.rois if roi.name in set(wanted)]
    names = [roi.name for roi in rois]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise problem(
            rtstruct.source,
            "ROIName",
            f"several ROIs share the name(s) {duplicates}; rename them so each mask is "
            "identified unambiguously.",
        )
    if check_references:
        _check_references(rtstruct, grid, rois)
    out: dict[str, NDArray[np.bool_]] = {}
    for roi in rois:
        mask = np.zeros(grid.shape, dtype=bool)
        polygons = _slice_polygons(rtstruct, roi, grid, tolerance_mm, check_references)
        for k, polys in polygons.items():
            mask[k] = fill_polygons(polys, grid.shape[1:])
        out[roi.name] = mask
    return out
