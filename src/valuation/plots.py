"""The figures of the briefs and notebooks, in one consistent style.

Every function takes aggregates (DataFrames or arrays already computed by the stages), draws
one figure and returns the :class:`matplotlib.figure.Figure`; nothing here reads data or
knows about customers. Labels come from :mod:`valuation.report.text` in the language asked.

Chinese labels need a CJK font. :func:`figure_language` finds one with matplotlib's font
manager (Noto Sans/Serif CJK, WenQuanYi, Source Han); without one the figures fall back to
English labels and the caller gets a notice to print, so a figure never shows empty boxes.
Install one on Debian/Ubuntu with ``apt-get install fonts-noto-cjk``.

Examples
--------
>>> style = PlotStyle.for_language("zh")  # doctest: +SKIP
>>> fig = value_bridge(steps, style=style)  # doctest: +SKIP
>>> save_figure(fig, out_dir / "figures" / "bridge.png")  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np
import pandas as pd
from matplotlib import font_manager
from matplotlib.figure import Figure

from valuation.errors import ReportError
from valuation.fileio import atomic_path
from valuation.report.text import figure_labels

CJK_FONT_FAMILIES: tuple[str, ...] = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Noto Serif CJK SC",
    "Source Han Serif SC",
    "Noto Sans CJK TC",
    "Noto Sans CJK JP",
    "Source Han Sans",
)
"""CJK font families in order of preference (Simplified Chinese first)."""

PALETTE: dict[str, str] = {
    "primary": "#1f4e79",
    "accent": "#c55a11",
    "positive": "#2e7d32",
    "negative": "#b71c1c",
    "neutral": "#7f7f7f",
    "light": "#d9e2f3",
}
SERIES_COLORS: tuple[str, ...] = (
    "#1f4e79", "#c55a11", "#2e7d32", "#7030a0", "#00838f", "#8d6e63", "#bf9000", "#5b9bd5",
)

_BASE_RC: dict[str, object] = {
    "figure.figsize": (8.0, 4.5),
    "figure.dpi": 100,
    "savefig.dpi": 130,
    "savefig.bbox": "tight",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.25,
    "axes.titlesize": 13,
    "axes.titleweight": "bold",
    "axes.labelsize": 11,
    "legend.frameon": False,
    "axes.unicode_minus": False,  # CJK fonts often lack U+2212
}


def find_cjk_font() -> str | None:
    """Return the family name of an installed CJK font, or ``None`` when there is none.

    Looks through matplotlib's font manager for the families in :data:`CJK_FONT_FAMILIES`,
    then for any family whose name says CJK, WenQuanYi or Source Han.
    """
    installed = {entry.name for entry in font_manager.fontManager.ttflist}
    for family in CJK_FONT_FAMILIES:
        if family in installed:
            return family
    for family in sorted(installed):
        if any(word in family for word in ("CJK", "WenQuanYi", "Source Han")):
            return family
    return None


def figure_language(lang: str, cjk_font: str | None = None) -> tuple[str, str | None]:
    """Decide the language of figure labels.

    Parameters
    ----------
    lang : {"zh", "en"}
        The language of the brief.
    cjk_font : str, optional
        A CJK font family; found with :func:`find_cjk_font` when not given.

    Returns
    -------
    (str, str or None)
        The label language to use and a notice for the reader when Chinese labels had to
        fall back to English (``None`` otherwise).
    """
    if lang != "zh":
        return "en", None
    if (cjk_font or find_cjk_font()) is not None:
        return "zh", None
    notice = (
        "No CJK font is installed, so the figures use English labels "
        "(install one, e.g. `apt-get install fonts-noto-cjk`, for Chinese labels)."
    )
    return "en", notice


@dataclass(frozen=True)
class PlotStyle:
    """The one style of every figure: label language, font and matplotlib settings.

    Attributes
    ----------
    lang : {"zh", "en"}
        Language of the labels actually drawn.
    font : str or None
        The CJK font family used for Chinese labels.
    notice : str or None
        Why the labels are not in the language asked for, if they are not.
    """

    lang: str = "en"
    font: str | None = None
    notice: str | None = None
    rc: Mapping[str, object] = field(default_factory=lambda: dict(_BASE_RC))

    @classmethod
    def for_language(cls, lang: str) -> "PlotStyle":
        """Build the style for a brief in ``lang``, falling back to English without a CJK font."""
        font = find_cjk_font() if lang == "zh" else None
        used, notice = figure_language(lang, font)
        return cls(lang=used, font=font if used == "zh" else None, notice=notice)

    def labels(self) -> dict[str, str]:
        """The figure labels in this style's language."""
        return figure_labels(self.lang)

    @contextlib.contextmanager
    def context(self) -> Iterator[None]:
        """Apply the style (and the CJK font, if any) inside a ``with`` block only."""
        rc = dict(self.rc)
        if self.font:
            # explicit family names, not the generic "sans-serif": a Text keeps its family
            # from creation, while a generic family is looked up again when the figure is
            # drawn (saved) -- after this block, where the CJK font is no longer configured
            rc["font.family"] = [self.font, "DejaVu Sans"]
            rc["font.sans-serif"] = [self.font, "DejaVu Sans"]
        with plt.rc_context(rc):
            yield


