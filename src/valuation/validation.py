"""Holdout validation of purchase models: the numbers behind the classic plots.

Predicted vs actual holdout purchases per customer and by calibration frequency (Fader,
Hardie & Lee 2005, Fig. 4), and cumulative repeat purchases by period (Fig. 2), as
DataFrames; the figures themselves are drawn in :mod:`valuation.plots`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from valuation.errors import ModelInputError
from valuation.features import DAYS_PER_UNIT, DateLike, _daily_purchases


def holdout_comparison(rfm: pd.DataFrame, model: object) -> pd.DataFrame:
    """Per customer: calibration frequency, actual and predicted holdout purchases.

    Parameters
    ----------
    rfm : DataFrame
        From :func:`valuation.features.rfm_summary` with an observation end (needs
        frequency, recency, T, frequency_holdout, duration_holdout).
    model : fitted BetaGeo or ParetoNBD

    Returns
    -------
    DataFrame indexed like ``rfm``: frequency, actual, predicted.
    """
    needed = ["frequency", "recency", "T", "frequency_holdout", "duration_holdout"]
    missing = [c for c in needed if c not in rfm.columns]
    if missing:
        raise ModelInputError(
            f"rfm: missing column(s) {missing}; call rfm_summary with observation_end."
        )
    predicted = model.conditional_expected_purchases(  # type: ignore[attr-defined]
        rfm["duration_holdout"].to_numpy(float),
        rfm["frequency"].to_numpy(float),
        rfm["recency"].to_numpy(float),
        rfm["T"].to_numpy(float),
    )
    return pd.DataFrame(
        {
            "frequency": rfm["frequency"].to_numpy(),
            "actual": rfm["frequency_holdout"].to_numpy(float),
            "predicted": np.asarray(predicted),
        },
        index=rfm.index,
    )


def holdout_by_frequency(comparison: pd.DataFrame, max_frequency: int = 7) -> pd.DataFrame:
    """Mean actual vs predicted holdout purchases by calibration frequency (censored).

    Frequencies of ``max_frequency`` and more form one group labelled ``"7+"`` (by
    default), as in the papers. Returns columns customers, actual, predicted.
    """
    labels = comparison["frequency"].astype(int).clip(upper=max_frequency)
    names = labels.astype(str).where(labels < max_frequency, f"{max_frequency}+")
    grouped = comparison.groupby(labels, sort=True)
    out = pd.DataFrame(
        {
            "customers": grouped.size(),
            "actual": grouped["actual"].mean(),
            "predicted": grouped["predicted"].mean(),
        }
    )
    out.index = pd.Index(names.groupby(labels).first().loc[out.index], name="frequency")
    return out


def cumulative_tracking(
    transactions: pd.DataFrame,
    model: object,
    *,
    customer_id: str = "customer_token",
    date: str = "order_date",
    start: DateLike | None = None,
    end: DateLike | None = None,
    calibration_end: DateLike | None = None,
    time_unit: str = "W",
) -> pd.DataFrame:
    """Cumulative repeat purchases by period: actual vs the model's expectation.

    The cohort is the customers whose first purchase falls on or before
    ``calibration_end`` (default: every customer). The expected cumulative count at the
    end of period k sums, over customers, E[X(t)] with t the time since their first
    purchase (0 before it). Same-day purchases merge into one.

    Returns
    -------
    DataFrame indexed by period number (1, 2, ...) with columns period_end,
    actual_cumulative, predicted_cumulative, actual, predicted (per-period increments).
    """
    unit = DAYS_PER_UNIT.get(time_unit)
    if unit is None:
        raise ModelInputError(f"time_unit must be one of {sorted(DAYS_PER_UNIT)}.")
    daily = _daily_purchases(transactions, customer_id, date, None)
    first = daily.groupby(customer_id, observed=True)[date].transform("min")
    if calibration_end is not None:
        keep = first <= pd.Timestamp(calibration_end)
        daily, first = daily[keep], first[keep]
    repeats = daily.loc[daily[date] > first, date]
    first_dates = daily.groupby(customer_id, observed=True)[date].min()
    origin = pd.Timestamp(start) if start is not None else first_dates.min()
    finish = pd.Timestamp(end) if end is not None else daily[date].max()
    n_periods = int(np.ceil(((finish - origin).days + 1) / unit))
    # period k covers the days d (counted from origin) with floor(d / unit) == k - 1
    period_ends = origin + pd.to_timedelta(np.floor(np.arange(1, n_periods + 1) * unit), unit="D")
    repeat_days = (repeats - origin).dt.days.to_numpy()
    repeat_days = repeat_days[(repeat_days >= 0) & (repeats <= finish).to_numpy()]
    counts = np.bincount((repeat_days // unit).astype(int), minlength=n_periods)[:n_periods]
    firsts = first_dates.value_counts()
    first_offset = (firsts.index - origin).days.to_numpy(float)
    # time from the first-purchase day to the last day of period k, as T in rfm_summary
    last_day = np.floor(np.arange(1, n_periods + 1) * unit) - 1.0
    elapsed = (last_day[:, None] - first_offset[None, :]) / unit
    expected = model.expected_purchases(np.maximum(elapsed, 0.0))  # type: ignore[attr-defined]
    predicted_cum = np.asarray(expected) @ firsts.to_numpy(float)
    out = pd.DataFrame(
        {
            "period_end": period_ends - pd.Timedelta(days=1),
            "actual_cumulative": np.cumsum(counts).astype(float),
            "predicted_cumulative": predicted_cum,
        },
        index=pd.RangeIndex(1, n_periods + 1, name="period"),
    )
    out["actual"] = out["actual_cumulative"].diff().fillna(out["actual_cumulative"])
    out["predicted"] = out["predicted_cumulative"].diff().fillna(out["predicted_cumulative"])
    return out
