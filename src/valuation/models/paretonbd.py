"""Pareto/NBD purchase model (Poisson purchasing, exponential lifetimes, gamma mixing)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import digamma, gammaln, hyperu

from valuation.errors import ModelError, ModelInputError
from valuation.models._discount import discounted_expected_increments
from valuation.models._mle import (
    FittedMixin,
    check_rfm,
    check_weights,
    discount_rate_per_period,
    gauss_legendre_unit,
    group_rows,
    maximize_likelihood,
    subsample_rows,
    time_scale,
    wrap_like,
)

#: Gauss-Legendre nodes of the death-time integral (see _death_integral)
N_NODES = 32


def _phi(z: np.ndarray) -> np.ndarray:
    """(1 - exp(-z)) / z, stable at 0 (value 1)."""
    z = np.asarray(z, dtype=float)
    small = np.abs(z) < 1e-10
    safe = np.where(small, 1.0, z)
    return np.where(small, 1.0 - z / 2, -np.expm1(-safe) / safe)


def _death_integral(
    params: np.ndarray, x: np.ndarray, tx: np.ndarray, T: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """log I and d log I / d(r, alpha, s, beta), I = int_tx^T (a+t)^-(r+x) (b+t)^-(s+1) dt.

    The integral over the unobserved death time between the last purchase and T (the
    second term of the Pareto/NBD likelihood; Fader & Hardie's note writes it with two
    Gauss hypergeometric functions whose difference cancels badly). With the pivot
    ``p = min(alpha, beta)`` (the same split as the note's alpha >= beta cases) it is
    computed in log space in ``y = ln((p + t) / (p + tx))``, where it reads
    ``(p+tx)^(1-e) int_0^Y exp(-(e-1) y) (o + t)^-e' dy`` (e, e' the exponents of the pivot
    and of the other factor o): the remaining factor has no pole near the range, and the
    range is cut where the integrand has fallen below e^-36 of its start (it decays at
    least at the rate ``m`` below), so a 32-node Gauss-Legendre rule is accurate to
    ~1e-12 even for frequencies of several hundred. The derivatives are integrals of the
    same kind (differentiation under the integral sign, fixed limits) on the same nodes:
    analytic, no numerical differentiation of 2F1.
    """
    r, alpha, s, beta = (float(v) for v in params)
    if alpha <= beta:
        pivot, other, e_pivot, e_other = alpha, beta, r + x, np.full(len(x), s + 1.0)
    else:
        pivot, other, e_pivot, e_other = beta, alpha, np.full(len(x), s + 1.0), r + x
    c = pivot + tx
    Y = np.log1p((T - tx) / c)
    rate = (e_pivot - 1.0) + e_other * c / (other + tx)
    Y = np.where(rate > 0, np.minimum(Y, 36.0 / np.maximum(rate, 1e-300)), Y)
    xi, omega = gauss_legendre_unit(N_NODES)
    y = Y[:, None] * xi[None, :]
    grow = np.exp(y)
    pivot_tau = c[:, None] * grow
    other_tau = other + tx[:, None] * grow + pivot * np.expm1(y)
    log_f = -(e_pivot - 1.0)[:, None] * y - e_other[:, None] * np.log(other_tau)
    top = log_f.max(axis=1, keepdims=True)
    g = omega[None, :] * np.exp(log_f - top)
    total = g.sum(axis=1)
    with np.errstate(divide="ignore"):
        log_i = (1.0 - e_pivot) * np.log(c) + np.log(Y) + top[:, 0] + np.log(total)
    pi = g / total[:, None]
    alpha_tau, beta_tau = (pivot_tau, other_tau) if alpha <= beta else (other_tau, pivot_tau)
    d_r = -(pi * np.log(alpha_tau)).sum(axis=1)
    d_alpha = -(r + x) * (pi / alpha_tau).sum(axis=1)
    d_s = -(pi * np.log(beta_tau)).sum(axis=1)
    d_beta = -(s + 1) * (pi / beta_tau).sum(axis=1)
    return log_i, np.vstack([d_r, d_alpha, d_s, d_beta])


def _log_parts(
    params: np.ndarray, x: np.ndarray, tx: np.ndarray, T: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(B, D, dlogI, has_gap): log of the alive-at-T term and of the died-before-T term."""
    r, alpha, s, beta = (float(v) for v in params)
    b_term = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    d_term = np.full(len(x), -np.inf)
    d_log_i = np.zeros((4, len(x)))
    gap = T > tx
    if gap.any():
        log_i, grads = _death_integral(params, x[gap], tx[gap], T[gap])
        d_term[gap] = np.log(s) + log_i
        d_log_i[:, gap] = grads
    return b_term, d_term, d_log_i, gap


