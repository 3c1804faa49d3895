"""The drawing machinery of :mod:`radassure.reports.svg`: frame, axes, legend, lines.

Coordinates are data units mapped onto a fixed ``viewBox``; the outer ``<svg>``
carries a ``<title>`` and ``<desc>`` and no ``xmlns`` (inline SVG in HTML needs
none, and the report stays free of any URL).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

__all__ = [
    "BOTTOM",
    "PALETTE",
    "RIGHT",
    "TEXT",
    "TOP",
    "Band",
    "Frame",
    "Marker",
    "Num",
    "Series",
    "fmt",
    "nice_ticks",
    "ok",
    "xy_plot",
]

#: Okabe-Ito colours: blue, orange, green, vermillion, purple, sky, yellow, grey.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#777777")
TEXT = 'font-size="11" fill="#222"'
_W, _H = 360, 300
_LEFT, RIGHT, TOP, BOTTOM = 46, 14, 26, 40

Num = float | int | None


@dataclass(frozen=True)
class Series:
    """A line through points; ``None`` or NaN values break the line."""

    x: Sequence[Num]
    y: Sequence[Num]
    label: str
    colour: str = PALETTE[0]
    dashed: bool = False
    step: bool = False


@dataclass(frozen=True)
class Band:
    """A shaded region between ``low`` and ``high`` over ``x``."""

    x: Sequence[Num]
    low: Sequence[Num]
    high: Sequence[Num]
    label: str
    colour: str = PALETTE[0]


@dataclass(frozen=True)
class Marker:
    """A point with an optional vertical error bar and a label."""

    x: float
    y: float
    label: str
    colour: str = PALETTE[3]
    low: float | None = None
    high: float | None = None
    radius: float = 4.0


def ok(v: Num) -> bool:
    return v is not None and math.isfinite(float(v))


def _ident(title: str) -> str:
    return "p" + hashlib.sha1(title.encode(), usedforsecurity=False).hexdigest()[:10]


def fmt(v: float) -> str:
    # Ticks are round numbers; %g drops the float noise of 0.1 * 3 and trailing zeros.
    return f"{round(v, 9):g}"


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering ``[low, high]``.

    Examples
    --------
    >>> nice_ticks(0, 1)
    [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    >>> nice_ticks(0, 7.3)
    [0.0, 2.0, 4.0, 6.0, 8.0]

    """
    if not high > low:
        return [low]
    raw = (high - low) / count
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.floor(low / step + 1e-9) * step
    ticks = []
    t = first
    while t <= high + step * 0.999:
        ticks.append(float(round(t, 10)))
        t += step
    return ticks


