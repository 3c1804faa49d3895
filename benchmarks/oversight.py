"""Oversight latency with 1,000,000 AI results: serve the next study, store a decision.

Builds a scratch store (SQLite file, or a fresh PostgreSQL database) holding
one tool with an old version (100,000 results, received first, so the lowest
ids) and a new one (900,000 results), 250,000 studies on two sites, and 2,000
of the newest results already reviewed by the reporter. The registry and the
reporter go through the services; the bulk rows are inserted with one SQL
statement each (the ingestion path has its own benchmark, ``ingest.py``).

Then, for each case (the new version; the old version buried under 900,000
newer results), the reporter works through ``--n`` studies: fetch the next
study, store a decision (alternately agree and disagree with a reason), fetch
the next... Timed separately:

* service: ``oversight.queue_for_review(limit=1)`` and ``oversight.record_review``;
* HTTP: the same through the real FastAPI app (in-process ASGI, Starlette's
  TestClient, the reporter's API token): ``GET /api/oversight/{tool}/{version}/queue``,
  the page ``GET /oversight/{tool}/{version}`` and ``POST /api/reviews``, each
  only when the app has that route. "server" is the time inside the ASGI app
  (an outer ASGI wrapper around it); "round trip" adds the test client.

Prints p50/p95/p99 (ms) per operation and writes
benchmarks/out/oversight-<database>.json. Usage::

    .venv/bin/python benchmarks/oversight.py [--database sqlite|postgresql] [--n 200]
        [--results 1000000] [--index]

``--index`` adds an ``ai_result (version_id, id)`` index before timing (what
migration 0005 would add), to compare.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
from sqlalchemy import create_engine, text

from radassure.api import create_app
from radassure.config import Settings
from radassure.services import add_site, add_tool, add_version, init_store, open_store
from radassure.services.auth import add_user, authenticate, create_token, system_actor
from radassure.services.oversight import queue_for_review, record_review

PG = os.environ.get(
    "RADASSURE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
HERE = Path(__file__).resolve().parent
T = "'2026-01-01 00:00:00.000000'"
PASSWORD = "a long enough passphrase"


def load(conn: Any, pg: bool, n_results: int, old_id: int, new_id: int, reviewer: int) -> None:
    """Bulk-insert studies, results (old version first) and the reporter's reviews."""
    n_study = n_results // 4
    n_old = n_results // 10
    n_new = n_results - n_old
    if pg:
        rows = "FROM generate_series(1, {n}) AS s(x)"
    else:
        rows = (
            "FROM (WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g "
            "WHERE x < {n}) SELECT x FROM g)"
        )
    conn.execute(text(
        "INSERT INTO study (study_key, patient_key, site_id, acquired_at, modality, sex) "
        f"SELECT 'k' || x, 'p' || x, 1 + x % 2, {T}, 'DX', 'U' " + rows.format(n=n_study)
    ))  # fmt: skip
    conn.execute(text(
        "INSERT INTO ai_result (version_id, study_id, finding, score, call, received_at) "
        f"SELECT {old_id}, x, 'f0', 0.5, true, {T} " + rows.format(n=n_old)
    ))  # fmt: skip
    conn.execute(text(
        "INSERT INTO ai_result (version_id, study_id, finding, score, call, received_at) "
        f"SELECT {new_id}, 1 + ((x - 1) % {n_study}), 'f' || ((x - 1) / {n_study}), "
        f"(x % 100) / 100.0, (x % 100) >= 50, {T} " + rows.format(n=n_new)
    ))  # fmt: skip
    conn.execute(text(
        "INSERT INTO review (ai_result_id, reviewer_id, decision, reporter_final_call, source, "
        f"created_at) SELECT id, {reviewer}, 'agree', call, 'app', {T} FROM ai_result "
        f"WHERE version_id = {new_id} ORDER BY id DESC LIMIT 2000"
    ))  # fmt: skip
    conn.execute(text("ANALYZE"))


