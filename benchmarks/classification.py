"""AUC with confidence intervals: radassure vs scikit-learn, side by side in one run.

Two claims, each timed against its peer on the same arrays in the same process:

* **DeLong** - ``roc_auc(y, s)`` (AUC and its DeLong 95% interval, with input
  validation) on 1,000,000 cases against scikit-learn's ``roc_auc_score(y, s)``,
  which returns the bare AUC with no interval. Target: at most 1.5x its time.
* **Stratified bootstrap** - ``roc_auc(y, s, method="bootstrap", n_boot=2000,
  ci="percentile")`` on 100,000 cases against the loop a user would otherwise
  write: per resample, draw indices with replacement within the positives and
  within the negatives (numpy), call ``roc_auc_score`` on the resample, then take
  the 2.5th and 97.5th percentiles. Target: at least 20x faster. The loop is
  timed with fewer resamples (``--loop-boot``, default 200) and scaled linearly
  to ``--n-boot``, which is fair because each of its resamples costs the same.
  The default BCa interval (which adds a jackknife) is timed too, for reference.

Cases are binormal (negatives N(0, 1), positives N(1.2, 1.2^2), true AUC 0.779)
with 20% prevalence; labels are an int64 0/1 array and scores float64
probabilities, as they come out of a results table. Each timing is the best of
``--repeat`` runs, the two peers alternating (A B, then B A) so that drift in
the machine's speed falls on both. Prints a markdown table and writes
``benchmarks/out/classification.json``. Usage::

    .venv/bin/python benchmarks/classification.py [--repeat 7] [--loop-repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import scipy
import sklearn
from scipy import special, stats
from sklearn.metrics import roc_auc_score

from radassure.core import roc_auc

HERE = Path(__file__).resolve().parent
MU, SIGMA = 1.2, 1.2
TRUE_AUC = float(stats.norm.cdf(MU / np.sqrt(1 + SIGMA**2)))


def make_cases(n: int, seed: int, prevalence: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < prevalence).astype(np.int64)
    latent = np.where(y == 1, rng.normal(MU, SIGMA, n), rng.normal(0.0, 1.0, n))
    return y, special.expit(latent - 1.0)


def best_of(fns: dict[str, Callable[[], object]], repeat: int) -> dict[str, float]:
    """Best wall time of each function, alternating their order every round."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    names = list(fns)
    for i in range(repeat):
        for name in names if i % 2 == 0 else reversed(names):
            start = time.perf_counter()
            fns[name]()
            times[name].append(time.perf_counter() - start)
    return {name: min(values) for name, values in times.items()}


