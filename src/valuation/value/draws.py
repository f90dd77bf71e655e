"""Parameter draws from a fitted model's asymptotic sampling law (for the uncertainty range)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from valuation.value.newton import WEAK_RTOL, with_params


def covariance_of(model) -> np.ndarray:
    """Asymptotic covariance of a fitted model's ``params_``.

    The model's own ``covariance_`` when finite (inverse Hessian, or its pseudo-inverse on a
    flat optimum, so flat directions get no spread), else the inverse of ``hessian_``, else
    the squared standard errors on the diagonal.
    """
    cov = getattr(model, "covariance_", None)
    if cov is not None:
        cov = np.asarray(cov, float)
        if cov.size and np.all(np.isfinite(cov)) and np.all(np.diag(cov) >= 0):
            return (cov + cov.T) / 2
    hessian = getattr(model, "hessian_", None)
    if hessian is not None:
        try:
            cov = np.linalg.inv(np.asarray(hessian, float))
            if np.all(np.isfinite(cov)) and np.all(np.diag(cov) > 0):
                return (cov + cov.T) / 2
        except np.linalg.LinAlgError:
            pass
    se = np.asarray(model.standard_errors_, float)
    return np.diag(np.nan_to_num(se, nan=0.0) ** 2)


def identified_part(log_cov: np.ndarray) -> np.ndarray:
    """The covariance without the directions whose precision is below
    :data:`~valuation.value.newton.WEAK_RTOL` of the largest.

    Along such a ridge (e.g. Gamma-Gamma's q and gamma growing together when spend hardly
    varies) the normal approximation is poor and its variance huge: draws along it would
    reach impossible values (q <= 1) while predictions hardly depend on it. The same rule
    keeps the Newton step of the bootstrap off those directions.
    """
    cov = (np.asarray(log_cov, float) + np.asarray(log_cov, float).T) / 2
    variance, vectors = np.linalg.eigh(cov)
    if not len(variance) or variance.max() <= 0:
        return np.zeros_like(cov)
    positive = variance > 0
    precision_top = float((1.0 / variance[positive]).max())
    keep = positive & (1.0 / np.where(positive, variance, np.inf) > WEAK_RTOL * precision_top)
    return (vectors[:, keep] * variance[keep]) @ vectors[:, keep].T


def draw_parameters(model, rng: np.random.Generator):
    """A copy of a fitted model with ``params_`` drawn from their log-normal approximation.

    ``log(params) ~ N(log(theta_hat), D^-1 C D^-1)`` with ``C`` the covariance of the
    parameters (:func:`covariance_of`) and ``D = diag(theta_hat)`` (delta method), so every
    draw is positive; directions the data barely inform are left out
    (:func:`identified_part`). The fitted model is not changed.
    """
    theta = np.asarray(model.params_, float)
    scale = np.diag(1.0 / theta)
    log_cov = identified_part(scale @ covariance_of(model) @ scale)
    draw = rng.multivariate_normal(np.log(theta), log_cov, method="eigh")
    return with_params(model, np.exp(draw))


def percentile_of(draws: pd.DataFrame, column: str, percentile: float, fallback: float) -> float:
    """The ``percentile`` (e.g. 10 for P10) of one column of draws; ``fallback`` without draws."""
    values = draws[column].dropna().to_numpy(float)
    return float(np.percentile(values, percentile)) if len(values) else fallback


def share_below(draws: pd.DataFrame, column: str, price: float) -> float:
    """Share of the draws in ``column`` worth less than ``price`` (NaN without draws)."""
    values = draws[column].dropna().to_numpy(float)
    return float((values < price).mean()) if len(values) else float("nan")
