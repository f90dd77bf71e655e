"""The survival table: one row per customer with a purchase, lifetime and covariates.

The lifetime (start, last sign of life, churn event, censoring at ``as_of - inactivity_days``,
customers too new to judge) is :mod:`valuation.lifetime`'s: this module only adds the
covariates the churn model needs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from valuation.errors import ModelInputError
from valuation.lifetime import as_day, lifetime_frame, signs_of_life
from valuation.token_lookup import token_positions

UNKNOWN = "unknown"
"""The level of a missing categorical covariate."""


def _require(tables: Mapping[str, pd.DataFrame], table: str, columns: Sequence[str]) -> pd.DataFrame:
    if table not in tables:
        raise ModelInputError(
            f"analysis table '{table}' is missing; expected the tables "
            "customers, orders, activity, feedback from the privacy gate"
        )
    frame = tables[table]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ModelInputError(
            f"analysis table '{table}' lacks column(s) {', '.join(missing)}; "
            "expected the columns of valuation.tables.ANALYSIS_COLUMNS (re-run the privacy gate)"
        )
    return frame


def survival_table(
    tables: Mapping[str, pd.DataFrame],
    as_of: dt.date | str | pd.Timestamp,
    inactivity_days: int,
) -> pd.DataFrame:
    """One row per customer with a purchase: lifetime, churn event and covariates.

    The lifetime columns follow :mod:`valuation.lifetime` (the one definition shared with the
    valuation's retention); see its docstring.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        The analysis tables ``customers``, ``orders``, ``activity`` and (optional)
        ``feedback``, keyed by ``customer_token``.
    as_of : date
        The cut-off date; records dated after it are ignored.
    inactivity_days : int
        A customer inactive for more than this many days at ``as_of`` has churned.

    Returns
    -------
    DataFrame
        Indexed by ``customer_token``, sorted, with columns

        * the lifetime (:data:`valuation.lifetime.LIFETIME_COLUMNS`): ``first_purchase``,
          ``last_seen``, ``age_days``, ``span_days`` (first purchase to last sign of life),
          ``days_inactive``, ``event`` (1 churned, 0 censored), ``observable`` (False for a
          customer whose first purchase is after ``as_of - inactivity_days``: left out of every
          survival estimate) and ``duration`` (the survival time in days: to the last sign of
          life when churned, to ``as_of - inactivity_days`` when censored);
        * ``n_orders``, ``revenue`` (purchases: orders not fully refunded);
        * covariates: ``channel``, ``category`` (category of the first order; ties on
          the first day broken by the larger amount, then order id), ``first_order_value``
          (CNY amount of that order row: for an instalment plan, the first instalment),
          ``satisfaction`` (mean feedback score dated on or before ``as_of``; NaN when the
          customer gave none), ``satisfaction_known`` (bool), ``age_band``, ``minor`` (bool,
          missing = False), ``city_tier``; missing categorical values are the level
          ``"unknown"``. Customers whose token is not in ``customers`` (orphan orders) get
          ``"unknown"`` for every customer attribute.

    Notes
    -----
    ``satisfaction`` is an average over the whole observation window: customers who stay
    longer have more chances to leave feedback, so treat its hazard ratio as an
    association, not a cause. Missing scores are imputed (mean) only in
    :func:`~valuation.survival.design_matrix`, which adds a ``satisfaction_missing``
    indicator (a data-availability signal).

    The input tables are never copied whole: every customer token is turned once into an
    integer code (its position in the sorted list of purchasing customers) and the
    aggregates are computed on those codes.
    """
    if inactivity_days < 0:
        raise ModelInputError(f"inactivity_days must be >= 0, got {inactivity_days}")
    cut = as_day(as_of)
    orders = _require(tables, "orders", ("customer_token", "order_date", "amount"))
    customers = _require(tables, "customers", ("customer_token",))
    activity = None
    if "activity" in tables and tables["activity"] is not None:
        activity = _require(tables, "activity", ("customer_token", "event_date"))
    signs = signs_of_life(orders, activity, cut)
    index = signs.index
    n_customers = len(index)
    kept_rows, codes = signs.order_rows, signs.order_codes
    ticks = orders["order_date"].to_numpy(dtype="datetime64[ns]")[kept_rows].view("int64")
    first_tick = signs.first.view("int64")
    n_orders = np.bincount(codes, minlength=n_customers).astype("int64")
    amounts = orders["amount"].to_numpy(dtype="float64", na_value=np.nan)[kept_rows]
    # pandas' grouped sum (compensated, in row order): the same numbers as grouping by token
    revenue = pd.Series(amounts).groupby(codes).sum().reindex(range(n_customers), fill_value=0.0)
    first_order = _first_orders(orders, kept_rows, codes, ticks == first_tick[codes], n_customers)
    first_order.index = index
    del amounts, ticks

    table = lifetime_frame(signs.first, signs.last, cut, inactivity_days, index=index)
    table["n_orders"] = n_orders
    table["revenue"] = revenue.to_numpy(dtype="float64")

    attribute_rows = _attribute_rows(customers, index)
    for column in ("channel", "age_band", "city_tier"):
        table[column] = _as_level(_take_or_missing(customers, column, attribute_rows, index))
    table["category"] = _as_level(first_order["category"])
    table["first_order_value"] = first_order["amount"].to_numpy(dtype="float64", na_value=np.nan)
    minor = _take_or_missing(customers, "minor", attribute_rows, index)
    table["minor"] = minor.astype("boolean").fillna(False).astype(bool)

    satisfaction = pd.Series(np.nan, index=index)
    if "feedback" in tables and tables["feedback"] is not None:
        feedback = _require(tables, "feedback", ("customer_token", "feedback_date", "score"))
        feedback_dates = feedback["feedback_date"]
        rated_rows = np.flatnonzero(
            (
                feedback_dates.notna() & (feedback_dates <= cut) & feedback["score"].notna()
            ).to_numpy(dtype=bool)
        )
        feedback_codes = token_positions(feedback["customer_token"], index)[rated_rows]
        known = feedback_codes >= 0
        scores = feedback["score"].iloc[rated_rows[known]].reset_index(drop=True)
        means = scores.groupby(feedback_codes[known]).mean().reindex(range(n_customers))
        satisfaction = pd.Series(means.to_numpy(dtype="float64", na_value=np.nan), index=index)
    table["satisfaction"] = satisfaction
    table["satisfaction_known"] = satisfaction.notna()
    return table


def _first_orders(
    orders: pd.DataFrame,
    kept_rows: np.ndarray,
    codes: np.ndarray,
    on_first_day: np.ndarray,
    n_customers: int,
) -> pd.DataFrame:
    """``amount`` and ``category`` of each customer's first order, one row per code.

    Only the order rows dated on a customer's first purchase day are sorted (larger amount
    first, then order id, then row order), so ties are broken as documented without sorting
    every order by its text token.
    """
    rows = kept_rows[on_first_day]
    columns = {"code": codes[on_first_day], "amount": orders["amount"].iloc[rows].to_numpy()}
    sort_cols, ascending = ["code", "amount"], [True, False]
    if "order_id" in orders.columns:
        sort_cols.append("order_id")
        ascending.append(True)
        columns["order_id"] = orders["order_id"].iloc[rows].array
    if "category" in orders.columns:
        columns["category"] = orders["category"].iloc[rows].array
    else:
        columns["category"] = pd.array([pd.NA] * len(rows), dtype="string")
    candidates = pd.DataFrame(columns)
    first = (
        candidates.sort_values(sort_cols, ascending=ascending, kind="mergesort")
        .drop_duplicates("code")
        .set_index("code")
    )
    return first.reindex(range(n_customers))[["amount", "category"]]


def _attribute_rows(customers: pd.DataFrame, index: pd.Index) -> np.ndarray:
    """Row position in ``customers`` of each token of ``index`` (its first row; -1 if none)."""
    tokens = customers["customer_token"]
    first_rows = np.flatnonzero(~tokens.duplicated(keep="first").to_numpy(dtype=bool))
    positions = pd.Index(tokens.iloc[first_rows]).get_indexer(index)
    return np.where(positions >= 0, first_rows[np.clip(positions, 0, None)], -1)


def _take_or_missing(
    customers: pd.DataFrame, column: str, rows: np.ndarray, index: pd.Index
) -> pd.Series:
    """``customers[column]`` at ``rows`` (missing where the row is -1 or the column absent)."""
    if column not in customers.columns:
        return pd.Series(pd.NA, index=index)
    values = pd.api.extensions.take(customers[column].array, rows, allow_fill=True)
    return pd.Series(values, index=index)


def _as_level(values: pd.Series) -> pd.Series:
    """Text levels of ``values``: stripped, missing or blank as ``"unknown"`` (object dtype).

    Works on the distinct values only, so the result shares one string per level.
    """
    codes, uniques = pd.factorize(values)
    text = pd.Series(uniques).astype("string").str.strip()
    text = text.mask(text.isna() | (text == ""), UNKNOWN)
    levels = np.append(text.astype(str).to_numpy(dtype=object), UNKNOWN)
    return pd.Series(levels[codes], index=values.index, dtype=object)

