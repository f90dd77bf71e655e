"""The export scanner: finds personal identifiers in files before they are kept.

What counts as a finding: a *certain* detection of the one detector
(:mod:`~valuation.privacy.detect`), in any spelling it knows (full-width digits, zero-width
characters, separators, ``+86``, ``[at]``/``dot`` e-mails, labelled QQ and WeChat IDs): a
mainland mobile that is not a known dummy, an ID number whose check character is right, an
e-mail address, a labelled QQ number or WeChat ID. Every value is masked in the report.

File types (readers in :mod:`~valuation.privacy.scan_formats`)
--------------------------------------------------------------
``.txt .md .py .log .tex .yaml .toml`` as text; ``.html/.htm/.xml/.svg`` with entities
decoded and tags removed; ``.csv``, ``.json``, ``.jsonl`` (the processing log),
``.ipynb`` (every source, textual output and metadata), ``.parquet`` (distinct values per
column, streamed in batches), ``.xlsx``, ``.png`` (text chunks); folders recursively. Other
files are scanned as text when they decode as UTF-8 without NUL bytes; binary files
(PDF, JPEG) are not read.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from valuation.errors import InputError, LeakError
from valuation.privacy import scan_formats as formats
from valuation.privacy.scan_core import MAX_SHOWN, Finding, find_identifiers, scan_text
from valuation.privacy.scan_formats import PARQUET_SCAN_BATCH, read_text

__all__ = ["Finding", "PARQUET_SCAN_BATCH", "assert_clean", "find_identifiers", "leak_error",
           "scan_file", "scan_path", "scan_text"]

TEXT_SUFFIXES = frozenset({".txt", ".md", ".py", ".log", ".tex", ".yaml", ".yml", ".toml"})
HTML_SUFFIXES = frozenset({".html", ".htm", ".xml", ".svg"})
READERS = {".csv": formats.scan_csv, ".json": formats.scan_json, ".jsonl": formats.scan_jsonl,
           ".ipynb": formats.scan_notebook, ".parquet": formats.scan_parquet,
           ".xlsx": formats.scan_xlsx, ".png": formats.scan_png}
SCANNED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | frozenset(READERS)


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
        return formats.scan_html_text(read_text(path), file)
    if suffix in TEXT_SUFFIXES:
        return scan_text(read_text(path), file=file)
    if suffix in READERS:
        return READERS[suffix](path, file)
    if _looks_like_text(path):
        return scan_text(read_text(path), file=file)
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
