"""The validation report: one self-contained HTML file from a run's results.

The input is the JSON-ready ``results`` of a validation run (see
``radassure.services.validation``) plus a ``run`` entry with its id, time,
actor and data fingerprint. The output needs no network and no JavaScript:
the stylesheet is inline and every plot is inline SVG from
:mod:`radassure.reports.svg`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from radassure.reports import svg
from radassure.reports._equity_view import equity_context

__all__ = [
    "ETHNIC_LABELS",
    "SEX_LABELS",
    "format_estimate",
    "format_number",
    "render_validation_report",
]

#: NHS Data Dictionary ethnic categories (2001 census based).
ETHNIC_LABELS = {
    "A": "White British",
    "B": "White Irish",
    "C": "Any other White background",
    "D": "Mixed White and Black Caribbean",
    "E": "Mixed White and Black African",
    "F": "Mixed White and Asian",
    "G": "Any other mixed background",
    "H": "Indian",
    "J": "Pakistani",
    "K": "Bangladeshi",
    "L": "Any other Asian background",
    "M": "Black Caribbean",
    "N": "Black African",
    "P": "Any other Black background",
    "R": "Chinese",
    "S": "Any other ethnic group",
    "Z": "Not stated",
    "99": "Not known",
}
SEX_LABELS = {"F": "Female", "M": "Male", "O": "Other / indeterminate", "U": "Not known"}

_DIMENSIONS = {
    "site": "Site",
    "scanner": "Scanner (manufacturer and model)",
    "software_version": "Scanner software version",
    "sex": "Sex",
    "age_band": "Age at the study (years)",
    "ethnic_group": "Ethnic category",
    "deprivation_decile": "Index of Multiple Deprivation decile (1 most deprived)",
}
_METRIC_NAMES = {
    "sensitivity": "Sensitivity",
    "specificity": "Specificity",
    "ppv": "Positive predictive value",
    "npv": "Negative predictive value",
    "accuracy": "Accuracy",
    "balanced_accuracy": "Balanced accuracy",
    "f1": "F1 score",
    "lr_positive": "Positive likelihood ratio",
    "lr_negative": "Negative likelihood ratio",
    "prevalence": "Prevalence",
}

#: Metric names in badges and claim tables, where the stored key is terse.
_SHORT_NAMES = {
    "auc": "AUC",
    "roc_auc": "AUC",
    "ppv": "PPV",
    "npv": "NPV",
    "f1": "F1",
    "fp_per_image": "FPs per image",
    "hd95_mm": "HD95 (mm)",
    "dice": "Dice",
    "apl_mm": "APL (mm)",
}


def _digits(value: float) -> int:
    # Three decimals for proportions and rates; fewer for millimetres and volumes.
    size = abs(value)
    return 0 if size >= 100 else 1 if size >= 10 else 2 if size >= 2 else 3


def format_number(value: float | None, digits: int | None = None) -> str:
    """Format a number for a table; ``None`` becomes an em dash.

    Examples
    --------
    >>> format_number(0.83), format_number(4.158), format_number(390.3), format_number(None)
    ('0.830', '4.16', '390', '—')

    """
    if value is None:
        return "—"
    return f"{value:,.{_digits(value) if digits is None else digits}f}"


def format_estimate(est: Mapping[str, Any] | None, digits: int | None = None) -> str:
    """Render an Estimate dict as ``'0.830 (0.790 to 0.864)'``, or ``'undefined'``.

    Examples
    --------
    >>> format_estimate({"value": 0.83, "ci_low": 0.79, "ci_high": 0.864})
    '0.830 (0.790 to 0.864)'
    >>> format_estimate({"value": None, "ci_low": None, "ci_high": None})
    'undefined'
    >>> format_estimate({"value": 0.0, "ci_low": None, "ci_high": None})
    '0.000 (interval undefined)'

    """
    if not est or est.get("value") is None:
        return "undefined"
    d = _digits(est["value"]) if digits is None else digits
    value = format_number(est["value"], d)
    if est.get("ci_low") is None or est.get("ci_high") is None:
        return f"{value} (interval undefined)"
    return f"{value} ({format_number(est['ci_low'], d)} to {format_number(est['ci_high'], d)})"


def _p_value(p: float | None) -> str:
    if p is None:
        return "—"
    return "< 0.001" if p < 0.001 else "> 0.999" if p > 0.999 else f"= {p:.3f}"


def _group_label(dim: str, group: str) -> str:
    if dim == "ethnic_group" and group in ETHNIC_LABELS:
        return f"{ETHNIC_LABELS[group]} ({group})"
    if dim == "sex":
        return SEX_LABELS.get(group, group)
    return group


def _finding_plots(f: Mapping[str, Any], level: float) -> dict[str, str]:
    name = f["finding"]
    pct = f"{level * 100:g}%"
    plots: dict[str, str] = {}
    band = f"pointwise {pct} band"
    roc = f.get("roc")
    if roc:
        op = roc.get("operating_point") or {}
        plots["roc"] = svg.roc_plot(
            roc["fpr"],
            roc["tpr"],
            roc["tpr_low"],
            roc["tpr_high"],
            title=f"ROC curve: {name}",
            operating_point=(op.get("fpr"), op.get("tpr")),
            band_label=band,
            description=f"Empirical ROC curve for {name}; AUC {format_estimate(f.get('auc'))}.",
        )
    pr = f.get("pr")
    if pr:
        plots["pr"] = svg.pr_plot(
            pr["recall"],
            pr["precision"],
            pr["precision_low"],
            pr["precision_high"],
            title=f"Precision-recall: {name}",
            prevalence=f["metrics"]["prevalence"]["value"],
            band_label=band,
            description=f"Precision against recall for {name}; average precision "
            f"{format_estimate(f.get('average_precision'))}.",
        )
    cal = f.get("calibration") or {}
    if cal.get("assessed"):
        rel = cal["reliability"]
        plots["reliability"] = svg.reliability_plot(
            rel["mean_predicted"],
            rel["observed"],
            rel["observed_low"],
            rel["observed_high"],
            title=f"Reliability: {name}",
            label=f"observed ({pct} CI)",
            description=f"Observed rate of {name} against the mean score in "
            f"{cal['n_bins']} equal-width bins.",
        )
    if f.get("lesion"):
        froc = f["lesion"]["froc"]
        plots["froc"] = svg.froc_plot(
            froc["fp_per_image"],
            froc["sensitivity"],
            title=f"FROC: {name}",
            description=f"Lesion sensitivity against false positives per image for {name}.",
        )
    claims = [c for c in f.get("claims", []) if c.get("estimate")]
    if claims:
        rows = [
            {
                "label": _SHORT_NAMES.get(c["metric"].lower(), c["metric"]),
                "value": c["estimate"]["value"],
                "low": c["estimate"]["ci_low"],
                "high": c["estimate"]["ci_high"],
                "claimed": c["claimed"],
                "bound": c["bound"],
            }
            for c in claims
        ]
        vals = [v for r in rows for k, v in r.items() if k != "label" and v is not None]
        unit = all(0.0 <= float(v) <= 1.0 for v in vals)
        span = (0.0, 1.0) if unit else (0.0, max(float(v) for v in vals) * 1.1 or 1.0)
        if unit:
            span = (max(0.0, min(float(v) for v in vals) - 0.05), 1.0)
        plots["claims"] = svg.interval_plot(
            rows,
            title=f"Local estimates against claims: {name}",
            x_range=span,
            description=f"Each claimed value for {name} with the local estimate and its interval.",
        )
    return plots


def _segmentation_plots(findings: list[Mapping[str, Any]]) -> list[str]:
    keys: list[str] = []
    for f in findings:
        keys += [k for k in f.get("summaries", {}) if k not in keys]
    plots = []
    for key in keys[:3]:
        groups = [
            (f["finding"], {**f["summaries"][key], "mean": f["summaries"][key]["mean"]["value"]})
            for f in findings
            if key in f.get("summaries", {})
        ]
        plots.append(
            svg.box_plot(
                groups,
                title=f"{key} by structure",
                x_label=key,
                description=f"Distribution of {key} per structure: box "
                "from first to third quartile, median line, whiskers to "
                "minimum and maximum, dot at the mean.",
            )
        )
    return plots


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("radassure.reports", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        est=format_estimate,
        count=lambda n: "—" if n is None else f"{int(n):,}",
        num=format_number,
        p_value=_p_value,
        pct=lambda v, d=1: "—" if v is None else f"{v * 100:.{d}f}%",
        metric_name=lambda k: _METRIC_NAMES.get(k, k.replace("_", " ")),
        short_metric=lambda k: _SHORT_NAMES.get(k.lower(), k.replace("_", " ")),
        dimension=lambda k: _DIMENSIONS.get(k, k.replace("_", " ")),
    )
    env.globals.update(group_label=_group_label)
    return env


_ENV = _environment()


def render_validation_report(data: Mapping[str, Any]) -> str:
    """Render a validation run's results as one self-contained HTML document.

    Parameters
    ----------
    data : mapping
        The run's ``results`` with a ``run`` entry (``id``, ``created_at``,
        ``created_by``, ``data_fingerprint``, ``radassure_version``).

    Returns
    -------
    str
        HTML with inline CSS and SVG; no scripts, no external references.

    """
    level = float(data["parameters"]["level"])
    findings = list(data["findings"])
    plots = {f["finding"]: _finding_plots(f, level) for f in findings}
    outcomes: dict[str, int] = {}
    for f in findings:
        for c in f.get("claims", []):
            outcomes[c["outcome"]] = outcomes.get(c["outcome"], 0) + 1
    task = data["tool"]["task"]
    extra = _segmentation_plots(findings) if task == "segmentation" else []
    return _ENV.get_template("validation.html").render(
        d=data,
        run=data["run"],
        level_pct=f"{level * 100:g}%",
        findings=findings,
        plots=plots,
        outcomes=outcomes,
        task=task,
        summary_plots=extra,
        equity=equity_context(data["equity"]) if "equity" in data else None,
    )
