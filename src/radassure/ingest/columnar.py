"""The fast path for clean AI-result files: CSV parsed column by column by Apache Arrow.

Most result files are machine exports: plain, unquoted, one row per line, and
without a single fault. For them the row-by-row reader (:class:`CsvSource` and
:func:`validate_results`) spends most of its time making Python strings of every
field. Here Arrow's CSV reader parses a block of the file in C++ into columns,
each text column is dictionary-encoded (a study's four findings share one
study identifier, a file has a handful of tools and findings), and every check
and every HMAC runs once per *distinct* value; rows are numpy index arrays.

The fast path is an optimisation, never a second set of rules. It takes a file
only when it can promise the same outcome as the row path: it declines
(:class:`FastPathDeclinedError`) anything it is not certain about (a quote character, a NUL
byte, a blank or over-long line, a field count or encoding Arrow refuses, a
value the row path would read differently) and any problem at all, and the
caller then ingests the file through the row path, which names every problem
with its row and column. Declining costs only the time spent so far: the
transaction is rolled back before the row path starts.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from radassure.errors import DataValidationError
from radassure.ingest.pseudonym import Pseudonymiser
from radassure.ingest.reader import Header, check_header
from radassure.ingest.records import _finding, _json, _key_text, parse_bool, parse_time

__all__ = ["ArrowCsvSource", "FastPathDeclinedError", "ResultColumns", "validate_result_columns"]

_BYTES_PER_ROW = 48  # a typical result row: sizes the chunks read from the batch size
_MIN_BLOCK = 1 << 12
_MAX_BLOCK = 1 << 21


def _arrow_name(position: int) -> str:
    # Columns are named by position: the header was checked (and mapped) already.
    return f"c{position}"


class FastPathDeclinedError(Exception):
    """The fast path does not take this input: ingest it through the row path.

    The message says what kind of thing was found, never a value from the file
    (it could be an identifier): it is safe to log.
    """


def _irregularity(chunk: bytes, limit: int) -> str:
    """What in a chunk of whole lines the fast path must decline, or ''."""
    if b'"' in chunk:
        # Quoting is switched off in Arrow, so a quoted field would keep its quotes.
        return "a quote character"
    if b"\0" in chunk:
        return "a NUL byte"  # the row path's CSV reader refuses the file
    if not chunk.isascii():
        # Arrow checks the encoding of the columns it converts only; the row path
        # refuses a file with a single undecodable byte, in any column.
        try:
            chunk.decode("utf-8")
        except UnicodeDecodeError:
            return "a byte that is not UTF-8"
    ends = np.flatnonzero(np.frombuffer(chunk, dtype=np.uint8) == 10)
    starts = np.concatenate(([0], ends[:-1] + 1)) if len(ends) else np.zeros(1, np.int64)
    if len(ends) and int((ends - starts).max()) > limit:
        return "an over-long line"  # over the row path's field size limit
    return ""


def _numbers(array: pa.Array, dtype: type[np.generic]) -> np.ndarray:
    """A null-free numeric Arrow array as numpy, without a copy.

    Read from the data buffer directly: ``Array.to_numpy`` imports pandas
    (about 50 MB) just to look for its types.
    """
    assert array.null_count == 0
    return np.frombuffer(
        array.buffers()[1],
        dtype=dtype,
        count=len(array),
        offset=array.offset * np.dtype(dtype).itemsize,
    )


class ArrowCsvSource:
    """A results CSV read in column blocks by Arrow; declines anything irregular.

    The file is read in chunks of whole lines; each chunk is checked at byte
    level (no quote, no NUL, no over-long line), hashed, and parsed by Arrow,
    which must find exactly one row per line (no blank line, no field-count or
    encoding fault).

    Parameters
    ----------
    path : path-like
        The CSV file.
    kind : str
        Only ``results`` is read this way.
    mapping : mapping, optional
        Vendor column name to contract name (``-`` drops a column).
    delimiter : str
        Field delimiter (one character).
    batch_rows : int
        Rows per batch, roughly (chunks are cut by bytes).

    Raises
    ------
    FastPathDeclinedError
        When the file is not one the fast path can read exactly as the row
        path would (the header is checked by the same function).

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "r.csv"
    >>> _ = p.write_text("tool,version,study_id,finding,score" + chr(10) +
    ...                  "CXR,1.0,A1,nodule,0.25" + chr(10))
    >>> src = ArrowCsvSource(p, "results")
    >>> [(first, batch.num_rows) for first, batch in src.batches()]
    [(2, 1)]

    """

    def __init__(
        self,
        path: str | Path,
        kind: str,
        *,
        mapping: Mapping[str, str] | None = None,
        delimiter: str = ",",
        batch_rows: int = 20_000,
    ) -> None:
        if kind != "results" or len(delimiter) != 1 or delimiter in '"\r\n\0':
            raise FastPathDeclinedError(f"kind {kind!r} with delimiter {delimiter!r}")
        self.path = Path(path)
        self.kind = kind
        self.source = self.path.name
        self.rows_read = 0
        self.bytes_read = 0
        self._sha256 = hashlib.sha256()
        try:
            self.total_bytes = self.path.stat().st_size
            with self.path.open("rb") as fh:
                first_line = fh.readline(1 << 16)
            text = first_line.decode("utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise FastPathDeclinedError("unreadable header") from exc
        if not text.endswith("\n") or _irregularity(first_line, 1 << 16) or "\r" in text[:-2]:
            raise FastPathDeclinedError("header line")
        raw_names = next(csv.reader([text.rstrip("\r\n")], delimiter=delimiter, strict=True))
        try:
            self.header: Header = check_header(raw_names, kind, self.source, mapping)
        except DataValidationError as exc:
            raise FastPathDeclinedError("header") from exc
        self.chunk_bytes = min(_MAX_BLOCK, max(_MIN_BLOCK, batch_rows * _BYTES_PER_ROW))
        self.delimiter = delimiter

    @property
    def sha256(self) -> str:
        """SHA-256 of the bytes read so far (the whole file once exhausted)."""
        return self._sha256.hexdigest()

    def _chunks(self) -> Iterator[bytes]:
        """The file after the header in chunks of whole lines, hashed and checked."""
        limit = csv.field_size_limit()
        with self.path.open("rb") as fh:
            header = fh.readline()
            self._sha256.update(header)
            self.bytes_read = len(header)
            carry = b""
            while True:
                data = fh.read(self.chunk_bytes)
                self._sha256.update(data)
                self.bytes_read += len(data)
                buf = carry + data if carry else data
                cut = len(buf) if not data else buf.rfind(b"\n") + 1
                if cut == 0 and len(buf) > limit:
                    raise FastPathDeclinedError("an over-long line")
                chunk, carry = buf[:cut], buf[cut:]
                if chunk:
                    problem = _irregularity(chunk, limit)
                    if problem:
                        raise FastPathDeclinedError(problem)
                    yield chunk
                if not data:
                    return

    def batches(self) -> Iterator[tuple[int, pa.RecordBatch]]:
        """Yield ``(first_row_number, record_batch)`` of the contract columns, as text.

        Raises :class:`FastPathDeclinedError` as soon as the file turns out
        irregular (a chunk's rows are not exactly its lines).
        """
        names = [_arrow_name(i) for i in range(self.header.width)]
        wanted = [_arrow_name(pos) for pos in self.header.index.values()]
        read = pa_csv.ReadOptions(use_threads=False, column_names=names)
        parse = pa_csv.ParseOptions(
            delimiter=self.delimiter,
            quote_char=False,
            escape_char=False,
            double_quote=False,
            newlines_in_values=False,
            ignore_empty_lines=True,
        )
        convert = pa_csv.ConvertOptions(
            column_types=dict.fromkeys(wanted, pa.string()),
            include_columns=wanted,
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
            check_utf8=True,
        )
        first = 2
        for chunk in self._chunks():
            lines = chunk.count(b"\n") + (not chunk.endswith(b"\n"))
            try:
                table = pa_csv.read_csv(
                    pa.py_buffer(chunk),
                    read_options=read,
                    parse_options=parse,
                    convert_options=convert,
                )
            except pa.ArrowException as exc:
                # Arrow's message quotes the row: keep it out of the reason.
                raise FastPathDeclinedError(
                    f"Arrow refused a chunk ({type(exc).__name__})"
                ) from exc
            if table.num_rows != lines:
                raise FastPathDeclinedError("a blank line")
            self.rows_read += lines
            (batch,) = table.combine_chunks().to_batches() or [None]
            if batch is not None:
                yield first, batch
            first += lines
        if self.rows_read == 0:
            raise FastPathDeclinedError("no rows")


@dataclass
class ResultColumns:
    """A clean batch of AI results as distinct values and per-row codes.

    ``pairs[pair_codes[i]]`` is row *i*'s (tool, version); likewise studies
    (already pseudonymised) and findings. ``score`` holds finite numbers or is
    None (no score column); ``call`` holds -1 (not given), 0 or 1, or is None
    (no call column).
    """

    n: int
    pairs: list[tuple[str, str]]
    pair_codes: np.ndarray
    study_keys: list[str]
    study_codes: np.ndarray
    findings: list[str]
    finding_codes: np.ndarray
    score: np.ndarray | None
    call: np.ndarray | None
    localisations: list[Any] | None
    received_at: list[dt.datetime | None] | None

    def __len__(self) -> int:
        return self.n


def _encoded(column: pa.Array, check: Callable[[str], Any]) -> tuple[list[Any], np.ndarray]:
    """Distinct values (each passed through ``check``) and each row's code."""
    encoded = pc.dictionary_encode(column)
    values = [check(v) for v in encoded.dictionary.to_pylist()]
    return values, _numbers(encoded.indices, np.int32)


def _text(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("blank")
    return value


def validate_result_columns(
    batch: pa.RecordBatch,
    header: Header,
    pseudo: Pseudonymiser,
    *,
    now: dt.datetime,
) -> ResultColumns:
    """Check a clean batch column-wise and pseudonymise its study identifiers.

    Every check of the row path is made (:func:`validate_results`), once per
    distinct value.

    Raises
    ------
    FastPathDeclinedError
        At the first value the row path would reject or might read differently.

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "r.csv"
    >>> _ = p.write_text("tool,version,study_id,finding,score" + chr(10) +
    ...                  "CXR,1.0,A1,Nodule,0.25" + chr(10) + "CXR,1.0,A1,mass,0.5" + chr(10))
    >>> src = ArrowCsvSource(p, "results")
    >>> (_, batch), = src.batches()
    >>> cols = validate_result_columns(batch, src.header, Pseudonymiser("00" * 32),
    ...                                now=dt.datetime(2026, 1, 1))
    >>> cols.findings, cols.finding_codes.tolist(), len(cols.study_keys)
    (['nodule', 'mass'], [0, 1], 1)

    """
    index = header.index

    def col(name: str) -> pa.Array:
        return batch.column(_arrow_name(index[name]))

    try:
        tools, tool_codes = _encoded(col("tool"), _text)
        versions, version_codes = _encoded(col("version"), _text)
        combined = tool_codes.astype(np.int64) * len(versions) + version_codes
        distinct, pair_codes = np.unique(combined, return_inverse=True)
        pairs = [
            (tools[c // len(versions)], versions[c % len(versions)]) for c in distinct.tolist()
        ]
        study_keys, study_codes = _encoded(
            col("study_id"), lambda v: pseudo.study(_key_text(v, "study_id"))
        )
        findings, finding_codes = _encoded(col("finding"), _finding)
        score = None
        if "score" in index:
            # Arrow reads numbers like Python's float() or refuses them (never looser:
            # it refuses blanks, spaces and underscores, which the row path then takes).
            score = _numbers(pc.cast(col("score"), pa.float64()), np.float64)
            if not np.isfinite(score).all():
                raise ValueError("non-finite score")
        call = None
        if "call" in index:
            calls, codes = _encoded(col("call"), lambda v: parse_bool(v) if v.strip() else None)
            table = np.array([-1 if c is None else int(c) for c in calls], dtype=np.int8)
            call = table[codes]
            if score is None and (call < 0).any():
                raise ValueError("no score and no call")
        elif score is None:
            raise ValueError("no score and no call")
        locs = None
        if "localisations" in index:
            locs = [_json(v) for v in col("localisations").to_pylist()]
        received = None
        if "received_at" in index:
            times, codes = _encoded(
                col("received_at"), lambda v: parse_time(v, now) if v.strip() else None
            )
            received = [times[c] for c in codes.tolist()]
    except (ValueError, pa.ArrowException) as exc:
        # The message may quote a value: give the kind of problem only.
        raise FastPathDeclinedError(
            f"a value the row path must check ({type(exc).__name__})"
        ) from None
    return ResultColumns(
        batch.num_rows,
        pairs,
        pair_codes,
        study_keys,
        study_codes,
        findings,
        finding_codes,
        score,
        call,
        locs,
        received,
    )
