"""Ingestion throughput and memory: radassure vs the do-it-yourself pandas path.

Generates a results CSV of N rows (default 1,000,000) against N/4 studies, then,
side by side in the same run and each in its own subprocess (so peak memory is
that path's own):

* radassure: ``ingest_csv(store, "results", ...)`` into SQLite: header and row
  validation, pseudonymisation of every study identifier (HMAC-SHA256), study
  lookup, duplicate and conflict checks, all-or-nothing transaction (a clean file
  takes the column-wise fast path; the child checks that it did);
* radassure, row path: the same rows with quoted study identifiers, which the
  fast path declines (at its first chunk) and the row-by-row reader ingests;
* pandas: ``pd.read_csv`` + ``DataFrame.to_sql`` into a SQLite table (no
  validation, no pseudonymisation), what a user would otherwise write.

Prints rows per second, the ratio and peak RSS (MB); writes
benchmarks/out/ingest-<database>.json. With ``--database postgresql`` both paths
write to fresh databases on the PostgreSQL server named by
``RADASSURE_TEST_POSTGRES_URL`` (default the local server). Usage::

    .venv/bin/python benchmarks/ingest.py [--rows 1000000] [--repeat 1] [--database sqlite]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
FINDINGS = ("pneumothorax", "pleural_effusion", "nodule", "consolidation")


def generate(folder: Path, rows: int) -> tuple[Path, Path, Path]:
    import numpy as np

    rng = np.random.default_rng(7)
    n_studies = rows // len(FINDINGS)
    studies = folder / "studies.csv"
    results = folder / "results.csv"
    with studies.open("w") as fh:
        fh.write("patient_id,study_id,site,acquired_at,modality,manufacturer,sex,age\n")
        for i in range(n_studies):
            fh.write(
                f"P{i // 3:08d},ACC{i:09d},S1,2025-{1 + i % 12:02d}-{1 + i % 28:02d}"
                f"T10:00:00,DX,Acme,{'FM'[i % 2]},{20 + i % 70}\n"
            )
    scores = rng.random(rows)
    # The same rows with each study identifier quoted, as some exports write them:
    # the fast path declines such a file and the row path reads it.
    quoted = folder / "results-quoted.csv"
    with results.open("w") as fh, quoted.open("w") as fq:
        fh.write("tool,version,study_id,finding,score\n")
        fq.write("tool,version,study_id,finding,score\n")
        k = 0
        for i in range(n_studies):
            for f in FINDINGS:
                fh.write(f"CXR,1.0,ACC{i:09d},{f},{scores[k]:.6f}\n")
                fq.write(f'CXR,1.0,"ACC{i:09d}",{f},{scores[k]:.6f}\n')
                k += 1
    return studies, results, quoted


RADASSURE_CHILD = r"""
import json, resource, sys, time
from pathlib import Path
from radassure.config import Settings
from radassure.services import open_store, ingest_csv
from radassure.services.auth import system_actor
home, results, url = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
expect_fast = sys.argv[4] == "fast"
store = open_store(Settings(home=home, database_url=url or None))
t = time.perf_counter()
summary = ingest_csv(store, "results", results, actor=system_actor("bench"))
elapsed = time.perf_counter() - t
store.dispose()
assert summary.fast_path == expect_fast, f"fast path taken: {summary.fast_path}"
print(json.dumps({"rows": summary.inserted, "seconds": elapsed,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

PANDAS_CHILD = r"""
import json, resource, sys, time
import pandas as pd
from sqlalchemy import create_engine
url, results = sys.argv[1], sys.argv[2]
engine = create_engine(url)
t = time.perf_counter()
frame = pd.read_csv(results)
frame.to_sql("ai_result", engine, if_exists="append", index=False)
elapsed = time.perf_counter() - t
engine.dispose()
print(json.dumps({"rows": len(frame), "seconds": elapsed,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def child(code: str, *args: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", code, *args], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=1, help="alternating runs of each path")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    pg_admin = os.environ.get(
        "RADASSURE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )

    def fresh_pg(name: str) -> str:
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        admin = create_engine(pg_admin, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        return make_url(pg_admin).set(database=name).render_as_string(hide_password=False)

    from radassure.config import Settings
    from radassure.services import (
        add_site,
        add_tool,
        add_version,
        ingest_csv,
        init_store,
        open_store,
    )
    from radassure.services.auth import system_actor

    runs: dict[str, list[dict[str, float]]] = {"radassure": [], "radassure-rows": [], "pandas": []}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t = time.perf_counter()
        studies, results, quoted = generate(folder, args.rows)
        print(
            f"generated {args.rows:,} result rows in {time.perf_counter() - t:.1f} s "
            f"({results.stat().st_size / 1e6:.0f} MB)",
            file=sys.stderr,
        )
        for rep in range(args.repeat):
            homes = []
            for path_name in ("fast", "rows"):
                home = folder / f"home{rep}{path_name}"
                if args.database == "postgresql":
                    ra_url = fresh_pg(f"radassure_bench_{path_name}")
                else:
                    ra_url = ""
                settings = Settings(home=home, database_url=ra_url or None)
                init_store(settings)
                store = open_store(settings)
                actor = system_actor("bench")
                add_site(store, "S1", actor=actor)
                add_tool(store, name="CXR", manufacturer="Acme", task="classification", actor=actor)
                add_version(store, "CXR", "1.0", operating_threshold=0.5, actor=actor)
                s = ingest_csv(store, "studies", studies, actor=actor)
                store.dispose()
                homes.append((str(home), ra_url))
            print(f"rep {rep}: {s.inserted:,} studies ingested (twice)", file=sys.stderr)
            if args.database == "postgresql":
                pd_url = fresh_pg("radassure_bench_pd")
            else:
                pd_url = f"sqlite:///{folder / f'pandas{rep}.db'}"
            runs["radassure"].append(
                child(RADASSURE_CHILD, homes[0][0], str(results), homes[0][1], "fast")
            )
            runs["radassure-rows"].append(
                child(RADASSURE_CHILD, homes[1][0], str(quoted), homes[1][1], "rows")
            )
            runs["pandas"].append(child(PANDAS_CHILD, pd_url, str(results)))
            for name in runs:
                r = runs[name][-1]
                print(
                    f"rep {rep}: {name:9s} {r['rows'] / r['seconds']:>10,.0f} rows/s "
                    f"peak {r['peak_mb']:.0f} MB",
                    file=sys.stderr,
                )

    def best(name: str) -> dict[str, float]:
        return min(runs[name], key=lambda r: r["seconds"])

    ra, rows, pd_ = best("radassure"), best("radassure-rows"), best("pandas")
    summary = {
        "rows": args.rows,
        "database": args.database,
        "radassure_rows_per_s": round(ra["rows"] / ra["seconds"]),
        "pandas_rows_per_s": round(pd_["rows"] / pd_["seconds"]),
        "row_path_rows_per_s": round(rows["rows"] / rows["seconds"]),
        "row_path_ratio": round(
            (rows["rows"] / rows["seconds"]) / (pd_["rows"] / pd_["seconds"]), 2
        ),
        "row_path_peak_mb": round(rows["peak_mb"]),
        "ratio": round((ra["rows"] / ra["seconds"]) / (pd_["rows"] / pd_["seconds"]), 2),
        "radassure_peak_mb": round(ra["peak_mb"]),
        "pandas_peak_mb": round(pd_["peak_mb"]),
        "runs": runs,
        "cpu": os.cpu_count(),
    }
    (HERE / "out").mkdir(exist_ok=True)
    (HERE / "out" / f"ingest-{args.database}.json").write_text(json.dumps(summary, indent=2))
    print(f"{args.rows:,} result rows into {args.database}")
    print("| path | rows/s | peak memory |\n|---|---|---|")
    print(
        f"| radassure (validate + pseudonymise + transaction) | "
        f"{summary['radassure_rows_per_s']:,} | {summary['radassure_peak_mb']} MB |"
    )
    print(
        f"| radassure, row path (quoted identifiers) | {summary['row_path_rows_per_s']:,} | "
        f"{summary['row_path_peak_mb']} MB |"
    )
    print(
        f"| pandas read_csv + to_sql | {summary['pandas_rows_per_s']:,} | "
        f"{summary['pandas_peak_mb']} MB |"
    )
    print(f"ratio radassure / pandas: {summary['ratio']}x")
    print(f"ratio radassure row path / pandas: {summary['row_path_ratio']}x")
    _ = resource


if __name__ == "__main__":
    main()
