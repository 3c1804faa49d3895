"""Check a locally measured performance against a manufacturer's claim.

The rule is the usual reading of a non-inferiority comparison (Piaggio et
al. 2012, CONSORT extension, figure 2). For a metric where higher is better,
with ``bound = claimed - margin``:

* **consistent** - the lower confidence limit is at or above ``bound``: the
  data show the tool is no worse than the claim by more than the margin;
* **worse** - the upper confidence limit is below ``bound``: the data show
  the tool falls short of the claim by more than the margin;
* **inconclusive** - the interval straddles ``bound``: too few cases to tell.

The one-sided p-value tests ``H0: true value <= bound``; its standard error is
read off the interval (half-width on the side of the bound, divided by ``z``),
so ``p < (1 - level) / 2`` exactly for "consistent" and
``p > (1 + level) / 2`` exactly for "worse".

For lower-is-better metrics (``direction="lower"``, e.g. false positives per
image) everything is mirrored around ``bound = claimed + margin``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from scipy import stats

from radassure.core._checks import undefined
from radassure.core.results import Estimate

__all__ = ["ClaimCheck", "check_claim"]

Outcome = Literal["consistent", "inconclusive", "worse", "undefined"]


@dataclass(frozen=True)
class ClaimCheck:
    """The result of checking an estimate against a claimed value.

    Attributes
    ----------
    outcome : {"consistent", "inconclusive", "worse", "undefined"}
        See the module docstring for the rule.
    p_value : float
        One-sided p-value of the non-inferiority test of ``H0: the true value
        is worse than bound`` (``claimed - margin`` for ``direction="higher"``,
        ``claimed + margin`` for ``"lower"``); small values support the claim.
    verdict : str
        A plain-language sentence for reports.
    estimate : Estimate
        The local estimate that was checked.
    claimed, margin : float
        The claimed value and the accepted shortfall.
    direction : {"higher", "lower"}
        Whether higher or lower values of the metric are better.

    """

    outcome: Outcome
    p_value: float
    verdict: str
    estimate: Estimate
    claimed: float
    margin: float
    direction: Literal["higher", "lower"]


def _p_value(estimate: Estimate, bound: float, higher: bool, z_crit: float) -> float:
    """One-sided normal p-value, with the SE read off the interval on the bound's side.

    The standard error is the half-width of the interval on the side where
    the bound lies, divided by ``z``. The p-value then agrees with the
    interval, also when it is asymmetric (Wilson, log): ``p < (1 - level) / 2``
    exactly when the interval clears the bound, and ``p > (1 + level) / 2``
    exactly when it lies wholly on the wrong side of it.
    """
    gap = (estimate.value - bound) if higher else (bound - estimate.value)
    # gap > 0: the estimate is on the good side, so the limit nearer the bound is
    # the one on the bad side (lower limit when higher is better), and vice versa.
    bad_side = estimate.value - estimate.ci_low if higher else estimate.ci_high - estimate.value
    good_side = estimate.ci_high - estimate.value if higher else estimate.value - estimate.ci_low
    half = bad_side if gap >= 0 else good_side
    if half <= 0:
        return 0.0 if gap > 0 else (0.5 if gap == 0 else 1.0)
    return float(stats.norm.sf(gap / (half / z_crit)))


def check_claim(
    estimate: Estimate,
    claimed: float,
    *,
    margin: float,
    direction: Literal["higher", "lower"] = "higher",
    metric: str = "performance",
    digits: int = 2,
) -> ClaimCheck:
    """Compare a local estimate with a claimed value, allowing a margin.

    Parameters
    ----------
    estimate : Estimate
        The local estimate with its confidence interval.
    claimed : float
        The manufacturer's claimed value.
    margin : float
        The largest shortfall from the claim that is clinically acceptable,
        ``>= 0``, in the metric's units.
    direction : {"higher", "lower"}, default "higher"
        ``"higher"`` when higher values are better (sensitivity, AUC),
        ``"lower"`` when lower values are better (false positives per image).
    metric : str, default "performance"
        Name of the metric for the verdict, e.g. ``"sensitivity"``.
    digits : int, default 2
        Decimal places in the verdict.

    Returns
    -------
    ClaimCheck
        Outcome by the rule in the module docstring, the one-sided p-value
        and a verdict sentence.

    Warns
    -----
    UndefinedMetricWarning
        When the estimate or its interval is NaN; the outcome is
        ``"undefined"`` and the p-value NaN.

    Examples
    --------
    >>> est = Estimate(0.85, 0.82, 0.88, 0.95, "wilson", 400)
    >>> check = check_claim(est, 0.92, margin=0.03, metric="sensitivity")
    >>> check.outcome, round(check.p_value, 3)
    ('worse', 0.996)
    >>> print(check.verdict)  # doctest: +NORMALIZE_WHITESPACE
    local sensitivity 0.85 (95% CI 0.82 to 0.88) is below the claimed 0.92 by
    more than the 0.03 margin
    >>> est = Estimate(0.87, 0.84, 0.90, 0.95, "wilson", 400)
    >>> print(check_claim(est, 0.92, margin=0.03, metric="sensitivity").verdict)
    ... # doctest: +NORMALIZE_WHITESPACE
    local sensitivity 0.87 (95% CI 0.84 to 0.90) is below the claimed 0.92, but
    the data cannot show whether by more than the 0.03 margin (inconclusive)

    """
    if not isinstance(estimate, Estimate):
        raise ValueError(
            f"estimate must be a radassure Estimate (got {type(estimate).__name__}); "
            "compute it with a metric that returns one, such as roc_auc."
        )
    if direction not in ("higher", "lower"):
        raise ValueError(f"direction must be 'higher' or 'lower' (got {direction!r}).")
    for name, value in (("claimed", claimed), ("margin", margin)):
        if not isinstance(value, int | float) or not math.isfinite(value):
            raise ValueError(f"{name} must be a finite number (got {value!r}).")
    if margin < 0:
        raise ValueError(f"margin must be zero or positive (got {margin!r}).")
    higher = direction == "higher"
    claimed, margin = float(claimed), float(margin)
    f = f"{{:.{digits}f}}"
    head = f"local {metric} {estimate.format(digits)}"
    claim_text = f"the claimed {f.format(claimed)}"
    margin_text = f"the {f.format(margin)} margin"

    def result(outcome: Outcome, p_value: float, verdict: str) -> ClaimCheck:
        return ClaimCheck(outcome, p_value, verdict, estimate, claimed, margin, direction)

    values = (estimate.value, estimate.ci_low, estimate.ci_high)
    if not all(math.isfinite(v) for v in values):
        undefined(f"The claim cannot be checked because the local {metric} is undefined.")
        return result(
            "undefined",
            math.nan,
            f"local {metric} is undefined on these data, so {claim_text} cannot be checked",
        )
    bound = claimed - margin if higher else claimed + margin
    z_crit = float(stats.norm.ppf(0.5 + estimate.level / 2))
    p_value = _p_value(estimate, bound, higher, z_crit)
    worse_word = "below" if higher else "above"
    near, far = (
        (estimate.ci_low, estimate.ci_high) if higher else (estimate.ci_high, estimate.ci_low)
    )
    # A tolerance keeps round-off (0.92 - 0.03 != 0.89) from deciding the outcome.
    tol = 1e-12
    clears = near >= bound - tol if higher else near <= bound + tol
    fails = far < bound - tol if higher else far > bound + tol
    if clears:
        return result(
            "consistent",
            p_value,
            f"{head} is consistent with {claim_text}: it is not {worse_word} it by more "
            f"than {margin_text}",
        )
    if fails:
        return result(
            "worse",
            p_value,
            f"{head} is {worse_word} {claim_text} by more than {margin_text}",
        )
    excludes_claim = far < claimed if higher else far > claimed
    if excludes_claim:
        verdict = (
            f"{head} is {worse_word} {claim_text}, but the data cannot show whether by more "
            f"than {margin_text} (inconclusive)"
        )
    else:
        verdict = (
            f"{head} is inconclusive against {claim_text}: the interval includes values "
            f"{worse_word} it by more than {margin_text}; more cases are needed"
        )
    return result("inconclusive", p_value, verdict)
