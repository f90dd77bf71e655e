"""papermill runs of the brief (en/zh, buyer/seller): results.json, HTML, PDF, safety.

Each brief runs once per module (module-scoped fixture) on a synthetic target of this test's
own folder, so parallel workers never share kernels or output folders.
"""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path

import nbformat
import pytest

from _brief_fixtures import KNOWN_PERSONAL, write_target
from valuation.errors import BriefExecutionError
from valuation.privacy.scanner import assert_clean
from valuation.report import results
from valuation.report.runner import notebook_timings, run_brief
from valuation.report.sections import section_titles

FIGURES = {"value_bridge", "value_range", "tornado", "km_curves", "hazard_forest",
           "cohort_heatmap", "tracking", "clv_by_tier"}


@pytest.fixture(scope="module")
def briefs(tmp_path_factory):
    """Two executed briefs: English for the buyer (no PDF asked for in ``report.formats``),
    Chinese for the seller (every format, the PDF included)."""
    runs = {}
    for lang, side in (("en", "buyer"), ("zh", "seller")):
        root = tmp_path_factory.mktemp(f"brief_{lang}")
        formats = ["html", "ipynb", "json"] if lang == "en" else None
        params = write_target(root, f"school_{lang}", side=side, lang=lang, formats=formats)
        lines: list[str] = []
        with _stderr_of_this_process_and_its_children(root / "stderr.txt"):
            run = run_brief(params, prepare=False, log=lines.append)
        runs[lang] = (run, lines, root)
    return runs


@contextlib.contextmanager
def _stderr_of_this_process_and_its_children(path: Path):
    """Capture file descriptor 2 (the brief's kernel writes its warnings there)."""
    import os
    import sys

    sys.stderr.flush()
    saved = os.dup(2)
    with open(path, "wb") as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield path
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_brief_publishes_every_file(briefs, lang):
    run, lines, _ = briefs[lang]
    names = {p.name for p in run.output_dir.iterdir()}
    assert {"brief.ipynb", "brief.html", "results.json", "figures"} <= names
    assert FIGURES <= {p.stem for p in (run.output_dir / "figures").glob("*.png")}
    assert not [p for p in run.output_dir.parent.iterdir() if ".staging-" in p.name]
    assert {"kernel_start", "compute", "export"} <= set(run.timings)
    assert "kernel start" in lines[-1] and "compute" in lines[-1] and "export" in lines[-1]


@pytest.mark.parametrize("lang,side", [("en", "buyer"), ("zh", "seller")])
def test_results_json_holds_consistent_headline_numbers(briefs, lang, side):
    run, _, _ = briefs[lang]
    data = results.read_results(run.output_dir / "results.json")
    head = data["headline"]
    assert data["lang"] == lang and data["side"] == side
    assert set(head) == set(results.HEADLINE_KEYS)
    assert head["customers"] == 300
    assert head["equity_p10"] <= head["equity_p50"] <= head["equity_p90"]
    assert 0 < head["consent_coverage"] < 1
    assert 0 <= head["quality_score"] <= 100
    prices = (head["anchor_price"], head["target_price"], head["walk_away_price"])
    # a buyer anchors low and walks away high; a seller the reverse
    assert list(prices) == sorted(prices, reverse=(side == "seller"))
    assert len(head["top_risks"]) == 3
    bridge = data["valuation"]["bridge"]
    at = [row["kind"] for row in bridge].index("total")  # scenarios may follow the total
    total = bridge[at]["amount"]
    steps = sum(row["amount"] for row in bridge[:at])
    assert total == pytest.approx(steps, abs=0.05)
    # issue 16: both ranges, positions with reasons, implied assumptions, the term sheet
    plan = data["negotiation"]
    assert head["equity_p10"] < head["equity_p10_model_only"] or \
        head["equity_p90"] > head["equity_p90_model_only"]
    assert plan["range"]["model_only"]["p10"] == pytest.approx(head["equity_p10_model_only"])
    assert {"anchor", "target", "walk_away"} <= set(plan["positions"]["reasons"])
    assert plan["positions"]["concessions"] and plan["implied_assumptions"]
    assert plan["earn_out_term_sheet"]["status"] == head["earn_out_status"]
    assert {"contacted", "net"} <= set(plan["reconsent"])
    assert total == pytest.approx(head["equity_point"], abs=0.5)
    assert data["run"]["timings_s"]["compute"] > 0


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_html_has_every_section_and_no_code(briefs, lang):
    run, _, _ = briefs[lang]
    html = (run.output_dir / "brief.html").read_text(encoding="utf-8")
    body = re.sub(r"<(script|style)[\s\S]*?</\1>", "", html)
    for title in section_titles(lang):
        assert title in body, title
    assert 'class="jp-InputArea' not in body and "jp-InputPrompt" not in body
    assert "In&nbsp;[" not in body and "Out[" not in body
    assert "import " not in body and "sections." not in body
    assert "交接清单" in html


