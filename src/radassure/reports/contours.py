"""The contour QA report: one self-contained HTML file from a contour run's results.

The input is the JSON-ready ``results`` of a contour run (see
``radassure.services.contours``), with an optional ``run`` entry (id, tool,
version, time, actor, data fingerprint) when the run was saved. The output
needs no network and no JavaScript: inline CSS, inline SVG box plots.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from radassure.reports import svg
from radassure.reports.validation import format_number

__all__ = ["render_contour_report"]

_PLOTS = (
    ("dice", "Dice", "Dice similarity coefficient (higher is better)"),
    ("hd95", "HD95 (mm)", "95th percentile Hausdorff distance in mm (lower is better)"),
    ("apl_mm", "APL (mm)", "added path length in mm: contour to redraw (lower is better)"),
)


def _box_plots(structures: list[Mapping[str, Any]]) -> list[str]:
    plots = []
    for key, label, meaning in _PLOTS:
        groups = [
            (s["structure"], s["distributions"][key])
            for s in structures
            if s["distributions"][key]["n"]
        ]
        if not groups:
            continue
        plots.append(
            svg.box_plot(
                groups,
                title=f"{label} by structure",
                x_label=label,
                description=f"Distribution over patients of the {meaning}, per structure: "
                "box from first to third quartile, median line, whiskers to minimum and "
                "maximum, dot at the mean. HD95 is shown only where both contours exist.",
            )
        )
    return plots


_ENV = Environment(
    loader=PackageLoader("radassure.reports", "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENV.filters.update(num=format_number)


def render_contour_report(data: Mapping[str, Any]) -> str:
    """Render a contour QA run's results as one self-contained HTML document.

    Parameters
    ----------
    data : mapping
        The run's ``results``; a ``run`` entry (``id``, ``tool``, ``version``,
        ``created_at``, ``created_by``, ``data_fingerprint``) when it was saved.

    Returns
    -------
    str
        HTML with inline CSS and SVG; no scripts, no external references.

    """
    structures = list(data["structures"])
    return _ENV.get_template("contours.html").render(
        d=data,
        run=data.get("run"),
        structures=structures,
        plots=_box_plots(structures),
        version=data.get("radassure_version", ""),
    )
