"""ROC/PR curves, bands, thresholds and net benefit against scikit-learn and closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from sklearn.metrics import (
    average_precision_score,
    precision_recall_curve,
    roc_curve,
)

from radassure.core import (
    UndefinedMetricWarning,
    average_precision,
    diagnostic_metrics,
    net_benefit,
    pr_curve,
    roc_curve_with_band,
    threshold_for_sensitivity,
    threshold_for_specificity,
    threshold_metrics,
    youden_threshold,
)

labelled_scores = st.integers(3, 50).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 1), min_size=n, max_size=n).filter(lambda v: 1 <= sum(v) < n),
        st.lists(st.integers(0, 8), min_size=n, max_size=n),
    )
)


def _data(seed=0, n=300):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(int)
    s = np.round(rng.normal(y * 1.2, 1.0), 1)
    return y, s


@settings(max_examples=60)
@given(labelled_scores)
def test_roc_points_match_sklearn(data):
    y, s = data
    fpr, tpr, thr = roc_curve(y, s, drop_intermediate=False)
    c = roc_curve_with_band(y, s)
    np.testing.assert_allclose(c.fpr, fpr)
    np.testing.assert_allclose(c.tpr, tpr)
    np.testing.assert_array_equal(c.thresholds, thr)
    assert np.all(c.tpr_low <= c.tpr + 1e-12)
    assert np.all(c.tpr <= c.tpr_high + 1e-12)
    assert np.all(c.fpr_low <= c.fpr + 1e-12)
    assert np.all(c.fpr <= c.fpr_high + 1e-12)


def test_roc_band_is_pointwise_wilson():
    y, s = _data()
    c = roc_curve_with_band(y, s, level=0.9)
    n_pos, n_neg = int(y.sum()), int((1 - y).sum())
    for i in (1, len(c.tpr) // 2, len(c.tpr) - 2):
        k = round(c.tpr[i] * n_pos)
        ci = stats.binomtest(k, n_pos).proportion_ci(confidence_level=0.9, method="wilson")
        assert (c.tpr_low[i], c.tpr_high[i]) == pytest.approx((ci.low, ci.high), abs=1e-9)
        k = round(c.fpr[i] * n_neg)
        ci = stats.binomtest(k, n_neg).proportion_ci(confidence_level=0.9, method="wilson")
        assert (c.fpr_low[i], c.fpr_high[i]) == pytest.approx((ci.low, ci.high), abs=1e-9)


def test_roc_without_negatives_warns():
    with pytest.warns(UndefinedMetricWarning, match="no negative cases"):
        c = roc_curve_with_band([1, 1, 1], [0.2, 0.5, 0.9])
    assert np.all(np.isnan(c.fpr))
    assert c.tpr[-1] == 1.0


@settings(max_examples=60)
@given(labelled_scores)
def test_pr_points_match_sklearn(data):
    y, s = data
    precision, recall, thr = precision_recall_curve(y, s, drop_intermediate=False)
    c = pr_curve(y, s)
    # scikit-learn lists thresholds increasing and appends (recall 0, precision 1).
    np.testing.assert_allclose(c.precision, precision[:-1][::-1])
    np.testing.assert_allclose(c.recall, recall[:-1][::-1])
    np.testing.assert_array_equal(c.thresholds, thr[::-1])
    assert np.all(c.precision_low <= c.precision + 1e-12)
    assert np.all(c.precision <= c.precision_high + 1e-12)


@settings(max_examples=80)
@given(labelled_scores)
def test_average_precision_matches_sklearn(data):
    y, s = data
    expected = average_precision_score(y, s)
    if 0 < expected < 1:
        est = average_precision(y, s)
    else:
        with pytest.warns(UndefinedMetricWarning):
            est = average_precision(y, s)
    assert est.value == pytest.approx(expected, abs=1e-12)


def test_average_precision_logit_interval():
    y, s = _data(1)
    est = average_precision(y, s, level=0.9)
    ap, n_pos = est.value, int(y.sum())
    mu = math.log(ap / (1 - ap))
    tau = 1 / math.sqrt(n_pos * ap * (1 - ap))
    z = stats.norm.ppf(0.95)
    assert est.ci_low == pytest.approx(1 / (1 + math.exp(-(mu - z * tau))))
    assert est.ci_high == pytest.approx(1 / (1 + math.exp(-(mu + z * tau))))
    assert est.ci_low < est.value < est.ci_high


def test_average_precision_edge_cases_warn():
    with pytest.warns(UndefinedMetricWarning, match="no positive"):
        assert not average_precision([0, 0, 0], [0.1, 0.2, 0.3]).defined
    with pytest.warns(UndefinedMetricWarning, match="logit interval"):
        est = average_precision([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])
    assert est.value == 1.0
    assert math.isnan(est.ci_low)


def test_threshold_metrics_equal_metrics_of_the_calls():
    y, s = _data(2)
    m = threshold_metrics(y, s, threshold=0.5)
    ref = diagnostic_metrics(y, s >= 0.5)
    assert m == ref


@settings(max_examples=40)
@given(labelled_scores, st.sampled_from([0.5, 0.8, 0.95, 1.0]))
def test_threshold_for_sensitivity_is_the_highest_that_meets_target(data, target):
    y, s = data
    y, s = np.asarray(y), np.asarray(s, dtype=float)
    op = threshold_for_sensitivity(y, s, target=target)
    sens = np.mean(s[y == 1] >= op.threshold)
    assert op.sensitivity == pytest.approx(sens)
    assert sens >= target
    higher = np.unique(s[s > op.threshold])
    if higher.size:
        assert np.mean(s[y == 1] >= higher.min()) < target
    assert op.specificity == pytest.approx(np.mean(s[y == 0] < op.threshold))


@settings(max_examples=40)
@given(labelled_scores, st.sampled_from([0.5, 0.8, 0.95, 1.0]))
def test_threshold_for_specificity_is_the_lowest_that_meets_target(data, target):
    y, s = data
    y, s = np.asarray(y), np.asarray(s, dtype=float)
    op = threshold_for_specificity(y, s, target=target)
    spec = np.mean(s[y == 0] < op.threshold)
    assert op.specificity == pytest.approx(spec)
    assert spec >= target
    lower = np.unique(s[s < op.threshold])
    if lower.size:
        assert np.mean(s[y == 0] < lower.max()) < target


@settings(max_examples=40)
@given(labelled_scores)
def test_youden_threshold_maximises_j_over_sklearn_roc(data):
    y, s = data
    fpr, tpr, thr = roc_curve(y, s, drop_intermediate=False)
    op = youden_threshold(y, s)
    j = tpr - fpr
    best = np.max(j)
    assert op.sensitivity + op.specificity - 1 == pytest.approx(best)
    # Ties (up to round-off) go to the highest threshold.
    assert op.threshold == thr[np.flatnonzero(j > best - 1e-12)[0]]


def test_threshold_choice_needs_both_classes_and_valid_target():
    with pytest.raises(ValueError, match="no negative cases"):
        youden_threshold([1, 1], [0.1, 0.2])
    with pytest.raises(ValueError, match="target"):
        threshold_for_sensitivity([0, 1], [0.1, 0.2], target=0)
    with pytest.raises(ValueError, match="threshold must be a number"):
        threshold_metrics([0, 1], [0.1, 0.2], threshold=float("nan"))


def test_net_benefit_closed_form():
    y = np.array([1, 1, 1, 0, 0, 0, 0, 0, 0, 0])
    p = np.array([0.9, 0.6, 0.2, 0.7, 0.3, 0.25, 0.1, 0.05, 0.4, 0.2])
    dc = net_benefit(y, p, thresholds=[0.2, 0.5])
    # p_t = 0.2: calls p >= 0.2 -> tp 3, fp 5 (0.7, 0.3, 0.25, 0.4, 0.2)
    # p_t = 0.5: tp 2, fp 1
    assert dc.net_benefit == pytest.approx([3 / 10 - 5 / 10 * 0.25, 2 / 10 - 1 / 10 * 1.0])
    assert dc.treat_all == pytest.approx([0.3 - 0.7 * 0.25, 0.3 - 0.7 * 1.0])
    assert np.all(dc.treat_none == 0)
    assert dc.n == 10


def test_net_benefit_of_perfect_model_is_prevalence():
    y = np.array([1, 0, 1, 0, 0])
    dc = net_benefit(y, y.astype(float), thresholds=np.linspace(0.05, 0.95, 7))
    assert dc.net_benefit == pytest.approx(np.full(7, 0.4))


@pytest.mark.parametrize("bad", [[0.0], [1.0], [], [0.2, 1.2]])
def test_net_benefit_rejects_bad_thresholds(bad):
    with pytest.raises(ValueError, match="thresholds"):
        net_benefit([0, 1], [0.2, 0.8], thresholds=bad)


def test_net_benefit_rejects_non_probabilities():
    with pytest.raises(ValueError, match="probabilities between 0 and 1"):
        net_benefit([0, 1], [0.2, 1.8], thresholds=[0.5])
