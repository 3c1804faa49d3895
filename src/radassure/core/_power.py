"""Whether a group is large enough to compare, and how many cases it would need.

Two numbers per group and metric, both for the gap between the group and
everyone else at the margin ``delta`` that matters clinically:

* the expected half-width of the gap's confidence interval if the group
  performed like everyone else; above ``delta`` the data cannot tell a gap of
  the margin's size from no gap, and the group is "insufficient data";
* the group size that would detect a gap of ``delta`` with the wanted power
  (80% by default) by a two-sided test at ``alpha``, holding everyone else as
  observed.

Formulas (``docs/equity.md``): for proportions the two-proportion test with a
pooled null variance (Fleiss, Levin and Paik 2003, without continuity
correction); for the AUC the Hanley and McNeil (1982) variance; for other
metrics the bootstrap variance, scaled as ``1 / n``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from statistics import NormalDist

from radassure.core._fairness_metrics import MetricDef
from radassure.core._fairness_types import Disaggregation, GroupMetric
from radassure.core.samplesize import hanley_mcneil_se

__all__ = ["Requirement", "expected_half_width", "required_size"]

_CAP = 10**9


@dataclass(frozen=True)
class Requirement:
    """Group size a test would need: in the metric's denominator, cases and positives."""

    denominator: int
    cases: int
    positives: int


@dataclass(frozen=True)
class _Rest:
    value: float
    den: int
    cases: int
    positives: int
    se: float


