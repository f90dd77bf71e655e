"""Customer equity: per-customer value of the existing base, per consent cohort.

:class:`CustomerBase` fits the revenue streams of one target on its cleaned analysis tables
(a non-contractual purchase stream on the non-membership orders, plus a membership stream
when ``economics.membership_fee`` is set, so membership fees are never counted twice) and the
base's residual retention curve. :meth:`CustomerBase.customer_values` then gives, for any
:class:`~valuation.value.assumptions.Assumptions`, each customer's

* ``clv``: discounted margin over the horizon under the current owner;
* ``clv_transferred``: the same after the change-of-owner shock (one-off loss and hazard
  multiplier, see :mod:`valuation.value.retention`).

Discounting is at the middle of each grid interval of :func:`~valuation.value.streams.time_grid`
(quarterly to ten years, yearly on), at the effective annual rate.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping

import numpy as np
import pandas as pd

from valuation.errors import ModelInputError
from valuation.privacy.cohorts import cohort_mask
from valuation.tables import COHORTS
from valuation.value.assumptions import Assumptions, UNLIMITED_HORIZON_YEARS
from valuation.value.retention import ResidualRetention, attrition_ratio, customer_lifetimes
from valuation.value.streams import (
    PERIODS_PER_YEAR,
    MembershipStream,
    PurchaseStream,
    membership_table,
    time_grid,
)

MEMBERSHIP_CATEGORY = "membership"


def net_orders(orders: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Orders up to ``as_of`` with ``net_amount = amount - refund`` > 0 (fully refunded dropped)."""
    frame = orders.loc[orders["order_date"] <= pd.Timestamp(as_of)].copy()
    frame["net_amount"] = frame["amount"] - frame["refund_amount"].fillna(0.0)
    return frame.loc[frame["net_amount"] > 0]


def collapse_instalments(orders: pd.DataFrame) -> pd.DataFrame:
    """One purchase per course enrolment: instalment orders of the same customer and course
    become one transaction dated at the first payment, worth their total net amount.

    An instalment plan is one purchase decision; counting each payment as a repeat purchase
    would inflate the purchase model's frequency (and double count the course). Payments not
    yet due at ``as_of`` are not valued (conservative).
    """
    plan = orders["payment_plan"].astype("string").str.lower()
    instal = (plan == "instalment").fillna(False).to_numpy(bool)
    if not instal.any():
        return orders
    grouped = orders.loc[instal].groupby(["customer_token", "course"], dropna=False,
                                         observed=True, sort=False)
    merged = grouped.agg(order_date=("order_date", "min"), net_amount=("net_amount", "sum"),
                         category=("category", "first")).reset_index()
    return pd.concat([orders.loc[~instal], merged], ignore_index=True)


def cohort_flags(customers: pd.DataFrame) -> pd.DataFrame:
    """Consent cohort flags per customer (:func:`valuation.privacy.cohorts.cohort_mask`)."""
    return pd.DataFrame({cohort: cohort_mask(customers, cohort).to_numpy(bool)
                         for cohort in COHORTS}, index=customers.index)


def _main_category(orders: pd.DataFrame) -> pd.Series:
    revenue = orders.groupby(["customer_token", "category"], observed=True)["net_amount"].sum()
    if revenue.empty:
        return pd.Series(dtype="string")
    top = revenue.reset_index().sort_values(["customer_token", "net_amount"],
                                            ascending=[True, False])
    return top.drop_duplicates("customer_token").set_index("customer_token")["category"]


