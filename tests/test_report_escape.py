"""No injection: text from data or params shows in the brief as text, never as live HTML or
Markdown (issue 13, item 4).

Fast tests render escaped values with the same Markdown renderer nbconvert uses and through
the published-table path; the slow test runs a whole brief on a target whose display name and
one channel value carry HTML and Markdown payloads, and parses brief.html with html.parser.
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
import yaml

from valuation.report.escape import html_text, md_text
from valuation.report.tables import publish_table

PAYLOADS = (
    "<img src=x onerror=alert(1)>",
    "<script>alert(2)</script>",
    "[click](javascript:alert(3))",
    "![pixel](http://evil.example/x.png)",
    "<a href=\"javascript:alert(4)\">go</a>",
    "**bold** _it_ `code` $x^2$ # heading",
    "line one\n# injected heading\n<svg onload=alert(5)>",
    "<b onmouseover=alert(6)>hover</b>",
)


class Elements(HTMLParser):
    """Every start tag with its attributes, and all text, of an HTML document."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self._in_script = False
        self.scripts: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        (self.scripts if self._in_script else self.text).append(data)


def parse(html: str) -> Elements:
    parser = Elements()
    parser.feed(html)
    parser.close()
    return parser


def assert_inert(html: str) -> Elements:
    """No element of the payloads is live: no event handler, javascript: URL, foreign image,
    injected script, emphasis or heading made from them."""
    page = parse(html)
    for tag, attrs in page.tags:
        handlers = [name for name in attrs if name.lower().startswith("on")]
        assert not handlers, (tag, attrs)
        for name in ("href", "src", "action", "formaction"):
            value = (attrs.get(name) or "").strip().lower()
            if value.startswith("#"):  # a heading's own anchor: text, not a resource
                continue
            assert not value.startswith("javascript:"), (tag, attrs)
            assert "evil.example" not in value, (tag, attrs)
    assert not any("alert(" in script for script in page.scripts)
    return page


def _markdown_to_html(markdown: str) -> str:
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    return markdown2html_mistune(markdown)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_md_text_renders_as_the_literal_text(payload):
    html = _markdown_to_html(f"# Brief: {md_text(payload)}\n\nText {md_text(payload)} here.")
    page = assert_inert(html)
    tags = [tag for tag, attrs in page.tags if attrs.get("class") != "anchor-link"]
    assert sorted(tags) == ["h1", "p"], tags  # no img, a, script, em, strong, code, extra h1
    shown = " ".join(page.text)
    assert " ".join(payload.split()) in " ".join(shown.split())


def test_without_escaping_the_same_payloads_would_be_live():
    """The check above can fail: unescaped, the renderer makes live elements."""
    html = _markdown_to_html("Text " + " ".join(PAYLOADS))
    with pytest.raises(AssertionError):
        assert_inert(html)


def test_html_text_escapes_quotes_and_markup():
    assert html_text('"><img src=x onerror=alert(1)>') == (
        "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;")


def test_published_table_cells_headers_and_caption_are_text():
    frame = pd.DataFrame({PAYLOADS[0]: [PAYLOADS[1], PAYLOADS[4]], "customers": [10, 12]})
    table = publish_table(frame, lang="en", k=5, count="customers", caption=PAYLOADS[7])
    page = assert_inert(table.to_html())
    assert not {"img", "a", "b"} & {tag for tag, _ in page.tags}
    shown = "".join(page.text)
    for payload in (PAYLOADS[0], PAYLOADS[1], PAYLOADS[4], PAYLOADS[7]):
        assert payload in shown


@pytest.mark.slow
def test_brief_on_a_target_with_html_in_its_name_and_a_channel(tmp_path):
    """A whole brief: the display name and the most common channel carry payloads."""
    from _brief_fixtures import write_target
    from valuation.dataset import write_tables
    from valuation.params import load_params
    from valuation.privacy.keys import load_key
    from valuation.report.runner import run_brief
    from test_value_fixtures import synthetic_tables

    name = "Evil <img src=x onerror=alert(1)> [x](javascript:alert(3)) <script>alert(2)</script>"
    channel = "<svg onload=alert(5)>"
    path = write_target(tmp_path, "evil", n=400, replicates=5)
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw["name"] = name
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    params = load_params(path)
    tables = dict(synthetic_tables(400, 1))
    customers = tables["customers"]
    top = customers["channel"].value_counts().index[0]
    tables["customers"] = customers.assign(channel=customers["channel"].replace(top, channel))
    write_tables(tables, params, load_key(params, notify=None), action="test: payloads")

    run = run_brief(params, prepare=False, log=lambda line: None)
    html = (run.output_dir / "brief.html").read_text(encoding="utf-8")
    page = assert_inert(html)
    shown = " ".join(page.text)
    assert "Evil <img src=x onerror=alert(1)>" in shown  # the name, shown as text
    assert not any(tag == "img" and attrs.get("src") == "x" for tag, attrs in page.tags)
    assert not any(tag == "svg" and "onload" in attrs for tag, attrs in page.tags)
    assert Path(run.output_dir / "results.json").is_file()
