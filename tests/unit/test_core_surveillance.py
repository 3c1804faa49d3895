"""The default label-based monitor: design, JSON, resume, alarms, false-alarm budget."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from radassure.core import _arl
from radassure.core.surveillance import (
    Alarm,
    ChartPoint,
    SurveillanceDesign,
    SurveillanceState,
    design_surveillance,
    initial_state,
    update,
)

SITES = np.array(["A", "B", "C", "tiny"])


def _cases(
    rng: np.random.Generator,
    n: int,
    *,
    prevalence: float = 0.1,
    sens: float | dict[str, float] = 0.9,
    fpr: float = 0.3,
    site_p: tuple[float, ...] = (0.45, 0.3, 0.24, 0.01),
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    site = SITES[rng.choice(len(SITES), n, p=site_p)]
    y = rng.random(n) < prevalence
    s = np.array([sens.get(v, 0.9) for v in site]) if isinstance(sens, dict) else np.full(n, sens)
    pred = np.where(y, rng.random(n) < s, rng.random(n) < fpr)
    return y.astype(int), pred.astype(int), site


@pytest.fixture(scope="module")
def design() -> SurveillanceDesign:
    rng = np.random.default_rng(20240601)
    y, pred, site = _cases(rng, 12_000)
    return design_surveillance(y, pred, {"site": site}, arl0_cases=20_000.0)


# --- design -------------------------------------------------------------------------


def test_design_from_baseline(design: SurveillanceDesign) -> None:
    keys = [c.key for c in design.charts]
    assert keys == [
        "misses",
        "misses|site=A",
        "misses|site=B",
        "misses|site=C",
        "false_positives",
        "false_positives|site=A",
        "false_positives|site=B",
        "false_positives|site=C",
    ]
    # "tiny" (about 12 positives) is below min_group_positives=30 and pooled alone is too
    # small for an "other" chart: the design says so.
    assert any("tiny" in note and "no chart" in note for note in design.notes)
    assert math.isclose(sum(c.share for c in design.charts), 1.0)
    overall = design.charts[0]
    assert overall.share == pytest.approx(0.9 * 0.5)
    # p0 is the baseline miss rate (rounded to a 2.5% relative grid).
    raw = overall.baseline_events / overall.baseline_n
    assert abs(overall.p0 / raw - 1) < 0.03
    assert overall.p1 == pytest.approx(2 * overall.p0)
    assert design.charts[1].p1 == pytest.approx(4 * design.charts[1].p0)
    assert design.charts[4].p0 == pytest.approx(0.3, rel=0.06)
    for c in design.charts:
        assert list(c.table_log_arl) == sorted(c.table_log_arl)
        assert c.baseline_rate > 0


def test_small_groups_pooled_into_other() -> None:
    rng = np.random.default_rng(3)
    y, pred, site = _cases(rng, 8000, site_p=(0.9, 0.04, 0.03, 0.03))
    d = design_surveillance(y, pred, {"site": site}, outcomes=["misses"], min_group_positives=40)
    other = [c for c in d.charts if c.group == "other"]
    assert len(other) == 1
    assert set(other[0].members) == {"B", "C", "tiny"}
    assert any("pooled into 'other'" in n for n in d.notes)


def test_subgroup_p0_is_shrunk_towards_overall() -> None:
    rng = np.random.default_rng(5)
    # Site C has a lower miss rate at baseline; its p0 lies between its own and overall.
    y, pred, site = _cases(rng, 20_000, sens={"C": 0.97})
    d = design_surveillance(y, pred, {"site": site}, outcomes=["misses"])
    c = next(ch for ch in d.charts if ch.group == "C")
    own = c.baseline_events / c.baseline_n
    assert own < c.p0 < d.charts[0].p0


def test_threshold_table_is_exact_lattice_arl_at_the_rate() -> None:
    rng = np.random.default_rng(8)
    y, pred, _ = _cases(rng, 200_000)
    d = design_surveillance(y, pred, outcomes=["misses"])
    c = d.charts[0]
    lattice = _arl.BernoulliLattice(c.step, c.up, c.down)
    # With 20,000 positives the posterior is narrow: the table is close to the plain ARL.
    direct = math.log(_arl.lattice_arl(lattice, c.table_states[2], c.p0))
    assert abs(c.table_log_arl[2] - direct) < 0.15
    # The event weight on the lattice is log(p1/p0) up to rounding.
    assert abs(c.up * c.step - math.log(c.p1 / c.p0)) < 0.01


def test_false_alarm_probability_matches_budget(design: SurveillanceDesign) -> None:
    for n in (1000, 20_000, 60_000):
        geometric = -math.expm1(-n / design.arl0_cases)
        got = design.false_alarm_probability(n)
        # Thresholds round up on the lattice, so at most the budget and not far below.
        assert 0.8 * geometric <= got <= geometric * 1.0001


# --- JSON ---------------------------------------------------------------------------


def test_design_and_state_json_round_trip(design: SurveillanceDesign) -> None:
    again = SurveillanceDesign.from_dict(json.loads(json.dumps(design.to_dict())))
    assert again == design
    rng = np.random.default_rng(1)
    state = initial_state(design)
    for day in range(5):
        y, pred, site = _cases(rng, 200)
        state, points, _alarms = update(
            design, state, day=day, y_true=y, y_pred=pred, groups={"site": site}
        )
    assert SurveillanceState.from_dict(json.loads(json.dumps(state.to_dict()))) == state
    assert all(isinstance(p, ChartPoint) for p in points)
    json.dumps([p.to_dict() for p in points])


# --- update ---------------------------------------------------------------------------


def _run(
    design: SurveillanceDesign, days: range, seed: int, *, resume_every: int | None = None
) -> tuple[list[ChartPoint], list[Alarm]]:
    rng = np.random.default_rng(seed)
    state = initial_state(design)
    points: list[ChartPoint] = []
    alarms: list[Alarm] = []
    for day in days:
        y, pred, site = _cases(rng, 200)
        if day >= 20:
            pred = np.where((site == "B") & (y == 1), rng.random(y.size) < 0.5, pred)
        if resume_every and day % resume_every == 0:
            state = SurveillanceState.from_dict(json.loads(json.dumps(state.to_dict())))
        state, p, a = update(design, state, day=day, y_true=y, y_pred=pred, groups={"site": site})
        points += p
        alarms += a
    return points, alarms


def test_resume_equals_one_shot_and_is_deterministic(design: SurveillanceDesign) -> None:
    one = _run(design, range(60), seed=9)
    resumed = _run(design, range(60), seed=9, resume_every=7)
    again = _run(design, range(60), seed=9)
    assert one == resumed == again
    assert one[1], "the planted drop at site B should alarm within 40 days"


def test_alarm_names_the_subgroup_and_change_day(design: SurveillanceDesign) -> None:
    _, alarms = _run(design, range(60), seed=9)
    first = alarms[0]
    assert first.key in ("misses|site=B", "misses")
    assert first.day >= 20
    assert first.change_day is not None and first.change_day <= first.day
    assert first.events >= design.min_events
    assert first.statistic >= first.threshold
    assert any(a.group == "B" for a in alarms)


def test_order_of_cases_within_a_day_does_not_matter(design: SurveillanceDesign) -> None:
    rng = np.random.default_rng(4)
    y, pred, site = _cases(rng, 400, sens=0.6)
    perm = rng.permutation(y.size)
    s0 = initial_state(design)
    a = update(design, s0, day=0, y_true=y, y_pred=pred, groups={"site": site})
    b = update(design, s0, day=0, y_true=y[perm], y_pred=pred[perm], groups={"site": site[perm]})
    assert a == b
    assert s0 == initial_state(design), "update must not modify its input state"


def test_chart_restarts_at_zero_after_alarm(design: SurveillanceDesign) -> None:
    rng = np.random.default_rng(2)
    state = initial_state(design)
    for day in range(40):
        y, pred, site = _cases(rng, 300, sens=0.5)
        state, points, alarms = update(
            design, state, day=day, y_true=y, y_pred=pred, groups={"site": site}
        )
        if alarms:
            break
    assert alarms
    idx = state.keys.index(alarms[0].key)
    assert state.statistic[idx] == 0
    assert state.excursion_events[idx] == 0
    point = next(p for p in points if p.key == alarms[0].key)
    assert point.alarm and point.statistic == alarms[0].statistic


def test_min_events_rule() -> None:
    rng = np.random.default_rng(6)
    y, pred, _ = _cases(rng, 4000, prevalence=0.5, sens=0.99)
    # A strong p1 and a small budget: two misses in a row cross the threshold.
    kw = {"outcomes": ["misses"], "arl0_cases": 30.0, "p1_ratio": 20.0}
    strict = design_surveillance(y, pred, min_events=3, **kw)
    loose = design_surveillance(y, pred, min_events=1, **kw)
    day = {"y_true": [1, 1], "y_pred": [0, 0]}
    _, _, alarms_loose = update(loose, initial_state(loose), day=0, **day)
    state, _, alarms_strict = update(strict, initial_state(strict), day=0, **day)
    assert alarms_loose and not alarms_strict
    _, _, third = update(strict, state, day=1, y_true=[1], y_pred=[0])
    assert third and third[0].events == 3


def test_empty_day_and_gaps(design: SurveillanceDesign) -> None:
    state, points, alarms = update(design, initial_state(design), day=0, y_true=[], y_pred=[])
    assert not alarms and all(p.n == 0 for p in points)
    rng = np.random.default_rng(0)
    y, pred, site = _cases(rng, 200)
    state, points, _ = update(design, state, day=10, y_true=y, y_pred=pred, groups={"site": site})
    assert state.day == 10 and points[0].n == int(y.sum())


def test_unseen_group_value_goes_to_other() -> None:
    rng = np.random.default_rng(3)
    y, pred, site = _cases(rng, 8000, site_p=(0.9, 0.04, 0.03, 0.03))
    d = design_surveillance(y, pred, {"site": site}, outcomes=["misses"], min_group_positives=40)
    _, points, _ = update(
        d,
        initial_state(d),
        day=0,
        y_true=[1, 1, 1],
        y_pred=[1, 1, 0],
        groups={"site": ["A", "new", "B"]},
    )
    by_key = {p.key: p.n for p in points}
    assert by_key == {"misses": 3, "misses|site=A": 1, "misses|site=other": 2}


# --- bad input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"y_pred": [0, 1]}, "one entry per case"),
        ({"y_true": [0, 2, 1, 0]}, "y_true must hold binary labels"),
        ({"arl0_cases": -5}, "arl0_cases"),
        ({"p1_ratio": 1.0}, "p1_ratio"),
        ({"outcomes": ["misses", "nope"]}, "outcomes"),
        ({"outcomes": "misses"}, "outcomes"),
        ({"min_events": 0}, "min_events"),
        ({"overall_share": 1.5}, "overall_share"),
        ({"groups": {"site": [1, 2]}}, r"groups\['site'\]"),
        ({"groups": {"a|b": [1, 2, 3, 4]}}, "attribute names"),
        ({"y_true": [0, 0, 0, 0]}, "no reference positives"),
    ],
)
def test_design_bad_input(kwargs: dict[str, object], match: str) -> None:
    args: dict[str, object] = {"y_true": [1, 0, 1, 0], "y_pred": [1, 0, 0, 1], **kwargs}
    with pytest.raises(ValueError, match=match):
        design_surveillance(**args)  # type: ignore[arg-type]


def test_update_bad_input(design: SurveillanceDesign) -> None:
    state = initial_state(design)
    ok = {"y_true": [1, 0], "y_pred": [0, 0], "groups": {"site": ["A", "B"]}}
    state, _, _ = update(design, state, day=3, **ok)
    with pytest.raises(ValueError, match="after the last day processed"):
        update(design, state, day=3, **ok)
    with pytest.raises(ValueError, match=r"groups must give \['site'\]"):
        update(design, state, day=4, y_true=[1], y_pred=[0])
    with pytest.raises(ValueError, match="day must be an integer"):
        update(design, state, day=4.5, **ok)  # type: ignore[arg-type]
    other = design_surveillance([1, 0, 1, 0] * 50, [1, 0, 0, 1] * 50, outcomes=["misses"])
    with pytest.raises(ValueError, match="does not belong to this design"):
        update(other, state, day=4, y_true=[1], y_pred=[0])
    with pytest.raises(ValueError, match="field 'charts'"):
        SurveillanceDesign.from_dict({"arl0_cases": 1.0})
    bad = state.to_dict()
    bad["statistic"] = [0]
    with pytest.raises(ValueError, match="has 1 entries"):
        SurveillanceState.from_dict(bad)


# --- the false-alarm budget, by simulation ------------------------------------------------


def _false_alarm_rate(
    design: SurveillanceDesign, *, prevalence: float, days: int, seed: int
) -> tuple[int, int]:
    """(alarms, studies) of an in-control stream at 100 studies a day."""
    rng = np.random.default_rng(seed)
    state = initial_state(design)
    alarms = studies = 0
    for day in range(days):
        y, pred, site = _cases(rng, 100, prevalence=prevalence)
        state, _, found = update(
            design, state, day=day, y_true=y, y_pred=pred, groups={"site": site}
        )
        alarms += len(found)
        studies += y.size
    return alarms, studies


@pytest.fixture(scope="module")
def precise_designs() -> dict[bool, SurveillanceDesign]:
    # A large baseline, so that p0 is known and the simulation checks the budget itself.
    rng = np.random.default_rng(77)
    y, pred, site = _cases(rng, 400_000)
    return {
        adapt: design_surveillance(y, pred, {"site": site}, arl0_cases=4000.0, adapt_to_rate=adapt)
        for adapt in (True, False)
    }


@pytest.mark.slow
def test_joint_arl0_in_cases_matches_target(
    precise_designs: dict[bool, SurveillanceDesign],
) -> None:
    design = precise_designs[True]
    alarms, studies = _false_alarm_rate(design, prevalence=0.1, days=4000, seed=1)
    arl0 = studies / alarms
    se = arl0 / math.sqrt(alarms)
    # At least the target up to noise (hazards add: Bonferroni), and not wildly above.
    assert arl0 > design.arl0_cases - 2.5 * se
    assert arl0 < 1.6 * design.arl0_cases + 2.5 * se


@pytest.mark.slow
def test_false_alarms_per_study_do_not_rise_with_prevalence(
    precise_designs: dict[bool, SurveillanceDesign],
) -> None:
    base, base_n = _false_alarm_rate(precise_designs[True], prevalence=0.1, days=4000, seed=2)
    high, high_n = _false_alarm_rate(precise_designs[True], prevalence=0.2, days=4000, seed=3)
    fixed, fixed_n = _false_alarm_rate(precise_designs[False], prevalence=0.2, days=4000, seed=3)
    ratio = (high / high_n) / (base / base_n)
    # Poisson counts of ~100: a ratio within [0.6, 1.5] is ~2.5 SE; the textbook charts
    # with thresholds frozen at the baseline prevalence alarm ~1.7x as often per study.
    assert 0.6 < ratio < 1.5
    assert (fixed / fixed_n) / (high / high_n) > 1.3