def test_chinese_brief_reads_in_chinese(briefs):
    html = (briefs["zh"][0].output_dir / "brief.html").read_text(encoding="utf-8")
    assert "执行摘要" in html and "卖方" in html and "买方出价" in html
    assert "Executive summary" not in html
    body = re.sub(r"<(script|style)[\s\S]*?</\1>", "", html)
    # translated labels, never the stages' identifiers or their English labels
    assert "已同意转让且可联系" in body and "客户资产总额（全部客户）" in body
    for raw in ("transferable_contactable", "consent_gap", "Gross customer equity",
                "assumption:", "channel["):
        assert raw not in body, raw


def _visible(html: str) -> str:
    return re.sub(r"<(script|style)[\s\S]*?</\1>", "", html)


def test_published_tables_hide_the_index_and_format_money_and_shares(briefs):
    body = _visible((briefs["en"][0].output_dir / "brief.html").read_text(encoding="utf-8"))
    assert "row_heading" not in body and 'class="blank' not in body  # no DataFrame index
    assert "Transfer consent given" in body and "transferable_contactable" not in body
    assert re.search(r"−¥\d{1,3}(,\d{3})+<", body)  # a bridge deduction: ¥ and separators
    assert re.search(r">\d{1,3}\.\d%<", body)  # a share as a percentage
    assert "Value of the transferable base" in body
    assert "Consent gap" in body or "Data quality" in body  # risks by their human names


def test_headline_numbers_come_from_the_stage_apis(briefs):
    data = results.read_results(briefs["en"][0].output_dir / "results.json")
    head = data["headline"]
    # BG/NBD alive customers from valuation.activity.expected_active_customers; the headline
    # active count in 12 months from the valuation's survival-based retention
    outlook = data["activity"]["outlook"]
    assert head["expected_alive_12m_bgnbd"] == pytest.approx(outlook[-1]["expected_alive"])
    expected = data["valuation"]["expected_active_12m"]
    assert head["expected_active_12m"] == pytest.approx(expected["all_current_owner"])
    assert 0 < head["expected_active_12m"] <= head["active_customers"] <= head["customers"]
    # validation from valuation.validation: holdout totals match the by-frequency table
    validation = data["validation"]
    assert validation["skipped"] is None
    by_freq = validation["by_frequency"]
    actual = sum(row["customers"] * row["actual"] for row in by_freq)
    assert actual == pytest.approx(validation["metrics"]["holdout_actual"], rel=1e-9)
    assert 0 < head["churn_12m"] < 1


def test_no_personal_data_in_any_output(briefs):
    for run, _, _ in briefs.values():
        assert_clean([run.output_dir])
        for path in run.output_dir.rglob("*"):
            if path.is_file() and path.suffix in {".html", ".json", ".ipynb"}:
                text = path.read_text(encoding="utf-8")
                for value in KNOWN_PERSONAL:
                    assert value not in text, (path.name, value[:3])


