"""Pareto/NBD purchase model (Poisson purchasing, exponential lifetimes, gamma mixing)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import digamma, gammaln, hyperu, polygamma

from valuation.units import WEEKS_PER_YEAR
from valuation.errors import ModelError, ModelInputError
from valuation.models._discount import discounted_expected_increments
from valuation.models._mle import (
    wdot,
    FittedMixin,
    check_rfm,
    discount_rate_per_period,
    fit_purchase_model,
    gauss_legendre_unit,
    purchase_loglik_derivatives,
    wrap_like,
)

#: Gauss-Legendre nodes of the death-time integral (see _death_integral)
N_NODES = 32
#: rows of the fixed-seed subsample the optimiser warms up on (when there are 2x as many)
WARM_ROWS = 4_000


def _phi(z: np.ndarray) -> np.ndarray:
    """(1 - exp(-z)) / z, stable at 0 (value 1)."""
    z = np.asarray(z, dtype=float)
    small = np.abs(z) < 1e-10
    safe = np.where(small, 1.0, z)
    return np.where(small, 1.0 - z / 2, -np.expm1(-safe) / safe)


def _death_integral(
    params: np.ndarray, x: np.ndarray, tx: np.ndarray, T: np.ndarray, *, second: bool = False
) -> tuple[np.ndarray, ...]:
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
    with ``pi`` the normalised integrand at the nodes and ``S`` the score
    ``d log f / d theta`` there, ``d log I = E_pi[S]`` and (``second=True``, a third
    return value of shape (4, 4, n)) ``d2 log I = E_pi[d2 log f] + Cov_pi(S)``.
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
    log_other = np.log(other_tau)
    log_f = -(e_pivot - 1.0)[:, None] * y - e_other[:, None] * log_other
    top = log_f.max(axis=1, keepdims=True)
    g = omega[None, :] * np.exp(log_f - top)
    total = g.sum(axis=1)
    with np.errstate(divide="ignore"):
        log_i = (1.0 - e_pivot) * np.log(c) + np.log(Y) + top[:, 0] + np.log(total)
    pi = g / total[:, None]
    log_pivot = np.log(c)[:, None] + y
    if alpha <= beta:
        alpha_tau, beta_tau, log_alpha, log_beta = pivot_tau, other_tau, log_pivot, log_other
    else:
        alpha_tau, beta_tau, log_alpha, log_beta = other_tau, pivot_tau, log_other, log_pivot
    inv_alpha, inv_beta = 1.0 / alpha_tau, 1.0 / beta_tau
    scores = (-log_alpha, -(r + x)[:, None] * inv_alpha, -log_beta, -(s + 1) * inv_beta)
    first = np.vstack([(pi * score).sum(axis=1) for score in scores])
    if not second:
        return log_i, first
    hess = np.empty((4, 4, len(x)))
    for i in range(4):
        weighted = pi * scores[i]
        for j in range(i, 4):
            hess[i, j] = (weighted * scores[j]).sum(axis=1) - first[i] * first[j]
    # E_pi[d2 log f]: d2/dr dalpha = -1/(alpha+t), d2/dalpha2 = (r+x)/(alpha+t)^2, same for s, beta
    mean_inv_alpha = -first[1] / (r + x)
    mean_inv_beta = -first[3] / (s + 1)
    hess[0, 1] -= mean_inv_alpha
    hess[1, 1] += (pi * inv_alpha**2).sum(axis=1) * (r + x)
    hess[2, 3] -= mean_inv_beta
    hess[3, 3] += (pi * inv_beta**2).sum(axis=1) * (s + 1)
    for i in range(4):
        for j in range(i):
            hess[i, j] = hess[j, i]
    return log_i, first, hess


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


class PNBDData:
    """RFM rows prepared once for repeated Pareto/NBD likelihood evaluations."""

    def __init__(self, frequency: np.ndarray, recency: np.ndarray, T: np.ndarray, weights: np.ndarray):
        self.x, self.tx, self.T, self.w = frequency, recency, T, weights
        self.ux, inverse = np.unique(frequency, return_inverse=True)
        self.wx = np.bincount(inverse, weights=weights, minlength=len(self.ux))
        self.n = float(weights.sum())
        self.gap = T > recency
        self.gx, self.gtx, self.gT = frequency[self.gap], recency[self.gap], T[self.gap]


#: rows of the death integral evaluated at once (bounds the (rows, nodes) temporaries)
_CHUNK = 2048


def paretonbd_derivatives(
    params: np.ndarray,
    frequency: np.ndarray | PNBDData,
    recency: np.ndarray | None = None,
    T: np.ndarray | None = None,
    weights: np.ndarray | None = None,
    *,
    hessian: bool = True,
) -> tuple[float, np.ndarray, np.ndarray | None]:
    """Weighted Pareto/NBD log-likelihood, gradient and Hessian w.r.t. (r, alpha, s, beta).

    ``L = Gamma(r+x) alpha^r beta^s / Gamma(r) * [(alpha+T)^-(r+x) (beta+T)^-s
    + s * int_tx^T (alpha+t)^-(r+x) (beta+t)^-(s+1) dt]``, combined with ``logaddexp``.
    With ``B`` and ``D`` the logs of the two terms and ``p1, p2`` their shares, the
    bracket's derivatives are ``p1 dB + p2 dD`` and
    ``p1 d2B + p2 d2D + p1 p2 (dD - dB)(dD - dB)'``; the integral's come from
    :func:`_death_integral` on the same quadrature nodes. Rows with ``T == t_x`` (e.g.
    ``T = 0``) have no death term.
    """
    data = frequency if isinstance(frequency, PNBDData) else PNBDData(
        np.asarray(frequency, float), np.asarray(recency, float), np.asarray(T, float),
        np.ones(len(frequency)) if weights is None else np.asarray(weights, float))
    r, alpha, s, beta = (float(v) for v in params)
    x, big_t, w, n = data.x, data.T, data.w, data.n
    ll = float(wdot(data.wx, gammaln(r + data.ux) - gammaln(r))) + n * (
        r * np.log(alpha) + s * np.log(beta))
    grad = np.array([
        float(wdot(data.wx, digamma(r + data.ux) - digamma(r))) + n * np.log(alpha),
        n * r / alpha,
        n * np.log(beta),
        n * s / beta,
    ])
    # B = -(r+x) ln(alpha+T) - s ln(beta+T) and its derivatives
    log_at, log_bt = np.log(alpha + big_t), np.log(beta + big_t)
    inv_at, inv_bt = 1.0 / (alpha + big_t), 1.0 / (beta + big_t)
    b_term = -(r + x) * log_at - s * log_bt
    d_b = np.vstack([-log_at, -(r + x) * inv_at, -log_bt, -s * inv_bt])
    d_term = np.full(len(x), -np.inf)
    d_d = np.zeros((4, len(x)))
    d2_d = np.zeros((4, 4, len(x))) if hessian else None
    gap_rows = np.flatnonzero(data.gap)
    for lo in range(0, len(gap_rows), _CHUNK):
        rows = gap_rows[lo:lo + _CHUNK]
        parts = _death_integral(params, x[rows], data.tx[rows], big_t[rows], second=hessian)
        d_term[rows] = np.log(s) + parts[0]
        d_d[:, rows] = parts[1]
        if hessian:
            d2_d[:, :, rows] = parts[2]
    d_d[2, data.gap] += 1.0 / s
    lse = np.logaddexp(b_term, d_term)
    p1 = np.exp(b_term - lse)
    p2 = np.exp(d_term - lse)
    ll += float(wdot(w, lse))
    grad += np.einsum("in,n->i", d_b, w * p1) + np.einsum("in,n->i", d_d, w * p2)
    if not hessian:
        return ll, grad, None
    hess = np.zeros((4, 4))
    hess[0, 0] = float(wdot(data.wx, polygamma(1, r + data.ux) - polygamma(1, r)))
    hess[0, 1] = hess[1, 0] = n / alpha
    hess[1, 1] = -n * r / alpha**2
    hess[2, 3] = hess[3, 2] = n / beta
    hess[3, 3] = -n * s / beta**2
    wp1, wp2 = w * p1, w * p2
    # p1 d2B
    h_ra = -float(wdot(wp1, inv_at))
    h_sb = -float(wdot(wp1, inv_bt))
    hess[0, 1] += h_ra
    hess[1, 0] += h_ra
    hess[1, 1] += float(wdot(wp1 * (r + x), inv_at**2))
    hess[2, 3] += h_sb
    hess[3, 2] += h_sb
    hess[3, 3] += s * float(wdot(wp1, inv_bt**2))
    # p2 d2D (d2D = d2 log I, plus -1/s^2 on s)
    hess += np.einsum("ijn,n->ij", d2_d, wp2)
    hess[2, 2] -= float(wp2[data.gap].sum()) / s**2
    # p1 p2 (dD - dB)(dD - dB)'
    delta = d_d - d_b
    hess += np.einsum("in,jn->ij", delta * (wp1 * p2), delta)
    return ll, grad, hess


def paretonbd_loglik(
    params: np.ndarray,
    frequency: np.ndarray,
    recency: np.ndarray,
    T: np.ndarray,
    weights: np.ndarray,
) -> tuple[float, np.ndarray]:
    """Weighted Pareto/NBD log-likelihood and its analytic gradient w.r.t. (r, alpha, s, beta).

    See :func:`paretonbd_derivatives` (this is it without the Hessian).
    """
    ll, grad, _ = paretonbd_derivatives(params, frequency, recency, T, weights, hessian=False)
    return ll, grad


#: above this lifetime shape s the confluent hypergeometric U of the DERT closed form is not
#: trusted (it over- or underflows as s and beta grow); DERT is then taken by quadrature
U_MAX_SHAPE = 30.0


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
    hessian_ : ndarray; covariance_ : DataFrame; fit_notes_ : list of str;
    time_scale_ : float (as :class:`BetaGeo`)
    """

    _param_names = ("r", "alpha", "s", "beta")

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
    ) -> ParetoNBD:
        """Fit by maximum likelihood (see :meth:`BetaGeo.fit` for the arguments).

        Customers with T = 0 (frequency 0, recency 0) add 0 to the log-likelihood.
        """
        return fit_purchase_model(
            self, frequency, recency, T, weights,
            make_data=PNBDData, derivatives=paretonbd_derivatives, time_params=(1, 3),
            model_name="Pareto/NBD (ParetoNBD)",
            no_repeat_reason="r -> 0, the lifetime parameters s, beta are not identified",
            warm_rows=WARM_ROWS, compute_se=compute_se,
        )

    def loglik_derivatives(
        self,
        frequency: object,
        recency: object,
        T: object,
        weights: object = None,
        params: object = None,
    ) -> tuple[float, np.ndarray, np.ndarray]:
        """Log-likelihood, gradient and Hessian in ``theta = log(r, alpha, s, beta)``.

        Same contract as :meth:`BetaGeo.loglik_derivatives` (penalised objective of
        :meth:`fit`, caller's time unit, default ``params_``); for a one-step Newton
        bootstrap ``theta* = log(params_) - solve(H, g)``.
        """
        return purchase_loglik_derivatives(
            self, frequency, recency, T, weights, params,
            make_data=PNBDData, derivatives=paretonbd_derivatives, time_params=(1, 3),
        )

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
        periods_per_year: float = WEEKS_PER_YEAR,
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

        def cond(rows: np.ndarray, t: np.ndarray) -> np.ndarray:
            xr, tr = x[rows, None], big_t[rows, None]
            return (r + xr) / (alpha + tr) * self._lifetime_factor(beta + tr, t)

        if horizon_periods is None:
            z = delta * (beta + big_t)
            with np.errstate(all="ignore"):
                log_zu = s * np.log(z) + np.log(hyperu(s, s, z))
            zu = np.exp(log_zu)
            dert = alive * (r + x) / (alpha + big_t) * zu / delta
            # U(s, s; z) over- or underflows when s and beta are large (little or uniform
            # dropout): there the same expectation by quadrature, stable in that limit
            bad = ~np.isfinite(dert) | (zu <= 0) | (s > U_MAX_SHAPE)
            if bad.any():
                rows = np.flatnonzero(bad)

                def cond_bad(sub: np.ndarray, t: np.ndarray) -> np.ndarray:
                    return cond(rows[sub], t)

                dert[rows] = alive[rows] * discounted_expected_increments(
                    cond_bad, beta + big_t[rows], delta, None)
        else:
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
