"""Contour QA runs: an AI structure set against the approved one, per patient or batch.

:func:`compare_structure_sets` loads the image grid once, reads both RT
Structure Sets, normalises ROI names to TG-263 (a user mapping first), pairs
structures by normalised name, rasterises the paired ROIs and computes
:func:`~radassure.core.segmentation_metrics` for each. Structures in only one
set are listed, never dropped: approved-only ones are *missed* by the AI,
AI-only ones *added* (hallucinated). :func:`compare_batch` does this for every
patient folder and adds per-structure distributions, outlier flags and the
worst cases; :func:`contour_results` turns comparisons into the JSON kept with
a run, and :func:`save_contour_run` stores it with its report.

Batch folder convention: one subfolder per patient holding the image series
(searched recursively) and two RTSTRUCT files found by name, by default
``ai*.dcm`` and ``approved*.dcm`` (case-insensitive; exactly one of each).
"""

from __future__ import annotations

import fnmatch
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from radassure import __version__
from radassure.core import segmentation_metrics
from radassure.dicom import (
    RTStruct,
    load_image_series,
    load_name_mapping,
    normalise_structure_name,
    rasterise_rtstruct,
    read_rtstruct,
)
from radassure.errors import DataValidationError, InputProblem
from radassure.reports.contours import render_contour_report
from radassure.services._contours_runs import baseline_from_run, save_contour_run
from radassure.services._contours_stats import (
    baseline_values,
    outliers,
    structure_summaries,
    worst_cases,
)
from radassure.services._validation_common import jsonable

__all__ = [
    "ContourComparison",
    "baseline_from_run",
    "compare_batch",
    "compare_structure_sets",
    "contour_report",
    "contour_results",
    "read_mapping",
    "save_contour_run",
]

