"""The negotiation figures of issue 16: the value bridge drawn from the bridge table's own
rows, and the football field of page 1.

Same style as :mod:`valuation.plots` (its :class:`~valuation.plots.PlotStyle`, palette and
money labels); aggregates in, one :class:`matplotlib.figure.Figure` out.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from valuation.errors import ReportError
from valuation.plots.style import PALETTE, PlotStyle, money_axis, money_label

AFTER_TOTAL_KINDS: tuple[str, ...] = ("scenario", "assumption")
"""Bridge rows drawn floating on the transferable total (never added to it)."""

TOTAL_KINDS: tuple[str, ...] = ("total", "total_with_scenario", "total_with_assumption")

KIND_COLORS: dict[str, str] = {
    "start": PALETTE["primary"], "total": PALETTE["accent"], "memo": PALETTE["neutral"],
    "scenario": "#00838f", "assumption": "#7030a0", "total_with_scenario": "#80c1c7",
    "total_with_assumption": "#b797cf",
}


def bridge_bars(bridge: pd.DataFrame) -> pd.DataFrame:
    """Where each bridge row's bar goes: ``bottom``, ``height`` (signed amount), ``kind``.

    Starts and totals stand on zero; adjustments float on the running sum; scenario and
    assumption rows (after the transferable total) float on that total; memo rows have no
    height. One bar a row, in the table's order, so the figure equals the table.
    """
    for column in ("amount", "kind"):
        if column not in bridge.columns:
            raise ReportError(f"value bridge: the table lacks column {column!r}")
    if bridge.empty:
        raise ReportError("value bridge: the table given is empty; nothing to draw")
    running, base_total, rows = 0.0, 0.0, []
    for amount, kind in zip(bridge["amount"].astype(float), bridge["kind"].astype(str)):
        if kind == "start":
            bottom, running = 0.0, amount
        elif kind in TOTAL_KINDS:
            bottom = 0.0
            if kind == "total":
                base_total = running = amount
        elif kind in AFTER_TOTAL_KINDS:
            bottom = base_total
        elif kind == "memo":
            bottom, amount = running, 0.0
        else:
            bottom = running
            running += amount
        rows.append({"bottom": bottom, "height": amount, "kind": kind})
    return pd.DataFrame(rows, index=bridge.index)


def bridge_figure(bridge: pd.DataFrame, labels: Sequence[str], *,
                  style: PlotStyle | None = None) -> Figure:
    """Waterfall of the bridge table (``amount``, ``kind`` per row; ``labels`` per row).

    Future acquisitions and the re-consent scenario are separate, labelled bars after the
    transferable total, each followed by its own total bar.
    """
    style = style or PlotStyle()
    bars = bridge_bars(bridge)
    names = [str(x) for x in labels]
    if len(names) != len(bars):
        raise ReportError("value bridge: one label per bridge row is needed")
    figure_labels = style.labels()
    with style.context():
        fig, ax = plt.subplots(figsize=(10, 5))
        for i, row in enumerate(bars.itertuples()):
            height = row.height
            color = KIND_COLORS.get(row.kind) or (PALETTE["positive"] if height >= 0
                                                  else PALETTE["negative"])
            ax.bar(i, height, bottom=row.bottom, color=color, width=0.65,
                   hatch="//" if row.kind in AFTER_TOTAL_KINDS else None,
                   edgecolor="white" if row.kind not in AFTER_TOTAL_KINDS else "black",
                   linewidth=0.4)
            top = row.bottom + max(height, 0.0)
            ax.annotate(money_label(height, style.lang) if row.kind != "memo" else "0", (i, top), ha="center",
                        va="bottom", fontsize=8, xytext=(0, 2), textcoords="offset points")
        ax.axhline(0, color="black", linewidth=0.6)
        ax.set_xticks(range(len(names)), names, rotation=25, ha="right", fontsize=8)
        ax.set_ylabel(figure_labels["cny"])
        ax.set_title(figure_labels["bridge_title"])
        money_axis(ax, style.lang)
        fig.tight_layout()
    return fig


def football_field(rows: pd.DataFrame, *, price: float | None = None,
                   price_label: str = "counterparty price",
                   positions: dict[str, float] | None = None,
                   position_labels: dict[str, str] | None = None,
                   title: str = "Football field", xlabel: str = "CNY",
                   style: PlotStyle | None = None) -> Figure:
    """Valuation methods as horizontal low-high bars, with the counterparty's price and our
    three positions as vertical lines.

    Parameters
    ----------
    rows : DataFrame
        ``label``, ``low``, ``high`` and optional ``mid`` (a tick) per method, top first.
    price : float, optional
    positions : dict, optional
        ``anchor``, ``target``, ``walk_away`` prices.
    """
    for column in ("label", "low", "high"):
        if column not in rows.columns:
            raise ReportError(f"football field: the table lacks column {column!r}")
    style = style or PlotStyle()
    frame = rows.iloc[::-1].reset_index(drop=True)
    with style.context():
        fig, ax = plt.subplots(figsize=(9, 0.6 * len(frame) + 2.4))
        y = np.arange(len(frame))
        low = frame["low"].astype(float).to_numpy()
        high = frame["high"].astype(float).to_numpy()
        ax.barh(y, np.maximum(high - low, 0.0), left=low, color=PALETTE["light"],
                edgecolor=PALETTE["primary"], height=0.5)
        for i, row in frame.iterrows():
            ax.annotate(f"{money_label(row['low'], style.lang)} – {money_label(row['high'], style.lang)}", (row["high"], i),
                        xytext=(4, 0), textcoords="offset points", va="center", fontsize=8)
            mid = row.get("mid")
            if mid is not None and np.isfinite(float(mid)):
                ax.plot([mid, mid], [i - 0.25, i + 0.25], color=PALETTE["primary"],
                        linewidth=2)
        colors = {"anchor": PALETTE["positive"], "target": PALETTE["accent"],
                  "walk_away": PALETTE["negative"]}
        names = position_labels or {}
        for key, value in (positions or {}).items():
            ax.axvline(value, color=colors.get(key, "black"), linestyle=":", linewidth=1.4,
                       label=f"{names.get(key, key)} {money_label(value, style.lang)}")
        if price is not None:
            ax.axvline(price, color="black", linestyle="--", linewidth=1.6,
                       label=f"{price_label} {money_label(price, style.lang)}")
        marks = [*low, *high, *(positions or {}).values()] + ([price] if price else [])
        left, right = min(marks), max(marks)
        pad = max(right - left, abs(right), 1.0) * 0.06
        ax.set_xlim(min(left - pad, 0.0) if left >= 0 else left - pad, right + 3 * pad)
        ax.set_yticks(y, [str(x) for x in frame["label"]])
        ax.set_xlabel(xlabel)
        ax.set_title(title)
        money_axis(ax, style.lang, "x")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2, fontsize=8)
        fig.tight_layout()
    return fig
