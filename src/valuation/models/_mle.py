"""Shared maximum-likelihood machinery of the purchase, spend and retention models.

One small job: turn a model's weighted log-likelihood (with its analytic gradient) into
fitted parameters, a log-likelihood and standard errors, and refuse clearly when it cannot.

* identical input rows are grouped with weights (a pandas ``groupby``), so the likelihood is
  evaluated once per distinct ``(frequency, recency, T)``;
* parameters are optimised in log space (they are all positive) with L-BFGS-B on the
  analytic gradient, then polished with a few Newton steps on the Hessian;
* the Hessian is the central finite difference of the *analytic* gradient (2k gradient
  calls), and standard errors come from its inverse;
* an optional L2 penalty ``penalizer * sum(params ** 2)`` on the mean negative
  log-likelihood, as in the ``lifetimes`` package;
* input validation with errors that name the offending customers (masked).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from valuation.errors import ConvergenceError, ModelInputError, NotFittedError
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
    _complain(ok & (big_t <= 0), index, "have T = 0 (no time observed)", problems)
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

    Parameters
    ----------
    columns : dict of name -> 1-D array
        The columns whose identical combinations are grouped.
    weights : ndarray
        One weight per input row.

    Returns
    -------
    unique : DataFrame
        One row per distinct combination (columns as given).
    counts : ndarray
        The summed weight of each distinct row.
    """
    frame = pd.DataFrame(columns)
    frame["_w"] = weights
    grouped = frame.groupby(list(columns), sort=False, observed=True)["_w"].sum()
    grouped = grouped[grouped > 0]
    unique = grouped.index.to_frame(index=False)
    return unique, grouped.to_numpy(dtype=float)


@dataclass(frozen=True)
class MLEResult:
    """The outcome of :func:`maximize_likelihood`."""

    params: np.ndarray
    log_likelihood: float
    hessian: np.ndarray
    standard_errors: np.ndarray
    iterations: int


def _finite_hessian(grad: Callable[[np.ndarray], np.ndarray], params: np.ndarray) -> np.ndarray:
    """Central finite differences of an analytic gradient, symmetrised."""
    k = len(params)
    hess = np.empty((k, k))
    for i in range(k):
        h = 1e-5 * max(abs(params[i]), 1e-8)
        up, down = params.copy(), params.copy()
        up[i] += h
        down[i] -= h
        hess[:, i] = (grad(up) - grad(down)) / (2 * h)
    return (hess + hess.T) / 2


def _forward_hessian(
    grad: Callable[[np.ndarray], np.ndarray], params: np.ndarray, g0: np.ndarray
) -> np.ndarray:
    """Forward finite differences of an analytic gradient (k calls), symmetrised."""
    k = len(params)
    hess = np.empty((k, k))
    for i in range(k):
        h = 1e-6 * max(abs(params[i]), 1e-3)
        up = params.copy()
        up[i] += h
        hess[:, i] = (grad(up) - g0) / h
    return (hess + hess.T) / 2


