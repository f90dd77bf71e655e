"""Export an executed brief: an offline HTML page without code, and an A4 PDF (WeasyPrint).

HTML
    nbconvert's ``lab`` template through ``templates/brief.html.j2``, which drops every
    script the lab template loads from a public CDN (require.js, MathJax, mermaid, widgets):
    the page fetches nothing when it is opened, reads with scripts off, and embeds its
    figures as data URIs. Input cells, prompts and cells tagged ``remove-cell`` are left
    out, so the reader sees narrative, tables and figures only. ``templates/brief.css``
    styles it on screen and on paper.
PDF
    WeasyPrint renders that HTML with the print CSS: A4, margins, a running header (the
    target's display name, the valuation date, "Confidential" / "机密"), page numbers,
    tables that take the page width and wrap, figures sized to the page, no scrollbars.
    Fonts come with the install (DejaVu Sans from matplotlib, Noto Sans CJK SC from
    mplfonts) and are embedded in the PDF; the renderer may read ``data:`` and ``file:``
    URLs only, never the network. WeasyPrint needs pango and harfbuzz, present on standard
    Debian/Ubuntu images (``apt-get install libpango-1.0-0 libpangoft2-1.0-0
    libharfbuzz0b`` on a bare one).
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
from nbconvert import HTMLExporter
from nbconvert.preprocessors import TagRemovePreprocessor

from valuation.errors import ReportError
from valuation.fileio import atomic_path, write_text_atomic
from valuation.report import formatting as F

TEMPLATES = Path(__file__).with_name("templates")
BRIEF_TEMPLATE = "brief.html.j2"
BRIEF_CSS = TEMPLATES / "brief.css"

REMOVE_CELL_TAG = "remove-cell"
"""Cells tagged so (set-up code, parameters) are left out of the HTML entirely."""

CONFIDENTIAL: dict[str, str] = {"en": "Confidential", "zh": "机密"}

PAGE_NUMBER_CSS: dict[str, str] = {
    "en": '@page { @bottom-right { content: "Page " counter(page) " of " counter(pages); } }',
    "zh": '@page { @bottom-right { content: "第 " counter(page) " 页，共 " counter(pages) " 页"; } }',
}

SYSTEM_LIBS_HINT = ("WeasyPrint needs pango and harfbuzz (Debian/Ubuntu: apt-get install "
                    "libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b)")


@dataclass(frozen=True)
class PdfOutcome:
    """What :func:`export_pdf` did: the PDF written, or why not."""

    path: Path | None
    notice: str | None = None


@dataclass(frozen=True)
class PrintHeader:
    """The running header of every printed page (text only; escaped where rendered)."""

    name: str
    date: str
    mark: str


def print_header(name: str, as_of: Any, lang: str) -> PrintHeader:
    """The header of a brief: target display name, valuation date, confidentiality mark."""
    return PrintHeader(name=str(name), date=F.format_date(as_of, lang),
                       mark=CONFIDENTIAL[lang if lang in CONFIDENTIAL else "en"])


def brief_css(lang: str = "en") -> str:
    """The brief's stylesheet (screen and print) with the page numbers in ``lang``."""
    return BRIEF_CSS.read_text(encoding="utf-8") + "\n" + PAGE_NUMBER_CSS.get(lang, PAGE_NUMBER_CSS["en"])


