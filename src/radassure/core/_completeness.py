"""How complete the patient attributes are, and whether missingness itself is uneven.

A subgroup analysis can only see the patients whose attribute was recorded.
When ethnic group is missing far more often at one site, or for older
patients, the "not recorded" group hides exactly the people a bias check is
for, so uneven missingness is reported as a warning in its own right.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

from radassure.core._checks import check_level, check_positive_int
from radassure.core._fairness_types import json_float
from radassure.core._groups import MISSING_VALUES, Encoded, encode_attribute, missing_key_set
from radassure.core._multiplicity import adjust_p_values
from radassure.core._readings import format_p
from radassure.core.intervals import proportion_estimate
from radassure.core.results import Estimate

__all__ = ["AttributeCompleteness", "CompletenessReport", "MissingnessWarning", "completeness"]


@dataclass(frozen=True)
class AttributeCompleteness:
    """Missing values of one attribute.

    Attributes
    ----------
    attribute : str
        Attribute name.
    n, missing : int
        Cases, and cases whose value is missing or not stated.
    share_missing : Estimate
        ``missing / n`` with its Wilson interval.
    missing_codes : dict of str to int
        Count of each raw missing value (``"(blank)"``, ``"(none)"``, ``"Z"``...).
    by_group : dict of str to Estimate
        Share missing in each group of ``by`` (for example each site); empty
        when ``by`` was not given.

    """

    attribute: str
    n: int
    missing: int
    share_missing: Estimate
    missing_codes: dict[str, int]
    by_group: dict[str, Estimate]

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-ready dict."""
        return {
            "attribute": self.attribute,
            "n": self.n,
            "missing": self.missing,
            "share_missing": self.share_missing.to_dict(),
            "missing_codes": dict(self.missing_codes),
            "by_group": {k: v.to_dict() for k, v in self.by_group.items()},
        }


@dataclass(frozen=True)
class MissingnessWarning:
    """Missingness of one attribute differs between the groups of another (or sites).

    Attributes
    ----------
    attribute : str
        The attribute whose values go missing.
    across : str
        The other attribute, or the name of ``by`` (for example ``"site"``).
    shares : dict of str to float
        Share missing in each group compared.
    highest, lowest : str
        Groups with the highest and lowest share.
    difference : float
        Highest minus lowest share.
    statistic, p_value, p_adjusted : float
        Pearson chi-square, its p-value, and the Holm-adjusted p-value.
    message : str
        The warning in plain words.

    """

    attribute: str
    across: str
    shares: dict[str, float]
    highest: str
    lowest: str
    difference: float
    statistic: float
    p_value: float
    p_adjusted: float
    message: str

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-ready dict."""
        return {
            "attribute": self.attribute,
            "across": self.across,
            "shares": dict(self.shares),
            "highest": self.highest,
            "lowest": self.lowest,
            "difference": self.difference,
            "statistic": json_float(self.statistic),
            "p_value": json_float(self.p_value),
            "p_adjusted": json_float(self.p_adjusted),
            "message": self.message,
        }


@dataclass(frozen=True)
class CompletenessReport:
    """Completeness of every attribute and the warnings about uneven missingness.

    Attributes
    ----------
    attributes : tuple of AttributeCompleteness
        One entry per attribute, in the order given.
    warnings : tuple of MissingnessWarning
        Comparisons whose missingness differs significantly (Holm) and by at
        least ``min_difference``.
    by_name : str or None
        Name of ``by`` when it was given.
    n_tests : int
        Number of chi-square tests in the Holm family.

    """

    attributes: tuple[AttributeCompleteness, ...]
    warnings: tuple[MissingnessWarning, ...]
    by_name: str | None
    n_tests: int

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-ready dict."""
        return {
            "attributes": [a.to_dict() for a in self.attributes],
            "warnings": [w.to_dict() for w in self.warnings],
            "by_name": self.by_name,
            "n_tests": self.n_tests,
        }


def _where(name: str, label: str, is_by: bool) -> str:
    if is_by:
        return f"at {name} {label}"
    return f"with {name.replace('_', ' ')} {label}"


