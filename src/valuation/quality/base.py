"""The building blocks of the review checks: context, results, the check record, helpers.

A check is a function ``(ReviewContext) -> CheckResult``; :mod:`valuation.quality.checks`
defines them and registers each, with its group, unit, treatment and severity, as a
:class:`Check`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

from valuation.tables import ANALYSIS_COLUMNS, TABLES

Group = Literal["authenticity", "completeness", "consistency"]
Unit = Literal["customers", "orders", "records"]
Severity = Literal["info", "low", "medium", "high"]
Treatment = Literal["exclude", "flag"]

GROUP_ZH: dict[str, str] = {"authenticity": "真实性", "completeness": "完整性", "consistency": "一致性"}

DATE_COLUMNS: dict[str, str] = {
    "customers": "signup_date",
    "orders": "order_date",
    "activity": "event_date",
    "feedback": "feedback_date",
}
"""The date column of each table that ``future_dates`` and ``before_opening`` look at."""



@dataclass(frozen=True)
class ReviewContext:
    """The analysis tables and dates every check reads.

    Attributes
    ----------
    tables : dict of str to DataFrame
        The four analysis tables (an absent table is an empty frame with its columns).
    as_of : Timestamp
        The valuation date: later dates are in the future.
    opened : Timestamp or None
        The school's opening date (``data.opened``); ``None`` skips ``before_opening``.
    """

    tables: dict[str, pd.DataFrame]
    as_of: pd.Timestamp
    opened: pd.Timestamp | None = None

    @property
    def customers(self) -> pd.DataFrame:
        return self.tables["customers"]

    @property
    def orders(self) -> pd.DataFrame:
        return self.tables["orders"]

    @property
    def activity(self) -> pd.DataFrame:
        return self.tables["activity"]

    @property
    def feedback(self) -> pd.DataFrame:
        return self.tables["feedback"]


@dataclass(frozen=True)
class CheckResult:
    """What one check found.

    Attributes
    ----------
    failed : int
        Records failing, in the check's unit.
    customers : Index
        Tokens of the customers the failing records belong to (for orphan orders: the
        unknown tokens the orders carry).
    rows : dict of str to Index
        Per table, the index labels of the failing rows.
    skipped : str
        Why the check could not run (empty when it ran).
    """

    failed: int
    customers: pd.Index
    rows: dict[str, pd.Index] = field(default_factory=dict)
    skipped: str = ""


@dataclass(frozen=True)
class Check:
    """A registered review check.

    Attributes
    ----------
    name, group, unit : as in ``docs/contract.md``.
    func : the function computing the :class:`CheckResult`.
    treatment : ``"exclude"`` (records removed from the valuation) or ``"flag"`` (kept).
    base_severity : the lowest severity the check has when anything fails.
    in_haircut : whether flagged revenue counts towards the haircut (consent checks do not:
        the valuation's consent cohorts price them).
    why : one line justifying the treatment.
    """

    name: str
    group: Group
    unit: Unit
    func: Callable[[ReviewContext], CheckResult]
    treatment: Treatment
    base_severity: Severity
    in_haircut: bool
    why: str


# ---------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------
def is_true(values: pd.Series) -> pd.Series:
    """Plain bool Series: True where a nullable boolean is True (missing -> False)."""
    return values.astype("boolean").fillna(False).astype(bool)


def is_false(values: pd.Series) -> pd.Series:
    """Plain bool Series: True where a nullable boolean is False (missing -> False)."""
    return values.astype("boolean").eq(False).fillna(False).astype(bool)


def is_blank(values: pd.Series) -> pd.Series:
    """Plain bool Series: True where a value is missing or only whitespace."""
    text = values.astype("string")
    return (text.isna() | text.str.strip().eq("")).fillna(True).astype(bool)


def day(values: pd.Series) -> pd.Series:
    """Dates at day resolution (the time of day never matters to the review)."""
    return pd.to_datetime(values).dt.normalize()


def empty_table(table: str) -> pd.DataFrame:
    """An empty analysis table with the contract's columns and dtypes."""
    return pd.DataFrame({col: pd.Series(dtype=dtype)
                         for col, dtype in ANALYSIS_COLUMNS[table].items()})


def missing_columns(tables: Mapping[str, pd.DataFrame]) -> dict[str, list[str]]:
    """Per table given, the contract columns it lacks (tables not given are not listed)."""
    return {
        name: missing
        for name in TABLES
        if name in tables
        and (missing := [col for col in ANALYSIS_COLUMNS[name] if col not in tables[name].columns])
    }


def _ensure_index_unique(frame: pd.DataFrame) -> pd.DataFrame:
    return frame if frame.index.is_unique else frame.reset_index(drop=True)


def build_context(tables: dict[str, pd.DataFrame], as_of: object,
                  opened: object | None = None) -> ReviewContext:
    """Assemble a :class:`ReviewContext`; absent tables become empty frames.

    Parameters
    ----------
    tables : dict of str to DataFrame
        Analysis tables (``customers`` and ``orders`` at least; activity and feedback
        optional).
    as_of, opened : date-like
        The valuation date and the school's opening date (``None``: unknown).
    """
    full = {name: _ensure_index_unique(tables[name]) if name in tables else empty_table(name)
            for name in TABLES}
    opened_ts = None if opened is None else pd.Timestamp(opened).normalize()
    return ReviewContext(tables=full, as_of=pd.Timestamp(as_of).normalize(), opened=opened_ts)
