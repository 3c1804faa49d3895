"""Polygon scan conversion with the even-odd rule, in numpy.

A pixel belongs to the region when its *centre* lies inside under the even-odd
rule over all polygons given together: a ray from the centre towards +column
crosses the polygons' edges an odd number of times. So a contour inside
another is a hole, an island inside that hole is filled again, and separate
contours are separate islands. Edges are taken half-open along the row axis
(an edge covers rows ``lo <= i < hi``), so a vertex that lies exactly on a row
of centres is counted once where the boundary passes through it and twice (or
not at all) at a local extremum, which keeps the parity right. A centre exactly
on a left-facing edge is inside, on a right-facing edge outside, so two
polygons that share an edge tile the plane without overlap or gap.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

__all__ = ["fill_polygons"]


def _crossings(
    polygon: NDArray[np.float64], n_rows: int, n_cols: int
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Row index and first column at or right of each edge/row-centre crossing."""
    r0, c0 = polygon[:, 0], polygon[:, 1]
    r1, c1 = np.roll(r0, -1), np.roll(c0, -1)
    first = np.clip(np.ceil(np.minimum(r0, r1)), 0, n_rows).astype(np.int64)
    stop = np.clip(np.ceil(np.maximum(r0, r1)), 0, n_rows).astype(np.int64)
    counts = stop - first  # 0 for horizontal edges, so no division by zero below
    edge = np.repeat(np.arange(len(r0)), counts)
    starts = np.cumsum(counts) - counts
    rows = first[edge] + (np.arange(edge.size) - starts[edge])
    t = (rows - r0[edge]) / (r1[edge] - r0[edge])
    cols = c0[edge] + t * (c1[edge] - c0[edge])
    return rows, np.clip(np.ceil(cols), 0, n_cols).astype(np.int64)


def fill_polygons(
    polygons: Sequence[NDArray[np.float64]], shape: tuple[int, int]
) -> NDArray[np.bool_]:
    """Rasterise closed polygons given in continuous (row, column) pixel coordinates.

    Parameters
    ----------
    polygons : sequence of (n, 2) float arrays
        Vertices ``(row, column)``; each polygon is closed implicitly (the last
        vertex joins the first). Polygons with fewer than 3 vertices add nothing.
    shape : (rows, columns)
        Size of the output image.

    Returns
    -------
    ndarray of bool, shape ``shape``
        True where the pixel centre is inside by the even-odd rule.

    Examples
    --------
    >>> import numpy as np
    >>> square = np.array([[0.5, 0.5], [0.5, 3.5], [3.5, 3.5], [3.5, 0.5]])
    >>> hole = np.array([[1.5, 1.5], [1.5, 2.5], [2.5, 2.5], [2.5, 1.5]])
    >>> fill_polygons([square, hole], (5, 5)).astype(int)
    array([[0, 0, 0, 0, 0],
           [0, 1, 1, 1, 0],
           [0, 1, 0, 1, 0],
           [0, 1, 1, 1, 0],
           [0, 0, 0, 0, 0]])

    """
    n_rows, n_cols = shape
    rows_parts, cols_parts = [], []
    for polygon in polygons:
        poly = np.asarray(polygon, dtype=np.float64).reshape(-1, 2)
        if len(poly) >= 3:
            rows, cols = _crossings(poly, n_rows, n_cols)
            rows_parts.append(rows)
            cols_parts.append(cols)
    out = np.zeros(shape, dtype=bool)
    if not rows_parts or not sum(r.size for r in rows_parts):
        return out
    rows, cols = np.concatenate(rows_parts), np.concatenate(cols_parts)
    lo, hi = int(rows.min()), int(rows.max()) + 1
    width = n_cols + 1
    toggles = np.bincount((rows - lo) * width + cols, minlength=(hi - lo) * width)
    parity = np.cumsum(toggles.reshape(hi - lo, width), axis=1)[:, :n_cols] & 1
    out[lo:hi] = parity.astype(bool)
    return out
