"""The peer monitors of the monitoring benchmark (issue #7): NannyML and Evidently.

Runs in its own environment, ``.venv-monitor`` (``make bench-monitoring`` builds it),
because NannyML and Evidently pull in a large dependency tree that radassure itself
does not need. Each peer is called the way its documentation shows:

* ``nannyml_realized``: ``nannyml.PerformanceCalculator(metrics=["recall"], ...,
  chunk_period="D")`` fitted on the baseline days; its default thresholds
  (``StandardDeviationThreshold``: mean +/- 3 SD of the reference chunks' recall)
  and its own ``alert`` column.
* ``nannyml_cbpe``: ``nannyml.CBPE(metrics=["recall"], ..., chunk_period="D")``,
  the label-free estimate of recall. CBPE needs probabilities and the simulated score
  is a binormal score, not a probability, so the score is mapped to a probability by
  a logistic regression of the label on the score fitted on the baseline days only
  (with equal-variance binormal scores the true posterior is exactly logistic in the
  score, so this model is correctly specified). CBPE then applies its own default
  isotonic calibration on the reference data as usual.
* ``evidently_score_drift``: ``evidently.Report([ValueDrift(column="score")],
  include_tests=True)`` run on each monitored day against all baseline days. The
  method and threshold are left to Evidently's default rule, which for a numerical
  column with more than 1,000 reference rows is the normed Wasserstein distance with
  threshold 0.1 (the K-S test at p < 0.05 for 1,000 rows or fewer); the alert is the
  test's own FAIL status.

Telemetry of both libraries is switched off before they are imported.

Run ``.venv-monitor/bin/python benchmarks/_monitoring_peers.py --selfcheck`` to
check one S0 and one S1 stream and print the time one stream takes per peer.
"""

from __future__ import annotations

import os

# No usage logging, no network: these must be set before the libraries are imported.
os.environ["NML_DISABLE_USAGE_LOGGING"] = "1"
os.environ["DO_NOT_TRACK"] = "1"

import argparse
import contextlib
import logging
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import nannyml as nml
import numpy as np
import pandas as pd
from evidently import DataDefinition, Dataset, Report
from evidently.metrics import ValueDrift
from evidently.metrics.column_statistics import ValueDriftCalculation

MONITORED_DAYS = 120
FA_HORIZON = 60
# Monitored day 0 is this date; baseline days are negative offsets from it.
DAY0 = pd.Timestamp("2024-03-01")
PEER_NAMES = ("nannyml_realized", "nannyml_cbpe", "evidently_score_drift")

# NannyML logs (and warns) about small chunks at every call; the benchmark reads numbers.
logging.getLogger("nannyml").setLevel(logging.ERROR)


@dataclass
class PeerResult:
    """One peer's output for one stream, indexed by monitored day (0..119)."""

    name: str
    values: np.ndarray  # the peer's statistic per day (NaN where it gave none)
    alerts: np.ndarray  # bool per day, the peer's own default alert rule
    lower: np.ndarray | None  # the peer's default lower band per day, if it has one
    upper: np.ndarray | None  # the peer's default upper band per day, if it has one


def _check_frame(df: pd.DataFrame, name: str) -> None:
    needed = {"day", "score", "label", "y_pred"}
    missing = needed - set(df.columns)
    if missing:
        raise ValueError(
            f"{name} lacks column(s) {sorted(missing)}; pass the frames that "
            "_monitoring_sim.simulate_stream returns (day, score, label, y_pred)."
        )
    if df.empty:
        raise ValueError(f"{name} is empty; pass at least one day of cases.")


def _with_timestamp(df: pd.DataFrame, proba: Callable[[np.ndarray], np.ndarray]) -> pd.DataFrame:
    out = df[["day", "score", "label", "y_pred"]].copy()
    out["timestamp"] = DAY0 + pd.to_timedelta(out["day"].astype(int), unit="D")
    out["label"] = out["label"].astype(int)
    out["y_pred"] = out["y_pred"].astype(int)
    out["proba"] = proba(out["score"].to_numpy(dtype=float))
    return out


def fit_score_to_probability(
    score: np.ndarray, label: np.ndarray
) -> Callable[[np.ndarray], np.ndarray]:
    """Logistic regression of label on score (Newton-Raphson), fitted on baseline days.

    Returns the map score -> P(label = 1 | score) that CBPE is given as ``y_pred_proba``.
    """
    x = np.column_stack([np.ones_like(score, dtype=float), np.asarray(score, dtype=float)])
    y = np.asarray(label, dtype=float)
    if y.min() == y.max():
        raise ValueError("baseline labels are all one class; CBPE needs both to calibrate.")
    beta = np.zeros(2)
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-(x @ beta)))
        w = p * (1.0 - p)
        step = np.linalg.solve(x.T @ (x * w[:, None]), x.T @ (y - p))
        beta += step
        if np.max(np.abs(step)) < 1e-10:
            break
    b0, b1 = float(beta[0]), float(beta[1])
    return lambda s: 1.0 / (1.0 + np.exp(-(b0 + b1 * np.asarray(s, dtype=float))))


