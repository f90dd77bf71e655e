"""Shared maximum-likelihood machinery of the purchase, spend and retention models.

One small job: turn a model's weighted log-likelihood (with its analytic gradient) into
fitted parameters, a log-likelihood and standard errors, and refuse clearly when it cannot.

* identical input rows are grouped with weights (a pandas ``groupby``), so the likelihood is
  evaluated once per distinct ``(frequency, recency, T)``; a model with cheap evaluations
  (the BG/NBD) skips that when a sample shows that most rows are distinct;
* parameters are optimised in log space (they are all positive) by Newton's method with an
  exact trust region (scipy ``trust-exact``) on the models' analytic gradient and Hessian,
  optionally warm-started on a weighted subsample of the rows, from where plain Newton
  steps usually finish in 2-3 evaluations of the full likelihood;
* standard errors come from the inverse of the analytic Hessian at the optimum (a
  pseudo-inverse, with a :class:`ConvergenceWarning` and a note, when the likelihood is
  flat in some direction); small models without an analytic Hessian (the sBG) use central
  differences of their analytic gradient;
* an optional L2 penalty ``penalizer * sum(params ** 2)`` on the mean negative
  log-likelihood, as in the ``lifetimes`` package;
* input validation with errors that name the offending customers (masked).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import OptimizeResult, minimize

from valuation.errors import (
    ConvergenceError,
    ConvergenceWarning,
    ModelInputError,
    NotFittedError,
)
from valuation.privacy.masking import mask_value

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


def wdot(a: np.ndarray, b: np.ndarray) -> float:
    """Dot product of two vectors without BLAS: ``sum(a * b)`` (pairwise summation).

    ``np.dot`` hands long vectors to a multi-threaded BLAS whose thread start-up costs
    more than the sum itself on a busy machine (measured 5x slower per likelihood
    evaluation with 2 shared cores); the likelihoods' many weighted sums use this instead.
    Pairwise summation also keeps the log-likelihood accurate to ~1e-15 relative, which
    the finite-difference checks of the derivatives rely on.
    """
    return float(np.multiply(a, b).sum())


def mask_labels(labels: Sequence[object], limit: int = 5) -> str:
    """Format the first ``limit`` index labels, masked, with a count of the rest."""
    shown = ", ".join(mask_value(label) for label in list(labels)[:limit])
    rest = len(labels) - limit
    return shown + (f" (and {rest} more)" if rest > 0 else "")


def as_array(values: object, name: str) -> tuple[np.ndarray, pd.Index]:
    """Return ``values`` as a 1-D float array and its index (a RangeIndex for arrays).

    Raises
    ------
    ModelInputError
        If the values are not numeric or not one-dimensional.
    """
    if isinstance(values, pd.Series):
        index = values.index
        raw = values.to_numpy()
    else:
        raw = np.asarray(values)
        if raw.ndim == 0:
            raw = raw.reshape(1)
        index = pd.RangeIndex(len(raw))
    if raw.ndim != 1:
        raise ModelInputError(f"{name}: expected a 1-D array or Series, got shape {raw.shape}.")
    try:
        array = raw.astype(float)
    except (TypeError, ValueError) as exc:
        raise ModelInputError(
            f"{name}: expected numbers, got values of type {raw.dtype}. "
            "Convert the column to numeric before fitting."
        ) from exc
    return array, index


def _complain(mask: np.ndarray, index: pd.Index, why: str, problems: list[str]) -> None:
    if mask.any():
        labels = index[np.flatnonzero(mask)]
        problems.append(f"{int(mask.sum())} customer(s) {why}: {mask_labels(labels)}")


def check_rfm(
    frequency: object, recency: object, T: object
) -> tuple[np.ndarray, np.ndarray, np.ndarray, pd.Index]:
    """Validate RFM inputs and return them as float arrays plus the customer index.

    A customer whose first purchase falls on the calibration end (frequency 0, recency 0,
    T 0) is valid: nothing was observed after the first purchase, so the purchase models
    give the row a likelihood contribution of 0 and the predictions of a new customer.

    Parameters
    ----------
    frequency, recency, T : array-like or Series
        Repeat purchases, time of the last repeat purchase since the first, and time
        since the first purchase to the end of calibration, one value per customer.

    Raises
    ------
    ModelInputError
        Naming the offending customers (first few index labels, masked) and why.
    """
    x, index = as_array(frequency, "frequency")
    tx, _ = as_array(recency, "recency")
    big_t, _ = as_array(T, "T")
    if not (len(x) == len(tx) == len(big_t)):
        raise ModelInputError(
            f"frequency, recency and T must have the same length, got {len(x)}, {len(tx)}, "
            f"{len(big_t)}."
        )
    if len(x) == 0:
        raise ModelInputError("No customers: frequency, recency and T are empty.")
    problems: list[str] = []
    nan = ~(np.isfinite(x) & np.isfinite(tx) & np.isfinite(big_t))
    _complain(nan, index, "have a missing or infinite frequency, recency or T", problems)
    ok = ~nan
    _complain(ok & ((x < 0) | (tx < 0) | (big_t < 0)), index, "have a negative value", problems)
    _complain(ok & (x != np.round(x)), index, "have a non-integer frequency", problems)
    _complain(ok & (tx > big_t * (1 + 1e-12) + 1e-12), index, "have recency > T", problems)
    _complain(
        ok & (x == 0) & (tx > 0),
        index,
        "have frequency 0 but recency > 0 (recency must be 0 without repeat purchases)",
        problems,
    )
    _complain(
        ok & (big_t <= 0) & (x > 0),
        index,
        "have repeat purchases but T = 0 (T must cover the repeat purchases)",
        problems,
    )
    if problems:
        raise ModelInputError(
            "Invalid RFM inputs:\n  - " + "\n  - ".join(problems) + "\n"
            "Fix the RFM summary (valuation.features.rfm_summary builds a valid one)."
        )
    return x, np.minimum(tx, big_t), big_t, index


def check_weights(weights: object | None, n: int) -> np.ndarray:
    """Validate optional row weights (non-negative, finite, not all zero)."""
    if weights is None:
        return np.ones(n)
    w, index = as_array(weights, "weights")
    if len(w) != n:
        raise ModelInputError(f"weights: expected {n} values, got {len(w)}.")
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        raise ModelInputError(
            f"weights must be finite and >= 0; {int(bad.sum())} row(s) are not: "
            f"{mask_labels(index[np.flatnonzero(bad)])}"
        )
    if w.sum() <= 0:
        raise ModelInputError("weights sum to zero: nothing to fit.")
    return w


def group_rows(columns: dict[str, np.ndarray], weights: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    """Collapse identical rows into one with the summed weight.

    Each column is hashed to integer codes with :func:`pandas.factorize`, the codes are
    combined into one integer key (re-factorised whenever the combined range could
    overflow), and the weights are summed per key (a pandas groupby on one integer key:
    hashing, no sort, about 3x faster than grouping on the float columns themselves).

    Parameters
    ----------
    columns : dict of name -> 1-D array
        The columns whose identical combinations are grouped.
    weights : ndarray
        One weight per input row.

    Returns
    -------
    unique : DataFrame
        One row per distinct combination with positive total weight (columns as given),
        in order of first appearance.
    counts : ndarray
        The summed weight of each distinct row.
    """
    key = np.zeros(len(weights), dtype=np.int64)
    size = 1
    for values in columns.values():
        codes, uniques = pd.factorize(values, sort=False)
        if size * max(len(uniques), 1) >= 2**62:
            key, kept = pd.factorize(key, sort=False)
            size = len(kept)
        key = key * len(uniques) + codes
        size *= max(len(uniques), 1)
    key, _ = pd.factorize(key, sort=False)
    totals = pd.Series(weights, copy=False).groupby(key, sort=False).sum()
    first = pd.Series(np.arange(len(key))).groupby(key, sort=False).first()
    positive = totals.to_numpy() > 0
    rows = first.to_numpy()[positive]
    unique = pd.DataFrame({name: np.asarray(values)[rows] for name, values in columns.items()})
    return unique, totals.to_numpy(dtype=float)[positive]


def _row_hashes(columns: Sequence[np.ndarray]) -> np.ndarray:
    """A 64-bit hash of each row of float columns (multiply-xorshift of the bit patterns)."""
    h = np.zeros(len(columns[0]), dtype=np.uint64)
    for values in columns:
        bits = np.ascontiguousarray(values, dtype=float).view(np.uint64)
        with np.errstate(over="ignore"):
            h ^= bits
            h *= np.uint64(0x9E3779B97F4A7C15)
            h ^= h >> np.uint64(29)
    return h


def duplicate_share(columns: dict[str, np.ndarray], sample: int = 2_000, seed: int = 0) -> float:
    """Estimated share of the rows that :func:`group_rows` would remove (0 = all distinct).

    The share is ``(rows - distinct rows) / rows``, the mean of ``1 - 1 / c`` over the
    rows, ``c`` the number of rows identical to a row. It is estimated on a fixed-seed
    sample of ``sample`` rows, each counted against all rows by a 64-bit row hash (one
    vectorised pass, no sort); exact when there are at most ``2 * sample`` rows. Only
    the choice to group depends on it, never the fit.
    """
    hashes = _row_hashes(list(columns.values()))
    n = len(hashes)
    if n <= 2 * sample:
        return 1.0 - len(np.unique(hashes)) / n if n else 0.0
    rows = np.random.default_rng(seed).choice(n, size=sample, replace=False)
    picked, inverse = np.unique(hashes[rows], return_inverse=True)
    # a bitmap of the sampled hashes' low 20 bits keeps ~0.2% of the other rows as candidates
    low = np.uint64(2**20 - 1)
    bitmap = np.zeros(2**20, dtype=bool)
    bitmap[(picked & low).astype(np.intp)] = True
    candidates = hashes[bitmap[(hashes & low).astype(np.intp)]]
    hits = pd.Index(picked).get_indexer(candidates)
    copies = np.bincount(hits[hits >= 0], minlength=len(picked))
    return float(np.mean(1.0 - 1.0 / copies[inverse]))


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


def subsample_rows(n_rows: int, size: int = 20_000, seed: int = 0) -> np.ndarray | None:
    """Row positions of a fixed-seed random subsample for a warm start (None if small)."""
    if n_rows <= 2 * size:
        return None
    return np.sort(np.random.default_rng(seed).choice(n_rows, size=size, replace=False))


class FittedMixin:
    """``params_`` access guard shared by the estimators."""

    _param_names: tuple[str, ...] = ()

    def _check_fitted(self) -> np.ndarray:
        params = getattr(self, "params_", None)
        if params is None:
            raise NotFittedError(f"{type(self).__name__} is not fitted yet: call fit(...) first.")
        return params[list(self._param_names)].to_numpy(dtype=float)

    def _store(self, result: MLEResult, unscale: np.ndarray | None = None) -> None:
        """Keep a fit's results; ``unscale`` maps optimiser units to the caller's (per param)."""
        names = list(self._param_names)
        factor = np.ones(len(names)) if unscale is None else np.asarray(unscale, float)
        jac = np.diag(1.0 / factor)
        covariance = result.covariance if result.covariance is not None else np.full(
            (len(names), len(names)), np.nan)
        self.params_ = pd.Series(result.params * factor, index=names, name="estimate")
        self.standard_errors_ = pd.Series(result.standard_errors * factor, index=names, name="se")
        self.log_likelihood_ = result.log_likelihood
        self.hessian_ = jac @ result.hessian @ jac
        self.covariance_ = pd.DataFrame(
            np.outer(factor, factor) * covariance, index=names, columns=names)
        self.fit_notes_ = list(result.notes)
        self.n_iter_ = result.iterations

    def summary(self) -> pd.DataFrame:
        """Estimates with standard errors and 95% Wald intervals."""
        self._check_fitted()
        frame = pd.DataFrame({"estimate": self.params_, "se": self.standard_errors_})
        frame["lower_95"] = frame["estimate"] - 1.96 * frame["se"]
        frame["upper_95"] = frame["estimate"] + 1.96 * frame["se"]
        return frame


def fit_purchase_model(
    estimator: FittedMixin,
    frequency: object,
    recency: object,
    T: object,
    weights: object,
    *,
    make_data: Callable[..., object],
    derivatives: Callable[[np.ndarray, object], tuple[float, np.ndarray, np.ndarray]],
    time_params: Sequence[int],
    model_name: str,
    no_repeat_reason: str,
    warm_rows: int = 20_000,
    compute_se: bool = True,
    min_group_share: float = 0.0,
) -> FittedMixin:
    """The fit shared by the purchase models (BG/NBD, Pareto/NBD); returns ``estimator``.

    Groups identical (frequency, recency, T) rows with weights, rescales time so that
    max(T) = 10 for the optimiser, warms up on a fixed-seed subsample of rows when there are
    many, maximises the likelihood, and stores the results in the caller's time unit.

    Parameters
    ----------
    estimator : BetaGeo or ParetoNBD
        Supplies ``penalizer``, ``initial_params`` and ``_param_names``; fitted in place.
    make_data : callable
        ``make_data(x, t_x, T, weights)`` -> the model's prepared data.
    derivatives : callable
        ``derivatives(params, data)`` -> (log-likelihood, gradient, Hessian).
    time_params : sequence of int
        Positions of the parameters measured in time units (rescaled with time).
    model_name : str
        For messages, e.g. ``"BG/NBD (BetaGeo)"``.
    no_repeat_reason : str
        Why the maximum does not exist when nobody repeats.
    warm_rows : int
        Size of the warm-up subsample.
    compute_se : bool
        False skips the standard errors.
    min_group_share : float
        Identical rows are grouped only when grouping would remove at least this share
        of them (estimated by :func:`duplicate_share`); 0 always groups. Grouping costs
        about as much as a few likelihood evaluations, so a model with cheap evaluations
        skips it when most rows are distinct.
    """
    x, tx, big_t, _ = check_rfm(frequency, recency, T)
    w = check_weights(weights, len(x))
    ux, utx, ut, counts = _rows_to_fit(x, tx, big_t, w, min_group_share)
    scale = time_scale(big_t)
    utx = utx * scale
    ut = ut * scale
    if estimator.initial_params is None:
        start = np.ones(len(estimator._param_names))
    else:
        start = np.asarray(estimator.initial_params, dtype=float).copy()
        start[list(time_params)] *= scale
    repeaters = float(counts[ux > 0].sum())
    context = f"{repeaters:.0f} of {counts.sum():.0f} customers have repeat purchases."
    if repeaters == 0:
        raise ConvergenceError(
            f"{model_name} did not converge: the maximum does not exist ({no_repeat_reason})."
            f" {context}\n{CHECKLIST}"
        )
    prepared = make_data(ux, utx, ut, counts)
    warm = None
    rows = subsample_rows(len(ux), size=warm_rows)
    if rows is not None:
        # inverse-probability weights keep the subsample's total comparable
        factor = len(ux) / len(rows)
        sub = make_data(ux[rows], utx[rows], ut[rows], counts[rows] * factor)
        warm = (lambda p: derivatives(p, sub), float(counts[rows].sum() * factor))
    result = maximize_likelihood(
        lambda p: derivatives(p, prepared),
        start,
        estimator._param_names,
        total_weight=float(counts.sum()),
        penalizer=estimator.penalizer,
        model_name=model_name,
        context=context,
        warm_start=warm,
        compute_se=compute_se,
    )
    unscale = np.ones(len(start))
    unscale[list(time_params)] = 1.0 / scale
    estimator._store(result, unscale=unscale)
    # rescaling time by c shifts the log-likelihood by -log(c) per repeat purchase
    estimator.log_likelihood_ = result.log_likelihood + np.log(scale) * float(wdot(counts, ux))
    estimator.time_scale_ = scale
    estimator.n_customers_ = float(counts.sum())
    estimator.n_rows_ = len(ux)
    return estimator


def _rows_to_fit(
    x: np.ndarray, tx: np.ndarray, big_t: np.ndarray, w: np.ndarray, min_group_share: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(frequency, recency, T, weight) of the rows to fit: identical rows grouped, unless
    grouping would remove less than ``min_group_share`` of them; zero weights dropped."""
    columns = {"frequency": x, "recency": tx, "T": big_t}
    if min_group_share > 0 and duplicate_share(columns) < min_group_share:
        keep = w > 0
        if keep.all():
            return x, tx, big_t, w
        return x[keep], tx[keep], big_t[keep], w[keep]
    unique, counts = group_rows(columns, w)
    return (unique["frequency"].to_numpy(float), unique["recency"].to_numpy(float),
            unique["T"].to_numpy(float), counts)


