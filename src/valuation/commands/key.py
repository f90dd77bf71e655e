"""``valuation key``: deal keys and the buyer's key pair.

* ``valuation key new PATH`` creates a deal key (pseudonymisation) with owner-only permissions;
* ``valuation key buyer-new PATH [--public-out FILE]`` creates the buyer's age key pair for
  the encrypted transfer package: the identity (private, mode 0600) at PATH, the public
  recipient printed (and written to FILE).
"""

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
    buyer = actions.add_parser(
        "buyer-new", help="create the buyer's age key pair for the encrypted transfer package")
    buyer.add_argument("path", help="identity file to create (private; mode 0600)")
    buyer.add_argument("--public-out", help="also write the public recipient to this file")
    buyer.set_defaults(func=run_buyer_new)


def run_new(args: argparse.Namespace) -> int:
    """Create the key and say how to use it."""
    path = new_key(args.path)
    print(f"created deal key {path} (mode 0600).")
    print("Use it by setting privacy.key_file in the target's params, or export its content")
    print("in the environment variable named by privacy.key_env (VALUATION_DEAL_KEY by default).")
    print("Keep it safe: without it the tokens cannot be matched again; never commit it.")
    return 0


def run_buyer_new(args: argparse.Namespace) -> int:
    """Create the buyer's identity and print the recipient the seller puts in params."""
    from valuation.fileio import write_text_atomic
    from valuation.privacy.keys import new_buyer_identity

    public = new_buyer_identity(args.path)
    if args.public_out:
        write_text_atomic(args.public_out, public + "\n")
    print(f"created the buyer's age identity {args.path} (mode 0600); keep it private.")
    print("Give the seller this public recipient for handover.buyer_recipient in params:")
    print(public)
    return 0
