"""``valuation scan PATH...``: look for personal data in files before they leave."""

from __future__ import annotations

import argparse

from valuation.privacy.scanner import scan_path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``scan`` command."""
    parser = subparsers.add_parser(
        "scan",
        help="find mobiles, ID numbers and e-mails in files or folders (exit 2 on findings)",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="files or folders to scan")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print every finding (masked); return 0 when clean, 2 otherwise."""
    findings = []
    for path in args.paths:
        findings += scan_path(path)
    for finding in findings:
        print(finding)
    if findings:
        files = len({f.file for f in findings})
        print(f"{len(findings)} finding(s) of personal data in {files} file(s); values masked.")
        return 2
    print(f"clean: no personal data found in {', '.join(args.paths)}")
    return 0
