"""Plain-language sentences for disparity flags and insufficient-data groups."""

from __future__ import annotations

import math

from radassure.core._fairness_metrics import MetricDef
from radassure.core._fairness_types import Disaggregation, GroupMetric
from radassure.core._power import Requirement

__all__ = ["describe_group", "flag_reading", "format_p", "insufficient_reading"]


def describe_group(attribute: str, group: str) -> str:
    """``"patients with age band 80+"``; intersections join with ``"and"``.

    Examples
    --------
    >>> describe_group("sex & age_band", "F & 80+")
    'patients with sex F and age band 80+'

    """
    parts = attribute.split(" & ")
    labels = group.split(" & ")
    if len(parts) != len(labels):
        parts, labels = [attribute], [group]
    return "patients with " + " and ".join(
        f"{a.replace('_', ' ')} {g}" for a, g in zip(parts, labels, strict=True)
    )


def format_p(p: float) -> str:
    """``"p = 0.002"`` or ``"p < 0.001"``.

    Examples
    --------
    >>> format_p(0.0021), format_p(1e-7)
    ('p = 0.002', 'p < 0.001')

    """
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def flag_reading(
    row: GroupMetric, d: MetricDef, *, margin: float, p_adjusted: float, label: str
) -> str:
    """The sentence of one flag."""
    c = row.vs_rest
    assert c is not None
    diff = c.difference.value
    way = "lower" if diff < 0 else "higher"
    return (
        f"{_title(d)} for {describe_group(row.attribute, row.group)} is "
        f"{row.estimate.format()}, {abs(diff):.2f} {way} than for everyone else "
        f"({c.comparator_estimate.value:.2f}); the gap is larger than the {margin:g} margin "
        f"and unlikely to be chance ({label}-adjusted {format_p(p_adjusted)})."
    )


def _title(d: MetricDef) -> str:
    return d.display[:1].upper() + d.display[1:]


def _count(n: int, positives: int) -> str:
    return f"{n:,} case{'s' if n != 1 else ''} ({positives:,} positive)"


def insufficient_reading(
    row: GroupMetric,
    d: MetricDef,
    result: Disaggregation,
    *,
    reason: str,
    half: float,
    need: Requirement | None,
    margin: float,
    power: float,
    alpha: float,
) -> str:
    """The sentence of one insufficient-data entry."""
    who = describe_group(row.attribute, row.group)
    have = _count(row.n, row.positives)
    pct = f"{result.level * 100:g}%"
    if reason == "undefined":
        head = (
            f"{_title(d)} for {who} ({row.n:,} cases, {row.positives:,} positive) cannot be "
            f"computed or compared: {d.why_undefined}."
        )
    elif reason == "too few cases":
        head = (
            f"{_title(d)} for {who} is {row.estimate.format()}, but {have} are fewer than "
            f"the {result.min_group_size} needed for a comparison."
        )
    else:
        head = (
            f"{_title(d)} for {who} is {row.estimate.format()}, but with {have} the {pct} CI "
            f"of its gap to everyone else would be about ±{half:.2f}, wider "
            f"than the {margin:g} margin, so the data cannot tell such a gap from none."
        )
    if need is None:
        tail = (
            f" No group size would detect a gap of {margin:g}: everyone else is itself "
            "too few or too uncertain."
        )
    else:
        more = ""
        if d.denominator not in ("cases", "positive cases"):
            more = f", {need.denominator:,} {d.denominator}"
        tail = (
            f" About {need.cases:,} cases ({need.positives:,} positive{more}) would be needed "
            f"to detect a gap of {margin:g} with {power * 100:g}% power (two-sided "
            f"alpha {alpha:g})."
        )
    if not math.isfinite(half) and reason == "imprecise":
        tail = " The precision of the gap cannot be computed." + tail
    return head + tail
