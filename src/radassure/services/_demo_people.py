"""Patients, times, sites and scanners of the demo department (numpy only).

Demographics are drawn from one distribution at both sites and independently of
scanner and month, so that no patient group differs from another except where a
truth is planted on purpose (see :mod:`radassure.services._demo_model`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from radassure.services._demo_model import PLANTED_TRUTHS, SCANNERS, YEAR_START

__all__ = ["T0", "Cohort", "cohort", "fmt_times", "pool_size"]

T0 = np.datetime64(YEAR_START.isoformat(timespec="seconds"), "s")
_DAYS = 365
# 2025-01-01 is a Wednesday (Monday = 0).
_FIRST_WEEKDAY = 2
# Bank holidays in England and Wales, 2025, as day-of-year (0-based).
_BANK_HOLIDAYS = (0, 107, 110, 124, 145, 236, 358, 359)

_ETHNIC_CODES = (
    "A",
    "B",
    "C",
    "D",
    "E",
    "F",
    "G",
    "H",
    "J",
    "K",
    "L",
    "M",
    "N",
    "P",
    "R",
    "S",
    "Z",
    "99",
    "",
)
# Shares like an English district general hospital's: 'Z' (not stated) and
# blanks are common in real feeds, so analyses must cope with them.
_ETHNIC_P = np.array(
    [
        0.639,
        0.010,
        0.050,
        0.006,
        0.004,
        0.005,
        0.006,
        0.030,
        0.020,
        0.008,
        0.012,
        0.010,
        0.020,
        0.004,
        0.006,
        0.010,
        0.090,
        0.020,
        0.050,
    ]
)
# IMD deciles 1 (most deprived) .. 10, slightly skewed to deprived areas; 0 = missing.
_IMD_P = np.array([0.04, 0.125, 0.115, 0.105, 0.10, 0.096, 0.092, 0.088, 0.084, 0.08, 0.075])


@dataclass(frozen=True)
class Cohort:
    """Studies of one kind, with their patients' attributes (one entry per study)."""

    times: NDArray[np.datetime64]
    patient: NDArray[np.int64]
    site: NDArray[np.str_]
    scanner: NDArray[np.int64]
    software: NDArray[np.str_]
    sex: NDArray[np.str_]
    age: NDArray[np.int64]
    ethnic: NDArray[np.str_]
    imd: NDArray[np.int64]

    def __len__(self) -> int:
        return int(self.times.shape[0])


def fmt_times(times: NDArray[np.datetime64]) -> list[str]:
    """ISO 8601 (seconds, UTC, no offset) for each time."""
    return [str(t) for t in np.datetime_as_string(times, unit="s")]


def _day_weights(kind: str) -> NDArray[np.float64]:
    day = np.arange(_DAYS)
    weekday = (day + _FIRST_WEEKDAY) % 7
    month = (np.datetime64("2025-01-01") + day).astype("datetime64[M]").astype(np.int64) % 12
    winter = np.isin(month, (0, 1, 11))
    w = np.ones(_DAYS)
    if kind == "cxr":
        w[weekday >= 5] = 0.6
        w[winter] *= 1.15  # respiratory season
    elif kind == "wrist":
        w[weekday >= 5] = 1.1
        w[winter] *= 1.3  # icy pavements
    else:  # radiotherapy planning CT: weekdays that are not bank holidays
        w[weekday >= 5] = 0.0
        w[list(_BANK_HOLIDAYS)] = 0.0
    w /= w.sum()
    return w


def _hour_weights(kind: str) -> NDArray[np.float64]:
    if kind == "rt":
        w = np.zeros(24)
        w[8:17] = 1.0
    else:
        w = np.full(24, 0.25)
        w[8:20] = 1.0
        if kind == "wrist":
            w[16:22] = 1.3  # after school and evening ED peaks
    w /= w.sum()
    return w


def _times(rng: np.random.Generator, n: int, kind: str) -> NDArray[np.datetime64]:
    day = rng.choice(_DAYS, size=n, p=_day_weights(kind))
    hour = rng.choice(24, size=n, p=_hour_weights(kind))
    sec = rng.integers(0, 3600, size=n)
    return T0 + (day * 86_400 + hour * 3_600 + sec).astype("timedelta64[s]")


def _ages(rng: np.random.Generator, n: int, kind: str) -> NDArray[np.float64]:
    if kind == "cxr":
        # Adults only (the tool's intended use); about 18% are aged 80 or over.
        age = rng.normal(66.0, 15.0, n)
        bad = (age < 18) | (age >= 102)
        age[bad] = rng.uniform(60.0, 95.0, int(bad.sum()))
        return age
    if kind == "wrist":
        # Children, working-age adults and older (mostly female) fallers.
        group = rng.choice(3, size=n, p=[0.30, 0.35, 0.35])
        age = np.where(group == 0, rng.uniform(5, 17, n), rng.uniform(17, 60, n))
        older = 60.0 + np.minimum(rng.gamma(2.0, 7.0, n), 39.0)
        return np.where(group == 2, older, age)
    age = rng.normal(63.0, 10.0, n)  # head and neck cancer
    return np.clip(age, 25.0, 92.0)


