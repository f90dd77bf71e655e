"""Churn by survival analysis: the survival table, Kaplan-Meier, log-rank, Cox PH and Weibull AFT.

Everything here reads the token-only analysis tables (``valuation.tables.ANALYSIS_COLUMNS``)
and returns DataFrames ready for the brief. Only aggregate tables (curves, medians, drivers)
are meant for publication; the per-customer tables stay in the analysis zone.

The definition of churn
-----------------------
A customer's *lifetime* runs from the first purchase to the *last sign of life*: the last
order or activity event dated on or before ``as_of``. The customer is counted as *churned*
(``event = 1``) when more than ``inactivity_days`` have passed between that last sign of life
and ``as_of``; otherwise the lifetime is *right-censored* (``event = 0``) at the last sign of
life: we know the customer lived at least that long, nothing more. Consequences:

* a churned customer's lifetime ends at the last sign of life, not at the moment the
  inactivity threshold was crossed, so lifetimes are not inflated by the threshold;
* a one-off customer who never came back and was inactive longer than the threshold has
  duration 0 and ``event = 1`` (churned on the first day); Kaplan-Meier shows this as an
  immediate drop at day 0 (lifelines handles duration 0 in Kaplan-Meier and Cox, while the
  Weibull AFT is fitted on ``duration + 1`` days, i.e. "days of life" counting the first day);
* nobody can be observed churning in the last ``inactivity_days`` before ``as_of``: every
  customer seen in that window is censored, which is exactly what right-censoring is for;
* the threshold makes churn a matter of definition: a longer threshold means fewer, later
  churn events (see ``params.sensitivity.inactivity_days``);
* nothing dated after ``as_of`` is read (orders, events, feedback), so future-dated records
  (a data defect) cannot leak into the analysis.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter, KaplanMeierFitter, WeibullAFTFitter
from lifelines.statistics import (
    multivariate_logrank_test,
    pairwise_logrank_test,
    proportional_hazard_test,
)
from lifelines.utils import concordance_index, median_survival_times
from scipy import special

from valuation.errors import ModelError, ModelInputError, NotFittedError
from valuation.token_lookup import token_positions

DAYS_PER_MONTH = 365.25 / 12
"""Average length of a calendar month in days (used for month-by-month curves)."""

CATEGORICAL_COVARIATES: tuple[str, ...] = (
    "channel",
    "category",
    "age_band",
    "city_tier",
)
"""Categorical covariates of the survival table (missing values are the level ``unknown``)."""

NUMERIC_COVARIATES: tuple[str, ...] = ("first_order_value", "satisfaction", "minor")
"""Numeric covariates (``minor`` as 0/1; ``satisfaction`` mean-imputed with a missing flag)."""

DEFAULT_COVARIATES: tuple[str, ...] = (
    "channel",
    "category",
    "first_order_value",
    "satisfaction",
    "minor",
    "age_band",
    "city_tier",
)
"""Covariates of the default Cox / AFT model, in the order of the drivers table."""

UNKNOWN = "unknown"
MINOR_BAND = "<14"
"""The age band of ``minor`` customers (under 14 at signup)."""


# ---------------------------------------------------------------------------------------
# The survival table
# ---------------------------------------------------------------------------------------
def _as_timestamp(as_of: dt.date | str | pd.Timestamp) -> pd.Timestamp:
    return pd.Timestamp(as_of).normalize()


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

    See the module docstring for the definition of churn and its consequences.

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

        * ``first_purchase``, ``last_seen`` (dates), ``duration`` (int days from the first
          purchase to the last sign of life), ``event`` (1 churned, 0 censored),
          ``days_inactive`` (``as_of - last_seen``), ``n_orders``, ``revenue``;
        * covariates: ``channel``, ``category`` (category of the first order; ties on
          the first day broken by the larger amount, then order id), ``first_order_value``
          (CNY amount of that order row: for an instalment plan, the first instalment), ``satisfaction`` (mean feedback score dated on or
          before ``as_of``; NaN when the customer gave none), ``satisfaction_known`` (bool),
          ``age_band``, ``minor`` (bool, missing = False), ``city_tier``; missing
          categorical values are the level ``"unknown"``. Customers whose token is not in
          ``customers`` (orphan orders) get ``"unknown"`` for every customer attribute.

    Notes
    -----
    ``satisfaction`` is an average over the whole observation window: customers who stay
    longer have more chances to leave feedback, so treat its hazard ratio as an
    association, not a cause. Missing scores are imputed (mean) only in
    :func:`design_matrix`, which adds a ``satisfaction_missing`` indicator.

    The input tables are never copied whole: every customer token is turned once into an
    integer code (its position in the sorted list of purchasing customers) and the
    aggregates are computed on those codes, so the memory needed beyond the inputs is a
    few arrays of one integer per order or event row (about 1 GB at 10^6 customers).
    """
    if inactivity_days < 0:
        raise ModelInputError(f"inactivity_days must be >= 0, got {inactivity_days}")
    cut = _as_timestamp(as_of)
    orders = _require(tables, "orders", ("customer_token", "order_date", "amount"))
    customers = _require(tables, "customers", ("customer_token",))
    order_dates = orders["order_date"]
    kept_rows = np.flatnonzero(
        (order_dates.notna() & (order_dates <= cut) & orders["customer_token"].notna()).to_numpy(
            dtype=bool
        )
    )
    if kept_rows.size == 0:
        raise ModelInputError(
            f"no orders dated on or before {cut.date()}: the survival table needs at least "
            "one purchase; check as_of and the orders export"
        )

    codes, index = pd.factorize(orders["customer_token"].iloc[kept_rows], sort=True)
    index = pd.Index(index, name="customer_token")
    n_customers = len(index)
    dates = order_dates.to_numpy()[kept_rows]
    ticks = dates.view("int64")
    first_tick = np.full(n_customers, np.iinfo(np.int64).max, dtype="int64")
    np.minimum.at(first_tick, codes, ticks)
    last_tick = np.full(n_customers, np.iinfo(np.int64).min, dtype="int64")
    np.maximum.at(last_tick, codes, ticks)
    n_orders = np.bincount(codes, minlength=n_customers).astype("int64")
    amounts = orders["amount"].to_numpy(dtype="float64", na_value=np.nan)[kept_rows]
    # pandas' grouped sum (compensated, in row order): the same numbers as grouping by token
    revenue = pd.Series(amounts).groupby(codes).sum().reindex(range(n_customers), fill_value=0.0)
    first_order = _first_orders(orders, kept_rows, codes, ticks == first_tick[codes], n_customers)
    first_order.index = index
    del dates, amounts

    if "activity" in tables:
        activity = _require(tables, "activity", ("customer_token", "event_date"))
        event_dates = activity["event_date"]
        seen_rows = np.flatnonzero((event_dates.notna() & (event_dates <= cut)).to_numpy(dtype=bool))
        event_codes = token_positions(activity["customer_token"], index)[seen_rows]
        event_ticks = event_dates.to_numpy().astype(order_dates.dtype, copy=False)[seen_rows]
        known = event_codes >= 0
        # an activity event before the first purchase does not shorten the lifetime below 0:
        # last_tick already holds the last order, which is never before the first purchase
        np.maximum.at(last_tick, event_codes[known], event_ticks.view("int64")[known])
        del event_codes, event_ticks, known, seen_rows

    table = pd.DataFrame(
        {
            "first_purchase": first_tick.view(order_dates.dtype),
            "last_seen": last_tick.view(order_dates.dtype),
        },
        index=index,
    )
    table["duration"] = (table["last_seen"] - table["first_purchase"]).dt.days.astype("int64")
    table["days_inactive"] = (cut - table["last_seen"]).dt.days.astype("int64")
    table["event"] = (table["days_inactive"] > inactivity_days).astype("int64")
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