def _smallest(ok: Callable[[int], bool]) -> int | None:
    """Smallest ``n >= 1`` with ``ok(n)`` for a monotone ``ok``; None past the cap."""
    high = 1
    while not ok(high):
        high *= 2
        if high > _CAP:
            return None
    low = max(1, high // 2)
    while low < high:
        mid = (low + high) // 2
        if ok(mid):
            high = mid
        else:
            low = mid + 1
    return low


def _alternative(value: float, delta: float, direction: str, top: float) -> float | None:
    sign = 1.0 if direction == "better" else -1.0
    for alt in (value + sign * delta, value - sign * delta):
        if 0.0 < alt < top:
            return alt
    return None


_NORMAL = NormalDist()


def proportion_power(n_g: int, p_g: float, p_r: float, n_r: int, z_a: float) -> float:
    """Power of the pooled two-proportion test of ``n_g`` cases at ``p_g`` vs ``n_r`` at ``p_r``.

    ``Phi((|p_g - p_r| - z_a * se0) / se1)`` with ``se0`` the pooled (null)
    and ``se1`` the unpooled (alternative) standard error; the far tail is
    ignored.
    """
    pooled = (n_g * p_g + n_r * p_r) / (n_g + n_r)
    se0 = math.sqrt(pooled * (1 - pooled) * (1 / n_g + 1 / n_r))
    se1 = math.sqrt(p_g * (1 - p_g) / n_g + p_r * (1 - p_r) / n_r)
    return _NORMAL.cdf((abs(p_g - p_r) - z_a * se0) / se1)


def _auc_se(auc: float, pos: int, neg: int) -> float:
    if pos < 1 or neg < 1:
        return math.inf
    return hanley_mcneil_se(min(max(auc, 1e-3), 1 - 1e-3), pos, neg)


def _rest(row: GroupMetric, d: MetricDef, result: Disaggregation) -> _Rest:
    if row.vs_rest is not None:
        c = row.vs_rest
        return _Rest(
            c.comparator_estimate.value,
            c.comparator_estimate.n,
            c.comparator_n,
            c.comparator_positives,
            c.se_comparator,
        )
    # Not compared (too small or undefined): everyone else is nearly everyone.
    overall = result.overall[row.metric]
    cases, positives = result.n - row.n, result.positives - row.positives
    den = overall.n - row.estimate.n if d.kind == "proportion" else cases
    value = overall.value
    if d.kind == "proportion" and den > 0:
        se = math.sqrt(value * (1 - value) / den)
    elif d.kind == "auc":
        se = _auc_se(value, positives, cases - positives)
    else:
        se = math.nan
    return _Rest(value, den, cases, positives, se)


def expected_half_width(row: GroupMetric, d: MetricDef, result: Disaggregation) -> float:
    """Half-width of the gap's interval if the group performed like everyone else.

    Proportions: ``z * sqrt(p~ (1 - p~) (1/n_g + 1/n_r))`` with ``p~`` the rate
    of everyone else shrunk as ``(k_r + 2) / (n_r + 4)`` (Agresti and Caffo
    2000), so that a rate of exactly 0 or 1 never gives a zero width; ``n_g``
    and ``n_r`` count the metric's denominator (positive cases for
    sensitivity). AUC: ``z * sqrt(SE_HM(A_r; pos_g, neg_g)**2 + SE_r**2)``.
    Other metrics: ``z * sqrt(SE_g**2 + SE_r**2)`` from the bootstrap.
    """
    z = _NORMAL.inv_cdf(0.5 + result.level / 2)
    rest = _rest(row, d, result)
    if not math.isfinite(rest.value):
        return math.inf
    if d.kind == "proportion":
        den = row.estimate.n
        if not den or not rest.den:
            return math.inf
        shrunk = (round(rest.value * rest.den) + 2) / (rest.den + 4)
        return z * math.sqrt(shrunk * (1 - shrunk) * (1 / den + 1 / rest.den))
    if d.kind == "auc":
        rest_var = rest.se**2 if math.isfinite(rest.se) else math.inf
        return z * math.sqrt(
            _auc_se(rest.value, row.positives, row.n - row.positives) ** 2 + rest_var
        )
    se_g = row.vs_rest.se_group if row.vs_rest is not None else math.nan
    half = z * math.hypot(se_g, rest.se)
    return half if math.isfinite(half) else math.inf


def required_size(
    row: GroupMetric,
    d: MetricDef,
    result: Disaggregation,
    *,
    delta: float,
    alpha: float,
    power: float,
    direction: str,
) -> Requirement | None:
    """Group size to detect a gap of ``delta`` with ``power`` (None: no size would do)."""
    z_a = _NORMAL.inv_cdf(1 - alpha / 2)
    z_sum = z_a + _NORMAL.inv_cdf(power)
    rest = _rest(row, d, result)
    prevalence = (row.positives / row.n) if row.positives else result.positives / result.n
    alt = _alternative(rest.value, delta, direction, 1.0)
    if not math.isfinite(rest.value):
        return None
    if d.kind == "proportion":
        if alt is None or not rest.den:
            return None
        p_alt, p_r, n_r = alt, rest.value, rest.den
        need = _smallest(lambda n_g: proportion_power(n_g, p_alt, p_r, n_r, z_a) >= power)
        if need is None:
            return None
        den = row.estimate.n
        overall = result.overall[row.metric]
        per_unit = row.n / den if den else result.n / max(overall.n, 1)
        cases = math.ceil(need * per_unit - 1e-9)
        positives = need if d.denominator == "positive cases" else math.ceil(cases * prevalence)
        return Requirement(need, cases, positives)
    if d.kind == "auc":
        pos, neg = row.positives, row.n - row.positives
        rest_var = rest.se**2
        ratio = neg / pos if pos and neg else (result.n - result.positives) / result.positives
        if alt is None or not math.isfinite(rest_var):
            return None
        a_alt = alt

        def enough(n_p: int) -> bool:
            n_n = max(1, math.ceil(ratio * n_p - 1e-9))
            return z_sum * math.sqrt(_auc_se(a_alt, n_p, n_n) ** 2 + rest_var) <= delta

        need = _smallest(enough)
        if need is None:
            return None
        return Requirement(need, need + max(1, math.ceil(ratio * need - 1e-9)), need)
    se_g = row.vs_rest.se_group if row.vs_rest is not None else math.nan
    room = (delta / z_sum) ** 2 - rest.se**2
    if not (math.isfinite(se_g) and math.isfinite(room)) or room <= 0:
        return None
    cases = max(1, math.ceil(row.n * se_g**2 / room - 1e-9))
    return Requirement(cases, cases, math.ceil(cases * prevalence))