def _sexes(rng: np.random.Generator, age: NDArray[np.float64], kind: str) -> NDArray[np.str_]:
    n = age.shape[0]
    u = rng.random(n)
    if kind == "cxr":
        p_female = np.full(n, 0.505)
    elif kind == "wrist":
        p_female = np.where(age < 17, 0.40, np.where(age < 60, 0.45, 0.80))
    else:
        p_female = np.full(n, 0.28)
    sex = np.where(u < p_female, "F", "M")
    other = rng.random(n)
    sex[other < 0.008] = "U"  # not known / not stated
    sex[other < 0.001] = "O"
    return sex


def pool_size(kind: str, n: int) -> int:
    """Patients to draw ``n`` studies of ``kind`` from.

    Chest X-ray patients often come back (about 1.5 studies each over the year),
    wrist patients rarely (about 1.1) and each radiotherapy patient has one
    planning CT.
    """
    factor = {"cxr": 2.0, "wrist": 4.0}.get(kind, 1.0)
    return max(int(n * factor), 1)


def cohort(rng: np.random.Generator, n: int, kind: str, first_patient: int) -> Cohort:
    """Draw ``n`` studies of ``kind`` (cxr, wrist or rt) with their patients.

    Parameters
    ----------
    rng : numpy.random.Generator
        The only source of randomness.
    n : int
        Number of studies.
    kind : str
        ``cxr``, ``wrist`` or ``rt``.
    first_patient : int
        Patients of this cohort are numbered from here (pools never overlap).

    """
    size = pool_size(kind, n)
    age0 = _ages(rng, size, kind)
    sex = _sexes(rng, age0, kind)
    ethnic = rng.choice(np.array(_ETHNIC_CODES), size=size, p=_ETHNIC_P / _ETHNIC_P.sum())
    imd = rng.choice(11, size=size, p=_IMD_P / _IMD_P.sum())
    home = np.where(rng.random(size) < 0.6, "NWG", "SBC")
    if kind == "rt":
        patient = rng.permutation(size)[:n]
    else:
        shape = 1.0 if kind == "cxr" else 5.0
        w = rng.gamma(shape, size=size)
        patient = rng.choice(size, size=n, p=w / w.sum())
    times = _times(rng, n, kind)
    if kind == "rt":
        site = np.full(n, "SBC")
    else:
        away = rng.random(n) < 0.07
        site = np.where(away, np.where(home[patient] == "NWG", "SBC", "NWG"), home[patient])
    scanner = _scanners(rng, site, kind)
    software = np.array([SCANNERS[i].software_version for i in scanner], dtype=object)
    pt = PLANTED_TRUTHS
    upgraded = (
        (site == pt.upgrade_site)
        & np.array([_is_upgrade_scanner(i) for i in scanner], dtype=bool)
        & (times >= np.datetime64(pt.upgrade_at.isoformat(timespec="seconds"), "s"))
    )
    software[upgraded] = pt.upgrade_to
    years = (times - T0).astype(np.float64) / (365.25 * 86_400)
    age = np.floor(age0[patient] + years).astype(np.int64)
    age[rng.random(n) < 0.002] = -1  # unknown age
    return Cohort(
        times=times,
        patient=patient.astype(np.int64) + first_patient,
        site=site,
        scanner=scanner,
        software=software.astype(str),
        sex=sex[patient],
        age=age,
        ethnic=ethnic[patient],
        imd=imd[patient].astype(np.int64),
    )


def _is_upgrade_scanner(index: int) -> bool:
    s, pt = SCANNERS[index], PLANTED_TRUTHS
    return (s.site, s.manufacturer, s.model) == (
        pt.upgrade_site,
        pt.upgrade_manufacturer,
        pt.upgrade_model,
    )


def _scanners(rng: np.random.Generator, site: NDArray[np.str_], kind: str) -> NDArray[np.int64]:
    keys = [s.key for s in SCANNERS]
    u = rng.random(site.shape[0])
    if kind == "rt":
        pick = np.where(u < 0.7, keys.index("sbc-ct"), keys.index("sbc-ct2"))
    else:
        nwg = np.where(u < 0.6, keys.index("nwg-dr"), keys.index("nwg-cr"))
        sbc = np.where(u < 0.55, keys.index("sbc-dr"), keys.index("sbc-dr2"))
        pick = np.where(site == "NWG", nwg, sbc)
    return pick.astype(np.int64)
