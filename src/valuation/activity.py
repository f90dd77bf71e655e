"""Activity over time: the monthly panel, cohort retention, consent cohorts, P(alive) outlook.

All functions read the token-only analysis tables and return aggregate DataFrames (counts per
month, cohort or bin), ready for the brief. Tables meant for publication go through
:func:`suppress_for_publication` with ``params.privacy.min_cell_size``.

Definitions
-----------
A customer is *active* in a calendar month when they have at least one order or one activity
event (attendance, login) dated in that month, on or before ``as_of``. Only customers with a
customer record count: orders and events of unknown customer tokens (orphan orders, a data
defect flagged by the review) are left out, as are records dated after ``as_of`` (future
dates, another defect). For each month:

* ``new``: active for the first time ever (first month with an order or an event);
* ``retained``: active this month and the month before;
* ``returning``: active this month, not the month before, but in some earlier month;
* ``lapsed``: active the month before but not this month.

So ``active = new + retained + returning`` and ``lapsed[m] = active[m-1] - retained[m]``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from scipy import special

from valuation.errors import ModelInputError
from valuation.tables import COHORTS
from valuation.token_lookup import token_positions, tokens_in

TEXT = pd.StringDtype("pyarrow")

DAYS_PER_MONTH = 365.25 / 12
UNITS_PER_MONTH: dict[str, float] = {"D": DAYS_PER_MONTH, "W": DAYS_PER_MONTH / 7.0, "M": 1.0}
"""Length of an average calendar month in each model time unit."""


# ---------------------------------------------------------------------------------------
# Publication hook
# ---------------------------------------------------------------------------------------
def suppress_for_publication(table: pd.DataFrame, count_column: str, k: int) -> pd.DataFrame:
    """Small-cell suppression of an aggregate table before it is published.

    Delegates to ``valuation.privacy.suppress.suppress_small_cells(table, count_column, k)``
    when that module exists. Until then a conservative stand-in is applied: in every row whose
    count is between 1 and ``k - 1``, the count and every other numeric column are blanked
    (NaN) and a ``suppressed`` column marks the row. Zero counts are kept.

    Parameters
    ----------
    table : DataFrame
        One row per cell.
    count_column : str
        The column holding the number of customers behind each row.
    k : int
        Minimum cell size (``params.privacy.min_cell_size``).
    """
    try:
        from valuation.privacy.suppress import suppress_small_cells
    except ModuleNotFoundError as exc:
        if exc.name not in ("valuation.privacy.suppress",):
            raise
    else:
        return suppress_small_cells(table, count_column, k)
    out = table.copy()
    counts = pd.to_numeric(out[count_column], errors="coerce")
    small = (counts > 0) & (counts < k)
    numeric = out.select_dtypes(include="number").columns
    out[list(numeric)] = out[list(numeric)].astype("float64")
    out.loc[small, list(numeric)] = np.nan
    out["suppressed"] = small.to_numpy()
    return out


# ---------------------------------------------------------------------------------------
# Signs of life
# ---------------------------------------------------------------------------------------
def _cut(as_of: dt.date | str | pd.Timestamp | None) -> pd.Timestamp | None:
    return None if as_of is None else pd.Timestamp(as_of).normalize()


def signs_of_life(
    tables: Mapping[str, pd.DataFrame],
    as_of: dt.date | str | pd.Timestamp | None = None,
    *,
    known_customers_only: bool = False,
) -> pd.DataFrame:
    """Every dated order and activity event of a customer, on or before ``as_of``.

    Parameters
    ----------
    tables : mapping
        Analysis tables (``orders``, optional ``activity``, and ``customers`` when
        ``known_customers_only``).
    as_of : date, optional
        Records dated after it are left out (no cut when None).
    known_customers_only : bool
        Keep only tokens with a customer record (drops orphan orders and events).

    Returns
    -------
    DataFrame
        ``customer_token``, ``date``, ``source`` (``order`` or ``activity``).
    """
    frames = []
    for table, column in (("orders", "order_date"), ("activity", "event_date")):
        frame = _dated_table(tables, table, column)
        if frame is None:
            continue
        part = pd.DataFrame(
            {"customer_token": frame["customer_token"].astype(TEXT, copy=False),
             "date": pd.to_datetime(frame[column])}
        )
        part["source"] = "order" if table == "orders" else "activity"
        frames.append(part)
    signs = pd.concat(frames, ignore_index=True)
    signs = signs.loc[signs["customer_token"].notna() & signs["date"].notna()]
    cut = _cut(as_of)
    if cut is not None:
        signs = signs.loc[signs["date"] <= cut]
    if known_customers_only:
        signs = signs.loc[tokens_in(signs["customer_token"], tables["customers"]["customer_token"])]
    return signs.reset_index(drop=True)


class ActiveMonths(NamedTuple):
    """The distinct (customer, month) pairs of known customers with a sign of life, as
    integers: no text or Period object per pair, so 10^7 orders and 2 x 10^7 events stay
    a few hundred megabytes.

    Attributes
    ----------
    customers : Index
        The known customer tokens (unique; the customers table's).
    code : ndarray of int64
        Position in ``customers`` of each pair's customer.
    month : ndarray of int64
        Each pair's calendar month as a ``Period`` ordinal (months since January 1970).

    Pairs are sorted by customer, then month.
    """

    customers: pd.Index
    code: np.ndarray
    month: np.ndarray


def _month_ordinals(dates: np.ndarray) -> np.ndarray:
    """Calendar months of ``datetime64`` values as ``Period`` ordinals (freq ``M``)."""
    return dates.astype("datetime64[M]").astype("int64")


def _period(ordinal: int) -> pd.Period:
    return pd.Period(ordinal=int(ordinal), freq="M")


def _month_index(first: int, last: int) -> pd.PeriodIndex:
    """Every month from ordinal ``first`` to ``last`` (a gap-free ``PeriodIndex``)."""
    if last < first:
        return pd.PeriodIndex([], freq="M", name="month")
    return pd.period_range(_period(first), _period(last), freq="M", name="month")


def active_months(tables: Mapping[str, pd.DataFrame], as_of: Any = None) -> ActiveMonths:
    """The months in which each known customer showed a sign of life (order or activity
    event dated on or before ``as_of``), integer-coded; see :class:`ActiveMonths`."""
    cut = _cut(as_of)
    known = pd.Index(tables["customers"]["customer_token"].dropna().unique())
    codes, months = [], []
    for table, column in (("orders", "order_date"), ("activity", "event_date")):
        frame = _dated_table(tables, table, column)
        if frame is None:
            continue
        code = token_positions(frame["customer_token"], known)
        dates = pd.to_datetime(frame[column]).to_numpy()
        keep = (code >= 0) & ~np.isnat(dates)
        if cut is not None:
            keep &= dates <= cut.to_datetime64()
        codes.append(code[keep])
        months.append(_month_ordinals(dates[keep]))
        del code, dates, keep
    code, month = np.concatenate(codes), np.concatenate(months)
    if not len(code):
        return ActiveMonths(known, code.astype("int64"), month.astype("int64"))
    low = int(month.min())
    span = int(month.max()) - low + 1
    pairs = np.unique(code * span + (month - low))  # distinct and sorted by (code, month)
    return ActiveMonths(known, pairs // span, pairs % span + low)


def _dated_table(tables: Mapping[str, pd.DataFrame], table: str,
                 column: str) -> pd.DataFrame | None:
    """``tables[table]`` checked for ``customer_token`` and ``column``; None when an
    optional table (activity) is absent."""
    if table not in tables:
        if table == "orders":
            raise ModelInputError("analysis table 'orders' is missing")
        return None
    frame = tables[table]
    for needed in ("customer_token", column):
        if needed not in frame.columns:
            raise ModelInputError(
                f"analysis table '{table}' lacks column '{needed}' "
                "(see valuation.tables.ANALYSIS_COLUMNS)"
            )
    return frame


def active_customers(tables: Mapping[str, pd.DataFrame], as_of: Any, days: int = 365) -> int:
    """Customers (with a customer record) with an order or activity event in the ``days``
    days up to and including ``as_of``."""
    cut = _cut(as_of)
    start = cut - pd.Timedelta(days=days)
    known = pd.Index(tables["customers"]["customer_token"].dropna().unique())
    seen = np.zeros(len(known), dtype=bool)
    for table, column in (("orders", "order_date"), ("activity", "event_date")):
        frame = _dated_table(tables, table, column)
        if frame is None:
            continue
        dates = pd.to_datetime(frame[column]).to_numpy()
        recent = (dates > start.to_datetime64()) & (dates <= cut.to_datetime64())
        code = token_positions(frame["customer_token"].iloc[np.flatnonzero(recent)], known)
        seen[code[code >= 0]] = True
    return int(seen.sum())


# ---------------------------------------------------------------------------------------
# Monthly panel
# ---------------------------------------------------------------------------------------
def monthly_activity_panel(
    tables: Mapping[str, pd.DataFrame],
    as_of: dt.date | str | pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Active, new, retained, returning and lapsed customers per calendar month.

    See the module docstring for the definitions. Months run from the first month with a sign
    of life to the month of ``as_of`` (or the last sign of life when ``as_of`` is None),
    without gaps.

    Returns
    -------
    DataFrame
        Indexed by ``month`` (``pandas.Period``, freq ``M``), columns ``active``, ``new``,
        ``retained``, ``returning``, ``lapsed`` (int64).
    """
    pairs = active_months(tables, as_of)
    columns = ["active", "new", "retained", "returning", "lapsed"]
    if not len(pairs.code):
        return pd.DataFrame(columns=columns, index=pd.PeriodIndex([], freq="M", name="month"))
    code, month = pairs.code, pairs.month
    first = int(month.min())
    last = pd.Timestamp(as_of).to_period("M").ordinal if as_of is not None else int(month.max())
    months = _month_index(first, last)
    n = len(months)
    # pairs are sorted by (customer, month): a customer's first pair is her first month, and
    # a pair is "retained" when the pair before it is the same customer's previous month
    starts = np.r_[True, code[1:] != code[:-1]]
    after_previous = np.r_[False, (~starts[1:]) & (month[1:] == month[:-1] + 1)]
    offset = month - first
    active = np.bincount(offset, minlength=n)[:n]
    new = np.bincount(offset[starts], minlength=n)[:n]
    retained = np.bincount(offset[after_previous], minlength=n)[:n]
    previous_active = np.r_[0, active[:-1]]
    panel = pd.DataFrame(
        {
            "active": active,
            "new": new,
            "retained": retained,
            "returning": active - new - retained,
            "lapsed": previous_active - retained,
        },
        index=months,
    ).astype("int64")
    return panel


# ---------------------------------------------------------------------------------------
# Cohort retention
# ---------------------------------------------------------------------------------------
class CohortRetention(NamedTuple):
    """Cohort retention matrix (signup month x months since signup).

    Attributes
    ----------
    counts : DataFrame
        Customers of each signup cohort (rows, ``Period``) active ``k`` months after the signup
        month (columns ``0, 1, ...``); NaN where that month lies after ``as_of``.
    shares : DataFrame
        ``counts`` divided by the cohort size.
    sizes : Series
        Customers per signup cohort.
    """

    counts: pd.DataFrame
    shares: pd.DataFrame
    sizes: pd.Series

    def long(self) -> pd.DataFrame:
        """One row per observed cell: ``cohort``, ``months_since_signup``, ``cohort_size``,
        ``active``, ``share`` (the shape for a heatmap or :func:`suppress_for_publication`)."""
        stacked = self.counts.stack().rename("active").reset_index()
        stacked.columns = ["cohort", "months_since_signup", "active"]
        stacked["cohort_size"] = stacked["cohort"].map(self.sizes).astype("int64")
        stacked["active"] = stacked["active"].astype("int64")
        stacked["share"] = stacked["active"] / stacked["cohort_size"]
        return stacked[["cohort", "months_since_signup", "cohort_size", "active", "share"]]

    def publishable(self, min_cell_size: int) -> pd.DataFrame:
        """:meth:`long` with cohorts smaller than ``min_cell_size`` suppressed."""
        return suppress_for_publication(self.long(), "cohort_size", min_cell_size)


def cohort_retention(
    tables: Mapping[str, pd.DataFrame],
    as_of: dt.date | str | pd.Timestamp,
    *,
    max_months: int | None = None,
) -> CohortRetention:
    """Cohort retention: of the customers who signed up in month c, how many were active
    (order or activity event) k months later.

    Customers without a signup date, or who signed up after ``as_of``, are left out; signs of
    life dated before the signup month (a data defect) are ignored.

    Parameters
    ----------
    tables : mapping
        Analysis tables (``customers`` with ``signup_date``; ``orders``; ``activity``).
    as_of : date
        Cut-off; cells after the month of ``as_of`` are NaN (not observable yet).
    max_months : int, optional
        Keep months since signup ``0 .. max_months``.
    """
    cut = _cut(as_of)
    customers = tables["customers"]
    signup = customers[["customer_token", "signup_date"]].dropna()
    signup = signup.loc[signup["signup_date"] <= cut].drop_duplicates("customer_token")
    signup_month = _month_ordinals(pd.to_datetime(signup["signup_date"]).to_numpy())
    cohort_months, cohort_row, cohort_sizes = np.unique(signup_month, return_inverse=True,
                                                        return_counts=True)
    sizes = pd.Series(cohort_sizes, name="cohort_size",
                      index=pd.PeriodIndex.from_ordinals(cohort_months, freq="M", name="cohort"))

    pairs = active_months(tables, cut)
    cohort_of = np.full(len(pairs.customers), -1, dtype="int64")  # row of sizes, -1: none
    rows = token_positions(signup["customer_token"], pairs.customers)
    cohort_of[rows[rows >= 0]] = cohort_row[rows >= 0]
    last_month = cut.to_period("M").ordinal
    horizon = last_month - int(cohort_months[0]) if len(sizes) else 0
    if max_months is not None:
        horizon = min(horizon, max_months)
    width = horizon + 1
    row = cohort_of[pairs.code]
    since = pairs.month - cohort_months[np.clip(row, 0, None)] if len(sizes) else row
    # signs of life before the signup month (a data defect) and beyond the horizon are left out
    keep = (row >= 0) & (since >= 0) & (since < width)
    cells = np.bincount(row[keep] * width + since[keep], minlength=len(sizes) * width)
    columns = pd.Index(range(width), name="months_since_signup")
    counts = pd.DataFrame(cells.reshape(len(sizes), width).astype("float64"),
                          index=sizes.index, columns=columns)
    # cells after as_of are unobservable
    observable = (last_month - cohort_months)[:, None] >= np.arange(width)[None, :]
    counts = counts.where(observable)
    counts.index.name = "cohort"
    shares = counts.div(sizes, axis=0)
    return CohortRetention(counts=counts, shares=shares, sizes=sizes.astype("int64"))


# ---------------------------------------------------------------------------------------
# Consent cohorts
# ---------------------------------------------------------------------------------------
def _cohort_masks(customers: pd.DataFrame, cohorts: Sequence[str]) -> dict[str, pd.Series]:
    """Boolean membership of each consent cohort, from ``valuation.privacy.cohorts``."""
    from valuation.privacy.cohorts import cohort_mask

    return {name: pd.Series(cohort_mask(customers, name), index=customers.index).astype(bool)
            for name in cohorts}


def active_by_consent_cohort(
    tables: Mapping[str, pd.DataFrame],
    as_of: dt.date | str | pd.Timestamp,
    *,
    cohorts: Sequence[str] = COHORTS,
) -> pd.DataFrame:
    """Active customers per month in each consent cohort (``all``, ``transferable``, ...).

    Cohort membership is :func:`valuation.privacy.cohorts.cohort_mask`; a customer with
    orders but no customer record belongs to no cohort except ``all``.

    Returns
    -------
    DataFrame
        Indexed by ``month``; one int64 column per cohort.
    """
    customers = tables["customers"].drop_duplicates("customer_token").reset_index(drop=True)
    masks = _cohort_masks(customers, cohorts)
    pairs = active_months(tables, as_of)
    last = pd.Timestamp(as_of).to_period("M").ordinal
    first = int(pairs.month.min()) if len(pairs.month) else last + 1
    months = _month_index(first, last)
    offset = pairs.month - first
    rows = token_positions(customers["customer_token"], pairs.customers)
    out = {}
    for name, mask in masks.items():
        if name == "all":
            members = np.ones(len(pairs.customers), dtype=bool)
        else:
            members = np.zeros(len(pairs.customers), dtype=bool)
            chosen = rows[mask.to_numpy(bool)]
            members[chosen[chosen >= 0]] = True
        out[name] = np.bincount(offset[members[pairs.code]], minlength=len(months))[:len(months)]
    frame = pd.DataFrame(out, index=months).astype("int64")
    frame.columns.name = "cohort"
    return frame


# ---------------------------------------------------------------------------------------
# P(alive) and the 12-month outlook from a fitted BG/NBD
# ---------------------------------------------------------------------------------------
def p_alive_distribution(
    p_alive: pd.Series, *, bins: int = 10, min_cell_size: int = 1
) -> pd.DataFrame:
    """Histogram of P(alive): customers per probability bin ``[0, 0.1), ..., [0.9, 1]``.

    Returns
    -------
    DataFrame
        ``bin``, ``lower``, ``upper``, ``customers``, ``share``, small cells suppressed.
    """
    values = pd.Series(p_alive, dtype="float64").dropna()
    if ((values < 0) | (values > 1)).any():
        raise ModelInputError("P(alive) values must lie in [0, 1]")
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.searchsorted(edges, values.to_numpy(), side="right") - 1, 0, bins - 1)
    counts = np.bincount(index, minlength=bins)
    table = pd.DataFrame(
        {
            "bin": [f"[{lo:.1f}, {hi:.1f}{']' if i == bins - 1 else ')'}"
                    for i, (lo, hi) in enumerate(zip(edges[:-1], edges[1:]))],
            "lower": edges[:-1],
            "upper": edges[1:],
            "customers": counts.astype("int64"),
            "share": counts / max(len(values), 1),
        }
    )
    return suppress_for_publication(table, "customers", min_cell_size)


