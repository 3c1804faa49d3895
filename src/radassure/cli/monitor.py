"""``radassure monitor``: monitoring rules, runs and alerts.

Registers itself on the application of :mod:`radassure.cli.main` when imported.
The CLI runs on the server as the system (every permission), named in the
audit trail as ``cli:<login name>``, as the ``user`` and ``audit`` commands do.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import Annotated

import typer
from rich.table import Table

from radassure.cli.main import JsonOpt, _fail, _print_json, _store, app, handled, out
from radassure.cli.security import _actor
from radassure.services import monitoring

__all__ = ["monitor_app"]

monitor_app = typer.Typer(
    help="Monitor deployed tools: rules, runs (from cron or --every), alerts.",
    no_args_is_help=True,
)
rule_app = typer.Typer(help="Add and list monitoring rules.", no_args_is_help=True)
monitor_app.add_typer(rule_app, name="rule")
app.add_typer(monitor_app, name="monitor")

_ADDRESS = "cli"
_EVERY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNIT = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def _date(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise _fail(f"{option} {value!r} is not a date; use YYYY-MM-DD.", 2) from None


def every_seconds(value: str) -> float:
    """Parse ``--every``: a number with s, m, h or d (seconds without a unit).

    Examples
    --------
    >>> every_seconds("1h"), every_seconds("90s"), every_seconds("0.5m")
    (3600.0, 90.0, 30.0)

    """
    found = _EVERY.match(value)
    if not found or float(found.group(1)) <= 0:
        raise ValueError(f"--every {value!r} must be a positive duration such as 30m, 1h or 1d.")
    return float(found.group(1)) * _UNIT[found.group(2)]


@rule_app.command("add")
@handled
def rule_add(
    tool: Annotated[str, typer.Option("--tool", help="Tool name.")],
    version: Annotated[str, typer.Option("--version", help="Tool version.")],
    finding: Annotated[str, typer.Option("--finding", help="Finding to monitor.")],
    baseline_from: Annotated[
        str | None, typer.Option("--baseline-from", help="First baseline day, YYYY-MM-DD.")
    ] = None,
    baseline_to: Annotated[
        str | None, typer.Option("--baseline-to", help="Last baseline day, YYYY-MM-DD.")
    ] = None,
    baseline_run: Annotated[
        int | None, typer.Option("--baseline-run", help="Or: a validation run id as baseline.")
    ] = None,
    attribute: Annotated[
        list[str] | None,
        typer.Option(
            "--attribute",
            help=f"Subgroup charts (repeatable): {', '.join(monitoring.ATTRIBUTES)}. "
            "Default: site and manufacturer.",
        ),
    ] = None,
    arl0_cases: Annotated[
        float | None,
        typer.Option(
            help="In-control average run length, in cases. Default: a year at the "
            "baseline's volume (365 x results a day), about one false alarm a year."
        ),
    ] = None,
    p1_ratio: Annotated[float, typer.Option(help="Out-of-control rate / baseline rate.")] = 2.0,
    min_events: Annotated[int, typer.Option(help="Fewest events for an alarm.")] = 3,
    min_group_positives: Annotated[
        int, typer.Option(help="Fewest baseline positives for a subgroup chart.")
    ] = 30,
    monitor_from: Annotated[
        str | None, typer.Option(help="First day monitored (default: after the baseline).")
    ] = None,
    label_wait_days: Annotated[
        int, typer.Option(help="Chart a day after this many days even if labels are missing.")
    ] = 28,
    json_out: JsonOpt = False,
) -> None:
    """Add a monitoring rule for a tool version and finding, freezing its design."""
    st = _store()
    try:
        info = monitoring.add_rule(
            st,
            _actor(),
            tool,
            version,
            finding,
            baseline_start=_date(baseline_from, "--baseline-from"),
            baseline_end=_date(baseline_to, "--baseline-to"),
            baseline_run=baseline_run,
            attributes=tuple(attribute or ("site", "manufacturer")),
            arl0_cases=arl0_cases,
            p1_ratio=p1_ratio,
            min_events=min_events,
            min_group_positives=min_group_positives,
            monitor_from=_date(monitor_from, "--monitor-from"),
            label_wait_days=label_wait_days,
            address=_ADDRESS,
        )
    finally:
        st.dispose()
    if json_out:
        _print_json(info.to_dict())
        return
    out.print(
        f"Rule {info.id}: {info.tool} {info.version} {info.finding}, "
        f"{len(info.charts)} chart(s), monitored from {info.monitor_from}."
    )


@rule_app.command("list")
@handled
def rule_list(
    tool: Annotated[str | None, typer.Option("--tool", help="Only this tool.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """List monitoring rules and how far each has been charted."""
    st = _store()
    try:
        rules = monitoring.list_rules(st, _actor(), tool=tool)
    finally:
        st.dispose()
    if json_out:
        _print_json([r.to_dict() for r in rules])
        return
    table = Table("id", "tool", "version", "finding", "attributes", "baseline", "charted to")
    for r in rules:
        base = (
            f"run {r.baseline_run_id}"
            if r.baseline_run_id
            else f"{r.baseline_start} to {r.baseline_end}"
        )
        table.add_row(
            str(r.id),
            r.tool,
            r.version,
            r.finding,
            ", ".join(r.attributes),
            base,
            str(r.last_day or "—"),
        )
    out.print(table)


def _run_once(tool: str | None, json_out: bool) -> None:
    st = _store()
    try:
        summary = monitoring.run_monitor(st, _actor(), tool=tool)
    finally:
        st.dispose()
    if json_out:
        _print_json(summary.to_dict())
    else:
        for line in summary.lines():
            out.print(line, highlight=False)


@monitor_app.command("run")
@handled
def run(
    tool: Annotated[str | None, typer.Option("--tool", help="Only this tool's rules.")] = None,
    every: Annotated[
        str | None,
        typer.Option("--every", help="Run again after this long (e.g. 1h) until Ctrl-C."),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Chart new days, check early warnings and deliver alerts (incremental, safe to kill)."""
    if every is None:
        _run_once(tool, json_out)
        return
    pause = every_seconds(every)
    try:
        while True:
            _run_once(tool, json_out)
            time.sleep(pause)
    except KeyboardInterrupt:
        # Each day commits on its own, so stopping here loses nothing.
        out.print("Stopped.")


