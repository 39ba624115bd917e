"""Verbs on networks run by netupdate's embedded runtime (or by libvirt with --connect):
define, start, stop (destroy), undefine, list, dumpxml, status, update."""

from __future__ import annotations

import argparse
import json
import os
import sys

STATE_HELP = ("state directory (default: $NETUPDATE_STATE_DIR, else /var/lib/netupdate and "
              "/run/netupdate for root)")


def _common(parser: argparse.ArgumentParser, *, netns: bool = False) -> None:
    from netupdate.cli.connect import add_connect_argument
    parser.add_argument("--state-dir", metavar="DIR", default=None, help=STATE_HELP)
    add_connect_argument(parser, "-c", "--connect")
    if netns:
        parser.add_argument("--netns", metavar="NAME", default=None,
                            help="run the network inside this network namespace (ip netns)")


def _conn(args, *, readonly: bool = False):
    """The embedded runtime, or libvirt with --connect URI / $NETUPDATE_CONNECT."""
    from netupdate.cli.connect import open_connection
    return open_connection(args, readonly=readonly)


def _libvirt(args) -> bool:
    from netupdate.cli.connect import uses_libvirt
    return uses_libvirt(args)


def _data(value):
    return value.to_json() if hasattr(value, "to_json") else value


def register(sub) -> None:
    p = sub.add_parser("define", help="store a persistent network definition")
    p.add_argument("file", metavar="FILE", help="network XML file ('-' for stdin)")
    _common(p)
    p.set_defaults(func=cmd_define)

    p = sub.add_parser("start", help="start a defined network (repairs a damaged running one)")
    p.add_argument("name", metavar="NAME")
    _common(p, netns=True)
    p.set_defaults(func=cmd_start)

    for verb in ("stop", "destroy"):
        p = sub.add_parser(verb, help="stop a running network: remove everything it created")
        p.add_argument("name", metavar="NAME")
        _common(p)
        p.set_defaults(func=cmd_stop)

    p = sub.add_parser("undefine", help="remove a persistent network definition")
    p.add_argument("name", metavar="NAME")
    _common(p)
    p.set_defaults(func=cmd_undefine)

    p = sub.add_parser("list", help="list networks")
    p.add_argument("--json", action="store_true", help="print JSON")
    _common(p)
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("dumpxml", help="print a network's definition (live one when running)")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--inactive", action="store_true", help="the persistent definition")
    _common(p)
    p.set_defaults(func=cmd_dumpxml)

    p = sub.add_parser("status", help="what is really running (exit 1 when degraded)")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--json", action="store_true", help="print JSON")
    _common(p)
    p.set_defaults(func=cmd_status)

    p = sub.add_parser(
        "update", help="edit a network like 'virsh net-update', live and config by default",
        description="Edit a network (libvirt's section form, or --node-spec XPATH). For a running "
                    "network the default is --live --config (virsh's default, the current "
                    "state only, loses changes at restart); --current is virsh's meaning. Live "
                    "changes are verified and rolled back on failure.")
    p.add_argument("name", metavar="NAME")
    p.add_argument("command", metavar="COMMAND",
                   help="add (add-last), add-first, add-last, modify, delete")
    p.add_argument("rest", metavar="SECTION XML", nargs="*",
                   help="section and XML fragment (or a file name); with --node-spec only XML")
    p.add_argument("--parent-index", type=int, default=-1, metavar="N")
    p.add_argument("--node-spec", metavar="XPATH", default=None)
    p.add_argument("--live", action="store_true", help="change the running network")
    p.add_argument("--config", action="store_true", help="change the persistent definition")
    p.add_argument("--current", action="store_true",
                   help="the live state if running, else the persistent config (virsh)")
    p.add_argument("--dry-run", action="store_true", help="show the plan, change nothing")
    p.add_argument("--json", action="store_true", help="print JSON")
    _common(p)
    from netupdate.cli.connect import add_libvirt_update_arguments
    add_libvirt_update_arguments(p)
    p.set_defaults(func=cmd_update)

    from netupdate.cli.connect import add_apply_arguments, cmd_apply
    p = sub.add_parser("apply", help="with --connect: make a libvirt network match a definition "
                                     "(live and config), with the least disruptive updates")
    add_apply_arguments(p)
    p.set_defaults(func=cmd_apply)


def cmd_define(args) -> int:
    if args.file == "-":
        xml = sys.stdin.read()
    else:
        with open(args.file, "rb") as handle:
            xml = handle.read()
    with _conn(args) as conn:
        name = conn.define(xml)
    print(f"Network {name} defined from {args.file}")
    return 0


def cmd_start(args) -> int:
    with _conn(args) as conn:
        running = args.name in {n["name"] for n in map(_data, conn.list()) if n.get("active")}
        if args.netns:
            conn.start(args.name, netns=args.netns)
        else:
            conn.start(args.name)
    print(f"Network {args.name} {'repaired' if running else 'started'}")
    return 0


