"""``radassure validate``: validate a tool version on the department's data.

The command registers itself on the application of :mod:`radassure.cli.main`
when imported (``cli/main.py`` imports this module at its end), so it keeps
that module's conventions: errors through ``handled``, the installation from
``--home`` and ``--json`` for machine-readable output.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from radassure.cli.main import (
    CLI_ADDRESS,
    JsonOpt,
    _fail,
    _print_json,
    _settings,
    app,
    cli_actor,
    handled,
    out,
)
from radassure.services import open_store
from radassure.services.runs import RunInfo
from radassure.services.validation import run_validation

__all__ = ["validate"]

_OUTCOME_STYLE = {
    "consistent": "green",
    "worse": "bold red",
    "inconclusive": "yellow",
    "undefined": "dim",
    "not checked": "dim",
}


def _date(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise _fail(f"{option} {value!r} is not a date; use YYYY-MM-DD.", 2) from None


def _est(e: dict[str, Any] | None) -> str:
    if not e or e.get("value") is None:
        return "undefined"
    size = abs(e["value"])
    # Three decimals for proportions; fewer for millimetres and millilitres.
    d = 0 if size >= 100 else 1 if size >= 10 else 2 if size >= 2 else 3
    if e.get("ci_low") is None or e.get("ci_high") is None:
        return f"{e['value']:.{d}f}"
    return f"{e['value']:.{d}f} ({e['ci_low']:.{d}f} to {e['ci_high']:.{d}f})"


def _rows(finding: dict[str, Any], segmentation: bool) -> list[tuple[str, str, str, str]]:
    """(metric, local estimate, claimed, outcome) for the headline metrics and every claim."""
    if segmentation:
        local = {f"mean {k}": s["mean"] for k, s in finding["summaries"].items()}
        claim_key = {c["metric"]: f"mean {c['metric']}" for c in finding["claims"]}
    else:
        local = {
            "sensitivity": finding["metrics"]["sensitivity"],
            "specificity": finding["metrics"]["specificity"],
            "AUC": finding["auc"],
        }
        claim_key = {
            "auc": "AUC",
            "roc_auc": "AUC",
            "lesion_sensitivity": "lesion sensitivity",
            "fp_per_image": "FPs per image",
        }
        if finding.get("lesion"):
            local["lesion sensitivity"] = finding["lesion"]["lesion_sensitivity"]
            local["FPs per image"] = finding["lesion"]["fp_per_image"]
    claims = {claim_key.get(c["metric"], c["metric"]): c for c in finding["claims"]}
    rows = []
    for name in [*local, *(k for k in claims if k not in local)]:
        c = claims.get(name)
        outcome = c["outcome_text"] if c else ""
        style = _OUTCOME_STYLE.get(c["outcome"], "") if c else ""
        rows.append(
            (
                name,
                _est(local.get(name) or (c or {}).get("estimate")),
                f"{c['claimed']:g}" if c else "",
                f"[{style}]{outcome}[/]" if c else "",
            )
        )
    return rows


def emit_run(
    run: RunInfo,
    output: Path | None,
    *,
    json_out: bool,
    show: Callable[[RunInfo, Path | None], None],
) -> None:
    """Write a saved run's report to ``output`` (if given), then print JSON or ``show`` it."""
    if output is not None:
        try:
            output.write_text(run.report_html or "", encoding="utf-8")
        except OSError as exc:
            raise _fail(
                f"Could not write the report to {output} ({exc.strerror}); the run "
                f"is saved as run {run.id}."
            ) from None
    if json_out:
        _print_json({**run.to_dict(), "report_path": str(output) if output else None})
        return
    show(run, output)


def _print_run(run: RunInfo, report: Path | None) -> None:
    r = run.results
    scope = r["scope"] or "all sites, findings and dates"
    missing = r["data"]["without_reference"]
    out.print(
        f"[bold]Validation run {run.id}[/]: {run.tool} {run.version}, {scope}: "
        f"{r['data']['used']:,} results with a reference standard"
        + (f" ({missing:,} more in the window have none yet)." if missing else "."),
        highlight=False,
    )
    segmentation = r["tool"]["task"] == "segmentation"
    table = Table(
        "finding",
        "metric",
        f"local ({run.parameters['level'] * 100:g}% CI)",
        "claimed",
        "claim check",
        title=f"Margin {run.parameters['margin']:g}",
    )
    for f in r["findings"]:
        who = f["finding"]
        if not segmentation:
            who += f" ({f['counts']['positives']:,} of {f['counts']['used']:,} positive)"
        for i, row in enumerate(_rows(f, segmentation)):
            table.add_row(who if i == 0 else "", *row)
        table.add_section()
    out.print(table)
    for f in r["findings"]:
        for c in f["claims"]:
            if c["outcome"] in ("worse", "inconclusive"):
                out.print(f"  {f['finding']}: {c['verdict']}", highlight=False)
        for reason in f["undefined"]:
            out.print(f"  [dim]{f['finding']}, undefined: {reason}[/]", highlight=False)
    out.print(f"Data fingerprint: {run.data_fingerprint}", soft_wrap=True)
    if report is not None:
        out.print(f"Report written to {report}.", soft_wrap=True)
    out.print(f"The report is kept with the run: `radassure serve`, then open /runs/{run.id}.")


@app.command()
@handled
def validate(
    tool: Annotated[str, typer.Option("--tool", help="Registered tool name.")],
    version: Annotated[str, typer.Option("--version", help="Tool version to validate.")],
    site: Annotated[str | None, typer.Option(help="Only studies from this site code.")] = None,
    date_from: Annotated[
        str | None, typer.Option("--from", help="First acquisition day, YYYY-MM-DD (UTC).")
    ] = None,
    date_to: Annotated[
        str | None, typer.Option("--to", help="Last acquisition day, YYYY-MM-DD (inclusive).")
    ] = None,
    finding: Annotated[
        str | None, typer.Option(help="Only this finding (or structure); default all.")
    ] = None,
    margin: Annotated[
        float, typer.Option(help="Accepted shortfall from each claim, in the metric's units.")
    ] = 0.05,
    level: Annotated[float, typer.Option(help="Confidence level of every interval.")] = 0.95,
    half_width: Annotated[
        float, typer.Option(help="Wanted CI half-width, for the sample-size statements.")
    ] = 0.05,
    max_distance: Annotated[
        float,
        typer.Option(
            help="Detection tools: largest mark-to-lesion distance for a match "
            "(coordinate units, e.g. pixels)."
        ),
    ] = 50.0,
    by: Annotated[str | None, typer.Option(help="Who runs it (kept with the run).")] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Also write the HTML report here.")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Validate a tool version on local data: metrics with CIs, claims, report.

    Uses the version's results that have a reference standard, at its operating
    threshold. The run (parameters, data fingerprint, every number and the
    self-contained HTML report) is saved and shown at /runs/ID by `radassure serve`.
    """
    start, end = _date(date_from, "--from"), _date(date_to, "--to")
    st = open_store(_settings())
    try:
        run = run_validation(
            st,
            tool,
            version,
            site=site,
            date_from=start,
            date_to=end,
            finding=finding,
            margin=margin,
            level=level,
            half_width=half_width,
            max_distance=max_distance,
            actor=cli_actor(by),
            address=CLI_ADDRESS,
        )
    finally:
        st.dispose()
    emit_run(run, output, json_out=json_out, show=_print_run)
