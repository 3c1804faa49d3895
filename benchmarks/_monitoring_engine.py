"""Bulk runner of the monitoring benchmark: many streams through the monitor's own engine.

Each stream is designed on its baseline days with ``design_surveillance``; then all
charts of all streams advance day by day through the functions that
``radassure.core.surveillance.update`` calls (``radassure.core._surveillance_engine``),
on per-day cell counts from ``_monitoring_sim.day_counts``. ``monitoring.py --verify``
checks that this gives exactly the alarms of ``update``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from _monitoring_sim import (
    BASELINE_DAYS,
    CHANGE_DAY,
    MODELS,
    SCANNERS,
    case_scores,
    cases_from_counts,
    day_counts,
    positive_scores,
)
from radassure.core._surveillance_engine import (
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
from radassure.core.surveillance import SurveillanceDesign, design_surveillance

N_COMBOS = len(SCANNERS) * len(MODELS)
ARL0_CASES = 73_000.0


def _design(
    counts: np.ndarray, spec: dict[str, object], seed: int, scores: np.ndarray
) -> SurveillanceDesign:
    cases = cases_from_counts(counts)
    kwargs: dict[str, object] = {"arl0_cases": ARL0_CASES}
    kwargs.update({k: v for k, v in spec.items() if k not in ("groups", "scores")})
    if spec.get("scores"):
        kwargs["scores"] = case_scores(counts, scores)
    groups = {"scanner": cases["scanner"], "model": cases["model"]} if spec["groups"] else None
    return design_surveillance(
        cases["label"],
        cases["y_pred"],
        groups,
        seed=seed,
        **kwargs,  # type: ignore[arg-type]
    )


def _members(chart_attribute: str | None, group: str | None, named: set[str]) -> np.ndarray:
    """Which (scanner, model) combinations a chart observes, flattened to 40."""
    s_idx, m_idx = np.meshgrid(np.arange(len(SCANNERS)), np.arange(len(MODELS)), indexing="ij")
    if chart_attribute is None:
        return np.ones(N_COMBOS, dtype=bool)
    values = np.asarray(SCANNERS if chart_attribute == "scanner" else MODELS)
    idx = s_idx if chart_attribute == "scanner" else m_idx
    labels = values[idx].ravel()
    if group == "other":
        return ~np.isin(labels, sorted(named))
    return labels == group


@dataclass
class Rows:
    """Every chart of every stream, flattened."""

    stream: np.ndarray
    positive_class: np.ndarray
    member: np.ndarray
    keys: list[str]
    tables: RowTables
    up: np.ndarray
    down: np.ndarray
    class_rate: np.ndarray
    group_share: np.ndarray
    share: np.ndarray
    seeds: np.ndarray
    is_score: np.ndarray
    reference: np.ndarray
    centre: np.ndarray
    scale: np.ndarray
    score_rows: np.ndarray  # (streams, 40, width): score rows observing each cell, -1 padded


def _rows(designs: list[SurveillanceDesign]) -> Rows:
    stream, pos, member, keys, charts, seeds = [], [], [], [], [], []
    for i, d in enumerate(designs):
        named: dict[str, set[str]] = {}
        for c in d.charts:
            if c.attribute is not None and c.group not in (None, "other"):
                named.setdefault(c.attribute, set()).add(str(c.group))
        for c in d.charts:
            stream.append(i)
            pos.append(c.outcome != "false_positives")
            member.append(_members(c.attribute, c.group, named.get(c.attribute or "", set())))
            keys.append(c.key)
            charts.append(c)
            seeds.append(chart_seed(d.seed, c.key))
    member_arr = np.array(member)
    is_score = np.array([c.is_score for c in charts], bool)
    stream_arr = np.array(stream)
    width = max(
        1,
        int((member_arr & is_score[:, None]).reshape(len(charts), -1).sum(0).max())
        if charts
        else 1,
    )
    per_cell = np.full((len(designs), N_COMBOS, width), -1, np.int64)
    fill = np.zeros((len(designs), N_COMBOS), np.int64)
    for r in np.flatnonzero(is_score):
        for cell in np.flatnonzero(member_arr[r]):
            per_cell[stream_arr[r], cell, fill[stream_arr[r], cell]] = r
            fill[stream_arr[r], cell] += 1
    return Rows(
        stream_arr,
        np.array(pos),
        np.array(member),
        keys,
        RowTables.from_charts(charts),
        np.array([c.up for c in charts], np.int64),
        np.array([c.down for c in charts], np.int64),
        np.array([c.class_rate for c in charts]),
        np.array([c.group_share for c in charts]),
        np.array([c.share for c in charts]),
        np.array(seeds, np.uint64),
        is_score,
        np.array([c.reference for c in charts]),
        np.array([c.centre for c in charts]),
        np.array([c.scale for c in charts]),
        per_cell,
    )


def _score_increments(
    rows: Rows,
    designs: list[SurveillanceDesign],
    pos: tuple[np.ndarray, np.ndarray, np.ndarray],
    score_idx: np.ndarray,
    day: int,
) -> np.ndarray:
    """Each score row's increments of the day, in the order ``update`` uses."""
    stream, cell, score = pos
    y = np.empty(score.size)
    bounds = np.searchsorted(stream, np.arange(len(designs) + 1))
    for i, d in enumerate(designs):
        a, b = bounds[i], bounds[i + 1]
        if b > a and d.score_knots:
            y[a:b] = drop_values(score[a:b], d.score_knots)
    targets = rows.score_rows[stream, cell]  # (cases, width)
    case_i, slot = np.nonzero(targets >= 0)
    row = targets[case_i, slot]
    u = (y[case_i] - rows.centre[row]) / rows.scale[row]
    inc = np.rint((u - rows.reference[row]) / STEP).astype(np.int64)
    keys = order_keys(day_seeds(rows.seeds[row], day), inc)
    order = np.lexsort((inc, keys, row))
    row, inc = row[order], inc[order]
    compact = np.full(rows.stream.size, -1, np.int64)
    compact[score_idx] = np.arange(score_idx.size)
    crow = compact[row]
    starts = np.searchsorted(crow, np.arange(score_idx.size))
    position = np.arange(crow.size) - starts[crow]
    width = int(position.max()) + 1 if position.size else 1
    out = np.zeros((score_idx.size, width), np.int64)
    out[crow, position] = inc
    return out


