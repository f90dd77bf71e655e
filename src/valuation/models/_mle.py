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

The jobs live in their own modules (:mod:`._inputs`, :mod:`._grouping`, :mod:`._optimize`);
this one holds the estimators' shared fit of the purchase models and re-exports the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from valuation.errors import ConvergenceError, ModelInputError, NotFittedError
from valuation.models._grouping import (  # noqa: F401  (re-exported)
    _row_hashes,
    duplicate_share,
    group_rows,
    subsample_rows,
)
from valuation.models._inputs import (  # noqa: F401  (re-exported)
    _complain,
    as_array,
    check_rfm,
    check_weights,
    mask_labels,
    wdot,
)
from valuation.models._optimize import (  # noqa: F401  (re-exported)
    CHECKLIST,
    FLAT_RTOL,
    GRAD_FAIL,
    GTOL,
    LOG_BOUND,
    Derivatives,
    LogLikGrad,
    MLEResult,
    maximize_likelihood,
    penalized_log_space,
    to_log_space,
    with_numerical_hessian,
)


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
