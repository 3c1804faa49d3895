"""Claim checks: the three-outcome rule, the p-value and the verdict text."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from radassure.core import Estimate, UndefinedMetricWarning, check_claim


def est(value, low, high, level=0.95):
    return Estimate(value, low, high, level, "wilson", 400)


@pytest.mark.parametrize(
    ("estimate", "outcome"),
    [
        (est(0.93, 0.90, 0.96), "consistent"),  # lower limit 0.90 >= 0.89
        (est(0.91, 0.89, 0.93), "consistent"),  # lower limit exactly at the bound
        (est(0.87, 0.84, 0.90), "inconclusive"),  # straddles 0.89
        (est(0.85, 0.82, 0.88), "worse"),  # upper limit 0.88 < 0.89
    ],
)
def test_three_outcomes_higher_is_better(estimate, outcome):
    check = check_claim(estimate, 0.92, margin=0.03, metric="sensitivity")
    assert check.outcome == outcome
    assert check.verdict.startswith("local sensitivity ")


def test_verdict_texts():
    worse = check_claim(est(0.85, 0.82, 0.88), 0.92, margin=0.03, metric="sensitivity")
    assert worse.verdict == (
        "local sensitivity 0.85 (95% CI 0.82 to 0.88) is below the claimed 0.92 by more "
        "than the 0.03 margin"
    )
    ok = check_claim(est(0.93, 0.90, 0.96), 0.92, margin=0.03, metric="sensitivity")
    assert ok.verdict == (
        "local sensitivity 0.93 (95% CI 0.90 to 0.96) is consistent with the claimed 0.92: "
        "it is not below it by more than the 0.03 margin"
    )
    below_claim = check_claim(est(0.87, 0.84, 0.90), 0.92, margin=0.03, metric="sensitivity")
    assert "is below the claimed 0.92, but the data cannot show" in below_claim.verdict
    wide = check_claim(est(0.90, 0.80, 0.97), 0.92, margin=0.03, metric="AUC")
    assert wide.outcome == "inconclusive"
    assert "more cases are needed" in wide.verdict


def test_lower_is_better_is_mirrored():
    # False positives per image: claimed 0.5, margin 0.1, bound 0.6.
    def fppi(v, lo, hi):
        return Estimate(v, lo, hi, 0.95, "poisson-exact", 200)

    kw = {"margin": 0.1, "direction": "lower", "metric": "false positives per image"}
    assert check_claim(fppi(0.45, 0.38, 0.55), 0.5, **kw).outcome == "consistent"
    assert check_claim(fppi(0.62, 0.52, 0.74), 0.5, **kw).outcome == "inconclusive"
    worse = check_claim(fppi(0.80, 0.70, 0.92), 0.5, **kw)
    assert worse.outcome == "worse"
    assert "is above the claimed 0.50 by more than the 0.10 margin" in worse.verdict


def test_p_value_for_symmetric_interval_is_the_normal_test():
    se = 0.02
    z = stats.norm.ppf(0.975)
    e = est(0.88, 0.88 - z * se, 0.88 + z * se)
    check = check_claim(e, 0.90, margin=0.05)
    assert check.p_value == pytest.approx(stats.norm.sf((0.88 - 0.85) / se))
    lower = check_claim(e, 0.86, margin=0.0, direction="lower")
    assert lower.p_value == pytest.approx(stats.norm.sf((0.86 - 0.88) / se))


@given(
    st.floats(0.05, 0.95),
    st.floats(0.001, 0.2),
    st.floats(0.001, 0.2),
    st.floats(0.05, 0.95),
    st.floats(0.0, 0.1),
)
def test_p_value_agrees_with_the_interval(value, below, above, claimed, margin):
    e = est(value, value - below, value + above)
    check = check_claim(e, claimed, margin=margin)
    bound = claimed - margin
    if abs(e.ci_low - bound) > 1e-9:
        assert (check.p_value < 0.025) == (e.ci_low > bound)
        assert (check.outcome == "consistent") == (e.ci_low > bound)
    if abs(e.ci_high - bound) > 1e-9:
        assert (check.p_value > 0.975) == (e.ci_high < bound)
        assert (check.outcome == "worse") == (e.ci_high < bound)


def test_undefined_estimate_warns():
    nan = math.nan
    with pytest.warns(UndefinedMetricWarning, match="undefined"):
        check = check_claim(Estimate(nan, nan, nan, 0.95, "wilson", 0), 0.9, margin=0.05)
    assert check.outcome == "undefined"
    assert math.isnan(check.p_value)


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        ((0.87, 0.9), {"margin": 0.03}, "must be a radassure Estimate"),
        ((est(0.8, 0.7, 0.9), 0.9), {"margin": -0.1}, "margin must be zero or positive"),
        ((est(0.8, 0.7, 0.9), math.inf), {"margin": 0.1}, "claimed must be a finite"),
        ((est(0.8, 0.7, 0.9), 0.9), {"margin": 0.1, "direction": "up"}, "direction"),
    ],
)
def test_bad_arguments_raise(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        check_claim(*args, **kwargs)
