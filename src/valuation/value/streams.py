"""Revenue streams of the existing base: a non-contractual purchase stream and a membership
(contractual) stream, each able to give per-customer expected revenue per future period.

Both work on a time grid in years (:func:`time_grid`): quarterly to ten years, yearly to
fifty. A stream returns, per customer, the expected revenue of each grid
interval; discounting, the horizon, the margin and the change-of-owner shock are then plain
vector products (``valuation.value.equity``), so sensitivities never refit a model.

Refits for the bootstrap take per-customer integer weights (multinomial resampling counts);
the purchase models group identical (frequency, recency, T) rows themselves, and the
membership stream's survivor counts are weighted sums, so a refit costs one small fit.
"""

from __future__ import annotations

import copy
import inspect

import numpy as np
import pandas as pd

from valuation.errors import ModelInputError
from valuation.value.assumptions import UNLIMITED_HORIZON_YEARS

PERIODS_PER_YEAR: dict[str, float] = {"D": 365.25, "W": 52.0, "M": 12.0}
"""Model time units per year (weeks: 52, as in the models' own discounting)."""


def time_grid(max_years: float, extra_points: tuple[float, ...] = ()) -> np.ndarray:
    """Grid edges in years from 0 to ``max_years``: quarterly to 10, yearly on.

    ``extra_points`` (e.g. horizons of a sensitivity, the end of the hazard window) are added
    so every horizon falls exactly on an edge.
    """
    max_years = float(min(max_years, UNLIMITED_HORIZON_YEARS))
    edges = np.concatenate([
        np.arange(0, 10, 0.25), np.arange(10, UNLIMITED_HORIZON_YEARS + 1, 1.0)
    ])
    edges = np.concatenate([edges, np.asarray(extra_points, float), [max_years]])
    edges = np.unique(np.round(edges[(edges >= 0) & (edges <= max_years)], 10))
    return edges


def _accepts_weights(method) -> bool:
    try:
        return "weights" in inspect.signature(method).parameters
    except (TypeError, ValueError):
        return False


