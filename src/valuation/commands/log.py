"""``valuation log verify PATH|params.yaml``: check the processing log's hash chain."""

from __future__ import annotations

import argparse
from pathlib import Path

from valuation.params import load_params
from valuation.privacy.log import log_path, require_intact


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``log`` command and its ``verify`` action."""
    parser = subparsers.add_parser("log", help="the processing log (PIPL)")
    actions = parser.add_subparsers(dest="log_action", metavar="ACTION", required=True)
    verify = actions.add_parser(
        "verify", help="check the hash chain; exit 2 with the first broken line"
    )
    verify.add_argument("target", metavar="PATH|params.yaml",
                        help="a log file (.jsonl) or the params file of a target")
    verify.set_defaults(func=run_verify)


def resolve_log(target: str) -> Path:
    """The log file named by ``target``: itself, or the log of a params YAML."""
    path = Path(target)
    if path.suffix.lower() in (".yaml", ".yml"):
        return log_path(load_params(path, check_files=False))
    return path


def run_verify(args: argparse.Namespace) -> int:
    """Print the verdict; a broken chain raises LogIntegrityError (exit 2)."""
    path = resolve_log(args.target)
    result = require_intact(path)
    print(f"{path}: {result}")
    return 0
