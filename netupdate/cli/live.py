"""Verbs on networks run by netupdate's embedded runtime (or by libvirt with --connect):
define, start, stop (destroy), undefine, list, dumpxml, status, update (also --batch), apply,
change start|commit|rollback|status, recover, autostart."""

from __future__ import annotations

import argparse
import sys

from netupdate.cli.options import name_argument, nested


def _common(parser: argparse.ArgumentParser, *, netns: bool = False,
            policy: bool = False, force: bool = False) -> None:
    """The verb's own options (the global ones come from ``options.add_globals``)."""
    if policy:
        from netupdate.cli.connect import add_policy_argument
        add_policy_argument(parser)
    if netns:
        parser.add_argument("--netns", metavar="NAME", default=None,
                            help="run the network inside this network namespace (ip netns)")
    if force:
        from netupdate.cli.world import add_force_argument
        add_force_argument(parser)


def _conn(args, *, readonly: bool = False):
    """The embedded runtime, or libvirt with --connect URI / $NETUPDATE_CONNECT."""
    from netupdate.cli.connect import open_connection
    return open_connection(args, readonly=readonly)


def _named(conn, args):
    from netupdate.cli.names import named
    return named(conn, args.name)


def _done(args, text: str, **data) -> int:
    """A verb's confirmation: the line, or ``{"network": ..., ...}`` with ``--json``."""
    if args.json:
        from netupdate.cli.report import emit_json
        emit_json(data)
    else:
        from netupdate.cli.report import say
        say(args, text)
    return 0


def register(sub) -> None:
    p = sub.add_parser("define", help="store a persistent network definition")
    p.add_argument("file", metavar="FILE", help="network XML file ('-' for stdin)")
    _common(p, policy=True, force=True)
    p.set_defaults(func=cmd_define)
    _register_lifecycle(sub)
    _register_update(sub)
    _register_apply(sub)
    _register_change(sub)
    _register_recovery(sub)


def _register_lifecycle(sub) -> None:

    p = sub.add_parser("start", help="start a defined network (repairs a damaged running one)")
    name_argument(p)
    _common(p, netns=True, force=True)
    p.set_defaults(func=cmd_start)

    for verb, same in (("stop", ""), ("destroy", "virsh's net-destroy, the same as 'stop': ")):
        p = sub.add_parser(verb, help=f"{same}stop a running network; its definition stays")
        name_argument(p)
        _common(p)
        p.set_defaults(func=cmd_stop)

    p = sub.add_parser("undefine", help="remove a persistent network definition")
    name_argument(p)
    _common(p)
    p.set_defaults(func=cmd_undefine)

    from netupdate.cli import listing
    p = sub.add_parser("list", help="list networks (all of them; virsh's filters)")
    listing.add_arguments(p)
    _common(p)
    p.set_defaults(func=listing.cmd_list)

    p = sub.add_parser("dumpxml", help="print a network's definition (live one when running)")
    name_argument(p)
    p.add_argument("--inactive", action="store_true", help="the persistent definition")
    _common(p)
    p.set_defaults(func=cmd_dumpxml)

    p = sub.add_parser("status", help="what is really running (exit 5 when degraded, 4 when "
                                      "not defined)")
    name_argument(p)
    _common(p)
    p.set_defaults(func=cmd_status)


def _register_update(sub) -> None:
    from netupdate.cli.editargs import add_update_arguments

    p = sub.add_parser(
        "update", help="edit a network like 'virsh net-update', live and config by default",
        usage="%(prog)s [options] NAME COMMAND [SECTION] [XML | typed options]\n"
              "       %(prog)s [options] NAME --batch FILE",
        description="Edit a network (libvirt's section form, or --node-spec XPATH). For a running "
                    "network the default is --live --config (virsh's default, the current "
                    "state only, loses changes at restart); --current is virsh's meaning. Live "
                    "changes are verified and rolled back on failure.")
    name_argument(p)
    add_update_arguments(p)
    p.add_argument("--live", action="store_true", help="change the running network")
    p.add_argument("--config", action="store_true", help="change the persistent definition")
    p.add_argument("--current", action="store_true",
                   help="the live state if running, else the persistent config (virsh)")
    p.add_argument("--dry-run", action="store_true", help="show the plan, change nothing")
    p.add_argument("--batch", metavar="FILE", default=None,
                   help="apply the updates of FILE ('-' for stdin) as one transaction: "
                        "one plan, at most one dnsmasq reload or restart, all or nothing. "
                        "FILE: one update per line 'COMMAND SECTION XML' (or COMMAND "
                        "--node-spec=XPATH XML, or COMMAND SECTION with typed options), or a "
                        "JSON list")
    _common(p, policy=True)
    from netupdate.cli import world
    world.add_update_arguments(p)
    p.set_defaults(func=cmd_update)


