"""SQLAlchemy 2 tables of the store.

Times are stored as naive UTC. Patient and study identifiers never reach these
tables: only their keyed hashes (``patient_key``, ``study_key``) do.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

__all__ = [
    "DEVICE_CLASSES",
    "ETHNIC_CATEGORIES",
    "LIFECYCLE_STATUSES",
    "REFERENCE_SOURCES",
    "REGULATORY_MARKINGS",
    "RUN_KINDS",
    "SEX_CODES",
    "TASKS",
    "AIResult",
    "AITool",
    "Base",
    "ClaimedPerformance",
    "IngestLog",
    "Reference",
    "Run",
    "Site",
    "Study",
    "ToolStatusChange",
    "ToolVersion",
    "utcnow",
]

TASKS = ("classification", "detection", "segmentation")
LIFECYCLE_STATUSES = ("proposed", "evaluating", "approved", "live", "suspended", "retired")
REGULATORY_MARKINGS = ("UKCA", "CE", "CE-UKNI", "none")
DEVICE_CLASSES = ("I", "IIa", "IIb", "III")
REFERENCE_SOURCES = ("report", "consensus", "pathology", "follow-up")
#: Analyses kept as runs; only "validation" is produced so far.
RUN_KINDS = ("validation", "equity", "monitoring", "contours")
#: F female, M male, O other / indeterminate, U not known or not stated.
SEX_CODES = ("F", "M", "O", "U")
#: NHS Data Dictionary ethnic category codes (2001 census based), Z = not stated,
#: 99 = not known.
ETHNIC_CATEGORIES = (
    "A", "B", "C", "D", "E", "F", "G", "H", "J", "K", "L",
    "M", "N", "P", "R", "S", "Z", "99",
)  # fmt: skip

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    """Return the current time as naive UTC, the store's convention."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _in(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"


