"""The ``radassure`` command line: parse, call a service, print.

Every command answers ``--help`` in plain words; commands that list or report
take ``--json`` for machine-readable output. Errors are printed as the
sentence the service raised (naming file, row, column and the fix) with a
non-zero exit status, never as a traceback.
"""

from __future__ import annotations

import datetime as dt
import functools
import getpass
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from radassure import __version__
from radassure.config import Settings
from radassure.errors import DataValidationError, RadassureError
from radassure.services import (
    ON_CONFLICT,
    ClaimInfo,
    Store,
    ToolInfo,
    add_claim,
    add_site,
    add_tool,
    add_version,
    build_demo,
    get_tool,
    ingest_csv,
    init_store,
    list_sites,
    list_tools,
    open_store,
    set_status,
    tool_counts,
)
from radassure.services.auth import Actor, system_actor

__all__ = ["CLI_ADDRESS", "app", "cli_actor", "main"]

P = ParamSpec("P")
R = TypeVar("R")

app = typer.Typer(
    name="radassure",
    help="Keep the department's clinical AI tools safe: registry, local validation, "
    "equity checks, monitoring and governance evidence.",
    no_args_is_help=True,
    add_completion=False,
)
tool_app = typer.Typer(
    help="Register AI tools and manage their lifecycle status.", no_args_is_help=True
)
version_app = typer.Typer(
    help="Register tool versions and the manufacturer's claims.", no_args_is_help=True
)
site_app = typer.Typer(
    help="Register the department's sites (hospitals, units).", no_args_is_help=True
)
app.add_typer(tool_app, name="tool")
app.add_typer(version_app, name="version")
app.add_typer(site_app, name="site")

out = Console()
err = Console(stderr=True)
_state: dict[str, Any] = {}

JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def _settings() -> Settings:
    home = _state.get("home")
    return Settings(home=home) if home is not None else Settings()


def _store() -> Store:
    return open_store(_settings())


#: What the audit trail records as the "address" of a change made at the command line.
CLI_ADDRESS = "cli"


def cli_actor(by: str | None = None) -> Actor:
    """Return who acts at the command line: the local login, as a system actor.

    Whoever runs the CLI on the server can read the database and the site
    secret already, so the CLI acts with every permission; the audit trail and
    the history name ``cli:<login>``. ``by`` (a ``--by`` option) names the
    person the operator acts for, kept as ``<by> (cli:<login>)`` so neither is lost.

    Examples
    --------
    >>> cli_actor("Dr Test").name.startswith("Dr Test (cli:")
    True

    """
    try:
        login = getpass.getuser()
    except (KeyError, OSError):  # containers may run as a uid without a passwd entry
        login = "unknown"
    name = f"cli:{login}" if not by else f"{by.strip()} (cli:{login})"
    return system_actor(name)


def _fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[bold red]Error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def handled(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn radassure errors and bad arguments into a message and exit status."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except DataValidationError as exc:
            if _state.get("json"):
                print(json.dumps(exc.to_dict(), indent=2))
            raise _fail(exc.message, 2) from None
        except RadassureError as exc:
            raise _fail(exc.message) from None
        except ValueError as exc:
            raise _fail(str(exc), 2) from None

    return wrapper


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))


@app.callback()
def _root(
    home: Annotated[
        Path | None,
        typer.Option(
            "--home",
            help="Folder of the installation (database and site secret). "
            "Default: $RADASSURE_HOME or ./radassure-data.",
        ),
    ] = None,
    version: Annotated[bool, typer.Option("--version", help="Print the version.")] = False,
) -> None:
    if version:
        print(__version__)
        raise typer.Exit()
    _state["home"] = home


@app.command()
@handled
def init(json_out: JsonOpt = False) -> None:
    """Create the site secret (if missing) and create or upgrade the database."""
    report = init_store(_settings())
    if json_out:
        _print_json(report.__dict__)
        return
    out.print(f"Database: {report.database} (schema {report.revision_after})")
    if report.secret_created:
        out.print(
            f"Created the site secret {report.secret_file} (mode 600). Back it up "
            "safely: without it, new data cannot be linked to existing pseudonyms."
        )
    elif report.secret_file:
        out.print(f"Using the existing site secret {report.secret_file}.")
    out.print("Next: register sites (radassure site add) and tools (radassure tool add).")


# -- sites -----------------------------------------------------------------
@site_app.command("add")
@handled
def site_add(
    code: Annotated[str, typer.Argument(help="Short site code used in data files, e.g. RXH01.")],
    name: Annotated[str | None, typer.Option(help="Full name of the site.")] = None,
) -> None:
    """Register a site."""
    with_store = _store()
    try:
        site = add_site(with_store, code, name, actor=cli_actor(), address=CLI_ADDRESS)
    finally:
        with_store.dispose()
    out.print(f"Site {site.code} ({site.name}) is registered.")


