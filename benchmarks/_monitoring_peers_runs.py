"""Many streams through the peer monitors, as per-stream alarm days for the benchmark table.

``peer_alarm_days`` runs ``_monitoring_sim.simulate_stream`` streams through
``_monitoring_peers.run_peers`` (optionally in worker processes) and returns, per
scenario and per peer, the monitored days on which each stream alarmed: the shape of
``monitoring.StreamRun.alarm_days``. Besides the three peers' own default rules it adds
``nannyml_realized_rethresholded``: NannyML's realized recall with one lower band set on
separate S0 calibration streams so that its P(false alarm within 60 days) is at most
the target (radassure's own, for a like-for-like comparison).

Needs ``.venv-monitor`` (``make bench-monitoring``).
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _monitoring_peers as peers
from _monitoring_sim import simulate_stream

SCENARIOS = ("S0", "S1", "S2", "S3", "S4")
RETHRESHOLDED = "nannyml_realized_rethresholded"
_CALIBRATION = "calibration"  # S0 streams on their own seeds, only to set the band


def _seed(seed: int, stream_set: str, i: int) -> int:
    # Disjoint seeds per scenario and for the calibration set.
    k = ([*SCENARIOS, _CALIBRATION]).index(stream_set)
    return seed + 1_000_003 * (k + 1) + i


def _one_stream(task: tuple[str, int, int, int]) -> tuple[str, dict[str, peers.PeerResult], float]:
    stream_set, volume, seed, i = task
    scenario = "S0" if stream_set == _CALIBRATION else stream_set
    baseline, monitored, threshold = simulate_stream(
        scenario, volume=volume, seed=_seed(seed, stream_set, i)
    )
    t0 = time.perf_counter()
    if stream_set == _CALIBRATION:
        # Only realized recall is needed to set the band: skip the slower peers.
        proba = peers.fit_score_to_probability(
            baseline["score"].to_numpy(float), baseline["label"].to_numpy()
        )
        ref = peers._with_timestamp(baseline, proba)
        ana = peers._with_timestamp(monitored, proba)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = {"nannyml_realized": peers.run_nannyml_realized(ref, ana)}
    else:
        out = peers.run_peers(baseline, monitored, threshold)
    return stream_set, out, time.perf_counter() - t0


def _alarm_days(alerts: np.ndarray) -> list[int]:
    return [int(d) for d in np.flatnonzero(alerts)]


def peer_alarm_days(
    *,
    volume: int,
    n_s0: int,
    n_change: int,
    seed: int,
    target_fa60: float,
    n_calibration: int | None = None,
    workers: int = 1,
) -> tuple[dict[str, dict[str, list[list[int]]]], dict[str, float]]:
    """Alarm days per scenario, per peer, per stream; and facts about the run.

    Parameters
    ----------
    volume : studies a day.
    n_s0, n_change : streams for S0 and for each of S1-S4.
    seed : base seed; scenarios and the calibration set get disjoint stream seeds.
    target_fa60 : P(false alarm within 60 days) the re-thresholded band aims at
        (radassure's measured value); the band never exceeds it on calibration streams.
    n_calibration : S0 streams used only to set that band (default ``max(n_s0, 200)``;
        only realized recall is run on them, ~0.8 s each). Fewer leave the band noisy:
        with 20, a band at 0.10 on calibration gave 0.35 on 20 held-out S0 streams.
    workers : worker processes (the work is CPU-bound; 1 runs in this process).

    Returns
    -------
    alarms : ``alarms[scenario][monitor]`` is a list (one per stream) of sorted
        monitored days 0..119 with an alarm. Monitors: ``PEER_NAMES`` and
        ``nannyml_realized_rethresholded``.
    info : ``band`` (the re-thresholded lower band on daily recall), ``band_fa60``
        (its false-alarm share on the calibration streams), ``seconds_per_stream``
        (wall time of the three peers on one stream, mean) and ``seconds`` (total).
    """
    if n_s0 < 1 or n_change < 1:
        raise ValueError(f"n_s0 and n_change must be >= 1 (got {n_s0}, {n_change}).")
    n_cal = max(n_s0, 200) if n_calibration is None else n_calibration
    tasks = [(_CALIBRATION, volume, seed, i) for i in range(n_cal)]
    for sc in SCENARIOS:
        tasks += [(sc, volume, seed, i) for i in range(n_s0 if sc == "S0" else n_change)]
    t0 = time.perf_counter()
    if workers > 1:
        with ProcessPoolExecutor(workers, mp_context=get_context("fork")) as pool:
            done = list(pool.map(_one_stream, tasks, chunksize=4))
    else:
        done = [_one_stream(t) for t in tasks]
    cal = [r["nannyml_realized"].values for s, r, _ in done if s == _CALIBRATION]
    band = float(peers.rethreshold(cal, target_fa60))
    monitors = [*peers.PEER_NAMES, RETHRESHOLDED]
    alarms: dict[str, dict[str, list[list[int]]]] = {
        sc: {m: [] for m in monitors} for sc in SCENARIOS
    }
    peer_seconds = []
    for stream_set, res, seconds in done:
        if stream_set == _CALIBRATION:
            continue
        peer_seconds.append(seconds)
        for name, r in res.items():
            alarms[stream_set][name].append(_alarm_days(r.alerts))
        below = peers.alerts_below(res["nannyml_realized"].values, band)
        alarms[stream_set][RETHRESHOLDED].append(_alarm_days(below))
    info = {
        "band": band,
        "band_fa60": peers.false_alarm_within(cal, band),
        "seconds_per_stream": float(np.mean(peer_seconds)),
        "seconds": time.perf_counter() - t0,
    }
    return alarms, info


if __name__ == "__main__":
    # A small timing run: python benchmarks/_monitoring_peers_runs.py [volume] [streams]
    vol = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    result, facts = peer_alarm_days(
        volume=vol, n_s0=n, n_change=n, seed=1, target_fa60=0.15, n_calibration=n, workers=2
    )
    for sc, by_monitor in result.items():
        for name, days in by_monitor.items():
            firsts = [d[0] if d else None for d in days]
            print(sc, name, "first alarm per stream:", firsts)
    print({k: round(v, 3) for k, v in facts.items()})
