"""The one style of every figure: palette, label language, the bundled CJK font, saving.

Chinese labels need a font with CJK glyphs. The workbench does not depend on system fonts:
at import it registers the Noto Sans CJK SC font that the ``mplfonts`` package installs
(``site-packages/mplfonts/fonts/NotoSansCJKsc-Regular.otf``) with matplotlib's font manager
through ``fontManager.addfont`` -- in memory, for this process, so no stale font cache can
hide it. The same file is embedded in the PDF brief (see :mod:`valuation.report.export`).
A system CJK font (Noto, Source Han, WenQuanYi) is used only when the bundled one is missing;
without any, figures fall back to English labels and the style carries a notice, so a figure
never shows empty boxes.
"""

from __future__ import annotations

import contextlib
import importlib.util
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib import font_manager
from matplotlib.figure import Figure

from valuation.errors import ReportError
from valuation.fileio import atomic_path
from valuation.report import formatting as F
from valuation.report.text import figure_labels

BUNDLED_CJK_FILE = "NotoSansCJKsc-Regular.otf"
"""The CJK font file shipped by the ``mplfonts`` package (a declared dependency)."""

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
    # labels come from data (channel, category values): never read "$...$" as mathtext
    "text.parse_math": False,
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


def bundled_cjk_font_path() -> Path | None:
    """Path of the CJK font installed with ``mplfonts`` (``None`` if it is not installed)."""
    spec = importlib.util.find_spec("mplfonts")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "fonts" / BUNDLED_CJK_FILE
        if path.is_file():
            return path
    return None


def register_bundled_cjk_font() -> str | None:
    """Register the bundled CJK font with matplotlib's font manager; return its family.

    ``fontManager.addfont`` adds the file to this process's font list directly, whatever
    matplotlib's on-disk font cache says. Idempotent.
    """
    path = bundled_cjk_font_path()
    if path is None:
        return None
    known = {Path(entry.fname) for entry in font_manager.fontManager.ttflist}
    if path not in known:
        font_manager.fontManager.addfont(str(path))
    return font_manager.FontProperties(fname=str(path)).get_name()


BUNDLED_CJK_FAMILY: str | None = register_bundled_cjk_font()
"""Family name of the bundled CJK font (``"Noto Sans CJK SC"``), registered at import."""


def find_cjk_font() -> str | None:
    """Return the family name of a CJK font matplotlib can use, or ``None``.

    The bundled font first, then the families of :data:`CJK_FONT_FAMILIES`, then any family
    whose name says CJK, WenQuanYi or Source Han.
    """
    installed = {entry.name for entry in font_manager.fontManager.ttflist}
    if BUNDLED_CJK_FAMILY and BUNDLED_CJK_FAMILY in installed:
        return BUNDLED_CJK_FAMILY
    for family in CJK_FONT_FAMILIES:
        if family in installed:
            return family
    for family in sorted(installed):
        if any(word in family for word in ("CJK", "WenQuanYi", "Source Han")):
            return family
    return None


NO_CJK_NOTICE: dict[str, str] = {
    "en": ("No CJK font was found (the mplfonts package is missing), so the figures use "
           "English labels; reinstall the workbench (pip install -e .) for Chinese labels."),
    "zh": "未找到中文字体（缺少 mplfonts 软件包），图表暂用英文标注；重新安装本工具（pip install -e .）后即显示中文。",
}


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
        The label language to use and a notice for the reader, in ``lang``, when Chinese
        labels had to fall back to English (``None`` otherwise).
    """
    if lang != "zh":
        return "en", None
    if (cjk_font or find_cjk_font()) is not None:
        return "zh", None
    return "en", NO_CJK_NOTICE["zh"]


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
            # the bundled CJK font has one weight: regular titles, never a findfont warning
            rc["axes.titleweight"] = "normal"
            rc["figure.titleweight"] = "normal"
        with plt.rc_context(rc):
            yield


def resolve_style(style: PlotStyle | None) -> PlotStyle:
    """``style``, or the default (English) style."""
    return style if style is not None else PlotStyle()


def money_label(value: float, lang: str) -> str:
    """Money on a figure (bar labels, legends): ``¥1.6m`` / ``¥160万``."""
    return F.format_money(value, lang)


def money_axis(ax, lang: str, axis: str = "y") -> None:
    """Write the ticks of a money axis as ``1.6m`` / ``160万`` (the axis title names CNY)."""
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(F.money_formatter(lang))


def require(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    """Raise a clear :class:`ReportError` when ``frame`` lacks ``columns`` or is empty."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ReportError(
            f"{what}: the table given lacks column(s) {', '.join(missing)}; "
            f"expected columns {', '.join(columns)}"
        )
    if frame.empty:
        raise ReportError(f"{what}: the table given is empty; nothing to draw")


def save_figure(fig: Figure, path: str | Path) -> Path:
    """Save a figure as PNG atomically and close it; return the path."""
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return path


def show(fig: Figure) -> None:
    """Display a figure in a notebook once, whatever matplotlib backend the kernel uses,
    and close it (so no later ``plt.show()`` draws it again).

    The figure is rendered to PNG here and displayed as an image: it shows under the
    inline backend, under ``Agg`` (``MPLBACKEND=Agg``) and in any notebook front end.
    Returns ``None``, so a cell ending in ``plots.show(...)`` prints nothing else.
    """
    import io

    from IPython.display import Image, display

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    display(Image(data=buffer.getvalue(), format="png"))
