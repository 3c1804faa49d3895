"""Simulated imaging datasets for checking the disparity-flag rule.

Shared by ``benchmarks/fairness_simulation.py`` and the slow test
``tests/unit/core/test_fairness_simulation.py`` so that both run the same
simulation. Each dataset has 12,500 cases (prevalence 0.2: 2,500 positive),
a tool with sensitivity 0.85 and specificity 0.90 in every group, and five
attributes with realistic shares: sex (0.5% not recorded), age band (the 80+
band holds exactly 500 positive cases), ethnic group in England and Wales
census 2021 proportions with 9.5% "Z" (not stated) or "99" (not known), four
sites and four scanner makes. Small groups (Black, Mixed, Other ethnic groups,
the Canon scanner, sex not recorded) are deliberately included. With
``gap > 0`` the sensitivity of the 80+ band is lowered by ``gap``.
"""

from __future__ import annotations

import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, fields
from multiprocessing import get_context

import numpy as np

from radassure.core import disaggregate, flag_disparities, proportion_interval

N_POSITIVE = 2_500
N_NEGATIVE = 10_000
SENSITIVITY = 0.85
SPECIFICITY = 0.90
GAP_GROUP = ("age_band", "80+")

AGE_BANDS = ("18-39", "40-59", "60-79", "80+")
AGE_POSITIVES = (375, 750, 875, 500)
AGE_NEGATIVES = (1_500, 3_000, 3_500, 2_000)

SHARES: dict[str, dict[str, float]] = {
    "sex": {"F": 0.500, "M": 0.495, "": 0.005},
    "ethnic_group": {
        "White": 0.740,
        "Asian": 0.084,
        "Black": 0.036,
        "Mixed": 0.026,
        "Other": 0.019,
        "Z": 0.060,
        "99": 0.035,
    },
    "site": {"Site A": 0.40, "Site B": 0.30, "Site C": 0.20, "Site D": 0.10},
    "scanner": {"GE": 0.45, "Siemens": 0.35, "Philips": 0.15, "Canon": 0.05},
}


def make_dataset(
    rng: np.random.Generator, *, gap: float = 0.0
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """One dataset: reference standard, the tool's calls, and the attributes."""
    n = N_POSITIVE + N_NEGATIVE
    y = np.zeros(n, dtype=bool)
    y[:N_POSITIVE] = True
    age = np.concatenate(
        [
            np.repeat(np.array(AGE_BANDS), AGE_POSITIVES),
            np.repeat(np.array(AGE_BANDS), AGE_NEGATIVES),
        ]
    )
    order = rng.permutation(n)
    y, age = y[order], age[order]
    sens = np.where(age == GAP_GROUP[1], SENSITIVITY - gap, SENSITIVITY)
    draw = rng.random(n)
    calls = np.where(y, draw < sens, draw >= SPECIFICITY)
    groups: dict[str, np.ndarray] = {"age_band": age}
    for name, shares in SHARES.items():
        labels = np.array(list(shares))
        p = np.array(list(shares.values()))
        groups[name] = labels[rng.choice(labels.size, size=n, p=p / p.sum())]
    return y, calls, groups


@dataclass
class Outcome:
    """Counts over the simulated datasets."""

    datasets: int = 0
    any_flag: int = 0
    any_significant: int = 0
    any_flag_bh: int = 0
    any_naive: int = 0
    gap_flagged: int = 0
    other_flagged: int = 0
    tests: int = 0
    insufficient: int = 0
    seconds: float = 0.0

    def rate(self, count: int) -> tuple[float, float, float]:
        """Share of datasets with ``count`` and its Wilson 95% interval."""
        low, high = proportion_interval(count, self.datasets)
        return count / self.datasets, low, high


def _one(seed: np.random.SeedSequence, gap: float, margin: float) -> Outcome:
    """Counts for one dataset drawn from its own seed."""
    y, calls, groups = make_dataset(np.random.default_rng(seed), gap=gap)
    result = disaggregate(["sensitivity", "specificity"], y, calls, groups=groups)
    holm = flag_disparities(result, margin=margin)
    bh = flag_disparities(result, margin=margin, correction="bh")
    where = [(f.attribute, f.group, f.metric) for f in holm.flags]
    # The naive reading: any group "worse" at p < 0.05, no correction, no margin.
    naive = any(
        r.vs_rest is not None and r.vs_rest.p_value < 0.05 and r.vs_rest.difference.value < 0
        for r in result.rows
    )
    target = (*GAP_GROUP, "sensitivity")
    return Outcome(
        datasets=1,
        any_flag=int(bool(holm.flags)),
        any_significant=int(any(t.significant for t in holm.tests)),
        any_flag_bh=int(bool(bh.flags)),
        any_naive=int(naive),
        gap_flagged=int(target in where),
        other_flagged=int(any(w != target for w in where)),
        tests=holm.n_tests,
        insufficient=len(holm.insufficient),
    )


def _chunk(args: tuple[list[np.random.SeedSequence], float, float]) -> Outcome:
    seeds, gap, margin = args
    total = Outcome()
    for seed in seeds:
        one = _one(seed, gap, margin)
        for f in fields(Outcome):
            setattr(total, f.name, getattr(total, f.name) + getattr(one, f.name))
    return total


def simulate(
    n_datasets: int, *, gap: float, seed: int, margin: float = 0.05, workers: int = 2
) -> Outcome:
    """Run ``n_datasets`` datasets through disaggregate and flag_disparities.

    Dataset ``i`` is drawn from the ``i``-th child of ``SeedSequence(seed)``, so
    the counts do not depend on ``workers`` (processes sharing the datasets).
    """
    seeds = np.random.SeedSequence(seed).spawn(n_datasets)
    parts = [(seeds[i::workers], gap, margin) for i in range(workers)]
    start = time.perf_counter()
    if workers == 1:
        results = [_chunk(parts[0])]
    else:
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("fork")) as pool:
            results = list(pool.map(_chunk, parts))
    out = Outcome()
    for part in results:
        for f in fields(Outcome):
            setattr(out, f.name, getattr(out, f.name) + getattr(part, f.name))
    out.seconds = time.perf_counter() - start
    return out
