"""AUC and DeLong against scikit-learn, a brute-force DeLong, published data and scipy."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from sklearn.metrics import roc_auc_score

from radassure.core import UndefinedMetricWarning, delong_test, roc_auc

Z = stats.norm.ppf(0.975)


def brute_force_delong(y, scores):
    """O(n^2) DeLong et al. (1988): placement values from the full comparison table."""
    y = np.asarray(y)
    scores = np.atleast_2d(np.asarray(scores, dtype=float))
    pos, neg = scores[:, y == 1], scores[:, y == 0]
    psi = (pos[:, :, None] > neg[:, None, :]) + 0.5 * (pos[:, :, None] == neg[:, None, :])
    v10 = psi.mean(axis=2)
    v01 = psi.mean(axis=1)
    auc = psi.mean(axis=(1, 2))
    cov = np.atleast_2d(np.cov(v10)) / pos.shape[1] + np.atleast_2d(np.cov(v01)) / neg.shape[1]
    return auc, cov


def _data(seed, n_pos=40, n_neg=60, ties=False, shift=1.0):
    rng = np.random.default_rng(seed)
    y = np.r_[np.ones(n_pos, int), np.zeros(n_neg, int)]
    s = np.r_[rng.normal(shift, 1, n_pos), rng.normal(0, 1, n_neg)]
    if ties:
        s = np.round(s)
    perm = rng.permutation(y.size)
    return y[perm], s[perm]


labelled_scores = st.integers(4, 40).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 1), min_size=n, max_size=n).filter(lambda v: 2 <= sum(v) <= n - 2),
        st.lists(st.integers(-5, 5), min_size=n, max_size=n),
    )
)


@settings(max_examples=80)
@given(labelled_scores)
def test_auc_matches_sklearn_with_ties(data):
    y, s = data
    if len(set(s)) == 1:
        return
    assert roc_auc(y, s).value == pytest.approx(roc_auc_score(y, s), abs=1e-12)


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_delong_interval_matches_brute_force(seed, ties):
    y, s = _data(seed, ties=ties, shift=0.6)
    auc, cov = brute_force_delong(y, s)
    est = roc_auc(y, s, level=0.9)
    half = stats.norm.ppf(0.95) * math.sqrt(cov[0, 0])
    assert est.value == pytest.approx(auc[0], abs=1e-12)
    assert est.ci_low == pytest.approx(auc[0] - half, abs=1e-12)
    assert est.ci_high == pytest.approx(min(1.0, auc[0] + half), abs=1e-12)
    assert est.method == "delong"
    assert est.n == y.size


def test_hanley_mcneil_1982_ct_ratings():
    # Hanley and McNeil (1982) Radiology 143:29-36, Table 1: 109 CT images rated
    # 1 (definitely normal) to 5 (definitely abnormal); published area 0.893.
    normal = np.repeat([1, 2, 3, 4, 5], [33, 6, 6, 11, 2])
    abnormal = np.repeat([1, 2, 3, 4, 5], [3, 2, 2, 11, 33])
    y = np.r_[np.zeros(58, int), np.ones(51, int)]
    s = np.r_[normal, abnormal]
    est = roc_auc(y, s)
    assert round(est.value, 3) == 0.893
    auc, cov = brute_force_delong(y, s)
    assert est.ci_low == pytest.approx(auc[0] - Z * math.sqrt(cov[0, 0]), abs=1e-12)


def test_delong_test_matches_brute_force():
    rng = np.random.default_rng(3)
    y, a = _data(3, shift=1.0)
    b = a + rng.normal(0, 1.0, a.size)
    auc, cov = brute_force_delong(y, np.vstack([a, b]))
    var = cov[0, 0] + cov[1, 1] - 2 * cov[0, 1]
    z = (auc[0] - auc[1]) / math.sqrt(var)
    t = delong_test(y, a, b)
    assert t.difference.value == pytest.approx(auc[0] - auc[1], abs=1e-12)
    assert t.z == pytest.approx(z, rel=1e-10)
    assert t.p_value == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-10)
    assert t.difference.ci_low == pytest.approx(auc[0] - auc[1] - Z * math.sqrt(var))
    assert t.auc_a.value == pytest.approx(roc_auc_score(y, a))
    assert t.auc_b.value == pytest.approx(roc_auc_score(y, b))
    swapped = delong_test(y, b, a)
    assert swapped.z == pytest.approx(-t.z)
    assert swapped.p_value == pytest.approx(t.p_value)


def test_delong_test_size_under_the_null():
    # Two exchangeable tools: the p-value should fall below 0.05 about 5% of the time.
    rng = np.random.default_rng(11)
    rejections = 0
    sims = 300
    y = np.r_[np.ones(40, int), np.zeros(60, int)]
    for _ in range(sims):
        latent = np.r_[rng.normal(1, 1, 40), rng.normal(0, 1, 60)]
        a = latent + rng.normal(0, 1, 100)
        b = latent + rng.normal(0, 1, 100)
        rejections += delong_test(y, a, b).p_value < 0.05
    assert 0.02 < rejections / sims < 0.09


def test_delong_test_identical_scores_is_undefined():
    y, s = _data(4)
    with pytest.warns(UndefinedMetricWarning, match="variance of the AUC difference is 0"):
        t = delong_test(y, s, s)
    assert math.isnan(t.z)
    assert math.isnan(t.p_value)
    assert t.difference.value == 0.0
    assert t.auc_a.defined


def test_delong_test_needs_two_cases_per_class():
    with pytest.warns(UndefinedMetricWarning, match="at least two"):
        t = delong_test([1, 0, 0], [0.9, 0.1, 0.2], [0.8, 0.3, 0.1])
    assert math.isnan(t.p_value)


@settings(max_examples=40, deadline=None)
@given(labelled_scores, st.sampled_from(["exp", "affine", "cube"]))
def test_auc_invariant_to_monotone_transforms(data, transform):
    y, s = data
    s = np.asarray(s, dtype=float)
    if np.ptp(s) == 0:
        return
    t = {"exp": np.exp(s), "affine": 3.0 * s - 7.0, "cube": s**3}[transform]
    a, b = roc_auc(y, s), roc_auc(y, t)
    assert a.value == pytest.approx(b.value, abs=1e-12)
    assert a.ci_low == pytest.approx(b.ci_low, abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(labelled_scores)
def test_auc_symmetric_under_label_flip_and_contains_estimate(data):
    y, s = data
    if len(set(s)) == 1:
        return
    y = np.asarray(y)
    a = roc_auc(y, s)
    flipped = roc_auc(1 - y, s)
    negated = roc_auc(y, -np.asarray(s))
    assert flipped.value == pytest.approx(1 - a.value, abs=1e-12)
    assert negated.value == pytest.approx(1 - a.value, abs=1e-12)
    assert a.ci_low <= a.value <= a.ci_high
    boot = roc_auc(y, s, method="bootstrap", rng=0, n_boot=200, ci="percentile")
    assert boot.ci_low <= boot.value <= boot.ci_high


def _brute_auc(x, y, axis=-1):
    greater = (x[..., :, None] > y[..., None, :]).mean(axis=(-2, -1))
    equal = (x[..., :, None] == y[..., None, :]).mean(axis=(-2, -1))
    return greater + 0.5 * equal


@pytest.mark.parametrize("ci", ["percentile", "bca"])
def test_stratified_bootstrap_matches_scipy_two_sample_bootstrap(ci):
    # scipy.stats.bootstrap resamples each sample separately, i.e. stratified by class.
    y, s = _data(5, n_pos=30, n_neg=45, ties=True, shift=0.8)
    pos, neg = s[y == 1], s[y == 0]
    ref = stats.bootstrap(
        (pos, neg),
        _brute_auc,
        n_resamples=6000,
        method="BCa" if ci == "bca" else "percentile",
        rng=np.random.default_rng(0),
        vectorized=True,
    ).confidence_interval
    est = roc_auc(y, s, method="bootstrap", rng=1, n_boot=6000, ci=ci)
    assert est.method == f"bootstrap-{ci}"
    assert est.ci_low == pytest.approx(ref.low, abs=0.012)
    assert est.ci_high == pytest.approx(ref.high, abs=0.012)


def test_bootstrap_keeps_class_sizes_and_agrees_with_delong():
    y, s = _data(6, n_pos=80, n_neg=120, shift=1.0)
    delong = roc_auc(y, s)
    boot = roc_auc(y, s, method="bootstrap", rng=np.random.default_rng(2), n_boot=4000)
    assert boot.ci_high - boot.ci_low == pytest.approx(delong.ci_high - delong.ci_low, rel=0.12)


def test_bootstrap_is_reproducible_and_needs_rng():
    y, s = _data(7)
    a = roc_auc(y, s, method="bootstrap", rng=123, n_boot=300)
    b = roc_auc(y, s, method="bootstrap", rng=np.random.default_rng(123), n_boot=300)
    assert a == b
    with pytest.raises(ValueError, match="needs rng="):
        roc_auc(y, s, method="bootstrap")


def test_perfect_separation_gives_degenerate_interval():
    y = [0, 0, 0, 1, 1, 1]
    s = [0.1, 0.2, 0.3, 0.7, 0.8, 0.9]
    for kwargs in ({}, {"method": "bootstrap", "rng": 0, "n_boot": 100}):
        est = roc_auc(y, s, **kwargs)
        assert (est.value, est.ci_low, est.ci_high) == (1.0, 1.0, 1.0)


def test_undefined_cases_warn():
    with pytest.warns(UndefinedMetricWarning, match="no positive"):
        est = roc_auc([0, 0, 0], [0.1, 0.2, 0.3])
    assert not est.defined
    with pytest.warns(UndefinedMetricWarning, match="Every score is the same"):
        est = roc_auc([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5])
    assert est.value == 0.5
    assert math.isnan(est.ci_low)
    with pytest.warns(UndefinedMetricWarning, match="at least two positive"):
        est = roc_auc([0, 1, 0, 0], [0.1, 0.9, 0.3, 0.2])
    assert est.value == 1.0
    with pytest.warns(UndefinedMetricWarning, match="percentile interval is reported"):
        est = roc_auc([0, 1, 0, 0], [0.1, 0.9, 0.3, 0.2], method="bootstrap", rng=0, n_boot=50)
    assert est.method == "bootstrap-percentile"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"method": "hanley"}, "method must be"),
        ({"ci": "basic"}, "ci must be"),
        ({"method": "bootstrap", "rng": 0, "n_boot": 0}, "n_boot"),
        ({"method": "bootstrap", "rng": "seed"}, "rng must be"),
        ({"level": 0}, "level"),
    ],
)
def test_bad_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        roc_auc([0, 1, 0, 1], [0.1, 0.9, 0.3, 0.2], **kwargs)


def test_nan_scores_are_rejected():
    with pytest.raises(ValueError, match="NaN"):
        roc_auc([0, 1, 0, 1], [0.1, np.nan, 0.3, 0.2])


def test_delong_scales_to_large_samples():
    y, s = _data(8, n_pos=100_000, n_neg=300_000)
    start = time.perf_counter()
    est = roc_auc(y, s)
    assert time.perf_counter() - start < 5.0
    assert est.ci_high - est.ci_low < 0.01


def test_weighted_bootstrap_equals_explicit_resampling():
    # The O(B n) multiplicity trick must give exactly the AUC of explicit resamples
    # drawn with the same random numbers (both classes indexed in sorted order).
    from radassure.core.ranking import _bootstrap_aucs

    y, s = _data(9, n_pos=25, n_neg=35, ties=True)
    pos, neg = s[y == 1], s[y == 0]
    fast = _bootstrap_aucs(pos, neg, 50, np.random.default_rng(4))
    rng = np.random.default_rng(4)
    neg_sorted = np.sort(neg)
    neg_idx = rng.integers(0, neg.size, size=(50, neg.size))
    pos_idx = rng.integers(0, pos.size, size=(50, pos.size))
    slow = _brute_auc(np.sort(pos)[pos_idx], neg_sorted[neg_idx])
    np.testing.assert_allclose(fast, slow, atol=1e-12)


def test_bca_limits_equal_scipy_on_the_same_resamples():
    # Feeding our bootstrap distribution to scipy isolates the BCa bias
    # correction and jackknife acceleration, which must then agree exactly.
    from types import SimpleNamespace

    from radassure.core.ranking import _bootstrap_aucs

    y, s = _data(10, n_pos=20, n_neg=30, ties=True, shift=0.7)
    pos, neg = s[y == 1], s[y == 0]
    boots = _bootstrap_aucs(pos, neg, 3000, np.random.default_rng(8))
    ref = stats.bootstrap(
        (pos, neg),
        _brute_auc,
        n_resamples=0,
        bootstrap_result=SimpleNamespace(bootstrap_distribution=boots),
        method="BCa",
        confidence_level=0.9,
        vectorized=True,
    ).confidence_interval
    ordered = np.r_[pos, neg]
    labels = np.r_[np.ones(pos.size, int), np.zeros(neg.size, int)]
    est = roc_auc(labels, ordered, method="bootstrap", rng=8, n_boot=3000, level=0.9)
    assert est.ci_low == pytest.approx(ref.low, abs=1e-12)
    assert est.ci_high == pytest.approx(ref.high, abs=1e-12)
