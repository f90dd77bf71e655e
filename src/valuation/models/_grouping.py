"""Grouping identical rows with weights (and deciding whether grouping pays off)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

def group_rows(columns: dict[str, np.ndarray], weights: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    """Collapse identical rows into one with the summed weight.

    Each column is hashed to integer codes with :func:`pandas.factorize`, the codes are
    combined into one integer key (re-factorised whenever the combined range could
    overflow), and the weights are summed per key (a pandas groupby on one integer key:
    hashing, no sort, about 3x faster than grouping on the float columns themselves).

    Parameters
    ----------
    columns : dict of name -> 1-D array
        The columns whose identical combinations are grouped.
    weights : ndarray
        One weight per input row.

    Returns
    -------
    unique : DataFrame
        One row per distinct combination with positive total weight (columns as given),
        in order of first appearance.
    counts : ndarray
        The summed weight of each distinct row.
    """
    key = np.zeros(len(weights), dtype=np.int64)
    size = 1
    for values in columns.values():
        codes, uniques = pd.factorize(values, sort=False)
        if size * max(len(uniques), 1) >= 2**62:
            key, kept = pd.factorize(key, sort=False)
            size = len(kept)
        key = key * len(uniques) + codes
        size *= max(len(uniques), 1)
    key, _ = pd.factorize(key, sort=False)
    totals = pd.Series(weights, copy=False).groupby(key, sort=False).sum()
    first = pd.Series(np.arange(len(key))).groupby(key, sort=False).first()
    positive = totals.to_numpy() > 0
    rows = first.to_numpy()[positive]
    unique = pd.DataFrame({name: np.asarray(values)[rows] for name, values in columns.items()})
    return unique, totals.to_numpy(dtype=float)[positive]


def _row_hashes(columns: Sequence[np.ndarray]) -> np.ndarray:
    """A 64-bit hash of each row of float columns (multiply-xorshift of the bit patterns)."""
    h = np.zeros(len(columns[0]), dtype=np.uint64)
    for values in columns:
        bits = np.ascontiguousarray(values, dtype=float).view(np.uint64)
        with np.errstate(over="ignore"):
            h ^= bits
            h *= np.uint64(0x9E3779B97F4A7C15)
            h ^= h >> np.uint64(29)
    return h


def duplicate_share(columns: dict[str, np.ndarray], sample: int = 2_000, seed: int = 0) -> float:
    """Estimated share of the rows that :func:`group_rows` would remove (0 = all distinct).

    The share is ``(rows - distinct rows) / rows``, the mean of ``1 - 1 / c`` over the
    rows, ``c`` the number of rows identical to a row. It is estimated on a fixed-seed
    sample of ``sample`` rows, each counted against all rows by a 64-bit row hash (one
    vectorised pass, no sort); exact when there are at most ``2 * sample`` rows. Only
    the choice to group depends on it, never the fit.
    """
    hashes = _row_hashes(list(columns.values()))
    n = len(hashes)
    if n <= 2 * sample:
        return 1.0 - len(np.unique(hashes)) / n if n else 0.0
    rows = np.random.default_rng(seed).choice(n, size=sample, replace=False)
    picked, inverse = np.unique(hashes[rows], return_inverse=True)
    # a bitmap of the sampled hashes' low 20 bits keeps ~0.2% of the other rows as candidates
    low = np.uint64(2**20 - 1)
    bitmap = np.zeros(2**20, dtype=bool)
    bitmap[(picked & low).astype(np.intp)] = True
    candidates = hashes[bitmap[(hashes & low).astype(np.intp)]]
    hits = pd.Index(picked).get_indexer(candidates)
    copies = np.bincount(hits[hits >= 0], minlength=len(picked))
    return float(np.mean(1.0 - 1.0 / copies[inverse]))


def subsample_rows(n_rows: int, size: int = 20_000, seed: int = 0) -> np.ndarray | None:
    """Row positions of a fixed-seed random subsample for a warm start (None if small)."""
    if n_rows <= 2 * size:
        return None
    return np.sort(np.random.default_rng(seed).choice(n_rows, size=size, replace=False))