class PurchaseStream:
    """Repeat purchases (BG/NBD or Pareto/NBD) times expected spend (Gamma-Gamma).

    Parameters
    ----------
    purchase_model : estimator
        Unfitted, with ``fit(frequency, recency, T, weights=None)`` and
        ``conditional_expected_purchases(t, frequency, recency, T)``.
    spend_model : estimator
        Unfitted, with ``fit(frequency, monetary_value)`` and
        ``conditional_expected_spend(frequency, monetary_value)``.
    periods_per_year : float
        Model time units in a year (52 for weeks).
    """

    def __init__(self, purchase_model, spend_model, periods_per_year: float = 52.0) -> None:
        self.purchase_model = purchase_model
        self.spend_model = spend_model
        self.periods_per_year = periods_per_year

    # -- fitting -------------------------------------------------------------------------
    def fit(self, rfm: pd.DataFrame, weights: np.ndarray | None = None, *,
            warm_start: "PurchaseStream | None" = None) -> "PurchaseStream":
        """Fit both models on an RFM summary (``frequency, recency, T, monetary_value``).

        Parameters
        ----------
        rfm : DataFrame
            One row per customer (index: customer token).
        weights : ndarray, optional
            Non-negative integer weight per row (bootstrap counts).
        warm_start : PurchaseStream, optional
            A fitted stream whose estimates start the optimisers (bootstrap refits).
        """
        missing = {"frequency", "recency", "T", "monetary_value"} - set(rfm.columns)
        if missing:
            raise ModelInputError(f"RFM summary lacks column(s) {sorted(missing)}")
        self.rfm_ = rfm
        keys = rfm[["frequency", "recency", "T"]].to_numpy(float)
        self.rows_, self.inverse_ = np.unique(keys, axis=0, return_inverse=True)
        self.inverse_ = self.inverse_.ravel()
        self.xt_, self.xt_inverse_ = np.unique(keys[:, [0, 2]], axis=0, return_inverse=True)
        self.xt_inverse_ = self.xt_inverse_.ravel()
        w = np.ones(len(rfm)) if weights is None else np.asarray(weights, float)
        self.purchase_model_ = copy.deepcopy(self.purchase_model)
        if warm_start is not None and hasattr(self.purchase_model_, "initial_params"):
            self.purchase_model_.initial_params = np.asarray(
                warm_start.purchase_model_.params_, float)
        row_w = np.bincount(self.inverse_, weights=w, minlength=len(self.rows_))
        keep = row_w > 0
        self.purchase_model_.fit(
            self.rows_[keep, 0], self.rows_[keep, 1], self.rows_[keep, 2], weights=row_w[keep]
        )
        self.spend_model_ = self._fit_spend(w, warm_start)
        return self

    def _fit_spend(self, w: np.ndarray, warm_start: "PurchaseStream | None" = None):
        rfm = self.rfm_
        repeat = (rfm["frequency"].to_numpy() > 0) & (rfm["monetary_value"].to_numpy() > 0)
        freq = rfm["frequency"].to_numpy(float)[repeat]
        money = rfm["monetary_value"].to_numpy(float)[repeat]
        wr = w[repeat]
        model = copy.deepcopy(self.spend_model)
        if warm_start is not None and hasattr(model, "initial_params"):
            model.initial_params = np.asarray(warm_start.spend_model_.params_, float)
        if _accepts_weights(model.fit):
            keep = wr > 0
            model.fit(freq[keep], money[keep], weights=wr[keep])
        else:  # repeat rows by their bootstrap count
            reps = np.rint(wr).astype(int)
            model.fit(np.repeat(freq, reps), np.repeat(money, reps))
        return model

    def with_models(self, purchase_model, spend_model) -> "PurchaseStream":
        """A copy using already fitted models (e.g. parameters drawn from their sampling law)."""
        other = copy.copy(self)
        other.purchase_model_ = purchase_model
        other.spend_model_ = spend_model
        return other

    # -- prediction ----------------------------------------------------------------------
    def expected_spend(self) -> np.ndarray:
        """Expected spend per transaction of every customer (population mean when x = 0)."""
        rfm = self.rfm_
        freq = rfm["frequency"].to_numpy(float)
        money = np.where(freq > 0, rfm["monetary_value"].to_numpy(float), 0.0)
        money = np.nan_to_num(np.maximum(money, 0.0))
        spend = self.spend_model_.conditional_expected_spend(freq, money)
        return np.asarray(spend, float)

    def expected_transactions(self, edges_years: np.ndarray) -> np.ndarray:
        """Expected transactions in each grid interval, per unique (x, T) pair, for a customer
        certainly alive (multiply by :meth:`alive` to get each customer's).

        Both purchase models factor as ``E[X(t) | x, t_x, T] = P(alive | x, t_x, T) g(t; x, T)``
        (``t_x`` enters only through P(alive)), so ``g`` is computed once per (x, T) pair
        from the public ``conditional_expected_purchases`` and ``p_alive`` with ``t_x = T`` (``t_x = 0`` when x = 0).

        Returns
        -------
        ndarray of shape (n unique (x, T) pairs, len(edges_years) - 1)
        """
        x, big_t = self.xt_[:, 0], self.xt_[:, 1]
        recency = np.where(x > 0, big_t, 0.0)  # no repeat purchase: recency is 0 by definition
        model = self.purchase_model_
        alive_at_t = np.asarray(model.p_alive(x, recency, big_t), float)
        cumulative = np.zeros((len(x), len(edges_years)))
        for k, years in enumerate(edges_years[1:], start=1):
            cumulative[:, k] = np.asarray(model.conditional_expected_purchases(
                years * self.periods_per_year, x, recency, big_t), float)
        cumulative /= np.maximum(alive_at_t, 1e-300)[:, None]
        return np.maximum(np.diff(cumulative, axis=1), 0.0)

    def alive(self) -> np.ndarray:
        """P(alive) of every customer (``rfm_`` order)."""
        rfm = self.rfm_
        return np.asarray(self.purchase_model_.p_alive(
            rfm["frequency"].to_numpy(float), rfm["recency"].to_numpy(float),
            rfm["T"].to_numpy(float)), float)

    def revenue_flows(self, edges_years: np.ndarray) -> np.ndarray:
        """Expected revenue per customer and grid interval, shape (n customers, intervals)."""
        per_pair = self.expected_transactions(edges_years)
        return per_pair[self.xt_inverse_] * (self.alive() * self.expected_spend())[:, None]


