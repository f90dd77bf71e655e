"""``valuation handover``: the transfer package, its verification, and notification status.

* ``valuation handover params/<target>.yaml [--scope ...]`` builds the package;
* ``valuation handover verify BAG`` checks completeness and every checksum (no key needed);
* ``valuation handover open BAG --identity KEY --out DIR`` decrypts on the buyer's side and
  verifies the plaintext bag;
* ``valuation handover status params/<target>.yaml [--returns CSV]`` folds in the gateway's
  returns and counts pending / sent / delivered / bounced / objected / unreachable; objectors
  go to ``buyer-exclusions.csv`` and the processing log (counts only).
"""

from __future__ import annotations

import argparse

from valuation.errors import HandoverError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``handover`` command."""
    parser = subparsers.add_parser(
        "handover",
        help="after signing: build/verify the transfer package, report notification status",
        description="handover PARAMS.yaml | handover verify BAG | "
                    "handover open BAG --identity KEY --out DIR | handover status PARAMS.yaml",
    )
    parser.add_argument("words", nargs="+", metavar="ARG",
                        help="PARAMS.yaml, or 'verify BAG', or 'open BAG', or 'status PARAMS.yaml'")
    parser.add_argument("--identity", help="open: the buyer's age identity file (mode 0600)")
    parser.add_argument("--out", help="open: a new or empty folder for the plaintext bag")
    parser.add_argument("--returns", help="status: the gateway's returns CSV "
                        "(customer_ref,status: sent/delivered/bounced/objected) to fold in")
    parser.add_argument("--scope", choices=("transferable", "transferable_contactable", "all"),
                        help="customers in the package (default: handover.scope in params)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Dispatch on the first word."""
    words = args.words
    if words[0] == "verify":
        if len(words) != 2:
            raise HandoverError("usage: valuation handover verify BAG")
        return _verify(words[1])
    if words[0] == "open":
        if len(words) != 2 or not args.identity or not args.out:
            raise HandoverError("usage: valuation handover open BAG --identity KEY --out DIR")
        return _open(words[1], args.identity, args.out)
    if words[0] == "status":
        if len(words) != 2:
            raise HandoverError("usage: valuation handover status PARAMS.yaml [--returns CSV]")
        return _status(words[1], args.returns)
    if len(words) != 1:
        raise HandoverError("usage: valuation handover PARAMS.yaml [--scope SCOPE]")
    return _build(words[0], args.scope)


def _build(params_path: str, scope: str | None) -> int:
    from valuation.handover import build_handover
    from valuation.params import load_params
    from valuation.privacy.keys import load_key

    params = load_params(params_path)
    result = build_handover(params, load_key(params), scope=scope)
    print(f"transfer package written to {result.folder}")
    print("  the personal data (names, mobiles, ID numbers, e-mails) of the customers in "
          "scope is in bag/data/payload.tar.age, encrypted to handover.buyer_recipient;")
    print("  the buyer opens it with `valuation handover open BAG --identity KEY --out DIR`.")
    print(f"  scope: {result.scope}")
    for table, count in result.counts.items():
        print(f"  {table:<10} {count:>9,} records")
    for reason, count in result.excluded.items():
        print(f"  excluded: {reason}: {count:,} customers")
    route = result.cross_border or {}
    if route.get("route") not in (None, "none"):
        print(f"  cross-border route: {route['label']} ({route['people']:,} people, "
              f"{route['sensitive_people']:,} sensitive); lead time {route['lead_time']}; "
              f"reference {route['reference']}")
    print(f"  tag manifest SHA-256 (quoted on confirmation.md): {result.tag_manifest_sha256}")
    print(f"  notification status (tokens only): {result.status_file}")
    return 0


def _verify(bag: str) -> int:
    from valuation.handover import verify_bag

    check = verify_bag(bag)
    if check.ok:
        print(f"{bag}: complete, every checksum matches ({check.payload_files} payload files)")
        return 0
    print(f"{bag}: {len(check.differences)} difference(s):")
    for line in check.differences:
        print(f"  - {line}")
    return 2


def _open(bag: str, identity: str, out: str) -> int:
    from valuation.handover import open_package

    inner, check = open_package(bag, identity, out)
    if not check.ok:
        print(f"{inner}: decrypted, but {len(check.differences)} difference(s):")
        for line in check.differences:
            print(f"  - {line}")
        return 2
    print(f"decrypted to {inner}: complete, every checksum matches "
          f"({check.payload_files} payload files)")
    print("  THIS FOLDER HOLDS PERSONAL DATA: keep it on approved storage, never publish it.")
    return 0


def _status(params_path: str, returns: str | None) -> int:
    from valuation.handover import apply_returns, notification_status, STATUSES
    from valuation.params import load_params

    params = load_params(params_path)
    counts = apply_returns(params, returns) if returns else notification_status(params)
    total = counts["total"] or 1
    for status in STATUSES:
        if counts[status] or status != "notified":
            print(f"{status:<12} {counts[status]:>9,}  ({counts[status] / total:.1%})")
    print(f"{'total':<12} {counts['total']:>9,}")
    if returns:
        print(f"returns recorded; {counts['objected']:,} objector(s) listed in buyer-exclusions.csv "
              "(the buyer stops processing them) and counted in the processing log")
    return 0
