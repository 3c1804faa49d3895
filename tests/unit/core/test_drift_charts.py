"""Label-free early warning, part 1: silent streams and daily charts (scipy, simulation)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
from scipy import stats

from radassure.core import (
    DriftResult,
    binomial_limits,
    p_chart,
    poisson_limits,
    stream_gap,
    volume_chart,
)

# --- DriftResult ----------------------------------------------------------------------


def test_drift_result_is_json_ready_and_always_early_warning() -> None:
    r = DriftResult("x", math.nan, math.inf, None, 0.2, 0.1, False, 10, 5, "m")
    d = r.to_dict()
    assert d["statistic"] is None and d["threshold"] is None
    assert d["effect"] == 0.2 and d["role"] == "early-warning"


# --- stream_gap -----------------------------------------------------------------------


@pytest.mark.parametrize("rate", [0.5, 20.0, 200.0])
def test_stream_gap_threshold_is_the_poisson_formula(rate: float) -> None:
    [r] = stream_gap({"s": 0.0}, 1.0, {"s": rate}, arl0_days=365, min_gap_days=0)
    g = r.threshold
    assert g is not None
    # Silences of at least g start at rate * P(Exp(rate) >= g) per day: one per 365 days.
    assert rate * stats.expon.sf(g, scale=1 / rate) == pytest.approx(1 / 365, rel=1e-9)
    assert r.p_value == pytest.approx(stats.poisson.pmf(0, rate * 1.0))
    assert r.effect == pytest.approx(rate)


def test_stream_gap_flags_at_the_threshold_and_not_before() -> None:
    rate = 40.0
    g = math.log(rate * 365) / rate
    [before] = stream_gap({"North": 5.0}, 5.0 + 0.99 * g, {"North": rate}, min_gap_days=0)
    [after] = stream_gap({"North": 5.0}, 5.0 + 1.01 * g, {"North": rate}, min_gap_days=0)
    assert not before.flagged and after.flagged
    assert after.message.startswith("No results from North for")
    assert "since day 5.00" in after.message and after.role == "early-warning"
    assert before.n_current == 0


def test_stream_gap_false_alarm_rate_by_simulation() -> None:
    # Continuous watching is the worst case: count silences >= g in a long Poisson stream.
    rate, arl0, days = 20.0, 365.0, 365.0 * 300
    rng = np.random.default_rng(11)
    arrivals = np.cumsum(rng.exponential(1 / rate, size=int(rate * days * 1.01)))
    arrivals = arrivals[arrivals < days]
    [r] = stream_gap({"s": 0.0}, 1.0, {"s": rate}, arl0_days=arl0, min_gap_days=0)
    assert r.threshold is not None
    long_gaps = int(np.sum(np.diff(arrivals) >= r.threshold))
    expected = days / arl0  # 300 false alarms in 300 years
    assert abs(long_gaps - expected) < 4 * math.sqrt(expected)
    # A daily check can only see fewer: count days whose check finds a long silence.
    checks = np.arange(1.0, days)
    last = arrivals[np.searchsorted(arrivals, checks) - 1]
    silent = (checks - last) >= r.threshold
    starts = int(np.sum(silent[1:] & ~silent[:-1]) + silent[0])
    assert starts <= long_gaps


def test_stream_gap_floor_and_unjudgeable_streams() -> None:
    [r] = stream_gap({"s": 0.0}, 2.0, {"s": 50.0}, min_gap_days=3.0)
    assert r.threshold == 3.0 and not r.flagged
    # The default floor of one day keeps a quiet night from alarming at a busy site.
    [night] = stream_gap({"s": 0.0}, 0.5, {"s": 200.0})
    assert night.threshold == 1.0 and not night.flagged
    [rare] = stream_gap({"s": 0.0}, 900.0, {"s": 0.001})
    assert rare.threshold is None and not rare.flagged and "too few" in rare.message
    assert stream_gap({"a": 0.0, "b": 0.0}, 1.0, {"b": 5.0})[0].name == "stream_gap:b"


@pytest.mark.parametrize(
    ("last_seen", "now", "expected", "match"),
    [
        ({}, 1.0, {"s": 5.0}, "last_seen has no entry for stream 's'"),
        ({"s": 2.0}, 1.0, {"s": 5.0}, "lies after now"),
        ({"s": 0.0}, 1.0, {"s": -1.0}, r"expected_per_day\['s'\]"),
        ({"s": 0.0}, math.nan, {"s": 5.0}, "now must be a finite time"),
    ],
)
def test_stream_gap_bad_input(
    last_seen: dict[str, float], now: float, expected: dict[str, float], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        stream_gap(last_seen, now, expected)


# --- volume_chart and p_chart limits ----------------------------------------------------


def _assert_tightest(cdf: Callable[[float], float], lo: float, hi: float, alpha: float) -> float:
    """The limits spend at most alpha, and moving either one inwards would overspend."""
    total = (cdf(lo - 1) if lo > 0 else 0.0) + 1.0 - cdf(hi)
    assert total <= alpha * (1 + 1e-9)
    assert cdf(lo) + 1.0 - cdf(hi) > alpha  # lower limit one higher
    assert (cdf(lo - 1) if lo > 0 else 0.0) + 1.0 - cdf(hi - 1) > alpha  # upper one lower
    return total


@pytest.mark.parametrize("mean", [3.0, 50.0, 200.0, 1000.0])
def test_poisson_limits_are_the_tightest_within_budget(mean: float) -> None:
    d = poisson_limits(mean, arl0_days=365)
    total = _assert_tightest(lambda k: stats.poisson.cdf(k, mean), d.lower[0], d.upper[0], 1 / 365)
    assert d.false_alarm[0] == pytest.approx(total)
    assert d.arl0 >= 365


def test_volume_chart_false_alarm_rate_by_simulation() -> None:
    mean, arl0 = 200.0, 50.0
    rng = np.random.default_rng(3)
    counts = rng.poisson(mean, size=100_000)
    limits = poisson_limits(mean, arl0_days=arl0)
    alarms = (counts < limits.lower[0]) | (counts > limits.upper[0])
    p = limits.false_alarm[0]
    assert abs(alarms.mean() - p) < 4 * math.sqrt(p * (1 - p) / counts.size)
    # Discreteness costs little at 200 a day: the achieved ARL0 is within 30% of the target.
    assert arl0 <= limits.arl0 <= 1.3 * arl0
    r = volume_chart(counts[:2000], baseline_mean=mean, arl0_days=arl0)
    assert r.alarm_index == int(np.flatnonzero(alarms[:2000])[0])


def test_volume_chart_dispersion_keeps_overdispersed_counts_in_budget() -> None:
    mean, phi, arl0 = 100.0, 3.0, 100.0
    rng = np.random.default_rng(5)
    counts = rng.negative_binomial(mean / (phi - 1), 1 / phi, size=50_000)
    assert counts.var() / counts.mean() == pytest.approx(phi, rel=0.05)
    poisson = poisson_limits(mean, arl0_days=arl0)
    negbin = poisson_limits(mean, arl0_days=arl0, dispersion=phi)
    rate_p = np.mean((counts < poisson.lower[0]) | (counts > poisson.upper[0]))
    rate_nb = np.mean((counts < negbin.lower[0]) | (counts > negbin.upper[0]))
    assert rate_p > 10 / arl0  # Poisson limits alarm every few days on such counts
    assert rate_nb < 1.3 / arl0


def test_volume_chart_sees_a_silent_day_and_follows_weekday_means() -> None:
    means = [200.0] * 5 + [20.0] * 2
    r = volume_chart([205, 190, 210, 198, 201, 18, 22], baseline_mean=means)
    assert r.alarm_index is None and r.chart == "volume"
    assert volume_chart([205, 0, 210], baseline_mean=200.0).alarm_index == 1
    assert volume_chart([205, 400], baseline_mean=200.0).alarm_index == 1


@pytest.mark.parametrize("trials", [1, 5, 30, 200, 2000])
def test_binomial_limits_against_scipy(trials: int) -> None:
    d = binomial_limits([trials], p0=0.1, arl0_days=365)
    total = _assert_tightest(
        lambda k: stats.binom.cdf(k, trials, 0.1), d.lower[0], d.upper[0], 1 / 365
    )
    assert d.false_alarm[0] == pytest.approx(total)


def test_p_chart_run_length_matches_arl0_by_simulation() -> None:
    p0, n, arl0, days, streams = 0.1, 200, 100.0, 1500, 600
    limits = binomial_limits([n], p0=p0, arl0_days=arl0)
    rng = np.random.default_rng(2024)
    events = rng.binomial(n, p0, size=(streams, days))
    lengths = []
    for row in events:
        r = p_chart(row, np.full(days, n), p0=p0, arl0_days=arl0)
        lengths.append(days if r.alarm_index is None else r.alarm_index + 1)
    mean = float(np.mean(lengths))
    se = float(np.std(lengths, ddof=1)) / math.sqrt(streams)
    # Run lengths are geometric with mean 1/false_alarm; that mean is within 30% of arl0.
    assert abs(mean - limits.arl0) < 4 * se + 5
    assert arl0 <= limits.arl0 <= 1.3 * arl0
    assert limits.false_alarm_within(60) == pytest.approx(1 - (1 - 1 / limits.arl0) ** 60)


def test_p_chart_limits_follow_each_days_n_by_simulation() -> None:
    rng = np.random.default_rng(31)
    n = rng.integers(5, 300, size=40_000)
    events = rng.binomial(n, 0.15)
    r = p_chart(events, n, p0=0.15, arl0_days=100)
    rate = np.asarray(r.statistic)
    flags = (rate < np.asarray(r.lower_limit)) | (rate > np.asarray(r.upper_limit))
    expected = np.asarray(binomial_limits(n, p0=0.15, arl0_days=100).false_alarm)
    se = math.sqrt(float(np.sum(expected * (1 - expected)))) / n.size
    assert abs(flags.mean() - expected.mean()) < 4 * se
    assert np.all(expected <= 1 / 100) and r.alarm_index == int(np.flatnonzero(flags)[0])


def test_p_chart_small_and_empty_days() -> None:
    # Exact limits at n = 5 cannot alarm on one extra positive, so noise is not flagged;
    # a day with no studies plots NaN and cannot alarm.
    r = p_chart([2, 0, 5], [5, 0, 5], p0=0.1)
    assert math.isnan(r.statistic[1]) and math.isnan(r.upper_limit[1])
    assert r.statistic[0] == 0.4 and r.alarm_index == 2
    # At n = 5 whole counts leave most of the daily budget unspent: ARL0 is far above 365.
    assert binomial_limits([5], p0=0.1).arl0 > 2000


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"events": [3, 1], "n": [2, 5], "p0": 0.1}, "events exceeds n on day index 0"),
        ({"events": [1], "n": [2, 5], "p0": 0.1}, "one entry per day"),
        ({"events": [1.5], "n": [2], "p0": 0.1}, "whole numbers"),
        ({"events": [1], "n": [2], "p0": 1.0}, "p0 must be the baseline rate"),
        ({"events": [1], "n": [2], "p0": 0.1, "arl0_days": 0.5}, "arl0_days must be"),
    ],
)
def test_p_chart_bad_input(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        p_chart(**kwargs)  # type: ignore[arg-type]


def test_volume_chart_bad_input() -> None:
    with pytest.raises(ValueError, match="baseline_mean must be a positive"):
        volume_chart([1, 2], baseline_mean=0.0)
    with pytest.raises(ValueError, match="one number or one per day"):
        volume_chart([1, 2], baseline_mean=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="dispersion"):
        volume_chart([1, 2], baseline_mean=5.0, dispersion=0.5)
