"""``radassure equity``: check a tool version for worse performance in patient groups.

The command registers itself on the application of :mod:`radassure.cli.main`
when imported (``cli/main.py`` imports this module at its end), like
``radassure validate``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from radassure.cli.main import CLI_ADDRESS, JsonOpt, _settings, app, cli_actor, handled, out
from radassure.cli.validate import _date, emit_run
from radassure.services import open_store
from radassure.services.equity import ATTRIBUTES, DEFAULT_ATTRIBUTES, run_equity
from radassure.services.runs import RunInfo

__all__ = ["equity"]


def _print_run(run: RunInfo, report: Path | None) -> None:
    r = run.results
    scope = r["scope"] or "all sites, findings and dates"
    out.print(
        f"[bold]Equity run {run.id}[/]: {run.tool} {run.version}, {scope}: "
        f"{r['n']:,} results with a reference standard ({r['positives']:,} positive), "
        f"attributes {', '.join(r['attributes'])}; {r['n_tests']:,} gaps tested.",
        highlight=False,
    )
    if r["flags"]:
        table = Table(
            "attribute", "group", "metric", "group", "everyone else", "difference", "adjusted p"
        )
        for f in r["flags"]:
            table.add_row(
                f["attribute"],
                f["group"],
                f["metric"],
                f"{f['estimate']:.3f}",
                f"{f['reference']:.3f}",
                f"[bold red]{f['difference']:+.3f}[/]",
                "< 0.001" if f["p_adjusted"] < 0.001 else f"{f['p_adjusted']:.3f}",
            )
        out.print(table)
        for f in r["flags"]:
            out.print(f"  {f['reading']}", highlight=False)
    else:
        out.print("[green]No group was flagged[/] (margin and correction as in the report).")
    if r["insufficient"]:
        groups = sorted({f"{i['attribute']} {i['group']}" for i in r["insufficient"]})
        out.print(
            f"[yellow]Insufficient data[/] for {len(groups)} group(s): {', '.join(groups)}.",
            highlight=False,
        )
    for w in r["completeness"]["warnings"]:
        out.print(f"[yellow]Missingness[/]: {w['message']}", highlight=False)
    out.print(f"Data fingerprint: {run.data_fingerprint}", soft_wrap=True)
    if report is not None:
        out.print(f"Report written to {report}.", soft_wrap=True)
    out.print(f"The report is kept with the run: `radassure serve`, then open /runs/{run.id}.")


@app.command()
@handled
def equity(
    tool: Annotated[str, typer.Option("--tool", help="Registered tool name.")],
    version: Annotated[str, typer.Option("--version", help="Tool version to check.")],
    attributes: Annotated[
        str,
        typer.Option(
            help=f"Comma-separated attributes to compare, of {', '.join(ATTRIBUTES)}. "
            "Equipment attributes (site, manufacturer, model) are opt-in."
        ),
    ] = ",".join(DEFAULT_ATTRIBUTES),
    finding: Annotated[
        str | None, typer.Option(help="Only this finding; default every finding, pooled.")
    ] = None,
    site: Annotated[str | None, typer.Option(help="Only studies from this site code.")] = None,
    date_from: Annotated[
        str | None, typer.Option("--from", help="First acquisition day, YYYY-MM-DD (UTC).")
    ] = None,
    date_to: Annotated[
        str | None, typer.Option("--to", help="Last acquisition day, YYYY-MM-DD (inclusive).")
    ] = None,
    margin: Annotated[
        float, typer.Option(help="Smallest gap that matters clinically (absolute).")
    ] = 0.05,
    correction: Annotated[
        str, typer.Option(help="Multiple-comparison correction: holm (default) or bh.")
    ] = "holm",
    by: Annotated[str | None, typer.Option(help="Who runs it (kept with the run).")] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Also write the HTML report here.")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Check a tool version for worse performance in patient groups: flags, report.

    Compares sensitivity, specificity and the AUC (at the operating threshold)
    of every group with everyone else; flags gaps larger than the margin that
    stay significant after correction; lists groups too small to tell, and how
    complete the attributes are by site. The run is saved and shown at /runs/ID.
    """
    start, end = _date(date_from, "--from"), _date(date_to, "--to")
    st = open_store(_settings())
    try:
        run = run_equity(
            st,
            tool,
            version,
            attributes=attributes,
            finding=finding,
            site=site,
            date_from=start,
            date_to=end,
            margin=margin,
            correction=correction,
            actor=cli_actor(by),
            address=CLI_ADDRESS,
        )
    finally:
        st.dispose()
    emit_run(run, output, json_out=json_out, show=_print_run)
