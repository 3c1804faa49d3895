"""Per-tool AI results and reference standards of the demo department (numpy only).

Each builder turns one cohort of studies into result and reference rows: a
binormal classifier with the planted truths, a fracture detector with marks and
true fracture sites, and an auto-contouring tool with per-structure geometry.
"""

from __future__ import annotations

import json
import math

import numpy as np
from numpy.typing import NDArray

from radassure.services._demo_model import (
    CXR_FINDINGS,
    CXR_THRESHOLD,
    CXR_TOOL,
    CXR_VERSION,
    LATENT_SD,
    PLANTED_TRUTHS,
    RT_STRUCTURES,
    RT_TOOL,
    RT_VERSION,
    WRIST_THRESHOLD,
    WRIST_TOOL,
    WRIST_VERSION,
)
from radassure.services._demo_people import Cohort, fmt_times

__all__ = [
    "WRIST_PREVALENCE",
    "WRIST_REFERENCED",
    "Rows",
    "Table",
    "contour_rows",
    "cxr_rows",
    "fmt_numbers",
    "wrist_rows",
]

#: Column name to CSV text, one entry per row.
Table = dict[str, list[str]]

WRIST_PREVALENCE = 0.32
#: Share of wrist studies with a reference standard (missing at random).
WRIST_REFERENCED = 0.88
# Lesion-level model of the fracture detector: a true fracture's latent score is
# N(_LESION_MU, 1), a false candidate's N(0, 1); _LESION_CUT maps onto the threshold.
_LESION_CUT = 1.6
_LESION_MU = _LESION_CUT + 1.036  # lesion sensitivity about 0.85
_FP_PER_IMAGE = 2.5  # false candidates per image before the reporting floor
_REPORT_FLOOR = 0.05  # the detector does not report marks scoring below this
_REGIONS = (  # name, x, y (pixels), share of fractures
    ("distal_radius", 900, 1750, 0.62),
    ("ulnar_styloid", 1330, 1800, 0.18),
    ("scaphoid", 1050, 1450, 0.12),
    ("distal_ulna", 1280, 1650, 0.08),
)
_SCORE_SLOPE = 1.7
_HOUR = 3_600
_DAY = 86_400


class Rows:
    """Result or reference rows of one table, collected with their sort keys."""

    def __init__(self, columns: tuple[str, ...]) -> None:
        self.columns = columns
        self.parts: dict[str, list[NDArray[np.str_]]] = {c: [] for c in columns}
        self.rank: list[NDArray[np.int64]] = []
        self.sub: list[NDArray[np.int64]] = []

    def add(self, rank: NDArray[np.int64], sub: int, **cols: NDArray[np.str_] | str) -> None:
        n = rank.shape[0]
        self.rank.append(rank)
        self.sub.append(np.full(n, sub, dtype=np.int64))
        for c in self.columns:
            value = cols.get(c, "")
            self.parts[c].append(
                np.full(n, value, dtype=object)
                if isinstance(value, str)
                else np.asarray(value, dtype=object)
            )

    def table(self) -> Table:
        # Files list rows in study order, then finding order, like a real export.
        order = np.lexsort((np.concatenate(self.sub), np.concatenate(self.rank)))
        return {c: [str(v) for v in np.concatenate(p)[order]] for c, p in self.parts.items()}


def fmt_numbers(values: NDArray[np.float64], fmt: str) -> NDArray[np.str_]:
    text = np.char.mod(fmt, np.nan_to_num(values))
    return np.where(np.isnan(values), "", text)


def _to_score(z: NDArray[np.float64], cutoff: float, threshold: float) -> NDArray[np.float64]:
    """Map latent values onto [0, 1] so that latent ``cutoff`` lands on ``threshold``."""
    logit = _SCORE_SLOPE * (z - cutoff) + math.log(threshold / (1.0 - threshold))
    return np.clip(np.round(1.0 / (1.0 + np.exp(-logit)), 4), 0.0001, 0.9999)


def later(times: NDArray[np.datetime64], seconds: NDArray[np.float64]) -> list[str]:
    return fmt_times(times + seconds.astype(np.int64).astype("timedelta64[s]"))


