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
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Write the targets and print one summary line each (counts only, no personal data)."""
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
