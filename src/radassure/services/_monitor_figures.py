"""Figures of a tool's monitoring page: one SVG chart per rule and chart key."""

from __future__ import annotations

from dataclasses import dataclass

from radassure.reports.monitoring import ChartDay, monitoring_chart
from radassure.services._monitor_types import AlertInfo, ChartPointInfo, RuleInfo

__all__ = ["Figure", "describe_key", "figures"]


@dataclass(frozen=True)
class Figure:
    """One chart of the monitoring page."""

    rule_id: int
    key: str
    title: str
    label_based: bool
    svg: str
    last_statistic: float | None
    last_threshold: float | None
    alarms: int


def describe_key(key: str) -> str:
    """Return a chart key in words.

    Keys are the core's (e.g. ``misses|site=NWG``) or the early warnings'
    (``ew:volume:site=NWG``); anything else is shown as it is.

    Examples
    --------
    >>> describe_key("misses|scanner=NWG Kestrel Vela")
    'misses, scanner NWG Kestrel Vela'
    >>> describe_key("ew:call_rate")
    'early warning: call rate'
    >>> describe_key("score_drop|site=NWG")
    "positives' scores (fall), site NWG"

    """
    early = key.startswith("ew:")
    body = key[3:] if early else key
    if body.startswith("score_drop"):
        body = "positives' scores (fall)" + body[len("score_drop") :]
    parts = [p.replace("=", " ").replace("_", " ") for p in body.replace("|", ":").split(":") if p]
    text = ", ".join(parts) or key
    return f"early warning: {text}" if early else text


def figures(
    rules: tuple[RuleInfo, ...],
    charts: dict[int, dict[str, tuple[ChartPointInfo, ...]]],
    alerts: tuple[AlertInfo, ...],
) -> list[Figure]:
    """Return the page's figures: label-based charts first, then early warnings."""
    out: list[Figure] = []
    for rule in rules:
        for key, points in sorted(
            charts.get(rule.id, {}).items(), key=lambda kv: (kv[0].startswith("ew:"), kv[0])
        ):
            mine = [a for a in alerts if a.rule_id == rule.id and a.key == key]
            subgroup = (
                f"{mine[0].attribute} {mine[0].subgroup}"
                if mine and mine[0].attribute
                else describe_key(key)
            )
            label_based = not key.startswith("ew:")
            title = f"{rule.finding}: {describe_key(key)}"
            svg = monitoring_chart(
                [ChartDay(p.day, p.statistic, p.threshold) for p in points],
                title=title, subgroup=subgroup,
                alarm_days=[a.day for a in mine],
                change_days=[a.change_day for a in mine if a.change_day is not None],
                y_label="CUSUM statistic" if label_based else "daily value",
            )  # fmt: skip
            last = points[-1] if points else None
            out.append(
                Figure(rule.id, key, title, label_based, svg,
                       last.statistic if last else None, last.threshold if last else None,
                       len(mine))
            )  # fmt: skip
    return out