def maximize_likelihood(
    loglik: LogLikGrad,
    initial_params: np.ndarray,
    names: Sequence[str],
    *,
    total_weight: float,
    penalizer: float = 0.0,
    model_name: str = "model",
    context: str = "",
    warm_start: tuple[LogLikGrad, float] | None = None,
) -> MLEResult:
    """Maximise a positive-parameter log-likelihood in log space.

    Parameters
    ----------
    loglik : callable
        ``loglik(params) -> (total weighted log-likelihood, gradient w.r.t. params)``.
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
        A cheap approximation (e.g. a weighted subsample of the rows): L-BFGS-B runs on it
        first, and the full likelihood only needs the Newton phase.

    Returns
    -------
    MLEResult

    Raises
    ------
    ConvergenceError
        When the optimiser fails, a parameter runs to the edge of its range, the
        log-likelihood is not finite, or the Hessian is not positive definite.

    Notes
    -----
    L-BFGS-B (analytic gradient) brings the parameters near the optimum; Newton steps on
    a forward finite-difference Hessian of the analytic gradient (recomputed only when
    convergence slows) finish to ~1e-10; the Hessian for the standard errors is the same
    kind of difference at the optimum, of the total (not mean) penalised objective.
    """
    names = list(names)
    if penalizer < 0 or not np.isfinite(penalizer):
        raise ModelInputError(f"penalizer must be >= 0, got {penalizer!r}.")

    def fail(why: str) -> ConvergenceError:
        extra = f" {context}" if context else ""
        return ConvergenceError(f"{model_name} did not converge: {why}.{extra}\n{CHECKLIST}")

    def make_objective(fun: LogLikGrad, weight: float) -> Callable[[np.ndarray], tuple[float, np.ndarray]]:
        def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
            params = np.exp(theta)
            with np.errstate(all="ignore"):
                ll, grad = fun(params)
            value = -ll / weight + penalizer * float(np.sum(params**2))
            if not np.isfinite(value) or not np.all(np.isfinite(grad)):
                return 1e300, np.zeros_like(theta)
            gtheta = (-np.asarray(grad) / weight + 2 * penalizer * params) * params
            return float(value), gtheta

        return objective

    objective = make_objective(loglik, total_weight)

    def lbfgs(fun: Callable[[np.ndarray], tuple[float, np.ndarray]], theta0: np.ndarray):
        return minimize(
            fun,
            theta0,
            jac=True,
            method="L-BFGS-B",
            bounds=[(-LOG_BOUND, LOG_BOUND)] * len(theta0),
            options={"maxiter": 2000, "ftol": 1e-15, "gtol": 1e-10, "maxcor": 20},
        )

    theta = np.log(np.asarray(initial_params, dtype=float))
    if objective(theta)[0] >= 1e300:
        raise fail("the log-likelihood is not finite at the initial values")
    iterations = 0
    if warm_start is not None:
        warm = lbfgs(make_objective(*warm_start), theta)
        if np.all(np.isfinite(warm.x)) and objective(warm.x)[0] < 1e300:
            theta, iterations = warm.x, int(warm.nit)
    else:
        result = lbfgs(objective, theta)
        theta, iterations = result.x, int(result.nit)

    def grad_theta(t: np.ndarray) -> np.ndarray:
        return objective(t)[1]

    def newton(theta: np.ndarray) -> tuple[np.ndarray, float, np.ndarray, bool]:
        value, g = objective(theta)
        hess, last_step = None, np.inf
        for _ in range(30):
            if value >= 1e300:
                return theta, value, g, False
            if hess is None:
                hess = _forward_hessian(grad_theta, theta, g)
            try:
                step = np.linalg.solve(hess, g)
            except np.linalg.LinAlgError:
                return theta, value, g, False
            size = float(np.max(np.abs(step)))
            if not np.isfinite(size) or size > 5:
                return theta, value, g, False
            candidate = np.clip(theta - step, -LOG_BOUND, LOG_BOUND)
            cand_value, cand_g = objective(candidate)
            if cand_value > value + 1e-13 * max(abs(value), 1.0):
                return theta, value, g, size < 1e-7
            theta, value, g = candidate, cand_value, cand_g
            if size < 1e-10:
                return theta, value, g, True
            if size > 0.2 * last_step:
                hess = None  # slow (chord) convergence: refresh the Hessian
            last_step = size
        return theta, value, g, True

    theta_n, value, g, ok = newton(theta)
    if not ok or np.max(np.abs(g)) > 1e-7:
        # warm start too far, or Newton unhappy: full L-BFGS-B from the best point, then polish
        result = lbfgs(objective, theta_n if objective(theta_n)[0] < 1e300 else theta)
        iterations += int(result.nit)
        theta_n, value, g, ok = newton(result.x)
    theta = theta_n

    params = np.exp(theta)
    if value >= 1e300 or not np.all(np.isfinite(params)):
        raise fail("the log-likelihood became non-finite")
    if np.max(np.abs(g)) > 1e-4 * max(1.0, abs(value)):
        raise fail("the gradient is not zero at the end")
    at_edge = [n for n, t in zip(names, theta, strict=True) if abs(t) >= LOG_BOUND - 1e-6]
    if at_edge:
        raise fail(f"parameter(s) {', '.join(at_edge)} ran to the edge of the allowed range")

    def total_grad(p: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            _, grad = loglik(p)
        return -np.asarray(grad) + 2 * penalizer * total_weight * p

    hessian = _forward_hessian(total_grad, params, total_grad(params))
    try:
        np.linalg.cholesky(hessian)
        covariance = np.linalg.inv(hessian)
    except np.linalg.LinAlgError as exc:
        raise fail("the Hessian at the optimum is not positive definite (flat likelihood)") from exc
    ll, _ = loglik(params)
    return MLEResult(
        params=params,
        log_likelihood=float(ll),
        hessian=hessian,
        standard_errors=np.sqrt(np.diag(covariance)),
        iterations=iterations,
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

    def _store(self, result: MLEResult) -> None:
        names = list(self._param_names)
        self.params_ = pd.Series(result.params, index=names, name="estimate")
        self.standard_errors_ = pd.Series(result.standard_errors, index=names, name="se")
        self.log_likelihood_ = result.log_likelihood
        self.hessian_ = result.hessian
        self.n_iter_ = result.iterations

    def summary(self) -> pd.DataFrame:
        """Estimates with standard errors and 95% Wald intervals."""
        self._check_fitted()
        frame = pd.DataFrame({"estimate": self.params_, "se": self.standard_errors_})
        frame["lower_95"] = frame["estimate"] - 1.96 * frame["se"]
        frame["upper_95"] = frame["estimate"] + 1.96 * frame["se"]
        return frame


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
