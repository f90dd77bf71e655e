"""The figures of the briefs and notebooks, in one consistent style.

Every function takes aggregates (DataFrames or arrays already computed by the stages), draws
one figure and returns the :class:`matplotlib.figure.Figure`; nothing here reads data or
knows about customers. Labels come from :mod:`valuation.report.text` in the language asked,
money from :mod:`valuation.report.formatting` (``¥1.6m`` / ``¥160万``, also on the axes).

* :mod:`valuation.plots.style` -- palette, language, the bundled CJK font (registered with
  matplotlib at import), saving;
* :mod:`valuation.plots.value` -- value bridge, value range, tornado;
* :mod:`valuation.plots.churn` -- Kaplan-Meier curves, hazard forest, cohort heatmap;
* :mod:`valuation.plots.segments` -- tracking plot, CLV by tier, monthly activity.

Examples
--------
>>> style = PlotStyle.for_language("zh")  # doctest: +SKIP
>>> fig = value_bridge(steps, style=style)  # doctest: +SKIP
>>> save_figure(fig, out_dir / "figures" / "bridge.png")  # doctest: +SKIP
"""

from valuation.plots.churn import cohort_heatmap, hazard_forest, km_curves
from valuation.plots.segments import activity_panel, clv_by_tier, tracking_plot
from valuation.plots.style import (
    BUNDLED_CJK_FAMILY,
    CJK_FONT_FAMILIES,
    PALETTE,
    SERIES_COLORS,
    PlotStyle,
    bundled_cjk_font_path,
    figure_language,
    find_cjk_font,
    register_bundled_cjk_font,
    save_figure,
    show,
)
from valuation.plots.value import tornado, value_bridge, value_range

__all__ = [
    "BUNDLED_CJK_FAMILY", "CJK_FONT_FAMILIES", "PALETTE", "SERIES_COLORS", "PlotStyle",
    "activity_panel", "bundled_cjk_font_path", "clv_by_tier", "cohort_heatmap",
    "figure_language", "find_cjk_font", "hazard_forest", "km_curves",
    "register_bundled_cjk_font", "save_figure", "show", "tornado", "tracking_plot", "value_bridge",
    "value_range",
]
