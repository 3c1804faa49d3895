"""Score charts of the surveillance monitor: run lengths, transform, design, update, budget."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats

from radassure.core import _arl
from radassure.core._surveillance_scores import (
    drop_values,
    normal_cusum_arl_nystrom,
    score_knots,
    score_threshold_table,
)
from radassure.core.surveillance import (
    SurveillanceDesign,
    SurveillanceState,
    design_surveillance,
    initial_state,
    update,
)

SITES = np.array(["A", "B", "C"])
D = math.sqrt(2.0) * stats.norm.ppf(0.9)  # binormal AUROC 0.90
THRESHOLD = D - stats.norm.ppf(0.9)  # sensitivity 0.90


def _cases(
    rng: np.random.Generator, n: int, *, shift: dict[str, float] | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Binormal cases: positives' scores N(D - shift[site], 1), negatives N(0, 1)."""
    site = SITES[rng.integers(0, 3, n)]
    y = rng.random(n) < 0.1
    drop = np.array([(shift or {}).get(v, 0.0) for v in site])
    score = np.where(y, D - drop, 0.0) + rng.standard_normal(n)
    return y.astype(int), (score >= THRESHOLD).astype(int), site, score


@pytest.fixture(scope="module")
def design() -> SurveillanceDesign:
    rng = np.random.default_rng(3)
    y, pred, site, score = _cases(rng, 12_000)
    return design_surveillance(y, pred, {"site": site}, scores=score, arl0_cases=20_000.0)


# --- run lengths -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("h", "k", "shift", "published"),
    [
        # One-sided CUSUM ARLs, k = 0.5 (Hawkins & Olwell 1998, table 3.1; Brook & Evans 1972).
        (4.0, 0.5, 0.0, 336.0),
        (5.0, 0.5, 0.0, 930.0),
        (4.0, 0.5, 1.0, 8.38),
        (5.0, 0.5, 1.0, 10.4),
    ],
)
def test_nystrom_arl_matches_published_values(
    h: float, k: float, shift: float, published: float
) -> None:
    assert normal_cusum_arl_nystrom(h, k, shift) == pytest.approx(published, rel=0.005)


@pytest.mark.parametrize(
    ("h", "k", "shift"), [(16.5, 0.2, 0.0), (16.5, 0.2, 0.35), (9.0, 0.5, 0.1)]
)
def test_nystrom_agrees_with_brook_evans(h: float, k: float, shift: float) -> None:
    fine = _arl.normal_cusum_arl(k, h, shift, m=800)
    assert normal_cusum_arl_nystrom(h, k, shift) == pytest.approx(fine, rel=1e-3)


def test_nystrom_agrees_with_simulation() -> None:
    rng = np.random.default_rng(11)
    h, k, n = 3.0, 0.5, 4000
    runs = np.zeros(n)
    s = np.zeros(n)
    alive = np.ones(n, bool)
    t = 0
    while alive.any():
        t += 1
        s[alive] = np.maximum(0.0, s[alive] + rng.standard_normal(alive.sum()) - k)
        done = alive & (s >= h)
        runs[done] = t
        alive &= ~done
    expected = normal_cusum_arl_nystrom(h, k)
    assert runs.mean() == pytest.approx(expected, rel=4 * runs.std() / math.sqrt(n) / expected)


def test_threshold_table_accounts_for_the_centre_uncertainty() -> None:
    lo, hi = math.log(5_000), math.log(20_000)
    known_states, known_logs = score_threshold_table(0.5, 1e7, lo, hi)
    unsure_states, unsure_logs = score_threshold_table(0.5, 100.0, lo, hi)
    # A centre estimated from 100 cases alarms sooner at the same threshold ...
    common = sorted(set(known_states) & set(unsure_states))
    assert common
    for st in common:
        assert unsure_logs[unsure_states.index(st)] < known_logs[known_states.index(st)]
    # ... and the known-centre table is the plain ARL.
    st, lg = known_states[1], known_logs[1]
    assert lg == pytest.approx(math.log(normal_cusum_arl_nystrom(st / 1000, 0.5)), abs=0.01)


# --- transform ---------------------------------------------------------------------------