def cmd_stop(args) -> int:
    with _conn(args) as conn:
        conn.stop(args.name)
    print(f"Network {args.name} destroyed")
    return 0


def cmd_undefine(args) -> int:
    with _conn(args) as conn:
        conn.undefine(args.name)
    print(f"Network {args.name} has been undefined")
    return 0


def cmd_list(args) -> int:
    with _conn(args, readonly=True) as conn:
        rows = [_data(n) for n in conn.list()]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    head = ("Name", "State", "Autostart", "Persistent", "Bridge", "Netns")
    table = [head] + [(r["name"], r["state"], "yes" if r.get("autostart") else "no",
                       "yes" if r.get("persistent") else "no", r.get("bridge") or "-",
                       r.get("netns") or "-") for r in rows]
    widths = [max(len(str(row[i])) for row in table) for i in range(len(head))]
    for number, row in enumerate(table):
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths,
                                                                     strict=True)).rstrip())
        if number == 0:
            print("-" * (sum(widths) + 2 * (len(widths) - 1)))
    return 0


def cmd_dumpxml(args) -> int:
    with _conn(args, readonly=True) as conn:
        text = conn.dumpxml(args.name, inactive=args.inactive)
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0


def _status_text(s: dict) -> str:
    lines = [f"network {s['name']}", f"  state:      {s['state']}"
             + ("" if s.get("persistent") else " (transient)")]
    if s.get("netns"):
        lines.append(f"  namespace:  {s['netns']}")
    br = s.get("bridge")
    if isinstance(br, dict):
        extra = ""
        if br.get("present"):
            extra = (f" (stp {'on' if br.get('stp') else 'off'}, delay {br.get('delay')}, "
                     f"mtu {br.get('mtu')}, {'up' if br.get('up') else 'down'})")
        lines.append(f"  bridge:     {br['name']}{'' if br.get('present') else ' MISSING'}"
                     + extra)
        if br.get("addresses"):
            lines.append(f"  addresses:  {', '.join(br['addresses'])}")
    dq = s.get("dnsmasq")
    if isinstance(dq, dict):
        lines.append(f"  dnsmasq:    pid {dq.get('pid')} "
                     f"{'running' if dq.get('alive') else 'NOT RUNNING'}")
    fw = s.get("firewall")
    if isinstance(fw, dict):
        lines.append(f"  firewall:   nft table {fw.get('family')} {fw.get('table')}"
                     f"{'' if fw.get('present') else ' MISSING'}")
    if s.get("diverged") is not None:
        lines.append("  live vs persistent config: "
                     + ("DIFFERENT (a restart applies the persistent config)"
                        if s["diverged"] else "same"))
    for problem in s.get("problems") or ():
        lines.append(f"  problem:    {problem}")
    if s.get("problems"):
        lines.append(f"  repair with: netupdate start {s['name']}")
    return "\n".join(lines)


def cmd_status(args) -> int:
    with _conn(args, readonly=True) as conn:
        status = conn.status(args.name)
    data = _data(status)
    if args.json:
        print(json.dumps(data, indent=2, default=str))
    elif hasattr(status, "to_text"):
        print(status.to_text())
    else:
        print(_status_text(data))
    return 1 if data.get("problems") else 0


def cmd_update(args) -> int:
    from netupdate.errors import InvalidOperationError
    rest = list(args.rest)
    if args.node_spec is not None:
        if len(rest) > 1:
            raise InvalidOperationError("with --node-spec give only the XML (no SECTION)")
        section, xml = None, (rest[0] if rest else None)
    else:
        if len(rest) != 2:
            raise InvalidOperationError("update needs SECTION and XML (or --node-spec XPATH)")
        section, xml = rest
    if args.current and (args.live or args.config):
        raise InvalidOperationError("Options --current and --live/--config are mutually "
                                    "exclusive")
    from netupdate.cli.connect import affect_flags, report_update
    flags = affect_flags(args)
    live, config = flags["live"], flags["config"]
    libvirt = _libvirt(args)
    with _conn(args) as conn:
        if args.current:
            active = any(n["name"] == args.name and n.get("active")
                         for n in map(_data, conn.list()))
            live, config = active, not active
        if xml is not None and not xml.lstrip().startswith("<") and os.path.exists(xml):
            with open(xml, encoding="utf-8") as handle:
                xml = handle.read()
        extra = {"restart": args.restart} if libvirt else {}
        result = conn.update(args.name, args.command, section, xml,
                             parent_index=args.parent_index, node_spec=args.node_spec,
                             live=live, config=config, dry_run=args.dry_run, **extra)
    if libvirt:
        return report_update(result, args)
    if args.json:
        print(json.dumps(result.to_json(), indent=2, default=str))
    else:
        print(result.to_text())
    return result.exit_code
