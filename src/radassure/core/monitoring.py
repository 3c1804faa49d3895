"""Label-based control charts for monitoring a deployed AI tool over time.

Four charts, each returning a :class:`ChartResult` (statistic path, limits,
first alarm):

* :func:`bernoulli_cusum` - case by case on binary events (e.g. a miss among
  reference-positive cases), with log-likelihood-ratio weights
  (Reynolds & Stoumbos 1999);
* :func:`cusum` - one-sided tabular CUSUM of a daily metric, in standard
  deviation units (Montgomery, *Introduction to Statistical Quality Control*);
* :func:`ewma_chart` - EWMA with the exact, time-varying limits;
* :func:`persistence_rule` - alarm when the daily estimate lies outside the
  baseline 95% interval on ``m`` consecutive days.

Thresholds for a target in-control average run length (ARL0) and the chance of
a false alarm within the first days are in the design functions re-exported
here (:func:`bernoulli_cusum_threshold`, :func:`cusum_threshold`,
:func:`ewma_limit_for_arl`, :func:`false_alarm_probability`, ...).

Every chart keeps running after its first alarm (no reset), so the whole path
can be plotted; ``alarm_index`` is the 0-based index of the first signal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from radassure.core._checks import binary_labels, check_positive_int, finite_scores
from radassure.core._design import (
    ChartDesign,
    bernoulli_cusum_arl,
    bernoulli_cusum_run_length_cdf,
    bernoulli_cusum_threshold,
    check_rates,
    check_threshold,
    cusum_arl,
    cusum_threshold,
    ewma_arl,
    ewma_limit_for_arl,
    false_alarm_probability,
    simulate_bernoulli_cusum_arl,
)

__all__ = [
    "ChartDesign",
    "ChartResult",
    "bernoulli_cusum",
    "bernoulli_cusum_arl",
    "bernoulli_cusum_run_length_cdf",
    "bernoulli_cusum_threshold",
    "cusum",
    "cusum_arl",
    "cusum_threshold",
    "ewma_arl",
    "ewma_chart",
    "ewma_limit_for_arl",
    "false_alarm_probability",
    "persistence_rule",
    "simulate_bernoulli_cusum_arl",
]


def _json_floats(values: tuple[float, ...]) -> list[float | None]:
    return [None if math.isnan(v) else v for v in values]


@dataclass(frozen=True)
class ChartResult:
    """The path of a control chart and its first alarm.

    Attributes
    ----------
    chart : str
        ``"bernoulli_cusum"``, ``"cusum"``, ``"ewma"`` or ``"persistence"``.
    statistic : tuple of float
        The plotted statistic, one value per case (Bernoulli CUSUM) or day.
    lower_limit, upper_limit : tuple of float
        The control limits at each point; NaN where the chart has no limit on
        that side.
    alarm_index : int or None
        0-based index of the first point outside the limits; None if none.

    Examples
    --------
    >>> r = ChartResult("cusum", (0.0, 5.0), (math.nan,) * 2, (4.0, 4.0), 1)
    >>> r.alarmed, r.to_dict()["lower_limit"]
    (True, [None, None])

    """

    chart: str
    statistic: tuple[float, ...]
    lower_limit: tuple[float, ...]
    upper_limit: tuple[float, ...]
    alarm_index: int | None

    @property
    def alarmed(self) -> bool:
        """True when the chart signalled at least once."""
        return self.alarm_index is not None

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-ready dict; NaN becomes None."""
        return {
            "chart": self.chart,
            "statistic": _json_floats(self.statistic),
            "lower_limit": _json_floats(self.lower_limit),
            "upper_limit": _json_floats(self.upper_limit),
            "alarm_index": self.alarm_index,
        }


def _first(flags: npt.NDArray[np.bool_]) -> int | None:
    hits = np.flatnonzero(flags)
    return int(hits[0]) if hits.size else None


def _tuple(arr: npt.NDArray[np.float64]) -> tuple[float, ...]:
    return tuple(float(v) for v in arr)