def purchase_loglik_derivatives(
    estimator: FittedMixin,
    frequency: object,
    recency: object,
    T: object,
    weights: object,
    params: object,
    *,
    make_data: Callable[..., object],
    derivatives: Callable[[np.ndarray, object], tuple[float, np.ndarray, np.ndarray]],
    time_params: Sequence[int],
) -> tuple[float, np.ndarray, np.ndarray]:
    """The penalised objective of :func:`fit_purchase_model` with its gradient and Hessian
    in log-parameter space, at ``params`` (default the fitted ``params_``)."""
    x, tx, big_t, _ = check_rfm(frequency, recency, T)
    w = check_weights(weights, len(x))
    values = estimator._check_fitted() if params is None else np.asarray(params, float)
    scale = getattr(estimator, "time_scale_", None) or time_scale(big_t)
    ll, grad, hess = derivatives(values, make_data(x, tx, big_t, w))
    penalty_scale = np.ones(len(values))
    penalty_scale[list(time_params)] = scale
    return penalized_log_space(ll, grad, hess, values, estimator.penalizer, float(w.sum()),
                               penalty_scale)


def wrap_like(values: np.ndarray, index: pd.Index, template: object, name: str) -> object:
    """Return a Series on ``index`` when the input was a Series, else the array."""
    if isinstance(template, pd.Series):
        return pd.Series(values, index=index, name=name)
    return values


def discount_rate_per_period(annual_discount_rate: float, periods_per_year: float) -> float:
    """Continuous per-period rate ln(1 + annual) / periods_per_year (0.0027 a week at 15%)."""
    if not np.isfinite(annual_discount_rate) or annual_discount_rate <= 0:
        raise ModelInputError(
            f"annual_discount_rate must be > 0 (an effective annual rate such as 0.15), "
            f"got {annual_discount_rate!r}."
        )
    if not periods_per_year or periods_per_year <= 0:
        raise ModelInputError(f"periods_per_year must be > 0, got {periods_per_year!r}.")
    return float(np.log1p(annual_discount_rate) / periods_per_year)


def gauss_legendre_unit(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights on [0, 1]."""
    nodes, weights = np.polynomial.legendre.leggauss(n)
    return (nodes + 1) / 2, weights / 2


def time_scale(T: np.ndarray) -> float:
    """Factor that brings the largest T to 10 for the optimiser (as lifetimes does)."""
    top = float(np.max(T))
    return 10.0 / top if top > 0 else 1.0