def _register_apply(sub) -> None:
    from netupdate.cli.connect import add_apply_arguments
    p = sub.add_parser(
        "apply", help="make a network exactly a desired definition (idempotent; --try SECONDS "
                      "rolls back unless confirmed)",
        description="Make network NAME exactly the definition in FILE: the plan is computed "
                    "against what really runs, applied, verified; a second run does nothing. "
                    "Defaults: a running network gets its live state and config, any other "
                    "its config (created when missing); --live on a network that is not "
                    "running starts it. With --connect URI it works on a libvirt network.")
    add_apply_arguments(p)
    p.add_argument("--try", dest="try_seconds", type=float, metavar="SECONDS", default=None,
                   help="open a change that rolls back by itself after SECONDS unless "
                        "confirmed (ENTER on a terminal, else 'netupdate change commit NAME')")
    _check_arguments(p)
    _common(p, force=True)
    p.add_argument("--netns", metavar="NAME", default=None,
                   help="with --live on a network that is not running: start it in this "
                        "network namespace")
    p.set_defaults(func=cmd_apply)


def _register_change(sub) -> None:
    p = sub.add_parser(
        "change", help="safe change: start | commit | rollback | status of a change "
                       "transaction (auto-rollback with --rollback-after)",
        description="A change transaction on one network: 'start' snapshots it, later updates "
                    "go ahead as usual, 'commit' keeps them, 'rollback' restores the config "
                    "and the live state (only what changed is touched). With "
                    "--rollback-after SECONDS a detached timer rolls back unless committed "
                    "in time, even when this command or the SSH session dies.")
    csub = p.add_subparsers(dest="change_verb", metavar="{start,commit,rollback,status}")
    c = csub.add_parser("start", help="snapshot a network: open a change")
    name_argument(c)
    c.add_argument("--rollback-after", type=float, metavar="SECONDS", default=None,
                   help="roll back automatically unless 'change commit' arrives in time")
    _check_arguments(c)
    _common(c)
    c.set_defaults(func=cmd_change_start)
    c = csub.add_parser("commit", help="keep the changes: drop the snapshot, stop the timer")
    name_argument(c)
    _common(c)
    c.set_defaults(func=cmd_change_commit)
    c = csub.add_parser("rollback", help="restore config and live state to the snapshot")
    name_argument(c)
    _common(c)
    c.set_defaults(func=cmd_change_rollback)
    c = csub.add_parser("status", help="the open change of a network (or of every network)")
    name_argument(c, nargs="?")
    _common(c)
    c.set_defaults(func=cmd_change_status)
    nested(p, csub)


def _register_recovery(sub) -> None:
    p = sub.add_parser(
        "recover", help="after a crash or at boot: undo killed operations, roll back "
                        "uncommitted changes, clean leftovers, start autostart networks",
        description="Run early at boot (contrib/netupdate-recover.service) or after a crash. "
                    "For every network: undo an operation that was killed midway, tear down "
                    "what is left of a network that no longer runs, roll back an uncommitted "
                    "change (one whose timer is still running and not yet due is left to it), "
                    "repair a running network that drifted from its definition, and start the "
                    "networks marked autostart. Exit 1 when something could not be done.")
    _common(p)
    p.set_defaults(func=cmd_recover)

    p = sub.add_parser("autostart", help="start a network at boot ('netupdate recover')")
    name_argument(p)
    p.add_argument("--disable", action="store_true", help="do not start it at boot")
    _common(p, netns=True)
    p.set_defaults(func=cmd_autostart)


def _check_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--check", metavar="HOST:PORT", default=None,
                        help="after the change, connect to HOST:PORT (in the network's "
                             "namespace); when it fails, roll back at once")
    parser.add_argument("--check-command", metavar="CMD", default=None,
                        help="after the change, run CMD (sh -c, in the network's namespace); "
                             "when it exits non-zero, roll back at once")
    parser.add_argument("--check-timeout", type=float, metavar="SECONDS", default=None,
                        help="how long the check is retried before it counts as failed "
                             "(default 5)")


def _check_of(args) -> dict | None:
    """The check of --check / --check-command / --check-timeout (the backend checks it)."""
    check = {"tcp": getattr(args, "check", None), "command": getattr(args, "check_command", None),
             "timeout": getattr(args, "check_timeout", None)}
    return check if any(value is not None for value in check.values()) else None


