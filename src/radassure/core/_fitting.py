"""Small model fits for calibration: logistic regression by Newton steps, and loess."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from scipy import special

__all__ = ["fit_logistic", "loess"]

FloatArray = npt.NDArray[np.float64]


def loess(
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    x_eval: npt.ArrayLike,
    *,
    frac: float = 0.75,
    degree: int = 2,
) -> npt.NDArray[np.float64]:
    """Local polynomial regression (loess, Cleveland 1979) evaluated at ``x_eval``.

    At each evaluation point the ``floor(frac * n)`` nearest ``x`` (and any
    tied with the farthest of them) get tricube weights scaled by that
    distance, and a weighted polynomial of ``degree`` is fitted; its value at
    the point is returned. These are R's ``loess`` defaults (span 0.75,
    degree 2, no robustness iterations), computed exactly rather than by R's
    kd-tree interpolation; unlike R, ties at the span's edge are all kept so
    the smooth does not depend on the order of the cases.

    Parameters
    ----------
    x, y : array-like of shape (n,)
        Data.
    x_eval : array-like of shape (k,)
        Where to evaluate the smooth.
    frac : float, default 0.75
        Share of the data in each local fit, in (0, 1].
    degree : int, default 2
        Degree of the local polynomial, 0, 1 or 2.

    Returns
    -------
    numpy.ndarray of shape (k,)

    Examples
    --------
    >>> x = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    >>> loess(x, [2 * v + 1 for v in x], [0.5, 4.0]).round(6).tolist()
    [2.0, 9.0]

    """
    xs = np.asarray(x, dtype=np.float64)
    ys = np.asarray(y, dtype=np.float64)
    at = np.atleast_1d(np.asarray(x_eval, dtype=np.float64))
    if not 0.0 < frac <= 1.0:
        raise ValueError(f"frac must be in (0, 1], for example 0.75 (got {frac!r}).")
    if degree not in (0, 1, 2):
        raise ValueError(f"degree must be 0, 1 or 2 (got {degree!r}).")
    k = min(xs.size, max(degree + 1, math.floor(frac * xs.size)))
    out = np.empty(at.size)
    for i, x0 in enumerate(at):
        dist = np.abs(xs - x0)
        # All cases within the k-th nearest distance: with ties at that distance,
        # keeping exactly k would keep an order-dependent subset of them.
        h = np.partition(dist, k - 1)[k - 1]
        near = np.flatnonzero(dist <= h)
        u = dist[near] / h if h > 0 else np.zeros(near.size)
        w = np.sqrt(np.clip(1 - u**3, 0.0, None) ** 3)
        if h > 0:
            # Give the farthest neighbours a sliver of weight so ties at h still count.
            w = np.maximum(w, 1e-12)
        design = np.vander(xs[near] - x0, degree + 1, increasing=True) * w[:, None]
        coef = np.linalg.lstsq(design, ys[near] * w, rcond=None)[0]
        out[i] = coef[0]
    return out


def fit_logistic(
    design: FloatArray, y: FloatArray, offset: FloatArray
) -> tuple[FloatArray, FloatArray] | None:
    """Maximum likelihood logistic regression by Newton steps with step halving.

    Returns the coefficients and their covariance, or None when the fit does
    not converge (for example under complete separation).
    """

    def loglik(beta: FloatArray) -> float:
        eta = design @ beta + offset
        return float(np.sum(y * special.log_expit(eta) + (1 - y) * special.log_expit(-eta)))

    beta = np.zeros(design.shape[1])
    current = loglik(beta)
    for _ in range(100):
        mu = special.expit(design @ beta + offset)
        hessian = design.T @ (design * (mu * (1 - mu))[:, None])
        try:
            step = np.linalg.solve(hessian, design.T @ (y - mu))
        except np.linalg.LinAlgError:
            return None
        scale = 1.0
        while scale > 1e-8:
            trial = beta + scale * step
            value = loglik(trial)
            if value >= current - 1e-12:
                break
            scale /= 2
        beta, current = trial, value
        if np.max(np.abs(scale * step)) < 1e-10:
            mu = special.expit(design @ beta + offset)
            hessian = design.T @ (design * (mu * (1 - mu))[:, None])
            if np.max(np.abs(beta)) > 1e6 or np.linalg.cond(hessian) > 1e12:
                return None
            return beta, np.linalg.inv(hessian)
    return None
