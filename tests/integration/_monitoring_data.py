"""A small synthetic department for the monitoring tests, with one planted drop.

Two sites (A and B) send ``PER_DAY`` chest X-rays a day to ChestScan 2.0
(threshold 0.5) for ``DAYS`` days from ``START``; prevalence 0.3; the tool's
sensitivity is 0.9 and specificity 0.9 everywhere, except at site B from
``CHANGE`` on, where sensitivity falls to 0.5. Baseline: the first 40 days.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from radassure.services import Store, add_site, add_tool, add_version, ingest_records
from radassure.services.auth import system_actor

START = dt.date(2025, 3, 1)
DAYS = 90
PER_DAY = 40  # per site
BASELINE = (START, START + dt.timedelta(days=39))
CHANGE = START + dt.timedelta(days=65)
TOOL, VERSION, FINDING = "ChestScan", "2.0", "pneumothorax"
ACTOR = system_actor("test")


def seed(store: Store, *, seed: int = 7, days: int = DAYS) -> int:
    """Register and ingest the department; return the number of studies."""
    rng = np.random.default_rng(seed)
    add_site(store, "A", "Site A", actor=ACTOR)
    add_site(store, "B", "Site B", actor=ACTOR)
    add_tool(store, name=TOOL, manufacturer="Acme", task="classification", actor=ACTOR)
    add_version(store, TOOL, VERSION, operating_threshold=0.5, actor=ACTOR)
    studies, results, refs = [], [], []
    k = 0
    for d in range(days):
        day = START + dt.timedelta(days=d)
        for site, manu in (("A", "Kestrel"), ("B", "Aster")):
            for _ in range(PER_DAY):
                k += 1
                at = dt.datetime.combine(day, dt.time(8)) + dt.timedelta(
                    minutes=int(rng.integers(600))
                )
                label = bool(rng.random() < 0.3)
                sens = 0.5 if (site == "B" and day >= CHANGE) else 0.9
                call = rng.random() < (sens if label else 0.1)
                score = float(np.round(rng.uniform(0.5, 1.0) if call else rng.uniform(0, 0.5), 4))
                studies.append(
                    {
                        "patient_id": f"P{k}",
                        "study_id": f"S{k}",
                        "site": site,
                        "acquired_at": at.isoformat(),
                        "modality": "DX",
                        "manufacturer": manu,
                        "model": "M1",
                        "sex": "FM"[k % 2],
                        "age": 30 + k % 60,
                    }
                )
                results.append(
                    {
                        "tool": TOOL,
                        "version": VERSION,
                        "study_id": f"S{k}",
                        "finding": FINDING,
                        "score": score,
                    }
                )
                refs.append(
                    {
                        "study_id": f"S{k}",
                        "finding": FINDING,
                        "label": int(label),
                        "source": "report",
                    }
                )
    ingest_records(store, "studies", studies, actor=ACTOR)
    ingest_records(store, "results", results, actor=ACTOR)
    ingest_records(store, "references", refs, actor=ACTOR)
    return k
