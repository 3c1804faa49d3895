"""Equity: disaggregation against Fairlearn, gaps by hand, flags, completeness."""

from __future__ import annotations

import json
import math
import warnings
from functools import partial

import numpy as np
import pytest
from fairlearn.metrics import MetricFrame
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from sklearn.metrics import precision_score, recall_score, roc_auc_score

from radassure.core import (
    Disaggregation,
    UndefinedMetricWarning,
    adjust_p_values,
    completeness,
    diagnostic_metrics,
    disaggregate,
    flag_disparities,
    proportion_interval,
)
from radassure.core._power import proportion_power
from radassure.core.fairness import NOT_RECORDED

Z = stats.norm.ppf(0.975)
SKLEARN = {
    "sensitivity": recall_score,
    "specificity": partial(recall_score, pos_label=0),
    "ppv": precision_score,
}


def _data(seed: int = 0, n: int = 3000):
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.3
    score = np.clip(rng.normal(np.where(y, 0.65, 0.4), 0.2), 0, 1)
    sex = rng.choice(["F", "M"], n)
    age = rng.choice(["18-49", "50-69", "70+"], n, p=[0.3, 0.45, 0.25])
    site = rng.choice(["A", "B", "C", "D"], n)
    return y, score, {"sex": sex, "age": age, "site": site}


def _counts(k_pos, n_pos, k_neg, n_neg):
    """Labels and calls with exactly k_pos of n_pos positives called, k_neg of n_neg negatives."""
    y = np.r_[np.ones(n_pos, bool), np.zeros(n_neg, bool)]
    calls = np.r_[np.arange(n_pos) < k_pos, np.arange(n_neg) >= n_neg - k_neg]
    return y, calls


# --- point estimates against Fairlearn's MetricFrame -------------------------------


def test_by_group_matches_metricframe():
    y, score, groups = _data()
    calls = score >= 0.5
    r = disaggregate(
        ["sensitivity", "specificity", "ppv", "auc"], y, score, groups=groups, threshold=0.5
    )
    for attribute, values in groups.items():
        mf = MetricFrame(metrics=SKLEARN, y_true=y, y_pred=calls, sensitive_features=values)
        auc = MetricFrame(metrics=roc_auc_score, y_true=y, y_pred=score, sensitive_features=values)
        for name in SKLEARN:
            ours = {g: e.value for g, e in r.by_group(name, attribute).items()}
            assert ours == pytest.approx(mf.by_group[name].to_dict(), rel=1e-12)
            assert r.overall[name].value == pytest.approx(mf.overall[name])
        ours_auc = {g: e.value for g, e in r.by_group("auc", attribute).items()}
        assert ours_auc == pytest.approx(auc.by_group.to_dict(), rel=1e-12)
        counts = MetricFrame(
            metrics={"n": lambda t, p: len(t), "pos": lambda t, p: int(np.sum(t))},
            y_true=y,
            y_pred=calls,
            sensitive_features=values,
        ).by_group
        for row in r.rows:
            if row.attribute == attribute:
                assert (row.n, row.positives) == tuple(counts.loc[row.group])


def test_intersections_match_metricframe_with_two_features():
    y, score, groups = _data(seed=1)
    calls = score >= 0.5
    r = disaggregate(
        ["sensitivity", "specificity"], y, calls, groups=groups, intersections=[("sex", "age")]
    )
    mf = MetricFrame(
        metrics=SKLEARN,
        y_true=y,
        y_pred=calls,
        sensitive_features={"sex": groups["sex"], "age": groups["age"]},
    )
    for name in ("sensitivity", "specificity"):
        expected = {f"{s} & {a}": v for (s, a), v in mf.by_group[name].items()}
        ours = {g: e.value for g, e in r.by_group(name, "sex & age").items()}
        assert ours == pytest.approx(expected, rel=1e-12)
    assert "sex & age" in r.attributes
    assert "sex & site" not in r.attributes
    everything = disaggregate("sensitivity", y, calls, groups=groups, intersections=True)
    assert everything.attributes == ("sex", "age", "site", "sex & age", "sex & site", "age & site")