def sklearn_bootstrap_loop(
    y: np.ndarray, s: np.ndarray, n_boot: int, seed: int
) -> tuple[float, float, float]:
    """What a user writes without radassure: a stratified bootstrap around roc_auc_score."""
    rng = np.random.default_rng(seed)
    pos = np.flatnonzero(y == 1)
    neg = np.flatnonzero(y == 0)
    aucs = np.empty(n_boot)
    for b in range(n_boot):
        idx = np.concatenate([rng.choice(pos, pos.size), rng.choice(neg, neg.size)])
        aucs[b] = roc_auc_score(y[idx], s[idx])
    low, high = np.percentile(aucs, [2.5, 97.5])
    return float(roc_auc_score(y, s)), float(low), float(high)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000, help="cases for DeLong")
    parser.add_argument("--boot-cases", type=int, default=100_000, help="cases for bootstrap")
    parser.add_argument("--n-boot", type=int, default=2000, help="bootstrap resamples")
    parser.add_argument("--loop-boot", type=int, default=200, help="resamples timed in the loop")
    parser.add_argument("--repeat", type=int, default=7, help="repeats of the fast timings")
    parser.add_argument("--loop-repeat", type=int, default=3, help="repeats of the bootstraps")
    args = parser.parse_args()

    print(
        f"numpy {np.__version__}, scipy {scipy.__version__}, scikit-learn "
        f"{sklearn.__version__}, Python {platform.python_version()}, {os.cpu_count()} CPUs"
    )

    # DeLong AUC + interval against the bare scikit-learn AUC.
    y, s = make_cases(args.cases, seed=1)
    ours = roc_auc(y, s)
    theirs = roc_auc_score(y, s)
    assert abs(ours.value - theirs) < 1e-12, (ours.value, theirs)
    delong = best_of(
        {"radassure": lambda: roc_auc(y, s), "sklearn": lambda: roc_auc_score(y, s)},
        args.repeat,
    )
    print(
        f"[delong] {args.cases:,} cases, {int(y.sum()):,} positive: AUC {ours.format(4)}, "
        f"true AUC {TRUE_AUC:.4f}; scikit-learn AUC {theirs:.4f} (no interval)"
    )

    # Stratified bootstrap against the user's loop.
    y, s = make_cases(args.boot_cases, seed=2)
    scale = args.n_boot / args.loop_boot
    boot = best_of(
        {
            "radassure": lambda: roc_auc(
                y, s, method="bootstrap", n_boot=args.n_boot, rng=3, ci="percentile"
            ),
            "loop": lambda: sklearn_bootstrap_loop(y, s, args.loop_boot, seed=3),
        },
        args.loop_repeat,
    )
    bca = best_of(
        {"radassure": lambda: roc_auc(y, s, method="bootstrap", n_boot=args.n_boot, rng=3)},
        args.loop_repeat,
    )["radassure"]
    loop_full = boot["loop"] * scale
    ours_boot = roc_auc(y, s, method="bootstrap", n_boot=args.n_boot, rng=3, ci="percentile")
    loop_auc, loop_low, loop_high = sklearn_bootstrap_loop(y, s, args.loop_boot, seed=3)
    print(
        f"[bootstrap] {args.boot_cases:,} cases, {int(y.sum()):,} positive: radassure "
        f"{ours_boot.format(4)} ({args.n_boot} resamples); loop AUC {loop_auc:.4f} "
        f"(95% CI {loop_low:.4f} to {loop_high:.4f}, {args.loop_boot} resamples)"
    )

    delong_ratio = delong["radassure"] / delong["sklearn"]
    boot_speedup = loop_full / boot["radassure"]
    bca_speedup = loop_full / bca
    rows = [
        (
            f"AUC + DeLong 95% CI, {args.cases:,} cases (vs bare `roc_auc_score`)",
            delong["radassure"],
            delong["sklearn"],
            f"{delong_ratio:.2f}x the time",
            "<= 1.5x",
            delong_ratio <= 1.5,
        ),
        (
            f"stratified bootstrap CI, {args.n_boot:,} resamples, {args.boot_cases:,} cases, "
            f"percentile (vs loop, {args.loop_boot} resamples x {scale:g})",
            boot["radassure"],
            loop_full,
            f"{boot_speedup:.1f}x faster",
            ">= 20x",
            boot_speedup >= 20,
        ),
        (
            "same, BCa interval (default)",
            bca,
            loop_full,
            f"{bca_speedup:.1f}x faster",
            ">= 20x",
            bca_speedup >= 20,
        ),
    ]
    print()
    print("| task | radassure (s) | scikit-learn (s) | ratio | target | met |")
    print("| --- | ---: | ---: | ---: | --- | --- |")
    for task, a, b, ratio, target, met in rows:
        print(f"| {task} | {a:.3f} | {b:.3f} | {ratio} | {target} | {'yes' if met else 'no'} |")

    summary = {
        "cpu": os.cpu_count(),
        "versions": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "scikit-learn": sklearn.__version__,
        },
        "delong": {
            "cases": args.cases,
            "radassure_s": delong["radassure"],
            "sklearn_roc_auc_score_s": delong["sklearn"],
            "ratio": delong_ratio,
            "target_max_ratio": 1.5,
            "met": delong_ratio <= 1.5,
            "repeat": args.repeat,
        },
        "bootstrap": {
            "cases": args.boot_cases,
            "n_boot": args.n_boot,
            "radassure_percentile_s": boot["radassure"],
            "radassure_bca_s": bca,
            "loop_s_timed": boot["loop"],
            "loop_resamples_timed": args.loop_boot,
            "loop_s_scaled": loop_full,
            "speedup_percentile": boot_speedup,
            "speedup_bca": bca_speedup,
            "target_min_speedup": 20,
            "met": boot_speedup >= 20,
            "repeat": args.loop_repeat,
            "radassure_ci": [ours_boot.ci_low, ours_boot.ci_high],
            "loop_ci": [loop_low, loop_high],
        },
    }
    out = HERE / "out" / "classification.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2))
    print(f"\nwrote {out.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main()