def test_executed_notebook_records_the_parameters_and_timings(briefs):
    run, _, root = briefs["en"]
    nb = nbformat.read(run.output_dir / "brief.ipynb", as_version=4)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and "lang = \"en\"" in injected[0].source
    assert str(root) in injected[0].source  # the analysis dataset path, never raw data
    timings = notebook_timings(nb)
    assert timings["kernel_start"] >= 0 and timings["compute"] > 0


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_kernel_talks_over_ipc_and_prints_no_tcp_warning(briefs, lang):
    stderr = (briefs[lang][2] / "stderr.txt").read_text(encoding="utf-8", errors="replace")
    assert "TCP" not in stderr, stderr[-500:]
    assert "findfont" not in stderr and "Traceback" not in stderr


def latin_words_outside(html: str, allowed: set[str]) -> list[str]:
    """Latin-script words of the visible brief before its reference list that are not in
    ``allowed`` (hashes, i.e. hex runs with a digit, are not words)."""
    from html.parser import HTMLParser

    class Text(HTMLParser):
        def __init__(self):
            super().__init__()
            self.parts, self.skip = [], 0

        def handle_starttag(self, tag, attrs):
            self.skip += tag in ("script", "style", "title")

        def handle_endtag(self, tag):
            self.skip -= tag in ("script", "style", "title")

        def handle_data(self, data):
            if not self.skip:
                self.parts.append(data)

    parser = Text()
    parser.feed(html)
    text = "\n".join(parser.parts)
    text = text.split("参考文献")[0]  # the reference list stays in its original language
    words = re.findall(r"[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*", text)
    return sorted({w for w in words if len(w) > 1 and w not in allowed
                   and not re.fullmatch(r"P\d{1,3}", w)  # percentiles (P10, P100)
                   and not (re.fullmatch(r"[0-9a-f]+", w) and re.search(r"\d", w))})


TECHNICAL_TERMS = {"BG", "NBD", "Pareto", "Gamma", "Gamma-Gamma", "Kaplan-Meier", "Kaplan", "Meier", "Cox",
                   "Weibull", "HMAC-SHA256", "HMAC", "SHA-256", "SHA", "PIPL", "P10", "P50",
                   "P90", "jsonl", "BH", "Benjamini-Hochberg"}
"""Terms a Chinese deal team reads in English (models, hashes, percentiles, the law)."""


def test_chinese_brief_has_no_english_outside_technical_terms(briefs):
    from valuation.report.text import REFERENCES

    run, _, root = briefs["zh"]
    authors = {w for ref in REFERENCES for w in re.findall(r"[A-Z][a-zA-Z]+", ref.split(" (")[0])}
    target_words = set(re.findall(r"[A-Za-z0-9]+", "Synthetic school school_zh"))  # from params
    html = (run.output_dir / "brief.html").read_text(encoding="utf-8")
    assert latin_words_outside(html, TECHNICAL_TERMS | authors | target_words) == []
    # the figures are labelled in Chinese too (no fallback to English, no notice)
    assert results.read_results(run.output_dir / "results.json")["figure_notice"] is None
    # the check finds English when there is some
    planted = html.replace("执行摘要", "Executive summary")
    assert latin_words_outside(planted, TECHNICAL_TERMS | authors | target_words) == [
        "Executive", "summary"]


def test_chinese_brief_writes_money_in_wan_and_dates_in_chinese(briefs):
    body = _visible((briefs["zh"][0].output_dir / "brief.html").read_text(encoding="utf-8"))
    assert re.search(r"¥\d+(\.\d)?万", body)  # text: ¥318.2万
    assert re.search(r"¥[\d,]+\.\d\d万<", body)  # tables: ¥318.24万
    assert not re.search(r"¥\d{1,3}(,\d{3}){2,}", body)  # never ¥3,182,438
    assert re.search(r"20\d\d年\d{1,2}月\d{1,2}日", body)
    text = re.sub(r"<[^>]+>", " ", body)  # text only (figures are base64 in attributes)
    assert not re.search(r"\d+(\.\d+)?[mk]\b", text)


