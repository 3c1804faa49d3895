"""Silent study streams: "no results from site X since ..." (re-exported by ``drift``)."""

from __future__ import annotations

import math
from collections.abc import Mapping

from radassure.core._drift_charts import check_arl0_days
from radassure.core._drift_types import DriftResult

__all__ = ["stream_gap"]


def _duration(days: float) -> str:
    if days < 1:
        return f"{days * 24:.1f} hours"
    return f"{days:.1f} days"


def _finite(value: float, name: str) -> float:
    if isinstance(value, bool) or not (isinstance(value, int | float) and math.isfinite(value)):
        raise ValueError(f"{name} must be a finite time in days (got {value!r}).")
    return float(value)


def stream_gap(
    last_seen: Mapping[str, float],
    now: float,
    expected_per_day: Mapping[str, float],
    *,
    arl0_days: float = 365.0,
    min_gap_days: float = 1.0,
) -> list[DriftResult]:
    """Flag study streams (sites) that have gone silent for longer than chance allows.

    For a Poisson stream at ``r`` studies a day, silences of at least ``g``
    days start at rate ``r * exp(-r * g)`` a day. The threshold
    ``g = log(r * arl0_days) / r`` makes that one every ``arl0_days`` even
    when the stream is watched continuously, so checking less often can only
    alarm less. Real streams are not Poisson around the clock: they pause at
    night and, for elective work, at weekends. Hence ``min_gap_days`` (1 by
    default, so that a quiet night never alarms; 3 for a service closed at
    weekends, or 0 on a time axis of opening hours with the rate per opening
    day).
    ``arl0_days`` applies to each stream; with many streams divide it
    among them for a family-wide budget.

    Parameters
    ----------
    last_seen : mapping of str to float
        Time (in days, any origin) of the latest result from each stream; every
        stream in ``expected_per_day`` must have one.
    now : float
        The current time, on the same axis.
    expected_per_day : mapping of str to float
        Baseline studies per day of each stream to judge; streams absent here
        are not judged.
    arl0_days : float, default 365
        Wanted average days between false alarms, per stream.
    min_gap_days : float, default 1
        Never flag a silence shorter than this; the threshold is the larger of
        this and the Poisson one.

    Returns
    -------
    list of DriftResult
        One per stream in ``expected_per_day``, named ``"stream_gap:<stream>"``:
        ``statistic`` the silence in days, ``threshold`` the longest plausible one,
        ``p_value`` the chance of no study in a window that long, ``effect`` the
        studies expected during it. A stream expected to send fewer than one
        study per ``arl0_days`` cannot be judged (threshold None, not flagged).

    Examples
    --------
    >>> [r] = stream_gap({"North": 10.0}, 11.5, {"North": 200.0})
    >>> r.threshold, r.flagged
    (1.0, True)
    >>> r.message.split(";")[0]
    'No results from North for 1.5 days (since day 10.00), where about 300 were expected'
    >>> [r] = stream_gap({"North": 10.0}, 10.5, {"North": 200.0}, min_gap_days=0)
    >>> round(r.threshold, 4), r.flagged
    (0.056, True)

    """
    arl0 = check_arl0_days(arl0_days)
    now = _finite(now, "now")
    floor = _finite(min_gap_days, "min_gap_days")
    if floor < 0:
        raise ValueError(f"min_gap_days must be 0 or more (got {min_gap_days!r}).")
    results = []
    for stream, rate in expected_per_day.items():
        if isinstance(rate, bool) or not (
            isinstance(rate, int | float) and math.isfinite(rate) and rate >= 0
        ):
            raise ValueError(
                f"expected_per_day[{stream!r}] must be a baseline count of studies per day, "
                f"0 or more (got {rate!r})."
            )
        if stream not in last_seen:
            raise ValueError(
                f"last_seen has no entry for stream {stream!r}; pass the time of its latest "
                "result (or the start of the baseline if it never sent one)."
            )
        last = _finite(last_seen[stream], f"last_seen[{stream!r}]")
        if last > now:
            raise ValueError(
                f"last_seen[{stream!r}] = {last!r} lies after now = {now!r}; both must be on "
                "the same time axis in days."
            )
        gap = now - last
        expected = rate * gap
        if rate * arl0 <= 1:
            results.append(
                DriftResult(
                    f"stream_gap:{stream}", gap, None, None, expected, None, False,
                    round(expected), 0,
                    f"{stream} usually sends too few studies (about {rate:g} a day) to tell a "
                    "silence from chance.",
                )
            )  # fmt: skip
            continue
        threshold = max(math.log(rate * arl0) / rate, floor)
        flagged = gap >= threshold
        if flagged:
            message = (
                f"No results from {stream} for {_duration(gap)} (since day {last:.2f}), where "
                f"about {expected:.0f} were expected; at its usual {rate:g} a day a silence "
                f"this long happens by chance less than once in {arl0:g} days."
            )
        else:
            message = (
                f"Results from {stream} are arriving: the last came {_duration(gap)} ago, "
                f"within the {_duration(threshold)} a silence can last by chance."
            )
        results.append(
            DriftResult(
                f"stream_gap:{stream}", gap, threshold, math.exp(-expected), expected, None,
                flagged, round(expected), 0, message,
            )
        )  # fmt: skip
    return results
