"""Simulation: the flag rule keeps false flags at or under 5% and finds a real gap.

The datasets come from ``benchmarks/_fairness_sim.py`` (shared with
``benchmarks/fairness_simulation.py``): 12,500 cases, sensitivity 0.85,
specificity 0.90, prevalence 0.2, five attributes with realistic NHS shares
and some small groups.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def _load_sim():
    path = ROOT / "benchmarks" / "_fairness_sim.py"
    spec = importlib.util.spec_from_file_location("_fairness_sim", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("_fairness_sim", module)
    spec.loader.exec_module(module)
    return module


sim = _load_sim()
N_DATASETS = 500


def _describe(label, count, outcome):
    rate, low, high = outcome.rate(count)
    return (
        f"{label}: {count}/{outcome.datasets} datasets = {rate:.3f} "
        f"(95% CI {low:.3f} to {high:.3f}); {outcome.tests / outcome.datasets:.1f} gaps tested "
        f"and {outcome.insufficient / outcome.datasets:.1f} insufficient per dataset; "
        f"{outcome.seconds:.0f} s"
    )


@pytest.mark.slow
def test_no_true_gap_flags_at_most_five_percent_of_datasets(record_property):
    outcome = sim.simulate(N_DATASETS, gap=0.0, seed=20_240_601)
    lines = [
        _describe("datasets with one or more false flags (Holm)", outcome.any_flag, outcome),
        _describe("significant after Holm, margin ignored", outcome.any_significant, outcome),
        _describe("one or more false flags (BH)", outcome.any_flag_bh, outcome),
    ]
    message = "\n".join(lines)
    print(message)
    record_property("false_flag_rate_holm", outcome.any_flag / outcome.datasets)
    record_property("false_flag_rate_bh", outcome.any_flag_bh / outcome.datasets)
    record_property("significant_rate_holm", outcome.any_significant / outcome.datasets)
    assert outcome.datasets == N_DATASETS
    assert outcome.any_flag / outcome.datasets <= 0.05, message


@pytest.mark.slow
def test_true_gap_of_ten_points_is_flagged_in_at_least_eighty_percent(record_property):
    outcome = sim.simulate(N_DATASETS, gap=0.10, seed=20_240_602)
    message = _describe(
        "datasets where the 80+ sensitivity gap is flagged", outcome.gap_flagged, outcome
    )
    print(message)
    record_property("power", outcome.gap_flagged / outcome.datasets)
    assert outcome.datasets == N_DATASETS
    assert outcome.gap_flagged / outcome.datasets >= 0.80, message