def _sources(rng: np.random.Generator, n: int, shares: dict[str, float]) -> NDArray[np.str_]:
    names = np.array(list(shares))
    p = np.array(list(shares.values()))
    return rng.choice(names, size=n, p=p / p.sum())


def _delays(
    rng: np.random.Generator,
    source: NDArray[np.str_],
    report_hours: float,
    follow_days: tuple[float, float],
) -> NDArray[np.float64]:
    """Seconds from acquisition to the reference: reports in hours, reviews in weeks."""
    n = source.shape[0]
    report = np.maximum(rng.lognormal(math.log(report_hours * _HOUR), 0.8, n), 0.5 * _HOUR)
    consensus = rng.uniform(7 * _DAY, 28 * _DAY, n)
    follow = rng.uniform(follow_days[0] * _DAY, follow_days[1] * _DAY, n)
    return np.where(source == "report", report, np.where(source == "consensus", consensus, follow))


def cxr_rows(
    rng: np.random.Generator,
    c: Cohort,
    rank: NDArray[np.int64],
    acc: NDArray[np.str_],
    *,
    results: Rows,
    refs: Rows,
) -> None:
    n, pt = len(c), PLANTED_TRUTHS
    elderly = c.age >= pt.equity_min_age
    upgraded = c.software == pt.upgrade_to
    received = later(c.times, rng.uniform(90, 900, n))
    source = _sources(rng, n, {"report": 0.86, "consensus": 0.09, "follow-up": 0.05})
    recorded = later(c.times, _delays(rng, source, 18.0, (30.0, 120.0)))
    for sub, f in enumerate(CXR_FINDINGS):
        label = rng.random(n) < f.prevalence
        noise = rng.standard_normal(n)
        # Planted truths act on positives only (latent shifts), so specificity,
        # prevalence and every other group stay as they are.
        shift = np.where(elderly, f.shift_for(f.sensitivity - pt.equity_sensitivity_drop), 0.0)
        if f.name == pt.upgrade_finding:
            after = f.shift_for(pt.upgrade_sensitivity_after)
            shift = shift + np.where(upgraded, after, 0.0)
        z = np.where(label, f.mu + LATENT_SD * noise - shift, noise)
        score = fmt_numbers(_to_score(z, f.cutoff, CXR_THRESHOLD), "%.4f")
        results.add(
            rank,
            sub,
            tool=CXR_TOOL,
            version=CXR_VERSION,
            study_id=acc,
            finding=f.name,
            score=score,
            received_at=np.array(received),
        )
        refs.add(
            rank,
            sub,
            study_id=acc,
            finding=f.name,
            label=np.where(label, "1", "0"),
            source=source,
            recorded_at=np.array(recorded),
        )


