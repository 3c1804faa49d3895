"""Proportion and Poisson intervals against published values and scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from radassure.core import (
    UndefinedMetricWarning,
    poisson_rate_interval,
    proportion_estimate,
    proportion_interval,
)
from radassure.core.intervals import wilson_bounds

# Newcombe RG (1998) Stat Med 17:857-872, Table II: methods 3 (Wilson score
# without continuity correction) and 5 (Clopper-Pearson exact), 95% limits.
NEWCOMBE = [
    # k, n, wilson (low, high), exact (low, high)
    (81, 263, (0.2553, 0.3662), (0.2527, 0.3676)),
    (15, 148, (0.0624, 0.1605), (0.0578, 0.1617)),
    (0, 20, (0.0000, 0.1611), (0.0000, 0.1684)),
    (1, 29, (0.0061, 0.1718), (0.0009, 0.1776)),
]


@pytest.mark.parametrize(("k", "n", "wilson", "exact"), NEWCOMBE)
def test_newcombe_1998_worked_values(k, n, wilson, exact):
    assert proportion_interval(k, n) == pytest.approx(wilson, abs=5e-5)
    assert proportion_interval(k, n, method="clopper-pearson") == pytest.approx(exact, abs=5e-5)


@given(st.integers(1, 400).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_clopper_pearson_matches_beta_quantiles_and_scipy(kn):
    k, n = kn
    low, high = proportion_interval(k, n, level=0.9, method="clopper-pearson")
    exp_low = 0.0 if k == 0 else stats.beta.ppf(0.05, k, n - k + 1)
    exp_high = 1.0 if k == n else stats.beta.ppf(0.95, k + 1, n - k)
    assert (low, high) == pytest.approx((exp_low, exp_high), abs=1e-12)
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=0.9, method="exact")
    assert (low, high) == pytest.approx((ci.low, ci.high), abs=1e-9)


@given(st.integers(1, 400).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_matches_scipy_and_contains_estimate(kn):
    k, n = kn
    low, high = proportion_interval(k, n)
    ci = stats.binomtest(k, n).proportion_ci(method="wilson")
    assert (low, high) == pytest.approx((ci.low, ci.high), abs=1e-9)
    assert low <= k / n <= high


@given(st.integers(1, 400).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_agresti_coull_closed_form_and_contains_wilson(kn):
    k, n = kn
    z = stats.norm.ppf(0.975)
    n_t = n + z**2
    p_t = (k + z**2 / 2) / n_t
    half = z * math.sqrt(p_t * (1 - p_t) / n_t)
    low, high = proportion_interval(k, n, method="agresti-coull")
    assert (low, high) == pytest.approx((max(0, p_t - half), min(1, p_t + half)), abs=1e-12)
    # Brown, Cai and DasGupta (2001): the Agresti-Coull interval contains Wilson's.
    w_low, w_high = proportion_interval(k, n)
    assert low <= w_low + 1e-12
    assert high >= w_high - 1e-12


@pytest.mark.parametrize("method", ["wilson", "clopper-pearson", "agresti-coull"])
def test_higher_level_gives_wider_interval(method):
    narrow = proportion_interval(30, 90, level=0.9, method=method)
    wide = proportion_interval(30, 90, level=0.99, method=method)
    assert wide[0] < narrow[0] < narrow[1] < wide[1]


def test_wilson_coverage_is_near_nominal():
    rng = np.random.default_rng(1)
    n, p = 60, 0.85
    ks = rng.binomial(n, p, size=4000)
    low, high = wilson_bounds(ks, n)
    coverage = np.mean((low <= p) & (p <= high))
    assert 0.92 < coverage < 0.975


def test_wilson_bounds_matches_scalar_function():
    ks = np.array([0, 3, 10, 17, 20])
    low, high = wilson_bounds(ks, 20, level=0.9)
    for k, lo, hi in zip(ks, low, high, strict=True):
        assert (lo, hi) == pytest.approx(proportion_interval(int(k), 20, level=0.9), abs=1e-12)
    low, high = wilson_bounds([0], [0])
    assert np.isnan(low[0])
    assert np.isnan(high[0])


def test_zero_trials_warns_and_returns_nan():
    with pytest.warns(UndefinedMetricWarning, match="n is 0"):
        low, high = proportion_interval(0, 0)
    assert math.isnan(low)
    assert math.isnan(high)
    with pytest.warns(UndefinedMetricWarning, match="sensitivity"):
        est = proportion_estimate(0, 0, what="sensitivity")
    assert not est.defined


def test_proportion_estimate_fields():
    est = proportion_estimate(45, 50, level=0.9, method="clopper-pearson")
    assert est.value == 0.9
    assert est.n == 50
    assert est.level == 0.9
    assert est.method == "clopper-pearson"
    assert (est.ci_low, est.ci_high) == proportion_interval(
        45, 50, level=0.9, method="clopper-pearson"
    )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"k": 5, "n": 3}, "cannot exceed"),
        ({"k": -1, "n": 3}, "non-negative whole number"),
        ({"k": 1.5, "n": 3}, "non-negative whole number"),
        ({"k": 1, "n": 3, "level": 95}, "level must be"),
        ({"k": 1, "n": 3, "method": "wald"}, "method must be one of"),
    ],
)
def test_bad_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        proportion_interval(**kwargs)


@pytest.mark.parametrize("count", [0, 1, 7, 40])
def test_poisson_interval_has_exact_tail_probabilities(count):
    low, high = poisson_rate_interval(count, 4.0, level=0.95)
    # Garwood limits: P(X >= count | 4 * low) = P(X <= count | 4 * high) = 0.025.
    assert stats.poisson.cdf(count, 4.0 * high) == pytest.approx(0.025, abs=1e-9)
    if count == 0:
        assert low == 0.0
    else:
        assert stats.poisson.sf(count - 1, 4.0 * low) == pytest.approx(0.025, abs=1e-9)


def test_poisson_interval_rejects_bad_exposure():
    with pytest.raises(ValueError, match="exposure"):
        poisson_rate_interval(3, 0.0)
    with pytest.raises(ValueError, match="count"):
        poisson_rate_interval(-1, 1.0)
