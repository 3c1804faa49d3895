"""Common checks over every classification metric, in the spirit of scikit-learn's.

``REGISTRY`` lists each public metric of ``radassure.core`` that is computed from
cases given as ``(y_true, y_pred)`` or ``(y_true, y_score)``; a metric returning a
dict, a curve or several numbers has one entry per reported quantity or folds
them into one vector. Every entry then meets the same rules:

* its result does not depend on the order of the cases, on how the labels are
  encoded (0/1, bool, 0.0/1.0), nor on the container (list, tuple, numpy arrays of
  several dtypes, pandas Series including nullable dtypes);
* labels other than 0/1 or True/False (strings such as ``"neg"``/``"pos"``, -1/1,
  1/2) are refused with a ValueError that names the argument and the fix: we do
  not guess which class is positive;
* an undefined result (no positive cases, no negative cases, constant scores)
  warns with ``UndefinedMetricWarning`` and is NaN, per the table in each entry;
  nothing is NaN without that warning, and no numpy warning leaks out;
* invalid input (empty, mismatched lengths, NaN or infinite values, 2-D or
  scalar input) is refused with a ValueError in a full sentence, before any
  arithmetic;
* the AUC, average precision, confusion counts and Brier score agree with
  scikit-learn on random inputs.

Two decisions recorded here: choosing a threshold needs both classes, so the
threshold-choice functions refuse one-class data with a ValueError rather than
returning NaN; and a metric whose value is a genuine 0 (for example PPV when
every positive call is false, or prevalence with no positive cases) returns 0.
"""

from __future__ import annotations

import inspect
import math
import re
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    confusion_matrix,
    roc_auc_score,
)

import radassure.core as core
from radassure.core import (
    Estimate,
    UndefinedMetricWarning,
    average_precision,
    brier_score,
    calibration_intercept_slope,
    confusion_counts,
    delong_test,
    diagnostic_metrics,
    expected_calibration_error,
    integrated_calibration_index,
    net_benefit,
    pr_curve,
    reliability_curve,
    roc_auc,
    roc_curve_with_band,
    threshold_for_sensitivity,
    threshold_for_specificity,
    threshold_metrics,
    youden_threshold,
)
from radassure.core.classification import DIAGNOSTIC_KEYS

Output = float | Estimate | np.ndarray
Case = Literal["no_positives", "no_negatives", "constant_high", "constant_low"]
Expect = Literal["defined", "nan", "ci_nan", "raises"]


@dataclass(frozen=True)
class Metric:
    """One reported quantity of one public metric.

    ``fn(y_true, x)`` returns a float, an Estimate, or a vector whose first
    element is the headline value. ``kind`` says what ``x`` is: binary calls
    (``"pred"``), any real scores (``"score"``) or probabilities (``"prob"``).
    ``expect`` maps the undefined cases to their outcome (``"defined"`` when
    absent); ``warns`` is a pattern of the metric's own undefined warning.
    """

    name: str
    wraps: Callable[..., Any]
    fn: Callable[[Any, Any], Output]
    kind: Literal["pred", "score", "prob"]
    expect: Mapping[str, Expect] = field(default_factory=dict)
    warns: str = ""
    # True would compare only the headline value under reordering (none needs it now).
    order_dependent: bool = False


def _companion(scores: Any) -> Any:
    """A second tool's scores for delong_test: |s - 0.5|, in the same container.

    On the test grid (multiples of 1/32) the result is exact in float32 and
    float64 alike, so every container holds the same values.
    """
    if isinstance(scores, pd.Series):
        return (scores - 0.5).abs()
    arr = np.asarray(scores)
    if arr.dtype.kind not in "biuf":
        return scores
    out = np.abs(arr.astype(np.float64) - 0.5)
    if arr.dtype.kind == "f":
        out = out.astype(arr.dtype)
    if isinstance(scores, list):
        return out.tolist()
    if isinstance(scores, tuple):
        return tuple(out.tolist())
    return out


