"""``--connect URI``: run the live verbs against a libvirt daemon instead of the embedded runtime.

Helpers for the verb modules (this module registers no verb of its own)::

    from netupdate.cli.connect import open_connection, report_update

    conn = open_connection(args)                 # netupdate.connect(uri, state_dir=..., ...)
    return report_update(conn.update(...), args) # print a result, return the exit code

``-c/--connect`` itself is a global option (``options.GLOBALS``).  Ready-made handlers:
``add_apply_arguments`` + ``cmd_apply`` (``netupdate apply NAME FILE --connect URI``),
``cmd_diff`` (``netupdate diff NAME [FILE]``, on either backend) and ``fetch_definitions`` (the
persistent XML of named networks, for ``validate --network NAME``).

Heavy imports (``libvirt``, the runtime) happen inside the functions so that ``--help`` is fast.
"""

from __future__ import annotations

import argparse
import sys

from netupdate.cli.options import ENV_CONNECT as ENV


def add_libvirt_update_arguments(parser: argparse.ArgumentParser) -> None:
    """Options that only mean something with ``--connect`` (for ``update`` and ``apply``)."""
    parser.add_argument("--restart", action="store_true",
                        help="with --connect: when the live network cannot take the change "
                             "(a section libvirt refuses, not doable through netlink), restart "
                             "the network (destroy + start) instead of only reporting it")


def connect_uri(args: argparse.Namespace) -> str | None:
    """The libvirt URI of ``args`` (``--connect``, else ``$NETUPDATE_CONNECT``), or None."""
    import os
    uri = getattr(args, "connect", None)
    if uri is None:
        uri = os.environ.get(ENV) or None
    return uri or None


def open_connection(args: argparse.Namespace, *, readonly: bool = False):
    """``netupdate.connect(URI or None, state_dir=..., netns=..., policy=...)``: the one
    Backend interface, libvirt or the embedded runtime."""
    import netupdate
    uri = connect_uri(args)
    if uri is not None and getattr(args, "state_dir", None) is not None:
        from netupdate.cli.options import Usage
        raise Usage(f"--state-dir is the embedded runtime's; libvirt ({uri}) keeps its own "
                    f"state: give one of -c/--connect and --state-dir")
    return netupdate.connect(uri, state_dir=getattr(args, "state_dir", None),
                             netns=getattr(args, "netns", None), readonly=readonly,
                             policy=getattr(args, "policy", None))


def refuse_connect(args: argparse.Namespace, verb: str) -> None:
    """For file-only verbs (``edit``): refuse an explicit ``--connect`` with a pointer to
    ``update`` (``$NETUPDATE_CONNECT`` does not apply to them and is ignored)."""
    if getattr(args, "connect_given", False):
        from netupdate.cli.options import Usage
        raise Usage(f"'{verb}' works on files only; to change a network use "
                    f"'netupdate update [-c URI] NAME ...' or 'apply'")


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
    import json
    stream = stream or sys.stdout
    if args is not None and getattr(args, "json", False):
        from netupdate.cli.report import result_json
        json.dump(result_json(result), stream, indent=2, default=str)
        stream.write("\n")
    else:
        from netupdate.cli.report import result_text
        stream.write(result_text(result, args) + "\n")
    warn_restart(result)
    return result.exit_code


def warn_restart(result) -> None:
    """The stderr warning of a result whose live change waits for a restart."""
    if result.restart_needed:
        print(f"netupdate: warning: {result.network}: live state and persistent config differ "
              f"until the network restarts (use --restart)", file=sys.stderr)


def add_policy_argument(parser: argparse.ArgumentParser) -> None:
    """``--policy FILE`` of an editing verb: passed to ``netupdate.connect(policy=...)``."""
    parser.add_argument("--policy", metavar="FILE",
                        help="refuse the edit unless this access policy (TOML) allows every "
                             "change it makes; the backend checks it (see docs/policy.md)")


def add_apply_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``netupdate apply NAME FILE --connect URI``."""
    from netupdate.cli.options import name_argument
    name_argument(parser, help="the network to reconcile (name or UUID)")
    parser.add_argument("file", metavar="FILE", help="its desired definition ('-' for stdin)")
    parser.add_argument("--live", action="store_true", help="change the running network only")
    parser.add_argument("--config", action="store_true",
                        help="change the persistent definition only")
    parser.add_argument("--dry-run", action="store_true",
                        help="show the plan (with --connect: the virNetworkUpdate calls and "
                             "actions), change nothing")
    add_libvirt_update_arguments(parser)
    add_policy_argument(parser)


def cmd_diff(args: argparse.Namespace) -> int:
    """Handler of ``diff NAME [FILE]``: the changes from the network's persistent config to
    FILE (or its live vs persistent drift) and the live plan, on either backend."""
    import json

    from netupdate.cli.inputs import read_text
    from netupdate.cli.names import named
    other = read_text(args.file) if getattr(args, "file", None) else None
    with open_connection(args, readonly=True) as conn, named(conn, args.name) as name:
        result = conn.diff(name, other)
    if getattr(args, "json", False):
        json.dump(result.to_json(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(result.to_text())
    return 1 if getattr(args, "exit_code", False) and result.changes else 0


def fetch_definitions(args: argparse.Namespace, names, *, inactive: bool = True):
    """``[(label, xml)]``: the persistent (``inactive``) or live definitions of the named
    networks, labelled ``URI#NAME`` (libvirt) or ``NAME`` for messages."""
    from netupdate.cli.names import named
    out = []
    with open_connection(args, readonly=True) as conn:
        for each in names:
            with named(conn, each) as name:
                label = f"{connect_uri(args)}#{name}" if connect_uri(args) else name
                out.append((label, conn.dumpxml(name, inactive=inactive)))
    return out
