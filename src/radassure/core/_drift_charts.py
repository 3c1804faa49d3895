"""Daily Shewhart charts for label-free early warning (re-exported by ``drift``).

Study volume (Poisson, or negative binomial when the baseline is
overdispersed) and daily proportions such as the positive-call or AI-human
discordance rate (binomial, with limits that follow each day's count). Limits
are exact quantiles, not normal approximations: two-sided, each side given
half of the daily false-alarm budget ``1 / arl0_days`` and whatever the other
side cannot spend. Because counts are whole numbers the achieved false-alarm
chance is at most the budget, so the in-control ARL is at least
``arl0_days``: close to it for large daily counts (372 days for a target of
365 at 200 studies a day), far above it for small ones (995 days for 50
studies a day at a rate of 0.1); :class:`DailyLimits` reports the achieved
value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

from radassure.core._checks import FloatArray, finite_scores
from radassure.core._drift_types import json_float
from radassure.core.monitoring import ChartResult

__all__ = [
    "DailyLimits",
    "binomial_limits",
    "check_arl0_days",
    "p_chart",
    "poisson_limits",
    "volume_chart",
]


def check_arl0_days(arl0_days: float) -> float:
    """Return ``arl0_days`` after checking it is a finite number of days above 1."""
    if isinstance(arl0_days, bool) or not (
        isinstance(arl0_days, int | float) and math.isfinite(arl0_days) and arl0_days > 1
    ):
        raise ValueError(
            f"arl0_days must be the wanted average number of days between false alarms, a "
            f"finite number above 1 (got {arl0_days!r}); 365 means about one a year."
        )
    return float(arl0_days)


@dataclass(frozen=True)
class DailyLimits:
    """Exact two-sided count limits for each day and their in-control false-alarm chance.

    A day alarms when its count is below ``lower`` or above ``upper``. Days
    with nothing to judge (no studies in a p-chart) have NaN limits and a
    false-alarm chance of 0.

    Attributes
    ----------
    lower, upper : tuple of float
        Count limits per day (alarm when ``count < lower`` or ``count > upper``).
    false_alarm : tuple of float
        Exact in-control probability that the day alarms, at most ``1 / arl0_days``.
    target_arl0 : float
        The requested in-control average run length in days.

    Examples
    --------
    >>> d = poisson_limits(100.0, arl0_days=365)
    >>> d.lower[0], d.upper[0], d.arl0 >= 365
    (71.0, 130.0, True)

    """

    lower: tuple[float, ...]
    upper: tuple[float, ...]
    false_alarm: tuple[float, ...]
    target_arl0: float

    @property
    def arl0(self) -> float:
        """Achieved in-control ARL in days, if days like these recur in random order.

        With daily alarm chances ``a_t`` drawn at random from these days the run
        length is geometric with mean ``1 / mean(a_t)``; infinite when no day
        can alarm.
        """
        mean = float(np.mean(self.false_alarm)) if self.false_alarm else 0.0
        return math.inf if mean == 0 else 1.0 / mean

    def false_alarm_within(self, days: int) -> float:
        """Chance of at least one false alarm within ``days`` days like these."""
        if isinstance(days, bool) or not isinstance(days, int) or days < 1:
            raise ValueError(f"days must be a positive whole number (got {days!r}).")
        mean = float(np.mean(self.false_alarm)) if self.false_alarm else 0.0
        return float(-math.expm1(days * math.log1p(-mean)))

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-ready dict; NaN and infinities become None."""
        return {
            "lower": [json_float(v) for v in self.lower],
            "upper": [json_float(v) for v in self.upper],
            "false_alarm": list(self.false_alarm),
            "target_arl0": self.target_arl0,
            "arl0": json_float(self.arl0),
        }


