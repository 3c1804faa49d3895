"""Difference and ratio of a metric between two independent groups of cases.

Three families, one per kind of metric:

* proportions (sensitivity, specificity, PPV, NPV, accuracy): the difference
  carries Newcombe's (1998) hybrid score interval (method 10, the MOVER
  combination of the two Wilson intervals); the ratio the log-method interval
  ``exp(log r +/- z sqrt(1/k1 - 1/n1 + 1/k2 - 1/n2))`` (Katz et al. 1978); the
  p-value is Fisher's exact test, two-sided by doubling the smaller one-sided
  tail. The pooled z-test was not used: at sensitivities near 0.85-0.90 and a
  few hundred cases its lower tail rejects up to twice as often as nominal at
  the small alphas that multiple-comparison control needs, which is exactly
  where a "worse" flag comes from; the exact test never exceeds nominal in
  either tail;
* the AUC: DeLong variances of the two independent samples add, giving Wald
  intervals for the difference and, by the delta method, for the log ratio;
* any other metric: the standard errors of both groups come from a stratified
  bootstrap (resampling positives and negatives separately within each group)
  and give Wald intervals and a z-test.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import numpy.typing as npt
from scipy import stats

from radassure.core._checks import undefined
from radassure.core.intervals import wilson_bounds
from radassure.core.results import Estimate

__all__ = [
    "Contrast",
    "auc_contrast",
    "bootstrap_contrast",
    "fisher_doubled",
    "newcombe_difference",
    "proportion_contrast",
]

NAN = math.nan
_NORMAL = NormalDist()


def _z(level: float) -> float:
    return _NORMAL.inv_cdf(0.5 + level / 2)


@dataclass(frozen=True)
class Contrast:
    """Raw numbers of one comparison, before they are attached to a group."""

    difference: Estimate
    ratio: Estimate
    p_value: float
    se_group: float
    se_comparator: float


def _two_sided_p(z: float) -> float:
    # erfc keeps relative precision far in the tail, where 1 - cdf would round to 0.
    return math.erfc(abs(z) / math.sqrt(2.0))


def fisher_doubled(k1: int, n1: int, k2: int, n2: int) -> float:
    """Two-sided Fisher exact p-value for ``k1/n1`` vs ``k2/n2``: twice the smaller tail.

    Conditional on the margins, ``k1`` is hypergeometric (``n1 + n2`` cases,
    ``k1 + k2`` successes, ``n1`` drawn); the one-sided tails are
    ``P(X <= k1)`` and ``P(X >= k1)``.
    """
    total, successes = n1 + n2, k1 + k2
    low = float(stats.hypergeom.cdf(k1, total, successes, n1))
    high = float(stats.hypergeom.sf(k1 - 1, total, successes, n1))
    return min(1.0, 2.0 * min(low, high))


def newcombe_difference(
    k1: int, n1: int, k2: int, n2: int, *, level: float
) -> tuple[float, float, float]:
    """``p1 - p2`` with Newcombe's hybrid score interval (his method 10).

    ``L = d - sqrt((p1 - l1)**2 + (u2 - p2)**2)`` and
    ``U = d + sqrt((u1 - p1)**2 + (p2 - l2)**2)`` with ``(l, u)`` the Wilson
    bounds of each proportion.
    """
    low, high = wilson_bounds([k1, k2], [n1, n2], level=level)
    p1, p2 = k1 / n1, k2 / n2
    d = p1 - p2
    lo = d - math.hypot(p1 - float(low[0]), float(high[1]) - p2)
    hi = d + math.hypot(float(high[0]) - p1, p2 - float(low[1]))
    return d, max(-1.0, lo), min(1.0, hi)


def _log_ratio(
    value: float, se_log: float, *, level: float, method: str, n: int, context: str
) -> Estimate:
    if not math.isfinite(value) or value <= 0 or not math.isfinite(se_log):
        what = "0" if value == 0 else "not finite"
        undefined(
            f"The ratio {context} is {what}, so its log-method interval is undefined; "
            "the interval is NaN.",
            stacklevel=5,
        )
        shown = value if math.isfinite(value) else NAN
        return Estimate(shown, NAN, NAN, level, method, n)
    half = _z(level) * se_log
    return Estimate(value, value * math.exp(-half), value * math.exp(half), level, method, n)


def proportion_contrast(
    k1: int, n1: int, k2: int, n2: int, *, level: float, context: str
) -> Contrast:
    """Compare ``k1/n1`` (the group) with ``k2/n2`` (its comparator)."""
    n = n1 + n2
    d, lo, hi = newcombe_difference(k1, n1, k2, n2, level=level)
    difference = Estimate(d, lo, hi, level, "newcombe-hybrid-score", n)
    p1, p2 = k1 / n1, k2 / n2
    p_value = fisher_doubled(k1, n1, k2, n2)
    method = "log (Katz 1978)"
    if k2 == 0:
        ratio = _log_ratio(NAN, NAN, level=level, method=method, n=n, context=context)
    elif k1 == 0:
        ratio = _log_ratio(0.0, NAN, level=level, method=method, n=n, context=context)
    else:
        se_log = math.sqrt(max(0.0, 1 / k1 - 1 / n1 + 1 / k2 - 1 / n2))
        ratio = _log_ratio(p1 / p2, se_log, level=level, method=method, n=n, context=context)
    return Contrast(
        difference,
        ratio,
        p_value,
        math.sqrt(p1 * (1 - p1) / n1),
        math.sqrt(p2 * (1 - p2) / n2),
    )


def _wald_contrast(
    v1: float,
    v2: float,
    se1: float,
    se2: float,
    *,
    level: float,
    n: int,
    label: str,
    context: str,
    bounds: float,
) -> Contrast:
    d = v1 - v2
    se = math.hypot(se1, se2)
    ratio_method = f"log-{label}"
    if not math.isfinite(se):
        undefined(
            f"The variance of the difference {context} is undefined (too few cases for "
            f"the {label} standard error); the interval and p-value are NaN.",
            stacklevel=4,
        )
        diff = Estimate(d, NAN, NAN, level, label, n)
        return Contrast(diff, Estimate(NAN, NAN, NAN, level, ratio_method, n), NAN, se1, se2)
    # A zero standard error (both groups perfect, say) leaves only the sign of d.
    p_value = _two_sided_p(d / se) if se > 0 else float(d == 0)
    half = _z(level) * se
    diff = Estimate(d, max(-bounds, d - half), min(bounds, d + half), level, label, n)
    if v1 > 0 and v2 > 0:
        se_log = math.hypot(se1 / v1, se2 / v2)
        ratio = _log_ratio(v1 / v2, se_log, level=level, method=ratio_method, n=n, context=context)
    else:
        value = 0.0 if v1 == 0 and v2 > 0 else NAN
        ratio = _log_ratio(value, NAN, level=level, method=ratio_method, n=n, context=context)
    return Contrast(diff, ratio, p_value, se1, se2)


def auc_contrast(
    a1: float, var1: float, a2: float, var2: float, *, level: float, n: int, context: str
) -> Contrast:
    """Compare two AUCs of independent samples with their DeLong variances."""
    return _wald_contrast(
        a1,
        a2,
        math.sqrt(var1),
        math.sqrt(var2),
        level=level,
        n=n,
        label="delong",
        context=context,
        bounds=1.0,
    )


def bootstrap_contrast(
    v1: float,
    boot1: npt.NDArray[np.float64],
    v2: float,
    boot2: npt.NDArray[np.float64],
    *,
    level: float,
    n: int,
    context: str,
) -> Contrast:
    """Compare two metric values with bootstrap standard errors of each group."""

    def se(boot: npt.NDArray[np.float64]) -> float:
        kept = boot[np.isfinite(boot)]
        return float(np.std(kept, ddof=1)) if kept.size >= 2 else NAN

    return _wald_contrast(
        v1,
        v2,
        se(boot1),
        se(boot2),
        level=level,
        n=n,
        label="bootstrap-se",
        context=context,
        bounds=math.inf,
    )
