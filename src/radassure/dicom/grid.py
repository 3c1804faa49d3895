"""The voxel grid of an image series, and reading it from CT/MR slices.

A grid maps the voxel index ``(k, i, j)`` (slice, row, column; the (z, y, x)
order every radassure mask uses) to a point in the DICOM patient coordinate
system (LPS, mm)::

    p = origin + k * s_z * n + i * s_y * c + j * s_x * r

where ``r`` and ``c`` are the row and column direction cosines of
ImageOrientationPatient (``r`` runs along a row, i.e. with the column index j),
``n = r x c`` is the slice normal, ``(s_y, s_x)`` is PixelSpacing and ``s_z``
the distance between slice centres along ``n``. Slices are sorted by their
position along ``n``, so ``k`` always increases along the normal, whatever order
the files came in. Oblique orientations are handled by the same formula.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pydicom.dataset import Dataset

from radassure.dicom._common import PathLike, floats, problem, read_dataset, tolerant_values

__all__ = ["ImageGrid", "load_image_series"]

Vector = tuple[float, float, float]

_AXIAL: tuple[Vector, Vector, Vector] = ((0.0, 0.0, 1.0), (0.0, 1.0, 0.0), (1.0, 0.0, 0.0))
_GEOMETRY = ("ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing")


@dataclass(frozen=True)
class ImageGrid:
    """Geometry of a 3-D voxel grid in the DICOM patient coordinate system.

    Attributes
    ----------
    shape : tuple of 3 ints
        ``(slices, rows, columns)``, the (z, y, x) shape of masks on this grid.
    spacing : tuple of 3 floats
        Voxel size in mm along (z, y, x): slice spacing, then PixelSpacing
        (row spacing, column spacing).
    origin : tuple of 3 floats
        Patient position (mm) of the centre of voxel (0, 0, 0): the
        ImagePositionPatient of the first slice along the normal.
    direction : tuple of 3 unit vectors
        Patient-space directions of the axes (z, y, x): the slice normal, the
        column direction cosines, the row direction cosines.
    sop_instance_uids : tuple of str
        SOPInstanceUID of each slice, in slice order (empty when unknown).
    series_instance_uid, frame_of_reference_uid, modality : str or None
        The series' identifiers, where known.
    files : tuple of str
        The file of each slice, in slice order (empty when not read from files).

    Examples
    --------
    >>> grid = ImageGrid.axial((3, 4, 5), spacing=(2.5, 1.0, 0.5), origin=(-1.0, -2.0, 10.0))
    >>> grid.to_patient([[1, 2, 4]]).tolist()  # voxel (k, i, j) -> (x, y, z) in mm
    [[1.0, 0.0, 12.5]]
    >>> grid.to_index([[1.0, 0.0, 12.5]]).tolist()
    [[1.0, 2.0, 4.0]]

    """

    shape: tuple[int, int, int]
    spacing: tuple[float, float, float]
    origin: Vector
    direction: tuple[Vector, Vector, Vector] = _AXIAL
    sop_instance_uids: tuple[str, ...] = ()
    series_instance_uid: str | None = None
    frame_of_reference_uid: str | None = None
    modality: str | None = None
    files: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if len(self.shape) != 3 or min(self.shape) < 1:
            raise ValueError(f"shape must be 3 positive sizes (z, y, x); got {self.shape}.")
        if len(self.spacing) != 3 or not all(s > 0 and np.isfinite(s) for s in self.spacing):
            raise ValueError(f"spacing must be 3 positive sizes in mm; got {self.spacing}.")
        axes = np.asarray(self.direction, dtype=np.float64)
        if axes.shape != (3, 3) or not np.allclose(axes @ axes.T, np.eye(3), atol=1e-4):
            raise ValueError(
                f"direction must be three orthonormal unit vectors; got {self.direction}."
            )
        if self.sop_instance_uids and len(self.sop_instance_uids) != self.shape[0]:
            raise ValueError("sop_instance_uids must name one instance per slice.")

    @classmethod
    def axial(
        cls,
        shape: tuple[int, int, int],
        *,
        spacing: tuple[float, float, float],
        origin: Vector = (0.0, 0.0, 0.0),
    ) -> ImageGrid:
        """A grid of axial slices (ImageOrientationPatient ``[1, 0, 0, 0, 1, 0]``)."""
        return cls(tuple(shape), tuple(spacing), tuple(origin))  # type: ignore[arg-type]

    @property
    def affine(self) -> NDArray[np.float64]:
        """4x4 matrix mapping homogeneous voxel indices ``(k, i, j, 1)`` to ``(x, y, z, 1)``."""
        out = np.eye(4)
        out[:3, :3] = np.asarray(self.direction).T * np.asarray(self.spacing)
        out[:3, 3] = self.origin
        return out

    @property
    def is_oblique(self) -> bool:
        """True when the axes are not aligned with the patient axes."""
        return not np.allclose(np.abs(np.asarray(self.direction)).max(axis=1), 1.0, atol=1e-4)

    def to_patient(self, indices: ArrayLike) -> NDArray[np.float64]:
        """Map (N, 3) voxel indices ``(k, i, j)`` to patient positions ``(x, y, z)`` in mm."""
        idx = np.asarray(indices, dtype=np.float64).reshape(-1, 3)
        return np.asarray(idx @ self.affine[:3, :3].T + self.affine[:3, 3], dtype=np.float64)

    def to_index(self, points: ArrayLike) -> NDArray[np.float64]:
        """Map (N, 3) patient positions ``(x, y, z)`` in mm to continuous indices ``(k, i, j)``."""
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        rel = pts - np.asarray(self.origin)
        # direction is orthonormal, so projecting onto each axis inverts the affine.
        return np.asarray(
            (rel @ np.asarray(self.direction).T) / np.asarray(self.spacing), dtype=np.float64
        )


@dataclass(frozen=True)
class _Slice:
    path: str
    position: NDArray[np.float64]
    orientation: NDArray[np.float64]
    pixel_spacing: NDArray[np.float64]
    rows: int
    columns: int
    sop_instance_uid: str
    series_instance_uid: str
    frame_of_reference_uid: str | None
    modality: str | None
    thickness: float | None


def _image_slice(ds: Dataset, path: str) -> _Slice:
    frames = int(ds.get("NumberOfFrames") or 1)
    if frames > 1:
        raise problem(
            path,
            "NumberOfFrames",
            f"this is a multi-frame image ({frames} frames); load_image_series reads "
            "single-frame CT/MR slices. Convert it to single-frame images first.",
        )
    orientation = floats(ds, "ImageOrientationPatient", 6, path)
    row, col = orientation[:3], orientation[3:]
    if not (
        np.isclose(np.linalg.norm(row), 1, atol=1e-3)
        and np.isclose(np.linalg.norm(col), 1, atol=1e-3)
        and abs(float(row @ col)) < 1e-3
    ):
        raise problem(
            path,
            "ImageOrientationPatient",
            f"the row and column direction cosines {orientation.tolist()} are not two "
            "orthogonal unit vectors.",
        )
    spacing = floats(ds, "PixelSpacing", 2, path)
    if np.any(spacing <= 0):
        raise problem(path, "PixelSpacing", f"PixelSpacing must be positive; got {spacing}.")
    thickness = ds.get("SpacingBetweenSlices") or ds.get("SliceThickness")
    return _Slice(
        path=path,
        position=floats(ds, "ImagePositionPatient", 3, path),
        orientation=orientation,
        pixel_spacing=spacing,
        rows=int(ds.Rows),
        columns=int(ds.Columns),
        sop_instance_uid=str(ds.SOPInstanceUID),
        series_instance_uid=str(ds.get("SeriesInstanceUID", "")),
        frame_of_reference_uid=str(ds.FrameOfReferenceUID) if "FrameOfReferenceUID" in ds else None,
        modality=str(ds.Modality) if "Modality" in ds else None,
        thickness=float(thickness) if thickness else None,
    )


def _collect(folder_or_files: PathLike | Iterable[PathLike]) -> tuple[list[Path], bool]:
    if isinstance(folder_or_files, str | os.PathLike):
        root = Path(folder_or_files)
        if root.is_dir():
            return sorted(p for p in root.rglob("*") if p.is_file()), True
        return [root], False
    return [Path(p) for p in folder_or_files], False


def _read_slices(paths: Sequence[Path], scanning: bool) -> list[_Slice]:
    slices = []
    with tolerant_values():
        for path in paths:
            if scanning:
                # In a folder, skip what is not an image slice (RTSTRUCT, SEG, notes).
                try:
                    ds = read_dataset(path, stop_before_pixels=True)
                except Exception:
                    continue
                if any(k not in ds for k in _GEOMETRY):
                    continue
            else:
                ds = read_dataset(path, stop_before_pixels=True)
                for keyword in _GEOMETRY:
                    if keyword not in ds:
                        raise problem(
                            path,
                            keyword,
                            f"the file has no {keyword}, so it is not a slice of a CT/MR "
                            "series (its Modality is "
                            f"{ds.get('Modality', 'not given')}).",
                        )
            slices.append(_image_slice(ds, str(path)))
    return slices


def _check_same(slices: list[_Slice]) -> None:
    first = slices[0]
    for s in slices[1:]:
        if not np.allclose(s.orientation, first.orientation, atol=1e-4):
            raise problem(
                s.path,
                "ImageOrientationPatient",
                f"the orientation {s.orientation.tolist()} differs from "
                f"{first.orientation.tolist()} in {first.path}; one series has one orientation.",
            )
        if not np.allclose(s.pixel_spacing, first.pixel_spacing, rtol=1e-4):
            raise problem(
                s.path,
                "PixelSpacing",
                f"PixelSpacing {s.pixel_spacing.tolist()} differs from "
                f"{first.pixel_spacing.tolist()} in {first.path}.",
            )
        if (s.rows, s.columns) != (first.rows, first.columns):
            raise problem(
                s.path,
                "Rows",
                f"the image is {s.rows} x {s.columns} pixels but {first.path} is "
                f"{first.rows} x {first.columns}.",
            )


def _slice_spacing(slices: list[_Slice], normal: NDArray[np.float64]) -> float:
    depth = np.array([s.position @ normal for s in slices])
    if len(slices) == 1:
        if slices[0].thickness is None:
            raise problem(
                slices[0].path,
                "SliceThickness",
                "a single-slice series needs SliceThickness or SpacingBetweenSlices to give "
                "the voxel depth; neither is present.",
            )
        return slices[0].thickness
    gaps = np.diff(depth)
    for k in np.flatnonzero(gaps < 1e-3):
        raise problem(
            slices[k + 1].path,
            "ImagePositionPatient",
            f"the slice lies at the same position as {slices[k].path}; remove the duplicate "
            "or load one series at a time.",
        )
    typical = float(np.median(gaps))
    for k in np.flatnonzero(np.abs(gaps - typical) > max(1e-2 * typical, 1e-3)):
        raise problem(
            slices[k + 1].path,
            "ImagePositionPatient",
            f"the gap of {gaps[k]:.4g} mm to the previous slice ({slices[k].path}) differs "
            f"from the series' spacing of {typical:.4g} mm: a slice is missing or the "
            "spacing is irregular. Provide the complete series.",
        )
    spacing = float((depth[-1] - depth[0]) / (len(slices) - 1))
    for s in slices[1:]:
        offset = s.position - slices[0].position
        if np.linalg.norm(offset - (offset @ normal) * normal) > max(1e-2 * spacing, 1e-2):
            raise problem(
                s.path,
                "ImagePositionPatient",
                "the slice is shifted within its plane relative to the first slice (a tilted "
                "gantry or sheared stack); resample the series onto a rectilinear grid first.",
            )
    return spacing


def load_image_series(
    folder_or_files: PathLike | Iterable[PathLike], *, series_instance_uid: str | None = None
) -> ImageGrid:
    """Read the geometry of a CT or MR series from its single-frame slices.

    Parameters
    ----------
    folder_or_files : path or iterable of paths
        A folder (searched recursively; files that are not image slices, such as
        an RTSTRUCT or a README, are skipped) or the slice files themselves
        (each must be an image slice).
    series_instance_uid : str, optional
        Which series to read when the folder holds several.

    Returns
    -------
    ImageGrid
        Slices sorted along the slice normal; spacing (z, y, x) in mm; origin,
        direction cosines and the SOPInstanceUID of each slice. Pixel data is
        not read.

    Raises
    ------
    DataValidationError
        Naming the file and attribute, when no slice is found, the folder mixes
        series, or the slices disagree on orientation, PixelSpacing or size, or
        are duplicated, missing (irregular gaps) or shifted in-plane (tilt).

    Examples
    --------
    >>> from pydicom.data import get_testdata_file
    >>> grid = load_image_series([get_testdata_file("CT_small.dcm")])
    >>> grid.shape, grid.spacing, grid.modality
    ((1, 128, 128), (5.0, 0.661468, 0.661468), 'CT')

    """
    paths, scanning = _collect(folder_or_files)
    if not paths:
        raise ValueError("No files were given; pass a series folder or its slice files.")
    slices = _read_slices(paths, scanning)
    where = str(folder_or_files) if scanning else ", ".join(str(p) for p in paths[:3])
    if series_instance_uid is not None:
        slices = [s for s in slices if s.series_instance_uid == series_instance_uid]
    if not slices:
        wanted = f" of series {series_instance_uid}" if series_instance_uid else ""
        raise problem(where, None, f"no CT/MR image slice{wanted} was found.")
    series = sorted({s.series_instance_uid for s in slices})
    if len(series) > 1:
        counts = ", ".join(
            f"{uid} ({sum(s.series_instance_uid == uid for s in slices)} slices)" for uid in series
        )
        raise problem(
            where,
            "SeriesInstanceUID",
            f"the files hold {len(series)} series: {counts}. Pass series_instance_uid= to "
            "choose one.",
        )
    _check_same(slices)
    row = slices[0].orientation[:3] / np.linalg.norm(slices[0].orientation[:3])
    col = slices[0].orientation[3:] - (slices[0].orientation[3:] @ row) * row
    col /= np.linalg.norm(col)  # cosines are rounded in the file: make them orthonormal
    normal = np.cross(row, col)
    slices.sort(key=lambda s: float(s.position @ normal))
    dz = _slice_spacing(slices, normal)
    first = slices[0]

    def unit(v: NDArray[np.float64]) -> Vector:
        u = v / np.linalg.norm(v)
        return float(u[0]), float(u[1]), float(u[2])

    return ImageGrid(
        shape=(len(slices), first.rows, first.columns),
        spacing=(dz, float(first.pixel_spacing[0]), float(first.pixel_spacing[1])),
        origin=(float(first.position[0]), float(first.position[1]), float(first.position[2])),
        direction=(unit(normal), unit(col), unit(row)),
        sop_instance_uids=tuple(s.sop_instance_uid for s in slices),
        series_instance_uid=first.series_instance_uid or None,
        frame_of_reference_uid=first.frame_of_reference_uid,
        modality=first.modality,
        files=tuple(s.path for s in slices),
    )
