"""The default label-based monitor: overall and subgroup CUSUMs under one false-alarm budget.

A deployed tool is watched by a *family* of Bernoulli CUSUMs (Reynolds &
Stoumbos 1999): one on misses (false negatives among reference-positive cases)
and one on false positives (among reference-negative cases), overall and for
each subgroup of the chosen attributes (site, scanner, ...). When the tool's
scores are given, normal CUSUMs on how far reference-positive cases' scores
fall (``score_drop``, :mod:`radassure.core._surveillance_scores`) join the
family: they see a fall in sensitivity sooner than the misses charts. The family shares
one false-alarm budget stated **per study**: its joint in-control ARL0 is
``arl0_cases`` studies (default 73,000: a year at 200 studies a day).

How the budget stays per study whatever the prevalence and case mix
--------------------------------------------------------------------
A chart with threshold ``h`` signals falsely about once per ``ARL0(h)`` of its
*own* observations (exact, by Markov chain on the chart's lattice). If it
receives ``r`` observations per study (its group's share of positives, say),
its false-alarm hazard per study is ``r / ARL0(h)``. Giving chart ``c`` the
share ``s_c`` of the budget therefore needs ``ARL0(h_c) = r_c * arl0_cases /
s_c``: when prevalence doubles, a misses chart sees twice the positives per
study and its threshold rises so that its hazard per study stays put. Each day
``r_c`` is re-estimated (prevalence with a short half-life, the group's share
of its class with a long one; clamped to a factor 4 of baseline) and ``h_c`` is
read from a table of exact lattice ARLs stored in the design, so a day costs a
table look-up per chart. Approximations: (1) hazards add (Bonferroni), which
is slightly conservative because charts share cases; (2) the run length is
treated as memoryless when ``h`` moves; (3) the rate estimate lags a sudden
change by a few days. ``docs/monitoring.md`` shows the simulation checks.

An alarm needs ``min_events`` events in the current excursion (no alarm from
one or two misses in a tiny group), names the chart's outcome and subgroup,
estimates the change day as the start of the excursion, and restarts the chart
at zero so that the next alarm rests on new evidence.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import numpy.typing as npt

from radassure.core._checks import binary_labels
from radassure.core._surveillance_design import check_groups, design_surveillance
from radassure.core._surveillance_engine import (
    DayResult,
    RowTables,
    advance_rates,
    chart_seed,
    day_seeds,
    decay,
    lookup_threshold,
    run_day,
    run_day_values,
    target_log_arl,
)
from radassure.core._surveillance_scores import STEP, drop_values, order_keys
from radassure.core._surveillance_types import (
    Alarm,
    ChartPoint,
    ChartSpec,
    SurveillanceDesign,
    SurveillanceState,
)

__all__ = [
    "Alarm",
    "ChartPoint",
    "ChartSpec",
    "SurveillanceDesign",
    "SurveillanceState",
    "design_surveillance",
    "initial_state",
    "initial_surveillance_state",
    "update",
    "update_surveillance",
]


def initial_state(design: SurveillanceDesign) -> SurveillanceState:
    """The state before the first monitored day: every chart at zero.

    Examples
    --------
    >>> d = SurveillanceDesign((ChartSpec("misses", "misses", None, None, 0.1, 0.2, 1.0),), 1e4, 3)
    >>> initial_state(d).statistic
    [0]

    """
    n = len(design.charts)
    return SurveillanceState(
        day=None,
        keys=[c.key for c in design.charts],
        statistic=[0] * n,
        excursion_events=[0] * n,
        excursion_start=[-1] * n,
        fast_class=[0.0] * n,
        fast_studies=[0.0] * n,
        slow_group=[0.0] * n,
        slow_class=[0.0] * n,
    )


def _day_arrays(
    y_true: npt.ArrayLike, y_pred: npt.ArrayLike
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    truth_raw, pred_raw = np.asarray(y_true), np.asarray(y_pred)
    if truth_raw.size == 0 and pred_raw.size == 0:
        return np.zeros(0, np.bool_), np.zeros(0, np.bool_)
    truth, pred = binary_labels(truth_raw, "y_true"), binary_labels(pred_raw, "y_pred")
    if truth.size != pred.size:
        raise ValueError(
            f"y_true and y_pred must have one entry per case (got {truth.size} and {pred.size})."
        )
    return truth, pred


def _counts(
    design: SurveillanceDesign,
    truth: npt.NDArray[np.bool_],
    pred: npt.NDArray[np.bool_],
    groups: Mapping[str, npt.ArrayLike] | None,
    scored: npt.NDArray[np.bool_] | None = None,
) -> tuple[
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    list[npt.NDArray[np.bool_]],
]:
    labels = check_groups(groups, truth.size) if truth.size else {}
    needed = {c.attribute for c in design.charts if c.attribute is not None}
    if truth.size:
        missing = sorted(needed - set(labels))
        if missing:
            raise ValueError(
                f"groups must give {missing} for every case: the design has charts for them."
            )
        # Attributes without charts (all their groups too small at design) are ignored.
    named: dict[str, set[str]] = {}
    for c in design.charts:
        if c.attribute is not None and c.group != "other" and c.group is not None:
            named.setdefault(c.attribute, set()).add(c.group)
    n = len(design.charts)
    n_obs, n_events, n_class = (np.zeros(n, np.int64) for _ in range(3))
    masks: list[npt.NDArray[np.bool_]] = []
    for i, c in enumerate(design.charts):
        in_class = truth if c.outcome != "false_positives" else ~truth
        event = pred if c.outcome == "false_positives" else ~pred
        if c.is_score and scored is not None:
            # Positives without a score count towards the rates but not the chart.
            in_class = truth & scored
        n_class[i] = int(in_class.sum())
        mask = in_class
        if c.attribute is not None and truth.size:
            values = labels[c.attribute]
            if c.group == "other":
                # Values never seen at design time fall here too.
                member = ~np.isin(values, sorted(named.get(c.attribute, set())))
            else:
                member = values == c.group
            mask = in_class & member
        n_obs[i] = int(mask.sum())
        n_events[i] = int((mask & event).sum())
        masks.append(mask)
    return n_obs, n_events, n_class, masks


def _score_increments(
    design: SurveillanceDesign,
    *,
    values: npt.NDArray[np.float64],
    masks: list[npt.NDArray[np.bool_]],
    rows: npt.NDArray[np.int64],
    seeds: npt.NDArray[np.uint64],
    day: int,
) -> npt.NDArray[np.int64]:
    """Each score chart's increments of the day, in its fixed pseudo-random order."""
    per_row = []
    today = day_seeds(seeds[rows], day)
    for j, i in enumerate(rows):
        c = design.charts[i]
        u = (values[masks[i]] - c.centre) / c.scale
        inc = np.rint((u - c.reference) / STEP).astype(np.int64)
        keys = order_keys(np.full(inc.size, today[j], np.uint64), inc)
        per_row.append(inc[np.lexsort((inc, keys))])
    width = max((a.size for a in per_row), default=0)
    out = np.zeros((len(per_row), max(width, 1)), np.int64)
    for j, a in enumerate(per_row):
        out[j, : a.size] = a
    return out