def test_metric_given_as_callable_matches_registry():
    y, score, groups = _data(seed=2, n=800)
    calls = score >= 0.5

    def sens(t, p):
        return diagnostic_metrics(t, p)["sensitivity"]

    two = {"sex": groups["sex"], "age": groups["age"]}
    r = disaggregate(
        {"sens": sens, "sensitivity": "sensitivity"}, y, calls, groups=two, rng=0, n_boot=250
    )
    for row in r.rows:
        if row.metric == "sens":
            twin = r.get(row.attribute, row.group, "sensitivity")
            assert row.estimate == twin.estimate
            assert row.vs_rest is not None and twin.vs_rest is not None
            assert row.vs_rest.difference.method == "bootstrap-se"
            # The bootstrap standard error of a proportion is close to sqrt(p(1-p)/n).
            assert row.vs_rest.se_group == pytest.approx(twin.vs_rest.se_group, rel=0.2)
            assert row.vs_rest.difference.value == pytest.approx(twin.vs_rest.difference.value)


def test_bootstrap_is_reproducible_with_the_same_seed():
    y, score, groups = _data(seed=3, n=600)
    calls = score >= 0.5
    sex = {"sex": groups["sex"]}
    a = disaggregate("f1", y, calls, groups=sex, rng=7, n_boot=100)
    b = disaggregate("f1", y, calls, groups=sex, rng=np.random.default_rng(7), n_boot=100)
    assert a.get("sex", "F", "f1").vs_rest is not None
    assert a.to_dict() == b.to_dict()


def test_permuting_cases_changes_nothing():
    y, score, groups = _data(seed=4, n=900)
    order = np.random.default_rng(0).permutation(y.size)
    a = disaggregate(["sensitivity", "auc"], y, score, groups=groups, threshold=0.5)
    b = disaggregate(
        ["sensitivity", "auc"],
        y[order],
        score[order],
        groups={k: v[order] for k, v in groups.items()},
        threshold=0.5,
    )
    for ra, rb in zip(a.rows, b.rows, strict=True):
        assert ra.estimate.value == pytest.approx(rb.estimate.value)
        assert ra.vs_rest is not None and rb.vs_rest is not None
        assert ra.vs_rest.p_value == pytest.approx(rb.vs_rest.p_value)


# --- differences and ratios by hand -------------------------------------------------


def _wilson(k, n):
    return proportion_interval(k, n)


def test_difference_ratio_and_p_value_by_hand():
    # Group: sensitivity 40/50; everyone else: 90/100.
    y1, c1 = _counts(40, 50, 0, 10)
    y2, c2 = _counts(90, 100, 0, 10)
    y, calls = np.r_[y1, y2], np.r_[c1, c2]
    age = np.r_[np.full(60, "80+"), np.full(110, "<80")]
    row = disaggregate("sensitivity", y, calls, groups={"age": age}).get(
        "age", "80+", "sensitivity"
    )
    c = row.vs_rest
    assert c is not None and c.comparator == "everyone else"
    p1, p2 = 0.8, 0.9
    (l1, u1), (l2, u2) = _wilson(40, 50), _wilson(90, 100)
    assert c.difference.value == pytest.approx(-0.1)
    assert c.difference.ci_low == pytest.approx(-0.1 - math.hypot(p1 - l1, u2 - p2))
    assert c.difference.ci_high == pytest.approx(-0.1 + math.hypot(u1 - p1, p2 - l2))
    se_log = math.sqrt(1 / 40 - 1 / 50 + 1 / 90 - 1 / 100)
    assert c.ratio.value == pytest.approx(p1 / p2)
    assert c.ratio.ci_low == pytest.approx(p1 / p2 * math.exp(-Z * se_log))
    assert c.ratio.ci_high == pytest.approx(p1 / p2 * math.exp(Z * se_log))
    # Fisher's exact test, two-sided by doubling the smaller tail.
    fisher = stats.fisher_exact([[40, 10], [90, 10]], alternative="less")
    assert c.p_value == pytest.approx(2 * fisher.pvalue)
    lower_tail = stats.hypergeom.cdf(40, 150, 130, 50)
    assert c.p_value == pytest.approx(2 * lower_tail)
    assert (row.n, row.positives) == (60, 50)


