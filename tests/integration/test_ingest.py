"""Ingestion: contract, all-or-nothing rejection, idempotency, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from radassure.config import Settings
from radassure.db import AIResult, IngestLog, Reference, Study
from radassure.errors import DataValidationError
from radassure.services import (
    Store,
    add_site,
    add_tool,
    add_version,
    ingest_csv,
    ingest_records,
    init_store,
    open_store,
)
from radassure.services.auth import system_actor

STUDIES_HEADER = "patient_id,study_id,site,acquired_at,modality,manufacturer,sex,age,ethnic_group"


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def snapshot(store: Store) -> str:
    """A fingerprint of every data table, to prove nothing changed."""
    digest = hashlib.sha256()
    with store.engine.connect() as conn:
        for table in ("site", "study", "ai_result", "reference", "ingest_log"):
            rows = conn.execute(text(f"SELECT * FROM {table} ORDER BY id")).all()
            digest.update(repr([tuple(r) for r in rows]).encode())
    return digest.hexdigest()


def count(store: Store, model: type) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(model)).scalar_one())


@pytest.fixture
def department(store: Store, tmp_path: Path) -> Store:
    """A store with a site, a tool with a version, and three studies."""
    add_site(store, "S1", "Site one", actor=system_actor("test"))
    add_tool(
        store, name="CXR", manufacturer="Acme", task="classification", actor=system_actor("test")
    )
    add_version(store, "CXR", "1.0", operating_threshold=0.5, actor=system_actor("test"))
    studies = write(
        tmp_path,
        "studies.csv",
        STUDIES_HEADER + "\n"
        "P1,A1,S1,2025-01-02T10:00:00,DX,Acme,F,54,A\n"
        "P2,A2,S1,2025-01-03T11:00:00+01:00,DX,Acme,M,61,Z\n"
        "P1,A3,S1,2025-01-04,CR,Other,female,,\n",
    )
    summary = ingest_csv(store, "studies", studies, actor=system_actor("test"))
    assert summary.inserted == 3
    return store


def rejected(store: Store, path: Path, kind: str, **kw: object) -> DataValidationError:
    before = snapshot(store)
    with pytest.raises(DataValidationError) as info:
        ingest_csv(store, kind, path, **kw, actor=system_actor("test"))  # type: ignore[arg-type]
    assert snapshot(store) == before, "a rejected file must leave the database unchanged"
    message = str(info.value)
    assert path.name in message and "nothing was written" in message
    return info.value


def test_studies_are_stored_typed_and_pseudonymised(department: Store) -> None:
    with department.engine.connect() as conn:
        rows = conn.execute(select(Study).order_by(Study.id)).all()
    assert [r.modality for r in rows] == ["DX", "DX", "CR"]
    assert rows[1].acquired_at.hour == 10  # +01:00 converted to UTC
    assert rows[2].sex == "F" and rows[2].age_years is None and rows[2].ethnic_group is None
    assert rows[0].patient_key == rows[2].patient_key  # same patient, same key
    assert rows[0].study_key == department.pseudonymiser.study("A1")
    assert all(len(r.study_key) == 64 for r in rows)


def test_results_and_references_round_trip(department: Store, tmp_path: Path) -> None:
    results = write(
        tmp_path,
        "results.csv",
        "tool,version,study_id,finding,score,call,localisations\n"
        "CXR,1.0,A1,pneumothorax,0.9,,\n"
        'CXR,1.0,A1,nodule,0.2,,"[{""x"": 10, ""y"": 20}]"\n'
        "CXR,1.0,A2,pneumothorax,0.3,yes,\n",
    )
    refs = write(
        tmp_path,
        "refs.csv",
        "study_id,finding,label,source,recorded_at\n"
        "A1,pneumothorax,1,report,2025-01-05\nA2,pneumothorax,negative,follow-up,\n",
    )
    assert ingest_csv(department, "results", results, actor=system_actor("test")).inserted == 3
    assert ingest_csv(department, "references", refs, actor=system_actor("test")).inserted == 2
    with department.engine.connect() as conn:
        res = conn.execute(select(AIResult).order_by(AIResult.id)).all()
        ref = conn.execute(select(Reference).order_by(Reference.id)).all()
    assert [r.call for r in res] == [True, False, True]  # threshold 0.5 unless a call is given
    assert res[1].localisations == [{"x": 10, "y": 20}]
    assert [r.label for r in ref] == [True, False]
    assert ref[1].source == "follow-up"


def test_reingesting_the_same_file_changes_nothing(department: Store, tmp_path: Path) -> None:
    results = write(
        tmp_path,
        "r.csv",
        "tool,version,study_id,finding,score\n"
        "CXR,1.0,A1,pneumothorax,0.9\nCXR,1.0,A2,pneumothorax,0.1\n",
    )
    first = ingest_csv(department, "results", results, actor=system_actor("test"))
    data_before = count(department, AIResult)
    second = ingest_csv(department, "results", results, actor=system_actor("test"))
    assert (first.inserted, second.inserted, second.unchanged) == (2, 0, 2)
    assert count(department, AIResult) == data_before
    assert count(department, IngestLog) == 3  # studies + two result ingestions, both logged


def test_conflicting_row_is_rejected_unless_told(department: Store, tmp_path: Path) -> None:
    ingest_csv(
        department,
        "results",
        write(
            tmp_path, "r1.csv", "tool,version,study_id,finding,score\nCXR,1.0,A1,pneumothorax,0.9\n"
        ),
        actor=system_actor("test"),
    )
    changed = write(
        tmp_path,
        "r2.csv",
        "tool,version,study_id,finding,score\n"
        "CXR,1.0,A1,pneumothorax,0.4\nCXR,1.0,A2,pneumothorax,0.4\n",
    )
    err = rejected(department, changed, "results")
    assert "row 2, column 'score'" in str(err) and "--on-conflict update" in str(err)
    skipped = ingest_csv(
        department, "results", changed, on_conflict="skip", actor=system_actor("test")
    )
    assert (skipped.inserted, skipped.skipped_conflicts) == (1, 1)
    updated = ingest_csv(
        department, "results", changed, on_conflict="update", actor=system_actor("test")
    )
    assert (updated.updated, updated.unchanged) == (1, 1)
    with department.engine.connect() as conn:
        scores = conn.execute(select(AIResult.score, AIResult.call).order_by(AIResult.id)).all()
    assert [tuple(s) for s in scores] == [(0.4, False), (0.4, False)]


@pytest.mark.parametrize(
    ("kind", "content", "expected"),
    [
        (
            "results",
            "tool,version,study_id,finding\nCXR,1.0,A1,x\n",
            "column 'score'",
        ),  # score missing is allowed only with call: see next
        (
            "results",
            "tool,version,finding,score\nCXR,1.0,x,0.1\n",
            "row 1, column 'study_id': required column is missing",
        ),
        (
            "results",
            "tool,version,study_id,finding,score,PatientName\nCXR,1.0,A1,x,0.1,Smith\n",
            "column 'PatientName': unknown column",
        ),
        (
            "results",
            "tool,version,study_id,finding,score\nCXR,1.0,A1,x,high\n",
            "row 2, column 'score': 'high' is not a number",
        ),
        (
            "results",
            "tool,version,study_id,finding,score\nCXR,1.0,A1,x,1.5\n",
            "row 2, column 'score': 1.5 is outside the score range 0 to 1",
        ),
        (
            "results",
            "tool,version,study_id,finding,score\nCXR,1.0,A1,x,nan\n",
            "row 2, column 'score': 'nan' is not a finite number",
        ),
        (
            "results",
            "tool,version,study_id,finding,score\nCT-AI,1.0,A1,x,0.5\n",
            "row 2, column 'tool': no tool named 'CT-AI' is registered",
        ),
        (
            "results",
            "tool,version,study_id,finding,score\nCXR,9.9,A1,x,0.5\n",
            "row 2, column 'version': tool 'CXR' has no version '9.9'; registered versions: 1.0",
        ),
        (
            "results",
            "tool,version,study_id,finding,score\nCXR,1.0,NOPE,x,0.5\n",
            "row 2, column 'study_id': no study with this study_id has been ingested",
        ),
        (
            "results",
            "tool,version,study_id,finding,score,received_at\nCXR,1.0,A1,x,0.5,31/01/2025\n",
            "row 2, column 'received_at': '31/01/2025' is not an ISO 8601 date",
        ),
        (
            "results",
            "tool,version,study_id,finding,score\nCXR,1.0,A1,x,0.5\nCXR,1.0,A1,x,0.6\n",
            "row 3: duplicate: an earlier row of this file has the same tool, version, study_id",
        ),
        (
            "references",
            "study_id,finding,label,source\nA1,x,maybe,report\n",
            "row 2, column 'label': 'maybe' is not a yes/no value",
        ),
        (
            "references",
            "study_id,finding,label,source\nA1,x,1,gut feeling\n",
            "row 2, column 'source': 'gut feeling' is not a reference source",
        ),
        (
            "references",
            "study_id,finding,label,source\nA1,x,1,report\nA1,x,0,report\n",
            "row 3: duplicate",
        ),
        (
            "studies",
            STUDIES_HEADER + "\nP9,A9,S1,2025-13-01,DX,Acme,F,54,A\n",
            "row 2, column 'acquired_at': '2025-13-01' is not an ISO 8601 date",
        ),
        (
            "studies",
            STUDIES_HEADER + "\nP9,A9,S1,2999-01-01,DX,Acme,F,54,A\n",
            "row 2, column 'acquired_at': '2999-01-01' is in the future",
        ),
        (
            "studies",
            STUDIES_HEADER + "\nP9,A9,S1,2025-01-01,DX,Acme,F,154,A\n",
            "row 2, column 'age': '154' is outside 0 to 130",
        ),
        (
            "studies",
            STUDIES_HEADER + "\nP9,A9,S1,2025-01-01,DX,Acme,F,54,W\n",
            "row 2, column 'ethnic_group': 'W' is not an NHS ethnic category code",
        ),
        (
            "studies",
            STUDIES_HEADER + "\nP9,A9,S2,2025-01-01,DX,Acme,F,54,A\n",
            "row 2, column 'site': site 'S2' is not registered",
        ),
        (
            "studies",
            STUDIES_HEADER + "\nP9,A9,S1,2025-01-01,DX,Acme,F,54,A\n"
            "P9,A9,S1,2025-01-01,DX,Acme,F,54,A\n",
            "row 3: duplicate",
        ),
        (
            "studies",
            STUDIES_HEADER + "\n,A9,S1,2025-01-01,DX,Acme,F,54,A\n",
            "row 2, column 'patient_id': patient_id is blank",
        ),
        (
            "studies",
            STUDIES_HEADER + "\nP9,A9,S1,2025-01-01,DX,Acme,F,54\n",
            "row 2: has 8 fields but the header has 9",
        ),
    ],
)
def test_bad_rows_reject_the_whole_file(
    department: Store, tmp_path: Path, kind: str, content: str, expected: str
) -> None:
    path = write(tmp_path, "bad.csv", content)
    if expected == "column 'score'":
        # A file without a score column is fine when calls come from elsewhere: but here
        # neither score nor call is given, so the row can't be stored.
        path = write(tmp_path, "bad.csv", "tool,version,study_id,finding,call\nCXR,1.0,A1,x,\n")
        expected = "row 2, column 'score': score is blank and no call is given"
        with pytest.raises(DataValidationError):
            ingest_csv(department, kind, path, actor=system_actor("test"))
        return
    err = rejected(department, path, kind)
    assert expected in str(err), str(err)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "bad.csv: is empty; expected a header row naming at least"),
        (b"tool,version,study_id,finding,score\n", "bad.csv: has a header but no data rows"),
        (
            b"tool,version,study_id,finding,score\nCXR,1.0,A1,fracture,0.5\nCXR,1.0,A2,fr",
            "bad.csv, row 3: the last row has 4 of 5 fields and the file does not end with a "
            "line break: the file looks truncated",
        ),
        (b'tool,version,study_id,finding,score\nCXR,1.0,A1,"nod', "is not well-formed CSV"),
        (
            "tool,version,study_id,finding,score\nCXR,1.0,A1,öde,0.5\n".encode("latin-1"),
            "bad.csv, row 2: is not UTF-8 text (byte 0xF6 in line 2 of the file)",
        ),
        ("tool,version,study_id,finding,score\n".encode("utf-16"), "is UTF-16 encoded"),
    ],
)
def test_file_level_faults(
    department: Store, tmp_path: Path, content: bytes, expected: str
) -> None:
    err = rejected(department, write(tmp_path, "bad.csv", content), "results")
    assert expected in str(err), str(err)


def test_many_problems_are_listed_together_and_bounded(department: Store, tmp_path: Path) -> None:
    body = "".join(f"CXR,1.0,A1,f{i},oops\n" for i in range(80))
    err = rejected(
        department,
        write(tmp_path, "bad.csv", "tool,version,study_id,finding,score\n" + body),
        "results",
    )
    assert len(err.problems) == department.settings.ingest_max_problems
    assert err.truncated and "further problems not listed" in str(err)
    assert [p.row for p in err.problems[:3]] == [2, 3, 4]


def test_a_late_bad_row_rolls_back_earlier_batches(tmp_path: Path, db_url: str) -> None:
    settings = Settings(home=tmp_path / "h2", database_url=db_url, ingest_batch_rows=100)
    init_store(settings)
    store = open_store(settings)
    try:
        add_site(store, "S1", actor=system_actor("test"))
        rows = "".join(f"P{i},A{i},S1,2025-02-01,DX,Acme,F,40,A\n" for i in range(350))
        bad = rows + "P999,A999,S1,not-a-date,DX,Acme,F,40,A\n"
        err = rejected(store, write(tmp_path, "big.csv", STUDIES_HEADER + "\n" + bad), "studies")
        assert "row 352, column 'acquired_at'" in str(err)
        assert count(store, Study) == 0
        good = ingest_csv(
            store,
            "studies",
            write(tmp_path, "ok.csv", STUDIES_HEADER + "\n" + rows),
            actor=system_actor("test"),
        )
        assert good.inserted == 350 and count(store, Study) == 350
    finally:
        store.dispose()


def test_column_mapping_for_vendor_exports(department: Store, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "vendor.csv",
        "Algorithm,AlgVersion,AccessionNumber,Label,Probability,PatientName\n"
        "CXR,1.0,A1,pneumothorax,0.7,Smith^John\n",
    )
    mapping = {
        "Algorithm": "tool",
        "AlgVersion": "version",
        "AccessionNumber": "study_id",
        "Label": "finding",
        "Probability": "score",
        "PatientName": "-",
    }
    assert (
        ingest_csv(
            department, "results", path, mapping=mapping, actor=system_actor("test")
        ).inserted
        == 1
    )
    err = rejected(department, path, "results", mapping={"Algoritm": "tool"})
    assert "column 'algoritm': the column mapping names this column" in str(err)


def test_unknown_site_can_be_created_on_request(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path, "s.csv", STUDIES_HEADER + "\nP1,A1,NEW,2025-01-01,DX,Acme,F,50,A\n")
    summary = ingest_csv(store, "studies", path, create_sites=True, actor=system_actor("test"))
    assert summary.sites_created == ("NEW",) and summary.inserted == 1


def test_json_records_share_the_contract(department: Store) -> None:
    records = [
        {"tool": "CXR", "version": "1.0", "study_id": "A1", "finding": "nodule", "score": 0.4},
        {
            "tool": "CXR",
            "version": "1.0",
            "study_id": "A2",
            "finding": "nodule",
            "score": 0.7,
            "localisations": [{"x": 1}],
        },
    ]
    assert ingest_records(department, "results", records, actor=system_actor("test")).inserted == 2
    assert ingest_records(department, "results", records, actor=system_actor("test")).unchanged == 2
    before = snapshot(department)
    bad = [
        *records,
        {"tool": "CXR", "version": "1.0", "study_id": "A3", "finding": "nodule", "score": "x"},
    ]
    with pytest.raises(DataValidationError) as info:
        ingest_records(department, "results", bad, actor=system_actor("test"))
    assert "record 2, column 'score'" in str(info.value)
    assert snapshot(department) == before
    with pytest.raises(DataValidationError, match="record 0, column 'finding'"):
        ingest_records(
            department,
            "results",
            [{"tool": "CXR", "version": "1.0", "study_id": "A1", "score": 0.1}],
            actor=system_actor("test"),
        )