def p_alive_summary(p_alive: pd.Series) -> pd.DataFrame:
    """One-row summary of P(alive): customers, mean, quantiles, expected customers alive."""
    values = pd.Series(p_alive, dtype="float64").dropna()
    quantiles = values.quantile([0.1, 0.25, 0.5, 0.75, 0.9]) if len(values) else None
    row = {
        "customers": int(len(values)),
        "mean": float(values.mean()) if len(values) else np.nan,
        "expected_alive": float(values.sum()),
    }
    for q, name in zip([0.1, 0.25, 0.5, 0.75, 0.9], ["p10", "p25", "median", "p75", "p90"]):
        row[name] = float(quantiles.loc[q]) if quantiles is not None else np.nan
    return pd.DataFrame([row])


def bgnbd_parameters(model: Any) -> dict[str, float]:
    """``r, alpha, a, b`` of a fitted BG/NBD model (``params_`` mapping or ``r_`` ... attributes)."""
    params = getattr(model, "params_", None)
    out = {}
    for name in ("r", "alpha", "a", "b"):
        value = None
        if params is not None:
            try:
                value = params[name]
            except (KeyError, TypeError, IndexError):
                value = None
        if value is None:
            value = getattr(model, f"{name}_", None)
        if value is None:
            raise ModelInputError(
                f"the purchase model exposes no fitted parameter '{name}'; expected a fitted "
                "valuation.models.BetaGeo"
            )
        out[name] = float(value)
    return out


