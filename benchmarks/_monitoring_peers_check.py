"""``--selfcheck`` of ``_monitoring_peers.py``: one S0 and one S1 stream through each peer.

Run it as ``.venv-monitor/bin/python benchmarks/_monitoring_peers.py --selfcheck``.
Streams come from ``_monitoring_sim.simulate_stream`` when that module exists, else
from a small stand-in generator with the same columns (S0 and S1 only).
"""

from __future__ import annotations

import importlib
import warnings

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy.stats import norm

from _monitoring_peers import (
    FA_HORIZON,
    MONITORED_DAYS,
    PeerResult,
    _with_timestamp,
    alerts_below,
    first_alarm_day,
    fit_score_to_probability,
    rethreshold,
    run_evidently_score_drift,
    run_peers,
)


def _local_stream(
    scenario: str, *, volume: int = 200, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame, float]:
    """Stand-in for ``_monitoring_sim.simulate_stream`` (S0 and S1 only)."""
    rng = np.random.default_rng(seed)
    mu0 = np.sqrt(2.0) * norm.ppf(0.90)  # AUROC 0.90 with unit-variance binormal scores
    mu1 = np.sqrt(2.0) * norm.ppf(0.85) if scenario == "S1" else mu0
    threshold = float(mu0 - norm.ppf(0.90))  # sensitivity 0.90 at baseline

    def days(first: int, last: int) -> pd.DataFrame:
        day = np.repeat(np.arange(first, last), volume)
        label = rng.random(day.size) < 0.10
        score = rng.normal(size=day.size) + np.where(day >= 60, mu1, mu0) * label
        calls = (score >= threshold).astype(int)
        return pd.DataFrame({"day": day, "score": score, "label": label, "y_pred": calls})

    return days(-60, 0), days(0, MONITORED_DAYS), threshold


def selfcheck() -> int:
    """Run one S0 and one S1 stream through every peer; assert and print what they give."""
    try:
        # Imported by name at run time: the simulator is another engineer's module.
        simulate_stream = importlib.import_module("_monitoring_sim").simulate_stream
        source = "_monitoring_sim.simulate_stream"
    except ImportError:
        simulate_stream = _local_stream
        source = "the local stand-in generator"
    print(f"streams from {source}")
    out: dict[str, dict[str, PeerResult]] = {}
    for scenario in ("S0", "S1"):
        baseline, monitored, threshold = simulate_stream(scenario, volume=200, seed=7)
        timings: dict[str, float] = {}
        out[scenario] = run_peers(baseline, monitored, threshold, timings=timings)
        for name, r in out[scenario].items():
            assert r.values.shape == (MONITORED_DAYS,) and r.alerts.dtype == bool, name
            assert np.isfinite(r.values).sum() >= MONITORED_DAYS - 3, (scenario, name)
            pre, post = np.nanmean(r.values[:60]), np.nanmean(r.values[60:])
            print(
                f"{scenario} {name:22s} {timings[name]:5.2f} s/stream  mean day 0-59 {pre:.3f}"
                f"  day 60-119 {post:.3f}  alarm days {int(r.alerts.sum()):3d}"
                f"  first alarm {first_alarm_day(r.alerts)}"
            )
        # NannyML's realized recall equals TP / (TP + FN) per day counted independently.
        pos = monitored[monitored["label"] == 1]
        direct = pos.groupby("day")["y_pred"].mean().reindex(range(MONITORED_DAYS))
        got = out[scenario]["nannyml_realized"].values
        assert np.allclose(got, direct.to_numpy(), equal_nan=True), "realized recall mismatch"
    # The score -> probability map given to CBPE equals statsmodels' maximum-likelihood Logit.
    s, y = baseline["score"].to_numpy(float), baseline["label"].to_numpy(int)
    b0, b1 = sm.Logit(y, sm.add_constant(s)).fit(disp=0).params
    ours = fit_score_to_probability(s, y)(np.array([-1.0, 0.0, 2.0]))
    assert np.allclose(ours, 1 / (1 + np.exp(-(b0 + b1 * np.array([-1.0, 0.0, 2.0]))))), ours
    real0, real1 = out["S0"]["nannyml_realized"], out["S1"]["nannyml_realized"]
    cbpe0, cbpe1 = out["S0"]["nannyml_cbpe"], out["S1"]["nannyml_cbpe"]
    # Realized recall sits at the operating sensitivity 0.90 and falls to ~0.83 in S1.
    assert abs(np.nanmean(real0.values) - 0.90) < 0.03, "realized recall S0 not near 0.90"
    drop_real = np.nanmean(real1.values[:60]) - np.nanmean(real1.values[60:])
    assert drop_real > 0.03, f"realized recall did not fall in S1 (drop {drop_real:.3f})"
    assert abs(np.nanmean(cbpe0.values) - 0.90) < 0.03, "CBPE recall S0 not near 0.90"
    drop_cbpe = np.nanmean(cbpe1.values[:60]) - np.nanmean(cbpe1.values[60:])
    print(f"S1 drop after day 60: realized {drop_real:.3f}, CBPE estimate {drop_cbpe:.3f}")
    # CBPE assumes calibration holds, so it sees less of the fall than the labels do.
    assert drop_cbpe < drop_real, "CBPE should understate a conditional (label) shift"
    # Skipping Evidently's widgets must not change a value or a verdict (days 60-69 of S1).
    proba = fit_score_to_probability(baseline["score"].to_numpy(), baseline["label"].to_numpy())
    ref, ana = _with_timestamp(baseline, proba), _with_timestamp(monitored, proba)
    ana = ana[(ana["day"] >= 60) & (ana["day"] < 70)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        drawn = run_evidently_score_drift(ref, ana, widgets=True)
        bare = run_evidently_score_drift(ref, ana)
    assert np.isfinite(drawn.values[60:70]).all(), "Evidently gave no drift score"
    assert np.array_equal(drawn.values, bare.values, equal_nan=True), "widgets changed values"
    assert np.array_equal(drawn.alerts, bare.alerts), "widgets changed the alerts"
    band = rethreshold([real0.values], 0.0)
    assert not alerts_below(real0.values[:FA_HORIZON], band).any()
    print("selfcheck passed")
    return 0
