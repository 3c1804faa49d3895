"""Surface and contour distances between two binary masks (the computational core).

Everything here works on *padded crops*: both masks cut to the bounding box of
their union and surrounded by one layer of background voxels. Outside that box
both masks are background, so the crop loses nothing, and the padding closes a
structure that touches the edge of the volume exactly as the reference library
(Nikolov et al. 2018) does when it zero-pads its crop. The public wrapper is
:func:`radassure.core.segmentation_metrics`; definitions are in docs/metrics.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from radassure.core._surface_tables import contour_length_table, surface_area_table

__all__ = [
    "Directed",
    "added_path_length",
    "centroid",
    "nearest_distances",
    "padded_crops",
    "surface_distances",
    "voxel_distances",
    "weighted_percentile",
]

BoolArray = NDArray[np.bool_]
FloatArray = NDArray[np.float64]
Spacing = tuple[float, float, float]


@dataclass(frozen=True)
class Directed:
    """Distances from the surface elements of one mask to the other surface.

    ``distances`` are sorted ascending (ties by weight, as the reference library
    sorts (distance, area) pairs) and ``weights`` are the matching surfel areas
    in mm^2 (``method="surface"``) or 1 per boundary voxel (``method="voxel"``).
    """

    distances: FloatArray
    weights: FloatArray

    @classmethod
    def sorted(cls, distances: FloatArray, weights: FloatArray) -> Directed:
        """Sort by distance, then weight, and wrap."""
        order = np.lexsort((weights, distances))
        return cls(distances[order], weights[order])

    def weighted_sum(self) -> float:
        """Sum of distance times weight."""
        return float(np.sum(self.distances * self.weights))

    def mean(self) -> float:
        """Weighted mean distance."""
        return float(np.sum(self.distances * self.weights) / np.sum(self.weights))

    def within(self, tolerance: float) -> float:
        """Total weight of elements at distance <= tolerance."""
        return float(np.sum(self.weights[self.distances <= tolerance]))

    def total(self) -> float:
        """Total weight (surface area in mm^2, or boundary voxel count)."""
        return float(np.sum(self.weights))


def padded_crops(reference: BoolArray, prediction: BoolArray) -> tuple[BoolArray, BoolArray] | None:
    """Both masks cut to the bounding box of their union, padded by one voxel.

    Returns None when both masks are empty.
    """
    z_any = reference.any(axis=(1, 2)) | prediction.any(axis=(1, 2))
    if not z_any.any():
        return None
    z = np.flatnonzero(z_any)
    zs = slice(int(z[0]), int(z[-1]) + 1)
    ref_z, pred_z = reference[zs], prediction[zs]
    y = np.flatnonzero(ref_z.any(axis=(0, 2)) | pred_z.any(axis=(0, 2)))
    x = np.flatnonzero(ref_z.any(axis=(0, 1)) | pred_z.any(axis=(0, 1)))
    box = (zs, slice(int(y[0]), int(y[-1]) + 1), slice(int(x[0]), int(x[-1]) + 1))
    shape = tuple(s.stop - s.start + 2 for s in box)
    out = []
    for mask in (reference, prediction):
        padded = np.zeros(shape, dtype=bool)
        padded[1:-1, 1:-1, 1:-1] = mask[box]
        out.append(padded)
    return out[0], out[1]


def _codes(padded: BoolArray, ndim: int) -> NDArray[np.uint8]:
    """Neighbourhood code of every corner (3D) or of every in-slice corner (2D).

    For ``ndim == 2`` the code is taken within each slice along axis 0 and only
    the real slices (not the padding) are returned.
    """
    if ndim == 3:
        src, lead = padded, 0
    else:
        src, lead = padded[1:-1], 1
    out_shape = tuple(n - 1 if k >= lead else n for k, n in enumerate(src.shape))
    code = np.zeros(out_shape, dtype=np.uint8)
    bit = np.empty(out_shape, dtype=np.uint8)
    for i in range(2**ndim):
        offsets = [(i >> (ndim - 1 - k)) & 1 for k in range(ndim)]
        window = [slice(None)] * lead + [
            slice(o, o + n) for o, n in zip(offsets, out_shape[lead:], strict=True)
        ]
        np.left_shift(src[tuple(window)].view(np.uint8), i, out=bit)
        np.bitwise_or(code, bit, out=code)
    return code


def nearest_distances(features: BoolArray, at: BoolArray, spacing: tuple[float, ...]) -> FloatArray:
    """Distance in mm from every True of ``at`` to the nearest True of ``features``.

    Bitwise the values ``distance_transform_edt(~features, sampling=spacing)[at]``
    gives: the same feature transform and the same arithmetic, but distances are
    formed only at the points asked for, not over the whole grid. On a body-sized
    contour that more than halves the time and cuts peak memory about fourfold.
    ``features`` must hold at least one True.
    """
    nearest = ndimage.distance_transform_edt(
        ~features, sampling=spacing, return_distances=False, return_indices=True
    )
    points = np.nonzero(at)
    steps = np.empty((len(points), points[0].size), dtype=np.float64)
    for axis, index in enumerate(points):
        steps[axis] = nearest[axis][points] - index.astype(np.int32)
        steps[axis] *= spacing[axis]
    np.multiply(steps, steps, out=steps)
    return np.asarray(np.sqrt(np.add.reduce(steps, axis=0)), dtype=np.float64)


def _border(code: NDArray[np.uint8], full: int) -> BoolArray:
    return np.asarray((code != 0) & (code != full), dtype=bool)


def surface_distances(
    reference: BoolArray, prediction: BoolArray, spacing: Spacing
) -> tuple[Directed, Directed]:
    """Surfel distances reference->prediction and prediction->reference.

    Both padded crops must be non-empty. Each distance transform is computed once.
    """
    areas = surface_area_table(spacing)
    codes = [_codes(m, 3) for m in (reference, prediction)]
    borders = [_border(c, 255) for c in codes]
    ref_to_pred = Directed.sorted(
        nearest_distances(borders[1], borders[0], spacing), areas[codes[0][borders[0]]]
    )
    pred_to_ref = Directed.sorted(
        nearest_distances(borders[0], borders[1], spacing), areas[codes[1][borders[1]]]
    )
    return ref_to_pred, pred_to_ref


def voxel_distances(
    reference: BoolArray, prediction: BoolArray, spacing: Spacing
) -> tuple[Directed, Directed]:
    """Boundary-voxel-centre distances (the MONAI definition), both directions.

    A boundary voxel is a mask voxel removed by one binary erosion with the
    6-connected structuring element; every boundary voxel weighs 1.
    """
    edges = [m & ~ndimage.binary_erosion(m) for m in (reference, prediction)]
    ref_to_pred = nearest_distances(edges[1], edges[0], spacing)
    pred_to_ref = nearest_distances(edges[0], edges[1], spacing)
    return (
        Directed.sorted(ref_to_pred, np.ones_like(ref_to_pred)),
        Directed.sorted(pred_to_ref, np.ones_like(pred_to_ref)),
    )


def weighted_percentile(directed: Directed, percentile: float) -> float:
    """Area-weighted percentile by the reference library's rule.

    With distances sorted ascending and ``c_i`` the cumulative weight up to and
    including element ``i`` divided by the total weight, return the distance at
    the first ``i`` with ``c_i >= percentile / 100`` (the last one if rounding
    leaves every ``c_i`` below it).
    """
    cumulative = np.cumsum(directed.weights) / np.sum(directed.weights)
    index = int(np.searchsorted(cumulative, percentile / 100.0))
    return float(directed.distances[min(index, len(directed.distances) - 1)])


def added_path_length(
    reference: BoolArray, prediction: BoolArray, spacing: Spacing, tolerance: float
) -> float:
    """Reference contour length (mm) farther than ``tolerance`` from the prediction.

    Works slice by slice along axis 0 on the 2D marching-squares contours; a
    slice where the prediction has no contour counts its whole reference contour.
    """
    lengths = contour_length_table((spacing[1], spacing[2]))
    ref_code = _codes(reference, 2)
    ref_border = _border(ref_code, 15)
    pred_border = _border(_codes(prediction, 2), 15)
    total = 0.0
    for z in np.flatnonzero(ref_border.any(axis=(1, 2))):
        here = lengths[ref_code[z][ref_border[z]]]
        if pred_border[z].any():
            dist = nearest_distances(pred_border[z], ref_border[z], spacing[1:])
            here = here[dist > tolerance]
        total += float(np.sum(here))
    return total


def centroid(padded: BoolArray, spacing: Spacing) -> FloatArray:
    """Centre of mass of a non-empty mask in mm, in the crop's coordinates."""
    count = np.count_nonzero(padded)
    out = np.empty(3)
    for axis in range(3):
        others = tuple(k for k in range(3) if k != axis)
        profile = np.count_nonzero(padded, axis=others)
        out[axis] = spacing[axis] * float(profile @ np.arange(profile.size)) / count
    return out