def wrist_rows(
    rng: np.random.Generator,
    c: Cohort,
    rank: NDArray[np.int64],
    acc: NDArray[np.str_],
    *,
    results: Rows,
    refs: Rows,
) -> None:
    n = len(c)
    label = rng.random(n) < WRIST_PREVALENCE
    u = rng.random(n)
    n_true = np.where(label, 1 + (u > 0.75) + (u > 0.97), 0)
    n_false = rng.poisson(_FP_PER_IMAGE, n)
    region_p = np.array([r[3] for r in _REGIONS])
    marks_json: list[str] = []
    truth_json: list[str] = []
    study_score = np.zeros(n)
    for i in range(n):
        regions = rng.choice(len(_REGIONS), size=int(n_true[i]), replace=False, p=region_p)
        centres = [
            (_REGIONS[r][1] + rng.normal(0, 40), _REGIONS[r][2] + rng.normal(0, 40))
            for r in regions
        ]
        truth = [
            {"x": int(x), "y": int(y), "region": _REGIONS[r][0]}
            for r, (x, y) in zip(regions, centres, strict=True)
        ]
        hits = _to_score(rng.normal(_LESION_MU, 1.0, len(truth)), _LESION_CUT, WRIST_THRESHOLD)
        fps = _to_score(rng.standard_normal(int(n_false[i])), _LESION_CUT, WRIST_THRESHOLD)
        # The detector's mark lands near the fracture; false marks anywhere on the bones.
        marks = [
            {"x": int(x + rng.normal(0, 12)), "y": int(y + rng.normal(0, 12)), "score": float(s)}
            for (x, y), s in zip(centres, hits, strict=True)
        ] + [
            {"x": int(rng.uniform(500, 1600)), "y": int(rng.uniform(1000, 2300)), "score": float(s)}
            for s in fps
        ]
        marks = sorted(
            (m for m in marks if m["score"] >= _REPORT_FLOOR), key=lambda m: -float(m["score"])
        )
        study_score[i] = float(marks[0]["score"]) if marks else 0.0
        marks_json.append(json.dumps(marks, separators=(",", ":")))
        truth_json.append(json.dumps(truth, separators=(",", ":")))
    received = later(c.times, rng.uniform(90, 900, n))
    results.add(
        rank,
        0,
        tool=WRIST_TOOL,
        version=WRIST_VERSION,
        study_id=acc,
        finding="fracture",
        score=fmt_numbers(study_score, "%.4f"),
        localisations=np.array(marks_json, dtype=object),
        received_at=np.array(received),
    )
    keep = rng.random(n) < WRIST_REFERENCED
    source = _sources(rng, n, {"report": 0.80, "follow-up": 0.15, "consensus": 0.05})
    recorded = np.array(later(c.times, _delays(rng, source, 10.0, (7.0, 21.0))))
    refs.add(
        rank[keep],
        0,
        study_id=acc[keep],
        finding="fracture",
        label=np.where(label, "1", "0")[keep],
        source=source[keep],
        localisations=np.array(truth_json, dtype=object)[keep],
        recorded_at=recorded[keep],
    )


def contour_rows(
    rng: np.random.Generator,
    c: Cohort,
    rank: NDArray[np.int64],
    acc: NDArray[np.str_],
    *,
    results: Rows,
    refs: Rows,
) -> None:
    n = len(c)
    received = np.array(later(c.times, rng.uniform(1_200, 3_600, n)))
    recorded = np.array(later(c.times, rng.uniform(1 * _DAY, 6 * _DAY, n)))
    for sub, s in enumerate(RT_STRUCTURES):
        spread = s.dice_mean * (1 - s.dice_mean) / s.dice_sd**2 - 1.0
        dice = np.clip(rng.beta(s.dice_mean * spread, (1 - s.dice_mean) * spread, n), 0.3, 0.99)
        worse = (1.0 - dice) / (1.0 - s.dice_mean)
        hd95 = s.hd95_mm * np.exp(rng.normal(0, 0.3, n)) * worse**0.8
        apl = s.apl_mm * np.exp(rng.normal(0, 0.3, n)) * worse
        ref_vol = np.maximum(rng.normal(s.volume_ml, s.volume_sd_ml, n), 0.3 * s.volume_ml)
        ai_vol = ref_vol * (1.0 + rng.normal(0, 0.06, n))
        summary = [
            json.dumps(
                {
                    "dice": round(float(d), 4),
                    "hd95_mm": round(float(h), 1),
                    "apl_mm": round(float(a)),
                    "volume_ml": round(float(v), 1),
                },
                separators=(",", ":"),
            )
            for d, h, a, v in zip(dice, hd95, apl, ai_vol, strict=True)
        ]
        truth = [json.dumps({"volume_ml": round(float(v), 1)}) for v in ref_vol]
        results.add(
            rank,
            sub,
            tool=RT_TOOL,
            version=RT_VERSION,
            study_id=acc,
            finding=s.name,
            score=fmt_numbers(np.round(dice, 4), "%.4f"),
            localisations=np.array(summary, dtype=object),
            received_at=received,
        )
        refs.add(
            rank,
            sub,
            study_id=acc,
            finding=s.name,
            label="1",
            source="consensus",
            localisations=np.array(truth, dtype=object),
            recorded_at=recorded,
        )