def bernoulli_cusum(
    events: npt.ArrayLike, *, p0: float, p1: float | None = None, h: float
) -> ChartResult:
    """Bernoulli CUSUM of case-level binary events.

    ``S_t = max(0, S_{t-1} + W_t)`` with ``W_t = log(p1/p0)`` for an event and
    ``log((1-p1)/(1-p0))`` otherwise; the chart signals when ``S_t >= h``.

    Parameters
    ----------
    events : array-like of {0, 1} or bool
        One entry per case in time order; 1 marks the adverse event (e.g. a
        cancer the tool missed).
    p0 : float
        In-control event rate, strictly between 0 and 1.
    p1 : float, optional
        Out-of-control rate the chart is tuned to detect; ``2 * p0`` by default.
    h : float
        Decision threshold (positive); see :func:`bernoulli_cusum_threshold`.

    Returns
    -------
    ChartResult

    Examples
    --------
    >>> r = bernoulli_cusum([0, 1, 1, 0, 1, 1], p0=0.1, h=2.0)
    >>> [round(v, 2) for v in r.statistic]
    [0.0, 0.69, 1.39, 1.27, 1.96, 2.65]
    >>> r.alarm_index
    5

    """
    p0, p1 = check_rates(p0, p1)
    h = check_threshold(h, "h")
    flags = binary_labels(events, "events")
    weights = np.where(flags, math.log(p1 / p0), math.log((1.0 - p1) / (1.0 - p0)))
    path = _cusum_path(weights)
    return ChartResult(
        "bernoulli_cusum",
        _tuple(path),
        (math.nan,) * path.size,
        (h,) * path.size,
        _first(path >= h),
    )