def html_exporter(lang: str = "en") -> HTMLExporter:
    """The configured nbconvert exporter: offline template, no code, no prompts, tagged
    cells removed, figures embedded."""
    exporter = HTMLExporter(
        template_name="lab",
        template_file=BRIEF_TEMPLATE,
        extra_template_paths=[str(TEMPLATES)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
        language_code=lang,
        # belt and braces: the template loads none of these, and none may point anywhere
        require_js_url="", mathjax_url="", jquery_url="", widget_renderer_url="",
    )
    remover = TagRemovePreprocessor(remove_cell_tags={REMOVE_CELL_TAG}, enabled=True)
    exporter.register_preprocessor(remover, enabled=True)
    return exporter


def export_html(notebook_path: str | Path, html_path: str | Path, *, title: str | None = None,
                lang: str = "en", header: PrintHeader | None = None) -> Path:
    """Write the executed notebook as a standalone, offline HTML page without any code.

    Parameters
    ----------
    notebook_path : path
        The executed notebook.
    html_path : path
        Where to write the HTML (atomically).
    title : str, optional
        The page title; default: the notebook's ``metadata.title`` or its file name.
    lang : {"en", "zh"}
        The page's language (``<html lang>``, page-number wording).
    header : PrintHeader, optional
        The running header of the printed pages.

    Returns
    -------
    Path
    """
    notebook_path = Path(notebook_path)
    if not notebook_path.is_file():
        raise ReportError(f"{notebook_path}: executed notebook not found; cannot export HTML")
    nb = nbformat.read(notebook_path, as_version=4)
    if title:
        nb.metadata["title"] = title
    resources = {"brief_css": brief_css(lang),
                 "print_header": header.__dict__ if header is not None else None}
    body, _resources = html_exporter(lang).from_notebook_node(nb, resources=resources)
    return write_text_atomic(html_path, body)


# ---------------------------------------------------------------------------------------
# PDF
# ---------------------------------------------------------------------------------------
def bundled_font_files() -> dict[str, Path]:
    """The font files installed with the workbench's dependencies: ``latin`` (matplotlib's
    DejaVu Sans), ``latin_bold`` and ``cjk`` (mplfonts' Noto Sans CJK SC)."""
    import matplotlib

    from valuation.plots.style import bundled_cjk_font_path

    ttf = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    files = {"latin": ttf / "DejaVuSans.ttf", "latin_bold": ttf / "DejaVuSans-Bold.ttf",
             "cjk": bundled_cjk_font_path()}
    return {k: v for k, v in files.items() if v is not None and Path(v).is_file()}


def subset_font(source: Path, characters: set[str], target: Path) -> Path:
    """Write the glyphs of ``characters`` from the font ``source`` to ``target``.

    The CJK font holds some 65,000 glyphs in 16 MB; WeasyPrint's own subsetting keeps the
    glyph ids of the whole font (slow without the HarfBuzz-subset library: minutes per
    brief). Cutting the font to the document's characters first takes a few seconds and
    leaves WeasyPrint a small font to embed.
    """
    from fontTools import subset
    from fontTools.ttLib import TTFont

    options = subset.Options()
    options.desubroutinize = True
    options.notdef_outline = True
    options.name_IDs = ["*"]
    options.layout_features = ["*"]
    quiet = logging.getLogger("fontTools")  # "FFTM NOT subset" and the like: not for users
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        font = TTFont(str(source), lazy=True)
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes={ord(ch) for ch in characters})
        subsetter.subset(font)
        font.save(str(target))
        font.close()
    finally:
        quiet.setLevel(level)
    return target


def document_characters(html_path: Path, lang: str) -> set[str]:
    """Every character the printed brief can show: the page's text (entities decoded), the
    page-number wording, the digits of the page counters and the list markers CSS draws."""
    import html

    source = Path(html_path).read_text(encoding="utf-8")
    generated = set("0123456789.") | set("•◦▪") | set(" \u00a0")
    return set(html.unescape(source)) | set(PAGE_NUMBER_CSS.get(lang, "")) | generated


