"""runs: validation (later equity, monitoring, contours) analyses with their results

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("tool_id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=True),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("data_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("n_rows", sa.Integer(), nullable=False),
        sa.Column("results", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=True),
        sa.Column("radassure_version", sa.String(length=32), nullable=False),
        sa.Column("report_html", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('validation', 'equity', 'monitoring', 'contours')",
            name=op.f("ck_run_kind"),
        ),
        sa.ForeignKeyConstraint(["tool_id"], ["ai_tool.id"], name=op.f("fk_run_tool_id_ai_tool")),
        sa.ForeignKeyConstraint(
            ["version_id"], ["tool_version.id"], name=op.f("fk_run_version_id_tool_version")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_run")),
    )
    with op.batch_alter_table("run", schema=None) as batch_op:
        batch_op.create_index("ix_run_tool_created", ["tool_id", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("run", schema=None) as batch_op:
        batch_op.drop_index("ix_run_tool_created")
    op.drop_table("run")
