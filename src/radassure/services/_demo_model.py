"""The demo department's fixed facts: sites, scanners, findings and planted truths.

Everything the generator draws from and everything ``docs/demo.md`` promises is
declared here once, so the documentation, the generator and the tests cannot
disagree. Names of sites, manufacturers and products are fictional.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from statistics import NormalDist

__all__ = [
    "CXR_FINDINGS",
    "CXR_THRESHOLD",
    "CXR_TOOL",
    "CXR_VERSION",
    "LATENT_SD",
    "PLANTED_TRUTHS",
    "RT_STRUCTURES",
    "RT_TOOL",
    "RT_VERSION",
    "SCANNERS",
    "SITES",
    "WRIST_THRESHOLD",
    "WRIST_TOOL",
    "WRIST_VERSION",
    "YEAR_START",
    "FindingModel",
    "PlantedTruths",
    "Scanner",
    "StructureModel",
]

_PHI_INV = NormalDist().inv_cdf

#: First instant of the demo year; every generated time is fixed relative to it.
YEAR_START = dt.datetime(2025, 1, 1)

#: Site code to site name.
SITES: dict[str, str] = {
    "NWG": "Northwold General Hospital",
    "SBC": "Saltmarsh Bay Hospital and Cancer Centre",
}

CXR_TOOL, CXR_VERSION = "ThoraxGuard", "3.2.0"
WRIST_TOOL, WRIST_VERSION = "OsteoSpot", "2.4.1"
RT_TOOL, RT_VERSION = "ContourPilot", "5.0.2"
# Deliberately not 0.5, so that an analysis which assumes 0.5 instead of reading
# the version's operating threshold gives visibly wrong answers.
CXR_THRESHOLD = 0.35
WRIST_THRESHOLD = 0.45

#: Standard deviation of the positives' latent score (negatives: standard normal).
LATENT_SD = 1.1


@dataclass(frozen=True)
class Scanner:
    """One imaging device: where it is, who made it and what it runs."""

    key: str
    site: str
    manufacturer: str
    model: str
    modality: str
    software_version: str
    pixel_spacing_mm: float | None = None


SCANNERS: tuple[Scanner, ...] = (
    Scanner("nwg-dr", "NWG", "Kestrel Medical Systems", "Vela DR 600", "DX", "VA20", 0.148),
    Scanner("nwg-cr", "NWG", "Aster Healthcare", "FCR Prima T2", "CR", "A08-21", 0.100),
    Scanner("sbc-dr", "SBC", "Northgate Imaging", "Luma DRX-3", "DX", "2.8.3", 0.139),
    Scanner("sbc-dr2", "SBC", "Kestrel Medical Systems", "Vela DR 600", "DX", "VA20", 0.148),
    Scanner("sbc-ct", "SBC", "Northgate Imaging", "Orion RT 85", "CT", "R5.1.2"),
    Scanner("sbc-ct2", "SBC", "Kestrel Medical Systems", "Sentra CT Open", "CT", "VC30"),
)


@dataclass(frozen=True)
class FindingModel:
    """Binormal model of one classifier finding.

    Negatives' latent scores are standard normal; positives' are normal with
    mean :attr:`mu` and standard deviation :data:`LATENT_SD`, chosen so that
    the ROC AUC is ``auc`` and the sensitivity at the operating threshold is
    ``sensitivity`` (the threshold sits at latent :attr:`cutoff`).
    """

    name: str
    prevalence: float
    sensitivity: float
    auc: float

    @property
    def mu(self) -> float:
        """Latent mean of positives giving the target AUC."""
        return _PHI_INV(self.auc) * math.sqrt(1.0 + LATENT_SD**2)

    @property
    def cutoff(self) -> float:
        """Latent value mapped onto the operating threshold."""
        return self.mu - LATENT_SD * _PHI_INV(self.sensitivity)

    @property
    def specificity(self) -> float:
        """Expected specificity at the operating threshold."""
        return NormalDist().cdf(self.cutoff)

    def shift_for(self, sensitivity: float) -> float:
        """Latent shift of positives that moves the sensitivity to ``sensitivity``."""
        return LATENT_SD * (_PHI_INV(self.sensitivity) - _PHI_INV(sensitivity))


CXR_FINDINGS: tuple[FindingModel, ...] = (
    FindingModel("pneumothorax", 0.04, 0.90, 0.935),
    FindingModel("pleural_effusion", 0.11, 0.92, 0.95),
    FindingModel("nodule", 0.05, 0.82, 0.89),
    FindingModel("consolidation", 0.13, 0.86, 0.91),
)


@dataclass(frozen=True)
class StructureModel:
    """Per-structure geometry of the auto-contouring tool's agreement with clinicians."""

    name: str
    dice_mean: float
    dice_sd: float
    hd95_mm: float
    apl_mm: float
    volume_ml: float
    volume_sd_ml: float