@pytest.mark.parametrize(
    ("a", "b", "low", "high"),
    [
        # Newcombe (1998), Table II, method 10 (hybrid score).
        ((56, 70), (48, 80), 0.0524, 0.3339),
        ((9, 10), (3, 10), 0.1705, 0.8090),
        ((6, 7), (2, 7), 0.0582, 0.8062),
        ((5, 56), (0, 29), -0.0381, 0.1926),
    ],
)
def test_newcombe_published_examples(a, b, low, high):
    y1, c1 = _counts(a[0], a[1], 0, 0)
    y2, c2 = _counts(b[0], b[1], 0, 0)
    grp = np.r_[np.full(a[1], "g"), np.full(b[1], "h")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)  # ratio with 0 of 29
        r = disaggregate(
            "sensitivity", np.r_[y1, y2], np.r_[c1, c2], groups={"x": grp}, min_group_size=1
        )
    d = r.get("x", "g", "sensitivity").vs_rest
    assert d is not None
    assert (round(d.difference.ci_low, 4), round(d.difference.ci_high, 4)) == (low, high)


def test_reference_group_comparison_by_hand():
    parts = [_counts(40, 50, 0, 0), _counts(45, 50, 0, 0), _counts(30, 50, 0, 0)]
    y = np.concatenate([p[0] for p in parts])
    calls = np.concatenate([p[1] for p in parts])
    eth = np.repeat(["Asian", "White", "Black"], 50)
    r = disaggregate(
        "sensitivity", y, calls, groups={"eth": eth}, reference_groups={"eth": "White"}
    )
    black = r.get("eth", "Black", "sensitivity")
    assert black.vs_reference is not None
    assert black.vs_reference.comparator == "White"
    assert black.vs_reference.difference.value == pytest.approx(0.6 - 0.9)
    (l1, u1), (l2, u2) = _wilson(30, 50), _wilson(45, 50)
    assert black.vs_reference.difference.ci_low == pytest.approx(
        -0.3 - math.hypot(0.6 - l1, u2 - 0.9)
    )
    assert black.vs_reference.difference.ci_high == pytest.approx(
        -0.3 + math.hypot(u1 - 0.6, 0.9 - l2)
    )
    assert black.vs_rest is not None
    assert black.vs_rest.comparator_estimate.value == pytest.approx(85 / 100)
    assert r.get("eth", "White", "sensitivity").vs_reference is None


def _delong_variance_by_hand(y, s):
    pos, neg = s[y], s[~y]
    psi = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
    return v10.var(ddof=1) / pos.size + v01.var(ddof=1) / neg.size


def test_auc_gap_uses_independent_delong_variances():
    y, score, groups = _data(seed=5, n=700)
    r = disaggregate("auc", y, score, groups={"sex": groups["sex"]})
    row = r.get("sex", "F", "auc")
    c = row.vs_rest
    assert c is not None and c.difference.method == "delong"
    female = groups["sex"] == "F"
    var = _delong_variance_by_hand(y[female], score[female]) + _delong_variance_by_hand(
        y[~female], score[~female]
    )
    d = roc_auc_score(y[female], score[female]) - roc_auc_score(y[~female], score[~female])
    assert c.difference.value == pytest.approx(d)
    assert c.difference.ci_high - c.difference.value == pytest.approx(Z * math.sqrt(var))
    assert c.p_value == pytest.approx(2 * stats.norm.sf(abs(d) / math.sqrt(var)))


# --- multiplicity -------------------------------------------------------------------


def _holm_by_hand(p):
    m = len(p)
    order = sorted(range(m), key=lambda i: p[i])
    out, running = [0.0] * m, 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out