def cmd_define(args) -> int:
    from netupdate.cli.inputs import placed_in, read_input
    from netupdate.cli.world import force_option
    xml = read_input(args.file)
    with _conn(args) as conn, placed_in(args.file):
        name = conn.define(xml, **force_option(args))
    return _done(args, f"Network {name} defined from {args.file}", network=name,
                 defined=True, file=args.file)


def cmd_start(args) -> int:
    from netupdate.cli.world import force_option
    with _conn(args) as conn, _named(conn, args) as name:
        running = name in {n.name for n in conn.list() if n.active}
        conn.start(name, netns=args.netns, **force_option(args))
    state = "repaired" if running else "started"
    return _done(args, f"Network {name} {state}", network=name, state=state)


def cmd_stop(args) -> int:
    with _conn(args) as conn, _named(conn, args) as name:
        conn.stop(name)
    return _done(args, f"Network {name} destroyed", network=name, state="stopped")


def cmd_undefine(args) -> int:
    with _conn(args) as conn, _named(conn, args) as name:
        notes = conn.undefine(name) or []
    return _done(args, "\n".join([*notes, f"Network {name} has been undefined"]),
                 network=name, undefined=True, notes=notes)


def cmd_dumpxml(args) -> int:
    with _conn(args, readonly=True) as conn, _named(conn, args) as name:
        text = conn.dumpxml(name, inactive=args.inactive)
    if args.json:
        return _done(args, "", network=name, inactive=args.inactive, xml=text)
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0


def cmd_status(args) -> int:
    import json

    from netupdate.errors import EXIT_DEGRADED
    with _conn(args, readonly=True) as conn, _named(conn, args) as name:
        status = conn.status(name)
    if args.json:
        print(json.dumps(status.to_json(), indent=2, default=str))
    else:
        print(status.to_text())
    return EXIT_DEGRADED if status.problems else 0


def _sides(args, conn, name: str) -> tuple[bool | None, bool | None]:
    """(live, config) of --live/--config/--current."""
    from netupdate.cli.connect import affect_flags
    from netupdate.cli.options import Usage
    if args.current and (args.live or args.config):
        raise Usage("--current and --live/--config are mutually exclusive")
    flags = affect_flags(args)
    if args.current:
        active = any(n.name == name and n.active for n in conn.list())
        return active, not active
    return flags["live"], flags["config"]


def cmd_update(args) -> int:
    from netupdate.cli.editargs import update_input, wrong_order
    if args.batch is not None:
        return _cmd_batch(args)
    wrong_order(args.name, usage="netupdate update NAME COMMAND SECTION XML")
    command, section, xml = update_input(args, target="NAME")
    from netupdate.cli.world import update_options
    with _conn(args) as conn, _named(conn, args) as name:
        live, config = _sides(args, conn, name)
        result = conn.update(name, command, section, xml,
                             parent_index=args.parent_index, node_spec=args.node_spec,
                             live=live, config=config, dry_run=args.dry_run,
                             restart=getattr(args, "restart", False), **update_options(args))
    from netupdate.cli.connect import report_update
    return report_update(result, args)


# ---------------------------------------------------------------------- batch
def _cmd_batch(args) -> int:
    from netupdate.cli.batchlines import expand
    from netupdate.cli.editargs import shortcut_values
    from netupdate.cli.inputs import read_text
    from netupdate.cli.options import Usage
    from netupdate.cli.progress import emit_result, long_operation
    from netupdate.cli.world import force_option
    from netupdate.edit.batch import BatchError, parse_batch
    args.json_lines = args.json   # its output, errors included, is JSON lines
    if args.words or args.node_spec is not None or shortcut_values(args):
        raise Usage("with --batch FILE give only the network NAME (the updates come from FILE)")
    try:
        updates = parse_batch(expand(read_text(args.batch)))
        with _conn(args) as conn, _named(conn, args) as name:
            live, config = _sides(args, conn, name)

            def run(reporter):
                return conn.update_batch(name, updates, live=live, config=config,
                                         dry_run=args.dry_run,
                                         restart=getattr(args, "restart", False),
                                         progress=reporter, **force_option(args))
            code, result = long_operation(args, run)
    except (BatchError, Usage) as exc:   # a line of the batch file: b.txt:2: ... (JSON: file)
        if getattr(exc, "batch_line", None) is not None and args.batch != "-" and \
                getattr(exc, "file", None) is None:
            exc.file = args.batch
        raise
    if result is None:
        return code
    emit_result(args, result, args.json)
    return result.exit_code