@site_app.command("list")
@handled
def site_list(json_out: JsonOpt = False) -> None:
    """List sites."""
    st = _store()
    try:
        sites = list_sites(st)
    finally:
        st.dispose()
    if json_out:
        _print_json([s.__dict__ for s in sites])
        return
    table = Table("code", "name", title="Sites")
    for s in sites:
        table.add_row(s.code, s.name)
    out.print(table)


# -- tools -----------------------------------------------------------------
@tool_app.command("add")
@handled
def tool_add(
    name: Annotated[str, typer.Argument(help="Name the department uses for the tool.")],
    manufacturer: Annotated[str, typer.Option(help="Manufacturer (legal manufacturer).")],
    task: Annotated[str, typer.Option(help="classification, detection or segmentation.")],
    product: Annotated[str | None, typer.Option(help="Product name as marketed.")] = None,
    intended_use: Annotated[str | None, typer.Option(help="Intended use statement.")] = None,
    modality: Annotated[str | None, typer.Option(help="DICOM modality, e.g. DX, CT.")] = None,
    body_part: Annotated[str | None, typer.Option(help="Body part, e.g. CHEST.")] = None,
    clinical_pathway: Annotated[str | None, typer.Option(help="Clinical pathway.")] = None,
    marking: Annotated[str | None, typer.Option(help="UKCA, CE, CE-UKNI or none.")] = None,
    device_class: Annotated[str | None, typer.Option(help="I, IIa, IIb or III.")] = None,
    mhra_reference: Annotated[str | None, typer.Option(help="MHRA registration ref.")] = None,
    udi_di: Annotated[str | None, typer.Option(help="UDI device identifier.")] = None,
    clinical_owner: Annotated[str | None, typer.Option(help="Accountable clinician.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Register an AI tool (it starts as 'proposed')."""
    st = _store()
    try:
        info = add_tool(
            st, name=name, manufacturer=manufacturer, task=task, product=product,
            intended_use=intended_use, modality=modality, body_part=body_part,
            clinical_pathway=clinical_pathway, regulatory_marking=marking,
            device_class=device_class, mhra_reference=mhra_reference, udi_di=udi_di,
            clinical_owner=clinical_owner, actor=cli_actor(), address=CLI_ADDRESS,
        )  # fmt: skip
    finally:
        st.dispose()
    if json_out:
        _print_json(info.to_dict())
        return
    out.print(
        f"Tool {info.name!r} is registered (status {info.status}). Next: "
        f"radassure version add {info.name!r} VERSION --threshold T"
    )


def _live_version(t: ToolInfo) -> str:
    return t.versions[-1].version if t.versions else "-"


@tool_app.command("list")
@handled
def tool_list(json_out: JsonOpt = False) -> None:
    """List registered tools with status and latest version."""
    st = _store()
    try:
        tools = list_tools(st)
    finally:
        st.dispose()
    if json_out:
        _print_json([t.to_dict() for t in tools])
        return
    table = Table(
        "name", "manufacturer", "task", "modality", "status", "latest version", title="AI tools"
    )
    for t in tools:
        table.add_row(t.name, t.manufacturer, t.task, t.modality or "-", t.status, _live_version(t))
    out.print(table)


@tool_app.command("show")
@handled
def tool_show(name: str, json_out: JsonOpt = False) -> None:
    """Show one tool: registry fields, versions, claims, status history, data counts."""
    st = _store()
    try:
        info = get_tool(st, name)
        counts = tool_counts(st, name)
    finally:
        st.dispose()
    if json_out:
        _print_json({**info.to_dict(), "counts": counts.__dict__})
        return
    out.print(f"[bold]{info.name}[/] ({info.manufacturer}) - {info.task}, status {info.status}")
    for label in (
        "product",
        "intended_use",
        "modality",
        "body_part",
        "clinical_pathway",
        "regulatory_marking",
        "device_class",
        "mhra_reference",
        "udi_di",
        "clinical_owner",
    ):
        value = getattr(info, label)
        if value:
            out.print(f"  {label.replace('_', ' ')}: {value}")
    table = Table(
        "version", "deployed", "threshold", "score range", "results", "claims", title="Versions"
    )
    for v in info.versions:
        claims = "; ".join(f"{c.metric} {c.value:g}" for c in v.claims) or "-"
        table.add_row(
            v.version,
            str(v.deployment_date or "-"),
            "-" if v.operating_threshold is None else f"{v.operating_threshold:g}",
            f"{v.score_min:g} to {v.score_max:g}",
            str(counts.by_version.get(v.version, 0)),
            claims,
        )
    out.print(table)
    out.print(
        f"Data: {counts.studies} studies, {counts.results} results, "
        f"{counts.results_with_reference} with a reference standard."
    )
    out.print("Status history:")
    for h in info.status_history:
        who = f" by {h.changed_by}" if h.changed_by else ""
        why = f" ({h.reason})" if h.reason else ""
        out.print(
            f"  {h.changed_at:%Y-%m-%d %H:%M} {h.from_status or '-'} -> {h.to_status}{who}{why}"
        )


@tool_app.command("status")
@handled
def tool_status(
    name: str,
    status: Annotated[
        str, typer.Argument(help="proposed, evaluating, approved, live, suspended or retired.")
    ],
    reason: Annotated[str | None, typer.Option(help="Why (kept in the history).")] = None,
    by: Annotated[str | None, typer.Option(help="Who decided (kept with your login name).")] = None,
) -> None:
    """Move a tool to a new lifecycle status (the change is kept in its history)."""
    st = _store()
    try:
        info = set_status(st, name, status, actor=cli_actor(by), reason=reason, address=CLI_ADDRESS)
    finally:
        st.dispose()
    out.print(f"Tool {info.name!r} is now {info.status}.")


# -- versions --------------------------------------------------------------
@version_app.command("add")
@handled
def version_add(
    tool: Annotated[str, typer.Argument(help="Registered tool name.")],
    version: Annotated[str, typer.Argument(help="Version as the manufacturer states it.")],
    threshold: Annotated[
        float | None,
        typer.Option(help="Operating threshold: scores at or above it are positive calls."),
    ] = None,
    deployed: Annotated[str | None, typer.Option(help="Deployment date, YYYY-MM-DD.")] = None,
    score_min: Annotated[float, typer.Option(help="Lowest possible score.")] = 0.0,
    score_max: Annotated[float, typer.Option(help="Highest possible score.")] = 1.0,
    notes: Annotated[str | None, typer.Option(help="Free-text notes.")] = None,
) -> None:
    """Register a version of a tool."""
    when: dt.date | None = None
    if deployed:
        try:
            when = dt.date.fromisoformat(deployed)
        except ValueError:
            raise _fail(f"--deployed {deployed!r} is not a date; use YYYY-MM-DD.", 2) from None
    st = _store()
    try:
        v = add_version(
            st,
            tool,
            version,
            deployment_date=when,
            operating_threshold=threshold,
            score_min=score_min,
            score_max=score_max,
            notes=notes,
            actor=cli_actor(),
            address=CLI_ADDRESS,
        )
    finally:
        st.dispose()
    out.print(f"Version {v.version} of {tool!r} is registered.")


@version_app.command("claim")
@handled
def version_claim(
    tool: str,
    version: str,
    metric: Annotated[str, typer.Argument(help="e.g. sensitivity, specificity, auc.")],
    value: Annotated[float, typer.Argument(help="Claimed value, e.g. 0.92.")],
    ci_low: Annotated[float | None, typer.Option(help="Lower CI bound, if given.")] = None,
    ci_high: Annotated[float | None, typer.Option(help="Upper CI bound, if given.")] = None,
    finding: Annotated[str, typer.Option(help="Finding the claim is about, if any.")] = "",
    source: Annotated[str | None, typer.Option(help="Source document and section.")] = None,
) -> None:
    """Record the manufacturer's claimed performance for a version."""
    st = _store()
    try:
        add_claim(
            st,
            tool,
            version,
            ClaimInfo(
                metric,
                value,
                finding,
                ci_low,
                ci_high,
                0.95 if ci_low is not None else None,
                source,
            ),
            actor=cli_actor(),
            address=CLI_ADDRESS,
        )
    finally:
        st.dispose()
    out.print(f"Claim recorded: {tool} {version} {metric} {value:g}.")


# -- ingestion -------------------------------------------------------------
def _parse_mapping(pairs: list[str] | None, mapping_file: Path | None) -> dict[str, str]:
    mapping: dict[str, str] = {}
    if mapping_file is not None:
        try:
            loaded = json.loads(mapping_file.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(
                f"--mapping-file {mapping_file}: cannot read a JSON object ({exc})."
            ) from exc
        if not isinstance(loaded, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in loaded.items()
        ):
            raise ValueError(
                f"--mapping-file {mapping_file} must hold a JSON object of "
                '"vendor column": "radassure column" strings.'
            )
        mapping.update(loaded)
    for pair in pairs or []:
        vendor, sep, ours = pair.partition("=")
        if not sep or not vendor.strip() or not ours.strip():
            raise ValueError(
                f"--map {pair!r} must look like VENDOR_COLUMN=radassure_column "
                "(or VENDOR_COLUMN=- to drop it)."
            )
        mapping[vendor.strip()] = ours.strip()
    return mapping


@app.command()
@handled
def ingest(
    kind: Annotated[str, typer.Argument(help="studies, results or references.")],
    file: Annotated[Path, typer.Argument(help="UTF-8 CSV file with a header row.")],
    map_: Annotated[
        list[str] | None,
        typer.Option(
            "--map", help="Rename a vendor column: VENDOR=ours (repeatable); VENDOR=- drops it."
        ),
    ] = None,
    mapping_file: Annotated[
        Path | None, typer.Option(help='JSON object {"vendor column": "radassure column"}.')
    ] = None,
    delimiter: Annotated[str, typer.Option(help="Field delimiter.")] = ",",
    on_conflict: Annotated[
        str,
        typer.Option(
            help="When a row contradicts stored data: error (reject the file), skip (keep "
            "stored) or update (replace stored)."
        ),
    ] = "error",
    create_sites: Annotated[
        bool, typer.Option(help="Register unknown site codes instead of rejecting the file.")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Load a CSV file of studies, AI results or reference standards, all or nothing.

    Identifiers are pseudonymised on arrival. A file with any problem is rejected
    whole with every problem listed (file, row, column, fix); re-loading the same
    file changes nothing. Column contract: docs/ingest.md.
    """
    _state["json"] = json_out
    if kind not in ("studies", "results", "references"):
        raise _fail(f"KIND {kind!r} must be studies, results or references.", 2)
    if on_conflict not in ON_CONFLICT:
        raise _fail(f"--on-conflict {on_conflict!r} must be error, skip or update.", 2)
    mapping = _parse_mapping(map_, mapping_file)
    st = _store()
    try:
        if sys.stderr.isatty() and not json_out:
            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.fields[rows]:,} rows"),
                TimeRemainingColumn(),
                console=err,
                transient=True,
            ) as bar:
                task = bar.add_task(f"Ingesting {file.name}", total=None, rows=0)

                def progress(done: int, total: int, rows: int) -> None:
                    bar.update(task, completed=done, total=total, rows=rows)

                summary = ingest_csv(
                    st,
                    kind,
                    file,
                    mapping=mapping,
                    delimiter=delimiter,
                    on_conflict=on_conflict,
                    create_sites=create_sites,
                    actor=cli_actor(),
                    address=CLI_ADDRESS,
                    progress=progress,
                )
        else:
            summary = ingest_csv(
                st,
                kind,
                file,
                mapping=mapping,
                delimiter=delimiter,
                on_conflict=on_conflict,
                create_sites=create_sites,
                actor=cli_actor(),
                address=CLI_ADDRESS,
            )
    finally:
        st.dispose()
    if json_out:
        _print_json(summary.to_dict())
        return
    out.print(
        f"{summary.source}: {summary.rows:,} rows; {summary.inserted:,} new, "
        f"{summary.unchanged:,} already stored, {summary.updated:,} updated, "
        f"{summary.skipped_conflicts:,} conflicting rows kept as stored "
        f"({summary.seconds:.1f} s)."
    )
    if summary.sites_created:
        out.print(f"Registered new sites: {', '.join(summary.sites_created)}")


# -- demo and serve --------------------------------------------------------
@app.command()
@handled
def demo(
    seed: Annotated[
        int, typer.Option(help="Random seed: the same seed builds the same department.")
    ] = 20250101,
    studies: Annotated[int, typer.Option(help="Number of studies.")] = 52_000,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing demo database.")] = False,
) -> None:
    """Build a synthetic demo department (two sites, three tools, a year of data).

    It is built in the folder given with the global --home (default ./radassure-demo,
    never the default installation): `radassure --home radassure-demo demo`.
    """
    home = _state.get("home") or Path("radassure-demo")
    report = build_demo(
        Settings(home=home),
        seed=seed,
        n_studies=studies,
        overwrite=overwrite,
        progress=lambda msg: err.print(msg, highlight=False),
    )
    for line in report.lines():
        out.print(line, highlight=False)


@app.command()
@handled
def serve(
    host: Annotated[
        str | None, typer.Option(help="Address to listen on (default 127.0.0.1).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000).")] = None,
) -> None:
    """Start the web app and JSON API (open the printed address in a browser)."""
    import uvicorn

    from radassure.api import create_app

    settings = _settings()
    open_store(settings).dispose()  # fail early, with a clear message, if not initialised
    uvicorn.run(
        create_app(settings),
        host=host or settings.host,
        port=port or settings.port,
        log_level="info",
    )


def main() -> None:
    """Entry point of the ``radassure`` console script."""
    app()


# Commands defined in their own modules register themselves on `app` when imported.
import radassure.cli.contours  # noqa: E402
import radassure.cli.equity  # noqa: E402
import radassure.cli.validate  # noqa: E402
from radassure.cli.security import audit_app, token_app, user_app  # noqa: E402

app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(audit_app, name="audit")

import radassure.cli.monitor  # noqa: E402, F401  # isort: skip  (registers `monitor`)
