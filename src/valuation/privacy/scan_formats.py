"""Readers of every file format the workbench writes, for the scanner.

Each ``scan_*`` function reads one format and hands its texts to
:mod:`~valuation.privacy.scan_core` with a location: CSV by row and column, JSON by path,
JSON Lines by line and path, notebooks cell by cell (sources, every textual output,
metadata, attachments), Parquet column by column (text columns by their distinct values,
in batches, never one Python object per cell), XLSX sheet by sheet, HTML/SVG/XML with
entities decoded and tags removed, PNG by its text chunks (``tEXt``, ``zTXt``, ``iTXt``:
titles, descriptions, software, comments). Pixels are not read: text drawn into an image is
a known limit (``docs/privacy.md``).
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
import struct
import zlib
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd

from valuation.privacy.scan_core import Finding, scan_strings, scan_text, scan_value

_TEXT_MIME_EXTRA = frozenset({"application/json", "application/javascript", "image/svg+xml"})
_TAG = re.compile(r"<[^<>]*>")


def read_text(path: Path) -> str:
    """The text of a file: UTF-8 (with or without BOM), else GB18030, else UTF-8 lossy."""
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("utf-8", errors="replace")


def scan_html_text(text: str, file: str, where: str = "") -> list[Finding]:
    """Scan markup twice: entities decoded with the tags (attributes such as ``alt`` and
    ``title``), and entities decoded with each tag replaced by a space
    (``138<b>1234</b>5678``)."""
    findings = scan_text(html.unescape(text), file=file, where=where)
    stripped = "\n".join(html.unescape(_TAG.sub(" ", line)) for line in text.split("\n"))
    seen = {(f.location, f.kind, f.value) for f in findings}
    for finding in scan_text(stripped, file=file, where=where):
        if (finding.location, finding.kind, finding.value) not in seen:
            findings.append(finding)
    return findings


def png_text_chunks(path: Path) -> Iterator[tuple[str, str]]:
    """``(keyword, text)`` of every ``tEXt``, ``zTXt`` and ``iTXt`` chunk of a PNG."""
    data = path.read_bytes()
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return
    position = 8
    while position + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        chunk = data[position + 8:position + 8 + length]
        position += 12 + length
        try:
            if kind == b"tEXt":
                key, _, text = chunk.partition(b"\x00")
                yield key.decode("latin-1"), text.decode("latin-1")
            elif kind == b"zTXt":
                key, _, rest = chunk.partition(b"\x00")
                yield key.decode("latin-1"), zlib.decompress(rest[1:]).decode("latin-1")
            elif kind == b"iTXt":
                key, _, rest = chunk.partition(b"\x00")
                compressed, rest = rest[0], rest[2:]
                _language, _, rest = rest.partition(b"\x00")
                translated, _, text = rest.partition(b"\x00")
                text = zlib.decompress(text) if compressed else text
                yield key.decode("latin-1"), (translated + b" " + text).decode("utf-8", "replace")
        except (zlib.error, IndexError):
            yield kind.decode("latin-1"), chunk.decode("utf-8", errors="replace")
        if kind == b"IEND":
            return


def scan_png(path: Path, file: str) -> list[Finding]:
    """Scan the text chunks of a PNG (metadata written by matplotlib or an editor)."""
    findings: list[Finding] = []
    for key, text in png_text_chunks(path):
        findings += scan_value(key, file, "PNG text chunk keyword")
        findings += scan_text(text, file=file, where=f"PNG text chunk {key!r}, ")
    return findings


def _walk_json(node: Any, path: str = "$") -> Iterator[tuple[str, str]]:
    """Yield ``(json path, text)`` for every key and scalar of a JSON document."""
    if isinstance(node, dict):
        for key, value in node.items():
            child = f"{path}.{key}"
            yield f"{child} (key)", str(key)
            yield from _walk_json(value, child)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk_json(value, f"{path}[{i}]")
    elif node is not None and not isinstance(node, bool):
        yield path, str(node)


def _scan_json_node(node: Any, file: str, prefix: str = "") -> list[Finding]:
    findings: list[Finding] = []
    for path, text in _walk_json(node):
        findings += scan_value(text, file, f"{prefix}{path}")
    return findings


def scan_csv(path: Path, file: str) -> list[Finding]:
    reader = csv.reader(io.StringIO(read_text(path), newline=""))
    header: list[str] = []
    values: list[str] = []
    locations: list[str] = []
    for row_number, row in enumerate(reader, start=1):
        if row_number == 1:
            header = row
            values += row
            locations += [f"row 1 (header), column {i + 1}" for i in range(len(row))]
            continue
        for i, cell in enumerate(row):
            if cell:
                name = header[i] if i < len(header) else str(i + 1)
                values.append(cell)
                locations.append(f"row {row_number}, column {name!r}")
    return scan_strings(values, file, locations)


def scan_json(path: Path, file: str) -> list[Finding]:
    text = read_text(path)
    try:
        return _scan_json_node(json.loads(text), file)
    except json.JSONDecodeError:
        return scan_text(text, file=file)


def scan_jsonl(path: Path, file: str) -> list[Finding]:
    findings: list[Finding] = []
    for number, line in enumerate(read_text(path).split("\n"), start=1):
        if not line.strip():
            continue
        try:
            findings += _scan_json_node(json.loads(line), file, prefix=f"line {number}, ")
        except json.JSONDecodeError:
            findings += scan_value(line, file, f"line {number}")
    return findings


def _joined(source: str | list[str]) -> str:
    return "".join(source) if isinstance(source, list) else str(source)


def _is_text_mime(mime: str) -> bool:
    return mime.startswith("text/") or mime in _TEXT_MIME_EXTRA or mime.endswith("+json")


def scan_notebook(path: Path, file: str) -> list[Finding]:
    try:
        notebook = json.loads(read_text(path))
    except json.JSONDecodeError:
        return scan_text(read_text(path), file=file)
    findings = _scan_json_node(notebook.get("metadata", {}), file, prefix="notebook metadata ")
    for c, cell in enumerate(notebook.get("cells", []), start=1):
        kind = cell.get("cell_type", "cell")
        findings += scan_text(_joined(cell.get("source", "")), file=file,
                              where=f"cell {c} ({kind}) source, ")
        findings += _scan_json_node(cell.get("metadata", {}), file, prefix=f"cell {c} metadata ")
        for name, bundle in (cell.get("attachments") or {}).items():
            findings += scan_value(name, file, f"cell {c} attachment name")
            for mime, content in bundle.items():
                if _is_text_mime(mime):
                    findings += scan_text(_joined(content), file=file,
                                          where=f"cell {c} attachment {mime}, ")
        for o, output in enumerate(cell.get("outputs", []), start=1):
            where = f"cell {c} output {o}"
            if "text" in output:
                findings += scan_text(_joined(output["text"]), file=file, where=f"{where}, ")
            for field in ("ename", "evalue"):
                if field in output:
                    findings += scan_value(str(output[field]), file, f"{where} {field}")
            if "traceback" in output:
                findings += scan_text("\n".join(output["traceback"]), file=file,
                                      where=f"{where} traceback, ")
            for mime, content in (output.get("data") or {}).items():
                if mime == "application/json" or mime.endswith("+json"):
                    findings += _scan_json_node(content, file, prefix=f"{where} ({mime}) ")
                elif mime in ("text/html", "image/svg+xml"):
                    findings += scan_html_text(_joined(content), file, f"{where} ({mime}), ")
                elif _is_text_mime(mime):
                    findings += scan_text(_joined(content), file=file, where=f"{where} ({mime}), ")
            findings += _scan_json_node(output.get("metadata", {}), file,
                                        prefix=f"{where} metadata ")
    return findings


def _column_findings(column: pd.Series, name: object, file: str,
                     where: str = "") -> list[Finding]:
    """Scan one column's distinct values (row numbers 1-based, from the column's index)."""
    if pd.api.types.is_bool_dtype(column) or pd.api.types.is_datetime64_any_dtype(column):
        return []
    if pd.api.types.is_integer_dtype(column):
        column = column[column.abs() >= 10**9].astype("Int64").astype("string")
    elif pd.api.types.is_float_dtype(column):
        numbers = column[(column.abs() >= 1e9) & (column.abs() < 1e16)]
        column = numbers[numbers == np.floor(numbers)].astype("Int64").astype("string")
    else:
        column = column.dropna()
        if column.dtype == object:
            column = column[~column.map(lambda v: isinstance(v, (bytes, bytearray)))]
        column = column.astype(str)
    if column.empty:
        return []
    codes, uniques = pd.factorize(column)
    first = np.full(len(uniques), len(codes), dtype=np.int64)
    np.minimum.at(first, codes, np.arange(len(codes)))
    rows = column.index.to_numpy()[first]
    return scan_strings(
        [str(u) for u in uniques], file,
        lambda i: f"{where}row {rows[i] + 1}, column {name!r}",
    )


def _frame_findings(frame: pd.DataFrame, file: str, where: str = "") -> list[Finding]:
    """Scan every cell of a DataFrame that could hold an identifier (row numbers 1-based)."""
    frame = frame.reset_index(drop=True)
    findings = scan_strings([str(c) for c in frame.columns], file,
                             [f"{where}header, column {i + 1}" for i in range(frame.shape[1])])
    for name in frame.columns:
        findings += _column_findings(frame[name], name, file, where)
    return findings


PARQUET_SCAN_BATCH = 500_000
"""Distinct values of a Parquet text column turned into Python strings at a time (10^7
distinct order numbers would otherwise be 10^7 Python objects at once)."""


def scan_parquet(path: Path, file: str) -> list[Finding]:
    """Scan a Parquet file one column at a time; text columns by their distinct values in
    Arrow form (a column of 10^7 cells never becomes 10^7 Python objects)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(path)
    schema = parquet.schema_arrow
    findings: list[Finding] = []
    for key, value in (schema.metadata or {}).items():
        findings += scan_value(value.decode("utf-8", errors="replace"), file,
                                f"metadata {key.decode('utf-8', errors='replace')}")
    findings += scan_strings(list(schema.names), file,
                              [f"header, column {i + 1}" for i in range(len(schema.names))])
    for name in schema.names:
        column = parquet.read(columns=[name]).column(name)
        kind = column.type
        if pa.types.is_dictionary(kind):
            column, kind = column.cast(kind.value_type), kind.value_type
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            uniques = pc.unique(column.drop_null())
            for start in range(0, len(uniques), PARQUET_SCAN_BATCH):
                values = uniques.slice(start, PARQUET_SCAN_BATCH).to_pylist()
                findings += scan_strings(
                    values, file,
                    lambda i, c=column, v=values, n=name:
                        f"row {pc.index(c, v[i]).as_py() + 1}, column {n!r}",
                )
                del values
        elif pa.types.is_integer(kind) or pa.types.is_floating(kind):
            findings += _column_findings(column.to_pandas(), name, file)
    return findings


def scan_xlsx(path: Path, file: str) -> list[Finding]:
    sheets = pd.read_excel(path, sheet_name=None, header=None, dtype=object)
    findings: list[Finding] = []
    for sheet, frame in sheets.items():
        findings += _frame_findings(frame.reset_index(drop=True), file, where=f"sheet {sheet!r} ")
    return findings


