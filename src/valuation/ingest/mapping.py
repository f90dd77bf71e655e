"""Column mapping: an export's headers -> canonical column names of one table.

Params mappings (``data.columns.<table>``: export header -> canonical column) win over the
built-in aliases of :mod:`valuation.ingest.headers`. Headers are matched after
normalisation (full-width to half-width, case, spaces, underscores, brackets).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from valuation.errors import Problem
from valuation.ingest.headers import HEADER_ALIASES, alias_index, normalise_header
from valuation.tables import RAW_COLUMNS


@dataclass
class HeaderMap:
    """Where each canonical column is found in an export.

    Attributes
    ----------
    positions : dict of str -> int
        Canonical column -> position of its column in the file.
    headers : dict of str -> str
        Canonical column -> the header as written in the file.
    unmapped : list of str
        Headers the workbench does not use (ignored, reported as a warning).
    problems : list of Problem
        Duplicate headers, two headers for one column, bad params mappings.
    notes : list of str
        Params mappings that name a header the file does not have.
    """

    positions: dict[str, int] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    unmapped: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    duplicated: set[str] = field(default_factory=set)  # canonical columns of duplicate headers


def column_letter(position: int) -> str:
    """Spreadsheet letter of a 0-based column position: 0 -> A, 26 -> AA."""
    letters = ""
    position += 1
    while position:
        position, rest = divmod(position - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def accepted_headers(table: str, column: str) -> tuple[str, ...]:
    """The built-in headers accepted for a canonical column (canonical name first)."""
    return (column, *(a for a in HEADER_ALIASES[table].get(column, ()) if a != column))


def map_headers(
    headers: list[str],
    table: str,
    overrides: dict[str, str] | None = None,
    *,
    file: Path | str,
    sheet: str | None = None,
) -> HeaderMap:
    """Match an export's headers to the canonical columns of ``table``.

    Parameters
    ----------
    headers : list of str
        Headers as written, in file order.
    table : str
        Canonical table name (``customers``, ``orders``, ...).
    overrides : dict, optional
        Params mapping: export header -> canonical column.
    file, sheet : where the headers come from (for problems).

    Returns
    -------
    HeaderMap
    """
    result = HeaderMap()
    where = {"file": str(file), "sheet": sheet}
    allowed = RAW_COLUMNS[table]
    overrides = dict(overrides or {})
    for canonical in overrides.values():
        if canonical not in allowed:
            result.problems.append(Problem(
                **where, code="bad_mapping", value=canonical,
                expected=f"a column of table {table}: {', '.join(allowed)}",
                action=f"Fix data.columns.{table} in the params YAML."))
    by_exact = {k.strip(): v for k, v in overrides.items() if v in allowed}
    by_norm = {normalise_header(k): v for k, v in by_exact.items()}
    aliases = alias_index(table)

    counts = Counter(h for h in headers if h)
    for header, n in counts.items():
        if n > 1:
            canonical = by_exact.get(header) or aliases.get(normalise_header(header))
            if canonical:
                result.duplicated.add(canonical)
            cols = ", ".join(column_letter(i) for i, h in enumerate(headers) if h == header)
            result.problems.append(Problem(
                **where, code="duplicate_header", column=header, row=1,
                expected=f"each column header once, but it appears {n} times (columns {cols})",
                action="Rename or delete the extra column(s) and export again."))

    used_overrides: set[str] = set()
    candidates = [(i, h) for i, h in enumerate(headers) if h and counts[h] == 1]
    from_params: dict[int, str] = {}
    for position, header in candidates:
        canonical = by_exact.get(header) or by_norm.get(normalise_header(header))
        if canonical:
            from_params[position] = canonical
            used_overrides.add(canonical)
    for position, header in candidates:
        canonical = from_params.get(position)
        if canonical is None:
            canonical = aliases.get(normalise_header(header)) or aliases.get(
                normalise_header(header, drop_bracketed=True))
            if canonical in used_overrides:
                canonical = None  # the params mapping names another column for it
        if canonical is None:
            result.unmapped.append(header)
            continue
        if canonical in result.positions:
            first = result.headers[canonical]
            result.problems.append(Problem(
                **where, code="ambiguous_header", column=header, row=1,
                expected=f"one column for {table}.{canonical}, but both {first!r} and "
                         f"{header!r} match it",
                action=f"Map the right one in data.columns.{table} of the params YAML "
                       f"(e.g. {first!r}: {canonical}) or delete the other column."))
            continue
        result.positions[canonical] = position
        result.headers[canonical] = header
    for export_header, canonical in by_exact.items():
        if canonical not in used_overrides:
            result.notes.append(
                f"data.columns.{table} maps {export_header!r} but {Path(file).name} has no "
                f"such column")
    return result
