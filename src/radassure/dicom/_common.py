"""Shared helpers of the DICOM layer: tolerant reading and errors that name the file.

Reading is tolerant: a file without the 128-byte preamble and file meta header
(as many older systems write) is read with ``force=True`` as long as it holds a
SOP Class UID. Two kinds of pydicom warning are silenced while radassure
extracts what it needs, and nothing else:

* value validation (an over-long string, a UID with a trailing dot, written by
  another system): it does not change the values radassure reads;
* the transfer-syntax guess for a file without file meta ("Expected implicit
  VR, but found explicit VR"): pydicom corrects its guess and reads on.

The suite runs with warnings as errors, so these are named precisely.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from numpy.typing import NDArray
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from radassure.errors import DataValidationError, InputProblem

__all__ = [
    "PathLike",
    "floats",
    "problem",
    "read_dataset",
    "tolerant_values",
]

PathLike = str | os.PathLike[str]

# pydicom's messages for values that break the VR rules (pydicom.valuerep.validate_value)
# and for a corrected transfer-syntax guess (pydicom.filereader).
_TOLERATED_MESSAGES = (
    r"Invalid value for VR",
    r"The value length \(\d+\) exceeds the maximum length",
    r"Expected (implicit|explicit) VR, but found (explicit|implicit) VR",
)


@contextlib.contextmanager
def tolerant_values() -> Iterator[None]:
    """Silence the pydicom warnings named in the module docstring inside the block."""
    with warnings.catch_warnings():
        for message in _TOLERATED_MESSAGES:
            warnings.filterwarnings("ignore", message=message, category=UserWarning)
        yield


def problem(source: PathLike, keyword: str | None, message: str) -> DataValidationError:
    """One-problem :class:`DataValidationError` naming the file and DICOM attribute."""
    return DataValidationError([InputProblem(str(source), None, keyword, message)])


def read_dataset(path: PathLike, *, stop_before_pixels: bool = False) -> Dataset:
    """Read one DICOM file tolerantly; raise DataValidationError naming it otherwise.

    Call inside :func:`tolerant_values` when the values are read afterwards.
    """
    p = Path(path)
    if not p.is_file():
        raise problem(p, None, "the file does not exist or is not a regular file.")
    try:
        try:
            ds = pydicom.dcmread(p, stop_before_pixels=stop_before_pixels)
        except InvalidDicomError:
            # No preamble/file meta (e.g. written by an older system): read the raw dataset.
            ds = pydicom.dcmread(p, stop_before_pixels=stop_before_pixels, force=True)
    except Exception as exc:  # pydicom raises many types on a corrupt file
        raise problem(
            p, None, f"the file could not be read as DICOM ({exc}). Check it is a DICOM file."
        ) from exc
    if "SOPClassUID" not in ds:
        raise problem(
            p,
            "SOPClassUID",
            "the file is not a DICOM object (no SOP Class UID). Check it is a DICOM file.",
        )
    return ds


def floats(ds: Dataset, keyword: str, count: int, source: PathLike) -> NDArray[np.float64]:
    """Attribute ``keyword`` as ``count`` finite floats, or a DataValidationError naming it."""
    value: Any = ds.get(keyword)
    if value is None:
        raise problem(source, keyword, f"the attribute {keyword} is missing.")
    try:
        seq = value if isinstance(value, Sequence) and not isinstance(value, str) else [value]
        arr = np.asarray([float(v) for v in seq], dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise problem(source, keyword, f"{keyword} is not numeric ({value!r}).") from exc
    if arr.size != count or not np.all(np.isfinite(arr)):
        raise problem(
            source, keyword, f"{keyword} must hold {count} finite numbers; found {value!r}."
        )
    return arr
