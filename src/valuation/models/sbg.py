"""Shifted-beta-geometric (sBG) model of contract renewals."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.special import betaln, digamma, expit, ndtri

from valuation.errors import ModelError, ModelInputError
from valuation.models._mle import FittedMixin, as_array, maximize_likelihood


def sbg_loglik_counts(
    params: np.ndarray, lost: np.ndarray, censored: np.ndarray
) -> tuple[float, np.ndarray]:
    """sBG log-likelihood of right-censored lifetimes and its gradient w.r.t. (alpha, beta).

    ``lost[t - 1]`` customers (or weights) churned in period ``t`` (t = 1..K), with
    ``P(T = t) = B(alpha + 1, beta + t - 1) / B(alpha, beta)``; ``censored[c]`` were still
    active after ``c`` periods when observation ended (c = 0..K), with
    ``S(c) = B(alpha, beta + c) / B(alpha, beta)``. Cohorts of different ages enter with
    their own censoring period: each member counts for the periods it could be observed.
    """
    alpha, beta = (float(v) for v in params)
    lost = np.asarray(lost, dtype=float)
    censored = np.asarray(censored, dtype=float)
    t = np.arange(1, len(lost) + 1, dtype=float)
    c = np.arange(len(censored), dtype=float)
    base = betaln(alpha, beta)
    log_p = betaln(alpha + 1, beta + t - 1) - base
    log_s = betaln(alpha, beta + c) - base
    ll = float(np.dot(lost, log_p) + np.dot(censored, log_s))
    d_base_a = digamma(alpha) - digamma(alpha + beta)
    d_base_b = digamma(beta) - digamma(alpha + beta)
    dp_a = digamma(alpha + 1) - digamma(alpha + beta + t) - d_base_a
    dp_b = digamma(beta + t - 1) - digamma(alpha + beta + t) - d_base_b
    ds_a = digamma(alpha) - digamma(alpha + beta + c) - d_base_a
    ds_b = digamma(beta + c) - digamma(alpha + beta + c) - d_base_b
    grad = np.array([np.dot(lost, dp_a) + np.dot(censored, ds_a),
                     np.dot(lost, dp_b) + np.dot(censored, ds_b)])
    return ll, grad


def survivor_counts(survivors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(lost, censored)`` of one cohort's survivor curve: the last count is censored."""
    survivors = np.asarray(survivors, dtype=float)
    censored = np.zeros(len(survivors))
    censored[-1] = survivors[-1]
    return survivors[:-1] - survivors[1:], censored


def sbg_loglik(params: np.ndarray, survivors: np.ndarray) -> tuple[float, np.ndarray]:
    """sBG log-likelihood of one cohort's survivor counts and its gradient (Fader & Hardie
    2007): ``survivors[t]`` active at the start of period t, the last count right-censored.
    """
    return sbg_loglik_counts(params, *survivor_counts(survivors))


