"""The fast path for result files: same outcome as the row path, or it declines.

The fast path (``radassure.ingest.columnar``) must never be a second set of
rules: every file it accepts must be stored exactly as the row path stores it,
and every file with a problem must be reported with the row path's message.
These tests compare the two paths on the same files, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import gc
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

import radassure.services.ingestion as ingestion
from radassure.config import Settings
from radassure.db import AIResult, Study, ToolVersion
from radassure.errors import DataValidationError
from radassure.ingest import CsvSource, Pseudonymiser, validate_results
from radassure.ingest.columnar import (
    ArrowCsvSource,
    FastPathDeclinedError,
    validate_result_columns,
)
from radassure.services import (
    Store,
    add_site,
    add_tool,
    add_version,
    ingest_csv,
    init_store,
    open_store,
)
from radassure.services.auth import system_actor

ACTOR = system_actor("test")
FINDINGS = ("pneumothorax", "pleural_effusion", "nodule", "consolidation")
N_STUDIES = 400
HEADER = "tool,version,study_id,finding,score,call,received_at,localisations,acq_kvp"


def _department(home: Path, db_url: str | None) -> Store:
    home.mkdir(parents=True, exist_ok=True)
    # One secret for both stores, so that their study keys can be compared.
    settings = Settings(
        home=home, database_url=db_url, ingest_batch_rows=100, site_secret="cd" * 32
    )
    init_store(settings)
    store = open_store(settings)
    add_site(store, "S1", actor=ACTOR)
    add_tool(store, name="CXR", manufacturer="Acme", task="classification", actor=ACTOR)
    add_version(store, "CXR", "1.0", operating_threshold=0.5, actor=ACTOR)
    add_version(store, "CXR", "2.0", actor=ACTOR)  # no threshold: calls are not derived
    studies = home / "studies.csv"
    studies.write_text(
        "patient_id,study_id,site,acquired_at,modality\n"
        + "".join(f"P{i % 97},ACC{i:05d},S1,2025-03-01,DX\n" for i in range(N_STUDIES))
    )
    ingest_csv(store, "studies", studies, actor=ACTOR)
    return store


@pytest.fixture
def two_stores(tmp_path: Path, db_url: str) -> Iterator[tuple[Store, Store]]:
    """Two identical departments: one ingests through the fast path, one by rows."""
    if db_url.startswith("sqlite"):
        urls: tuple[str | None, str | None] = (None, None)
    else:
        urls = (db_url, None)  # PostgreSQL is compared against SQLite's row path
    stores = (_department(tmp_path / "fast", urls[0]), _department(tmp_path / "rows", urls[1]))
    yield stores
    for store in stores:
        store.dispose()


def _results_file(path: Path, rows: int = 4 * N_STUDIES, *, seed: int = 3) -> Path:
    rng = np.random.default_rng(seed)
    lines = [HEADER]
    for k in range(rows):
        study, finding = divmod(k, len(FINDINGS))
        version = "1.0" if study % 5 else " 2.0 "  # values are stripped
        call = ("", "yes", "0", "Positive")[k % 4] if study % 7 == 0 else ""
        received = "2025-03-02T08:15:00+01:00" if k % 3 == 0 else ""
        lines.append(
            f"CXR,{version},ACC{study:05d},{FINDINGS[finding].upper()},"
            f"{rng.random():.6f},{call},{received},,{rng.integers(60, 120)}"
        )
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    return path


def _row_path(store: Store, path: Path) -> ingestion.IngestSummary:
    """Ingest through the row path only (what the fast path falls back to)."""
    src = CsvSource(path, "results", batch_rows=store.settings.ingest_batch_rows)
    return ingestion._ingest_csv(
        store, "results", src, on_conflict="error", create_sites=False, actor=ACTOR,
        address=None, progress=None,
    )  # fmt: skip


def _stored(store: Store) -> list[tuple[object, ...]]:
    r = AIResult
    query = (
        select(ToolVersion.version, Study.study_key, r.finding, r.score, r.call,
               r.localisations, r.received_at)
        .join(Study, Study.id == r.study_id)
        .join(ToolVersion, ToolVersion.id == r.version_id)
        .order_by(r.id)
    )  # fmt: skip
    with store.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(query)]


@pytest.fixture
def fast_batches(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record the batches the fast path validated (the real function still runs)."""
    seen: list[int] = []
    real = ingestion._validate_columns

    def spy(*args: object, **kwargs: object) -> object:
        out = real(*args, **kwargs)  # type: ignore[arg-type]
        # Batch size, negative if the cyclic collector was paused (the fast path leaves
        # it running: it is process-wide, and `serve` runs other requests beside).
        seen.append(len(out[0]) if gc.isenabled() else -len(out[0]))
        return out

    monkeypatch.setattr(ingestion, "_validate_columns", spy)
    return seen


