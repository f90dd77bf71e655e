"""Problems of an export, ready to show: row lists shortened, many of a kind summed up.

Every problem of a file is collected before anything is raised (lazy reporting); these
helpers keep the message readable when a column holds thousands of bad cells.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from valuation.errors import Problem

DETAILED_PER_KIND = 50
"""Problems kept in full per (file, column, kind); the rest are summed in one line."""

REASONS: dict[str, str] = {
    "money": "not an amount",
    "number": "not a number",
    "datetime64[ns]": "not a date",
    "boolean": "not yes/no",
    "int64": "not a whole number",
}
"""Short reasons of a quarantined row, by the kind of value expected."""


def rows_text(rows: list[int] | np.ndarray, limit: int = 10) -> str:
    rows = [int(r) for r in rows]
    shown = ", ".join(str(r) for r in rows[:limit])
    return shown + (f" and {len(rows) - limit} more" if len(rows) > limit else "")


def cap_problems(problems: list[Problem]) -> list[Problem]:
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
                         f"{rows_text([p.row for p in rest if p.row is not None])})",
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


def short_reason(code: str) -> str:
    kind = code.removeprefix("not_")
    if kind in REASONS:
        return REASONS[kind]
    return {"blank_required": "required value missing", "duplicate_key": "duplicate key",
            "out_of_range": "out of range", "unknown_value": "unknown value",
            "broken_row": "wrong number of fields"}.get(code, code.replace("_", " "))
