"""Sensitivities of the transferable value: tornado, scenario grid, concentration.

Every point is a full re-valuation of the fitted base under changed
:class:`~valuation.value.assumptions.Assumptions` (no refit: the streams' expected revenue
per period is reused, only discounting, horizon, margin and the change-of-owner shock change;
a changed churn threshold refits the Kaplan-Meier retention curve).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from valuation.privacy.suppress import suppress_small_cells
from valuation.value.assumptions import Assumptions
from valuation.value.bridge import BridgeInputs, bridge_amounts

TORNADO_LABELS: dict[str, str] = {
    "annual_discount_rate": "discount rate",
    "gross_margin": "gross margin",
    "one_off_loss": "one-off loss at transfer",
    "horizon_years": "horizon (years)",
    "inactivity_days": "churn threshold (days inactive)",
}


def transferable_value(base, assumptions: Assumptions, inputs: BridgeInputs) -> float:
    """The bridge's final value for the fitted ``base`` under ``assumptions``."""
    values = base.value_arrays(assumptions)
    return bridge_amounts(values["clv"], values["clv_transferred"],
                          base.customers_["transferable"].to_numpy(bool), inputs)["final"]


def sensitivity_ranges(params, assumptions: Assumptions) -> dict[str, tuple[float, float]]:
    """Low/high of each tornado assumption from ``params.sensitivity`` (margin: +/- 10 points
    when not given, kept inside (0, 1])."""
    sens = params.sensitivity
    margin = sens.gross_margin or (max(assumptions.gross_margin - 0.10, 0.01),
                                   min(assumptions.gross_margin + 0.10, 1.0))
    return {
        "annual_discount_rate": tuple(map(float, sens.annual_discount_rate)),
        "gross_margin": tuple(map(float, margin)),
        "one_off_loss": tuple(map(float, sens.one_off_loss)),
        "horizon_years": tuple(map(float, sens.horizon_years)),
        "inactivity_days": tuple(map(int, sens.inactivity_days)),
    }


def tornado(value: Callable[[Assumptions], float], assumptions: Assumptions,
            ranges: dict[str, tuple[float, float]]) -> pd.DataFrame:
    """Value at the low and high end of each assumption, the others at base.

    Parameters
    ----------
    value : callable
        Assumptions -> transferable value.
    assumptions : Assumptions
        The base case.
    ranges : dict
        Assumption name -> (low, high).

    Returns
    -------
    DataFrame indexed by assumption with ``label, low, high, base_input, value_low,
    value_high, base_value, swing`` sorted by swing (widest first).
    """
    base_value = value(assumptions)
    rows = []
    for name, (low, high) in ranges.items():
        v_low = value(assumptions.replace(**{name: low}))
        v_high = value(assumptions.replace(**{name: high}))
        rows.append({"assumption": name, "label": TORNADO_LABELS.get(name, name),
                     "low": low, "high": high, "base_input": getattr(assumptions, name),
                     "value_low": v_low, "value_high": v_high, "base_value": base_value,
                     "swing": abs(v_high - v_low)})
    return pd.DataFrame(rows).set_index("assumption").sort_values("swing", ascending=False)


def scenario_grid(value: Callable[[Assumptions], float], assumptions: Assumptions,
                  losses: np.ndarray, rates: np.ndarray) -> pd.DataFrame:
    """Value for every (one-off loss, discount rate) pair.

    Returns
    -------
    DataFrame: index ``one_off_loss``, columns ``annual_discount_rate``.
    """
    grid = pd.DataFrame(index=pd.Index(np.round(losses, 4), name="one_off_loss"),
                        columns=pd.Index(np.round(rates, 4), name="annual_discount_rate"),
                        dtype=float)
    for loss in grid.index:
        for rate in grid.columns:
            grid.loc[loss, rate] = value(
                assumptions.replace(one_off_loss=float(loss), annual_discount_rate=float(rate)))
    return grid


def default_grid_axes(assumptions: Assumptions, ranges: dict) -> tuple[np.ndarray, np.ndarray]:
    """Five points across each sensitivity range, plus the base case."""
    lo, hi = ranges["one_off_loss"]
    losses = np.unique(np.append(np.linspace(lo, hi, 5), assumptions.one_off_loss))
    lo, hi = ranges["annual_discount_rate"]
    rates = np.unique(np.append(np.linspace(lo, hi, 5), assumptions.annual_discount_rate))
    return losses, rates


def concentration(values: pd.Series, customers: pd.DataFrame, *,
                  min_cell_size: int, segments: tuple[str, ...] = ("channel", "category",
                                                                     "city_tier")
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Share of value in the top 1% / 10% of customers, and per segment.

    Parameters
    ----------
    values : Series
        Per-customer value of the transferable base (e.g. ``clv_transferred`` of the
        transferable customers).
    customers : DataFrame
        Segment columns per customer token.
    min_cell_size : int
        Segments with fewer customers are suppressed (``params.privacy.min_cell_size``).

    Returns
    -------
    top : DataFrame indexed by ``top_1pct``, ``top_10pct`` with ``customers``, ``value``,
        ``share``.
    by_segment : DataFrame with ``dimension, segment, customers, value, share`` (small
        cells suppressed).
    """
    v = np.sort(values.to_numpy(float))[::-1]
    total = float(v.sum())
    rows = []
    for label, share in (("top_1pct", 0.01), ("top_10pct", 0.10)):
        k = max(1, int(np.ceil(share * len(v)))) if len(v) else 0
        top_value = float(v[:k].sum())
        rows.append({"group": label, "customers": k, "value": top_value,
                     "share": top_value / total if total > 0 else np.nan})
    top = pd.DataFrame(rows).set_index("group")
    frames = []
    joined = customers.reindex(values.index)
    for dim in segments:
        if dim not in joined:
            continue
        grouped = pd.DataFrame({"segment": joined[dim].astype("string").fillna("unknown"),
                                "value": values.to_numpy(float)})
        table = grouped.groupby("segment").agg(customers=("value", "size"),
                                                value=("value", "sum")).reset_index()
        table["share"] = table["value"] / total if total > 0 else np.nan
        table = suppress_small_cells(table, "customers", min_cell_size,
                                     value_columns=["value", "share"])
        table.insert(0, "dimension", dim)
        frames.append(table)
    by_segment = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return top, by_segment
