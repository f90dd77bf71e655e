"""``valuation brief params/<target>.yaml [--out DIR] [--lang zh|en]``: one negotiation brief."""

from __future__ import annotations

import argparse

from valuation.params import load_params


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``brief`` sub-command."""
    parser = subparsers.add_parser(
        "brief",
        help="produce the negotiation brief of one target (HTML, PDF, notebook, results.json)",
        description=(
            "Validate the target's params, run ingest + privacy gate if the analysis dataset is "
            "missing or stale, execute notebooks/brief.ipynb with papermill and publish "
            "brief.ipynb, brief.html (offline, no code), brief.pdf (A4, WeasyPrint), results.json and "
            "figures/ to outputs/<target>/ after scanning them for personal data."
        ),
    )
    parser.add_argument("params", help="the target's params YAML, e.g. params/online_school.yaml")
    parser.add_argument("--out", metavar="DIR", help="output folder (default: params paths.output_dir)")
    parser.add_argument("--lang", choices=("zh", "en"), help="language (default: report.lang)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Handle ``valuation brief``; return 0 on success (errors raise ValuationError)."""
    from valuation.report.runner import run_brief

    params = load_params(args.params)
    result = run_brief(params, out_dir=args.out, lang=args.lang)
    print("time split: " + result.timing_line())
    return 0
