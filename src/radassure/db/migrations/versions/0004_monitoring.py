"""monitoring: rules, chart state and points, alerts and their delivery

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-10 10:00:00.000000

``alert`` is unique on (rule, chart key, day) and ``chart_point`` on (rule, day,
chart key): a monitoring run that is killed and started again can neither
duplicate nor lose what a committed day wrote.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "monitor_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tool_id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("finding", sa.String(length=64), nullable=False),
        sa.Column("attributes", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("arl0_cases", sa.Float(), nullable=False),
        sa.Column("p1_ratio", sa.Float(), nullable=False),
        sa.Column("min_events", sa.Integer(), nullable=False),
        sa.Column("min_group_positives", sa.Integer(), nullable=False),
        sa.Column("baseline_run_id", sa.Integer(), nullable=True),
        sa.Column("baseline_start", sa.Date(), nullable=True),
        sa.Column("baseline_end", sa.Date(), nullable=True),
        sa.Column("monitor_from", sa.Date(), nullable=False),
        sa.Column("label_complete", sa.Float(), nullable=False),
        sa.Column("label_wait_days", sa.Integer(), nullable=False),
        sa.Column("design", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("baseline_summary", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "baseline_run_id IS NOT NULL OR (baseline_start IS NOT NULL AND baseline_end IS NOT NULL)",
            name=op.f("ck_monitor_rule_baseline"),
        ),
        sa.ForeignKeyConstraint(
            ["baseline_run_id"], ["run.id"], name=op.f("fk_monitor_rule_baseline_run_id_run")
        ),
        sa.ForeignKeyConstraint(
            ["tool_id"], ["ai_tool.id"], name=op.f("fk_monitor_rule_tool_id_ai_tool")
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["tool_version.id"],
            name=op.f("fk_monitor_rule_version_id_tool_version"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitor_rule")),
        sa.UniqueConstraint(
            "version_id", "finding", name=op.f("uq_monitor_rule_version_id_finding")
        ),
    )
    with op.batch_alter_table("monitor_rule", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_monitor_rule_tool_id"), ["tool_id"], unique=False)

    op.create_table(
        "alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=64), nullable=True),
        sa.Column("attribute", sa.String(length=64), nullable=True),
        sa.Column("subgroup", sa.String(length=200), nullable=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("statistic", sa.Float(), nullable=True),
        sa.Column("threshold", sa.Float(), nullable=True),
        sa.Column("change_day", sa.Date(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("ack_note", sa.Text(), nullable=True),
        sa.Column("ack_by", sa.String(length=200), nullable=True),
        sa.Column("ack_at", sa.DateTime(), nullable=True),
        sa.Column("resolution", sa.String(length=16), nullable=True),
        sa.Column("resolution_note", sa.Text(), nullable=True),
        sa.Column("resolved_by", sa.String(length=200), nullable=True),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint("kind IN ('label-based', 'early-warning')", name=op.f("ck_alert_kind")),
        sa.CheckConstraint(
            "resolution IS NULL OR resolution IN ('investigate', 're-threshold', 'suspend-tool')",
            name=op.f("ck_alert_resolution"),
        ),
        sa.CheckConstraint(
            "state IN ('open', 'acknowledged', 'resolved')", name=op.f("ck_alert_state")
        ),
        sa.ForeignKeyConstraint(
            ["rule_id"], ["monitor_rule.id"], name=op.f("fk_alert_rule_id_monitor_rule")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert")),
        sa.UniqueConstraint("rule_id", "key", "day", name=op.f("uq_alert_rule_id_key_day")),
    )
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.create_index("ix_alert_state", ["state"], unique=False)

    op.create_table(
        "chart_point",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("statistic", sa.Float(), nullable=True),
        sa.Column("threshold", sa.Float(), nullable=True),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["monitor_rule.id"],
            name=op.f("fk_chart_point_rule_id_monitor_rule"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chart_point")),
        sa.UniqueConstraint("rule_id", "day", "key", name=op.f("uq_chart_point_rule_id_day_key")),
    )
    op.create_table(
        "monitor_state",
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=True),
        sa.Column("state", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("early_day", sa.Date(), nullable=True),
        sa.Column("early_state", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["monitor_rule.id"],
            name=op.f("fk_monitor_state_rule_id_monitor_rule"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("rule_id", name=op.f("pk_monitor_state")),
    )
    op.create_table(
        "alert_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "channel IN ('webhook', 'email')", name=op.f("ck_alert_delivery_channel")
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'failed')", name=op.f("ck_alert_delivery_status")
        ),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alert.id"],
            name=op.f("fk_alert_delivery_alert_id_alert"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_delivery")),
        sa.UniqueConstraint("alert_id", "channel", name=op.f("uq_alert_delivery_alert_id_channel")),
    )


def downgrade() -> None:
    op.drop_table("alert_delivery")
    op.drop_table("monitor_state")
    op.drop_table("chart_point")
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_state")

    op.drop_table("alert")
    with op.batch_alter_table("monitor_rule", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_monitor_rule_tool_id"))

    op.drop_table("monitor_rule")
