"""Turn attribute columns (sex, age band, site...) into integer group codes.

Missing values never vanish: every value counted as missing (``None``, NaN,
blank, the NHS codes ``Z`` "not stated" and ``99`` "not known", and the other
entries of :data:`MISSING_VALUES`) joins one explicit group named
:data:`NOT_RECORDED`, so a group whose attribute was not recorded is analysed
like any other.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = [
    "MISSING_VALUES",
    "NOT_RECORDED",
    "Encoded",
    "encode_attribute",
    "encode_attributes",
    "intersect",
    "missing_key_set",
    "resolve_pairs",
]

NOT_RECORDED = "not recorded"

#: Values read as "not recorded" (compared after stripping spaces, ignoring case).
#: ``Z`` is the NHS Data Dictionary's ethnic category "Not stated" and ``99`` its
#: "Not known" code; ``None`` and NaN are missing too.
MISSING_VALUES: tuple[str, ...] = (
    "",
    "Z",
    "99",
    "not stated",
    "not known",
    "not recorded",
    "unknown",
    "None",
    "NaN",
    "null",
    "N/A",
)

IntArray = npt.NDArray[np.intp]


@dataclass(frozen=True)
class Encoded:
    """One attribute (or intersection of two) as integer group codes.

    Attributes
    ----------
    name : str
        Attribute name, ``"a & b"`` for an intersection.
    parts : tuple of str
        The attributes it is made of (one, or two for an intersection).
    labels : tuple of str
        Group labels in report order; :data:`NOT_RECORDED` last.
    codes : numpy.ndarray of int
        Index into ``labels`` for every case.
    missing_codes : dict of str to int
        How often each raw missing value occurred (``"(blank)"`` for "").

    """

    name: str
    parts: tuple[str, ...]
    labels: tuple[str, ...]
    codes: IntArray
    missing_codes: dict[str, int]

    @property
    def missing(self) -> int:
        """Cases in the "not recorded" group."""
        return sum(self.missing_codes.values())


def missing_key_set(missing_values: Collection[str]) -> frozenset[str]:
    """Normalised lookup set for ``missing_values``."""
    if isinstance(missing_values, str):
        raise ValueError(
            "missing_values must be a collection of strings such as ('', 'Z', '99'), "
            "not a single string."
        )
    return frozenset(str(v).strip().casefold() for v in missing_values)


def _label(value: object) -> str | None:
    """Display label of one raw value, or None when the value itself is missing."""
    if value is None:
        return None
    if isinstance(value, float | np.floating):
        if math.isnan(value):
            return None
        if float(value).is_integer():
            return str(int(value))
    if isinstance(value, bytes):
        value = value.decode(errors="replace")
    return str(value).strip()


def _raw_name(label: str | None) -> str:
    if label is None:
        return "(none)"
    return label if label else "(blank)"


def _sort_key(label: str) -> tuple[int, float, str]:
    try:
        return (0, float(label), label)
    except ValueError:
        return (1, 0.0, label)


def encode_attribute(
    values: npt.ArrayLike,
    name: str,
    n: int,
    missing: frozenset[str],
    *,
    what: str | None = None,
    ref: str = "y_true",
) -> Encoded:
    """Encode one attribute column of length ``n``; see the module docstring."""
    what = what or f"groups[{name!r}]"
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(
            f"{what} must be one-dimensional with one value per case (got shape {arr.shape})."
        )
    if arr.size != n:
        raise ValueError(
            f"The inputs must have one entry per case, but {ref} has {n} and {what} has {arr.size}."
        )
    try:
        uniq, inverse = np.unique(arr, return_inverse=True)
    except TypeError:
        # Mixed types (str and None): index the values by hand.
        keys: dict[str | None, int] = {}
        inverse = np.fromiter(
            (keys.setdefault(_label(v), len(keys)) for v in arr.tolist()), np.intp, arr.size
        )
        uniq = np.array(list(keys), dtype=object)
    inverse = inverse.reshape(-1)
    raw = [_label(v) for v in uniq.tolist()]
    counts = np.bincount(inverse, minlength=len(raw))
    recorded = sorted(
        {lab for lab in raw if lab is not None and lab.casefold() not in missing}, key=_sort_key
    )
    missing_codes: dict[str, int] = {}
    for lab, count in zip(raw, counts.tolist(), strict=True):
        if lab is None or lab.casefold() in missing:
            key = _raw_name(lab)
            missing_codes[key] = missing_codes.get(key, 0) + int(count)
    labels = (*recorded, NOT_RECORDED) if missing_codes else tuple(recorded)
    index = {lab: i for i, lab in enumerate(recorded)}
    to_final = np.array(
        [index.get(lab, len(recorded)) if lab is not None else len(recorded) for lab in raw],
        dtype=np.intp,
    )
    codes = to_final[inverse] if to_final.size else np.zeros(n, dtype=np.intp)
    return Encoded(name, (name,), labels, codes.astype(np.intp), missing_codes)


def encode_attributes(
    groups: Mapping[str, npt.ArrayLike], n: int, missing: frozenset[str]
) -> dict[str, Encoded]:
    """Encode every attribute; refuse empty mappings and single-group attributes."""
    if not isinstance(groups, Mapping) or not groups:
        raise ValueError(
            "groups must map each attribute name to one value per case, e.g. "
            "groups={'sex': sex, 'age_band': age_band}; it is empty."
        )
    out: dict[str, Encoded] = {}
    for name, values in groups.items():
        if not isinstance(name, str) or not name:
            raise ValueError(f"Attribute names in groups must be non-empty strings (got {name!r}).")
        enc = encode_attribute(values, name, n, missing)
        if len(enc.labels) < 2:
            raise ValueError(
                f"groups[{name!r}] has only one group ({enc.labels[0]!r}), so there is "
                "nothing to compare it with; drop the attribute or check the column."
            )
        out[name] = enc
    return out


def intersect(a: Encoded, b: Encoded) -> Encoded:
    """The observed cells of two attributes, labelled ``"la & lb"``."""
    combined = a.codes * len(b.labels) + b.codes
    present, codes = np.unique(combined, return_inverse=True)
    labels = tuple(
        f"{a.labels[int(c) // len(b.labels)]} & {b.labels[int(c) % len(b.labels)]}" for c in present
    )
    return Encoded(
        f"{a.name} & {b.name}", (a.name, b.name), labels, codes.astype(np.intp).reshape(-1), {}
    )


def resolve_pairs(
    intersections: bool | Sequence[tuple[str, str]], names: Sequence[str]
) -> list[tuple[str, str]]:
    """The attribute pairs to cross, checked against ``names``."""
    if intersections is True:
        return [(a, b) for i, a in enumerate(names) for b in names[i + 1 :]]
    if intersections is False:
        return []
    pairs: list[tuple[str, str]] = []
    for pair in intersections:
        if isinstance(pair, str) or len(pair) != 2:
            raise ValueError(
                "intersections must be True, False or a list of attribute pairs such as "
                f"[('sex', 'age_band')] (got {pair!r})."
            )
        a, b = pair
        for attr in (a, b):
            if attr not in names:
                raise ValueError(
                    f"intersections names attribute '{attr}', which is not in groups "
                    f"(known: {', '.join(map(repr, names))}); check the spelling."
                )
        if a == b:
            raise ValueError(f"intersections pairs '{a}' with itself; pair two attributes.")
        pairs.append((a, b))
    return pairs