class MembershipStream:
    """Annual memberships: shifted-beta-geometric renewals times the membership fee.

    A member who has paid ``n`` times (``n - 1`` renewals) pays again ``j + 1`` years on with
    probability ``S(n + j) / S(n - 1)`` (``S``: sBG survival), the ``j``-th future payment
    falling due ``next_due + j`` years after the valuation date. The model is fitted on the
    renewal record of every member: a member observed for ``o`` renewal decisions who made
    ``n - 1`` renewals churned at ``n`` if ``n - 1 < o``, else is right-censored at ``n - 1``.

    Parameters
    ----------
    survival_model : estimator
        Unfitted, with ``fit(survivors)`` (or the per-member form, see :meth:`fit`) and
        ``survival(t)``.
    fee : float
        Annual membership fee (CNY, net revenue).
    """

    def __init__(self, survival_model, fee: float) -> None:
        self.survival_model = survival_model
        self.fee = fee

    def fit(self, members: pd.DataFrame, weights: np.ndarray | None = None, *,
            warm_start: "MembershipStream | None" = None) -> "MembershipStream":
        """Fit on ``members`` (index token; ``payments``, ``observed_decisions``,
        ``next_due_years``, ``active``).

        Parameters
        ----------
        members : DataFrame
            One row per member, from :func:`membership_table`.
        weights : ndarray, optional
            Bootstrap count per member.
        """
        self.members_ = members
        w = np.ones(len(members)) if weights is None else np.asarray(weights, float)
        self.survivors_ = survivors_curve(members, w)
        model = copy.deepcopy(self.survival_model)
        if warm_start is not None and hasattr(model, "initial_params"):
            model.initial_params = np.asarray(warm_start.survival_model_.params_, float)
        model.fit(self.survivors_)
        self.survival_model_ = model
        return self

    def with_model(self, survival_model) -> "MembershipStream":
        other = copy.copy(self)
        other.survival_model_ = survival_model
        return other

    def payment_probabilities(self, n_payments: int) -> np.ndarray:
        """``P[i, j]``: probability member i makes future payment j (j = 0..n_payments-1)."""
        n = self.members_["payments"].to_numpy(int)
        top = int(n.max()) + n_payments + 1
        s = np.asarray(self.survival_model_.survival(np.arange(top)), float)
        j = np.arange(n_payments)
        alive_now = np.maximum(s[n - 1], 1e-300)
        return s[n[:, None] + j[None, :]] / alive_now[:, None]

    def revenue_flows(self, edges_years: np.ndarray, *, hazard_multiplier: float = 1.0,
                      hazard_years: float = 0.0, shocked: bool = False) -> np.ndarray:
        """Expected fee revenue per member and grid interval (active members only).

        With ``shocked=True`` the change-of-owner hazard multiplier acts on each member's own
        sBG curve: a payment due after ``j`` decisions is made with probability
        ``P_j * P_{j*}^(m - 1)``, ``j*`` the last decision inside the hazard window (the
        one-off loss is applied by the caller).
        """
        members = self.members_
        horizon = float(edges_years[-1])
        n_payments = int(np.ceil(horizon)) + 1
        prob = self.payment_probabilities(n_payments)
        due = members["next_due_years"].to_numpy(float)[:, None] + np.arange(n_payments)[None, :]
        if shocked and hazard_multiplier != 1.0 and hazard_years > 0:
            inside = due <= hazard_years
            last_inside = np.where(inside.any(axis=1), inside.sum(axis=1) - 1, -1)
            j = np.arange(n_payments)[None, :]
            capped = np.minimum(j, last_inside[:, None])
            p_cap = np.take_along_axis(prob, np.maximum(capped, 0), axis=1)
            shock = np.where(capped >= 0, p_cap ** (hazard_multiplier - 1.0), 1.0)
            prob = prob * shock
        active = members["active"].to_numpy(bool)[:, None]
        amount = np.where(active & (due < horizon), prob * self.fee, 0.0)
        interval = np.clip(np.searchsorted(edges_years, due, side="right") - 1, 0,
                           len(edges_years) - 2)
        flows = np.zeros((len(members), len(edges_years) - 1))
        rows = np.repeat(np.arange(len(members)), n_payments)
        np.add.at(flows, (rows, interval.ravel()), amount.ravel())
        return flows


