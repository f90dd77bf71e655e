"""pandera schemas of the raw canonical tables, and their failures as user Problems.

The schemas check what coercion cannot: required columns present, required values
present, dtypes, ranges (score 1..5, count >= 0), allowed event types and unique keys.
Data-level defects that the review reports later (negative amounts, orphan orders, future
dates, ...) are deliberately *not* checked here: they must not stop ingest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from valuation.errors import Problem
from valuation.ingest.mapping import accepted_headers
from valuation.tables import RAW_COLUMNS, REQUIRED_RAW

UNIQUE_KEYS: dict[str, str] = {"customers": "customer_id", "orders": "order_id"}
EVENT_TYPES: tuple[str, ...] = ("attendance", "login")

_CHECKS: dict[tuple[str, str], list[pa.Check]] = {
    ("feedback", "score"): [pa.Check.in_range(1, 5)],
    ("activity", "event_type"): [pa.Check.isin(EVENT_TYPES)],
    ("activity", "count"): [pa.Check.ge(0)],
}


_IS_TEXT = pa.Check(lambda s: isinstance(s.dtype, pd.StringDtype), element_wise=False,
                    name="string_dtype", error="a pandas string column (python or pyarrow)")


def raw_schema(table: str) -> pa.DataFrameSchema:
    """The pandera schema of a raw canonical table (exact columns, dtypes, keys, ranges).

    Examples
    --------
    >>> raw_schema("orders").columns["order_id"].unique
    True
    """
    required = REQUIRED_RAW[table]
    columns = {
        name: pa.Column(
            None if dtype == "string" else dtype,
            checks=_CHECKS.get((table, name), []) + ([_IS_TEXT] if dtype == "string" else []),
            nullable=name not in required,
            unique=UNIQUE_KEYS.get(table) == name,
            required=True,
        )
        for name, dtype in RAW_COLUMNS[table].items()
    }
    return pa.DataFrameSchema(columns, strict=True, name=f"raw {table}")


@dataclass
class FailureContext:
    """What a failure case needs to become a Problem a user can act on."""

    table: str
    file: str
    sheet: str | None
    headers: dict[str, str]  # canonical -> header in the file
    display: Callable[[int, str], str | None]  # (row, canonical column) -> masked value


def _expected(table: str, column: str, check: str) -> tuple[str, str, str]:
    """(code, expected, action) for a pandera check name."""
    if check == "not_nullable":
        return ("blank_required", f"a value (the {column} of every {table[:-1]} record is "
                "required)", "Fill in the cell or remove the row.")
    if check == "field_uniqueness":
        return ("duplicate_key", f"a unique {column}, but the same value is on several rows",
                f"Keep one row per {column} (merge or renumber the duplicates).")
    if check.startswith("in_range"):
        return ("out_of_range", "a score from 1 to 5", "Correct the score.")
    if check.startswith("isin"):
        return ("unknown_value", "an event type: attendance (出勤/上课/签到) or login (登录)",
                "Correct the event type, or drop rows of other event types before export.")
    if check.startswith("greater_than_or_equal_to"):
        return ("out_of_range", "a number of events >= 0", "Correct the count.")
    return ("invalid", f"values of type {RAW_COLUMNS[table][column]} ({check})",
            "Correct the cells of this column.")


def validate(frame: pd.DataFrame, ctx: FailureContext,
             already_bad: set[tuple[int, str]]) -> list[Problem]:
    """Validate ``frame`` lazily with :func:`raw_schema`; return every failure as a Problem.

    Failure cases on cells already reported by coercion (``already_bad``: (row, column)),
    e.g. a required date that could not be parsed, are not reported twice.
    """
    try:
        # inplace: nothing is coerced, so pandera need not copy a 10^7-row frame first
        raw_schema(ctx.table).validate(frame, lazy=True, inplace=True)
    except SchemaErrors as exc:
        return failures_to_problems(exc.failure_cases, ctx, already_bad)
    return []


def failures_to_problems(cases: pd.DataFrame, ctx: FailureContext,
                         already_bad: set[tuple[int, str]]) -> list[Problem]:
    """Translate pandera's ``SchemaErrors.failure_cases`` into :class:`Problem` entries."""
    problems: list[Problem] = []
    where = {"file": ctx.file, "sheet": ctx.sheet}
    for case in cases.itertuples(index=False):
        check = str(case.check)
        if check == "column_in_dataframe":
            missing = str(case.failure_case)
            accepted = ", ".join(accepted_headers(ctx.table, missing))
            problems.append(Problem(
                **where, code="missing_column", row=1,
                expected=f"a column for {ctx.table}.{missing} (required); headers accepted: "
                         f"{accepted}",
                action=f"Rename the column in the export, or map your header in the params "
                       f"YAML: data.columns.{ctx.table}: {{'<your header>': {missing}}}"))
            continue
        column = case.column if isinstance(case.column, str) else None
        row = None if pd.isna(case.index) else int(case.index)
        if column is None or row is None:
            problems.append(Problem(**where, code="schema", expected=f"{check} to hold",
                                    action="Correct the table.", column=column))
            continue
        if (row, column) in already_bad:
            continue
        code, expected, action = _expected(ctx.table, column, check)
        problems.append(Problem(
            **where, code=code, row=row, column=ctx.headers.get(column, column),
            value=ctx.display(row, column),
            expected=expected, action=action))
    return problems
