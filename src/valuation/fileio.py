"""Safe file writing: every output is written atomically; CSV cells cannot be formulas.

A file is written to a temporary sibling and moved into place with :func:`os.replace`, so a
failed run never leaves a half-written file and earlier outputs stay intact. Tables written
as CSV for people to open pass through :func:`neutralise_csv_frame` first.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | Path, *, mode: int | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; move it into place if the block succeeds.

    The file gets ``mode`` (e.g. ``0o600`` for the analysis dataset), by default the mode a
    new file gets under the user's umask.

    Examples
    --------
    >>> with atomic_path("out/results.json") as tmp:  # doctest: +SKIP
    ...     tmp.write_text("{}")
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        if tmp.exists():  # mkstemp makes 0600 files: give them the mode asked for
            os.chmod(tmp, mode if mode is not None else 0o666 & ~_current_umask())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write UTF-8 text to ``path`` atomically and return the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_bytes_atomic(path: str | Path, data: bytes) -> Path:
    """Write bytes to ``path`` atomically and return the path."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


CSV_TRIGGERS: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a CSV cell as a formula (CSV injection)."""
_PLAIN_NUMBER = re.compile(r"[+-]?(\d[\d,]*)?(\.\d+)?([eE][+-]?\d+)?")


def neutralise_csv_cell(value: object) -> object:
    """A CSV cell that no spreadsheet will run as a formula (OWASP "CSV injection").

    Text starting with ``= + - @``, a tab or a carriage return gets a leading apostrophe
    (Excel, WPS and LibreOffice then show it as text); numbers, and text that is a plain
    number such as ``-12.5`` or ``+8613800000000``, are kept as they are.

    Examples
    --------
    >>> neutralise_csv_cell("=HYPERLINK(\\"http://x\\")")
    '\\'=HYPERLINK("http://x")'
    >>> neutralise_csv_cell("-12.5"), neutralise_csv_cell(-3), neutralise_csv_cell("abc")
    ('-12.5', -3, 'abc')
    """
    if not isinstance(value, str) or not value.startswith(CSV_TRIGGERS):
        return value
    if any(ch.isdigit() for ch in value) and _PLAIN_NUMBER.fullmatch(value):
        return value
    return "'" + value


def neutralise_csv_frame(frame: "pd.DataFrame") -> "pd.DataFrame":
    """A copy of ``frame`` whose text cells (and column names) are neutralised for CSV.

    Use it on every table written as CSV for people to open (handover files, portfolio).
    """
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or str(out[column].dtype).startswith("string"):
            out[column] = out[column].map(neutralise_csv_cell, na_action="ignore")
    out.columns = [neutralise_csv_cell(c) for c in out.columns]
    return out
