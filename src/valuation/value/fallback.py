"""The fallback purchase stream: an empirical repeat-purchase rate times the survival curve.

Used instead of BG/NBD + Gamma-Gamma when those cannot be trusted
(:func:`purchase_fallback_reason`): too few repeat buyers (e.g. a bootcamp whose students
buy one big-ticket course), a fit that raises :class:`~valuation.errors.ConvergenceError` /
:class:`~valuation.errors.ModelError`, or a BG/NBD whose likelihood is flat at the optimum
(the dropout process is not identified, so the model would assume nobody ever leaves).

The method (clearly simpler, and labelled so in the result):

* **rate**: ``lambda = sum_i repeats_i / sum_i exposure_i``: repeat purchases (purchases
  after the first, instalment plans merged into one purchase) per customer-year of observed
  life, a life running from the first order to the last sign of life (order or activity),
  or to ``as_of`` for a customer still active (the survival table's definition,
  :func:`valuation.value.retention.customer_lifetimes`);
* **lifetime**: a customer active at ``as_of`` with age ``a`` survives ``t`` more years with
  the Kaplan-Meier probability ``S(a + t) / S(a)`` (:class:`ResidualRetention`); a churned
  customer has no future purchases. Expected purchases in a grid interval are
  ``lambda * integral of S`` over it (trapezoid on the grid), so the expected remaining
  lifetime within the horizon times ``lambda`` is the expected number of purchases;
* **spend**: the mean net value of the repeat purchases when there are at least
  :data:`MIN_REPEAT_ORDERS_FOR_SPEND` of them, else the mean of all purchases.

The uncertainty of the fallback: bootstrap replicates re-estimate rate and spend exactly
with the resampling weights; parameter draws take ``lambda`` from its Jeffreys posterior
``Gamma(R + 1/2, E)`` (``R`` repeats, ``E`` customer-years: positive even when ``R = 0``) and
the mean spend from its normal approximation.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd

from valuation.errors import ModelInputError
from valuation.units import DAYS_PER_YEAR
from valuation.value.retention import ResidualRetention

MIN_REPEAT_BUYERS = 30
"""Fewer repeat buyers than this: BG/NBD is not attempted (its four parameters would rest
on a handful of customers) and the fallback is used."""

MIN_REPEAT_ORDERS_FOR_SPEND = 10
"""Fewer repeat purchases than this: the mean spend is taken over all purchases."""


def purchase_fallback_reason(repeat_buyers: int, *, error: Exception | None = None,
                             fit_notes: list[str] | None = None) -> str | None:
    """Why the purchase models must give way to the fallback, or ``None`` when they need not.

    Parameters
    ----------
    repeat_buyers : int
        Customers with at least one repeat purchase.
    error : Exception, optional
        What the BG/NBD or Gamma-Gamma fit raised.
    fit_notes : list of str, optional
        The purchase model's ``fit_notes_`` (non-empty: flat likelihood).
    """
    if repeat_buyers < MIN_REPEAT_BUYERS:
        return (f"only {repeat_buyers} customer(s) with a repeat purchase (fewer than "
                f"{MIN_REPEAT_BUYERS}): too few to fit BG/NBD")
    if error is not None:
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        return f"the purchase or spend model could not be fitted ({first})"
    if fit_notes:
        return ("the BG/NBD likelihood is flat at the optimum (dropout not identified by "
                "these data: the model would assume customers never leave)")
    return None


class EmpiricalRateStream:
    """Repeat purchases at an empirical rate per surviving customer-year (the fallback).

    Parameters
    ----------
    retention : ResidualRetention
        The fitted Kaplan-Meier retention of the base (its survival curve gives each active
        customer's remaining lifetime).
    """

    method = "empirical_rate_fallback"
    label = "FALLBACK (last resort): empirical repeat-purchase rate x Kaplan-Meier lifetime x mean order value"

    def __init__(self, retention: ResidualRetention) -> None:
        self.retention = retention

    def fit(self, orders: pd.DataFrame, lifetimes: pd.DataFrame,
            tokens: pd.Index | None = None) -> "EmpiricalRateStream":
        """Estimate rate and spend.

        Parameters
        ----------
        orders : DataFrame
            The stream's purchases (``customer_token``, ``order_date``, ``net_amount``), one
            row a purchase, instalment plans already merged.
        lifetimes : DataFrame
            :func:`~valuation.value.retention.customer_lifetimes` (``age_days``,
            ``duration_days``, ``churned``) indexed by customer token.
        tokens : Index, optional
            The customers to value (default: every customer with a purchase).
        """
        if orders.empty:
            raise ModelInputError("no purchases to estimate a repeat-purchase rate from")
        ordered = orders.sort_values(["customer_token", "order_date"], kind="stable")
        grouped = ordered.groupby("customer_token", sort=False)["net_amount"]
        count, total, first = grouped.size(), grouped.sum(), grouped.first()
        index = count.index if tokens is None else pd.Index(tokens)
        self.tokens_ = index
        life = lifetimes.reindex(index)
        self.count_ = count.reindex(index).fillna(0).to_numpy(float)
        self.repeats_ = np.maximum(self.count_ - 1, 0.0)
        self.total_ = total.reindex(index).fillna(0.0).to_numpy(float)
        self.first_ = first.reindex(index).fillna(0.0).to_numpy(float)
        self.exposure_ = (life["duration_days"].fillna(0.0).to_numpy(float) / DAYS_PER_YEAR)
        self.active_ = ~life["churned"].fillna(True).to_numpy(bool)
        self.age_days_ = life["age_days"].fillna(0.0).to_numpy(float)
        self.repeat_buyers_ = int((self.repeats_ > 0).sum())
        self.spend_on_repeats_ = self.repeats_.sum() >= MIN_REPEAT_ORDERS_FOR_SPEND
        values = ordered.groupby("customer_token", sort=False).cumcount().to_numpy() > 0
        basis = ordered.loc[values, "net_amount"] if self.spend_on_repeats_ else ordered["net_amount"]
        self.spend_sd_ = float(np.std(basis.to_numpy(float), ddof=1)) if len(basis) > 1 else 0.0
        self._estimate(np.ones(len(index)))
        self._cache = {}
        return self

    def _estimate(self, w: np.ndarray) -> None:
        repeats = float(w @ self.repeats_)
        exposure = float(w @ self.exposure_)
        self.rate_ = repeats / exposure if exposure > 0 else 0.0
        self.rate_events_, self.rate_exposure_ = repeats, exposure
        if self.spend_on_repeats_:
            amount, n = float(w @ (self.total_ - self.first_)), repeats
        else:
            amount, n = float(w @ self.total_), float(w @ self.count_)
        self.spend_ = amount / n if n > 0 else 0.0
        self.spend_n_ = n
        self.first_spend_ = float(w @ self.first_) / max(float(w @ (self.count_ > 0)), 1.0)

    # -- the protocol of valuation.value.streams ----------------------------------------
    def survival_integrals(self, edges: np.ndarray) -> np.ndarray:
        """Expected years alive in each grid interval per customer (0 for churned ones)."""
        edges = np.asarray(edges, float)
        key = edges.tobytes()
        if key not in self._cache:
            ages, inverse = np.unique(self.age_days_, return_inverse=True)
            surv = self.retention.conditional_survival(ages, edges)
            per_age = (surv[:, :-1] + surv[:, 1:]) / 2 * np.diff(edges)[None, :]
            self._cache[key] = per_age[inverse.ravel()] * self.active_[:, None]
        return self._cache[key]

    def customer_revenue(self, edges: np.ndarray, disc: np.ndarray, shock: np.ndarray,
                         assumptions=None) -> tuple[np.ndarray, np.ndarray]:
        """Present value of each customer's expected repeat-purchase revenue (and shocked)."""
        alive_years = self.survival_integrals(edges)
        per_year = self.rate_ * self.spend_
        return per_year * (alive_years @ disc), per_year * (alive_years @ (disc * shock))

    def expected_remaining_lifetime(self, horizon_years: float) -> float:
        """Mean expected years (within ``horizon_years``) an active customer stays."""
        if not self.active_.any():
            return 0.0
        edges = np.linspace(0.0, horizon_years, max(int(horizon_years * 4), 1) + 1)
        return float(self.survival_integrals(edges).sum(axis=1)[self.active_].mean())

    def new_customer_revenue(self, edges: np.ndarray, disc: np.ndarray) -> float:
        """First purchase (mean first order) plus repeats at the rate over the lifetime of a
        new customer (Kaplan-Meier from age 0)."""
        surv = self.retention.conditional_survival(np.zeros(1), edges)[0]
        alive_years = (surv[:-1] + surv[1:]) / 2 * np.diff(edges)
        return self.first_spend_ + self.rate_ * self.spend_ * float(alive_years @ disc)

    def replicate(self, weights: np.ndarray, rng: np.random.Generator):
        """Exact re-estimation on the resample, and a draw from the posterior of rate and
        spend (see the module doc)."""
        boot = copy.copy(self)
        boot._estimate(np.asarray(weights, float))
        param = copy.copy(self)
        param.rate_ = float(rng.gamma(self.rate_events_ + 0.5, 1.0)) / max(self.rate_exposure_,
                                                                             1e-12)
        se = self.spend_sd_ / np.sqrt(max(self.spend_n_, 1.0))
        param.spend_ = float(max(rng.normal(self.spend_, se), 0.0))
        return boot, param, "exact"

    def summary(self) -> dict:
        """The estimates, for the result's model summary."""
        return {"rate_per_customer_year": self.rate_, "repeat_purchases": self.rate_events_,
                "customer_years": self.rate_exposure_, "repeat_buyers": self.repeat_buyers_,
                "mean_order_value": self.spend_,
                "spend_basis": "repeat purchases" if self.spend_on_repeats_ else "all purchases"}
