"""``valuation destroy params/<target>.yaml [--key]``: delete a target's work data, record it."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``destroy`` command."""
    parser = subparsers.add_parser(
        "destroy", help="delete a target's work folder (and its key with --key); log it")
    parser.add_argument("params", help="the target's params YAML")
    parser.add_argument("--key", action="store_true",
                        help="also delete the deal key file: tokens can no longer be linked")
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Destroy after confirmation and print the record."""
    from valuation.handover import destroy_target
    from valuation.params import load_params
    from valuation.privacy.log import log_path

    from valuation.markers import require_marker
    from valuation.pathsafety import check_paths
    from valuation.privacy.keys import load_key

    params = load_params(args.params, check_files=False)
    check_paths(params, ("work_dir",))  # refused before anything is asked or deleted
    key = load_key(params, notify=None)
    if params.work_dir.exists():
        require_marker(params.work_dir, "work", params.target, key, action="delete it")
    if not args.yes:
        answer = input(f"Delete {params.work_dir}{' and the deal key' if args.key else ''}? "
                       "Type the target name to confirm: ")
        if answer.strip() != params.target:
            print("not confirmed; nothing deleted")
            return 2
    record = destroy_target(params, include_key=args.key, key=key)
    print(f"destroyed {record['files']} file(s) of target {params.target!r}; {record['how']}")
    print(f"destruction record appended to {log_path(params)} (entry {record['seq']})")
    return 0
