"""Structure names normalised to AAPM TG-263 where they can be matched.

Names are compared case- and punctuation-insensitively ("L Parotid",
"parotid-left", "PAROTID_LT" and "Parotid_L" are one name). Three sources, in
this order of precedence:

1. a user mapping (local name -> TG-263 name), e.g. loaded from a CSV or JSON
   file with :func:`load_name_mapping`;
2. the shipped table ``tg263.csv`` (common head and neck, thorax, abdomen and
   pelvis structures with synonyms; for ``_L``/``_R`` structures each synonym is
   also accepted with a side word before or after it: l, left, lt, lft, sin;
   r, right, rt, rgt, dx), plus planning-risk volumes ("Cord PRV 5mm" ->
   ``SpinalCord_PRV05``);
3. target volumes by TG-263's pattern: type (GTV, CTV, ITV, PTV), classifier
   (p, n, sb, par, v, vas), target number, then dose in cGy or a level
   ("PTV 70Gy" -> ``PTV_7000``, "ctvn_5040" -> ``CTVn_5040``, "PTV-1" -> ``PTV1``,
   "PTV high" -> ``PTV_High``).

Anything else is kept as written and flagged ``matched=False``.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal

from radassure.dicom._common import PathLike
from radassure.errors import DataValidationError, InputProblem

__all__ = [
    "StructureName",
    "load_name_mapping",
    "normalise_structure_name",
    "normalise_structure_names",
    "tg263_names",
]

_SIDES = {
    "L": ("l", "left", "lt", "lft", "sin"),
    "R": ("r", "right", "rt", "rgt", "dx"),
}
_TARGET = re.compile(
    r"^(?P<type>gtv|ctv|itv|ptv)(?:[\s_\-]?(?P<cls>sb|par|vas|p|n|v)(?![a-z]))?(?P<num>\d(?!\d))?"
    r"(?:[\s_\-]*(?P<rest>.+))?$"
)
_DOSE = re.compile(r"^(?P<value>\d+(?:[.,]\d+)?)\s*(?P<unit>c?gy)?$")
_LEVELS = {"high": "High", "mid": "Mid", "low": "Low"}
_PRV = re.compile(r"^(?P<base>.+?)[\s_\-]*prv[\s_\-]*(?P<mm>\d+)?\s*(?:mm)?$")


@dataclass(frozen=True)
class StructureName:
    """The outcome of normalising one structure name.

    Attributes
    ----------
    original : str
        The name as written (ROIName, SegmentLabel, file name).
    name : str
        The TG-263 name when matched, otherwise ``original`` unchanged.
    matched : bool
        False flags a name that matched neither the mapping nor TG-263.
    source : {"mapping", "tg263", "unmatched"}
        Where the match came from.

    """

    original: str
    name: str
    matched: bool
    source: Literal["mapping", "tg263", "unmatched"]


def _key(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.casefold())


@cache
def _table() -> dict[str, str]:
    text = resources.files("radassure.dicom").joinpath("tg263.csv").read_text("utf-8")
    out: dict[str, str] = {}

    def add(key: str, name: str) -> None:
        if out.setdefault(key, name) != name:
            raise RuntimeError(f"tg263.csv is ambiguous: '{key}' names {out[key]} and {name}.")

    for row in csv.DictReader(io.StringIO(text)):
        name = row["tg263_name"]
        synonyms = [s for s in row["synonyms"].split("|") if s.strip()]
        add(_key(name), name)
        side = name[-1] if name[-2:] in ("_L", "_R") else None
        if side is None:
            for synonym in synonyms:
                add(_key(synonym), name)
            continue
        for base in {_key(name[:-2]), *map(_key, synonyms)}:
            for word in _SIDES[side]:
                add(word + base, name)
                add(base + word, name)
    return out


def tg263_names() -> tuple[str, ...]:
    """The TG-263 names of the shipped table, sorted.

    Examples
    --------
    >>> "Parotid_L" in tg263_names()
    True

    """
    return tuple(sorted(set(_table().values())))


def _target(name: str) -> str | None:
    match = _TARGET.match(name.strip().casefold())
    if match is None:
        return None
    out = match["type"].upper() + (match["cls"] or "") + (match["num"] or "")
    rest = (match["rest"] or "").strip()
    if not rest:
        return out
    if rest.replace(" ", "") in _LEVELS:
        return f"{out}_{_LEVELS[rest.replace(' ', '')]}"
    dose = _DOSE.match(rest.replace(" ", ""))
    if dose is None:
        return None
    value = float(dose["value"].replace(",", "."))
    unit = dose["unit"]
    if unit is None and value < 10 and value.is_integer() and not match["num"]:
        return out + str(int(value))  # "PTV-1": a target number, not a dose
    if unit == "gy" or (unit is None and (value < 100 or not value.is_integer())):
        value *= 100.0  # Gy -> cGy
    return f"{out}_{round(value)}"


def _builtin(name: str) -> str | None:
    table = _table()
    hit = table.get(_key(name))
    if hit is not None:
        return hit
    prv = _PRV.match(name.strip().casefold())
    if prv is not None and (base := table.get(_key(prv["base"]))) is not None:
        return f"{base}_PRV" + (f"{int(prv['mm']):02d}" if prv["mm"] else "")
    return _target(name)


def normalise_structure_name(
    name: str, *, mapping: Mapping[str, str] | None = None
) -> StructureName:
    """Match one structure name to TG-263 (user mapping first, then the shipped table).

    Parameters
    ----------
    name : str
        The name as written, e.g. an RTSTRUCT ROIName.
    mapping : mapping of str to str, optional
        Local name -> TG-263 name; compared case- and punctuation-insensitively
        and taking precedence over the shipped table.

    Returns
    -------
    StructureName

    Examples
    --------
    >>> normalise_structure_name("PAROTID_LT").name
    'Parotid_L'
    >>> normalise_structure_name("Cord PRV 5mm").name
    'SpinalCord_PRV05'
    >>> normalise_structure_name("PTV 70Gy").name
    'PTV_7000'
    >>> normalise_structure_name("Dens", mapping={"dens": "Bone_Dens"}).source
    'mapping'
    >>> normalise_structure_name("zz_help")
    StructureName(original='zz_help', name='zz_help', matched=False, source='unmatched')

    """
    if mapping:
        local = {_key(k): v for k, v in mapping.items()}
        if (hit := local.get(_key(name))) is not None:
            return StructureName(name, hit, True, "mapping")
    if (hit := _builtin(name)) is not None:
        return StructureName(name, hit, True, "tg263")
    return StructureName(name, name, False, "unmatched")


def normalise_structure_names(
    names: Iterable[str], *, mapping: Mapping[str, str] | None = None
) -> list[StructureName]:
    """Normalise many names; see :func:`normalise_structure_name`.

    Examples
    --------
    >>> [s.name for s in normalise_structure_names(["L Parotid", "parotid right", "Lt"])]
    ['Parotid_L', 'Parotid_R', 'Lt']

    """
    return [normalise_structure_name(n, mapping=mapping) for n in names]


def _mapping_problem(path: PathLike, row: int | None, message: str) -> InputProblem:
    return InputProblem(str(path), row, None, message)


def load_name_mapping(path: PathLike) -> dict[str, str]:
    r"""Read a user mapping of local structure names to TG-263 names.

    Parameters
    ----------
    path : path
        A ``.json`` file holding one object ``{"local name": "TG263_Name", ...}``,
        or a ``.csv`` file with the header ``local_name,tg263_name``.

    Returns
    -------
    dict of str to str

    Raises
    ------
    DataValidationError
        If the file cannot be parsed, lacks the columns, has an empty cell, or
        maps one name (compared case- and punctuation-insensitively) twice to
        different TG-263 names; CSV rows are numbered as a spreadsheet shows.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = pathlib.Path(folder) / "names.csv"
    ...     _ = path.write_text("local_name,tg263_name\nMy Cord,SpinalCord\n")
    ...     load_name_mapping(path)
    {'My Cord': 'SpinalCord'}

    """
    p = Path(path)
    try:
        text = p.read_text("utf-8-sig")
    except OSError as exc:
        raise DataValidationError([_mapping_problem(p, None, f"cannot be read ({exc}).")]) from exc
    pairs: list[tuple[int | None, str, str]] = []
    if p.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataValidationError([_mapping_problem(p, None, f"is not JSON ({exc}).")]) from exc
        if not isinstance(data, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in data.items()
        ):
            raise DataValidationError(
                [_mapping_problem(p, None, 'must hold one object {"local name": "TG263_Name"}.')]
            )
        pairs = [(None, k, v) for k, v in data.items()]
    else:
        reader = csv.DictReader(io.StringIO(text))
        if not {"local_name", "tg263_name"} <= set(reader.fieldnames or ()):
            raise DataValidationError(
                [_mapping_problem(p, 1, "the header must name the columns local_name,tg263_name.")]
            )
        pairs = [(i, r["local_name"] or "", r["tg263_name"] or "") for i, r in enumerate(reader, 2)]
    problems: list[InputProblem] = []
    out: dict[str, str] = {}
    seen: dict[str, tuple[str, str]] = {}
    for row, raw_local, raw_target in pairs:
        local, target = raw_local.strip(), raw_target.strip()
        if not local or not target:
            problems.append(
                _mapping_problem(p, row, "both a local name and a TG-263 name are needed.")
            )
            continue
        previous = seen.setdefault(_key(local), (local, target))
        if previous[1] != target:
            problems.append(
                _mapping_problem(
                    p, row, f"'{local}' maps to {target} but '{previous[0]}' to {previous[1]}."
                )
            )
        out[local] = target
    if problems:
        raise DataValidationError(problems)
    return out
