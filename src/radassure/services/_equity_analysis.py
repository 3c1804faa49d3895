"""The numbers of an equity analysis: patient groups from the stored rows, then core.

Shared by equity runs (:mod:`radassure.services.equity`) and the equity section
of a validation run. Attributes are derived from the study columns: age bands,
deprivation quintiles from deciles and the five high-level census ethnic groups
from the NHS Data Dictionary categories; missing or not-stated values become
the explicit group "not recorded" (never dropped).
"""

from __future__ import annotations

import hashlib
import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from radassure.core import completeness, disaggregate, flag_disparities
from radassure.errors import NotFoundError, UndefinedMetricWarning
from radassure.services._validation_data import ValidationRows

__all__ = [
    "ATTRIBUTES",
    "DEFAULT_ATTRIBUTES",
    "EQUIPMENT_ATTRIBUTES",
    "EquityInputError",
    "attribute_values",
    "equity_analysis",
    "equity_fingerprint",
    "equity_section",
    "parse_attributes",
]

#: Patient attributes: what an equity run checks unless told otherwise.
DEFAULT_ATTRIBUTES = ("sex", "age_band", "ethnic_group", "deprivation")
#: Equipment attributes, opt-in: a gap there is a technical finding, not a patient group's.
EQUIPMENT_ATTRIBUTES = ("site", "manufacturer", "model")
ATTRIBUTES = (*DEFAULT_ATTRIBUTES, *EQUIPMENT_ATTRIBUTES)
#: Report order of the groups of each derived attribute ("not recorded" last).
GROUP_ORDER = {
    "sex": ("female", "male", "other"),
    "age_band": ("<40", "40-59", "60-79", "80+"),
    "ethnic_group": ("White", "Mixed", "Asian", "Black", "Other"),
    "deprivation": tuple(
        f"quintile {q}{' (most deprived)' if q == 1 else ' (least deprived)' if q == 5 else ''}"
        for q in range(1, 6)
    ),
}

_SEX = {"F": "female", "M": "male", "O": "other"}
# NHS Data Dictionary ethnic categories grouped to the 2021 census high-level groups;
# Z (not stated), 99 (not known) and blanks are "not recorded".
_ETHNIC = {
    **dict.fromkeys("ABC", "White"),
    **dict.fromkeys("DEFG", "Mixed"),
    **dict.fromkeys("HJKL", "Asian"),
    **dict.fromkeys("MNP", "Black"),
    **dict.fromkeys("RS", "Other"),
}


class EquityInputError(ValueError):
    """An equity analysis cannot run on these data or with these options."""


def _age_band(age: int | None) -> str | None:
    if age is None:
        return None
    return "<40" if age < 40 else "40-59" if age < 60 else "60-79" if age < 80 else "80+"


