"""Label-free early warnings, day by day: context for people, never the safety verdict.

Checked for every day up to yesterday or the newest result (labels are not needed):
study volume per site (a stream that stops is "no results from site X since
..."), the positive-call rate and the AI-human discordance rate from oversight
records (daily p-charts against the baseline), and, once a week, the score
distribution and scanner metadata against the baseline. A check raises an
``early-warning`` alert on the day it starts to flag (not again while it keeps
flagging), written with the day's chart points and the new high-water mark in
one transaction, like the label-based charts.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from radassure.db import session_scope
from radassure.db.monitoring import Alert, ChartPointRow, MonitorState
from radassure.services._monitor_data import DayRows, load_days
from radassure.services._monitor_run import (
    ChartRun,
    RuleContext,
    _hook,
    add_alert,
    last_result_day,
    lock_state,
)
from radassure.services._monitor_weekly import (
    WINDOW_DAYS,
    WeeklyBaseline,
    is_weekly_day,
    load_baseline,
    weekly_checks,
)
from radassure.services.store import Store

__all__ = ["ARL0_DAYS", "early_warnings"]

#: In-control average run length of each daily early-warning chart, in days.
ARL0_DAYS = 365.0


def _clamp(p: float) -> float:
    return min(max(p, 1e-4), 1 - 1e-4)


def _checks(
    rule: RuleContext, day: dt.date, rows: DayRows | None, state: dict[str, Any]
) -> list[dict[str, Any]]:
    """Return the day's checks: key, statistic, threshold, events, n, flagged, message."""
    from radassure.core import drift

    base = rule.baseline
    out: list[dict[str, Any]] = []
    last_seen: dict[str, str] = state.setdefault("last_seen", {})
    per_site: dict[str, int] = {}
    for r in rows.rows if rows is not None else []:
        per_site[str(r["site"])] = per_site.get(str(r["site"]), 0) + 1
    for site, flat_mean in sorted((base.get("per_site_daily") or {}).items()):
        count = per_site.get(site, 0)
        if count:
            last_seen[site] = day.isoformat()
        # Rules made before weekday baselines were kept fall back to the flat mean.
        by_weekday = (base.get("per_site_weekday") or {}).get(site)
        mean = by_weekday[day.weekday()] if by_weekday else flat_mean
        if not mean or mean <= 0:
            continue
        chart = drift.volume_chart(
            [count],
            baseline_mean=float(mean),
            arl0_days=ARL0_DAYS,
            dispersion=float((base.get("per_site_dispersion") or {}).get(site, 1.0)),
        )
        low, high = chart.lower_limit[0], chart.upper_limit[0]
        flagged = chart.alarm_index is not None
        since = last_seen.get(site)
        if count == 0 and flagged:
            msg = (
                f"No {rule.finding} results from site {site} since {since or 'the baseline'} "
                f"(about {mean:.1f} a day expected): check that studies still reach the tool."
            )
        else:
            msg = (
                f"{count} {rule.finding} results from site {site} on {day}, outside the "
                f"expected {low:g} to {high:g} a day: check the study stream."
            )
        out.append(
            {
                "key": f"ew:volume:site={site}",
                "statistic": float(count),
                "threshold": float(low),
                "events": count,
                "n": count,
                "flagged": flagged,
                "message": msg,
                "attribute": "site",
                "subgroup": site,
            }
        )
    n = len(rows) if rows is not None else 0
    if n and base.get("call_rate") is not None:
        calls = sum(rows.call) if rows is not None else 0
        p0 = _clamp(float(base["call_rate"]))
        chart = drift.p_chart([calls], [n], p0=p0, arl0_days=ARL0_DAYS)
        flagged = chart.alarm_index is not None
        out.append(
            {
                "key": "ew:call_rate",
                "statistic": calls / n,
                "threshold": chart.upper_limit[0],
                "events": calls,
                "n": n,
                "flagged": flagged,
                "attribute": None,
                "subgroup": None,
                "message": (
                    f"The positive-call rate for {rule.finding} was {calls / n:.1%} "
                    f"on {day} ({calls} of {n}) against {p0:.1%} in the baseline; "
                    "a change in case mix or prevalence also moves it."
                ),
            }
        )
    reviewed = sum(rows.reviewed) if rows is not None else 0
    if reviewed and base.get("discordance") is not None:
        disagreed = sum(rows.disagreed) if rows is not None else 0
        p0 = _clamp(float(base["discordance"]))
        chart = drift.p_chart([disagreed], [reviewed], p0=p0, arl0_days=ARL0_DAYS)
        out.append(
            {
                "key": "ew:discordance",
                "statistic": disagreed / reviewed,
                "threshold": chart.upper_limit[0],
                "events": disagreed,
                "n": reviewed,
                "flagged": chart.alarm_index is not None and disagreed / reviewed > p0,
                "attribute": None,
                "subgroup": None,
                "message": (
                    f"Reporters disagreed with {rule.finding} results "
                    f"{disagreed} times in {reviewed} reviews on {day} "
                    f"({disagreed / reviewed:.1%}, baseline {p0:.1%})."
                ),
            }
        )
    return out


