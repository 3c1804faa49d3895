"""Vectorised arithmetic of the surveillance monitor, shared by ``update`` and simulations.

Every function works on flat arrays with one entry per *row* (one chart of one
monitored stream), so the public :func:`~radassure.core.surveillance.update`
(one stream) and the benchmark (thousands of streams at once) run the same code.

Within one day the cases of a chart are fed to its CUSUM in a fixed
pseudo-random order (a counter-based hash of the design seed, the chart key,
the day and the case index). Given a day's ``n`` observations with ``e``
events, the order is a uniformly random arrangement, as exchangeable as the
cases themselves, so the exact lattice ARL of :mod:`radassure.core._arl` is the
chart's true ARL. A deterministic order such as "events evenly spread" would
make the chart up to eight times less sensitive than computed at 100
observations a day (measured), and "events last" more alarm-prone.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from radassure.core._surveillance_types import ChartSpec, SurveillanceDesign

__all__ = [
    "RATE_CLAMP",
    "DayResult",
    "RowTables",
    "advance_rates",
    "baseline_hazard",
    "chart_seed",
    "day_seeds",
    "decay",
    "lookup_threshold",
    "mix",
    "run_day",
    "run_day_values",
    "target_log_arl",
]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
U64Array = npt.NDArray[np.uint64]

#: The running rate estimate is clamped to [baseline / RATE_CLAMP, baseline * RATE_CLAMP],
#: so a group that vanished and comes back cannot get a near-zero threshold.
RATE_CLAMP = 4.0

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def _mix(x: U64Array) -> U64Array:
    """SplitMix64 finaliser (Steele, Lea & Flood 2014): a good 64-bit hash of a counter."""
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


def mix(x: U64Array) -> U64Array:
    """The 64-bit hash behind the within-day case order (public for the score charts)."""
    return _mix(x)


def day_seeds(seeds: U64Array, day: int) -> U64Array:
    """Each row's seed for one day."""
    return _day_seeds(seeds, day)


def chart_seed(design_seed: int, key: str) -> int:
    """A stable 64-bit seed of one chart (does not depend on Python's hash salt)."""
    base = np.array([(design_seed & 0xFFFFFFFF) << 32 | zlib.crc32(key.encode())], np.uint64)
    return int(_mix(base)[0])


def _day_seeds(seeds: U64Array, day: int) -> U64Array:
    day_word = np.array([day], dtype=np.int64).astype(np.uint64)
    return _mix(seeds ^ _mix(day_word * _GOLDEN))


def _uniform(day_seeds: U64Array, k: int) -> FloatArray:
    bits = _mix(day_seeds + np.full(1, k, np.uint64) * _GOLDEN)
    return (bits >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)


@dataclass(frozen=True)
class RowTables:
    """Threshold tables of many rows, padded to one width (last entry repeated)."""

    states: IntArray
    log_arl: FloatArray

    @classmethod
    def from_charts(cls, charts: list[ChartSpec]) -> RowTables:
        """Stack the charts' tables."""
        width = max((len(c.table_states) for c in charts), default=1)
        states = np.ones((len(charts), width), dtype=np.int64)
        log_arl = np.zeros((len(charts), width))
        for i, c in enumerate(charts):
            n = len(c.table_states)
            if n == 0:
                raise ValueError(
                    f"Chart {c.key!r} has no threshold table; build designs with "
                    "design_surveillance() or SurveillanceDesign.from_dict()."
                )
            states[i, :n] = c.table_states
            states[i, n:] = c.table_states[-1]
            log_arl[i, :n] = c.table_log_arl
            log_arl[i, n:] = c.table_log_arl[-1]
        return cls(states, log_arl)


def lookup_threshold(tables: RowTables, log_target: FloatArray) -> IntArray:
    """Smallest integer threshold whose in-control ARL reaches ``exp(log_target)``.

    Log ARL is interpolated linearly in the threshold between table points
    (0.25 apart in statistic units, where log ARL is nearly straight) and the
    result rounded up to the lattice; beyond the table the end value is used.
    """
    la, st = tables.log_arl, tables.states
    width = la.shape[1]
    below = (la < log_target[:, None]).sum(axis=1)
    hi = np.clip(below, 0, width - 1)
    lo = np.clip(below - 1, 0, width - 1)
    rows = np.arange(la.shape[0])
    l_lo, l_hi = la[rows, lo], la[rows, hi]
    s_lo, s_hi = st[rows, lo].astype(np.float64), st[rows, hi].astype(np.float64)
    span = l_hi - l_lo
    safe = np.where(span > 0, span, 1.0)
    frac = np.where(span > 0, (log_target - l_lo) / safe, 1.0)
    real = s_lo + np.clip(frac, 0.0, 1.0) * (s_hi - s_lo)
    out: IntArray = np.maximum(1, np.ceil(real - 1e-9)).astype(np.int64)
    return out


