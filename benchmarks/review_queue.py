"""Review queue latency on 1,000,000 AI results: radassure vs a plain "newest unreviewed" query.

Loads one tool with an old version (100,000 results) and a new one (900,000
results, received after), 250,000 studies on two sites, and marks the newest
2,000 new-version results as reviewed by the reporter. Then, in the same run,
times the best of 5 for a page of 50:

* radassure: ``queue_for_review`` (results by id, newest first, with an
  anti-join probe of review(reviewer_id, ai_result_id)), for the new version,
  one site of it, and the old version under 900,000 newer rows (its worst case);
* plain: the query one would write first, ``ORDER BY received_at DESC`` with
  ``id NOT IN (reviewed ids)``, which must sort the version's results.

Usage::

    .venv/bin/python benchmarks/review_queue.py [--database sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from functools import partial
from pathlib import Path

from sqlalchemy import create_engine, text

import radassure.db.security  # noqa: F401
from radassure.config import Settings
from radassure.services import add_site, add_tool, add_version, init_store, open_store
from radassure.services.auth import add_user, authenticate, system_actor
from radassure.services.oversight import queue_for_review

PG = os.environ.get(
    "RADASSURE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
N_STUDY, N_OLD, N_NEW = 250_000, 100_000, 900_000
T = "'2026-01-01 00:00:00.000000'"


def load(conn, pg: bool) -> None:  # type: ignore[no-untyped-def]
    if pg:
        rows = "FROM generate_series(1, {n}) AS s(x)"
    else:
        rows = (
            "FROM (WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g "
            "WHERE x < {n}) SELECT x FROM g)"
        )
    conn.execute(
        text(
            "INSERT INTO study (study_key, patient_key, site_id, acquired_at, modality, sex) "
            f"SELECT 'k' || x, 'p' || x, 1 + x % 2, {T}, 'DX', 'U' " + rows.format(n=N_STUDY)
        )
    )
    conn.execute(
        text(
            "INSERT INTO ai_result (version_id, study_id, finding, score, call, received_at) "
            f"SELECT 1, x, 'f0', 0.5, true, {T} " + rows.format(n=N_OLD)
        )
    )
    conn.execute(
        text(
            "INSERT INTO ai_result (version_id, study_id, finding, score, call, received_at) "
            f"SELECT 2, 1 + ((x - 1) % {N_STUDY}), 'f' || ((x - 1) / {N_STUDY}), 0.5, true, {T} "
            + rows.format(n=N_NEW)
        )
    )
    conn.execute(
        text(
            "INSERT INTO review (ai_result_id, reviewer_id, decision, source, created_at) "
            f"SELECT id, 1, 'agree', 'app', {T} FROM ai_result WHERE version_id = 2 "
            "ORDER BY id DESC LIMIT 2000"
        )
    )
    conn.execute(text("ANALYZE"))


def best_ms(fn) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(5):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    pg = args.database == "postgresql"
    name = f"radassure_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG, isolation_level="AUTOCOMMIT") if pg else None
    if admin is not None:
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG.rsplit("/", 1)[0] + f"/{name}" if pg else None
    settings = Settings(home=Path(tempfile.mkdtemp()), database_url=url)
    init_store(settings)
    store = open_store(settings)
    try:
        admin_actor = system_actor("bench")
        add_site(store, "S1", actor=system_actor("bench"))
        add_site(store, "S2", actor=system_actor("bench"))
        add_tool(
            store, name="T", manufacturer="M", task="classification", actor=system_actor("bench")
        )
        add_version(store, "T", "old", actor=system_actor("bench"))
        add_version(store, "T", "new", actor=system_actor("bench"))
        add_user(store, admin_actor, "ann", "a long enough passphrase", "reporter")
        ann = authenticate(store, "ann", "a long enough passphrase")
        t = time.perf_counter()
        with store.engine.begin() as conn:
            load(conn, pg)
        print(
            f"{args.database}: loaded {N_OLD + N_NEW:,} results in {time.perf_counter() - t:.0f} s"
        )
        plain = (
            "SELECT r.id, s.study_key, r.finding, r.score FROM ai_result r "
            "JOIN study s ON s.id = r.study_id WHERE r.version_id = :v AND r.id NOT IN "
            "(SELECT ai_result_id FROM review WHERE reviewer_id = 1) {site} "
            "ORDER BY r.received_at DESC, r.id DESC LIMIT 50"
        )
        cases = [
            ("new version", "new", None, 2),
            ("new version, site S2", "new", "S2", 2),
            ("old version under 900k newer", "old", None, 1),
        ]
        for label, version, site, vid in cases:
            ours = best_ms(partial(queue_for_review, store, "T", version, ann, limit=50, site=site))
            with store.engine.connect() as conn:
                where = "AND s.site_id = 2" if site else ""
                query = text(plain.format(site=where))
                theirs = best_ms(partial(conn.execute, query, {"v": vid}))
            print(f"  {label:32s} radassure {ours:7.1f} ms   plain query {theirs:7.1f} ms")
    finally:
        store.dispose()
        if admin is not None:
            with admin.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