Method = Literal["surface", "voxel"]
Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class ContourComparison:
    """One patient's AI structure set compared with the approved one.

    Attributes
    ----------
    patient : str
        A label (the patient folder's name, or the images folder's).
    ai_file, approved_file : str
        The two RTSTRUCT files.
    structures : list of dict
        One per paired structure: ``structure`` (TG-263 name), ``ai_name``,
        ``approved_name`` and every :func:`segmentation_metrics` value.
    missed : list of dict
        Approved structures the AI set lacks (``structure``, ``approved_name``).
    hallucinated : list of dict
        AI structures the approved set lacks (``structure``, ``ai_name``).
    unmatched_names : list of str
        ROI names that matched neither the mapping nor TG-263 (paired as written).
    input_hashes : dict of str to str
        SHA-256 of every input file (both RTSTRUCTs and every image slice).

    """

    patient: str
    ai_file: str
    approved_file: str
    structures: list[dict[str, Any]]
    missed: list[dict[str, str]]
    hallucinated: list[dict[str, str]]
    unmatched_names: list[str]
    grid: dict[str, Any]
    input_hashes: dict[str, str] = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``inf`` distances become ``null`` beside their ``status``."""
        out: dict[str, Any] = jsonable(
            {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "input_hashes"}
        )
        return out


def _sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _by_name(
    rs: RTStruct, mapping: Mapping[str, str] | None, unmatched: list[str]
) -> dict[str, str]:
    """Normalised name -> ROIName for the ROIs with an area; refuse two ROIs on one name."""
    out: dict[str, str] = {}
    for roi in rs.rois:
        if not roi.has_area:
            continue
        norm = normalise_structure_name(roi.name, mapping=mapping)
        if not norm.matched and roi.name not in unmatched:
            unmatched.append(roi.name)
        if norm.name in out:
            raise DataValidationError(
                [
                    InputProblem(
                        rs.source,
                        None,
                        "ROIName",
                        f"the ROIs '{out[norm.name]}' and '{roi.name}' both mean "
                        f"{norm.name}; rename one or map it elsewhere with --mapping.",
                    )
                ]
            )
        out[norm.name] = roi.name
    return out


def compare_structure_sets(
    ai_rtstruct: str | Path,
    approved_rtstruct: str | Path,
    images_dir: str | Path,
    *,
    mapping: Mapping[str, str] | None = None,
    tolerance_mm: float = 2.0,
    method: Method = "surface",
    patient: str | None = None,
) -> ContourComparison:
    """Compare an AI structure set with the approved one on their image series.

    Parameters
    ----------
    ai_rtstruct, approved_rtstruct : path
        The two RT Structure Set files.
    images_dir : path
        The folder of the image series both were drawn on (searched
        recursively; other files are skipped).
    mapping : mapping of str to str, optional
        Local ROI name -> TG-263 name, applied before the shipped table.
    tolerance_mm : float, default 2.0
        Surface Dice and APL tolerance.
    method : {"surface", "voxel"}, default "surface"
        Surface distance definition (see docs/metrics.md).
    patient : str, optional
        Label of the case; default the images folder's name.

    Returns
    -------
    ContourComparison

    Raises
    ------
    DataValidationError
        Naming the file: no images, an unreadable file, a structure set that
        references images, a series or a frame of reference other than the
        images given, or two ROIs with one normalised name.

    Examples
    --------
    >>> # see tests/integration/test_contours.py for comparisons on written files

    """
    images = Path(images_dir)
    if not images.is_dir():
        raise DataValidationError(
            [InputProblem(str(images), None, None, "the image folder does not exist.")]
        )
    if not any(f.is_file() for f in images.rglob("*")):
        raise DataValidationError(
            [
                InputProblem(
                    str(images),
                    None,
                    None,
                    "the image folder holds no file; no CT/MR "
                    "image slice was found. Give the series the structure sets were drawn on.",
                )
            ]
        )
    grid = load_image_series(images)
    ai, approved = read_rtstruct(ai_rtstruct), read_rtstruct(approved_rtstruct)
    unmatched: list[str] = []
    ai_names = _by_name(ai, mapping, unmatched)
    approved_names = _by_name(approved, mapping, unmatched)
    paired = [n for n in approved_names if n in ai_names]
    ai_masks = rasterise_rtstruct(ai, grid, roi_names=[ai_names[n] for n in paired])
    approved_masks = rasterise_rtstruct(
        approved, grid, roi_names=[approved_names[n] for n in paired]
    )
    structures = []
    for name in paired:
        result = segmentation_metrics(
            approved_masks[approved_names[name]],
            ai_masks[ai_names[name]],
            grid.spacing,
            tolerance_mm=tolerance_mm,
            method=method,
        )
        structures.append(
            {
                "structure": name,
                "ai_name": ai_names[name],
                "approved_name": approved_names[name],
                **result,
            }
        )
    hashes = {str(ai_rtstruct): _sha256(ai_rtstruct)}
    hashes[str(approved_rtstruct)] = _sha256(approved_rtstruct)
    hashes.update({f: _sha256(f) for f in grid.files})
    return ContourComparison(
        patient=patient or images.resolve().name,
        ai_file=str(ai_rtstruct),
        approved_file=str(approved_rtstruct),
        structures=structures,
        missed=[
            {"structure": n, "approved_name": r}
            for n, r in approved_names.items()
            if n not in ai_names
        ],
        hallucinated=[
            {"structure": n, "ai_name": r} for n, r in ai_names.items() if n not in approved_names
        ],
        unmatched_names=unmatched,
        grid={"shape": list(grid.shape), "spacing_mm": list(grid.spacing)},
        input_hashes=hashes,
    )


def _find_one(folder: Path, pattern: str, role: str) -> Path:
    found = sorted(
        p for p in folder.iterdir() if p.is_file() and fnmatch.fnmatch(p.name.lower(), pattern)
    )
    if len(found) != 1:
        what = (
            "no file" if not found else f"{len(found)} files ({', '.join(p.name for p in found)})"
        )
        raise DataValidationError(
            [
                InputProblem(
                    str(folder),
                    None,
                    None,
                    f"{what} match the {role} structure set pattern '{pattern}'; each patient "
                    "folder needs exactly one.",
                )
            ]
        )
    return found[0]


def compare_batch(
    folder: str | Path,
    *,
    mapping: Mapping[str, str] | None = None,
    tolerance_mm: float = 2.0,
    method: Method = "surface",
    ai_pattern: str = "ai*.dcm",
    approved_pattern: str = "approved*.dcm",
    progress: Progress | None = None,
) -> list[ContourComparison]:
    """Compare the AI and approved structure sets of every patient folder in ``folder``.

    Parameters
    ----------
    folder : path
        One subfolder per patient, each holding its image series and the two
        RTSTRUCT files named by ``ai_pattern`` and ``approved_pattern``.
    mapping, tolerance_mm, method
        As for :func:`compare_structure_sets`.
    ai_pattern, approved_pattern : str
        Case-insensitive file name patterns (``fnmatch``) of the two sets.
    progress : callable, optional
        Called as ``progress(done, total, patient)`` after each patient.

    Returns
    -------
    list of ContourComparison
        In patient folder name order.

    Raises
    ------
    DataValidationError
        When the folder has no patient subfolder, a patient lacks either file,
        or any comparison fails (the message names the file).

    """
    root = Path(folder)
    if not root.is_dir():
        raise DataValidationError(
            [InputProblem(str(root), None, None, "the batch folder does not exist.")]
        )
    patients = sorted(p for p in root.iterdir() if p.is_dir())
    if not patients:
        raise DataValidationError(
            [InputProblem(str(root), None, None, "has no patient subfolder; see the convention.")]
        )
    pairs = [
        (
            p,
            _find_one(p, ai_pattern.lower(), "AI"),
            _find_one(p, approved_pattern.lower(), "approved"),
        )
        for p in patients
    ]
    out = []
    for i, (patient, ai, approved) in enumerate(pairs, start=1):
        out.append(
            compare_structure_sets(
                ai,
                approved,
                patient,
                mapping=mapping,
                tolerance_mm=tolerance_mm,
                method=method,
                patient=patient.name,
            )
        )
        if progress is not None:
            progress(i, len(pairs), patient.name)
    return out


def contour_results(
    comparisons: Sequence[ContourComparison],
    *,
    parameters: Mapping[str, Any],
    baseline: Mapping[str, Mapping[str, Sequence[float]]] | None = None,
    baseline_label: str | None = None,
) -> dict[str, Any]:
    """The JSON-ready results of a contour QA run (one patient or a batch).

    ``baseline`` (structure -> ``{"dice": [...], "hd95": [...]}``, e.g. from
    :func:`baseline_from_run`) sets the outlier limits; default the batch
    itself, each case left out of its own limits.
    """
    patients = [c.to_dict() for c in comparisons]
    structures = structure_summaries(patients)
    return {
        "schema": "radassure.contours/1",
        "radassure_version": __version__,
        "parameters": dict(parameters),
        "n_patients": len(patients),
        "patients": patients,
        "structures": structures,
        "outliers": jsonable(outliers(patients, baseline)),
        "outlier_baseline": baseline_label or "this batch (each case left out of its own limits)",
        "worst": worst_cases(patients),
        "baseline": baseline_values(patients),
        "headline": [
            {
                "structure": s["structure"],
                "dice_median": s["distributions"]["dice"]["median"],
                "hd95_median": s["distributions"]["hd95"]["median"],
                "n_paired": s["n_paired"],
            }
            for s in structures
        ],
    }


def read_mapping(path: str | Path) -> dict[str, str]:
    """Read a local-name -> TG-263 mapping file (JSON or CSV; see ``load_name_mapping``)."""
    return load_name_mapping(path)


def contour_report(results: Mapping[str, Any]) -> str:
    """The self-contained HTML report of results from :func:`contour_results` (not saved)."""
    return render_contour_report(results)
