"""The one definition of a customer's lifetime (churn section, retention, change of owner).

Every survival number of a brief comes from this module: the churn section's Kaplan-Meier
curves and Cox drivers (:func:`valuation.survival.survival_table`), the valuation's residual
retention (:func:`valuation.value.retention.customer_lifetimes`) and, through that retention,
the change-of-owner attrition and the earn-out's expected retained customers.

The definition
--------------
* **Purchases** are order rows dated on or before ``as_of`` whose net amount
  (``amount - refund_amount``) is positive: a fully refunded order is not a purchase (it
  starts no lifetime and is no sign of life). Rows without a token or a date are ignored.
* A lifetime **starts** at the customer's first purchase (not at signup: a signup without a
  purchase is not a customer relationship, and both users of this module value paying
  customers). Only customers with at least one purchase have a lifetime.
* The **last sign of life** is the later of the last purchase and the last activity event
  (learning activity), both dated on or before ``as_of``; an activity event before the first
  purchase never shortens a lifetime below 0.
* A customer has **churned** (``event = 1``) when more than ``inactivity_days`` have passed
  between the last sign of life and ``as_of``; the lifetime then ends at the last sign of life
  (``duration = last_seen - first_purchase``; 0 for a one-off customer never seen again).
* Churn can be **confirmed** only once the inactivity window has passed, so the last date at
  which a churn could have been observed is ``confirm_by = as_of - inactivity_days``. A
  customer not (yet) churned is **right-censored at** ``confirm_by`` (``duration =
  confirm_by - first_purchase``), not at the last sign of life: censoring at the last sign of
  life would count a customer who left a few weeks ago (not yet confirmed) as a survivor up
  to that date while the customers who left at the same age earlier are counted as churned,
  which biases the curve upward (0.450 against a true 0.407 at 365 days on simulated data).
* A customer whose first purchase is after ``confirm_by`` cannot yet have a confirmed churn at
  any age: ``observable = False``, ``duration = 0``, ``event = 0``. Such customers are
  **excluded** from every survival estimate (Kaplan-Meier, log-rank, Cox): counting them as
  censored at 0 would dilute the day-0 churn of one-off customers. They stay in the table
  (they are current customers: the retention projects them, segments score them).

Each customer also has ``span_days`` (first purchase to last sign of life: how long the
customer is *known* to have lived) and ``age_days`` (first purchase to ``as_of``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from valuation.errors import ModelInputError
from valuation.token_lookup import token_positions

LIFETIME_COLUMNS: tuple[str, ...] = (
    "first_purchase",
    "last_seen",
    "age_days",
    "span_days",
    "days_inactive",
    "event",
    "observable",
    "duration",
)
"""Columns of :func:`lifetime_frame`, in order."""


def as_day(value: dt.date | str | pd.Timestamp) -> pd.Timestamp:
    """``value`` as a midnight timestamp (the cut-off of the analysis)."""
    return pd.Timestamp(value).normalize()


def purchase_rows(orders: pd.DataFrame, as_of: dt.date | str | pd.Timestamp) -> np.ndarray:
    """Positions of the order rows that are purchases (see the module docstring).

    Parameters
    ----------
    orders : DataFrame
        Analysis orders (``customer_token``, ``order_date``, ``amount``, optional
        ``refund_amount``); not modified.
    as_of : date
        The cut-off; later orders are ignored.

    Returns
    -------
    ndarray of int
        Sorted row positions.
    """
    cut = as_day(as_of)
    dates = orders["order_date"]
    keep = dates.notna() & (dates <= cut) & orders["customer_token"].notna()
    if "amount" in orders.columns:
        amount = orders["amount"].astype("float64")
        refund = (orders["refund_amount"].astype("float64").fillna(0.0)
                  if "refund_amount" in orders.columns else 0.0)
        keep &= (amount.fillna(0.0) - refund) > 0
    return np.flatnonzero(keep.to_numpy(dtype=bool))


@dataclass(frozen=True)
class SignsOfLife:
    """First purchase and last sign of life per purchasing customer (integer codes).

    Attributes
    ----------
    index : Index
        Customer tokens, sorted; customer ``i`` has code ``i``.
    order_rows : ndarray of int
        Positions of the purchase rows in the orders table.
    order_codes : ndarray of int
        Customer code of each of those rows.
    first, last : ndarray of datetime64[ns]
        First purchase and last sign of life (purchase or activity) per customer.
    """

    index: pd.Index
    order_rows: np.ndarray
    order_codes: np.ndarray
    first: np.ndarray
    last: np.ndarray


def signs_of_life(
    orders: pd.DataFrame,
    activity: pd.DataFrame | None,
    as_of: dt.date | str | pd.Timestamp,
) -> SignsOfLife:
    """Aggregate purchases and activity into first purchase and last sign of life.

    The tables are never copied whole: tokens become integer codes once, and the dates are
    reduced with ``np.minimum.at`` / ``np.maximum.at`` on those codes.

    Raises
    ------
    ModelInputError
        When no purchase is dated on or before ``as_of``.
    """
    cut = as_day(as_of)
    rows = purchase_rows(orders, cut)
    if rows.size == 0:
        raise ModelInputError(
            f"no purchases (orders with a positive net amount) dated on or before {cut.date()}: "
            "a customer lifetime needs at least one; check as_of and the orders export"
        )
    codes, index = pd.factorize(orders["customer_token"].iloc[rows], sort=True)
    index = pd.Index(index, name="customer_token")
    n = len(index)
    ticks = orders["order_date"].to_numpy(dtype="datetime64[ns]")[rows].view("int64")
    first = np.full(n, np.iinfo(np.int64).max, dtype="int64")
    np.minimum.at(first, codes, ticks)
    last = np.full(n, np.iinfo(np.int64).min, dtype="int64")
    np.maximum.at(last, codes, ticks)
    if activity is not None and len(activity):
        dates = activity["event_date"]
        seen = np.flatnonzero((dates.notna() & (dates <= cut)).to_numpy(dtype=bool))
        event_codes = token_positions(activity["customer_token"], index)[seen]
        event_ticks = dates.to_numpy(dtype="datetime64[ns]")[seen].view("int64")
        known = event_codes >= 0
        np.maximum.at(last, event_codes[known], event_ticks[known])
    return SignsOfLife(index=index, order_rows=rows, order_codes=codes,
                       first=first.view("datetime64[ns]"), last=last.view("datetime64[ns]"))


def lifetime_frame(
    first: np.ndarray | pd.Series,
    last: np.ndarray | pd.Series,
    as_of: dt.date | str | pd.Timestamp,
    inactivity_days: int,
    index: pd.Index | None = None,
) -> pd.DataFrame:
    """Apply the definition to first-purchase and last-seen dates.

    Parameters
    ----------
    first, last : array of datetime64
        First purchase and last sign of life per customer (``last >= first``).
    as_of : date
        The cut-off.
    inactivity_days : int
        The churn window (``params.churn.inactivity_days``).
    index : Index, optional
        Index of the result.

    Returns
    -------
    DataFrame
        The columns :data:`LIFETIME_COLUMNS`: ``first_purchase``, ``last_seen`` (dates),
        ``age_days``, ``span_days``, ``days_inactive`` (int days), ``event`` (int 0/1),
        ``observable`` (bool) and ``duration`` (int days, the survival time).
    """
    if inactivity_days < 0:
        raise ModelInputError(f"inactivity_days must be >= 0, got {inactivity_days}")
    cut = as_day(as_of)
    first = np.asarray(first, dtype="datetime64[ns]")
    last = np.asarray(last, dtype="datetime64[ns]")
    day = np.timedelta64(1, "D")
    cut64 = np.datetime64(cut.to_datetime64(), "ns")
    confirm_by = cut64 - np.timedelta64(int(inactivity_days), "D")
    age = ((cut64 - first) // day).astype("int64")
    span = ((last - first) // day).astype("int64")
    inactive = ((cut64 - last) // day).astype("int64")
    event = inactive > inactivity_days
    observable = first <= confirm_by
    censored_at = ((confirm_by - first) // day).astype("int64")
    duration = np.where(event, span, np.where(observable, censored_at, 0)).astype("int64")
    return pd.DataFrame(
        {
            "first_purchase": first,
            "last_seen": last,
            "age_days": age,
            "span_days": span,
            "days_inactive": inactive,
            "event": event.astype("int64"),
            "observable": observable,
            "duration": duration,
        },
        index=index,
    )


def customer_lifetimes(
    tables: Mapping[str, pd.DataFrame | None],
    as_of: dt.date | str | pd.Timestamp,
    inactivity_days: int,
) -> pd.DataFrame:
    """The lifetime of every customer with a purchase (the definition of this module).

    Parameters
    ----------
    tables : mapping
        ``orders`` (required) and ``activity`` (optional) analysis tables.
    as_of : date
        The cut-off; records dated after it are ignored.
    inactivity_days : int
        The churn window.

    Returns
    -------
    DataFrame
        Indexed by ``customer_token`` (sorted), the columns of :func:`lifetime_frame`.
    """
    signs = signs_of_life(tables["orders"], tables.get("activity"), as_of)
    return lifetime_frame(signs.first, signs.last, as_of, inactivity_days, index=signs.index)


def observable_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of a lifetime table that enter survival estimates (``observable``).

    Tables without the column (built by hand) are returned unchanged.
    """
    if "observable" not in table.columns:
        return table
    keep = table["observable"].to_numpy(dtype=bool)
    return table if keep.all() else table.loc[keep]
