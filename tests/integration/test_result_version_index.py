"""Migration 0005: the ai_result (version_id, id) index behind the review queue."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect, text

from radassure.db import alembic_config, current_revision, head_revision, upgrade
from radassure.services import Store

INDEX = "ix_ai_result_version_id_id"


def _indexes(store: Store) -> dict[str, list[str | None]]:
    return {
        ix["name"]: list(ix["column_names"])
        for ix in inspect(store.engine).get_indexes("ai_result")
        if ix["name"]
    }


def test_migration_0005_adds_the_index_and_is_reversible(store: Store) -> None:
    assert _indexes(store)[INDEX] == ["version_id", "id"]
    eng = store.engine
    command.downgrade(alembic_config(eng), "0004")
    assert current_revision(eng) == "0004" and INDEX not in _indexes(store)
    upgrade(eng)
    assert current_revision(eng) == head_revision(eng) and INDEX in _indexes(store)


def test_the_queue_query_uses_the_index_on_sqlite(sqlite_store: Store) -> None:
    """The planner answers "a version's newest results" from the index, not the table."""
    with sqlite_store.engine.connect() as conn:
        plan = conn.execute(
            text(
                "EXPLAIN QUERY PLAN SELECT id FROM ai_result WHERE version_id = 1 "
                "ORDER BY id DESC LIMIT 1"
            )
        ).all()
    details = " ".join(str(row[-1]) for row in plan)
    assert INDEX in details and "TEMP B-TREE" not in details, details