def _side_limits(
    dist: stats.rv_discrete, low_budget: FloatArray, high_budget: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    # ppf(q) is the smallest k with cdf(k) >= q, so P(X < lower) < low_budget and
    # P(X > upper) <= high_budget.
    lower = np.asarray(dist.ppf(low_budget), dtype=np.float64)
    upper = np.asarray(dist.ppf(1.0 - high_budget), dtype=np.float64)
    below = np.asarray(np.where(lower > 0, dist.cdf(lower - 1), 0.0), dtype=np.float64)
    above = np.asarray(dist.sf(upper), dtype=np.float64)
    return lower, upper, below, above


def _limits(dist: stats.rv_discrete, alpha: float) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Two-sided limits spending as much of the daily budget ``alpha`` as whole counts allow.

    Each side first gets half; whatever one side cannot spend (counts are
    whole numbers) goes to the other, trying both orders and keeping the one
    that spends more. The total never exceeds ``alpha``, so the achieved ARL0
    is at least ``1 / alpha`` and as close to it as the discreteness permits.
    """
    shape = np.shape(dist.mean())
    half = np.full(shape, alpha / 2)
    lo_a, _, below_a, _ = _side_limits(dist, half, half)
    _, hi_a, _, above_a = _side_limits(dist, half, alpha - below_a)
    _, hi_b, _, above_b = _side_limits(dist, half, half)
    lo_b, _, below_b, _ = _side_limits(dist, alpha - above_b, half)
    take_a = below_a + above_a >= below_b + above_b
    return (
        np.where(take_a, lo_a, lo_b),
        np.where(take_a, hi_a, hi_b),
        np.where(take_a, below_a + above_a, below_b + above_b),
    )


def _tuple(arr: npt.NDArray[np.float64]) -> tuple[float, ...]:
    return tuple(float(v) for v in arr)


def poisson_limits(
    mean: float | npt.ArrayLike, *, arl0_days: float = 365.0, dispersion: float = 1.0
) -> DailyLimits:
    """Exact two-sided limits for a daily count with a known in-control mean.

    Parameters
    ----------
    mean : float or array-like of float
        Expected count per day (one value, or one per day, e.g. by weekday).
    arl0_days : float, default 365
        Wanted in-control average run length in days (one false alarm a year).
    dispersion : float, default 1
        Variance-to-mean ratio of the baseline daily counts; 1 is Poisson, above 1
        uses a negative binomial with that variance (estimate it from the baseline
        days as ``var / mean`` of days of the same kind).

    Returns
    -------
    DailyLimits

    Examples
    --------
    >>> d = poisson_limits([100.0, 20.0], arl0_days=365, dispersion=2.0)
    >>> d.lower, d.upper
    ((62.0, 5.0), (146.0, 42.0))

    """
    alpha = 1.0 / check_arl0_days(arl0_days)
    mu = np.atleast_1d(np.asarray(mean, dtype=np.float64))
    if mu.ndim != 1 or mu.size == 0 or not np.all(np.isfinite(mu)) or np.any(mu <= 0):
        raise ValueError(
            "baseline_mean must be a positive expected count per day (one number or one per "
            "day); estimate it from the baseline period and leave out closed days."
        )
    if not (isinstance(dispersion, int | float) and math.isfinite(dispersion) and dispersion >= 1):
        raise ValueError(
            f"dispersion must be a variance-to-mean ratio of at least 1 (got {dispersion!r}); "
            "use 1 for Poisson counts."
        )
    # Days share few distinct means; quantiles are computed once per distinct value.
    unique, back = np.unique(mu, return_inverse=True)
    if dispersion == 1:
        dist = stats.poisson(unique)
    else:
        dist = stats.nbinom(unique / (dispersion - 1.0), 1.0 / dispersion)
    lower, upper, false_alarm = (a[back] for a in _limits(dist, alpha))
    return DailyLimits(_tuple(lower), _tuple(upper), _tuple(false_alarm), 1.0 / alpha)


def _counts(values: npt.ArrayLike, name: str) -> FloatArray:
    arr = finite_scores(values, name)
    if np.any(arr < 0) or np.any(arr != np.round(arr)):
        raise ValueError(f"{name} must hold whole numbers of studies, 0 or more, one per day.")
    return arr


def binomial_limits(n: npt.ArrayLike, *, p0: float, arl0_days: float = 365.0) -> DailyLimits:
    """Exact binomial limits for a daily count of events among ``n`` studies.

    Parameters
    ----------
    n : array-like of int
        Studies judged each day (days with 0 get NaN limits and cannot alarm).
    p0 : float
        In-control event rate, strictly between 0 and 1, from the baseline period.
    arl0_days : float, default 365
        Wanted in-control average run length in days.

    Returns
    -------
    DailyLimits

    Examples
    --------
    >>> d = binomial_limits([200, 10], p0=0.1)
    >>> d.lower, d.upper
    ((9.0, 0.0), (34.0, 4.0))

    """
    alpha = 1.0 / check_arl0_days(arl0_days)
    if isinstance(p0, bool) or not (isinstance(p0, int | float) and 0.0 < p0 < 1.0):
        raise ValueError(
            f"p0 must be the baseline rate strictly between 0 and 1 (got {p0!r}); estimate it "
            "from the baseline period."
        )
    trials = _counts(n, "n")
    unique, back = np.unique(trials, return_inverse=True)
    lower, upper, false_alarm = (a[back] for a in _limits(stats.binom(unique, p0), alpha))
    empty = trials == 0
    return DailyLimits(
        _tuple(np.where(empty, np.nan, lower)),
        _tuple(np.where(empty, np.nan, upper)),
        _tuple(np.where(empty, 0.0, false_alarm)),
        1.0 / alpha,
    )


def _first(flags: npt.NDArray[np.bool_]) -> int | None:
    hits = np.flatnonzero(flags)
    return int(hits[0]) if hits.size else None


def volume_chart(
    counts: npt.ArrayLike,
    *,
    baseline_mean: float | npt.ArrayLike,
    arl0_days: float = 365.0,
    dispersion: float = 1.0,
) -> ChartResult:
    """Daily study-volume chart: alarms on a drop or a surge (early warning only).

    A drop can mean studies have stopped reaching the tool; a surge, a new
    referral pathway. Neither says whether the tool is still accurate.

    Parameters
    ----------
    counts : array-like of int
        Studies per day, in time order.
    baseline_mean : float or array-like of float
        Expected studies per day (one value, or one per day, e.g. by weekday).
    arl0_days : float, default 365
        Wanted in-control average run length in days; see :func:`poisson_limits`
        for the achieved value.
    dispersion : float, default 1
        Variance-to-mean ratio of the baseline days (1 is Poisson).

    Returns
    -------
    ChartResult
        ``chart="volume"``; statistic and limits in studies per day.

    Examples
    --------
    >>> r = volume_chart([98, 105, 60, 101], baseline_mean=100.0)
    >>> r.lower_limit[0], r.upper_limit[0], r.alarm_index
    (71.0, 130.0, 2)

    """
    values = _counts(counts, "counts")
    mean = np.asarray(baseline_mean, dtype=np.float64)
    if mean.ndim == 1 and mean.size != values.size:
        raise ValueError(
            f"baseline_mean must be one number or one per day ({values.size}); it has {mean.size}."
        )
    limits = poisson_limits(
        np.broadcast_to(mean, values.shape), arl0_days=arl0_days, dispersion=dispersion
    )
    low, high = np.asarray(limits.lower), np.asarray(limits.upper)
    return ChartResult(
        "volume",
        _tuple(values),
        limits.lower,
        limits.upper,
        _first((values < low) | (values > high)),
    )


def p_chart(
    events: npt.ArrayLike, n: npt.ArrayLike, *, p0: float, arl0_days: float = 365.0
) -> ChartResult:
    """Daily proportion chart with exact binomial limits for each day's ``n`` (early warning).

    For the positive-call rate (``events`` = studies the tool called
    positive) or the AI-human discordance rate (``events`` = oversight
    records that disagreed with the tool). A change in either is a reason to
    look, not a measure of accuracy: prevalence moves the positive-call rate
    without any fault in the tool.

    Parameters
    ----------
    events : array-like of int
        Events per day, in time order.
    n : array-like of int
        Studies judged per day; days with 0 plot NaN and cannot alarm.
    p0 : float
        Baseline event rate, strictly between 0 and 1.
    arl0_days : float, default 365
        Wanted in-control average run length in days; the limits are exact, so
        the achieved value (see :func:`binomial_limits`) is at least this.

    Returns
    -------
    ChartResult
        ``chart="p_chart"``; statistic and limits as proportions.

    Examples
    --------
    >>> r = p_chart([20, 22, 45], [200, 210, 190], p0=0.1)
    >>> [round(v, 3) for v in r.statistic], r.alarm_index
    ([0.1, 0.105, 0.237], 2)

    """
    hits = _counts(events, "events")
    trials = _counts(n, "n")
    if hits.size != trials.size:
        raise ValueError(
            f"events and n must have one entry per day, but events has {hits.size} and n "
            f"has {trials.size}."
        )
    if np.any(hits > trials):
        day = int(np.flatnonzero(hits > trials)[0])
        raise ValueError(f"events exceeds n on day index {day}; events must count among n.")
    limits = binomial_limits(trials, p0=p0, arl0_days=arl0_days)
    low, high = np.asarray(limits.lower), np.asarray(limits.upper)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(trials > 0, hits / np.where(trials > 0, trials, 1.0), np.nan)
        low_p, high_p = low / trials, high / trials
    alarm = (trials > 0) & ((hits < np.nan_to_num(low)) | (hits > np.nan_to_num(high, nan=np.inf)))
    return ChartResult("p_chart", _tuple(rate), _tuple(low_p), _tuple(high_p), _first(alarm))
