"""Score charts of the surveillance family: normal CUSUMs on reference-positive cases' scores.

A fall in sensitivity at a fixed operating threshold is a fall of the scores
that reference-positive cases receive. The misses chart sees only which side of
the threshold each positive fell; the score chart sees how far, so it carries
more information per positive case (for a binormal shift of 0.35 SD, 2.3 times
the Kullback-Leibler information of the miss/no-miss split at sensitivity
0.90) and detects the same drop in fewer days at the same false-alarm rate.

Each positive's score is mapped to the baseline positives' distribution and
then to the normal scale, ``y = -Phi^-1(F0(score))`` (winsorised at +/-3), so
``y`` is about N(0, 1) in control whatever the score's own scale, and rises when
positives score lower. A subgroup chart centres ``y`` on the group's own
baseline mean (shrunk towards 0 with ``prior_cases`` pseudo-cases). The chart is
the one-sided CUSUM ``S = max(0, S + (y - centre) / scale - k)`` with ``k`` half
the shift it is tuned to; the statistic is kept as an integer number of
``STEP`` units so that a saved state resumes bit for bit.

The in-control ARL at each threshold is computed by the Nystrom method on the
CUSUM's integral equation (Gauss-Legendre nodes), averaged as a hazard over the
uncertainty of the centre (normal, variance ``1 / (n + prior_cases)``), as the
Bernoulli charts average over the uncertainty of ``p0``.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import numpy.typing as npt
from scipy import special

__all__ = [
    "STEP",
    "WINSOR",
    "drop_values",
    "normal_cusum_arl_nystrom",
    "order_keys",
    "score_knots",
    "score_threshold_table",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: A score chart's statistic is an integer number of these units.
STEP = 0.001
#: Transformed values are clipped to [-WINSOR, WINSOR]: one wild score moves a chart a little.
WINSOR = 3.0
#: Baseline positives' scores are summarised by at most this many quantiles.
N_KNOTS = 199
_H_GRID = 0.25
_ARL_CAP = 1e12
_EDGES = np.array([0.0, 0.25, 0.5, 0.7, 0.82, 0.9, 0.95, 0.975, 0.99, 0.996, 0.999, 1.0])


def score_knots(scores: npt.ArrayLike) -> tuple[float, ...]:
    """Quantiles of the baseline positives' scores at probabilities ``(i + 0.5) / K``.

    With fewer than ``N_KNOTS`` scores the sorted scores themselves (their
    mid-rank empirical distribution).

    Examples
    --------
    >>> score_knots([0.9, 0.1, 0.5])
    (0.1, 0.5, 0.9)

    """
    arr = np.sort(np.asarray(scores, dtype=np.float64))
    arr = arr[np.isfinite(arr)]
    if arr.size <= N_KNOTS:
        return tuple(float(v) for v in arr)
    probs = (np.arange(N_KNOTS) + 0.5) / N_KNOTS
    return tuple(float(v) for v in np.quantile(arr, probs))


@functools.lru_cache(maxsize=64)
def _knot_table(knots: tuple[float, ...]) -> tuple[FloatArray, FloatArray]:
    arr = np.asarray(knots, dtype=np.float64)
    probs = (np.arange(arr.size) + 0.5) / arr.size
    # Tied knots (scores with few distinct values) share their mean probability.
    unique, inverse = np.unique(arr, return_inverse=True)
    mean_p = np.bincount(inverse, weights=probs) / np.bincount(inverse)
    return unique, mean_p


def drop_values(scores: npt.ArrayLike, knots: tuple[float, ...]) -> FloatArray:
    """Map scores of positive cases to ``-Phi^-1(F0(score))``, clipped to +/-``WINSOR``.

    ``F0`` interpolates the knots linearly and is clamped at their ends. A
    higher value means a lower score than the baseline positives had.

    Examples
    --------
    >>> drop_values([0.5, 0.0, 1.0], (0.1, 0.5, 0.9)).round(3).tolist()
    [-0.0, 0.967, -0.967]

    """
    x = np.asarray(scores, dtype=np.float64)
    unique, mean_p = _knot_table(knots)
    if unique.size == 1:
        return np.zeros(x.shape)
    p = np.interp(x, unique, mean_p)
    out: FloatArray = np.clip(-special.ndtri(p), -WINSOR, WINSOR)
    return out


@functools.lru_cache(maxsize=256)
def _legendre(n: int) -> tuple[FloatArray, FloatArray]:
    x, w = np.polynomial.legendre.leggauss(n)
    return np.asarray(x, np.float64), np.asarray(w, np.float64)


def _nystrom(h: float, k: float, shifts: FloatArray, nodes: int) -> FloatArray:
    """ARLs from zero for several in-control shifts at once (one stacked solve)."""
    n = nodes or int(2.0 * h) + 16  # within 1e-8 of 300 nodes up to h = 25 (measured)
    x, w = _legendre(n)
    y = (x + 1.0) * h / 2.0
    wh = w * h / 2.0
    points = np.concatenate([[0.0], y])
    m = shifts.size
    a = np.empty((m, n + 1, n + 1))
    a[:, :, 0] = special.ndtr(k - points[None, :] - shifts[:, None])
    diff = y[None, None, :] - points[None, :, None] + k - shifts[:, None, None]
    a[:, :, 1:] = wh[None, None, :] * np.exp(-0.5 * diff * diff) / math.sqrt(2.0 * math.pi)
    eye = np.eye(n + 1)[None, :, :]
    arl = np.linalg.solve(eye - a, np.ones((m, n + 1, 1)))
    out: FloatArray = np.asarray(arl[:, 0, 0], dtype=np.float64)
    return out


def normal_cusum_arl_nystrom(h: float, k: float, shift: float = 0.0, nodes: int = 0) -> float:
    """ARL from zero of ``S = max(0, S + z - k)``, ``z ~ N(shift, 1)``, signal at ``S >= h``.

    Solves the integral equation ``L(x) = 1 + L(0) Phi(k - x - shift) +
    int_0^h L(y) phi(y - x + k - shift) dy`` at Gauss-Legendre nodes (Nystrom).

    Examples
    --------
    >>> arl0, arl1 = normal_cusum_arl_nystrom(4.0, 0.5), normal_cusum_arl_nystrom(4.0, 0.5, 1.0)
    >>> round(arl0, 1), round(arl1, 2)
    (335.4, 8.38)

    """
    return float(_nystrom(h, k, np.array([float(shift)]), nodes)[0])


def _log_grid(value: float, width: float = 0.025) -> float:
    return float(math.exp(round(math.log(value) / width) * width))


@functools.lru_cache(maxsize=100_000)
def _effective_log_arl(j: int, k: float, n_eff: float) -> float:
    """Log of 1 / mean false-alarm hazard at threshold ``j * _H_GRID`` over the centre's error."""
    h = j * _H_GRID
    mids = (_EDGES[:-1] + _EDGES[1:]) / 2.0
    # The centre's error e ~ N(0, 1 / n_eff) shifts every in-control value by e.
    errors = special.ndtri(mids) / math.sqrt(n_eff)
    weights = np.diff(_EDGES)
    arl = _nystrom(h, k, errors, 0)
    ok = np.isfinite(arl) & (arl > 0) & (arl < _ARL_CAP)
    logs = np.log(np.where(ok, arl, _ARL_CAP))
    return float(-special.logsumexp(-logs, b=weights))


