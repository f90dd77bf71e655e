"""One-step Newton refits for the bootstrap.

A bootstrap replicate reweights the customers with multinomial counts ``w*``; its maximum
likelihood estimate ``theta*`` (in the optimiser's log-parameter space) is approximated by one
Newton step from the point estimate ``theta_hat``:

    theta* = theta_hat - H*(theta_hat)^-1 g*(theta_hat),

repeated once from the new point (:data:`NEWTON_STEPS`),

where ``g*`` and ``H*`` are the gradient and Hessian of the reweighted log-likelihood, from
the models' public ``loglik_derivatives(..., weights=w*)`` on the grouped unique rows. Since
``theta* - theta_hat`` is of order ``1/sqrt(n)``, the error of the step is of order ``1/n``
(the one-step bootstrap of e.g. Davison, Hinkley & Schechtman 1986; Andrews 2002): far below
the bootstrap spread itself for the bases this workbench values, for one derivative
evaluation instead of an optimisation per replicate.

The step is refused (``None``: the caller refits fully) when the Hessian has a clear
direction of positive curvature of the log-likelihood (a saddle), or when the step is longer
than :data:`MAX_LOG_STEP` in log space (the quadratic approximation is not trustworthy that
far). Directions in which the likelihood is flat or nearly so (curvature below
:data:`WEAK_RTOL` of the largest) get no step: the data carry (almost) no information
there, and predictions do not move along them.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd

MAX_LOG_STEP = 1.0
"""Largest accepted step in any log-parameter (a factor e); beyond it the replicate is refitted."""

WEAK_RTOL = 1e-4
"""Curvature below this share of the largest counts as flat for the step: the data barely
inform such a direction (e.g. Gamma-Gamma's q and gamma growing together when spend hardly
varies between customers), predictions barely move along it, and a Newton step along it
would be dominated by the error of the quadratic approximation."""


def newton_step(gradient: np.ndarray, hessian: np.ndarray, *,
                max_step: float = MAX_LOG_STEP) -> np.ndarray | None:
    """The Newton step ``-H^-1 g`` of a log-likelihood in log-parameter space, or ``None``.

    Parameters
    ----------
    gradient, hessian : ndarray
        Derivatives of the (reweighted) log-likelihood w.r.t. ``theta = log(params)``.
    max_step : float
        Largest accepted absolute change of any ``theta`` component.

    Returns
    -------
    ndarray or None
        The step to add to ``theta``; ``None`` when the Hessian is not negative
        semi-definite or the step is too long (the caller should refit).
    """
    g = np.asarray(gradient, float)
    h = np.asarray(hessian, float)
    if not (np.all(np.isfinite(g)) and np.all(np.isfinite(h))):
        return None
    curvature, vectors = np.linalg.eigh(-(h + h.T) / 2)  # of the negative log-likelihood
    top = float(np.max(np.abs(curvature))) if len(curvature) else 0.0
    if top == 0.0 or curvature.min() < -WEAK_RTOL * top:
        return None
    keep = curvature > WEAK_RTOL * top
    step = vectors[:, keep] @ ((vectors[:, keep].T @ g) / curvature[keep])
    if not np.all(np.isfinite(step)) or np.max(np.abs(step)) > max_step:
        return None
    return step


def with_params(model, values: np.ndarray):
    """A shallow copy of a fitted model whose ``params_`` are ``values`` (same names).

    The copy shares nothing mutable with ``model`` that predictions change; standard errors
    and covariances of the copy still describe the original fit.
    """
    other = copy.copy(model)
    params = model.params_
    if isinstance(params, pd.Series):
        other.params_ = pd.Series(np.asarray(values, float), index=params.index, name=params.name)
    else:
        other.params_ = np.asarray(values, float)
    return other


def one_step_params(model, derivatives: tuple[float, np.ndarray, np.ndarray]) -> np.ndarray | None:
    """``exp(log(params_) + newton_step(g, H))`` for a fitted model, or ``None`` (refit)."""
    _, gradient, hessian = derivatives
    step = newton_step(gradient, hessian)
    if step is None:
        return None
    theta = np.log(np.asarray(model.params_, float))
    return np.exp(theta + step)


NEWTON_STEPS = 2
"""Newton steps a replicate takes (each one derivative evaluation on the grouped rows).

One step has an error of order 1/n; measured on 400-1,200 simulated customers, one step
left value errors of up to 10% of the replicate's deviation from the point estimate,
mostly from Gamma-Gamma (far from quadratic in log space when spend varies little); the
second step, from the first step's end point, brings them to well under 1% for the price
of one more derivative evaluation."""


def newton_params(model, derivatives_at, *, steps: int = NEWTON_STEPS) -> np.ndarray | None:
    """Parameters after ``steps`` Newton steps from ``model.params_``, or ``None`` (refit).

    Parameters
    ----------
    model : fitted estimator
    derivatives_at : callable
        ``derivatives_at(m) -> (loglik, gradient, hessian)`` of the reweighted likelihood at
        the parameters of model ``m`` (e.g. a lambda calling ``m.loglik_derivatives`` with
        the bootstrap weights).
    steps : int

    Returns
    -------
    ndarray or None
        ``None`` when a step is refused (:func:`newton_step`) or the derivatives cannot be
        evaluated (the caller then refits fully).
    """
    from valuation.errors import ModelError

    current = model
    theta = np.log(np.asarray(model.params_, float))
    for _ in range(steps):
        try:
            _, gradient, hessian = derivatives_at(current)
        except (ModelError, FloatingPointError):
            return None
        step = newton_step(gradient, hessian)
        if step is None:
            return None
        theta = theta + step
        current = with_params(model, np.exp(theta))
    return np.exp(theta)
