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


def check_log_key(params, path: Path) -> None:
    """Refuse a deal key other than the one the log's latest entries were made with."""
    import json

    from valuation.privacy.keys import check_fingerprint, load_key

    recorded = None
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            recorded = json.loads(line).get("key_fingerprint") or recorded
        except (json.JSONDecodeError, AttributeError):
            continue
    if recorded is not None:
        check_fingerprint(recorded, load_key(params, notify=None), where=f"the log {path}")


def run_verify(args: argparse.Namespace) -> int:
    """Print the verdict; a broken chain raises LogIntegrityError (exit 2).

    Given a params file, the deal key of the target must also be the one the log records
    (its fingerprint); given a log file, only the chain is checked.
    """
    path = resolve_log(args.target)
    result = require_intact(path)
    if Path(args.target).suffix.lower() in (".yaml", ".yml"):
        check_log_key(load_params(args.target, check_files=False), path)
    print(f"{path}: {result}")
    return 0
