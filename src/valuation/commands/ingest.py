"""``valuation ingest params/<target>.yaml [--quarantine]``: read, summarise, privacy gate.

Reads a target's exports into canonical tables (secure zone), prints a summary that holds
no personal value, then runs the privacy gate, which writes the token-only analysis
dataset and prints where it went and the consent cohorts.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from valuation.ingest import format_summary, read_exports, summarize
from valuation.params import load_params


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``ingest`` sub-command."""
    parser = subparsers.add_parser(
        "ingest",
        help="read a target's exports, print a summary and write the analysis dataset",
        description="Read the exports named in a params YAML into canonical tables, print a "
                    "summary (rows, date range, customers, revenue, refunds), then run the "
                    "privacy gate. Input files are never modified.",
    )
    parser.add_argument("params", type=Path, help="the target's params YAML")
    parser.add_argument(
        "--quarantine", action="store_true",
        help="set rows with unparseable values aside (reported) instead of stopping")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Handle ``valuation ingest``; return the exit code."""
    from valuation.pathsafety import check_paths

    params = load_params(args.params)
    check_paths(params, ("work_dir",))  # before anything is read: see valuation.pathsafety
    result = read_exports(params, quarantine=args.quarantine)
    print(f"target: {params.target}")
    print(format_summary(summarize(result)))

    from valuation.privacy.gate import run_gate
    from valuation.privacy.keys import load_key

    key = load_key(params)
    gate = run_gate(result, params, key)
    print("analysis dataset:")
    for table, path in gate.paths.items():
        print(f"  {table}: {path}")
    print("consent cohorts (customers):")
    for cohort, count in gate.cohort_counts.items():
        print(f"  {cohort:<32} {count:>12,}")
    return 0
