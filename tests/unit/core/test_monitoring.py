"""Control charts: Markov-chain ARLs against simulation and published values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from radassure.core import _arl
from radassure.core.monitoring import (
    ChartDesign,
    ChartResult,
    bernoulli_cusum,
    bernoulli_cusum_arl,
    bernoulli_cusum_run_length_cdf,
    bernoulli_cusum_threshold,
    cusum,
    cusum_arl,
    cusum_threshold,
    ewma_arl,
    ewma_chart,
    ewma_limit_for_arl,
    false_alarm_probability,
    persistence_rule,
    simulate_bernoulli_cusum_arl,
)

# --- Bernoulli CUSUM: Markov chain against simulation -------------------------------


@pytest.mark.parametrize(("p0", "h"), [(0.05, 3.0), (0.2, 2.5), (0.1, 1.2)])
def test_markov_arl0_agrees_with_simulation(p0: float, h: float) -> None:
    markov = bernoulli_cusum_arl(p0=p0, h=h)
    sim = simulate_bernoulli_cusum_arl(p0=p0, h=h, n_runs=3000, rng=20240501)
    se = (sim.ci_high - sim.value) / 1.959964
    # 4 simulation SEs plus 0.5% for the lattice rounding of the event weight.
    assert abs(markov - sim.value) < 4 * se + 0.005 * markov


def test_markov_arl1_agrees_with_simulation() -> None:
    markov = bernoulli_cusum_arl(p0=0.05, h=3.0, p=0.1)
    sim = simulate_bernoulli_cusum_arl(p0=0.05, h=3.0, p=0.1, n_runs=3000, rng=7)
    se = (sim.ci_high - sim.value) / 1.959964
    assert abs(markov - sim.value) < 4 * se + 0.005 * markov


def test_run_length_cdf_matches_simulated_distribution() -> None:
    cdf = bernoulli_cusum_run_length_cdf(p0=0.1, h=2.0, n=400)
    lengths = _arl.simulate_bernoulli_run_lengths(
        0.1, 0.2, 2.0, 0.1, n_runs=4000, rng=np.random.default_rng(3)
    )
    for t in (50, 100, 400):
        empirical = float(np.mean(lengths <= t))
        se = math.sqrt(cdf[t - 1] * (1 - cdf[t - 1]) / 4000)
        assert abs(empirical - cdf[t - 1]) < 4 * se + 0.005
    assert np.all(np.diff(cdf) >= -1e-12)


def test_arl_from_cdf_is_consistent_with_linear_solve() -> None:
    cdf = bernoulli_cusum_run_length_cdf(p0=0.2, h=1.5, n=20000)
    assert cdf[-1] > 1 - 1e-9
    mean_from_cdf = 1.0 + float(np.sum(1.0 - cdf[:-1]))
    assert mean_from_cdf == pytest.approx(bernoulli_cusum_arl(p0=0.2, h=1.5), rel=1e-6)


@pytest.mark.parametrize(("p0", "target"), [(0.05, 2000.0), (0.2, 500.0), (0.01, 5000.0)])
def test_threshold_search_is_tight(p0: float, target: float) -> None:
    design = bernoulli_cusum_threshold(p0=p0, arl0_cases=target)
    assert design.arl0 >= target
    assert design.arl0 == pytest.approx(bernoulli_cusum_arl(p0=p0, h=design.threshold))
    assert bernoulli_cusum_arl(p0=p0, h=design.threshold - design.step) < target
    assert design.arl1 < design.arl0
    assert design.arl1 == pytest.approx(bernoulli_cusum_arl(p0=p0, h=design.threshold, p=2 * p0))


def test_arl_decreases_with_true_rate_and_increases_with_h() -> None:
    rates = [0.05, 0.07, 0.1, 0.15]
    arls = [bernoulli_cusum_arl(p0=0.05, h=3.0, p=p) for p in rates]
    assert arls == sorted(arls, reverse=True)
    assert bernoulli_cusum_arl(p0=0.05, h=3.5) > bernoulli_cusum_arl(p0=0.05, h=3.0)


def test_lorden_bound_holds() -> None:
    for h in (1.0, 2.0, 3.0, 4.0):
        assert bernoulli_cusum_arl(p0=0.1, h=h) >= math.exp(h)


@pytest.mark.slow
def test_simulation_threshold_agrees_with_markov() -> None:
    markov = bernoulli_cusum_threshold(p0=0.2, arl0_cases=500)
    sim = bernoulli_cusum_threshold(
        p0=0.2, arl0_cases=500, method="simulation", n_runs=4000, rng=11
    )
    assert sim.method == "simulation"
    assert sim.arl0 >= 500
    assert sim.threshold == pytest.approx(markov.threshold, rel=0.05)


@pytest.mark.slow
@pytest.mark.parametrize(("p0", "h"), [(0.02, 3.5), (0.3, 3.0)])
def test_markov_arl0_agrees_with_long_simulation(p0: float, h: float) -> None:
    markov = bernoulli_cusum_arl(p0=p0, h=h)
    sim = simulate_bernoulli_cusum_arl(p0=p0, h=h, n_runs=20000, rng=5)
    se = (sim.ci_high - sim.value) / 1.959964
    assert abs(markov - sim.value) < 4 * se + 0.003 * markov


# --- Bernoulli CUSUM chart ---------------------------------------------------------


def test_bernoulli_cusum_path_by_hand() -> None:
    a, b = math.log(2.0), math.log(0.8 / 0.9)
    result = bernoulli_cusum([1, 0, 1, 1], p0=0.1, h=1.9)
    expected = [a, a + b, 2 * a + b, 3 * a + b]
    assert result.statistic == pytest.approx(expected)
    assert result.alarm_index == 3
    assert result.upper_limit == (1.9,) * 4


def test_bernoulli_cusum_floors_at_zero_and_may_not_alarm() -> None:
    result = bernoulli_cusum([0] * 10 + [True], p0=0.05, h=5.0)
    assert result.statistic[:10] == (0.0,) * 10
    assert result.alarm_index is None
    assert not result.alarmed


def test_bernoulli_cusum_alarms_on_shifted_stream_in_control_stream_rarely() -> None:
    design = bernoulli_cusum_threshold(p0=0.05, arl0_cases=2000)
    rng = np.random.default_rng(0)
    shifted = rng.random(3000) < 0.15
    assert bernoulli_cusum(shifted, p0=0.05, h=design.threshold).alarmed


def test_chart_result_to_dict_is_json_ready() -> None:
    result = ewma_chart([0.0, 1.0], mean0=0.0, sd0=1.0, L=3.0)
    data = result.to_dict()
    assert data["chart"] == "ewma"
    assert data["alarm_index"] is None
    assert isinstance(data["statistic"], list)
    cusum_data = cusum([0.0], mean0=0.0, sd0=1.0, h=4.0).to_dict()
    assert cusum_data["lower_limit"] == [None]
    assert isinstance(result, ChartResult)


# --- normal CUSUM ------------------------------------------------------------------


def test_cusum_textbook_values() -> None:
    # Montgomery (Introduction to SQC), k = 0.5, h = 4: two-sided ARL0 ~ 168,
    # so one-sided ~ 336; h = 5: one-sided 930.9 (Brook & Evans / Lucas & Crosier).
    assert cusum_arl(k=0.5, h=4.0) == pytest.approx(336, rel=0.01)
    assert cusum_arl(k=0.5, h=4.0, method="siegmund") == pytest.approx(336, rel=0.01)
    assert cusum_arl(k=0.5, h=5.0) == pytest.approx(930.9, rel=0.005)
    # Shift of 1 SD with h = 4, k = 0.5: Montgomery's table gives ARL1 = 8.38.
    assert cusum_arl(k=0.5, h=4.0, shift=1.0) == pytest.approx(8.38, rel=0.01)


def test_cusum_threshold_round_trip() -> None:
    design = cusum_threshold(arl0=500.0, k=0.5)
    assert design.arl0 == pytest.approx(500.0, rel=1e-6)
    assert design.arl1 < design.arl0
    assert math.isnan(design.step)
    assert design.to_dict()["step"] is None
    assert isinstance(design, ChartDesign)


def test_cusum_lower_and_upper_directions() -> None:
    x = [0.0, -1.0, -2.0, 2.0]
    lower = cusum(x, mean0=0.0, sd0=1.0, k=0.5, h=2.0, direction="lower")
    upper = cusum(x, mean0=0.0, sd0=1.0, k=0.5, h=2.0, direction="upper")
    assert lower.statistic == pytest.approx((0.0, 0.5, 2.0, 0.0))
    assert lower.alarm_index == 2
    assert upper.statistic == pytest.approx((0.0, 0.0, 0.0, 1.5))
    assert upper.alarm_index is None


# --- EWMA --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lam", "limit", "published"),
    [(0.1, 2.814, 500.0), (0.2, 2.962, 500.0), (0.05, 2.615, 500.0)],
)
def test_ewma_matches_lucas_saccucci(lam: float, limit: float, published: float) -> None:
    assert ewma_arl(lam=lam, L=limit) == pytest.approx(published, rel=0.01)


def test_ewma_arl1_matches_lucas_saccucci() -> None:
    # Lucas & Saccucci (1990), table 3: lam = 0.1, L = 2.814, shift 1 SD -> 10.3.
    assert ewma_arl(lam=0.1, L=2.814, shift=1.0) == pytest.approx(10.3, rel=0.02)


def test_ewma_limit_for_arl_recovers_published_limit() -> None:
    design = ewma_limit_for_arl(lam=0.1, arl0=500.0)
    assert design.threshold == pytest.approx(2.814, abs=0.005)
    assert design.arl1 < design.arl0


def test_ewma_chart_limits_widen_to_asymptote() -> None:
    result = ewma_chart(np.full(200, -2.0), mean0=1.0, sd0=2.0, lam=0.2, L=3.0)
    asymptote = 1.0 + 3.0 * 2.0 * math.sqrt(0.2 / 1.8)
    assert result.upper_limit[0] == pytest.approx(1.0 + 3.0 * 2.0 * 0.2)
    assert result.upper_limit[-1] == pytest.approx(asymptote)
    assert np.all(np.diff(result.upper_limit) >= 0)
    assert result.alarm_index is not None  # a sustained 1.5 SD drop is caught
    steady = ewma_chart(np.zeros(200), mean0=1.0, sd0=2.0, lam=0.2, L=3.0)
    assert steady.alarm_index is None  # a constant 0.5 SD drop settles inside the limits


# --- persistence rule and false alarms --------------------------------------------


def test_persistence_rule_needs_consecutive_days() -> None:
    values = [0.80, 0.80, 0.90, 0.80, 0.80, 0.99, 0.80, 0.80, 0.80]
    result = persistence_rule(values, low=0.85, high=0.95, m=3)
    # Day 5 is outside too (above high), so the run goes on: both sides count.
    assert result.statistic == (1.0, 2.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0)
    assert result.alarm_index == 5
    assert persistence_rule(values, low=0.85, high=1.0, m=3).alarm_index == 8
    assert persistence_rule(values, low=0.85, high=1.0, m=4).alarm_index is None


def test_persistence_rule_per_day_limits_and_m1() -> None:
    result = persistence_rule([1.0, 2.0], low=[0.0, 2.5], high=[2.0, 3.0], m=1)
    assert result.alarm_index == 1


def test_false_alarm_probability_geometric_and_exact() -> None:
    geometric = false_alarm_probability(arl0_cases=1000.0, cases_per_day=10, days=30)
    assert geometric == pytest.approx(1 - (1 - 1 / 1000) ** 300)
    h = bernoulli_cusum_threshold(p0=0.1, arl0_cases=1000).threshold
    cdf = bernoulli_cusum_run_length_cdf(p0=0.1, h=h, n=300)
    exact = false_alarm_probability(run_length_cdf=cdf, cases_per_day=10, days=30)
    assert exact == cdf[299]
    # The CUSUM cannot alarm in its first few cases, so early risk is below geometric.
    assert 0 < exact < geometric + 0.05
    assert false_alarm_probability(arl0_cases=1000.0, cases_per_day=0.01, days=10) == 0.0


# --- bad input ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"p0": 0.0, "h": 3.0}, "p0 must be"),
        ({"p0": 1.2, "h": 3.0}, "p0 must be"),
        ({"p0": 0.1, "p1": 0.05, "h": 3.0}, "p1 must be"),
        ({"p0": 0.1, "p1": 0.1, "h": 3.0}, "p1 must be"),
        ({"p0": 0.6, "h": 3.0}, "2 \\* p0 needs p0 < 0.5"),
        ({"p0": 0.1, "h": -1.0}, "h must be a positive"),
        ({"p0": 0.1, "h": math.inf}, "h must be a positive"),
    ],
)
def test_bad_chart_parameters(kwargs: dict[str, float], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        bernoulli_cusum([0, 1], **kwargs)
    with pytest.raises(ValueError, match=match):
        bernoulli_cusum_arl(**kwargs)


def test_bad_streams_and_options() -> None:
    with pytest.raises(ValueError, match="events is empty"):
        bernoulli_cusum([], p0=0.1, h=2.0)
    with pytest.raises(ValueError, match="binary labels"):
        bernoulli_cusum([0, 2], p0=0.1, h=2.0)
    with pytest.raises(ValueError, match="NaN"):
        cusum([0.0, math.nan], mean0=0.0, sd0=1.0, h=4.0)
    with pytest.raises(ValueError, match="sd0 must be"):
        cusum([0.0], mean0=0.0, sd0=0.0, h=4.0)
    with pytest.raises(ValueError, match="direction"):
        cusum([0.0], mean0=0.0, sd0=1.0, h=4.0, direction="both")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="lam must"):
        ewma_chart([0.0], mean0=0.0, sd0=1.0, lam=0.0, L=3.0)
    with pytest.raises(ValueError, match="m must be a positive integer"):
        persistence_rule([0.0], low=0.0, high=1.0, m=0)
    with pytest.raises(ValueError, match="low <= high"):
        persistence_rule([0.0], low=1.0, high=0.0)
    with pytest.raises(ValueError, match="one value per day"):
        persistence_rule([0.0, 1.0, 2.0], low=[0.0, 0.0], high=1.0)
    with pytest.raises(ValueError, match="arl0_cases must be"):
        bernoulli_cusum_threshold(p0=0.1, arl0_cases=0.5)
    with pytest.raises(ValueError, match="needs rng="):
        bernoulli_cusum_threshold(p0=0.1, arl0_cases=100, method="simulation")
    with pytest.raises(ValueError, match="method must be"):
        bernoulli_cusum_threshold(p0=0.1, arl0_cases=100, method="exact")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="exactly one"):
        false_alarm_probability(cases_per_day=1, days=10)
    with pytest.raises(ValueError, match="must cover at least 10"):
        false_alarm_probability(run_length_cdf=np.zeros(5), cases_per_day=1, days=10)