def customer_frame(tables: Mapping[str, pd.DataFrame], as_of: pd.Timestamp,
                   inactivity_days: int) -> pd.DataFrame:
    """One row per customer token: cohort flags, segments, activity and trailing revenue.

    Columns: ``all``, ``transferable``, ``transferable_contactable``, ``channel``,
    ``category`` (the category of most net revenue), ``city_tier``, ``active`` (an order or
    activity event within ``inactivity_days`` before ``as_of``), ``revenue_12m`` (net revenue
    in the 12 months up to ``as_of``).
    """
    customers = tables["customers"].drop_duplicates("customer_token").set_index("customer_token")
    frame = cohort_flags(customers)
    frame["channel"] = customers["channel"].astype("string").fillna("unknown")
    frame["city_tier"] = (customers["city_tier"].astype("string").fillna("unknown")
                          if "city_tier" in customers else "unknown")
    orders = net_orders(tables["orders"], as_of)
    frame["category"] = _main_category(orders).reindex(frame.index).astype("string").fillna("none")
    start = pd.Timestamp(as_of) - pd.DateOffset(months=12)
    recent = orders.loc[orders["order_date"] > start]
    frame["revenue_12m"] = recent.groupby("customer_token")["net_amount"].sum().reindex(
        frame.index).fillna(0.0)
    last = orders.groupby("customer_token")["order_date"].max()
    activity = tables.get("activity")
    if activity is not None and len(activity):
        acts = activity.loc[activity["event_date"] <= pd.Timestamp(as_of)]
        last = pd.concat([last, acts.groupby("customer_token")["event_date"].max()], axis=1).max(axis=1)
    days = (pd.Timestamp(as_of) - last.reindex(frame.index)).dt.days
    frame["active"] = (days <= inactivity_days).fillna(False).to_numpy(bool)
    return frame


