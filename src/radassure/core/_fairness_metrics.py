"""The metrics disaggregation can wrap, and their evaluation on subsets of cases.

Every value comes from the public metric functions (:func:`diagnostic_metrics`,
:func:`roc_auc`) or from the caller's own callable, so no metric is written a
second time for subgroups. The registry only records what kind of metric each
name is, which decides how differences between groups get their intervals.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from radassure.core._checks import FloatArray, undefined
from radassure.core.classification import diagnostic_metrics
from radassure.core.ranking import _delong_covariance, _split, _structural_components, roc_auc
from radassure.core.results import Estimate
from radassure.errors import UndefinedMetricWarning

__all__ = [
    "METRICS",
    "Evaluator",
    "MetricDef",
    "MetricFunction",
    "MetricSpec",
    "resolve_metrics",
]

MetricFunction = Callable[[npt.NDArray[np.bool_], npt.NDArray[np.generic]], Estimate]
MetricSpec = str | MetricFunction
Kind = Literal["proportion", "auc", "bootstrap"]
Needs = Literal["calls", "scores", "raw"]
IntArray = npt.NDArray[np.intp]


@dataclass(frozen=True)
class MetricDef:
    """One metric to disaggregate and how its group differences are compared."""

    name: str
    kind: Kind
    needs: Needs
    denominator: str
    display: str
    why_undefined: str
    key: str | None = None
    func: MetricFunction | None = None


def _registry() -> dict[str, MetricDef]:
    no_pos = "there are no positive cases"
    rows: list[tuple[str, Kind, str, str, str]] = [
        ("sensitivity", "proportion", "positive cases", "Sensitivity", no_pos),
        (
            "specificity",
            "proportion",
            "negative cases",
            "Specificity",
            "there are no negative cases",
        ),
        ("ppv", "proportion", "positive calls", "PPV", "the tool made no positive calls"),
        ("npv", "proportion", "negative calls", "NPV", "the tool made no negative calls"),
        ("accuracy", "proportion", "cases", "Accuracy", "there are no cases"),
        (
            "balanced_accuracy",
            "bootstrap",
            "cases",
            "Balanced accuracy",
            "it needs both positive and negative cases",
        ),
        ("f1", "bootstrap", "cases", "F1", "there are no positive cases and no positive calls"),
    ]
    out = {
        name: MetricDef(name, kind, "calls", den, shown, why, key=name)
        for name, kind, den, shown, why in rows
    }
    out["auc"] = MetricDef(
        "auc", "auc", "scores", "positive cases", "AUC", "it needs positive and negative cases"
    )
    return out


#: Metrics known by name.
METRICS: dict[str, MetricDef] = _registry()


def _one(name: str, spec: MetricSpec) -> MetricDef:
    if isinstance(spec, str):
        if spec not in METRICS:
            raise ValueError(
                f"Unknown metric {spec!r}; use one of {', '.join(map(repr, sorted(METRICS)))} "
                "or pass a named callable such as {'my_metric': fn}."
            )
        known = METRICS[spec]
        if name == spec:
            return known
        return MetricDef(
            name,
            known.kind,
            known.needs,
            known.denominator,
            known.display,
            known.why_undefined,
            known.key,
            known.func,
        )
    if callable(spec):
        return MetricDef(name, "bootstrap", "raw", "cases", name, "it returned NaN", func=spec)
    raise ValueError(
        f"Metric {name!r} must be a registered name or a callable f(y_true, y_pred) -> "
        f"Estimate (got {type(spec).__name__})."
    )


def resolve_metrics(
    metrics: MetricSpec | Sequence[MetricSpec] | Mapping[str, MetricSpec],
) -> tuple[MetricDef, ...]:
    """Read the ``metrics`` argument into definitions with unique names."""
    if isinstance(metrics, Mapping):
        items = list(metrics.items())
    elif isinstance(metrics, str) or callable(metrics):
        items = [(_name_of(metrics), metrics)]
    else:
        items = [(_name_of(m), m) for m in metrics]
    if not items:
        raise ValueError("metrics is empty; name at least one, e.g. 'sensitivity'.")
    names = [name for name, _ in items]
    if len(set(names)) != len(names):
        raise ValueError(f"Metric names must be unique (got {names}).")
    return tuple(_one(name, spec) for name, spec in items)


def _name_of(spec: object) -> str:
    if isinstance(spec, str):
        return spec
    name = getattr(spec, "__name__", "")
    if not name or name == "<lambda>":
        raise ValueError(
            "A metric given as a callable needs a name: pass metrics={'name': fn} "
            "(lambdas and partials have none)."
        )
    return str(name)


def _reemit(caught: list[warnings.WarningMessage], value: Estimate, name: str, where: str) -> None:
    """Pass on the warnings of one metric call, in words that name the group.

    Undefined-metric warnings are passed on only when the Estimate returned is
    itself (partly) NaN: a callable such as
    ``lambda y, p: diagnostic_metrics(y, p)["sensitivity"]`` also warns about
    entries it does not return, which would be noise here.
    """
    undefined_parts = not (value.defined and math.isfinite(value.ci_low + value.ci_high))
    said = []
    for w in caught:
        if not issubclass(w.category, UndefinedMetricWarning):
            warnings.warn(w.message, w.category, stacklevel=5)
        elif undefined_parts:
            said.append(str(w.message))
    if undefined_parts:
        why = " ".join(said) if said else "the metric returned NaN."
        warnings.warn(f"{name} for {where}: {why}", UndefinedMetricWarning, stacklevel=5)


class Evaluator:
    """Evaluate metrics on subsets of cases, each subset computed once."""

    def __init__(
        self,
        metrics: tuple[MetricDef, ...],
        y_true: npt.NDArray[np.bool_],
        inputs: Mapping[str, npt.NDArray[np.generic]],
        *,
        level: float,
        n_boot: int,
        rng: np.random.Generator | None,
    ) -> None:
        self.metrics = metrics
        self.y = y_true
        self.inputs = inputs
        self.level = level
        self.n_boot = n_boot
        self.rng = rng
        self._diag: dict[str, dict[str, Estimate]] = {}
        self._values: dict[tuple[str, str], Estimate] = {}
        self._extra: dict[tuple[str, str], float] = {}
        self._boot: dict[tuple[str, str], FloatArray] = {}

    def _diagnostic(self, idx: IntArray, key: str) -> dict[str, Estimate]:
        if key not in self._diag:
            with warnings.catch_warnings():
                # The function warns for every undefined entry of its dict; only the
                # metrics asked for are reported, below, in the caller's words.
                warnings.simplefilter("ignore", UndefinedMetricWarning)
                self._diag[key] = diagnostic_metrics(
                    self.y[idx], self.inputs["calls"][idx], level=self.level
                )
        return self._diag[key]

    def estimate(self, metric: MetricDef, idx: IntArray, key: str, where: str) -> Estimate:
        """The metric on cases ``idx`` (named ``key``; ``where`` for warnings)."""
        memo = (metric.name, key)
        if memo in self._values:
            return self._values[memo]
        if metric.key is not None:
            value = self._diagnostic(idx, key)[metric.key]
            if not value.defined:
                undefined(
                    f"{metric.name} is undefined for {where}: {metric.why_undefined} "
                    "(reported as NaN, never flagged).",
                    stacklevel=4,
                )
        else:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                value = self._call(metric, idx)
            _reemit(caught, value, metric.name, where)
        self._values[memo] = value
        return value

    def _call(self, metric: MetricDef, idx: IntArray) -> Estimate:
        y = self.y[idx]
        if metric.kind == "auc":
            return roc_auc(y, self.inputs["scores"][idx], level=self.level)
        if metric.key is not None:
            return diagnostic_metrics(y, self.inputs["calls"][idx], level=self.level)[metric.key]
        assert metric.func is not None
        out = metric.func(y, self.inputs["raw"][idx])
        if not isinstance(out, Estimate):
            raise ValueError(
                f"Metric {metric.name!r} must return an Estimate (got {type(out).__name__}); "
                "wrap a plain number as Estimate(value, nan, nan, level, 'point', n)."
            )
        return out

    def delong_variance(self, idx: IntArray, key: str) -> float:
        """DeLong variance of the AUC on cases ``idx`` (NaN with < 2 per class)."""
        memo = ("delong", key)
        if memo not in self._extra:
            scores, m, n = _split(self.y[idx], self.inputs["scores"][idx])
            if m < 2 or n < 2:
                self._extra[memo] = math.nan
            else:
                _, v10, v01 = _structural_components(scores, m)
                self._extra[memo] = float(_delong_covariance(v10, v01)[0, 0])
        return self._extra[memo]

    def replicates(self, metric: MetricDef, idx: IntArray, key: str) -> FloatArray:
        """Metric values on stratified bootstrap resamples of cases ``idx``."""
        memo = (metric.name, key)
        if memo not in self._boot:
            assert self.rng is not None
            y = self.y[idx]
            pos, neg = idx[y], idx[~y]
            rng = self.rng

            def draw(cases: IntArray) -> IntArray:
                return cases[rng.integers(0, cases.size, cases.size)] if cases.size else cases

            out = np.empty(self.n_boot)
            with warnings.catch_warnings():
                # A resample may leave a metric undefined; it is dropped, not reported.
                warnings.simplefilter("ignore", UndefinedMetricWarning)
                for b in range(self.n_boot):
                    out[b] = self._call(metric, np.concatenate([draw(pos), draw(neg)])).value
            self._boot[memo] = out
        return self._boot[memo]
