"""Register the demo department's sites, tools, versions, claims and status histories.

Everything goes through :mod:`radassure.services.registry`, the same path the
CLI and API take, audited as they are; the demo passes its story's fixed dates
as ``at`` so that the department's story, and every byte of its tables, is the
same on every build.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from radassure.services._access import system_actor
from radassure.services._demo_model import (
    CXR_FINDINGS,
    CXR_THRESHOLD,
    CXR_TOOL,
    RT_STRUCTURES,
    RT_TOOL,
    SITES,
    WRIST_THRESHOLD,
    WRIST_TOOL,
)
from radassure.services.registry import ClaimInfo, add_claim, add_site, add_tool, add_version
from radassure.services.registry import set_status as _set_status
from radassure.services.store import Store

__all__ = ["TOOLS", "register"]

_SITES_CREATED = dt.datetime(2024, 1, 8, 9, 0)
_GOVERNANCE = "AI governance group"
#: Who registers the sites, versions and claims (the demo's builder).
_ACTOR = "radassure demo"


@dataclass(frozen=True)
class _Version:
    version: str
    deployment_date: dt.date
    threshold: float | None
    notes: str
    claims: tuple[ClaimInfo, ...]


@dataclass(frozen=True)
class _Tool:
    fields: dict[str, Any]
    versions: tuple[_Version, ...]
    #: (status, when, who, why); the first entry is the registration.
    history: tuple[tuple[str, dt.datetime, str, str], ...]


def _claims(
    document: str, figures: dict[tuple[str, str], tuple[float, float, float]]
) -> tuple[ClaimInfo, ...]:
    return tuple(
        ClaimInfo(
            metric=metric,
            value=v,
            finding=finding,
            ci_low=lo,
            ci_high=hi,
            level=0.95,
            source_document=document,
        )
        for (finding, metric), (v, lo, hi) in figures.items()
    )


_CXR_CLAIMS = {
    ("pneumothorax", "sensitivity"): (0.92, 0.89, 0.94),
    ("pneumothorax", "specificity"): (0.88, 0.86, 0.90),
    ("pneumothorax", "auc"): (0.95, 0.93, 0.97),
    ("pleural_effusion", "sensitivity"): (0.93, 0.91, 0.95),
    ("pleural_effusion", "specificity"): (0.89, 0.87, 0.91),
    ("pleural_effusion", "auc"): (0.96, 0.95, 0.97),
    ("nodule", "sensitivity"): (0.86, 0.82, 0.89),
    ("nodule", "specificity"): (0.87, 0.85, 0.89),
    ("nodule", "auc"): (0.91, 0.89, 0.93),
    ("consolidation", "sensitivity"): (0.89, 0.86, 0.91),
    ("consolidation", "specificity"): (0.86, 0.84, 0.88),
    ("consolidation", "auc"): (0.93, 0.91, 0.95),
}

TOOLS: tuple[_Tool, ...] = (
    _Tool(
        fields={
            "name": CXR_TOOL,
            "manufacturer": "Brightwater Imaging AI Ltd",
            "task": "classification",
            "product": "ThoraxGuard CXR Triage",
            "intended_use": (
                "Flags adult (18 years and over) frontal chest radiographs (CR or DX) with "
                "suspected "
                + ", ".join(f.name.replace("_", " ") for f in CXR_FINDINGS)
                + " for prioritised reporting. Decision support: it does not replace the "
                "radiologist's or reporting radiographer's report."
            ),
            "modality": "DX",
            "body_part": "CHEST",
            "clinical_pathway": "Urgent chest X-ray reporting: ED, acute medicine and inpatients",
            "regulatory_marking": "UKCA",
            "device_class": "IIa",
            "mhra_reference": "GB-MF-000041872",
            "udi_di": "05060990001017",
            "clinical_owner": "Dr Amara Okafor, Consultant Thoracic Radiologist",
        },
        versions=(
            _Version(
                "3.1.0",
                dt.date(2024, 3, 4),
                0.5,
                "Manufacturer's default operating point.",
                _claims(
                    "IFU v3.1 section 7",
                    {
                        ("pneumothorax", "sensitivity"): (0.90, 0.87, 0.93),
                        ("pneumothorax", "specificity"): (0.87, 0.85, 0.89),
                        ("pneumothorax", "auc"): (0.94, 0.92, 0.96),
                    },
                ),
            ),
            _Version(
                "3.2.0",
                dt.date(2024, 11, 18),
                CXR_THRESHOLD,
                "Threshold lowered from 0.50 at local commissioning to favour sensitivity "
                "(AI governance group, 2024-11-12).",
                _claims("IFU v3.2 section 7", _CXR_CLAIMS),
            ),
        ),
        history=(
            ("proposed", dt.datetime(2024, 1, 15, 10, 0), "Dr Amara Okafor", "registered"),
            (
                "evaluating",
                dt.datetime(2024, 2, 5, 9, 30),
                _GOVERNANCE,
                "Retrospective local validation on 2,000 chest X-rays from 2023 approved.",
            ),
            (
                "approved",
                dt.datetime(2024, 2, 28, 14, 0),
                _GOVERNANCE,
                "Local validation met the acceptance criteria; DPIA and DTAC signed off.",
            ),
            (
                "live",
                dt.datetime(2024, 3, 4, 8, 0),
                "Dr Amara Okafor",
                "Go-live at NWG and SBC after four weeks in shadow mode.",
            ),
        ),
    ),
    _Tool(
        fields={
            "name": WRIST_TOOL,
            "manufacturer": "Fennick Medical Vision GmbH",
            "task": "detection",
            "product": "OsteoSpot Fracture",
            "intended_use": (
                "Marks suspected fractures on wrist radiographs of patients aged 5 years and "
                "over, for clinicians in the emergency department and reporting radiographers. "
                "Decision support: every image is still read by a clinician."
            ),
            "modality": "DX",
            "body_part": "WRIST",
            "clinical_pathway": "ED wrist trauma: fracture clinic referral and reporting",
            "regulatory_marking": "CE",
            "device_class": "IIa",
            "mhra_reference": "GB-MF-000052310",
            "udi_di": "04260990001043",
            "clinical_owner": "Jo Whitfield, Consultant Radiographer (MSK reporting)",
        },
        versions=(
            _Version(
                "2.4.1",
                dt.date(2024, 9, 2),
                WRIST_THRESHOLD,
                "Study score is the highest mark score; marks below 0.05 are not sent.",
                _claims(
                    "IFU rev. F, clinical performance table 4",
                    {
                        ("fracture", "sensitivity"): (0.92, 0.90, 0.94),
                        ("fracture", "specificity"): (0.90, 0.88, 0.92),
                        ("fracture", "auc"): (0.96, 0.95, 0.97),
                    },
                ),
            ),
        ),
        history=(
            ("proposed", dt.datetime(2024, 5, 13, 11, 0), "Jo Whitfield", "registered"),
            (
                "evaluating",
                dt.datetime(2024, 6, 3, 9, 0),
                _GOVERNANCE,
                "Local validation on 800 ED wrist studies with fracture-clinic follow-up.",
            ),
            (
                "approved",
                dt.datetime(2024, 8, 19, 15, 0),
                _GOVERNANCE,
                "Validation accepted; radiographer training completed.",
            ),
            ("live", dt.datetime(2024, 9, 2, 8, 0), "Jo Whitfield", "Go-live in ED at both sites."),
        ),
    ),
    _Tool(
        fields={
            "name": RT_TOOL,
            "manufacturer": "Saxby RT Software Ltd",
            "task": "segmentation",
            "product": "ContourPilot Head and Neck",
            "intended_use": (
                "Proposes organ-at-risk contours (RTSTRUCT) on head and neck radiotherapy "
                "planning CT for adults; every contour is reviewed and edited by a clinician "
                "before planning."
            ),
            "modality": "CT",
            "body_part": "HEADNECK",
            "clinical_pathway": "Head and neck radiotherapy planning (organ-at-risk contouring)",
            "regulatory_marking": "UKCA",
            "device_class": "IIb",
            "mhra_reference": "GB-MF-000063958",
            "udi_di": "05060990002182",
            "clinical_owner": "Dr Henry Marsh, Consultant Clinical Oncologist (Head and Neck)",
        },
        versions=(
            _Version(
                "5.0.2",
                dt.date(2024, 10, 7),
                None,
                "Score is the Dice coefficient against the clinician-approved contour.",
                _claims(
                    "Clinical evaluation report CER-CP-05, table 3",
                    {
                        **{
                            (s.name, "dice"): (
                                round(s.dice_mean + 0.02, 2),
                                round(s.dice_mean + 0.01, 2),
                                round(s.dice_mean + 0.03, 2),
                            )
                            for s in RT_STRUCTURES
                        },
                    },
                ),
            ),
        ),
        history=(
            ("proposed", dt.datetime(2024, 7, 1, 10, 0), "Dr Henry Marsh", "registered"),
            (
                "evaluating",
                dt.datetime(2024, 7, 22, 9, 0),
                _GOVERNANCE,
                "Evaluation on 40 retrospective head and neck plans against clinical contours.",
            ),
            (
                "approved",
                dt.datetime(2024, 9, 30, 16, 0),
                _GOVERNANCE,
                "Time saving and geometric agreement accepted by the RT physics committee.",
            ),
            (
                "live",
                dt.datetime(2024, 10, 7, 8, 0),
                "Dr Henry Marsh",
                "In clinical use for all head and neck plans at SBC.",
            ),
        ),
    ),
)


def register(store: Store) -> None:
    """Register the demo's sites and tools with versions, claims and status histories.

    Each change is made by a system actor named after the person in the story,
    at the story's own fixed time (``at``), so the history, the audit trail's
    registry events and every byte of the registry tables are the same on
    every build.
    """
    setup = system_actor(_ACTOR)
    for code, name in SITES.items():
        add_site(store, code, name, actor=setup, at=_SITES_CREATED)
    for tool in TOOLS:
        name = tool.fields["name"]
        first_status, registered, first_actor, _ = tool.history[0]
        add_tool(store, **tool.fields, status=first_status, actor=system_actor(first_actor),
                 at=registered)  # fmt: skip
        for v in tool.versions:
            created = dt.datetime.combine(v.deployment_date, dt.time(9)) - dt.timedelta(days=14)
            add_version(
                store,
                name,
                v.version,
                actor=setup,
                deployment_date=v.deployment_date,
                operating_threshold=v.threshold,
                notes=v.notes,
                at=created,
            )
            for claim in v.claims:
                add_claim(store, name, v.version, claim, actor=setup, at=created)
        for status, when, actor, reason in tool.history[1:]:
            _set_status(store, name, status, actor=system_actor(actor), reason=reason, at=when)
