"""No raw patient or study identifier reaches the database or a log."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from radassure.services import (
    Store,
    add_site,
    add_tool,
    add_version,
    ingest_csv,
    ingest_records,
)
from radassure.services.auth import system_actor

PATIENTS = ["9434765919", "RXH-PAT-000123"]  # an NHS-number-shaped ID and a hospital number
STUDIES = ["ACC-20250101-7788", "1.2.826.0.1.3680043.8.498.1234567890"]


def test_identifiers_are_not_stored_or_logged(
    store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    add_site(store, "S1", actor=system_actor("test"))
    add_tool(
        store, name="CXR", manufacturer="Acme", task="classification", actor=system_actor("test")
    )
    add_version(store, "CXR", "1.0", operating_threshold=0.5, actor=system_actor("test"))
    studies = tmp_path / "studies.csv"
    studies.write_text(
        "patient_id,study_id,site,acquired_at,modality\n"
        f"{PATIENTS[0]},{STUDIES[0]},S1,2025-01-02,DX\n"
        f"{PATIENTS[1]},{STUDIES[1]},S1,2025-01-03,CT\n",
        encoding="utf-8",
    )
    ingest_csv(store, "studies", studies, actor=system_actor("test"))
    results = tmp_path / "results.csv"
    results.write_text(
        "tool,version,study_id,finding,score\n"
        f"CXR,1.0,{STUDIES[0]},nodule,0.7\nCXR,1.0,{STUDIES[1]},nodule,0.2\n",
        encoding="utf-8",
    )
    ingest_csv(store, "results", results, actor=system_actor("test"))
    ingest_records(
        store,
        "references",
        [
            {"study_id": STUDIES[0], "finding": "nodule", "label": 1, "source": "report"},
            {"study_id": STUDIES[1], "finding": "nodule", "label": 0, "source": "report"},
        ],
        actor=system_actor("test"),
    )
    # A rejected file's message must not echo identifiers either.
    bad = tmp_path / "bad.csv"
    bad.write_text(
        f"tool,version,study_id,finding,score\nCXR,1.0,{STUDIES[0]}X,nodule,0.7\n", encoding="utf-8"
    )
    with pytest.raises(Exception) as info:
        ingest_csv(store, "results", bad, actor=system_actor("test"))
    secrets = [*PATIENTS, *STUDIES]
    assert not any(s in str(info.value) for s in secrets)

    # Every value of every table, read back as text.
    dump: list[str] = []
    with store.engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            for row in conn.execute(text(f"SELECT * FROM {table}")):
                dump.extend(str(v) for v in row)
    blob = "\n".join(dump)
    assert store.pseudonymiser.study(STUDIES[0]) in blob  # the keys are there ...
    for raw in secrets:
        assert raw not in blob  # ... the identifiers are not
    # The raw bytes of a SQLite database and its write-ahead log.
    if store.engine.dialect.name == "sqlite":
        db = Path(str(store.engine.url.database))
        raw_bytes = b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))
        assert raw_bytes, "database file not found"
        for raw in secrets:
            assert raw.encode() not in raw_bytes
    for record in caplog.records:
        message = record.getMessage()
        for raw in secrets:
            assert raw not in message