def _write_day(
    store: Store,
    rule: RuleContext,
    day: dt.date,
    rows: DayRows | None,
    weekly: Callable[[], list[dict[str, Any]]],
) -> list[int] | None:
    with session_scope(store.engine) as s:
        st = lock_state(s, rule.id)
        if st.early_day is not None and st.early_day >= day:
            return None
        # A deep copy: mutating the loaded JSON in place would leave the "new" value
        # equal to the old one, and SQLAlchemy would then skip the UPDATE.
        state = copy.deepcopy(st.early_state or {})
        was = set(state.get("flagged", []))
        checks = _checks(rule, day, rows, state) + weekly()
        ids: list[int] = []
        for c in checks:
            s.add(
                ChartPointRow(
                    rule_id=rule.id,
                    day=day,
                    key=c["key"],
                    statistic=c["statistic"],
                    threshold=c["threshold"],
                    events=c["events"],
                    n=c["n"],
                )
            )
            if c["flagged"] and c["key"] not in was:
                alert = add_alert(
                    s,
                    rule,
                    key=c["key"],
                    kind="early-warning",
                    outcome=None,
                    attribute=c["attribute"],
                    subgroup=c["subgroup"],
                    day=day,
                    statistic=c["statistic"],
                    threshold=c["threshold"],
                    change_day=None,
                    message=f"{rule.tool} {rule.version}: {c['message']} (early warning)",
                )
                ids.append(alert.id)
        # A weekly check is not run on the other six days: it keeps flagging (and so
        # raises no new alert) until a run of it stops flagging.
        checked = {c["key"] for c in checks}
        state["flagged"] = sorted((was - checked) | {c["key"] for c in checks if c["flagged"]})
        st.early_state = state
        st.early_day = day
        s.flush()
        _hook("early", rule.id, day)
    _hook("early-committed", rule.id, day)
    return ids


def _silence(store: Store, rule: RuleContext, yesterday: dt.date) -> list[int]:
    """Alert once per site whose stream has been silent longer than chance allows.

    Days after the newest result are not charted one by one (nothing arrives to
    chart); the silence up to the end of yesterday is judged at once by
    :func:`radassure.core.drift.stream_gap` (a Poisson stream at the site's
    baseline rate). The alert's day is the first silent day, so every later
    run finds the same alert rather than adding one.
    """
    from radassure.core.drift import stream_gap

    ids: list[int] = []
    with session_scope(store.engine) as s:
        st = lock_state(s, rule.id)
        last_seen: dict[str, str] = dict((st.early_state or {}).get("last_seen", {}))
        rates = {
            site: float(mean)
            for site, mean in (rule.baseline.get("per_site_daily") or {}).items()
            if site in last_seen and mean and mean > 0
        }
        if not rates:
            return ids
        # Days as ordinals; a day's results count as seen at its end (midnight after).
        seen_at = {site: dt.date.fromisoformat(last_seen[site]).toordinal() + 1.0 for site in rates}
        results = stream_gap(seen_at, yesterday.toordinal() + 1.0, rates, arl0_days=ARL0_DAYS)
        by_site = {r.name.split(":", 1)[1]: r for r in results}
        for site in sorted(rates):
            r = by_site[site]
            if not r.flagged:
                continue
            start = dt.date.fromisoformat(last_seen[site]) + dt.timedelta(days=1)
            key = f"ew:stream_gap:site={site}"
            taken = s.scalar(
                select(Alert.id).where(
                    Alert.rule_id == rule.id, Alert.key == key, Alert.day == start
                )
            )
            if taken is not None:
                continue
            alert = add_alert(
                s, rule, key=key, kind="early-warning", outcome=None, attribute="site",
                subgroup=site, day=start, statistic=float(r.statistic),
                threshold=None if r.threshold is None else float(r.threshold),
                change_day=start,
                message=(
                    f"{rule.tool} {rule.version}: no {rule.finding} results from site {site} "
                    f"since {last_seen[site]} (about {rates[site]:.1f} a day expected): check "
                    "that studies still reach the tool. (early warning)"
                ),
            )  # fmt: skip
            ids.append(alert.id)
    return ids


def early_warnings(store: Store, rule: RuleContext, *, now: dt.datetime) -> ChartRun:
    """Check every day after the rule's early-warning high-water mark, then stream silence.

    Days are checked up to yesterday or the newest result, whichever is
    earlier; silence after the newest result is judged once by :func:`_silence`.
    """
    from radassure.core.drift import isotonic_calibrator

    out = ChartRun()
    yesterday = now.date() - dt.timedelta(days=1)
    alerts: list[int] = []
    base: WeeklyBaseline | None = None
    with session_scope(store.engine) as s:
        st = s.get(MonitorState, rule.id)
        done = st.early_day if st is not None else None
        first = done + dt.timedelta(days=1) if done else rule.monitor_from
        newest = last_result_day(s, rule.version_id, rule.finding, now)
        last = min(yesterday, newest) if newest else None
        data: dict[dt.date, DayRows] = {}
        if last is not None and first <= last:
            # From a week earlier, so that a weekly window is whole whatever day a run starts.
            start = max(rule.monitor_from, first - dt.timedelta(days=WINDOW_DAYS - 1))
            data = load_days(s, rule.version_id, rule.finding, start, last, now=now,
                             with_reviews=True)  # fmt: skip
            base = load_baseline(s, rule.version_id, rule.finding, rule.baseline, now)
    calibrator = None
    if base is not None and base.labels.size and 0 < base.labels.sum() < base.labels.size:
        calibrator = isotonic_calibrator(base.labelled_scores, base.labels)

    def weekly_for(day: dt.date) -> Callable[[], list[dict[str, Any]]]:
        def checks() -> list[dict[str, Any]]:
            if base is None or not is_weekly_day(day, rule.monitor_from):
                return []
            window = [data[d] for k in range(WINDOW_DAYS)
                      if (d := day - dt.timedelta(days=k)) in data]  # fmt: skip
            return weekly_checks(rule.finding, day, window, base, calibrator)

        return checks

    if last is not None:
        day = first
        while day <= last:
            ids = _write_day(store, rule, day, data.get(day), weekly_for(day))
            if ids is not None:
                alerts += ids
                out.days += 1
                out.first = out.first or day
                out.last = day
            day += dt.timedelta(days=1)
    alerts += _silence(store, rule, yesterday)
    out.alerts = tuple(alerts)
    return out
