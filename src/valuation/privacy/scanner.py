"""The export scanner: finds personal identifiers in files before they are kept.

What counts as a finding
------------------------
* a mainland mobile (``1[3-9]`` + 9 digits; +86/0086 prefix and 3-4-4 spaces or dashes
  allowed), except the known dummy numbers (13800000000...), which identify nobody;
* an 18-character ID number whose MOD 11-2 check character is right, with a province-level
  first digit (1-8) and a birth year in 19xx/20xx; a 15-digit legacy number with a real
  YYMMDD birth date;
* an e-mail address whose top-level domain is not a file extension (``logo@2x.png`` is not).

A number glued to letters or digits (order numbers, 32-hex tokens, longer digit runs) or
following ``digit.`` (decimals) is not a finding. Every value is masked in the report.

File types
----------
``.txt .md .py .log .html/.htm .csv .json .jsonl .ipynb .parquet .xlsx`` and folders
(recursively). A notebook is read cell by cell: every source, every output (stream text,
every textual MIME type including ``text/plain``, ``text/html``, ``application/json`` and
SVG, error tracebacks) and every metadata field (image alt text lives there or in the
HTML). Binary payloads (PNG/JPEG base64, PDF) cannot be read and are not scanned. Files of
another type are scanned as text when they decode as UTF-8 without NUL bytes.
"""

from __future__ import annotations

import bisect
import csv
import html
import io
import json
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from valuation.errors import InputError, LeakError
from valuation.privacy.identifiers import id_check_digit, is_dummy_mobile
from valuation.privacy.masking import mask_identifier
from valuation.privacy.patterns import EMAIL_IN_TEXT, ID15_IN_TEXT, ID18_IN_TEXT, MOBILE_IN_TEXT

TEXT_SUFFIXES = frozenset({".txt", ".md", ".py", ".log", ".tex", ".yaml", ".yml", ".toml"})
HTML_SUFFIXES = frozenset({".html", ".htm", ".xml", ".svg"})
SCANNED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | frozenset(
    {".csv", ".json", ".jsonl", ".ipynb", ".parquet", ".xlsx"}
)
FILE_EXTENSION_TLDS = frozenset(
    {"png", "jpg", "jpeg", "gif", "svg", "webp", "bmp", "ico", "js", "mjs", "css", "py",
     "ipynb", "html", "htm", "json", "csv", "txt", "md", "pdf", "parquet", "xlsx", "map"}
)
_TEXT_MIME_EXTRA = frozenset({"application/json", "application/javascript", "image/svg+xml"})
MAX_SHOWN = 20


@dataclass(frozen=True)
class Finding:
    """One personal identifier found in a file.

    Attributes
    ----------
    file : str
        The file (as given to the scanner).
    location : str
        Where in it: ``line 12``, ``cell 3 output 1 (text/html) line 4``,
        ``row 7, column 'text'``, ``$.customers[2].note``...
    kind : str
        ``mobile``, ``id_number`` or ``email``.
    value : str
        The value, masked (``138****5678``).
    """

    file: str
    location: str
    kind: str
    value: str

    def __str__(self) -> str:
        return f"{self.file}: {self.location}: {self.kind} {self.value}"


# ---------------------------------------------------------------------------------------
# text
# ---------------------------------------------------------------------------------------
def _id18_ok(raw: str) -> bool:
    value = unicodedata.normalize("NFKC", raw).upper()
    if value[0] not in "12345678" or value[6:8] not in ("19", "20"):
        return False
    return id_check_digit(value[:17]) == value[17]


def _id15_ok(raw: str) -> bool:
    value = unicodedata.normalize("NFKC", raw)
    if value[0] not in "12345678":
        return False
    birth = pd.to_datetime("19" + value[6:12], format="%Y%m%d", errors="coerce")
    return not pd.isna(birth)


def find_identifiers(text: str) -> list[tuple[int, str, str]]:
    """Every identifier in ``text`` as ``(offset, kind, raw value)``, in text order."""
    found: list[tuple[int, str, str]] = []
    taken: list[tuple[int, int]] = []
    if "@" in text or "＠" in text:
        for match in EMAIL_IN_TEXT.finditer(text):
            tld = match.group(1).rsplit(".", 1)[-1].lower()
            if tld not in FILE_EXTENSION_TLDS:
                found.append((match.start(1), "email", match.group(1)))
                taken.append(match.span(1))
    for pattern, check in ((ID18_IN_TEXT, _id18_ok), (ID15_IN_TEXT, _id15_ok)):
        for match in pattern.finditer(text):
            if check(match.group(1)):
                found.append((match.start(1), "id_number", match.group(1)))
    for match in MOBILE_IN_TEXT.finditer(text):
        start, end = match.span(1)
        if any(a <= start and end <= b for a, b in taken):
            continue
        digits = unicodedata.normalize("NFKC", match.group(1))
        if not is_dummy_mobile(digits):
            found.append((start, "mobile", match.group(1)))
    return sorted(found)


