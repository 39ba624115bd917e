"""``netupdate diff OLD NEW``: the semantic changes between two definitions and their live plan."""

from __future__ import annotations

import argparse
import json
import os
import sys

from netupdate.cli.connect import add_connect_argument, cmd_diff, uses_libvirt

EXIT_SAME, EXIT_DIFFERENT, EXIT_TROUBLE = 0, 1, 2


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "diff",
        help="show what changed between two network definitions and the live plan it needs",
        description="Compare two network definitions semantically (MAC case, IPv6 spelling, "
                    "netmask vs prefix, attribute order and whitespace do not count) and print "
                    "the changes and the least disruptive plan of live actions.",
        epilog="exit status: 0 on success (whether or not there are changes, like git diff); "
               "with --exit-code: 0 no changes, 1 changes, 2 error (like diff(1)).",
    )
    parser.add_argument("old", metavar="OLD",
                        help="the definition before (XML file); with --connect: a network name")
    parser.add_argument("new", metavar="NEW", nargs="?",
                        help="the definition after (XML file); with --connect: optional, "
                             "without it the live definition is compared with the persistent "
                             "one")
    parser.add_argument("--json", action="store_true",
                        help='print {"changes": [...], "actions": [...]} as JSON')
    parser.add_argument("--exit-code", action="store_true",
                        help="exit 1 when there are changes, 2 on errors")
    parser.add_argument("--policy", metavar="FILE",
                        help="also check the changes against this access policy (TOML); "
                             "a refused change is an error")
    parser.add_argument("--color", choices=("auto", "always", "never"), default="auto",
                        help="colour the text output (auto: when stdout is a terminal and "
                             "NO_COLOR is unset)")
    add_connect_argument(parser)
    parser.set_defaults(func=run)


def use_color(choice: str, stream) -> bool:
    if choice == "always":
        return True
    if choice == "never":
        return False
    return bool(getattr(stream, "isatty", lambda: False)()) and "NO_COLOR" not in os.environ


def run(args: argparse.Namespace) -> int:
    from netupdate.errors import NetupdateError

    try:
        if uses_libvirt(args):
            args.name, args.file = args.old, args.new
            return cmd_diff(args)
        if args.new is None:
            raise NetupdateError("diff needs OLD and NEW files (or --connect URI NAME)")
        return _run(args)
    except NetupdateError as exc:
        if not args.exit_code:
            raise
        print(f"netupdate: error: {exc}", file=sys.stderr)
        return EXIT_TROUBLE


def _run(args: argparse.Namespace) -> int:
    from netupdate.planning.differ import as_defs
    from netupdate.planning.planner import plan
    from netupdate.planning.policy import Policy

    before, after = as_defs(args.old), as_defs(args.new)
    result = plan(before, after)
    policy_note = None
    if args.policy:
        Policy.from_toml(args.policy).check(result.changes)
        policy_note = f"policy: allowed by {args.policy}" if result.changes else None
    if args.json:
        data = result.to_json()
        if args.policy:
            data["policy"] = {"file": args.policy, "allowed": True}
        json.dump(data, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        color = use_color(args.color, sys.stdout)
        if not result.changes:
            print("no changes")
        else:
            print(result.changes.to_text(color=color))
            print()
            print(result.to_text(color=color))
            if policy_note:
                print(policy_note)
    if args.exit_code and result.changes:
        return EXIT_DIFFERENT
    return EXIT_SAME