@monitor_app.command("alerts")
@handled
def alerts(
    state: Annotated[
        str | None, typer.Option("--state", help="open, acknowledged or resolved.")
    ] = None,
    tool: Annotated[str | None, typer.Option("--tool", help="Only this tool.")] = None,
    kind: Annotated[
        str | None, typer.Option("--kind", help="label-based or early-warning.")
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 200,
    json_out: JsonOpt = False,
) -> None:
    """List monitoring alerts, newest first."""
    st = _store()
    try:
        found = monitoring.list_alerts(st, _actor(), tool=tool, state=state, kind=kind, limit=limit)
    finally:
        st.dispose()
    if json_out:
        _print_json([a.to_dict() for a in found])
        return
    if not found:
        out.print("No alerts.")
        return
    # One block per alert rather than a table: the messages are sentences, and a table
    # squeezes them into a narrow column on an 80-character terminal.
    for a in found:
        where = f"{a.attribute} {a.subgroup}" if a.attribute else "all cases"
        out.print(
            f"#{a.id}  {a.day}  {a.state}  {a.kind}  {a.tool} {a.version} {a.finding}, {where}",
            markup=False,
            highlight=False,
        )
        out.print(f"    {a.message}", markup=False, highlight=False)


@monitor_app.command("ack")
@handled
def ack(
    alert_id: Annotated[int, typer.Argument(help="Alert id.")],
    note: Annotated[str, typer.Option("--note", help="What you checked or will do.")],
) -> None:
    """Acknowledge an open alert with a note (audited)."""
    st = _store()
    try:
        a = monitoring.acknowledge_alert(st, _actor(), alert_id, note, address=_ADDRESS)
    finally:
        st.dispose()
    out.print(f"Alert {a.id} acknowledged.")


@monitor_app.command("resolve")
@handled
def resolve(
    alert_id: Annotated[int, typer.Argument(help="Alert id.")],
    action: Annotated[
        str, typer.Option("--action", help="investigate, re-threshold or suspend-tool.")
    ],
    note: Annotated[str, typer.Option("--note", help="What was found and done.")],
) -> None:
    """Resolve an alert with the action taken; suspend-tool suspends the tool (audited)."""
    st = _store()
    try:
        a = monitoring.resolve_alert(st, _actor(), alert_id, action, note, address=_ADDRESS)
    finally:
        st.dispose()
    extra = f"; {a.tool} is suspended" if action == "suspend-tool" else ""
    out.print(f"Alert {a.id} resolved ({a.resolution}){extra}.")