# ---------------------------------------------------------------------------------------
# Design matrix (treatment coding, "name[level]" columns)
# ---------------------------------------------------------------------------------------
def design_matrix(
    table: pd.DataFrame,
    covariates: Sequence[str] = DEFAULT_COVARIATES,
    *,
    reference: Mapping[str, str] | None = None,
    levels: Mapping[str, Sequence[str]] | None = None,
    scale: Mapping[str, float] | None = None,
    impute: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Numeric covariates for Cox / AFT from a survival table.

    Categorical covariates become 0/1 columns named ``"<covariate>[<level>]"`` for every level
    but the reference (treatment coding). When ``minor`` is a covariate, the ``age_band``
    level ``"<14"`` gets no column of its own (it *is* ``minor``): pupils take 0 in every
    age-band column, as in the sample generator. Numeric covariates are divided by ``scale``;
    ``satisfaction`` is imputed with ``impute["satisfaction"]`` (default: its mean) and gets
    a ``satisfaction_missing`` indicator when any score is missing. ``minor`` is 0/1.

    Parameters
    ----------
    table : DataFrame
        From :func:`survival_table`.
    covariates : sequence of str
        Columns of ``table`` to use.
    reference : mapping, optional
        Reference level per categorical covariate; default the most frequent level
        (ties: alphabetical first).
    levels : mapping, optional
        The full level list per categorical covariate (e.g. those seen in training, so a
        test split gets the same columns); default the levels present in ``table``.
    scale : mapping, optional
        Divisor per numeric covariate (e.g. ``{"first_order_value": 10000}``).
    impute : mapping, optional
        Value used for missing numeric covariates; default the column mean.

    Returns
    -------
    DataFrame
        float64, same index as ``table``.
    """
    reference = dict(reference or {})
    has_minor = "minor" in covariates
    levels = dict(levels or {})
    scale = dict(scale or {})
    impute = dict(impute or {})
    parts: list[pd.Series] = []
    for covariate in covariates:
        if covariate not in table.columns:
            raise ModelInputError(
                f"covariate '{covariate}' is not a column of the survival table; "
                f"available: {', '.join(map(str, table.columns))}"
            )
        values = table[covariate]
        if covariate in NUMERIC_COVARIATES or pd.api.types.is_numeric_dtype(values):
            numeric = values.astype("float64")
            missing = numeric.isna()
            fill = impute.get(covariate, float(numeric.mean()) if (~missing).any() else 0.0)
            numeric = numeric.fillna(fill) / float(scale.get(covariate, 1.0))
            parts.append(numeric.rename(covariate))
            if covariate == "satisfaction" and (missing.any() or "satisfaction" in impute):
                parts.append(missing.astype("float64").rename("satisfaction_missing"))
            continue
        text = values.astype(str)
        all_levels = list(levels.get(covariate, sorted(text.unique())))
        ref = reference.get(covariate)
        if ref is None:
            counts = text.value_counts()
            ref = sorted(counts.index[counts == counts.max()])[0]
        for level in all_levels:
            if level == ref or (covariate == "age_band" and level == MINOR_BAND and has_minor):
                continue
            parts.append((text == level).astype("float64").rename(f"{covariate}[{level}]"))
    if not parts:
        return pd.DataFrame(index=table.index)
    return pd.concat(parts, axis=1)


def _redundant_columns(
    design: pd.DataFrame, tol: float = 1e-8, min_level_size: int = 0
) -> list[str]:
    """Columns that are constant, too rare, or a linear combination of earlier columns.

    A 0/1 column with fewer than ``min_level_size`` ones (or zeros) is dropped: a level of a
    handful of customers cannot be estimated (when they all churned on day 0 the likelihood
    has no maximum and Cox does not converge), and its customers count with the reference.

    A level present in every row, or dummies that add up to another column, would stop Cox
    from converging; the later column is dropped and listed in ``dropped_``.
    """
    x = design.to_numpy(dtype="float64")
    x = x - x.mean(axis=0)
    gram = x.T @ x
    kept: list[int] = []
    dropped: list[str] = []
    for j, column in enumerate(design.columns):
        if gram[j, j] <= tol * max(len(design), 1):
            dropped.append(column)
            continue
        values = design[column]
        if values.isin([0.0, 1.0]).all():
            ones = int(values.sum())
            if min(ones, len(values) - ones) < min_level_size:
                dropped.append(column)
                continue
        trial = [*kept, j]
        sub = gram[np.ix_(trial, trial)]
        scale = np.sqrt(np.diag(sub))
        corr = sub / np.outer(scale, scale)
        if np.linalg.eigvalsh(corr).min() < 1e-8:
            dropped.append(column)
        else:
            kept.append(j)
    return dropped


def _reference_levels(table: pd.DataFrame, covariates: Sequence[str]) -> dict[str, str]:
    refs = {}
    for covariate in covariates:
        if covariate in NUMERIC_COVARIATES or pd.api.types.is_numeric_dtype(table[covariate]):
            continue
        counts = table[covariate].astype(str).value_counts()
        refs[covariate] = sorted(counts.index[counts == counts.max()])[0]
    return refs


# ---------------------------------------------------------------------------------------
# Kaplan-Meier and log-rank
# ---------------------------------------------------------------------------------------
def _groups(table: pd.DataFrame, by: str | None, min_group_size: int) -> list[tuple[str, pd.DataFrame]]:
    if by is None:
        return [("all", table)]
    if by not in table.columns:
        raise ModelInputError(f"segment column '{by}' is not in the survival table")
    groups = []
    for level, part in table.groupby(table[by].astype(str), sort=True):
        if len(part) >= min_group_size:
            groups.append((str(level), part))
    return groups


def kaplan_meier_curves(
    table: pd.DataFrame,
    by: str | None = None,
    *,
    alpha: float = 0.05,
    min_group_size: int = 1,
) -> pd.DataFrame:
    """Kaplan-Meier survival curves with confidence bands, overall or per segment.

    Parameters
    ----------
    table : DataFrame
        From :func:`survival_table`.
    by : str, optional
        Segment column (e.g. ``"channel"``); ``None`` for one overall curve.
    alpha : float
        1 - confidence level of the bands (lifelines' exponential Greenwood intervals).
    min_group_size : int
        Segments with fewer customers are left out (use ``params.privacy.min_cell_size``
        for publication).

    Returns
    -------
    DataFrame
        Long format: ``segment``, ``group``, ``days``, ``survival``, ``ci_lower``,
        ``ci_upper``, ``at_risk``.
    """
    frames = []
    for level, part in _groups(table, by, min_group_size):
        kmf = KaplanMeierFitter(alpha=alpha).fit(part["duration"], part["event"], label=level)
        ci = kmf.confidence_interval_survival_function_
        frame = pd.DataFrame(
            {
                "segment": by or "all",
                "group": level,
                "days": kmf.survival_function_.index.to_numpy(dtype="float64"),
                "survival": kmf.survival_function_.iloc[:, 0].to_numpy(),
                "ci_lower": ci.iloc[:, 0].to_numpy(),
                "ci_upper": ci.iloc[:, 1].to_numpy(),
                "at_risk": kmf.event_table["at_risk"].reindex(kmf.survival_function_.index)
                .to_numpy(dtype="int64"),
            }
        )
        frames.append(frame)
    columns = ["segment", "group", "days", "survival", "ci_lower", "ci_upper", "at_risk"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def median_lifetimes(
    table: pd.DataFrame,
    by: str | None = None,
    *,
    alpha: float = 0.05,
    min_group_size: int = 1,
) -> pd.DataFrame:
    """Median lifetime (days) from Kaplan-Meier, with its confidence interval, per segment.

    The median is ``inf`` when survival never falls to 50% within the observed window.

    Returns
    -------
    DataFrame
        ``segment``, ``group``, ``customers``, ``churned``, ``median_days``,
        ``median_ci_lower``, ``median_ci_upper``.
    """
    rows = []
    for level, part in _groups(table, by, min_group_size):
        kmf = KaplanMeierFitter(alpha=alpha).fit(part["duration"], part["event"], label=level)
        ci = median_survival_times(kmf.confidence_interval_)
        rows.append(
            {
                "segment": by or "all",
                "group": level,
                "customers": int(len(part)),
                "churned": int(part["event"].sum()),
                "median_days": float(kmf.median_survival_time_),
                "median_ci_lower": float(ci.iloc[0, 0]),
                "median_ci_upper": float(ci.iloc[0, 1]),
            }
        )
    return pd.DataFrame(rows)


def logrank_tests(
    table: pd.DataFrame, segments: Sequence[str], *, min_group_size: int = 1
) -> pd.DataFrame:
    """Multivariate log-rank test per segment column: do the groups' survival curves differ?

    Returns
    -------
    DataFrame
        One row per segment: ``segment``, ``groups``, ``test_statistic``, ``dof``, ``p``.
    """
    rows = []
    for segment in segments:
        kept = pd.concat([part for _, part in _groups(table, segment, min_group_size)] or [table.iloc[:0]])
        n_groups = kept[segment].astype(str).nunique() if len(kept) else 0
        if n_groups < 2:
            rows.append({"segment": segment, "groups": n_groups, "test_statistic": np.nan,
                         "dof": 0, "p": np.nan})
            continue
        result = multivariate_logrank_test(kept["duration"], kept[segment].astype(str), kept["event"])
        rows.append(
            {
                "segment": segment,
                "groups": int(n_groups),
                "test_statistic": float(result.test_statistic),
                "dof": int(result.degrees_of_freedom),
                "p": float(result.p_value),
            }
        )
    return pd.DataFrame(rows)


def pairwise_logrank(
    table: pd.DataFrame, segment: str, *, min_group_size: int = 1
) -> pd.DataFrame:
    """Pairwise log-rank tests between the groups of one segment column (no p correction).

    Returns
    -------
    DataFrame
        ``segment``, ``group_a``, ``group_b``, ``test_statistic``, ``p``.
    """
    kept = pd.concat([part for _, part in _groups(table, segment, min_group_size)] or [table.iloc[:0]])
    columns = ["segment", "group_a", "group_b", "test_statistic", "p"]
    if len(kept) == 0 or kept[segment].astype(str).nunique() < 2:
        return pd.DataFrame(columns=columns)
    result = pairwise_logrank_test(kept["duration"], kept[segment].astype(str), kept["event"])
    summary = result.summary.reset_index()
    summary.columns = ["group_a", "group_b", *summary.columns[2:]]
    summary.insert(0, "segment", segment)
    return summary[columns].reset_index(drop=True)


# ---------------------------------------------------------------------------------------
# Weibull helpers (closed forms used by the AFT extrapolation and the scenario)
# ---------------------------------------------------------------------------------------
def _scaled_upper_gamma(a: float, z: np.ndarray) -> np.ndarray:
    """``exp(z) * Gamma(a, z)`` (upper incomplete gamma), stable for large ``z``."""
    z = np.asarray(z, dtype="float64")
    out = np.empty_like(z)
    small = z < 500.0
    out[small] = np.exp(z[small]) * special.gammaincc(a, z[small]) * special.gamma(a)
    zl = z[~small]
    # asymptotic series: z^(a-1) (1 + (a-1)/z + (a-1)(a-2)/z^2 + ...)
    term = np.ones_like(zl)
    total = np.ones_like(zl)
    for k in range(1, 6):
        term = term * (a - k) / zl
        total = total + term
    out[~small] = zl ** (a - 1.0) * total
    return out


def weibull_remaining_days(
    scale: np.ndarray, shape: float, age: np.ndarray, horizon: float | None = None
) -> np.ndarray:
    """Expected remaining lifetime ``E[min(T - a, h) | T > a]`` of a Weibull lifetime.

    ``S(t) = exp(-(t / scale) ** shape)``; closed form with the incomplete gamma function.

    Parameters
    ----------
    scale : array
        Weibull scale per customer (days).
    shape : float
        Weibull shape.
    age : array
        Current age (days survived).
    horizon : float, optional
        Cap on the remaining lifetime (days); ``None`` for no cap.
    """
    scale = np.asarray(scale, dtype="float64")
    age = np.asarray(age, dtype="float64")
    a = 1.0 / shape
    z0 = (age / scale) ** shape
    full = scale / shape * _scaled_upper_gamma(a, z0)
    if horizon is None:
        return full
    z1 = ((age + horizon) / scale) ** shape
    tail = scale / shape * _scaled_upper_gamma(a, z1) * np.exp(z0 - z1)
    return full - tail


# ---------------------------------------------------------------------------------------
# The churn model
# ---------------------------------------------------------------------------------------
def stratified_sample(
    event: pd.Series | np.ndarray, size: int | None, seed: int
) -> np.ndarray | None:
    """Positions of a fixed-seed random subsample of ``size`` rows, stratified by event.

    Each event class (churned / censored) keeps its share of the rows (rounded), so the
    subsample has the table's churn rate. Rows stay in their original order.

    Parameters
    ----------
    event : array-like of 0/1
        The ``event`` column of the survival table.
    size : int or None
        Rows wanted; ``None`` or at least the table's length means no subsample.
    seed : int
        Seed of the random generator (the same seed gives the same rows).

    Returns
    -------
    ndarray of int or None
        Sorted row positions, or ``None`` when every row is used.
    """
    values = np.asarray(event)
    if size is None or len(values) <= size:
        return None
    if size < 1:
        raise ModelInputError(f"a subsample size must be at least 1, got {size}")
    rng = np.random.default_rng(seed)
    picked = []
    for level in np.unique(values):
        rows = np.flatnonzero(values == level)
        take = min(len(rows), max(1, int(round(size * len(rows) / len(values)))))
        picked.append(rng.choice(rows, take, replace=False))
    return np.sort(np.concatenate(picked))


@dataclass(frozen=True)
class ScenarioResult:
    """Retention under the change-of-owner scenario.

    Attributes
    ----------
    curve : DataFrame
        Per month since transfer: ``month``, ``baseline_retention``, ``scenario_retention``
        (mean share of today's active customers still alive), ``baseline_customers``,
        ``scenario_customers`` (expected counts).
    customers : DataFrame
        Per current customer (analysis zone only): ``age_days``,
        ``baseline_remaining_days``, ``scenario_remaining_days``.
    """

    curve: pd.DataFrame
    customers: pd.DataFrame


class ChurnModel:
    """Cox PH drivers of churn plus a Weibull AFT for extrapolation.

    Parameters
    ----------
    covariates : sequence of str
        Columns of the survival table used as covariates.
    reference : mapping, optional
        Reference level per categorical covariate (default the most frequent).
    scale : mapping, optional
        Divisor per numeric covariate (default ``first_order_value`` in CNY 10,000, the unit
        of the sample generator's ground truth).
    penalizer : float
        Ridge penalty of both fitters (0 = plain maximum likelihood).
    test_size : float
        Share of customers held out for the concordance index.
    random_state : int
        Seed of the held-out split.
    alpha : float
        1 - confidence level of the intervals.
    batch_threshold : int
        From this many rows on, Cox is fitted with lifelines' ``batch_mode=True`` (its fast
        path for large tables with many tied durations); below, lifelines chooses.
    check_ph : bool
        Run the proportional-hazards test (scaled Schoenfeld residuals).
    min_level_size : int
        0/1 design columns (a categorical level, ``minor``, ``satisfaction_missing``) with
        fewer customers than this are not estimated: they are dropped and listed in
        ``dropped_``, their customers count with the reference level.
    aft_sample_size : int or None
        Large tables: the Weibull AFT is fitted on a fixed-seed subsample of this many rows,
        stratified by ``event`` (:func:`stratified_sample`, seed ``random_state``); ``None``
        fits every row. The AFT gives the shape and per-covariate scales for extrapolation,
        which a 50,000-row sample pins down to well within their confidence intervals,
        while the fit time grows with the rows.
    ph_sample_size : int or None
        Large tables: the proportional-hazards test runs on a Cox model refitted on a
        fixed-seed stratified subsample of this many rows (lifelines' scaled Schoenfeld
        residuals take time quadratic in the rows: about 2 minutes at 100,000 rows).
        ``None`` tests on every row.
    max_test_rows : int or None
        Cap on the held-out rows scored for the concordance (a fixed-seed random subset of
        the held-out split); ``None`` scores every held-out row.

    Notes
    -----
    The Cox drivers (``cox_``, ``drivers_``, risk scores, churn probabilities) always use
    every row (lifelines' batch mode from ``batch_threshold`` rows on). Below the sample
    sizes nothing is subsampled, so small and sample-scale tables give exactly the results
    of a full fit; ``sample_rows_`` records the rows each part used.

    Attributes
    ----------
    cox_ : lifelines.CoxPHFitter
        Fitted on all customers.
    aft_ : lifelines.WeibullAFTFitter
        Fitted on all customers (durations + 1 day).
    drivers_ : DataFrame
        Per covariate: ``coef`` (log hazard ratio), ``se``, ``coef_lower``, ``coef_upper``,
        ``hazard_ratio``, ``hr_lower``, ``hr_upper``, ``p``.
    concordance_ : float
        Harrell's C of the Cox model fitted on the training split, on the held-out split.
    ph_check_ : DataFrame or None
        Per covariate: ``test_statistic``, ``p``, ``violated`` (p < 0.05).
    reference_ : dict
        The reference levels used.
    columns_ : list of str
        Design-matrix columns.
    dropped_ : list of str
        Design columns left out: constant, rarer than ``min_level_size``, or collinear with
        earlier columns.
    aft_dropped_ : list of str
        Columns of ``columns_`` left out of the AFT because they are constant, too rare or
        collinear in its subsample (their AFT coefficient is taken as 0: reference level);
        empty when the AFT used every row.
    sample_rows_ : dict
        Rows used by each part: ``cox``, ``concordance`` (held-out rows scored),
        ``ph_check`` and ``aft``.
    """

    def __init__(
        self,
        covariates: Sequence[str] = DEFAULT_COVARIATES,
        *,
        reference: Mapping[str, str] | None = None,
        scale: Mapping[str, float] | None = None,
        penalizer: float = 0.0,
        test_size: float = 0.25,
        random_state: int = 0,
        alpha: float = 0.05,
        batch_threshold: int = 10_000,
        check_ph: bool = True,
        min_level_size: int = 20,
        aft_sample_size: int | None = 50_000,
        ph_sample_size: int | None = 20_000,
        max_test_rows: int | None = 50_000,
    ):
        self.covariates = covariates
        self.reference = reference
        self.scale = scale
        self.penalizer = penalizer
        self.test_size = test_size
        self.random_state = random_state
        self.alpha = alpha
        self.batch_threshold = batch_threshold
        self.check_ph = check_ph
        self.min_level_size = min_level_size
        self.aft_sample_size = aft_sample_size
        self.ph_sample_size = ph_sample_size
        self.max_test_rows = max_test_rows

    # -- fitting --------------------------------------------------------------------------
    def _design(self, table: pd.DataFrame) -> pd.DataFrame:
        return design_matrix(
            table,
            self.covariates,
            reference=self.reference_,
            levels=self.levels_,
            scale=self.scale_,
            impute=self.impute_,
        )

    def _fit_cox(self, frame: pd.DataFrame) -> CoxPHFitter:
        batch = True if len(frame) >= self.batch_threshold else None
        cox = CoxPHFitter(penalizer=self.penalizer, alpha=self.alpha)
        try:
            cox.fit(frame, duration_col="duration", event_col="event", batch_mode=batch)
        except Exception as exc:  # lifelines raises ConvergenceError / LinAlgError
            raise ModelError(
                f"the Cox model did not converge ({type(exc).__name__}); try a penalizer "
                "(e.g. 0.01), fewer covariates, or merging rare levels"
            ) from exc
        return cox

    def fit(self, table: pd.DataFrame) -> "ChurnModel":
        """Fit Cox PH (drivers, concordance, PH check) and the Weibull AFT.

        Parameters
        ----------
        table : DataFrame
            From :func:`survival_table`.

        Returns
        -------
        self
        """
        if len(table) < 10 or table["event"].sum() < 2:
            raise ModelInputError(
                f"the survival table has {len(table)} customers and {int(table['event'].sum())} "
                "churn events; the churn model needs at least 10 customers and 2 events"
            )
        covariates = list(self.covariates)
        self.reference_ = {**_reference_levels(table, covariates), **dict(self.reference or {})}
        self.levels_ = {
            c: sorted(table[c].astype(str).unique()) for c in self.reference_ if c in table.columns
        }
        self.scale_ = {"first_order_value": 10000.0, **dict(self.scale or {})}
        self.impute_ = {
            c: float(table[c].mean()) if table[c].notna().any() else 0.0
            for c in covariates
            if c in NUMERIC_COVARIATES and c != "minor"
        }
        design = self._design(table)
        self.dropped_ = _redundant_columns(design, min_level_size=self.min_level_size)
        design = design.drop(columns=self.dropped_)
        self.columns_ = list(design.columns)
        frame = design.assign(duration=table["duration"].astype("float64"),
                              event=table["event"].astype("int64"))

        self.cox_ = self._fit_cox(frame)
        summary = self.cox_.summary
        level = int(round((1 - self.alpha) * 100))
        self.drivers_ = pd.DataFrame(
            {
                "coef": summary["coef"],
                "se": summary["se(coef)"],
                "coef_lower": summary[f"coef lower {level}%"],
                "coef_upper": summary[f"coef upper {level}%"],
                "hazard_ratio": summary["exp(coef)"],
                "hr_lower": summary[f"exp(coef) lower {level}%"],
                "hr_upper": summary[f"exp(coef) upper {level}%"],
                "p": summary["p"],
            }
        )
        self.drivers_.index.name = "covariate"

        self.sample_rows_ = {"cox": int(len(frame))}
        self.concordance_ = self._held_out_concordance(frame)

        self.ph_check_ = None
        if self.check_ph:
            self.ph_check_ = self._ph_check(frame)

        aft_frame = frame.assign(duration=frame["duration"] + 1.0)
        positions = stratified_sample(frame["event"], self.aft_sample_size, self.random_state)
        self.aft_dropped_ = []
        if positions is not None:
            aft_frame = aft_frame.iloc[positions]
            self.aft_dropped_ = _redundant_columns(
                aft_frame[self.columns_], min_level_size=self.min_level_size
            )
            aft_frame = aft_frame.drop(columns=self.aft_dropped_)
        self.sample_rows_["aft"] = int(len(aft_frame))
        self.aft_ = WeibullAFTFitter(penalizer=self.penalizer, alpha=self.alpha)
        try:
            self.aft_.fit(aft_frame, duration_col="duration", event_col="event")
        except Exception as exc:
            raise ModelError(
                f"the Weibull AFT model did not converge ({type(exc).__name__}); try a "
                "penalizer (e.g. 0.01) or fewer covariates"
            ) from exc
        return self

    def _held_out_concordance(self, frame: pd.DataFrame) -> float:
        """Harrell's C on the held-out split of a Cox model fitted on the training split.

        At most ``max_test_rows`` held-out rows are scored (a fixed-seed random subset).
        """
        rng = np.random.default_rng(self.random_state)
        test = rng.random(len(frame)) < self.test_size
        train_frame, test_frame = frame.loc[~test], frame.loc[test]
        if self.max_test_rows is not None and len(test_frame) > self.max_test_rows:
            keep_rows = np.sort(rng.choice(len(test_frame), self.max_test_rows, replace=False))
            test_frame = test_frame.iloc[keep_rows]
        self.sample_rows_["concordance"] = int(len(test_frame))
        if train_frame["event"].sum() < 2 or test_frame["event"].sum() < 1:
            return float("nan")
        keep = [c for c in self.columns_ if train_frame[c].nunique() > 1]
        split_cox = self._fit_cox(train_frame[[*keep, "duration", "event"]])
        risk = split_cox.predict_partial_hazard(test_frame[keep])
        return float(concordance_index(test_frame["duration"], -risk, test_frame["event"]))

    def _ph_check(self, frame: pd.DataFrame) -> pd.DataFrame:
        """lifelines' PH test (rank time transform), on a stratified subsample when large.

        On a subsample the test needs a Cox model fitted on those rows; columns constant,
        too rare or collinear in the subsample are not tested (NaN, not violated).
        """
        cox = self.cox_
        positions = stratified_sample(frame["event"], self.ph_sample_size, self.random_state)
        if positions is not None:
            frame = frame.iloc[positions]
            skip = _redundant_columns(frame[self.columns_], min_level_size=self.min_level_size)
            frame = frame.drop(columns=skip)
            cox = self._fit_cox(frame)
        self.sample_rows_["ph_check"] = int(len(frame))
        result = proportional_hazard_test(cox, frame, time_transform="rank")
        ph = result.summary[["test_statistic", "p"]].reindex(self.columns_)
        ph["violated"] = ph["p"] < 0.05
        ph.index.name = "covariate"
        return ph

    # -- use ----------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "cox_"):
            raise NotFittedError("ChurnModel is not fitted yet: call fit(survival_table) first")

    def design(self, table: pd.DataFrame) -> pd.DataFrame:
        """The fitted design matrix of new survival-table rows (same columns as in fit)."""
        self._check_fitted()
        return self._design(table).reindex(columns=self.columns_, fill_value=0.0)

    def risk_score(self, table: pd.DataFrame) -> pd.Series:
        """Cox partial hazard ``exp(x'b)`` per customer (higher = churns sooner)."""
        self._check_fitted()
        return self.cox_.predict_partial_hazard(self.design(table)).rename("risk")

    def churn_probability(self, table: pd.DataFrame, days: np.ndarray | float) -> pd.Series:
        """Cox probability of churning within ``days`` after each customer's current age.

        ``1 - S(d + days | x) / S(d | x)`` with ``d`` the customer's ``duration``.
        """
        self._check_fitted()
        base = self.cox_.baseline_cumulative_hazard_.iloc[:, 0]
        times = base.index.to_numpy(dtype="float64")
        values = base.to_numpy()

        def cumhaz(t: np.ndarray) -> np.ndarray:
            idx = np.searchsorted(times, t, side="right") - 1
            return np.where(idx >= 0, values[np.clip(idx, 0, None)], 0.0)

        age = table["duration"].to_numpy(dtype="float64")
        later = age + np.broadcast_to(np.asarray(days, dtype="float64"), age.shape)
        hazard = (cumhaz(later) - cumhaz(age)) * self.risk_score(table).to_numpy()
        return pd.Series(1.0 - np.exp(-hazard), index=table.index, name="p_churn")

    def weibull_parameters(self, table: pd.DataFrame) -> tuple[pd.Series, float]:
        """Weibull scale (days) per customer and the common shape, from the AFT fit."""
        self._check_fitted()
        params = self.aft_.params_
        coefs = params.loc["lambda_"]
        x = self.design(table)
        linear = np.full(len(x), float(coefs.get("Intercept", 0.0)))
        for column in self.columns_:
            linear = linear + x[column].to_numpy() * float(coefs.get(column, 0.0))
        shape = float(np.exp(params.loc["rho_"]["Intercept"]))
        return pd.Series(np.exp(linear), index=table.index, name="weibull_scale"), shape

    def expected_remaining_lifetime(
        self, table: pd.DataFrame, horizon_days: float | None = None
    ) -> pd.DataFrame:
        """Expected remaining lifetime per customer beyond the window (Weibull AFT).

        Conditional on having survived to the current age (``duration + 1`` days, the AFT's
        time scale): ``E[min(T - a, h) | T > a]``.

        Returns
        -------
        DataFrame
            ``age_days``, ``expected_remaining_days``, ``median_remaining_days``.
        """
        scale, shape = self.weibull_parameters(table)
        age = table["duration"].to_numpy(dtype="float64") + 1.0
        lam = scale.to_numpy()
        remaining = weibull_remaining_days(lam, shape, age, horizon_days)
        # median of the conditional distribution: S(a + m) / S(a) = 1/2
        median = lam * ((age / lam) ** shape + np.log(2.0)) ** (1.0 / shape) - age
        return pd.DataFrame(
            {
                "age_days": age,
                "expected_remaining_days": remaining,
                "median_remaining_days": median,
            },
            index=table.index,
        )

    def change_of_owner(
        self,
        table: pd.DataFrame,
        *,
        one_off_loss: float,
        hazard_multiplier: float,
        hazard_months: int,
        months: int = 60,
        horizon_days: float | None = None,
    ) -> ScenarioResult:
        """Retention of today's customers with and without the change of owner.

        Baseline: each current (censored) customer's conditional Weibull survival
        ``S(a + t) / S(a)``. Scenario: a share ``one_off_loss`` is lost at the transfer
        (t = 0) and the hazard is multiplied by ``hazard_multiplier`` for the first
        ``hazard_months`` months; afterwards it returns to the baseline hazard.

        Parameters
        ----------
        table : DataFrame
            Survival table; only rows with ``event == 0`` (still active) are projected.
        one_off_loss, hazard_multiplier, hazard_months
            From ``params.deal.change_of_owner``.
        months : int
            Length of the curve.
        horizon_days : float, optional
            Cap on the expected remaining lifetimes (e.g. the CLV horizon).
        """
        if not 0 <= one_off_loss < 1 or hazard_multiplier <= 0 or hazard_months < 0:
            raise ModelInputError(
                "change-of-owner parameters out of range: need 0 <= one_off_loss < 1, "
                "hazard_multiplier > 0, hazard_months >= 0 (see deal.change_of_owner)"
            )
        current = table.loc[table["event"] == 0]
        if current.empty:
            raise ModelInputError("no current (non-churned) customers to project")
        scale, shape = self.weibull_parameters(current)
        lam = scale.to_numpy()
        age = current["duration"].to_numpy(dtype="float64") + 1.0
        h_days = hazard_months * DAYS_PER_MONTH

        def cumhaz(t: np.ndarray) -> np.ndarray:
            return (t / lam[:, None]) ** shape

        grid = np.arange(months + 1) * DAYS_PER_MONTH
        base_h = cumhaz(age[:, None] + grid[None, :]) - cumhaz(age[:, None])
        stressed_end = np.minimum(grid, h_days)
        scen_h = hazard_multiplier * (cumhaz(age[:, None] + stressed_end[None, :]) - cumhaz(age[:, None]))
        scen_h = scen_h + cumhaz(age[:, None] + np.maximum(grid, h_days)[None, :]) - cumhaz(
            age[:, None] + np.full_like(grid, h_days)[None, :]
        )
        base_s = np.exp(-base_h)
        scen_s = (1.0 - one_off_loss) * np.exp(-scen_h)
        curve = pd.DataFrame(
            {
                "month": np.arange(months + 1),
                "baseline_retention": base_s.mean(axis=0),
                "scenario_retention": scen_s.mean(axis=0),
                "baseline_customers": base_s.sum(axis=0),
                "scenario_customers": scen_s.sum(axis=0),
            }
        )

        baseline_remaining = weibull_remaining_days(lam, shape, age, horizon_days)
        scenario_remaining = _scenario_remaining(
            lam, shape, age, one_off_loss, hazard_multiplier, h_days, horizon_days
        )
        customers = pd.DataFrame(
            {
                "age_days": age,
                "baseline_remaining_days": baseline_remaining,
                "scenario_remaining_days": scenario_remaining,
            },
            index=current.index,
        )
        return ScenarioResult(curve=curve, customers=customers)


def _scenario_remaining(
    lam: np.ndarray,
    shape: float,
    age: np.ndarray,
    loss: float,
    multiplier: float,
    h_days: float,
    horizon: float | None,
) -> np.ndarray:
    """Expected remaining days under the scenario (closed form, Weibull baseline).

    During the stressed period the hazard ``k * h(t)`` is again Weibull with scale
    ``lam * k ** (-1 / shape)``; afterwards the baseline resumes from age ``a + H``.
    """
    stressed_len = h_days if horizon is None else min(h_days, horizon)
    lam_k = lam * multiplier ** (-1.0 / shape)
    # integral over the stressed period of exp(-k (L(a+s) - L(a))) ds
    first = weibull_remaining_days(lam_k, shape, age, stressed_len) if stressed_len > 0 else 0.0
    z_a = (age / lam) ** shape
    z_h = ((age + stressed_len) / lam) ** shape
    alive_after = np.exp(-multiplier * (z_h - z_a))
    rest_horizon = None if horizon is None else max(horizon - stressed_len, 0.0)
    if rest_horizon == 0.0:
        rest = np.zeros_like(age)
    else:
        rest = weibull_remaining_days(lam, shape, age + stressed_len, rest_horizon)
    return (1.0 - loss) * (first + alive_after * rest)


def change_of_owner_scenario(
    model: ChurnModel, table: pd.DataFrame, params: Any, *, months: int = 60
) -> ScenarioResult:
    """:meth:`ChurnModel.change_of_owner` with the settings of a :class:`DealParams`.

    The expected remaining lifetimes are capped at ``economics.horizon_years`` when set.
    """
    coo = params.deal.change_of_owner
    horizon_years = params.economics.horizon_years
    return model.change_of_owner(
        table,
        one_off_loss=coo.one_off_loss,
        hazard_multiplier=coo.hazard_multiplier,
        hazard_months=coo.hazard_months,
        months=months,
        horizon_days=None if horizon_years is None else horizon_years * 365.25,
    )