def member_counts(
    renewals: object, observed: object, sample_weight: object | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(lost, censored)`` from per-member renewal records.

    A member observed for ``o`` renewal decisions who made ``r`` renewals churned in period
    ``r + 1`` when ``r < o``; otherwise it is right-censored after ``o`` periods.
    """
    r = np.asarray(renewals, dtype=float).reshape(-1)
    o = np.asarray(observed, dtype=float).reshape(-1)
    w = np.ones(len(r)) if sample_weight is None else np.asarray(sample_weight, float).reshape(-1)
    if not len(r) == len(o) == len(w):
        raise ModelInputError("renewals, observed and sample_weight must have the same length.")
    if len(r) == 0:
        raise ModelInputError("no members to fit the sBG on.")
    bad = ~np.isfinite(r) | ~np.isfinite(o) | (r < 0) | (o < 0) | (r != np.round(r)) \
        | (o != np.round(o)) | (r > o)
    if bad.any():
        rows = np.flatnonzero(bad)[:5].tolist()
        raise ModelInputError(
            f"renewal records at row(s) {rows}: renewals and observed decisions must be whole "
            "numbers >= 0 with renewals <= observed decisions."
        )
    if np.any(~np.isfinite(w)) or np.any(w < 0):
        raise ModelInputError("sample_weight must be finite and >= 0.")
    top = int(o.max())
    churned = r < o
    lost = np.bincount((r[churned]).astype(int), weights=w[churned], minlength=top)[:top]
    censored = np.bincount(o[~churned].astype(int), weights=w[~churned], minlength=top + 1)
    return lost, censored


class ShiftedBetaGeometric(FittedMixin):
    """Shifted-beta-geometric model of retention in a contractual setting.

    Implements Fader, P. S. & Hardie, B. G. S. (2007), "How to project customer retention",
    *Journal of Interactive Marketing* 21(1), 76-90; the discounted expected residual
    lifetime follows Fader, P. S. & Hardie, B. G. S. (2010), "Customer-base valuation in
    a contractual setting: the perils of ignoring heterogeneity", *Marketing Science*
    29(1), 85-93. Each customer churns at the end of a period with probability
    theta ~ Beta(alpha, beta).

    Fit on one cohort's survivor curve (:meth:`fit`, the paper's setting), on cohorts of
    different ages (:meth:`fit_cohorts`), or on per-member renewal records
    (:meth:`fit_members`): in the last two, each customer counts for the periods it could be
    observed and is right-censored at the end, so young cohorts add no information about
    late periods (pooling every member into one cohort observed throughout would overstate
    the information and understate the standard errors).

    Attributes
    ----------
    params_ : Series (alpha, beta); standard_errors_; log_likelihood_; hessian_
    """

    _param_names = ("alpha", "beta")

    def __init__(self, initial_params: object | None = None) -> None:
        self.initial_params = initial_params

    def fit(self, survivors: object) -> ShiftedBetaGeometric:
        """Fit on one cohort's survivor counts: ``survivors[t]`` active at the start of t.

        Parameters
        ----------
        survivors : array-like
            ``survivors[0]`` is the cohort size; non-increasing, at least two periods.
            For cohorts of different ages use :meth:`fit_cohorts` or :meth:`fit_members`.
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
        return self._fit_counts(*survivor_counts(counts),
                                context=f"cohort of {counts[0]:.0f}, {len(counts) - 1} periods.")

    def fit_cohorts(self, cohorts: Sequence[object]) -> ShiftedBetaGeometric:
        """Fit on several cohorts of different ages (e.g. one per signup year).

        Parameters
        ----------
        cohorts : sequence of array-like
            One survivor curve per cohort (``survivors[t]`` active at the start of period t,
            non-increasing); a cohort observed for ``T`` periods has ``T + 1`` counts and its
            last count is right-censored after ``T`` periods.
        """
        lost_parts, censored_parts = [], []
        for i, curve in enumerate(cohorts):
            counts = np.asarray(curve, dtype=float).reshape(-1)
            if len(counts) < 1 or np.any(~np.isfinite(counts)) or np.any(counts < 0) \
                    or np.any(np.diff(counts) > 0):
                raise ModelInputError(
                    f"cohort {i}: survivor counts must be finite, >= 0 and non-increasing.")
            lost, censored = survivor_counts(counts)
            lost_parts.append(lost)
            censored_parts.append(censored)
        if not lost_parts:
            raise ModelInputError("no cohorts to fit the sBG on.")
        top = max(len(c) for c in censored_parts)
        lost = np.zeros(top - 1)
        censored = np.zeros(top)
        for lo, ce in zip(lost_parts, censored_parts):
            lost[: len(lo)] += lo
            censored[: len(ce)] += ce
        return self._fit_counts(lost, censored, context=f"{len(lost_parts)} cohort(s).")

    def fit_members(self, renewals: object, observed: object,
                    sample_weight: object | None = None) -> ShiftedBetaGeometric:
        """Fit on per-member renewal records (each member observed as long as it could be).

        Parameters
        ----------
        renewals : array-like of int
            Renewals each member made (payments - 1).
        observed : array-like of int
            Renewal decisions each member could have been seen to make by the cut-off
            (>= ``renewals``); a member with ``renewals < observed`` churned in period
            ``renewals + 1``, the others are right-censored after ``observed`` periods.
        sample_weight : array-like, optional
            Weight per member (e.g. bootstrap counts).
        """
        lost, censored = member_counts(renewals, observed, sample_weight)
        return self._fit_counts(lost, censored,
                                context=f"{len(np.asarray(renewals).reshape(-1))} members.")

    def _fit_counts(self, lost: np.ndarray, censored: np.ndarray, *, context: str
                    ) -> ShiftedBetaGeometric:
        total = float(lost.sum() + censored.sum())
        if total <= 0:
            raise ModelInputError("the sBG needs at least one customer with positive weight.")
        if lost.sum() <= 0:
            raise ModelInputError(
                "nobody churned in the data: the sBG churn rate is not identified "
                "(no finite maximum-likelihood estimate)."
            )
        if censored[1:].sum() + lost[1:].sum() <= 0:
            raise ModelInputError(
                "no customer was observed beyond the first period: the sBG's heterogeneity "
                "is not identified; need customers observed for at least two periods."
            )
        start = np.array([1.0, 1.0]) if self.initial_params is None else np.asarray(
            self.initial_params, float)
        self.lost_, self.censored_ = lost, censored
        result = maximize_likelihood(
            lambda p: sbg_loglik_counts(p, lost, censored),
            start,
            self._param_names,
            total_weight=total,
            model_name="shifted-beta-geometric",
            context=context,
            hessian=False,
        )
        self._store(result)
        return self

    def survival_interval(self, t: object, level: float = 0.95) -> pd.DataFrame:
        """Delta-method interval of ``S(t)`` on the logit scale, from the parameters' covariance.

        Returns
        -------
        DataFrame
            Indexed by ``t``: ``survival``, ``lower``, ``upper``.
        """
        alpha, beta = self._check_fitted()
        t = np.atleast_1d(np.asarray(t, dtype=float))
        s = self.survival(t)
        # d log S / d (alpha, beta), then d logit S = d log S / (1 - S)
        d_a = digamma(alpha + beta) - digamma(alpha + beta + t)
        d_b = digamma(beta + t) - digamma(alpha + beta + t) - digamma(beta) + digamma(alpha + beta)
        jac = np.column_stack([d_a, d_b]) / np.maximum(1.0 - s, 1e-300)[:, None]
        cov = np.asarray(self.covariance_, dtype=float)
        se = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", jac, cov, jac), 0.0))
        z = float(ndtri(0.5 + level / 2))
        logit = np.log(s) - np.log1p(-s)
        return pd.DataFrame({"survival": s, "lower": expit(logit - z * se),
                             "upper": expit(logit + z * se)}, index=pd.Index(t, name="t"))

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
