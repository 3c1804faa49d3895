"""Disparity flags a clinician can trust, and the groups too small to judge.

The rule (``docs/equity.md``): a group is flagged for a metric only when its
gap to everyone else is statistically significant after multiple-comparison
control across every group and metric tested, AND larger than the clinical
margin, AND in the direction asked for. Groups whose gap cannot be measured to
within the margin are reported as insufficient data, with the cases needed,
and are never flagged.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Literal

from radassure.core._fairness_types import Disaggregation, GroupMetric
from radassure.core._flag_types import DisparityFlag, DisparityReport, GapTest, InsufficientData
from radassure.core._multiplicity import Correction, adjust_p_values, correction_label
from radassure.core._power import expected_half_width, required_size
from radassure.core._readings import flag_reading, insufficient_reading

__all__ = ["DisparityFlag", "DisparityReport", "GapTest", "InsufficientData", "flag_disparities"]

Direction = Literal["worse", "better", "both"]


def _margins(margin: float | Mapping[str, float], metrics: tuple[str, ...]) -> dict[str, float]:
    given = dict(margin) if isinstance(margin, Mapping) else dict.fromkeys(metrics, margin)
    unknown = sorted(set(given) - set(metrics))
    if unknown:
        raise ValueError(
            f"margin names metric(s) {', '.join(map(repr, unknown))} that the result does not "
            f"hold (metrics: {', '.join(map(repr, metrics))})."
        )
    absent = [m for m in metrics if m not in given]
    if absent:
        raise ValueError(
            f"margin gives no value for metric(s) {', '.join(map(repr, absent))}; give one "
            "margin per metric, e.g. margin={'sensitivity': 0.05, 'auc': 0.03}."
        )
    for name, value in given.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            raise ValueError(
                f"The margin for {name!r} must be a positive number such as 0.05 "
                f"(got {value!r}): it is the smallest gap that matters clinically."
            )
    return {m: float(given[m]) for m in metrics}


def _unit(value: float, name: str, example: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
        raise ValueError(
            f"{name} must be a number strictly between 0 and 1 such as {example} (got {value!r})."
        )
    return float(value)


def flag_disparities(
    result: Disaggregation,
    *,
    margin: float | Mapping[str, float] = 0.05,
    correction: Correction = "holm",
    alpha: float = 0.05,
    direction: Direction = "worse",
    power: float = 0.8,
) -> DisparityReport:
    """Flag groups whose metric differs from everyone else's by more than a margin.

    Parameters
    ----------
    result : Disaggregation
        From :func:`disaggregate`.
    margin : float or mapping of str to float, default 0.05
        Smallest absolute gap that matters clinically, one for all metrics or
        one per metric (e.g. ``{"sensitivity": 0.05, "auc": 0.03}``).
    correction : {"holm", "bh"}, default "holm"
        ``"holm"`` controls the family-wise error rate (Holm 1979): under no
        true gap, the chance of one or more flags is at most ``alpha``.
        ``"bh"`` controls the false discovery rate (Benjamini and Hochberg 1995).
    alpha : float, default 0.05
        Significance level of the corrected tests.
    direction : {"worse", "better", "both"}, default "worse"
        Flag only groups where the metric is lower ("worse"; every metric is
        read as higher-better), higher, or either.
    power : float, default 0.8
        Power used to say how many cases an insufficient group would need.

    Returns
    -------
    DisparityReport
        A row is tested when it was compared with everyone else and the
        expected half-width of its gap's interval is at most the margin;
        otherwise it is listed in ``insufficient``. Across all tested rows
        (every attribute, intersection, group and metric) the two-sided
        p-values are adjusted together; a row is flagged when
        ``p_adjusted <= alpha`` and ``abs(difference) > margin`` and the
        difference points in ``direction``. Requiring the margin only removes
        flags, so the error control of the correction holds.

    Examples
    --------
    >>> import numpy as np
    >>> from radassure.core import disaggregate
    >>> rng = np.random.default_rng(0)
    >>> y = rng.random(4000) < 0.3
    >>> old = rng.random(4000) < 0.25
    >>> calls = y & (rng.random(4000) < np.where(old, 0.70, 0.90))
    >>> age = np.where(old, "80+", "18-79")
    >>> report = flag_disparities(disaggregate("sensitivity", y, calls, groups={"age": age}))
    >>> [(f.group, round(f.difference, 2)) for f in report.flags]
    [('80+', -0.21)]
    >>> print(report.flags[0].reading)  # doctest: +NORMALIZE_WHITESPACE
    Sensitivity for patients with age 80+ is 0.69 (95% CI 0.63 to 0.73), 0.21 lower than
    for everyone else (0.90); the gap is larger than the 0.05 margin and unlikely to be
    chance (Holm-adjusted p < 0.001).
    >>> print(report.insufficient[0].reading)  # doctest: +NORMALIZE_WHITESPACE
    Sensitivity for patients with age 18-79 is 0.90 (95% CI 0.87 to 0.91), but with 2,971
    cases (893 positive) the 95% CI of its gap to everyone else would be about ±0.06, wider
    than the 0.05 margin, so the data cannot tell such a gap from none. No group size would
    detect a gap of 0.05: everyone else is itself too few or too uncertain.

    """
    if not isinstance(result, Disaggregation):
        raise ValueError(f"result must come from disaggregate() (got {type(result).__name__}).")
    margins = _margins(margin, result.metrics)
    if correction not in ("holm", "bh"):
        raise ValueError(f"correction must be 'holm' or 'bh' (got {correction!r}).")
    if direction not in ("worse", "better", "both"):
        raise ValueError(f"direction must be 'worse', 'better' or 'both' (got {direction!r}).")
    alpha = _unit(alpha, "alpha", "0.05")
    power = _unit(power, "power", "0.8")
    tested: list[GroupMetric] = []
    insufficient: list[InsufficientData] = []
    for row in result.rows:
        d = result.metric_defs[row.metric]
        delta = margins[row.metric]
        half = expected_half_width(row, d, result)
        reason = None
        if not row.estimate.defined:
            reason = "undefined"
        elif row.vs_rest is None and row.n < result.min_group_size:
            reason = "too few cases"
        elif row.vs_rest is None or not math.isfinite(row.vs_rest.p_value):
            reason = "undefined"
        elif half > delta:
            reason = "imprecise"
        if reason is None:
            tested.append(row)
            continue
        need = required_size(
            row, d, result, delta=delta, alpha=alpha, power=power, direction=direction
        )
        text = insufficient_reading(
            row,
            d,
            result,
            reason=reason,
            half=half,
            need=need,
            margin=delta,
            power=power,
            alpha=alpha,
        )
        insufficient.append(
            InsufficientData(
                row.attribute,
                row.group,
                row.metric,
                row.estimate,
                row.n,
                row.positives,
                reason,
                half,
                d.denominator,
                None if need is None else need.denominator,
                None if need is None else need.cases,
                None if need is None else need.positives,
                text,
            )
        )
    p = [row.vs_rest.p_value for row in tested if row.vs_rest is not None]
    adjusted = adjust_p_values(p, method=correction).tolist() if p else []
    tests: list[GapTest] = []
    flags: list[DisparityFlag] = []
    for row, p_adj in zip(tested, adjusted, strict=True):
        c = row.vs_rest
        assert c is not None
        diff = c.difference.value
        significant = p_adj <= alpha
        beyond = abs(diff) > margins[row.metric]
        pointing = direction == "both" or (diff < 0) == (direction == "worse")
        flagged = significant and beyond and pointing and diff != 0
        tests.append(
            GapTest(
                row.attribute,
                row.group,
                row.metric,
                c.difference,
                c.p_value,
                p_adj,
                significant,
                beyond,
                flagged,
            )
        )
        if not flagged:
            continue
        d = result.metric_defs[row.metric]
        text = flag_reading(
            row, d, margin=margins[row.metric], p_adjusted=p_adj, label=correction_label(correction)
        )
        e = row.estimate
        flags.append(
            DisparityFlag(
                row.attribute,
                row.group,
                row.metric,
                e.value,
                (e.ci_low, e.ci_high),
                c.comparator_estimate.value,
                c.comparator,
                diff,
                (c.difference.ci_low, c.difference.ci_high),
                c.ratio.value,
                (c.ratio.ci_low, c.ratio.ci_high),
                c.p_value,
                p_adj,
                margins[row.metric],
                row.n,
                row.positives,
                e.level,
                text,
            )
        )
    return DisparityReport(
        tuple(flags),
        tuple(insufficient),
        tuple(tests),
        margins,
        correction,
        alpha,
        power,
        direction,
    )
