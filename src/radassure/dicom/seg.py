"""DICOM Segmentation (SEG) objects: one boolean mask per segment, through highdicom."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from radassure.dicom._common import PathLike, problem, read_dataset, tolerant_values
from radassure.dicom.grid import ImageGrid

__all__ = ["SegmentMasks", "read_seg"]

SEGMENTATION_STORAGE = "1.2.840.10008.5.1.4.1.1.66.4"


class SegmentMasks(dict[str, NDArray[np.bool_]]):
    """Masks keyed by SegmentLabel, with the grid they lie on (``.grid``).

    A plain ``dict`` in every other respect; each mask is boolean, (z, y, x).
    """

    def __init__(self, masks: dict[str, NDArray[np.bool_]], grid: ImageGrid) -> None:
        super().__init__(masks)
        self.grid = grid


def _has_positions(seg: Any) -> bool:
    shared = seg.get("SharedFunctionalGroupsSequence") or [{}]
    if "PlanePositionSequence" in shared[0]:
        return True
    frames = seg.get("PerFrameFunctionalGroupsSequence") or []
    return bool(frames) and all("PlanePositionSequence" in fg for fg in frames)


def _grid(volume: Any, seg: Any) -> tuple[ImageGrid, bool]:
    """The SEG volume's ImageGrid, and whether axis 0 had to be reversed."""
    affine = np.asarray(volume.affine, dtype=np.float64)
    axes = affine[:3, :3].T  # row k: patient vector of one step along axis k
    spacing = np.linalg.norm(axes, axis=1)
    unit = axes / spacing[:, None]
    normal = np.cross(unit[2], unit[1])  # row cosines x column cosines
    origin = affine[:3, 3]
    flip = bool(unit[0] @ normal < 0)
    if flip:  # radassure's axis 0 runs along the slice normal, as the files are sorted
        origin = origin + (volume.spatial_shape[0] - 1) * axes[0]
        unit[0] = -unit[0]

    def vec(v: NDArray[np.float64]) -> tuple[float, float, float]:
        return float(v[0]) + 0.0, float(v[1]) + 0.0, float(v[2]) + 0.0  # no -0.0

    grid = ImageGrid(
        shape=tuple(int(n) for n in volume.spatial_shape),  # type: ignore[arg-type]
        spacing=(float(spacing[0]), float(spacing[1]), float(spacing[2])),
        origin=vec(origin),
        direction=(vec(unit[0]), vec(unit[1]), vec(unit[2])),
        frame_of_reference_uid=str(seg.FrameOfReferenceUID)
        if "FrameOfReferenceUID" in seg
        else None,
        modality="SEG",
    )
    return grid, flip


def read_seg(path: PathLike, *, threshold: float = 0.5) -> SegmentMasks:
    """Read every segment of a DICOM SEG as a boolean mask on the SEG's own grid.

    Binary and fractional SEGs are read through highdicom; segments may overlap
    (each has its own mask). Frames are placed on a regular grid by their
    PlanePositionSequence, so a SEG whose frames cover only some slices gives
    empty slices in between, exactly where the source series has them.

    Parameters
    ----------
    path : path
        The SEG file.
    threshold : float, default 0.5
        For FRACTIONAL segmentations (PROBABILITY or OCCUPANCY), voxels whose
        value, rescaled to 0..1, is at least ``threshold`` are inside.

    Returns
    -------
    SegmentMasks
        ``{SegmentLabel: mask}`` in SegmentNumber order, masks (z, y, x) with
        axis 0 along the slice normal; ``.grid`` is their :class:`ImageGrid`.

    Raises
    ------
    DataValidationError
        If the file is not a SEG, its frames have no plane positions (a SEG of
        a projection radiograph) or do not form a regular grid, or two
        segments share a label.
    ValueError
        If ``threshold`` is not in (0, 1].

    Examples
    --------
    >>> from pydicom.data import get_testdata_file
    >>> masks = read_seg(get_testdata_file("liver_1frame.dcm"))
    >>> [(name, mask.shape, int(mask.sum())) for name, mask in masks.items()]
    [('Liver', (1, 512, 512), 36233)]
    >>> masks.grid.spacing
    (1.0, 0.810547, 0.810547)

    """
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must lie in (0, 1]; got {threshold!r}.")
    source = str(path)
    with tolerant_values():
        ds = read_dataset(path)
        if str(ds.SOPClassUID) != SEGMENTATION_STORAGE:
            raise problem(
                source,
                "SOPClassUID",
                f"the file is a {ds.SOPClassUID.name}, not a DICOM Segmentation (SEG).",
            )
        if not _has_positions(ds):
            raise problem(
                source,
                "PlanePositionSequence",
                "the segmentation's frames have no plane positions (it segments a projection "
                "image such as CR or DX), so it has no 3-D grid to compare contours on.",
            )
        import highdicom as hd  # imported here: only SEG readers pay for it

        try:
            seg = hd.seg.Segmentation.from_dataset(ds, copy=False)
            numbers = list(seg.get_segment_numbers())
            volume = seg.get_volume(
                combine_segments=False, segment_numbers=numbers, rescale_fractional=True
            )
        except Exception as exc:  # highdicom raises RuntimeError/ValueError for odd geometry
            raise problem(
                source,
                "PlanePositionSequence",
                f"the frames could not be placed on a regular 3-D grid ({exc}).",
            ) from exc
        labels = [str(seg.get_segment_description(n).SegmentLabel) for n in numbers]
        grid, flip = _grid(volume, seg)
    duplicates = sorted({label for label in labels if labels.count(label) > 1})
    if duplicates:
        raise problem(
            source,
            "SegmentLabel",
            f"several segments share the label(s) {duplicates}; each segment needs its own.",
        )
    array = np.asarray(volume.array)
    if flip:
        array = array[::-1]
    masks = {
        label: np.ascontiguousarray(array[..., c] >= threshold) for c, label in enumerate(labels)
    }
    return SegmentMasks(masks, grid)
