"""What the equity section shows: forest plots and tables from an equity result.

The input is the JSON-ready equity analysis (``results`` of an equity run, or
the ``equity`` entry of a validation run); the output is the context of the
``_equity_section.html`` partial, which both reports include.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from radassure.reports._svg_forest import forest_plot

__all__ = ["ATTRIBUTE_NAMES", "equity_context"]

ATTRIBUTE_NAMES = {
    "sex": "Sex",
    "age_band": "Age band (years)",
    "ethnic_group": "Ethnic group (census high-level group)",
    "deprivation": "Deprivation (IMD quintile)",
    "site": "Site",
    "manufacturer": "Scanner manufacturer",
    "model": "Scanner model",
}
_METRICS = {"sensitivity": "Sensitivity", "specificity": "Specificity", "auc": "AUC"}


def _range(rows: list[dict[str, Any]], reference: float | None) -> tuple[float, float]:
    vals = [
        float(v)
        for r in rows
        for v in (r.get("low"), r.get("high"), r.get("value"))
        if isinstance(v, int | float)
    ]
    if reference is not None:
        vals.append(reference)
    if not vals:
        return (0.0, 1.0)
    low = max(0.0, min(vals) - 0.02)
    high = min(1.0, max(vals) + 0.02)
    # Round outwards to tenths so that the ticks fall on familiar values.
    return (int(low * 10) / 10, min(1.0, (int(high * 10) + 1) / 10))


def equity_context(eq: Mapping[str, Any]) -> dict[str, Any]:
    """Context of the equity partial: ``eq`` itself plus plots and lookup tables.

    Parameters
    ----------
    eq : mapping
        An equity analysis (``computed`` false gives only the note).

    Returns
    -------
    dict
        ``eq``, ``computed``, ``plots`` (metric to SVG), ``attribute_names``,
        ``metric_names`` and ``level_pct``.

    """
    if eq.get("computed") is False:
        return {"eq": eq, "computed": False, "plots": {}}
    flagged = {(f["attribute"], f["group"], f["metric"]) for f in eq["flags"]}
    muted = {(i["attribute"], i["group"], i["metric"]) for i in eq["insufficient"]}
    by_key = {(r["attribute"], r["group"], r["metric"]): r for r in eq["rows"]}
    level_pct = f"{float(eq['level']) * 100:g}%"
    plots: dict[str, str] = {}
    for metric in eq["metrics"]:
        rows: list[dict[str, Any]] = []
        for attribute, groups in eq["groups"].items():
            rows.append({"label": ATTRIBUTE_NAMES.get(attribute, attribute), "header": True})
            for group in groups:
                r = by_key.get((attribute, group, metric))
                if r is None:
                    continue
                key = (attribute, group, metric)
                rows.append(
                    {
                        "label": f"{group} (n={r['n']:,})",
                        "value": r["estimate"]["value"],
                        "low": r["estimate"]["ci_low"],
                        "high": r["estimate"]["ci_high"],
                        "flagged": key in flagged,
                        "muted": key in muted,
                    }
                )
        overall = eq["overall"][metric]["value"]
        name = _METRICS.get(metric, metric)
        plots[metric] = forest_plot(
            rows,
            title=f"{name} by group ({level_pct} CI)",
            reference=overall,
            x_range=_range(rows, overall),
            description=f"{name} in each group with its {level_pct} confidence interval; the "
            f"dashed line is the overall {name.lower()}; flagged groups are diamonds.",
        )
    return {
        "eq": eq,
        "computed": True,
        "plots": plots,
        "attribute_names": ATTRIBUTE_NAMES,
        "metric_names": _METRICS,
        "level_pct": level_pct,
    }