def decay(halflife_days: float, gap: int) -> float:
    """Weight left after ``gap`` days for an exponential half-life."""
    return float(0.5 ** (gap / halflife_days))


def target_log_arl(
    rate: FloatArray, baseline_rate: FloatArray, share: FloatArray, arl0_cases: float
) -> FloatArray:
    """Log of each chart's ARL0 in its own observations for a constant hazard per study.

    A chart that receives ``rate`` observations per study and signals falsely
    once per ``A`` observations has hazard ``rate / A`` per study; giving it the
    hazard ``share / arl0_cases`` needs ``A = rate * arl0_cases / share``.
    """
    clamped = np.clip(rate, baseline_rate / RATE_CLAMP, baseline_rate * RATE_CLAMP)
    return np.log(clamped * arl0_cases / share)


def baseline_hazard(design: SurveillanceDesign, chart: ChartSpec) -> float:
    """False-alarm hazard per study of one chart at its baseline rate and threshold."""
    tables = RowTables.from_charts([chart])
    rate = np.array([chart.baseline_rate])
    log_t = target_log_arl(rate, rate, np.array([chart.share]), design.arl0_cases)
    h = lookup_threshold(tables, log_t)
    log_arl = float(np.interp(h[0], tables.states[0], tables.log_arl[0]))
    return chart.baseline_rate / math.exp(log_arl)


def advance_rates(
    sums: FloatArray,
    *,
    n_class: IntArray,
    n_studies: IntArray,
    n_obs: IntArray,
    class_rate: FloatArray,
    group_share: FloatArray,
    a_fast: float,
    a_slow: float,
) -> FloatArray:
    """Update the rate sums in place with one day and return each row's rate per study.

    ``sums`` has four columns: fast sums of class cases and of studies (the
    prevalence estimate, short half-life) and slow sums of the row's group cases
    and of class cases (the group-mix estimate, long half-life). A row that has
    seen no study yet starts from the baseline rates with the weight of a long
    run at today's volume, so the estimate moves smoothly from the baseline.
    """
    fresh = (sums[:, 1] == 0) & (n_studies > 0)
    if fresh.any():
        prior_fast = n_studies[fresh] * a_fast / (1.0 - a_fast)
        prior_slow = n_studies[fresh] * class_rate[fresh] * a_slow / (1.0 - a_slow)
        sums[fresh, 0] = prior_fast * class_rate[fresh] / a_fast
        sums[fresh, 1] = prior_fast / a_fast
        sums[fresh, 2] = prior_slow * group_share[fresh] / a_slow
        sums[fresh, 3] = prior_slow / a_slow
    sums[:, 0] = a_fast * sums[:, 0] + n_class
    sums[:, 1] = a_fast * sums[:, 1] + n_studies
    sums[:, 2] = a_slow * sums[:, 2] + n_obs
    sums[:, 3] = a_slow * sums[:, 3] + n_class
    baseline = class_rate * group_share
    with np.errstate(divide="ignore", invalid="ignore"):
        prevalence = np.where(sums[:, 1] > 0, sums[:, 0] / sums[:, 1], class_rate)
        mix = np.where(sums[:, 3] > 0, sums[:, 2] / sums[:, 3], group_share)
    rate = prevalence * mix
    return np.where(np.isfinite(rate), rate, baseline)


@dataclass
class DayResult:
    """What one day did to each row."""

    statistic: IntArray  # end-of-day value, or the value at the alarm on an alarm day
    alarmed: npt.NDArray[np.bool_]
    alarm_events: IntArray
    alarm_start: IntArray


@dataclass
class _DayState:
    """One day's working arrays: the rows' state (updated in place) and their alarms."""

    statistic: IntArray
    excursion_events: IntArray
    excursion_start: IntArray
    alarmed: npt.NDArray[np.bool_]
    alarm_stat: IntArray
    alarm_events: IntArray
    alarm_start: IntArray

    @classmethod
    def start(cls, statistic: IntArray, events: IntArray, start: IntArray) -> _DayState:
        rows = statistic.size
        return cls(
            statistic,
            events,
            start,
            np.zeros(rows, dtype=np.bool_),
            np.zeros(rows, dtype=np.int64),
            np.zeros(rows, dtype=np.int64),
            np.full(rows, -1, dtype=np.int64),
        )

    def result(self) -> DayResult:
        shown = np.where(self.alarmed, self.alarm_stat, self.statistic)
        return DayResult(shown, self.alarmed, self.alarm_events, self.alarm_start)


