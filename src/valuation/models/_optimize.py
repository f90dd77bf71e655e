"""Maximum likelihood in log-parameter space: Newton with an exact trust region, flat and
boundary optima kept with a warning and a note, standard errors from the Hessian."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import OptimizeResult, minimize

from valuation.errors import ConvergenceError, ConvergenceWarning, ModelInputError

LogLikGrad = Callable[[np.ndarray], tuple[float, np.ndarray]]

#: log-space box for every parameter: exp(-25) .. exp(25); hitting it is a failure.
LOG_BOUND = 25.0

CHECKLIST = (
    "Things to try:\n"
    "  - scale of time: recency and T must be in the model's time unit (weeks by default); "
    "values in days or seconds, or all T nearly equal, make the likelihood flat;\n"
    "  - penalizer: refit with a small L2 penalty (penalizer=0.001 .. 0.1) to keep "
    "weakly identified parameters finite;\n"
    "  - initial values: pass initial_params (e.g. a fit of a similar target or the "
    "published CDNOW values);\n"
    "  - too few repeat buyers: the purchase models need a few hundred customers with "
    "repeat purchases, the spend model a few hundred with frequency > 0;\n"
    "  - inputs: frequency must count REPEAT purchases only (the first excluded), "
    "recency is the time of the last repeat purchase since the first."
)


Derivatives = Callable[[np.ndarray], tuple[float, np.ndarray, np.ndarray]]

#: gradient norm (mean objective, log-parameter space) at which the optimiser stops
GTOL = 1e-9
#: gradient size (mean objective, log space) above which the optimum counts as not found
GRAD_FAIL = 1e-6
#: Hessian eigenvalues (log space) below this share of the largest are flat directions
FLAT_RTOL = 1e-9


@dataclass(frozen=True)
class MLEResult:
    """The outcome of :func:`maximize_likelihood` (in the optimiser's parameter units).

    Attributes
    ----------
    params : positive estimates.
    log_likelihood : unpenalised log-likelihood at ``params``.
    hessian : Hessian of the total penalised negative log-likelihood w.r.t. ``params``
        (NaN when standard errors were not asked for).
    standard_errors, covariance : from the inverse (or, on a flat likelihood, the
        pseudo-inverse) of ``hessian``; NaN when not asked for.
    iterations : optimiser iterations (warm start included); evaluations : likelihood calls.
    notes : what was unusual about the fit (empty for a clean fit).
    """

    params: np.ndarray
    log_likelihood: float
    hessian: np.ndarray
    standard_errors: np.ndarray
    iterations: int
    covariance: np.ndarray | None = None
    notes: tuple[str, ...] = ()
    evaluations: int = 0


def _central_hessian(grad: Callable[[np.ndarray], np.ndarray], params: np.ndarray) -> np.ndarray:
    """Central finite differences of an analytic gradient (2k calls), symmetrised."""
    k = len(params)
    hess = np.empty((k, k))
    for i in range(k):
        h = 1e-5 * max(abs(params[i]), 1e-8)
        up, down = params.copy(), params.copy()
        up[i] += h
        down[i] -= h
        hess[:, i] = (grad(up) - grad(down)) / (2 * h)
    return (hess + hess.T) / 2


def with_numerical_hessian(loglik: LogLikGrad) -> Derivatives:
    """Add a finite-difference Hessian (of the analytic gradient) to a ``(ll, grad)`` function.

    For small models without an analytic Hessian (the sBG); the purchase and spend models
    provide theirs.
    """

    def derivatives(params: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        ll, grad = loglik(params)
        hess = _central_hessian(lambda p: np.asarray(loglik(p)[1], float), np.asarray(params, float))
        return ll, np.asarray(grad, float), hess

    return derivatives


def to_log_space(
    loglik: float, grad: np.ndarray, hess: np.ndarray, params: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray]:
    """Derivatives w.r.t. ``params`` -> derivatives w.r.t. ``theta = log(params)``.

    ``g_theta = p * g``, ``H_theta = diag(p) H diag(p) + diag(p * g)``.
    """
    params = np.asarray(params, float)
    g_theta = params * grad
    h_theta = params[:, None] * hess * params[None, :] + np.diag(g_theta)
    return loglik, g_theta, h_theta


def penalized_log_space(
    loglik: float,
    grad: np.ndarray,
    hess: np.ndarray,
    params: np.ndarray,
    penalizer: float,
    total_weight: float,
    scale: np.ndarray,
) -> tuple[float, np.ndarray, np.ndarray]:
    """The fit's objective (log-likelihood minus the L2 penalty) in ``theta = log(params)``.

    ``scale`` turns ``params`` into the optimiser's units (time rescaled), on which the
    penalty ``total_weight * penalizer * sum((scale * params) ** 2)`` is computed.
    """
    params = np.asarray(params, float)
    scaled_sq = (np.asarray(scale, float) * params) ** 2
    value, g_theta, h_theta = to_log_space(loglik, np.asarray(grad, float), np.asarray(hess, float), params)
    if penalizer > 0:
        value = value - total_weight * penalizer * float(scaled_sq.sum())
        g_theta = g_theta - 2 * total_weight * penalizer * scaled_sq
        h_theta = h_theta - np.diag(4 * total_weight * penalizer * scaled_sq)
    return float(value), g_theta, h_theta


class _LogSpaceObjective:
    """Mean penalised negative log-likelihood in log space, with value, gradient and
    Hessian from one evaluation (cached for the optimiser's separate calls)."""

    def __init__(self, derivatives: Derivatives, weight: float, penalizer: float) -> None:
        self.derivatives = derivatives
        self.weight = weight
        self.penalizer = penalizer
        self.theta: np.ndarray | None = None
        self.evaluations = 0

    def _evaluate(self, theta: np.ndarray) -> None:
        if self.theta is not None and np.array_equal(theta, self.theta):
            return
        k = len(theta)
        params = np.exp(theta)
        with np.errstate(all="ignore"):
            ll, grad, hess = self.derivatives(params)
            value = -ll / self.weight + self.penalizer * float(np.sum(params**2))
            grad_p = -np.asarray(grad, float) / self.weight + 2 * self.penalizer * params
            hess_p = -np.asarray(hess, float) / self.weight + 2 * self.penalizer * np.eye(k)
        self.evaluations += 1
        self.theta = np.array(theta, dtype=float)
        if not (np.isfinite(value) and np.all(np.isfinite(grad_p)) and np.all(np.isfinite(hess_p))):
            self.value, self.grad = np.inf, np.zeros(k)
            self.hess, self.hess_p, self.loglik = np.eye(k), np.full((k, k), np.nan), np.nan
            return
        self.value, self.loglik, self.hess_p = float(value), float(ll), hess_p
        _, self.grad, self.hess = to_log_space(value, grad_p, hess_p, params)

    def fun(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        self._evaluate(theta)
        return self.value, self.grad

    def hessian(self, theta: np.ndarray) -> np.ndarray:
        self._evaluate(theta)
        return self.hess


def _trust_region(objective: _LogSpaceObjective, theta0: np.ndarray, gtol: float) -> OptimizeResult:
    """Newton's method with an exact trust region (scipy ``trust-exact``) in log space."""
    return minimize(
        objective.fun,
        theta0,
        jac=True,
        hess=objective.hessian,
        method="trust-exact",
        options={"gtol": gtol, "maxiter": 400, "initial_trust_radius": 1.0, "max_trust_radius": 8.0},
    )


def _newton_steps(
    objective: _LogSpaceObjective, theta: np.ndarray, gtol: float, max_steps: int = 6
) -> tuple[np.ndarray, int, bool]:
    """Plain Newton steps from a point near the optimum (a warm start); each one evaluates
    the full likelihood once.

    A step is kept when the objective decreases, or, once the gain is below what double
    precision resolves in a sum over many rows, when it stays within ``1e-12`` (relative)
    and the gradient shrinks (a trust region rejects such steps and keeps evaluating).
    Stops at the first step that is not kept, or where the Hessian is not positive
    definite, and then the caller goes on with the trust region.

    Returns
    -------
    (theta, steps, converged) : the last kept point, the steps kept, and whether the
        gradient is below ``gtol`` there.
    """
    value, grad = objective.fun(theta)
    for step in range(max_steps):
        size = float(np.max(np.abs(grad)))
        if size <= gtol:
            return theta, step, True
        try:
            lower = np.linalg.cholesky(objective.hessian(theta))
        except np.linalg.LinAlgError:
            return theta, step, False
        delta = -np.linalg.solve(lower.T, np.linalg.solve(lower, grad))
        if not np.all(np.isfinite(delta)) or np.max(np.abs(delta)) > 1.0:
            return theta, step, False
        trial = theta + delta
        new_value, new_grad = objective.fun(trial)
        noise = 1e-12 * max(1.0, abs(value))
        better = new_value < value or (
            new_value <= value + noise and float(np.max(np.abs(new_grad))) < size)
        if not (np.isfinite(new_value) and better):
            return theta, step, False
        theta, value, grad = trial, new_value, new_grad
    return theta, max_steps, float(np.max(np.abs(grad))) <= gtol


def maximize_likelihood(
    loglik: Derivatives | LogLikGrad,
    initial_params: np.ndarray,
    names: Sequence[str],
    *,
    total_weight: float,
    penalizer: float = 0.0,
    model_name: str = "model",
    context: str = "",
    warm_start: tuple[Derivatives, float] | None = None,
    compute_se: bool = True,
    hessian: bool = True,
) -> MLEResult:
    """Maximise a positive-parameter log-likelihood in log space by Newton's method.

    Parameters
    ----------
    loglik : callable
        ``loglik(params) -> (ll, gradient, hessian)``: the total weighted log-likelihood
        and its analytic first and second derivatives w.r.t. ``params``. With
        ``hessian=False`` it returns ``(ll, gradient)`` and the Hessian is taken by
        central differences of the gradient (small models only).
    initial_params : ndarray
        Positive starting values.
    names : sequence of str
        Parameter names (for messages).
    total_weight : float
        The number of customers (sum of weights); the optimiser works on the mean.
    penalizer : float
        L2 penalty coefficient on ``params`` added to the mean negative log-likelihood.
    model_name, context : str
        Used in the :class:`ConvergenceError` message.
    warm_start : (loglik, total_weight), optional
        A cheap approximation (a weighted subsample of the rows, same derivative form as
        ``loglik``): Newton runs on it first (loosely), then on the full likelihood.
    compute_se : bool
        False skips the standard errors (NaN), e.g. inside a bootstrap.

    Returns
    -------
    MLEResult

    Raises
    ------
    ConvergenceError
        When the optimum is not found: the log-likelihood is not finite, the gradient is
        not zero at the end, or the end point is a saddle. A flat optimum (Hessian
        singular, gradient zero) or one on the boundary (a parameter at the edge of
        ``exp(+-LOG_BOUND)`` with the gradient zero: a limiting case of the model) is kept
        with a :class:`ConvergenceWarning`: the standard errors then come from the
        pseudo-inverse and ``notes`` says so.

    Notes
    -----
    scipy's ``trust-exact`` (a Newton method with an exact trust-region subproblem) on
    the analytic Hessian in ``theta = log(params)`` converges in a handful of
    iterations from moderate starting values; the Hessian for the standard errors is the
    analytic one at the optimum, of the total (not mean) penalised objective.
    """
    names = list(names)
    if penalizer < 0 or not np.isfinite(penalizer):
        raise ModelInputError(f"penalizer must be >= 0, got {penalizer!r}.")
    derivatives = loglik if hessian else with_numerical_hessian(loglik)

    def fail(why: str) -> ConvergenceError:
        extra = f" {context}" if context else ""
        return ConvergenceError(f"{model_name} did not converge: {why}.{extra}\n{CHECKLIST}")

    objective = _LogSpaceObjective(derivatives, total_weight, penalizer)
    theta = np.log(np.asarray(initial_params, dtype=float))
    iterations = 0
    warm_ok = False
    if warm_start is not None and np.all(np.isfinite(theta)):
        warm_fun, warm_weight = warm_start
        warm_derivs = warm_fun if hessian else with_numerical_hessian(warm_fun)
        warm_objective = _LogSpaceObjective(warm_derivs, warm_weight, penalizer)
        if np.isfinite(warm_objective.fun(theta)[0]):
            warm = _trust_region(warm_objective, theta, 1e-6)
            if np.all(np.isfinite(warm.x)) and np.isfinite(objective.fun(warm.x)[0]):
                theta, iterations, warm_ok = warm.x, int(warm.nit), True
    if not warm_ok and (not np.all(np.isfinite(theta)) or not np.isfinite(objective.fun(theta)[0])):
        raise fail("the log-likelihood is not finite at the initial values")
    converged = False
    if warm_ok:
        theta, steps, converged = _newton_steps(objective, theta, GTOL)
        iterations += steps
    message = "Newton steps from the warm start converged"
    if not converged:
        result = _trust_region(objective, theta, GTOL)
        iterations += int(result.nit)
        theta, message = np.asarray(result.x, dtype=float), result.message
    value, grad = objective.fun(theta)

    if not np.isfinite(value):
        raise fail("the log-likelihood became non-finite")
    notes: list[str] = []
    if np.max(np.abs(grad)) > GRAD_FAIL:
        # what is left of the gradient may point along a ridge where the likelihood only
        # creeps towards a limit (flat directions): the optimum is found when a Newton step
        # on the identified directions would gain less than 1e-6 of total log-likelihood
        with np.errstate(all="ignore"):
            step = np.linalg.pinv(objective.hess, rcond=FLAT_RTOL, hermitian=True) @ grad
        gain = 0.5 * float(grad @ step) * total_weight
        if not (np.isfinite(gain) and 0 <= gain < 1e-6):
            edge = [n for n, t in zip(names, theta, strict=True) if abs(t) >= LOG_BOUND]
            if edge:
                raise fail(
                    f"parameter(s) {', '.join(edge)} ran to the edge of the allowed range "
                    "without the log-likelihood settling (e.g. BG/NBD r and alpha growing "
                    "together: purchase rates with no visible heterogeneity)"
                )
            raise fail(f"the gradient is not zero at the end ({message})")
        notes.append(
            f"{model_name}: the optimiser stopped on a ridge (gradient {np.max(np.abs(grad)):.1e} "
            "along directions where the log-likelihood creeps towards a limit, less than 1e-6 "
            "left to gain); the estimates are kept."
        )

    params = np.exp(theta)
    k = len(params)
    at_edge = [n for n, t in zip(names, theta, strict=True) if abs(t) >= LOG_BOUND]
    if at_edge:
        notes.append(
            f"{model_name}: parameter(s) {', '.join(at_edge)} ran to the edge of the allowed "
            f"range (|log value| >= {LOG_BOUND:g}) while the log-likelihood stopped improving: "
            "the maximum lies on the boundary, a limiting case of the model (e.g. BG/NBD "
            "a -> 0: no visible dropout; r and alpha -> infinity together: no heterogeneity "
            "in the purchase rate). The estimates are kept as that limit."
        )
    if not compute_se:
        for note in notes:
            warnings.warn(note + f" {context}", ConvergenceWarning, stacklevel=3)
        nan = np.full((k, k), np.nan)
        return MLEResult(params, objective.loglik, nan, np.full(k, np.nan), iterations,
                         nan, tuple(notes), objective.evaluations)
    hess_total = objective.hess_p * total_weight  # Hessian of the total penalised -ll, params
    hess_theta = params[:, None] * hess_total * params[None, :]
    eig = np.linalg.eigvalsh(hess_theta)
    top = float(np.max(np.abs(eig)))
    if eig.min() < -1e-6 * top:
        raise fail("the end point is a saddle, not a maximum (Hessian has a negative curvature)")
    if eig.min() > FLAT_RTOL * top:
        cov_theta = np.linalg.inv(hess_theta)
    else:
        cov_theta = np.linalg.pinv(hess_theta, rcond=FLAT_RTOL, hermitian=True)
        vals, vecs = np.linalg.eigh(hess_theta)
        flat = vecs[:, vals <= FLAT_RTOL * top]
        involved = [n for n, row in zip(names, flat, strict=True) if np.max(np.abs(row)) > 0.1]
        notes.append(
            f"{model_name}: the log-likelihood is flat at the optimum along "
            f"{flat.shape[1]} direction(s) (mostly {', '.join(involved)}): those parameters are "
            "not identified by these data (typically a ridge towards a limiting case of the "
            "model). The estimates are kept (gradient zero); standard errors come from the "
            "pseudo-inverse of the Hessian and leave out the flat direction(s), so they "
            "understate the uncertainty of those parameters (predictions hardly change "
            "along a flat direction)."
        )
    for note in notes:
        warnings.warn(note + f" {context}", ConvergenceWarning, stacklevel=3)
    covariance = params[:, None] * cov_theta * params[None, :]
    covariance = (covariance + covariance.T) / 2
    return MLEResult(
        params=params,
        log_likelihood=objective.loglik,
        hessian=hess_total,
        standard_errors=np.sqrt(np.clip(np.diag(covariance), 0, None)),
        iterations=iterations,
        covariance=covariance,
        notes=tuple(notes),
        evaluations=objective.evaluations,
    )