def test_clean_file_takes_the_fast_path_and_stores_what_the_row_path_stores(
    two_stores: tuple[Store, Store], tmp_path: Path, fast_batches: list[int]
) -> None:
    fast_store, row_store = two_stores
    path = _results_file(tmp_path / "results.csv")
    fast = ingest_csv(fast_store, "results", path, actor=ACTOR)
    assert fast.fast_path
    # Several batches, each validated with the cyclic collector running.
    assert len(fast_batches) > 5 and min(fast_batches) > 0
    assert sum(fast_batches) == 4 * N_STUDIES
    rows = _row_path(row_store, path)
    assert not rows.fast_path
    assert (fast.inserted, fast.rows, fast.sha256) == (rows.inserted, rows.rows, rows.sha256)
    a, b = _stored(fast_store), _stored(row_store)
    assert len(a) == 4 * N_STUDIES
    # Times the file did not give are the moment of each ingestion; compare the rest.
    assert [r[:6] for r in a] == [r[:6] for r in b]
    given = [r[6] for k, r in enumerate(a) if k % 3 == 0]
    assert set(given) == {dt.datetime(2025, 3, 2, 7, 15)}
    assert [r[6] for r in a if r[6] != given[0]] != []
    # Calls as given, else from the version's threshold (1.0), else none (2.0).
    assert {r[4] for r in a if r[0] == "1.0"} == {True, False}
    assert None in {r[4] for r in a if r[0] == "2.0"}


def test_reingesting_falls_back_to_the_row_path(
    two_stores: tuple[Store, Store], tmp_path: Path, fast_batches: list[int]
) -> None:
    store = two_stores[0]
    path = _results_file(tmp_path / "results.csv")
    ingest_csv(store, "results", path, actor=ACTOR)
    before = _stored(store)
    again = ingest_csv(store, "results", path, actor=ACTOR)
    assert (again.inserted, again.unchanged, again.fast_path) == (0, 4 * N_STUDIES, False)
    assert _stored(store) == before


def test_duplicate_across_batches_is_named_by_the_row_path(
    two_stores: tuple[Store, Store], tmp_path: Path
) -> None:
    store = two_stores[0]
    path = _results_file(tmp_path / "results.csv")
    lines = path.read_text().splitlines()
    lines.append(lines[3])  # row 4 again, batches later, as row len(lines) + 1
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataValidationError) as info:
        ingest_csv(store, "results", path, actor=ACTOR)
    assert f"row {len(lines)}:" in str(info.value) and "duplicate" in str(info.value)
    assert _stored(store) == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("CXR,1.0,ACC00001,nodule,0.5\nCXR,9.9,ACC00002,nodule,0.5\n", "has no version '9.9'"),
        ("CXR,1.0,ACC00001,nodule,0.5\nCXR,1.0,NOPE,nodule,0.5\n", "no study with this study_id"),
        ("CXR,1.0,ACC00001,nodule,0.5\nCXR,1.0,ACC00002,nodule,1.5\n", "outside the score range"),
        ("CXR,1.0,ACC00001,nodule,0.5\nCXR,1.0,ACC00001,Nodule,0.7\n", "duplicate"),
    ],
)
def test_problems_found_against_the_store_are_named_by_the_row_path(
    two_stores: tuple[Store, Store], tmp_path: Path, body: str, expected: str
) -> None:
    store = two_stores[0]
    path = tmp_path / "bad.csv"
    path.write_text("tool,version,study_id,finding,score\n" + body)
    with pytest.raises(DataValidationError) as info:
        ingest_csv(store, "results", path, actor=ACTOR)
    assert "row 3" in str(info.value) and expected in str(info.value)
    assert _stored(store) == []


