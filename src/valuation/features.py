"""Per-customer RFM summaries and the calibration / holdout split of transactions.

The preparation of Fader, Hardie & Lee (2005): purchases of a customer on the same day
merge into one; ``frequency`` counts REPEAT purchases in the calibration period (the first
purchase excluded), ``recency`` is the time of the last repeat purchase since the first
(0 without repeats), ``T`` the time from the first purchase to the calibration end, and
``monetary_value`` the mean amount of the repeat purchases (0 without repeats).
Survival and activity features live in their own modules.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from valuation.errors import ModelInputError
from valuation.models._mle import mask_labels

#: length of one time unit in days
DAYS_PER_UNIT: dict[str, float] = {"D": 1.0, "W": 7.0, "M": 365.25 / 12}

DateLike = str | dt.date | pd.Timestamp


def _unit_days(time_unit: str) -> float:
    try:
        return DAYS_PER_UNIT[time_unit]
    except KeyError:
        raise ModelInputError(
            f"time_unit must be one of {sorted(DAYS_PER_UNIT)}, got {time_unit!r}."
        ) from None


def _daily_purchases(
    transactions: pd.DataFrame, customer_id: str, date: str, amount: str | None
) -> pd.DataFrame:
    """Validate and merge same-day purchases: one row per (customer, day)."""
    wanted = [customer_id, date] + ([amount] if amount else [])
    missing = [c for c in wanted if c not in transactions.columns]
    if missing:
        raise ModelInputError(
            f"transactions: missing column(s) {missing}; available: {list(transactions.columns)}."
        )
    frame = transactions[wanted].copy()
    frame[date] = pd.to_datetime(frame[date], errors="coerce").dt.normalize()
    bad_date = frame[date].isna()
    if bad_date.any():
        raise ModelInputError(
            f"transactions: column '{date}' has {int(bad_date.sum())} missing or unreadable "
            f"date(s), rows {mask_labels(frame.index[bad_date])}. Expected calendar dates."
        )
    if frame[customer_id].isna().any():
        rows = frame.index[frame[customer_id].isna()]
        raise ModelInputError(
            f"transactions: column '{customer_id}' is empty in rows {mask_labels(rows)}."
        )
    if amount:
        frame[amount] = pd.to_numeric(frame[amount], errors="coerce")
        if frame[amount].isna().any():
            rows = frame.index[frame[amount].isna()]
            raise ModelInputError(
                f"transactions: column '{amount}' is not numeric in rows {mask_labels(rows)}."
            )
        return frame.groupby([customer_id, date], sort=True, observed=True, as_index=False)[
            amount
        ].sum()
    return frame.drop_duplicates([customer_id, date]).sort_values([customer_id, date])


def calibration_holdout_split(
    transactions: pd.DataFrame,
    *,
    date: str,
    calibration_end: DateLike,
    observation_end: DateLike | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split transactions into the calibration and holdout periods.

    Parameters
    ----------
    transactions : DataFrame
        One row per purchase (not modified).
    date : str
        Name of the purchase date column.
    calibration_end : date-like
        Last day of calibration (inclusive).
    observation_end : date-like, optional
        Last day of the holdout (inclusive); ``None`` for no holdout.

    Returns
    -------
    (calibration, holdout) : tuple of DataFrame
        Rows on or before ``calibration_end``; rows after it up to ``observation_end``
        (empty without an observation end).
    """
    cal_end = pd.Timestamp(calibration_end)
    days = pd.to_datetime(transactions[date], errors="coerce").dt.normalize()
    calibration = transactions[days <= cal_end]
    if observation_end is None:
        return calibration, transactions.iloc[0:0]
    obs_end = pd.Timestamp(observation_end)
    if obs_end <= cal_end:
        raise ModelInputError(
            f"observation_end ({obs_end.date()}) must be after calibration_end "
            f"({cal_end.date()})."
        )
    holdout = transactions[(days > cal_end) & (days <= obs_end)]
    return calibration, holdout


def rfm_summary(
    transactions: pd.DataFrame,
    customer_id: str = "customer_token",
    date: str = "order_date",
    amount: str | None = "amount",
    calibration_end: DateLike | None = None,
    observation_end: DateLike | None = None,
    time_unit: str = "W",
) -> pd.DataFrame:
    """One row per customer: frequency, recency, T, monetary_value (+ holdout columns).

    Parameters
    ----------
    transactions : DataFrame
        One row per purchase (not modified).
    customer_id, date, amount : str
        Column names; ``amount=None`` skips ``monetary_value``.
    calibration_end : date-like, optional
        Last day of calibration (inclusive); default the last purchase date.
    observation_end : date-like, optional
        Last day of the holdout; adds ``frequency_holdout`` (purchases in the holdout,
        same-day merged) and ``duration_holdout`` (its length in time units).
    time_unit : {"D", "W", "M"}
        Days, weeks (7 days) or months (365.25/12 days).

    Returns
    -------
    DataFrame
        Indexed by customer id; only customers whose first purchase lies in calibration.
        A customer whose first purchase falls on ``calibration_end`` itself is kept with
        frequency 0, recency 0 and T 0: the purchase models accept such rows (they add
        nothing to the likelihood and are valued as brand-new customers), so they count
        in the customer base instead of silently disappearing.
    """
    unit = _unit_days(time_unit)
    daily = _daily_purchases(transactions, customer_id, date, amount)
    cal_end = pd.Timestamp(calibration_end) if calibration_end is not None else daily[date].max()
    calibration, holdout = calibration_holdout_split(
        daily, date=date, calibration_end=cal_end, observation_end=observation_end
    )
    grouped = calibration.groupby(customer_id, sort=True, observed=True)
    first = grouped[date].min()
    last = grouped[date].max()
    count = grouped[date].size()
    out = pd.DataFrame(index=first.index)
    out["frequency"] = (count - 1).astype(float)
    out["recency"] = (last - first).dt.days / unit
    out["T"] = (cal_end - first).dt.days / unit
    if amount:
        first_amount = calibration.loc[grouped[date].idxmin(), [customer_id, amount]].set_index(
            customer_id
        )[amount]
        total = grouped[amount].sum()
        repeat_total = total - first_amount.reindex(total.index)
        out["monetary_value"] = np.where(
            out["frequency"] > 0, repeat_total / out["frequency"].where(out["frequency"] > 0), 0.0
        )
    if observation_end is not None:
        held = holdout.groupby(customer_id, observed=True)[date].size()
        out["frequency_holdout"] = held.reindex(out.index).fillna(0).astype(float)
        out["duration_holdout"] = (pd.Timestamp(observation_end) - cal_end).days / unit
    out.index.name = customer_id
    return out