def _has_digit_or_at(text: str) -> bool:
    return any(ch.isdigit() or ch in "@＠" for ch in text)


def scan_text(text: str, *, file: str = "<text>", where: str = "") -> list[Finding]:
    """Find identifiers in a text; locations are ``line N`` (after the ``where`` prefix).

    Parameters
    ----------
    text : str
        The text to scan.
    file : str
        Name to report the findings under.
    where : str
        Prefix of every location (e.g. ``"cell 3 source, "``).

    Returns
    -------
    list of Finding

    Examples
    --------
    >>> [str(f) for f in scan_text("ok\\ncall 13812345678")]
    ['<text>: line 2: mobile 138****5678']
    """
    if not text or not _has_digit_or_at(text):
        return []
    hits = find_identifiers(text)
    if not hits:
        return []
    newlines = [i for i, ch in enumerate(text) if ch == "\n"]
    return [
        Finding(file, f"{where}line {bisect.bisect_right(newlines, offset) + 1}", kind,
                mask_identifier(kind, raw))
        for offset, kind, raw in hits
    ]


def _scan_value(value: str, file: str, location: str) -> list[Finding]:
    if not value or not _has_digit_or_at(value):
        return []
    return [Finding(file, location, kind, mask_identifier(kind, raw))
            for _, kind, raw in find_identifiers(value)]


def _scan_strings(values: list[str], file: str,
                  locations: list[str] | Callable[[int], str]) -> list[Finding]:
    """Scan many short strings in one pass (joined with NUL, mapped back by offset).

    ``locations`` gives the location of value ``i``: a list, or a function called only for
    values with a finding (cheap for columns of a million cells).
    """
    if not values:
        return []
    joined = "\x00".join(v.replace("\x00", " ") for v in values)
    if not _has_digit_or_at(joined):
        return []
    starts = np.cumsum([0] + [len(v) + 1 for v in values[:-1]])
    where = locations.__getitem__ if isinstance(locations, list) else locations
    findings = []
    for offset, kind, raw in find_identifiers(joined):
        index = int(np.searchsorted(starts, offset, side="right") - 1)
        findings.append(Finding(file, where(index), kind, mask_identifier(kind, raw)))
    return findings


# ---------------------------------------------------------------------------------------
# structured files
# ---------------------------------------------------------------------------------------
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
        findings += _scan_value(text, file, f"{prefix}{path}")
    return findings


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("utf-8", errors="replace")


def _scan_html_text(text: str, file: str, where: str = "") -> list[Finding]:
    lines = text.split("\n")
    return scan_text("\n".join(html.unescape(line).replace("\n", " ") for line in lines),
                     file=file, where=where)


def _scan_csv(path: Path, file: str) -> list[Finding]:
    reader = csv.reader(io.StringIO(_read_text(path), newline=""))
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
    return _scan_strings(values, file, locations)


def _scan_json(path: Path, file: str) -> list[Finding]:
    text = _read_text(path)
    try:
        return _scan_json_node(json.loads(text), file)
    except json.JSONDecodeError:
        return scan_text(text, file=file)


def _scan_jsonl(path: Path, file: str) -> list[Finding]:
    findings: list[Finding] = []
    for number, line in enumerate(_read_text(path).split("\n"), start=1):
        if not line.strip():
            continue
        try:
            findings += _scan_json_node(json.loads(line), file, prefix=f"line {number}, ")
        except json.JSONDecodeError:
            findings += _scan_value(line, file, f"line {number}")
    return findings


def _joined(source: str | list[str]) -> str:
    return "".join(source) if isinstance(source, list) else str(source)


def _is_text_mime(mime: str) -> bool:
    return mime.startswith("text/") or mime in _TEXT_MIME_EXTRA or mime.endswith("+json")


def _scan_notebook(path: Path, file: str) -> list[Finding]:
    try:
        notebook = json.loads(_read_text(path))
    except json.JSONDecodeError:
        return scan_text(_read_text(path), file=file)
    findings = _scan_json_node(notebook.get("metadata", {}), file, prefix="notebook metadata ")
    for c, cell in enumerate(notebook.get("cells", []), start=1):
        kind = cell.get("cell_type", "cell")
        findings += scan_text(_joined(cell.get("source", "")), file=file,
                              where=f"cell {c} ({kind}) source, ")
        findings += _scan_json_node(cell.get("metadata", {}), file, prefix=f"cell {c} metadata ")
        for name, bundle in (cell.get("attachments") or {}).items():
            findings += _scan_value(name, file, f"cell {c} attachment name")
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
                    findings += _scan_value(str(output[field]), file, f"{where} {field}")
            if "traceback" in output:
                findings += scan_text("\n".join(output["traceback"]), file=file,
                                      where=f"{where} traceback, ")
            for mime, content in (output.get("data") or {}).items():
                if mime == "application/json" or mime.endswith("+json"):
                    findings += _scan_json_node(content, file, prefix=f"{where} ({mime}) ")
                elif mime in ("text/html", "image/svg+xml"):
                    findings += _scan_html_text(_joined(content), file, f"{where} ({mime}), ")
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
    return _scan_strings(
        [str(u) for u in uniques], file,
        lambda i: f"{where}row {rows[i] + 1}, column {name!r}",
    )


