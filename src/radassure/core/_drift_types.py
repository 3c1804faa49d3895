"""The result of one label-free early-warning check (re-exported by ``drift``)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

__all__ = ["EARLY_WARNING", "DriftResult", "json_float"]

#: The role every label-free result carries: context for people, never the safety verdict.
EARLY_WARNING = "early-warning"


def json_float(value: float | None) -> float | None:
    """Return ``value`` with NaN and infinities replaced by None (JSON has neither)."""
    if value is None or not math.isfinite(value):
        return None
    return float(value)


@dataclass(frozen=True)
class DriftResult:
    """One label-free early-warning check: shown as context, never as the safety verdict.

    A check is ``flagged`` only when the change is both statistically clear
    (``p_value`` below the chosen alpha, or ``statistic`` past ``threshold``)
    and large enough to matter (``effect >= effect_floor``), so that a large
    sample does not flag a trivial change and a small one does not flag noise.
    Nothing here measures accuracy: that needs the reference standard and the
    label-based charts in :mod:`radassure.core.monitoring`.

    Attributes
    ----------
    name : str
        What was checked: ``"score_distribution"``, ``"metadata:<field>"``,
        ``"stream_gap:<stream>"``, ``"estimated_sensitivity"`` ...
    statistic : float
        The test statistic (KS D, chi-square, days of silence, estimate ...).
    threshold : float or None
        The value of ``statistic`` beyond which the check is significant, where
        one applies.
    p_value : float or None
        The test's p-value, where a test was run.
    effect : float or None
        Effect size on a scale that does not grow with the sample (KS D,
        bias-corrected Cramér's V, expected studies missing ...).
    effect_floor : float or None
        The smallest effect worth flagging.
    flagged : bool
        True when the check asks a person to look.
    n_baseline, n_current : int
        Observations in the baseline and the current window.
    message : str
        One plain sentence saying what was found.
    role : str
        Always ``"early-warning"``.

    Examples
    --------
    >>> r = DriftResult("metadata:model", 12.5, 9.2, 0.002, 0.11, 0.1, True, 900, 300, "...")
    >>> r.to_dict()["role"], r.to_dict()["flagged"]
    ('early-warning', True)

    """

    name: str
    statistic: float
    threshold: float | None
    p_value: float | None
    effect: float | None
    effect_floor: float | None
    flagged: bool
    n_baseline: int
    n_current: int
    message: str
    role: str = EARLY_WARNING

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-ready dict; NaN and infinities become None."""
        out: dict[str, object] = {}
        for key, val in asdict(self).items():
            out[key] = json_float(val) if isinstance(val, float) else val
        return out
