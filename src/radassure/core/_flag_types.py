"""Result types of :func:`radassure.core.flag_disparities`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

from radassure.core._fairness_types import json_float
from radassure.core.results import Estimate

__all__ = ["DisparityFlag", "DisparityReport", "GapTest", "InsufficientData"]


def _jsonable(obj: object) -> dict[str, object]:
    out: dict[str, object] = {}
    for f in fields(obj):  # type: ignore[arg-type]
        value = getattr(obj, f.name)
        if isinstance(value, float):
            value = json_float(value)
        elif isinstance(value, tuple):
            value = [json_float(v) if isinstance(v, float) else v for v in value]
        elif isinstance(value, Estimate):
            value = value.to_dict()
        out[f.name] = value
    return out


@dataclass(frozen=True)
class DisparityFlag:
    """A group for which a metric is meaningfully and significantly worse (or better).

    Attributes
    ----------
    attribute, group, metric : str
        Where the gap is.
    estimate : float
        The metric in the group; ``estimate_ci`` its interval.
    reference : float
        The metric in everyone else (``reference_group`` says so).
    difference : float
        ``estimate - reference``; ``difference_ci`` its Newcombe, DeLong or
        bootstrap interval; ``ratio`` and ``ratio_ci`` the ratio.
    p_value, p_adjusted : float
        Two-sided p-value for no difference, and after the correction.
    margin : float
        The clinical margin the gap exceeds.
    n, positives : int
        Cases and positive cases in the group.
    level : float
        Confidence level of the intervals.
    reading : str
        The finding in plain words.

    """

    attribute: str
    group: str
    metric: str
    estimate: float
    estimate_ci: tuple[float, float]
    reference: float
    reference_group: str
    difference: float
    difference_ci: tuple[float, float]
    ratio: float
    ratio_ci: tuple[float, float]
    p_value: float
    p_adjusted: float
    margin: float
    n: int
    positives: int
    level: float
    reading: str

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-ready dict (NaN becomes None, intervals become lists)."""
        return _jsonable(self)


@dataclass(frozen=True)
class InsufficientData:
    """A group and metric too small (or undefined) to conclude anything; never flagged.

    Attributes
    ----------
    attribute, group, metric : str
        Which group and metric.
    estimate : Estimate
        The metric in the group (NaN when undefined).
    n, positives : int
        Cases and positive cases in the group.
    reason : str
        ``"undefined"`` (the metric cannot be computed), ``"too few cases"``
        (fewer than ``min_group_size``, not compared) or ``"imprecise"`` (the
        gap's interval would be wider than the margin).
    expected_half_width : float
        Expected half-width of the gap's interval if the group performed like
        everyone else (``inf`` when it cannot be computed).
    denominator : str
        What the metric counts (``"positive cases"`` for sensitivity).
    required_denominator, required_cases, required_positives : int or None
        Group size to detect a gap of the margin with the wanted power; None
        when no group size would do (everyone else is too uncertain).
    reading : str
        The situation in plain words.

    """

    attribute: str
    group: str
    metric: str
    estimate: Estimate
    n: int
    positives: int
    reason: str
    expected_half_width: float
    denominator: str
    required_denominator: int | None
    required_cases: int | None
    required_positives: int | None
    reading: str

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-ready dict; NaN and infinity become None."""
        return _jsonable(self)


@dataclass(frozen=True)
class GapTest:
    """One gap in the tested family, flagged or not.

    Attributes
    ----------
    attribute, group, metric : str
        Which group and metric.
    difference : Estimate
        Group minus everyone else.
    p_value, p_adjusted : float
        Unadjusted and adjusted two-sided p-values.
    significant : bool
        ``p_adjusted <= alpha``.
    beyond_margin : bool
        ``abs(difference) > margin``.
    flagged : bool
        Significant, beyond the margin and in the direction asked for.

    """

    attribute: str
    group: str
    metric: str
    difference: Estimate
    p_value: float
    p_adjusted: float
    significant: bool
    beyond_margin: bool
    flagged: bool

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-ready dict; NaN becomes None."""
        return _jsonable(self)


@dataclass(frozen=True)
class DisparityReport:
    """Flags, insufficient-data groups and every test behind them.

    Attributes
    ----------
    flags : tuple of DisparityFlag
        The gaps that meet the rule.
    insufficient : tuple of InsufficientData
        Groups and metrics not tested, with the cases needed.
    tests : tuple of GapTest
        Every gap in the family the correction ran over.
    margins : dict of str to float
        Margin per metric.
    correction : str
        ``"holm"`` or ``"bh"``.
    alpha, power : float
        Significance level and the power used for required sizes.
    direction : str
        ``"worse"``, ``"better"`` or ``"both"``.

    """

    flags: tuple[DisparityFlag, ...]
    insufficient: tuple[InsufficientData, ...]
    tests: tuple[GapTest, ...]
    margins: Mapping[str, float]
    correction: str
    alpha: float
    power: float
    direction: str

    @property
    def n_tests(self) -> int:
        """Number of gaps tested (the size of the family)."""
        return len(self.tests)

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-ready dict."""
        return {
            "flags": [f.to_dict() for f in self.flags],
            "insufficient": [i.to_dict() for i in self.insufficient],
            "tests": [t.to_dict() for t in self.tests],
            "margins": dict(self.margins),
            "correction": self.correction,
            "alpha": self.alpha,
            "power": self.power,
            "direction": self.direction,
            "n_tests": self.n_tests,
        }