class Frame:
    """Maps data to pixels and draws axes, grid, title and legend."""

    def __init__(
        self,
        title: str,
        x_range: tuple[float, float],
        y_range: tuple[float, float],
        *,
        width: int = _W,
        height: int = _H,
    ) -> None:
        self.title = title
        self.x0, self.x1 = x_range
        self.y0, self.y1 = y_range
        self.w, self.h = width, height
        self.parts: list[str] = []

    def px(self, x: float) -> float:
        span = (self.x1 - self.x0) or 1.0
        return _LEFT + (x - self.x0) / span * (self.w - _LEFT - RIGHT)

    def py(self, y: float) -> float:
        span = (self.y1 - self.y0) or 1.0
        return self.h - BOTTOM - (y - self.y0) / span * (self.h - TOP - BOTTOM)

    def axes(
        self, x_label: str, y_label: str, xticks: Sequence[float], yticks: Sequence[float]
    ) -> None:
        p = self.parts
        bottom, left = self.h - BOTTOM, _LEFT
        for t in yticks:
            y = self.py(t)
            p.append(
                f'<line x1="{left}" y1="{y:.1f}" x2="{self.w - RIGHT}" y2="{y:.1f}" '
                'stroke="#e3e3e3"/>'
            )
            p.append(
                f'<text x="{left - 5}" y="{y + 3.5:.1f}" text-anchor="end" {TEXT}>{fmt(t)}</text>'
            )
        for t in xticks:
            x = self.px(t)
            p.append(f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{bottom}" stroke="#eeeeee"/>')
            p.append(
                f'<text x="{x:.1f}" y="{bottom + 14}" text-anchor="middle" {TEXT}>{fmt(t)}</text>'
            )
        p.append(
            f'<rect x="{left}" y="{TOP}" width="{self.w - _LEFT - RIGHT}" '
            f'height="{bottom - TOP}" fill="none" stroke="#888"/>'
        )
        mid_x = (left + self.w - RIGHT) / 2
        p.append(
            f'<text x="{mid_x:.1f}" y="{self.h - 6}" text-anchor="middle" {TEXT}>'
            f"{escape(x_label)}</text>"
        )
        mid_y = (TOP + bottom) / 2
        p.append(
            f'<text x="12" y="{mid_y:.1f}" text-anchor="middle" {TEXT} '
            f'transform="rotate(-90 12 {mid_y:.1f})">{escape(y_label)}</text>'
        )

    def legend(self, entries: Sequence[tuple[str, str, str]], corner: str = "top-left") -> None:
        """Entries of (label, colour, kind) with kind 'line', 'dash', 'band' or 'dot'.

        ``corner`` is where the curves leave room: ``top-left``, ``top-right``,
        ``bottom-left`` or ``bottom-right``.
        """
        x, y = _LEFT + 8, TOP + 12
        if corner.startswith("bottom"):
            y = self.h - BOTTOM - 8 - 14 * (len(entries) - 1)
        if corner.endswith("right"):
            width = max((len(label) for label, _, _ in entries), default=0) * 6 + 30
            x = self.w - RIGHT - 8 - width
        for label, colour, kind in entries:
            if kind == "band":
                sym = (
                    f'<rect x="{x}" y="{y - 6}" width="16" height="8" fill="{colour}" '
                    'fill-opacity="0.22"/>'
                )
            elif kind == "dot":
                sym = f'<circle cx="{x + 8}" cy="{y - 2}" r="3.5" fill="{colour}"/>'
            else:
                dash = ' stroke-dasharray="4 3"' if kind == "dash" else ""
                sym = (
                    f'<line x1="{x}" y1="{y - 2}" x2="{x + 16}" y2="{y - 2}" '
                    f'stroke="{colour}" stroke-width="2"{dash}/>'
                )
            self.parts.append(sym)
            self.parts.append(f'<text x="{x + 21}" y="{y + 1.5}" {TEXT}>{escape(label)}</text>')
            y += 14

    def svg(self, description: str) -> str:
        ident = _ident(self.title + description)
        head = (
            f'<svg viewBox="0 0 {self.w} {self.h}" role="img" class="plot" '
            f'aria-labelledby="{ident}-t {ident}-d" font-family="inherit">'
            f'<title id="{ident}-t">{escape(self.title)}</title>'
            f'<desc id="{ident}-d">{escape(description)}</desc>'
            f'<text x="{_LEFT}" y="16" font-size="12" font-weight="bold" fill="#222">'
            f"{escape(self.title)}</text>"
        )
        return head + "".join(self.parts) + "</svg>"


def _path(frame: Frame, xs: Sequence[Num], ys: Sequence[Num], step: bool = False) -> str:
    cmds: list[str] = []
    pen_up = True
    for x, y in zip(xs, ys, strict=True):
        if x is None or y is None or not (ok(x) and ok(y)):
            pen_up = True
            continue
        px, py = frame.px(float(x)), frame.py(float(y))
        if pen_up:
            cmds.append(f"M{px:.1f},{py:.1f}")
        elif step:
            cmds.append(f"H{px:.1f}V{py:.1f}")
        else:
            cmds.append(f"L{px:.1f},{py:.1f}")
        pen_up = False
    return "".join(cmds)


def _band(frame: Frame, band: Band) -> str:
    pts = [
        (float(x), float(lo), float(hi))
        for x, lo, hi in zip(band.x, band.low, band.high, strict=True)
        if x is not None and lo is not None and hi is not None and ok(x) and ok(lo) and ok(hi)
    ]
    if not pts:
        return ""
    upper = " ".join(f"{frame.px(x):.1f},{frame.py(hi):.1f}" for x, _, hi in pts)
    lower = " ".join(f"{frame.px(x):.1f},{frame.py(lo):.1f}" for x, lo, _ in reversed(pts))
    return (
        f'<polygon points="{upper} {lower}" fill="{band.colour}" fill-opacity="0.22" '
        'stroke="none"/>'
    )


def xy_plot(
    *,
    title: str,
    x_label: str,
    y_label: str,
    series: Sequence[Series] = (),
    bands: Sequence[Band] = (),
    markers: Sequence[Marker] = (),
    x_range: tuple[float, float] = (0.0, 1.0),
    y_range: tuple[float, float] = (0.0, 1.0),
    diagonal: str | None = None,
    legend: str = "top-left",
    description: str = "",
) -> str:
    """A line plot with shaded bands, markers and an optional reference diagonal.

    ``legend`` names the corner for the legend (``top-left``, ``top-right``,
    ``bottom-left``, ``bottom-right``): the one the curves leave empty.

    Examples
    --------
    >>> svg = xy_plot(title="ROC", x_label="1 - specificity", y_label="sensitivity",
    ...               series=[Series([0, 0.2, 1], [0, 0.8, 1], "tool")], diagonal="chance")
    >>> svg.startswith("<svg") and "<title" in svg and "http" not in svg
    True

    """
    frame = Frame(title, x_range, y_range)
    frame.axes(x_label, y_label, nice_ticks(*x_range), nice_ticks(*y_range))
    entries: list[tuple[str, str, str]] = []
    for b in bands:
        frame.parts.append(_band(frame, b))
        entries.append((b.label, b.colour, "band"))
    if diagonal:
        lo, hi = max(x_range[0], y_range[0]), min(x_range[1], y_range[1])
        frame.parts.append(
            f'<line x1="{frame.px(lo):.1f}" y1="{frame.py(lo):.1f}" x2="{frame.px(hi):.1f}" '
            f'y2="{frame.py(hi):.1f}" stroke="#999" stroke-dasharray="3 3"/>'
        )
        entries.append((diagonal, "#999", "dash"))
    for s in series:
        d = _path(frame, s.x, s.y, s.step)
        if d:
            dash = ' stroke-dasharray="5 3"' if s.dashed else ""
            frame.parts.append(
                f'<path d="{d}" fill="none" stroke="{s.colour}" stroke-width="2"{dash}/>'
            )
        entries.append((s.label, s.colour, "dash" if s.dashed else "line"))
    for m in markers:
        if not (ok(m.x) and ok(m.y)):
            continue
        cx, cy = frame.px(m.x), frame.py(m.y)
        if m.low is not None and m.high is not None and ok(m.low) and ok(m.high):
            frame.parts.append(
                f'<line x1="{cx:.1f}" y1="{frame.py(m.low):.1f}" x2="{cx:.1f}" '
                f'y2="{frame.py(m.high):.1f}" stroke="{m.colour}"/>'
            )
        frame.parts.append(
            f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{m.radius}" fill="{m.colour}" stroke="#fff"/>'
        )
    labelled = {m.label: m.colour for m in markers if m.label}
    entries += [(label, colour, "dot") for label, colour in labelled.items()]
    frame.legend(entries, legend)
    return frame.svg(description)