# ---------------------------------------------------------------------- apply
def cmd_apply(args) -> int:
    from netupdate.cli.connect import affect_flags
    from netupdate.cli.progress import emit_result, long_operation
    from netupdate.errors import InvalidOperationError
    if args.try_seconds is not None and not args.try_seconds > 0:
        raise InvalidOperationError("--try wants a positive number of seconds")
    from netupdate.cli.inputs import placed_in, read_input
    from netupdate.cli.world import force_option
    desired = read_input(args.file)
    check = _check_of(args)
    # one Ctrl-C handler from apply to try window end; before any change a signal stops at once
    with _conn(args) as conn, conn.interruptible(immediate=True):
        def run(reporter):
            with placed_in(args.file):
                return conn.apply(args.name, desired, **affect_flags(args),
                                  dry_run=args.dry_run, restart=getattr(args, "restart", False),
                                  try_seconds=args.try_seconds, check=check,
                                  progress=reporter, **force_option(args))
        code, result = long_operation(args, run)
        if result is None:
            return code
        emit_result(args, result, args.json)
        if result.change_info is None:
            return result.exit_code
        return _try_window(conn, args, result.change_info)


def _try_window(conn, args, info) -> int:
    """After ``apply --try``: on a terminal, wait for ENTER (commit), Ctrl-C (roll back now) or
    the deadline (the detached timer rolls back); otherwise leave the change open."""
    import json
    confirm = None
    if sys.stdin.isatty():
        print(f"Press ENTER within {info.remaining:.0f} s to keep this change "
              f"(Ctrl-C rolls it back now).", file=sys.stderr, flush=True)
        confirm = _enter_pressed
    outcome = conn.try_window(args.name, info, confirm=confirm)
    if outcome.state == "open":
        if args.json:
            print(json.dumps({"event": "open", **info.to_json(), "message": outcome.message}),
                  flush=True)
        else:
            print(outcome.message)
    elif outcome.state == "committed":
        print(outcome.message)
    elif outcome.state == "expired":
        print(outcome.message, file=sys.stderr)
    elif outcome.state == "interrupted":
        print(f"netupdate: {outcome.message}", file=sys.stderr)
    else:
        print(f"netupdate: error: {outcome.message}", file=sys.stderr)
    return outcome.exit_code


def _enter_pressed(timeout: float) -> bool | None:
    """Whether ENTER came on standard input within ``timeout`` s (None: end of input)."""
    import select
    ready, _w, _x = select.select([sys.stdin], [], [], timeout)
    if not ready:
        return False
    return True if sys.stdin.readline() else None


# ---------------------------------------------------------------------- change
def _print_info(args, info) -> None:
    import json
    if getattr(args, "json", False):
        print(json.dumps(info.to_json(), indent=2, default=str))
    else:
        print(info.to_text())


def cmd_change_start(args) -> int:
    with _conn(args) as conn, _named(conn, args) as name:
        info = conn.change_start(name, rollback_after=args.rollback_after,
                                 check=_check_of(args))
    _print_info(args, info)
    return 0


def cmd_change_commit(args) -> int:
    import json
    with _conn(args) as conn, _named(conn, args) as name:
        info = conn.change_commit(name)
    if args.json:
        print(json.dumps(info.to_json(), indent=2, default=str))
    else:
        print(f"Change on network {name} committed")
    return 0


def cmd_change_rollback(args) -> int:
    from netupdate.cli.progress import emit_result, long_operation
    with _conn(args) as conn, _named(conn, args) as name:
        code, result = long_operation(args, lambda reporter: conn.change_rollback(
            name, reason="requested", progress=reporter))
    if result is None:
        return code
    emit_result(args, result, args.json)
    return 0


def cmd_change_status(args) -> int:
    import json

    from netupdate.cli.names import require
    with _conn(args, readonly=True) as conn:
        name = require(conn, args.name) if args.name is not None else None
        info = conn.change_status(name)
    if name is not None:
        _print_info(args, info)
        return 0
    if args.json:
        print(json.dumps([i.to_json() for i in info], indent=2, default=str))
    elif not info:
        print("no change is open")
    else:
        print("\n".join(i.to_text() for i in info))
    return 0


# ---------------------------------------------------------------------- recover, autostart
def cmd_recover(args) -> int:
    import json
    with _conn(args) as conn:
        report = conn.recover()
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        print(report.to_text())
    return report.exit_code


def cmd_autostart(args) -> int:
    with _conn(args) as conn, _named(conn, args) as name:
        conn.set_autostart(name, not args.disable, netns=args.netns)
        where = conn.autostart_netns(name)
        embedded = conn.uri == "netupdate:///embedded"   # libvirt's: where its daemon runs
    text = f"Network {name} {'unmarked' if args.disable else 'marked'} as autostarted"
    if embedded and not args.disable:
        text += f" (in namespace {where})" if where else " (in the host namespace)"
    return _done(args, text, network=name, autostart=not args.disable, netns=where)
