"""Equity: performance by patient group, disparity flags, and data completeness.

:func:`disaggregate` wraps any metric (Fairlearn's MetricFrame idea): each
group of each attribute gets the metric with its interval, and its difference
and ratio to everyone else (and to a chosen reference group) with intervals
and a p-value. :func:`flag_disparities` turns those into flags a clinician can
trust: a gap is flagged only when it is both statistically significant after
multiple-comparison control and larger than a clinically meaningful margin,
and groups too small to tell are listed as "insufficient data" with the cases
needed. :func:`completeness` reports missing attribute values, which can hide
bias. Definitions and references: ``docs/equity.md``.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence

import numpy as np
import numpy.typing as npt

from radassure.core._checks import (
    binary_labels,
    check_level,
    check_positive_int,
    check_same_length,
    finite_scores,
    resolve_rng,
)
from radassure.core._completeness import (
    AttributeCompleteness,
    CompletenessReport,
    MissingnessWarning,
    completeness,
)
from radassure.core._fairness_metrics import (
    METRICS,
    Evaluator,
    MetricDef,
    MetricFunction,
    MetricSpec,
    resolve_metrics,
)
from radassure.core._fairness_types import Comparison, Disaggregation, GroupMetric
from radassure.core._flags import (
    DisparityFlag,
    DisparityReport,
    GapTest,
    InsufficientData,
    flag_disparities,
)
from radassure.core._gaps import auc_contrast, bootstrap_contrast, proportion_contrast
from radassure.core._groups import (
    MISSING_VALUES,
    NOT_RECORDED,
    Encoded,
    encode_attributes,
    intersect,
    missing_key_set,
    resolve_pairs,
)
from radassure.core._multiplicity import adjust_p_values
from radassure.core.results import Estimate

__all__ = [
    "MISSING_VALUES",
    "NOT_RECORDED",
    "AttributeCompleteness",
    "Comparison",
    "CompletenessReport",
    "Disaggregation",
    "DisparityFlag",
    "DisparityReport",
    "GapTest",
    "GroupMetric",
    "InsufficientData",
    "MetricDef",
    "MetricFunction",
    "MissingnessWarning",
    "adjust_p_values",
    "completeness",
    "disaggregate",
    "flag_disparities",
    "registered_metrics",
]

REST = "everyone else"
IntArray = npt.NDArray[np.intp]


def registered_metrics() -> tuple[str, ...]:
    """Names of the metrics :func:`disaggregate` knows by name.

    Examples
    --------
    >>> registered_metrics()
    ('accuracy', 'auc', 'balanced_accuracy', 'f1', 'npv', 'ppv', 'sensitivity', 'specificity')

    """
    return tuple(sorted(METRICS))


def _inputs(
    y_pred: npt.ArrayLike, defs: tuple[MetricDef, ...], threshold: float | None
) -> dict[str, npt.NDArray[np.generic]]:
    needs = {d.needs for d in defs}
    out: dict[str, npt.NDArray[np.generic]] = {}
    if "raw" in needs:
        out["raw"] = np.asarray(y_pred)
    if threshold is not None:
        if isinstance(threshold, bool) or not isinstance(threshold, int | float):
            raise ValueError(f"threshold must be a number such as 0.35 (got {threshold!r}).")
        if not math.isfinite(threshold):
            raise ValueError(f"threshold must be a finite number (got {threshold!r}).")
        scores = finite_scores(y_pred, "y_pred")
        out["scores"] = scores
        out["calls"] = scores >= float(threshold)
        return out
    if "scores" in needs:
        out["scores"] = finite_scores(y_pred, "y_pred")
    if "calls" in needs:
        arr = np.asarray(y_pred)
        numeric = arr.ndim == 1 and arr.size > 0 and np.issubdtype(arr.dtype, np.number)
        if numeric and not np.isin(arr, (0, 1)).all():
            named = ", ".join(repr(d.name) for d in defs if d.needs == "calls")
            raise ValueError(
                f"Metric(s) {named} need binary calls, but y_pred holds scores; pass "
                "threshold= (e.g. the operating threshold) to turn scores into calls."
            )
        out["calls"] = binary_labels(y_pred, "y_pred")
    return out


def _references(
    reference_groups: Mapping[str, str] | None, encoded: Mapping[str, Encoded]
) -> dict[str, str]:
    if reference_groups is None:
        return {}
    out: dict[str, str] = {}
    for name, label in reference_groups.items():
        if name not in encoded:
            raise ValueError(
                f"reference_groups names attribute {name!r}, which is not in groups "
                f"(known: {', '.join(map(repr, encoded))}); check the spelling."
            )
        labels = encoded[name].labels
        if str(label) not in labels:
            raise ValueError(
                f"reference_groups[{name!r}] is {label!r}, which is not a group of {name!r} "
                f"(groups: {', '.join(map(repr, labels))}); pick one of those."
            )
        out[name] = str(label)
    return out


def _compare(
    ev: Evaluator,
    d: MetricDef,
    group: tuple[Estimate, IntArray, str],
    other: tuple[Estimate, IntArray, str, str],
    *,
    context: str,
) -> Comparison:
    est, idx, key = group
    comp, comp_idx, comp_key, comp_label = other
    n = int(idx.size + comp_idx.size)
    if d.kind == "proportion":
        raw = proportion_contrast(
            round(est.value * est.n),
            est.n,
            round(comp.value * comp.n),
            comp.n,
            level=ev.level,
            context=context,
        )
    elif d.kind == "auc":
        raw = auc_contrast(
            est.value,
            ev.delong_variance(idx, key),
            comp.value,
            ev.delong_variance(comp_idx, comp_key),
            level=ev.level,
            n=n,
            context=context,
        )
    else:
        raw = bootstrap_contrast(
            est.value,
            ev.replicates(d, idx, key),
            comp.value,
            ev.replicates(d, comp_idx, comp_key),
            level=ev.level,
            n=n,
            context=context,
        )
    return Comparison(
        comp_label,
        comp,
        raw.difference,
        raw.ratio,
        raw.p_value,
        raw.se_group,
        raw.se_comparator,
        int(comp_idx.size),
        int(np.count_nonzero(ev.y[comp_idx])),
    )


def _attribute_rows(
    ev: Evaluator, enc: Encoded, ref: str | None, min_group_size: int
) -> list[GroupMetric]:
    """Rows of one attribute: every group, every metric, with its comparisons."""
    ref_idx = None
    if ref is not None and ref in enc.labels:
        ref_idx = np.flatnonzero(enc.codes == enc.labels.index(ref))
    rows = []
    for code, label in enumerate(enc.labels):
        mask = enc.codes == code
        idx, rest = np.flatnonzero(mask), np.flatnonzero(~mask)
        key, where = f"{enc.name}={label}", f"{enc.name} = {label}"
        positives = int(np.count_nonzero(ev.y[idx]))
        for d in ev.metrics:
            est = ev.estimate(d, idx, key, f"the group {where}")
            vs_rest = vs_ref = None
            if idx.size >= min_group_size and est.defined:
                comp = ev.estimate(d, rest, f"~{key}", f"everyone not in {where}")
                if comp.defined:
                    other = (comp, rest, f"~{key}", REST)
                    context = f"{where} vs the rest"
                    vs_rest = _compare(ev, d, (est, idx, key), other, context=context)
                if ref_idx is not None and label != ref:
                    ref_key = f"{enc.name}={ref}"
                    comp = ev.estimate(d, ref_idx, ref_key, f"the group {enc.name} = {ref}")
                    if comp.defined:
                        other = (comp, ref_idx, ref_key, str(ref))
                        context = f"{where} vs {ref}"
                        vs_ref = _compare(ev, d, (est, idx, key), other, context=context)
            rows.append(
                GroupMetric(enc.name, label, d.name, est, int(idx.size), positives, vs_rest, vs_ref)
            )
    return rows


def disaggregate(
    metrics: MetricSpec | Sequence[MetricSpec] | Mapping[str, MetricSpec],
    y_true: npt.ArrayLike,
    y_pred: npt.ArrayLike,
    *,
    groups: Mapping[str, npt.ArrayLike],
    intersections: bool | Sequence[tuple[str, str]] = False,
    reference_groups: Mapping[str, str] | None = None,
    threshold: float | None = None,
    level: float = 0.95,
    min_group_size: int = 10,
    missing_values: Collection[str] = MISSING_VALUES,
    n_boot: int = 1000,
    rng: np.random.Generator | int | None = None,
) -> Disaggregation:
    """Compute metrics by patient group, with gaps to everyone else.

    Parameters
    ----------
    metrics : str, callable, sequence of those, or mapping of name to those
        Metrics by name (see :func:`registered_metrics`: ``"sensitivity"``,
        ``"specificity"``, ``"ppv"``, ``"npv"``, ``"accuracy"``,
        ``"balanced_accuracy"``, ``"f1"``, ``"auc"``) or callables
        ``f(y_true, y_pred) -> Estimate``; a mapping names them, e.g.
        ``{"sens": lambda y, p: diagnostic_metrics(y, p)["sensitivity"]}``.
        Callables receive ``y_pred`` as given and are assumed higher-better.
    y_true : array-like of shape (n,)
        Reference standard, 0/1 or False/True.
    y_pred : array-like of shape (n,)
        Binary calls, or scores when ``threshold`` is given or only ``"auc"``
        is asked for.
    groups : mapping of str to array-like of shape (n,)
        One or more attributes, e.g. ``{"sex": sex, "age_band": age}``. Values
        in ``missing_values`` (and None or NaN) form the explicit group
        ``"not recorded"``.
    intersections : bool or list of (str, str), default False
        True for every pair of attributes, or the pairs to cross.
    reference_groups : mapping of str to str, optional
        Reference group of some attributes; every other group of that
        attribute is also compared with it. An intersection has a reference
        cell when both its attributes have a reference group.
    threshold : float, optional
        Turns scores into calls (``score >= threshold``) for call-based metrics.
    level : float, default 0.95
        Confidence level of every interval.
    min_group_size : int, default 10
        Groups with fewer cases get their estimate but no comparison; they are
        reported as insufficient data by :func:`flag_disparities`.
    missing_values : collection of str, default MISSING_VALUES
        Values meaning "not recorded" (matched after stripping, ignoring case).
    n_boot : int, default 1000
        Bootstrap resamples per group for metrics with no variance formula.
    rng : numpy.random.Generator or int, optional
        Required when a metric is compared by bootstrap (``balanced_accuracy``,
        ``f1`` and callables).

    Returns
    -------
    Disaggregation
        Rows per attribute, group and metric with the estimate, ``n``,
        ``positives`` and comparisons ``vs_rest`` ("everyone else": all cases
        not in the group) and ``vs_reference``. Differences are group minus
        comparator: Newcombe hybrid score intervals and Fisher's exact test
        for proportions, DeLong variances of independent samples for the AUC,
        stratified-bootstrap standard errors otherwise; ratios use log-method
        intervals.

    Warns
    -----
    UndefinedMetricWarning
        For each group where a metric is undefined (for example sensitivity
        in a group with no positive cases): its value is NaN and it is never
        compared or flagged.

    Examples
    --------
    >>> y = [1, 1, 1, 1, 0, 0, 0, 0] * 5
    >>> calls = [1, 1, 1, 0, 0, 0, 0, 1] * 5
    >>> sex = ["F", "M"] * 20
    >>> r = disaggregate("sensitivity", y, calls, groups={"sex": sex})
    >>> r.get("sex", "M", "sensitivity").estimate.format()
    '0.50 (95% CI 0.24 to 0.76)'
    >>> r.get("sex", "M", "sensitivity").vs_rest.difference.format()
    '-0.50 (95% CI -0.76 to -0.12)'

    """
    level = check_level(level)
    min_group_size = check_positive_int(min_group_size, "min_group_size")
    defs = resolve_metrics(metrics)
    y = binary_labels(y_true, "y_true")
    inputs = _inputs(y_pred, defs, threshold)
    check_same_length(y_true=y, y_pred=next(iter(inputs.values())))
    encoded = encode_attributes(groups, y.size, missing_key_set(missing_values))
    pairs = resolve_pairs(intersections, list(encoded))
    refs = _references(reference_groups, encoded)
    generator = None
    boot = [d.name for d in defs if d.kind == "bootstrap"]
    if boot:
        n_boot = check_positive_int(n_boot, "n_boot")
        generator = resolve_rng(rng, f"disaggregate (for metric {boot[0]!r})")
    ev = Evaluator(defs, y, inputs, level=level, n_boot=n_boot, rng=generator)
    everyone = np.arange(y.size)
    overall = {d.name: ev.estimate(d, everyone, "all", "all cases") for d in defs}
    attrs = [*encoded.values(), *(intersect(encoded[a], encoded[b]) for a, b in pairs)]
    rows: list[GroupMetric] = []
    for enc in attrs:
        if all(p in refs for p in enc.parts):
            refs[enc.name] = " & ".join(refs[p] for p in enc.parts)
        rows.extend(_attribute_rows(ev, enc, refs.get(enc.name), min_group_size))
    return Disaggregation(
        tuple(rows),
        overall,
        {enc.name: enc.labels for enc in attrs},
        {d.name: d for d in defs},
        refs,
        int(y.size),
        int(np.count_nonzero(y)),
        level,
        min_group_size,
    )
