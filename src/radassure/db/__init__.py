"""The store: SQLAlchemy tables, engines and migrations."""

from radassure.db.engine import (
    alembic_config,
    current_revision,
    head_revision,
    make_engine,
    session_scope,
    upgrade,
)
from radassure.db.models import (
    AIResult,
    AITool,
    Base,
    ClaimedPerformance,
    IngestLog,
    Reference,
    Site,
    Study,
    ToolStatusChange,
    ToolVersion,
)

__all__ = [
    "AIResult",
    "AITool",
    "Base",
    "ClaimedPerformance",
    "IngestLog",
    "Reference",
    "Site",
    "Study",
    "ToolStatusChange",
    "ToolVersion",
    "alembic_config",
    "current_revision",
    "head_revision",
    "make_engine",
    "session_scope",
    "upgrade",
]
