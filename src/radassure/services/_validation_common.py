"""Helpers shared by the validation analyses: undefined reasons, JSON, claims, methods."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal, TypeVar

import numpy as np
import numpy.typing as npt

from radassure.core import Estimate, check_claim
from radassure.errors import UndefinedMetricWarning

__all__ = [
    "LOWER_IS_BETTER",
    "ClaimRow",
    "Reasons",
    "capture",
    "check_claims",
    "estimate_dict",
    "jsonable",
    "methods_used",
    "thin",
]

T = TypeVar("T")

#: Metrics where a lower value is better (claims are mirrored for these).
LOWER_IS_BETTER = frozenset(
    {
        "fp_per_image",
        "false_positives_per_image",
        "brier",
        "brier_score",
        "ece",
        "ici",
        "hd95_mm",
        "hd95",
        "hd_mm",
        "apl_mm",
        "assd_mm",
        "masd_mm",
        "lr_negative",
    }
)

#: How each interval method reads in a report.
METHOD_TEXT = {
    "wilson": "Wilson score interval for a proportion (Wilson 1927; Newcombe 1998).",
    "log (Simel 1991)": "Log-method interval for a likelihood ratio (Simel, Samsa and "
    "Matchar 1991).",
    "mover-wilson": "MOVER square-and-add combination of the Wilson intervals of "
    "sensitivity and specificity (Newcombe 1998; Zou and Donner 2008).",
    "wilson-jaccard": "Wilson interval of the Jaccard index mapped through F1 = 2J / (1 + J).",
    "delong": "Wald interval with the DeLong (1988) standard error, clipped to [0, 1].",
    "logit (Boyd 2013)": "Logit interval for average precision (Boyd, Eng and Page 2013).",
    "logistic (offset)": "Wald interval from a logistic recalibration with logit(score) as "
    "offset (calibration-in-the-large).",
    "logistic": "Wald interval from a logistic recalibration on logit(score) (calibration slope).",
    "poisson-exact": "Exact (Garwood 1936) Poisson interval for a count per image.",
    "t": "Student t interval for a mean (mean ± t × SD / √n).",
    "wilson (pointwise)": "Pointwise Wilson intervals at each threshold or bin: they show how "
    "precisely each point is known, not where the whole curve lies.",
}


class Reasons:
    """Collects why metrics are undefined, without repeating a sentence."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, messages: Iterable[str]) -> None:
        """Add sentences not yet present."""
        for m in messages:
            if m not in self.items:
                self.items.append(m)


