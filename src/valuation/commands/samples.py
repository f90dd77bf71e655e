"""``valuation samples``: write the sample targets (or large benchmark targets)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from valuation.samples import DEFAULT_SEED, TARGETS, write_samples

DEFAULT_OUT = Path("data/samples")
BENCH_OUT = Path("benchmarks/data")
ADVERSARIAL_OUT = Path("data/samples/adversarial")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``samples`` sub-command."""
    parser = subparsers.add_parser(
        "samples",
        help="write the fictional sample targets with their ground truth",
        description=(
            "Write deterministic sample targets (one folder each, with ground_truth.json). "
            "Without --customers the committed samples are written to data/samples; with "
            "--customers N large targets for benchmarks go to benchmarks/data (git-ignored)."
        ),
    )
    parser.add_argument("--out", type=Path, default=None,
                        help="parent folder (default: data/samples, or benchmarks/data with --customers)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    parser.add_argument("--target", choices=sorted(TARGETS), action="append",
                        help="only this target (repeatable; default: all three)")
    parser.add_argument("--customers", type=int, default=None,
                        help="natural customers per target (e.g. 1000000 for benchmarks; at least 200)")
    parser.add_argument("--format", dest="fmt", choices=("csv", "parquet"), default=None,
                        help="write CSV or Parquet instead of each target's own export format")
    parser.add_argument("--clean", action="store_true", help="plant no defects (every review check 0)")
    parser.add_argument("--adversarial", action="store_true",
                        help="write the adversarial privacy target instead: a small online "
                             "school with identifiers planted in every spelling and place "
                             "(channel, city, course, category, order number, feedback), "
                             "its ground truth planted.json and params adversarial.yaml "
                             "(default folder: data/samples/adversarial; git-ignored)")
    parser.add_argument("--purchase-rate", type=float, default=1.0,
                        help="multiply every customer's purchase rate (online_school only; "
                             "benchmarks use 1.2 to reach 10^7 orders at 10^6 customers)")
    parser.add_argument("--post-closing", type=Path, default=None, metavar="PARAMS",
                        help="write the buyer's exports MONTHS after closing of the target of "
                             "this params YAML instead (same customers and identifiers, new "
                             "activity and orders, a known retention) with ground_truth.json; "
                             "needs the target's deal key (default folder: "
                             "data/samples/post_closing/<target>, git-ignored)")
    parser.add_argument("--months", type=int, default=12,
                        help="with --post-closing: months after closing (default 12)")
    parser.add_argument("--retention", type=float, default=0.6,
                        help="with --post-closing: probability that a transferred customer "
                             "is retained at the measurement date (default 0.6)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Write the targets and print one summary line each (counts only, no personal data)."""
    if args.post_closing is not None:
        return run_post_closing(args)
    if args.adversarial:
        from valuation.samples.adversarial import write_adversarial

        folder = write_adversarial(args.out or ADVERSARIAL_OUT, seed=args.seed,
                                   customers=args.customers or 600)
        truth = json.loads((folder / "planted.json").read_text(encoding="utf-8"))
        counts = ", ".join(f"{kind} {n}" for kind, n in truth["counts"].items())
        print(f"adversarial: {len(truth['planted'])} planted values ({counts}) -> {folder}; "
              f"run `valuation ingest {folder / 'adversarial.yaml'}`")
        return 0
    out = args.out or (BENCH_OUT if args.customers else DEFAULT_OUT)
    folders = write_samples(out, seed=args.seed, targets=args.target, customers=args.customers,
                            defects=not args.clean, fmt=args.fmt or "native",
                            purchase_rate=args.purchase_rate)
    for folder in folders:
        truth = json.loads((folder / "ground_truth.json").read_text(encoding="utf-8"))
        c = truth["counts"]
        planted = sum(truth["defects"].values())
        print(f"{truth['target']}: {c['customers']:,} customers, {c['orders']:,} orders, "
              f"{c['activity']:,} activity rows, {c['feedback']:,} feedback rows, "
              f"{planted} planted defect records -> {folder}")
    return 0


def run_post_closing(args: argparse.Namespace) -> int:
    """Write a post-closing continuation (counts only on screen)."""
    from valuation.params import load_params
    from valuation.privacy.keys import load_key
    from valuation.samples.post_closing import TRUTH_FILE, write_post_closing

    params = load_params(args.post_closing)
    out = args.out or Path("data/samples/post_closing") / params.target
    folder = write_post_closing(params, load_key(params), out, months=args.months,
                                retention=args.retention, seed=args.seed)
    truth = json.loads((folder / TRUTH_FILE).read_text(encoding="utf-8"))
    print(f"{truth['target']} after closing: {truth['roster_customers']:,} transferred "
          f"customers, {truth['retained_at_measurement']:,} retained at "
          f"{truth['measurement_date']} (drawn with p={truth['retention_probability']}) -> "
          f"{folder}; run `valuation monitor {args.post_closing} --exports {folder}`")
    return 0
