"""The column contracts of the three ingestible record kinds.

The contract is data, so the CLI help, ``docs/ingest.md`` (checked by a test),
the JSON API schema and the validators all read the same table.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ACQ_PREFIX", "CONTRACTS", "KINDS", "ColumnSpec", "contract_for"]

#: Columns starting with this prefix are numeric acquisition parameters
#: (for example ``acq_kvp``, ``acq_exposure_mas``, ``acq_slice_thickness_mm``).
ACQ_PREFIX = "acq_"

KINDS = ("studies", "results", "references")


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a record contract.

    Attributes
    ----------
    name : str
        Column name as it must appear in the header (after mapping).
    required : bool
        Whether the column must be present (values may still be optional).
    description : str
        What the column holds and which values are accepted.

    """

    name: str
    required: bool
    description: str


_STUDIES = (
    ColumnSpec(
        "patient_id",
        True,
        "Patient identifier (e.g. NHS or hospital number). Pseudonymised on arrival; never stored.",
    ),
    ColumnSpec(
        "study_id",
        True,
        "Study identifier (e.g. accession number or Study "
        "Instance UID). Pseudonymised on arrival; never stored. Unique per file.",
    ),
    ColumnSpec("site", True, "Site code, registered with `radassure site add`."),
    ColumnSpec(
        "acquired_at",
        True,
        "Acquisition date-time, ISO 8601 (2026-03-01T09:30:00, "
        "optionally with an offset; without one it is taken as UTC).",
    ),
    ColumnSpec("modality", True, "DICOM modality code: CR, DX, CT, MR, MG, US, PT, NM, RTPLAN ..."),
    ColumnSpec("manufacturer", False, "Scanner manufacturer (DICOM Manufacturer)."),
    ColumnSpec("model", False, "Scanner model (DICOM Manufacturer's Model Name)."),
    ColumnSpec("software_version", False, "Scanner software version (DICOM Software Versions)."),
    ColumnSpec("body_part", False, "Body part examined (DICOM Body Part Examined), e.g. CHEST."),
    ColumnSpec(
        "sex",
        False,
        "F, M, O (other) or U (not known / not stated); "
        "female/male/other/unknown also accepted. Blank means U.",
    ),
    ColumnSpec("age", False, "Age at the study in whole years, 0 to 130. Blank if unknown."),
    ColumnSpec(
        "ethnic_group",
        False,
        "NHS ethnic category code A-S, Z (not stated) or 99 (not known). Blank if not recorded.",
    ),
    ColumnSpec(
        "deprivation_decile",
        False,
        "Index of Multiple Deprivation decile, 1 (most deprived) to 10. Blank if unknown.",
    ),
)

_RESULTS = (
    ColumnSpec("tool", True, "Registered tool name (`radassure tool list`)."),
    ColumnSpec("version", True, "Registered version of that tool (`radassure version add`)."),
    ColumnSpec(
        "study_id",
        True,
        "Study identifier as in the studies file; the study must already be ingested.",
    ),
    ColumnSpec(
        "finding",
        True,
        "What the result is about, e.g. pneumothorax, fracture, "
        "or a structure name; lower case, no spaces (use _ ).",
    ),
    ColumnSpec(
        "score",
        False,
        "AI score, a number inside the version's score range "
        "(default 0 to 1). Blank only when a call is given.",
    ),
    ColumnSpec(
        "call",
        False,
        "Binary call: 1/0, true/false, yes/no, positive/negative. "
        "Blank: derived from the version's operating threshold (score >= threshold).",
    ),
    ColumnSpec(
        "localisations",
        False,
        "Optional JSON (list of findings with coordinates, boxes or per-structure summaries).",
    ),
    ColumnSpec(
        "received_at",
        False,
        "When radassure received the result, ISO 8601. Blank: the time of ingestion.",
    ),
)

_REFERENCES = (
    ColumnSpec(
        "study_id",
        True,
        "Study identifier as in the studies file; the study must already be ingested.",
    ),
    ColumnSpec("finding", True, "The finding this reference labels, matching the results."),
    ColumnSpec("label", True, "1/0, true/false, yes/no, positive/negative."),
    ColumnSpec("source", True, "report, consensus, pathology or follow-up."),
    ColumnSpec("localisations", False, "Optional JSON of reference findings or contours."),
    ColumnSpec(
        "recorded_at",
        False,
        "When the reference was recorded, ISO 8601. Blank: the time of ingestion.",
    ),
)

CONTRACTS: dict[str, tuple[ColumnSpec, ...]] = {
    "studies": _STUDIES,
    "results": _RESULTS,
    "references": _REFERENCES,
}


def contract_for(kind: str) -> tuple[ColumnSpec, ...]:
    """Return the column specs of ``kind`` (studies, results or references).

    Examples
    --------
    >>> [c.name for c in contract_for("references")][:2]
    ['study_id', 'finding']

    """
    try:
        return CONTRACTS[kind]
    except KeyError:
        raise ValueError(f"Unknown record kind {kind!r}; use one of {', '.join(KINDS)}.") from None
