"""Design of the surveillance family from baseline data (re-exported by ``surveillance``)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

from radassure.core._checks import binary_labels
from radassure.core._surveillance_engine import RATE_CLAMP
from radassure.core._surveillance_scores import (
    STEP,
    drop_values,
    score_knots,
    score_threshold_table,
)
from radassure.core._surveillance_tables import (
    P0_GRID,
    grid,
    lattice,
    posterior_nodes,
    threshold_table,
)
from radassure.core._surveillance_types import (
    OUTCOMES,
    SCORE_OUTCOMES,
    ChartSpec,
    SurveillanceDesign,
)

__all__ = ["check_groups", "design_surveillance", "group_labels"]


def group_labels(values: npt.ArrayLike, name: str, n: int) -> npt.NDArray[np.str_]:
    """Group values as strings, checked to hold one per case."""
    arr = np.asarray(values)
    if arr.ndim != 1 or arr.size != n:
        raise ValueError(
            f"groups[{name!r}] must hold one value per case ({n}); got shape {arr.shape}."
        )
    return arr.astype(str)


def check_groups(
    groups: Mapping[str, npt.ArrayLike] | None, n: int
) -> dict[str, npt.NDArray[np.str_]]:
    """Validate the ``groups`` mapping: attribute name -> one value per case."""
    if groups is None:
        return {}
    if not isinstance(groups, Mapping):
        raise ValueError(
            "groups must be a mapping of attribute name to one value per case, "
            'e.g. {"scanner": scanners}.'
        )
    out = {}
    for name, values in groups.items():
        if not isinstance(name, str) or not name or "|" in name or "=" in name:
            raise ValueError(
                f"groups keys must be attribute names without '|' or '=' (got {name!r})."
            )
        out[name] = group_labels(values, name, n)
    return out


def _check_ratio(value: float, name: str) -> float:
    if not (isinstance(value, int | float) and math.isfinite(value) and value > 1.0):
        raise ValueError(f"{name} must be a number above 1 such as 2.0 (got {value!r}).")
    return float(value)


def _check_share(value: float, name: str) -> float:
    if not (isinstance(value, int | float) and 0.0 < value < 1.0):
        raise ValueError(f"{name} must lie strictly between 0 and 1 (got {value!r}).")
    return float(value)


def _p1(p0: float, ratio: float) -> float:
    # Capped halfway to 1 so the event weight stays finite.
    return min(ratio * p0, 0.5 * (1.0 + p0))


def _outcome_shares(
    outcomes: Sequence[str], outcome_shares: Mapping[str, float] | None
) -> dict[str, float]:
    if isinstance(outcomes, str) or not outcomes or len(set(outcomes)) != len(outcomes):
        raise ValueError(
            f"outcomes must be a non-empty list of distinct names from {sorted(OUTCOMES)} "
            f"(got {outcomes!r})."
        )
    for o in outcomes:
        if o not in OUTCOMES:
            raise ValueError(f"outcomes may hold only {sorted(OUTCOMES)} (got {o!r}).")
    default = (
        {"score_drop": 0.6, "misses": 0.3, "false_positives": 0.1}
        if "score_drop" in outcomes
        else {"misses": 0.9, "false_positives": 0.1}
    )
    raw = dict(outcome_shares or default)
    weights = {o: float(raw.get(o, 0.0)) for o in outcomes}
    if any(not (math.isfinite(w) and w > 0) for w in weights.values()):
        raise ValueError(
            f"outcome_shares must give every chosen outcome a positive weight (got {raw!r})."
        )
    total = sum(weights.values())
    return {o: w / total for o, w in weights.items()}


def _subgroups(
    labels: Mapping[str, npt.NDArray[np.str_]],
    positives: npt.NDArray[np.bool_],
    min_positives: int,
    notes: list[str],
) -> list[tuple[str, str, tuple[str, ...]]]:
    """Charted groups ``(attribute, group, members)``: large groups, then pooled others."""
    out: list[tuple[str, str, tuple[str, ...]]] = []
    for attribute in sorted(labels):
        values = labels[attribute]
        names, counts = np.unique(values[positives], return_counts=True)
        all_names = np.unique(values)
        small = []
        for name in all_names.tolist():
            hits = counts[names == name]
            count = int(hits[0]) if hits.size else 0
            if count >= min_positives:
                out.append((attribute, name, (name,)))
            else:
                small.append((name, count))
        if not small:
            continue
        pooled = sum(c for _, c in small)
        listed = ", ".join(f"{n} ({c})" for n, c in small)
        if pooled >= min_positives and len(small) < all_names.size:
            out.append((attribute, "other", tuple(n for n, _ in small)))
            notes.append(
                f"{attribute}: groups with fewer than {min_positives} baseline positives "
                f"pooled into 'other': {listed}."
            )
        else:
            notes.append(
                f"{attribute}: no chart for {listed} (fewer than {min_positives} baseline "
                "positives even pooled); they count only in the overall charts."
            )
    return out


def _chart_share(
    outcome_share: float, overall_share: float, include_overall: bool, n_sub: int, overall: bool
) -> float:
    """A chart's share of the budget: its outcome's, split between overall and subgroups."""
    if overall:
        return outcome_share * (overall_share if n_sub else 1.0)
    return outcome_share * ((1.0 - overall_share) if include_overall else 1.0) / n_sub


# (attribute, group, members, n, events, posterior a, posterior b, p1 ratio) of one chart.
_Row = tuple[str | None, str | None, tuple[str, ...], int, int, float, float, float]


def design_surveillance(
    y_true: npt.ArrayLike,
    y_pred: npt.ArrayLike,
    groups: Mapping[str, npt.ArrayLike] | None = None,
    *,
    arl0_cases: float = 73_000.0,
    p1_ratio: float = 2.0,
    min_events: int = 3,
    min_group_positives: int = 30,
    outcomes: Sequence[str] | None = None,
    subgroup_p1_ratio: float | None = 4.0,
    overall_share: float = 0.5,
    outcome_shares: Mapping[str, float] | None = None,
    prior_cases: float = 100.0,
    include_overall: bool = True,
    p0_uncertainty: bool = True,
    adapt_to_rate: bool = True,
    rate_halflife_days: float = 4.0,
    mix_halflife_days: float = 28.0,
    seed: int = 0,
    scores: npt.ArrayLike | None = None,
    score_shift: float = 0.4,
    subgroup_score_shift: float = 1.0,
    score_prior_cases: float = 30.0,
) -> SurveillanceDesign:
    """Design the subgroup-aware monitor from baseline (in-control) data.

    One Bernoulli CUSUM per outcome overall and per outcome and subgroup.
    ``p0`` is the baseline event rate (Jeffreys-smoothed overall; for a
    subgroup shrunk towards the overall rate with ``prior_cases`` pseudo-cases,
    which is the floor for groups with few cases), rounded to a 1% relative
    grid. The family's false-alarm hazard per study, ``1 / arl0_cases``, is
    split: ``outcome_shares`` between outcomes, then ``overall_share`` of each
    outcome's budget to its overall chart and the rest equally to its subgroup
    charts. See :func:`update` for how thresholds follow prevalence.

    Parameters
    ----------
    y_true, y_pred : array-like of {0, 1}
        Reference standard and the tool's call for each baseline case.
    groups : mapping of str to array-like, optional
        Attribute name -> one group value per case (e.g. ``{"site": sites}``).
    arl0_cases : float, default 73000
        Joint in-control ARL0 of the family in studies (365 days at 200/day).
    p1_ratio : float, default 2.0
        ``p1 = p1_ratio * p0`` (capped halfway between ``p0`` and 1).
    min_events : int, default 3
        Events needed in the current excursion before a chart may alarm.
    min_group_positives : int, default 30
        Groups with fewer baseline positives are pooled into ``"other"`` (or
        skipped when even the pool is smaller); ``notes`` says which.
    outcomes : sequence of str, optional
        Which outcomes to chart: ``"misses"``, ``"false_positives"`` and, when
        ``scores`` are given, ``"score_drop"`` (the default: all three with
        scores, the first two without).
    subgroup_p1_ratio : float or None, default 4.0
        ``p1_ratio`` of the subgroup charts (None: ``p1_ratio``). A failure that a
        subgroup chart must catch alone is large (a 2x rise in a 10% group moves the
        overall rate by 10%), so subgroup charts are tuned to a larger shift.
    overall_share : float, default 0.5
        Share of each outcome's budget given to its overall chart.
    outcome_shares : mapping, optional
        Relative budget of each outcome; default misses 0.9, false positives 0.1
        (the safety signal is the misses; the false-positive charts watch workload),
        or with score charts score_drop 0.6, misses 0.3, false positives 0.1.
    prior_cases : float, default 100
        Strength of the shrinkage of subgroup ``p0`` towards the overall rate.
    include_overall, adapt_to_rate : bool, default True
        Switch off the overall charts or the prevalence tracking (for comparisons).
    p0_uncertainty : bool, default True
        Set thresholds from the posterior-mean false-alarm hazard over the
        uncertain baseline rate; False plugs in the estimate (for comparisons).
    rate_halflife_days, mix_halflife_days : float
        Half-lives of the running prevalence and group-mix estimates.
    seed : int, default 0
        Salt of the fixed within-day case order.
    scores : array-like of float, optional
        The tool's score of each baseline case (NaN where missing). Adds the
        ``"score_drop"`` charts: normal CUSUMs on how far reference-positive
        cases' scores fall below the baseline positives' distribution
        (:mod:`radassure.core._surveillance_scores`), which see a fall in
        sensitivity sooner than the misses charts at the same false-alarm rate.
    score_shift, subgroup_score_shift : float, default 0.4 and 1.0
        The fall, in standard deviations of the positives' transformed scores,
        that the overall and the subgroup score charts are tuned to (``k`` is half).
    score_prior_cases : float, default 30
        Strength of the shrinkage of a subgroup's score centre towards the overall one.

    Returns
    -------
    SurveillanceDesign

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = rng.random(20_000) < 0.1
    >>> pred = np.where(y, rng.random(20_000) < 0.9, rng.random(20_000) < 0.3)
    >>> site = rng.choice(["A", "B"], 20_000)
    >>> d = design_surveillance(y, pred, {"site": site})
    >>> [c.key for c in d.charts]  # doctest: +NORMALIZE_WHITESPACE
    ['misses', 'misses|site=A', 'misses|site=B', 'false_positives',
     'false_positives|site=A', 'false_positives|site=B']
    >>> round(sum(c.share for c in d.charts), 6), round(d.charts[0].p0, 2)
    (1.0, 0.1)

    """
    truth = binary_labels(y_true, "y_true")
    pred = binary_labels(y_pred, "y_pred")
    if truth.size != pred.size:
        raise ValueError(
            f"y_true and y_pred must have one entry per case (got {truth.size} and {pred.size})."
        )
    labels = check_groups(groups, truth.size)
    if not (isinstance(arl0_cases, int | float) and math.isfinite(arl0_cases) and arl0_cases > 1):
        raise ValueError(f"arl0_cases must be a finite number of studies above 1 ({arl0_cases!r}).")
    ratio = _check_ratio(p1_ratio, "p1_ratio")
    sub_ratio = (
        ratio if subgroup_p1_ratio is None else _check_ratio(subgroup_p1_ratio, "subgroup_p1_ratio")
    )
    overall_w = _check_share(overall_share, "overall_share")
    for name, val in (("min_events", min_events), ("min_group_positives", min_group_positives)):
        if isinstance(val, bool) or not isinstance(val, int) or val < 1:
            raise ValueError(f"{name} must be a positive integer (got {val!r}).")
    if not (isinstance(prior_cases, int | float) and prior_cases >= 0):
        raise ValueError(f"prior_cases must be a non-negative number (got {prior_cases!r}).")
    for name, hl in (
        ("rate_halflife_days", rate_halflife_days),
        ("mix_halflife_days", mix_halflife_days),
    ):
        if not (isinstance(hl, int | float) and math.isfinite(hl) and hl > 0):
            raise ValueError(f"{name} must be a positive number of days (got {hl!r}).")
    score_arr: npt.NDArray[np.float64] | None = None
    if scores is not None:
        score_arr = np.asarray(scores, dtype=np.float64)
        if score_arr.shape != truth.shape:
            raise ValueError(
                f"scores must hold one score per case ({truth.size}); got shape {score_arr.shape}."
            )
    if outcomes is None:
        outcomes = ("misses", "false_positives") + (("score_drop",) if scores is not None else ())
    if "score_drop" in outcomes and score_arr is None:
        raise ValueError(
            "The 'score_drop' charts need the baseline cases' scores: pass scores=..., "
            "or drop 'score_drop' from outcomes."
        )
    for name, shift in (
        ("score_shift", score_shift),
        ("subgroup_score_shift", subgroup_score_shift),
    ):
        if not (isinstance(shift, int | float) and math.isfinite(shift) and 0 < shift <= 5):
            raise ValueError(
                f"{name} must be a shift in standard deviations in (0, 5] ({shift!r})."
            )
    if not (isinstance(score_prior_cases, int | float) and score_prior_cases >= 0):
        raise ValueError(
            f"score_prior_cases must be a non-negative number (got {score_prior_cases!r})."
        )
    shares = _outcome_shares(outcomes, outcome_shares)
    notes: list[str] = []
    charted = _subgroups(labels, truth, min_group_positives, notes)
    if not include_overall and not charted:
        raise ValueError(
            "include_overall=False needs subgroup charts: pass groups with at least "
            f"{min_group_positives} baseline positives per group."
        )
    specs: list[ChartSpec] = []
    knots: tuple[float, ...] = ()
    for outcome in outcomes:
        if outcome in SCORE_OUTCOMES:
            assert score_arr is not None
            knots = score_knots(score_arr[truth])
            specs.extend(
                _score_charts(
                    truth,
                    score_arr,
                    labels,
                    charted,
                    knots=knots,
                    share=shares[outcome],
                    overall_share=overall_w,
                    include_overall=include_overall,
                    shifts=(float(score_shift), float(subgroup_score_shift)),
                    prior_cases=float(score_prior_cases),
                    arl0_cases=float(arl0_cases),
                    notes=notes,
                )
            )
            continue
        in_class = truth if outcome == "misses" else ~truth
        event = ~pred if outcome == "misses" else pred
        n_class = int(in_class.sum())
        if n_class == 0:
            cls_name = OUTCOMES[outcome]
            raise ValueError(
                f"The baseline has no reference {cls_name}, so no {outcome!r} chart can be "
                f"designed; add baseline {cls_name} or drop {outcome!r} from outcomes."
            )
        e_class = int((in_class & event).sum())
        p_all = (e_class + 0.5) / (n_class + 1.0)
        rows: list[_Row] = []
        if include_overall:
            # Jeffreys posterior of the overall rate.
            a_all, b_all = e_class + 0.5, n_class - e_class + 0.5
            rows.append((None, None, (), n_class, e_class, a_all, b_all, ratio))
        for attribute, group, members in charted:
            mask = in_class & np.isin(labels[attribute], members)
            n_g, e_g = int(mask.sum()), int((mask & event).sum())
            if n_g == 0:
                notes.append(
                    f"{outcome}|{attribute}={group}: no baseline {OUTCOMES[outcome]}; no chart."
                )
                continue
            # Posterior under a Beta prior centred on the overall rate, prior_cases strong.
            a_g = e_g + prior_cases * p_all + (0.5 if prior_cases == 0 else 0.0)
            b_g = n_g - e_g + prior_cases * (1.0 - p_all) + (0.5 if prior_cases == 0 else 0.0)
            rows.append((attribute, group, members, n_g, e_g, a_g, b_g, sub_ratio))
        n_sub = len(rows) - int(include_overall)
        for attr, grp, members, n_g, e_g, a_post, b_post, r in rows:
            share = _chart_share(shares[outcome], overall_w, include_overall, n_sub, attr is None)
            p_mean = a_post / (a_post + b_post)
            p0 = grid(min(max(p_mean, 1e-6), 0.99), P0_GRID)
            nodes = posterior_nodes(a_post, b_post) if p0_uncertainty else ((p0, 1.0),)
            p1 = _p1(p0, r)
            class_rate = n_class / truth.size
            group_share = n_g / n_class
            base_log = math.log(class_rate * group_share * float(arl0_cases) / share)
            margin = math.log(RATE_CLAMP) + 0.1
            states, logs = threshold_table(p0, p1, nodes, base_log - margin, base_log + margin)
            lat = lattice(p0, p1)
            key = outcome if attr is None else f"{outcome}|{attr}={grp}"
            specs.append(
                ChartSpec(
                    key=key,
                    outcome=outcome,
                    attribute=attr,
                    group=grp,
                    p0=p0,
                    p1=p1,
                    share=share,
                    members=members if grp == "other" else (),
                    class_rate=class_rate,
                    group_share=group_share,
                    baseline_n=n_g,
                    baseline_events=e_g,
                    step=lat.step,
                    up=lat.up,
                    down=lat.down,
                    table_states=tuple(states),
                    table_log_arl=tuple(logs),
                )
            )
    return SurveillanceDesign(
        charts=tuple(specs),
        arl0_cases=float(arl0_cases),
        min_events=min_events,
        rate_halflife_days=float(rate_halflife_days),
        mix_halflife_days=float(mix_halflife_days),
        adapt_to_rate=bool(adapt_to_rate),
        seed=int(seed),
        notes=tuple(notes),
        score_knots=knots,
    )


def _score_charts(
    truth: npt.NDArray[np.bool_],
    scores: npt.NDArray[np.float64],
    labels: Mapping[str, npt.NDArray[np.str_]],
    charted: list[tuple[str, str, tuple[str, ...]]],
    *,
    knots: tuple[float, ...],
    share: float,
    overall_share: float,
    include_overall: bool,
    shifts: tuple[float, float],
    prior_cases: float,
    arl0_cases: float,
    notes: list[str],
) -> list[ChartSpec]:
    """The ``score_drop`` charts: overall and per subgroup, on positives with a score."""
    in_class = truth & np.isfinite(scores)
    n_class = int(in_class.sum())
    if n_class < 2 or len(set(knots)) < 2:
        raise ValueError(
            f"The baseline has {n_class} reference positives with a score; the "
            "'score_drop' charts need at least two distinct scores. Drop 'score_drop' "
            "from outcomes or choose a baseline with scored positives."
        )
    y_all = drop_values(scores[in_class], knots)
    centre_all = float(y_all.mean())
    scale = max(float(y_all.std(ddof=1)), 0.25)
    rows: list[tuple[str | None, str | None, tuple[str, ...], int, float, float, float]] = []
    if include_overall:
        rows.append((None, None, (), n_class, centre_all, float(n_class), shifts[0]))
    for attribute, group, members in charted:
        member = np.isin(labels[attribute][in_class], members)
        n_g = int(member.sum())
        if n_g == 0:
            notes.append(f"score_drop|{attribute}={group}: no scored baseline positives; no chart.")
            continue
        # Normal-normal shrinkage of the group's centre towards the overall one.
        centre = (float(y_all[member].sum()) + prior_cases * centre_all) / (n_g + prior_cases)
        rows.append((attribute, group, members, n_g, centre, n_g + prior_cases, shifts[1]))
    n_sub = len(rows) - int(include_overall)
    class_rate = n_class / truth.size
    specs = []
    for attr, grp, members, n_g, centre, n_eff, shift in rows:
        chart_share = _chart_share(share, overall_share, include_overall, n_sub, attr is None)
        group_share = n_g / n_class
        base_log = math.log(class_rate * group_share * arl0_cases / chart_share)
        margin = math.log(RATE_CLAMP) + 0.1
        k = shift / 2.0
        states, logs = score_threshold_table(k, n_eff, base_log - margin, base_log + margin)
        y_g = y_all if attr is None else y_all[np.isin(labels[attr][in_class], members)]
        specs.append(
            ChartSpec(
                key="score_drop" if attr is None else f"score_drop|{attr}={grp}",
                outcome="score_drop",
                attribute=attr,
                group=grp,
                p0=0.0,
                p1=shift,
                share=chart_share,
                members=members if grp == "other" else (),
                class_rate=class_rate,
                group_share=group_share,
                baseline_n=n_g,
                baseline_events=int(((y_g - centre) / scale > k).sum()),
                step=STEP,
                up=0,
                down=0,
                table_states=tuple(states),
                table_log_arl=tuple(logs),
                reference=k,
                centre=centre,
                scale=scale,
            )
        )
    return specs