def score_threshold_table(
    k: float, n_eff: float, log_lo: float, log_hi: float
) -> tuple[list[int], list[float]]:
    """Thresholds (in ``STEP`` units) whose effective log ARL0 brackets ``[log_lo, log_hi]``.

    Examples
    --------
    >>> states, logs = score_threshold_table(0.5, 1e6, math.log(300), math.log(400))
    >>> [round(s * STEP, 2) for s in states], [round(math.exp(v)) for v in logs]
    ([3.75, 4.0, 4.25], [259, 335, 434])

    """
    k = round(float(k), 4)
    n_eff = _log_grid(max(float(n_eff), 1.0))
    j = max(1, math.floor(log_lo / (2.0 * max(k, 0.05)) / _H_GRID) - 4)
    while j > 1 and _effective_log_arl(j, k, n_eff) > log_lo:
        j = max(1, j - 8)
    states: list[int] = []
    logs: list[float] = []
    while True:
        value = _effective_log_arl(j, k, n_eff)
        s = round(j * _H_GRID / STEP)
        if value <= log_lo:
            states, logs = [s], [value]
        else:
            states.append(s)
            logs.append(value)
        if value >= log_hi:
            return states, logs
        j += 1


def order_keys(day_seeds: npt.NDArray[np.uint64], values: IntArray) -> npt.NDArray[np.uint64]:
    """Sort keys that put a chart's cases of one day in a fixed pseudo-random order.

    The key hashes the day's seed with the case's own (integer) increment, so
    the order depends on neither the order the cases arrived in nor anything
    else outside the day's data; equal increments are interchangeable.
    """
    from radassure.core._surveillance_engine import mix

    return mix(day_seeds ^ mix(values.astype(np.uint64)))
