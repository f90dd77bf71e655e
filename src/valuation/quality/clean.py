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

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from valuation.params import DealParams
from valuation.quality.base import empty_table
from valuation.quality.checks import duplicate_map
from valuation.quality.report import (
    REQUIRED_TABLES,
    QualityReport,
    check_contract_columns,
    review,
    validate_tables,
)
from valuation.tables import TABLES
from valuation.token_lookup import token_positions, tokens_in

CHILD_TABLES: tuple[str, ...] = ("orders", "activity", "feedback")
REMOVAL_COLUMNS: tuple[str, ...] = ("table", "reason", "action", "rows")
DATE_COLUMNS: dict[str, str] = {"orders": "order_date", "activity": "event_date",
                                "feedback": "feedback_date"}


@dataclass
class CleanedTables:
    """Analysis tables ready for the models.

    Attributes
    ----------
    tables : dict of str to DataFrame
        The four analysis tables after cleaning (fresh copies, index 0..n-1).
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


def clean_tables(tables: Mapping[str, pd.DataFrame], params: DealParams,
                 report: QualityReport | None = None) -> CleanedTables:
    """Remove excluded records, merge duplicates, drop bad orders, future dates and orphans.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        The analysis tables (left untouched). With a ``report``, each table is looked up
        once, customers first, so a mapping that reads tables on access
        (:class:`valuation.analysis.AnalysisFiles`) holds one uncleaned table at a time.
    params : DealParams
        Supplies ``as_of`` and ``data.opened``.
    report : QualityReport, optional
        A review of the same tables; computed when not given.

    Returns
    -------
    CleanedTables
    """
    if report is None:
        report = review(dict(tables), params)
    as_of = pd.Timestamp(params.as_of).normalize()
    log: list[tuple[tuple[int, int, int], tuple[str, str, str, int]]] = []

    def record(step: int, table: str, reason: str, rows: int, action: str = "removed") -> None:
        order = (step, 0 if action == "reassigned" else 1, TABLES.index(table))
        log.append((order, (table, reason, action, rows)))

    customers = _contract_table(tables, "customers")
    merge = duplicate_map(customers)
    gone = sorted(report.excluded_customers - set(merge.index))
    steps = _Steps("customers", len(customers), record)
    steps.drop(1, tokens_in(customers["customer_token"], merge.index), "duplicate_person")
    steps.drop(2, tokens_in(customers["customer_token"], gone), "excluded customer")
    out = {"customers": _kept_rows(customers, steps.kept)}
    del customers
    remaining = out["customers"]["customer_token"]
    for table in CHILD_TABLES:
        frame = _contract_table(tables, table)
        tokens = frame["customer_token"]
        moved = tokens_in(tokens, merge.index)
        if moved.any():
            tokens = _reassigned(tokens, moved, merge)
            record(1, table, "duplicate_person", int(moved.sum()), action="reassigned")
        steps = _Steps(table, len(frame), record)
        steps.drop(2, tokens_in(tokens, gone), "record of an excluded customer")
        dates = pd.to_datetime(frame[DATE_COLUMNS[table]]).dt.normalize()
        steps.drop(3, (dates > as_of).to_numpy(dtype=bool, na_value=False), "future_dates")
        del dates
        if table == "orders":
            steps.drop(4, (frame["amount"] <= 0).to_numpy(dtype=bool, na_value=False),
                       "non_positive_amount")
        steps.drop(5, ~tokens_in(tokens, remaining),
                   "orphan_orders" if table == "orders" else f"orphan {table}")
        out[table] = _kept_rows(frame, steps.kept,
                                tokens=None if tokens is frame["customer_token"] else tokens)
        del frame, tokens
    removed = pd.DataFrame([row for _, row in sorted(log, key=lambda item: item[0])],
                           columns=list(REMOVAL_COLUMNS))
    return CleanedTables(tables=out, removed=removed, report=report)


class _Steps:
    """The rows of one table still kept; each step removes only rows still kept, so a row is
    counted under the first step that touches it."""

    def __init__(self, table: str, n_rows: int, record) -> None:
        self.table = table
        self.kept = np.ones(n_rows, dtype=bool)
        self._record = record

    def drop(self, step: int, mask: np.ndarray, reason: str) -> None:
        hit = mask & self.kept
        if hit.any():
            self._record(step, self.table, reason, int(hit.sum()))
            self.kept &= ~hit


def _contract_table(tables: Mapping[str, pd.DataFrame], name: str) -> pd.DataFrame:
    """``tables[name]`` checked against the contract (an empty table when an optional one is
    absent), with a unique index."""
    if name not in tables:
        if name in REQUIRED_TABLES:
            validate_tables(tables)  # raises the missing-table error
        return empty_table(name)
    frame = tables[name]
    check_contract_columns({name: frame})
    return frame if frame.index.is_unique else frame.reset_index(drop=True)


def _kept_rows(frame: pd.DataFrame, kept: np.ndarray, tokens: pd.Series | None = None
               ) -> pd.DataFrame:
    """A fresh copy of the kept rows of ``frame`` (index 0..n-1), with ``tokens`` as its
    customer token column when given."""
    rows = np.flatnonzero(kept)
    out = frame.iloc[rows].reset_index(drop=True)
    if tokens is not None:
        out["customer_token"] = tokens.iloc[rows].reset_index(drop=True)
    return out


def _reassigned(tokens: pd.Series, moved: np.ndarray, merge: pd.Series) -> pd.Series:
    """``tokens`` with each token of a duplicate record replaced by the person's first record."""
    positions = token_positions(tokens[moved], merge.index)
    replaced = tokens.copy()
    replaced[moved] = merge.to_numpy()[positions]
    return replaced