# -- the reader and validator alone: declines, never reads differently -----------------
PSEUDO = Pseudonymiser("ab" * 32)
NOW = dt.datetime(2026, 1, 1)


def _fast(path: Path) -> list[tuple[object, ...]]:
    src = ArrowCsvSource(path, "results", batch_rows=100)
    out: list[tuple[object, ...]] = []
    for _, batch in src.batches():
        c = validate_result_columns(batch, src.header, PSEUDO, now=NOW)
        for i in range(len(c)):
            out.append((
                *c.pairs[c.pair_codes[i]], c.study_keys[c.study_codes[i]],
                c.findings[c.finding_codes[i]],
                None if c.score is None else float(c.score[i]),
                None if c.call is None or c.call[i] < 0 else bool(c.call[i]),
            ))  # fmt: skip
    return out


def _rows(path: Path) -> list[tuple[object, ...]] | None:
    """The row path's reading, or None if it finds any problem."""
    src = CsvSource(path, "results", batch_rows=100)
    out: list[tuple[object, ...]] = []
    try:
        for first, rows in src.batches():
            assert src.header is not None
            batch, problems, _ = validate_results(
                first, rows, src.header, PSEUDO, now=NOW, source=src.source
            )
            if problems:
                return None
            out += [
                (r.tool, r.version, r.study_key, r.finding, r.score, r.call)
                for r in batch.records()
            ]
    except DataValidationError:
        return None
    return out


HEAD = b"tool,version,study_id,finding,score,call\n"


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (HEAD + b'CXR,1.0,"A1",nodule,0.5,\n', "quote"),
        (HEAD + b"CXR,1.0,A\x001,nodule,0.5,\n", "NUL byte"),
        (HEAD + b"CXR,1.0,A1,nodule,0.5,\n\nCXR,1.0,A2,nodule,0.5,\n", "blank line"),
        (HEAD + b"CXR,1.0,A1,nodule,0.5,\rCXR,1.0,A2,nodule,0.5,\r", "old Mac line ends"),
        (HEAD + b"CXR,1.0,A1,nodule,0.5\n", "a field missing"),
        (HEAD + b"CXR,1.0,A1,nodule,0.5,,x\n", "a field too many"),
        (HEAD + b"CXR,1.0,A\xe91,nodule,0.5,\n", "Latin-1 byte"),
        (HEAD + b"CXR,1.0,A1,nodule, 0.5,\n", "a space before the score"),
        (HEAD + b"CXR,1.0,A1,nodule,1_0,\n", "an underscore in the score"),
        (HEAD + b"CXR,1.0,A1,nodule,,\n", "no score and no call"),
        (HEAD + b"CXR,1.0,A1,nodule,nan,\n", "not a finite score"),
        (HEAD + b"CXR,1.0,,nodule,0.5,\n", "blank study"),
        (HEAD + b"CXR,1.0,A1,no dule,0.5,\n", "a space in the finding"),
        (HEAD + b"CXR,1.0,A1,nodule,0.5,maybe\n", "not a yes/no call"),
        (HEAD + b"CXR,1.0,A1,nodule,0.5,\n" + b"x" * 140_000 + b"\n", "over-long line"),
        (HEAD.replace(b"call", b"acq_kvp") + b"CXR,1.0,A1,nodule,0.5,\xe9\n", "Latin-1, unread"),
        (HEAD.replace(b"call", b"acq_kvp") + b"CXR,1.0,A1,nodule,0.5,\x00\n", "NUL, unread"),
        (HEAD, "no rows"),
        (b"tool,version,study_id,finding,score,oops\nCXR,1.0,A1,nodule,0.5,\n", "bad header"),
        (b'"tool",version,study_id,finding,score\nCXR,1.0,A1,nodule,0.5\n', "quoted header"),
    ],
)
def test_irregular_files_are_declined(tmp_path: Path, data: bytes, why: str) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes(data)
    with pytest.raises(FastPathDeclinedError):
        _fast(path)


