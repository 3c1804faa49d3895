"""Result types of :func:`radassure.core.disaggregate`."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from radassure.core._fairness_metrics import MetricDef
from radassure.core.results import Estimate

__all__ = ["Comparison", "Disaggregation", "GroupMetric", "json_float"]


def json_float(x: float) -> float | None:
    """``x`` for JSON: NaN and infinities become None."""
    return x if math.isfinite(x) else None


@dataclass(frozen=True)
class Comparison:
    """One group's metric against a comparator: everyone else, or a reference group.

    Attributes
    ----------
    comparator : str
        ``"everyone else"`` or the label of the reference group.
    comparator_estimate : Estimate
        The metric in the comparator.
    difference : Estimate
        Group minus comparator with its interval (``method`` names it:
        ``"newcombe-hybrid-score"``, ``"delong"`` or ``"bootstrap-se"``).
    ratio : Estimate
        Group divided by comparator with its log-method interval.
    p_value : float
        Two-sided p-value for "no difference" (unadjusted).
    se_group, se_comparator : float
        Standard errors of the metric in each of the two groups.
    comparator_n, comparator_positives : int
        Cases and positive cases in the comparator.

    """

    comparator: str
    comparator_estimate: Estimate
    difference: Estimate
    ratio: Estimate
    p_value: float
    se_group: float
    se_comparator: float
    comparator_n: int
    comparator_positives: int

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-ready dict; NaN becomes None."""
        return {
            "comparator": self.comparator,
            "comparator_estimate": self.comparator_estimate.to_dict(),
            "difference": self.difference.to_dict(),
            "ratio": self.ratio.to_dict(),
            "p_value": json_float(self.p_value),
            "se_group": json_float(self.se_group),
            "se_comparator": json_float(self.se_comparator),
            "comparator_n": self.comparator_n,
            "comparator_positives": self.comparator_positives,
        }


@dataclass(frozen=True)
class GroupMetric:
    """One metric in one group of one attribute.

    Attributes
    ----------
    attribute : str
        Attribute name (``"sex & age_band"`` for an intersection).
    group : str
        Group label (``"F & 80+"`` for an intersection; ``"not recorded"`` for
        missing values).
    metric : str
        Metric name.
    estimate : Estimate
        The metric in the group, with its interval.
    n, positives : int
        Cases and positive cases (reference standard) in the group.
    vs_rest : Comparison or None
        Against everyone not in the group; None when the group has fewer than
        ``min_group_size`` cases or the metric is undefined.
    vs_reference : Comparison or None
        Against the attribute's reference group, when one was chosen.

    """

    attribute: str
    group: str
    metric: str
    estimate: Estimate
    n: int
    positives: int
    vs_rest: Comparison | None
    vs_reference: Comparison | None

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-ready dict; NaN becomes None."""
        return {
            "attribute": self.attribute,
            "group": self.group,
            "metric": self.metric,
            "estimate": self.estimate.to_dict(),
            "n": self.n,
            "positives": self.positives,
            "vs_rest": None if self.vs_rest is None else self.vs_rest.to_dict(),
            "vs_reference": None if self.vs_reference is None else self.vs_reference.to_dict(),
        }


@dataclass(frozen=True)
class Disaggregation:
    """Metrics by group for one or more attributes, with gaps to the rest.

    Attributes
    ----------
    rows : tuple of GroupMetric
        One row per attribute, group and metric, in that order.
    overall : dict of str to Estimate
        Each metric on all cases.
    groups : dict of str to tuple of str
        Group labels of each attribute (and intersection), in report order.
    metric_defs : dict of str to MetricDef
        How each metric was computed and compared (kind, denominator).
    reference_groups : dict of str to str
        Reference group of each attribute that has one.
    n, positives : int
        Cases and positive cases in all.
    level : float
        Confidence level of every interval.
    min_group_size : int
        Groups with fewer cases were not compared.

    """

    rows: tuple[GroupMetric, ...]
    overall: Mapping[str, Estimate]
    groups: Mapping[str, tuple[str, ...]]
    metric_defs: Mapping[str, MetricDef]
    reference_groups: Mapping[str, str]
    n: int
    positives: int
    level: float
    min_group_size: int

    @property
    def metrics(self) -> tuple[str, ...]:
        """Metric names, in the order given."""
        return tuple(self.metric_defs)

    @property
    def attributes(self) -> tuple[str, ...]:
        """Attribute names, intersections last."""
        return tuple(self.groups)

    def get(self, attribute: str, group: str, metric: str) -> GroupMetric:
        """The row of one attribute, group and metric."""
        for row in self.rows:
            if (row.attribute, row.group, row.metric) == (attribute, group, metric):
                return row
        raise KeyError(
            f"No row for attribute {attribute!r}, group {group!r} and metric {metric!r}; "
            f"attributes are {', '.join(map(repr, self.groups))}."
        )

    def by_group(self, metric: str, attribute: str) -> dict[str, Estimate]:
        """Estimates of ``metric`` for each group of ``attribute``."""
        if attribute not in self.groups:
            raise KeyError(f"No attribute {attribute!r}; known: {', '.join(self.groups)}.")
        if metric not in self.metric_defs:
            raise KeyError(f"No metric {metric!r}; known: {', '.join(self.metric_defs)}.")
        return {
            row.group: row.estimate
            for row in self.rows
            if row.attribute == attribute and row.metric == metric
        }

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-ready dict; NaN becomes None."""
        return {
            "n": self.n,
            "positives": self.positives,
            "level": self.level,
            "min_group_size": self.min_group_size,
            "metrics": list(self.metric_defs),
            "overall": {k: v.to_dict() for k, v in self.overall.items()},
            "groups": {k: list(v) for k, v in self.groups.items()},
            "reference_groups": dict(self.reference_groups),
            "rows": [row.to_dict() for row in self.rows],
        }
