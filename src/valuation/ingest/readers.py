"""Readers: one export file (CSV, XLSX sheet or Parquet) -> a grid of raw cells.

A reader does not interpret cells: it returns a :class:`RawSheet` whose frame has one
column per position (duplicate headers survive), the headers as written, and an index
holding each data row's number as a user sees it in a spreadsheet (header = row 1).
Files are opened read-only and never written to. Anything that stops a file from being
read is an :class:`~valuation.errors.InputError` saying what to do.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from valuation.errors import InputError, Problem
from valuation.ingest.textchecks import check_bom_in_rows, check_nul

CSV_SUFFIXES = (".csv", ".txt", ".tsv")
EXCEL_SUFFIXES = (".xlsx", ".xlsm")
PARQUET_SUFFIXES = (".parquet", ".pq")
AUTO_ENCODINGS: tuple[str, ...] = ("utf-8", "gb18030")
"""Encodings tried, strictly and in order, when ``data.encoding`` is ``auto``."""

_SNIFF_BYTES = 1 << 16
_MAX_TEXT_NULS = 16
"""A file whose first 64 KiB hold NULs and more control bytes than this (and than 5% of
them) is binary; fewer NULs in text are a damaged export, reported by row and column."""
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "an Excel workbook or ZIP archive"),
    (b"\xd0\xcf\x11\xe0", "a legacy Excel .xls (or other Office) file"),
    (b"PAR1", "a Parquet file"),
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
)
_ARROW_TEXT = {pa.string(): pd.StringDtype("pyarrow"),
               pa.large_string(): pd.StringDtype("pyarrow")}
"""Arrow text types read as pyarrow-backed pandas strings (no Python object per cell)."""
_ENCODING_HINT = "set data.encoding in the params YAML (utf-8, utf-8-sig, gb18030 or gbk)"


@dataclass
class RawSheet:
    """The raw cells of one table in one file.

    Attributes
    ----------
    frame : DataFrame
        Columns are positions 0..n-1; the index is the spreadsheet row number.
    headers : list of str
        The header of each column as written in the file ("" when blank).
    broken_rows : dict of int -> str
        Rows that could not be split into cells (wrong number of fields), with the reason.
    encoding : str or None
        The text encoding used (CSV only).
    sha256 : str
        Hex SHA-256 of the file's bytes.
    """

    frame: pd.DataFrame
    headers: list[str]
    sha256: str
    broken_rows: dict[int, str] = field(default_factory=dict)
    encoding: str | None = None
    blank_lines: int = 0


def _fail(path: Path, expected: str, action: str, *, sheet: str | None = None,
          code: str = "file") -> InputError:
    return InputError([Problem(file=str(path), sheet=sheet, expected=expected, action=action,
                               code=code)])


def check_file(path: Path) -> None:
    """Raise :class:`InputError` unless ``path`` is an existing, non-empty regular file."""
    if not path.exists():
        raise _fail(path, "an existing file", "Check the path in the params YAML (data.files).",
                    code="missing_file")
    if path.is_dir():
        raise _fail(path, "a file, but this is a folder",
                    "Point data.files to the export file inside the folder.", code="directory")
    if path.stat().st_size == 0:
        raise _fail(path, "a file with a header row, but it is empty (0 bytes)",
                    "Export the table again; a table without data still needs its header row.",
                    code="empty_file")


# ---------------------------------------------------------------------------------------
# CSV
# ---------------------------------------------------------------------------------------
def _sniff_binary(path: Path, head: bytes) -> None:
    for magic, what in _MAGIC:
        if head.startswith(magic):
            raise _fail(path, f"CSV text, but this looks like {what}",
                        "Give the file its real extension (.xlsx, .parquet) or export the table "
                        "as CSV.", code="binary")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise _fail(path, "CSV text in UTF-8 or GB18030, but it is UTF-16",
                    "Save the file as 'CSV UTF-8' (Excel: Save As > CSV UTF-8).", code="encoding")
    controls = sum(head.count(bytes([c])) for c in range(32) if c not in (9, 10, 13))
    if b"\x00" in head and controls > max(_MAX_TEXT_NULS, len(head) // 20):
        # a binary file; a few NULs in text are reported by row and column (check_nul)
        raise _fail(path, "CSV text, but the file holds binary data (NUL bytes)",
                    "Check that this is the right file; export the table as CSV.", code="binary")


def _line_of(path: Path, offset: int) -> int:
    """1-based line number of a byte offset."""
    with open(path, "rb") as handle:
        return handle.read(offset).count(b"\n") + 1


def _strict_decode_ok(path: Path, encoding: str) -> tuple[bool, int, str]:
    """Decode the whole file strictly; return (ok, bad byte offset, sha256 hex)."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    digest = hashlib.sha256()
    offset = 0
    ok = True
    bad_at = -1
    with open(path, "rb") as handle:
        while block := handle.read(1 << 22):
            digest.update(block)
            if ok:
                try:
                    decoder.decode(block)
                except UnicodeDecodeError as exc:
                    ok, bad_at = False, offset + exc.start
            offset += len(block)
    if ok:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            ok, bad_at = False, offset
    return ok, bad_at, digest.hexdigest()


