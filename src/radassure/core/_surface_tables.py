"""Lookup tables: surface-element area per 2x2x2 code, contour length per 2x2 code.

A binary mask is read on the grid of voxel *corners* (shifted by half a voxel):
every corner sees the 2x2x2 voxels around it (2x2 pixels in 2D), and the pattern
of inside/outside voxels is its *neighbourhood code*, an integer in 0..255
(0..15 in 2D). Bit ``i`` of a 3D code is the voxel at offset
``((i >> 2) & 1, (i >> 1) & 1, i & 1)`` along (axis 0, axis 1, axis 2); bit ``i``
of a 2D code the pixel at ``((i >> 1) & 1, i & 1)``.

The surface inside one neighbourhood is the marching-cubes surface through the
midpoints of the cube edges that join an inside and an outside voxel. This
module derives it from first principles rather than from a hand-typed table:

1. Make the inside set the minority: a code with more than four inside voxels is
   replaced by its complement (the same surface, seen from the other side).
2. On each of the six cube faces, join the crossing points in pairs: every run of
   consecutive inside corners around the face is cut off by one segment, so two
   diagonal inside corners are cut off separately (the classic table's choice).
3. Chain the segments through shared edge midpoints into closed loops (3 to 6
   vertices).
4. Split each loop into triangles, choosing among all triangulations of the
   loop one that uses the fewest distinct planes. Loops are triangles, planar
   quadrilaterals and hexagons, pentagons (one triangle on the three edges
   perpendicular to the L-shaped face plus one planar quadrilateral) or zig-zag
   hexagons (three planar pieces); every such choice gives the same areas at any
   spacing. This is the decomposition the marching-cubes table of Lorensen and
   Cline (as tabulated by Bourke and used by Nikolov et al. 2018) encodes; a
   minimum-area triangulation would not reproduce it (1.1217 instead of 1.1495
   for the L-shaped pentagon).

Each triangle is kept as its area vector ``n`` in voxel units. Scaling the grid
by the spacing ``(s0, s1, s2)`` maps it to ``(s1*s2*n0, s0*s2*n1, s0*s1*n2)``
(the cofactor rule), whose norm is the triangle's area in mm^2; the area of a
code is the sum over its triangles. In 2D each code has 0, 1 or 2 segments
(rule 2 on one square) with length ``|(d0*s0, d1*s1)|`` in mm.
"""

from __future__ import annotations

from functools import cache, lru_cache
from math import gcd

import numpy as np
from numpy.typing import NDArray

__all__ = ["contour_length_table", "surface_area_table"]

Point = tuple[float, float, float]
Edge = frozenset[int]


def _corner(index: int) -> tuple[int, int, int]:
    return ((index >> 2) & 1, (index >> 1) & 1, index & 1)


def _runs(inside: tuple[bool, ...]) -> list[tuple[int, int]]:
    """Pairs of crossing sides joined by one segment on a square face.

    Sides are numbered so that side ``j`` joins cycle corners ``j`` and ``j+1``.
    Each maximal run of inside corners is entered through one side and left
    through another; those two sides are joined.
    """
    pairs = []
    for start in range(4):
        if not inside[start] and inside[(start + 1) % 4]:
            end = (start + 1) % 4
            while inside[(end + 1) % 4]:
                end = (end + 1) % 4
            pairs.append((start, end))
    return pairs


def _face_cycles() -> list[list[int]]:
    """The six cube faces, each as its four corner indices in cyclic order."""
    faces = []
    for axis in range(3):
        a, b = (k for k in range(3) if k != axis)
        for value in (0, 1):
            cycle = []
            for pa, pb in ((0, 0), (0, 1), (1, 1), (1, 0)):
                offset = [0, 0, 0]
                offset[axis], offset[a], offset[b] = value, pa, pb
                cycle.append(4 * offset[0] + 2 * offset[1] + offset[2])
            faces.append(cycle)
    return faces


def _loops(inside: frozenset[int]) -> list[list[Point]]:
    """Closed surface loops (edge midpoints, in order) of one 2x2x2 configuration."""
    neighbours: dict[Edge, list[Edge]] = {}
    for cycle in _face_cycles():
        flags = tuple(c in inside for c in cycle)
        for s, e in _runs(flags):
            first = frozenset((cycle[s], cycle[(s + 1) % 4]))
            last = frozenset((cycle[e], cycle[(e + 1) % 4]))
            neighbours.setdefault(first, []).append(last)
            neighbours.setdefault(last, []).append(first)
    loops: list[list[Point]] = []
    seen: set[Edge] = set()
    for start in neighbours:
        if start in seen:
            continue
        chain, previous, current = [start], start, neighbours[start][0]
        seen.add(start)
        while current != start:
            chain.append(current)
            seen.add(current)
            a, b = neighbours[current]
            previous, current = current, (b if a == previous else a)
        loops.append([_midpoint(edge) for edge in chain])
    return loops


def _midpoint(edge: Edge) -> Point:
    p, q = (_corner(i) for i in edge)
    return ((p[0] + q[0]) / 2, (p[1] + q[1]) / 2, (p[2] + q[2]) / 2)


