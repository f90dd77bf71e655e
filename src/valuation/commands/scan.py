"""``valuation scan PATH...``: look for personal data in files before they leave."""

from __future__ import annotations

import argparse
from collections import Counter

from valuation.privacy.scanner import scan_path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``scan`` command."""
    parser = subparsers.add_parser(
        "scan",
        help="find personal identifiers in files or folders (exit 1 on findings)",
        description=(
            "Scan files or folders (recursively) for personal identifiers in every spelling "
            "the workbench knows: mainland mobiles (separators, +86/0086, full-width digits, "
            "zero-width characters, glued to labels such as wx/tel/微信), resident ID numbers "
            "(18 and 15 digits, separators, lower-case x), e-mails (Chinese domains and local "
            "parts, [at]/(at)/dot spellings), labelled QQ numbers and WeChat IDs. Reads "
            "Parquet, CSV, JSON, JSON Lines (logs), notebooks, HTML, SVG, XML, PNG text "
            "chunks, XLSX, Markdown and text. Prints each finding (values masked) and counts "
            "by kind. Exit status: 0 clean, 1 personal data found, 2 bad input (a path "
            "that does not exist)."
        ),
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="files or folders to scan")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print every finding (masked) and counts by kind; return 0 when clean, 1 otherwise."""
    findings = []
    for path in args.paths:
        findings += scan_path(path)
    for finding in findings:
        print(finding)
    if findings:
        files = len({f.file for f in findings})
        counts = Counter(f.kind for f in findings)
        by_kind = ", ".join(f"{kind} {n}" for kind, n in sorted(counts.items()))
        print(f"{len(findings)} finding(s) of personal data in {files} file(s) ({by_kind}); "
              "values masked.")
        return 1
    print(f"clean: no personal data found in {', '.join(args.paths)}")
    return 0
