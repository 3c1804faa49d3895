"""Streaming CSV reading with file-level checks.

The reader checks what can be checked before any row is trusted (encoding,
empty file, header against the contract, column mapping) and then yields rows
in bounded batches, so memory does not grow with the file. It also fingerprints
the bytes it reads (SHA-256) for the ingestion log.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator, Mapping
from itertools import islice
from pathlib import Path
from typing import IO

from radassure.errors import DataValidationError, InputProblem
from radassure.ingest.contract import ACQ_PREFIX, contract_for

__all__ = ["CsvSource", "Header", "check_header"]

IGNORE = "-"


class _HashingReader(io.RawIOBase):
    """A raw reader that hashes and counts the bytes passing through."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self.sha256 = hashlib.sha256()
        self.bytes_read = 0
        self.last_byte = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self._raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        if n:
            self.sha256.update(data)
            self.bytes_read += n
            self.last_byte = data[-1:]
        return n

    def close(self) -> None:
        self._raw.close()
        super().close()


class Header:
    """A checked header: contract column name to position, plus acquisition columns.

    Attributes
    ----------
    names : list of str
        Contract names in file order (None for ignored columns).
    index : dict
        Contract column name to its position in each row.
    acquisition : dict
        Acquisition parameter name (without the ``acq_`` prefix) to position.
    width : int
        Number of fields each row must have.

    """

    def __init__(self, names: list[str | None], kind: str) -> None:
        self.names = names
        self.kind = kind
        self.width = len(names)
        self.index: dict[str, int] = {}
        self.acquisition: dict[str, int] = {}
        for pos, name in enumerate(names):
            if name is None:
                continue
            if name.startswith(ACQ_PREFIX):
                self.acquisition[name[len(ACQ_PREFIX) :]] = pos
            else:
                self.index[name] = pos

    def get(self, name: str) -> int | None:
        """Return the position of contract column ``name``, or None if absent."""
        return self.index.get(name)


def _normalise(name: str) -> str:
    return name.strip().lower()


def check_header(
    raw_names: list[str], kind: str, source: str, mapping: Mapping[str, str] | None = None
) -> Header:
    """Map and check a header against the contract of ``kind``.

    Parameters
    ----------
    raw_names : list of str
        Column names as found in the file.
    kind : str
        ``studies``, ``results`` or ``references``.
    source : str
        Name of the file or request, for messages.
    mapping : mapping, optional
        Vendor column name to contract name; a target of ``-`` drops the column.

    Returns
    -------
    Header

    Raises
    ------
    DataValidationError
        Naming every unknown, missing or duplicated column.

    Examples
    --------
    >>> h = check_header(["Accession", "finding", "label", "source"], "references",
    ...                  "refs.csv", {"Accession": "study_id"})
    >>> h.index["study_id"]
    0

    """
    contract = contract_for(kind)
    allowed = {c.name for c in contract}
    problems: list[InputProblem] = []
    norm_map = {_normalise(k): _normalise(v) for k, v in (mapping or {}).items()}
    seen_raw = {_normalise(n) for n in raw_names}
    for vendor in norm_map:
        if vendor not in seen_raw:
            problems.append(
                InputProblem(
                    source,
                    1,
                    vendor,
                    "the column mapping names this column but the "
                    "file has no such column; check the mapping's spelling.",
                )
            )
    names: list[str | None] = []
    for raw in raw_names:
        name = _normalise(raw)
        name = norm_map.get(name, name)
        if name == IGNORE:
            names.append(None)
            continue
        if name not in allowed and not (
            name.startswith(ACQ_PREFIX) and len(name) > len(ACQ_PREFIX)
        ):
            expected = ", ".join(c.name for c in contract)
            problems.append(
                InputProblem(
                    source,
                    1,
                    raw.strip() or "(blank)",
                    f"unknown column. Columns accepted for {kind}: {expected}, and numeric "
                    f"acquisition parameters named {ACQ_PREFIX}*. Rename it, map it with "
                    f"--map '{raw.strip()}=<column>', or drop it with --map '{raw.strip()}=-'.",
                )
            )
        names.append(name)
    present = [n for n in names if n is not None]
    for dup in sorted({n for n in present if present.count(n) > 1}):
        problems.append(
            InputProblem(
                source, 1, dup, "this column appears more than once (after mapping); keep one."
            )
        )
    for spec in contract:
        if spec.required and spec.name not in present:
            problems.append(
                InputProblem(
                    source, 1, spec.name, f"required column is missing ({spec.description})"
                )
            )
    if problems:
        raise DataValidationError(problems)
    return Header(names, kind)


