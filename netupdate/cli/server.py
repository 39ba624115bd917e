"""``netupdate server status|stop``: the command servers of this user (netupdate/cmdserver).

The ``netupdate`` program answers this verb itself, never through a server
(``cmdserver.control``); this module declares it, so that it is in ``--help``, the man page and
completion, and parsed like every other verb."""

from __future__ import annotations


def register(sub) -> None:
    from netupdate.cli.options import nested
    p = sub.add_parser(
        "server", help="status | stop of the command servers that spare later commands "
                       "Python's start-up (NETUPDATE_SERVER=off: never use one)",
        description="The netupdate program hands each command to a command server of this "
                    "user that has imported everything once, and forks a child for each command "
                    "(like Mercurial's chg); without a server it runs the command itself and "
                    "starts one. A server serves only a client of its own user, groups, "
                    "capabilities, namespaces, root, cgroup, limits, interpreter, module path "
                    "and locale, and ends after 10 minutes without a command "
                    "(NETUPDATE_SERVER_IDLE seconds) or when netupdate changes on disk. "
                    "Sockets: $NETUPDATE_SERVER_DIR, else /run/netupdate-server for root, else "
                    "$XDG_RUNTIME_DIR/netupdate-server or /tmp/netupdate-server-UID.")
    ssub = p.add_subparsers(dest="server_verb", metavar="{status,stop}")
    for name, text in (("status", "each server: pid, commands served, uptime, socket"),
                       ("stop", "stop every server (running commands finish first)")):
        ssub.add_parser(name, help=text).set_defaults(func=cmd_server, server_verb=name)
    nested(p, ssub)


def cmd_server(args) -> int:
    """Reached only through ``netupdate.cli.main`` called as a function: the program answers
    ``server`` before it gets here (``cmdserver.control``, wherever the word stands)."""
    from netupdate.cli.options import Usage
    raise Usage("'server' is answered by the netupdate program (netupdate or python -m "
                "netupdate), not by netupdate.cli.main", args.parser)
