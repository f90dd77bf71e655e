"""Small-cell suppression for published tables (k-anonymity of aggregates).

A row that describes fewer than ``k`` customers (but at least one) has its values blanked.
Because a published or derivable total would let a reader recover a single blanked row by
subtraction, further rows are blanked (smallest first, *complementary suppression*) until at
least two rows are blanked and the blanked rows together describe at least ``k`` customers,
or nothing is left to blank. Rows of zero customers reveal no one and stay visible.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from valuation.errors import InputError

PRIMARY_NOTE = "fewer than {k} customers"
COMPLEMENTARY_NOTE = "blanked so that a total cannot reveal a small cell"


def suppress_small_cells(
    table: pd.DataFrame,
    count_column: str,
    k: int,
    *,
    value_columns: Sequence[str] | None = None,
    total_derivable: bool = True,
) -> pd.DataFrame:
    """Blank the values of rows describing fewer than ``k`` customers.

    Parameters
    ----------
    table : pd.DataFrame
        An aggregate table, one row per group, with the number of customers it describes.
    count_column : str
        The column holding that number.
    k : int
        Minimum cell size (``params.privacy.min_cell_size``, 5 by default).
    value_columns : sequence of str, optional
        Columns to blank; default every numeric column (labels stay readable).
    total_derivable : bool
        Whether a total over the rows is published or derivable; then complementary rows
        are blanked too.

    Returns
    -------
    pd.DataFrame
        A copy with blanked values set to NA, a ``suppressed`` boolean column, a
        ``suppression_note`` column (empty when not suppressed) and, in ``.attrs["note"]``,
        a sentence to print under the table.
    """
    if count_column not in table:
        raise InputError(f"suppress_small_cells: no column {count_column!r} in the table")
    if k < 1:
        raise InputError(f"suppress_small_cells: k must be at least 1, got {k}")
    counts = pd.to_numeric(table[count_column], errors="coerce").to_numpy(dtype=float)
    primary = (counts > 0) & (counts < k)
    suppressed = primary.copy()
    if total_derivable and primary.any():
        candidates = [i for i in np.argsort(counts, kind="stable")
                      if not suppressed[i] and counts[i] > 0]
        while candidates and (suppressed.sum() < 2 or counts[suppressed].sum() < k):
            suppressed[candidates.pop(0)] = True
    if value_columns is None:
        value_columns = [c for c in table.columns
                         if pd.api.types.is_numeric_dtype(table[c])
                         and not pd.api.types.is_bool_dtype(table[c])]
    if count_column not in value_columns:
        value_columns = [*value_columns, count_column]
    result = table.copy()
    for column in value_columns:
        if suppressed.any():
            if pd.api.types.is_integer_dtype(result[column]):
                result[column] = result[column].astype("Int64")
            elif not pd.api.types.is_float_dtype(result[column]):
                result[column] = result[column].astype("object")
            result.loc[suppressed, column] = pd.NA if result[column].dtype != float else np.nan
    notes = np.where(primary, PRIMARY_NOTE.format(k=k),
                     np.where(suppressed, COMPLEMENTARY_NOTE, ""))
    result["suppressed"] = suppressed
    result["suppression_note"] = notes
    n_primary, n_extra = int(primary.sum()), int(suppressed.sum() - primary.sum())
    note = ""
    if n_primary:
        note = (f"{n_primary} row(s) describing fewer than {k} customers are blanked to "
                "protect the people in them")
        note += (f"; {n_extra} more row(s) are blanked so that totals cannot reveal them."
                 if n_extra else ".")
    result.attrs["note"] = note
    return result
