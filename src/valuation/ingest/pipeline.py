"""The ingest pipeline: export files -> canonical raw tables (secure zone, in memory only).

For each table (:func:`~valuation.ingest.table.load_table`): read the raw cells (:mod:`~valuation.ingest.readers`), map the headers
(:mod:`~valuation.ingest.mapping`), skip fully blank rows, coerce every column
(:mod:`~valuation.ingest.coerce`), validate with pandera (:mod:`~valuation.ingest.schemas`).
Every problem of a file is collected before anything is raised. Rows with unparseable
values either stop the run (default) or, with ``quarantine=True``, are set aside with a
reason. Data defects the review reports later (negative amounts, orphans, future dates,
...) never stop ingest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from valuation.errors import InputError, Problem
from valuation.ingest.headers import SHEET_ALIASES
from valuation.ingest.problems import cap_problems
from valuation.ingest.readers import open_workbook
from valuation.ingest.table import SourceFile, TableLoad, empty_table, load_table
from valuation.params import DealParams
from valuation.tables import RAW_COLUMNS, TABLES

__all__ = ["IngestResult", "SourceFile", "TableLoad", "empty_table", "load_table",
           "read_exports", "read_table"]

REQUIRED_TABLES: tuple[str, ...] = ("customers", "orders")
"""Tables every target must export; activity and feedback may be absent (empty tables)."""


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
        raise InputError(cap_problems(problems))
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