@dataclass
class StreamRun:
    """Alarms of many streams: which row alarmed on which day."""

    alarm_days: list[list[int]]  # per stream, sorted
    alarm_keys: list[list[str]]
    days: int


def run_streams(
    scenario: str,
    spec: dict[str, object],
    *,
    volume: int,
    n_streams: int,
    days: int,
    seed: int,
    keep_counts: bool = False,
) -> tuple[StreamRun, list[SurveillanceDesign], list[tuple[np.ndarray, np.ndarray]]]:
    """Design each stream on its baseline days, then monitor ``days`` days.

    With ``keep_counts`` the third result holds each day's counts and per-stream
    positives' scores (for ``--verify``).
    """
    rng = np.random.default_rng(seed)
    base = np.zeros((n_streams, len(SCANNERS), len(MODELS), 2, 2), np.int64)
    for d in range(-BASELINE_DAYS, 0):
        base += day_counts(scenario, volume=volume, n_streams=n_streams, day=d, rng=rng)
    with_scores = bool(spec.get("scores"))
    if with_scores:
        b_stream, _, b_score = positive_scores(base, scenario, False, rng)
        b_bounds = np.searchsorted(b_stream, np.arange(n_streams + 1))
    designs = [
        _design(
            base[i],
            spec,
            seed=seed * 100_003 + i,
            scores=b_score[b_bounds[i] : b_bounds[i + 1]] if with_scores else np.zeros(0),
        )
        for i in range(n_streams)
    ]
    rows = _rows(designs)
    n_rows = rows.stream.size
    sums = np.zeros((n_rows, 4))
    stat = np.zeros(n_rows, np.int64)
    exc_events = np.zeros(n_rows, np.int64)
    exc_start = np.full(n_rows, -1, np.int64)
    first = designs[0]
    a_fast, a_slow = decay(first.rate_halflife_days, 1), decay(first.mix_halflife_days, 1)
    baseline_rate = rows.class_rate * rows.group_share
    alarm_days: list[list[int]] = [[] for _ in range(n_streams)]
    alarm_keys: list[list[str]] = [[] for _ in range(n_streams)]
    kept: list[tuple[np.ndarray, np.ndarray]] = []
    score_idx = np.flatnonzero(rows.is_score)
    bern_idx = np.flatnonzero(~rows.is_score)
    for day in range(days):
        counts = day_counts(scenario, volume=volume, n_streams=n_streams, day=day, rng=rng)
        scored = (
            positive_scores(counts, scenario, day >= CHANGE_DAY, rng)
            if with_scores
            else (np.zeros(0, np.int64),) * 3
        )
        if keep_counts:
            kept.append((counts, scored))
        flat = counts.reshape(n_streams, N_COMBOS, 2, 2)
        pos = flat[:, :, 1, :].sum(-1)[rows.stream]
        neg = flat[:, :, 0, :].sum(-1)[rows.stream]
        misses = flat[:, :, 1, 0][rows.stream]
        fps = flat[:, :, 0, 1][rows.stream]
        cls = np.where(rows.positive_class[:, None], pos, neg)
        ev = np.where(rows.positive_class[:, None], misses, fps)
        n_obs = (cls * rows.member).sum(1)
        n_events = (ev * rows.member).sum(1)
        n_class = cls.sum(1)
        n_studies = flat.sum((1, 2, 3))[rows.stream]
        rate = advance_rates(
            sums,
            n_class=n_class,
            n_studies=n_studies,
            n_obs=n_obs,
            class_rate=rows.class_rate,
            group_share=rows.group_share,
            a_fast=a_fast,
            a_slow=a_slow,
        )
        log_t = target_log_arl(
            rate if first.adapt_to_rate else baseline_rate,
            baseline_rate,
            rows.share,
            first.arl0_cases,
        )
        threshold = lookup_threshold(rows.tables, log_t)
        alarmed = np.zeros(rows.stream.size, bool)
        for idx, is_score in ((bern_idx, False), (score_idx, True)):
            if not idx.size:
                continue
            st, ev, sd = stat[idx], exc_events[idx], exc_start[idx]
            if is_score:
                part = run_day_values(
                    st,
                    ev,
                    sd,
                    threshold=threshold[idx],
                    increments=_score_increments(rows, designs, scored, idx, day),
                    n_obs=n_obs[idx],
                    day=day,
                    min_events=first.min_events,
                )
            else:
                part = run_day(
                    st,
                    ev,
                    sd,
                    threshold=threshold[idx],
                    up=rows.up[idx],
                    down=rows.down[idx],
                    n_obs=n_obs[idx],
                    n_events=n_events[idx],
                    seeds=rows.seeds[idx],
                    day=day,
                    min_events=first.min_events,
                )
            stat[idx], exc_events[idx], exc_start[idx] = st, ev, sd
            alarmed[idx] = part.alarmed
        for r in np.flatnonzero(alarmed):
            s = int(rows.stream[r])
            if not alarm_days[s] or alarm_days[s][-1] != day:
                alarm_days[s].append(day)
                alarm_keys[s].append(rows.keys[r])
    return StreamRun(alarm_days, alarm_keys, days), designs, kept
