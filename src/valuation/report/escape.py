"""One escaping helper for every string from data or params that a brief renders.

The brief's narrative is Markdown rendered to HTML (Jupyter, nbconvert) and its tables are
HTML: a company name, an operator or a channel value must show as the text it is, never as
an element (``<img onerror=...>``, ``<script>``), a link or image (``[x](javascript:...)``,
``![x](http://...)``), emphasis, a heading or MathJax (``$...$``).

:func:`md_text` is for values interpolated into Markdown; :func:`html_text` for values put
into HTML directly (table cells, headers, captions). Apply them where the value is
interpolated, never to whole sentences (which carry the brief's own Markdown).

Examples
--------
>>> md_text("<img src=x onerror=alert(1)>")
'&lt;img src=x onerror=alert\\\\(1\\\\)&gt;'
>>> html_text("A&B <b>")
'A&amp;B &lt;b&gt;'
"""

from __future__ import annotations

import html
import re

_MD_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()#+\-.!|~$^:])")
"""ASCII punctuation with a meaning in Markdown, GFM or MathJax (``<>&`` become entities)."""
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029\x0b\x0c\x85]+")


def html_text(value: object) -> str:
    """``value`` as HTML text: ``& < > " '`` as entities (for cells, headers, captions)."""
    return html.escape(str(value), quote=True)


def md_text(value: object) -> str:
    """``value`` as literal text inside Markdown that is rendered to HTML.

    Line breaks become spaces (a value cannot start a heading or a list), Markdown
    punctuation is backslash-escaped, and ``& < >`` become HTML entities, which Markdown
    passes through as text.
    """
    text = _LINE_BREAKS.sub(" ", str(value))
    text = _MD_PUNCTUATION.sub(r"\\\1", text)
    return html.escape(text, quote=False)