def update(
    design: SurveillanceDesign,
    state: SurveillanceState,
    *,
    day: int,
    y_true: npt.ArrayLike,
    y_pred: npt.ArrayLike,
    groups: Mapping[str, npt.ArrayLike] | None = None,
    scores: npt.ArrayLike | None = None,
) -> tuple[SurveillanceState, list[ChartPoint], list[Alarm]]:
    """Feed one day's labelled cases to every chart; return the new state, points and alarms.

    Pure and deterministic: ``state`` is not modified, and the result does not
    depend on the order of the cases (within a day each chart takes its cases
    in a fixed pseudo-random order, see :mod:`radassure.core._surveillance_engine`).
    Running days one call at a time, with the state saved to JSON and read
    back between calls, gives exactly the same points and alarms.

    Parameters
    ----------
    design : SurveillanceDesign
        From :func:`design_surveillance` (or its saved ``to_dict``).
    state : SurveillanceState
        From :func:`initial_state` or the previous call.
    day : int
        Day index, larger than the last day processed (gaps are allowed).
    y_true, y_pred : array-like of {0, 1}
        Reference standard and the tool's call of each case labelled that day
        (may be empty).
    groups : mapping of str to array-like, optional
        The design's attributes, one value per case.
    scores : array-like of float, optional
        The tool's score of each case (NaN where missing); required when the
        design has ``score_drop`` charts.

    Returns
    -------
    state : SurveillanceState
    points : list of ChartPoint
        One per chart.
    alarms : list of Alarm

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> y = rng.random(12_000) < 0.1
    >>> d = design_surveillance(y, np.where(y, rng.random(12_000) < 0.9, 0), outcomes=["misses"])
    >>> s = initial_state(d)
    >>> for day in range(30):  # sensitivity falls from 0.9 to 0.6
    ...     y = rng.random(200) < 0.1
    ...     s, points, alarms = update(d, s, day=day, y_true=y, y_pred=y & (rng.random(200) < 0.6))
    ...     if alarms:
    ...         break
    >>> alarms[0].key, alarms[0].day < 10
    ('misses', True)

    """
    if isinstance(day, bool) or not isinstance(day, int | np.integer):
        raise ValueError(f"day must be an integer day index (got {day!r}).")
    day = int(day)
    if state.keys != [c.key for c in design.charts]:
        raise ValueError(
            "state does not belong to this design (its chart keys differ); start from "
            "initial_state(design) or pass the state saved with this design."
        )
    if state.day is not None and day <= state.day:
        raise ValueError(
            f"day must be after the last day processed ({state.day}); got {day}. Feed "
            "late-labelled cases with the current day's index."
        )
    truth, pred = _day_arrays(y_true, y_pred)
    charts = list(design.charts)
    score_rows = np.array([i for i, c in enumerate(charts) if c.is_score], np.int64)
    values = np.zeros(truth.size)
    scored: npt.NDArray[np.bool_] | None = None
    if score_rows.size:
        if scores is None and truth.size:
            raise ValueError(
                "This design has score_drop charts: pass the day's scores=... (one per "
                "case, NaN where a result has no score)."
            )
        raw = np.zeros(truth.size) if scores is None else np.asarray(scores, dtype=np.float64)
        if raw.shape != truth.shape:
            raise ValueError(
                f"scores must hold one score per case ({truth.size}); got shape {raw.shape}."
            )
        scored = np.isfinite(raw)
        values = np.zeros(truth.size)
        values[scored] = drop_values(raw[scored], design.score_knots)
    n_obs, n_events, n_class, masks = _counts(design, truth, pred, groups, scored)
    gap = 1 if state.day is None else day - state.day
    sums = (
        np.column_stack([state.fast_class, state.fast_studies, state.slow_group, state.slow_class])
        .astype(np.float64)
        .reshape(len(charts), 4)
    )
    class_rate = np.array([c.class_rate for c in charts])
    group_share = np.array([c.group_share for c in charts])
    rate = advance_rates(
        sums,
        n_class=n_class,
        n_studies=np.full(len(charts), truth.size, np.int64),
        n_obs=n_obs,
        class_rate=class_rate,
        group_share=group_share,
        a_fast=decay(design.rate_halflife_days, gap),
        a_slow=decay(design.mix_halflife_days, gap),
    )
    baseline = class_rate * group_share
    log_t = target_log_arl(
        rate if design.adapt_to_rate else baseline,
        baseline,
        np.array([c.share for c in charts]),
        design.arl0_cases,
    )
    threshold = lookup_threshold(RowTables.from_charts(charts), log_t)
    stat = np.array(state.statistic, np.int64)
    exc_events = np.array(state.excursion_events, np.int64)
    exc_start = np.array(state.excursion_start, np.int64)
    seeds = np.array([chart_seed(design.seed, c.key) for c in charts], np.uint64)
    result = _run(
        design,
        stat,
        exc_events,
        exc_start,
        threshold,
        n_obs,
        n_events,
        seeds,
        day,
        score_rows,
        lambda: _score_increments(
            design, values=values, masks=masks, rows=score_rows, seeds=seeds, day=day
        ),
    )
    points: list[ChartPoint] = []
    alarms: list[Alarm] = []
    for i, c in enumerate(charts):
        alarmed = bool(result.alarmed[i])
        value = float(result.statistic[i]) * c.step
        limit = float(threshold[i]) * c.step
        events = int(result.alarm_events[i] if alarmed else exc_events[i])
        points.append(ChartPoint(c.key, day, value, limit, events, int(n_obs[i]), alarmed))
        if alarmed:
            start = int(result.alarm_start[i])
            alarms.append(
                Alarm(
                    c.key,
                    c.outcome,
                    c.attribute,
                    c.group,
                    day,
                    value,
                    limit,
                    start if start >= 0 else None,
                    events,
                )
            )
    new_state = SurveillanceState(
        day=day,
        keys=list(state.keys),
        statistic=[int(v) for v in stat],
        excursion_events=[int(v) for v in exc_events],
        excursion_start=[int(v) for v in exc_start],
        fast_class=[float(v) for v in sums[:, 0]],
        fast_studies=[float(v) for v in sums[:, 1]],
        slow_group=[float(v) for v in sums[:, 2]],
        slow_class=[float(v) for v in sums[:, 3]],
        days_seen=state.days_seen + 1,
    )
    return new_state, points, alarms


