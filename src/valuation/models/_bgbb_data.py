"""BG/BB data: input checks, grouping of identical histories, and a simulator."""

from __future__ import annotations

import numpy as np
import pandas as pd

from valuation.errors import ModelInputError
from valuation.models._grouping import group_rows
from valuation.models._inputs import as_array, mask_labels


def check_opportunities(
    frequency: object, recency: object, n_periods: object
) -> tuple[np.ndarray, np.ndarray, np.ndarray, pd.Index]:
    """Validate BG/BB inputs (integers, ``0 <= x <= t_x <= n``, ``t_x = 0`` iff ``x = 0``).

    Raises
    ------
    ModelInputError
        Naming the offending customers (masked) and what is expected.
    """
    x, index = as_array(frequency, "frequency")
    tx, _ = as_array(recency, "recency")
    n, _ = as_array(n_periods, "n_periods")
    if not (len(x) == len(tx) == len(n)):
        raise ModelInputError(
            f"frequency, recency and n_periods must have the same length, got {len(x)}, "
            f"{len(tx)}, {len(n)}.")
    if len(x) == 0:
        raise ModelInputError("No customers: frequency, recency and n_periods are empty.")
    if _all_valid(x, tx, n):
        return x, tx, n, index
    problems = []
    checks = [
        (~(np.isfinite(x) & np.isfinite(tx) & np.isfinite(n)), "have a missing value"),
        ((x != np.round(x)) | (tx != np.round(tx)) | (n != np.round(n)),
         "have a non-integer count (opportunities are counted in whole periods)"),
        ((x < 0) | (tx < 0) | (n < 0), "have a negative value"),
        (x > tx, "have frequency > recency (at most one transaction per opportunity)"),
        (tx > n, "have recency > n_periods"),
        ((x == 0) & (tx > 0), "have frequency 0 but recency > 0"),
        ((x > 0) & (tx == 0), "have frequency > 0 but recency 0"),
    ]
    for mask, why in checks:
        mask = np.asarray(mask, bool)
        if mask.any():
            problems.append(f"{int(mask.sum())} customer(s) {why}: "
                            f"{mask_labels(index[np.flatnonzero(mask)])}")
            break  # later checks assume the earlier ones passed
    if problems:
        raise ModelInputError(
            "Invalid BG/BB inputs:\n  - " + "\n  - ".join(problems) + "\nBuild them with "
            "valuation.features.opportunity_summary (one row per customer, counts of "
            "opportunities).")
    return x, tx, n, index


def _all_valid(x: np.ndarray, tx: np.ndarray, n: np.ndarray) -> bool:
    """Fast check of every rule of :func:`check_opportunities` at once (few passes)."""
    with np.errstate(invalid="ignore"):
        if not np.isfinite(x.sum() + tx.sum() + n.sum()):
            return False
        xi, ti, ni = (a.astype(np.int64) for a in (x, tx, n))
        if not (np.array_equal(xi, x) and np.array_equal(ti, tx) and np.array_equal(ni, n)):
            return False
        return bool(xi.min() >= 0 and np.all(xi <= ti) and np.all(ti <= ni)
                    and np.array_equal(xi == 0, ti == 0))


def _group_counts(x: np.ndarray, tx: np.ndarray, n: np.ndarray, w: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (x, t_x, n) rows with their summed weights (> 0).

    The counts are small integers, so one integer key ``x + m (t_x + m n)`` and a
    ``bincount`` group them (10x faster than hashing at 10^6 rows); long histories
    (more than 200 opportunities) go through :func:`group_rows`.
    """
    top = int(n.max()) + 1
    if top > 200:
        unique, counts = group_rows({"x": x, "tx": tx, "n": n}, w)
        return (*(unique[c].to_numpy(float) for c in ("x", "tx", "n")), counts)
    key = (x.astype(np.intp) + top * (tx.astype(np.intp) + top * n.astype(np.intp)))
    totals = np.bincount(key, weights=w, minlength=top**3)
    keys = np.flatnonzero(totals > 0)
    return (keys % top).astype(float), (keys // top % top).astype(float), \
        (keys // top**2).astype(float), totals[keys]


def group_integer_histories(frequency: object, recency: object, n_periods: object
                            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """Distinct (x, t_x, n) rows and their counts, straight from integer columns.

    The common case at scale (one row per customer, whole-number counts, no weights): the rules
    of :func:`check_opportunities` are checked on the integers and the rows grouped with one
    ``bincount``, without the copies of the general path. Returns None when the
    inputs are not all whole-number arrays of one length with at most 200 opportunities, or break
    a rule: the caller then takes the general path, which names the offending rows.
    """
    arrays = []
    for values in (frequency, recency, n_periods):
        raw = values.to_numpy() if isinstance(values, pd.Series) else np.asarray(values)
        if raw.ndim != 1 or raw.dtype.kind not in "iuf":
            return None
        if raw.dtype.kind == "f":  # whole numbers written as floats (NaN fails the check)
            with np.errstate(invalid="ignore"):
                as_int = raw.astype(np.intp)
            if not np.array_equal(as_int, raw):
                return None
            raw = as_int
        arrays.append(raw)
    x, tx, n = arrays
    if not (len(x) == len(tx) == len(n)) or len(x) == 0:
        return None
    top = int(n.max()) + 1
    if top > 200 or x.min() < 0 or not (np.all(x <= tx) and np.all(tx <= n)
                                          and np.array_equal(x == 0, tx == 0)):
        return None
    key = x.astype(np.intp, copy=False) + top * (tx.astype(np.intp, copy=False)
                                                 + top * n.astype(np.intp, copy=False))
    totals = np.bincount(key, minlength=top**3)
    keys = np.flatnonzero(totals)
    return (keys % top).astype(float), (keys // top % top).astype(float), \
        (keys // top**2).astype(float), totals[keys].astype(float)


def simulate_bgbb(params: dict[str, float] | pd.Series, n_periods: np.ndarray,
                  rng: np.random.Generator) -> pd.DataFrame:
    """Simulate BG/BB histories (frequency, recency, n_periods) for the given opportunities.

    Each customer draws ``p ~ Beta(alpha, beta)``, ``theta ~ Beta(gamma, delta)``; she is
    alive at opportunity k with probability ``(1 - theta)^k`` (death before an opportunity)
    and, alive, transacts with probability p.
    """
    n = np.asarray(n_periods, dtype=np.intp)
    size = len(n)
    p = rng.beta(params["alpha"], params["beta"], size)
    theta = rng.beta(params["gamma"], params["delta"], size)
    life = rng.geometric(theta) - 1  # opportunities survived after the first
    top = int(n.max()) if size else 0
    k = np.arange(1, top + 1)[None, :]
    buys = (rng.random((size, top)) < p[:, None]) & (k <= np.minimum(life, n)[:, None])
    freq = buys.sum(axis=1)
    recency = np.where(freq > 0, top - np.argmax(buys[:, ::-1], axis=1), 0)
    return pd.DataFrame({"frequency": freq.astype(float), "recency": recency.astype(float),
                         "n_periods": n.astype(float)})