def completeness(
    attributes: Mapping[str, npt.ArrayLike],
    *,
    by: npt.ArrayLike | None = None,
    by_name: str = "site",
    missing_values: Collection[str] = MISSING_VALUES,
    alpha: float = 0.05,
    min_difference: float = 0.05,
    min_group_size: int = 20,
    level: float = 0.95,
) -> CompletenessReport:
    """Share of missing or not-stated values per attribute, overall and by site.

    Parameters
    ----------
    attributes : mapping of str to array-like of shape (n,)
        Attribute columns, e.g. ``{"sex": sex, "ethnic_group": eth}``.
    by : array-like of shape (n,), optional
        A grouping to break completeness down by, usually the site.
    by_name : str, default "site"
        What ``by`` is, for messages.
    missing_values : collection of str, default MISSING_VALUES
        Values meaning missing or not stated (None and NaN always are).
    alpha : float, default 0.05
        Family-wise error rate of the chi-square tests (Holm 1979).
    min_difference : float, default 0.05
        Smallest gap in the share missing (highest minus lowest group) worth
        a warning: 5 percentage points by default.
    min_group_size : int, default 20
        Groups with fewer cases are left out of the comparisons.
    level : float, default 0.95
        Confidence level of the Wilson intervals.

    Returns
    -------
    CompletenessReport
        For every attribute A and every other attribute (or ``by``) B, when A
        has some missing values and B at least two groups of
        ``min_group_size`` cases, a Pearson chi-square test (no continuity
        correction) of A's missingness against B's groups; the p-values are
        Holm-adjusted together, and a warning is raised when
        ``p_adjusted <= alpha`` and the shares differ by at least
        ``min_difference``.

    Examples
    --------
    >>> site = ["A"] * 100 + ["B"] * 100
    >>> eth = ["White"] * 95 + ["Z"] * 5 + ["Asian"] * 70 + [""] * 30
    >>> report = completeness({"ethnic_group": eth}, by=site)
    >>> report.attributes[0].share_missing.format()
    '0.17 (95% CI 0.13 to 0.23)'
    >>> print(report.warnings[0].message)  # doctest: +NORMALIZE_WHITESPACE
    ethnic_group is missing for 30% of patients at site B but 5% at site A (Holm-adjusted
    chi-square p < 0.001); patients without it cannot be checked for bias, so check how it
    is recorded there.

    """
    if not isinstance(attributes, Mapping) or not attributes:
        raise ValueError(
            "attributes must map each attribute name to one value per case, e.g. "
            "{'sex': sex, 'ethnic_group': eth}; it is empty."
        )
    level = check_level(level)
    min_group_size = check_positive_int(min_group_size, "min_group_size")
    for name, value in (("alpha", alpha), ("min_difference", min_difference)):
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
            raise ValueError(f"{name} must be a number strictly between 0 and 1 (got {value!r}).")
    missing = missing_key_set(missing_values)
    first = next(iter(attributes))
    n = np.asarray(attributes[first]).size
    if n == 0:
        raise ValueError(f"attributes[{first!r}] is empty; pass at least one case.")
    ref = f"attributes[{first!r}]"
    enc = {
        name: encode_attribute(v, name, n, missing, what=f"attributes[{name!r}]", ref=ref)
        for name, v in attributes.items()
    }
    site = None
    if by is not None:
        site = encode_attribute(by, by_name, n, missing, what="by", ref=ref)
    entries = []
    for name, e in enc.items():
        gone = e.codes == len(e.labels) - 1 if e.missing else np.zeros(n, dtype=bool)
        per_site = {}
        if site is not None:
            for code, label in enumerate(site.labels):
                inside = site.codes == code
                k = int(np.count_nonzero(gone & inside))
                per_site[label] = proportion_estimate(k, int(inside.sum()), level=level)
        entries.append(
            AttributeCompleteness(
                name,
                n,
                e.missing,
                proportion_estimate(e.missing, n, level=level),
                dict(e.missing_codes),
                per_site,
            )
        )
    candidates = []
    others: list[tuple[Encoded, bool]] = [(e, False) for e in enc.values()]
    if site is not None:
        others.append((site, True))
    for name, e in enc.items():
        if not 0 < e.missing < n:
            continue
        gone = e.codes == len(e.labels) - 1
        for other, is_by in others:
            if other.name == name and not is_by:
                continue
            sizes = np.bincount(other.codes, minlength=len(other.labels))
            kept = [c for c in range(len(other.labels)) if sizes[c] >= min_group_size]
            if len(kept) < 2:
                continue
            miss = np.bincount(other.codes[gone], minlength=len(other.labels))[kept]
            table = np.vstack([miss, sizes[kept] - miss])
            if (table.sum(axis=1) == 0).any():
                continue
            stat, p, _, _ = stats.chi2_contingency(table, correction=False)
            shares = {other.labels[c]: float(m / sizes[c]) for c, m in zip(kept, miss, strict=True)}
            candidates.append((name, other.name, is_by, shares, float(stat), float(p)))
    adjusted = adjust_p_values([c[5] for c in candidates]) if candidates else np.array([])
    warnings_out = []
    for (name, across, is_by, shares, stat, p), p_adj in zip(candidates, adjusted, strict=True):
        high = max(shares, key=shares.__getitem__)
        low = min(shares, key=shares.__getitem__)
        diff = shares[high] - shares[low]
        if not (p_adj <= alpha and diff >= min_difference):
            continue
        message = (
            f"{name} is missing for {shares[high]:.0%} of patients {_where(across, high, is_by)} "
            f"but {shares[low]:.0%} {_where(across, low, is_by)} (Holm-adjusted chi-square "
            f"{format_p(float(p_adj))}); patients without it cannot be checked for bias, so "
            "check how it is recorded there."
        )
        warnings_out.append(
            MissingnessWarning(
                name, across, shares, high, low, diff, stat, p, float(p_adj), message
            )
        )
    return CompletenessReport(
        tuple(entries), tuple(warnings_out), by_name if site else None, len(candidates)
    )