def test_transform_is_standard_normal_in_control_whatever_the_scale() -> None:
    rng = np.random.default_rng(5)
    # Probabilities squeezed towards 1, as many tools report them.
    baseline = rng.beta(8, 1.5, 3000)
    fresh = rng.beta(8, 1.5, 50_000)
    y = drop_values(fresh, score_knots(baseline))
    assert abs(y.mean()) < 0.05
    assert y.std() == pytest.approx(1.0, abs=0.05)
    assert stats.kstest(y, "norm").statistic < 0.03
    # Lower scores give higher values; one wild score is clipped.
    assert (
        drop_values([0.2], score_knots(baseline))[0] > drop_values([0.9], score_knots(baseline))[0]
    )
    assert drop_values([-1e9], score_knots(baseline))[0] <= 3.0


def test_tied_scores_share_one_probability() -> None:
    knots = score_knots([0.1, 0.5, 0.5, 0.5, 0.9])
    assert drop_values([0.5], knots)[0] == pytest.approx(0.0)


# --- design and update ---------------------------------------------------------------------


def test_design_with_scores_adds_score_charts(design: SurveillanceDesign) -> None:
    keys = [c.key for c in design.charts]
    assert "score_drop" in keys and "score_drop|site=A" in keys
    shares = {
        o: sum(c.share for c in design.charts if c.outcome == o)
        for o in ("score_drop", "misses", "false_positives")
    }
    assert shares == pytest.approx({"score_drop": 0.6, "misses": 0.3, "false_positives": 0.1})
    overall = next(c for c in design.charts if c.key == "score_drop")
    assert overall.reference == pytest.approx(0.2) and overall.p1 == pytest.approx(0.4)
    assert abs(overall.centre) < 0.05 and overall.scale == pytest.approx(1.0, abs=0.05)
    sub = next(c for c in design.charts if c.key == "score_drop|site=A")
    assert sub.reference == pytest.approx(0.5)
    assert len(design.score_knots) == 199


def test_without_scores_the_design_is_unchanged() -> None:
    rng = np.random.default_rng(3)
    y, pred, site, _ = _cases(rng, 12_000)
    d = design_surveillance(y, pred, {"site": site}, arl0_cases=20_000.0)
    assert not any(c.is_score for c in d.charts) and d.score_knots == ()


def test_design_and_state_round_trip_through_json(design: SurveillanceDesign) -> None:
    again = SurveillanceDesign.from_dict(json.loads(json.dumps(design.to_dict())))
    assert again == design
    rng = np.random.default_rng(8)
    state = initial_state(design)
    points_a, points_b = [], []
    resumed = initial_state(design)
    for day in range(20):
        y, pred, site, score = _cases(rng, 100, shift={"B": 1.0})
        state, pa, _ = update(
            design, state, day=day, y_true=y, y_pred=pred, groups={"site": site}, scores=score
        )
        resumed = SurveillanceState.from_dict(json.loads(json.dumps(resumed.to_dict())))
        resumed, pb, _ = update(
            again, resumed, day=day, y_true=y, y_pred=pred, groups={"site": site}, scores=score
        )
        points_a += pa
        points_b += pb
    assert points_a == points_b


def test_order_of_cases_does_not_matter(design: SurveillanceDesign) -> None:
    rng = np.random.default_rng(9)
    y, pred, site, score = _cases(rng, 300, shift={"A": 1.5})
    perm = rng.permutation(y.size)
    _, a, _ = update(
        design,
        initial_state(design),
        day=0,
        y_true=y,
        y_pred=pred,
        groups={"site": site},
        scores=score,
    )
    _, b, _ = update(
        design,
        initial_state(design),
        day=0,
        y_true=y[perm],
        y_pred=pred[perm],
        groups={"site": site[perm]},
        scores=score[perm],
    )
    assert a == b


def test_missing_scores_count_only_where_present(design: SurveillanceDesign) -> None:
    rng = np.random.default_rng(10)
    y, pred, site, score = _cases(rng, 400)
    score = score.astype(float)
    score[::2] = np.nan
    _, points, _ = update(
        design,
        initial_state(design),
        day=0,
        y_true=y,
        y_pred=pred,
        groups={"site": site},
        scores=score,
    )
    by_key = {p.key: p for p in points}
    assert by_key["score_drop"].n == int((y.astype(bool) & np.isfinite(score)).sum())
    assert by_key["misses"].n == int(y.sum())