def _step(
    st: _DayState,
    idx: IntArray,
    old: IntArray,
    new: IntArray,
    is_event: npt.NDArray[np.bool_],
    *,
    threshold: IntArray,
    day: int,
    min_events: int,
) -> None:
    """Apply one case to rows ``idx``: excursion bookkeeping, alarm and restart at zero."""
    st.statistic[idx] = new
    started = (old == 0) & (new > 0)
    st.excursion_start[idx] = np.where(
        new == 0, -1, np.where(started, day, st.excursion_start[idx])
    )
    st.excursion_events[idx] = np.where(new == 0, 0, st.excursion_events[idx] + is_event)
    hit = (new >= threshold[idx]) & (st.excursion_events[idx] >= min_events)
    if hit.any():
        h_idx = idx[hit]
        st.alarmed[h_idx] = True
        st.alarm_stat[h_idx] = st.statistic[h_idx]
        st.alarm_events[h_idx] = st.excursion_events[h_idx]
        st.alarm_start[h_idx] = st.excursion_start[h_idx]
        st.statistic[h_idx] = 0
        st.excursion_events[h_idx] = 0
        st.excursion_start[h_idx] = -1


def run_day(
    statistic: IntArray,
    excursion_events: IntArray,
    excursion_start: IntArray,
    *,
    threshold: IntArray,
    up: IntArray,
    down: IntArray,
    n_obs: IntArray,
    n_events: IntArray,
    seeds: U64Array,
    day: int,
    min_events: int,
) -> DayResult:
    """Run every row's CUSUM through one day's cases, in place on the three state arrays.

    A row alarms at the first case where its statistic reaches ``threshold``
    with at least ``min_events`` events since it last left zero; it then
    restarts at zero and ignores the rest of that day's cases, so a later alarm
    rests on new evidence only.
    """
    state = _DayState.start(statistic, excursion_events, excursion_start)
    alarmed = state.alarmed
    remaining = n_events.astype(np.int64).copy()
    day_seeds = _day_seeds(seeds, day)
    # Rows sorted by observation count, so case k touches only rows that have it.
    order = np.argsort(-n_obs, kind="stable")
    counts = n_obs[order]
    max_n = int(counts[0]) if statistic.size else 0
    n_with = np.searchsorted(-counts, -np.arange(max_n), side="left")
    for k in range(max_n):
        idx = order[: n_with[k]]
        idx = idx[~alarmed[idx]]
        if idx.size == 0:
            continue
        u = _uniform(day_seeds[idx], k)
        is_event = u * (n_obs[idx] - k) < remaining[idx]
        remaining[idx] -= is_event
        old = statistic[idx]
        new = np.where(is_event, old + up[idx], np.maximum(old - down[idx], 0))
        _step(state, idx, old, new, is_event, threshold=threshold, day=day, min_events=min_events)
    return state.result()


def run_day_values(
    statistic: IntArray,
    excursion_events: IntArray,
    excursion_start: IntArray,
    *,
    threshold: IntArray,
    increments: IntArray,
    n_obs: IntArray,
    day: int,
    min_events: int,
) -> DayResult:
    """Like :func:`run_day` for score charts: each row takes its own integer increments.

    ``increments`` has one row per chart, the first ``n_obs`` entries of each
    used in order (the caller arranges them, see
    :func:`radassure.core._surveillance_scores.order_keys`). An increment above
    zero counts as an event for ``min_events``.
    """
    state = _DayState.start(statistic, excursion_events, excursion_start)
    alarmed = state.alarmed
    order = np.argsort(-n_obs, kind="stable")
    counts = n_obs[order]
    max_n = int(counts[0]) if statistic.size else 0
    n_with = np.searchsorted(-counts, -np.arange(max_n), side="left")
    for k in range(max_n):
        idx = order[: n_with[k]]
        idx = idx[~alarmed[idx]]
        if idx.size == 0:
            continue
        inc = increments[idx, k]
        old = statistic[idx]
        _step(state, idx, old, np.maximum(old + inc, 0), inc > 0,
              threshold=threshold, day=day, min_events=min_events)  # fmt: skip
    return state.result()