def paretonbd_loglik(
    params: np.ndarray,
    frequency: np.ndarray,
    recency: np.ndarray,
    T: np.ndarray,
    weights: np.ndarray,
) -> tuple[float, np.ndarray]:
    """Weighted Pareto/NBD log-likelihood and its analytic gradient w.r.t. (r, alpha, s, beta).

    ``L = Gamma(r+x) alpha^r beta^s / Gamma(r) * [(alpha+T)^-(r+x) (beta+T)^-s
    + s * int_tx^T (alpha+t)^-(r+x) (beta+t)^-(s+1) dt]``, combined with ``logaddexp``.
    """
    r, alpha, s, beta = (float(v) for v in params)
    ux, inverse = np.unique(frequency, return_inverse=True)
    wx = np.bincount(inverse, weights=weights, minlength=len(ux))
    n = float(weights.sum())
    ll = float(np.dot(wx, gammaln(r + ux) - gammaln(r))) + n * (r * np.log(alpha) + s * np.log(beta))
    grad = np.array(
        [
            float(np.dot(wx, digamma(r + ux) - digamma(r))) + n * np.log(alpha),
            n * r / alpha,
            n * np.log(beta),
            n * s / beta,
        ]
    )
    b_term, d_term, d_log_i, _ = _log_parts(params, frequency, recency, T)
    lse = np.logaddexp(b_term, d_term)
    p1 = np.exp(b_term - lse)
    p2 = np.exp(d_term - lse)
    ll += float(np.dot(weights, lse))
    grad[0] += np.dot(weights, -p1 * np.log(alpha + T) + p2 * d_log_i[0])
    grad[1] += np.dot(weights, -p1 * (r + frequency) / (alpha + T) + p2 * d_log_i[1])
    grad[2] += np.dot(weights, -p1 * np.log(beta + T) + p2 * (1.0 / s + d_log_i[2]))
    grad[3] += np.dot(weights, -p1 * s / (beta + T) + p2 * d_log_i[3])
    return ll, grad


