"""Churn drivers with their uncertainty: intervals, multiple testing, out-of-time stability.

A Cox model of seven covariates tests a dozen or more hazard ratios at once; read one by one
at p < 0.05, a sample without any real effect shows a "driver" more often than not. A driver
is therefore **kept** (listed in the brief) only when all of these hold:

1. **significant after multiple testing**: its Benjamini-Hochberg adjusted p-value (``q``,
   over every coefficient of the model, :func:`scipy.stats.false_discovery_control`) is
   below ``q_threshold`` (0.05);
2. **stable out of time**: refitted on the *later cohort* (customers whose first purchase is
   after the median first purchase of the fitted customers, :func:`later_cohort`), its
   coefficient has the same sign and is significant on its own (two-sided p < 0.05). The
   later cohort is the part of the base a buyer inherits; an association that only the
   early customers carry is not a driver of the base being bought;
3. **a behaviour**, not a data-availability signal: a missing-value indicator such as
   ``satisfaction_missing`` ("no satisfaction score") says who left data, and customers who
   leave early have fewer chances to leave a score (reverse timing), so it is reported with
   the label ``data_availability`` and never as a driver.

Every hazard ratio is an **association** (customers were not assigned to channels or
scores), never a cause: the brief says so.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy.stats import false_discovery_control

from valuation.errors import ModelError
from valuation.survival.design import DATA_AVAILABILITY_COLUMNS

Q_THRESHOLD = 0.05
"""Benjamini-Hochberg level below which a hazard ratio counts as significant."""

LATE_P_THRESHOLD = 0.05
"""Two-sided p-value the later-cohort refit must reach for a driver to be stable."""


def bh_adjust(p: np.ndarray | pd.Series) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values); NaN p-values stay NaN."""
    values = np.asarray(p, dtype="float64")
    out = np.full(values.shape, np.nan)
    finite = np.isfinite(values)
    if finite.any():
        out[finite] = false_discovery_control(values[finite], method="bh")
    return out


def later_cohort(table: pd.DataFrame) -> np.ndarray | None:
    """Boolean mask of the later cohort: first purchase after the median first purchase.

    Returns ``None`` when the table has no ``first_purchase`` column (no out-of-time split
    is possible).
    """
    if "first_purchase" not in table.columns:
        return None
    first = table["first_purchase"].to_numpy(dtype="datetime64[ns]").view("int64")
    return first > np.median(first)


def kind_of(column: str) -> str:
    """``"data_availability"`` for a missing-value indicator, else ``"behaviour"``."""
    return "data_availability" if column in DATA_AVAILABILITY_COLUMNS else "behaviour"


def driver_table(
    summary: pd.DataFrame,
    late_summary: pd.DataFrame | None,
    *,
    alpha: float = 0.05,
    q_threshold: float = Q_THRESHOLD,
    late_p_threshold: float = LATE_P_THRESHOLD,
) -> pd.DataFrame:
    """The drivers table from a lifelines Cox summary and the later-cohort refit.

    Parameters
    ----------
    summary : DataFrame
        ``CoxPHFitter.summary`` of the model fitted on every observable customer.
    late_summary : DataFrame or None
        The same for the later cohort (``None``: no out-of-time refit was possible; no
        driver is then stable).
    alpha : float
        1 - confidence level of the intervals of ``summary``.

    Returns
    -------
    DataFrame
        Indexed by design column (``covariate``): ``coef``, ``se``, ``coef_lower``,
        ``coef_upper``, ``hazard_ratio``, ``hr_lower``, ``hr_upper``, ``p``, ``q`` (BH),
        ``late_coef``, ``late_p``, ``significant`` (q below the threshold), ``stable``,
        ``kind`` (``behaviour`` / ``data_availability``) and ``kept`` (listed as a driver).
    """
    level = int(round((1 - alpha) * 100))
    table = pd.DataFrame(
        {
            "coef": summary["coef"],
            "se": summary["se(coef)"],
            "coef_lower": summary[f"coef lower {level}%"],
            "coef_upper": summary[f"coef upper {level}%"],
            "hazard_ratio": summary["exp(coef)"],
            "hr_lower": summary[f"exp(coef) lower {level}%"],
            "hr_upper": summary[f"exp(coef) upper {level}%"],
            "p": summary["p"],
        }
    )
    table.index.name = "covariate"
    table["q"] = bh_adjust(table["p"])
    if late_summary is None:
        late_coef = pd.Series(np.nan, index=table.index)
        late_p = pd.Series(np.nan, index=table.index)
    else:
        late_coef = late_summary["coef"].reindex(table.index)
        late_p = late_summary["p"].reindex(table.index)
    table["late_coef"] = late_coef.to_numpy(dtype="float64")
    table["late_p"] = late_p.to_numpy(dtype="float64")
    table["significant"] = (table["q"] < q_threshold).to_numpy(dtype=bool)
    same_sign = np.sign(table["late_coef"]) == np.sign(table["coef"])
    table["stable"] = (same_sign & (table["late_p"] < late_p_threshold)).to_numpy(dtype=bool)
    table["kind"] = [kind_of(str(c)) for c in table.index]
    table["kept"] = table["significant"] & table["stable"] & (table["kind"] == "behaviour")
    return table


def refit_later_cohort(
    frame: pd.DataFrame,
    late: np.ndarray | None,
    fit: Callable[[pd.DataFrame], object],
    redundant: Callable[[pd.DataFrame], list[str]],
    columns: list[str],
) -> pd.DataFrame | None:
    """Cox summary of the later cohort's refit (columns constant or rare there left out).

    Returns ``None`` when there is no split, fewer than 10 later customers or 2 churn events,
    or the refit does not converge (then no driver is stable).
    """
    if late is None:
        return None
    part = frame.loc[late]
    if len(part) < 10 or part["event"].sum() < 2:
        return None
    skip = redundant(part[columns])
    keep = [c for c in columns if c not in skip]
    if not keep:
        return None
    try:
        return fit(part[[*keep, "duration", "event"]]).summary
    except ModelError:  # a non-converging refit means: not shown to be stable
        return None