def _roc_area(y: Any, s: Any) -> np.ndarray:
    c = roc_curve_with_band(y, s)
    area = np.sum(np.diff(c.fpr) * (c.tpr[1:] + c.tpr[:-1]) / 2)
    return np.r_[area, c.fpr, c.tpr, c.fpr_low, c.fpr_high, c.tpr_low, c.tpr_high, c.thresholds]


def _pr_area(y: Any, s: Any) -> np.ndarray:
    c = pr_curve(y, s)
    area = np.sum(np.diff(np.r_[0.0, c.recall]) * c.precision)
    bands = (c.recall_low, c.recall_high, c.precision_low, c.precision_high)
    return np.r_[area, c.recall, c.precision, *bands, c.thresholds]


def _reliability(y: Any, p: Any) -> np.ndarray:
    r = reliability_curve(y, p)
    gap = np.sum(r.count * np.abs(r.observed - r.mean_predicted)) / r.count.sum()
    return np.r_[gap, r.mean_predicted, r.observed, r.observed_low, r.observed_high, r.count]


def _operating_point(op: Any) -> np.ndarray:
    return np.array([op.sensitivity, op.specificity, op.threshold])


def _decision_curve(y: Any, p: Any) -> np.ndarray:
    dc = net_benefit(y, p, thresholds=[0.25, 0.1, 0.5])
    return np.r_[dc.net_benefit, dc.treat_all, dc.n]


def _counts(y: Any, p: Any) -> np.ndarray:
    c = confusion_counts(y, p)
    return np.array([c.tp, c.fp, c.fn, c.tn], dtype=float)


# Which diagnostic metrics are undefined in which case. The case data are fixed
# below: with calls ``score >= 0.5`` "no_positives" has 3 false positives and 3
# true negatives, "no_negatives" 3 true positives and 3 false negatives,
# "constant_high" calls every case positive, "constant_low" none.
_DIAGNOSTIC_EXPECT: dict[str, dict[str, Expect]] = {
    "sensitivity": {"no_positives": "nan"},
    "specificity": {"no_negatives": "nan"},
    "ppv": {"constant_low": "nan"},
    "npv": {"constant_high": "nan"},
    "accuracy": {},
    "balanced_accuracy": {"no_positives": "nan", "no_negatives": "nan"},
    "f1": {},
    "lr_positive": {"no_positives": "nan", "no_negatives": "nan", "constant_low": "nan"},
    "lr_negative": {"no_positives": "nan", "no_negatives": "nan", "constant_high": "nan"},
    "prevalence": {},
}
_ONE_CLASS_NAN: dict[str, Expect] = {"no_positives": "nan", "no_negatives": "nan"}
_THRESHOLD_CHOICE: dict[str, Expect] = {"no_positives": "raises", "no_negatives": "raises"}
_CONSTANT = {"constant_high": "nan", "constant_low": "nan"}
_CONSTANT_CI = {"constant_high": "ci_nan", "constant_low": "ci_nan"}


def _diagnostic(key: str) -> Callable[[Any, Any], Output]:
    return lambda y, p: diagnostic_metrics(y, p)[key]


def _thresholded(key: str) -> Callable[[Any, Any], Output]:
    return lambda y, s: threshold_metrics(y, s, threshold=0.5)[key]