class CustomerBase:
    """The fitted revenue streams and retention of one target's existing customers.

    Parameters
    ----------
    purchase_model, spend_model, membership_model : estimators, optional
        Unfitted templates; defaults ``BetaGeo()``, ``GammaGamma()`` and
        ``ShiftedBetaGeometric()`` from :mod:`valuation.models`.
    max_horizon_years : float
        Longest horizon any later call may ask for (grid length), e.g. the high end of the
        horizon sensitivity.
    """

    def __init__(self, purchase_model=None, spend_model=None, membership_model=None, *,
                 max_horizon_years: float = 10.0) -> None:
        self.purchase_model = purchase_model
        self.spend_model = spend_model
        self.membership_model = membership_model
        self.max_horizon_years = max_horizon_years

    # -- fitting ---------------------------------------------------------------------------
    def fit(self, tables: Mapping[str, pd.DataFrame], params) -> "CustomerBase":
        """Fit on cleaned analysis tables for the target described by ``params``.

        Parameters
        ----------
        tables : mapping of table name to DataFrame
            Cleaned analysis tables (``valuation.quality.clean_tables(...).tables``).
        params : DealParams
        """
        from valuation.features import rfm_summary

        self.as_of_ = pd.Timestamp(params.as_of)
        assumptions = Assumptions.from_params(params)
        self.assumptions_ = assumptions
        # work on plain row-numbered views (an index named like a column would be ambiguous)
        tables = {name: frame.reset_index(drop=True) for name, frame in tables.items()}
        self.tables_ = tables
        self.customers_ = customer_frame(tables, self.as_of_, assumptions.inactivity_days)
        orders = net_orders(tables["orders"], self.as_of_)
        fee = params.economics.membership_fee
        is_member_order = orders["category"].astype("string").str.lower() == MEMBERSHIP_CATEGORY
        self.purchase_ = None
        stream_orders = orders.loc[~is_member_order] if fee is not None else orders
        stream_orders = collapse_instalments(stream_orders)
        if not stream_orders.empty:
            rfm = rfm_summary(stream_orders, customer_id="customer_token", date="order_date",
                              amount="net_amount", calibration_end=params.as_of,
                              time_unit=params.time_unit)
            rfm = rfm.loc[rfm.index.isin(self.customers_.index)]
            purchase, spend = self._templates()
            self.purchase_ = PurchaseStream(purchase, spend, PERIODS_PER_YEAR[params.time_unit])
            self.purchase_.fit(rfm)
        self.membership_ = None
        if fee is not None:
            members = membership_table(tables["orders"], self.as_of_)
            members = members.loc[members.index.isin(self.customers_.index)]
            if len(members):
                self.membership_ = MembershipStream(self._membership_template(), float(fee))
                self.membership_.fit(members)
        if self.purchase_ is None and self.membership_ is None:
            raise ModelInputError(
                f"{params.target}: no paid order on or before {params.as_of}: nothing to value"
            )
        if self.membership_ is not None:
            active_member = self.membership_.members_["active"].astype(bool).reindex(
                self.customers_.index, fill_value=False)
            self.customers_["active"] |= active_member.to_numpy(bool)
        self._lifetimes = {}
        self._retention = {}
        self.retention_ = self.retention(assumptions.inactivity_days)
        self.edges_ = time_grid(self.max_horizon_years, (assumptions.horizon_years,
                                                         assumptions.hazard_months / 12.0))
        self._cache = {}
        return self

    def _templates(self):
        from valuation import models

        purchase = self.purchase_model if self.purchase_model is not None else models.BetaGeo()
        spend = self.spend_model if self.spend_model is not None else models.GammaGamma()
        return purchase, spend

    def _membership_template(self):
        if self.membership_model is not None:
            return self.membership_model
        from valuation import models

        return models.ShiftedBetaGeometric()

    def retention(self, inactivity_days: int) -> ResidualRetention:
        """The residual retention curve for a churn threshold (cached per threshold)."""
        if inactivity_days not in self._retention:
            lifetimes = customer_lifetimes(net_orders(self.tables_["orders"], self.as_of_),
                                           self.tables_.get("activity"), self.as_of_,
                                           inactivity_days)
            self._retention[inactivity_days] = ResidualRetention().fit(lifetimes)
        return self._retention[inactivity_days]

    # -- refits for the uncertainty --------------------------------------------------------
    def refit(self, weights: np.ndarray) -> "CustomerBase":
        """A copy refitted on a weighted resample of the customers (weights per customer in
        ``customers_`` order). The retention curve is kept (it only shapes the shock)."""
        other = copy.copy(self)
        other._cache = {}
        w = pd.Series(np.asarray(weights, float), index=self.customers_.index)
        if self.purchase_ is not None:
            rfm = self.purchase_.rfm_
            other.purchase_ = copy.copy(self.purchase_).fit(
                rfm, w.reindex(rfm.index).to_numpy(), warm_start=self.purchase_)
        if self.membership_ is not None:
            members = self.membership_.members_
            other.membership_ = copy.copy(self.membership_).fit(
                members, w.reindex(members.index).to_numpy(), warm_start=self.membership_)
        return other

    def with_models(self, *, purchase=None, spend=None, membership=None) -> "CustomerBase":
        """A copy whose streams use the given fitted models (parameter draws)."""
        other = copy.copy(self)
        other._cache = {}
        if self.purchase_ is not None:
            other.purchase_ = self.purchase_.with_models(
                purchase if purchase is not None else self.purchase_.purchase_model_,
                spend if spend is not None else self.purchase_.spend_model_)
        if self.membership_ is not None and membership is not None:
            other.membership_ = self.membership_.with_model(membership)
        return other

    def fitted_models(self) -> dict[str, object]:
        """The fitted models by role: ``purchase``, ``spend``, ``membership`` (when present)."""
        out = {}
        if self.purchase_ is not None:
            out["purchase"] = self.purchase_.purchase_model_
            out["spend"] = self.purchase_.spend_model_
        if self.membership_ is not None:
            out["membership"] = self.membership_.survival_model_
        return out

    # -- values ----------------------------------------------------------------------------
    def _transactions(self) -> np.ndarray:
        if "tx" not in self._cache:
            self._cache["tx"] = self.purchase_.expected_transactions(self.edges_)
            self._cache["spend"] = self.purchase_.expected_spend() * self.purchase_.alive()
        return self._cache["tx"]

    def customer_values(self, assumptions: Assumptions) -> pd.DataFrame:
        """Per-customer value under ``assumptions`` (every customer of ``customers_``).

        Returns
        -------
        DataFrame indexed by customer token with ``clv`` (current owner), ``clv_transferred``
        (after the change-of-owner shock), ``clv_purchase`` and ``clv_membership`` (the two
        streams of ``clv``).
        """
        if assumptions.horizon_years > self.edges_[-1] + 1e-9:
            raise ModelInputError(
                f"horizon {assumptions.horizon_years} years is beyond the grid of this fit "
                f"({self.edges_[-1]:g}); fit CustomerBase with a larger max_horizon_years"
            )
        edges = self.edges_
        mid = (edges[:-1] + edges[1:]) / 2
        weight = (1 + assumptions.annual_discount_rate) ** (-mid)
        weight = weight * (edges[1:] <= assumptions.horizon_years + 1e-9)
        shock = attrition_ratio(mid, self.retention(assumptions.inactivity_days),
                                assumptions.one_off_loss, assumptions.hazard_multiplier,
                                assumptions.hazard_months)
        index = self.customers_.index
        out = pd.DataFrame(0.0, index=index, columns=["clv_purchase", "clv_membership",
                                                      "clv_purchase_transferred",
                                                      "clv_membership_transferred"])
        if self.purchase_ is not None:
            tx = self._transactions()
            spend = self._cache["spend"]
            inv = self.purchase_.xt_inverse_
            tokens = self.purchase_.rfm_.index
            out.loc[tokens, "clv_purchase"] = spend * (tx @ weight)[inv]
            out.loc[tokens, "clv_purchase_transferred"] = spend * (tx @ (weight * shock))[inv]
        if self.membership_ is not None:
            stream = self.membership_
            base = stream.revenue_flows(edges) @ weight
            shocked = stream.revenue_flows(
                edges, hazard_multiplier=assumptions.hazard_multiplier,
                hazard_years=assumptions.hazard_months / 12.0, shocked=True) @ weight
            tokens = stream.members_.index
            out.loc[tokens, "clv_membership"] = base
            out.loc[tokens, "clv_membership_transferred"] = (1 - assumptions.one_off_loss) * shocked
        out *= assumptions.gross_margin
        out["clv"] = out["clv_purchase"] + out["clv_membership"]
        out["clv_transferred"] = out["clv_purchase_transferred"] + out["clv_membership_transferred"]
        return out[["clv", "clv_transferred", "clv_purchase", "clv_membership"]]


def cohort_equity(values: pd.DataFrame, customers: pd.DataFrame) -> pd.DataFrame:
    """Customer equity per consent cohort.

    Parameters
    ----------
    values : DataFrame
        From :meth:`CustomerBase.customer_values`.
    customers : DataFrame
        ``CustomerBase.customers_`` (cohort flags and ``active``).

    Returns
    -------
    DataFrame indexed by cohort (``all``, ``transferable``, ``transferable_contactable``) with
    ``customers``, ``active_customers``, ``equity`` (current owner), ``equity_transferred``
    (after the change-of-owner shock), ``share_of_all``.
    """
    rows = []
    total = float(values["clv"].sum())
    for cohort in COHORTS:
        mask = customers[cohort].to_numpy(bool)
        equity = float(values["clv"].to_numpy()[mask].sum())
        rows.append({
            "cohort": cohort,
            "customers": int(mask.sum()),
            "active_customers": int((mask & customers["active"].to_numpy(bool)).sum()),
            "equity": equity,
            "equity_transferred": float(values["clv_transferred"].to_numpy()[mask].sum()),
            "share_of_all": equity / total if total > 0 else np.nan,
        })
    return pd.DataFrame(rows).set_index("cohort")
