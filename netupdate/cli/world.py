"""Verbs that say what a change does to the running world (issue 16, docs/world.md):
``leases NAME`` (each lease and its status) and ``check NAME`` (drift between the persistent
definition, the live definition and what runs; ``--repair``); ``update``'s ``--release-conflicting``; the
conflict pre-flight's ``--force`` (define, start, update, apply)."""

from __future__ import annotations

import argparse


def register(sub) -> None:
    from netupdate.cli.options import name_argument
    p = sub.add_parser(
        "leases", help="list a running network's DHCP leases and their status",
        description="Each lease with its MAC, IP, hostname, expiry and status: reserved (a "
                    "<host> gives it its IP), dynamic, conflicting (its IP is reserved for "
                    "someone else), stale (its holder left the network: its MAC is not in the "
                    "bridge's forwarding database and its IP answers no ARP/NDP probe).")
    name_argument(p)
    p.set_defaults(func=cmd_leases)

    p = sub.add_parser(
        "check", help="drift between the persistent definition, the live one and the kernel "
                      "(exit 1 when there is any)",
        description="Compare the persistent definition, the live definition and what really "
                    "runs (bridge, addresses, routes, dnsmasq and its files, nft table, "
                    "forwarding sysctls). One line per drift: what, expected, actual.")
    name_argument(p)
    p.add_argument("--repair", action="store_true",
                   help="fix the drift by the least disruptive plan")
    p.set_defaults(func=cmd_check)


def add_update_arguments(parser: argparse.ArgumentParser) -> None:
    """``update``'s options beyond virsh's: libvirt's (``--restart``) and the leases'."""
    from netupdate.cli.connect import add_libvirt_update_arguments
    add_libvirt_update_arguments(parser)
    parser.add_argument("--release-conflicting", action="store_true",
                        help="reserve an IP even when a guest still on the network holds its "
                             "lease: release that lease (otherwise the update is refused)")
    add_force_argument(parser)


def add_force_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--force", action="store_true",
                        help="go ahead despite a conflict the pre-flight may let through "
                             "(an overlapping subnet or route, a MAC or IP reserved in another "
                             "network); never a bridge name another link uses")


def force_option(args) -> dict:
    return {"force": True} if getattr(args, "force", False) else {}


def update_options(args) -> dict:
    """The keyword arguments of ``conn.update`` from ``add_update_arguments``' options."""
    out = {"release_conflicting": True} if getattr(args, "release_conflicting", False) else {}
    return out | force_option(args)


def cmd_leases(args) -> int:
    from netupdate.cli.connect import open_connection
    from netupdate.cli.names import named
    with open_connection(args) as conn, named(conn, args.name) as name:
        rows = conn.leases(name)
    import json
    print(json.dumps(rows.to_json(), indent=2) if args.json else rows.to_text())
    return 0


def cmd_check(args) -> int:
    from netupdate.cli.connect import open_connection
    from netupdate.cli.names import named
    with open_connection(args) as conn, named(conn, args.name) as name:
        result = conn.check(name, repair=args.repair)
    import json
    print(json.dumps(result.to_json(), indent=2) if args.json else result.to_text())
    return result.exit_code