def detect_encoding(path: Path, encoding: str = "auto") -> tuple[str, str]:
    """Choose the text encoding of a CSV by strict decoding; return (encoding, sha256).

    ``auto`` tries UTF-8 (with or without BOM) then GB18030 (a superset of GBK). A given
    encoding is checked strictly too.

    Raises
    ------
    InputError
        When no encoding decodes the whole file, naming the encodings tried.
    """
    with open(path, "rb") as handle:
        head = handle.read(_SNIFF_BYTES)
    _sniff_binary(path, head)
    if encoding.lower() in ("auto", ""):
        candidates = AUTO_ENCODINGS
    else:
        try:
            info = codecs.lookup(encoding)
            if not getattr(info, "_is_text_encoding", True):  # rot13, base64, ...
                raise LookupError(encoding)
            candidates = (info.name,)
        except LookupError:
            raise _fail(path, f"a known text encoding, but data.encoding is {encoding!r}",
                        _ENCODING_HINT[0].upper() + _ENCODING_HINT[1:] + ", or auto.",
                        code="encoding") from None
    failures = []
    for candidate in candidates:
        ok, bad_at, sha = _strict_decode_ok(path, candidate)
        if ok:
            if candidate in ("utf-8", "utf_8") and head.startswith(codecs.BOM_UTF8):
                candidate = "utf-8-sig"
            return candidate, sha
        failures.append(f"{candidate} (fails at line {_line_of(path, bad_at)})")
    raise _fail(path, "text in one of the encodings tried: " + ", ".join(failures),
                "Re-export the table as UTF-8 CSV, or " + _ENCODING_HINT + ".",
                code="encoding")


def _first_record(path: Path, encoding: str) -> tuple[list[str], str]:
    """The header record of a CSV and its delimiter (sniffed among , tab ; |)."""
    with open(path, "rb") as handle:
        head = handle.read(_SNIFF_BYTES)
    text = head.decode(encoding, errors="ignore").lstrip("\ufeff")
    first_line = text.splitlines()[0] if text.splitlines() else ""
    if not first_line.strip():
        where = "the file holds only blank lines" if not text.strip() else "row 1 is blank"
        raise _fail(path, f"a header row in row 1, but {where}",
                    "Export the table again with its header in the first row.",
                    code="no_header")
    delimiter = max((",", "\t", ";", "|"), key=first_line.count)
    if first_line.count(delimiter) == 0:
        delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    record = next(csv.reader(io.StringIO(text), delimiter=delimiter))
    return [cell.strip() for cell in record], delimiter


def read_csv_raw(path: Path, encoding: str = "auto") -> RawSheet:
    """Read a CSV export into a :class:`RawSheet` of text cells (pyarrow, multi-threaded).

    Blank lines are kept as blank rows (so row numbers stay right); rows with a wrong
    number of fields are listed in ``broken_rows``. A NUL byte anywhere, or a byte-order
    mark inside the data, is an :class:`InputError` naming the row and column.
    """
    chosen, sha = detect_encoding(path, encoding)
    headers, delimiter = _first_record(path, chosen)
    check_nul(path, chosen, delimiter, headers)
    names = [f"c{i}" for i in range(len(headers))]
    arrow_encoding = "utf8" if chosen.replace("-", "_") in ("utf_8", "utf_8_sig") else chosen

    def read(use_threads: bool) -> tuple[pa.Table, list]:
        invalid: list = []

        def handler(row) -> str:  # called only for malformed rows
            invalid.append(row)
            return "skip"

        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(use_threads=use_threads, skip_rows=1,
                                           column_names=names, encoding=arrow_encoding),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True,
                                             ignore_empty_lines=False,
                                             invalid_row_handler=handler),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names}, strings_can_be_null=True,
                quoted_strings_can_be_null=True, null_values=[""]),
        )
        return table, invalid

    try:
        table, invalid = read(True)
        if invalid and any(row.number is None for row in invalid):
            table, invalid = read(False)  # single-threaded: the reader knows line numbers
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        reason = str(exc).split(":")[0].split("\n")[0]
        raise _fail(path, f"a well-formed CSV file ({reason})",
                    "Open the file in a spreadsheet program and save it again as CSV.",
                    code="csv") from None
    blank = [row for row in invalid if not (row.text or "").strip(" \t\r\n")]
    broken = [row for row in invalid if (row.text or "").strip(" \t\r\n")]
    skipped = sorted(row.number for row in invalid if row.number is not None)
    n = table.num_rows
    if skipped:
        lines: pd.Index = pd.Index(
            np.setdiff1d(np.arange(2, n + len(skipped) + 2), skipped)[:n], name="row")
    else:  # the common case: row numbers are a range, no 8-bytes-per-row index
        lines = pd.RangeIndex(2, n + 2, name="row")
    check_bom_in_rows(table, headers, lines, path)
    frame = table.to_pandas(types_mapper=_ARROW_TEXT.get, self_destruct=True)
    del table
    frame.columns = range(len(headers))
    frame.index = lines
    broken_rows = {
        int(row.number): f"{row.actual_columns} fields where the header has "
                         f"{row.expected_columns}"
        for row in broken
    }
    return RawSheet(frame=frame, headers=headers, sha256=sha, broken_rows=broken_rows,
                    encoding=chosen, blank_lines=len(blank))