def _bh_by_hand(p):
    m = len(p)
    order = sorted(range(m), key=lambda i: p[i])
    out, running = [0.0] * m, 1.0
    for rank in range(m - 1, -1, -1):
        i = order[rank]
        running = min(running, 1.0, m * p[i] / (rank + 1))
        out[i] = running
    return out


@settings(max_examples=200)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=40))
def test_holm_and_bh_match_hand_and_scipy(p):
    assert adjust_p_values(p).tolist() == pytest.approx(_holm_by_hand(p))
    bh = adjust_p_values(p, method="bh")
    assert bh.tolist() == pytest.approx(_bh_by_hand(p))
    assert bh.tolist() == pytest.approx(stats.false_discovery_control(p, method="bh").tolist())


def test_adjustment_ignores_nan_and_rejects_bad_values():
    out = adjust_p_values([0.01, math.nan, 0.04])
    assert math.isnan(out[1])
    assert out[[0, 2]].tolist() == pytest.approx([0.02, 0.04])
    with pytest.raises(ValueError, match="between 0 and 1"):
        adjust_p_values([0.5, 1.5])
    with pytest.raises(ValueError, match="'holm' or 'bh'"):
        adjust_p_values([0.5], method="bonferroni")  # type: ignore[arg-type]


# --- the flag rule ------------------------------------------------------------------


def _gap_data(seed=0, n=20_000, sens_old=0.70, share_old=0.25):
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.3
    old = rng.random(n) < share_old
    calls = np.where(y, rng.random(n) < np.where(old, sens_old, 0.88), rng.random(n) < 0.1)
    site = rng.choice(["A", "B", "C"], n)
    return y, calls, {"age": np.where(old, "80+", "<80"), "site": site}


def test_a_real_gap_is_flagged_with_a_reading():
    y, calls, groups = _gap_data()
    report = flag_disparities(disaggregate(["sensitivity", "specificity"], y, calls, groups=groups))
    assert [(f.attribute, f.group, f.metric) for f in report.flags] == [
        ("age", "80+", "sensitivity")
    ]
    flag = report.flags[0]
    d = flag.to_dict()
    contract = ("attribute", "group", "metric", "estimate", "reference", "difference")
    for key in (*contract, "p_adjusted"):
        assert key in d
    assert flag.difference == pytest.approx(flag.estimate - flag.reference)
    assert flag.difference_ci[0] < flag.difference < flag.difference_ci[1]
    assert flag.difference < -0.05 and flag.p_adjusted <= 0.05
    assert flag.reading.startswith("Sensitivity for patients with age 80+ is ")
    assert "lower than for everyone else" in flag.reading
    assert "larger than the 0.05 margin" in flag.reading
    assert "Holm-adjusted p < 0.001" in flag.reading
    json.dumps(report.to_dict(), allow_nan=False)


def test_family_spans_every_group_and_metric():
    y, calls, groups = _gap_data(seed=1)
    result = disaggregate(["sensitivity", "specificity"], y, calls, groups=groups)
    for correction in ("holm", "bh"):
        report = flag_disparities(result, correction=correction)
        p = [t.p_value for t in report.tests]
        assert {t.metric for t in report.tests} == {"sensitivity", "specificity"}
        assert {t.attribute for t in report.tests} == {"age", "site"}
        expected = adjust_p_values(p, method=correction)
        assert [t.p_adjusted for t in report.tests] == pytest.approx(expected.tolist())
        assert report.n_tests == len(report.tests) == len(result.rows) - len(report.insufficient)


def test_significant_gap_within_margin_is_not_flagged():
    # Sensitivity 2550/3000 = 0.85 against 7920/9000 = 0.88: a gap of 0.03 with
    # p < 0.001, but below the 0.05 margin.
    y1, c1 = _counts(2550, 3000, 0, 7000)
    y2, c2 = _counts(7920, 9000, 0, 21000)
    y, calls = np.r_[y1, y2], np.r_[c1, c2]
    age = np.r_[np.full(y1.size, "80+"), np.full(y2.size, "<80")]
    result = disaggregate("sensitivity", y, calls, groups={"age": age})
    test = next(t for t in flag_disparities(result).tests if t.group == "80+")
    assert test.difference.value == pytest.approx(-0.03)
    assert test.p_adjusted < 0.001
    assert test.significant and not test.beyond_margin and not test.flagged
    assert flag_disparities(result).flags == ()
    assert [f.group for f in flag_disparities(result, margin=0.02).flags] == ["80+"]


