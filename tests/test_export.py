"""The brief's exports: offline HTML (nothing fetched from anywhere) and the A4 PDF.

Small notebooks built here (a table too wide for the page, a figure, planted markup in the
target's name) are exported through the real code paths: nbconvert with the brief template,
WeasyPrint with the bundled fonts. The PDF is checked in WeasyPrint's own layout (page size,
header and page-number text, table widths) and in the PDF bytes (MediaBox, embedded fonts).
"""

from __future__ import annotations

import base64
import io
import re
import zlib
from html.parser import HTMLParser
from pathlib import Path

import matplotlib
import nbformat
import pandas as pd
import pytest

from valuation.report import export

matplotlib.use("Agg")

A4_PT = (595.28, 841.89)
NAME = 'Évil <script>alert("x")</script> & Co 极客营'


def _png() -> str:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(12, 4))  # wider than the page
    ax.plot([0, 1], [0, 1])
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


def _notebook(path: Path) -> Path:
    wide = pd.DataFrame({f"第{i}列 column {i}": [f"很长的单元格内容 long cell text {i} " * 3,
                                                   f"¥{i * 1_234_567:,}"] for i in range(12)})
    cells = [
        nbformat.v4.new_markdown_cell("# 谈判简报\n\n执行摘要：估值区间 **¥318.2万**。"),
        nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["remove-cell"]}),
        nbformat.v4.new_code_cell("display(table)", outputs=[nbformat.v4.new_output(
            "display_data", data={"text/html": wide.to_html(index=False),
                                  "text/plain": "table"})]),
        nbformat.v4.new_code_cell("fig", outputs=[nbformat.v4.new_output(
            "display_data", data={"image/png": _png(), "text/plain": "<Figure>"})]),
        nbformat.v4.new_markdown_cell("$E = mc^2$ and a [reference](https://doi.org/10.1287/mnsc.33.1.1)"),
    ]
    for i in range(3):  # enough text for several pages
        cells.append(nbformat.v4.new_markdown_cell(f"## 第{i}节\n\n" + "客户资产价值的说明。" * 300))
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    notebook = _notebook(root / "brief.ipynb")
    out = {}
    for lang in ("zh", "en"):
        html = export.export_html(notebook, root / f"brief_{lang}.html", title=NAME, lang=lang,
                                  header=export.print_header(NAME, "2025-06-30", lang))
        out[lang] = html
    return root, out


class _Resources(HTMLParser):
    """Every URL the page could load or link: src/href/srcset/poster/data attributes."""

    def __init__(self):
        super().__init__()
        self.urls: list[tuple[str, str, str]] = []
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        for name in ("src", "href", "srcset", "poster", "data", "action", "background"):
            if attrs.get(name):
                self.urls.append((tag, name, attrs[name]))


def test_brief_html_fetches_nothing_and_reads_without_scripts(exported):
    _, html_files = exported
    for lang, path in html_files.items():
        source = path.read_text(encoding="utf-8")
        parser = _Resources()
        parser.feed(source)
        # no script at all: nothing runs, nothing is loaded, the page reads with scripts off
        assert not [t for t, _ in parser.tags if t in ("script", "iframe", "object", "embed")]
        assert not [a for t, a in parser.tags if t == "link" and "stylesheet" in a.get("rel", "")]
        for tag, attr, url in parser.urls:
            if tag == "a" and attr == "href":  # a link the reader may follow, never auto-loaded
                continue
            assert url.startswith(("data:", "#")), (lang, tag, attr, url[:80])
        css = " ".join(re.findall(r"<style[^>]*>([\s\S]*?)</style>", source))
        css += " ".join(a.get("style", "") for _, a in parser.tags)
        for url in re.findall(r"url\(\s*['\"]?([^'\")]+)", css):
            assert url.startswith("data:"), url[:80]
        assert "@import" not in css
        assert not re.search(r"(cdnjs|cdn\.jsdelivr|unpkg|googleapis|mathjax|require\.js|mermaid)",
                             source, re.I)
        images = [a["src"] for t, a in parser.tags if t == "img"]
        assert images and all(src.startswith("data:image/png;base64,") for src in images)
        assert "x = 1" not in source  # tagged and input cells are left out
        assert f'<html lang="{lang}"' in source


def test_the_running_header_is_escaped_text(exported):
    _, html_files = exported
    source = html_files["zh"].read_text(encoding="utf-8")
    header = re.search(r'<div[^>]*class="print-header"[\s\S]*?</div>', source).group(0)
    assert "<script>" not in header and "&lt;script&gt;" in header
    assert "2025年6月30日" in header and "机密" in header
    en = html_files["en"].read_text(encoding="utf-8")
    assert "2025-06-30" in en and "Confidential" in en


