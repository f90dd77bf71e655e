"""Customer equity: per-customer value of the existing base, per consent cohort.

:class:`CustomerBase` fits the revenue streams of one target on its cleaned analysis tables
(a non-contractual purchase stream on the non-membership orders, or its fallback; a
membership stream when ``economics.membership_fee`` is set, so membership fees are never
counted twice; outstanding instalments of running payment plans) and the base's residual
retention curve. :meth:`CustomerBase.customer_values` then gives, for any
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
from valuation.units import MONTHS_PER_YEAR, midpoint_discount
from valuation.value.assumptions import Assumptions
from valuation.value.fallback import EmpiricalRateStream, purchase_fallback_reason
from valuation.value.instalments import InstalmentStream, instalment_plans
from valuation import lifetime
from valuation.value.retention import ResidualRetention, attrition_ratio, customer_lifetimes
from valuation.value.streams import (
    MembershipStream,
    PurchaseStream,
    matches_lower,
    membership_table,
    time_grid,
)

MEMBERSHIP_CATEGORY = "membership"


def net_orders(orders: pd.DataFrame, as_of: pd.Timestamp,
               columns: list[str] | None = None) -> pd.DataFrame:
    """Orders up to ``as_of`` with ``net_amount = amount - refund`` > 0 (fully refunded dropped).

    Parameters
    ----------
    orders : DataFrame
        Analysis orders; not modified.
    as_of : Timestamp
    columns : list of str, optional
        Keep only these columns (besides ``net_amount``): the kept rows of the other columns
        are then never copied (orders run to millions of rows).
    """
    net = orders["amount"] - orders["refund_amount"].fillna(0.0)
    keep = ((orders["order_date"] <= pd.Timestamp(as_of)) & (net > 0)).to_numpy(bool)
    # one selection of rows and columns (a single copy; the input is not modified)
    if columns is not None:
        frame = orders.loc[keep, list(columns)]
    else:
        frame = orders.loc[keep] if not keep.all() else orders
    frame = frame.copy(deep=False)
    frame["net_amount"] = net.to_numpy(float)[keep]
    return frame


def collapse_instalments(orders: pd.DataFrame) -> pd.DataFrame:
    """One purchase per course enrolment: instalment orders of the same customer and course
    become one transaction dated at the first payment, worth their total net amount.

    An instalment plan is one purchase decision; counting each payment as a repeat purchase
    would inflate the purchase model's frequency (and double count the course). Payments not
    yet due at ``as_of`` are not valued (conservative).
    """
    instal = matches_lower(orders["payment_plan"], "instalment")
    if not instal.any():
        return orders
    grouped = orders.loc[instal].groupby(["customer_token", "course"], dropna=False,
                                         observed=True, sort=False)
    merged = grouped.agg(order_date=("order_date", "min"), net_amount=("net_amount", "sum"),
                         category=("category", "first")).reset_index()
    return pd.concat([orders.loc[~instal], merged], ignore_index=True)


def purchase_orders(orders: pd.DataFrame, membership_fee: float | None) -> pd.DataFrame:
    """The orders of the purchase stream: all of them, or all but membership fees when the
    target has a membership stream (so a fee is never counted twice)."""
    if membership_fee is None:
        return orders
    is_member = matches_lower(orders["category"], MEMBERSHIP_CATEGORY)
    return orders.loc[~is_member] if is_member.any() else orders


def purchase_transactions(orders: pd.DataFrame, params) -> pd.DataFrame:
    """The transactions the purchase model sees: paid orders up to ``as_of`` net of refunds,
    without membership fees when a membership stream exists, instalment plans merged into
    one purchase (see :func:`collapse_instalments`)."""
    frame = net_orders(orders, pd.Timestamp(params.as_of))
    return collapse_instalments(purchase_orders(frame, params.economics.membership_fee))


def _row_numbered(frame: pd.DataFrame) -> pd.DataFrame:
    """A shallow view of ``frame`` with a plain 0..n-1 index (no column data copied; the
    input keeps its own index)."""
    if isinstance(frame.index, pd.RangeIndex) and frame.index.start == 0 \
            and frame.index.step == 1 and frame.index.name is None:
        return frame
    view = frame.copy(deep=False)
    view.index = pd.RangeIndex(len(view))
    return view


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
    ``category`` (the category of most net revenue), ``city_tier``, ``active`` (a purchaser
    not churned under :mod:`valuation.lifetime`: a purchase or activity event within
    ``inactivity_days`` before ``as_of``), ``revenue_12m`` (net revenue
    in the 12 months up to ``as_of``).
    """
    customers = tables["customers"].drop_duplicates("customer_token").set_index("customer_token")
    frame = cohort_flags(customers)
    frame["channel"] = customers["channel"].astype("string").fillna("unknown")
    frame["city_tier"] = (customers["city_tier"].astype("string").fillna("unknown")
                          if "city_tier" in customers else "unknown")
    orders = net_orders(tables["orders"], as_of, ["customer_token", "category", "order_date"])
    frame["category"] = _main_category(orders).reindex(frame.index).astype("string").fillna("none")
    start = pd.Timestamp(as_of) - pd.DateOffset(months=12)
    recent = orders.loc[orders["order_date"] > start]
    frame["revenue_12m"] = recent.groupby("customer_token")["net_amount"].sum().reindex(
        frame.index).fillna(0.0)
    # active = not churned under the one lifetime definition (valuation.lifetime)
    try:
        lives = lifetime.customer_lifetimes(tables, as_of, inactivity_days)
        churned = lives["event"].reindex(frame.index)
    except ModelInputError:  # no purchase at all: nobody is active
        churned = pd.Series(np.nan, index=frame.index)
    frame["active"] = (churned == 0).fillna(False).to_numpy(bool)
    return frame