REGISTRY: list[Metric] = [
    Metric("confusion_counts", confusion_counts, _counts, "pred"),
    *(
        Metric(
            key, diagnostic_metrics, _diagnostic(key), "pred", _DIAGNOSTIC_EXPECT[key], rf"^{key}\b"
        )
        for key in DIAGNOSTIC_KEYS
    ),
    *(
        Metric(
            f"threshold_metrics[{key}]",
            threshold_metrics,
            _thresholded(key),
            "score",
            _DIAGNOSTIC_EXPECT[key],
            rf"^{key}\b",
        )
        for key in DIAGNOSTIC_KEYS
    ),
    Metric(
        "roc_auc[delong]",
        roc_auc,
        roc_auc,
        "score",
        {**_ONE_CLASS_NAN, **_CONSTANT_CI},
        "AUC|score is the same",
    ),
    Metric(
        "roc_auc[bootstrap]",
        roc_auc,
        lambda y, s: roc_auc(y, s, method="bootstrap", rng=0, n_boot=200),
        "score",
        {**_ONE_CLASS_NAN, **_CONSTANT_CI},
        "AUC|score is the same",
    ),
    Metric(
        "delong_test[difference]",
        delong_test,
        lambda y, s: delong_test(y, s, _companion(s)).difference,
        "score",
        {**_ONE_CLASS_NAN, **_CONSTANT_CI},
        "DeLong test|variance of the AUC difference",
    ),
    Metric(
        "delong_test[p_value]",
        delong_test,
        lambda y, s: delong_test(y, s, _companion(s)).p_value,
        "score",
        {**_ONE_CLASS_NAN, **_CONSTANT},
        "DeLong test|variance of the AUC difference",
    ),
    Metric(
        "roc_curve_with_band",
        roc_curve_with_band,
        _roc_area,
        "score",
        _ONE_CLASS_NAN,
        "positive rate is NaN",
    ),
    Metric(
        "average_precision",
        average_precision,
        average_precision,
        "score",
        {"no_positives": "nan", "no_negatives": "ci_nan"},
        "Average precision",
    ),
    Metric("pr_curve", pr_curve, _pr_area, "score", {"no_positives": "nan"}, "recall is NaN"),
    Metric("brier_score", brier_score, brier_score, "prob"),
    Metric(
        "calibration_intercept_slope[intercept]",
        calibration_intercept_slope,
        lambda y, p: calibration_intercept_slope(y, p).intercept,
        "prob",
        _ONE_CLASS_NAN,
        "Calibration intercept",
    ),
    Metric(
        "calibration_intercept_slope[slope]",
        calibration_intercept_slope,
        lambda y, p: calibration_intercept_slope(y, p).slope,
        "prob",
        {**_ONE_CLASS_NAN, **_CONSTANT},
        "slope",
    ),
    Metric(
        "expected_calibration_error", expected_calibration_error, expected_calibration_error, "prob"
    ),
    Metric(
        "expected_calibration_error[quantile]",
        expected_calibration_error,
        lambda y, p: expected_calibration_error(y, p, strategy="quantile", n_bins=4),
        "prob",
    ),
    Metric(
        "integrated_calibration_index",
        integrated_calibration_index,
        integrated_calibration_index,
        "prob",
        _CONSTANT,
        "integrated calibration index",
    ),
    Metric("reliability_curve", reliability_curve, _reliability, "prob"),
    Metric(
        "net_benefit",
        net_benefit,
        _decision_curve,
        "prob",
    ),
    Metric(
        "youden_threshold",
        youden_threshold,
        lambda y, s: _operating_point(youden_threshold(y, s)),
        "score",
        _THRESHOLD_CHOICE,
    ),
    Metric(
        "threshold_for_sensitivity",
        threshold_for_sensitivity,
        lambda y, s: _operating_point(threshold_for_sensitivity(y, s, target=0.8)),
        "score",
        _THRESHOLD_CHOICE,
    ),
    Metric(
        "threshold_for_specificity",
        threshold_for_specificity,
        lambda y, s: _operating_point(threshold_for_specificity(y, s, target=0.8)),
        "score",
        _THRESHOLD_CHOICE,
    ),
]
IDS = [m.name for m in REGISTRY]
ORDER_FREE = [m for m in REGISTRY if not m.order_dependent]


def test_registry_covers_every_public_classification_metric():
    # Any public function taking (y_true, <calls or scores>, ...) must be registered.
    second = {"y_pred", "y_score", "y_prob", "score_a"}
    # Takes baseline calls to design a monitor; returns a design, not a metric value.
    not_metrics = {"design_surveillance"}
    public = set()
    for name in sorted(set(core.__all__) - not_metrics):
        obj = getattr(core, name)
        if inspect.isfunction(obj):
            params = list(inspect.signature(obj).parameters)
            if params[:1] == ["y_true"] and len(params) > 1 and params[1] in second:
                public.add(obj)
    registered = {m.wraps for m in REGISTRY}
    missing = sorted(f.__name__ for f in public - registered)
    assert not missing, f"add these metrics to REGISTRY: {missing}"
    assert len(IDS) == len(set(IDS))


