"""Sample size (Buderer 1996; Hanley and McNeil 1982) against closed forms and simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from radassure.core import (
    hanley_mcneil_se,
    sample_adequacy,
    sample_size_auc,
    sample_size_sensitivity_specificity,
)

Z = stats.norm.ppf(0.975)


def test_buderer_worked_example():
    # The textbook case: sensitivity 0.90 to within +/-0.05 at 95% needs
    # 1.96**2 * 0.9 * 0.1 / 0.05**2 = 138.3, i.e. 139 positive cases; at 10%
    # prevalence that is 1383 cases in all (Buderer 1996, equation 1).
    s = sample_size_sensitivity_specificity(0.90, 0.90, 0.10, half_width=0.05)
    assert s.positives == 139
    assert s.total_for_sensitivity == math.ceil(Z**2 * 0.09 / 0.0025 / 0.10)
    assert s.total_for_sensitivity == 1383
    # Specificity: 138.3 negatives, 138.3 / 0.9 = 153.7 -> 154 cases.
    assert s.negatives == 139
    assert s.total_for_specificity == 154
    assert s.total == 1383


@given(
    st.floats(0.5, 0.99),
    st.floats(0.5, 0.99),
    st.floats(0.01, 0.9),
    st.floats(0.01, 0.2),
    st.sampled_from([0.9, 0.95, 0.99]),
)
def test_buderer_closed_form(se, sp, prev, w, level):
    z = stats.norm.ppf(0.5 + level / 2)
    s = sample_size_sensitivity_specificity(se, sp, prev, half_width=w, level=level)
    n_se = z**2 * se * (1 - se) / w**2 / prev
    n_sp = z**2 * sp * (1 - sp) / w**2 / (1 - prev)
    assert s.total_for_sensitivity == pytest.approx(math.ceil(n_se), abs=1)
    assert s.total_for_specificity == pytest.approx(math.ceil(n_sp), abs=1)
    assert s.total == max(s.total_for_sensitivity, s.total_for_specificity)
    # The expected positives in the recommended total meet the (unrounded) need.
    assert s.total * prev >= z**2 * se * (1 - se) / w**2 - 1e-6
    assert s.positives == math.ceil(z**2 * se * (1 - se) / w**2 - 1e-9)


def test_hanley_mcneil_formula():
    a, n1, n0 = 0.8932, 51, 58
    q1, q2 = a / (2 - a), 2 * a**2 / (1 + a)
    var = (a * (1 - a) + (n1 - 1) * (q1 - a**2) + (n0 - 1) * (q2 - a**2)) / (n1 * n0)
    assert hanley_mcneil_se(a, n1, n0) == pytest.approx(math.sqrt(var))


def test_hanley_mcneil_is_exact_for_exponential_scores():
    # Q1 and Q2 are exact when both classes have exponential scores; with
    # negatives ~ Exp(1) and positives ~ Exp(rate l), AUC = P(X > Y) = 1 / (1 + l).
    rng = np.random.default_rng(0)
    auc, n1, n0, reps = 0.8, 30, 40, 3000
    rate = 1 / auc - 1
    pos = rng.exponential(1 / rate, size=(reps, n1))
    neg = rng.exponential(1.0, size=(reps, n0))
    aucs = (pos[:, :, None] > neg[:, None, :]).mean(axis=(1, 2))
    assert aucs.mean() == pytest.approx(auc, abs=0.003)
    assert aucs.std(ddof=1) == pytest.approx(hanley_mcneil_se(auc, n1, n0), rel=0.05)


@pytest.mark.parametrize(
    ("auc", "w", "ratio"), [(0.85, 0.05, 1.0), (0.75, 0.03, 3.0), (0.95, 0.02, 9.0)]
)
def test_sample_size_auc_is_the_smallest_that_works(auc, w, ratio):
    res = sample_size_auc(auc, half_width=w, ratio=ratio)

    def half(n1):
        return Z * hanley_mcneil_se(auc, n1, math.ceil(ratio * n1))

    assert res.negatives == math.ceil(ratio * res.positives)
    assert half(res.positives) <= w
    assert half(res.positives - 1) > w
    assert res.expected_half_width == pytest.approx(half(res.positives))
    assert res.total == res.positives + res.negatives


def test_sample_size_auc_prevalence_equals_ratio():
    by_prev = sample_size_auc(0.8, half_width=0.04, prevalence=0.25)
    by_ratio = sample_size_auc(0.8, half_width=0.04, ratio=3.0)
    assert by_prev == by_ratio


def test_sample_size_auc_needs_exactly_one_of_prevalence_or_ratio():
    with pytest.raises(ValueError, match="exactly one"):
        sample_size_auc(0.8, half_width=0.05)
    with pytest.raises(ValueError, match="exactly one"):
        sample_size_auc(0.8, half_width=0.05, prevalence=0.2, ratio=4)


def test_sample_adequacy_statements():
    short = sample_adequacy(45, 300, half_width=0.05, sensitivity=0.9, specificity=0.85)
    assert not short.adequate
    assert short.required == {"sensitivity": 139, "specificity": 196}
    assert short.expected_half_width["sensitivity"] == pytest.approx(Z * math.sqrt(0.09 / 45))
    assert "needs at least 139 positive cases (94 more)" in short.statement
    assert "With 300 negative cases" in short.statement
    assert "within the ±0.050 wanted" in short.statement
    enough = sample_adequacy(400, 400, half_width=0.05, sensitivity=0.9, auc=0.85)
    assert enough.adequate
    assert enough.expected_half_width["auc"] == pytest.approx(Z * hanley_mcneil_se(0.85, 400, 400))
    assert "AUC near 0.85" in enough.statement


@pytest.mark.parametrize(
    ("func", "args", "kwargs", "match"),
    [
        (sample_size_sensitivity_specificity, (1.0, 0.9, 0.1), {"half_width": 0.05}, "sensitivity"),
        (sample_size_sensitivity_specificity, (0.9, 0.9, 0.0), {"half_width": 0.05}, "prevalence"),
        (sample_size_sensitivity_specificity, (0.9, 0.9, 0.1), {"half_width": 0}, "half_width"),
        (sample_size_auc, (0.8,), {"half_width": 0.05, "ratio": -1.0}, "ratio"),
        (hanley_mcneil_se, (0.8, 0, 10), {}, "n_positive"),
        (sample_adequacy, (10, 10), {"half_width": 0.05}, "at least one of"),
        (sample_adequacy, (0, 10), {"half_width": 0.05, "auc": 0.8}, "n_positive"),
    ],
)
def test_bad_arguments_raise(func, args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        func(*args, **kwargs)
