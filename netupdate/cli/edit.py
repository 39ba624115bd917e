"""``netupdate edit``: apply one update to a network XML file, offline.

    netupdate edit FILE COMMAND SECTION XML [--parent-index N] [--node-spec XPATH]
                   [-o OUT | --in-place] [--print-diff] [--plan]

As with ``virsh net-update``, an XML argument that does not start with ``<`` names a file holding
the fragment.  With ``--node-spec``, SECTION and XML may be left out (a delete needs neither; an
add or modify needs only the fragment).  By default the edited XML is printed; ``--print-diff``
prints a unified diff instead; ``-o``/``--in-place`` write the result (atomically) and print
nothing unless ``--print-diff`` or ``--plan`` asks for it.  Errors are one line on stderr, exit
status 1, and no file is touched.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys

DESCRIPTION = "Apply one update (libvirt net-update semantics) to a network XML file offline."

EPILOG = """commands: add (= add-last), add-first, add-last, modify, delete (or libvirt's codes 1-4)
sections: bridge domain ip ip-dhcp-host ip-dhcp-range forward forward-interface forward-pf
          portgroup dns-host dns-txt dns-srv, plus dns and network (or libvirt's codes 1-12)

examples:
  netupdate edit net.xml add ip-dhcp-host "<host mac='52:54:00:00:00:10' ip='192.168.122.10'/>"
  netupdate edit net.xml modify ip-dhcp-range range.xml --parent-index 1 --print-diff
  netupdate edit net.xml delete --node-spec "/network/dns/txt[@name='old']" --in-place
"""


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "edit", help="apply one update to a network XML file (offline)",
        description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", metavar="FILE", help="network XML file")
    parser.add_argument("command", metavar="COMMAND",
                        help="add, add-first, add-last, modify or delete")
    parser.add_argument("section", metavar="SECTION", nargs="?",
                        help="section name (optional with --node-spec)")
    parser.add_argument("xml", metavar="XML", nargs="?",
                        help="XML fragment, or the name of a file holding it")
    parser.add_argument("--parent-index", type=int, default=-1, metavar="N",
                        help="which <ip> (0-based, all families) for ip-dhcp-host and "
                             "ip-dhcp-range; negative: choose automatically (default)")
    parser.add_argument("--node-spec", metavar="XPATH",
                        help="XPath selecting the element to edit (for add: its new parent)")
    out = parser.add_mutually_exclusive_group()
    out.add_argument("-o", "--output", metavar="OUT", help="write the result to OUT")
    out.add_argument("--in-place", action="store_true", help="rewrite FILE (atomically)")
    parser.add_argument("--print-diff", action="store_true",
                        help="print a unified diff instead of the edited XML")
    parser.add_argument("--plan", action="store_true",
                        help="also print the live plan for the change")
    parser.add_argument("--policy", metavar="FILE",
                        help="refuse the edit unless this access policy (TOML) allows every "
                             "change it makes (see docs/policy.md)")
    parser.set_defaults(func=run)


def _mode_of(path: str) -> int:
    """The file's permission bits without setuid/setgid/sticky (the default for a new file
    when it cannot be read)."""
    try:
        return os.stat(path).st_mode & 0o777
    except OSError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask


def _fail(message: str) -> int:
    print(f"netupdate: error: {' '.join(str(message).split())}", file=sys.stderr)
    return 1


def _split_positionals(args) -> tuple[str | None, str | None]:
    """(section, xml): with --node-spec a single trailing argument may be either."""
    from netupdate import sections
    from netupdate.errors import UnsupportedError

    section, xml = args.section, args.xml
    if args.node_spec is not None and section is not None and xml is None:
        try:
            sections.get(section)
        except UnsupportedError:
            return None, section
    return section, xml


def _read_fragment(xml: str) -> str:
    if xml.lstrip().startswith("<"):
        return xml
    try:
        with open(xml, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise _CliError(f"cannot read XML fragment file {xml}: {exc.strerror}") from None
    from netupdate.document.source import decode
    text, _, _ = decode(data, xml)
    return text


class _CliError(Exception):
    pass


def _edit(args, source, section, fragment):
    """(network, edited text, diff text, plan text) of the edit of the file read from
    ``source``."""
    import difflib

    import netupdate

    network = netupdate.load(pathlib.Path(source), filename=args.file)
    original = network.to_xml() if args.print_diff or args.policy else None
    change = network.update(args.command, section, fragment,
                            parent_index=args.parent_index, node_spec=args.node_spec)
    edited = network.to_xml()
    if args.policy:
        from netupdate.planning.policy import enforce
        enforce(args.policy, original, network, command=change.command)
    plan_text = netupdate.plan_change(change).to_text() if args.plan else None
    shown = ""
    if args.print_diff:
        diff = difflib.unified_diff(original.splitlines(keepends=True),
                                    edited.splitlines(keepends=True),
                                    fromfile=args.file, tofile=args.file)
        shown = "".join(line if line.endswith("\n") else line + "\n" for line in diff)
    return network, edited, shown, plan_text


def _edit_in_place(args, section, fragment):
    """The edit under the file's lock, written back safely (``netupdate.store.inplace``)."""
    from netupdate.store import inplace
    try:
        with inplace.locked(args.file) as target:
            result = _edit(args, target.source, section, fragment)
            target.replace(result[0].source.encode(result[1]))
    except OSError as exc:
        raise _CliError(f"cannot edit {args.file} in place: {exc.strerror or exc}") from None
    return result


def run(args) -> int:
    from netupdate.errors import NetupdateError
    from netupdate.store import atomic_write

    section, xml = _split_positionals(args)
    if args.node_spec is None:
        if section is None:
            return _fail("a SECTION is required (or --node-spec)")
        if xml is None:
            return _fail("an XML fragment (or the name of a file holding one) is required")
    target = args.file if args.in_place else args.output
    try:
        fragment = _read_fragment(xml) if xml is not None else None
        if args.in_place:
            network, edited, shown, plan_text = _edit_in_place(args, section, fragment)
        else:
            network, edited, shown, plan_text = _edit(args, args.file, section, fragment)
        if args.output is not None:
            try:
                atomic_write(args.output, network.source.encode(edited), mode=_mode_of(args.file))
            except OSError as exc:
                raise _CliError(f"cannot write {args.output}: {exc.strerror or exc}") from None
    except _CliError as exc:
        return _fail(str(exc))
    except NetupdateError as exc:
        return _fail(str(exc))
    out = sys.stdout
    if shown:
        out.write(shown)
    elif not (args.print_diff or target):
        data = network.source.encode(edited)   # serialized once: 100,000 hosts take a while
        out.flush()
        buffer = getattr(out, "buffer", None)
        if buffer is not None:
            buffer.write(data if data.endswith(b"\n") else data + b"\n")
            buffer.flush()
        else:
            out.write(edited if edited.endswith("\n") else edited + "\n")
    if plan_text is not None:
        print(plan_text, file=out)
    out.flush()
    return 0