def test_direction():
    y, calls, groups = _gap_data(seed=3)
    result = disaggregate("sensitivity", y, calls, groups=groups)
    assert [f.group for f in flag_disparities(result).flags] == ["80+"]
    assert [f.group for f in flag_disparities(result, direction="better").flags] == ["<80"]
    both = flag_disparities(result, direction="both")
    assert sorted(f.group for f in both.flags) == ["80+", "<80"]
    better = next(f for f in both.flags if f.group == "<80")
    assert "higher than for everyone else" in better.reading


def test_per_metric_margin():
    y, calls, groups = _gap_data(seed=4)
    result = disaggregate(["sensitivity", "specificity"], y, calls, groups=groups)
    report = flag_disparities(result, margin={"sensitivity": 0.25, "specificity": 0.05})
    assert report.flags == ()
    assert report.margins == {"sensitivity": 0.25, "specificity": 0.05}


# --- insufficient data --------------------------------------------------------------


def _required_by_hand(p_r, n_r, delta, power=0.8, alpha=0.05):
    z_a = stats.norm.ppf(1 - alpha / 2)
    n = 1
    while True:
        p_g = p_r - delta
        pooled = (n * p_g + n_r * p_r) / (n + n_r)
        se0 = math.sqrt(pooled * (1 - pooled) * (1 / n + 1 / n_r))
        se1 = math.sqrt(p_g * (1 - p_g) / n + p_r * (1 - p_r) / n_r)
        if stats.norm.cdf((delta - z_a * se0) / se1) >= power:
            return n
        n += 1


def test_small_group_is_listed_with_required_size_and_never_flagged():
    y, calls, groups = _gap_data(seed=5, n=20_000)
    rng = np.random.default_rng(0)
    tiny = rng.random(y.size) < 0.01
    # The tool misses every positive case in this small group: a huge gap, but few cases.
    calls = np.where(tiny & y, False, calls)
    groups["scanner"] = np.where(tiny, "Canon", "GE")
    with pytest.warns(UndefinedMetricWarning, match="ratio scanner = (Canon|GE) vs the rest is"):
        result = disaggregate("sensitivity", y, calls, groups=groups)
    report = flag_disparities(result)
    assert result.get("scanner", "Canon", "sensitivity").estimate.value == 0.0
    assert ("scanner", "Canon") not in {(f.attribute, f.group) for f in report.flags}
    entry = next(i for i in report.insufficient if i.group == "Canon")
    row = result.get("scanner", "Canon", "sensitivity")
    assert entry.reason == "imprecise"
    assert entry.n == row.n and entry.positives == row.positives
    assert entry.expected_half_width > 0.05
    rest = row.vs_rest
    assert rest is not None
    p_r, n_r = rest.comparator_estimate.value, rest.comparator_estimate.n
    assert entry.required_denominator == _required_by_hand(p_r, n_r, 0.05)
    assert entry.required_positives == entry.required_denominator
    z_a = stats.norm.ppf(0.975)
    need = entry.required_denominator
    assert proportion_power(need, p_r - 0.05, p_r, n_r, z_a) >= 0.8
    assert proportion_power(need - 1, p_r - 0.05, p_r, n_r, z_a) < 0.8
    assert entry.required_cases >= need
    assert f"About {entry.required_cases:,} cases" in entry.reading
    assert "wider than the 0.05 margin" in entry.reading


def test_groups_below_min_group_size_are_not_compared():
    y, calls, groups = _gap_data(seed=6, n=2000)
    groups["scanner"] = np.full(y.size, "GE", dtype="<U8")
    groups["scanner"][np.flatnonzero(y)[:5]] = "Canon"
    result = disaggregate("sensitivity", y, calls, groups=groups, min_group_size=10)
    assert result.get("scanner", "Canon", "sensitivity").vs_rest is None
    entry = next(i for i in flag_disparities(result).insufficient if i.group == "Canon")
    assert entry.reason == "too few cases"
    assert "fewer than the 10 needed" in entry.reading


