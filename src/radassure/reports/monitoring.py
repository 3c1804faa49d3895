"""Server-rendered SVG of monitoring charts: CUSUM statistic against its threshold.

One chart per key (overall or one subgroup): the statistic day by day (a step
line), the threshold (dashed), alarms (vermillion dots) and the estimated
change point (a purple dot on the axis). No JavaScript, no URL: the same
helpers as the validation reports (:mod:`radassure.reports.svg`).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

from radassure.reports.svg import PALETTE, Marker, Series, xy_plot

__all__ = ["ChartDay", "monitoring_chart"]


@dataclass(frozen=True)
class ChartDay:
    """One plotted day: its statistic and threshold (None where undefined)."""

    day: dt.date
    statistic: float | None
    threshold: float | None


def _finite(values: Sequence[float | None]) -> list[float]:
    return [float(v) for v in values if v is not None and math.isfinite(float(v))]


def monitoring_chart(
    days: Sequence[ChartDay],
    *,
    title: str,
    subgroup: str = "all cases",
    alarm_days: Sequence[dt.date] = (),
    change_days: Sequence[dt.date] = (),
    y_label: str = "CUSUM statistic",
) -> str:
    """Return one chart as an ``<svg>`` element.

    Parameters
    ----------
    days : sequence of ChartDay
        The chart's path, in day order.
    title : str
        What is charted (e.g. ``"misses, site NWG"``).
    subgroup : str
        The subgroup, named in the description for screen readers.
    alarm_days, change_days : sequence of date
        Days the chart alarmed, and the estimated change points.
    y_label : str
        The statistic's name.

    Examples
    --------
    >>> d0 = dt.date(2025, 7, 30)
    >>> pts = [ChartDay(d0 + dt.timedelta(days=i), s, 3.0) for i, s in enumerate([0, 1.5, 3.4])]
    >>> svg = monitoring_chart(pts, title="misses, site NWG", subgroup="site NWG",
    ...                        alarm_days=[pts[2].day], change_days=[pts[1].day])
    >>> svg.startswith("<svg") and "threshold" in svg and "site NWG" in svg
    True

    """
    if not days:
        first = dt.date.today()
        xs: list[float] = []
    else:
        first = days[0].day
        xs = [float((d.day - first).days) for d in days]
    stats = [d.statistic for d in days]
    limits = [d.threshold for d in days]
    values = _finite(stats) + _finite(limits)
    top = max(values, default=1.0)
    y_range = (min(0.0, *values) if values else 0.0, top * 1.1 if top > 0 else 1.0)
    x_range = (0.0, max(xs[-1] if xs else 1.0, 1.0))
    by_day = {d.day: d for d in days}
    markers = [
        Marker(float((day - first).days), float(by_day[day].statistic or 0.0), "alarm", PALETTE[3])
        for day in alarm_days
        if day in by_day and by_day[day].statistic is not None
    ]
    markers += [
        Marker(float((day - first).days), y_range[0], "estimated change", PALETTE[4], radius=5)
        for day in change_days
        if first <= day <= (days[-1].day if days else first)
    ]
    description = (
        f"{y_label} of {subgroup} by day from {first}"
        f"{' to ' + str(days[-1].day) if days else ''}; alarms on "
        f"{', '.join(str(d) for d in alarm_days) or 'no day'}; estimated change "
        f"{', '.join(str(d) for d in change_days) or 'none'}."
    )
    return xy_plot(
        title=title,
        x_label=f"days from {first}",
        y_label=y_label,
        series=[
            Series(xs, stats, y_label, PALETTE[0], step=True),
            Series(xs, limits, "threshold", PALETTE[7], dashed=True),
        ],
        markers=markers,
        x_range=x_range,
        y_range=y_range,
        description=description,
    )
