"""The ``valuation`` command.

Each sub-command lives in its own module under :mod:`valuation.commands` and exposes
``register(subparsers)``; this module only assembles them and turns user errors
(:class:`~valuation.errors.ValuationError`) into a clear message and exit code 2, never a
traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from valuation import __version__
from valuation.errors import ValuationError

COMMAND_MODULES: tuple[str, ...] = (
    "samples",
    "key",
    "ingest",
    "review",
    "scan",
    "log",
    "brief",
    "batch",
    "handover",
    "destroy",
    "monitor",
)


def build_parser() -> argparse.ArgumentParser:
    """Assemble the argument parser from every command module."""
    parser = argparse.ArgumentParser(
        prog="valuation",
        description="Value the customer base of an IT-training company, safely (PIPL).",
    )
    parser.add_argument("--version", action="version", version=f"valuation {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"valuation.commands.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (0 ok, 1 failures in a batch, 2 user error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        code = args.func(args)
    except ValuationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and closed early: not an error
        sys.stderr.close()
        return 0
    return int(code or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
