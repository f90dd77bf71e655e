"""Published tables of the brief: readable labels, formatted numbers, small cells suppressed.

:func:`publish_table` turns an aggregate DataFrame into a :class:`PublishedTable`, which a
notebook displays as an HTML table without the DataFrame index, with money as ``¥1,234,567`` (Chinese: ``¥123.46万``),
shares as percentages, identifiers (check names, cohorts, tiers) translated into the brief's
language, and every row describing fewer than ``k`` customers suppressed
(:func:`valuation.privacy.suppress.suppress_small_cells`): its count shows as ``<k``, its other
values as ``–``, and a sentence under the table says so.

Examples
--------
>>> shown = publish_table(frame, lang="en", k=5, count="customers", money=["clv"])  # doctest: +SKIP
>>> display(shown)  # doctest: +SKIP
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from valuation.report import formatting as F
from valuation.report import text as T
from valuation.report.escape import html_text

TABLE_STYLES: list[dict[str, str]] = [
    {"selector": "", "props": "border-collapse: collapse; margin: 0.4em 0 1em 0; font-size: 0.92em;"},
    {"selector": "th", "props": "background: #1f4e79; color: white; font-weight: 600; "
                                "padding: 5px 10px; text-align: left; vertical-align: bottom;"},
    {"selector": "td", "props": "padding: 4px 10px; border-bottom: 1px solid #dde3ec; "
                                "vertical-align: top;"},
    {"selector": "tbody tr:nth-child(even) td", "props": "background: #f5f7fb;"},
]
"""One table style for every brief (matches the figures' palette)."""


@dataclass
class PublishedTable:
    """A table fit to publish, displayed as HTML by Jupyter (``_repr_html_``).

    Attributes
    ----------
    data : DataFrame
        The suppressed table with its original column names (for results.json).
    styler : pandas Styler
        The formatted view.
    note : str
        The suppression sentence ("" when nothing was suppressed).
    """

    data: pd.DataFrame
    styler: "pd.io.formats.style.Styler"
    note: str = ""

    def to_html(self) -> str:
        """The table (and its note) as an HTML fragment."""
        body = self.styler.to_html()
        if self.note:
            body += f'\n<p class="table-note"><em>{html.escape(self.note)}</em></p>'
        return body

    def _repr_html_(self) -> str:
        return self.to_html()

    def __len__(self) -> int:
        return len(self.data)


def _fmt_count(k: int, suppressed: bool):
    def fmt(value: object) -> str:
        if value is None or pd.isna(value):
            return f"<{k}" if suppressed else "–"
        return f"{float(value):,.0f}"
    return fmt


def _fmt_money(lang: str):
    def fmt(value: object) -> str:
        return "–" if value is None or pd.isna(value) else F.format_money_table(float(value), lang)
    return fmt


def _fmt_share(value: object) -> str:
    return "–" if value is None or pd.isna(value) else f"{100 * float(value):.1f}%"


def _fmt_decimals(places: int):
    def fmt(value: object) -> str:
        return "–" if value is None or pd.isna(value) else f"{float(value):,.{places}f}"
    return fmt


def _fmt_p(value: object) -> str:
    if value is None or pd.isna(value):
        return "–"
    return "<0.001" if float(value) < 0.001 else f"{float(value):.3f}"


def publish_table(
    frame: pd.DataFrame,
    *,
    lang: str,
    k: int,
    count: str | None = None,
    money: Sequence[str] = (),
    shares: Sequence[str] = (),
    decimals: Mapping[str, int] | None = None,
    pvalues: Sequence[str] = (),
    labels: Mapping[str, str] | None = None,
    centered: Sequence[str] = (),
    total_derivable: bool = True,
    bold_last: bool = False,
    caption: str | None = None,
) -> PublishedTable:
    """Format an aggregate table for the brief and suppress its small cells.

    Parameters
    ----------
    frame : DataFrame
        One row per group; its index is not shown.
    lang : {"en", "zh"}
        Language of headers and labels.
    k : int
        Minimum cell size (``params.privacy.min_cell_size``).
    count : str, optional
        The column counting the customers (or records) behind each row; rows under ``k`` are
        suppressed. ``None``: the table describes no group of customers (no suppression).
    money, shares, pvalues : sequence of str
        Columns shown as ``¥1,234``, ``12.3%`` and p-values.
    decimals : mapping, optional
        Other numeric columns and their decimal places (default: thousands separators, no
        decimals for any remaining numeric column).
    labels : mapping, optional
        Column -> label kind of :data:`valuation.report.text.LABELS` whose values are
        identifiers to translate (e.g. ``{"check": "check"}``).
    centered : sequence of str
        Columns to centre (tick boxes).
    total_derivable : bool
        Passed to ``suppress_small_cells`` (complementary suppression when a total is known).
    bold_last : bool
        Set the last row in bold (a total).
    caption : str, optional
        A line above the table saying what it shows.

    Returns
    -------
    PublishedTable
    """
    from valuation.privacy.suppress import suppress_small_cells

    data = frame.reset_index(drop=True)
    note = ""
    suppressed = False
    if count is not None:
        data = suppress_small_cells(data, count, k, total_derivable=total_derivable)
        suppressed = bool(data["suppressed"].any())
        if suppressed:
            note = T.text(lang, "suppressed_note", k=k)
        data = data.drop(columns=["suppressed", "suppression_note"])
    shown = data.copy()
    for column, kind in (labels or {}).items():
        shown[column] = [T.label(lang, kind, v) for v in shown[column]]
    formats: dict[str, object] = {}
    decimals = dict(decimals or {})
    for column in shown.columns:
        if column == count:
            formats[column] = _fmt_count(k, suppressed)
        elif column in money:
            formats[column] = _fmt_money(lang)
        elif column in shares:
            formats[column] = _fmt_share
        elif column in pvalues:
            formats[column] = _fmt_p
        elif column in decimals:
            formats[column] = _fmt_decimals(decimals[column])
        elif pd.api.types.is_numeric_dtype(shown[column]) and not pd.api.types.is_bool_dtype(shown[column]):
            formats[column] = _fmt_decimals(0)
    numeric = [c for c in formats]
    text_columns = [c for c in shown.columns if c not in formats and c not in centered]
    headers = {c: T.label(lang, "column", c, default=str(c)) for c in shown.columns}
    # each formatter shows its own missing values ("<k" for a suppressed count), so na_rep
    # is given for the text columns only
    styler = (shown.style.hide(axis="index")
              .format(formats)
              .format(na_rep="–", subset=text_columns, escape="html")  # data: shown as text
              .set_table_styles(TABLE_STYLES)
              .set_properties(subset=numeric, **{"text-align": "right", "white-space": "nowrap"})
              .set_properties(subset=text_columns, **{"text-align": "left"})
              .set_properties(subset=list(centered), **{"text-align": "center"})
              .format_index(lambda c: headers.get(c, c), axis="columns", escape="html"))
    if caption:
        styler = styler.set_caption(html_text(caption)).set_table_styles(
            [{"selector": "caption", "props": "caption-side: top; text-align: left; "
                                              "font-style: italic; padding: 0 0 4px 0;"}],
            overwrite=False)
    numeric_headers = [{"selector": f"th.col_heading.col{shown.columns.get_loc(c)}",
                        "props": "text-align: right;"} for c in numeric]
    if numeric_headers:
        styler = styler.set_table_styles(numeric_headers, overwrite=False)
    if bold_last and len(shown):
        last = shown.index[-1]
        styler = styler.set_properties(subset=pd.IndexSlice[[last], :],
                                       **{"font-weight": "700", "border-top": "2px solid #1f4e79"})
    return PublishedTable(data=data, styler=styler, note=note)
