"""The figures: each draws from known aggregates, Chinese labels never become empty boxes."""

from __future__ import annotations

import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest

from valuation import plots
from valuation.errors import ReportError

matplotlib.use("Agg")


def _frames():
    rng = np.random.default_rng(7)
    days = np.arange(0, 400, 10)
    curves = pd.concat([
        pd.DataFrame({"group": g, "days": days, "survival": np.exp(-days / s),
                      "ci_lower": np.exp(-days / s) * 0.9, "ci_upper": np.minimum(1, np.exp(-days / s) * 1.1)})
        for g, s in (("search", 200.0), ("wechat", 300.0))])
    drivers = pd.DataFrame({"hazard_ratio": [1.4, 0.7], "hr_lower": [1.1, 0.5], "hr_upper": [1.8, 0.95]},
                           index=pd.Index(["channel[offline]", "satisfaction"], name="covariate"))
    months = pd.period_range("2024-01", periods=12, freq="M")
    shares = pd.DataFrame(rng.uniform(0, 1, (12, 6)), index=months, columns=range(6))
    panel = pd.DataFrame({"active": 50, "new": 10, "retained": 30, "returning": 10, "lapsed": 5},
                         index=pd.Index(months, name="month"))
    tracking = pd.DataFrame({"period": pd.date_range("2024-01-07", periods=30, freq="7D"),
                             "actual": rng.poisson(20, 30), "predicted": np.full(30, 20.0)})
    tiers = pd.DataFrame({"tier": ["top 10%", "next 20%", "next 30%", "bottom 40%"],
                          "customers": [10, 20, 30, 40], "clv_total": [5000.0, 3000.0, 1500.0, 500.0]})
    bridge = pd.DataFrame({"label": ["Gross equity", "Haircut", "Not transferable"],
                           "value": [1_000_000.0, -50_000.0, -200_000.0]})
    tornado = pd.DataFrame({"parameter": ["discount", "margin"], "low": [0.08, 0.5], "high": [0.2, 0.7],
                            "low_value": [800_000.0, 700_000.0], "high_value": [650_000.0, 820_000.0]})
    return dict(curves=curves, drivers=drivers, shares=shares, panel=panel, tracking=tracking,
                tiers=tiers, bridge=bridge, tornado=tornado, samples=rng.normal(750_000, 80_000, 200))


def _all_figures(style):
    f = _frames()
    return {
        "value_bridge": plots.value_bridge(f["bridge"], style=style),
        "value_range": plots.value_range(f["samples"], point=750_000, asking_price=900_000, style=style),
        "tornado": plots.tornado(f["tornado"], base=750_000, style=style),
        "km_curves": plots.km_curves(f["curves"], style=style),
        "hazard_forest": plots.hazard_forest(f["drivers"], style=style),
        "cohort_heatmap": plots.cohort_heatmap(f["shares"], style=style),
        "tracking": plots.tracking_plot(f["tracking"], calibration_end="2024-04-01", style=style),
        "clv_by_tier": plots.clv_by_tier(f["tiers"], style=style),
        "activity_panel": plots.activity_panel(f["panel"], style=style),
    }


def test_every_figure_is_saved_as_a_png(tmp_path):
    for name, fig in _all_figures(plots.PlotStyle()).items():
        path = plots.save_figure(fig, tmp_path / f"{name}.png")
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
        assert path.stat().st_size > 5_000, name


def test_bridge_total_bar_is_the_sum_of_the_steps():
    fig = plots.value_bridge(_frames()["bridge"])
    bars = fig.axes[0].patches
    assert len(bars) == 4
    assert bars[-1].get_height() == pytest.approx(750_000.0)  # 1m - 50k - 200k
    assert bars[2].get_y() == pytest.approx(750_000.0)  # the last step hangs from the running total


def test_forest_plot_accepts_a_lifelines_summary():
    summary = pd.DataFrame({"exp(coef)": [2.0], "exp(coef) lower 95%": [1.5], "exp(coef) upper 95%": [2.5]},
                           index=["x"])
    fig = plots.hazard_forest(summary)
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["x"]


def test_missing_columns_are_a_clear_error():
    with pytest.raises(ReportError, match="lacks column"):
        plots.clv_by_tier(pd.DataFrame({"tier": ["a"]}))
    with pytest.raises(ReportError, match="no finite"):
        plots.value_range([np.nan])


def test_chinese_falls_back_to_english_with_a_notice_without_a_cjk_font(monkeypatch):
    monkeypatch.setattr(plots.style, "find_cjk_font", lambda: None)
    style = plots.PlotStyle.for_language("zh")
    assert style.lang == "en" and style.font is None
    assert "中文字体" in style.notice  # the notice is in the brief's language
    fig = plots.km_curves(_frames()["curves"], style=style)
    assert fig.axes[0].get_title() == "Share of customers still active"


def test_english_brief_needs_no_notice():
    assert plots.figure_language("en") == ("en", None)


