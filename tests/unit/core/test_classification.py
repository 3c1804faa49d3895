"""Diagnostic metrics against scikit-learn and closed forms."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
)

from radassure.core import (
    UndefinedMetricWarning,
    confusion_counts,
    diagnostic_metrics,
    proportion_interval,
)

Z = stats.norm.ppf(0.975)

binary_pairs = st.integers(2, 60).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 1), min_size=n, max_size=n),
        st.lists(st.integers(0, 1), min_size=n, max_size=n),
    )
)


@given(binary_pairs)
def test_confusion_counts_match_sklearn(pair):
    y, p = pair
    tn, fp, fn, tp = confusion_matrix(y, p, labels=[0, 1]).ravel()
    c = confusion_counts(y, p)
    assert (c.tp, c.fp, c.fn, c.tn) == (tp, fp, fn, tn)
    assert c.n == len(y)


@settings(max_examples=60)
@given(binary_pairs)
def test_point_values_match_sklearn(pair):
    y, p = pair
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = diagnostic_metrics(y, p)
    c = confusion_counts(y, p)
    if c.positives and c.negatives:
        assert m["sensitivity"].value == pytest.approx(recall_score(y, p))
        assert m["balanced_accuracy"].value == pytest.approx(balanced_accuracy_score(y, p))
    if c.tp + c.fp:
        assert m["ppv"].value == pytest.approx(precision_score(y, p))
    if c.tp + c.fp + c.fn:
        assert m["f1"].value == pytest.approx(f1_score(y, p))
    assert m["accuracy"].value == pytest.approx(accuracy_score(y, p))
    assert m["prevalence"].value == pytest.approx(np.mean(y))
    for est in m.values():
        if est.defined and math.isfinite(est.ci_low):
            assert est.ci_low - 1e-12 <= est.value <= est.ci_high + 1e-12


def _example():
    # tp=40, fn=10, fp=15, tn=135
    y = np.r_[np.ones(50), np.zeros(150)].astype(int)
    p = np.r_[np.ones(40), np.zeros(10), np.ones(15), np.zeros(135)].astype(int)
    return y, p


def test_proportions_use_wilson_intervals():
    y, p = _example()
    m = diagnostic_metrics(y, p, level=0.9)
    expected = {
        "sensitivity": (40, 50),
        "specificity": (135, 150),
        "ppv": (40, 55),
        "npv": (135, 145),
        "accuracy": (175, 200),
        "prevalence": (50, 200),
    }
    for key, (k, n) in expected.items():
        ci = stats.binomtest(k, n).proportion_ci(confidence_level=0.9, method="wilson")
        assert m[key].value == pytest.approx(k / n)
        assert (m[key].ci_low, m[key].ci_high) == pytest.approx((ci.low, ci.high), abs=1e-9)
        assert m[key].n == n
        assert m[key].method == "wilson"
    assert list(m) == [
        "sensitivity",
        "specificity",
        "ppv",
        "npv",
        "accuracy",
        "balanced_accuracy",
        "f1",
        "lr_positive",
        "lr_negative",
        "prevalence",
    ]


def test_likelihood_ratios_use_simel_log_method():
    y, p = _example()
    m = diagnostic_metrics(y, p)
    tp, fn, fp, tn = 40, 10, 15, 135
    lr_pos = (tp / 50) / (fp / 150)
    se = math.sqrt(1 / tp - 1 / 50 + 1 / fp - 1 / 150)
    assert m["lr_positive"].value == pytest.approx(8.0)
    assert m["lr_positive"].ci_low == pytest.approx(lr_pos * math.exp(-Z * se))
    assert m["lr_positive"].ci_high == pytest.approx(lr_pos * math.exp(Z * se))
    lr_neg = (fn / 50) / (tn / 150)
    se = math.sqrt(1 / fn - 1 / 50 + 1 / tn - 1 / 150)
    assert m["lr_negative"].value == pytest.approx(lr_neg)
    assert m["lr_negative"].ci_low == pytest.approx(lr_neg * math.exp(-Z * se))
    assert m["lr_negative"].ci_high == pytest.approx(lr_neg * math.exp(Z * se))


def test_balanced_accuracy_mover_and_f1_jaccard_intervals():
    y, p = _example()
    m = diagnostic_metrics(y, p)
    se_l, se_h = proportion_interval(40, 50)
    sp_l, sp_h = proportion_interval(135, 150)
    ba = (0.8 + 0.9) / 2
    assert m["balanced_accuracy"].value == pytest.approx(ba)
    assert m["balanced_accuracy"].ci_low == pytest.approx(
        ba - math.sqrt((0.8 - se_l) ** 2 + (0.9 - sp_l) ** 2) / 2
    )
    assert m["balanced_accuracy"].ci_high == pytest.approx(
        ba + math.sqrt((se_h - 0.8) ** 2 + (sp_h - 0.9) ** 2) / 2
    )
    j_l, j_h = proportion_interval(40, 65)
    assert m["f1"].value == pytest.approx(80 / 105)
    assert m["f1"].ci_low == pytest.approx(2 * j_l / (1 + j_l))
    assert m["f1"].ci_high == pytest.approx(2 * j_h / (1 + j_h))


def test_balanced_accuracy_and_f1_intervals_cover_near_nominal():
    # Simulated 2x2 tables from a known truth: sensitivity 0.8, specificity 0.9,
    # 60 positives and 140 negatives.
    rng = np.random.default_rng(7)
    se, sp, n_pos, n_neg = 0.8, 0.9, 60, 140
    true_ba = (se + sp) / 2
    prev = n_pos / (n_pos + n_neg)
    # F1 in terms of expected cell shares.
    true_f1 = 2 * prev * se / (2 * prev * se + prev * (1 - se) + (1 - prev) * (1 - sp))
    y = np.r_[np.ones(n_pos), np.zeros(n_neg)].astype(int)
    hits = {"balanced_accuracy": 0, "f1": 0}
    sims = 600
    for _ in range(sims):
        p = np.r_[rng.random(n_pos) < se, rng.random(n_neg) >= sp].astype(int)
        m = diagnostic_metrics(y, p)
        hits["balanced_accuracy"] += m["balanced_accuracy"].contains(true_ba)
        hits["f1"] += m["f1"].contains(true_f1)
    for key, count in hits.items():
        assert 0.91 < count / sims < 0.985, key


def test_no_positive_cases_warns_and_gives_nan():
    with pytest.warns(UndefinedMetricWarning) as record:
        m = diagnostic_metrics([0, 0, 0, 0], [0, 1, 0, 0])
    messages = " ".join(str(w.message) for w in record)
    assert "sensitivity" in messages
    for key in ("sensitivity", "balanced_accuracy", "lr_positive", "lr_negative"):
        assert not m[key].defined, key
    assert m["specificity"].value == 0.75
    assert m["prevalence"].value == 0.0


def test_infinite_and_zero_likelihood_ratios():
    # No false positives: LR+ is infinite; no false negatives: LR- is 0.
    with pytest.warns(UndefinedMetricWarning) as record:
        m = diagnostic_metrics([1, 1, 0, 0], [1, 1, 0, 0])
    assert len(record) == 2
    assert not m["lr_positive"].defined
    assert m["lr_negative"].value == 0.0
    assert math.isnan(m["lr_negative"].ci_low)
    assert m["sensitivity"].value == 1.0


def test_no_positive_calls_makes_ppv_undefined():
    with pytest.warns(UndefinedMetricWarning) as record:
        m = diagnostic_metrics([1, 0, 1, 0], [0, 0, 0, 0])
    messages = [str(w.message) for w in record]
    assert any(msg.startswith("ppv") for msg in messages)
    assert any("lr_positive is 0 / 0" in msg for msg in messages)
    assert not m["ppv"].defined
    assert not m["lr_positive"].defined
    assert m["npv"].value == 0.5


def test_boolean_inputs_are_accepted():
    m = diagnostic_metrics(
        np.array([True, True, False, False, True]), np.array([True, False, False, True, True])
    )
    assert m["sensitivity"].value == pytest.approx(2 / 3)


@pytest.mark.parametrize(
    ("y_true", "y_pred", "match"),
    [
        ([0, 1, 2], [0, 1, 1], "y_true must hold binary labels"),
        (["a", "b"], [0, 1], "y_true must hold binary labels"),
        ([0, 1, 1], [0, 1], "one entry per case"),
        ([], [], "empty"),
        ([[0, 1]], [[0, 1]], "one-dimensional"),
        ([0, 1], [0, 0.5], "y_pred must hold binary labels"),
    ],
)
def test_bad_inputs_raise(y_true, y_pred, match):
    with pytest.raises(ValueError, match=match):
        diagnostic_metrics(y_true, y_pred)


def test_bad_level_raises():
    with pytest.raises(ValueError, match="level"):
        diagnostic_metrics([0, 1], [0, 1], level=1.5)
