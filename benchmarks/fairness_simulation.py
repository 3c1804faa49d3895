"""Disparity flags: false-flag rate with no true gap, and power for a real gap.

Reruns the simulation of ``tests/unit/core/test_fairness_simulation.py`` (the
datasets come from ``benchmarks/_fairness_sim.py``): each dataset has 12,500
cases, sensitivity 0.85, specificity 0.90, prevalence 0.2, and five attributes
(sex, age band, ethnic group in census shares with 9.5% not stated, site,
scanner) including small groups. Every dataset goes through
``disaggregate(["sensitivity", "specificity"], ...)`` and ``flag_disparities``
(margin 0.05, Holm; BH reported too). The naive reading, any group worse
at an uncorrected p < 0.05 with no margin, is reported for comparison. The
false-flag rate is the share of null datasets with one or more flags; power is
the share of datasets with a 0.10 sensitivity gap in the 80+ band (500
positive cases) where that gap is flagged; the seconds column is wall-clock time. Usage::

    .venv/bin/python benchmarks/fairness_simulation.py [--datasets 500] [--seed 20240601] \\
        [--workers 2]
"""

from __future__ import annotations

import argparse

from _fairness_sim import Outcome, simulate


def _row(label: str, count: int, outcome: Outcome) -> str:
    rate, low, high = outcome.rate(count)
    return (
        f"| {label} | {count}/{outcome.datasets} | {rate:.3f} | {low:.3f} to {high:.3f} "
        f"| {outcome.datasets} | {outcome.seconds:.0f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=500)
    parser.add_argument("--seed", type=int, default=20_240_601)
    parser.add_argument("--workers", type=int, default=2, help="processes (results do not change)")
    args = parser.parse_args()
    null = simulate(args.datasets, gap=0.0, seed=args.seed, workers=args.workers)
    real = simulate(args.datasets, gap=0.10, seed=args.seed + 1, workers=args.workers)
    print("| quantity | count | rate | Wilson 95% CI | datasets | seconds |")
    print("| --- | --- | --- | --- | --- | --- |")
    print(_row("false-flag rate, no true gap (Holm, margin 0.05)", null.any_flag, null))
    print(_row("false-flag rate, no true gap (BH, margin 0.05)", null.any_flag_bh, null))
    print(_row("significant after Holm, margin ignored", null.any_significant, null))
    print(_row("naive: any group worse at p < 0.05, uncorrected", null.any_naive, null))
    print(_row("power, 0.10 gap in 500 positives (Holm)", real.gap_flagged, real))
    print(_row("any other flag with the true gap present (Holm)", real.other_flagged, real))
    tested = null.tests / null.datasets
    short = null.insufficient / null.datasets
    print(f"\nPer null dataset: {tested:.1f} gaps tested, {short:.1f} insufficient-data entries.")


if __name__ == "__main__":
    main()
