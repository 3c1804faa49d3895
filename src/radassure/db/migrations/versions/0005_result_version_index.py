"""result version index: an ai_result (version_id, id) index for the review queue

The reporter's queue lists a version's results newest first (``ORDER BY id
DESC`` for one ``version_id``). Without this index the database walks the
primary key from the newest result backwards past every newer result of other
versions, so an old version under a million newer results took about 60 ms on
PostgreSQL (and grows with the store); with it the queue is an index probe
(about 1.5 ms) whatever the store holds. Its cost on ingestion is measured in
benchmarks/RESULTS.md ("Oversight (issue 6)").

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-10 10:00:00.000000
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ai_result", schema=None) as batch_op:
        batch_op.create_index("ix_ai_result_version_id_id", ["version_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ai_result", schema=None) as batch_op:
        batch_op.drop_index("ix_ai_result_version_id_id")
