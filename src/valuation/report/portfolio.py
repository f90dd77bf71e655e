"""The portfolio: every target of a batch side by side (``portfolio.html`` and ``.csv``).

Input is the list of per-target results, as read from each ``outputs/<target>/results.json``
(:func:`valuation.report.results.read_results`), plus what only the caller knows, as extra
keys of each dict:

``brief_path``
    Where that target's ``brief.html`` is (linked from the page by a relative path).
``status`` / ``error`` / ``seconds``
    A failed target is ``{"target": ..., "status": "failed", "error": "..."}`` (the error
    already masked by the batch); ``seconds`` is its run time.

Per target the page shows the counterparty's price, P10 / P50 / P90, our positions (anchor,
target, walk-away), the gap between the price on the table and our walk-away, the quality
score, the consent coverage, the three biggest risks in words and a link to the brief.

Safety: the HTML comes from a Jinja2 template with autoescaping (every value is escaped,
nothing is concatenated into markup). In the CSV, a text cell starting with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return -- which a spreadsheet would run as a formula -- is
prefixed with a single quote (``'=1+1``), the OWASP advice against CSV injection; numbers
stay numbers. Both files are scanned for personal data and moved into place only when both
are clean, so a finding keeps the earlier files.
"""

from __future__ import annotations

import contextlib
import csv
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd

from valuation.fileio import atomic_path
from valuation.report import formatting as F
from valuation.report.text import label

CSV_COLUMNS: tuple[str, ...] = (
    "target", "name", "status", "side", "as_of", "asking_price", "equity_p10", "equity_p50",
    "equity_p90", "anchor_price", "target_price", "walk_away_price", "gap_to_walk_away",
    "agreement_zone", "quality_score", "consent_coverage", "customers", "active_customers",
    "churn_12m", "top_risks", "brief", "seconds", "error",
)
"""Columns of portfolio.csv (machine names, raw numbers)."""

FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")
"""A text cell starting with one of these is neutralised in the CSV."""

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Portfolio of targets", "target": "Target", "side": "We advise",
        "asking_price": "Counterparty price", "range": "Equity P10 / P50 / P90",
        "positions": "Anchor / target / walk-away", "gap": "Gap to walk-away",
        "quality_score": "Quality score", "consent_coverage": "Consent coverage",
        "top_risks": "Biggest risks", "brief": "Brief", "open_brief": "Open brief",
        "failed": "Failed", "buyer": "buyer", "seller": "seller",
        "intro": "{n} target(s), {failed} failed. Values of the transferable customer base; "
                 "aggregates only. Each brief has the detail.",
        "zone_yes": "agreement possible", "zone_no": "no agreement zone",
        "no_price": "no price yet",
        "footnote": "Gap: how far the price on the table is from our walk-away price (a buyer "
                    "needs the seller to come down by it, a seller needs the buyer to come up "
                    "by it); 0 when an agreement is possible. Consent coverage: share of "
                    "customers who consented to the transfer.",
    },
    "zh": {
        "title": "标的组合一览", "target": "标的", "side": "我方立场",
        "asking_price": "对方报价", "range": "估值 P10 / P50 / P90",
        "positions": "开价 / 目标价 / 底线", "gap": "与底线的差距",
        "quality_score": "数据质量得分", "consent_coverage": "转让同意覆盖率",
        "top_risks": "主要风险", "brief": "简报", "open_brief": "打开简报",
        "failed": "失败", "buyer": "买方", "seller": "卖方",
        "intro": "共 {n} 个标的，其中 {failed} 个失败。数值为可转让客户资产的价值，仅含汇总数据；"
                 "详情见各标的简报。",
        "zone_yes": "可达成一致", "zone_no": "无成交区间", "no_price": "尚无报价",
        "footnote": "与底线的差距：对方价格与我方底线之间的差额（买方需对方降价、卖方需对方加价的幅度）；"
                    "可达成一致时为 0。转让同意覆盖率：同意转让的客户占比。",
    },
}


