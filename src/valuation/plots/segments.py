"""Model validation, segments and activity figures: tracking, CLV by tier, monthly activity."""

from __future__ import annotations

import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from valuation.plots.style import (
    PALETTE,
    PlotStyle,
    money_axis,
    require,
    resolve_style,
)

def tracking_plot(
    tracking: pd.DataFrame,
    *,
    calibration_end: object | None = None,
    cumulative: bool = True,
    style: PlotStyle | None = None,
) -> Figure:
    """Actual vs model-predicted repeat transactions over time (calibration and holdout).

    Parameters
    ----------
    tracking : DataFrame
        Columns ``period``, ``actual``, ``predicted`` (transactions per period).
    calibration_end : date-like or period, optional
        Drawn as a vertical line separating calibration and holdout.
    cumulative : bool
        Plot cumulative sums (the usual view in the literature).
    style : PlotStyle, optional
    """
    require(tracking, ("period", "actual", "predicted"), "tracking plot")
    style = resolve_style(style)
    labels = style.labels()
    frame = tracking.sort_values("period")
    x = frame["period"]
    if isinstance(x.dtype, pd.PeriodDtype):
        x = x.dt.to_timestamp()
    actual = frame["actual"].astype(float)
    predicted = frame["predicted"].astype(float)
    if cumulative:
        actual, predicted = actual.cumsum(), predicted.cumsum()
    with style.context():
        fig, ax = plt.subplots()
        ax.plot(x, actual, color=PALETTE["primary"], linewidth=1.8, label=labels["actual"])
        ax.plot(x, predicted, color=PALETTE["accent"], linewidth=1.8, linestyle="--",
                label=labels["predicted"])
        if calibration_end is not None:
            marker = calibration_end
            if isinstance(marker, pd.Period):
                marker = marker.to_timestamp()
            elif not isinstance(marker, (int, float, np.number)):
                marker = pd.Timestamp(marker)
            ax.axvline(marker, color=PALETTE["neutral"], linestyle=":", linewidth=1.2)
            ax.annotate(labels["holdout_starts"], (marker, ax.get_ylim()[1]), ha="left",
                        va="top", fontsize=9, xytext=(4, -2), textcoords="offset points")
        ax.set_xlabel(labels["period"])
        ax.set_ylabel(labels["cum_transactions"] if cumulative else labels["transactions"])
        ax.set_title(labels["tracking_title"])
        ax.legend(loc="upper left")
        fig.autofmt_xdate()
        fig.tight_layout()
    return fig


def clv_by_tier(tiers: pd.DataFrame, *, style: PlotStyle | None = None) -> Figure:
    """CLV by value tier: total CLV (bars) and share of customers vs share of value.

    Parameters
    ----------
    tiers : DataFrame
        Columns ``tier``, ``customers``, ``clv_total`` (CNY); order of rows is kept.
    style : PlotStyle, optional
    """
    require(tiers, ("tier", "customers", "clv_total"), "CLV by tier")
    style = resolve_style(style)
    labels = style.labels()
    names = tiers["tier"].astype(str).tolist()
    customers = tiers["customers"].to_numpy(dtype=float)
    clv = tiers["clv_total"].to_numpy(dtype=float)
    with style.context():
        fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2))
        left.bar(names, clv, color=PALETTE["primary"])
        left.set_ylabel(labels["clv_total_cny"])
        left.set_title(labels["clv_tier_title"])
        money_axis(left, style.lang)
        x = np.arange(len(names))
        width = 0.38
        total_c = customers.sum() or 1.0
        total_v = clv.sum() or 1.0
        right.bar(x - width / 2, customers / total_c, width, color=PALETTE["light"],
                  edgecolor=PALETTE["primary"], label=labels["share_customers"])
        right.bar(x + width / 2, clv / total_v, width, color=PALETTE["accent"],
                  label=labels["share_value"])
        right.set_xticks(x, names)
        right.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
        right.set_title(labels["concentration_title"])
        right.legend(loc="upper left")
        fig.tight_layout()
    return fig


def activity_panel(panel: pd.DataFrame, *, style: PlotStyle | None = None) -> Figure:
    """Monthly active customers split into new, returning and (negative) lapsed.

    Parameters
    ----------
    panel : DataFrame
        As :func:`valuation.activity.monthly_activity_panel` returns it: indexed by ``month``
        (or a ``month`` column), columns ``new``, ``returning``, optional ``retained``
        (stacked with returning) and ``lapsed``.
    style : PlotStyle, optional
    """
    frame = panel.reset_index() if "month" not in panel.columns else panel.copy()
    require(frame, ("month", "new", "returning"), "activity panel")
    style = resolve_style(style)
    labels = style.labels()
    frame = frame.sort_values("month")
    if "retained" in frame.columns:
        frame["returning"] = frame["returning"] + frame["retained"]
    x = frame["month"]
    if isinstance(x.dtype, pd.PeriodDtype):
        x = x.dt.to_timestamp()
    x = pd.to_datetime(x)
    with style.context():
        fig, ax = plt.subplots()
        width = 25
        ax.bar(x, frame["returning"], width=width, color=PALETTE["primary"],
               label=labels["returning"])
        ax.bar(x, frame["new"], width=width, bottom=frame["returning"],
               color=PALETTE["accent"], label=labels["new"])
        if "lapsed" in frame.columns:
            ax.bar(x, -frame["lapsed"].abs(), width=width, color=PALETTE["neutral"],
                   label=labels["lapsed"])
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_ylabel(labels["customers"])
        ax.set_title(labels["activity_title"])
        ax.legend(loc="upper left")
        fig.autofmt_xdate()
        fig.tight_layout()
    return fig
