"""The portfolio of a batch: the targets side by side (``portfolio.html`` and ``portfolio.csv``).

Built on the client from each brief's ``results.json`` as returned by the workers and written
into the client's own ``outputs/<target>/`` (see :mod:`valuation.batch.receive`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from valuation.fileio import atomic_path

if TYPE_CHECKING:
    from valuation.batch.outcome import TargetOutcome

PORTFOLIO_HEADERS: dict[str, str] = {
    "target": "Target", "name": "Name", "status": "Status", "side": "Side",
    "customers": "Customers", "active_customers": "Active (12 m)",
    "equity_p10": "Equity P10", "equity_p50": "Equity P50", "equity_p90": "Equity P90",
    "price_per_active_customer": "Target price per active customer",
    "quality_score": "Quality score", "consent_coverage": "Consent coverage",
    "churn_12m": "Churn within 12 m", "top_risks": "Top risks", "seconds": "Seconds",
    "error": "Error",
}
"""Readable headers of portfolio.html (portfolio.csv keeps the machine names)."""

PORTFOLIO_COLUMNS: tuple[str, ...] = (
    "target", "name", "status", "side", "customers", "active_customers",
    "equity_p10", "equity_p50", "equity_p90", "price_per_active_customer",
    "quality_score", "consent_coverage", "churn_12m", "top_risks", "seconds", "error",
)


def portfolio_table(outcomes: Sequence[TargetOutcome]) -> pd.DataFrame:
    """One row per target from its results.json headline (failed targets keep their error)."""
    from valuation.report.results import read_results

    rows = []
    for outcome in sorted(outcomes, key=lambda o: o.target):
        row: dict[str, Any] = {"target": outcome.target, "status": "ok" if outcome.ok else "failed",
                               "seconds": round(outcome.seconds, 1), "error": outcome.error}
        if outcome.ok and outcome.output_dir:
            results = read_results(Path(outcome.output_dir) / "results.json")
            head = results.get("headline", {})
            risks = head.get("top_risks") or []
            row.update(
                name=results.get("name"), side=results.get("side"),
                **{k: head.get(k) for k in PORTFOLIO_COLUMNS if k in head and k != "top_risks"},
                top_risks="; ".join(_risk_name(r) for r in risks[:3]),
            )
        rows.append(row)
    return pd.DataFrame(rows, columns=list(PORTFOLIO_COLUMNS))


def _risk_name(risk: Any) -> str:
    """A headline risk in English (the portfolio mixes briefs of both languages)."""
    from valuation.report.text import label

    if not isinstance(risk, dict):
        return str(risk)
    key = str(risk.get("risk") or "")
    if key.startswith("assumption:"):
        return label("en", "risk", "assumption").format(
            label=key.split(":", 1)[1].replace("_", " "))
    return label("en", "risk", key) if key else str(risk.get("name", ""))


def _portfolio_html(table: pd.DataFrame) -> str:
    money = ("equity_p10", "equity_p50", "equity_p90", "price_per_active_customer")
    shown = table.copy()
    for column in money:
        shown[column] = shown[column].map(lambda v: "" if pd.isna(v) else f"¥{v:,.0f}")
    for column in ("consent_coverage", "churn_12m"):
        shown[column] = shown[column].map(lambda v: "" if pd.isna(v) else f"{100 * v:.1f}%")
    for column in ("customers", "active_customers"):
        shown[column] = shown[column].map(lambda v: "" if pd.isna(v) else f"{v:,.0f}")
    shown["quality_score"] = shown["quality_score"].map(lambda v: "" if pd.isna(v) else f"{v:.0f}")
    shown = shown.fillna("").rename(columns=PORTFOLIO_HEADERS)
    body = shown.to_html(index=False, escape=True, classes="portfolio", border=0)
    failed = int((table["status"] != "ok").sum())
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Portfolio of targets</title>
<style>
body {{ font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Helvetica Neue", Arial, sans-serif;
       margin: 2em; color: #222; }}
h1 {{ color: #1f4e79; }}
table.portfolio {{ border-collapse: collapse; font-size: 0.9em; }}
table.portfolio th {{ background: #1f4e79; color: white; padding: 6px 10px; text-align: left; }}
table.portfolio td {{ border-bottom: 1px solid #ddd; padding: 5px 10px; vertical-align: top; }}
</style></head><body>
<h1>Portfolio of targets</h1>
<p>{len(table)} target(s), {failed} failed. Equity of the transferable customer base in CNY
(P10 / P50 / P90); shares in percent; churn is the Kaplan-Meier share lost within 12 months of
the first purchase. Aggregates only; each target's brief.html has the detail.</p>
{body}
</body></html>
"""


def write_portfolio(outcomes: Sequence[TargetOutcome], out_dir: str | Path) -> tuple[Path, Path]:
    """Write ``portfolio.csv`` and ``portfolio.html`` to ``out_dir``: both are scanned for
    personal data before either is moved into place, so a finding keeps the earlier files."""
    from valuation.privacy.scanner import leak_error, scan_file

    out_dir = Path(out_dir)
    table = portfolio_table(outcomes)
    paths = {"csv": out_dir / "portfolio.csv", "html": out_dir / "portfolio.html"}
    texts = {"csv": table.to_csv(index=False), "html": _portfolio_html(table)}
    with contextlib.ExitStack() as stack:
        temps = {kind: stack.enter_context(atomic_path(path)) for kind, path in paths.items()}
        findings = []
        for kind, tmp in temps.items():
            tmp.write_text(texts[kind], encoding="utf-8")
            findings += scan_file(tmp, file_type=f".{kind}", display=str(paths[kind]))
        if findings:
            raise leak_error(findings)
    return paths["html"], paths["csv"]
