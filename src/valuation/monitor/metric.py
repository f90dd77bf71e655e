"""The earn-out metric, exactly as the term sheet defines it (:mod:`valuation.value.earnout`).

A **retained customer** at a date is a customer of the transfer roster with a paid order
(amount above its refund) or a learning-activity event at most ``window_days`` before that
date (both ends included: not churned under the one lifetime definition of
:mod:`valuation.lifetime`, where churn is *more than* ``window_days`` without a sign of
life). The **roster** is the transferred base at closing exactly as the brief counts its
``eligible_customers``: transferable customers (consented, minors only with a guardian's
consent: :func:`valuation.privacy.cohorts.cohort_mask`) that are active at closing (a
lifetime from :func:`valuation.lifetime.customer_lifetimes` not churned at the closing date).

The functions work on any id column (tokens in the monitor, raw ids in the sample
generator), so the generator's truth and the monitor's measurement share no state but the
definition.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd


def month_dates(closing: dt.date, months: int) -> list[dt.date]:
    """The measurement dates ``closing + m`` calendar months, m = 1..months."""
    start = pd.Timestamp(closing)
    return [(start + pd.DateOffset(months=m)).date() for m in range(1, int(months) + 1)]


def events(orders: pd.DataFrame, activity: pd.DataFrame, id_column: str) -> pd.DataFrame:
    """Dated events that count for retention: paid orders and learning activity.

    Returns a frame with columns ``id`` and ``date`` (datetime64, day precision).
    """
    paid = orders["amount"].fillna(0) > orders["refund_amount"].fillna(0)
    parts = [pd.DataFrame({"id": orders.loc[paid, id_column].astype("string"),
                           "date": pd.to_datetime(orders.loc[paid, "order_date"])}),
             pd.DataFrame({"id": activity[id_column].astype("string"),
                           "date": pd.to_datetime(activity["event_date"])})]
    out = pd.concat(parts, ignore_index=True).dropna()
    out["date"] = out["date"].dt.normalize()
    return out


def active_at(event_frame: pd.DataFrame, date: dt.date, window_days: int) -> set[str]:
    """Ids with an event at most ``window_days`` before ``date`` (both ends included)."""
    end = pd.Timestamp(date)
    start = end - pd.Timedelta(days=int(window_days))
    inside = (event_frame["date"] >= start) & (event_frame["date"] <= end)
    return set(event_frame.loc[inside, "id"].unique())


def retained_by_month(event_frame: pd.DataFrame, roster: set[str], closing: dt.date,
                      months: int, window_days: int) -> pd.DataFrame:
    """Retained roster customers at each month after closing.

    Returns
    -------
    DataFrame
        ``month`` (1..months), ``date`` (ISO text), ``retained`` (count),
        ``retention`` (share of the roster).
    """
    rows = []
    size = max(len(roster), 1)
    for m, date in enumerate(month_dates(closing, months), start=1):
        count = len(active_at(event_frame, date, window_days) & roster)
        rows.append({"month": m, "date": date.isoformat(), "retained": count,
                     "retention": count / size})
    return pd.DataFrame(rows)


def roster_ids(customers: pd.DataFrame, orders: pd.DataFrame, activity: pd.DataFrame,
               id_column: str, closing: dt.date, window_days: int) -> set[str]:
    """The transfer roster: transferable customers active at closing (module doc)."""
    from valuation.errors import ModelInputError
    from valuation.lifetime import customer_lifetimes
    from valuation.privacy.cohorts import cohort_mask

    transferable = cohort_mask(customers, "transferable").to_numpy(bool)
    ids = set(customers.loc[transferable, id_column].dropna().astype(str))
    rename = {id_column: "customer_token"}
    try:
        lives = customer_lifetimes({"orders": orders.rename(columns=rename),
                                    "activity": activity.rename(columns=rename)},
                                   closing, int(window_days))
    except ModelInputError:  # no purchase before closing: nobody is active
        return set()
    active = set(lives.index[lives["event"].to_numpy() == 0].astype(str))
    return ids & active


def payout(count: float, *, threshold: float, slope: float, cap: float,
           floor: float = 0.0) -> float:
    """The earn-out payout for a measured retained ``count`` under a term sheet.

    Nothing up to ``threshold``, ``slope`` CNY per retained customer above it, never more
    than ``cap`` nor less than ``floor``.

    >>> payout(120, threshold=100, slope=1000.0, cap=50000.0)
    20000.0
    """
    return float(np.clip(slope * (float(count) - threshold), floor, cap))
