"""``valuation batch params/*.yaml|DIR [--workers N] [--scheduler tcp://host:8786]``."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``batch`` sub-command."""
    parser = subparsers.add_parser(
        "batch",
        help="produce the briefs of many targets in parallel and a portfolio comparison",
        description=(
            "Run `valuation brief` for every params YAML given (files or folders), in local "
            "worker processes or on an existing Dask cluster. A failing target does not stop "
            "the others; the batch exits 1 at the end if any failed. Writes portfolio.html and "
            "portfolio.csv comparing the targets."
        ),
    )
    parser.add_argument("paths", nargs="+", help="params YAML files and/or folders of them")
    parser.add_argument("--workers", type=int, default=None,
                        help="local worker processes (default: the number of cores)")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="address of a running Dask scheduler, e.g. tcp://host:8786")
    parser.add_argument("--out", metavar="DIR",
                        help="root output folder: DIR/<target>/ and DIR/portfolio.* "
                             "(default: each target's own output folder; portfolio beside them)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Handle ``valuation batch``; 0 when every target succeeded, 1 otherwise."""
    from valuation.batch import discover_params, run_batch

    paths = discover_params(args.paths)
    report = run_batch(paths, workers=args.workers, scheduler=args.scheduler, out_root=args.out)
    print(report.summary())
    return 0 if report.ok else 1
