"""Shifted-beta-geometric (sBG) model of contract renewals."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import betaln, digamma

from valuation.errors import ModelError, ModelInputError
from valuation.models._mle import FittedMixin, as_array, maximize_likelihood


def sbg_loglik(params: np.ndarray, survivors: np.ndarray) -> tuple[float, np.ndarray]:
    """sBG log-likelihood of a cohort's survivor counts and its gradient w.r.t. (alpha, beta).

    ``survivors[t]`` are active at the start of period t; those lost in period t are
    ``survivors[t-1] - survivors[t]`` with ``P(T = t) = B(alpha+1, beta+t-1) / B(alpha, beta)``;
    the last count is right-censored with ``S(n) = B(alpha, beta+n) / B(alpha, beta)``.
    """
    alpha, beta = (float(v) for v in params)
    n = len(survivors) - 1
    t = np.arange(1, n + 1)
    lost = survivors[:-1] - survivors[1:]
    base = betaln(alpha, beta)
    log_p = betaln(alpha + 1, beta + t - 1) - base
    log_s = betaln(alpha, beta + n) - base
    ll = float(np.dot(lost, log_p) + survivors[-1] * log_s)
    d_base_a = digamma(alpha) - digamma(alpha + beta)
    d_base_b = digamma(beta) - digamma(alpha + beta)
    dp_a = digamma(alpha + 1) - digamma(alpha + beta + t) - d_base_a
    dp_b = digamma(beta + t - 1) - digamma(alpha + beta + t) - d_base_b
    ds_a = digamma(alpha) - digamma(alpha + beta + n) - d_base_a
    ds_b = digamma(beta + n) - digamma(alpha + beta + n) - d_base_b
    grad = np.array(
        [np.dot(lost, dp_a) + survivors[-1] * ds_a, np.dot(lost, dp_b) + survivors[-1] * ds_b]
    )
    return ll, grad


class ShiftedBetaGeometric(FittedMixin):
    """Shifted-beta-geometric model of retention in a contractual setting.

    Implements Fader, P. S. & Hardie, B. G. S. (2007), "How to project customer retention",
    *Journal of Interactive Marketing* 21(1), 76-90; the discounted expected residual
    lifetime follows Fader, P. S. & Hardie, B. G. S. (2010), "Customer-base valuation in
    a contractual setting: the perils of ignoring heterogeneity", *Marketing Science*
    29(1), 85-93. Each customer churns at the end of a period with probability
    theta ~ Beta(alpha, beta).

    Attributes
    ----------
    params_ : Series (alpha, beta); standard_errors_; log_likelihood_; hessian_
    """

    _param_names = ("alpha", "beta")

    def __init__(self, initial_params: object | None = None) -> None:
        self.initial_params = initial_params

    def fit(self, survivors: object) -> ShiftedBetaGeometric:
        """Fit on survivor counts: ``survivors[t]`` active at the start of period t.

        Parameters
        ----------
        survivors : array-like
            ``survivors[0]`` is the cohort size; non-increasing, at least two periods.
        """
        counts, _ = as_array(survivors, "survivors")
        if len(counts) < 3:
            raise ModelInputError("survivors: need the cohort size and at least two periods.")
        if np.any(~np.isfinite(counts)) or np.any(counts < 0):
            raise ModelInputError("survivors must be finite counts >= 0.")
        rises = np.flatnonzero(np.diff(counts) > 0) + 1
        if len(rises):
            raise ModelInputError(
                f"survivors must not increase; they do at period(s) {rises[:5].tolist()}. "
                "Use the number still active at the start of each period of one cohort."
            )
        if counts[0] <= 0:
            raise ModelInputError("survivors[0] (the cohort size) must be > 0.")
        start = np.array([1.0, 1.0]) if self.initial_params is None else np.asarray(self.initial_params, float)
        result = maximize_likelihood(
            lambda p: sbg_loglik(p, counts),
            start,
            self._param_names,
            total_weight=float(counts[0]),
            model_name="shifted-beta-geometric",
            context=f"cohort of {counts[0]:.0f}, {len(counts) - 1} periods.",
            hessian=False,
        )
        self._store(result)
        return self

    def survival(self, t: object) -> np.ndarray:
        """S(t) = B(alpha, beta + t) / B(alpha, beta): share still active at the start of t."""
        alpha, beta = self._check_fitted()
        t = np.asarray(t, dtype=float)
        if np.any(t < 0):
            raise ModelInputError("t must be >= 0.")
        return np.exp(betaln(alpha, beta + t) - betaln(alpha, beta))

    def retention_rate(self, t: object) -> np.ndarray:
        """r(t) = S(t) / S(t-1) = (beta + t - 1) / (alpha + beta + t - 1), t >= 1."""
        alpha, beta = self._check_fitted()
        t = np.asarray(t, dtype=float)
        if np.any(t < 1):
            raise ModelInputError("retention_rate is defined for t >= 1.")
        return (beta + t - 1) / (alpha + beta + t - 1)

    def projection(self, periods: int) -> pd.DataFrame:
        """Survival and retention for periods 0..periods (a table for reports)."""
        t = np.arange(periods + 1)
        frame = pd.DataFrame({"survival": self.survival(t)}, index=pd.Index(t, name="period"))
        frame["retention_rate"] = np.r_[np.nan, self.retention_rate(t[1:])]
        return frame

    def discounted_expected_residual_lifetime(self, n: object, discount_rate: float) -> object:
        """DERL of a customer who has made n - 1 renewals (Fader & Hardie 2010, eq. 6).

        ``DERL = (beta + n - 1)/(alpha + beta + n - 1) * 2F1(1, beta + n; alpha + beta + n;
        1/(1 + d))``: the expected number of further payments, discounted at d per period,
        the first of them undiscounted (paid at the coming renewal). ``n`` may be an int or
        an array; returns a float or an array of the same shape.
        """
        alpha, beta = self._check_fitted()
        n_arr = np.asarray(n, dtype=float)
        if np.any(n_arr < 1) or np.any(n_arr != np.round(n_arr)):
            raise ModelInputError("n must be an integer >= 1 (a customer with n - 1 renewals).")
        if not np.isfinite(discount_rate) or discount_rate <= 0:
            raise ModelInputError(f"discount_rate must be > 0, got {discount_rate!r}.")
        # the 2F1 series summed directly: term ratio (beta+n+k)/(alpha+beta+n+k) z < z < 1,
        # so it converges geometrically; scipy's hyp2f1 overflows for large alpha + beta
        z = 1.0 / (1.0 + discount_rate)
        n_terms = int(np.ceil(np.log(1e-18) / np.log(z))) + 2
        k = np.arange(n_terms - 1, dtype=float)
        flat = n_arr.reshape(-1)
        value = np.empty(flat.shape)
        for i, n_i in enumerate(flat):
            log_ratio = np.log(beta + n_i + k) - np.log(alpha + beta + n_i + k) + np.log(z)
            log_terms = np.concatenate([[0.0], np.cumsum(log_ratio)])
            series = np.exp(log_terms).sum()
            value[i] = (beta + n_i - 1) / (alpha + beta + n_i - 1) * series
        value = value.reshape(n_arr.shape)
        if not np.all(np.isfinite(value)):
            raise ModelError("DERL is not finite; check params_ and the discount rate.")
        return value
