"""Checks of a CSV's text that name the row and column: NUL bytes, byte-order marks in rows.

Both are refused (:class:`~valuation.errors.InputError`, exit 2) rather than cleaned: a NUL
byte means the export is damaged, and a byte-order mark inside the data usually means several
exports were joined, so rows (or a header) may be repeated. Only the user can say which.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa

from valuation.errors import InputError, Problem


def _find_byte(path: Path, needle: bytes) -> int:
    """Offset of the first ``needle`` in the file, or -1 (read in blocks)."""
    offset, tail = 0, b""
    with open(path, "rb") as handle:
        while block := handle.read(1 << 22):
            found = (tail + block).find(needle)
            if found >= 0:
                return offset - len(tail) + found
            tail = block[-(len(needle) - 1):] if len(needle) > 1 else b""
            offset += len(block)
    return -1


def _cell_at(path: Path, offset: int, encoding: str, delimiter: str,
             headers: list[str]) -> tuple[int, str | None]:
    """(row, header) of the cell holding byte ``offset`` (quoting ignored: a best guess)."""
    with open(path, "rb") as handle:
        before = handle.read(offset)
    row = before.count(b"\n") + 1
    line = before[before.rfind(b"\n") + 1:].decode(encoding, errors="replace")
    position = line.count(delimiter)
    return row, headers[position] if position < len(headers) else None


def check_nul(path: Path, encoding: str, delimiter: str, headers: list[str]) -> None:
    """Refuse a CSV holding a NUL byte anywhere, naming its row and column.

    NUL (U+0000) is never part of a real cell: it comes from a damaged export or a binary
    file, and it would cut the text short in many tools.
    """
    offset = _find_byte(path, b"\x00")
    if offset < 0:
        return
    row, column = _cell_at(path, offset, encoding, delimiter, headers)
    raise InputError([Problem(
        file=str(path), row=row, column=column, code="nul_byte",
        expected="text without NUL bytes (U+0000), which no real cell holds: the export "
                 f"is damaged at byte {offset:,}",
        action="Export the table again (or remove the NUL characters with a text editor)")])


def check_bom_in_rows(table: pa.Table, headers: list[str], rows: pd.Index,
                      path: Path) -> None:
    """Refuse a byte-order mark (U+FEFF) inside the data, naming its row and column.

    A BOM belongs only at the very start of a file; inside the data it usually means two
    exports were joined (``cat a.csv b.csv``), so a header or a whole file may be repeated.
    """
    import pyarrow.compute as pc

    problems = []
    for position, column in enumerate(table.columns):
        hits = pc.match_substring(column, "\ufeff")
        if not pc.any(hits).as_py():
            continue
        index = int(pc.index(hits, True).as_py())
        problems.append(Problem(
            file=str(path), row=int(rows[index]),
            column=headers[position] if position < len(headers) else None, code="bom_in_row",
            expected="no byte-order mark (U+FEFF) inside the data; it belongs only at the "
                     "start of a file, so the file looks like several exports joined together",
            action="Export the table again as one file, or remove the invisible U+FEFF "
                   "character (and any repeated header row) there"))
    if problems:
        raise InputError(problems)