def neutralise_cell(value: Any) -> Any:
    """A CSV cell a spreadsheet will not run: text starting with a formula character gets a
    leading single quote; anything else (numbers included) is returned unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def risk_words(risk: Any, lang: str = "en") -> str:
    """A headline risk (``{"risk": "consent_gap", ...}``) in words, never its code."""
    if not isinstance(risk, Mapping):
        return str(risk)
    key = str(risk.get("risk") or "")
    if key.startswith("assumption:"):
        name = key.split(":", 1)[1]
        default = name.replace("_", " ")
        return label(lang, "risk", "assumption").format(
            label=label(lang, "assumption", name, default=default))
    if key:
        return label(lang, "risk", key, default=str(risk.get("name") or key.replace("_", " ")))
    return str(risk.get("name", ""))


def _brief_href(brief_path: Any, out_dir: Path) -> str | None:
    """The brief's path relative to the portfolio's folder, URL-quoted (never absolute)."""
    if not brief_path:
        return None
    relative = os.path.relpath(Path(brief_path).resolve(), out_dir.resolve())
    return quote(Path(relative).as_posix())


def portfolio_frame(entries: Sequence[Mapping[str, Any]], out_dir: str | Path = ".",
                    lang: str = "en") -> pd.DataFrame:
    """One row per target with the :data:`CSV_COLUMNS` (raw numbers, risks in words).

    Parameters
    ----------
    entries : sequence of dict
        Per-target results.json dicts, or failure records (see the module docstring).
    out_dir : path
        The portfolio's folder (the brief links are relative to it).
    lang : {"en", "zh"}
        Language of the risk words.
    """
    out_dir = Path(out_dir)
    rows = []
    for entry in sorted(entries, key=lambda e: str(e.get("target", ""))):
        ok = entry.get("status", "ok") == "ok" and "headline" in entry
        head = entry.get("headline") or {}
        zone = ((entry.get("valuation") or {}).get("zone")) or {}
        row: dict[str, Any] = {
            "target": entry.get("target"), "name": entry.get("name") or entry.get("target"),
            "status": "ok" if ok else "failed", "side": entry.get("side"),
            "as_of": entry.get("as_of"), "seconds": entry.get("seconds"),
            "error": None if ok else (entry.get("error") or "failed"),
            "brief": _brief_href(entry.get("brief_path"), out_dir) if ok else None,
        }
        if ok:
            row.update({k: head.get(k) for k in (
                "asking_price", "equity_p10", "equity_p50", "equity_p90", "anchor_price",
                "target_price", "walk_away_price", "quality_score", "consent_coverage",
                "customers", "active_customers", "churn_12m")})
            row["gap_to_walk_away"] = zone.get("gap")
            row["agreement_zone"] = zone.get("exists")
            row["top_risks"] = "; ".join(risk_words(r, lang) for r in (head.get("top_risks") or [])[:3])
        rows.append(row)
    return pd.DataFrame(rows, columns=list(CSV_COLUMNS))


def portfolio_csv(frame: pd.DataFrame) -> str:
    """The CSV text, every text cell neutralised (:func:`neutralise_cell`)."""
    safe = frame.copy()
    for column in safe.columns:
        if safe[column].dtype == object:
            safe[column] = safe[column].map(neutralise_cell)
    # every text cell quoted: a carriage return inside a cell must never end the row
    return safe.to_csv(index=False, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)


def _shown_rows(frame: pd.DataFrame, lang: str) -> list[dict[str, Any]]:
    words = WORDS[lang]
    money = lambda v: F.format_money(v, lang) if pd.notna(v) else "–"  # noqa: E731
    rows = []
    for record in frame.to_dict(orient="records"):
        zone = record.get("agreement_zone")
        if record.get("asking_price") is None or pd.isna(record.get("asking_price")):
            gap_note, zone_class = words["no_price"], "none"
        else:
            gap_note = words["zone_yes"] if zone else words["zone_no"]
            zone_class = "yes" if zone else "no"
        rows.append({
            **{k: ("" if v is None or (isinstance(v, float) and pd.isna(v)) else v)
               for k, v in record.items()},
            "side": words.get(str(record.get("side")), record.get("side") or ""),
            **{k: money(record.get(k)) for k in (
                "asking_price", "equity_p10", "equity_p50", "equity_p90", "anchor_price",
                "target_price", "walk_away_price")},
            "gap": money(record.get("gap_to_walk_away")) if zone_class != "none" else "–",
            "gap_note": gap_note, "zone": zone_class,
            "quality_score": F.format_number(record.get("quality_score"), lang, 0),
            "consent_coverage": F.format_share(record.get("consent_coverage"), lang),
            "top_risks": [r for r in str(record.get("top_risks") or "").split("; ") if r],
            "brief_href": record.get("brief") or None,
        })
    return rows


def portfolio_html(frame: pd.DataFrame, lang: str = "en") -> str:
    """The page, from ``templates/portfolio.html.j2`` with autoescaping on."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(loader=FileSystemLoader(Path(__file__).with_name("templates")),
                      autoescape=True, undefined=StrictUndefined)
    words = dict(WORDS[lang])
    failed = int((frame["status"] != "ok").sum()) if len(frame) else 0
    words["intro"] = words["intro"].format(n=len(frame), failed=failed)
    return env.get_template("portfolio.html.j2").render(
        lang=lang, t=words, rows=_shown_rows(frame, lang))


def write_portfolio(entries: Sequence[Mapping[str, Any]], out_dir: str | Path, *,
                    lang: str = "en") -> tuple[Path, Path]:
    """Write ``portfolio.html`` and ``portfolio.csv`` to ``out_dir`` atomically.

    Both are scanned for personal data before either is moved into place, so a finding
    keeps the earlier files.

    Returns
    -------
    (Path, Path)
        The HTML and the CSV.

    Raises
    ------
    LeakError
        The scanner found personal data; nothing was written.
    """
    from valuation.privacy.scanner import leak_error, scan_file

    out_dir = Path(out_dir)
    frame = portfolio_frame(entries, out_dir, lang)
    paths = {"csv": out_dir / "portfolio.csv", "html": out_dir / "portfolio.html"}
    texts = {"csv": portfolio_csv(frame), "html": portfolio_html(frame, lang)}
    with contextlib.ExitStack() as stack:
        temps = {kind: stack.enter_context(atomic_path(path)) for kind, path in paths.items()}
        findings = []
        for kind, tmp in temps.items():
            tmp.write_text(texts[kind], encoding="utf-8")
            findings += scan_file(tmp, file_type=f".{kind}", display=str(paths[kind]))
        if findings:
            raise leak_error(findings)
    return paths["html"], paths["csv"]