RT_STRUCTURES: tuple[StructureModel, ...] = (
    StructureModel("parotid_l", 0.82, 0.05, 5.5, 950.0, 26.0, 7.0),
    StructureModel("parotid_r", 0.82, 0.05, 5.5, 950.0, 26.0, 7.0),
    StructureModel("spinal_cord", 0.86, 0.04, 3.0, 420.0, 16.0, 3.0),
    StructureModel("brainstem", 0.85, 0.05, 4.0, 380.0, 27.0, 4.0),
    StructureModel("mandible", 0.92, 0.02, 2.5, 700.0, 68.0, 12.0),
)


@dataclass(frozen=True)
class PlantedTruths:
    """The effects deliberately built into the demo data, for analyses to find.

    Attributes
    ----------
    upgrade_site, upgrade_manufacturer, upgrade_model : str
        The one scanner whose software is upgraded.
    upgrade_from, upgrade_to : str
        Software version before and after.
    upgrade_at : datetime
        First acquisition time (UTC) on the new software.
    upgrade_finding : str
        The only finding affected by the upgrade.
    upgrade_sensitivity_before, upgrade_sensitivity_after : float
        Expected sensitivity at the operating threshold for that finding on
        that scanner, for patients under :attr:`equity_min_age`.
    equity_min_age : int
        Patients this old or older (age at the study) form the disadvantaged group.
    equity_sensitivity_drop : float
        How much lower their expected sensitivity is, for every finding.

    """

    tool: str = CXR_TOOL
    upgrade_site: str = "NWG"
    upgrade_manufacturer: str = "Kestrel Medical Systems"
    upgrade_model: str = "Vela DR 600"
    upgrade_from: str = "VA20"
    upgrade_to: str = "VB10"
    upgrade_at: dt.datetime = dt.datetime(2025, 8, 1)
    upgrade_finding: str = "pneumothorax"
    upgrade_sensitivity_before: float = 0.90
    upgrade_sensitivity_after: float = 0.70
    equity_min_age: int = 80
    equity_sensitivity_drop: float = 0.10

    def descriptions(self) -> tuple[str, ...]:
        """Return one line per planted truth, for reports and the CLI."""
        return (
            f"{self.tool} {self.upgrade_finding} sensitivity falls from about "
            f"{self.upgrade_sensitivity_before:.2f} to about {self.upgrade_sensitivity_after:.2f} "
            f"on site {self.upgrade_site}'s {self.upgrade_manufacturer} {self.upgrade_model} "
            f"from {self.upgrade_at:%Y-%m-%d}, when its software goes from {self.upgrade_from} "
            f"to {self.upgrade_to} (specificity unchanged).",
            f"{self.tool} sensitivity is about {self.equity_sensitivity_drop:.2f} lower for "
            f"patients aged {self.equity_min_age} and over, for every finding, all year; "
            "no other patient group differs.",
            "Local performance is below the manufacturers' claims: ThoraxGuard specificity "
            "about 0.80 (claimed 0.86 to 0.89), OsteoSpot specificity about 0.87 (claimed "
            "0.90), ContourPilot mean Dice about 0.02 below the claim for every structure.",
        )


PLANTED_TRUTHS = PlantedTruths()
