"""``monitor.html`` and ``monitor.json``: rendered, scanned, then moved into place together.

Both are written to a staging folder inside ``<output_dir>/monitor``, scanned with the
privacy scanner, and only then replace the earlier files; a finding or a failure keeps the
earlier monitor outputs. The page is rendered by Jinja2 with autoescaping, has no script and
loads nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from valuation.privacy.scanner import leak_error, scan_file
from valuation.report.results import to_jsonable

TEMPLATES = Path(__file__).resolve().parent.parent / "report" / "templates"
BAND_NOTES = {
    "combined_draws": "the brief's combined draws (model, assumptions, Kaplan-Meier error) and "
                      "a binomial count, at a constant monthly hazard to the measurement date.",
    "binomial_only": "binomial only around the brief's expected count (its results.json "
                     "holds no forecast curve): narrower than the real uncertainty.",
}


def monitor_document(target: str, name: str, measured: dict) -> dict:
    """The JSON document (aggregates only)."""
    return to_jsonable({"target": target, "name": name, "kind": "earn_out_monitor",
                        **measured})


def monitor_html(document: dict) -> str:
    """The page (autoescaped)."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True,
                      undefined=StrictUndefined)
    rows = []
    for row in document["by_month"]:
        r = dict(row)
        r["retention_text"] = ("—" if r.get("retention") is None
                               else f"{100 * r['retention']:.1f}%")
        rows.append(r)
    return env.get_template("monitor.html.j2").render(
        name=document["name"], target=document["target"], m=document, rows=rows,
        p=document.get("payout"), band_note=BAND_NOTES.get(document["band"], ""))


def write_monitor(document: dict, out_dir: str | Path) -> tuple[Path, Path]:
    """Write ``monitor.html`` and ``monitor.json`` into ``out_dir`` atomically, scanned.

    Raises
    ------
    LeakError
        A file holds a personal identifier; nothing is kept.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-monitor-", dir=out))
    try:
        texts = {"monitor.json": json.dumps(document, ensure_ascii=False, indent=2,
                                            allow_nan=False) + "\n",
                 "monitor.html": monitor_html(document)}
        findings = []
        for filename, text in texts.items():
            (staging / filename).write_text(text, encoding="utf-8")
            findings += scan_file(staging / filename, display=str(out / filename))
        if findings:
            raise leak_error(findings)
        for filename in texts:
            os.replace(staging / filename, out / filename)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out / "monitor.html", out / "monitor.json"