def test_half_width_rule_matches_its_formula():
    y, calls, groups = _gap_data(seed=7, n=5000)
    result = disaggregate("sensitivity", y, calls, groups=groups)
    report = flag_disparities(result)
    tested = {(t.attribute, t.group) for t in report.tests}
    for row in result.rows:
        c = row.vs_rest
        assert c is not None
        k_r = round(c.comparator_estimate.value * c.comparator_estimate.n)
        shrunk = (k_r + 2) / (c.comparator_estimate.n + 4)
        half = Z * math.sqrt(
            shrunk * (1 - shrunk) * (1 / row.estimate.n + 1 / c.comparator_estimate.n)
        )
        assert ((row.attribute, row.group) in tested) == (half <= 0.05)


# --- missing values and undefined metrics ------------------------------------------


def test_missing_values_form_an_explicit_group():
    y, score, groups = _data(seed=8, n=1200)
    calls = score >= 0.5
    raw = groups["age"].astype(object)
    raw[:40] = None
    raw[40:80] = ""
    raw[80:120] = "Z"
    raw[120:160] = "99"
    raw[160:170] = math.nan
    raw[170:180] = "  not stated "
    r = disaggregate("sensitivity", y, calls, groups={"age": raw})
    assert r.groups["age"] == ("18-49", "50-69", "70+", NOT_RECORDED)
    row = r.get("age", NOT_RECORDED, "sensitivity")
    assert row.n == 180
    mapped = np.where(np.arange(y.size) < 180, NOT_RECORDED, groups["age"])
    mf = MetricFrame(metrics=recall_score, y_true=y, y_pred=calls, sensitive_features=mapped)
    assert row.estimate.value == pytest.approx(mf.by_group[NOT_RECORDED])
    numeric = disaggregate("sensitivity", y, calls, groups={"code": np.where(raw == "Z", 99, 1)})
    assert numeric.groups["code"] == ("1", NOT_RECORDED)