def test_report_formats_decide_whether_a_pdf_is_written(briefs):
    assert not (briefs["en"][0].output_dir / "brief.pdf").exists()
    assert not briefs["en"][0].notices
    assert (briefs["zh"][0].output_dir / "brief.pdf").read_bytes()[:5] == b"%PDF-"


def test_chinese_pdf_is_a4_and_embeds_the_cjk_font(briefs):
    from test_export import A4_PT, _pdf_text

    data = _pdf_text((briefs["zh"][0].output_dir / "brief.pdf").read_bytes())
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", data)
    assert boxes and all((float(w), float(h)) == pytest.approx(A4_PT, abs=0.5) for w, h in boxes)
    fonts = {f.decode() for f in re.findall(rb"/FontName\s*/([^\s/\]>]+)", data)}
    assert any("NotoSansCJKSC" in f.replace("-", "") for f in fonts), fonts


def test_failed_brief_keeps_earlier_outputs_and_the_partial_notebook(briefs, tmp_path):
    run, _, root = briefs["en"]
    before = {p: p.stat().st_mtime_ns for p in run.output_dir.rglob("*") if p.is_file()}
    broken = tmp_path / "broken.ipynb"
    nb = nbformat.read(Path(run.output_dir / "brief.ipynb"), as_version=4)
    source = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell('params_path = ""', metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("import os\nprint('aggregate 42', os.path.basename(os.getcwd()))"),
        nbformat.v4.new_code_cell("raise RuntimeError('planted failure')"),
    ], metadata=nb.metadata)
    nbformat.write(source, broken)
    with pytest.raises(BriefExecutionError, match="planted failure") as caught:
        run_brief(root / "school_en.yaml", prepare=False, notebook=broken, log=lambda _: None)
    after = {p: p.stat().st_mtime_ns for p in run.output_dir.rglob("*") if p.is_file()}
    assert after == before
    kept = Path(caught.value.partial_notebook)
    assert kept.is_file() and root / "work" in kept.parents
    text = kept.read_text(encoding="utf-8")
    assert "aggregate 42" in text
    assert ".school_en.staging-" in text  # the kernel ran inside the private staging folder


def test_results_refuse_unknown_headline_keys_and_store_nan_as_null(tmp_path):
    with pytest.raises(Exception, match="unknown headline key"):
        results.build_results(target="t", name="n", as_of="2025-01-01", side="buyer",
                              lang="en", headline={"equity": 1})
    doc = results.build_results(target="t", name="n", as_of="2025-01-01", side="buyer",
                                lang="en", headline={"equity_p50": float("nan")})
    path = results.write_results(doc, tmp_path / "results.json")
    assert json.loads(path.read_text())["headline"]["equity_p50"] is None


def test_cli_brief_validates_params_before_running(tmp_path, capsys):
    from valuation.cli import main

    bad = tmp_path / "bad.yaml"
    bad.write_text("target: x\nunknown_key: 1\n", encoding="utf-8")
    assert main(["brief", str(bad)]) == 2
    assert "unknown_key" in capsys.readouterr().err


def test_scope_counts_the_data_as_delivered_before_cleaning():
    from test_quality import defect_rows, make_params, to_tables

    from valuation.quality import clean_tables, review
    from valuation.report.sections import dataset_scope

    tables = to_tables(defect_rows())
    params = make_params()
    scope = dataset_scope(tables, params)
    cleaned = clean_tables(tables, params, review(tables, params)).tables
    assert (scope.customers, scope.orders, scope.events, scope.feedback) == tuple(
        len(tables[t]) for t in ("customers", "orders", "activity", "feedback"))
    assert scope.customers > len(cleaned["customers"])  # the review's exclusions still counted
    assert scope.cohorts["customers"].sum() >= scope.customers  # cohorts overlap
    assert scope.last is not None and scope.last <= params.as_of  # future dates not the scope
