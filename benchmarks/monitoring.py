"""Detection-delay benchmark of the label-based monitor (issue #7).

Runs radassure's default monitor (``design_surveillance`` on each stream's 60
baseline days, then ``update`` day by day) over many simulated streams per
scenario (see ``_monitoring_sim``), next to the textbook single charts, and
prints a table: in-control ARL0 (days), P(false alarm within 60 days), median
and mean detection delay, P(detect within 60 days), the S2 nuisance-alarm rate.

Thousands of streams are run at once with the monitor's own vectorised engine
(``radassure.core._surveillance_engine``, the code ``update`` calls);
``--verify`` checks on a few streams that it gives exactly the alarms of
``update`` called one day at a time.

    .venv/bin/python benchmarks/monitoring.py --quick
    .venv/bin/python benchmarks/monitoring.py                # the full table
    .venv-monitor/bin/python benchmarks/monitoring.py --peers  # with NannyML/Evidently

Delay counts the days of post-change data up to and including the alarm day
(an alarm on monitored day 60, the first changed day, is a delay of 1 day).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _monitoring_engine import ARL0_CASES, StreamRun, run_streams
from _monitoring_sim import CHANGE_DAY, case_scores, cases_from_counts
from radassure.core.surveillance import initial_state, update

#: name -> design_surveillance keyword arguments (plus "groups": bool).
MONITORS: dict[str, dict[str, object]] = {
    "radassure default": {"groups": True, "scores": True},
    "radassure, calls only (no score charts; the default before scores)": {"groups": True},
    "overall misses CUSUM alone (textbook, per positive)": {
        "groups": False,
        "outcomes": ("misses",),
        "adapt_to_rate": False,
    },
    "subgroup misses CUSUMs alone (textbook, baseline rates)": {
        "groups": True,
        "outcomes": ("misses",),
        "include_overall": False,
        "adapt_to_rate": False,
    },
}

#: The frontier around the default at 200/day (``--frontier``): one knob at a time.
FRONTIER: dict[str, dict[str, object]] = {
    "default": {"groups": True, "scores": True},
    "calls only (the default before score charts)": {"groups": True},
    "score/misses/FP budget 0.75/0.15/0.10": {
        "groups": True,
        "scores": True,
        "outcome_shares": {"score_drop": 0.75, "misses": 0.15, "false_positives": 0.1},
    },
    "score/misses/FP budget 0.45/0.45/0.10": {
        "groups": True,
        "scores": True,
        "outcome_shares": {"score_drop": 0.45, "misses": 0.45, "false_positives": 0.1},
    },
    "no misses charts (score 0.9, FP 0.1)": {
        "groups": True,
        "scores": True,
        "outcomes": ("score_drop", "false_positives"),
        "outcome_shares": {"score_drop": 0.9, "false_positives": 0.1},
    },
    "score_shift 0.3": {"groups": True, "scores": True, "score_shift": 0.3},
    "score_shift 0.5": {"groups": True, "scores": True, "score_shift": 0.5},
    "subgroup_score_shift 0.8": {"groups": True, "scores": True, "subgroup_score_shift": 0.8},
    "subgroup_score_shift 1.3": {"groups": True, "scores": True, "subgroup_score_shift": 1.3},
    "overall share 0.35": {"groups": True, "scores": True, "overall_share": 0.35},
    "overall share 0.65": {"groups": True, "scores": True, "overall_share": 0.65},
    "score_prior_cases 100": {"groups": True, "scores": True, "score_prior_cases": 100.0},
    "min_events 1": {"groups": True, "scores": True, "min_events": 1},
}


def frontier(
    n_s0: int, n_change: int, seed: int, volume: int = 200, only: list[str] | None = None
) -> list[str]:
    """One row per variant: ARL0 (days), P(FA<=60d), S1 and S4 delays."""
    lines = [
        "| variant | ARL0 days | P(FA<=60d) | S1 median / mean | S4 median / mean, P60 (right) |",
        "|---|---|---|---|---|",
    ]
    for name, spec in FRONTIER.items():
        if only and not any(o in name for o in only):
            continue
        s0_run, _, _ = run_streams("S0", spec, volume=volume, n_streams=n_s0, days=365, seed=seed)
        s0 = summarise_s0(s0_run, volume)
        r1 = summarise_change(
            run_streams("S1", spec, volume=volume, n_streams=n_change, days=120, seed=seed + 1)[0],
            None,
        )
        r4 = summarise_change(
            run_streams("S4", spec, volume=volume, n_streams=n_change, days=120, seed=seed + 4)[0],
            RIGHT["S4"],
        )
        line = (
            f"| {name} | {_fmt(s0['arl0_days'], 0)} | {s0['fa60']:.3f} | "
            f"{_fmt(r1['median'], 0)} / {_fmt(r1['mean'])} | "
            f"{_fmt(r4['median'], 0)} / {_fmt(r4['mean'])}, {r4['p60']:.3f} ({r4['right']:.2f}) |"
        )
        lines.append(line)
        print(line, flush=True)
    return lines


def verify(n_streams: int = 3, days: int = 100, volume: int = 200) -> None:
    """The vectorised run gives exactly the alarms of ``update`` called day by day."""
    spec = MONITORS["radassure default"]
    run, designs, kept = run_streams(
        "S4", spec, volume=volume, n_streams=n_streams, days=days, seed=5, keep_counts=True
    )
    for i, design in enumerate(designs):
        state = initial_state(design)
        seen: list[tuple[int, str]] = []
        for day, (counts, pos) in enumerate(kept):
            cases = cases_from_counts(counts[i])
            stream_of, _, score = pos
            state, _, alarms = update(
                design,
                state,
                day=day,
                y_true=cases["label"],
                y_pred=cases["y_pred"],
                groups={"scanner": cases["scanner"], "model": cases["model"]},
                scores=case_scores(counts[i], score[stream_of == i]),
            )
            if alarms:
                seen.append((day, alarms[0].key))
        expected = [(d, k) for d, k in zip(run.alarm_days[i], run.alarm_keys[i], strict=True)]
        if [d for d, _ in seen] != [d for d, _ in expected]:
            raise SystemExit(f"verify failed on stream {i}: update {seen} vs engine {expected}")
    n_alarms = sum(len(a) for a in run.alarm_days)
    print(f"verify: engine == update on {n_streams} streams x {days} days ({n_alarms} alarms)")


def _fmt(x: float, digits: int = 1) -> str:
    return "n/a" if not math.isfinite(x) else f"{x:,.{digits}f}"


def summarise_s0(run: StreamRun, volume: int) -> dict[str, float]:
    """ARL0 (days) as exposure over alarms; P(FA within 60 days); alarms in days 60-119."""
    total = sum(len(a) for a in run.alarm_days)
    n = len(run.alarm_days)
    arl_days = n * run.days / total if total else math.inf
    fa60 = float(np.mean([bool(a) and a[0] < 60 for a in run.alarm_days]))
    late = float(np.mean([any(60 <= d < 120 for d in a) for a in run.alarm_days]))
    return {"arl0_days": arl_days, "arl0_cases": arl_days * volume, "fa60": fa60, "late": late}


def summarise_change(run: StreamRun, right_key: str | None) -> dict[str, float]:
    """Delays (days of changed data to the first alarm on or after the change)."""
    delays, right = [], []
    for days_, keys in zip(run.alarm_days, run.alarm_keys, strict=True):
        after = [(d, k) for d, k in zip(days_, keys, strict=True) if d >= CHANGE_DAY]
        if after:
            delays.append(after[0][0] - CHANGE_DAY + 1)
            if right_key:
                right.append(right_key in after[0][1])
    n = len(run.alarm_days)
    arr = np.array(delays, float)
    padded = np.concatenate([arr, np.full(n - arr.size, np.inf)])
    return {
        "median": float(np.median(padded)) if n else math.nan,
        "mean": float(arr.mean()) if arr.size else math.nan,
        "p60": float(np.mean(padded <= 60)) if n else math.nan,
        "late": float(np.mean([any(60 <= d < 120 for d in a) for a in run.alarm_days])),
        "right": float(np.mean(right)) if right else math.nan,
    }


RIGHT = {"S3": "scanner=A", "S4": "model=m3"}


def benchmark(
    monitors: list[str],
    volumes: list[int],
    n_s0: int,
    n_change: int,
    seed: int,
    *,
    year: bool = False,
) -> dict[int, float]:
    """Run every monitor x volume; print markdown table lines.

    Returns the first monitor's (the default's) P(false alarm within 60 days) per
    volume: the rate the peers' re-set band is matched to.
    """
    fa60: dict[int, float] = {}
    head = (
        "| monitor | studies/day | ARL0 days (cases) | P(FA<=60d) | S1 median / mean delay, "
        "P60 | S3 median / mean, P60 (right group) | S4 median / mean, P60 (right group) | "
        "S2 vs S0 alarming days 60-119 |"
    )
    lines = [head, "|" + "---|" * 8]
    for name in monitors:
        spec = MONITORS[name]
        for volume in volumes:
            t0 = time.perf_counter()
            if year:
                spec = {**MONITORS[name], "arl0_cases": 365.0 * volume}
            arl0 = float(spec.get("arl0_cases", ARL0_CASES))  # type: ignore[arg-type]
            horizon = max(120, math.ceil(2 * arl0 / volume))
            s0_run, _, _ = run_streams(
                "S0", spec, volume=volume, n_streams=n_s0, days=horizon, seed=seed
            )
            s0 = summarise_s0(s0_run, volume)
            fa60.setdefault(volume, s0["fa60"])
            res = {}
            for k, sc in enumerate(("S1", "S2", "S3", "S4")):
                run, _, _ = run_streams(
                    sc, spec, volume=volume, n_streams=n_change, days=120, seed=seed + 1 + k
                )
                res[sc] = summarise_change(run, RIGHT.get(sc))

            def cell(sc: str, res: dict[str, dict[str, float]] = res) -> str:
                r = res[sc]
                txt = f"{_fmt(r['median'], 0)} / {_fmt(r['mean'])}, {r['p60']:.3f}"
                return txt + (f" ({r['right']:.2f})" if sc in RIGHT else "")

            line = (
                f"| {name} | {volume} | {_fmt(s0['arl0_days'], 0)} ({_fmt(s0['arl0_cases'], 0)}) "
                f"| {s0['fa60']:.3f} | {cell('S1')} | {cell('S3')} | {cell('S4')} | "
                f"{res['S2']['late']:.3f} vs {s0['late']:.3f} |"
            )
            lines.append(line)
            print(line, f"  [{time.perf_counter() - t0:.0f} s]", flush=True)
    return fa60


def peer_table(
    volumes: list[int],
    *,
    n_streams: int,
    seed: int,
    target_fa60: dict[int, float],
    n_calibration: int,
    workers: int,
) -> list[str]:
    """The peers' rows on per-case streams of ``simulate_stream`` (needs .venv-monitor).

    Each peer's own default alert rule is used as is; every alert day counts as an
    alarm (the peers have no reset), so ARL0 is monitored days over alert days. NannyML's
    realized recall runs a second time with its lower band re-set, on separate S0
    calibration streams, to radassure's P(false alarm within 60 days) measured in this
    same run (``target_fa60``), so the delays compare at one false-alarm rate.
    """
    from _monitoring_peers_runs import peer_alarm_days  # only here: nannyml/evidently

    lines = []
    for volume in volumes:
        t0 = time.perf_counter()
        alarms, info = peer_alarm_days(
            volume=volume,
            n_s0=n_streams,
            n_change=n_streams,
            seed=seed,
            target_fa60=target_fa60[volume],
            n_calibration=n_calibration,
            workers=workers,
        )
        print(
            f"peers at {volume}/day: re-set band {info['band']:.3f} (P(FA<=60d) "
            f"{info['band_fa60']:.3f} on {n_calibration} calibration streams, target "
            f"{target_fa60[volume]:.3f}); {info['seconds_per_stream']:.1f} s per stream; "
            f"{time.perf_counter() - t0:.0f} s",
            flush=True,
        )
        for name in alarms["S0"]:
            by_sc = {
                sc: StreamRun(days_, [[name] * len(d) for d in days_], 120)
                for sc, days_ in ((sc, alarms[sc][name]) for sc in alarms)
            }
            s0 = summarise_s0(by_sc["S0"], volume)
            res_ = {sc: summarise_change(by_sc[sc], None) for sc in ("S1", "S2", "S3", "S4")}

            def cell(sc: str, r_: dict[str, dict[str, float]] = res_) -> str:
                r = r_[sc]
                return f"{_fmt(r['median'], 0)} / {_fmt(r['mean'])}, {r['p60']:.3f}"

            line = (
                f"| {name} | {volume} | {_fmt(s0['arl0_days'], 0)} | {s0['fa60']:.3f} | "
                f"{cell('S1')} | {cell('S3')} | {cell('S4')} | "
                f"{res_['S2']['late']:.3f} vs {s0['late']:.3f} |"
            )
            lines.append(line)
            print(line, flush=True)
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small run (200/day, few streams)")
    parser.add_argument("--verify", action="store_true", help="engine == update check only")
    parser.add_argument("--frontier", action="store_true", help="variants of the default")
    parser.add_argument(
        "--only", nargs="+", default=None, help="with --frontier: variants whose name contains"
    )
    parser.add_argument(
        "--year", action="store_true", help="arl0_cases = 365 x volume (a year at each volume)"
    )
    parser.add_argument("--peers", action="store_true", help="also run NannyML/Evidently")
    parser.add_argument("--monitors", nargs="*", default=None, help="subset of monitor names")
    parser.add_argument("--volumes", nargs="*", type=int, default=None)
    parser.add_argument("--streams", type=int, default=None, help="S0 streams (default 1000)")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--peer-streams", type=int, default=100, help="streams per scenario")
    parser.add_argument(
        "--peer-calibration", type=int, default=200, help="S0 streams that set the re-set band"
    )
    parser.add_argument("--workers", type=int, default=2, help="processes for the peers")
    args = parser.parse_args(argv)
    if args.verify:
        verify()
        return 0
    if args.frontier:
        frontier(args.streams or 300, 200, args.seed, only=args.only)
        return 0
    volumes = args.volumes or ([200] if args.quick else [50, 200, 1000])
    n_s0 = args.streams or (100 if args.quick else 1000)
    n_change = max(100, n_s0 // 2) if args.quick else max(500, n_s0 // 2)
    monitors = args.monitors or list(MONITORS)
    print(f"streams: S0 {n_s0}, S1-S4 {n_change} each; volumes {volumes}", flush=True)
    fa60 = benchmark(monitors, volumes, n_s0, n_change, args.seed, year=args.year)
    if args.peers:
        peer_table(
            volumes,
            n_streams=args.peer_streams,
            seed=args.seed,
            target_fa60=fa60,
            n_calibration=args.peer_calibration,
            workers=args.workers,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
