"""One table from one export file: read, map headers, skip blank rows, coerce, validate.

:func:`load_table` is the per-file job of ingest (:func:`valuation.ingest.pipeline.read_exports`
runs it for every table of a target). Every problem of the file is collected before anything
is raised; with ``quarantine=True`` rows with unparseable values are set aside with a reason.
"""

from __future__ import annotations

import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from valuation.errors import InputError, Problem
from valuation.fileio import sha256_file
from valuation.ingest import coerce
from valuation.ingest.display import display_value
from valuation.ingest.headers import EVENT_TYPE_ALIASES, PAYMENT_PLAN_ALIASES
from valuation.ingest.mapping import map_headers
from valuation.ingest.problems import (
    DETAILED_PER_KIND,
    REASONS,
    cap_problems,
    rows_text,
    short_reason,
)
from valuation.ingest.readers import (
    RawSheet,
    check_file,
    file_kind,
    open_workbook,
    read_csv_raw,
    read_parquet_raw,
    read_sheet_raw,
)
from valuation.ingest.schemas import FailureContext, validate
from valuation.tables import RAW_COLUMNS, REQUIRED_RAW

STRING = pd.StringDtype("pyarrow")
"""Text columns are pyarrow-backed: the dtype is still named "string" (``== "string"``),
with far less memory than Python objects for 10^7-row tables."""

Coercer = Callable[[pd.Series], tuple[pd.Series, pd.Series]]

_MONEY_COLUMNS = {("orders", "amount"), ("orders", "refund_amount")}
_EXPECTED: dict[str, str] = {
    "money": coerce.MONEY_EXPECTED,
    "number": coerce.NUMBER_EXPECTED,
    "datetime64[ns]": coerce.DATE_EXPECTED,
    "boolean": coerce.BOOL_EXPECTED,
    "int64": coerce.INTEGER_EXPECTED,
}
_COERCERS: dict[str, Coercer] = {
    "money": coerce.parse_money,
    "number": coerce.parse_number,
    "datetime64[ns]": coerce.parse_dates,
    "boolean": coerce.parse_bool,
    "int64": coerce.parse_integer,
    "string": coerce.parse_text,
}


@dataclass(frozen=True)
class SourceFile:
    """One export read: the file, the sheet (workbooks), its SHA-256 and its data rows."""

    path: Path
    sheet: str | None
    sha256: str
    rows: int



@dataclass
class TableLoad:
    """One table read from one file (internal result of :func:`load_table`)."""

    frame: pd.DataFrame
    quarantined: pd.DataFrame
    source: SourceFile
    warnings: list[str]



def empty_table(table: str) -> pd.DataFrame:
    """An empty canonical raw table with the right columns and dtypes."""
    return pd.DataFrame({c: pd.Series(dtype=STRING if d == "string" else d)
                         for c, d in RAW_COLUMNS[table].items()})


def _kind(table: str, column: str) -> str:
    dtype = RAW_COLUMNS[table][column]
    if dtype == "float64":
        return "money" if (table, column) in _MONEY_COLUMNS else "number"
    return dtype


