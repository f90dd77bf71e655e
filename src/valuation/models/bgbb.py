"""BG/BB purchase model for discrete transaction opportunities (beta-geometric/beta-binomial).

Fader, P. S., Hardie, B. G. S. & Shang, J. (2010), "Customer-base analysis in a
discrete-time noncontractual setting", *Marketing Science* 29(6), 1086-1108. Opportunities
come at fixed occasions (a yearly exam sitting, an annual renewal window, a course that
starts once a term). At each opportunity a customer who is alive transacts with probability
``p ~ Beta(alpha, beta)``; before each opportunity after the first she dies with probability
``theta ~ Beta(gamma, delta)``.

Data per customer: ``frequency`` x (opportunities with a transaction, the first
transaction at opportunity 0 not counted), ``recency`` t_x (the opportunity of the last
transaction, 0 when x = 0) and ``n_periods`` n (opportunities observed after the first).

Every Beta-function ratio is written as a finite sum over integer counts
(``B(a + x, b + u) / B(a, b) = prod_{k<x} (a+k) prod_{k<u} (b+k) / prod_{k<x+u} (a+b+k)``),
so the likelihood and its derivatives stay exact when a parameter pair grows large (no
heterogeneity: ``p`` or ``theta`` the same for everybody), where differences of ``gammaln``
would cancel.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import gammaln, logsumexp

from valuation.errors import ModelInputError
from valuation.models._bgbb_data import (  # noqa: F401  (re-exported)
    _group_counts,
    group_integer_histories,
    check_opportunities,
    simulate_bgbb,
)
from valuation.models._mle import FittedMixin, check_weights, maximize_likelihood, wrap_like

__all__ = ["BetaGeoBetaBinom", "bgbb_derivatives", "check_opportunities", "simulate_bgbb"]


def _rising(shift: float, top: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``sum_{k<m} ln(s+k)``, ``sum 1/(s+k)`` and ``sum 1/(s+k)^2`` for m = 0..top."""
    k = np.arange(top, dtype=float)
    terms = shift + k
    zero = np.zeros(1)
    return (np.concatenate([zero, np.cumsum(np.log(terms))]),
            np.concatenate([zero, np.cumsum(1.0 / terms)]),
            np.concatenate([zero, np.cumsum(1.0 / terms**2)]))