class CsvSource:
    """A CSV file read as a stream of row batches.

    Parameters
    ----------
    path : path-like
        The CSV file (UTF-8, optionally with a byte-order mark).
    kind : str
        ``studies``, ``results`` or ``references``.
    mapping : mapping, optional
        Vendor column name to contract name (``-`` drops a column).
    delimiter : str
        Field delimiter, ``,`` by default.
    batch_rows : int
        Rows per yielded batch.

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "r.csv"
    >>> _ = p.write_text(chr(10).join(["study_id,finding,label,source", "A1,nodule,1,report", ""]))
    >>> src = CsvSource(p, "references")
    >>> [(first, rows) for first, rows in src.batches()]
    [(2, [['A1', 'nodule', '1', 'report']])]

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
        self.path = Path(path)
        self.kind = kind
        self.source = self.path.name
        self.mapping = mapping
        self.delimiter = delimiter
        self.batch_rows = batch_rows
        self.rows_read = 0
        self._hasher: _HashingReader | None = None
        self.header: Header | None = None
        try:
            self.total_bytes = self.path.stat().st_size
        except OSError as exc:
            raise DataValidationError(
                [
                    InputProblem(
                        str(path),
                        None,
                        None,
                        f"cannot be read ({exc.strerror}); check the path and permissions.",
                    )
                ]
            ) from exc
        if self.path.is_dir():
            raise DataValidationError(
                [InputProblem(str(path), None, None, "is a folder; give a CSV file.")]
            )

    @property
    def bytes_read(self) -> int:
        """Bytes consumed so far (for progress)."""
        return self._hasher.bytes_read if self._hasher else 0

    @property
    def sha256(self) -> str:
        """SHA-256 of the bytes read so far (the whole file once exhausted)."""
        return self._hasher.sha256.hexdigest() if self._hasher else ""

    def _fail(self, row: int | None, message: str) -> DataValidationError:
        return DataValidationError([InputProblem(self.source, row, None, message)])

    def _first_undecodable_line(self) -> int | None:
        # The decoder fails a chunk ahead of the row being parsed; find the exact line.
        with self.path.open("rb") as fh:
            for number, line in enumerate(fh, start=1):
                try:
                    line.decode("utf-8")
                except UnicodeDecodeError:
                    return number
        return None

    def batches(self) -> Iterator[tuple[int, list[list[str]]]]:
        """Yield ``(first_row_number, rows)``; the header is checked first.

        Row numbers follow a spreadsheet: the header is row 1.
        """
        if self.total_bytes == 0:
            expected = ", ".join(c.name for c in contract_for(self.kind) if c.required)
            raise self._fail(None, f"is empty; expected a header row naming at least: {expected}.")
        with self.path.open("rb") as raw:
            head = raw.read(4)
            raw.seek(0)
            if head.startswith((b"\xff\xfe", b"\xfe\xff")):
                raise self._fail(
                    None,
                    "is UTF-16 encoded; save it as UTF-8 (in Excel: "
                    "Save As > 'CSV UTF-8 (Comma delimited)').",
                )
            self._hasher = _HashingReader(raw)
            buffered = io.BufferedReader(self._hasher, buffer_size=1 << 20)
            text = io.TextIOWrapper(buffered, encoding="utf-8-sig", errors="strict", newline="")
            reader = csv.reader(text, delimiter=self.delimiter, strict=True)
            try:
                try:
                    raw_header = next(reader)
                except StopIteration:
                    raise self._fail(None, "is empty; expected a header row.") from None
                header = check_header(raw_header, self.kind, self.source, self.mapping)
                self.header = header
                # Batches come from islice (the C reader, no Python per row); one batch is
                # held back so the last row of the file can be checked for truncation.
                first = 2
                batch = list(islice(reader, self.batch_rows))
                if not batch:
                    raise self._fail(None, "has a header but no data rows.")
                while batch:
                    following = list(islice(reader, self.batch_rows))
                    if not following:
                        last = batch[-1]
                        if len(last) < header.width and self._hasher.last_byte not in (
                            b"\n",
                            b"\r",
                        ):
                            raise DataValidationError(
                                [
                                    InputProblem(
                                        self.source,
                                        first + len(batch) - 1,
                                        None,
                                        f"the last row has {len(last)} of {header.width} fields "
                                        "and the file does not end with a line break: the file "
                                        "looks truncated (cut off while copying or exporting). "
                                        "Export it again.",
                                    )
                                ]
                            )
                    self.rows_read += len(batch)
                    yield first, batch
                    first += len(batch)
                    batch = following
            except UnicodeDecodeError as exc:
                bad = exc.object[exc.start : exc.start + 1].hex().upper()
                line = self._first_undecodable_line()
                raise self._fail(
                    line,
                    f"is not UTF-8 text (byte 0x{bad} in line {line} of the file); save it as "
                    "UTF-8 (in Excel: Save As > 'CSV UTF-8 (Comma delimited)').",
                ) from exc
            except csv.Error as exc:
                raise self._fail(
                    reader.line_num,
                    f"is not well-formed CSV ({exc}); an unclosed quote usually means the file "
                    'was truncated or a field contains a stray " character.',
                ) from exc
            finally:
                text.detach()
