"""``netupdate diff``: the semantic changes between two definitions and their live plan.

    netupdate diff OLD.xml NEW.xml      two files ('-' for standard input)
    netupdate diff NAME [FILE]          a network (embedded runtime, or -c URI) against FILE,
                                        or its live state against its persistent config
"""

from __future__ import annotations

import argparse
import os
import sys

EXIT_SAME, EXIT_DIFFERENT, EXIT_TROUBLE = 0, 1, 2


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "diff",
        help="show what changed between two network definitions and the live plan it needs",
        description="Compare two network definitions semantically (MAC case, IPv6 spelling, "
                    "netmask vs prefix, attribute order and whitespace do not count) and print "
                    "the changes and the least disruptive plan of live actions.  With a "
                    "network NAME (embedded runtime by default, libvirt with -c URI): its "
                    "persistent config against FILE, or without FILE its live state against "
                    "its persistent config.",
        epilog="exit status: 0 on success (whether or not there are changes, like git diff); "
               "with --exit-code: 0 no changes, 1 changes, 2 error (like diff(1)); 4: no such "
               "network.")
    parser.add_argument("old", metavar="OLD|NAME",
                        help="the definition before (XML file, '-' for stdin), or a network "
                             "name or UUID")
    parser.add_argument("new", metavar="NEW", nargs="?",
                        help="the definition after (XML file, '-' for stdin); after a NAME: "
                             "optional, without it the live definition is compared with the "
                             "persistent one")
    parser.add_argument("--exit-code", action="store_true",
                        help="exit 1 when there are changes, 2 on errors")
    parser.add_argument("--policy", metavar="FILE",
                        help="also check the changes against this access policy (TOML); "
                             "a refused change is an error")
    parser.set_defaults(func=run)


def _is_file(argument: str) -> bool:
    """Whether ``argument`` names a file rather than a network: ``-``, a file, or a path that
    no network name can be (a '/' in it, a directory), which then gets the reader's error."""
    return argument == "-" or "/" in argument or os.path.exists(argument)


def run(args: argparse.Namespace) -> int:
    from netupdate.errors import NetupdateError, NoSuchNetwork

    if args.new is None and not args.connect and (args.old == "-"
                                                  or os.path.isfile(args.old)):
        from netupdate.cli.options import Usage
        raise Usage(f"{args.old} is a file: give NEW too (diff OLD NEW), or a network NAME")
    try:
        if args.connect or args.new is None or not _is_file(args.old):
            from netupdate.cli.connect import cmd_diff
            args.name, args.file = args.old, args.new
            return cmd_diff(args)
        return _run(args)
    except NoSuchNetwork:
        raise
    except NetupdateError as exc:
        if args.exit_code:   # reported as every error (its line, its JSON), exit 2 as diff(1)
            exc.cli_exit = EXIT_TROUBLE
        raise


def _run(args: argparse.Namespace) -> int:
    import json

    from netupdate.cli.inputs import read_input, read_policy
    from netupdate.cli.options import use_color
    from netupdate.planning.differ import as_defs
    from netupdate.planning.planner import plan

    before = as_defs(read_input(args.old) if args.old == "-" else args.old)
    after = as_defs(read_input(args.new) if args.new == "-" else args.new)
    result = plan(before, after)
    policy_note = None
    if args.policy:
        read_policy(args.policy).check(result.changes)
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
