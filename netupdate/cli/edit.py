"""``netupdate edit``: apply one update to a network XML file, offline.

    netupdate edit FILE COMMAND SECTION XML [--parent-index N] [--node-spec XPATH]
                   [-o OUT | --in-place] [--print-diff] [--plan] [--json]
    netupdate edit FILE add ip-dhcp-host --mac M --ip I --name N      (typed shortcut)

As with ``virsh net-update``, an XML argument that does not start with ``<`` names a file holding
the fragment; ``-`` reads FILE or the fragment from standard input.  With ``--node-spec``, SECTION
may be left out.  By default the edited XML is printed; ``--print-diff`` prints a unified diff
instead (coloured on a terminal, ``--color``); ``-o``/``--in-place`` write the result
(atomically).  ``--plan`` goes to stderr while XML or a diff is on stdout, so ``edit --plan >
new.xml`` stays XML.  Errors are one line on stderr, exit status 1, and no file is touched.
"""

from __future__ import annotations

import argparse
import sys

DESCRIPTION = "Apply one update (libvirt net-update semantics) to a network XML file offline."

EPILOG = """commands: add (= add-last), add-first, add-last, modify, delete (or libvirt's codes 1-4)
sections: bridge domain ip ip-dhcp-host ip-dhcp-range forward forward-interface forward-pf
          portgroup dns-host dns-txt dns-srv, plus dns and network (or libvirt's codes 1-12)

The plan (--plan) goes to stderr when the XML or the diff goes to stdout.

examples:
  netupdate edit fixtures/networks/nat-default.xml add ip-dhcp-host \\
      "<host mac='52:54:00:00:00:10' ip='192.168.122.10'/>"
  netupdate edit fixtures/networks/nat-default.xml add ip-dhcp-host \\
      --mac 52:54:00:00:00:11 --ip 192.168.122.11 --name vm2 --print-diff
  netupdate edit fixtures/networks/nat-default.xml add dns-host \\
      --ip 192.168.122.50 --hostname web --plan
  netupdate edit fixtures/networks/nat-default.xml modify bridge \\
      --name virbr0 --stp off --delay 0 --print-diff
"""
USAGE_ORDER = "netupdate edit FILE COMMAND SECTION XML"


def register(subparsers) -> None:
    from netupdate.cli.editargs import add_update_arguments
    parser = subparsers.add_parser(
        "edit", help="apply one update to a network XML file (offline)",
        description=DESCRIPTION, epilog=EPILOG,
        usage="%(prog)s [options] FILE COMMAND [SECTION] [XML | typed options]",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", metavar="FILE", help="network XML file ('-' for stdin)")
    add_update_arguments(parser)
    out = parser.add_mutually_exclusive_group()
    out.add_argument("-o", "--output", metavar="OUT", help="write the result to OUT")
    out.add_argument("--in-place", action="store_true", help="rewrite FILE (atomically)")
    parser.add_argument("--print-diff", action="store_true",
                        help="print a unified diff instead of the edited XML")
    parser.add_argument("--plan", action="store_true",
                        help="also print the live plan for the change (to stderr when the "
                             "XML or diff goes to stdout)")
    parser.add_argument("--policy", metavar="FILE",
                        help="refuse the edit unless this access policy (TOML) allows every "
                             "change it makes (see docs/policy.md)")
    parser.set_defaults(func=run)


def _edit(args, update):
    """The ``netupdate.edit_file`` of the command line's arguments."""
    import netupdate
    from netupdate.cli import inputs
    command, section, fragment = update
    stdin = args.file == "-"
    source = inputs.read_input("-") if stdin else args.file
    policy = inputs.read_policy(args.policy) if args.policy else None
    return netupdate.edit_file(source, command, section, fragment, parent_index=args.parent_index,
                               node_spec=args.node_spec, policy=policy,
                               filename="<stdin>" if stdin else args.file,
                               output=args.output, in_place=args.in_place)


def _unified(args, original: str, edited: str) -> str:
    import difflib
    name = args.file if args.file != "-" else "<stdin>"
    diff = difflib.unified_diff(original.splitlines(keepends=True),
                                edited.splitlines(keepends=True), fromfile=name, tofile=name)
    return "".join(line if line.endswith("\n") else line + "\n" for line in diff)


def run(args) -> int:
    from netupdate.cli.connect import refuse_connect
    from netupdate.cli.editargs import update_input, wrong_order
    from netupdate.cli.options import Usage

    refuse_connect(args, "edit")
    wrong_order(args.file, usage=USAGE_ORDER)
    if args.file == "-" and args.in_place:
        raise Usage("--in-place needs a FILE, not '-' (standard input)")
    update = update_input(args, target="FILE")
    result = _edit(args, update)
    return _show(args, result.network, result.original, result.edited, result.change)


def _show(args, network, original, edited, change) -> int:
    import netupdate
    from netupdate.cli.options import use_color
    plan = netupdate.plan_change(change) if (args.plan or args.json) else None
    diff = _unified(args, original, edited) if (args.print_diff or args.json) else ""
    written = args.in_place or args.output is not None
    out = sys.stdout
    if args.json:
        from netupdate.cli.report import emit_json
        emit_json({"file": args.file, "output": args.file if args.in_place else args.output,
                   "changed": original != edited, "xml": None if written else edited,
                   "diff": diff, "plan": plan.to_json()["actions"]})
        return 0
    if args.print_diff:
        out.write(_paint_diff(diff) if use_color(args.color, out) else diff)
    elif not written:
        _write_xml(out, network.source.encode(edited), edited)
    if plan is not None:
        plan_out = out if written and not args.print_diff else sys.stderr
        print(plan.to_text(color=use_color(args.color, plan_out)), file=plan_out)
    out.flush()
    return 0


def _write_xml(out, data: bytes, edited: str) -> None:
    """The edited document, in its own encoding (serialized once: 100,000 hosts take a
    while)."""
    out.flush()
    buffer = getattr(out, "buffer", None)
    if buffer is not None:
        buffer.write(data if data.endswith(b"\n") else data + b"\n")
        buffer.flush()
    else:
        out.write(edited if edited.endswith("\n") else edited + "\n")


DIFF_COLORS = (("+++", "1"), ("---", "1"), ("@@", "36"), ("+", "32"), ("-", "31"))


def _paint_diff(diff: str) -> str:
    """A unified diff in git's colours: headers bold, hunks cyan, added green, removed red."""
    lines = []
    for line in diff.splitlines(keepends=True):
        code = next((c for prefix, c in DIFF_COLORS if line.startswith(prefix)), None)
        body = line.rstrip("\n")
        lines.append(f"\x1b[{code}m{body}\x1b[0m\n" if code else line)
    return "".join(lines)
