"""Generate the demo department's records as CSV-ready columns, from one seed.

Every random draw comes from generators seeded by ``numpy.random.SeedSequence``
children of the one seed, one stream per component, so that changing one tool's
model does not reshuffle another tool's data. No draw depends on the clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from radassure.services._demo_model import SCANNERS
from radassure.services._demo_people import Cohort, cohort, fmt_times, pool_size
from radassure.services._demo_tools import (
    Rows,
    Table,
    contour_rows,
    cxr_rows,
    fmt_numbers,
    wrist_rows,
)

__all__ = ["DemoTables", "generate"]

STUDY_COLUMNS = (
    "patient_id",
    "study_id",
    "site",
    "acquired_at",
    "modality",
    "manufacturer",
    "model",
    "software_version",
    "body_part",
    "sex",
    "age",
    "ethnic_group",
    "deprivation_decile",
    "acq_kvp",
    "acq_exposure_mas",
    "acq_pixel_spacing_mm",
    "acq_slice_thickness_mm",
    "acq_ctdivol_mgy",
)
RESULT_COLUMNS = (
    "tool",
    "version",
    "study_id",
    "finding",
    "score",
    "call",
    "localisations",
    "received_at",
)
REFERENCE_COLUMNS = ("study_id", "finding", "label", "source", "localisations", "recorded_at")


@dataclass(frozen=True)
class DemoTables:
    """The three CSV files of the demo, as columns of text."""

    studies: Table
    results: Table
    references: Table


def _acquisition(rng: np.random.Generator, c: Cohort, kind: str) -> dict[str, NDArray[np.str_]]:
    n = len(c)
    nan = np.full(n, np.nan)
    spacing = np.array([SCANNERS[i].pixel_spacing_mm or np.nan for i in c.scanner])
    if kind == "rt":
        kvp = np.where(rng.random(n) < 0.9, 120.0, 100.0)
        mas = np.round(rng.normal(260, 40, n))
        ct_kestrel = np.array([SCANNERS[i].key == "sbc-ct2" for i in c.scanner])
        thickness = np.where(ct_kestrel, 2.5, 2.0)
        ctdi = np.round(rng.lognormal(math.log(42.0), 0.15, n), 1)
        spacing = nan
    else:
        centre, mas_median = (118.0, 2.2) if kind == "cxr" else (55.0, 2.0)
        kvp = np.clip(np.round(rng.normal(centre, 3.5, n)), centre - 15, centre + 15)
        mas = np.round(rng.lognormal(math.log(mas_median), 0.33, n), 2)
        thickness, ctdi = nan, nan
    return {
        "acq_kvp": fmt_numbers(kvp, "%g"),
        "acq_exposure_mas": fmt_numbers(mas, "%g"),
        "acq_pixel_spacing_mm": fmt_numbers(spacing, "%g"),
        "acq_slice_thickness_mm": fmt_numbers(thickness, "%g"),
        "acq_ctdivol_mgy": fmt_numbers(ctdi, "%g"),
    }


def _study_columns(
    rng: np.random.Generator,
    c: Cohort,
    kind: str,
    acc: NDArray[np.str_],
    patient_ids: NDArray[np.str_],
) -> dict[str, NDArray[np.str_]]:
    n = len(c)
    sex = c.sex.astype(object)
    sex[(sex == "U") & (rng.random(n) < 0.4)] = ""  # feeds send both 'U' and blanks
    return {
        "patient_id": patient_ids[c.patient],
        "study_id": acc,
        "site": c.site,
        "acquired_at": np.array(fmt_times(c.times)),
        "modality": np.array([SCANNERS[i].modality for i in c.scanner]),
        "manufacturer": np.array([SCANNERS[i].manufacturer for i in c.scanner]),
        "model": np.array([SCANNERS[i].model for i in c.scanner]),
        "software_version": c.software,
        "body_part": np.full(n, {"cxr": "CHEST", "wrist": "WRIST", "rt": "HEADNECK"}[kind]),
        "sex": sex,
        "age": np.where(c.age < 0, "", c.age.astype(str)),
        "ethnic_group": c.ethnic,
        "deprivation_decile": np.where(c.imd == 0, "", c.imd.astype(str)),
        **_acquisition(rng, c, kind),
    }


def generate(seed: int, n_studies: int) -> DemoTables:
    """Generate the demo department's studies, results and references.

    Parameters
    ----------
    seed : int
        Seed of every random draw; the same seed always gives the same tables.
    n_studies : int
        Total studies: about 71% chest X-rays, 28% wrist X-rays and 1.2%
        head and neck radiotherapy planning CTs.

    Returns
    -------
    DemoTables

    """
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(8)]
    n_rt = max(12, round(n_studies * 0.012))
    n_wrist = round(n_studies * 0.28)
    counts = {"cxr": n_studies - n_rt - n_wrist, "wrist": n_wrist, "rt": n_rt}
    offsets = np.cumsum([0] + [pool_size(kind, n) for kind, n in counts.items()])
    cohorts = {
        kind: cohort(streams[i], n, kind, first_patient=int(offsets[i]))
        for i, (kind, n) in enumerate(counts.items())
    }
    # Accession numbers follow acquisition time across the whole department.
    times = np.concatenate([c.times for c in cohorts.values()])
    order = np.argsort(times, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.shape[0])
    numbers = streams[3].choice(9_000_000, size=int(offsets[-1]), replace=False) + 1_000_000
    patient_ids = np.array([f"DEMO-P{int(x):07d}" for x in numbers], dtype=object)
    studies: dict[str, list[NDArray[np.str_]]] = {c: [] for c in STUDY_COLUMNS}
    results, refs = Rows(RESULT_COLUMNS), Rows(REFERENCE_COLUMNS)
    builders = {"cxr": cxr_rows, "wrist": wrist_rows, "rt": contour_rows}
    start = 0
    for i, (kind, c) in enumerate(cohorts.items()):
        r = rank[start : start + len(c)].astype(np.int64)
        start += len(c)
        acc = np.array([f"DEMO-A{100_001 + int(x):09d}" for x in r], dtype=object)
        for name, col in _study_columns(streams[4 + i], c, kind, acc, patient_ids).items():
            studies[name].append(np.asarray(col, dtype=object))
        builders[kind](streams[4 + i], c, r, acc, results=results, refs=refs)
    study_table = {k: [str(v) for v in np.concatenate(p)[order]] for k, p in studies.items()}
    return DemoTables(study_table, results.table(), refs.table())
