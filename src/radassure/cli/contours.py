"""``radassure contours``: compare AI structure sets with the approved ones.

Registers the ``contours`` sub-application on :mod:`radassure.cli.main`'s app
when imported, keeping that module's conventions: errors through ``handled``
(a message naming the file, no traceback), ``--json`` for machine output.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from radassure.cli.main import (
    CLI_ADDRESS,
    JsonOpt,
    _fail,
    _print_json,
    _settings,
    app,
    cli_actor,
    err,
    handled,
    out,
)
from radassure.services import open_store
from radassure.services.contours import (
    ContourComparison,
    baseline_from_run,
    compare_batch,
    compare_structure_sets,
    contour_report,
    contour_results,
    read_mapping,
    save_contour_run,
)

__all__ = ["batch", "compare", "contours_app"]

contours_app = typer.Typer(
    help="Contour QA: AI structure sets against the approved ones (Dice, HD95, APL).",
    no_args_is_help=True,
)
app.add_typer(contours_app, name="contours")

MappingOpt = Annotated[
    Path | None,
    typer.Option("--mapping", help="Local ROI name -> TG-263 name, a JSON or CSV file."),
]
ToleranceOpt = Annotated[
    float, typer.Option("--tolerance", help="Surface Dice and APL tolerance in mm.")
]
OutputOpt = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write the HTML report here.")
]
ToolOpt = Annotated[
    str | None, typer.Option("--tool", help="Registered tool: save the run under it.")
]
VersionOpt = Annotated[
    str | None, typer.Option("--version", help="Its registered version (with --tool).")
]
ByOpt = Annotated[str | None, typer.Option("--by", help="Who runs it (kept with the run).")]


def _fmt(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _check_tool(tool: str | None, version: str | None) -> None:
    if (tool is None) != (version is None):
        raise _fail("Give --tool and --version together to save the run (or neither).", 2)


def _finish(
    comparisons: Sequence[ContourComparison],
    results: dict[str, Any],
    *,
    tool: str | None,
    version: str | None,
    by: str | None,
    output: Path | None,
    json_out: bool,
) -> None:
    run = None
    if tool is not None and version is not None:
        st = open_store(_settings())
        try:
            run = save_contour_run(
                st,
                comparisons,
                results,
                tool=tool,
                version=version,
                actor=cli_actor(by),
                address=CLI_ADDRESS,
            )
        finally:
            st.dispose()
    if output is not None:
        html = run.report_html if run is not None else contour_report(results)
        try:
            output.write_text(html or "", encoding="utf-8")
        except OSError as exc:
            raise _fail(f"Could not write the report to {output} ({exc.strerror}).") from None
    if json_out:
        data = run.to_dict() if run is not None else {"run": None, "results": results}
        _print_json({**data, "report_path": str(output) if output else None})
        return
    _print(results)
    if run is not None:
        out.print(f"Saved as run {run.id}; data fingerprint {run.data_fingerprint}.")
    if output is not None:
        out.print(f"Report written to {output}.", soft_wrap=True)


def _print(results: dict[str, Any]) -> None:
    table = Table("structure", "paired", "median Dice", "median HD95 (mm)", "median APL (mm)")
    for s in results["structures"]:
        dist = s["distributions"]
        table.add_row(
            s["structure"],
            str(s["n_paired"]),
            _fmt(dist["dice"]["median"]),
            _fmt(dist["hd95"]["median"], 2),
            _fmt(dist["apl_mm"]["median"], 1),
        )
    out.print(table)
    for p in results["patients"]:
        for u in p["missed"]:
            out.print(f"  {p['patient']}: {u['structure']} missed by the AI", highlight=False)
        for u in p["hallucinated"]:
            out.print(f"  {p['patient']}: {u['structure']} added by the AI", highlight=False)
    for o in results["outliers"]:
        value = o["value"] if o["metric"] == "status" else _fmt(o["value"], 3)
        out.print(
            f"  [bold red]outlier[/] {o['patient']} {o['structure']}: {o['metric']} {value}",
            highlight=False,
        )


@contours_app.command()
@handled
def compare(
    ai: Annotated[Path, typer.Option("--ai", help="The AI tool's RTSTRUCT file.")],
    approved: Annotated[Path, typer.Option("--approved", help="The approved RTSTRUCT file.")],
    images: Annotated[Path, typer.Option("--images", help="Folder of the image series.")],
    mapping: MappingOpt = None,
    tolerance: ToleranceOpt = 2.0,
    output: OutputOpt = None,
    tool: ToolOpt = None,
    version: VersionOpt = None,
    by: ByOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Compare one patient's AI structure set with the approved one."""
    _check_tool(tool, version)
    names = read_mapping(mapping) if mapping is not None else None
    comparison = compare_structure_sets(ai, approved, images, mapping=names, tolerance_mm=tolerance)
    parameters = {"tolerance_mm": tolerance, "method": "surface", "mapping": names}
    results = contour_results([comparison], parameters=parameters)
    _finish(
        [comparison], results, tool=tool, version=version, by=by, output=output, json_out=json_out
    )


@contours_app.command()
@handled
def batch(
    folder: Annotated[Path, typer.Argument(help="One subfolder per patient.")],
    mapping: MappingOpt = None,
    tolerance: ToleranceOpt = 2.0,
    ai_pattern: Annotated[
        str, typer.Option(help="File name pattern of the AI RTSTRUCT in each patient folder.")
    ] = "ai*.dcm",
    approved_pattern: Annotated[
        str, typer.Option(help="File name pattern of the approved RTSTRUCT.")
    ] = "approved*.dcm",
    baseline_run: Annotated[
        int | None,
        typer.Option(help="Outlier limits from this earlier contour run (default: the batch)."),
    ] = None,
    output: OutputOpt = None,
    tool: ToolOpt = None,
    version: VersionOpt = None,
    by: ByOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Compare every patient folder's AI structure set with the approved one.

    Each patient subfolder holds its image series and two RTSTRUCT files named
    by --ai-pattern and --approved-pattern (default ai*.dcm and approved*.dcm).
    """
    _check_tool(tool, version)
    names = read_mapping(mapping) if mapping is not None else None
    baseline = None
    if baseline_run is not None:
        st = open_store(_settings())
        try:
            baseline = baseline_from_run(st, baseline_run)
        finally:
            st.dispose()
    options: dict[str, Any] = {
        "mapping": names,
        "tolerance_mm": tolerance,
        "ai_pattern": ai_pattern,
        "approved_pattern": approved_pattern,
    }
    if sys.stderr.isatty() and not json_out:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} patients"),
            TimeRemainingColumn(),
            console=err,
            transient=True,
        ) as bar:
            task = bar.add_task("Comparing structure sets", total=None)

            def progress(done: int, total: int, patient: str) -> None:
                bar.update(task, completed=done, total=total, description=patient)

            comparisons = compare_batch(folder, progress=progress, **options)
    else:
        comparisons = compare_batch(folder, **options)
    parameters = {
        **options,
        "method": "surface",
        "baseline_run": baseline_run,
    }
    results = contour_results(
        comparisons,
        parameters=parameters,
        baseline=baseline,
        baseline_label=f"run {baseline_run}" if baseline_run is not None else None,
    )
    _finish(
        comparisons, results, tool=tool, version=version, by=by, output=output, json_out=json_out
    )
