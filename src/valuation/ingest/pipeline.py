"""The ingest pipeline: export files -> canonical raw tables (secure zone, in memory only).

For each table: read the raw cells (:mod:`~valuation.ingest.readers`), map the headers
(:mod:`~valuation.ingest.mapping`), skip fully blank rows, coerce every column
(:mod:`~valuation.ingest.coerce`), validate with pandera (:mod:`~valuation.ingest.schemas`).
Every problem of a file is collected before anything is raised. Rows with unparseable
values either stop the run (default) or, with ``quarantine=True``, are set aside with a
reason. Data defects the review reports later (negative amounts, orphans, future dates,
...) never stop ingest.
"""

from __future__ import annotations

import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from valuation.errors import InputError, Problem
from valuation.ingest import coerce
from valuation.ingest.display import display_value
from valuation.ingest.headers import EVENT_TYPE_ALIASES, PAYMENT_PLAN_ALIASES, SHEET_ALIASES
from valuation.ingest.mapping import map_headers
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
from valuation.fileio import sha256_file
from valuation.params import DealParams
from valuation.tables import RAW_COLUMNS, REQUIRED_RAW, TABLES

STRING = pd.StringDtype("pyarrow")
"""Text columns are pyarrow-backed: the dtype is still named "string" (``== "string"``),
with far less memory than Python objects for 10^7-row tables."""

REQUIRED_TABLES: tuple[str, ...] = ("customers", "orders")
"""Tables every target must export; activity and feedback may be absent (empty tables)."""

DETAILED_PER_KIND = 50
"""Problems kept in full per (file, column, kind); the rest are summed in one line."""

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
_REASONS: dict[str, str] = {
    "money": "not an amount",
    "number": "not a number",
    "datetime64[ns]": "not a date",
    "boolean": "not yes/no",
    "int64": "not a whole number",
}


@dataclass(frozen=True)
class SourceFile:
    """One export read: the file, the sheet (workbooks), its SHA-256 and its data rows."""

    path: Path
    sheet: str | None
    sha256: str
    rows: int


@dataclass
class IngestResult:
    """The canonical raw tables of one target and how they were obtained.

    Attributes
    ----------
    tables : dict of str -> DataFrame
        Every table of :data:`valuation.tables.TABLES`, with exactly the columns and
        dtypes of :data:`valuation.tables.RAW_COLUMNS`.
    quarantined : dict of str -> DataFrame
        Rows set aside (only with ``quarantine=True``): their cells as exported under
        canonical names, the spreadsheet ``row`` and a ``reason``. Holds personal data:
        secure zone only.
    sources : list of SourceFile
    warnings : list of str
        Things that did not stop ingest but a user must know (never a personal value).
    """

    tables: dict[str, pd.DataFrame]
    quarantined: dict[str, pd.DataFrame] = field(default_factory=dict)
    sources: list[SourceFile] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class TableLoad:
    """One table read from one file (internal result of :func:`load_table`)."""

    frame: pd.DataFrame
    quarantined: pd.DataFrame
    source: SourceFile
    warnings: list[str]


# ---------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------
def empty_table(table: str) -> pd.DataFrame:
    """An empty canonical raw table with the right columns and dtypes."""
    return pd.DataFrame({c: pd.Series(dtype=STRING if d == "string" else d)
                         for c, d in RAW_COLUMNS[table].items()})


def _kind(table: str, column: str) -> str:
    dtype = RAW_COLUMNS[table][column]
    if dtype == "float64":
        return "money" if (table, column) in _MONEY_COLUMNS else "number"
    return dtype


def _rows_text(rows: list[int] | np.ndarray, limit: int = 10) -> str:
    rows = [int(r) for r in rows]
    shown = ", ".join(str(r) for r in rows[:limit])
    return shown + (f" and {len(rows) - limit} more" if len(rows) > limit else "")


def _cap(problems: list[Problem]) -> list[Problem]:
    """Keep every file-level problem; per (file, sheet, column, code) keep the first
    :data:`DETAILED_PER_KIND` and sum the rest in one line. Order the result so the first
    lines shown cover every kind of problem."""
    groups: dict[tuple, list[Problem]] = defaultdict(list)
    for problem in problems:
        groups[(problem.file, problem.sheet, problem.column, problem.code)].append(problem)
    capped: list[list[Problem]] = []
    for members in groups.values():
        # lines that sum up many cells go right after the first three examples
        summaries = [p for p in members if p.row is None and p.code.startswith("not_")]
        members = [p for p in members if p not in summaries]
        members = members[:3] + summaries + members[3:]
        kept = members[:DETAILED_PER_KIND]
        rest = members[DETAILED_PER_KIND:]
        if rest:
            first = rest[0]
            kept.append(Problem(
                file=first.file, sheet=first.sheet, column=first.column, code=first.code,
                expected=f"{len(rest)} more row(s) with the same problem (rows "
                         f"{_rows_text([p.row for p in rest if p.row is not None])})",
                action=first.action))
        capped.append(kept)
    ordered: list[Problem] = []
    for round_ in range(max((len(m) for m in capped), default=0)):
        # first three of every kind, then the rest
        if round_ < 3:
            ordered.extend(m[round_] for m in capped if round_ < len(m))
    for members in capped:
        ordered.extend(members[3:])
    return ordered


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
                        + (f" (rows {_rows_text(frame.index[blank])})" if blank.any() else ""))
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
                         f"cell(s) in rows {_rows_text(bad_rows[DETAILED_PER_KIND:])}",
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
        raise InputError(_cap(file_problems + row_problems))

    reasons: dict[int, list[str]] = defaultdict(list)
    for column, bad in bad_cells.items():
        why = f"{header_map.headers[column]}: {_REASONS[_kind(table, column)]}"
        for row in bad.index[bad.to_numpy()]:
            reasons[int(row)].append(why)
    for problem in row_problems:
        if problem.row is not None and not problem.code.startswith("not_"):
            why = _short_reason(problem.code)
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