# ----------------------------------------------------------------------------
# Running a metric: outputs, refusals and warnings as comparable values.


@dataclass(frozen=True)
class Outcome:
    values: np.ndarray | None
    error: str | None
    warned: tuple[str, ...]

    @property
    def headline(self) -> float:
        assert self.values is not None, self.error
        return float(self.values[0])


def _flatten(out: Output) -> np.ndarray:
    if isinstance(out, Estimate):
        return np.array([out.value, out.ci_low, out.ci_high, out.n], dtype=float)
    return np.atleast_1d(np.asarray(out, dtype=float))


def run(metric: Metric, y: Any, x: Any) -> Outcome:
    """Call ``metric``; only ValueError and UndefinedMetricWarning may come out."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            out = metric.fn(y, x)
        except ValueError as exc:
            values, error = None, str(exc)
        else:
            values, error = _flatten(out), None
    foreign = [w for w in caught if not issubclass(w.category, UndefinedMetricWarning)]
    assert not foreign, (
        f"{metric.name} let out {foreign[0].category.__name__}: {foreign[0].message}"
    )
    return Outcome(values, error, tuple(sorted({str(w.message) for w in caught})))


def assert_same(a: Outcome, b: Outcome, *, headline_only: bool = False) -> None:
    assert a.error == b.error
    if a.values is None or b.values is None:
        return
    if headline_only:
        np.testing.assert_allclose(b.headline, a.headline, rtol=1e-9, atol=1e-12)
        return
    assert a.warned == b.warned
    assert a.values.shape == b.values.shape
    np.testing.assert_allclose(b.values, a.values, rtol=1e-9, atol=1e-12, equal_nan=True)


# ----------------------------------------------------------------------------
# Data. Scores are multiples of 1/32 in [0, 1]: valid for every kind, heavy in
# ties, and exact in float32 as in float64, so containers hold the same values.


@st.composite
def cases(draw: st.DrawFn, min_size: int = 1, max_size: int = 40) -> tuple[np.ndarray, ...]:
    n = draw(st.integers(min_size, max_size))
    y = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)), dtype=np.int64)
    grid = draw(st.sampled_from([32, 4]))
    k = draw(st.lists(st.integers(0, grid), min_size=n, max_size=n))
    calls = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)), dtype=np.int64)
    return y, np.asarray(k, dtype=np.float64) / grid, calls


def _x(metric: Metric, scores: np.ndarray, calls: np.ndarray) -> np.ndarray:
    return calls if metric.kind == "pred" else scores


LABEL_FORMS: dict[str, Callable[[np.ndarray], Any]] = {
    "list": lambda a: a.tolist(),
    "tuple": lambda a: tuple(a.tolist()),
    "list of bool": lambda a: [bool(v) for v in a],
    "bool array": lambda a: a.astype(bool),
    "float 0.0/1.0": lambda a: a.astype(np.float64),
    "float32": lambda a: a.astype(np.float32),
    "int8": lambda a: a.astype(np.int8),
    "uint8": lambda a: a.astype(np.uint8),
    "int32": lambda a: a.astype(np.int32),
    "Series[int64]": pd.Series,
    "Series[bool]": lambda a: pd.Series(a.astype(bool)),
    "Series[Int64]": lambda a: pd.Series(a, dtype="Int64"),
    "Series[boolean]": lambda a: pd.Series(a.astype(bool), dtype="boolean"),
    # Positions count, never the index: no alignment surprises.
    "Series, reversed index": lambda a: pd.Series(a, index=np.arange(a.size)[::-1]),
}
SCORE_FORMS: dict[str, Callable[[np.ndarray], Any]] = {
    "list": lambda a: a.tolist(),
    "tuple": lambda a: tuple(a.tolist()),
    "float32": lambda a: a.astype(np.float32),
    "float64 non-contiguous": lambda a: np.repeat(a, 2)[::2],
    "Series[float64]": pd.Series,
    "Series[float32]": lambda a: pd.Series(a, dtype=np.float32),
    "Series[Float64]": lambda a: pd.Series(a, dtype="Float64"),
}
INVARIANCE = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("metric", REGISTRY, ids=IDS)
@INVARIANCE
@given(data=cases(), order=st.randoms(use_true_random=False))
def test_invariant_to_case_order(metric, data, order):
    y, s, calls = data
    x = _x(metric, s, calls)
    perm = np.arange(y.size)
    order.shuffle(perm)
    assert_same(
        run(metric, y, x), run(metric, y[perm], x[perm]), headline_only=metric.order_dependent
    )


@pytest.mark.parametrize("metric", REGISTRY, ids=IDS)
@INVARIANCE
@given(data=cases(), form=st.sampled_from(sorted(LABEL_FORMS)))
def test_invariant_to_label_encoding_and_container(metric, data, form):
    y, s, calls = data
    x = _x(metric, s, calls)
    convert = LABEL_FORMS[form]
    reference = run(metric, y, x)
    assert_same(reference, run(metric, convert(y), x))
    if metric.kind == "pred":
        assert_same(reference, run(metric, convert(y), convert(calls)))


@pytest.mark.parametrize("metric", [m for m in REGISTRY if m.kind != "pred"], ids=lambda m: m.name)
@INVARIANCE
@given(data=cases(), form=st.sampled_from(sorted(SCORE_FORMS)))
def test_invariant_to_score_container(metric, data, form):
    y, s, _ = data
    assert_same(run(metric, y, s), run(metric, y, SCORE_FORMS[form](s)))


def test_invariant_to_monotone_rescaling_where_only_ranks_count():
    # Ranking metrics see only the order of the scores.
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 60)
    s = np.round(rng.normal(y, 1.0), 1)
    for fn in (roc_auc, average_precision):
        a, b = fn(y, s), fn(y, 10.0 * s - 3.0)
        assert (a.value, a.ci_low, a.ci_high) == pytest.approx((b.value, b.ci_low, b.ci_high))


def test_bootstrap_interval_is_invariant_to_case_order():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 80)
    s = rng.normal(y, 1.0)
    perm = rng.permutation(y.size)
    a = roc_auc(y, s, method="bootstrap", rng=5, n_boot=500)
    b = roc_auc(y[perm], s[perm], method="bootstrap", rng=5, n_boot=500)
    assert a.value == pytest.approx(b.value)
    assert (a.ci_low, a.ci_high) == pytest.approx((b.ci_low, b.ci_high), abs=1e-12)


def test_ici_is_invariant_to_case_order_with_heavy_ties():
    p = np.array([0.5] * 7 + [0.25, 0.75])
    y = np.array([1, 0, 0, 0, 0, 0, 0, 1, 0])
    rng = np.random.default_rng(0)
    values = set()
    for _ in range(20):
        perm = rng.permutation(y.size)
        values.add(round(integrated_calibration_index(y[perm], p[perm]), 12))
    assert len(values) == 1, values


# ----------------------------------------------------------------------------
# Label encodings we refuse: every metric, the same clear sentence.

REFUSED_LABELS = {
    "strings neg/pos": ["neg", "pos", "neg", "pos", "pos", "neg"],
    "-1/1": [-1, 1, -1, 1, 1, -1],
    "1/2": [1, 2, 1, 2, 2, 1],
    "0/2": [0, 2, 0, 2, 2, 0],
    "0.5": [0, 0.5, 0, 1, 1, 0],
    "Series of strings": pd.Series(["neg", "pos", "neg", "pos", "pos", "neg"]),
    "object with None": [0, 1, None, 1, 1, 0],
}
GOOD_SCORES = [0.1, 0.9, 0.2, 0.7, 0.6, 0.3]
GOOD_CALLS = [0, 1, 0, 1, 0, 0]


@pytest.mark.parametrize("labels", list(REFUSED_LABELS.values()), ids=list(REFUSED_LABELS))
@pytest.mark.parametrize("metric", REGISTRY, ids=IDS)
def test_unsupported_label_encodings_are_refused_clearly(metric, labels):
    x = GOOD_CALLS if metric.kind == "pred" else GOOD_SCORES
    with pytest.raises(ValueError, match=r"y_true must hold binary labels 0/1 or True/False"):
        metric.fn(labels, x)
    if metric.kind == "pred":
        with pytest.raises(ValueError, match=r"y_pred must hold binary labels 0/1"):
            metric.fn([0, 1, 0, 1, 1, 0], labels)


# ----------------------------------------------------------------------------
# Undefined cases: each metric's table.

UNDEFINED_CASES: dict[str, tuple[list[int], list[float]]] = {
    "no_positives": ([0] * 6, [0.1, 0.2, 0.3, 0.6, 0.7, 0.8]),
    "no_negatives": ([1] * 6, [0.1, 0.2, 0.3, 0.6, 0.7, 0.8]),
    "constant_high": ([0, 1, 0, 1, 0, 1], [0.7] * 6),
    "constant_low": ([0, 1, 0, 1, 0, 1], [0.2] * 6),
}


@pytest.mark.parametrize("case", list(UNDEFINED_CASES))
@pytest.mark.parametrize("metric", REGISTRY, ids=IDS)
def test_undefined_cases_warn_and_return_nan(metric, case):
    y, s = UNDEFINED_CASES[case]
    x = [int(v >= 0.5) for v in s] if metric.kind == "pred" else s
    expect = metric.expect.get(case, "defined")
    if expect == "raises":
        with pytest.raises(ValueError, match=r"no (positive|negative) cases, so no threshold"):
            metric.fn(y, x)
        return
    outcome = run(metric, y, x)
    assert outcome.error is None, outcome.error
    own = [m for m in outcome.warned if metric.warns and re.search(metric.warns, m)]
    if expect == "defined":
        assert math.isfinite(outcome.headline), (outcome.headline, outcome.warned)
        assert not own, f"{metric.name} is defined here but warned: {own}"
        return
    assert own, f"{metric.name} should warn in case {case}; warnings: {outcome.warned}"
    if expect == "nan":
        assert math.isnan(outcome.headline)
    else:  # value kept, interval undefined
        assert math.isfinite(outcome.headline)
        assert np.isnan(outcome.values[1:3]).all()


@pytest.mark.parametrize("metric", REGISTRY, ids=IDS)
@settings(max_examples=30, deadline=None)
@given(data=cases(min_size=1, max_size=12))
def test_nothing_is_nan_without_a_warning(metric, data):
    # Small samples reach every degenerate corner: one case, one class, all ties.
    y, s, calls = data
    outcome = run(metric, y, _x(metric, s, calls))
    if outcome.error is not None:
        assert metric.expect.get("no_positives") == "raises"
        assert np.ptp(y) == 0
        return
    assert outcome.values is not None
    if np.isnan(outcome.values).any():
        assert outcome.warned, f"{metric.name} returned NaN without UndefinedMetricWarning"


# ----------------------------------------------------------------------------
# Invalid input: refused whole, with a sentence, before any arithmetic.

NAN = math.nan
INVALID: dict[str, tuple[Any, Any, Any, str]] = {
    # name: (y_true, scores, calls, message pattern)
    "empty": ([], [], [], r"is empty; pass at least one case"),
    "mismatched lengths": (
        [0, 1, 0, 1],
        [0.1, 0.2, 0.3],
        [0, 1, 0],
        r"must have one entry per case, but y_true has 4, \w+ has 3",
    ),
    "all-NaN scores": ([0, 1, 0, 1], [NAN] * 4, [NAN] * 4, r"NaN|nan"),
    "infinite score": ([0, 1, 0, 1], [0.1, math.inf, 0.3, 0.4], [0, 1.5, 0, 1], r"infinite|1\.5"),
    "NaN label": ([0, NAN, 0, 1], [0.1, 0.2, 0.3, 0.4], [0, 1, 0, 1], r"y_true .*nan"),
    "2-D": ([[0, 1], [0, 1]], [[0.1, 0.2], [0.3, 0.4]], [[0, 1], [0, 1]], r"one-dimensional"),
    "scalar": (1, 0.5, 1, r"one-dimensional array of values, not a scalar"),
}


@pytest.mark.parametrize("invalid", list(INVALID))
@pytest.mark.parametrize("metric", REGISTRY, ids=IDS)
def test_invalid_input_is_refused_with_a_sentence(metric, invalid):
    y, s, calls, pattern = INVALID[invalid]
    x = calls if metric.kind == "pred" else s
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing may warn on the way to the refusal
        with pytest.raises(ValueError, match=pattern) as info:
            metric.fn(y, x)
    message = str(info.value)
    assert message.endswith("."), message
    assert len(message.split()) >= 6, message


@pytest.mark.parametrize("metric", [m for m in REGISTRY if m.kind == "prob"], ids=lambda m: m.name)
def test_probability_metrics_refuse_values_outside_0_1(metric):
    with pytest.raises(ValueError, match=r"y_prob must be probabilities between 0 and 1"):
        metric.fn([0, 1, 0, 1], [0.1, 1.2, 0.3, 0.4])


# ----------------------------------------------------------------------------
# Agreement with scikit-learn on random inputs.

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
tied = st.integers(-3, 3).map(float)


@st.composite
def scored(draw: st.DrawFn, *, both_classes: bool = True, probs: bool = False) -> tuple:
    n = draw(st.integers(2, 80))
    y = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=np.int64)
    if both_classes:
        assume(0 < y.sum() < n)
    if probs:
        values = st.floats(0.0, 1.0, allow_nan=False)
    else:
        values = draw(st.sampled_from([finite, tied]))
    s = np.array(draw(st.lists(values, min_size=n, max_size=n)), dtype=np.float64)
    return y, s


@settings(max_examples=80, deadline=None)
@given(scored())
def test_auc_agrees_with_sklearn(data):
    y, s = data
    expected = roc_auc_score(y, s)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)  # constant scores, tiny classes
        assert roc_auc(y, s).value == pytest.approx(expected, abs=1e-12)
        assert roc_auc(y, s, method="bootstrap", rng=1, n_boot=20).value == pytest.approx(
            expected, abs=1e-12
        )
        assert _roc_area(y, s)[0] == pytest.approx(expected, abs=1e-12)
        if y.sum() >= 2 and (1 - y).sum() >= 2:
            t = delong_test(y, s, -s)
            assert t.auc_a.value == pytest.approx(expected, abs=1e-12)
            assert t.auc_b.value == pytest.approx(1 - expected, abs=1e-12)


@settings(max_examples=80, deadline=None)
@given(scored())
def test_average_precision_agrees_with_sklearn(data):
    y, s = data
    expected = average_precision_score(y, s)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)  # AP of 1 has no logit interval
        assert average_precision(y, s).value == pytest.approx(expected, abs=1e-12)
    assert _pr_area(y, s)[0] == pytest.approx(expected, abs=1e-12)


@settings(max_examples=80, deadline=None)
@given(scored(both_classes=False), st.sampled_from([-1.0, 0.0, 0.5, 2.0]))
def test_confusion_counts_agree_with_sklearn(data, threshold):
    y, s = data
    calls = s >= threshold
    tn, fp, fn, tp = confusion_matrix(y, calls, labels=[0, 1]).ravel()
    for pred in (calls, calls.astype(int), calls.tolist()):
        c = confusion_counts(y.astype(bool), pred)
        assert (c.tp, c.fp, c.fn, c.tn) == (tp, fp, fn, tn)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        m = threshold_metrics(y, s, threshold=threshold)
    assert m["accuracy"].value == pytest.approx((tp + tn) / y.size)
    assert m["prevalence"].n == y.size
    if tp + fn:
        assert m["sensitivity"].value == pytest.approx(tp / (tp + fn))
        assert m["sensitivity"].n == tp + fn
    if tn + fp:
        assert m["specificity"].value == pytest.approx(tn / (tn + fp))


@settings(max_examples=80, deadline=None)
@given(scored(both_classes=False, probs=True))
def test_brier_score_agrees_with_sklearn(data):
    y, p = data
    expected = brier_score_loss(y, p, labels=[0, 1])
    assert brier_score(y, p) == pytest.approx(expected, rel=1e-12, abs=1e-15)
    assert brier_score(y.astype(bool), p.astype(np.float32)) == pytest.approx(
        brier_score_loss(y, p.astype(np.float32), labels=[0, 1]), rel=1e-6
    )
