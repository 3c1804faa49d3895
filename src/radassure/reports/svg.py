"""Small, dependency-free SVG plots for self-contained reports.

Each function returns one ``<svg>`` element as text, sized by its ``viewBox``
so it scales with the page, with a ``<title>`` and ``<desc>`` for screen
readers and no URL anywhere. Missing values (``None`` or NaN) break a line
rather than being drawn as zero. Colours are the Okabe-Ito palette, safe for
colour-blind readers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from radassure.reports._svg_frame import (
    BOTTOM,
    PALETTE,
    RIGHT,
    TEXT,
    TOP,
    Band,
    Frame,
    Marker,
    Num,
    Series,
    fmt,
    nice_ticks,
    ok,
    xy_plot,
)

__all__ = [
    "PALETTE",
    "Band",
    "Marker",
    "Series",
    "bar_chart",
    "box_plot",
    "froc_plot",
    "interval_plot",
    "nice_ticks",
    "pr_plot",
    "reliability_plot",
    "roc_plot",
    "xy_plot",
]


def interval_plot(
    rows: Sequence[Mapping[str, Num | str]],
    *,
    title: str,
    x_range: tuple[float, float] = (0.0, 1.0),
    description: str = "",
) -> str:
    """Local estimates with intervals against claimed values (a forest plot).

    Each row has ``label``, ``value``, ``low``, ``high`` and optional
    ``claimed`` (a diamond) and ``bound`` (claimed minus the margin, a tick).
    """
    height = TOP + BOTTOM + 26 * max(1, len(rows))
    frame = Frame(title, x_range, (0.0, float(len(rows))), width=520, height=height)
    left = 150
    span = frame.w - left - RIGHT

    def px(x: float) -> float:
        return left + (x - x_range[0]) / ((x_range[1] - x_range[0]) or 1.0) * span

    p = frame.parts
    bottom = height - BOTTOM
    for t in nice_ticks(*x_range):
        p.append(
            f'<line x1="{px(t):.1f}" y1="{TOP}" x2="{px(t):.1f}" y2="{bottom}" stroke="#eeeeee"/>'
        )
        p.append(
            f'<text x="{px(t):.1f}" y="{bottom + 14}" text-anchor="middle" {TEXT}>{fmt(t)}</text>'
        )
    for i, row in enumerate(rows):
        y = TOP + 13 + 26 * i
        p.append(
            f'<text x="{left - 8}" y="{y + 4}" text-anchor="end" {TEXT}>'
            f"{escape(str(row['label']))}</text>"
        )
        lo, hi, v = row.get("low"), row.get("high"), row.get("value")
        if isinstance(lo, int | float) and isinstance(hi, int | float) and ok(lo) and ok(hi):
            p.append(
                f'<line x1="{px(lo):.1f}" y1="{y}" x2="{px(hi):.1f}" y2="{y}" '
                f'stroke="{PALETTE[0]}" stroke-width="2.5"/>'
            )
        if isinstance(v, int | float) and ok(v):
            p.append(f'<circle cx="{px(v):.1f}" cy="{y}" r="4" fill="{PALETTE[0]}"/>')
        b = row.get("bound")
        if isinstance(b, int | float) and ok(b):
            p.append(
                f'<line x1="{px(b):.1f}" y1="{y - 8}" x2="{px(b):.1f}" y2="{y + 8}" '
                f'stroke="{PALETTE[3]}" stroke-width="2"/>'
            )
        c = row.get("claimed")
        if isinstance(c, int | float) and ok(c):
            cx = px(c)
            p.append(
                f'<polygon points="{cx:.1f},{y - 6} {cx + 6:.1f},{y} {cx:.1f},{y + 6} '
                f'{cx - 6:.1f},{y}" fill="{PALETTE[1]}"/>'
            )
    p.append(
        f'<text x="{left}" y="{height - 6}" {TEXT}>● local estimate and CI   '
        "◆ claimed   | claimed minus margin</text>"
    )
    return frame.svg(description)


def bar_chart(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str,
    colour: str = PALETTE[0],
    description: str = "",
) -> str:
    """Horizontal bars with their values written beside them."""
    height = TOP + 14 + 18 * max(1, len(labels))
    frame = Frame(title, (0.0, 1.0), (0.0, 1.0), width=360, height=height)
    top = max((v for v in values if ok(v)), default=0.0) or 1.0
    left, span = 120, 360 - 120 - 60
    for i, (label, v) in enumerate(zip(labels, values, strict=True)):
        y = TOP + 4 + 18 * i
        frame.parts.append(
            f'<text x="{left - 6}" y="{y + 10}" text-anchor="end" {TEXT}>{escape(label)}</text>'
        )
        width = span * (v / top) if ok(v) else 0.0
        frame.parts.append(
            f'<rect x="{left}" y="{y}" width="{width:.1f}" height="13" fill="{colour}"/>'
        )
        frame.parts.append(f'<text x="{left + width + 4:.1f}" y="{y + 10}" {TEXT}>{v:,.0f}</text>')
    return frame.svg(description)


def box_plot(
    groups: Sequence[tuple[str, Mapping[str, Num]]],
    *,
    title: str,
    x_label: str,
    description: str = "",
) -> str:
    """Horizontal box plots from summaries with ``min``, ``q1``, ``median``, ``q3``, ``max``.

    Whiskers run to the minimum and maximum; ``mean``, when given, is a dot.
    """
    vals = [
        float(v)
        for _, s in groups
        for k, v in s.items()
        if k in ("min", "max") and v is not None and ok(v)
    ]
    lo, hi = (min(vals), max(vals)) if vals else (0.0, 1.0)
    ticks = nice_ticks(lo, hi)
    height = TOP + BOTTOM + 24 * max(1, len(groups))
    frame = Frame(title, (ticks[0], ticks[-1]), (0.0, 1.0), width=420, height=height)
    left = 110
    span = frame.w - left - RIGHT

    def px(x: float) -> float:
        return left + (x - ticks[0]) / ((ticks[-1] - ticks[0]) or 1.0) * span

    p = frame.parts
    bottom = height - BOTTOM
    for t in ticks:
        p.append(
            f'<line x1="{px(t):.1f}" y1="{TOP}" x2="{px(t):.1f}" y2="{bottom}" stroke="#eeeeee"/>'
        )
        p.append(
            f'<text x="{px(t):.1f}" y="{bottom + 14}" text-anchor="middle" {TEXT}>{fmt(t)}</text>'
        )
    p.append(
        f'<text x="{(left + frame.w) / 2:.1f}" y="{height - 6}" text-anchor="middle" '
        f"{TEXT}>{escape(x_label)}</text>"
    )
    for i, (label, s) in enumerate(groups):
        y = TOP + 12 + 24 * i
        p.append(
            f'<text x="{left - 8}" y="{y + 4}" text-anchor="end" {TEXT}>{escape(label)}</text>'
        )
        q = [s.get(k) for k in ("min", "q1", "median", "q3", "max")]
        if not all(v is not None and ok(v) for v in q):
            continue
        mn, q1, md, q3, mx = (px(float(v)) for v in q if v is not None)
        p.append(f'<line x1="{mn:.1f}" y1="{y}" x2="{mx:.1f}" y2="{y}" stroke="#555"/>')
        p.append(
            f'<rect x="{q1:.1f}" y="{y - 8}" width="{max(q3 - q1, 1):.1f}" height="16" '
            f'fill="{PALETTE[5]}" fill-opacity="0.5" stroke="{PALETTE[0]}"/>'
        )
        p.append(
            f'<line x1="{md:.1f}" y1="{y - 8}" x2="{md:.1f}" y2="{y + 8}" '
            f'stroke="{PALETTE[0]}" stroke-width="2"/>'
        )
        mean = s.get("mean")
        if mean is not None and ok(mean):
            p.append(f'<circle cx="{px(float(mean)):.1f}" cy="{y}" r="3" fill="{PALETTE[3]}"/>')
    return frame.svg(description)


def roc_plot(
    fpr: Sequence[Num],
    tpr: Sequence[Num],
    tpr_low: Sequence[Num],
    tpr_high: Sequence[Num],
    *,
    title: str,
    operating_point: tuple[Num, Num] | None = None,
    band_label: str = "pointwise 95% band",
    description: str = "",
) -> str:
    """ROC curve with a shaded band on sensitivity and the operating point marked.

    Examples
    --------
    >>> svg = roc_plot([0, 0.1, 1], [0, 0.8, 1], [0, 0.7, 1], [0, 0.9, 1], title="ROC",
    ...                operating_point=(0.1, 0.8))
    >>> svg.count("<polygon"), "operating threshold" in svg
    (1, True)

    """
    markers = []
    if operating_point and all(v is not None and ok(v) for v in operating_point):
        x, y = (float(v) for v in operating_point if v is not None)
        markers.append(Marker(x, y, "operating threshold"))
    return xy_plot(
        title=title,
        x_label="1 − specificity",
        y_label="Sensitivity",
        series=[Series(fpr, tpr, "ROC curve")],
        bands=[Band(fpr, tpr_low, tpr_high, band_label)],
        markers=markers,
        diagonal="chance",
        legend="bottom-right",
        description=description,
    )


def pr_plot(
    recall: Sequence[Num],
    precision: Sequence[Num],
    precision_low: Sequence[Num],
    precision_high: Sequence[Num],
    *,
    title: str,
    prevalence: Num = None,
    band_label: str = "pointwise 95% band",
    description: str = "",
) -> str:
    """Precision-recall curve with a band on precision and the prevalence as baseline."""
    series = [Series(recall, precision, "PR curve")]
    if prevalence is not None and ok(prevalence):
        series.append(Series([0, 1], [prevalence, prevalence], "prevalence", PALETTE[7], True))
    return xy_plot(
        title=title,
        x_label="Recall (sensitivity)",
        y_label="Precision (PPV)",
        series=series,
        bands=[Band(recall, precision_low, precision_high, band_label)],
        legend="top-right",
        description=description,
    )


def reliability_plot(
    mean_predicted: Sequence[Num],
    observed: Sequence[Num],
    observed_low: Sequence[Num],
    observed_high: Sequence[Num],
    *,
    title: str,
    label: str = "observed (95% CI)",
    description: str = "",
) -> str:
    """Observed rate against mean score per bin, with error bars and the ideal diagonal."""
    markers = [
        Marker(float(x), float(y), "", PALETTE[0], lo, hi, 3.5)
        for x, y, lo, hi in zip(mean_predicted, observed, observed_low, observed_high, strict=True)
        if x is not None and y is not None
    ]
    return xy_plot(
        title=title,
        x_label="Mean score in bin",
        y_label="Observed share positive",
        series=[Series(mean_predicted, observed, label)],
        markers=markers,
        diagonal="perfect calibration",
        description=description,
    )


def froc_plot(
    fp_per_image: Sequence[Num],
    sensitivity: Sequence[Num],
    *,
    title: str,
    description: str = "",
) -> str:
    """FROC curve: lesion sensitivity against false positives per image.

    The x axis runs to where the detector stops marking (at least 1).
    """
    reach = max((float(x) for x in fp_per_image if x is not None and ok(x)), default=1.0)
    top = nice_ticks(0.0, max(1.0, reach))[-1]
    return xy_plot(
        title=title,
        x_label="False positives per image",
        y_label="Lesion sensitivity",
        series=[Series(fp_per_image, sensitivity, "FROC curve")],
        x_range=(0.0, top),
        legend="bottom-right",
        description=description,
    )