def _by_day(chunks: pd.DataFrame, metric: str = "recall") -> dict[str, np.ndarray]:
    """Spread NannyML's per-chunk rows over monitored days 0..119 (NaN for missing days)."""
    day = (pd.to_datetime(chunks[("chunk", "start_date")]) - DAY0).dt.days.to_numpy()
    keep = (day >= 0) & (day < MONITORED_DAYS)
    out: dict[str, np.ndarray] = {}
    for col in ("value", "lower_threshold", "upper_threshold", "alert"):
        arr = np.full(MONITORED_DAYS, np.nan)
        vals = pd.to_numeric(chunks[(metric, col)], errors="coerce").to_numpy(dtype=float)
        arr[day[keep]] = vals[keep]
        out[col] = arr
    return out


def _nannyml_result(name: str, chunks: pd.DataFrame) -> PeerResult:
    d = _by_day(chunks)
    return PeerResult(
        name=name,
        values=d["value"],
        alerts=np.nan_to_num(d["alert"], nan=0.0).astype(bool),
        lower=d["lower_threshold"],
        upper=d["upper_threshold"],
    )


def run_nannyml_realized(reference: pd.DataFrame, analysis: pd.DataFrame) -> PeerResult:
    """NannyML realized recall per day with its default bands (frames from ``_with_timestamp``)."""
    calc = nml.PerformanceCalculator(
        metrics=["recall"],
        y_true="label",
        y_pred="y_pred",
        # Required for binary problems though recall uses only y_pred and y_true.
        y_pred_proba="proba",
        problem_type="classification_binary",
        timestamp_column_name="timestamp",
        chunk_period="D",
    )
    calc.fit(reference)
    chunks = calc.calculate(analysis).filter(period="analysis").to_df()
    return _nannyml_result("nannyml_realized", chunks)


def run_nannyml_cbpe(reference: pd.DataFrame, analysis: pd.DataFrame) -> PeerResult:
    """NannyML CBPE estimated recall per day (labels withheld from the analysis period)."""
    est = nml.CBPE(
        metrics=["recall"],
        y_true="label",
        y_pred="y_pred",
        y_pred_proba="proba",
        problem_type="classification_binary",
        timestamp_column_name="timestamp",
        chunk_period="D",
    )
    est.fit(reference)
    # CBPE is label-free: the analysis period is given without the label column.
    chunks = est.estimate(analysis.drop(columns=["label"])).filter(period="analysis").to_df()
    return _nannyml_result("nannyml_cbpe", chunks)


@contextlib.contextmanager
def _no_evidently_widgets() -> Iterator[None]:
    """Skip building ValueDrift's plotly widget (about 80% of its run time).

    The widget is drawn after the drift score and verdict are computed and feeds only
    the HTML view, so the values and alerts are unchanged (``--selfcheck`` compares a
    day with and without it).
    """
    original = ValueDriftCalculation._render
    ValueDriftCalculation._render = lambda self, *args, **kwargs: []
    try:
        yield
    finally:
        ValueDriftCalculation._render = original


def run_evidently_score_drift(
    reference: pd.DataFrame, analysis: pd.DataFrame, *, widgets: bool = False
) -> PeerResult:
    """Evidently's default drift rule on ``score``, each monitored day vs all baseline days.

    ``widgets=True`` also draws Evidently's HTML widgets, as a plain ``Report.run`` does.
    """
    if not widgets:
        with _no_evidently_widgets():
            return run_evidently_score_drift(reference, analysis, widgets=True)
    definition = DataDefinition(numerical_columns=["score"])
    ref = Dataset.from_pandas(reference[["score"]], data_definition=definition)
    values = np.full(MONITORED_DAYS, np.nan)
    alerts = np.zeros(MONITORED_DAYS, dtype=bool)
    band = np.full(MONITORED_DAYS, np.nan)
    p_value_method = False
    day_of_case = analysis["day"].to_numpy(dtype=int)
    for d in np.unique(day_of_case[(day_of_case >= 0) & (day_of_case < MONITORED_DAYS)]):
        cur_df = analysis.loc[day_of_case == d, ["score"]].reset_index(drop=True)
        cur = Dataset.from_pandas(cur_df, data_definition=definition)
        snap = Report([ValueDrift(column="score")], include_tests=True).run(
            current_data=cur, reference_data=ref
        )
        res = snap.dict()
        metric = res["metrics"][0]
        values[d] = float(metric["value"])
        band[d] = float(metric["config"]["threshold"])
        p_value_method = "p_value" in str(metric["config"]["method"])
        # The test's FAIL status is Evidently's own "drift detected" verdict.
        alerts[d] = any(str(t["status"].value) == "FAIL" for t in res["tests"])
    # A p-value alarms below its threshold, a distance at or above it.
    lower, upper = (band, None) if p_value_method else (None, band)
    return PeerResult("evidently_score_drift", values, alerts, lower, upper)


