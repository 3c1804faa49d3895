"""Scenario generator of the monitoring benchmark (issue #7).

A simulated triage tool: ``volume`` studies a day (Poisson), 10% prevalence,
binormal scores (negatives N(0, 1), positives N(d, 1) with AUROC 0.90, so
``d = sqrt(2) * Phi^-1(0.90)``), operating threshold at sensitivity 0.90 of the
baseline model. Each case has a ``scanner`` (A-D, 25% each) and a ``model``
(m0-m9, 10% each), drawn independently. 60 baseline days (-60..-1), then 120
monitored days (0..119) with the change at monitored day 60; labels arrive the
same day.

Scenarios (from monitored day 60 on):

* S0 no change;
* S1 AUROC 0.85 for all cases (positives' mean moves, scores not recalibrated);
* S2 prevalence doubles to 20%, performance unchanged (a nuisance);
* S3 ``scanner == "A"`` (25%) falls to AUROC 0.75;
* S4 ``model == "m3"`` (10%) falls to AUROC 0.70; nothing else about it changes.

:func:`simulate_stream` gives one stream as per-case pandas frames (for the
peers); :func:`day_counts` gives many streams' days at once as counts per
(scanner, model, label, call) cell, which is all a label-based monitor sees.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm

SCENARIOS = ("S0", "S1", "S2", "S3", "S4")
SCANNERS = ("A", "B", "C", "D")
MODELS = tuple(f"m{i}" for i in range(10))
PREVALENCE = 0.10
BASELINE_DAYS = 60
MONITORED_DAYS = 120
CHANGE_DAY = 60


def _d(auc: float) -> float:
    return float(np.sqrt(2.0) * norm.ppf(auc))


D_BASE = _d(0.90)
THRESHOLD = D_BASE - float(norm.ppf(0.90))  # sensitivity 0.90 on the baseline model


def positive_means(scenario: str, changed: bool) -> np.ndarray:
    """Mean score of positives per (scanner, model) cell, shape (4, 10)."""
    if scenario not in SCENARIOS:
        raise ValueError(f"scenario must be one of {SCENARIOS} (got {scenario!r}).")
    means = np.full((len(SCANNERS), len(MODELS)), D_BASE)
    if changed:
        if scenario == "S1":
            means[:] = _d(0.85)
        elif scenario == "S3":
            means[0, :] = _d(0.75)
        elif scenario == "S4":
            means[:, 3] = _d(0.70)
    return means


def prevalence(scenario: str, changed: bool) -> float:
    """Share of positive studies."""
    return 2 * PREVALENCE if (changed and scenario == "S2") else PREVALENCE


def cell_probabilities(scenario: str, changed: bool) -> np.ndarray:
    """P(scanner, model, label, call), shape (4, 10, 2, 2), label and call 0/1."""
    prev = prevalence(scenario, changed)
    sens = norm.sf(THRESHOLD - positive_means(scenario, changed))
    fpr = float(norm.sf(THRESHOLD))
    mix = np.full((len(SCANNERS), len(MODELS)), 1.0 / (len(SCANNERS) * len(MODELS)))
    p = np.empty((len(SCANNERS), len(MODELS), 2, 2))
    p[:, :, 0, 0] = mix * (1 - prev) * (1 - fpr)
    p[:, :, 0, 1] = mix * (1 - prev) * fpr
    p[:, :, 1, 0] = mix * prev * (1 - sens)
    p[:, :, 1, 1] = mix * prev * sens
    return p


def day_counts(
    scenario: str, *, volume: int, n_streams: int, day: int, rng: np.random.Generator
) -> np.ndarray:
    """Counts per cell for ``n_streams`` streams on one day: int array (streams, 4, 10, 2, 2).

    ``day`` is the monitored-day index (negative for baseline days).
    """
    probs = cell_probabilities(scenario, day >= CHANGE_DAY).ravel()
    n = rng.poisson(volume, n_streams)
    counts = rng.multinomial(n, probs / probs.sum())
    return counts.reshape(n_streams, len(SCANNERS), len(MODELS), 2, 2)


def cases_from_counts(counts: np.ndarray) -> dict[str, np.ndarray]:
    """Expand summed cell counts (4, 10, 2, 2) into per-case arrays (in cell order)."""
    cell = np.repeat(np.arange(counts.size), counts.ravel())
    s, m, label, call = np.unravel_index(cell, counts.shape)
    return {
        "label": label.astype(np.int8),
        "y_pred": call.astype(np.int8),
        "scanner": np.asarray(SCANNERS)[s],
        "model": np.asarray(MODELS)[m],
    }


def simulate_stream(
    scenario: str, *, volume: int = 200, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame, float]:
    """One stream as per-case frames: (baseline, monitored, threshold).

    Columns: ``day`` (baseline -60..-1, monitored 0..119), ``score``, ``label``
    (0/1), ``y_pred`` (``score >= threshold``), ``scanner``, ``model``.
    """
    if not isinstance(volume, int) or volume < 1:
        raise ValueError(f"volume must be a positive number of studies a day (got {volume!r}).")
    rng = np.random.default_rng(seed)
    days = np.arange(-BASELINE_DAYS, MONITORED_DAYS)
    per_day = rng.poisson(volume, days.size)
    day = np.repeat(days, per_day)
    n = day.size
    scanner = rng.integers(0, len(SCANNERS), n)
    model = rng.integers(0, len(MODELS), n)
    changed = day >= CHANGE_DAY
    prev = np.where(changed, prevalence(scenario, True), PREVALENCE)
    label = rng.random(n) < prev
    mean_before = positive_means(scenario, False)[scanner, model]
    mean_after = positive_means(scenario, True)[scanner, model]
    mean = np.where(label, np.where(changed, mean_after, mean_before), 0.0)
    score = mean + rng.standard_normal(n)
    frame = pd.DataFrame(
        {
            "day": day,
            "score": score,
            "label": label.astype(np.int64),
            "y_pred": (score >= THRESHOLD).astype(np.int64),
            "scanner": np.asarray(SCANNERS)[scanner],
            "model": np.asarray(MODELS)[model],
        }
    )
    baseline = frame[frame["day"] < 0].reset_index(drop=True)
    monitored = frame[frame["day"] >= 0].reset_index(drop=True)
    return baseline, monitored, THRESHOLD


def positive_scores(
    counts: np.ndarray, scenario: str, changed: bool, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scores of every positive case in ``counts`` (streams, 4, 10, 2, 2), consistent with calls.

    Returns ``(stream, cell, score)`` with ``cell = scanner * 10 + model``, ordered by
    stream, then cell, then call: within one stream, the order in which
    :func:`cases_from_counts` lists that stream's positives. A positive called
    positive has a score above the threshold, a missed one below: each is drawn
    from its cell's normal distribution truncated to that side (inverse CDF).
    """
    pos = counts[:, :, :, 1, :]  # (streams, 4, 10, call)
    idx = np.repeat(np.arange(pos.size), pos.ravel())
    stream, s, m, call = np.unravel_index(idx, pos.shape)
    mean = positive_means(scenario, changed)[s, m]
    p_below = norm.cdf(THRESHOLD - mean)
    u = rng.random(idx.size)
    u = np.where(call == 1, p_below + u * (1.0 - p_below), u * p_below)
    u = np.clip(u, 1e-12, 1.0 - 1e-12)
    return stream, s * len(MODELS) + m, mean + norm.ppf(u)


def case_scores(counts: np.ndarray, cell_scores: np.ndarray) -> np.ndarray:
    """Per-case scores in :func:`cases_from_counts` order: positives' scores, NaN for negatives."""
    cases = cases_from_counts(counts)
    out = np.full(cases["label"].size, np.nan)
    out[cases["label"] == 1] = cell_scores
    return out
