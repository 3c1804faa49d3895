"""Result types shared by every metric: an estimate with its uncertainty."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

__all__ = ["Estimate"]


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its confidence interval.

    Attributes
    ----------
    value : float
        The point estimate (NaN when undefined).
    ci_low, ci_high : float
        Interval bounds (NaN when undefined or not computed).
    level : float
        Confidence level, e.g. 0.95.
    method : str
        How the interval was computed (e.g. ``"wilson"``, ``"delong"``).
    n : int
        Number of observations the estimate rests on.

    Examples
    --------
    >>> e = Estimate(0.87, 0.84, 0.90, 0.95, "wilson", 400)
    >>> e.format()
    '0.87 (95% CI 0.84 to 0.90)'
    >>> e.contains(0.85)
    True

    """

    value: float
    ci_low: float
    ci_high: float
    level: float
    method: str
    n: int

    @property
    def defined(self) -> bool:
        """True when the point estimate is a finite number."""
        return math.isfinite(self.value)

    def contains(self, x: float) -> bool:
        """Return True when ``x`` lies inside the closed interval."""
        return self.ci_low <= x <= self.ci_high

    def format(self, digits: int = 2) -> str:
        """Render as ``'value (95% CI low to high)'`` for reports."""
        if not self.defined:
            return "undefined"
        pct = f"{self.level * 100:g}%"
        return (
            f"{self.value:.{digits}f} ({pct} CI {self.ci_low:.{digits}f} "
            f"to {self.ci_high:.{digits}f})"
        )

    def to_dict(self) -> dict[str, float | str | int | None]:
        """Return a JSON-ready dict; NaN becomes None."""
        out: dict[str, float | str | int | None] = {}
        for key, val in asdict(self).items():
            out[key] = None if isinstance(val, float) and math.isnan(val) else val
        return out
