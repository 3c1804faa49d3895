"""Data types of the subgroup-aware surveillance monitor (re-exported by ``surveillance``).

Every type round-trips through JSON (``to_dict`` / ``from_dict``) exactly: the
lattice statistic is an integer and floats are written with ``repr`` precision,
so a resumed monitor continues bit for bit where it stopped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

__all__ = [
    "OUTCOMES",
    "SCORE_OUTCOMES",
    "Alarm",
    "ChartPoint",
    "ChartSpec",
    "SurveillanceDesign",
    "SurveillanceState",
]

#: The chartable outcomes and the reference class each one is observed in.
OUTCOMES = {"misses": "positives", "false_positives": "negatives", "score_drop": "positives"}

#: Outcomes charted from the scores of the cases rather than from events.
SCORE_OUTCOMES = frozenset({"score_drop"})


def _get(data: Mapping[str, object], name: str, where: str) -> object:
    if name not in data:
        raise ValueError(
            f"{where} has no field {name!r}; pass the dict written by to_dict() unchanged."
        )
    return data[name]


def _num(data: Mapping[str, object], name: str, where: str) -> float:
    value = _get(data, name, where)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{where} field {name!r} must be a number (got {value!r}).")
    return float(value)


def _int(data: Mapping[str, object], name: str, where: str) -> int:
    value = _get(data, name, where)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{where} field {name!r} must be an integer (got {value!r}).")
    return value


def _opt_str(data: Mapping[str, object], name: str, where: str) -> str | None:
    value = _get(data, name, where)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{where} field {name!r} must be a string or null (got {value!r}).")
    return value


def _seq(data: Mapping[str, object], name: str, where: str) -> Sequence[object]:
    value = _get(data, name, where)
    if not isinstance(value, list | tuple):
        raise ValueError(f"{where} field {name!r} must be a list (got {type(value).__name__}).")
    return value


@dataclass(frozen=True)
class ChartSpec:
    """One CUSUM of the surveillance family (Bernoulli, or normal on scores for ``score_drop``).

    Attributes
    ----------
    key : str
        Unique name, e.g. ``"misses"``, ``"misses|site=NWG"``, ``"false_positives"``.
    outcome : str
        ``"misses"`` (events among reference-positive cases) or ``"false_positives"``
        (events among reference-negative cases).
    attribute, group : str or None
        The subgroup charted (``None`` for the overall chart); ``group`` is
        ``"other"`` for the pooled small groups listed in ``members``.
    p0, p1 : float
        In-control event rate and the out-of-control rate the chart is tuned to.
    share : float
        This chart's share of the family's false-alarm hazard per study.
    members : tuple of str
        Group values pooled into an ``"other"`` chart (empty otherwise).
    class_rate : float
        Baseline share of studies in the chart's reference class (prevalence for
        misses, 1 - prevalence for false positives).
    group_share : float
        Baseline share of that class falling in the chart's group (1 overall).
    baseline_n, baseline_events : int
        The baseline observations and events the chart's ``p0`` came from.
    step : float
        Lattice step: the statistic is ``step`` times an integer.
    up, down : int
        Lattice moves for an event and a non-event.
    table_states, table_log_arl : tuple
        Threshold table: integer thresholds (in lattice steps) and the natural
        log of the exact in-control ARL (in the chart's own observations).
    reference, centre, scale : float
        Score charts only (outcome ``"score_drop"``): the CUSUM's reference value
        ``k`` and the in-control centre and scale of the transformed scores
        (see :mod:`radassure.core._surveillance_scores`); ``p1`` is then the shift,
        in standard deviations, the chart is tuned to, and ``p0`` is 0.

    Examples
    --------
    >>> c = ChartSpec("misses", "misses", None, None, 0.1, 0.2, 1.0)
    >>> ChartSpec.from_dict(c.to_dict()) == c
    True

    """

    key: str
    outcome: str
    attribute: str | None
    group: str | None
    p0: float
    p1: float
    share: float
    members: tuple[str, ...] = ()
    class_rate: float = math.nan
    group_share: float = 1.0
    baseline_n: int = 0
    baseline_events: int = 0
    step: float = math.nan
    up: int = 0
    down: int = 0
    table_states: tuple[int, ...] = ()
    table_log_arl: tuple[float, ...] = ()
    reference: float = math.nan
    centre: float = 0.0
    scale: float = 1.0

    @property
    def is_score(self) -> bool:
        """True for a chart on scores (a normal CUSUM), False for a Bernoulli chart."""
        return self.outcome in SCORE_OUTCOMES

    @property
    def baseline_rate(self) -> float:
        """Baseline observations of this chart per study."""
        return self.class_rate * self.group_share

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-ready dict (NaN becomes None)."""
        out = asdict(self)
        out["members"] = list(self.members)
        out["table_states"] = list(self.table_states)
        out["table_log_arl"] = list(self.table_log_arl)
        for name in ("class_rate", "step", "reference"):
            if isinstance(out[name], float) and math.isnan(out[name]):
                out[name] = None
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> ChartSpec:
        """Rebuild a chart from :meth:`to_dict` output."""
        where = "ChartSpec"
        key = _get(data, "key", where)
        outcome = _get(data, "outcome", where)
        if not isinstance(key, str) or outcome not in OUTCOMES:
            raise ValueError(
                f"ChartSpec needs a string key and an outcome in {sorted(OUTCOMES)} "
                f"(got key={key!r}, outcome={outcome!r})."
            )

        def nan_or(name: str) -> float:
            return math.nan if data.get(name) is None else _num(data, name, where)

        return cls(
            key=key,
            outcome=str(outcome),
            attribute=_opt_str(data, "attribute", where),
            group=_opt_str(data, "group", where),
            p0=_num(data, "p0", where),
            p1=_num(data, "p1", where),
            share=_num(data, "share", where),
            members=tuple(str(m) for m in data.get("members", ()) or ()),  # type: ignore[attr-defined]
            class_rate=nan_or("class_rate"),
            group_share=float(data.get("group_share", 1.0)),  # type: ignore[arg-type]
            baseline_n=int(data.get("baseline_n", 0)),  # type: ignore[call-overload]
            baseline_events=int(data.get("baseline_events", 0)),  # type: ignore[call-overload]
            step=nan_or("step"),
            up=int(data.get("up", 0)),  # type: ignore[call-overload]
            down=int(data.get("down", 0)),  # type: ignore[call-overload]
            table_states=tuple(int(v) for v in data.get("table_states", ()) or ()),  # type: ignore[attr-defined]
            table_log_arl=tuple(float(v) for v in data.get("table_log_arl", ()) or ()),  # type: ignore[attr-defined]
            reference=nan_or("reference") if "reference" in data else math.nan,
            centre=float(data.get("centre", 0.0)),  # type: ignore[arg-type]
            scale=float(data.get("scale", 1.0)),  # type: ignore[arg-type]
        )


@dataclass(frozen=True)
class SurveillanceDesign:
    """A family of CUSUMs (Bernoulli, and normal on scores) sharing one budget stated per study.

    Attributes
    ----------
    charts : tuple of ChartSpec
    arl0_cases : float
        Joint in-control ARL0 of the whole family, in cases (studies).
    min_events : int
        An alarm needs at least this many events in the current excursion.
    rate_halflife_days : float
        Half-life of the running estimate of each class's share of studies
        (prevalence), used to re-derive thresholds.
    mix_halflife_days : float
        Half-life of the running estimate of each group's share of its class.
    adapt_to_rate : bool
        False freezes every threshold at its baseline value (the textbook chart
        calibrated for the baseline case mix); for comparison only.
    seed : int
        Salt of the fixed pseudo-random order of cases within one day.
    notes : tuple of str
        What the design did with small groups, in words.
    score_knots : tuple of float
        Quantiles of the baseline positives' scores that the score charts map
        new scores through (empty when the design has no score charts).

    Examples
    --------
    >>> d = SurveillanceDesign((), 73_000.0, 3)
    >>> SurveillanceDesign.from_dict(d.to_dict()) == d
    True

    """

    charts: tuple[ChartSpec, ...]
    arl0_cases: float
    min_events: int
    rate_halflife_days: float = 4.0
    mix_halflife_days: float = 28.0
    adapt_to_rate: bool = True
    seed: int = 0
    notes: tuple[str, ...] = ()
    score_knots: tuple[float, ...] = ()

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-ready dict."""
        return {
            "score_knots": list(self.score_knots),
            "charts": [c.to_dict() for c in self.charts],
            "arl0_cases": self.arl0_cases,
            "min_events": self.min_events,
            "rate_halflife_days": self.rate_halflife_days,
            "mix_halflife_days": self.mix_halflife_days,
            "adapt_to_rate": self.adapt_to_rate,
            "seed": self.seed,
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> SurveillanceDesign:
        """Rebuild a design from :meth:`to_dict` output."""
        where = "SurveillanceDesign"
        charts = []
        for item in _seq(data, "charts", where):
            if not isinstance(item, Mapping):
                raise ValueError("SurveillanceDesign field 'charts' must be a list of dicts.")
            charts.append(ChartSpec.from_dict(item))
        return cls(
            charts=tuple(charts),
            arl0_cases=_num(data, "arl0_cases", where),
            min_events=_int(data, "min_events", where),
            rate_halflife_days=_num(data, "rate_halflife_days", where),
            mix_halflife_days=_num(data, "mix_halflife_days", where),
            adapt_to_rate=bool(_get(data, "adapt_to_rate", where)),
            seed=_int(data, "seed", where),
            notes=tuple(str(n) for n in _seq(data, "notes", where)),
            score_knots=tuple(float(v) for v in data.get("score_knots", ()) or ()),  # type: ignore[attr-defined]
        )

    def false_alarm_probability(self, n_cases: int) -> float:
        """Chance of any false alarm within ``n_cases`` studies at the baseline case mix.

        Each chart's run length is taken as geometric with its exact lattice
        ARL0 at the baseline threshold, and the charts as independent; both
        approximations overstate the chance slightly (the zero-state chart
        starts slowly and the charts share data), so the answer is an upper
        bound in practice.

        Examples
        --------
        >>> SurveillanceDesign((), 73_000.0, 3).false_alarm_probability(1000)
        0.0

        """
        from radassure.core._surveillance_engine import baseline_hazard

        if isinstance(n_cases, bool) or not isinstance(n_cases, int) or n_cases < 0:
            raise ValueError(f"n_cases must be a non-negative integer (got {n_cases!r}).")
        hazard = sum(baseline_hazard(self, chart) for chart in self.charts)
        return max(0.0, -math.expm1(-n_cases * hazard))


@dataclass
class SurveillanceState:
    """Everything the monitor needs to resume: one entry per chart, in design order.

    ``statistic`` is in lattice steps (multiply by the chart's ``step``);
    ``excursion_start`` is the day the current excursion left zero (-1 when the
    chart is at zero). The four rate sums are exponentially weighted counts
    behind the running prevalence and group-mix estimates (0 before the first day).

    Examples
    --------
    >>> s = SurveillanceState(None, ["misses"], [0], [0], [-1], [0.0], [0.0], [0.0], [0.0])
    >>> SurveillanceState.from_dict(s.to_dict()) == s
    True

    """

    day: int | None
    keys: list[str]
    statistic: list[int]
    excursion_events: list[int]
    excursion_start: list[int]
    fast_class: list[float]
    fast_studies: list[float]
    slow_group: list[float]
    slow_class: list[float]
    days_seen: int = field(default=0)

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> SurveillanceState:
        """Rebuild a state from :meth:`to_dict` output."""
        where = "SurveillanceState"
        day = _get(data, "day", where)
        if day is not None and (isinstance(day, bool) or not isinstance(day, int)):
            raise ValueError(f"SurveillanceState field 'day' must be an integer or null ({day!r}).")
        keys = [str(k) for k in _seq(data, "keys", where)]
        lists: dict[str, list[object]] = {}
        for name in (
            "statistic",
            "excursion_events",
            "excursion_start",
            "fast_class",
            "fast_studies",
            "slow_group",
            "slow_class",
        ):
            values = list(_seq(data, name, where))
            if len(values) != len(keys):
                raise ValueError(
                    f"SurveillanceState field {name!r} has {len(values)} entries for "
                    f"{len(keys)} charts; pass the dict written by to_dict() unchanged."
                )
            lists[name] = values
        return cls(
            day=day,
            keys=keys,
            statistic=[int(v) for v in lists["statistic"]],  # type: ignore[call-overload]
            excursion_events=[int(v) for v in lists["excursion_events"]],  # type: ignore[call-overload]
            excursion_start=[int(v) for v in lists["excursion_start"]],  # type: ignore[call-overload]
            fast_class=[float(v) for v in lists["fast_class"]],  # type: ignore[arg-type]
            fast_studies=[float(v) for v in lists["fast_studies"]],  # type: ignore[arg-type]
            slow_group=[float(v) for v in lists["slow_group"]],  # type: ignore[arg-type]
            slow_class=[float(v) for v in lists["slow_class"]],  # type: ignore[arg-type]
            days_seen=_int(data, "days_seen", where),
        )


@dataclass(frozen=True)
class ChartPoint:
    """One chart on one day, for plotting and JSON.

    ``statistic`` is the end-of-day value, or the value at the alarm on an alarm
    day (the chart then restarts from zero); ``events`` are the events in the
    current excursion; ``n`` the chart's observations that day.

    Examples
    --------
    >>> ChartPoint("misses", 3, 1.5, 5.2, 4, 20).to_dict()["alarm"]
    False

    """

    key: str
    day: int
    statistic: float
    threshold: float
    events: int
    n: int
    alarm: bool = False

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class Alarm:
    """A chart that signalled: which one, when, how strongly and since when.

    Examples
    --------
    >>> a = Alarm("misses|site=A", "misses", "site", "A", 12, 5.4, 5.2, 9, 6)
    >>> a.to_dict()["change_day"]
    9

    """

    key: str
    outcome: str
    attribute: str | None
    group: str | None
    day: int
    statistic: float
    threshold: float
    change_day: int | None
    events: int

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-ready dict."""
        return asdict(self)