def _cusum_path(increments: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    path = np.empty_like(increments)
    stat = 0.0
    for i, inc in enumerate(increments.tolist()):
        stat = max(0.0, stat + inc)
        path[i] = stat
    return path


def _check_mean_sd(mean0: float, sd0: float) -> tuple[float, float]:
    if not math.isfinite(mean0):
        raise ValueError(f"mean0 must be a finite number (got {mean0!r}).")
    if not (math.isfinite(sd0) and sd0 > 0):
        raise ValueError(
            f"sd0 must be a positive finite standard deviation (got {sd0!r}); estimate it "
            "from the baseline period."
        )
    return float(mean0), float(sd0)


def cusum(
    x: npt.ArrayLike,
    *,
    mean0: float,
    sd0: float,
    k: float = 0.5,
    h: float,
    direction: Literal["lower", "upper"] = "lower",
) -> ChartResult:
    """One-sided tabular CUSUM of a daily metric (normal approximation).

    With ``z = (x - mean0) / sd0``, the lower chart is
    ``S_t = max(0, S_{t-1} - z_t - k)`` (it detects a fall, e.g. in daily
    sensitivity) and the upper chart ``max(0, S_{t-1} + z_t - k)``. ``k`` and
    ``h`` are in standard-deviation units, as in Montgomery's tabular CUSUM.

    Parameters
    ----------
    x : array-like of float
        Daily values in time order.
    mean0, sd0 : float
        In-control mean and standard deviation of one daily value.
    k : float, default 0.5
        Reference value: half the shift (in SD units) to detect.
    h : float
        Decision interval in SD units; see :func:`cusum_threshold`.
    direction : {"lower", "upper"}, default "lower"
        Which departure from ``mean0`` to detect.

    Returns
    -------
    ChartResult

    Examples
    --------
    >>> r = cusum([0.9, 0.8, 0.7, 0.7], mean0=0.9, sd0=0.05, h=4.0)
    >>> [round(v, 2) for v in r.statistic]
    [0.0, 1.5, 5.0, 8.5]
    >>> r.alarm_index
    2

    """
    mean0, sd0 = _check_mean_sd(mean0, sd0)
    h = check_threshold(h, "h")
    if not (math.isfinite(k) and k >= 0):
        raise ValueError(f"k must be a non-negative finite number (got {k!r}).")
    if direction not in ("lower", "upper"):
        raise ValueError(f'direction must be "lower" or "upper" (got {direction!r}).')
    z = (finite_scores(x, "x") - mean0) / sd0
    sign = -1.0 if direction == "lower" else 1.0
    path = _cusum_path(sign * z - k)
    return ChartResult(
        "cusum", _tuple(path), (math.nan,) * path.size, (h,) * path.size, _first(path >= h)
    )


def ewma_chart(
    x: npt.ArrayLike,
    *,
    mean0: float,
    sd0: float,
    lam: float = 0.2,
    L: float,  # noqa: N803
) -> ChartResult:
    """Two-sided EWMA chart with exact, time-varying limits.

    ``z_t = lam * x_t + (1 - lam) * z_{t-1}`` from ``z_0 = mean0``; the limits
    are ``mean0 +/- L * sd0 * sqrt(lam / (2 - lam) * (1 - (1 - lam)**(2t)))``.

    Parameters
    ----------
    x : array-like of float
        Daily values in time order.
    mean0, sd0 : float
        In-control mean and standard deviation of one daily value.
    lam : float, default 0.2
        Smoothing weight in (0, 1].
    L : float
        Limit width in asymptotic EWMA standard deviations; see
        :func:`ewma_limit_for_arl`.

    Returns
    -------
    ChartResult

    Examples
    --------
    >>> r = ewma_chart([0.0, 0.0, -3.0, -3.0], mean0=0.0, sd0=1.0, lam=0.2, L=2.962)
    >>> [round(v, 2) for v in r.statistic]
    [0.0, 0.0, -0.6, -1.08]
    >>> r.alarm_index
    3

    """
    mean0, sd0 = _check_mean_sd(mean0, sd0)
    if not (math.isfinite(lam) and 0.0 < lam <= 1.0):
        raise ValueError(f"lam must lie in (0, 1] (got {lam!r}); 0.05 to 0.3 is usual.")
    limit = check_threshold(L, "L")
    values = finite_scores(x, "x")
    path = np.empty_like(values)
    stat = mean0
    for i, v in enumerate(values.tolist()):
        stat = lam * v + (1.0 - lam) * stat
        path[i] = stat
    t = np.arange(1, values.size + 1)
    half = limit * sd0 * np.sqrt(lam / (2.0 - lam) * (1.0 - (1.0 - lam) ** (2 * t)))
    low, high = mean0 - half, mean0 + half
    return ChartResult(
        "ewma", _tuple(path), _tuple(low), _tuple(high), _first((path < low) | (path > high))
    )


def persistence_rule(
    values: npt.ArrayLike,
    *,
    low: float | npt.ArrayLike,
    high: float | npt.ArrayLike,
    m: int = 3,
) -> ChartResult:
    """Alarm when the daily value lies outside ``[low, high]`` on ``m`` consecutive days.

    The statistic is the current run of consecutive days outside the interval;
    the chart signals the first day the run reaches ``m``.

    Parameters
    ----------
    values : array-like of float
        Daily estimates in time order (drop days without an estimate first).
    low, high : float or array-like of float
        The baseline interval (e.g. its 95% CI), one value or one per day.
    m : int, default 3
        Consecutive days outside needed for an alarm.

    Returns
    -------
    ChartResult

    Examples
    --------
    >>> r = persistence_rule([0.9, 0.8, 0.8, 0.9, 0.8, 0.8, 0.8], low=0.85, high=0.95)
    >>> r.statistic
    (0.0, 1.0, 2.0, 0.0, 1.0, 2.0, 3.0)
    >>> r.alarm_index
    6

    """
    vals = finite_scores(values, "values")
    m = check_positive_int(m, "m")
    try:
        lo = np.broadcast_to(np.asarray(low, dtype=np.float64), vals.shape)
        hi = np.broadcast_to(np.asarray(high, dtype=np.float64), vals.shape)
    except ValueError as exc:
        raise ValueError(
            f"low and high must be single numbers or hold one value per day ({vals.size})."
        ) from exc
    if np.isnan(lo).any() or np.isnan(hi).any() or (lo > hi).any():
        raise ValueError("low and high must be numbers with low <= high on every day.")
    outside = (vals < lo) | (vals > hi)
    run = np.empty_like(vals)
    count = 0
    for i, out in enumerate(outside.tolist()):
        count = count + 1 if out else 0
        run[i] = count
    return ChartResult(
        "persistence",
        _tuple(run),
        (math.nan,) * vals.size,
        (float(m),) * vals.size,
        _first(run >= m),
    )