@cache
def _triangulations(lo: int, hi: int) -> tuple[tuple[tuple[int, int, int], ...], ...]:
    """Every triangulation of the convex polygon with vertices lo..hi."""
    if hi - lo < 2:
        return ((),)
    return tuple(
        (*left, *right, (lo, mid, hi))
        for mid in range(lo + 1, hi)
        for left in _triangulations(lo, mid)
        for right in _triangulations(mid, hi)
    )


def _area_vector(a: Point, b: Point, c: Point) -> Point:
    """Half the cross product (b - a) x (c - a): the triangle's area vector."""
    u = (b[0] - a[0], b[1] - a[1], b[2] - a[2])
    v = (c[0] - a[0], c[1] - a[1], c[2] - a[2])
    return (
        (u[1] * v[2] - u[2] * v[1]) / 2,
        (u[2] * v[0] - u[0] * v[2]) / 2,
        (u[0] * v[1] - u[1] * v[0]) / 2,
    )


def _plane(normal: Point, point: Point) -> tuple[int, int, int, float]:
    """A hashable, exact key of the plane through ``point`` with this normal.

    Vertices are multiples of 1/2, so area vectors are multiples of 1/8: scaled by 8
    they are integers, reduced here by their gcd and signed so the first non-zero
    component is positive.
    """
    ints = [round(8 * x) for x in normal]
    g = gcd(*ints)
    ints = [x // g for x in ints]
    if next(x for x in ints if x) < 0:
        ints = [-x for x in ints]
    return ints[0], ints[1], ints[2], sum(n * p for n, p in zip(ints, point, strict=True))


def _area_vectors(loop: list[Point]) -> list[Point]:
    """Area vectors of the triangulation of ``loop`` with the fewest planes."""
    best: list[Point] = []
    best_planes = len(loop)
    for tri in _triangulations(0, len(loop) - 1):
        vectors = [_area_vector(loop[a], loop[b], loop[c]) for a, b, c in tri]
        planes = {_plane(v, loop[a]) for (a, _, _), v in zip(tri, vectors, strict=True)}
        if len(planes) < best_planes:
            best, best_planes = vectors, len(planes)
    return best


@lru_cache(maxsize=1)
def _unit_triangles() -> tuple[NDArray[np.intp], NDArray[np.float64]]:
    """(code, area vector) of every surface triangle in voxel units, all 256 codes."""
    codes: list[int] = []
    vectors: list[Point] = []
    for code in range(256):
        inside = frozenset(i for i in range(8) if code >> i & 1)
        if len(inside) > 4:
            inside = frozenset(range(8)) - inside
        for loop in _loops(inside):
            for vector in _area_vectors(loop):
                codes.append(code)
                vectors.append(vector)
    return np.asarray(codes, dtype=np.intp), np.asarray(vectors, dtype=np.float64)


def surface_area_table(spacing: tuple[float, float, float]) -> NDArray[np.float64]:
    """Surface-element area in mm^2 of each of the 256 neighbourhood codes.

    Parameters
    ----------
    spacing : tuple of 3 floats
        Voxel size in mm along axes 0, 1 and 2.

    Returns
    -------
    ndarray of shape (256,)
        Area of the surface within one 2x2x2 neighbourhood; 0 for codes 0 and 255.

    Examples
    --------
    >>> table = surface_area_table((1.0, 1.0, 1.0))
    >>> round(float(table[1]), 4), round(float(table[3]), 4), float(table[15])
    (0.2165, 0.7071, 1.0)

    """
    s0, s1, s2 = spacing
    codes, vectors = _unit_triangles()
    scaled = vectors * np.array([s1 * s2, s0 * s2, s0 * s1])
    areas = np.bincount(codes, weights=np.linalg.norm(scaled, axis=1), minlength=256)
    return areas.astype(np.float64)


def contour_length_table(spacing: tuple[float, float]) -> NDArray[np.float64]:
    """Contour-element length in mm of each of the 16 2x2 neighbourhood codes.

    Parameters
    ----------
    spacing : tuple of 2 floats
        Pixel size in mm along axes 0 and 1 of the slice.

    Returns
    -------
    ndarray of shape (16,)
        Length of the marching-squares contour within one 2x2 neighbourhood.

    Examples
    --------
    >>> [round(float(v), 4) for v in contour_length_table((1.0, 2.0))[[1, 3, 5, 6]]]
    [1.118, 2.0, 1.0, 2.2361]

    """
    s0, s1 = spacing
    square = [(0, 0), (0, 1), (1, 1), (1, 0)]
    table = np.zeros(16)
    for code in range(16):
        flags = tuple(bool(code >> (2 * p + q) & 1) for p, q in square)
        for s, e in _runs(flags):
            ends = [np.add(square[j], square[(j + 1) % 4]) / 2.0 for j in (s, e)]
            d0, d1 = ends[1] - ends[0]
            table[code] += float(np.hypot(d0 * s0, d1 * s1))
    return table