def expected_active_customers(
    model: Any,
    rfm: pd.DataFrame,
    *,
    months: int = 12,
    time_unit: str = "W",
) -> pd.DataFrame:
    """Expected customers alive and active in each of the next ``months`` months (BG/NBD).

    For a customer with history ``(x, t_x, T)`` the BG/NBD posterior, given alive at ``T``, is
    ``lambda ~ Gamma(r + x, alpha + T)`` and ``p ~ Beta(a, b + x)``, independent. Alive at
    ``T + s`` needs no drop-out among the purchases in ``(T, T + s]``:
    ``E[exp(-lambda p s)] = 2F1(r + x, a; a + b + x; -s / (alpha + T))``. Active in
    ``(T + s, T + s + d]`` (alive at ``T + s`` and at least one purchase in the month) is
    ``E[exp(-lambda p s)] - E[exp(-lambda (p s + d))]``, again a Gauss hypergeometric function.
    Both are multiplied by the model's ``p_alive`` and summed over customers.

    Parameters
    ----------
    model : fitted BetaGeo
        With ``p_alive(frequency, recency, T)`` and fitted ``r, alpha, a, b``.
    rfm : DataFrame
        ``frequency``, ``recency``, ``T`` in the model's time unit (from
        ``valuation.features.rfm_summary``).
    months : int
        Number of future months.
    time_unit : str
        The model's time unit (``D``, ``W`` or ``M``; ``params.time_unit``).

    Returns
    -------
    DataFrame
        ``month`` (1..months), ``expected_alive`` (at the end of the month),
        ``expected_active`` (customers with at least one purchase in the month).
    """
    if time_unit not in UNITS_PER_MONTH:
        raise ModelInputError(f"time_unit must be one of D, W, M; got {time_unit!r}")
    for column in ("frequency", "recency", "T"):
        if column not in rfm.columns:
            raise ModelInputError(f"rfm lacks column '{column}' (expected frequency, recency, T)")
    p = bgnbd_parameters(model)
    x = rfm["frequency"].to_numpy(dtype="float64")
    t_cal = rfm["T"].to_numpy(dtype="float64")
    alive_now = np.asarray(
        model.p_alive(rfm["frequency"], rfm["recency"], rfm["T"]), dtype="float64"
    ).reshape(-1)
    r1 = p["r"] + x
    alpha1 = p["alpha"] + t_cal
    a1 = p["a"]
    c1 = p["a"] + p["b"] + x
    d = UNITS_PER_MONTH[time_unit]

    def no_dropout(s: float, alpha_: np.ndarray) -> np.ndarray:
        return special.hyp2f1(r1, a1, c1, -s / alpha_)

    rows = []
    for m in range(1, months + 1):
        start, end = (m - 1) * d, m * d
        alive_end = alive_now * no_dropout(end, alpha1)
        alive_start = no_dropout(start, alpha1)
        no_purchase = (1.0 + d / alpha1) ** (-r1) * no_dropout(start, alpha1 + d)
        active = alive_now * (alive_start - no_purchase)
        rows.append({"month": m, "expected_alive": float(alive_end.sum()),
                     "expected_active": float(active.sum())})
    return pd.DataFrame(rows)
