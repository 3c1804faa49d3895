"""A forest plot of group estimates against the overall value, for equity reports."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape

from radassure.reports._svg_frame import BOTTOM, PALETTE, RIGHT, TEXT, TOP, Frame, fmt, nice_ticks

__all__ = ["forest_plot"]

_ROW = 20


def _num(v: object) -> float | None:
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    x = float(v)
    return x if math.isfinite(x) else None


def forest_plot(
    rows: Sequence[Mapping[str, object]],
    *,
    title: str,
    reference: float | None,
    x_range: tuple[float, float] = (0.0, 1.0),
    description: str = "",
) -> str:
    """Group estimates with intervals, one per line, against a reference line.

    Parameters
    ----------
    rows : sequence of mapping
        Each with ``label``; a row with ``header`` true is an attribute
        heading. Others have ``value``, ``low``, ``high`` and optional
        ``flagged`` (drawn in vermillion with a diamond) and ``muted``
        (insufficient data, drawn in grey).
    title : str
        Plot title.
    reference : float or None
        The overall value, drawn as a dashed vertical line.
    x_range : (float, float)
        Axis range.
    description : str
        Text for screen readers.

    Returns
    -------
    str
        One ``<svg>`` element.

    """
    height = TOP + BOTTOM + _ROW * max(1, len(rows))
    frame = Frame(title, x_range, (0.0, 1.0), width=600, height=height)
    left = 210
    span = frame.w - left - RIGHT
    lo_x, hi_x = x_range

    def px(x: float) -> float:
        x = min(max(x, lo_x), hi_x)
        return left + (x - lo_x) / ((hi_x - lo_x) or 1.0) * span

    p = frame.parts
    bottom = height - BOTTOM
    for t in nice_ticks(lo_x, hi_x):
        if lo_x - 1e-9 <= t <= hi_x + 1e-9:
            p.append(
                f'<line x1="{px(t):.1f}" y1="{TOP}" x2="{px(t):.1f}" y2="{bottom}" '
                'stroke="#eeeeee"/>'
            )
            p.append(
                f'<text x="{px(t):.1f}" y="{bottom + 14}" text-anchor="middle" {TEXT}>'
                f"{fmt(t)}</text>"
            )
    if reference is not None:
        x = px(reference)
        p.append(
            f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{bottom}" stroke="#444" '
            'stroke-dasharray="4 3"/>'
        )
    for i, row in enumerate(rows):
        y = TOP + 12 + _ROW * i
        label = escape(str(row.get("label", "")))
        if row.get("header"):
            p.append(f'<text x="6" y="{y + 4}" font-size="11" font-weight="bold">{label}</text>')
            continue
        colour = (
            PALETTE[3] if row.get("flagged") else PALETTE[7] if row.get("muted") else PALETTE[0]
        )
        p.append(f'<text x="{left - 8}" y="{y + 4}" text-anchor="end" {TEXT}>{label}</text>')
        lo, hi, v = _num(row.get("low")), _num(row.get("high")), _num(row.get("value"))
        if lo is not None and hi is not None:
            p.append(
                f'<line x1="{px(lo):.1f}" y1="{y}" x2="{px(hi):.1f}" y2="{y}" '
                f'stroke="{colour}" stroke-width="2.5"/>'
            )
        if v is not None:
            cx = px(v)
            if row.get("flagged"):
                p.append(
                    f'<polygon points="{cx:.1f},{y - 6} {cx + 6:.1f},{y} {cx:.1f},{y + 6} '
                    f'{cx - 6:.1f},{y}" fill="{colour}"/>'
                )
            else:
                p.append(f'<circle cx="{cx:.1f}" cy="{y}" r="4" fill="{colour}"/>')
    p.append(
        f'<text x="{left}" y="{height - 6}" {TEXT}>● group, CI   ◆ flagged   '
        "┆ overall   grey: insufficient data</text>"
    )
    return frame.svg(description)