def _frame_findings(frame: pd.DataFrame, file: str, where: str = "") -> list[Finding]:
    """Scan every cell of a DataFrame that could hold an identifier (row numbers 1-based)."""
    frame = frame.reset_index(drop=True)
    findings = _scan_strings([str(c) for c in frame.columns], file,
                             [f"{where}header, column {i + 1}" for i in range(frame.shape[1])])
    for name in frame.columns:
        findings += _column_findings(frame[name], name, file, where)
    return findings


PARQUET_SCAN_BATCH = 500_000
"""Distinct values of a Parquet text column turned into Python strings at a time (10^7
distinct order numbers would otherwise be 10^7 Python objects at once)."""


def _scan_parquet(path: Path, file: str) -> list[Finding]:
    """Scan a Parquet file one column at a time; text columns by their distinct values in
    Arrow form (a column of 10^7 cells never becomes 10^7 Python objects)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(path)
    schema = parquet.schema_arrow
    findings: list[Finding] = []
    for key, value in (schema.metadata or {}).items():
        findings += _scan_value(value.decode("utf-8", errors="replace"), file,
                                f"metadata {key.decode('utf-8', errors='replace')}")
    findings += _scan_strings(list(schema.names), file,
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
                findings += _scan_strings(
                    values, file,
                    lambda i, c=column, v=values, n=name:
                        f"row {pc.index(c, v[i]).as_py() + 1}, column {n!r}",
                )
                del values
        elif pa.types.is_integer(kind) or pa.types.is_floating(kind):
            findings += _column_findings(column.to_pandas(), name, file)
    return findings


def _scan_xlsx(path: Path, file: str) -> list[Finding]:
    sheets = pd.read_excel(path, sheet_name=None, header=None, dtype=object)
    findings: list[Finding] = []
    for sheet, frame in sheets.items():
        findings += _frame_findings(frame.reset_index(drop=True), file, where=f"sheet {sheet!r} ")
    return findings


def _looks_like_text(path: Path) -> bool:
    with open(path, "rb") as handle:
        head = handle.read(8192)
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start > len(head) - 4  # a multi-byte character cut at the edge
    return True


def scan_file(path: str | Path, *, file_type: str | None = None,
              display: str | None = None) -> list[Finding]:
    """Scan one file.

    Parameters
    ----------
    path : str or Path
        The file.
    file_type : str, optional
        Its type as a suffix (``".parquet"``) when the name does not say it (temporary
        files of an atomic write).
    display : str, optional
        The name findings are reported under (default: ``path``).

    Returns
    -------
    list of Finding
        Empty when the file is clean or of a type that cannot be read (binary).
    """
    path = Path(path)
    file = display or str(path)
    suffix = (file_type or path.suffix).lower()
    if suffix in HTML_SUFFIXES:
        return _scan_html_text(_read_text(path), file)
    if suffix in TEXT_SUFFIXES:
        return scan_text(_read_text(path), file=file)
    readers = {".csv": _scan_csv, ".json": _scan_json, ".jsonl": _scan_jsonl,
               ".ipynb": _scan_notebook, ".parquet": _scan_parquet, ".xlsx": _scan_xlsx}
    if suffix in readers:
        return readers[suffix](path, file)
    if _looks_like_text(path):
        return scan_text(_read_text(path), file=file)
    return []


def scan_path(path: str | Path) -> list[Finding]:
    """Scan a file, or every file in a folder recursively (sorted, so reports are stable).

    Raises
    ------
    InputError
        When the path does not exist.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file or folder to scan")
    if path.is_file():
        return scan_file(path)
    findings: list[Finding] = []
    for child in sorted(p for p in path.rglob("*") if p.is_file()):
        findings += scan_file(child)
    return findings


def leak_error(findings: list[Finding], *, kept: bool = False) -> LeakError:
    """A :class:`LeakError` listing the (masked) findings, capped at :data:`MAX_SHOWN`."""
    files = sorted({f.file for f in findings})
    lines = [f"  - {f}" for f in findings[:MAX_SHOWN]]
    if len(findings) > MAX_SHOWN:
        lines.append(f"  ... and {len(findings) - MAX_SHOWN} more")
    fate = "" if kept else " The output was not kept."
    return LeakError(
        f"personal data found in {len(files)} file(s), {len(findings)} place(s) (values "
        f"masked):\n" + "\n".join(lines) + f"\n{fate.strip()} Remove the personal data at its "
        "source (drop the column, aggregate, or redact the text) and run again."
    )


def assert_clean(paths: Iterable[str | Path]) -> None:
    """Raise :class:`LeakError` naming every file and location (masked) with personal data.

    Parameters
    ----------
    paths : iterable of str or Path
        Files or folders.
    """
    findings: list[Finding] = []
    for path in paths:
        findings += scan_path(path)
    if findings:
        raise leak_error(findings, kept=True)
