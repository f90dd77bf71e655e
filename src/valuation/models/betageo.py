"""BG/NBD purchase model (beta-geometric / negative binomial distribution)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import digamma, expit, gammaln, hyp2f1, polygamma

from valuation.errors import ModelError, ModelInputError
from valuation.models._discount import discounted_expected_increments
from valuation.models._mle import (
    wdot,
    FittedMixin,
    check_rfm,
    discount_rate_per_period,
    fit_purchase_model,
    group_rows,
    purchase_loglik_derivatives,
    wrap_like,
)


def _times(t: object) -> np.ndarray:
    times = np.asarray(t, dtype=float)
    if np.any(~np.isfinite(times)) or np.any(times < 0):
        raise ModelInputError("t (the forecast horizon in periods) must be finite and >= 0.")
    return times


class BGNBDData:
    """RFM rows prepared once for repeated likelihood evaluations.

    Frequency-only terms are summed per distinct frequency, customers without repeat
    purchases per distinct T, and ``log(alpha + t)`` is evaluated on the distinct values
    of recency and T only (day-resolution data have a few hundred of each); the repeat
    buyers' rows only gather those values.
    """

    def __init__(self, frequency: np.ndarray, recency: np.ndarray, T: np.ndarray, weights: np.ndarray):
        self.ux, inverse = np.unique(frequency, return_inverse=True)
        self.wx = np.bincount(inverse, weights=weights, minlength=len(self.ux))
        self.n = float(weights.sum())
        zero = frequency == 0
        self.t0, inv0 = np.unique(T[zero], return_inverse=True)
        self.w0 = np.bincount(inv0, weights=weights[zero], minlength=len(self.t0))
        pos = ~zero
        self.x = frequency[pos]
        self.i_x = inverse[pos].astype(np.intp)
        self.w = weights[pos]
        self.times, inv = np.unique(np.concatenate([recency[pos], T[pos]]), return_inverse=True)
        inv = inv.astype(np.intp)
        self.i_tx, self.i_t = inv[: pos.sum()], inv[pos.sum() :]


def _prepare(frequency, recency, T, weights) -> BGNBDData:
    if isinstance(frequency, BGNBDData):
        return frequency
    w = np.ones(len(frequency)) if weights is None else np.asarray(weights, float)
    return BGNBDData(np.asarray(frequency, float), np.asarray(recency, float), np.asarray(T, float), w)


def bgnbd_derivatives(
    params: np.ndarray,
    frequency: np.ndarray | BGNBDData,
    recency: np.ndarray | None = None,
    T: np.ndarray | None = None,
    weights: np.ndarray | None = None,
    *,
    hessian: bool = True,
) -> tuple[float, np.ndarray, np.ndarray | None]:
    """Weighted BG/NBD log-likelihood, its gradient and Hessian w.r.t. (r, alpha, a, b).

    Written with ``gammaln`` and a log-sum-exp so it stays finite for frequencies of
    several hundred. With ``u1 = -(r+x) ln(alpha+T)`` and
    ``u2 = ln a - ln(b+x-1) - (r+x) ln(alpha+t_x)`` the repeat buyer's last term is
    ``lse = ln(e^u1 + e^u2)``, whose derivatives are ``pi1 du1 + pi2 du2`` and
    ``pi1 d2u1 + pi2 d2u2 + pi1 pi2 (du2 - du1)(du2 - du1)'`` (``pi`` the shares of the
    two terms); frequency-only terms use digamma / trigamma per distinct frequency.

    Parameters
    ----------
    params : ndarray
        ``(r, alpha, a, b)``, all > 0.
    frequency, recency, T, weights : ndarray
        One row per (grouped) customer; or a prepared :class:`BGNBDData` as ``frequency``.
    hessian : bool
        False skips the Hessian (returned as None).

    Returns
    -------
    (float, ndarray, ndarray or None)
        Total weighted log-likelihood, gradient (4,) and Hessian (4, 4).
    """
    data = _prepare(frequency, recency, T, weights)
    r, alpha, a, b = (float(v) for v in params)
    ux, wx, n = data.ux, data.wx, data.n
    ab = a + b
    a1 = gammaln(r + ux) - gammaln(r)
    a2 = gammaln(ab) + gammaln(b + ux) - gammaln(b) - gammaln(ab + ux)
    ll = float(wdot(wx, a1 + a2)) + n * r * np.log(alpha)
    psi_ab = digamma(ab)
    psi_abx = digamma(ab + ux)
    grad = np.array([
        float(wdot(wx, digamma(r + ux) - digamma(r))) + n * np.log(alpha),
        n * r / alpha,
        float(wdot(wx, psi_ab - psi_abx)),
        float(wdot(wx, psi_ab + digamma(b + ux) - digamma(b) - psi_abx)),
    ])
    hess = np.zeros((4, 4))
    if hessian:
        t_ab = float(wdot(wx, polygamma(1, ab) - polygamma(1, ab + ux)))
        hess[0, 0] = float(wdot(wx, polygamma(1, r + ux) - polygamma(1, r)))
        hess[0, 1] = n / alpha
        hess[1, 1] = -n * r / alpha**2
        hess[2, 2] = hess[2, 3] = t_ab
        hess[3, 3] = t_ab + float(wdot(wx, polygamma(1, b + ux) - polygamma(1, b)))
    # customers without repeat purchases: -r log(alpha + T) (0 when T = 0)
    inv_t0 = 1.0 / (alpha + data.t0)
    sum_log0 = float(wdot(data.w0, np.log(alpha + data.t0)))
    sum_inv0 = float(wdot(data.w0, inv_t0))
    ll -= r * sum_log0
    grad[0] -= sum_log0
    grad[1] -= r * sum_inv0
    if hessian:
        hess[0, 1] -= sum_inv0
        hess[1, 1] += r * float(wdot(data.w0, inv_t0**2))
    # repeat buyers: log[(alpha+T)^-(r+x) + a/(b+x-1) (alpha+tx)^-(r+x)]
    x, w = data.x, data.w
    if len(x):
        log_times = np.log(alpha + data.times)
        inv_times = 1.0 / (alpha + data.times)
        log_at = log_times[data.i_t]
        dlog = log_at - log_times[data.i_tx]
        inv_at = inv_times[data.i_t]
        inv_atx = inv_times[data.i_tx]
        dinv = inv_atx - inv_at
        with np.errstate(divide="ignore", invalid="ignore"):
            bx1 = b + ux - 1.0  # used for x >= 1 only
            cx = (np.log(a) - np.log(bx1))[data.i_x]
        positive = ux > 0
        inv_bx1 = np.where(positive, 1.0 / np.where(positive, bx1, 1.0), 0.0)
        rx = r + x
        diff = cx + rx * dlog  # u2 - u1
        # |diff| capped at 600: e stays a normal float (denormals are ~50x slower), and
        # log1p(e) and the shares are unchanged at double precision
        e = np.exp(-np.minimum(np.abs(diff), 600.0))
        lse = -rx * log_at + np.maximum(diff, 0.0) + np.log1p(e)
        pi2 = np.where(diff > 0, 1.0, e) / (1.0 + e)
        wp2 = w * pi2
        rdinv = rx * dinv
        ll += float(wdot(w, lse))
        grad[0] += -float(wdot(w, log_at)) + float(wdot(wp2, dlog))
        grad[1] -= float(wdot(w * rx, inv_at)) + float(wdot(wp2, rdinv))
        grad[2] += float(wp2.sum()) / a
        per_x2 = np.bincount(data.i_x, weights=wp2, minlength=len(ux))
        grad[3] -= float(wdot(per_x2, inv_bx1))
        if hessian:
            pi1 = np.where(diff > 0, e, 1.0) / (1.0 + e)
            q = wp2 * pi1  # w pi1 pi2
            q_dlog = q * dlog
            q_rdinv = q * rdinv
            q_x = np.bincount(data.i_x, weights=q, minlength=len(ux))
            qd_x = np.bincount(data.i_x, weights=q_dlog, minlength=len(ux))
            qa_x = np.bincount(data.i_x, weights=q_rdinv, minlength=len(ux))
            # pi1 d2u1 + pi2 d2u2
            hess[0, 1] -= float(wdot(w, inv_at)) + float(wdot(wp2, dinv))
            hess[1, 1] += float(wdot(w * rx, inv_at**2)) + float(
                wdot(wp2 * rx, inv_atx**2 - inv_at**2))
            hess[2, 2] -= float(wp2.sum()) / a**2
            hess[3, 3] += float(wdot(per_x2, inv_bx1**2))
            # pi1 pi2 d d', d = (dlog, -(r+x) dinv, 1/a, -1/(b+x-1))
            hess[0, 0] += float(wdot(q_dlog, dlog))
            hess[0, 1] -= float(wdot(q_dlog, rdinv))
            hess[1, 1] += float(wdot(q_rdinv, rdinv))
            hess[0, 2] += float(q_dlog.sum()) / a
            hess[0, 3] -= float(wdot(qd_x, inv_bx1))
            hess[1, 2] -= float(q_rdinv.sum()) / a
            hess[1, 3] += float(wdot(qa_x, inv_bx1))
            hess[2, 2] += float(q.sum()) / a**2
            hess[2, 3] -= float(wdot(q_x, inv_bx1)) / a
            hess[3, 3] += float(wdot(q_x, inv_bx1**2))
    if not hessian:
        return ll, grad, None
    hess = np.triu(hess) + np.triu(hess, 1).T
    return ll, grad, hess


def bgnbd_loglik(
    params: np.ndarray,
    frequency: np.ndarray | BGNBDData,
    recency: np.ndarray | None = None,
    T: np.ndarray | None = None,
    weights: np.ndarray | None = None,
) -> tuple[float, np.ndarray]:
    """Weighted BG/NBD log-likelihood and its analytic gradient w.r.t. (r, alpha, a, b).

    See :func:`bgnbd_derivatives` (this is it without the Hessian).
    """
    ll, grad, _ = bgnbd_derivatives(params, frequency, recency, T, weights, hessian=False)
    return ll, grad


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
    n_customers_ : float, n_rows_ : int (distinct rows after grouping)
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
            make_data=BGNBDData, derivatives=bgnbd_derivatives, time_params=(1,),
            model_name="BG/NBD (BetaGeo)",
            no_repeat_reason="r -> 0, and the dropout parameters a, b are not identified",
            compute_se=compute_se,
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
            make_data=BGNBDData, derivatives=bgnbd_derivatives, time_params=(1,),
        )

    # ------------------------------------------------------------------ predictions
    def expected_purchases(self, t: object) -> np.ndarray:
        """Expected repeat purchases E[X(t)] of a new customer in (0, t].

        Uses the Euler-transformed closed form
        ``(a+b-1)/(a-1) * [1 - (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b-1; z)]``, z = t/(alpha+t).
        """
        r, alpha, a, b = self._check_fitted()
        times = _times(t)
        a = a if abs(a - 1) > 1e-8 else 1 + 1e-8
        z = times / (alpha + times)
        value = (a + b - 1) / (a - 1) * (
            1 - (1 - z) ** (a - 1) * hyp2f1(a + b - 1 - r, a - 1, a + b - 1, z)
        )
        return value

    def _conditional_core(self, t: np.ndarray, x: np.ndarray, big_t: np.ndarray) -> np.ndarray:
        """E[Y(t) | alive-weighted] without the P(alive) factor (depends on x, T only)."""
        r, alpha, a, b = self._check_fitted()
        a = a if abs(a - 1) > 1e-8 else 1 + 1e-8
        z = t / (alpha + big_t + t)
        value = (a + b + x - 1) / (a - 1) * (
            1 - (1 - z) ** (a - 1) * hyp2f1(a + b - 1 - r, a - 1, a + b + x - 1, z)
        )
        return value

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
        periods_per_year: float = 52,
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