def survivors_curve(members: pd.DataFrame, weights: np.ndarray) -> np.ndarray:
    """Pooled survivors of an initial cohort implied by every member's renewal record.

    The renewal hazard at decision ``t`` is estimated from all members who faced that
    decision (actuarial life table over cohorts), and the survivors of a cohort of
    ``sum(weights)`` members are built from it: ``N_t = N_0 * prod_{s<=t} (1 - h_s)``,
    rounded to whole customers. Decisions beyond the point where fewer than 5 weighted
    members were at risk are dropped.
    """
    n = members["payments"].to_numpy(int)
    observed = members["observed_decisions"].to_numpy(int)
    w = np.asarray(weights, float)
    renewals = n - 1
    top = int(observed.max()) if len(observed) else 0
    survivors = [float(w.sum())]
    level = 1.0
    for t in range(1, top + 1):
        at_risk = w[(observed >= t) & (renewals >= t - 1)].sum()
        if at_risk < 5:
            break
        lost = w[(observed >= t) & (renewals == t - 1)].sum()
        level *= 1.0 - lost / at_risk
        survivors.append(survivors[0] * level)
    return np.rint(np.asarray(survivors)).astype(int)


def membership_table(orders: pd.DataFrame, as_of: pd.Timestamp, *,
                     category: str = "membership", grace_days: int = 60) -> pd.DataFrame:
    """Renewal record of every member from the membership orders.

    Parameters
    ----------
    orders : DataFrame
        Analysis orders; membership orders are those whose ``category`` equals ``category``
        (case-insensitive), fully refunded ones excluded.
    as_of : Timestamp
        Valuation date.
    grace_days : int
        A membership is active if its last payment is less than one year plus this many days
        before ``as_of``.

    Returns
    -------
    DataFrame indexed by customer token: ``payments`` (n), ``observed_decisions`` (renewal
    dates passed, grace included), ``next_due_years`` (>= 0) and ``active``.
    """
    as_of = pd.Timestamp(as_of)
    cat = orders["category"].astype("string").str.lower()
    net = orders["amount"] - orders["refund_amount"].fillna(0.0)
    paid = orders.loc[(cat == category) & (net > 0) & (orders["order_date"] <= as_of)]
    if paid.empty:
        return pd.DataFrame(columns=["payments", "observed_decisions", "next_due_years", "active"])
    grouped = paid.groupby("customer_token")["order_date"]
    first, last, count = grouped.min(), grouped.max(), grouped.size()
    years_since_first = (as_of - first).dt.days / 365.25
    observed = np.floor(years_since_first - grace_days / 365.25).clip(lower=0).astype(int)
    next_due = ((last + pd.Timedelta(days=365)) - as_of).dt.days / 365.25
    return pd.DataFrame({
        "payments": count.astype(int),
        "observed_decisions": np.maximum(observed, count - 1).astype(int),
        "next_due_years": next_due.clip(lower=0.0).astype(float),
        "active": ((as_of - last).dt.days <= 365 + grace_days).to_numpy(),
    })