# ---------------------------------------------------------------------------------------
# XLSX
# ---------------------------------------------------------------------------------------
def open_workbook(path: Path) -> pd.ExcelFile:
    """Open an XLSX workbook read-only (calamine: a fast Rust reader, ~8x openpyxl).

    Raises
    ------
    InputError
        For a legacy .xls, a file that is not a workbook, or a damaged one.
    """
    check_file(path)
    if path.suffix.lower() == ".xls":
        raise _fail(path, "an .xlsx workbook, but this is a legacy .xls file",
                    "Open it in Excel or WPS and save it as .xlsx (or export CSV).", code="xls")
    from python_calamine import CalamineError

    try:
        return pd.ExcelFile(path, engine="calamine")
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, CalamineError) as exc:
        kind = "it is damaged" if zipfile.is_zipfile(path) else (
            "it is not a ZIP-based workbook")
        raise _fail(path, f"an .xlsx workbook, but {kind}",
                    "Open it in Excel or WPS and save it again as .xlsx, or export CSV.",
                    code="xlsx") from None


def read_sheet_raw(workbook: pd.ExcelFile, path: Path, sheet: str, sha256: str) -> RawSheet:
    """Read one sheet of an open workbook into a :class:`RawSheet` of Python cell values.

    The header is the first non-blank row; row numbers are the sheet's own row numbers.
    """
    if sheet not in workbook.sheet_names:
        names = ", ".join(repr(s) for s in workbook.sheet_names)
        raise _fail(path, f"a sheet named {sheet!r}; the workbook has: {names}",
                    "Name the right sheet in the params YAML under data.sheets.", sheet=sheet,
                    code="missing_sheet")
    from python_calamine import CalamineError

    try:
        grid = workbook.parse(sheet, header=None, dtype=object)
    except (CalamineError, zipfile.BadZipFile, zlib.error, EOFError, KeyError, OSError,
            ValueError) as exc:
        raise _fail(path, f"a readable sheet, but its data is damaged ({type(exc).__name__})",
                    "Open the workbook in Excel or WPS and save it again as .xlsx, or export "
                    "the table as CSV.", sheet=sheet, code="xlsx") from None
    grid.index = pd.RangeIndex(1, len(grid) + 1)  # sheet row numbers
    filled = grid.notna().any(axis=1)
    if not filled.any():
        raise _fail(path, "a header row, but the sheet is empty",
                    "Export the table again with its header row.", sheet=sheet,
                    code="no_header")
    header_row = int(filled.idxmax())
    header_cells = grid.loc[header_row]
    data = grid.loc[header_row + 1:]
    keep = [c for c in grid.columns if pd.notna(header_cells[c]) or data[c].notna().any()]
    headers = ["" if pd.isna(header_cells[c]) else str(header_cells[c]).strip() for c in keep]
    frame = data[keep].copy()
    frame.columns = range(len(keep))
    frame.index.name = "row"
    return RawSheet(frame=frame, headers=headers, sha256=sha256)


# ---------------------------------------------------------------------------------------
# Parquet
# ---------------------------------------------------------------------------------------
def read_parquet_raw(path: Path, sha256: str) -> RawSheet:
    """Read a Parquet file; row numbers count the first record as row 2, as in a sheet."""
    try:
        table = pq.read_table(path)
        # text stays in Arrow buffers (pyarrow-backed strings), not one Python object per cell
        frame = table.to_pandas(types_mapper=_ARROW_TEXT.get, self_destruct=True)
    except (pa.ArrowException, OSError, ValueError):
        raise _fail(path, "a readable Parquet file", "Write the table again as Parquet or CSV.",
                    code="parquet") from None
    del table
    headers = [str(c).strip() for c in frame.columns]
    frame.columns = range(len(headers))
    frame.index = pd.RangeIndex(2, len(frame) + 2, name="row")
    return RawSheet(frame=frame, headers=headers, sha256=sha256)


def file_kind(path: Path) -> str:
    """``csv``, ``xlsx`` or ``parquet`` from the file extension.

    Raises
    ------
    InputError
        For an extension the workbench does not read.
    """
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        return "csv"
    if suffix in EXCEL_SUFFIXES or suffix == ".xls":
        return "xlsx"
    if suffix in PARQUET_SUFFIXES:
        return "parquet"
    raise _fail(path, f"a .csv, .xlsx or .parquet file, not {suffix or 'no extension'!r}",
                "Export the table as CSV (UTF-8) or XLSX.", code="extension")