def _pdf_text(data: bytes) -> bytes:
    """The PDF's bytes with every Flate stream inflated (object streams hold the dicts)."""
    parts = [data]
    for match in re.finditer(rb"stream\r?\n", data):
        try:
            parts.append(zlib.decompressobj().decompress(data[match.end():]))
        except zlib.error:
            continue
    return b"\n".join(parts)


def _texts(box) -> list[str]:
    found = [box.text] if hasattr(box, "text") and isinstance(box.text, str) else []
    for child in getattr(box, "children", ()) or ():
        found += _texts(child)
    return found


def _tables(box) -> list:
    found = [box] if type(box).__name__ == "TableBox" else []
    for child in getattr(box, "children", ()) or ():
        found += _tables(child)
    return found


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_pdf_is_a4_with_header_page_numbers_and_tables_that_fit(exported, lang, tmp_path):
    _, html_files = exported
    document = export.render_document(html_files[lang], lang, tmp_path)
    pages = document.pages
    assert len(pages) >= 3
    for number, page in enumerate(pages, 1):
        assert (page.width * 0.75, page.height * 0.75) == pytest.approx(A4_PT, abs=0.5)
        margins = [b for b in page._page_box.children if type(b).__name__ == "MarginBox"]
        text = " ".join(t for b in margins for t in _texts(b))
        assert NAME in text  # the display name as text, markup and all
        if lang == "zh":
            assert "机密" in text and "2025年6月30日" in text
            assert f"第 {number} 页，共 {len(pages)} 页" in text
        else:
            assert "Confidential" in text and "2025-06-30" in text
            assert f"Page {number} of {len(pages)}" in text
        body = page._page_box
        right = body.content_box_x() + body.width
        for table in _tables(body):  # the 12-column table wraps instead of being cut
            assert table.position_x + table.margin_width() <= right + 1
    cells = re.sub(r"\s+", "", "".join(t for p in pages for t in _texts(p._page_box)))
    assert "第11列column11" in cells  # the last column is printed
    assert "¥13,580,237" in cells  # and its amounts are not cut


def test_pdf_file_is_a4_and_embeds_the_bundled_fonts(exported):
    root, html_files = exported
    outcome = export.export_pdf(html_files["zh"], root / "brief.pdf", lang="zh")
    assert outcome.notice is None and outcome.path == root / "brief.pdf"
    data = outcome.path.read_bytes()
    assert data[:5] == b"%PDF-"
    text = _pdf_text(data)
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", text)
    assert boxes and all((float(w), float(h)) == pytest.approx(A4_PT, abs=0.5) for w, h in boxes)
    fonts = {f.decode() for f in re.findall(rb"/FontName\s*/([^\s/\]>]+)", text)}
    assert any("NotoSansCJKSC" in f.replace("-", "") for f in fonts), fonts
    assert all("Bundled" in f for f in fonts), fonts  # no system font needed or used
    assert re.search(rb"/FontFile[23]?\s", text)  # embedded, not referenced
    assert len(data) < 3_000_000  # subset, not the 16 MB font


def test_pdf_never_fetches_remote_resources(tmp_path):
    html = tmp_path / "remote.html"
    html.write_text('<html><body><p>offline</p><img src="http://192.0.2.1/x.png">'
                    '<link rel="stylesheet" href="https://192.0.2.1/x.css"></body></html>',
                    encoding="utf-8")
    calls = []
    import urllib.request

    original = urllib.request.OpenerDirector.open

    def spy(self, url, *args, **kwargs):
        calls.append(getattr(url, "full_url", url))
        return original(self, url, *args, **kwargs)

    urllib.request.OpenerDirector.open = spy
    try:
        outcome = export.export_pdf(html, tmp_path / "remote.pdf")
    finally:
        urllib.request.OpenerDirector.open = original
    assert outcome.path is not None
    assert not [c for c in calls if str(c).startswith("http")]


def test_missing_system_libraries_give_a_notice_not_a_traceback(tmp_path, monkeypatch):
    html = tmp_path / "b.html"
    html.write_text("<html><body>hi</body></html>", encoding="utf-8")

    def no_pango():
        raise export.ReportError(f"cannot render the PDF: {export.SYSTEM_LIBS_HINT} (OSError: x)")

    monkeypatch.setattr(export, "_weasyprint", no_pango)
    outcome = export.export_pdf(html, tmp_path / "b.pdf")
    assert outcome.path is None and "libpango" in outcome.notice
    assert not (tmp_path / "b.pdf").exists()
