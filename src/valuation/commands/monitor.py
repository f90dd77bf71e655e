"""``valuation monitor params/<target>.yaml --exports DIR``: the earn-out monitor (issue 19).

Reads the buyer's post-closing exports through the ingest and the privacy gate with the deal
key (dataset in ``<work_dir>/monitor/analysis``), the brief's ``results.json`` (the term
sheet and its forecast) and the pre-closing dataset (the transfer roster), measures the
retained customers month by month, computes the payout, and writes ``monitor.html`` and
``monitor.json`` (aggregates only, scanned) to ``<output_dir>/monitor/``.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``monitor`` sub-command."""
    parser = subparsers.add_parser(
        "monitor",
        help="after signing: measure the earn-out on the buyer's post-closing exports",
        description="Measure the earn-out metric of the brief's term sheet on the buyer's "
                    "exports after closing, compare it month by month with the brief's "
                    "forecast and its P10-P90 band, compute the payout, and write "
                    "monitor.html and monitor.json to <output_dir>/monitor/.")
    parser.add_argument("params", type=Path, help="the target's params YAML")
    parser.add_argument("--exports", type=Path, required=True,
                        help="folder of the buyer's exports (customers.*, orders.*, "
                             "activity.*: CSV, XLSX or Parquet; or one workbook)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Handle ``valuation monitor``; return the exit code."""
    from valuation.analysis import check_dataset, load_analysis
    from valuation.monitor.exports import ingest_exports
    from valuation.monitor.measure import measure, term_sheet
    from valuation.monitor.publish import monitor_document, write_monitor
    from valuation.params import load_params
    from valuation.pathsafety import check_paths
    from valuation.privacy.keys import load_key
    from valuation.report.results import read_results

    params = load_params(args.params)
    check_paths(params, ("work_dir",))
    results = read_results(params.output_dir / "results.json")
    sheet = term_sheet(results, params)
    key = load_key(params)
    check_dataset(params, key)  # the pre-closing dataset, made with this key
    pre = load_analysis(params)
    gate = ingest_exports(params, args.exports, key)
    measured = measure(pre, gate.tables, sheet, params.as_of)
    document = monitor_document(params.target, params.name, measured)
    html, _ = write_monitor(document, params.output_dir / "monitor")
    last = document["latest_retained"]
    print(f"{params.target}: {document['roster_customers']:,} transferred customers; "
          f"{document['months_observed']} of {document['months']} months observed; "
          f"retained at the last observed month: {'-' if last is None else f'{last:,}'}")
    if document["payout"]:
        print(f"payout ({document['payout']['kind']}): CNY {document['payout']['amount']:,.2f}")
    print(f"monitor: {html} (+ monitor.json)")
    return 0