class Timed:
    """ASGI wrapper that keeps the time the app took for the last request (server time)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.last = 0.0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        started = time.perf_counter()
        await self.app(scope, receive, send)
        if scope["type"] == "http":
            self.last = time.perf_counter() - started


def summary(ms: list[float]) -> dict[str, float]:
    a = np.asarray(ms)
    p50, p95, p99 = np.percentile(a, [50, 95, 99])
    return {"n": len(a), "p50": p50, "p95": p95, "p99": p99, "max": float(a.max())}


def _decision(i: int, ai_call: bool | None) -> dict[str, Any]:
    """Agree with every other result; disagree with the rest (the AI's error kind)."""
    if i % 2:
        return {
            "decision": "disagree",
            "reason": f"ai_false_{'positive' if ai_call else 'negative'}",
        }
    return {"decision": "agree"}


def _service_loop(store: Any, actor: Any, version: str, n: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"queue": [], "record": []}
    for i in range(n):
        t0 = time.perf_counter()
        items = queue_for_review(store, "T", version, actor, limit=1)
        t1 = time.perf_counter()
        item = items[0]
        record_review(store, actor, item.result_id, seconds_taken=5.0, **_decision(i, item.call))
        t2 = time.perf_counter()
        out["queue"].append((t1 - t0) * 1000)
        out["record"].append((t2 - t1) * 1000)
    return out


def _http_loop(
    client: Any, timed: Timed, routes: set[str], version: str, n: int
) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    queue_url = f"/api/oversight/T/{quote(version)}/queue"
    page_url = f"/oversight/T/{quote(version)}"

    def timed_call(name: str, call: Callable[[], Any]) -> Any:
        t0 = time.perf_counter()
        response = call()
        rt = (time.perf_counter() - t0) * 1000
        assert response.status_code < 300, (name, response.status_code, response.text[:300])
        out.setdefault(f"{name} server", []).append(timed.last * 1000)
        out.setdefault(f"{name} round trip", []).append(rt)
        return response

    for i in range(n):
        if "page" in routes:
            timed_call("page", lambda: client.get(page_url))
        body = timed_call("queue", lambda: client.get(queue_url, params={"limit": 1})).json()
        item = body["items"][0]
        review = {"result_id": item["result_id"], "seconds_taken": 5.0,
                  **_decision(i, item["call"])}  # fmt: skip
        timed_call("record", lambda review=review: client.post("/api/reviews", json=review))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--n", type=int, default=200, help="decisions per case and channel")
    parser.add_argument("--results", type=int, default=1_000_000)
    parser.add_argument("--index", action="store_true", help="add ai_result(version_id, id)")
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
    report: dict[str, Any] = {"database": args.database, "results": args.results,
                              "index": args.index, "cases": {}}  # fmt: skip
    try:
        setup = system_actor("bench")
        for code in ("S1", "S2"):
            add_site(store, code, actor=setup)
        add_tool(store, name="T", manufacturer="M", task="classification", actor=setup)
        add_version(store, "T", "old", operating_threshold=0.5, actor=setup)
        add_version(store, "T", "new", operating_threshold=0.5, actor=setup)
        add_user(store, setup, "ann", PASSWORD, "reporter")
        ann = authenticate(store, "ann", PASSWORD)
        token = create_token(store, setup, "bench-ann", "ann").token
        t = time.perf_counter()
        with store.engine.begin() as conn:
            ids = dict(conn.execute(text("SELECT version, id FROM tool_version")).all())
            load(conn, pg, args.results, ids["old"], ids["new"], int(ann.user_id or 0))
            if args.index:
                conn.execute(text("CREATE INDEX ix_bench_result_version ON ai_result "
                                  "(version_id, id)"))  # fmt: skip
                conn.execute(text("ANALYZE"))
        report["load_seconds"] = round(time.perf_counter() - t, 1)
        print(f"{args.database}: loaded {args.results:,} results in {report['load_seconds']} s")

        timed = Timed(create_app(settings))
        from fastapi.testclient import TestClient

        with TestClient(timed, headers={"Authorization": f"Bearer {token}"}) as client:
            # The OpenAPI document lists the JSON routes (FastAPI nests included routers,
            # so app.routes is not flat); the page is probed with one request.
            routes = set(client.app.app.openapi()["paths"])  # type: ignore[attr-defined]
            http = "/api/oversight/{tool}/{version}/queue" in routes
            http = http and "/api/reviews" in routes
            if client.get("/oversight/T/new").status_code == 200:
                routes.add("page")
            if not http:
                print("  (no /api/oversight queue or /api/reviews route yet: service only)")
            buried = f"old version under {args.results - args.results // 10:,} newer"
            for label, version in (("new version", "new"), (buried, "old")):
                case: dict[str, Any] = {}
                for op, ms in _service_loop(store, ann, version, args.n).items():
                    case[f"service {op}"] = summary(ms)
                if http:
                    for op, ms in _http_loop(client, timed, routes, version, args.n).items():
                        case[f"http {op}"] = summary(ms)
                report["cases"][label] = case
                print(f"  {label}:")
                for op, s in case.items():
                    print(f"    {op:24s} p50 {s['p50']:7.1f}  p95 {s['p95']:7.1f}  "
                          f"p99 {s['p99']:7.1f}  max {s['max']:7.1f} ms (n={s['n']})")  # fmt: skip
    finally:
        store.dispose()
        if admin is not None:
            with admin.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    suffix = "-index" if args.index else ""
    (out / f"oversight-{args.database}{suffix}.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
