"""Calibration metrics against scikit-learn, scipy optimisation and known truths."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize, special
from sklearn.calibration import calibration_curve
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss

from radassure.core import (
    UndefinedMetricWarning,
    brier_score,
    calibration_intercept_slope,
    expected_calibration_error,
    integrated_calibration_index,
    reliability_curve,
)
from radassure.core._fitting import loess


def _simulate(seed, n, distort=lambda p: p):
    """Predictions p and outcomes drawn with true risk distort(p)."""
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.02, 0.98, n)
    y = (rng.random(n) < distort(p)).astype(int)
    return y, p


probabilities = st.integers(2, 60).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 1), min_size=n, max_size=n),
        st.lists(st.floats(0, 1), min_size=n, max_size=n),
    )
)


@given(probabilities)
def test_brier_matches_sklearn(data):
    y, p = data
    assert brier_score(y, p) == pytest.approx(brier_score_loss(y, p, labels=[0, 1]), abs=1e-12)


def test_slope_matches_unpenalised_sklearn_logistic_regression():
    y, p = _simulate(0, 800, distort=lambda p: special.expit(0.6 * special.logit(p) + 0.3))
    fit = calibration_intercept_slope(y, p)
    model = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000)
    model.fit(special.logit(p)[:, None], y)
    assert fit.slope.value == pytest.approx(model.coef_[0, 0], abs=1e-6)
    assert fit.slope.ci_low < 0.6 < fit.slope.ci_high


def test_intercept_maximises_offset_likelihood():
    y, p = _simulate(1, 500, distort=lambda p: special.expit(special.logit(p) - 0.5))
    x = special.logit(p)

    def negloglik(a):
        eta = a + x
        return -np.sum(y * special.log_expit(eta) + (1 - y) * special.log_expit(-eta))

    ref = optimize.minimize_scalar(
        negloglik, bounds=(-5, 5), method="bounded", options={"xatol": 1e-10}
    )
    fit = calibration_intercept_slope(y, p)
    assert fit.intercept.value == pytest.approx(ref.x, abs=1e-6)
    # Observed information of the one-parameter model gives the Wald interval.
    mu = special.expit(ref.x + x)
    se = 1 / math.sqrt(np.sum(mu * (1 - mu)))
    assert fit.intercept.ci_high - fit.intercept.value == pytest.approx(1.959964 * se, rel=1e-4)


def test_intercept_closed_form_for_constant_predictions():
    y = np.r_[np.ones(30), np.zeros(70)].astype(int)
    p = np.full(100, 0.2)
    with pytest.warns(UndefinedMetricWarning, match="slope is undefined"):
        fit = calibration_intercept_slope(y, p)
    assert fit.intercept.value == pytest.approx(special.logit(0.3) - special.logit(0.2), abs=1e-8)
    assert not fit.slope.defined


def test_well_calibrated_predictions_give_ideal_values():
    y, p = _simulate(2, 4000)
    fit = calibration_intercept_slope(y, p)
    assert fit.intercept.contains(0.0)
    assert fit.slope.contains(1.0)
    assert integrated_calibration_index(y, p) < 0.02


def test_undefined_calibration_cases_warn():
    with pytest.warns(UndefinedMetricWarning, match="every outcome is equal"):
        fit = calibration_intercept_slope([1, 1, 1], [0.2, 0.5, 0.7])
    assert not fit.intercept.defined
    with pytest.warns(UndefinedMetricWarning, match="separated"):
        fit = calibration_intercept_slope([0, 0, 0, 1, 1, 1], [0.1, 0.2, 0.3, 0.7, 0.8, 0.9])
    assert not fit.slope.defined
    assert fit.intercept.defined


@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
def test_reliability_curve_matches_sklearn_including_bin_edges(strategy):
    rng = np.random.default_rng(3)
    p = np.r_[rng.uniform(0, 1, 300), [0.0, 0.1, 0.2, 0.5, 1.0]]
    y = (rng.random(p.size) < p).astype(int)
    prob_true, prob_pred = calibration_curve(y, p, n_bins=7, strategy=strategy)
    r = reliability_curve(y, p, n_bins=7, strategy=strategy)
    np.testing.assert_allclose(r.observed, prob_true)
    np.testing.assert_allclose(r.mean_predicted, prob_pred)
    assert r.count.sum() == p.size
    assert np.all(r.observed_low <= r.observed)
    assert np.all(r.observed <= r.observed_high)


def test_ece_from_sklearn_bins():
    rng = np.random.default_rng(4)
    p = rng.uniform(0, 1, 500)
    y = (rng.random(500) < p**1.5).astype(int)
    prob_true, prob_pred = calibration_curve(y, p, n_bins=10)
    counts, _ = np.histogram(p, bins=np.linspace(0, 1, 11))
    counts = counts[counts > 0]
    expected = np.sum(counts / 500 * np.abs(prob_true - prob_pred))
    assert expected_calibration_error(y, p, n_bins=10) == pytest.approx(expected)


def test_loess_reproduces_polynomials_exactly():
    x = np.linspace(-2, 3, 40)
    grid = np.array([-2.0, -0.3, 1.7, 3.0])
    quad = 1 - 2 * x + 0.5 * x**2
    np.testing.assert_allclose(loess(x, quad, grid), 1 - 2 * grid + 0.5 * grid**2, atol=1e-9)
    np.testing.assert_allclose(loess(x, 3 * x + 1, grid, degree=1, frac=0.3), 3 * grid + 1)


def test_loess_matches_direct_weighted_least_squares():
    rng = np.random.default_rng(5)
    x = rng.uniform(0, 1, 50)
    y = np.sin(6 * x) + rng.normal(0, 0.1, 50)
    x0 = 0.4
    k = math.floor(0.5 * 50)
    d = np.abs(x - x0)
    h = np.sort(d)[k - 1]
    w = np.where(d <= h, (1 - (d / h) ** 3) ** 3, 0.0)
    design = np.column_stack([np.ones(50), x - x0, (x - x0) ** 2])
    coef = np.linalg.solve(design.T @ (design * w[:, None]), design.T @ (w * y))
    assert loess(x, y, [x0], frac=0.5)[0] == pytest.approx(coef[0], abs=1e-6)


def test_ici_recovers_a_known_miscalibration():
    # True risk p**2 against prediction p, p ~ U(0.02, 0.98):
    # ICI = E|p - p**2| = mean of p - p**2 over the range.
    y, p = _simulate(6, 20_000, distort=lambda p: p**2)
    a, b = 0.02, 0.98
    truth = ((b**2 - a**2) / 2 - (b**3 - a**3) / 3) / (b - a)
    assert integrated_calibration_index(y, p) == pytest.approx(truth, abs=0.01)


def test_ici_grid_interpolation_is_close_to_exact():
    y, p = _simulate(7, 600, distort=lambda p: p**1.3)
    exact = integrated_calibration_index(y, p, n_eval=10_000)
    fast = integrated_calibration_index(y, p, n_eval=100)
    assert fast == pytest.approx(exact, abs=2e-3)


def test_ici_needs_distinct_predictions():
    with pytest.warns(UndefinedMetricWarning, match="3 distinct"):
        assert math.isnan(integrated_calibration_index([0, 1, 1, 0], [0.2, 0.2, 0.8, 0.8]))


@settings(max_examples=30)
@given(probabilities)
def test_ece_is_between_zero_and_one(data):
    y, p = data
    assert 0.0 <= expected_calibration_error(y, p) <= 1.0


@pytest.mark.parametrize(
    ("func", "kwargs", "match"),
    [
        (brier_score, {}, "probabilities between 0 and 1"),
        (expected_calibration_error, {"n_bins": 0}, "n_bins"),
        (reliability_curve, {"strategy": "kmeans"}, "strategy"),
        (integrated_calibration_index, {"frac": 2.0}, "frac"),
    ],
)
def test_bad_arguments_raise(func, kwargs, match):
    p = [0.1, 0.5, 0.9, 0.3] if match != "probabilities between 0 and 1" else [0.1, 1.5, 0.9, 0.3]
    with pytest.raises(ValueError, match=match):
        func([0, 1, 1, 0], p, **kwargs)
