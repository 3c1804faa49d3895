"""Chart design: run lengths, thresholds, false alarms (re-exported by ``monitoring``)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import optimize

from radassure.core import _arl
from radassure.core._checks import check_positive_int, resolve_rng, z_value
from radassure.core.results import Estimate

__all__ = [
    "ChartDesign",
    "bernoulli_cusum_arl",
    "bernoulli_cusum_run_length_cdf",
    "bernoulli_cusum_threshold",
    "check_rates",
    "check_threshold",
    "cusum_arl",
    "cusum_threshold",
    "ewma_arl",
    "ewma_limit_for_arl",
    "false_alarm_probability",
    "simulate_bernoulli_cusum_arl",
]


@dataclass(frozen=True)
class ChartDesign:
    """A chart threshold chosen for a target in-control average run length.

    Attributes
    ----------
    threshold : float
        ``h`` for a CUSUM, ``L`` for an EWMA.
    step : float
        Lattice step of a Bernoulli CUSUM threshold: ``threshold - step`` is the
        next smaller threshold that changes the run length (NaN for the charts
        on continuous data).
    arl0 : float
        In-control ARL at ``threshold`` (cases for the Bernoulli CUSUM, days
        otherwise); at least ``target_arl0``.
    arl1 : float
        ARL at the out-of-control state the chart is tuned to.
    target_arl0 : float
        The requested in-control ARL.
    method : str
        How the ARLs were computed (``"markov"``, ``"siegmund"``, ``"simulation"``).

    Examples
    --------
    >>> d = ChartDesign(4.0, math.nan, 336.0, 8.4, 300.0, "markov")
    >>> d.to_dict()["step"] is None
    True

    """

    threshold: float
    step: float
    arl0: float
    arl1: float
    target_arl0: float
    method: str

    def to_dict(self) -> dict[str, float | str | None]:
        """Return a JSON-ready dict; NaN becomes None."""
        return {
            key: None if isinstance(val, float) and math.isnan(val) else val
            for key, val in asdict(self).items()
        }


def check_rates(p0: float, p1: float | None) -> tuple[float, float]:
    """Return ``(p0, p1)`` after checking ``0 < p0 < p1 < 1``; ``p1`` defaults to ``2 * p0``."""
    if not (isinstance(p0, int | float) and 0.0 < p0 < 1.0):
        raise ValueError(
            f"p0 must be the in-control event rate strictly between 0 and 1 (got {p0!r})."
        )
    if p1 is None:
        p1 = 2.0 * p0
    if not (isinstance(p1, int | float) and p0 < p1 < 1.0):
        raise ValueError(
            f"p1 must be the out-of-control rate to detect, above p0={p0!r} and below 1 "
            f"(got {p1!r}); the default 2 * p0 needs p0 < 0.5."
        )
    return float(p0), float(p1)


def check_threshold(value: float, name: str) -> float:
    """Return ``value`` after checking it is a positive finite number."""
    if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive finite number (got {value!r}).")
    return float(value)


def _check_target(arl0: float, name: str) -> float:
    if not (isinstance(arl0, int | float) and math.isfinite(arl0) and arl0 > 1):
        raise ValueError(f"{name} must be a finite average run length above 1 (got {arl0!r}).")
    return float(arl0)


def _check_p(p: float | None, p0: float) -> float:
    if p is None:
        return p0
    if not (isinstance(p, int | float) and 0.0 <= p <= 1.0):
        raise ValueError(f"p must be the true event rate between 0 and 1 (got {p!r}).")
    return float(p)


def bernoulli_cusum_arl(
    *, p0: float, p1: float | None = None, h: float, p: float | None = None
) -> float:
    """Average run length in cases of the Bernoulli CUSUM, by Markov chain.

    Parameters
    ----------
    p0, p1 : float
        Chart parameters as in :func:`~radassure.core.monitoring.bernoulli_cusum`.
    h : float
        Decision threshold.
    p : float, optional
        True event rate; ``p0`` (in-control ARL) by default. Pass ``p=p1`` for ARL1.

    Returns
    -------
    float
        Expected number of cases to the first alarm, the alarm case included.

    Examples
    --------
    >>> arl0 = bernoulli_cusum_arl(p0=0.05, h=4.0)
    >>> arl1 = bernoulli_cusum_arl(p0=0.05, h=4.0, p=0.10)
    >>> 3000 < arl0 < 5000, 100 < arl1 < 200
    (True, True)

    """
    p0, p1 = check_rates(p0, p1)
    h = check_threshold(h, "h")
    lattice = _arl.bernoulli_lattice(p0, p1)
    return _arl.lattice_arl(lattice, lattice.states(h), _check_p(p, p0))


def bernoulli_cusum_run_length_cdf(
    *, p0: float, p1: float | None = None, h: float, p: float | None = None, n: int
) -> npt.NDArray[np.float64]:
    """``P(run length <= t)`` for ``t = 1 .. n`` cases, by Markov chain.

    Examples
    --------
    >>> cdf = bernoulli_cusum_run_length_cdf(p0=0.05, h=4.0, n=1000)
    >>> cdf.shape, bool(0.0 < cdf[-1] < 0.5)
    ((1000,), True)

    """
    p0, p1 = check_rates(p0, p1)
    h = check_threshold(h, "h")
    n = check_positive_int(n, "n")
    lattice = _arl.bernoulli_lattice(p0, p1)
    return 1.0 - _arl.lattice_survival(lattice, lattice.states(h), _check_p(p, p0), n)


def simulate_bernoulli_cusum_arl(
    *,
    p0: float,
    p1: float | None = None,
    h: float,
    p: float | None = None,
    n_runs: int = 2000,
    level: float = 0.95,
    rng: np.random.Generator | int | None,
) -> Estimate:
    """Average run length of the Bernoulli CUSUM by simulation, with a normal CI.

    Each run applies the chart's real weights to simulated cases until it
    signals; the interval is the mean plus or minus ``z`` standard errors.

    Examples
    --------
    >>> e = simulate_bernoulli_cusum_arl(p0=0.2, h=2.0, n_runs=500, rng=1)
    >>> e.contains(bernoulli_cusum_arl(p0=0.2, h=2.0))
    True

    """
    p0, p1 = check_rates(p0, p1)
    h = check_threshold(h, "h")
    n_runs = check_positive_int(n_runs, "n_runs")
    gen = resolve_rng(rng, "simulate_bernoulli_cusum_arl")
    z = z_value(level)
    lengths = _arl.simulate_bernoulli_run_lengths(
        p0, p1, h, _check_p(p, p0), n_runs=n_runs, rng=gen
    )
    mean = float(lengths.mean())
    se = float(lengths.std(ddof=1) / math.sqrt(n_runs)) if n_runs > 1 else math.nan
    return Estimate(mean, mean - z * se, mean + z * se, level, "simulation", n_runs)


def _smallest_state(arl_of: Callable[[int], float], target: float, start: int) -> int:
    """Smallest lattice state count with ``arl_of(states) >= target`` (ARL increases)."""
    high = max(start, 1)
    while arl_of(high) < target:
        high *= 2
    low = 0  # arl_of(0) is 1 case: treated as below any target above 1
    while high - low > 1:
        mid = (low + high) // 2
        if arl_of(mid) >= target:
            high = mid
        else:
            low = mid
    return high


def bernoulli_cusum_threshold(
    *,
    p0: float,
    p1: float | None = None,
    arl0_cases: float,
    method: Literal["markov", "simulation"] = "markov",
    n_runs: int = 2000,
    rng: np.random.Generator | int | None = None,
) -> ChartDesign:
    """Smallest Bernoulli CUSUM threshold whose in-control ARL reaches a target.

    ``h`` is searched on the chart's lattice (see :mod:`radassure.core._arl`),
    so ``ARL0(h) >= arl0_cases > ARL0(h - step)``. ``method="markov"`` solves
    the chain exactly (Brook & Evans 1972; Reynolds & Stoumbos 1999);
    ``"simulation"`` uses simulated ARLs with common random numbers (needs
    ``rng``) as an independent check; ``arl1`` is always by Markov chain.

    Examples
    --------
    >>> d = bernoulli_cusum_threshold(p0=0.05, arl0_cases=2000)
    >>> d.arl0 >= 2000 > bernoulli_cusum_arl(p0=0.05, h=d.threshold - d.step)
    True

    """
    p0, p1 = check_rates(p0, p1)
    target = _check_target(arl0_cases, "arl0_cases")
    lattice = _arl.bernoulli_lattice(p0, p1)
    # Lorden: ARL0 >= exp(h) for a likelihood-ratio CUSUM, so h = log(target) suffices.
    start = lattice.states(math.log(target)) + lattice.up
    if method == "markov":

        def arl_of(states: int) -> float:
            return _arl.lattice_arl(lattice, states, p0) if states else 1.0

    elif method == "simulation":
        seed = int(resolve_rng(rng, "bernoulli_cusum_threshold").integers(2**63))
        n_runs = check_positive_int(n_runs, "n_runs")

        def arl_of(states: int) -> float:
            if not states:
                return 1.0
            gen = np.random.default_rng(seed)
            h_s = states * lattice.step
            return float(
                _arl.simulate_bernoulli_run_lengths(p0, p1, h_s, p0, n_runs=n_runs, rng=gen).mean()
            )

    else:
        raise ValueError(f'method must be "markov" or "simulation" (got {method!r}).')
    states = _smallest_state(arl_of, target, start)
    h = states * lattice.step
    arl1 = _arl.lattice_arl(lattice, states, p1)
    return ChartDesign(h, lattice.step, arl_of(states), arl1, target, method)


def cusum_arl(
    *,
    k: float = 0.5,
    h: float,
    shift: float = 0.0,
    method: Literal["markov", "siegmund"] = "markov",
) -> float:
    """ARL in days of the one-sided CUSUM at a mean shift (in SD units, towards the alarm).

    Examples
    --------
    >>> round(cusum_arl(k=0.5, h=5.0))  # one-sided, exact value 930.9
    931

    """
    h = check_threshold(h, "h")
    if method == "markov":
        return _arl.normal_cusum_arl(k, h, shift)
    if method == "siegmund":
        return _arl.siegmund_arl(k, h, shift)
    raise ValueError(f'method must be "markov" or "siegmund" (got {method!r}).')


def cusum_threshold(
    *,
    arl0: float,
    k: float = 0.5,
    method: Literal["markov", "siegmund"] = "markov",
) -> ChartDesign:
    """Decision interval ``h`` of a one-sided CUSUM for an in-control ARL in days.

    ``arl1`` is reported at the shift ``2 * k`` the chart is tuned to.

    Examples
    --------
    >>> round(cusum_threshold(arl0=930.9, k=0.5).threshold, 2)
    5.0

    """
    target = _check_target(arl0, "arl0")
    # Grow the bracket instead of fixing it: at very large h the Markov ARL is
    # astronomically large and its linear solve loses all precision (NaN on some
    # numpy/LAPACK builds), so stop as soon as the target is passed.
    hi = 1.0
    while cusum_arl(k=k, h=hi, method=method) < target:
        hi *= 2.0
        if hi > 64.0:
            raise ValueError(
                f"arl0={arl0} is too large for a CUSUM with k={k}; choose a smaller arl0."
            )
    h = optimize.brentq(lambda v: cusum_arl(k=k, h=v, method=method) - target, 1e-3, hi)
    return ChartDesign(
        float(h),
        math.nan,
        cusum_arl(k=k, h=h, method=method),
        cusum_arl(k=k, h=h, shift=2 * k, method=method),
        target,
        method,
    )


def ewma_arl(*, lam: float, L: float, shift: float = 0.0) -> float:  # noqa: N803
    """ARL in days of the two-sided EWMA with asymptotic limits (Lucas & Saccucci 1990).

    Examples
    --------
    >>> round(ewma_arl(lam=0.1, L=2.814))  # published: 500
    499

    """
    limit = check_threshold(L, "L")
    if not (math.isfinite(lam) and 0.0 < lam <= 1.0):
        raise ValueError(f"lam must lie in (0, 1] (got {lam!r}).")
    return _arl.ewma_arl(lam, limit, shift)


def ewma_limit_for_arl(*, lam: float, arl0: float, shift: float = 1.0) -> ChartDesign:
    """Limit width ``L`` of a two-sided EWMA for an in-control ARL in days, by Markov chain.

    ``arl1`` is reported at ``shift`` standard deviations.

    Examples
    --------
    >>> round(ewma_limit_for_arl(lam=0.1, arl0=500).threshold, 2)  # published: 2.814
    2.81

    """
    target = _check_target(arl0, "arl0")
    limit = float(optimize.brentq(lambda v: ewma_arl(lam=lam, L=v) - target, 0.5, 6.0, xtol=1e-6))
    return ChartDesign(
        limit,
        math.nan,
        ewma_arl(lam=lam, L=limit),
        ewma_arl(lam=lam, L=limit, shift=shift),
        target,
        "markov",
    )


def false_alarm_probability(
    *,
    cases_per_day: float,
    days: int,
    arl0_cases: float | None = None,
    run_length_cdf: npt.ArrayLike | None = None,
) -> float:
    """Chance of at least one false alarm in the first ``days`` days.

    With ``run_length_cdf`` (from :func:`bernoulli_cusum_run_length_cdf`) the
    answer is exact; with ``arl0_cases`` it uses the geometric approximation
    ``1 - (1 - 1/ARL0)**n`` for ``n = floor(cases_per_day * days)`` cases.

    Examples
    --------
    >>> round(false_alarm_probability(arl0_cases=1000, cases_per_day=10, days=30), 3)
    0.259

    """
    if not (math.isfinite(cases_per_day) and cases_per_day > 0):
        raise ValueError(f"cases_per_day must be positive (got {cases_per_day!r}).")
    days = check_positive_int(days, "days")
    n = math.floor(cases_per_day * days)
    if n == 0:
        return 0.0
    if (arl0_cases is None) == (run_length_cdf is None):
        raise ValueError("Pass exactly one of arl0_cases and run_length_cdf.")
    if run_length_cdf is not None:
        cdf = np.asarray(run_length_cdf, dtype=np.float64)
        if cdf.ndim != 1 or cdf.size < n:
            raise ValueError(
                f"run_length_cdf must cover at least {n} cases (cases_per_day * days); "
                f"it has {cdf.size}. Compute it with n={n}."
            )
        return float(cdf[n - 1])
    arl = _check_target(float(arl0_cases), "arl0_cases")  # type: ignore[arg-type]
    return float(-math.expm1(n * math.log1p(-1.0 / arl)))
