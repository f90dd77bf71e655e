"""Read the buyer's post-closing exports through the same ingest, privacy gate and deal key.

The exports are a folder holding one file per table (``customers``, ``orders`` and, where
exported, ``activity`` / ``feedback``; CSV, XLSX or Parquet, named after the table) or one
XLSX workbook with a sheet per table. The buyer's system is not the seller's: the target's
column mapping is not applied, the ingest's built-in header aliases are (name the headers in
``data.columns`` of a copy of the params when they differ). The token-only dataset goes to
``<work_dir>/monitor/analysis`` (never over the pre-closing dataset in
``<work_dir>/analysis``), logged in the target's processing log with the key's fingerprint.
"""

from __future__ import annotations

from pathlib import Path

from valuation.errors import InputError, Problem
from valuation.params import DealParams
from valuation.tables import TABLES

SUFFIXES: tuple[str, ...] = (".parquet", ".pq", ".csv", ".xlsx")
MONITOR_FOLDER = "monitor"


class MonitorParams(DealParams):
    """The target's params with the analysis dataset in the monitor's own work subfolder."""

    @property
    def analysis_dir(self) -> Path:
        return self.work_dir / MONITOR_FOLDER / "analysis"


def _table_files(folder: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for table in TABLES:
        for suffix in SUFFIXES:
            path = folder / f"{table}{suffix}"
            if path.is_file():
                found[table] = path
                break
    return found


def monitor_params(params: DealParams, exports: str | Path) -> MonitorParams:
    """``params`` reading ``exports`` instead of the pre-closing files (module doc).

    Raises
    ------
    InputError
        The folder is missing or holds neither table files nor a single workbook.
    """
    folder = Path(exports)
    if not folder.is_dir():
        raise InputError([Problem(file=str(folder), code="missing_exports",
                                  expected="a folder of the buyer's post-closing exports",
                                  action="Give --exports the folder holding customers.* and "
                                         "orders.* (CSV, XLSX or Parquet)")])
    files = _table_files(folder)
    workbook = None
    if "customers" not in files or "orders" not in files:
        books = sorted(folder.glob("*.xlsx"))
        if len(books) != 1 or files:
            raise InputError([Problem(
                file=str(folder), code="missing_table",
                expected="customers.<csv|xlsx|parquet> and orders.<...> (activity optional), "
                         "or one XLSX workbook with a sheet per table",
                action="Export the customers and orders tables into this folder under those "
                       "names")])
        workbook, files = books[0], {}
    data = params.data.model_copy(update={"files": files, "workbook": workbook,
                                          "sheets": {}, "columns": {}, "encoding": "auto"})
    fields = {name: getattr(params, name) for name in DealParams.model_fields}
    fields["data"] = data
    return MonitorParams.model_construct(**fields)


def ingest_exports(params: DealParams, exports: str | Path, key: bytes):
    """Ingest and gate the exports; return the gate's result (tables are token-only)."""
    from valuation.ingest import read_exports
    from valuation.privacy.gate import run_gate

    mparams = monitor_params(params, exports)
    (params.work_dir / MONITOR_FOLDER).mkdir(parents=True, exist_ok=True)
    result = read_exports(mparams)
    return run_gate(result, mparams, key)