def run_peers(
    baseline: pd.DataFrame,
    monitored: pd.DataFrame,
    threshold: float,
    *,
    timings: dict[str, float] | None = None,
) -> dict[str, PeerResult]:
    """Run the three peers on one simulated stream.

    ``threshold`` is the operating threshold that produced ``y_pred``; it is checked
    against the data (the peers read ``y_pred`` directly). Pass a dict as ``timings``
    to get each peer's wall time in seconds.
    """
    _check_frame(baseline, "baseline")
    _check_frame(monitored, "monitored")
    calls = (baseline["score"] >= threshold).astype(int)
    if not np.array_equal(calls.to_numpy(), baseline["y_pred"].astype(int).to_numpy()):
        raise ValueError(
            "threshold does not reproduce baseline y_pred (y_pred = score >= threshold); "
            "pass the threshold that simulate_stream returned."
        )
    proba = fit_score_to_probability(
        baseline["score"].to_numpy(dtype=float), baseline["label"].to_numpy()
    )
    ref = _with_timestamp(baseline, proba)
    ana = _with_timestamp(monitored, proba)
    peers = (run_nannyml_realized, run_nannyml_cbpe, run_evidently_score_drift)
    out: dict[str, PeerResult] = {}
    with warnings.catch_warnings():
        # Days without a positive case make recall undefined; NannyML warns and gives NaN.
        warnings.simplefilter("ignore")
        for name, peer in zip(PEER_NAMES, peers, strict=True):
            t0 = time.perf_counter()
            out[name] = peer(ref, ana)
            if timings is not None:
                timings[name] = time.perf_counter() - t0
    return out


def alerts_below(values: np.ndarray, lower: float) -> np.ndarray:
    """Alarms of a one-sided lower band: ``value < lower`` (NaN days never alarm).

    >>> alerts_below(np.array([0.9, np.nan, 0.7]), 0.8).tolist()
    [False, False, True]
    """
    v = np.asarray(values, dtype=float)
    return np.where(np.isnan(v), False, v < lower)


def first_alarm_day(alerts: np.ndarray, *, start: int = 0) -> int | None:
    """First monitored day at or after ``start`` with an alarm, or None if there is none.

    Detection delay after a change at day 60 is ``first_alarm_day(a, start=60) - 60``.

    >>> first_alarm_day(np.array([False, True, False, True]), start=2)
    3
    >>> first_alarm_day(np.zeros(5, dtype=bool)) is None
    True
    """
    if start < 0:
        raise ValueError(f"start must be >= 0, got {start}.")
    hits = np.flatnonzero(np.asarray(alerts, dtype=bool)[start:])
    return int(hits[0]) + start if hits.size else None


def false_alarm_within(
    values_s0: Sequence[np.ndarray], lower: float, horizon: int = FA_HORIZON
) -> float:
    """Share of no-change streams whose ``value < lower`` on any of the first ``horizon`` days.

    >>> false_alarm_within([np.array([0.9, 0.7]), np.array([0.9, 0.9])], 0.8)
    0.5
    """
    if not values_s0:
        raise ValueError("values_s0 is empty; pass the peer's values from S0 streams.")
    hits = [alerts_below(v[:horizon], lower).any() for v in values_s0]
    return float(np.mean(hits))


def rethreshold(
    values_s0: Sequence[np.ndarray], target_fa60: float, horizon: int = FA_HORIZON
) -> float:
    """Lower band that gives P(false alarm within ``horizon`` days) <= ``target_fa60`` on S0.

    Each stream alarms first below its own minimum over the first ``horizon`` days, so
    the band is the k-th smallest of those minima, k = floor(target * n): the highest band
    whose empirical false-alarm share does not exceed the target. Recall takes few
    distinct values at 200 studies/day, so ties can leave the achieved share below the
    target: report ``false_alarm_within(values_s0, band)`` next to it. Use S0 streams
    (seeds) other than those the band is then evaluated on.

    >>> band = rethreshold([np.array([0.9, v]) for v in (0.5, 0.6, 0.7, 0.8)], 0.5)
    >>> band, false_alarm_within([np.array([0.9, v]) for v in (0.5, 0.6, 0.7, 0.8)], band)
    (np.float64(0.7), 0.5)
    """
    if not 0.0 <= target_fa60 < 1.0:
        raise ValueError(f"target_fa60 must be in [0, 1), got {target_fa60}.")
    if not values_s0:
        raise ValueError("values_s0 is empty; pass the peer's values from S0 streams.")
    minima = np.sort([np.nanmin(np.asarray(v, dtype=float)[:horizon]) for v in values_s0])
    k = int(np.floor(target_fa60 * minima.size))
    return minima[k]  # type: ignore[no-any-return]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--selfcheck", action="store_true", help="run one S0 and one S1 stream")
    args = parser.parse_args()
    if not args.selfcheck:
        parser.error("this module is imported by benchmarks/monitoring.py; use --selfcheck")
    # The check imports this module by name: let it find this run instead of a second copy.
    sys.modules.setdefault("_monitoring_peers", sys.modules[__name__])
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from _monitoring_peers_check import selfcheck

    raise SystemExit(selfcheck())
