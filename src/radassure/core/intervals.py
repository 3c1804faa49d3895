"""Confidence intervals for proportions, ratios of proportions and Poisson rates.

The Wilson score interval is the default for a single proportion: it keeps
close to nominal coverage at small ``n`` and near 0 or 1, where the Wald
interval fails (Newcombe 1998; Brown, Cai and DasGupta 2001).
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import stats

from radassure.core._checks import check_level, undefined, z_value
from radassure.core.results import Estimate

__all__ = [
    "ProportionMethod",
    "poisson_rate_interval",
    "proportion_estimate",
    "proportion_interval",
    "wilson_bounds",
]

ProportionMethod = Literal["wilson", "clopper-pearson", "agresti-coull"]
_METHODS = ("wilson", "clopper-pearson", "agresti-coull")


def _check_counts(k: int, n: int) -> tuple[int, int]:
    for name, value in (("k", k), ("n", n)):
        if isinstance(value, bool) or not float(value).is_integer() or value < 0:
            raise ValueError(
                f"{name} must be a non-negative whole number of cases (got {value!r})."
            )
    k, n = int(k), int(n)
    if k > n:
        raise ValueError(
            f"k (successes) cannot exceed n (trials): got k={k} and n={n}; check the counts."
        )
    return k, n


def proportion_interval(
    k: int,
    n: int,
    *,
    level: float = 0.95,
    method: ProportionMethod = "wilson",
) -> tuple[float, float]:
    """Two-sided confidence interval for a binomial proportion ``k / n``.

    Parameters
    ----------
    k : int
        Number of successes, ``0 <= k <= n``.
    n : int
        Number of trials. With ``n == 0`` the proportion is undefined: an
        :class:`~radassure.errors.UndefinedMetricWarning` is issued and
        ``(nan, nan)`` returned.
    level : float, default 0.95
        Confidence level.
    method : {"wilson", "clopper-pearson", "agresti-coull"}, default "wilson"
        ``"wilson"`` is the score interval (Wilson 1927);
        ``"clopper-pearson"`` is the exact interval from beta quantiles
        (Clopper and Pearson 1934), conservative by construction;
        ``"agresti-coull"`` adds ``z**2 / 2`` successes and failures and uses the
        Wald form (Agresti and Coull 1998), clipped to [0, 1].

    Returns
    -------
    tuple of float
        ``(low, high)``.

    Examples
    --------
    >>> low, high = proportion_interval(81, 263)  # Newcombe (1998), example (i)
    >>> round(low, 4), round(high, 4)
    (0.2553, 0.3662)
    >>> [round(x, 4) for x in proportion_interval(81, 263, method="clopper-pearson")]
    [0.2527, 0.3676]

    """
    k, n = _check_counts(k, n)
    level = check_level(level)
    if method not in _METHODS:
        raise ValueError(
            f"method must be one of {', '.join(map(repr, _METHODS))} (got {method!r})."
        )
    if n == 0:
        nan = undefined("The proportion is undefined because n is 0; there are no cases.")
        return nan, nan
    z = z_value(level)
    if method == "wilson":
        p = k / n
        denom = 1.0 + z * z / n
        centre = (p + z * z / (2 * n)) / denom
        half = z / denom * math.sqrt(p * (1.0 - p) / n + z * z / (4 * n * n))
        # The exact bounds at k = 0 and k = n are 0 and 1; round-off would
        # otherwise leave values like 1e-17 there.
        low = 0.0 if k == 0 else max(0.0, centre - half)
        high = 1.0 if k == n else min(1.0, centre + half)
        return low, high
    if method == "clopper-pearson":
        alpha = 1.0 - level
        low = 0.0 if k == 0 else float(stats.beta.ppf(alpha / 2, k, n - k + 1))
        high = 1.0 if k == n else float(stats.beta.ppf(1 - alpha / 2, k + 1, n - k))
        return low, high
    n_tilde = n + z * z
    p_tilde = (k + z * z / 2) / n_tilde
    half = z * math.sqrt(p_tilde * (1.0 - p_tilde) / n_tilde)
    return max(0.0, p_tilde - half), min(1.0, p_tilde + half)


def proportion_estimate(
    k: int,
    n: int,
    *,
    level: float = 0.95,
    method: ProportionMethod = "wilson",
    what: str = "the proportion",
) -> Estimate:
    """Proportion ``k / n`` with its confidence interval as an :class:`Estimate`.

    Parameters
    ----------
    k, n : int
        Successes and trials.
    level : float, default 0.95
        Confidence level.
    method : {"wilson", "clopper-pearson", "agresti-coull"}, default "wilson"
        Interval method, see :func:`proportion_interval`.
    what : str, default "the proportion"
        Name used in the warning when ``n == 0``, e.g. ``"sensitivity"``.

    Returns
    -------
    Estimate
        NaN value and bounds (with a warning) when ``n == 0``.

    Examples
    --------
    >>> proportion_estimate(45, 50).format()
    '0.90 (95% CI 0.79 to 0.96)'

    """
    k, n = _check_counts(k, n)
    level = check_level(level)
    if n == 0:
        nan = undefined(f"{what} is undefined because its denominator is 0.", stacklevel=3)
        return Estimate(nan, nan, nan, level, method, 0)
    # The check above already warned, so this call cannot warn again.
    low, high = proportion_interval(k, n, level=level, method=method)
    return Estimate(k / n, low, high, level, method, n)


def poisson_rate_interval(
    count: int, exposure: float, *, level: float = 0.95
) -> tuple[float, float]:
    """Exact (Garwood 1936) interval for a Poisson rate ``count / exposure``.

    Parameters
    ----------
    count : int
        Observed number of events.
    exposure : float
        Positive exposure, e.g. the number of images.
    level : float, default 0.95
        Confidence level.

    Returns
    -------
    tuple of float
        ``(low, high)`` for the rate per unit of exposure.

    Examples
    --------
    >>> [round(x, 3) for x in poisson_rate_interval(10, 1.0)]
    [4.795, 18.39]

    """
    if isinstance(count, bool) or not float(count).is_integer() or count < 0:
        raise ValueError(f"count must be a non-negative whole number (got {count!r}).")
    if not exposure > 0 or not math.isfinite(exposure):
        raise ValueError(f"exposure must be a positive finite number (got {exposure!r}).")
    alpha = 1.0 - check_level(level)
    low = 0.0 if count == 0 else float(stats.chi2.ppf(alpha / 2, 2 * count)) / 2.0
    high = float(stats.chi2.ppf(1 - alpha / 2, 2 * count + 2)) / 2.0
    return low / exposure, high / exposure


def wilson_bounds(
    k: npt.ArrayLike, n: npt.ArrayLike, *, level: float = 0.95
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Vectorised Wilson score bounds for arrays of counts.

    Entries with ``n == 0`` get NaN bounds without a warning; callers decide
    whether that is worth warning about.

    Parameters
    ----------
    k, n : array-like of int
        Successes and trials, broadcast against each other.
    level : float, default 0.95
        Confidence level.

    Returns
    -------
    tuple of numpy.ndarray
        ``(low, high)`` with the broadcast shape of ``k`` and ``n``.

    Examples
    --------
    >>> low, high = wilson_bounds([81, 0], [263, 20])
    >>> low.round(4).tolist(), high.round(4).tolist()
    ([0.2553, 0.0], [0.3662, 0.1611])

    """
    z = z_value(level)
    k_arr, n_arr = np.broadcast_arrays(
        np.asarray(k, dtype=np.float64), np.asarray(n, dtype=np.float64)
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k_arr / n_arr
        denom = 1.0 + z * z / n_arr
        centre = (p + z * z / (2 * n_arr)) / denom
        half = z / denom * np.sqrt(p * (1.0 - p) / n_arr + z * z / (4 * n_arr * n_arr))
    low = np.where(k_arr == 0, 0.0, np.clip(centre - half, 0.0, 1.0))
    high = np.where(k_arr == n_arr, 1.0, np.clip(centre + half, 0.0, 1.0))
    empty = n_arr == 0
    return np.where(empty, np.nan, low), np.where(empty, np.nan, high)
