"""Label-free early warning for a deployed AI tool: context, never the safety verdict.

What goes wrong in imaging is often quiet: studies stop reaching the tool,
a scanner upgrade changes the inputs, the positive-call rate creeps. These
checks see such changes days before labels arrive, but none of them measures
accuracy, so every result carries ``role="early-warning"`` and the safety
signal stays with the label-based charts in :mod:`radassure.core.monitoring`.

* :func:`stream_gap` - "no results from site X since ...": a silence longer
  than a Poisson stream at its baseline rate plausibly produces;
* :func:`volume_chart`, :func:`p_chart` - daily volume and daily proportions
  (positive-call rate, AI-human discordance) with exact limits from an
  in-control ARL in days;
* :func:`distribution_shift`, :func:`metadata_drift` - AI score and input
  metadata drift: KS or chi-square, flagged only when significant *and* at
  least an effect-size floor (KS D, bias-corrected Cramér's V);
* :func:`estimated_performance` - a confidence-based sensitivity and
  specificity estimate that holds only if calibration holds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
from scipy import stats

from radassure.core._checks import FloatArray, finite_scores
from radassure.core._drift_charts import (
    DailyLimits,
    binomial_limits,
    p_chart,
    poisson_limits,
    volume_chart,
)
from radassure.core._drift_performance import (
    PerformanceEstimate,
    estimated_performance,
    isotonic_calibrator,
)
from radassure.core._drift_streams import stream_gap
from radassure.core._drift_types import DriftResult

__all__ = [
    "DailyLimits",
    "DriftResult",
    "PerformanceEstimate",
    "binomial_limits",
    "cramers_v",
    "distribution_shift",
    "estimated_performance",
    "isotonic_calibrator",
    "metadata_drift",
    "p_chart",
    "poisson_limits",
    "stream_gap",
    "volume_chart",
]

_DEFAULT_FLOOR = 0.1
# Numeric metadata with more distinct baseline values than this is compared as continuous.
_MAX_CATEGORIES = 20


def cramers_v(table: npt.ArrayLike) -> float:
    """Bias-corrected Cramér's V of a contingency table (Bergsma 2013).

    ``phi2 = chi2 / N`` is corrected to ``max(0, phi2 - (k-1)(r-1)/(N-1))``
    and the table's dimensions to ``k - (k-1)^2/(N-1)``, so that V is near 0
    without association whatever the sample size.

    Parameters
    ----------
    table : array-like of shape (r, k)
        Counts, with no empty row or column.

    Returns
    -------
    float
        Between 0 (no association) and 1.

    Examples
    --------
    >>> round(cramers_v([[30, 10], [10, 30]]), 4)
    0.4903

    """
    counts = np.asarray(table, dtype=np.float64)
    if counts.ndim != 2 or counts.size == 0 or np.any(counts < 0):
        raise ValueError("table must be a two-dimensional array of counts, 0 or more.")
    if np.any(counts.sum(axis=0) == 0) or np.any(counts.sum(axis=1) == 0):
        raise ValueError("table has an empty row or column; drop it before computing V.")
    r, k = counts.shape
    n = float(counts.sum())
    if min(r, k) < 2:
        return 0.0
    if n <= max(r, k):
        raise ValueError(
            "Cramér's V needs more observations than categories; every value is its own "
            "category here, so compare these values as continuous."
        )
    chi2 = float(stats.chi2_contingency(counts, correction=False).statistic)
    phi2 = max(0.0, chi2 / n - (k - 1) * (r - 1) / (n - 1))
    k_corr = k - (k - 1) ** 2 / (n - 1)
    r_corr = r - (r - 1) ** 2 / (n - 1)
    return math.sqrt(phi2 / min(k_corr - 1, r_corr - 1))


def _subject(name: str) -> str:
    if name == "score_distribution":
        return "The AI score distribution"
    if name.startswith("metadata:"):
        return f"The {name.split(':', 1)[1]} values"
    return f"The {name} distribution"


def _as_categories(values: npt.ArrayLike, name: str) -> npt.NDArray[np.str_]:
    arr = np.asarray(values)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty one-dimensional array of values.")
    # Compare as text so None and NaN (missing) become a category of their own.
    return arr.astype(str)


def _shift(
    baseline: npt.ArrayLike,
    current: npt.ArrayLike,
    *,
    kind: str,
    alpha: float,
    effect_floor: float | None,
    name: str,
    arg_names: tuple[str, str],
) -> DriftResult:
    if not (isinstance(alpha, float | int) and 0.0 < alpha < 1.0):
        raise ValueError(f"alpha must lie strictly between 0 and 1 (got {alpha!r}).")
    floor = _DEFAULT_FLOOR if effect_floor is None else effect_floor
    if not (isinstance(floor, float | int) and 0.0 <= floor <= 1.0):
        raise ValueError(f"effect_floor must lie between 0 and 1 (got {effect_floor!r}).")
    if kind == "continuous":
        base: FloatArray | npt.NDArray[np.str_] = finite_scores(baseline, arg_names[0])
        cur: FloatArray | npt.NDArray[np.str_] = finite_scores(current, arg_names[1])
        test = stats.ks_2samp(base, cur)
        statistic = effect = float(test.statistic)
        p_value = float(test.pvalue)
        n_b, n_c = base.size, cur.size
        # Asymptotic critical D (Smirnov); the verdict itself uses the exact p-value.
        crit = math.sqrt(-math.log(alpha / 2) / 2) * math.sqrt((n_b + n_c) / (n_b * n_c))
        threshold = max(crit, floor)
        what = f"KS distance {effect:.3f}"
    elif kind == "categorical":
        base, cur = _as_categories(baseline, arg_names[0]), _as_categories(current, arg_names[1])
        cats, codes = np.unique(np.concatenate([base, cur]), return_inverse=True)
        table = np.stack(
            [
                np.bincount(codes[: base.size], minlength=cats.size),
                np.bincount(codes[base.size :], minlength=cats.size),
            ]
        )
        if cats.size < 2:
            statistic, p_value, threshold, effect = 0.0, 1.0, math.inf, 0.0
        else:
            chi = stats.chi2_contingency(table, correction=False)
            statistic, p_value = float(chi.statistic), float(chi.pvalue)
            threshold = float(stats.chi2.isf(alpha, cats.size - 1))
            effect = cramers_v(table)
        what = f"Cramér's V {effect:.3f}"
    else:
        raise ValueError(f'kind must be "continuous" or "categorical" (got {kind!r}).')
    significant = p_value < alpha
    flagged = significant and effect >= floor
    sizes = f"{base.size} baseline and {cur.size} current"
    subject = _subject(name)
    if flagged:
        message = (
            f"{subject} differ from the baseline ({what}, p = {p_value:.2g}; {sizes}): "
            "worth checking what changed, though this alone says nothing about accuracy."
        )
    elif significant:
        message = (
            f"{subject} differ slightly from the baseline ({what}, below the {floor:g} that "
            f"matters; {sizes}), which is not flagged."
        )
    else:
        message = f"{subject} show no clear change from the baseline ({what}; {sizes})."
    return DriftResult(
        name, statistic, threshold, p_value, effect, float(floor), bool(flagged),
        int(base.size), int(cur.size), message,
    )  # fmt: skip


def distribution_shift(
    baseline: npt.ArrayLike,
    current: npt.ArrayLike,
    *,
    kind: str = "continuous",
    alpha: float = 0.001,
    effect_floor: float | None = None,
    name: str = "score_distribution",
) -> DriftResult:
    """Test whether a distribution moved, flagging only a clear change that matters.

    ``kind="continuous"`` runs the two-sample Kolmogorov-Smirnov test
    (:func:`scipy.stats.ks_2samp`, exact for small samples) with effect size
    D, the largest gap between the two cumulative distributions.
    ``kind="categorical"`` runs a chi-square test on the 2 x k table of
    counts (categories seen only now, like a new software version, are
    allowed) with effect size the bias-corrected Cramér's V
    (:func:`cramers_v`). A result is flagged only if ``p < alpha`` **and**
    the effect reaches ``effect_floor``, so a huge sample does not flag a
    trivial shift and a tiny one does not flag noise. With expected counts
    under about 5 the chi-square p-value is approximate. Early warning only:
    a shift in scores or inputs is not a loss of accuracy.

    Parameters
    ----------
    baseline, current : array-like
        Values from the baseline period and the current window.
    kind : {"continuous", "categorical"}, default "continuous"
        How to compare them.
    alpha : float, default 0.001
        Significance level (small, because these checks run every day).
    effect_floor : float, optional
        Smallest effect worth flagging; 0.1 (D or V) by default.
    name : str, default "score_distribution"
        Name of the check in the result (``"metadata:<field>"`` for metadata).

    Returns
    -------
    DriftResult
        ``statistic`` is D or chi-square; ``threshold`` the value it must pass
        for this sample size (for KS the larger of the floor and the asymptotic
        critical D, for chi-square its critical value).

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> r = distribution_shift(rng.normal(0, 1, 2000), rng.normal(0.5, 1, 500))
    >>> r.flagged, r.effect > 0.1, r.role
    (True, True, 'early-warning')
    >>> distribution_shift(["A"] * 50 + ["B"] * 50, ["A"] * 30 + ["C"] * 30,
    ...                    kind="categorical").flagged
    True

    """
    return _shift(
        baseline, current, kind=kind, alpha=alpha, effect_floor=effect_floor, name=name,
        arg_names=("baseline", "current"),
    )  # fmt: skip


def _infer_kind(values: npt.ArrayLike) -> str:
    arr = np.asarray(values)
    numeric = np.issubdtype(arr.dtype, np.number) and arr.dtype != np.bool_
    if numeric and np.unique(arr).size > _MAX_CATEGORIES:
        return "continuous"
    return "categorical"


def metadata_drift(
    baseline: Mapping[str, npt.ArrayLike],
    current: Mapping[str, npt.ArrayLike],
    *,
    kinds: Mapping[str, str] | None = None,
    alpha: float = 0.001,
    effect_floor: float | None = None,
) -> list[DriftResult]:
    """Input metadata drift: one :func:`distribution_shift` per field, Bonferroni over fields.

    Parameters
    ----------
    baseline, current : mapping of str to array-like
        Field name (manufacturer, model, software version, kVp ...) to values;
        every baseline field must be in ``current``.
    kinds : mapping of str to str, optional
        ``"continuous"`` or ``"categorical"`` per field; a field not named is
        continuous when numeric with more than 20 distinct baseline values,
        else categorical.
    alpha : float, default 0.001
        Family-wide significance level, split equally over the fields.
    effect_floor : float, optional
        Smallest D or V worth flagging; 0.1 by default.

    Returns
    -------
    list of DriftResult
        One per baseline field, in its order, named ``"metadata:<field>"``.

    Examples
    --------
    >>> base = {"manufacturer": ["GE"] * 80 + ["Siemens"] * 20}
    >>> cur = {"manufacturer": ["GE"] * 40 + ["Philips"] * 60}
    >>> [(r.name, r.flagged) for r in metadata_drift(base, cur)]
    [('metadata:manufacturer', True)]

    """
    if not baseline:
        raise ValueError("baseline has no fields; pass at least one metadata field.")
    kinds = dict(kinds or {})
    unknown = sorted(set(kinds) - set(baseline))
    if unknown:
        raise ValueError(f"kinds names fields not in baseline: {', '.join(unknown)}.")
    if not (isinstance(alpha, float | int) and 0.0 < alpha < 1.0):
        raise ValueError(f"alpha must lie strictly between 0 and 1 (got {alpha!r}).")
    results = []
    for field, values in baseline.items():
        if field not in current:
            raise ValueError(
                f"current has no field {field!r}; pass the same metadata fields for both periods."
            )
        results.append(
            _shift(
                values, current[field], kind=kinds.get(field) or _infer_kind(values),
                alpha=alpha / len(baseline), effect_floor=effect_floor,
                name=f"metadata:{field}", arg_names=(f"baseline[{field!r}]", f"current[{field!r}]"),
            )
        )  # fmt: skip
    return results