def _normalise_choice(values: pd.Series, aliases: dict[str, str]) -> pd.Series:
    """Map spellings of a categorical value (NFKC, case-insensitive) to canonical ones;
    unknown spellings are kept as written (the schema reports them if they matter)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    mapped = pa.array(
        [aliases.get(unicodedata.normalize("NFKC", u).strip().lower(), u) for u in uniques]
        + [None], type=pa.string())
    take = np.where(codes < 0, len(uniques), codes)  # a handful of spellings: take, no objects
    return pd.Series(pd.arrays.ArrowStringArray(mapped.take(pa.array(take))),
                     index=values.index)


# ---------------------------------------------------------------------------------------
# One table from one file
# ---------------------------------------------------------------------------------------
def _read_raw(path: Path, *, sheet: str | None, encoding: str,
              workbook: pd.ExcelFile | None) -> RawSheet:
    kind = file_kind(path)
    if kind == "xlsx":
        sha = sha256_file(path)
        book = workbook if workbook is not None else open_workbook(path)
        try:
            if sheet is None:
                sheet = book.sheet_names[0]
            return read_sheet_raw(book, path, sheet, sha)
        finally:
            if workbook is None:
                book.close()
    check_file(path)
    if kind == "parquet":
        return read_parquet_raw(path, sha256_file(path))
    return read_csv_raw(path, encoding)


def load_table(
    path: Path,
    table: str,
    *,
    sheet: str | None = None,
    encoding: str = "auto",
    columns: dict[str, str] | None = None,
    quarantine: bool = False,
    workbook: pd.ExcelFile | None = None,
) -> TableLoad:
    """Read one table from one file into a canonical raw table.

    Parameters
    ----------
    path : Path
        The export (CSV, XLSX or Parquet, by extension).
    table : str
        Canonical table name.
    sheet : str, optional
        Sheet of a workbook (default: the first sheet).
    encoding : str
        ``auto`` or a text encoding (CSV only).
    columns : dict, optional
        Export header -> canonical column, over the built-in aliases.
    quarantine : bool
        Set rows with unparseable values aside instead of failing.
    workbook : pandas.ExcelFile, optional
        An already open workbook (to read several sheets of one file once).

    Raises
    ------
    InputError
        With every problem found in the file.
    """
    path = Path(path)
    raw = _read_raw(path, sheet=sheet, encoding=encoding, workbook=workbook)
    where = {"file": str(path), "sheet": sheet}
    header_map = map_headers(raw.headers, table, columns, file=path, sheet=sheet)
    file_problems = list(header_map.problems)
    warnings = [f"{path.name}{f' [{sheet}]' if sheet else ''}: {note}"
                for note in header_map.notes]
    label = f"{table} ({path.name}{f' [{sheet}]' if sheet else ''})"
    if header_map.unmapped:
        warnings.append(f"{label}: ignored column(s) not used by the workbench: "
                        + ", ".join(repr(h) for h in header_map.unmapped))
    unnamed = [i for i, h in enumerate(raw.headers) if not h]
    if unnamed:
        warnings.append(f"{label}: ignored {len(unnamed)} column(s) without a header")

    frame, broken_rows = raw.frame, raw.broken_rows
    source = SourceFile(path=path, sheet=sheet, sha256=raw.sha256,
                        rows=len(frame) + len(broken_rows) + raw.blank_lines)
    n_blank_lines = raw.blank_lines
    del raw  # the frame below may be a filtered copy: do not keep the unfiltered one alive
    # fully blank rows: skipped, counted
    blank = _blank_rows(frame)
    n_blank = int(blank.sum()) + n_blank_lines
    if n_blank:
        warnings.append(f"{label}: skipped {n_blank} fully blank row(s)"
                        + (f" (rows {rows_text(frame.index[blank])})" if blank.any() else ""))
    if blank.any():  # a copy of the whole table only when there is something to skip
        frame = frame.loc[~blank]
    del blank

    # coerce every mapped column
    data: dict[str, pd.Series] = {}
    bad_cells: dict[str, pd.Series] = {}
    row_problems: list[Problem] = []
    hint = "" if quarantine else ", or run with --quarantine to set such rows aside"
    for column, position in header_map.positions.items():
        kind = _kind(table, column)
        values, bad = _COERCERS[kind](frame[position])
        data[column] = values
        if kind == "string" or not bad.any():
            continue
        bad_cells[column] = bad
        bad_rows = bad.index[bad.to_numpy()]
        for row in bad_rows[:DETAILED_PER_KIND]:
            row_problems.append(Problem(
                **where, code=f"not_{kind}", row=int(row), column=header_map.headers[column],
                value=display_value(column, frame.at[row, position]),
                expected=_EXPECTED[kind], action="Correct the cell" + hint))
        if len(bad_rows) > DETAILED_PER_KIND:
            row_problems.append(Problem(
                **where, code=f"not_{kind}", column=header_map.headers[column],
                expected=f"{_EXPECTED[kind]}; {len(bad_rows) - DETAILED_PER_KIND} more such "
                         f"cell(s) in rows {rows_text(bad_rows[DETAILED_PER_KIND:])}",
                action="Correct the column" + hint))
    canonical = _canonical_frame(table, frame.index, data)
    display = partial(_display_cell, frame, header_map.positions)
    already_bad = {(int(r), c) for c, bad in bad_cells.items() for r in bad.index[bad.to_numpy()]}
    schema_problems = validate(
        canonical,
        FailureContext(table=table, file=str(path), sheet=sheet, headers=header_map.headers,
                       display=display),
        already_bad)
    file_problems += [
        p for p in schema_problems
        if (p.row is None or p.code == "missing_column")
        and not (p.code == "missing_column" and any(  # already said: duplicate header
            f"{table}.{c} " in p.expected for c in header_map.duplicated))]
    row_problems += [p for p in schema_problems if p.row is not None
                     and p.code != "missing_column"]
    for row, reason in broken_rows.items():
        row_problems.append(Problem(
            **where, code="broken_row", row=row,
            expected=f"as many fields as the header, but the row has {reason}",
            action="Quote cells that contain the delimiter (e.g. \"1,200\") and export again"))
    if file_problems or (row_problems and not quarantine):
        raise InputError(cap_problems(file_problems + row_problems))

    reasons: dict[int, list[str]] = defaultdict(list)
    for column, bad in bad_cells.items():
        why = f"{header_map.headers[column]}: {REASONS[_kind(table, column)]}"
        for row in bad.index[bad.to_numpy()]:
            reasons[int(row)].append(why)
    for problem in row_problems:
        if problem.row is not None and not problem.code.startswith("not_"):
            why = short_reason(problem.code)
            why = f"{problem.column}: {why}" if problem.column else why
            if why not in reasons[problem.row]:
                reasons[problem.row].append(why)
    quarantined = _quarantine(table, frame, header_map.positions, reasons)
    del frame, data, bad_cells, display  # the raw cells are no longer needed
    if quarantined.shape[0]:
        canonical = canonical.loc[~canonical.index.isin(quarantined["row"].to_numpy())]
        reasons = Counter(r for text in quarantined["reason"] for r in text.split("; "))
        warnings.append(f"{label}: quarantined {len(quarantined)} row(s): "
                        + "; ".join(f"{n} × {r}" for r, n in reasons.most_common()))
    warnings += _data_warnings(table, canonical, label)
    canonical.index = pd.RangeIndex(len(canonical))  # in place: reset_index would copy
    return TableLoad(frame=canonical, quarantined=quarantined,
                     source=source, warnings=warnings)


def _display_cell(frame: pd.DataFrame, positions: dict[str, int], row: int,
                  column: str) -> str | None:
    """The masked display of the raw cell of canonical ``column`` in spreadsheet ``row``."""
    position = positions.get(column)
    if position is None or row not in frame.index:
        return None
    return display_value(column, frame.at[row, position])


def _blank_rows(frame: pd.DataFrame) -> np.ndarray:
    """Boolean mask of the rows whose every cell is blank.

    Columns are checked one at a time and the scan stops as soon as no row can still be
    blank (usually after the first column), without copying the table.
    """
    blank = np.ones(len(frame), dtype=bool)
    for position in frame.columns:
        if not blank.any():
            break
        blank &= coerce.is_blank(frame[position]).to_numpy(dtype=bool)
    return blank


def _canonical_frame(table: str, index: pd.Index, data: dict[str, pd.Series]) -> pd.DataFrame:
    """Assemble the canonical columns in order, with defaults for absent optional ones."""
    out: dict[str, pd.Series] = {}
    for column, dtype in RAW_COLUMNS[table].items():
        if column in data:
            values = data[column]
        elif column in REQUIRED_RAW[table]:
            continue  # reported by the schema as a missing column
        else:
            values = pd.Series(pd.NA if dtype in ("string", "boolean") else np.nan,
                               index=index).astype(dtype if dtype != "int64" else "Int64")
        if column == "event_type":
            values = _normalise_choice(values, EVENT_TYPE_ALIASES)
        elif column == "payment_plan":
            values = _normalise_choice(values, PAYMENT_PLAN_ALIASES)
        elif column == "refund_amount":
            values = values.fillna(0.0)
        elif column == "count":
            values = values.fillna(1)
        if dtype == "int64":
            values = (values.astype("int64", copy=False) if not values.isna().any()
                      else values)
        elif dtype == "string":
            values = values.astype(STRING, copy=False)
        else:
            values = values.astype(dtype, copy=False)
        out[column] = values
    return pd.DataFrame(out, index=index, copy=False)


def _quarantine(table: str, frame: pd.DataFrame, positions: dict[str, int],
                reasons: dict[int, list[str]]) -> pd.DataFrame:
    """The rows set aside: their cells as exported under canonical names, row, reason."""
    columns = list(RAW_COLUMNS[table])
    rows = sorted(reasons)
    out = pd.DataFrame(index=pd.Index(rows, dtype="int64", name="row"), columns=columns,
                       dtype=object)
    in_frame = [r for r in rows if r in frame.index]
    for column, position in positions.items():
        out.loc[in_frame, column] = frame.loc[in_frame, position].astype(object).to_numpy()
    out = out.reset_index()
    out["reason"] = pd.array(["; ".join(reasons[r]) for r in rows], dtype="string")
    return out[[*columns, "row", "reason"]]


def _data_warnings(table: str, frame: pd.DataFrame, label: str) -> list[str]:
    """Defects kept for the review that a user should still hear about now."""
    warnings = []
    if table == "orders" and len(frame):
        negative = frame.index[(frame["amount"] < 0).to_numpy()]
        if len(negative):
            warnings.append(f"{label}: {len(negative)} order(s) with a negative amount kept "
                            f"for the data review (rows {rows_text(negative)})")
    return warnings