STREAM_COLUMNS: dict[str, str] = {"purchases": "clv_purchase", "memberships": "clv_membership",
                                  "instalments": "clv_instalment"}
"""Value column of each stream in :meth:`CustomerBase.customer_values`."""


class CustomerBase:
    """The fitted revenue streams and retention of one target's existing customers.

    Streams (``streams_``, see the protocol in :mod:`valuation.value.streams`):

    * ``purchases``: BG/NBD (or the template given) with Gamma-Gamma spend on the
      non-membership purchases, instalment plans merged into one purchase; replaced by the
      clearly labelled fallback :class:`~valuation.value.fallback.EmpiricalRateStream` when
      the models cannot be trusted (``purchase_fallback_reason_`` says why);
    * ``memberships``: sBG renewals times ``economics.membership_fee`` (when set);
    * ``instalments``: outstanding instalments of payment plans running at ``as_of``
      (:mod:`valuation.value.instalments`), when the data show any.

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

        Raises
        ------
        ModelInputError
            No paid order on or before ``as_of``.
        """
        self.as_of_ = pd.Timestamp(params.as_of)
        assumptions = Assumptions.from_params(params)
        self.assumptions_ = assumptions
        # work on plain row-numbered views (an index named like a column would be ambiguous)
        tables = {name: _row_numbered(frame) for name, frame in tables.items()}
        self.tables_ = tables
        self.customers_ = customer_frame(tables, self.as_of_, assumptions.inactivity_days)
        orders = net_orders(tables["orders"], self.as_of_)
        if orders.empty:
            raise ModelInputError(
                f"{params.target}: no paid order on or before {params.as_of}: nothing to value"
            )
        self._lifetimes = {}
        self._retention = {}
        self.retention_ = self.retention(assumptions.inactivity_days)
        fee = params.economics.membership_fee
        self.method_notes_: list[str] = []
        self.purchase_fallback_reason_ = None
        self.purchase_ = None
        stream_orders = purchase_orders(orders, fee)
        known = stream_orders["customer_token"].isin(self.customers_.index).to_numpy(bool)
        if not known.all():
            stream_orders = stream_orders.loc[known]
        if not stream_orders.empty:
            self.purchase_ = self._fit_purchases(collapse_instalments(stream_orders), params)
        self.instalments_ = None
        if not stream_orders.empty:
            plans = instalment_plans(stream_orders, self.as_of_)
            if len(plans) and plans["running"].any():
                self.instalments_ = InstalmentStream().fit(plans, self.as_of_)
                info = self.instalments_.summary()
                self.method_notes_.append(
                    f"Outstanding instalments valued: {info['running_plans']} payment plan(s) "
                    f"running at {self.as_of_.date()}, expected outstanding "
                    f"{info['expected_outstanding_amount']:,.0f} CNY before margin and "
                    f"discounting (plan length inferred from the course price; payments every "
                    f"{info['cadence_days']:.0f} days; empirical continuation rates).")
            elif len(plans):
                self.method_notes_.append(
                    "Instalment plans found, none running at the valuation date: nothing "
                    "outstanding to value.")
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
        self.edges_ = time_grid(self.max_horizon_years, (assumptions.horizon_years,
                                                         assumptions.hazard_months / MONTHS_PER_YEAR))
        self._positions = {}
        return self

    def _fit_purchases(self, orders: pd.DataFrame, params):
        """The purchase stream: the models, or the fallback with the reason recorded."""
        from valuation.features import rfm_summary

        rfm = rfm_summary(orders, customer_id="customer_token", date="order_date",
                          amount="net_amount", calibration_end=params.as_of,
                          time_unit=params.time_unit)
        rfm = rfm.loc[rfm.index.isin(self.customers_.index)]
        repeat_buyers = int((rfm["frequency"] > 0).sum())
        reason = purchase_fallback_reason(repeat_buyers)
        self.model_choice_ = None
        if reason is None:  # candidates compared on the holdout (valuation.value.selection)
            from valuation.value.selection import choice_note, fit_chosen_stream

            spend = self._templates()[1]
            births = None
            if params.economics.membership_fee is not None:  # fees valued apart: arrivals
                paid = net_orders(self.tables_["orders"], self.as_of_,
                                  ["customer_token", "order_date"])
                births = paid.groupby("customer_token", observed=True)["order_date"].min()
            stream, self.model_choice_, reason = fit_chosen_stream(
                orders, params, self.customers_.index, self.purchase_model, spend, births)
            self.method_notes_.append(choice_note(self.model_choice_))
        if reason is None:
            for role, model in (("purchase", stream.purchase_model_),
                                ("spend", stream.spend_model_)):
                for note in getattr(model, "fit_notes_", []) or []:
                    self.method_notes_.append(f"{role} model: {note}")
            return stream
        lifetimes = customer_lifetimes(orders, self.tables_.get("activity"), self.as_of_,
                                       self.assumptions_.inactivity_days)
        fallback = EmpiricalRateStream(self.retention_).fit(orders, lifetimes, rfm.index)
        self.purchase_fallback_reason_ = reason
        horizon = self.assumptions_.horizon_years
        self.method_notes_.append(
            f"FALLBACK purchase method (last resort, no purchase model could be used): {reason}. Repeat purchases valued at the empirical "
            f"rate of {fallback.rate_:.4f} per customer-year ({fallback.rate_events_:.0f} "
            f"repeat purchase(s) in {fallback.rate_exposure_:,.0f} customer-years) times the "
            f"Kaplan-Meier expected remaining lifetime of each active customer (mean "
            f"{fallback.expected_remaining_lifetime(horizon):.2f} years within the "
            f"{horizon:g}-year horizon) times the mean order value "
            f"({fallback.spend_:,.0f} CNY, {fallback.summary()['spend_basis']}).")
        return fallback

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
            paid = net_orders(self.tables_["orders"], self.as_of_,
                              ["customer_token", "order_date"])
            lifetimes = customer_lifetimes(paid, self.tables_.get("activity"), self.as_of_,
                                           inactivity_days)
            self._retention[inactivity_days] = ResidualRetention().fit(lifetimes)
        return self._retention[inactivity_days]

    @property
    def streams_(self) -> dict[str, object]:
        """The fitted streams by name (``purchases``, ``memberships``, ``instalments``)."""
        named = {"purchases": self.purchase_, "memberships": self.membership_,
                 "instalments": getattr(self, "instalments_", None)}
        return {name: stream for name, stream in named.items() if stream is not None}

    def _with_streams(self, streams: Mapping[str, object]) -> "CustomerBase":
        other = copy.copy(self)
        other.purchase_ = streams.get("purchases")
        other.membership_ = streams.get("memberships")
        other.instalments_ = streams.get("instalments")
        return other

    def _stream_positions(self, name: str, stream) -> np.ndarray:
        """Row of each of the stream's customers in ``customers_`` (cached per stream)."""
        cache = self.__dict__.setdefault("_positions", {})
        key = (name, id(stream.tokens_))
        if key not in cache:
            cache[key] = self.customers_.index.get_indexer(stream.tokens_)
        return cache[key]

    # -- the uncertainty -------------------------------------------------------------------
    def replicate(self, weights: np.ndarray, rng: np.random.Generator):
        """A bootstrap copy and a parameter-draw copy of the base.

        Parameters
        ----------
        weights : ndarray
            Bootstrap count per customer (``customers_`` order).
        rng : numpy Generator
            For the parameter draws.

        Returns
        -------
        (CustomerBase, CustomerBase, str)
            The bootstrap copy (streams refitted on the resample: one Newton step for the
            purchase models, see :mod:`valuation.value.newton`), the copy with parameters
            drawn from their sampling law, and how the purchase refit was done.
        """
        w = np.asarray(weights, float)
        boot, param, how = {}, {}, "exact"
        for name, stream in self.streams_.items():
            pos = self._stream_positions(name, stream)
            boot[name], param[name], done = stream.replicate(w[pos], rng)
            if name == "purchases":
                how = done
        return self._with_streams(boot), self._with_streams(param), how

    def refit(self, weights: np.ndarray) -> "CustomerBase":
        """A copy fully refitted on a weighted resample of the customers (weights per
        customer in ``customers_`` order); the reference the one-step bootstrap is tested
        against. The retention curve is kept (it only shapes the shock)."""
        w = pd.Series(np.asarray(weights, float), index=self.customers_.index)
        other = copy.copy(self)
        if isinstance(self.purchase_, PurchaseStream):
            rfm = self.purchase_.rfm_
            other.purchase_ = copy.copy(self.purchase_).fit(
                rfm, w.reindex(rfm.index).to_numpy(), warm_start=self.purchase_,
                compute_se=False)
        elif self.purchase_ is not None:
            other.purchase_ = self.purchase_.replicate(
                w.reindex(self.purchase_.tokens_).to_numpy(), np.random.default_rng(0))[0]
        if self.membership_ is not None:
            members = self.membership_.members_
            other.membership_ = copy.copy(self.membership_).fit(
                members, w.reindex(members.index).to_numpy(), warm_start=self.membership_)
        return other

    def fitted_models(self) -> dict[str, object]:
        """The fitted models by role: ``purchase``, ``spend``, ``membership`` (when present)."""
        out = {}
        if isinstance(self.purchase_, PurchaseStream):
            out["purchase"] = self.purchase_.purchase_model_
            out["spend"] = self.purchase_.spend_model_
        if self.membership_ is not None:
            out["membership"] = self.membership_.survival_model_
        return out

    # -- values ----------------------------------------------------------------------------
    def value_arrays(self, assumptions: Assumptions) -> dict[str, np.ndarray]:
        """Per-customer values as arrays in ``customers_`` order (the fast path of
        :meth:`customer_values`): ``clv``, ``clv_transferred`` and per stream ``clv_<stream>``
        and ``clv_<stream>_transferred``, margin applied."""
        if assumptions.horizon_years > self.edges_[-1] + 1e-9:
            raise ModelInputError(
                f"horizon {assumptions.horizon_years} years is beyond the grid of this fit "
                f"({self.edges_[-1]:g}); fit CustomerBase with a larger max_horizon_years"
            )
        edges = self.edges_[self.edges_ <= assumptions.horizon_years + 1e-9]
        mid = (edges[:-1] + edges[1:]) / 2
        disc = midpoint_discount(edges, assumptions.annual_discount_rate)
        shock = attrition_ratio(mid, self.retention(assumptions.inactivity_days),
                                assumptions.one_off_loss, assumptions.hazard_multiplier,
                                assumptions.hazard_months)
        n = len(self.customers_)
        out = {"clv": np.zeros(n), "clv_transferred": np.zeros(n)}
        for name, column in STREAM_COLUMNS.items():
            out[column] = np.zeros(n)
            out[column + "_transferred"] = np.zeros(n)
        for name, stream in self.streams_.items():
            pos = self._stream_positions(name, stream)
            ok = pos >= 0
            pv, pv_s = stream.customer_revenue(edges, disc, shock, assumptions)
            column = STREAM_COLUMNS[name]
            # a stream lists each customer once: plain (buffered) fancy assignment is exact
            out[column][pos[ok]] += assumptions.gross_margin * np.asarray(pv)[ok]
            out[column + "_transferred"][pos[ok]] += assumptions.gross_margin * np.asarray(pv_s)[ok]
        for column in STREAM_COLUMNS.values():
            out["clv"] += out[column]
            out["clv_transferred"] += out[column + "_transferred"]
        return out

    def customer_values(self, assumptions: Assumptions) -> pd.DataFrame:
        """Per-customer value under ``assumptions`` (every customer of ``customers_``).

        Returns
        -------
        DataFrame indexed by customer token with ``clv`` (current owner), ``clv_transferred``
        (after the change-of-owner shock) and the streams of ``clv``: ``clv_purchase``,
        ``clv_membership``, ``clv_instalment`` (margin applied, discounted, over the horizon).
        """
        arrays = self.value_arrays(assumptions)
        columns = ["clv", "clv_transferred", *STREAM_COLUMNS.values()]
        return pd.DataFrame({c: arrays[c] for c in columns}, index=self.customers_.index)

    def new_customer_value(self, assumptions: Assumptions) -> float:
        """Margin value of one new customer acquired at time 0 over the horizon (no
        change-of-owner shock: acquired by the new owner).

        Each stream's new-customer revenue (:mod:`valuation.value.streams` protocol) is
        weighted by the share of today's customers that use the stream (e.g. the share of
        members), so a mixed business is not counted twice.
        """
        edges = self.edges_[self.edges_ <= assumptions.horizon_years + 1e-9]
        disc = midpoint_discount(edges, assumptions.annual_discount_rate)
        n = max(len(self.customers_), 1)
        total = 0.0
        for name, stream in self.streams_.items():
            if name == "instalments":
                continue
            share = float((self._stream_positions(name, stream) >= 0).sum()) / n
            total += share * stream.new_customer_revenue(edges, disc)
        return assumptions.gross_margin * total


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
