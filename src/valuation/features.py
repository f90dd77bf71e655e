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
from valuation.units import DAYS_PER_MONTH, DAYS_PER_UNIT

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
    _require_calibration(calibration, cal_end)
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


def months_between(first: pd.Series, later: pd.Series) -> np.ndarray:
    """Whole calendar months from ``first`` to ``later`` (a month is complete on the same
    day of the month: 2020-03-01 to 2021-03-01 is 12), as floats."""
    whole = ((later.dt.year - first.dt.year) * 12 + (later.dt.month - first.dt.month)
             - (later.dt.day < first.dt.day).astype(int))
    return whole.to_numpy(float)


TIMING_GRID = np.linspace(0.0, 1.0, 21)
"""Positions in a period (0 = its start) at which :func:`period_timing` gives the CDF."""


def period_timing(positions: np.ndarray, min_purchases: int = 20) -> np.ndarray:
    """Empirical CDF, on :data:`TIMING_GRID`, of where in their period purchases fall (an
    exam sitting on the anniversary: all at 0; a course bought any time in the membership
    year: even). Fewer than ``min_purchases``: even (the diagonal)."""
    positions = np.asarray(positions, float)
    if len(positions) < min_purchases:
        return TIMING_GRID.copy()
    return np.searchsorted(np.sort(positions), TIMING_GRID, side="right") / len(positions)


def opportunity_summary(
    transactions: pd.DataFrame,
    customer_id: str = "customer_token",
    date: str = "order_date",
    amount: str | None = "amount",
    calibration_end: DateLike | None = None,
    observation_end: DateLike | None = None,
    period_months: int = 12,
) -> pd.DataFrame:
    """One row per customer for the BG/BB (discrete opportunities): frequency, recency,
    n_periods, offset, monetary_value (+ holdout columns).

    Opportunities are periods of ``period_months`` calendar months (a year by default; 6, 4
    or 3 for halves, terms, quarters) anchored at each customer's first purchase (the
    anniversary: a yearly exam sitting, an annual renewal window): period 0 holds the first
    purchase, period k starts ``k * period_months`` months after it, on the same day of the
    month. ``n_periods`` counts the periods after the first that are complete by the
    calibration end, ``frequency`` those of them with at least one purchase (several
    purchases in one period are one transaction, their amounts summed), ``recency`` the last
    such period (0 without one). ``offset`` is how far the calibration end lies into period
    ``n + 1``, in periods (negative while the first period is still running): predictions
    start there. ``in_progress`` is 1 when the customer has already bought in that running
    period (known at the calibration end: used by the forecast, not by the fit); where in
    their periods purchases fall is measured on the repeat purchases (``attrs["timing"]``,
    :func:`period_timing`). ``monetary_value`` is the mean amount per transacting period. With
    ``observation_end``, ``frequency_holdout`` counts the purchases (same-day merged) after
    the calibration end and ``duration_holdout`` is the holdout's length in periods.

    Raises
    ------
    ModelInputError
        No purchase on or before the calibration end, or ``period_months`` < 1.
    """
    if int(period_months) != period_months or period_months < 1:
        raise ModelInputError(f"period_months must be a whole number >= 1, got {period_months!r}.")
    size = float(period_months)
    daily = _daily_purchases(transactions, customer_id, date, amount)
    cal_end = pd.Timestamp(calibration_end) if calibration_end is not None else daily[date].max()
    calibration, holdout = calibration_holdout_split(
        daily, date=date, calibration_end=cal_end, observation_end=observation_end)
    _require_calibration(calibration, cal_end)
    first = calibration.groupby(customer_id, sort=True, observed=True)[date].min()
    end = pd.Series(cal_end + pd.Timedelta(days=1), index=first.index)  # end of the last day
    whole = months_between(first, end)
    part = ((end - first).dt.days.to_numpy(float) - whole * DAYS_PER_MONTH) / DAYS_PER_MONTH
    n = np.maximum(np.floor(whole / size) - 1.0, 0.0)
    offset = (whole + np.clip(part, 0.0, 0.999)) / size - (n + 1.0)
    firsts = calibration[customer_id].map(first)
    months = months_between(firsts, calibration[date])
    row_part = ((calibration[date] - firsts).dt.days.to_numpy(float) - months * DAYS_PER_MONTH
                ) / DAYS_PER_MONTH
    position = (months + np.clip(row_part, 0.0, 0.999)) / size
    period = np.floor(months / size)
    timing = period_timing(position[period >= 1] - period[period >= 1])
    out = pd.DataFrame(index=first.index)
    running = pd.Series(period, index=calibration.index).eq(
        pd.Series(n + 1.0, index=first.index).reindex(calibration[customer_id]).to_numpy())
    bought = calibration.loc[running.to_numpy(), customer_id].unique()
    out["in_progress"] = (out.index.isin(bought) & (offset >= 0)).astype(float)
    n_row = pd.Series(n, index=first.index).reindex(calibration[customer_id]).to_numpy()
    inside = (period >= 1) & (period <= n_row)
    cells = calibration.loc[inside, [customer_id]].assign(period=period[inside])
    if amount:
        cells["amount"] = calibration.loc[inside, amount].to_numpy(float)
    per_cell = cells.groupby([customer_id, "period"], sort=False, observed=True)
    cell_frame = per_cell.size().rename("purchases").reset_index()
    if amount:
        cell_frame["amount"] = per_cell["amount"].sum().to_numpy()
    by_customer = cell_frame.groupby(customer_id, sort=False, observed=True)
    frequency = by_customer.size().reindex(out.index).fillna(0).astype(float)
    out.insert(0, "frequency", frequency)
    out.insert(1, "recency", by_customer["period"].max().reindex(out.index).fillna(0).astype(float))
    out.insert(2, "n_periods", n)
    out.insert(3, "offset", offset)
    out.attrs["timing"] = timing
    if amount:
        spend = by_customer["amount"].mean().reindex(out.index).fillna(0.0)
        out["monetary_value"] = spend.to_numpy(float)
    if observation_end is not None:
        held = holdout.groupby(customer_id, observed=True)[date].size()
        out["frequency_holdout"] = held.reindex(out.index).fillna(0).astype(float)
        out["duration_holdout"] = ((pd.Timestamp(observation_end) - cal_end).days
                                   / (size * DAYS_PER_MONTH))
    out.index.name = customer_id
    return out