class _BetaRatio:
    """``ln B(a + i, b + j) - ln B(a, b)`` and its derivatives w.r.t. (a, b) for integer i, j."""

    def __init__(self, a: float, b: float, top: int) -> None:
        self.la, self.da, self.ta = _rising(a, top)
        self.lb, self.db, self.tb = _rising(b, top)
        self.lab, self.dab, self.tab = _rising(a + b, 2 * top)

    def log(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        return self.la[i] + self.lb[j] - self.lab[i + j]

    def grad(self, i: np.ndarray, j: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        common = self.dab[i + j]
        return self.da[i] - common, self.db[j] - common

    def hess(self, i: np.ndarray, j: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        common = self.tab[i + j]
        return common - self.ta[i], common, common - self.tb[j]


def _terms(x: np.ndarray, tx: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, ...]:
    """The likelihood's terms as integer shifts ``(i, j, c, v)`` of
    ``B(alpha+i, beta+j) B(gamma+c, delta+v)``, padded to ``max(n - t_x) + 1`` columns
    (``valid`` marks the real ones): column 0 alive through n, column 1 + m dead after
    opportunity ``t_x + m`` (m = 0 .. n - t_x - 1)."""
    width = int(np.max(n - tx)) + 1 if len(n) else 1
    m = np.arange(width - 1)[None, :]
    valid = np.concatenate([np.ones((len(x), 1), bool), m < (n - tx)[:, None]], axis=1)
    i = np.repeat(x[:, None], width, axis=1)
    j = np.concatenate([(n - x)[:, None], (tx - x)[:, None] + m], axis=1)
    c = np.concatenate([np.zeros((len(x), 1)), np.ones((len(x), width - 1))], axis=1)
    v = np.concatenate([n[:, None], tx[:, None] + m], axis=1)
    as_int = [np.where(valid, a, 0).astype(np.intp) for a in (i, j, c, v)]
    return (*as_int, valid)


def bgbb_derivatives(
    params: np.ndarray, frequency: np.ndarray, recency: np.ndarray, n_periods: np.ndarray,
    weights: np.ndarray, *, hessian: bool = True,
) -> tuple[float, np.ndarray, np.ndarray | None]:
    """Weighted BG/BB log-likelihood with its gradient and Hessian w.r.t.
    ``(alpha, beta, gamma, delta)``.

    Each customer's likelihood is a sum of products of Beta-function ratios
    ``L = sum_k exp(l_k)``; with the shares ``pi_k = exp(l_k) / L`` the gradient is
    ``sum_k pi_k g_k`` and the Hessian ``sum_k pi_k (H_k + g_k g_k') - g g'``.
    """
    alpha, beta, gamma, delta = (float(v) for v in params)
    x, tx, n = (np.asarray(a, float) for a in (frequency, recency, n_periods))
    w = np.asarray(weights, float)
    i, j, c, v, valid = _terms(x, tx, n)
    top = int(max(n.max(), 1)) + 2
    p_ratio, t_ratio = _BetaRatio(alpha, beta, top), _BetaRatio(gamma, delta, top)
    logs = np.where(valid, p_ratio.log(i, j) + t_ratio.log(c, v), -np.inf)
    ll_rows = logsumexp(logs, axis=1)
    share = np.exp(logs - ll_rows[:, None])
    g = np.stack([*p_ratio.grad(i, j), *t_ratio.grad(c, v)])  # (4, rows, terms)
    g = np.where(valid[None], g, 0.0)
    grad_rows = np.einsum("krt,rt->kr", g, share)
    ll = float(np.sum(w * ll_rows))
    grad = grad_rows @ w
    if not hessian:
        return ll, grad, None
    hess = np.einsum("krt,lrt,rt,r->kl", g, g, share, w) - np.einsum(
        "kr,lr,r->kl", grad_rows, grad_rows, w)
    for offset, ratio, (a_i, b_i) in ((0, p_ratio, (i, j)), (2, t_ratio, (c, v))):
        haa, hab, hbb = (np.where(valid, h, 0.0) for h in ratio.hess(a_i, b_i))
        weighted = share * w[:, None]
        hess[offset, offset] += float(np.sum(weighted * haa))
        hess[offset, offset + 1] += float(np.sum(weighted * hab))
        hess[offset + 1, offset] += float(np.sum(weighted * hab))
        hess[offset + 1, offset + 1] += float(np.sum(weighted * hbb))
    return ll, grad, hess


class BetaGeoBetaBinom(FittedMixin):
    """BG/BB model of repeat transactions at discrete opportunities (Fader, Hardie & Shang
    2010).

    Parameters
    ----------
    penalizer : float, default 0
        L2 penalty coefficient on the parameters, on the mean negative log-likelihood.
    initial_params : sequence of 4 floats, optional
        Starting values of ``(alpha, beta, gamma, delta)``.

    Attributes
    ----------
    params_ : Series (alpha, beta, gamma, delta)
    standard_errors_, covariance_, hessian_, log_likelihood_, fit_notes_, n_iter_
        As for the other models (:class:`valuation.models.BetaGeo`).
    n_customers_ : float, n_rows_ : int (distinct (x, t_x, n) rows fitted)
    """

    _param_names = ("alpha", "beta", "gamma", "delta")

    def __init__(self, penalizer: float = 0.0, initial_params: object | None = None) -> None:
        self.penalizer = penalizer
        self.initial_params = initial_params

    def fit(self, frequency: object, recency: object, n_periods: object, weights: object = None,
            *, compute_se: bool = True) -> BetaGeoBetaBinom:
        """Fit by maximum likelihood on a recency/frequency table (identical rows grouped).

        Parameters
        ----------
        frequency, recency, n_periods : array-like or Series
            Per row: opportunities with a transaction after the first, the opportunity of
            the last one (0 if none), and opportunities observed after the first.
        weights : array-like, optional
            Customers each row stands for (the donations table's ``weights``).
        compute_se : bool
            False skips the standard errors.

        Raises
        ------
        ModelInputError
            Invalid counts. ConvergenceError: the optimum is not found (nobody ever
            transacts again: the maximum does not exist). A limiting case (a parameter pair
            running to infinity: no heterogeneity) is kept with a ConvergenceWarning and a
            note in ``fit_notes_``.
        """
        from valuation.errors import ConvergenceError
        from valuation.models._mle import CHECKLIST

        grouped = (group_integer_histories(frequency, recency, n_periods)
                   if weights is None else None)
        if grouped is None:
            x, tx, n, _ = check_opportunities(frequency, recency, n_periods)
            grouped = _group_counts(x, tx, n, check_weights(weights, len(x)))
        ux, utx, un, counts = grouped
        repeaters = float(counts[ux > 0].sum())
        context = f"{repeaters:.0f} of {counts.sum():.0f} customers transact again."
        if repeaters == 0 or float(counts[un > 0].sum()) == 0:
            raise ConvergenceError(
                "BG/BB (BetaGeoBetaBinom) did not converge: the maximum does not exist "
                "(nobody transacts after the first opportunity, or no opportunity was "
                f"observed: p -> 0 and the dropout process is not identified). {context}\n"
                f"{CHECKLIST}")
        start = np.ones(4) if self.initial_params is None else np.asarray(
            self.initial_params, float)
        result = maximize_likelihood(
            lambda p: bgbb_derivatives(p, ux, utx, un, counts), start, self._param_names,
            total_weight=float(counts.sum()), penalizer=self.penalizer,
            model_name="BG/BB (BetaGeoBetaBinom)", context=context, compute_se=compute_se)
        self._store(result)
        self.n_customers_ = float(counts.sum())
        self.n_rows_ = len(ux)
        return self

    def loglik_derivatives(self, frequency: object, recency: object, n_periods: object,
                           weights: object = None, params: object = None):
        """Penalised log-likelihood, gradient and Hessian in log-parameter space (for the
        one-step Newton bootstrap; see :meth:`valuation.models.BetaGeo.loglik_derivatives`)."""
        from valuation.models._mle import penalized_log_space

        x, tx, n, _ = check_opportunities(frequency, recency, n_periods)
        w = check_weights(weights, len(x))
        values = self._check_fitted() if params is None else np.asarray(params, float)
        ll, grad, hess = bgbb_derivatives(values, x, tx, n, w)
        return penalized_log_space(ll, grad, hess, values, self.penalizer, float(w.sum()),
                                   np.ones(4))

    # ------------------------------------------------------------------ predictions
    def _log_likelihood_rows(self, x, tx, n) -> np.ndarray:
        alpha, beta, gamma, delta = self._check_fitted()
        i, j, c, v, valid = _terms(x, tx, n)
        top = int(max(n.max(), 1)) + 2
        logs = _BetaRatio(alpha, beta, top).log(i, j) + _BetaRatio(gamma, delta, top).log(c, v)
        return logsumexp(np.where(valid, logs, -np.inf), axis=1)

    def _log_survival(self, steps: np.ndarray) -> np.ndarray:
        """``ln B(gamma, delta + m) - ln B(gamma, delta)`` for integer m >= 0 (E[(1-theta)^m])."""
        _, _, gamma, delta = self._check_fitted()
        return _survival_sum(gamma, delta, steps)

    def p_alive(self, frequency: object, recency: object, n_periods: object,
                m_periods_ahead: int = 1) -> object:
        """P(alive at opportunity ``n + m``) given the history (the paper's definition is
        m = 1: alive at the next opportunity)."""
        alpha, beta, _, _ = self._check_fitted()
        x, tx, n, index = check_opportunities(frequency, recency, n_periods)
        top = int(n.max()) + 2
        ratio = _BetaRatio(alpha, beta, top)
        log_alive = (ratio.log(x.astype(np.intp), (n - x).astype(np.intp))
                     + self._log_survival(n + m_periods_ahead))
        prob = np.exp(log_alive - self._log_likelihood_rows(x, tx, n))
        return wrap_like(np.clip(prob, 0.0, 1.0), index, frequency, "p_alive")

    def _conditional_core(self, t: object, x: np.ndarray, n: np.ndarray) -> np.ndarray:
        """E[X(n, n + t) | x, t_x, n] / P(alive at n + 1): depends on (x, n) only.

        ``(alpha + x) / (alpha + beta + n) * sum_{k=1}^{t} S(n + k) / S(n + 1)``, ``S(m) =
        E[(1 - theta)^m]``; fractional ``t`` interpolates linearly within an opportunity
        (its transaction spread evenly over the period).
        """
        alpha, beta, gamma, delta = self._check_fitted()
        t, x, n = np.broadcast_arrays(*(np.asarray(a, float) for a in (t, x, n)))
        top = int(np.ceil(np.max(t))) if t.size else 0
        k = np.arange(1, top + 1, dtype=float)
        base = self._log_survival(n.ravel() + 1)
        steps = np.exp(self._log_survival(n.ravel()[:, None] + k[None, :]) - base[:, None])
        cum = np.concatenate([np.zeros((n.size, 1)), np.cumsum(steps, axis=1)], axis=1)
        whole = np.floor(t.ravel()).astype(np.intp)
        frac = t.ravel() - whole
        rows = np.arange(n.size)
        nxt = np.minimum(whole + 1, top)
        value = cum[rows, whole] + frac * (cum[rows, nxt] - cum[rows, whole])
        return ((alpha + x) / (alpha + beta + n)) * value.reshape(t.shape)

    def forecast_by_opportunity(self, frequency: object, recency: object, n_periods: object,
                                passed: object, k_max: int) -> np.ndarray:
        """Expected transaction at each opportunity ``n + k`` (k = 1..k_max, P(alive)
        included), given the history and that a share ``passed`` of opportunity ``n + 1``
        has gone by without a transaction (0: it has not started); for k = 1 the share
        still to come.

        Exact under the model (purchase timing within a period independent of p): with
        ``u_k = B(alpha+x+1, beta+n-x) S(n+k) / (B(alpha, beta) L)``, ``v_k`` the same with
        ``alpha+x+2`` and ``f = passed``, the expectations are ``(1 - f) u_1 / (1 - f u_1)``
        and ``(u_k - f v_k) / (1 - f u_1)``; ``S(m) = E[(1 - theta)^m]``, ``L`` the
        likelihood of the history.
        """
        alpha, beta, _, _ = self._check_fitted()
        x, tx, n, _ = check_opportunities(frequency, recency, n_periods)
        f = np.clip(np.asarray(passed, float).ravel(), 0.0, 1.0)
        top = int(n.max()) + 3
        ratio = _BetaRatio(alpha, beta, top)
        xi, rest = x.astype(np.intp), (n - x).astype(np.intp)
        log_l = self._log_likelihood_rows(x, tx, n)
        k = np.arange(1, int(k_max) + 1, dtype=float)
        log_s = self._log_survival(n[:, None] + k[None, :])
        u = np.exp(ratio.log(xi + 1, rest)[:, None] + log_s - log_l[:, None])
        v = np.exp(ratio.log(xi + 2, rest)[:, None] + log_s - log_l[:, None])
        out = u - f[:, None] * v
        out[:, 0] = (1.0 - f) * u[:, 0]
        return out / np.maximum(1.0 - f * u[:, 0], 1e-300)[:, None]

    def conditional_expected_purchases(self, t: object, frequency: object, recency: object,
                                       n_periods: object) -> object:
        """Expected transactions in the next ``t`` opportunities given each history."""
        x, tx, n, index = check_opportunities(frequency, recency, n_periods)
        t = _opportunities(t)
        alive = np.asarray(self.p_alive(x, tx, n), float)
        value = self._conditional_core(t, x, n) * alive
        return wrap_like(value, index, frequency, "expected_purchases")

    def expected_purchases(self, t: object) -> np.ndarray:
        """Expected transactions E[X(t)] of a new customer in ``t`` opportunities after the
        first (fractional t interpolated linearly)."""
        alpha, beta, _, _ = self._check_fitted()
        t = _opportunities(t)
        core = self._conditional_core(t, np.zeros_like(t), np.zeros_like(t))
        # from n = 0: multiply back S(1) (alive at the first opportunity) and use the prior mean
        return core * np.exp(self._log_survival(np.ones(1)))[0]

    def expected_counts(self, n_periods: int, n_customers: float = 1.0) -> pd.Series:
        """Expected number of customers (of ``n_customers``) with 0..n transactions in
        ``n_periods`` opportunities (the paper's histogram check)."""
        alpha, beta, _, _ = self._check_fitted()
        n = int(n_periods)
        xs = np.arange(n + 1)
        ratio = _BetaRatio(alpha, beta, n + 2)
        log_choose = gammaln(n + 1) - gammaln(xs + 1) - gammaln(n - xs + 1)
        alive = log_choose + ratio.log(xs, n - xs) + self._log_survival(np.full(n + 1, n))
        prob = np.exp(alive)
        surv = np.exp(self._log_survival(np.arange(n + 1)))
        die = surv[:-1] - surv[1:]  # P(alive at opportunities 1..i, dead at i + 1)
        for i in range(n):
            for x in range(i + 1):
                log_c = gammaln(i + 1) - gammaln(x + 1) - gammaln(i - x + 1)
                prob[x] += np.exp(log_c + ratio.log(np.array([x]), np.array([i - x]))[0]) * die[i]
        return pd.Series(n_customers * prob, index=pd.Index(xs, name="transactions"),
                         name="expected_customers")

    def discounted_expected_transactions(self, frequency: object, recency: object,
                                         n_periods: object, discount_rate: float,
                                         horizon_periods: int | None = None) -> object:
        """DERT: discounted expected residual transactions per customer.

        ``sum_{k>=1} E[transaction at n + k | history] / (1 + d)^k`` at the rate ``d`` per
        opportunity: the paper's closed form is a Gauss hypergeometric function; written as
        the same series summed until the terms fall below 1e-15 of the total (or to
        ``horizon_periods``), stable for any parameters.
        """
        alpha, beta, _, _ = self._check_fitted()
        if not np.isfinite(discount_rate) or discount_rate <= 0:
            raise ModelInputError(f"discount_rate must be > 0 per opportunity, got {discount_rate!r}.")
        x, tx, n, index = check_opportunities(frequency, recency, n_periods)
        if horizon_periods is None:
            horizon_periods = int(np.ceil(np.log(1e-16) / -np.log1p(discount_rate))) + 1
        k = np.arange(1, int(horizon_periods) + 1, dtype=float)
        disc = np.exp(-k * np.log1p(discount_rate))
        base = self._log_survival(n + 1)
        steps = np.exp(self._log_survival(n[:, None] + k[None, :]) - base[:, None])
        dert = (steps @ disc) * (alpha + x) / (alpha + beta + n)
        dert = dert * np.asarray(self.p_alive(x, tx, n), float)
        return wrap_like(dert, index, frequency, "dert")


def _survival_sum(gamma: float, delta: float, steps: np.ndarray) -> np.ndarray:
    """``ln B(gamma, delta + m) - ln B(gamma, delta) = sum_{k<m} ln((delta+k)/(gamma+delta+k))``
    (exact for large gamma, delta)."""
    steps = np.asarray(steps)
    top = int(np.max(steps)) if steps.size else 0
    k = np.arange(top, dtype=float)
    cum = np.concatenate([[0.0], np.cumsum(np.log1p(-gamma / (gamma + delta + k)))])
    return cum[steps.astype(np.intp)]


def _opportunities(t: object) -> np.ndarray:
    values = np.asarray(t, dtype=float)
    if np.any(~np.isfinite(values)) or np.any(values < 0):
        raise ModelInputError("t (opportunities ahead) must be finite and >= 0.")
    return values
