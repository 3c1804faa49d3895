"""Do nominal 95% intervals cover the truth 95% of the time? Seeded simulations.

Each simulation draws every dataset in one vectorised step and then runs the
public function on each dataset, exactly as a user would, so what is checked
is the shipped code path (input checks included), not a re-implementation.

* Sensitivity (Wilson): 50,000 datasets of 100 positive and 300 negative cases.
  At one fixed true sensitivity the coverage of any exact-binomial interval
  oscillates with ``p`` (for Wilson at n = 100 between about 0.93 and 0.97;
  Brown, Cai and DasGupta 2001), so the headline figure draws each dataset's
  true sensitivity uniformly from 0.70 to 0.95, the range of tools we validate;
  its expected coverage is 0.951. A second check at p = 0.85, where Wilson's
  exact coverage is 0.933, shows the simulation reproduces the exact binomial
  figure: the interval is computed right, and dips are the method's own.
* AUC (DeLong): 10,000 binormal datasets of 200 positive and 200 negative cases,
  negatives N(0, 1) and positives N(a, b^2) with a = 1.2, b = 1.2, so the true AUC
  is Phi(a / sqrt(1 + b^2)) = 0.779; at this size DeLong is known to be close to
  nominal.

With 10,000 or more datasets the Monte Carlo standard error of a coverage of
0.95 is at most 0.0022, so the band 0.94 to 0.96 reaches more than 4 standard
errors to either side.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy import stats

from radassure.core import UndefinedMetricWarning, diagnostic_metrics, proportion_interval, roc_auc

pytestmark = pytest.mark.slow


def _mc_se(coverage: float, n: int) -> float:
    return math.sqrt(coverage * (1 - coverage) / n)


def _sensitivity_coverage(truth: np.ndarray, rng: np.random.Generator) -> float:
    """Share of simulated datasets whose sensitivity interval covers its truth.

    ``diagnostic_metrics`` is called once per distinct 2x2 table among the
    datasets, on the first dataset with that table; datasets with the same table
    differ only in the order of their cases, which no metric depends on
    (test_invariance.py), so this equals calling it on every dataset.
    """
    n_pos, n_neg = 100, 300
    sims = truth.size
    y = np.r_[np.ones(n_pos, dtype=np.int64), np.zeros(n_neg, dtype=np.int64)]
    calls = np.hstack([rng.random((sims, n_pos)) < truth[:, None], rng.random((sims, n_neg)) < 0.1])
    tables = np.c_[calls[:, :n_pos].sum(axis=1), calls[:, n_pos:].sum(axis=1)]
    distinct, first, which = np.unique(tables, axis=0, return_index=True, return_inverse=True)
    low, high = np.empty(len(distinct)), np.empty(len(distinct))
    with warnings.catch_warnings():
        # Some tables have no false negatives, where lr_negative's interval is undefined.
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        for j, i in enumerate(first):
            est = diagnostic_metrics(y, calls[i])["sensitivity"]
            assert est.defined and est.n == n_pos
            low[j], high[j] = est.ci_low, est.ci_high
    which = which.ravel()
    return float(np.mean((low[which] <= truth) & (truth <= high[which])))


def test_wilson_sensitivity_interval_covers_95_percent():
    rng = np.random.default_rng(20240611)
    sims = 50_000
    truth = rng.uniform(0.70, 0.95, sims)
    coverage = _sensitivity_coverage(truth, rng)
    se = _mc_se(coverage, sims)
    message = (
        f"Wilson sensitivity: {coverage:.4f} of {sims:,} nominal 95% intervals covered the "
        f"true sensitivity (100 positives, truth ~ U(0.70, 0.95); MC SE {se:.4f}; "
        f"expected 0.951)"
    )
    print(message)
    assert 0.94 <= coverage <= 0.96, message


def test_wilson_coverage_at_fixed_truth_matches_exact_binomial_coverage():
    rng = np.random.default_rng(20240612)
    sims, p, n = 50_000, 0.85, 100
    coverage = _sensitivity_coverage(np.full(sims, p), rng)
    k = np.arange(n + 1)
    bounds = np.array([proportion_interval(int(j), n) for j in k])
    inside = (bounds[:, 0] <= p) & (p <= bounds[:, 1])
    exact = float(stats.binom.pmf(k, n, p) @ inside)
    se = _mc_se(exact, sims)
    message = (
        f"Wilson sensitivity at p = {p}: simulated coverage {coverage:.4f} over {sims:,} "
        f"datasets, exact binomial coverage {exact:.4f} (MC SE {se:.4f})"
    )
    print(message)
    assert abs(coverage - exact) < 4 * se, message


def test_delong_auc_interval_covers_95_percent():
    rng = np.random.default_rng(20240613)
    sims, n_pos, n_neg = 10_000, 200, 200
    a, b = 1.2, 1.2
    true_auc = float(stats.norm.cdf(a / math.sqrt(1 + b * b)))
    y = np.r_[np.ones(n_pos, dtype=np.int64), np.zeros(n_neg, dtype=np.int64)]
    scores = np.hstack(
        [rng.normal(a, b, (sims, n_pos)), rng.normal(0.0, 1.0, (sims, n_neg))],
    )
    covered = 0
    widths = np.empty(sims)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for i in range(sims):
            est = roc_auc(y, scores[i])
            covered += est.ci_low <= true_auc <= est.ci_high
            widths[i] = est.ci_high - est.ci_low
    coverage = covered / sims
    se = _mc_se(coverage, sims)
    message = (
        f"DeLong AUC: {coverage:.4f} of {sims:,} nominal 95% intervals covered the true AUC "
        f"{true_auc:.4f} (binormal a = {a}, b = {b}; {n_pos} positive, {n_neg} negative; "
        f"MC SE {se:.4f}; mean width {widths.mean():.4f})"
    )
    print(message)
    assert 0.94 <= coverage <= 0.96, message