def _quintile(decile: int | None) -> str | None:
    if decile is None:
        return None
    return GROUP_ORDER["deprivation"][(int(decile) - 1) // 2]


_DERIVE: dict[str, Callable[[ValidationRows], list[str | None]]] = {
    "sex": lambda r: [_SEX.get(v) for v in r.sex],
    "age_band": lambda r: [_age_band(v) for v in r.age],
    # Z, 99 and blanks pass through: core reads them as "not recorded" and completeness
    # counts each code.
    "ethnic_group": lambda r: [_ETHNIC.get(v or "", v) for v in r.ethnic_group],
    "deprivation": lambda r: [_quintile(v) for v in r.deprivation],
    "site": lambda r: list(r.site),
    "manufacturer": lambda r: list(r.manufacturer),
    "model": lambda r: list(r.model),
}


def parse_attributes(attributes: Sequence[str] | str | None) -> tuple[str, ...]:
    """Check attribute names (a list or ``"sex,age_band"``); None gives the defaults."""
    if attributes is None:
        return DEFAULT_ATTRIBUTES
    names = attributes.split(",") if isinstance(attributes, str) else list(attributes)
    out: list[str] = []
    for raw in names:
        name = raw.strip()
        if name not in ATTRIBUTES:
            raise EquityInputError(
                f"Unknown attribute {name!r}; the known attributes are {', '.join(ATTRIBUTES)}."
            )
        if name not in out:
            out.append(name)
    if not out:
        raise EquityInputError(f"Name at least one attribute of {', '.join(ATTRIBUTES)}.")
    return tuple(out)


def attribute_values(rows: ValidationRows, name: str) -> list[str | None]:
    """One value per row for an attribute (None where not recorded)."""
    return _DERIVE[name](rows)


def equity_fingerprint(rows: ValidationRows, values: dict[str, list[str | None]]) -> str:
    """SHA-256 over the validation fingerprint and every row's group labels."""
    digest = hashlib.sha256(rows.fingerprint(with_localisations=False).encode())
    for name in sorted(values):
        digest.update(f"\n{name}\n".encode())
        digest.update("\t".join("" if v is None else v for v in values[name]).encode())
    return digest.hexdigest()


def _predictions(
    rows: ValidationRows, threshold: float | None
) -> tuple[np.ndarray[Any, Any], float | None, tuple[str, ...], str]:
    if threshold is not None and not np.isnan(rows.score).any():
        calls_from = f"scores at the operating threshold {threshold:g}"
        return rows.score, float(threshold), ("sensitivity", "specificity", "auc"), calls_from
    if (rows.call >= 0).all():
        return rows.call.astype(bool), None, ("sensitivity", "specificity"), "the stored calls"
    raise EquityInputError(
        "Some results have neither a score usable at an operating threshold nor a stored "
        "call, so groups cannot be compared; record the version's operating threshold "
        "(radassure version add --threshold) or ingest the calls."
    )


def _ordered(name: str, labels: Sequence[str]) -> list[str]:
    order = GROUP_ORDER.get(name, ())
    return [g for g in order if g in labels] + [g for g in labels if g not in order]


def _single_group(name: str, values: list[str | None]) -> None:
    seen = {v for v in values}
    if len(seen) < 2:
        only = next(iter(seen))
        raise EquityInputError(
            f"Attribute {name!r} has one group only (every result is "
            f"{'not recorded' if only is None else repr(only)}), so there is nothing to "
            "compare; drop it from the attributes or widen the scope."
        )


def equity_analysis(
    rows: ValidationRows,
    *,
    threshold: float | None,
    attributes: Sequence[str] = DEFAULT_ATTRIBUTES,
    margin: float = 0.05,
    correction: str = "holm",
    alpha: float = 0.05,
    level: float = 0.95,
) -> dict[str, Any]:
    """Disaggregate, flag and check completeness; the JSON-ready equity results.

    Parameters
    ----------
    rows : ValidationRows
        Results with a reference standard (every finding in scope is pooled).
    threshold : float or None
        The version's operating threshold; without one, the stored calls are
        used and the AUC is left out.
    attributes : sequence of str
        Attribute names from :data:`ATTRIBUTES`.
    margin, correction, alpha, level
        As for :func:`radassure.core.flag_disparities` and
        :func:`radassure.core.disaggregate`.

    Returns
    -------
    dict
        ``metrics``, ``calls_from``, ``overall``, ``groups`` (attribute to
        ordered labels), ``rows``, ``flags``, ``insufficient``, ``tests``,
        ``n_tests``, ``completeness``, ``notes`` and ``fingerprint``.

    Raises
    ------
    EquityInputError
        An unknown attribute, an attribute with one group only, no positive
        or no negative reference cases, or no usable prediction.

    """
    if correction not in ("holm", "bh"):
        raise EquityInputError(f"correction must be 'holm' or 'bh' (got {correction!r}).")
    if not (isinstance(margin, int | float) and math.isfinite(margin) and 0 < margin < 1):
        raise EquityInputError(f"margin must lie strictly between 0 and 1 (got {margin!r}).")
    names = parse_attributes(attributes)
    positives = int(np.count_nonzero(rows.label))
    if positives in (0, len(rows)):
        kind = "positive" if positives == 0 else "negative"
        raise NotFoundError(
            f"The reference standard has no {kind} cases among the {len(rows):,} results in "
            "scope, so sensitivity and specificity cannot be compared between groups; widen "
            "the scope or ingest more reference standards."
        )
    y_pred, thr, metrics, calls_from = _predictions(rows, threshold)
    values = {name: attribute_values(rows, name) for name in names}
    for name in names:
        _single_group(name, values[name])
    notes: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UndefinedMetricWarning)
        result = disaggregate(
            list(metrics),
            rows.label,
            y_pred,
            groups={k: np.asarray(v, dtype=object) for k, v in values.items()},
            threshold=thr,
            level=level,
        )
        report = flag_disparities(result, margin=margin, correction=correction, alpha=alpha)  # type: ignore[arg-type]
    for w in caught:
        if not issubclass(w.category, UndefinedMetricWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        elif str(w.message) not in notes:
            notes.append(str(w.message))
    # Completeness counts studies, not results: a study with four findings is one patient.
    first: dict[int, int] = {}
    for i, sid in enumerate(rows.study_id.tolist()):
        first.setdefault(sid, i)
    idx = list(first.values())
    checked = [n for n in (*DEFAULT_ATTRIBUTES, *names) if n != "site"]
    per_study = {}
    for n in dict.fromkeys(checked):
        column = values[n] if n in values else attribute_values(rows, n)
        per_study[n] = np.asarray([column[i] for i in idx], dtype=object)
    gaps = completeness(per_study, by=np.asarray([rows.site[i] for i in idx], dtype=object))
    data = report.to_dict()
    return {
        "attributes": list(names),
        "metrics": list(metrics),
        "calls_from": calls_from,
        "threshold": thr,
        "n": result.n,
        "positives": result.positives,
        "studies": len(first),
        "overall": {k: v.to_dict() for k, v in result.overall.items()},
        "groups": {k: _ordered(k, v) for k, v in result.groups.items()},
        "rows": [r.to_dict() for r in result.rows],
        "flags": data["flags"],
        "insufficient": data["insufficient"],
        "tests": data["tests"],
        "n_tests": data["n_tests"],
        "margins": data["margins"],
        "correction": correction,
        "alpha": alpha,
        "level": level,
        "completeness": gaps.to_dict(),
        "notes": notes,
        "fingerprint": equity_fingerprint(rows, values),
    }


def equity_section(
    rows: ValidationRows, *, task: str, threshold: float | None, level: float = 0.95
) -> dict[str, Any]:
    """The equity section of a validation run: default attributes, or a note why not.

    Parameters
    ----------
    rows : ValidationRows
        The validation run's rows.
    task : str
        The tool's task; segmentation has no negative cases to compare.
    threshold : float or None
        The version's operating threshold.
    level : float, default 0.95
        Confidence level.

    Returns
    -------
    dict
        ``{"computed": True, ...}`` with the results of an equity analysis, or
        ``{"computed": False, "note": ...}``.

    """
    if task == "segmentation":
        return {
            "computed": False,
            "note": "Equity checks compare sensitivity and specificity between patient "
            "groups; a segmentation tool's structures have no negative cases, so none "
            "was computed.",
        }
    try:
        found = equity_analysis(rows, threshold=threshold, level=level)
    except (EquityInputError, NotFoundError) as exc:
        return {"computed": False, "note": f"No equity check was computed: {exc}"}
    found.pop("tests")  # the full family stays with equity runs; flags say what matters
    return {"computed": True, **found}