def _run(  # noqa: PLR0917 - the day's arrays, passed straight through
    design: SurveillanceDesign,
    stat: npt.NDArray[np.int64],
    exc_events: npt.NDArray[np.int64],
    exc_start: npt.NDArray[np.int64],
    threshold: npt.NDArray[np.int64],
    n_obs: npt.NDArray[np.int64],
    n_events: npt.NDArray[np.int64],
    seeds: npt.NDArray[np.uint64],
    day: int,
    score_rows: npt.NDArray[np.int64],
    increments: Callable[[], npt.NDArray[np.int64]],
) -> DayResult:
    """Run the Bernoulli rows and the score rows of one day, in place on the state arrays."""
    charts = design.charts
    bern = np.array([i for i, c in enumerate(charts) if not c.is_score], np.int64)
    shown = np.zeros(len(charts), np.int64)
    alarmed = np.zeros(len(charts), np.bool_)
    events = np.zeros(len(charts), np.int64)
    start = np.full(len(charts), -1, np.int64)
    for rows, is_score in ((bern, False), (score_rows, True)):
        if not rows.size:
            continue
        st, ev, sd = stat[rows], exc_events[rows], exc_start[rows]
        if is_score:
            part = run_day_values(
                st,
                ev,
                sd,
                threshold=threshold[rows],
                increments=increments(),
                n_obs=n_obs[rows],
                day=day,
                min_events=design.min_events,
            )
        else:
            part = run_day(
                st,
                ev,
                sd,
                threshold=threshold[rows],
                up=np.array([charts[i].up for i in rows], np.int64),
                down=np.array([charts[i].down for i in rows], np.int64),
                n_obs=n_obs[rows],
                n_events=n_events[rows],
                seeds=seeds[rows],
                day=day,
                min_events=design.min_events,
            )
        stat[rows], exc_events[rows], exc_start[rows] = st, ev, sd
        shown[rows], alarmed[rows] = part.statistic, part.alarmed
        events[rows], start[rows] = part.alarm_events, part.alarm_start
    return DayResult(shown, alarmed, events, start)


#: Aliases with unambiguous names, as exported by :mod:`radassure.core`.
initial_surveillance_state = initial_state
update_surveillance = update
