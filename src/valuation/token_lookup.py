"""Membership and positions of customer tokens, without turning Arrow text into Python objects.

The analysis tables keep text in Arrow buffers (``string[pyarrow]``). pandas' own
``Series.isin`` and ``Index.get_indexer`` on such columns build a Python object per value of
the value set or of the column; at 10^6 customers and 2 x 10^7 activity rows that costs
seconds and gigabytes. The two functions here hand the work to ``pyarrow.compute`` (one hash
table of the value set, one integer or boolean per row) and fall back to pandas for other
dtypes, so callers need not care which dtype they hold.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def _arrow_text(values: pd.Series | pd.Index | pd.api.extensions.ExtensionArray) -> pa.ChunkedArray | None:
    """The Arrow string data behind ``values``, or None when they are not Arrow-backed text."""
    array = values.array if isinstance(values, (pd.Series, pd.Index)) else values
    data = getattr(array, "_pa_array", None)
    if data is None or not (pa.types.is_string(data.type) or pa.types.is_large_string(data.type)):
        return None
    return data


def _value_set(values: Iterable, like: pa.DataType) -> pa.Array:
    """``values`` as an Arrow array of type ``like`` (missing values dropped)."""
    arrow = _arrow_text(values) if isinstance(values, (pd.Series, pd.Index)) else None
    if arrow is None:
        arrow = _arrow_text(pd.Series(list(values), dtype="string[pyarrow]"))
    arrow = arrow.combine_chunks() if isinstance(arrow, pa.ChunkedArray) else arrow
    return pc.drop_null(arrow).cast(like)


def tokens_in(tokens: pd.Series, allowed: Iterable) -> np.ndarray:
    """Boolean array: is each token one of ``allowed`` (missing tokens: False).

    Parameters
    ----------
    tokens : Series
        A token column (any dtype; fastest when Arrow-backed text).
    allowed : Series, Index, set or list of str

    Returns
    -------
    ndarray of bool, one per row of ``tokens``
    """
    data = _arrow_text(tokens)
    if data is None:
        return tokens.isin(list(allowed) if isinstance(allowed, set) else allowed).to_numpy(bool)
    hits = pc.is_in(data, value_set=_value_set(allowed, data.type))
    return hits.to_numpy(zero_copy_only=False).astype(bool, copy=False)


def token_positions(tokens: pd.Series, index: pd.Index) -> np.ndarray:
    """Position of each token in ``index`` (-1 where absent or missing), like
    ``index.get_indexer(tokens)`` for an index of unique tokens.

    Parameters
    ----------
    tokens : Series
        A token column.
    index : Index
        Unique tokens.

    Returns
    -------
    ndarray of int64, one per row of ``tokens``
    """
    data = _arrow_text(tokens)
    if data is None:
        return index.get_indexer(tokens)
    positions = pc.fill_null(pc.index_in(data, value_set=_value_set(index, data.type)), -1)
    return positions.to_numpy(zero_copy_only=False).astype("int64", copy=False)