class Base(DeclarativeBase):
    """Declarative base with stable constraint names (for migrations)."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON(none_as_null=True)}


class Site(Base):
    """A hospital or unit."""

    __tablename__ = "site"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class AITool(Base):
    """An AI product as deployed in the department."""

    __tablename__ = "ai_tool"
    __table_args__ = (
        CheckConstraint(_in("task", TASKS), name="task"),
        CheckConstraint(_in("status", LIFECYCLE_STATUSES), name="status"),
        CheckConstraint(
            "regulatory_marking IS NULL OR " + _in("regulatory_marking", REGULATORY_MARKINGS),
            name="marking",
        ),
        CheckConstraint(
            "device_class IS NULL OR " + _in("device_class", DEVICE_CLASSES), name="device_class"
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    manufacturer: Mapped[str] = mapped_column(String(200))
    product: Mapped[str | None] = mapped_column(String(200))
    intended_use: Mapped[str | None] = mapped_column(Text)
    task: Mapped[str] = mapped_column(String(20))
    modality: Mapped[str | None] = mapped_column(String(16))
    body_part: Mapped[str | None] = mapped_column(String(64))
    clinical_pathway: Mapped[str | None] = mapped_column(String(200))
    regulatory_marking: Mapped[str | None] = mapped_column(String(16))
    device_class: Mapped[str | None] = mapped_column(String(8))
    mhra_reference: Mapped[str | None] = mapped_column(String(64))
    udi_di: Mapped[str | None] = mapped_column(String(64))
    clinical_owner: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="proposed")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    versions: Mapped[list[ToolVersion]] = relationship(
        back_populates="tool", order_by="ToolVersion.id"
    )
    status_history: Mapped[list[ToolStatusChange]] = relationship(
        back_populates="tool", order_by="ToolStatusChange.id"
    )


class ToolStatusChange(Base):
    """One change of a tool's lifecycle status (append-only history)."""

    __tablename__ = "tool_status_change"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tool_id: Mapped[int] = mapped_column(ForeignKey("ai_tool.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    changed_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    changed_by: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)

    tool: Mapped[AITool] = relationship(back_populates="status_history")


class ToolVersion(Base):
    """A version of a tool: threshold, score range and claimed performance."""

    __tablename__ = "tool_version"
    __table_args__ = (
        UniqueConstraint("tool_id", "version"),
        CheckConstraint("score_min < score_max", name="score_range"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tool_id: Mapped[int] = mapped_column(ForeignKey("ai_tool.id", ondelete="CASCADE"))
    version: Mapped[str] = mapped_column(String(64))
    deployment_date: Mapped[dt.date | None] = mapped_column(Date)
    operating_threshold: Mapped[float | None] = mapped_column(Float)
    score_min: Mapped[float] = mapped_column(Float, default=0.0)
    score_max: Mapped[float] = mapped_column(Float, default=1.0)
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    tool: Mapped[AITool] = relationship(back_populates="versions")
    claims: Mapped[list[ClaimedPerformance]] = relationship(
        back_populates="version", order_by="ClaimedPerformance.id"
    )


class ClaimedPerformance(Base):
    """A performance figure the manufacturer claims for a version."""

    __tablename__ = "claimed_performance"
    __table_args__ = (UniqueConstraint("version_id", "metric", "finding"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("tool_version.id", ondelete="CASCADE"))
    metric: Mapped[str] = mapped_column(String(64))
    finding: Mapped[str] = mapped_column(String(64), default="")
    value: Mapped[float] = mapped_column(Float)
    ci_low: Mapped[float | None] = mapped_column(Float)
    ci_high: Mapped[float | None] = mapped_column(Float)
    level: Mapped[float | None] = mapped_column(Float)
    source_document: Mapped[str | None] = mapped_column(String(500))

    version: Mapped[ToolVersion] = relationship(back_populates="claims")


class Study(Base):
    """One imaging study or RT plan, pseudonymised."""

    __tablename__ = "study"
    __table_args__ = (
        Index("ix_study_site_time", "site_id", "acquired_at"),
        CheckConstraint(_in("sex", SEX_CODES), name="sex"),
        CheckConstraint("age_years IS NULL OR (age_years >= 0 AND age_years <= 130)", name="age"),
        CheckConstraint(
            "deprivation_decile IS NULL OR (deprivation_decile BETWEEN 1 AND 10)",
            name="deprivation",
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_key: Mapped[str] = mapped_column(String(64), unique=True)
    patient_key: Mapped[str] = mapped_column(String(64), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"))
    acquired_at: Mapped[dt.datetime] = mapped_column(DateTime)
    modality: Mapped[str] = mapped_column(String(16))
    manufacturer: Mapped[str | None] = mapped_column(String(100))
    model: Mapped[str | None] = mapped_column(String(100))
    software_version: Mapped[str | None] = mapped_column(String(100))
    body_part: Mapped[str | None] = mapped_column(String(64))
    acquisition: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    sex: Mapped[str] = mapped_column(String(1), default="U")
    age_years: Mapped[int | None] = mapped_column(SmallInteger)
    ethnic_group: Mapped[str | None] = mapped_column(String(2))
    deprivation_decile: Mapped[int | None] = mapped_column(SmallInteger)


class AIResult(Base):
    """What a tool version said about one finding on one study."""

    __tablename__ = "ai_result"
    __table_args__ = (
        # Also serves lookups by version; results of one study are found through
        # (version, study). A (study, finding) index cost a third of insert time.
        UniqueConstraint("version_id", "study_id", "finding"),
        # The review queue: a version's results newest first, one index probe even
        # for an old version under millions of newer results (migration 0005).
        Index("ix_ai_result_version_id_id", "version_id", "id"),
        CheckConstraint("score IS NOT NULL OR call IS NOT NULL", name="score_or_call"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("tool_version.id"))
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id"))
    finding: Mapped[str] = mapped_column(String(64))
    score: Mapped[float | None] = mapped_column(Float)
    call: Mapped[bool | None] = mapped_column(Boolean)
    localisations: Mapped[Any | None] = mapped_column(JSON(none_as_null=True))
    received_at: Mapped[dt.datetime] = mapped_column(DateTime)


class Reference(Base):
    """The reference standard for one finding on one study."""

    __tablename__ = "reference"
    __table_args__ = (
        UniqueConstraint("study_id", "finding"),
        CheckConstraint(_in("source", REFERENCE_SOURCES), name="source"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id"))
    finding: Mapped[str] = mapped_column(String(64))
    label: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(String(16))
    localisations: Mapped[Any | None] = mapped_column(JSON(none_as_null=True))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime)


class IngestLog(Base):
    """One accepted ingestion: what came in, its fingerprint and what changed."""

    __tablename__ = "ingest_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    source_name: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64))
    rows_total: Mapped[int] = mapped_column(Integer)
    rows_inserted: Mapped[int] = mapped_column(Integer)
    rows_unchanged: Mapped[int] = mapped_column(Integer)
    rows_updated: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime)
    finished_at: Mapped[dt.datetime] = mapped_column(DateTime)
    actor: Mapped[str | None] = mapped_column(String(200))


class Run(Base):
    """One analysis (validation, equity, monitoring, contours): inputs, results, who ran it.

    ``data_fingerprint`` is a SHA-256 over the data rows the analysis used, so a
    rerun on unchanged data gives the same fingerprint and any change shows.
    ``results`` is JSON with NaN stored as null; ``report_html`` is the
    self-contained report, kept in the table so every front can show it.
    """

    __tablename__ = "run"
    __table_args__ = (
        CheckConstraint(_in("kind", RUN_KINDS), name="kind"),
        # The tool page lists a tool's latest runs.
        Index("ix_run_tool_created", "tool_id", "created_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    # No cascade: a run is evidence and must outlive edits to the registry.
    tool_id: Mapped[int] = mapped_column(ForeignKey("ai_tool.id"))
    version_id: Mapped[int | None] = mapped_column(ForeignKey("tool_version.id"))
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON(none_as_null=True))
    data_fingerprint: Mapped[str] = mapped_column(String(64))
    n_rows: Mapped[int] = mapped_column(Integer)
    results: Mapped[dict[str, Any]] = mapped_column(JSON(none_as_null=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(200))
    radassure_version: Mapped[str] = mapped_column(String(32))
    report_html: Mapped[str | None] = mapped_column(Text)
