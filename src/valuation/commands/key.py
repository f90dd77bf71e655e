"""``valuation key new PATH``: create a deal key with owner-only permissions."""

from __future__ import annotations

import argparse

from valuation.privacy.keys import new_key


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``key`` command and its ``new`` action."""
    parser = subparsers.add_parser("key", help="manage deal keys (pseudonymisation)")
    actions = parser.add_subparsers(dest="key_action", metavar="ACTION", required=True)
    create = actions.add_parser(
        "new", help="create a new random 256-bit deal key (mode 0600, never overwritten)"
    )
    create.add_argument("path", help="key file to create, outside the repository and outputs")
    create.set_defaults(func=run_new)


def run_new(args: argparse.Namespace) -> int:
    """Create the key and say how to use it."""
    path = new_key(args.path)
    print(f"created deal key {path} (mode 0600).")
    print("Use it by setting privacy.key_file in the target's params, or export its content")
    print("in the environment variable named by privacy.key_env (VALUATION_DEAL_KEY by default).")
    print("Keep it safe: without it the tokens cannot be matched again; never commit it.")
    return 0