def _style(style: PlotStyle | None) -> PlotStyle:
    return style if style is not None else PlotStyle()


def _money(value: float) -> str:
    """Short money label: 1.2m / 350k / 900 (CNY)."""
    magnitude = abs(value)
    if magnitude >= 1e8:
        return f"{value / 1e6:,.0f}m"
    if magnitude >= 1e6:
        return f"{value / 1e6:,.2f}m"
    if magnitude >= 1e4:
        return f"{value / 1e3:,.0f}k"
    return f"{value:,.0f}"


def _money_axis(ax, axis: str = "y") -> None:
    formatter = matplotlib.ticker.FuncFormatter(lambda v, _pos: _money(v))
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(formatter)


def _require(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ReportError(
            f"{what}: the table given lacks column(s) {', '.join(missing)}; "
            f"expected columns {', '.join(columns)}"
        )
    if frame.empty:
        raise ReportError(f"{what}: the table given is empty; nothing to draw")


# ---------------------------------------------------------------------------------------
# Valuation figures
# ---------------------------------------------------------------------------------------
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
    _require(steps, ("label", "value"), "value bridge")
    style = _style(style)
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
            ax.annotate(_money(value), (i, bottom + height), ha="center", va="bottom",
                        fontsize=9, xytext=(0, 2), textcoords="offset points")
            if i > 0:
                ax.plot([i - 1 + 0.33, i - 0.33], [running, running], color=PALETTE["neutral"],
                        linewidth=0.8)
            running += value
        end = len(values)
        ax.bar(end, running, color=PALETTE["accent"], width=0.65)
        ax.annotate(_money(running), (end, running), ha="center", va="bottom", fontsize=9,
                    xytext=(0, 2), textcoords="offset points")
        ax.set_xticks(range(len(names)), names, rotation=20, ha="right")
        ax.set_ylabel(labels["cny"])
        ax.set_title(labels["bridge_title"])
        _money_axis(ax)
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
    style = _style(style)
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
                       label=f"{labels['point_estimate']} {_money(point)}")
        if asking_inside:
            ax.axvline(asking_price, color=PALETTE["negative"], linestyle="--", linewidth=1.4,
                       label=f"{labels['asking_price']} {_money(asking_price)}")
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
            ax.annotate(f"{name} {_money(q)}", (q, top), ha=align, va="top", fontsize=9,
                        xytext={"right": (-3, -2), "center": (0, -16), "left": (3, -2)}[align],
                        textcoords="offset points")
        if asking_price is not None and not asking_inside:
            above = asking_price > high
            edge = right if above else left
            ax.annotate(
                f"{labels['asking_price']} {_money(asking_price)} " + ("→" if above else "←"),
                (edge, top * 0.55), ha="right" if above else "left", va="center", fontsize=9,
                color=PALETTE["negative"], xytext=(-4 if above else 4, 0),
                textcoords="offset points",
                bbox={"boxstyle": "round,pad=0.3", "fc": "white", "ec": PALETTE["negative"]})
        ax.set_xlabel(labels["equity_cny"])
        ax.set_ylabel(labels["replicates"])
        ax.set_title(labels["range_title"])
        _money_axis(ax, "x")
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
    _require(sensitivities, ("parameter", "low_value", "high_value"), "tornado")
    style = _style(style)
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
        _money_axis(ax, "x")
        ax.legend(loc="lower right")
        fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------
# Churn figures
# ---------------------------------------------------------------------------------------
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
    _require(curves, ("group", "days", "survival"), "Kaplan-Meier curves")
    style = _style(style)
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
    style = _style(style)
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
            _require(frame, ("covariate",), "hazard-ratio forest plot")
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
    style = _style(style)
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


# ---------------------------------------------------------------------------------------
# Model validation and segments
# ---------------------------------------------------------------------------------------
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
    _require(tracking, ("period", "actual", "predicted"), "tracking plot")
    style = _style(style)
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
    _require(tiers, ("tier", "customers", "clv_total"), "CLV by tier")
    style = _style(style)
    labels = style.labels()
    names = tiers["tier"].astype(str).tolist()
    customers = tiers["customers"].to_numpy(dtype=float)
    clv = tiers["clv_total"].to_numpy(dtype=float)
    with style.context():
        fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2))
        left.bar(names, clv, color=PALETTE["primary"])
        left.set_ylabel(labels["clv_total_cny"])
        left.set_title(labels["clv_tier_title"])
        _money_axis(left)
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
    _require(frame, ("month", "new", "returning"), "activity panel")
    style = _style(style)
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


def save_figure(fig: Figure, path: str | Path) -> Path:
    """Save a figure as PNG atomically and close it; return the path."""
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return path
