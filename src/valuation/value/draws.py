"""Parameter draws from a fitted model's asymptotic sampling law (for the uncertainty range)."""

from __future__ import annotations

import numpy as np

from valuation.value.newton import with_params


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


def draw_parameters(model, rng: np.random.Generator):
    """A copy of a fitted model with ``params_`` drawn from their log-normal approximation.

    ``log(params) ~ N(log(theta_hat), D^-1 C D^-1)`` with ``C`` the covariance of the
    parameters (:func:`covariance_of`) and ``D = diag(theta_hat)`` (delta method), so every
    draw is positive. The fitted model is not changed.
    """
    theta = np.asarray(model.params_, float)
    scale = np.diag(1.0 / theta)
    log_cov = scale @ covariance_of(model) @ scale
    draw = rng.multivariate_normal(np.log(theta), log_cov, method="eigh")
    return with_params(model, np.exp(draw))
