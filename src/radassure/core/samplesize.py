"""How many cases a local validation needs, and whether a dataset in hand is enough.

Sensitivity and specificity use Buderer (1996): the number of positive cases
for a Wald interval of half-width ``W`` is ``z**2 * Se * (1 - Se) / W**2``,
divided by the prevalence to give the total. The AUC uses the Hanley and
McNeil (1982) variance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from radassure.core._checks import z_value

__all__ = [
    "AucSampleSize",
    "SampleAdequacy",
    "SampleSize",
    "hanley_mcneil_se",
    "sample_adequacy",
    "sample_size_auc",
    "sample_size_sensitivity_specificity",
]


def _open_unit(value: float, name: str) -> float:
    if not isinstance(value, int | float) or not 0.0 < float(value) < 1.0:
        raise ValueError(f"{name} must be a proportion strictly between 0 and 1 (got {value!r}).")
    return float(value)


def _ceil(x: float) -> int:
    # Guard against round-off turning an exact integer like 139.0 into 139.0000000001.
    return math.ceil(x - 1e-9)


@dataclass(frozen=True)
class SampleSize:
    """Cases needed to estimate sensitivity and specificity to a given precision.

    Attributes
    ----------
    total : int
        Cases to recruit: the larger of the two totals below.
    total_for_sensitivity, total_for_specificity : int
        Total cases so that the expected number of positives (negatives) suffices.
    positives, negatives : int
        Positive and negative cases needed.

    """

    total: int
    total_for_sensitivity: int
    total_for_specificity: int
    positives: int
    negatives: int


def sample_size_sensitivity_specificity(
    sensitivity: float,
    specificity: float,
    prevalence: float,
    *,
    half_width: float,
    level: float = 0.95,
) -> SampleSize:
    """Sample size to estimate sensitivity and specificity (Buderer 1996).

    Parameters
    ----------
    sensitivity, specificity : float
        Anticipated values, in (0, 1).
    prevalence : float
        Anticipated share of positive cases in the population sampled, in (0, 1).
    half_width : float
        Wanted half-width of the confidence intervals, e.g. 0.05 for +/-5 points.
    level : float, default 0.95
        Confidence level.

    Returns
    -------
    SampleSize
        Every count is rounded up.

    Examples
    --------
    >>> s = sample_size_sensitivity_specificity(0.90, 0.85, 0.20, half_width=0.05)
    >>> s.positives, s.negatives, s.total_for_sensitivity, s.total_for_specificity, s.total
    (139, 196, 692, 245, 692)

    """
    se = _open_unit(sensitivity, "sensitivity")
    sp = _open_unit(specificity, "specificity")
    prev = _open_unit(prevalence, "prevalence")
    w = _open_unit(half_width, "half_width")
    z = z_value(level)
    pos = z * z * se * (1 - se) / (w * w)
    neg = z * z * sp * (1 - sp) / (w * w)
    n_se = _ceil(pos / prev)
    n_sp = _ceil(neg / (1 - prev))
    return SampleSize(max(n_se, n_sp), n_se, n_sp, _ceil(pos), _ceil(neg))


def hanley_mcneil_se(auc: float, n_positive: int, n_negative: int) -> float:
    """Standard error of the AUC by the Hanley and McNeil (1982) formula.

    ``var = (A(1-A) + (n1-1)(Q1-A^2) + (n0-1)(Q2-A^2)) / (n1 n0)`` with
    ``Q1 = A / (2 - A)`` and ``Q2 = 2A^2 / (1 + A)``; exact when the scores
    of both classes are exponentially distributed.

    Parameters
    ----------
    auc : float
        Anticipated AUC, in (0, 1).
    n_positive, n_negative : int
        Numbers of positive and negative cases, each at least 1.

    Returns
    -------
    float

    Examples
    --------
    >>> round(hanley_mcneil_se(0.8932, 51, 58), 4)
    0.0325

    """
    a = _open_unit(auc, "auc")
    for name, value in (("n_positive", n_positive), ("n_negative", n_negative)):
        if isinstance(value, bool) or not float(value).is_integer() or value < 1:
            raise ValueError(f"{name} must be a whole number of at least 1 (got {value!r}).")
    q1 = a / (2 - a)
    q2 = 2 * a * a / (1 + a)
    var = (a * (1 - a) + (n_positive - 1) * (q1 - a * a) + (n_negative - 1) * (q2 - a * a)) / (
        n_positive * n_negative
    )
    return math.sqrt(var)


@dataclass(frozen=True)
class AucSampleSize:
    """Cases needed to estimate an AUC to a given precision.

    Attributes
    ----------
    positives, negatives, total : int
        Cases needed.
    expected_half_width : float
        Half-width the Hanley-McNeil variance predicts with these numbers.

    """

    positives: int
    negatives: int
    total: int
    expected_half_width: float


def sample_size_auc(
    auc: float,
    *,
    half_width: float,
    prevalence: float | None = None,
    ratio: float | None = None,
    level: float = 0.95,
) -> AucSampleSize:
    """Sample size for a Wald interval of the AUC (Hanley-McNeil variance).

    Parameters
    ----------
    auc : float
        Anticipated AUC, in (0, 1).
    half_width : float
        Wanted half-width of the confidence interval.
    prevalence : float, optional
        Anticipated share of positive cases; give this or ``ratio``.
    ratio : float, optional
        Negative cases per positive case; give this or ``prevalence``.
    level : float, default 0.95
        Confidence level.

    Returns
    -------
    AucSampleSize
        The fewest positives (with ``ceil(ratio * positives)`` negatives)
        whose expected half-width ``z * SE`` is at most ``half_width``.

    Examples
    --------
    >>> sample_size_auc(0.85, half_width=0.05, ratio=1.0)  # doctest: +ELLIPSIS
    AucSampleSize(positives=117, negatives=117, total=234, expected_half_width=0.0498...)

    """
    a = _open_unit(auc, "auc")
    w = _open_unit(half_width, "half_width")
    if (prevalence is None) == (ratio is None):
        raise ValueError(
            "Give exactly one of prevalence= (share of positive cases) or ratio= "
            "(negative cases per positive case)."
        )
    if prevalence is not None:
        prev = _open_unit(prevalence, "prevalence")
        r = (1 - prev) / prev
    else:
        assert ratio is not None
        if not isinstance(ratio, int | float) or not 0 < ratio < math.inf:
            raise ValueError(f"ratio must be a positive number (got {ratio!r}).")
        r = float(ratio)
    z = z_value(level)

    def half(n_pos: int) -> float:
        return z * hanley_mcneil_se(a, n_pos, max(1, math.ceil(r * n_pos - 1e-9)))

    high = 1
    while half(high) > w:
        high *= 2
    low = max(1, high // 2)
    # The half-width falls with the number of positives: bisect for the first that fits.
    while low < high:
        mid = (low + high) // 2
        if half(mid) <= w:
            high = mid
        else:
            low = mid + 1
    n_neg = max(1, math.ceil(r * low - 1e-9))
    return AucSampleSize(low, n_neg, low + n_neg, half(low))


@dataclass(frozen=True)
class SampleAdequacy:
    """Whether a dataset in hand gives the wanted precision.

    Attributes
    ----------
    adequate : bool
        True when every metric asked about reaches the wanted half-width.
    statement : str
        Plain-language sentences, one per metric.
    expected_half_width : dict of str to float
        Expected half-width per metric with the cases in hand.
    required : dict of str to int
        Cases of the relevant class needed per metric (positives for
        sensitivity and AUC, negatives for specificity).

    """

    adequate: bool
    statement: str
    expected_half_width: dict[str, float] = field(default_factory=dict)
    required: dict[str, int] = field(default_factory=dict)


def sample_adequacy(
    n_positive: int,
    n_negative: int,
    *,
    half_width: float,
    sensitivity: float | None = None,
    specificity: float | None = None,
    auc: float | None = None,
    level: float = 0.95,
) -> SampleAdequacy:
    """Say in plain words whether the cases in hand give the wanted precision.

    Parameters
    ----------
    n_positive, n_negative : int
        Positive and negative cases available.
    half_width : float
        Wanted half-width of each confidence interval.
    sensitivity, specificity, auc : float, optional
        Anticipated (or observed) values of the metrics to assess; give at
        least one.
    level : float, default 0.95
        Confidence level.

    Returns
    -------
    SampleAdequacy
        Expected half-widths use the Wald variance ``p(1-p)/n`` for
        proportions (as Buderer 1996) and Hanley-McNeil for the AUC.

    Examples
    --------
    >>> check = sample_adequacy(45, 300, half_width=0.05, sensitivity=0.9)
    >>> check.adequate
    False
    >>> print(check.statement)  # doctest: +NORMALIZE_WHITESPACE
    With 45 positive cases the 95% CI for a sensitivity near 0.90 will be about
    ±0.088; ±0.050 needs at least 139 positive cases (94 more).

    """
    for name, value in (("n_positive", n_positive), ("n_negative", n_negative)):
        if isinstance(value, bool) or not float(value).is_integer() or value < 1:
            raise ValueError(f"{name} must be a whole number of at least 1 (got {value!r}).")
    w = _open_unit(half_width, "half_width")
    if sensitivity is None and specificity is None and auc is None:
        raise ValueError("Give at least one of sensitivity=, specificity= or auc= to assess.")
    z = z_value(level)
    pct = f"{level * 100:g}%"
    halves: dict[str, float] = {}
    needed: dict[str, int] = {}
    sentences = []
    for name, anticipated, n, kind in (
        ("sensitivity", sensitivity, n_positive, "positive"),
        ("specificity", specificity, n_negative, "negative"),
    ):
        if anticipated is None:
            continue
        p = _open_unit(anticipated, name)
        halves[name] = z * math.sqrt(p * (1 - p) / n)
        needed[name] = _ceil(z * z * p * (1 - p) / (w * w))
        head = f"With {n} {kind} cases the {pct} CI for a {name} near {p:.2f}"
        more = f"{needed[name]} {kind} cases ({max(0, needed[name] - n)} more)"
        sentences.append(_sentence(head, halves[name], w, more))
    if auc is not None:
        a = _open_unit(auc, "auc")
        halves["auc"] = z * hanley_mcneil_se(a, n_positive, n_negative)
        req = sample_size_auc(a, half_width=w, ratio=n_negative / n_positive, level=level)
        needed["auc"] = req.positives
        head = (
            f"With {n_positive} positive and {n_negative} negative cases the {pct} CI for an "
            f"AUC near {a:.2f}"
        )
        more = (
            f"{req.positives} positive and {req.negatives} negative cases "
            f"({max(0, req.positives - n_positive)} more positives at the same ratio)"
        )
        sentences.append(_sentence(head, halves["auc"], w, more))
    adequate = all(halves[k] <= w for k in halves)
    return SampleAdequacy(adequate, " ".join(sentences), halves, needed)


def _sentence(head: str, half: float, w: float, more: str) -> str:
    head = f"{head} will be about ±{half:.3f}"
    if half <= w:
        return f"{head}, within the ±{w:.3f} wanted."
    return f"{head}; ±{w:.3f} needs at least {more}."
