"""Multiple-comparison adjustment of p-values (Holm 1979; Benjamini and Hochberg 1995).

Adjusted p-values are compared with ``alpha`` directly: a hypothesis is
rejected when its adjusted p-value is at most ``alpha``, which is the same
decision as the step-down (Holm) or step-up (Benjamini-Hochberg) procedure.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

__all__ = ["Correction", "adjust_p_values", "correction_label"]

Correction = Literal["holm", "bh"]

_LABELS = {"holm": "Holm", "bh": "Benjamini-Hochberg"}


def correction_label(method: str) -> str:
    """Name of a correction as written in readings, e.g. ``"Holm"``."""
    return _LABELS[method]


def adjust_p_values(
    p_values: npt.ArrayLike, *, method: Correction = "holm"
) -> npt.NDArray[np.float64]:
    """Adjust p-values for multiple comparisons.

    Parameters
    ----------
    p_values : array-like of float
        Unadjusted p-values, each in [0, 1]. NaN entries (tests that could not
        be run) are left NaN and do not count towards the number of tests.
    method : {"holm", "bh"}, default "holm"
        ``"holm"``: Holm's (1979) step-down procedure, which controls the
        family-wise error rate under any dependence between the tests;
        adjusted ``p_(i) = max_{j <= i} min(1, (m - j + 1) p_(j))`` for the
        sorted p-values. ``"bh"``: Benjamini and Hochberg's (1995) step-up
        procedure, which controls the false discovery rate (for independent
        or positively dependent tests); adjusted
        ``p_(i) = min_{j >= i} min(1, m p_(j) / j)``.

    Returns
    -------
    numpy.ndarray
        Adjusted p-values in the order given.

    Examples
    --------
    >>> adjust_p_values([0.01, 0.04, 0.03]).round(3).tolist()
    [0.03, 0.06, 0.06]
    >>> adjust_p_values([0.01, 0.04, 0.03], method="bh").round(3).tolist()
    [0.03, 0.04, 0.04]

    """
    if method not in _LABELS:
        raise ValueError(f"method must be 'holm' or 'bh' (got {method!r}).")
    p = np.asarray(p_values, dtype=np.float64)
    if p.ndim != 1:
        raise ValueError(f"p_values must be one-dimensional (got shape {p.shape}).")
    finite = ~np.isnan(p)
    if np.any((p[finite] < 0) | (p[finite] > 1)):
        raise ValueError("p_values must lie between 0 and 1; check how they were computed.")
    out = np.full(p.shape, np.nan)
    kept = p[finite]
    m = kept.size
    if m == 0:
        return out
    order = np.argsort(kept, kind="stable")
    ranked = kept[order]
    if method == "holm":
        scaled = np.minimum(1.0, (m - np.arange(m)) * ranked)
        adjusted = np.maximum.accumulate(scaled)
    else:
        scaled = np.minimum(1.0, m * ranked / np.arange(1, m + 1))
        adjusted = np.minimum.accumulate(scaled[::-1])[::-1]
    back = np.empty(m)
    back[order] = adjusted
    out[finite] = back
    return out