def test_files_the_fast_path_takes_read_as_the_row_path_reads_them(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes(
        b"\xef\xbb\xbf" + HEAD.replace(b"call", b"Call") + b"".join(
            b"CXR , 1.0,A%d,NODULE ,%s,%s\r\n" % (i, s, c)
            for i, (s, c) in enumerate(
                [(b"0.5", b""), (b"1e-3", b"yes"), (b"+.25", b"N"), (b"-0", b"")] * 60
            )
        )
    )  # fmt: skip
    fast = _fast(path)
    assert len(fast) == 240 and fast == _rows(path)


hypothesis = pytest.importorskip("hypothesis")
st = hypothesis.strategies

# Bytes and values the fast path must decline, or read exactly as the row path does.
_NASTY = ['"', '""', "\x00", "a,b", "\r", "\n", " ", "\t1", "é", "1e", "0x1", "١", "1,5"]


def _column(valid: list[str], invalid: list[str]) -> object:
    # Mostly values a clean export has, sometimes a faulty or a nasty one.
    return st.sampled_from(valid * 12 + invalid + _NASTY)


_ROW = st.tuples(
    _column(["CXR", " CXR", "cxr"], [""]),
    _column(["1.0", "2", " 1.0 "], [""]),
    _column(["A1", "A2", " A1", "a1"], ["", "A" * 300]),
    _column(["nodule", "NODULE", " Mass"], ["no dule", "x" * 65, ""]),
    _column(
        ["0.5", "1", "0", "1e-3", ".5", "+0.25", "-0", "1."], ["nan", "inf", " 0.5", "1_0", ""]
    ),
    _column(["", "yes", "No", "1", "0", "positive"], ["maybe"]),
)


@hypothesis.settings(max_examples=500, deadline=None)
@hypothesis.given(
    st.lists(_ROW, min_size=1, max_size=5),
    st.sampled_from(["\n", "\r\n"]),
)
def test_the_fast_path_is_never_more_lenient(
    tmp_path_factory: pytest.TempPathFactory, rows: list[tuple[str, ...]], end: str
) -> None:
    """Whatever the fast path accepts, the row path accepts and reads the same."""
    path = tmp_path_factory.mktemp("h") / "r.csv"
    body = end.join(",".join(r) for r in rows) + end
    path.write_bytes((HEAD.decode() + body).encode("utf-8"))
    try:
        fast = _fast(path)
    except FastPathDeclinedError:
        return
    assert _rows(path) == fast


def test_random_exports_read_the_same_on_both_paths(tmp_path: Path) -> None:
    """Near-clean exports (each field faulty with probability 1%): same reading or declined."""
    rng = np.random.default_rng(11)
    choices = [
        (["CXR", " CXR", "cxr"], [""]),
        (["1.0", "2", " 1.0 "], [""]),
        (["A1", "A2", " A1", "a1", "B7"], ["", "A" * 300]),
        (["nodule", "NODULE", " Mass", "effusion"], ["no dule", "x" * 65, ""]),
        (["0.5", "1", "0", "1e-3", ".5", "+0.25", "-0", "1.", "0.123456"],
         ["nan", "inf", " 0.5", "1_0", ""]),
        (["", "yes", "No", "1", "0", "positive"], ["maybe"]),
    ]  # fmt: skip
    accepted = 0
    for k in range(150):
        lines = []
        for _ in range(int(rng.integers(1, 40))):
            fields = []
            for valid, invalid in choices:
                pool = valid if rng.random() > 0.01 else invalid + _NASTY
                fields.append(pool[int(rng.integers(len(pool)))])
            lines.append(",".join(fields))
        path = tmp_path / f"r{k}.csv"
        path.write_bytes(HEAD + ("\r\n" if k % 2 else "\n").join(lines).encode() + b"\n")
        try:
            fast = _fast(path)
        except FastPathDeclinedError:
            continue
        accepted += 1
        assert _rows(path) == fast, path.read_bytes()[:300]
    assert accepted >= 40  # the comparison was made on many files, not only declined ones