def test_update_needs_scores_for_a_design_with_score_charts(design: SurveillanceDesign) -> None:
    y, pred, site, _ = _cases(np.random.default_rng(1), 50)
    with pytest.raises(ValueError, match="scores="):
        update(design, initial_state(design), day=0, y_true=y, y_pred=pred, groups={"site": site})
    with pytest.raises(ValueError, match="one score per case"):
        update(
            design,
            initial_state(design),
            day=0,
            y_true=y,
            y_pred=pred,
            groups={"site": site},
            scores=[0.5],
        )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"outcomes": ["score_drop"]}, "need the baseline cases' scores"),
        ({"scores": [0.1, 0.2]}, "one score per case"),
        ({"scores": "s", "score_shift": 0.0}, "score_shift"),
        ({"scores": "s", "subgroup_score_shift": 9.0}, "subgroup_score_shift"),
        ({"scores": "s", "score_prior_cases": -1}, "score_prior_cases"),
    ],
)
def test_design_bad_input(kwargs: dict[str, object], match: str) -> None:
    y, pred, site, score = _cases(np.random.default_rng(2), 2000)
    if kwargs.get("scores") == "s":
        kwargs = {**kwargs, "scores": score}
    with pytest.raises(ValueError, match=match):
        design_surveillance(y, pred, {"site": site}, **kwargs)  # type: ignore[arg-type]


def _first_alarm(design: SurveillanceDesign, seed: int, shift: dict[str, float]) -> tuple[int, str]:
    rng = np.random.default_rng(seed)
    state = initial_state(design)
    for day in range(120):
        y, pred, site, score = _cases(rng, 200, shift=shift)
        state, _, alarms = update(
            design, state, day=day, y_true=y, y_pred=pred, groups={"site": site}, scores=score
        )
        if alarms:
            return day, alarms[0].key
    return 999, ""


def test_score_charts_find_a_drop_sooner_than_the_misses_charts() -> None:
    rng = np.random.default_rng(4)
    y, pred, site, score = _cases(rng, 12_000)
    with_scores = design_surveillance(y, pred, {"site": site}, scores=score, arl0_cases=73_000.0)
    calls_only = design_surveillance(y, pred, {"site": site}, arl0_cases=73_000.0)
    shift = {"A": 0.35, "B": 0.35, "C": 0.35}  # AUROC 0.90 -> 0.85 for everyone
    sooner = [_first_alarm(with_scores, s, shift)[0] for s in range(30)]
    later = [_first_alarm(calls_only, s, shift)[0] for s in range(30)]
    # Measured: medians 4 and 6 (day index of the first alarm), 30 streams each.
    assert np.median(sooner) < np.median(later)
    # A drop in one site is named by that site's score chart.
    day, key = _first_alarm(with_scores, 21, {"C": 1.2})
    assert day < 30 and key.endswith("site=C")


# --- the false-alarm budget, by simulation ---------------------------------------------------


@pytest.mark.slow
def test_score_charts_keep_the_false_alarm_budget() -> None:
    rng = np.random.default_rng(12)
    y, pred, site, score = _cases(rng, 200_000)
    design = design_surveillance(
        y, pred, {"site": site}, scores=score, arl0_cases=4000.0, outcomes=["score_drop"]
    )
    state = initial_state(design)
    alarms = studies = 0
    for day in range(3000):
        y, pred, site, score = _cases(rng, 100)
        state, _, found = update(
            design, state, day=day, y_true=y, y_pred=pred, groups={"site": site}, scores=score
        )
        alarms += len(found)
        studies += y.size
    arl0 = studies / alarms
    se = arl0 / math.sqrt(alarms)
    # At least the target up to noise (hazards add: Bonferroni), and not wildly above.
    assert arl0 > design.arl0_cases - 2.5 * se
    assert arl0 < 2.0 * design.arl0_cases + 2.5 * se
