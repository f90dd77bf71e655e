"""``valuation review params/<target>.yaml``: the data review of a target's analysis dataset.

Prints the checks table (authenticity 真实性, completeness 完整性, consistency 一致性), the
quality score and the valuation haircut. ``--json PATH`` also writes the report (counts and
shares only) atomically, after scanning it for personal data. The analysis dataset must exist:
``valuation ingest <yaml>`` builds it (otherwise the command says so and exits 2).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from valuation.analysis import load_analysis
from valuation.fileio import atomic_path
from valuation.params import load_params
from valuation.privacy.scanner import leak_error, scan_file
from valuation.quality import QualityReport, review
from valuation.quality.report import SEVERITY_ZH, TREATMENT_ZH, UNIT_ZH

_HEADERS_ZH = {
    "check": "检查项", "group_zh": "类别", "unit": "单位", "failed": "问题数",
    "share_of_customers": "学员占比", "share_of_revenue": "收入占比", "severity": "严重度",
    "treatment": "处理",
}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``review`` sub-command."""
    parser = subparsers.add_parser(
        "review",
        help="review the analysis data: authenticity, completeness, consistency",
        description="Run the data review checks on a target's analysis dataset and print the "
                    "checks, the quality score and the valuation haircut.",
    )
    parser.add_argument("params", type=Path, help="the target's params YAML")
    parser.add_argument("--json", type=Path, metavar="PATH",
                        help="also write the report (counts and shares only) as JSON")
    parser.add_argument("--lang", choices=("en", "zh"), default=None,
                        help="language of the summary (default: report.lang of the params)")
    parser.set_defaults(func=run)


def write_report_json(report: QualityReport, path: Path) -> Path:
    """Write the report JSON atomically; scanned for personal data before it is kept."""
    text = json.dumps(report.to_json_dict(), ensure_ascii=False, indent=2) + "\n"
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
        findings = scan_file(tmp, file_type=".json", display=str(path))
        if findings:
            raise leak_error(findings)
    return path


def format_checks(report: QualityReport, lang: str = "en") -> str:
    """The checks table as aligned text, shares in percent."""
    table = report.to_frame()
    for column in ("share_of_customers", "share_of_revenue"):
        table[column] = table[column].map(lambda share: f"{share:.1%}")
    if lang == "zh":
        table["unit"] = table["unit"].map(UNIT_ZH)
        table["severity"] = table["severity"].map(SEVERITY_ZH)
        table["treatment"] = table["treatment"].map(TREATMENT_ZH)
        table = table[list(_HEADERS_ZH)].rename(columns=_HEADERS_ZH)
    else:
        table = table[["check", "group", "unit", "failed", "share_of_customers",
                       "share_of_revenue", "severity", "treatment"]]
    return table.to_string(index=False)


def run(args: argparse.Namespace) -> int:
    """Handle ``valuation review``; returns the exit code (0)."""
    params = load_params(args.params, check_files=False)
    lang = args.lang or params.report.lang
    from valuation.analysis import AnalysisFiles, check_dataset
    from valuation.privacy.keys import load_key

    AnalysisFiles(params)  # no dataset: says to run ingest (before asking for the key)
    check_dataset(params, load_key(params))  # logged, intact, made with this key
    report = review(load_analysis(params), params)  # says to run ingest when missing
    print(format_checks(report, lang))
    print()
    print(report.summary(lang))
    if args.json is not None:
        write_report_json(report, args.json)
        print(f"\n{'报告已写入' if lang == 'zh' else 'report written to'} {args.json}")
    return 0
