"""The cleaned analysis tables the models use, with an account of what was removed and why.

Steps, in order (each row is counted once, under the first step that touches it):

1. ``duplicate_person``: the orders, activity and feedback of a person's second and later
   customer records are reassigned to the person's first record; those customer rows go.
2. excluded customers (``signup_burst``, ``dummy_phone``, signup after ``as_of``): the customer
   rows go, with every order, activity and feedback row of theirs.
3. ``future_dates``: order, activity and feedback rows dated after ``as_of`` go.
4. ``non_positive_amount``: orders of zero or negative amount go.
5. ``orphan_orders`` (and orphan activity/feedback): rows whose customer token is not a
   remaining customer go.

Flagged records stay. The input tables are never modified.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from valuation.params import DealParams
from valuation.quality.base import build_context
from valuation.quality.checks import duplicate_map
from valuation.quality.report import QualityReport, review_context, validate_tables
from valuation.tables import TABLES

CHILD_TABLES: tuple[str, ...] = ("orders", "activity", "feedback")
REMOVAL_COLUMNS: tuple[str, ...] = ("table", "reason", "action", "rows")


@dataclass
class CleanedTables:
    """Analysis tables ready for the models.

    Attributes
    ----------
    tables : dict of str to DataFrame
        The four analysis tables after cleaning (fresh copies).
    removed : DataFrame
        One row a (table, reason, action) with ``rows`` affected; action is ``removed`` or
        ``reassigned`` (duplicate records merged into the person's first record).
    report : QualityReport
        The review the cleaning followed.
    """

    tables: dict[str, pd.DataFrame]
    removed: pd.DataFrame
    report: QualityReport

    def removed_count(self, table: str, reason: str | None = None) -> int:
        """Rows removed from ``table`` (for one ``reason``, or in total)."""
        removed = self.removed
        rows = removed[(removed["table"] == table) & (removed["action"] == "removed")]
        if reason is not None:
            rows = rows[rows["reason"] == reason]
        return int(rows["rows"].sum())


def clean_tables(tables: dict[str, pd.DataFrame], params: DealParams,
                 report: QualityReport | None = None) -> CleanedTables:
    """Remove excluded records, merge duplicates, drop bad orders, future dates and orphans.

    Parameters
    ----------
    tables : dict of str to DataFrame
        The analysis tables (left untouched).
    params : DealParams
        Supplies ``as_of`` and ``data.opened``.
    report : QualityReport, optional
        A review of the same tables; computed when not given.

    Returns
    -------
    CleanedTables
    """
    validate_tables(tables)
    ctx = build_context(tables, params.as_of, params.data.opened)
    if report is None:
        report = review_context(ctx, target=params.target, as_of=params.as_of)
    out = {name: ctx.tables[name].copy() for name in TABLES}
    log: list[tuple[str, str, str, int]] = []

    def drop(table: str, mask: pd.Series, reason: str) -> None:
        mask = mask.fillna(False).astype(bool)
        if mask.any():
            log.append((table, reason, "removed", int(mask.sum())))
            out[table] = out[table].loc[~mask.to_numpy()]

    # 1. merge duplicate persons into their first record
    merge = duplicate_map(out["customers"])
    for table in CHILD_TABLES:
        moved = out[table]["customer_token"].isin(merge.index)
        if moved.any():
            out[table]["customer_token"] = out[table]["customer_token"].replace(merge.to_dict())
            log.append((table, "duplicate_person", "reassigned", int(moved.sum())))
    drop("customers", out["customers"]["customer_token"].isin(merge.index), "duplicate_person")

    # 2. excluded customers and all their records
    gone = report.excluded_customers - set(merge.index)
    drop("customers", out["customers"]["customer_token"].isin(gone), "excluded customer")
    for table in CHILD_TABLES:
        drop(table, out[table]["customer_token"].isin(gone), "record of an excluded customer")

    # 3. future dates
    as_of = ctx.as_of
    for table, column in (("orders", "order_date"), ("activity", "event_date"),
                          ("feedback", "feedback_date")):
        drop(table, pd.to_datetime(out[table][column]).dt.normalize() > as_of, "future_dates")

    # 4. non-positive amounts
    drop("orders", out["orders"]["amount"] <= 0, "non_positive_amount")

    # 5. orphans
    kept = out["customers"]["customer_token"]
    for table in CHILD_TABLES:
        reason = "orphan_orders" if table == "orders" else f"orphan {table}"
        drop(table, ~out[table]["customer_token"].isin(kept), reason)

    removed = pd.DataFrame(log, columns=list(REMOVAL_COLUMNS))
    return CleanedTables(tables={k: v.reset_index(drop=True) for k, v in out.items()},
                         removed=removed, report=report)