class ParetoNBD(FittedMixin):
    """Pareto/NBD model of repeat purchasing in a non-contractual setting.

    Implements Schmittlein, D. C., Morrison, D. G. & Colombo, R. (1987), "Counting your
    customers: who are they and what will they do next?", *Management Science* 33(1),
    1-24, with the likelihood of Fader & Hardie's note (2005) and the closed-form
    discounted expected residual transactions of Fader, P. S., Hardie, B. G. S. & Lee,
    K. L. (2005), "RFM and CLV: using iso-value curves for customer base analysis",
    *Journal of Marketing Research* 42(4), 415-430 (eq. 2). Purchases are Poisson with
    rate lambda ~ Gamma(r, alpha) while alive; lifetimes are exponential with rate
    mu ~ Gamma(s, beta).

    Parameters
    ----------
    penalizer : float, default 0
        L2 penalty coefficient (as ``lifetimes``), on time rescaled so max(T) = 10.
    initial_params : sequence of 4 floats, optional
        Starting (r, alpha, s, beta), alpha and beta in the caller's time unit.

    Attributes
    ----------
    params_ : Series (r, alpha, s, beta)
    standard_errors_ : Series
    log_likelihood_ : float
    hessian_ : ndarray
    """

    _param_names = ("r", "alpha", "s", "beta")

    def __init__(self, penalizer: float = 0.0, initial_params: object | None = None) -> None:
        self.penalizer = penalizer
        self.initial_params = initial_params

    def fit(self, frequency: object, recency: object, T: object, weights: object = None) -> ParetoNBD:
        """Fit by maximum likelihood (see :class:`BetaGeo.fit` for the arguments)."""
        x, tx, big_t, _ = check_rfm(frequency, recency, T)
        w = check_weights(weights, len(x))
        unique, counts = group_rows({"frequency": x, "recency": tx, "T": big_t}, w)
        ux = unique["frequency"].to_numpy(float)
        scale = time_scale(big_t)
        utx = unique["recency"].to_numpy(float) * scale
        ut = unique["T"].to_numpy(float) * scale
        if self.initial_params is None:
            start = np.array([1.0, 1.0, 1.0, 1.0])
        else:
            start = np.asarray(self.initial_params, dtype=float).copy()
            start[[1, 3]] *= scale
        repeaters = float(counts[ux > 0].sum())
        warm = None
        rows = subsample_rows(len(ux))
        if rows is not None:
            factor = len(ux) / len(rows)
            sub = (ux[rows], utx[rows], ut[rows], counts[rows] * factor)
            warm = (lambda p: paretonbd_loglik(p, *sub), float(counts[rows].sum() * factor))
        result = maximize_likelihood(
            lambda p: paretonbd_loglik(p, ux, utx, ut, counts),
            start,
            self._param_names,
            total_weight=float(counts.sum()),
            penalizer=self.penalizer,
            model_name="Pareto/NBD (ParetoNBD)",
            context=f"{repeaters:.0f} of {counts.sum():.0f} customers have repeat purchases.",
            warm_start=warm,
        )
        unscale = np.array([1.0, 1.0 / scale, 1.0, 1.0 / scale])
        params = result.params * unscale
        self._store(result)
        self.params_[:] = params
        self.standard_errors_[:] = result.standard_errors * unscale
        jac = np.diag(1.0 / unscale)
        self.hessian_ = jac @ result.hessian @ jac
        self.log_likelihood_, _ = paretonbd_loglik(
            params, ux, unique["recency"].to_numpy(float), unique["T"].to_numpy(float), counts
        )
        self.n_customers_ = float(counts.sum())
        self.n_rows_ = len(ux)
        return self

    # ------------------------------------------------------------------ predictions
    def expected_purchases(self, t: object) -> np.ndarray:
        """Expected purchases E[X(t)] of a new customer: r beta/(alpha(s-1)) [1 - (beta/(beta+t))^(s-1)]."""
        r, alpha, s, beta = self._check_fitted()
        times = np.asarray(t, dtype=float)
        if np.any(~np.isfinite(times)) or np.any(times < 0):
            raise ModelInputError("t must be finite and >= 0.")
        return r / alpha * self._lifetime_factor(beta, times)

    def _lifetime_factor(self, base: np.ndarray | float, t: np.ndarray) -> np.ndarray:
        """base * (1 - (base/(base+t))^(s-1)) / (s-1), stable for s near 1."""
        s = float(self.params_["s"])
        log_ratio = np.log1p(t / base)  # -ln q
        return base * log_ratio * _phi((s - 1.0) * log_ratio)

    def p_alive(self, frequency: object, recency: object, T: object) -> object:
        """Probability that each customer is alive at T (the first likelihood term's share)."""
        params = self._check_fitted()
        x, tx, big_t, index = check_rfm(frequency, recency, T)
        b_term, d_term, _, _ = _log_parts(params, x, tx, big_t)
        prob = np.exp(b_term - np.logaddexp(b_term, d_term))
        return wrap_like(prob, index, frequency, "p_alive")

    def conditional_expected_purchases(
        self, t: object, frequency: object, recency: object, T: object
    ) -> object:
        """E[Y(t) | x, t_x, T] = (r+x)(beta+T)/((alpha+T)(s-1)) [1 - ((beta+T)/(beta+T+t))^(s-1)] P(alive)."""
        r, alpha, s, beta = self._check_fitted()
        x, tx, big_t, index = check_rfm(frequency, recency, T)
        times = np.asarray(t, dtype=float)
        if np.any(~np.isfinite(times)) or np.any(times < 0):
            raise ModelInputError("t must be finite and >= 0.")
        alive = np.asarray(self.p_alive(x, tx, big_t))
        value = (r + x) / (alpha + big_t) * self._lifetime_factor(beta + big_t, times) * alive
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

        Unlimited horizon: the closed form of Fader, Hardie & Lee (2005, JMR, eq. 2),
        ``P(alive) (r+x)/(alpha+T) (beta+T)^s delta^(s-1) U(s, s; delta (beta+T))`` with
        the confluent hypergeometric U, evaluated as ``z^s U(s,s;z) / delta`` in log space.
        Finite horizon: quadrature of the discounted increments of the conditional
        expected purchases (as :class:`BetaGeo`).
        """
        r, alpha, s, beta = self._check_fitted()
        x, tx, big_t, index = check_rfm(frequency, recency, T)
        delta = discount_rate_per_period(annual_discount_rate, periods_per_year)
        alive = np.asarray(self.p_alive(x, tx, big_t))
        if horizon_periods is None:
            z = delta * (beta + big_t)
            with np.errstate(all="ignore"):
                log_zu = s * np.log(z) + np.log(hyperu(s, s, z))
            zu = np.exp(log_zu)
            dert = alive * (r + x) / (alpha + big_t) * zu / delta
        else:

            def cond(rows: np.ndarray, t: np.ndarray) -> np.ndarray:
                xr, tr = x[rows, None], big_t[rows, None]
                return (r + xr) / (alpha + tr) * self._lifetime_factor(beta + tr, t)

            dert = alive * discounted_expected_increments(cond, beta + big_t, delta, horizon_periods)
        if not np.all(np.isfinite(dert)):
            raise ModelError(
                "Pareto/NBD DERT is not finite for some customers (confluent hypergeometric U "
                "failed); check params_ and the discount rate."
            )
        return wrap_like(dert, index, frequency, "dert")


def simulate_paretonbd(
    params: dict[str, float] | pd.Series,
    T: np.ndarray,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Simulate Pareto/NBD calibration data (frequency, recency) for customers observed for T.

    lambda ~ Gamma(r, alpha), mu ~ Gamma(s, beta), lifetime ~ Exp(mu); purchases are
    Poisson(lambda) on (0, min(lifetime, T)]; the last of x uniform times is
    ``min(lifetime, T) * U^(1/x)``.
    """
    T = np.asarray(T, dtype=float)
    lam = rng.gamma(params["r"], 1.0 / params["alpha"], size=len(T))
    mu = rng.gamma(params["s"], 1.0 / params["beta"], size=len(T))
    active = np.minimum(rng.exponential(1.0 / mu), T)
    x = rng.poisson(lam * active)
    recency = np.zeros(len(T))
    pos = x > 0
    recency[pos] = active[pos] * rng.uniform(size=pos.sum()) ** (1.0 / x[pos])
    return pd.DataFrame({"frequency": x.astype(float), "recency": recency, "T": T})
