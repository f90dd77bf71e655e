"""The Cox / AFT design matrix of a survival table (treatment coding, ``name[level]`` columns)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from valuation.errors import ModelInputError

CATEGORICAL_COVARIATES: tuple[str, ...] = (
    "channel",
    "category",
    "age_band",
    "city_tier",
)
"""Categorical covariates of the survival table (missing values are the level ``unknown``)."""

NUMERIC_COVARIATES: tuple[str, ...] = ("first_order_value", "satisfaction", "minor")
"""Numeric covariates (``minor`` as 0/1; ``satisfaction`` mean-imputed with a missing flag)."""

DEFAULT_COVARIATES: tuple[str, ...] = (
    "channel",
    "category",
    "first_order_value",
    "satisfaction",
    "minor",
    "age_band",
    "city_tier",
)
"""Covariates of the default Cox / AFT model, in the order of the drivers table."""

MINOR_BAND = "<14"
"""The age band of ``minor`` customers (under 14 at signup)."""

DATA_AVAILABILITY_COLUMNS: tuple[str, ...] = ("satisfaction_missing",)
"""Design columns that flag missing data: a driver on them is a data-availability signal
(who left a score), not a behaviour."""


def design_matrix(
    table: pd.DataFrame,
    covariates: Sequence[str] = DEFAULT_COVARIATES,
    *,
    reference: Mapping[str, str] | None = None,
    levels: Mapping[str, Sequence[str]] | None = None,
    scale: Mapping[str, float] | None = None,
    impute: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Numeric covariates for Cox / AFT from a survival table.

    Categorical covariates become 0/1 columns named ``"<covariate>[<level>]"`` for every level
    but the reference (treatment coding). When ``minor`` is a covariate, the ``age_band``
    level ``"<14"`` gets no column of its own (it *is* ``minor``): pupils take 0 in every
    age-band column, as in the sample generator. Numeric covariates are divided by ``scale``;
    ``satisfaction`` is imputed with ``impute["satisfaction"]`` (default: its mean) and gets
    a ``satisfaction_missing`` indicator when any score is missing. ``minor`` is 0/1.

    Parameters
    ----------
    table : DataFrame
        From :func:`survival_table`.
    covariates : sequence of str
        Columns of ``table`` to use.
    reference : mapping, optional
        Reference level per categorical covariate; default the most frequent level
        (ties: alphabetical first).
    levels : mapping, optional
        The full level list per categorical covariate (e.g. those seen in training, so a
        test split gets the same columns); default the levels present in ``table``.
    scale : mapping, optional
        Divisor per numeric covariate (e.g. ``{"first_order_value": 10000}``).
    impute : mapping, optional
        Value used for missing numeric covariates; default the column mean.

    Returns
    -------
    DataFrame
        float64, same index as ``table``.
    """
    reference = dict(reference or {})
    has_minor = "minor" in covariates
    levels = dict(levels or {})
    scale = dict(scale or {})
    impute = dict(impute or {})
    parts: list[pd.Series] = []
    for covariate in covariates:
        if covariate not in table.columns:
            raise ModelInputError(
                f"covariate '{covariate}' is not a column of the survival table; "
                f"available: {', '.join(map(str, table.columns))}"
            )
        values = table[covariate]
        if covariate in NUMERIC_COVARIATES or pd.api.types.is_numeric_dtype(values):
            numeric = values.astype("float64")
            missing = numeric.isna()
            fill = impute.get(covariate, float(numeric.mean()) if (~missing).any() else 0.0)
            numeric = numeric.fillna(fill) / float(scale.get(covariate, 1.0))
            parts.append(numeric.rename(covariate))
            if covariate == "satisfaction" and (missing.any() or "satisfaction" in impute):
                parts.append(missing.astype("float64").rename("satisfaction_missing"))
            continue
        text = values.astype(str)
        all_levels = list(levels.get(covariate, sorted(text.unique())))
        ref = reference.get(covariate)
        if ref is None:
            counts = text.value_counts()
            ref = sorted(counts.index[counts == counts.max()])[0]
        for level in all_levels:
            if level == ref or (covariate == "age_band" and level == MINOR_BAND and has_minor):
                continue
            parts.append((text == level).astype("float64").rename(f"{covariate}[{level}]"))
    if not parts:
        return pd.DataFrame(index=table.index)
    return pd.concat(parts, axis=1)


def _redundant_columns(
    design: pd.DataFrame, tol: float = 1e-8, min_level_size: int = 0
) -> list[str]:
    """Columns that are constant, too rare, or a linear combination of earlier columns.

    A 0/1 column with fewer than ``min_level_size`` ones (or zeros) is dropped: a level of a
    handful of customers cannot be estimated (when they all churned on day 0 the likelihood
    has no maximum and Cox does not converge), and its customers count with the reference.

    A level present in every row, or dummies that add up to another column, would stop Cox
    from converging; the later column is dropped and listed in ``dropped_``.
    """
    x = design.to_numpy(dtype="float64")
    x = x - x.mean(axis=0)
    gram = x.T @ x
    kept: list[int] = []
    dropped: list[str] = []
    for j, column in enumerate(design.columns):
        if gram[j, j] <= tol * max(len(design), 1):
            dropped.append(column)
            continue
        values = design[column]
        if values.isin([0.0, 1.0]).all():
            ones = int(values.sum())
            if min(ones, len(values) - ones) < min_level_size:
                dropped.append(column)
                continue
        trial = [*kept, j]
        sub = gram[np.ix_(trial, trial)]
        scale = np.sqrt(np.diag(sub))
        corr = sub / np.outer(scale, scale)
        if np.linalg.eigvalsh(corr).min() < 1e-8:
            dropped.append(column)
        else:
            kept.append(j)
    return dropped


def _reference_levels(table: pd.DataFrame, covariates: Sequence[str]) -> dict[str, str]:
    refs = {}
    for covariate in covariates:
        if covariate in NUMERIC_COVARIATES or pd.api.types.is_numeric_dtype(table[covariate]):
            continue
        counts = table[covariate].astype(str).value_counts()
        refs[covariate] = sorted(counts.index[counts == counts.max()])[0]
    return refs

