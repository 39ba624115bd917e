"""``--connect URI``: run the live verbs against a libvirt daemon instead of the embedded runtime.

Helpers for the verb modules (this module registers no verb of its own)::

    from netupdate.cli.connect import add_connect_argument, open_connection, report_update

    add_connect_argument(parser)                 # --connect URI (default: $NETUPDATE_CONNECT)
    conn = open_connection(args)                 # LibvirtConnection, or netupdate.connect(...)
    return report_update(conn.update(...), args) # print a libvirt result, return the exit code

Ready-made handlers for the verbs that need a libvirt network: ``add_apply_arguments`` +
``cmd_apply`` (``netupdate apply NAME FILE --connect URI``), ``add_diff_arguments`` +
``cmd_diff`` (``netupdate diff --connect URI NAME [FILE]``) and ``fetch_definitions`` (the
persistent XML of named networks, for ``validate --connect URI NAME...``).

Heavy imports (``libvirt``, the runtime) happen inside the functions so that ``--help`` is fast.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

ENV = "NETUPDATE_CONNECT"

CONNECT_HELP = (f"libvirt URI to work on (qemu:///system, test:///default, "
                f"qemu+ssh://host/system, ...; default: ${ENV}); without it the embedded runtime "
                f"is used.  Needs pip install 'netupdate[libvirt]'")


def add_connect_argument(parser: argparse.ArgumentParser, *flags: str) -> None:
    """Add ``--connect URI`` (or the given option strings, e.g. ``"-c", "--connect"``); when it
    is absent, ``connect_uri`` falls back to ``$NETUPDATE_CONNECT``."""
    parser.add_argument(*(flags or ("--connect",)), dest="connect", metavar="URI", default=None,
                        help=CONNECT_HELP)


def add_libvirt_update_arguments(parser: argparse.ArgumentParser) -> None:
    """Options that only mean something with ``--connect`` (for ``update`` and ``apply``)."""
    parser.add_argument("--restart", action="store_true",
                        help="with --connect: when the live network cannot take the change "
                             "(a section libvirt refuses, not doable through netlink), restart "
                             "the network (destroy + start) instead of only reporting it")


def connect_uri(args: argparse.Namespace) -> str | None:
    """The libvirt URI of ``args`` (``--connect``, else ``$NETUPDATE_CONNECT``), or None."""
    uri = getattr(args, "connect", None)
    if uri is None:
        uri = os.environ.get(ENV) or None
    return uri or None


def uses_libvirt(args: argparse.Namespace) -> bool:
    return connect_uri(args) is not None


def open_connection(args: argparse.Namespace, *, readonly: bool = False):
    """A ``LibvirtConnection`` when a URI is given, else the embedded runtime's connection
    (``netupdate.connect(state_dir=..., netns=...)``)."""
    uri = connect_uri(args)
    netns = getattr(args, "netns", None)
    import netupdate
    return netupdate.connect(uri, state_dir=getattr(args, "state_dir", None), netns=netns,
                             readonly=readonly, policy=getattr(args, "policy", None))


def refuse_connect(args: argparse.Namespace, verb: str) -> None:
    """For file-only verbs (``edit``): refuse an explicit ``--connect`` with a pointer to
    ``update`` (``$NETUPDATE_CONNECT`` does not apply to them and is ignored)."""
    if getattr(args, "connect", None):
        from netupdate.errors import NetupdateError
        raise NetupdateError(f"'{verb}' works on files only; to change a libvirt network use "
                             f"'netupdate update --connect URI NAME ...' or 'apply'")


def affect_flags(args: argparse.Namespace) -> dict:
    """``live``/``config`` keyword arguments from ``--live``/``--config`` (neither: netupdate's
    default, both sides of a running persistent network, unlike virsh's current-state default)."""
    live = True if getattr(args, "live", False) else None
    config = True if getattr(args, "config", False) else None
    if live and not config:
        config = False
    if config and not live:
        live = False
    return {"live": live, "config": config}


def report_update(result, args: argparse.Namespace | None = None, *, stream=None) -> int:
    """Print a libvirt ``UpdateResult`` (text, or JSON with ``--json``) and return the exit
    code: 0 when everything requested is in effect, 3 when the live network needs a restart
    (the summary says so on stderr too, so scripts and humans both see it)."""
    stream = stream or sys.stdout
    if args is not None and getattr(args, "json", False):
        json.dump(result.to_json(), stream, indent=2)
        stream.write("\n")
    else:
        stream.write(result.to_text() + "\n")
    warn_restart(result)
    return result.exit_code


def warn_restart(result) -> None:
    """The stderr warning of a result whose live change waits for a restart."""
    if result.restart_needed:
        print(f"netupdate: warning: {result.network}: live state and persistent config differ "
              f"until the network restarts (use --restart)", file=sys.stderr)


def _read(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def add_policy_argument(parser: argparse.ArgumentParser) -> None:
    """``--policy FILE`` of an editing verb: passed to ``netupdate.connect(policy=...)``."""
    parser.add_argument("--policy", metavar="FILE",
                        help="refuse the edit unless this access policy (TOML) allows every "
                             "change it makes; the backend checks it (see docs/policy.md)")


def add_apply_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``netupdate apply NAME FILE --connect URI``."""
    parser.add_argument("name", metavar="NAME", help="the network to reconcile")
    parser.add_argument("file", metavar="FILE", help="its desired definition ('-' for stdin)")
    parser.add_argument("--live", action="store_true", help="change the running network only")
    parser.add_argument("--config", action="store_true",
                        help="change the persistent definition only")
    parser.add_argument("--dry-run", action="store_true",
                        help="show the plan (with --connect: the virNetworkUpdate calls and "
                             "actions), change nothing")
    parser.add_argument("--json", action="store_true", help="print JSON")
    add_libvirt_update_arguments(parser)
    add_connect_argument(parser)
    add_policy_argument(parser)


def cmd_apply(args: argparse.Namespace) -> int:
    """Handler of ``apply``: desired-state reconcile of a libvirt network (exit 0, 3 when the
    live network needs a restart, 1 on errors)."""
    from netupdate.errors import NetupdateError
    if not uses_libvirt(args):
        raise NetupdateError(f"apply works on libvirt networks: give --connect URI (or set "
                             f"${ENV})")
    desired = _read(args.file)
    with open_connection(args) as conn:
        result = conn.apply(args.name, desired, **affect_flags(args), dry_run=args.dry_run,
                            restart=getattr(args, "restart", False))
    return report_update(result, args)


def add_diff_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``netupdate diff --connect URI NAME [FILE]``."""
    parser.add_argument("name", metavar="NAME", help="the libvirt network")
    parser.add_argument("file", metavar="FILE", nargs="?",
                        help="the definition to compare with (default: the live definition "
                             "against the persistent config)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--exit-code", action="store_true", help="exit 1 when there are changes")
    add_connect_argument(parser)


def cmd_diff(args: argparse.Namespace) -> int:
    """Handler of ``diff --connect``: the changes from the network's persistent config to FILE
    (or its live vs persistent drift) and the live plan."""
    other = _read(args.file) if getattr(args, "file", None) else None
    with open_connection(args, readonly=True) as conn:
        result = conn.diff(args.name, other)
    if getattr(args, "json", False):
        json.dump(result.to_json(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(result.to_text())
    return 1 if getattr(args, "exit_code", False) and result.changes else 0


def fetch_definitions(args: argparse.Namespace, names, *, inactive: bool = True):
    """``[(label, xml)]``: the persistent (``inactive``) or live definitions of the named
    networks of the ``--connect`` URI, labelled ``URI#NAME`` for messages."""
    with open_connection(args, readonly=True) as conn:
        return [(f"{conn.uri}#{name}", conn.dumpxml(name, inactive=inactive)) for name in names]
