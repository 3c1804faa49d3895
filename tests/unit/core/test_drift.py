"""Label-free early warning, part 2: drift tests and estimated performance."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special, stats
from sklearn.isotonic import IsotonicRegression

from radassure.core import (
    cramers_v,
    distribution_shift,
    estimated_performance,
    isotonic_calibrator,
    metadata_drift,
)
from radassure.errors import UndefinedMetricWarning

# --- distribution_shift -----------------------------------------------------------------


def test_continuous_shift_is_scipy_ks() -> None:
    rng = np.random.default_rng(0)
    base, cur = rng.normal(0, 1, 3000), rng.normal(0.3, 1.2, 400)
    r = distribution_shift(base, cur)
    ref = stats.ks_2samp(base, cur)
    assert r.statistic == pytest.approx(ref.statistic) and r.effect == r.statistic
    assert r.p_value == pytest.approx(ref.pvalue)
    assert r.flagged and r.name == "score_distribution" and r.effect_floor == 0.1
    assert (r.n_baseline, r.n_current) == (3000, 400)
    # The threshold is the larger of the floor and Smirnov's asymptotic critical D.
    crit = stats.kstwobign.isf(0.001) * math.sqrt((3000 + 400) / (3000 * 400))
    assert r.threshold == pytest.approx(max(crit, 0.1), rel=1e-3)


def test_huge_sample_does_not_flag_a_trivial_shift() -> None:
    rng = np.random.default_rng(1)
    r = distribution_shift(rng.normal(0, 1, 200_000), rng.normal(0.05, 1, 200_000))
    assert r.p_value is not None and r.p_value < 1e-10  # significant ...
    assert r.effect is not None and r.effect < 0.1 and not r.flagged  # ... but trivial
    assert "slightly" in r.message


def test_tiny_sample_does_not_flag_noise() -> None:
    # Two completely separated samples of 5: D = 1, but the exact p is 2/252 > 0.001.
    r = distribution_shift([1, 2, 3, 4, 5], [6, 7, 8, 9, 10])
    assert r.effect == 1.0 and r.p_value == pytest.approx(2 / 252) and not r.flagged
    assert "no clear change" in r.message


def test_null_flags_rarely_by_simulation() -> None:
    rng = np.random.default_rng(7)
    flags = [
        distribution_shift(rng.normal(size=500), rng.normal(size=100), alpha=0.05).flagged
        for _ in range(200)
    ]
    # At alpha 0.05 with a floor of 0.1 the null flag rate is below alpha.
    assert np.mean(flags) <= 0.05 + 4 * math.sqrt(0.05 * 0.95 / 200)


def test_categorical_shift_is_scipy_chi_square_with_unseen_category() -> None:
    base = ["GE"] * 300 + ["Siemens"] * 200
    cur = ["GE"] * 60 + ["Siemens"] * 20 + ["Philips"] * 40  # Philips unseen in baseline
    r = distribution_shift(base, cur, kind="categorical", name="metadata:manufacturer")
    table = np.array([[300, 0, 200], [60, 40, 20]])  # columns GE, Philips, Siemens
    ref = stats.chi2_contingency(table, correction=False)
    assert r.statistic == pytest.approx(ref.statistic) and r.p_value == pytest.approx(ref.pvalue)
    assert r.threshold == pytest.approx(stats.chi2.isf(0.001, 2))
    assert r.effect == pytest.approx(cramers_v(table)) and r.flagged
    assert r.message.startswith("The manufacturer values differ")


def test_cramers_v_by_hand() -> None:
    # 2 x 2: expected 20 per cell, chi2 = 4 * 10**2 / 20 = 20, N = 80.
    phi2 = max(0.0, 20 / 80 - 1 / 79)
    k_corr = 2 - 1 / 79
    assert cramers_v([[30, 10], [10, 30]]) == pytest.approx(math.sqrt(phi2 / (k_corr - 1)))
    # 2 x 3 by hand: rows 60/40, columns 30/40/30, N = 100.
    obs = np.array([[25, 20, 15], [5, 20, 15]], dtype=float)
    exp = np.outer([60, 40], [30, 40, 30]) / 100
    chi2 = float(((obs - exp) ** 2 / exp).sum())
    phi2 = max(0.0, chi2 / 100 - 2 * 1 / 99)
    r_corr, k_corr = 2 - 1 / 99, 3 - 4 / 99
    assert cramers_v(obs) == pytest.approx(math.sqrt(phi2 / min(r_corr - 1, k_corr - 1)))


def test_cramers_v_bias_correction_centres_null_near_zero() -> None:
    rng = np.random.default_rng(9)
    vs = [cramers_v(np.stack([rng.multinomial(60, [0.25] * 4), rng.multinomial(40, [0.25] * 4)]))
          for _ in range(300)]  # fmt: skip
    raw = []
    for _ in range(300):
        t = np.stack([rng.multinomial(60, [0.25] * 4), rng.multinomial(40, [0.25] * 4)])
        raw.append(math.sqrt(stats.chi2_contingency(t, correction=False).statistic / 100))
    assert np.mean(vs) < 0.5 * np.mean(raw)


def test_categorical_edge_cases() -> None:
    r = distribution_shift(["A"] * 5, ["A"] * 7, kind="categorical")
    assert r.statistic == 0.0 and r.p_value == 1.0 and not r.flagged
    with pytest.raises(ValueError, match="compare these values as continuous"):
        distribution_shift([1.5, 2.5], [3.5, 4.5], kind="categorical")
    # Missing values are a category of their own, so a rise in missingness shows.
    r = distribution_shift(["A"] * 200, ["A"] * 50 + [None] * 50, kind="categorical")
    assert r.flagged


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"kind": "ordinal"}, 'kind must be "continuous" or "categorical"'),
        ({"alpha": 1.5}, "alpha must lie strictly between 0 and 1"),
        ({"effect_floor": 2.0}, "effect_floor must lie between 0 and 1"),
    ],
)
def test_distribution_shift_bad_options(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        distribution_shift([1.0, 2.0], [3.0, 4.0], **kwargs)  # type: ignore[arg-type]


def test_distribution_shift_bad_values() -> None:
    with pytest.raises(ValueError, match="current contains NaN"):
        distribution_shift([1.0, 2.0], [1.0, math.nan])
    with pytest.raises(ValueError, match="baseline is empty"):
        distribution_shift([], [1.0])


# --- metadata_drift ---------------------------------------------------------------------


def _p_between(low: float, high: float) -> tuple[list[str], list[str]]:
    # A categorical shift with a large effect whose p-value lies in (low, high).
    base = ["A"] * 40 + ["B"] * 40
    for k in range(1, 40):
        cur = ["A"] * (20 + k) + ["B"] * (20 - k if k < 20 else 0)
        p = distribution_shift(base, cur, kind="categorical").p_value
        assert p is not None
        if low < p < high:
            return base, cur
    raise AssertionError("no table with the wanted p-value")


def test_metadata_drift_bonferroni_over_fields() -> None:
    base, cur = _p_between(0.0005, 0.001)
    [alone] = metadata_drift({"model": base}, {"model": cur})
    assert alone.flagged and alone.name == "metadata:model"
    both = metadata_drift(
        {"model": base, "software": ["1"] * 80}, {"model": cur, "software": ["1"] * len(cur)}
    )
    assert [r.name for r in both] == ["metadata:model", "metadata:software"]
    assert not both[0].flagged  # p > 0.001 / 2


def test_metadata_drift_infers_kinds() -> None:
    rng = np.random.default_rng(4)
    base = {"kvp": rng.choice([80, 90, 100, 110, 120], 500), "dose": rng.gamma(2, 1, 500)}
    cur = {"kvp": rng.choice([80, 90, 100, 110, 120], 200), "dose": rng.gamma(2, 1, 200)}
    kvp, dose = metadata_drift(base, cur)
    assert kvp.threshold == pytest.approx(stats.chi2.isf(0.0005, 4))  # categorical
    assert dose.statistic == pytest.approx(stats.ks_2samp(base["dose"], cur["dose"]).statistic)
    [forced] = metadata_drift({"kvp": base["kvp"]}, {"kvp": cur["kvp"]},
                              kinds={"kvp": "continuous"})  # fmt: skip
    assert forced.statistic == pytest.approx(stats.ks_2samp(base["kvp"], cur["kvp"]).statistic)


def test_metadata_drift_bad_input() -> None:
    with pytest.raises(ValueError, match="current has no field 'model'"):
        metadata_drift({"model": ["a"]}, {})
    with pytest.raises(ValueError, match="kinds names fields not in baseline: x"):
        metadata_drift({"model": ["a"]}, {"model": ["a"]}, kinds={"x": "continuous"})
    with pytest.raises(ValueError, match="baseline has no fields"):
        metadata_drift({}, {})
    with pytest.raises(ValueError, match=r"current\['kvp'\] contains NaN"):
        metadata_drift({"kvp": np.arange(50.0)}, {"kvp": [1.0, math.nan]})


# --- estimated_performance --------------------------------------------------------------


def _risk(s: np.ndarray, shift: float = 0.0) -> np.ndarray:
    return np.asarray(special.expit(3.0 * (s + shift) - 2.0))


def test_estimate_is_the_cbpe_sum() -> None:
    s = np.array([0.9, 0.2, 0.7, 0.1, 0.55])
    e = estimated_performance(s, 0.5, calibrator=lambda x: x)
    called = s >= 0.5
    assert e.sensitivity.value == pytest.approx(s[called].sum() / s.sum())
    assert e.specificity.value == pytest.approx((1 - s)[~called].sum() / (1 - s).sum())
    assert e.prevalence == pytest.approx(s.mean()) and e.calibration == "supplied"
    assert e.sensitivity.level == 0.95 and e.sensitivity.n == 5


def test_isotonic_calibrator_matches_sklearn() -> None:
    rng = np.random.default_rng(8)
    s = np.round(rng.normal(size=3000), 2)  # with ties
    y = rng.random(3000) < _risk(s)
    new = rng.normal(size=500) * 1.5
    ours = np.asarray(isotonic_calibrator(s, y)(new))
    ref = IsotonicRegression(out_of_bounds="clip").fit(s, y).predict(new)
    np.testing.assert_allclose(ours, ref, atol=1e-12)


def test_estimate_recovers_true_sensitivity_under_covariate_shift() -> None:
    rng = np.random.default_rng(12)
    base = rng.normal(0, 1, 20_000)
    base_y = rng.random(base.size) < _risk(base)
    cur = rng.normal(0.4, 1.1, 4000)  # the case mix moves; P(disease | score) does not
    cur_y = rng.random(cur.size) < _risk(cur)
    e = estimated_performance(cur, 0.8, baseline_scores=base, baseline_labels=base_y)
    true_sens = np.mean(cur[cur_y] >= 0.8)
    true_spec = np.mean(cur[~cur_y] < 0.8)
    assert e.sensitivity.contains(true_sens) and abs(e.sensitivity.value - true_sens) < 0.03
    assert e.specificity.contains(true_spec) and abs(e.specificity.value - true_spec) < 0.03
    assert e.calibration == "isotonic" and e.n_baseline == 20_000


def test_estimate_interval_coverage_by_simulation() -> None:
    rng = np.random.default_rng(13)
    hits = 0
    reps = 400
    for _ in range(reps):
        s = rng.normal(0, 1, 800)
        y = rng.random(s.size) < _risk(s)
        e = estimated_performance(s, 0.8, calibrator=_risk)
        hits += e.sensitivity.contains(float(np.mean(s[y] >= 0.8)))
    assert abs(hits / reps - 0.95) < 4 * math.sqrt(0.95 * 0.05 / reps)


def test_estimate_is_blind_to_a_conditional_shift() -> None:
    # The documented blind spot: after an "upgrade" diseased studies score lower for the
    # same disease, so true sensitivity falls, but the scores alone cannot show it.
    rng = np.random.default_rng(14)
    base = rng.normal(0, 1, 20_000)
    base_y = rng.random(base.size) < _risk(base)
    cur = rng.normal(0, 1, 4000)
    cur_y = rng.random(cur.size) < _risk(cur, shift=1.0)
    e = estimated_performance(cur, 0.8, baseline_scores=base, baseline_labels=base_y)
    true_sens = float(np.mean(cur[cur_y] >= 0.8))
    assert true_sens < e.sensitivity.ci_low - 0.1  # the estimate misses a large drop
    assert "cannot see a change in how scores relate to disease" in e.message
    [sens, _] = e.to_drift_results(min_sensitivity=true_sens + 0.05)
    assert not sens.flagged  # and so no early warning is raised


def test_estimate_to_drift_results_flags_a_low_interval() -> None:
    e = estimated_performance([0.9, 0.2, 0.7, 0.1] * 50, 0.5, calibrator=lambda x: x)
    sens, spec = e.to_drift_results(min_sensitivity=0.95, min_specificity=0.5)
    assert sens.flagged and not spec.flagged and sens.threshold == 0.95
    assert sens.role == "early-warning" and e.to_dict()["role"] == "early-warning"
    with pytest.raises(ValueError, match="min_sensitivity must lie between 0 and 1"):
        e.to_drift_results(min_sensitivity=95)


def test_estimate_undefined_when_no_expected_positives() -> None:
    with pytest.warns(UndefinedMetricWarning, match="undefined"):
        e = estimated_performance([0.3, 0.6], 0.5, calibrator=np.zeros_like)
    assert math.isnan(e.sensitivity.value) and e.specificity.value == 0.5


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({}, "Pass either calibrator= or both baseline_scores="),
        (
            {"calibrator": lambda x: x, "baseline_scores": [0.1], "baseline_labels": [1]},
            "not both",
        ),
        ({"baseline_scores": [0.1, 0.2]}, "must be passed together"),
        ({"baseline_scores": [0.1, 0.2], "baseline_labels": [1, 1]}, "both positive and neg"),
        ({"baseline_scores": [0.1, 0.2], "baseline_labels": [1, 0, 1]}, "one entry per case"),
        ({"calibrator": lambda x: x * 2}, "calibrator must return one probability"),
        ({"calibrator": lambda x: x[:1]}, "calibrator must return one probability"),
    ],
)
def test_estimate_bad_input(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        estimated_performance([0.3, 0.6], 0.5, **kwargs)  # type: ignore[arg-type]


def test_estimate_bad_threshold() -> None:
    with pytest.raises(ValueError, match="threshold must be a finite operating threshold"):
        estimated_performance([0.3], math.nan, calibrator=lambda x: x)