def _short_reason(code: str) -> str:
    kind = code.removeprefix("not_")
    if kind in _REASONS:
        return _REASONS[kind]
    return {"blank_required": "required value missing", "duplicate_key": "duplicate key",
            "out_of_range": "out of range", "unknown_value": "unknown value",
            "broken_row": "wrong number of fields"}.get(code, code.replace("_", " "))


def _data_warnings(table: str, frame: pd.DataFrame, label: str) -> list[str]:
    """Defects kept for the review that a user should still hear about now."""
    warnings = []
    if table == "orders" and len(frame):
        negative = frame.index[(frame["amount"] < 0).to_numpy()]
        if len(negative):
            warnings.append(f"{label}: {len(negative)} order(s) with a negative amount kept "
                            f"for the data review (rows {_rows_text(negative)})")
    return warnings


# ---------------------------------------------------------------------------------------
# All tables of a target
# ---------------------------------------------------------------------------------------
def _sheet_for(table: str, params: DealParams, sheet_names: list[str]) -> str | None:
    named = params.data.sheets.get(table)
    if named is not None:
        return named
    for alias in SHEET_ALIASES[table]:
        for name in sheet_names:
            if name.strip().lower() == alias.lower():
                return name
    return None


def read_exports(params: DealParams, *, quarantine: bool = False) -> IngestResult:
    """Read every export of a target into canonical raw tables.

    Parameters
    ----------
    params : DealParams
        ``data.files`` (a file per table) and/or ``data.workbook`` + ``data.sheets``,
        ``data.encoding`` and ``data.columns``.
    quarantine : bool
        Set rows with unparseable values aside (``.quarantined``) instead of failing.

    Returns
    -------
    IngestResult

    Raises
    ------
    InputError
        With every problem of every file (file, sheet, row, column, masked value, what was
        expected and what to do).
    """
    data = params.data
    problems: list[Problem] = []
    result = IngestResult(tables={}, quarantined={})
    workbook = None
    if data.workbook is not None and any(t not in data.files for t in TABLES):
        try:
            workbook = open_workbook(Path(data.workbook))
        except InputError as exc:
            problems.extend(exc.problems)
    try:
        for table in TABLES:
            path: Path | None = data.files.get(table)
            sheet = None
            if path is None and data.workbook is not None:
                if workbook is None:
                    continue  # the workbook itself could not be opened (already reported)
                sheet = _sheet_for(table, params, workbook.sheet_names)
                if sheet is not None:
                    path = Path(data.workbook)
                elif table in REQUIRED_TABLES:
                    names = ", ".join(repr(s) for s in workbook.sheet_names)
                    problems.append(Problem(
                        file=str(data.workbook), code="missing_sheet",
                        expected=f"a sheet for the {table} table (tried "
                                 f"{', '.join(SHEET_ALIASES[table])}); the workbook has: {names}",
                        action=f"Name the sheet in the params YAML: data.sheets.{table}"))
                    continue
            if path is None:
                if table in REQUIRED_TABLES:
                    problems.append(Problem(
                        file=str(params.source or "params"), code="missing_table",
                        expected=f"an export of the {table} table",
                        action=f"Add data.files.{table} (or a sheet) to the params YAML"))
                else:
                    result.warnings.append(f"{table}: no export given; the table is empty")
                result.tables[table] = empty_table(table)
                continue
            try:
                loaded = load_table(
                    path, table, sheet=sheet, encoding=data.encoding,
                    columns=data.columns.get(table), quarantine=quarantine,
                    workbook=workbook if sheet is not None else None)
            except InputError as exc:
                problems.extend(exc.problems)
                continue
            result.tables[table] = loaded.frame
            result.sources.append(loaded.source)
            result.warnings.extend(loaded.warnings)
            if quarantine:
                result.quarantined[table] = loaded.quarantined
    finally:
        if workbook is not None:
            workbook.close()
    if problems:
        raise InputError(_cap(problems))
    return result


def read_table(
    path: str | Path,
    table: str,
    *,
    sheet: str | None = None,
    encoding: str = "auto",
    columns: dict[str, str] | None = None,
) -> pd.DataFrame:
    """Read one export file into one canonical raw table.

    Parameters
    ----------
    path : str or Path
        CSV, XLSX or Parquet (chosen by extension).
    table : str
        ``customers``, ``orders``, ``activity`` or ``feedback``.
    sheet : str, optional
        The sheet of a workbook (default: the first).
    encoding : str
        ``auto`` (UTF-8, UTF-8 with BOM or GB18030, detected) or an explicit encoding.
    columns : dict, optional
        Export header -> canonical column, over the built-in aliases.

    Returns
    -------
    DataFrame
        Exactly the columns and dtypes of ``RAW_COLUMNS[table]``.

    Raises
    ------
    InputError
        With every problem found in the file.
    """
    if table not in RAW_COLUMNS:
        raise InputError(f"unknown table {table!r}; allowed: {', '.join(TABLES)}")
    return load_table(Path(path), table, sheet=sheet, encoding=encoding,
                      columns=columns).frame
