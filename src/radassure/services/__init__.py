"""Use cases: the only layer that combines core, ingest, db and reports."""

from radassure.services.demo import DemoReport, build_demo
from radassure.services.equity import run_equity
from radassure.services.ingestion import ON_CONFLICT, IngestSummary, ingest_csv, ingest_records
from radassure.services.registry import (
    ALLOWED_TRANSITIONS,
    ClaimInfo,
    SiteInfo,
    StatusChangeInfo,
    ToolCounts,
    ToolInfo,
    VersionInfo,
    add_claim,
    add_site,
    add_tool,
    add_version,
    get_tool,
    list_sites,
    list_tools,
    set_status,
    tool_counts,
)
from radassure.services.runs import RunInfo, get_run, list_runs
from radassure.services.store import InitReport, Store, init_store, open_store
from radassure.services.validation import run_validation

__all__ = [
    "ALLOWED_TRANSITIONS",
    "ON_CONFLICT",
    "ClaimInfo",
    "DemoReport",
    "IngestSummary",
    "InitReport",
    "RunInfo",
    "SiteInfo",
    "StatusChangeInfo",
    "Store",
    "ToolCounts",
    "ToolInfo",
    "VersionInfo",
    "add_claim",
    "add_site",
    "add_tool",
    "add_version",
    "build_demo",
    "get_run",
    "get_tool",
    "ingest_csv",
    "ingest_records",
    "init_store",
    "list_runs",
    "list_sites",
    "list_tools",
    "open_store",
    "run_equity",
    "run_validation",
    "set_status",
    "tool_counts",
]
