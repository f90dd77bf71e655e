"""Kaplan-Meier curves, median lifetimes and log-rank tests of a survival table.

Only the ``observable`` rows of the table enter (see :mod:`valuation.lifetime`): customers
whose first purchase is after ``as_of - inactivity_days`` cannot have a confirmed churn yet.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from lifelines import KaplanMeierFitter
from lifelines.statistics import multivariate_logrank_test, pairwise_logrank_test
from lifelines.utils import median_survival_times

from valuation.errors import ModelInputError
from valuation.lifetime import observable_rows


def _groups(table: pd.DataFrame, by: str | None, min_group_size: int) -> list[tuple[str, pd.DataFrame]]:
    """The observable rows of ``table``, whole or split by the column ``by``."""
    table = observable_rows(table)
    if by is None:
        return [("all", table)]
    if by not in table.columns:
        raise ModelInputError(f"segment column '{by}' is not in the survival table")
    groups = []
    for level, part in table.groupby(table[by].astype(str), sort=True):
        if len(part) >= min_group_size:
            groups.append((str(level), part))
    return groups


def kaplan_meier_curves(
    table: pd.DataFrame,
    by: str | None = None,
    *,
    alpha: float = 0.05,
    min_group_size: int = 1,
) -> pd.DataFrame:
    """Kaplan-Meier survival curves with confidence bands, overall or per segment.

    Parameters
    ----------
    table : DataFrame
        From :func:`survival_table`.
    by : str, optional
        Segment column (e.g. ``"channel"``); ``None`` for one overall curve.
    alpha : float
        1 - confidence level of the bands (lifelines' exponential Greenwood intervals).
    min_group_size : int
        Segments with fewer customers are left out (use ``params.privacy.min_cell_size``
        for publication).

    Returns
    -------
    DataFrame
        Long format: ``segment``, ``group``, ``days``, ``survival``, ``ci_lower``,
        ``ci_upper``, ``at_risk``.
    """
    frames = []
    for level, part in _groups(table, by, min_group_size):
        kmf = KaplanMeierFitter(alpha=alpha).fit(part["duration"], part["event"], label=level)
        ci = kmf.confidence_interval_survival_function_
        frame = pd.DataFrame(
            {
                "segment": by or "all",
                "group": level,
                "days": kmf.survival_function_.index.to_numpy(dtype="float64"),
                "survival": kmf.survival_function_.iloc[:, 0].to_numpy(),
                "ci_lower": ci.iloc[:, 0].to_numpy(),
                "ci_upper": ci.iloc[:, 1].to_numpy(),
                "at_risk": kmf.event_table["at_risk"].reindex(kmf.survival_function_.index)
                .to_numpy(dtype="int64"),
            }
        )
        frames.append(frame)
    columns = ["segment", "group", "days", "survival", "ci_lower", "ci_upper", "at_risk"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def median_lifetimes(
    table: pd.DataFrame,
    by: str | None = None,
    *,
    alpha: float = 0.05,
    min_group_size: int = 1,
) -> pd.DataFrame:
    """Median lifetime (days) from Kaplan-Meier, with its confidence interval, per segment.

    The median is ``inf`` when survival never falls to 50% within the observed window.

    Returns
    -------
    DataFrame
        ``segment``, ``group``, ``customers``, ``churned``, ``median_days``,
        ``median_ci_lower``, ``median_ci_upper``.
    """
    rows = []
    for level, part in _groups(table, by, min_group_size):
        kmf = KaplanMeierFitter(alpha=alpha).fit(part["duration"], part["event"], label=level)
        ci = median_survival_times(kmf.confidence_interval_)
        rows.append(
            {
                "segment": by or "all",
                "group": level,
                "customers": int(len(part)),
                "churned": int(part["event"].sum()),
                "median_days": float(kmf.median_survival_time_),
                "median_ci_lower": float(ci.iloc[0, 0]),
                "median_ci_upper": float(ci.iloc[0, 1]),
            }
        )
    return pd.DataFrame(rows)


def logrank_tests(
    table: pd.DataFrame, segments: Sequence[str], *, min_group_size: int = 1
) -> pd.DataFrame:
    """Multivariate log-rank test per segment column: do the groups' survival curves differ?

    Returns
    -------
    DataFrame
        One row per segment: ``segment``, ``groups``, ``test_statistic``, ``dof``, ``p``.
    """
    rows = []
    for segment in segments:
        kept = pd.concat([part for _, part in _groups(table, segment, min_group_size)] or [table.iloc[:0]])
        n_groups = kept[segment].astype(str).nunique() if len(kept) else 0
        if n_groups < 2:
            rows.append({"segment": segment, "groups": n_groups, "test_statistic": np.nan,
                         "dof": 0, "p": np.nan})
            continue
        result = multivariate_logrank_test(kept["duration"], kept[segment].astype(str), kept["event"])
        rows.append(
            {
                "segment": segment,
                "groups": int(n_groups),
                "test_statistic": float(result.test_statistic),
                "dof": int(result.degrees_of_freedom),
                "p": float(result.p_value),
            }
        )
    return pd.DataFrame(rows)


def pairwise_logrank(
    table: pd.DataFrame, segment: str, *, min_group_size: int = 1
) -> pd.DataFrame:
    """Pairwise log-rank tests between the groups of one segment column (no p correction).

    Returns
    -------
    DataFrame
        ``segment``, ``group_a``, ``group_b``, ``test_statistic``, ``p``.
    """
    kept = pd.concat([part for _, part in _groups(table, segment, min_group_size)] or [table.iloc[:0]])
    columns = ["segment", "group_a", "group_b", "test_statistic", "p"]
    if len(kept) == 0 or kept[segment].astype(str).nunique() < 2:
        return pd.DataFrame(columns=columns)
    result = pairwise_logrank_test(kept["duration"], kept[segment].astype(str), kept["event"])
    summary = result.summary.reset_index()
    summary.columns = ["group_a", "group_b", *summary.columns[2:]]
    summary.insert(0, "segment", segment)
    return summary[columns].reset_index(drop=True)