def capture(fn: Callable[[], T], reasons: Reasons) -> T:
    """Call ``fn`` and keep its :class:`UndefinedMetricWarning` messages as reasons.

    An undefined metric is part of the result (shown as "undefined" with the
    reason), not a warning for whoever runs the report; other warnings pass on.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UndefinedMetricWarning)
        value = fn()
    for w in caught:
        if issubclass(w.category, UndefinedMetricWarning):
            reasons.add([str(w.message)])
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return value


def _num(x: float) -> float | None:
    return x if math.isfinite(x) else None


def jsonable(value: Any) -> Any:
    """Turn numbers, arrays and Estimates into JSON-ready values; NaN and inf become None."""
    if isinstance(value, Estimate):
        return value.to_dict()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return _num(float(value))
    return value


def estimate_dict(est: Estimate, reasons: Reasons, key: str) -> dict[str, Any]:
    """An Estimate as JSON, with the reason it is undefined when it is."""
    out: dict[str, Any] = est.to_dict()
    if not est.defined:
        name = key.replace("_", " ")
        lowered = [(r, r.lower().removeprefix("the ")) for r in reasons.items]
        why = [r for r, low in lowered if low.startswith((key, name))]
        why = why or [r for r, low in lowered if key in low or name in low]
        out["reason"] = why[0] if why else f"{name} is undefined on these data."
    return out


def thin(x: npt.ArrayLike, y: npt.ArrayLike, *, max_points: int = 240) -> npt.NDArray[np.intp]:
    """Indices of at most ``max_points`` points spread evenly along a curve's length.

    Curves with thousands of distinct scores are kept to a few hundred points
    for storage and plotting; the metrics are always computed on every case.
    """
    xa = np.nan_to_num(np.asarray(x, dtype=np.float64))
    ya = np.nan_to_num(np.asarray(y, dtype=np.float64))
    n = xa.size
    if n <= max_points:
        return np.arange(n)
    step = np.hypot(np.diff(xa), np.diff(ya))
    length = np.r_[0.0, np.cumsum(step)]
    if length[-1] == 0:
        return np.unique(np.linspace(0, n - 1, max_points).round().astype(np.intp))
    marks = np.linspace(0.0, length[-1], max_points)
    idx = np.searchsorted(length, marks).clip(0, n - 1)
    return np.unique(np.r_[0, idx, n - 1]).astype(np.intp)


@dataclass(frozen=True)
class ClaimRow:
    """A stored claim as the analyses see it."""

    metric: str
    finding: str
    value: float
    ci_low: float | None
    ci_high: float | None
    level: float | None
    source: str | None


#: Metric names as a verdict sentence says them.
_SPOKEN = {
    "auc": "AUC",
    "roc_auc": "AUC",
    "ppv": "PPV",
    "npv": "NPV",
    "f1": "F1 score",
    "lr_positive": "positive likelihood ratio",
    "lr_negative": "negative likelihood ratio",
    "fp_per_image": "false positives per image",
    "dice": "mean Dice",
    "hd95_mm": "mean HD95 (mm)",
    "apl_mm": "mean added path length (mm)",
}

_OUTCOME_TEXT = {
    "consistent": "consistent with the claim",
    "worse": "below the claim",
    "inconclusive": "inconclusive",
    "undefined": "cannot be checked",
}


def check_claims(
    claims: Iterable[ClaimRow],
    finding: str,
    estimates: Mapping[str, Estimate],
    *,
    margin: float,
    reasons: Reasons,
) -> list[dict[str, Any]]:
    """Check each claim for ``finding`` (or for the whole tool) against its local estimate."""
    out = []
    for c in claims:
        if c.finding not in ("", finding):
            continue
        metric = c.metric.strip().lower()
        est = estimates.get(metric)
        row: dict[str, Any] = {
            "metric": c.metric,
            "finding": c.finding,
            "claimed": c.value,
            "claimed_ci": [c.ci_low, c.ci_high] if c.ci_low is not None else None,
            "claimed_level": c.level,
            "source": c.source,
            "margin": margin,
        }
        if est is None:
            known = ", ".join(sorted(estimates))
            out.append(
                {
                    **row,
                    "outcome": "not checked",
                    "estimate": None,
                    "p_value": None,
                    "outcome_text": "not checked",
                    "verdict": f"radassure has no local estimate of {c.metric!r} for this "
                    f"tool (it estimates: {known}), so this claim is not checked.",
                }
            )
            continue
        direction: Literal["higher", "lower"] = "lower" if metric in LOWER_IS_BETTER else "higher"
        check = capture(
            partial(
                check_claim,
                est,
                c.value,
                margin=margin,
                direction=direction,
                metric=_SPOKEN.get(metric, metric.replace("_", " ")),
            ),
            reasons,
        )
        out.append(
            {
                **row,
                "direction": direction,
                "bound": c.value - margin if direction == "higher" else c.value + margin,
                "estimate": est.to_dict(),
                "outcome": check.outcome,
                "outcome_text": _OUTCOME_TEXT[check.outcome],
                "p_value": _num(check.p_value),
                "verdict": check.verdict[:1].upper() + check.verdict[1:] + ".",
            }
        )
    return out


#: How a metric's key reads in the methods table.
_USED_FOR = {
    "auc": "AUC",
    "ppv": "PPV",
    "npv": "NPV",
    "f1": "F1 score",
    "lr_positive": "positive likelihood ratio",
    "lr_negative": "negative likelihood ratio",
    "intercept": "calibration intercept",
    "slope": "calibration slope",
    "fp_per_image": "false positives per image",
}


def methods_used(results: Any) -> list[dict[str, Any]]:
    """Every interval method in ``results`` with what it was used for and its description.

    Examples
    --------
    >>> rows = methods_used({"metrics": {"sensitivity": {"value": 0.9, "ci_low": 0.8,
    ...                                                   "ci_high": 0.95, "method": "wilson"}}})
    >>> rows[0]["method"], rows[0]["used_for"]
    ('wilson', ['sensitivity'])

    """
    found: dict[str, set[str]] = {}

    def walk(node: Any, key: str, parent: str) -> None:
        if isinstance(node, dict):
            if "method" in node and "value" in node and "ci_low" in node:
                # A per-structure summary's "mean" is named by its structure value.
                name = f"mean {parent}" if key == "mean" else _USED_FOR.get(key, key)
                found.setdefault(str(node["method"]), set()).add(name.replace("_", " "))
                return
            for k, v in node.items():
                if k != "estimate":  # a claim's estimate repeats a metric listed elsewhere
                    walk(v, k, key)
        elif isinstance(node, list):
            for v in node:
                walk(v, key, parent)

    walk(results, "", "")
    rows = [
        {
            "method": m,
            "used_for": sorted(u for u in used if u),
            "description": METHOD_TEXT.get(m, m),
        }
        for m, used in sorted(found.items())
    ]
    rows.append(
        {
            "method": "wilson (pointwise)",
            "used_for": ["ROC, precision-recall and reliability curves"],
            "description": METHOD_TEXT["wilson (pointwise)"],
        }
    )
    return rows
