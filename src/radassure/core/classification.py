"""Diagnostic accuracy of binary calls against a binary reference standard.

All proportions carry Wilson score intervals; likelihood ratios carry the
log-method intervals of Simel, Samsa and Matchar (1991); balanced accuracy
combines the Wilson intervals of sensitivity and specificity by the MOVER
square-and-add method (Newcombe 1998; Zou and Donner 2008); F1 maps the Wilson
interval of the Jaccard index ``tp / (tp + fp + fn)`` through the monotone
identity ``F1 = 2J / (1 + J)``. Formulas and references: ``docs/metrics-classification.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from radassure.core._checks import binary_labels, check_level, check_same_length, undefined
from radassure.core._checks import z_value as _z
from radassure.core.intervals import proportion_estimate, proportion_interval
from radassure.core.results import Estimate

__all__ = ["ConfusionCounts", "confusion_counts", "diagnostic_metrics"]

DIAGNOSTIC_KEYS = (
    "sensitivity",
    "specificity",
    "ppv",
    "npv",
    "accuracy",
    "balanced_accuracy",
    "f1",
    "lr_positive",
    "lr_negative",
    "prevalence",
)


@dataclass(frozen=True)
class ConfusionCounts:
    """The four cells of a 2x2 table of calls against the reference standard.

    Attributes
    ----------
    tp, fp, fn, tn : int
        True positives, false positives, false negatives, true negatives.

    """

    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def n(self) -> int:
        """Total number of cases."""
        return self.tp + self.fp + self.fn + self.tn

    @property
    def positives(self) -> int:
        """Cases positive on the reference standard."""
        return self.tp + self.fn

    @property
    def negatives(self) -> int:
        """Cases negative on the reference standard."""
        return self.tn + self.fp


def confusion_counts(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> ConfusionCounts:
    """Count true/false positives/negatives of binary calls.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Reference standard, 0/1 or False/True.
    y_pred : array-like of shape (n,)
        The tool's calls, 0/1 or False/True.

    Returns
    -------
    ConfusionCounts

    Examples
    --------
    >>> confusion_counts([1, 1, 0, 0, 1], [1, 0, 0, 1, 1])
    ConfusionCounts(tp=2, fp=1, fn=1, tn=1)

    """
    truth = binary_labels(y_true, "y_true")
    pred = binary_labels(y_pred, "y_pred")
    check_same_length(y_true=truth, y_pred=pred)
    tp = int(np.count_nonzero(truth & pred))
    fp = int(np.count_nonzero(~truth & pred))
    fn = int(np.count_nonzero(truth & ~pred))
    return ConfusionCounts(tp=tp, fp=fp, fn=fn, tn=truth.size - tp - fp - fn)


def _likelihood_ratio(
    num_k: int, num_n: int, den_k: int, den_n: int, *, level: float, name: str, n: int
) -> Estimate:
    """Ratio of two independent proportions ``(num_k/num_n) / (den_k/den_n)``.

    Log-method interval: ``exp(log(r) +/- z * sqrt(1/a - 1/n1 + 1/b - 1/n2))``.
    """
    method = "log (Simel 1991)"
    nan = math.nan
    if num_n == 0 or den_n == 0:
        undefined(
            f"{name} is undefined because the reference standard has no "
            f"{'positive' if num_n == 0 else 'negative'} cases.",
            stacklevel=4,
        )
        return Estimate(nan, nan, nan, level, method, n)
    if den_k == 0:
        why = "0 / 0" if num_k == 0 else "infinite"
        undefined(
            f"{name} is {why} because its denominator proportion is 0 "
            f"({den_k} of {den_n}); reported as NaN.",
            stacklevel=4,
        )
        return Estimate(nan, nan, nan, level, method, n)
    value = (num_k / num_n) / (den_k / den_n)
    if num_k == 0:
        undefined(
            f"{name} is 0 because its numerator count is 0, so the log-method interval "
            "is undefined; the interval is reported as NaN.",
            stacklevel=4,
        )
        return Estimate(0.0, nan, nan, level, method, n)
    se = math.sqrt(max(0.0, 1 / num_k - 1 / num_n + 1 / den_k - 1 / den_n))
    z = _z(level)
    return Estimate(value, value * math.exp(-z * se), value * math.exp(z * se), level, method, n)


def _balanced_accuracy(sens: Estimate, spec: Estimate, level: float, n: int) -> Estimate:
    method = "mover-wilson"
    if not (sens.defined and spec.defined):
        nan = undefined(
            "balanced_accuracy is undefined because sensitivity or specificity is.",
            stacklevel=4,
        )
        return Estimate(nan, nan, nan, level, method, n)
    value = (sens.value + spec.value) / 2
    low = value - math.hypot(sens.value - sens.ci_low, spec.value - spec.ci_low) / 2
    high = value + math.hypot(sens.ci_high - sens.value, spec.ci_high - spec.value) / 2
    return Estimate(value, max(0.0, low), min(1.0, high), level, method, n)


def _f1(c: ConfusionCounts, level: float) -> Estimate:
    method = "wilson-jaccard"
    m = c.tp + c.fp + c.fn
    if m == 0:
        nan = undefined(
            "f1 is undefined because there are no positive cases and no positive calls.",
            stacklevel=4,
        )
        return Estimate(nan, nan, nan, level, method, c.n)
    j_low, j_high = proportion_interval(c.tp, m, level=level)

    def to_f1(j: float) -> float:
        return 2 * j / (1 + j)

    return Estimate(to_f1(c.tp / m), to_f1(j_low), to_f1(j_high), level, method, c.n)


def diagnostic_metrics(
    y_true: npt.ArrayLike, y_pred: npt.ArrayLike, *, level: float = 0.95
) -> dict[str, Estimate]:
    """Sensitivity, specificity, predictive values and related metrics with intervals.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Reference standard, 0/1 or False/True.
    y_pred : array-like of shape (n,)
        The tool's binary calls, 0/1 or False/True.
    level : float, default 0.95
        Confidence level of every interval.

    Returns
    -------
    dict of str to Estimate
        Keys ``sensitivity``, ``specificity``, ``ppv``, ``npv``, ``accuracy``,
        ``balanced_accuracy``, ``f1``, ``lr_positive``, ``lr_negative`` and
        ``prevalence``. Proportions use Wilson intervals; ``lr_positive`` and
        ``lr_negative`` the log method (Simel et al. 1991);
        ``balanced_accuracy`` the MOVER combination of the Wilson intervals of
        sensitivity and specificity; ``f1`` the Wilson interval of the Jaccard
        index mapped through ``2J / (1 + J)`` (exact mapping, conditional on
        ``tp + fp + fn``). Each Estimate's ``n`` is the denominator the value
        rests on.

    Warns
    -----
    UndefinedMetricWarning
        For each metric whose denominator is zero (for example sensitivity with
        no positive cases); that metric is NaN. A likelihood ratio that is
        infinite (no false positives for LR+, no true negatives for LR-) is NaN
        too; one that is exactly 0 keeps the value 0 with a NaN interval.

    Notes
    -----
    PPV, NPV and accuracy depend on the prevalence of the sample; they transfer
    to another population only if its prevalence is the same.

    Examples
    --------
    >>> m = diagnostic_metrics([1, 1, 1, 1, 0, 0, 0, 0, 0, 0], [1, 1, 1, 0, 0, 0, 0, 0, 0, 1])
    >>> m["sensitivity"].format()
    '0.75 (95% CI 0.30 to 0.95)'
    >>> round(m["lr_positive"].value, 2)
    4.5

    """
    level = check_level(level)
    c = confusion_counts(y_true, y_pred)
    n = c.n

    def prop(k: int, m: int, name: str) -> Estimate:
        return proportion_estimate(k, m, level=level, what=name)

    sens = prop(c.tp, c.positives, "sensitivity")
    spec = prop(c.tn, c.negatives, "specificity")
    out = {
        "sensitivity": sens,
        "specificity": spec,
        "ppv": prop(c.tp, c.tp + c.fp, "ppv (there are no positive calls)"),
        "npv": prop(c.tn, c.tn + c.fn, "npv (there are no negative calls)"),
        "accuracy": prop(c.tp + c.tn, n, "accuracy"),
        "balanced_accuracy": _balanced_accuracy(sens, spec, level, n),
        "f1": _f1(c, level),
        "lr_positive": _likelihood_ratio(
            c.tp, c.positives, c.fp, c.negatives, level=level, name="lr_positive", n=n
        ),
        "lr_negative": _likelihood_ratio(
            c.fn, c.positives, c.tn, c.negatives, level=level, name="lr_negative", n=n
        ),
        "prevalence": prop(c.positives, n, "prevalence"),
    }
    return {key: out[key] for key in DIAGNOSTIC_KEYS}
