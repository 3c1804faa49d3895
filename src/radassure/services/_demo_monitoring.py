"""The demo's monitoring rule: ThoraxGuard pneumothorax, by site and by scanner.

The baseline is January to June 2025, a month clear of the scanner software
upgrade at NWG on 2025-08-01 (planted truth 1 in ``docs/demo.md``), and
charting starts on 2025-07-01, so a month of in-control days precedes the
change. The subgroups are site and scanner (site, manufacturer and model:
the upgraded unit is "NWG Kestrel Medical Systems Vela DR 600"); by
manufacturer alone SBC's identical, unchanged Vela dilutes the drop.

The false-alarm budget is one a year at the demo's volume: ThoraxGuard reads
about 100 chest X-rays a day, so ``arl0_cases`` is 36,500 (stated, so the demo
does not move with its own baseline; the rule's default is a year at the
baseline's volume). Measured on the default build (seed
20250101): no label-based alarm before the upgrade; the first alarm names the
NWG Kestrel scanner on 2025-09-02 with the change estimated at 2025-08-01. The
issue's target of two weeks is not met: with about 1.5 pneumothorax positives
a day on that scanner, 14 days hold some 20 positives, too few to separate
sensitivity 0.87 from 0.65 at one false alarm a year (see the report).
"""

from __future__ import annotations

import datetime as dt

from radassure.services._access import system_actor
from radassure.services._monitor_rules import add_rule
from radassure.services._monitor_types import RuleInfo
from radassure.services.store import Store

__all__ = ["DEMO_ARL0_CASES", "DEMO_BASELINE", "add_demo_rule"]

#: One false alarm a year at the demo's ~100 ThoraxGuard studies a day.
DEMO_ARL0_CASES = 36_500.0

#: First and last baseline day of the demo rule.
DEMO_BASELINE = (dt.date(2025, 1, 1), dt.date(2025, 6, 30))


def add_demo_rule(store: Store) -> RuleInfo:
    """Add the demo's monitoring rule (ThoraxGuard 3.2.0, pneumothorax).

    Examples
    --------
    >>> # built by radassure.services.demo.build_demo; see test_monitoring_demo.py

    """
    return add_rule(
        store,
        system_actor("demo"),
        "ThoraxGuard",
        "3.2.0",
        "pneumothorax",
        baseline_start=DEMO_BASELINE[0],
        baseline_end=DEMO_BASELINE[1],
        attributes=("site", "scanner"),
        arl0_cases=DEMO_ARL0_CASES,
    )
