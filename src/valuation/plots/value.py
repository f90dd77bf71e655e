"""Valuation figures: the value bridge, the range of the equity value, the tornado."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from valuation.errors import ReportError
from valuation.plots.style import (
    PALETTE,
    PlotStyle,
    money_axis,
    money_label,
    require,
    resolve_style,
)

def value_bridge(steps: pd.DataFrame, *, style: PlotStyle | None = None) -> Figure:
    """Waterfall from gross customer equity to the value of the transferable base.

    Parameters
    ----------
    steps : DataFrame
        Columns ``label`` and ``value`` (CNY), in order. The first row is the starting
        total; the following rows are signed adjustments. A final total bar is added,
        equal to the sum of all rows.
    style : PlotStyle, optional

    Returns
    -------
    Figure
    """
    require(steps, ("label", "value"), "value bridge")
    style = resolve_style(style)
    labels = style.labels()
    values = steps["value"].astype(float).to_numpy()
    names = [str(x) for x in steps["label"]] + [labels["bridge_total"]]
    with style.context():
        fig, ax = plt.subplots(figsize=(9, 4.8))
        running = 0.0
        for i, value in enumerate(values):
            if i == 0:
                bottom, height, color = 0.0, value, PALETTE["primary"]
            else:
                bottom = running if value >= 0 else running + value
                height = abs(value)
                color = PALETTE["positive"] if value >= 0 else PALETTE["negative"]
            ax.bar(i, height, bottom=bottom, color=color, width=0.65)
            ax.annotate(money_label(value, style.lang), (i, bottom + height), ha="center", va="bottom",
                        fontsize=9, xytext=(0, 2), textcoords="offset points")
            if i > 0:
                ax.plot([i - 1 + 0.33, i - 0.33], [running, running], color=PALETTE["neutral"],
                        linewidth=0.8)
            running += value
        end = len(values)
        ax.bar(end, running, color=PALETTE["accent"], width=0.65)
        ax.annotate(money_label(running, style.lang), (end, running), ha="center", va="bottom", fontsize=9,
                    xytext=(0, 2), textcoords="offset points")
        ax.set_xticks(range(len(names)), names, rotation=20, ha="right")
        ax.set_ylabel(labels["cny"])
        ax.set_title(labels["bridge_title"])
        money_axis(ax, style.lang)
        fig.tight_layout()
    return fig


def value_range(
    samples: Sequence[float] | np.ndarray,
    *,
    point: float | None = None,
    asking_price: float | None = None,
    style: PlotStyle | None = None,
) -> Figure:
    """Distribution of the equity value (bootstrap replicates) with P10 / P50 / P90.

    Parameters
    ----------
    samples : array-like
        Replicates of the equity value (CNY).
    point : float, optional
        The point estimate, drawn as a solid line.
    asking_price : float, optional
        The counterparty's asking price, drawn as a dashed line; when it lies far outside
        the distribution it is marked with an arrow at the edge instead, so the
        distribution keeps the width of the figure.
    style : PlotStyle, optional
    """
    values = np.asarray(samples, dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        raise ReportError("value range: no finite replicate values to draw")
    style = resolve_style(style)
    labels = style.labels()
    p10, p50, p90 = np.percentile(values, [10, 50, 90])
    low, high = float(values.min()), float(values.max())
    pad = max(high - low, abs(p50) * 0.02, 1.0) * 0.15
    # an asking price far outside the range is marked at the edge, so the distribution
    # keeps the width of the figure instead of shrinking into a corner
    asking_inside = asking_price is not None and low - 4 * pad <= asking_price <= high + 4 * pad
    with style.context():
        fig, ax = plt.subplots()
        ax.hist(values, bins=min(40, max(10, values.size // 5)), color=PALETTE["light"],
                edgecolor=PALETTE["primary"], linewidth=0.6)
        if point is not None:
            ax.axvline(point, color=PALETTE["accent"], linewidth=1.6,
                       label=f"{labels['point_estimate']} {money_label(point, style.lang)}")
        if asking_inside:
            ax.axvline(asking_price, color=PALETTE["negative"], linestyle="--", linewidth=1.4,
                       label=f"{labels['asking_price']} {money_label(asking_price, style.lang)}")
        left = min(low - pad, point - pad if point is not None else low - pad,
                   asking_price - pad if asking_inside else low - pad)
        right = max(high + pad, point + pad if point is not None else high + pad,
                    asking_price + pad if asking_inside else high + pad)
        ax.set_xlim(left, right)
        top = ax.get_ylim()[1] * 1.18
        ax.set_ylim(0, top)
        for q, name, align in ((p10, "P10", "right"), (p50, "P50", "center"),
                               (p90, "P90", "left")):
            ax.axvline(q, color=PALETTE["primary"], linestyle=":", linewidth=1.2)
            ax.annotate(f"{name} {money_label(q, style.lang)}", (q, top), ha=align, va="top", fontsize=9,
                        xytext={"right": (-3, -2), "center": (0, -16), "left": (3, -2)}[align],
                        textcoords="offset points")
        if asking_price is not None and not asking_inside:
            above = asking_price > high
            edge = right if above else left
            ax.annotate(
                f"{labels['asking_price']} {money_label(asking_price, style.lang)} " + ("→" if above else "←"),
                (edge, top * 0.55), ha="right" if above else "left", va="center", fontsize=9,
                color=PALETTE["negative"], xytext=(-4 if above else 4, 0),
                textcoords="offset points",
                bbox={"boxstyle": "round,pad=0.3", "fc": "white", "ec": PALETTE["negative"]})
        ax.set_xlabel(labels["equity_cny"])
        ax.set_ylabel(labels["replicates"])
        ax.set_title(labels["range_title"])
        money_axis(ax, style.lang, "x")
        if point is not None or asking_inside:
            ax.legend(loc="upper right", bbox_to_anchor=(1.0, 0.8))
        fig.tight_layout()
    return fig


def tornado(
    sensitivities: pd.DataFrame, *, base: float, style: PlotStyle | None = None
) -> Figure:
    """Tornado chart: equity at the low and high value of each assumption.

    Parameters
    ----------
    sensitivities : DataFrame
        Columns ``parameter``, ``low_value`` and ``high_value`` (equity in CNY when the
        assumption is at its low / high end); optional ``low`` and ``high`` (the assumption's
        values) are shown in the labels.
    base : float
        The base-case equity.
    style : PlotStyle, optional
    """
    require(sensitivities, ("parameter", "low_value", "high_value"), "tornado")
    style = resolve_style(style)
    labels = style.labels()
    frame = sensitivities.copy()
    frame["swing"] = (frame["high_value"] - frame["low_value"]).abs()
    frame = frame.sort_values("swing")
    names = []
    for _, row in frame.iterrows():
        name = str(row["parameter"])
        if "low" in frame.columns and "high" in frame.columns:
            name += f" ({row['low']:g} – {row['high']:g})"
        names.append(name)
    with style.context():
        fig, ax = plt.subplots(figsize=(8.5, 0.55 * len(frame) + 1.6))
        y = np.arange(len(frame))
        low = frame["low_value"].to_numpy(dtype=float) - base
        high = frame["high_value"].to_numpy(dtype=float) - base
        ax.barh(y, low, left=base, color=PALETTE["primary"], label=labels["low_end"])
        ax.barh(y, high, left=base, color=PALETTE["accent"], label=labels["high_end"])
        ax.axvline(base, color="black", linewidth=1)
        ax.set_yticks(y, names)
        ax.set_xlabel(labels["equity_cny"])
        ax.set_title(labels["tornado_title"])
        money_axis(ax, style.lang, "x")
        ax.legend(loc="lower right")
        fig.tight_layout()
    return fig
