"""``valuation batch params/*.yaml|DIR [--workers N | --scheduler tcp://host:8786] [--out DIR] [--lang en|zh]``."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``batch`` sub-command."""
    parser = subparsers.add_parser(
        "batch",
        help="produce the briefs of many targets in parallel and a portfolio comparison",
        description=(
            "Run `valuation brief` for every params YAML given (files or folders), in local "
            "worker processes or on an existing Dask cluster. The params are validated here "
            "and sent to the workers as data (absolute paths); each worker checks that it can "
            "read the exports and the deal key, and sends the published files back: every "
            "brief and the portfolio end up in this machine's output folders. A failing "
            "target does not stop the others; a target whose Dask worker is lost is retried "
            "once on another worker. Exits 1 at the end if any target failed; the summary "
            "says where each ran and why any failed."
        ),
    )
    parser.add_argument("paths", nargs="+", help="params YAML files and/or folders of them")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, default=None,
                       help="local worker processes at a time (default: the number of cores)")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="address of a running Dask scheduler, e.g. tcp://host:8786")
    parser.add_argument("--out", metavar="DIR",
                        help="root output folder: DIR/<target>/ and DIR/portfolio.* "
                             "(default: each target's own output folder; portfolio beside them)")
    parser.add_argument("--lang", choices=("en", "zh"), default="en",
                        help="language of portfolio.html / portfolio.csv (default: en; each "
                             "brief keeps the language of its own params)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Handle ``valuation batch``; 0 when every target succeeded, 1 otherwise."""
    from valuation.batch import discover_params, run_batch
    from valuation.errors import ParamsError

    if args.workers is not None and args.workers < 1:
        raise ParamsError(f"--workers must be 1 or more, not {args.workers}")
    paths = discover_params(args.paths)
    report = run_batch(paths, workers=args.workers, scheduler=args.scheduler, out_root=args.out,
                       lang=args.lang)
    print(report.summary())
    return 0 if report.ok else 1
