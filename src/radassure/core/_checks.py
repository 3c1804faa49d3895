"""Input checks shared by the classification and detection metrics.

Every check raises :class:`ValueError` with a full sentence that names the
argument and says how to fix it, so a bad call fails before any arithmetic.
"""

from __future__ import annotations

import functools
import math
import warnings

import numpy as np
import numpy.typing as npt
from scipy import stats

from radassure.errors import UndefinedMetricWarning

__all__ = [
    "binary_labels",
    "check_level",
    "check_positive_int",
    "check_same_length",
    "finite_scores",
    "probabilities",
    "resolve_rng",
    "undefined",
    "z_value",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


def undefined(message: str, *, stacklevel: int = 3) -> float:
    """Warn with :class:`UndefinedMetricWarning` and return NaN."""
    warnings.warn(message, UndefinedMetricWarning, stacklevel=stacklevel)
    return math.nan


def check_level(level: float) -> float:
    """Return ``level`` as a float after checking it lies strictly in (0, 1)."""
    if not isinstance(level, int | float) or not 0.0 < float(level) < 1.0:
        raise ValueError(
            f"level must be a confidence level strictly between 0 and 1 (got {level!r}); "
            "pass for example level=0.95."
        )
    return float(level)


def z_value(level: float) -> float:
    """Two-sided standard normal quantile for a confidence ``level``."""
    return _z(check_level(level))


@functools.lru_cache(maxsize=64)
def _z(level: float) -> float:
    # A handful of levels recur millions of times in simulations; scipy's ppf is slow.
    return float(stats.norm.ppf(0.5 + level / 2.0))


def check_positive_int(value: int, name: str) -> int:
    """Return ``value`` after checking it is a positive integer."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} must be a positive integer (got {value!r}).")
    return int(value)


def _as_1d(values: npt.ArrayLike, name: str) -> npt.NDArray[np.generic]:
    arr = np.asarray(values)
    if arr.ndim == 0:
        raise ValueError(f"{name} must be a one-dimensional array of values, not a scalar.")
    if arr.ndim != 1:
        raise ValueError(
            f"{name} must be one-dimensional (got shape {arr.shape}); flatten it or pass "
            "one column."
        )
    if arr.size == 0:
        raise ValueError(f"{name} is empty; pass at least one case.")
    return arr


def binary_labels(values: npt.ArrayLike, name: str) -> BoolArray:
    """Return ``values`` as a boolean array, accepting only 0/1 or True/False."""
    arr = _as_1d(values, name)
    if arr.dtype == np.bool_:
        return arr.astype(np.bool_)
    if not np.issubdtype(arr.dtype, np.number):
        raise ValueError(
            f"{name} must hold binary labels 0/1 or True/False (got values of type "
            f"{arr.dtype}); map the classes to 0 and 1 first."
        )
    bad = ~np.isin(arr, (0, 1))
    if bad.any():
        first = arr[bad][0]
        raise ValueError(
            f"{name} must hold binary labels 0/1 or True/False, but it contains {first!r}; "
            "map the classes to 0 and 1 first."
        )
    return arr.astype(np.bool_)


def finite_scores(values: npt.ArrayLike, name: str) -> FloatArray:
    """Return ``values`` as a float array after checking every entry is finite."""
    arr = _as_1d(values, name)
    if arr.dtype == np.bool_:
        arr = arr.astype(np.float64)
    if not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"{name} must be numeric (got values of type {arr.dtype}).")
    out = arr.astype(np.float64)
    if not np.all(np.isfinite(out)):
        raise ValueError(
            f"{name} contains NaN or infinite values; drop or impute those cases first."
        )
    return out


def probabilities(values: npt.ArrayLike, name: str) -> FloatArray:
    """Return ``values`` as floats after checking they are probabilities in [0, 1]."""
    out = finite_scores(values, name)
    if out.min() < 0.0 or out.max() > 1.0:
        raise ValueError(
            f"{name} must be probabilities between 0 and 1 (found values from "
            f"{out.min():g} to {out.max():g}); rescale the scores or pass calibrated "
            "probabilities."
        )
    return out


def check_same_length(**arrays: npt.NDArray[np.generic]) -> int:
    """Return the common length of ``arrays`` or raise naming the mismatch."""
    lengths = {name: len(arr) for name, arr in arrays.items()}
    if len(set(lengths.values())) > 1:
        described = ", ".join(f"{name} has {n}" for name, n in lengths.items())
        raise ValueError(f"The inputs must have one entry per case, but {described}.")
    return next(iter(lengths.values()))


def resolve_rng(rng: np.random.Generator | int | None, caller: str) -> np.random.Generator:
    """Return a Generator from ``rng``; ``None`` is refused so results are reproducible."""
    if rng is None:
        raise ValueError(
            f"{caller} draws random resamples, so it needs rng=: pass an integer seed or a "
            "numpy.random.Generator so that the result can be reproduced."
        )
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, int | np.integer) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise ValueError(
        f"rng must be an integer seed or a numpy.random.Generator (got {type(rng).__name__})."
    )