def repeat_period_collisions(
    transactions: pd.DataFrame, customer_id: str = "customer_token", date: str = "order_date",
    period_months: int = 12,
) -> tuple[float, int]:
    """Share of transacting periods (after each customer's first, periods as in
    :func:`opportunity_summary`) that hold two or more purchases (same-day merged), and
    the number of transacting periods.

    Near 0 with many transacting periods: purchases come at most once per period, as at
    fixed occasions (the signal that BG/BB's discrete opportunities fit the stream).
    """
    daily = _daily_purchases(transactions, customer_id, date, None)
    first = daily.groupby(customer_id, observed=True)[date].transform("min")
    period = np.floor(months_between(first, daily[date]) / float(period_months))
    later = period >= 1
    cells = pd.DataFrame({"c": daily.loc[later, customer_id].to_numpy(),
                          "p": period[later]}).value_counts()
    if cells.empty:
        return 0.0, 0
    return float((cells.to_numpy() >= 2).mean()), int(len(cells))


def _require_calibration(calibration: pd.DataFrame, cal_end: pd.Timestamp) -> None:
    """Raise a clear error when nothing was bought on or before the calibration end."""
    if calibration.empty:
        raise ModelInputError(
            f"No purchase on or before the calibration end {cal_end.date()}: the calibration "
            "period is empty, so no customer can be summarised. Choose a later "
            "calibration_end (params) or check the order dates.")
