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
from radassure.db.security import Adjudication, ApiToken, AuditEvent, Review, User, WebSession

# Imported for its tables: Alembic and the metadata see them (names via radassure.db.monitoring).
import radassure.db.monitoring  # noqa: F401  # isort: skip

__all__ = [
    "AIResult",
    "AITool",
    "Adjudication",
    "ApiToken",
    "AuditEvent",
    "Base",
    "ClaimedPerformance",
    "IngestLog",
    "Reference",
    "Review",
    "Site",
    "Study",
    "ToolStatusChange",
    "ToolVersion",
    "User",
    "WebSession",
    "alembic_config",
    "current_revision",
    "head_revision",
    "make_engine",
    "session_scope",
    "upgrade",
]