def test_not_recorded_group_can_be_flagged():
    y, calls, _ = _gap_data(seed=12, n=20_000, sens_old=0.88)
    rng = np.random.default_rng(1)
    eth = rng.choice(
        np.array(["White", "Asian", "Z", ""], dtype=object), y.size, p=[0.6, 0.1, 0.2, 0.1]
    )
    unrecorded = (eth == "Z") | (eth == "")
    calls = np.where(unrecorded & y & (rng.random(y.size) < 0.15), False, calls)
    report = flag_disparities(disaggregate("sensitivity", y, calls, groups={"ethnic_group": eth}))
    assert [f.group for f in report.flags] == [NOT_RECORDED]
    assert report.flags[0].reading.startswith(
        "Sensitivity for patients with ethnic group not recorded is"
    )


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.integers(30, 300))
def test_rows_partition_the_cases_and_gaps_are_differences(seed, n):
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.5
    y[:2], y[2:4] = True, False
    calls = rng.random(n) < 0.5
    groups = {"a": rng.choice(["x", "y", "z"], n), "b": rng.choice(["u", "v"], n)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        r = disaggregate(["specificity", "accuracy"], y, calls, groups=groups, intersections=True)
    for attribute in r.attributes:
        rows = [row for row in r.rows if row.attribute == attribute and row.metric == "accuracy"]
        assert sum(row.n for row in rows) == n
        assert sum(row.positives for row in rows) == int(y.sum())
    for row in r.rows:
        if row.vs_rest is not None:
            c = row.vs_rest
            assert c.difference.value == pytest.approx(
                row.estimate.value - c.comparator_estimate.value
            )
            assert c.comparator_n == n - row.n
            assert 0.0 <= c.p_value <= 1.0
            assert c.difference.ci_low <= c.difference.value <= c.difference.ci_high


def test_undefined_metric_warns_is_nan_and_is_never_flagged():
    y, calls, groups = _gap_data(seed=9, n=4000)
    site = groups["site"].copy()
    site[np.flatnonzero(~y)[:30]] = "D"  # site D: 30 negative cases, no positives
    with pytest.warns(UndefinedMetricWarning, match="sensitivity is undefined for the group"):
        result = disaggregate("sensitivity", y, calls, groups={"site": site})
    row = result.get("site", "D", "sensitivity")
    assert math.isnan(row.estimate.value) and row.vs_rest is None
    report = flag_disparities(result)
    entry = next(i for i in report.insufficient if i.group == "D")
    assert entry.reason == "undefined"
    assert "there are no positive cases" in entry.reading
    assert entry.required_positives is not None and entry.required_positives > 0
    assert all(f.group != "D" for f in report.flags)
    json.dumps(report.to_dict(), allow_nan=False)
    json.dumps(result.to_dict(), allow_nan=False)


# --- completeness -------------------------------------------------------------------


def test_completeness_shares_overall_and_by_site():
    site = np.repeat(["A", "B", "C"], [400, 300, 300])
    eth = np.full(1000, "White", dtype=object)
    eth[:20] = "Z"  # site A: 5%
    eth[400:490] = ""  # site B: 30%
    eth[700:715] = None  # site C: 5%
    sex = np.tile(np.array(["F", "M"], dtype=object), 500)
    report = completeness({"ethnic_group": eth, "sex": sex}, by=site)
    ethnic = report.attributes[0]
    assert (ethnic.n, ethnic.missing) == (1000, 125)
    assert ethnic.share_missing.value == pytest.approx(0.125)
    assert ethnic.missing_codes == {"Z": 20, "(blank)": 90, "(none)": 15}
    assert {k: v.value for k, v in ethnic.by_group.items()} == pytest.approx(
        {"A": 0.05, "B": 0.30, "C": 0.05}
    )
    assert report.attributes[1].missing == 0
    [warning] = report.warnings
    assert (warning.attribute, warning.across) == ("ethnic_group", "site")
    assert (warning.highest, warning.lowest) == ("B", "A")
    assert warning.difference == pytest.approx(0.25)
    table = [[20, 90, 15], [380, 210, 285]]
    chi = stats.chi2_contingency(table, correction=False)
    assert warning.p_value == pytest.approx(chi.pvalue)
    # Family: ethnic_group across sex and across site (sex has nothing missing).
    assert report.n_tests == 2
    assert warning.p_adjusted == pytest.approx(
        adjust_p_values([_p_across_sex(eth, sex), chi.pvalue])[1]
    )
    assert "30% of patients at site B but 5% at site A" in warning.message
    json.dumps(report.to_dict(), allow_nan=False)


def _p_across_sex(eth, sex):
    gone = np.array([v in ("Z", "", None) for v in eth])
    table = [[np.sum(gone & (sex == s)) for s in ("F", "M")]]
    table.append([np.sum(~gone & (sex == s)) for s in ("F", "M")])
    return stats.chi2_contingency(table, correction=False).pvalue


def test_missingness_between_attribute_groups_warns():
    rng = np.random.default_rng(0)
    n = 4000
    age = rng.choice(["<65", "65+"], n)
    eth = rng.choice(["White", "Asian"], n).astype(object)
    gone = rng.random(n) < np.where(age == "65+", 0.20, 0.04)
    eth[gone] = "99"
    report = completeness({"ethnic_group": eth, "age_band": age})
    [warning] = report.warnings
    assert (warning.attribute, warning.across) == ("ethnic_group", "age_band")
    assert warning.highest == "65+"
    assert "of patients with age band 65+" in warning.message


def test_small_but_significant_missingness_gap_is_below_the_floor():
    site = np.repeat(["A", "B"], 50_000)
    eth = np.full(100_000, "White", dtype=object)
    eth[:1000] = "Z"  # 2% at site A
    eth[50_000:52_000] = "Z"  # 4% at site B: p tiny, difference 2 points
    report = completeness({"ethnic_group": eth}, by=site)
    assert report.warnings == ()
    assert report.n_tests == 1
    assert completeness({"ethnic_group": eth}, by=site, min_difference=0.01).warnings != ()


# --- bad requests -------------------------------------------------------------------


def test_bad_requests_raise_clear_errors():
    y, score, groups = _data(seed=10, n=200)
    calls = score >= 0.5
    with pytest.raises(ValueError, match="reference_groups names attribute 'ethnicity'"):
        disaggregate("sensitivity", y, calls, groups=groups, reference_groups={"ethnicity": "A"})
    with pytest.raises(ValueError, match="intersections names attribute 'scanner'"):
        disaggregate("sensitivity", y, calls, groups=groups, intersections=[("sex", "scanner")])
    with pytest.raises(ValueError, match="'X', which is not a group of 'sex'"):
        disaggregate("sensitivity", y, calls, groups=groups, reference_groups={"sex": "X"})
    with pytest.raises(ValueError, match=r"groups\['sex'\] has only one group \('F'\)"):
        disaggregate("sensitivity", y, calls, groups={"sex": np.full(y.size, "F")})
    with pytest.raises(ValueError, match=r"groups must map .* it is empty"):
        disaggregate("sensitivity", y, calls, groups={})
    with pytest.raises(ValueError, match="y_true is empty"):
        disaggregate("sensitivity", [], [], groups={"sex": []})
    with pytest.raises(ValueError, match=r"y_true has 200 and groups\['sex'\] has 199"):
        disaggregate("sensitivity", y, calls, groups={"sex": groups["sex"][:-1]})
    with pytest.raises(ValueError, match="one entry per case"):
        disaggregate("sensitivity", y, calls[:-1], groups=groups)
    with pytest.raises(ValueError, match="Unknown metric 'sens'"):
        disaggregate("sens", y, calls, groups=groups)
    with pytest.raises(ValueError, match="needs a name"):
        disaggregate(lambda t, p: diagnostic_metrics(t, p)["ppv"], y, calls, groups=groups)
    with pytest.raises(ValueError, match="pass threshold="):
        disaggregate("sensitivity", y, score, groups=groups)
    with pytest.raises(ValueError, match="threshold must be a finite number"):
        disaggregate("sensitivity", y, score, groups=groups, threshold=math.nan)
    with pytest.raises(ValueError, match="needs rng="):
        disaggregate("f1", y, calls, groups=groups)
    result = disaggregate(["sensitivity", "specificity"], y, calls, groups=groups)
    with pytest.raises(ValueError, match=r"no value for metric.*'specificity'"):
        flag_disparities(result, margin={"sensitivity": 0.05})
    with pytest.raises(ValueError, match="'auc' that the result does not hold"):
        flag_disparities(result, margin={"sensitivity": 0.05, "specificity": 0.05, "auc": 0.05})
    with pytest.raises(ValueError, match="margin for 'sensitivity' must be a positive"):
        flag_disparities(result, margin=0)
    with pytest.raises(ValueError, match="correction must be 'holm' or 'bh'"):
        flag_disparities(result, correction="bonferroni")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="alpha must be a number strictly between 0 and 1"):
        flag_disparities(result, alpha=5)
    with pytest.raises(ValueError, match="result must come from disaggregate"):
        flag_disparities({"rows": []})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"attributes must map .* it is empty"):
        completeness({})
    with pytest.raises(ValueError, match=r"attributes\['sex'\] has 200 and by has 3"):
        completeness({"sex": groups["sex"]}, by=["A", "B", "C"])


def test_result_type_and_lookup_errors():
    y, score, groups = _data(seed=11, n=300)
    r = disaggregate("sensitivity", y, score >= 0.5, groups=groups)
    assert isinstance(r, Disaggregation)
    assert r.metrics == ("sensitivity",)
    with pytest.raises(KeyError, match="No row"):
        r.get("sex", "X", "sensitivity")
    with pytest.raises(KeyError, match="No attribute"):
        r.by_group("sensitivity", "ethnicity")