def test_the_bundled_cjk_font_is_registered_at_import_whatever_the_font_cache_says():
    path = plots.bundled_cjk_font_path()
    assert path is not None and path.name == "NotoSansCJKsc-Regular.otf"
    assert plots.BUNDLED_CJK_FAMILY == "Noto Sans CJK SC"
    assert plots.find_cjk_font() == "Noto Sans CJK SC"
    # a fresh font manager (an empty or stale cache) is repaired by registering again
    from matplotlib import font_manager

    fresh = font_manager.FontManager()
    fresh.ttflist = [f for f in fresh.ttflist if "CJK" not in f.name]
    original = font_manager.fontManager
    try:
        font_manager.fontManager = fresh
        assert plots.register_bundled_cjk_font() == "Noto Sans CJK SC"
        assert any(f.name == "Noto Sans CJK SC" for f in fresh.ttflist)
    finally:
        font_manager.fontManager = original


def test_chinese_figures_use_the_cjk_font_and_no_glyph_is_missing(tmp_path):
    """A zh figure must neither fall back to English nor draw with a font lacking CJK glyphs:
    matplotlib's "Glyph ... missing from font" warnings are errors here."""
    from matplotlib import font_manager

    style = plots.PlotStyle.for_language("zh")
    assert style.lang == "zh" and style.notice is None and style.font == "Noto Sans CJK SC"
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*[Gg]lyph.*missing.*")
        for name, fig in _all_figures(style).items():
            texts = [fig.axes[0].title, *fig.axes[0].get_xticklabels(), fig.axes[0].xaxis.label]
            chinese = [t for t in texts if any("\u4e00" <= ch <= "\u9fff" for ch in t.get_text())]
            assert chinese or name == "hazard_forest", f"{name}: no Chinese label"
            for text in chinese:  # the font actually resolved for the text has CJK glyphs
                found = font_manager.findfont(text.get_fontproperties(), fallback_to_default=False)
                assert found.endswith("NotoSansCJKsc-Regular.otf"), (name, found)
            plots.save_figure(fig, tmp_path / f"{name}.png")
    fig = plots.value_bridge(_frames()["bridge"], style=style)
    assert fig.axes[0].get_title() == "估值桥"
    # the CJK font must stick to the text: figures are saved after the style's context
    # ends, and a generic "sans-serif" would then resolve to a font without Chinese glyphs
    assert fig.axes[0].title.get_fontfamily()[0] == style.font
    for label in fig.axes[0].get_xticklabels():
        assert label.get_fontfamily()[0] == style.font


def test_money_axes_and_labels_follow_the_language():
    f = _frames()
    zh = plots.PlotStyle.for_language("zh")
    fig = plots.value_bridge(f["bridge"], style=zh)
    fig.canvas.draw()
    ticks = [t.get_text() for t in fig.axes[0].get_yticklabels() if t.get_text()]
    assert any(t.endswith("万") for t in ticks) and not any("m" in t or "k" in t for t in ticks)
    assert any(t.get_text() == "¥100万" for t in fig.axes[0].texts)  # the first bar's label
    en = plots.value_bridge(f["bridge"])
    en.canvas.draw()
    ticks = [t.get_text() for t in en.axes[0].get_yticklabels() if t.get_text()]
    assert any(t.endswith("k") or t.endswith("m") for t in ticks)
    assert any(t.get_text() == "¥1.00m" for t in en.axes[0].texts)


def test_value_range_marks_a_far_asking_price_at_the_edge_not_by_stretching_the_axis():
    samples = np.random.default_rng(3).normal(2_000_000, 150_000, 200)
    fig = plots.value_range(samples, point=2_000_000, asking_price=6_000_000)
    left, right = fig.axes[0].get_xlim()
    assert right < 3_500_000  # the distribution keeps the width of the figure
    assert any("¥6.00m" in t.get_text() and "→" in t.get_text() for t in fig.axes[0].texts)
    near = plots.value_range(samples, point=2_000_000, asking_price=2_300_000)
    assert near.axes[0].get_xlim()[1] > 2_300_000
    assert any("¥2.30m" in t.get_label() for t in near.axes[0].get_lines())


def test_show_displays_a_figure_once_under_any_backend_and_closes_it(monkeypatch):
    import IPython.display
    import matplotlib.pyplot as plt

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj: shown.append(obj))
    fig = plots.value_bridge(_frames()["bridge"])
    assert plt.fignum_exists(fig.number)
    assert plots.show(fig) is None
    assert len(shown) == 1 and shown[0].data[:8] == b"\x89PNG\r\n\x1a\n"
    assert not plt.fignum_exists(fig.number)


def test_labels_from_data_are_never_read_as_mathtext():
    """A channel value such as "$\\frac$ deal" is drawn as written, never parsed as TeX
    (mathtext would raise on it, or render a value from data as a formula)."""
    import io

    import matplotlib.pyplot as plt

    from valuation.plots import PlotStyle

    label = r"referral $\frac$ deal"
    with PlotStyle().context():
        fig, ax = plt.subplots()
        ax.bar([label], [1.0])
        ax.set_title(label)
        fig.savefig(io.BytesIO(), format="png")  # raises ValueError when parsed as mathtext
    assert ax.get_title() == label
    plt.close(fig)
