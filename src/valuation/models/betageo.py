"""BG/NBD purchase model (beta-geometric / negative binomial distribution).

The estimator and its predictions; the likelihood lives in :mod:`._bgnbd_likelihood` (its
names are re-exported here), the predictions' stable forms in :mod:`._limits`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit

from valuation.errors import ModelError, ModelInputError
from valuation.models._bgnbd_likelihood import (  # noqa: F401  (re-exported)
    BLOCK_ROWS,
    MIN_GROUP_SHARE,
    BGNBDBlocks,
    bgnbd_derivatives,
    bgnbd_loglik,
    prepare_bgnbd,
)
from valuation.models._discount import discounted_expected_increments
from valuation.models._limits import bgnbd_conditional_core
from valuation.models._mle import (
    FittedMixin,
    check_rfm,
    discount_rate_per_period,
    fit_purchase_model,
    group_rows,
    purchase_loglik_derivatives,
    wrap_like,
)
from valuation.units import WEEKS_PER_YEAR


def _times(t: object) -> np.ndarray:
    times = np.asarray(t, dtype=float)
    if np.any(~np.isfinite(times)) or np.any(times < 0):
        raise ModelInputError("t (the forecast horizon in periods) must be finite and >= 0.")
    return times


class BetaGeo(FittedMixin):
    """BG/NBD model of repeat purchasing in a non-contractual setting.

    Implements Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005), "'Counting your
    customers' the easy way: an alternative to the Pareto/NBD model", *Marketing Science*
    24(2), 275-284. While alive, a customer buys as a Poisson process with rate
    lambda ~ Gamma(r, alpha); after each purchase the customer drops out with probability
    p ~ Beta(a, b).

    Parameters
    ----------
    penalizer : float, default 0
        L2 penalty coefficient on the parameters (as in ``lifetimes``), applied to the mean
        negative log-likelihood with time rescaled so that max(T) = 10.
    initial_params : sequence of 4 floats, optional
        Starting values of (r, alpha, a, b), alpha in the caller's time unit.

    Attributes
    ----------
    params_ : Series (r, alpha, a, b)
    standard_errors_ : Series
    log_likelihood_ : float
    hessian_ : ndarray, Hessian of the (penalised) negative log-likelihood at the optimum
    covariance_ : DataFrame, asymptotic covariance of ``params_`` (inverse Hessian, or its
        pseudo-inverse on a flat optimum; see ``fit_notes_``)
    fit_notes_ : list of str, what was unusual about the fit (empty when clean)
    time_scale_ : float, factor that brought max(T) to 10 for the optimiser
    n_customers_ : float, n_rows_ : int (rows fitted: the distinct rows when identical rows
        were grouped, see MIN_GROUP_SHARE)
    """

    _param_names = ("r", "alpha", "a", "b")

    def __init__(self, penalizer: float = 0.0, initial_params: object | None = None) -> None:
        self.penalizer = penalizer
        self.initial_params = initial_params

    def fit(
        self,
        frequency: object,
        recency: object,
        T: object,
        weights: object = None,
        *,
        compute_se: bool = True,
    ) -> BetaGeo:
        """Fit by maximum likelihood.

        Parameters
        ----------
        frequency, recency, T : array-like or Series
            Repeat purchases, time of the last repeat purchase since the first, time from
            the first purchase to the end of calibration. Customers with T = 0 (first
            purchase on the calibration end; frequency and recency 0) are valid and add 0
            to the log-likelihood.
        weights : array-like, optional
            Number of customers each row stands for.
        compute_se : bool, default True
            False skips the standard errors (``standard_errors_``, ``hessian_`` and
            ``covariance_`` are NaN), e.g. for bootstrap refits.

        Returns
        -------
        self

        Raises
        ------
        ConvergenceError
            When the optimum is not found (see :func:`valuation.models._mle.maximize_likelihood`).
            A flat optimum is kept with a :class:`valuation.errors.ConvergenceWarning` and a
            note in ``fit_notes_``.
        """
        return fit_purchase_model(
            self, frequency, recency, T, weights,
            make_data=prepare_bgnbd, derivatives=bgnbd_derivatives, time_params=(1,),
            model_name="BG/NBD (BetaGeo)",
            no_repeat_reason="r -> 0, and the dropout parameters a, b are not identified",
            compute_se=compute_se, min_group_share=MIN_GROUP_SHARE,
        )

    def loglik_derivatives(
        self,
        frequency: object,
        recency: object,
        T: object,
        weights: object = None,
        params: object = None,
    ) -> tuple[float, np.ndarray, np.ndarray]:
        """Log-likelihood with its gradient and Hessian in log-parameter space.

        For a one-step Newton bootstrap: with bootstrap weights ``w*`` and
        ``(ll, g, H) = model.loglik_derivatives(x, tx, T, w*)`` at the fitted parameters,
        ``theta* = log(params_) - solve(H, g)`` and ``params* = exp(theta*)``.

        Parameters
        ----------
        frequency, recency, T : array-like or Series
            As in :meth:`fit`.
        weights : array-like, optional
            Customers each row stands for (default 1).
        params : array-like of 4, optional
            ``(r, alpha, a, b)`` in the caller's time unit; default ``params_``.

        Returns
        -------
        loglik : float
            The objective :meth:`fit` maximises: the weighted log-likelihood, minus the
            L2 penalty ``sum(w) * penalizer * sum(scaled params ** 2)`` when
            ``penalizer > 0`` (alpha scaled by ``time_scale_`` as in the fit).
        gradient : ndarray (4,)
            Derivatives w.r.t. ``theta = log(r, alpha, a, b)``.
        hessian : ndarray (4, 4)
            Second derivatives w.r.t. ``theta`` (negative definite at a clean optimum).
        """
        return purchase_loglik_derivatives(
            self, frequency, recency, T, weights, params,
            make_data=prepare_bgnbd, derivatives=bgnbd_derivatives, time_params=(1,),
        )

    # ------------------------------------------------------------------ predictions
    def expected_purchases(self, t: object) -> np.ndarray:
        """Expected repeat purchases E[X(t)] of a new customer in (0, t].

        The paper's closed form ``(a+b-1)/(a-1) * [1 - (alpha/(alpha+t))^r 2F1(r, b;
        a+b-1; t/(alpha+t))]`` in its Euler-transformed version, or, where that loses
        precision (a, b large), the expectation over the dropout probability by quadrature
        (:func:`valuation.models._limits.bgnbd_conditional_core` with x = 0, T = 0).
        """
        times = _times(t)
        return bgnbd_conditional_core(self._check_fitted(), times, 0.0, 0.0)

    def _conditional_core(self, t: np.ndarray, x: np.ndarray, big_t: np.ndarray) -> np.ndarray:
        """E[Y(t) | alive-weighted] without the P(alive) factor (depends on x, T only);
        stable at every parameter value (:mod:`valuation.models._limits`)."""
        return bgnbd_conditional_core(self._check_fitted(), t, x, big_t)

    def p_alive(self, frequency: object, recency: object, T: object) -> object:
        """Probability that each customer is still alive at the end of calibration."""
        r, alpha, a, b = self._check_fitted()
        x, tx, big_t, index = check_rfm(frequency, recency, T)
        positive = x > 0
        bx1 = np.where(positive, b + x - 1, 1.0)
        log_ratio = np.log(a) - np.log(bx1) + (r + x) * (np.log(alpha + big_t) - np.log(alpha + tx))
        prob = np.where(positive, expit(-log_ratio), 1.0)
        return wrap_like(prob, index, frequency, "p_alive")

    def conditional_expected_purchases(
        self, t: object, frequency: object, recency: object, T: object
    ) -> object:
        """Expected purchases in the next ``t`` periods given each customer's history."""
        x, tx, big_t, index = check_rfm(frequency, recency, T)
        times = _times(t)
        alive = np.asarray(self.p_alive(x, tx, big_t))
        value = self._conditional_core(times, x, big_t) * alive
        if not np.all(np.isfinite(value)):
            raise ModelError("Conditional expected purchases are not finite for some customers.")
        return wrap_like(value, index, frequency, "expected_purchases")

    def discounted_expected_transactions(
        self,
        frequency: object,
        recency: object,
        T: object,
        annual_discount_rate: float,
        periods_per_year: float = WEEKS_PER_YEAR,
        *,
        horizon_periods: float | None = None,
    ) -> object:
        """Discounted expected residual transactions (DERT) per customer.

        The discounted sum (continuous discounting at ``ln(1 + rate) / periods_per_year``
        a period) of the increments of the conditional expected purchases, integrated per
        customer by quadrature with a convergence check
        (:func:`valuation.models._discount.discounted_expected_increments`).

        Parameters
        ----------
        frequency, recency, T : array-like or Series
        annual_discount_rate : float
            Effective annual rate (0.15 for 15%).
        periods_per_year : float
            Periods of the model's time unit in a year (52 for weeks).
        horizon_periods : float, optional
            Finite horizon in periods; ``None`` (default) for unlimited.
        """
        r, alpha, a, b = self._check_fitted()
        x, tx, big_t, index = check_rfm(frequency, recency, T)
        delta = discount_rate_per_period(annual_discount_rate, periods_per_year)
        unique, _ = group_rows({"x": x, "T": big_t}, np.ones(len(x)))
        ux, ut = unique["x"].to_numpy(float), unique["T"].to_numpy(float)

        def core(rows: np.ndarray, t: np.ndarray) -> np.ndarray:
            return self._conditional_core(t, ux[rows, None], ut[rows, None])

        per_xt = discounted_expected_increments(core, alpha + ut, delta, horizon_periods)
        lookup = pd.Series(per_xt, index=pd.MultiIndex.from_arrays([ux, ut]))
        values = lookup.reindex(pd.MultiIndex.from_arrays([x, big_t])).to_numpy()
        dert = values * np.asarray(self.p_alive(x, tx, big_t))
        return wrap_like(dert, index, frequency, "dert")


def simulate_bgnbd(
    params: dict[str, float] | pd.Series,
    T: np.ndarray,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Simulate BG/NBD calibration data (frequency, recency) for customers observed for T.

    A customer can make N ~ Geometric(p) purchases before dropping out (p ~ Beta(a, b));
    purchase times are a Poisson process of rate lambda ~ Gamma(r, alpha). Given K
    arrivals in (0, T], x = min(N, K) and the x-th arrival is T * Beta(x, K - x + 1).

    Parameters
    ----------
    params : mapping with r, alpha, a, b
    T : ndarray of observation lengths (one per customer)
    rng : numpy Generator (seed it)
    """
    T = np.asarray(T, dtype=float)
    lam = rng.gamma(params["r"], 1.0 / params["alpha"], size=len(T))
    p = rng.beta(params["a"], params["b"], size=len(T))
    n_max = rng.geometric(p)
    k = rng.poisson(lam * T)
    x = np.minimum(n_max, k)
    recency = np.zeros(len(T))
    pos = x > 0
    recency[pos] = T[pos] * rng.beta(x[pos], k[pos] - x[pos] + 1)
    return pd.DataFrame({"frequency": x.astype(float), "recency": recency, "T": T})