def font_css(lang: str, font_dir: Path | None = None, characters: set[str] | None = None) -> str:
    """``@font-face`` rules for the bundled fonts and the font stack of the printed brief:
    Chinese first in a Chinese brief, Latin first in an English one. With ``font_dir`` and
    ``characters``, the fonts are first cut to those characters (:func:`subset_font`)."""
    files = bundled_font_files()
    if font_dir is not None and characters is not None:
        files = {key: subset_font(path, characters, Path(font_dir) / f"{key}{path.suffix}")
                 for key, path in files.items()}
    rules = []
    if "latin" in files:
        rules.append(f'@font-face {{ font-family: "DejaVu Sans Bundled"; font-weight: normal; '
                     f'src: url("{files["latin"].as_uri()}"); }}')
    if "latin_bold" in files:
        rules.append(f'@font-face {{ font-family: "DejaVu Sans Bundled"; font-weight: bold; '
                     f'src: url("{files["latin_bold"].as_uri()}"); }}')
    if "cjk" in files:
        rules.append(f'@font-face {{ font-family: "Noto Sans CJK SC Bundled"; '
                     f'src: url("{files["cjk"].as_uri()}"); }}')
    cjk, latin = "\"Noto Sans CJK SC Bundled\"", "\"DejaVu Sans Bundled\""
    stack = f"{cjk}, {latin}" if lang == "zh" else f"{latin}, {cjk}"
    rules.append(f"html, body, .jp-Notebook, .jp-RenderedHTMLCommon, table, th, td, h1, h2, "
                 f"h3, h4, p, li, code, pre, kbd, .print-header "
                 f"{{ font-family: {stack}, sans-serif !important; }}")
    rules.append(f"@page {{ font-family: {stack}, sans-serif; "
                 f"@bottom-right {{ font-family: {stack}, sans-serif; }} }}")
    return "\n".join(rules)


def _weasyprint():
    """Import WeasyPrint, or raise :class:`ReportError` naming the missing system libraries."""
    try:
        import weasyprint
    except (ImportError, OSError) as exc:  # OSError: pango/harfbuzz not found
        raise ReportError(f"cannot render the PDF: {SYSTEM_LIBS_HINT} ({type(exc).__name__}: "
                          f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
    return weasyprint


def render_document(html_path: str | Path, lang: str, font_dir: str | Path):
    """Lay out the HTML brief for print with WeasyPrint; return its ``Document``.

    The bundled fonts, cut to the document's characters, are written to ``font_dir``,
    which must outlive the document (it is read again when the PDF is written).

    Only ``data:`` and ``file:`` URLs are fetched (figures are data URIs, fonts local
    files); anything else is refused, so rendering never touches the network. WeasyPrint's
    warnings about CSS it does not support (the lab theme has many) are kept off the
    terminal.
    """
    weasyprint = _weasyprint()
    from weasyprint.text.fonts import FontConfiguration

    html_path = Path(html_path)
    fonts = FontConfiguration()
    fetcher = weasyprint.URLFetcher(allowed_protocols={"data", "file"})
    logger = logging.getLogger("weasyprint")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        document = weasyprint.HTML(filename=str(html_path), url_fetcher=fetcher,
                                   encoding="utf-8").render(
            font_config=fonts,
            stylesheets=[weasyprint.CSS(string=font_css(lang, Path(font_dir),
                                                        document_characters(html_path, lang)),
                                        font_config=fonts,
                                        url_fetcher=fetcher)],
            presentational_hints=True)
    finally:
        logger.setLevel(level)
    return document


def export_pdf(html_path: str | Path, pdf_path: str | Path, *, lang: str = "en") -> PdfOutcome:
    """Print the HTML brief to an A4 PDF with WeasyPrint (atomically).

    Parameters
    ----------
    html_path, pdf_path : path
    lang : {"en", "zh"}
        The brief's language (font order).

    Returns
    -------
    PdfOutcome
        The PDF written; when WeasyPrint's system libraries are missing, no PDF and a
        notice saying what to install (the rest of the brief is complete without it).

    Raises
    ------
    ReportError
        The HTML is missing or WeasyPrint failed on it.
    """
    html_path, pdf_path = Path(html_path), Path(pdf_path)
    if not html_path.is_file():
        raise ReportError(f"{html_path}: HTML brief not found; cannot print the PDF")
    with tempfile.TemporaryDirectory(prefix="valuation-fonts-") as font_dir:
        try:
            document = render_document(html_path, lang, font_dir)
            with atomic_path(pdf_path) as tmp:
                document.write_pdf(tmp)
        except ReportError as exc:
            if SYSTEM_LIBS_HINT in str(exc):
                return PdfOutcome(None, f"PDF skipped: {exc}")
            raise
        except Exception as exc:  # noqa: BLE001 - any rendering failure, named for the user
            raise ReportError(f"{html_path.name}: the PDF could not be rendered "
                              f"({type(exc).__name__}: {exc})") from None
    return PdfOutcome(pdf_path, None)
