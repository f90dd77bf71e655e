"""Churn figures: Kaplan-Meier curves, the hazard-ratio forest, the cohort heatmap."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from valuation.errors import ReportError
from valuation.plots.style import (
    PALETTE,
    SERIES_COLORS,
    PlotStyle,
    require,
    resolve_style,
)

def km_curves(curves: pd.DataFrame, *, style: PlotStyle | None = None,
              title: str | None = None) -> Figure:
    """Kaplan-Meier survival curves by group, with confidence bands.

    Parameters
    ----------
    curves : DataFrame
        Long table as :func:`valuation.survival.kaplan_meier_curves` returns it: ``group``,
        ``days``, ``survival``; optional ``ci_lower`` and ``ci_upper`` (confidence band).
    style : PlotStyle, optional
    title : str, optional
        Overrides the default title (e.g. to name the segmenting variable).
    """
    require(curves, ("group", "days", "survival"), "Kaplan-Meier curves")
    style = resolve_style(style)
    labels = style.labels()
    with style.context():
        fig, ax = plt.subplots()
        for i, (group, part) in enumerate(curves.groupby("group", sort=True)):
            part = part.sort_values("days")
            color = SERIES_COLORS[i % len(SERIES_COLORS)]
            ax.step(part["days"], part["survival"], where="post", color=color,
                    label=str(group), linewidth=1.6)
            if {"ci_lower", "ci_upper"} <= set(part.columns):
                ax.fill_between(part["days"], part["ci_lower"], part["ci_upper"], step="post",
                                color=color, alpha=0.15, linewidth=0)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel(labels["days_since_first_purchase"])
        ax.set_ylabel(labels["share_still_active"])
        ax.set_title(title or labels["km_title"])
        ax.legend(loc="upper right", fontsize=9)
        fig.tight_layout()
    return fig


def hazard_forest(hazards: pd.DataFrame, *, style: PlotStyle | None = None) -> Figure:
    """Forest plot of hazard ratios with confidence intervals (log scale).

    Parameters
    ----------
    hazards : DataFrame
        ``ChurnModel.drivers_`` of :mod:`valuation.survival` (index = covariate,
        ``hazard_ratio``, ``hr_lower``, ``hr_upper``), or a lifelines ``CoxPHFitter.summary``
        (``exp(coef)``, ``exp(coef) lower 95%``, ``exp(coef) upper 95%``).
    style : PlotStyle, optional
    """
    frame = _hazard_table(hazards)
    style = resolve_style(style)
    labels = style.labels()
    frame = frame.sort_values("hazard_ratio")
    with style.context():
        fig, ax = plt.subplots(figsize=(8, 0.45 * len(frame) + 1.6))
        y = np.arange(len(frame))
        hr = frame["hazard_ratio"].to_numpy(dtype=float)
        colors = [PALETTE["negative"] if v > 1 else PALETTE["positive"] for v in hr]
        ax.errorbar(hr, y, xerr=[hr - frame["lower"].to_numpy(float),
                                 frame["upper"].to_numpy(float) - hr],
                    fmt="none", ecolor=PALETTE["neutral"], elinewidth=1.2, capsize=3)
        ax.scatter(hr, y, color=colors, zorder=3, s=36)
        ax.axvline(1.0, color="black", linewidth=1)
        ax.set_xscale("log")
        ax.set_yticks(y, frame["covariate"].astype(str))
        ax.set_xlabel(labels["hazard_ratio"])
        ax.set_title(labels["forest_title"])
        fig.tight_layout()
    return fig


def _hazard_table(hazards: pd.DataFrame) -> pd.DataFrame:
    for ratio, lower, upper in (("hazard_ratio", "hr_lower", "hr_upper"),
                                ("exp(coef)", "exp(coef) lower 95%", "exp(coef) upper 95%")):
        if {ratio, lower, upper} <= set(hazards.columns):
            names = hazards["covariate"] if "covariate" in hazards.columns else hazards.index
            frame = pd.DataFrame({
                "covariate": [str(i) for i in names],
                "hazard_ratio": hazards[ratio].to_numpy(float),
                "lower": hazards[lower].to_numpy(float),
                "upper": hazards[upper].to_numpy(float),
            })
            require(frame, ("covariate",), "hazard-ratio forest plot")
            return frame
    raise ReportError("hazard-ratio forest plot: expected columns hazard_ratio, hr_lower, "
                      "hr_upper (ChurnModel.drivers_) or a lifelines CoxPHFitter.summary")


def cohort_heatmap(retention: pd.DataFrame, *, style: PlotStyle | None = None) -> Figure:
    """Heatmap of the cohort retention matrix.

    Parameters
    ----------
    retention : DataFrame
        Index = signup cohort (e.g. month), columns = months since signup, values = share of
        the cohort still active (0..1); missing cells (not yet observed) stay blank.
    style : PlotStyle, optional
    """
    if retention.empty:
        raise ReportError("cohort heatmap: the retention matrix is empty; nothing to draw")
    style = resolve_style(style)
    labels = style.labels()
    values = retention.to_numpy(dtype=float)
    with style.context():
        height = min(9.0, 0.22 * len(retention) + 1.8)
        fig, ax = plt.subplots(figsize=(9, max(3.2, height)))
        image = ax.imshow(np.ma.masked_invalid(values), aspect="auto", cmap="Blues",
                          vmin=0, vmax=1, interpolation="nearest")
        ax.grid(False)
        step_y = max(1, len(retention) // 18)
        ax.set_yticks(range(0, len(retention), step_y),
                      [_period_label(x) for x in retention.index[::step_y]])
        step_x = max(1, len(retention.columns) // 16)
        ax.set_xticks(range(0, len(retention.columns), step_x),
                      [str(x) for x in retention.columns[::step_x]])
        ax.set_xlabel(labels["months_since_signup"])
        ax.set_ylabel(labels["signup_cohort"])
        ax.set_title(labels["cohort_title"])
        fig.colorbar(image, ax=ax, fraction=0.03, pad=0.02, label=labels["share_active"])
        fig.tight_layout()
    return fig


def _period_label(value: object) -> str:
    if isinstance(value, pd.Period):
        return str(value)
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        return pd.Timestamp(value).strftime("%Y-%m")
    return str(value)
