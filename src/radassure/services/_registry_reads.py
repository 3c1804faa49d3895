"""Reading the registry: sites, tools with versions and history, data counts."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from radassure.db import AIResult, AITool, Reference, Site, ToolVersion, session_scope
from radassure.errors import NotFoundError
from radassure.services._registry_types import SiteInfo, ToolCounts, ToolInfo, tool_info
from radassure.services.store import Store

__all__ = ["get_tool", "list_sites", "list_tools", "tool_counts", "tool_row"]


def tool_row(session: Session, name: str) -> AITool:
    """Return the tool row named ``name`` or raise NotFoundError listing the tools."""
    tool = session.scalar(select(AITool).where(AITool.name == name))
    if tool is None:
        known = session.scalars(select(AITool.name).order_by(AITool.name)).all()
        hint = (
            f" Registered tools: {', '.join(known)}." if known else " No tools are registered yet."
        )
        raise NotFoundError(
            f"No tool named {name!r} is registered.{hint} Add it with `radassure tool add`."
        )
    return tool


def list_sites(store: Store) -> list[SiteInfo]:
    """Return every site, ordered by code."""
    with session_scope(store.engine) as s:
        return [SiteInfo(x.code, x.name) for x in s.scalars(select(Site).order_by(Site.code))]


def get_tool(store: Store, name: str) -> ToolInfo:
    """Return one tool with versions, claims and status history."""
    with session_scope(store.engine) as s:
        return tool_info(tool_row(s, name))


def list_tools(store: Store) -> list[ToolInfo]:
    """Return every tool, ordered by name."""
    with session_scope(store.engine) as s:
        return [tool_info(t) for t in s.scalars(select(AITool).order_by(AITool.name))]


def tool_counts(store: Store, name: str) -> ToolCounts:
    """Count studies, results and referenced results for a tool."""
    with session_scope(store.engine) as s:
        tool = tool_row(s, name)
        by_version = dict(
            s.execute(
                select(ToolVersion.version, func.count(AIResult.id))
                .join(AIResult, AIResult.version_id == ToolVersion.id, isouter=True)
                .where(ToolVersion.tool_id == tool.id)
                .group_by(ToolVersion.version)
            ).all()
        )
        base = select(AIResult).join(ToolVersion).where(ToolVersion.tool_id == tool.id).subquery()
        studies = s.scalar(select(func.count(func.distinct(base.c.study_id)))) or 0
        results = s.scalar(select(func.count()).select_from(base)) or 0
        with_ref = (
            s.scalar(
                select(func.count())
                .select_from(base)
                .join(
                    Reference,
                    (Reference.study_id == base.c.study_id) & (Reference.finding == base.c.finding),
                )
            )
            or 0
        )
    return ToolCounts(studies, results, with_ref, by_version)
