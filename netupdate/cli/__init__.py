"""Command line: argument parsing and output only; the work is done by the library.

Each verb group lives in its own module with ``register(subparsers)``; a verb's handler is set
with ``parser.set_defaults(func=handler)`` and returns the exit code.  Modules import heavy
dependencies inside handlers so that ``netupdate --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys

from netupdate import __version__
from netupdate.errors import (
    EXIT_INTERRUPTED,
    EXIT_TERMINATED,
    EXIT_USAGE,
    NetupdateError,
    describe_os_error,
    exit_code,
)

# Verb groups, in the order --help lists them, and the verbs each registers: a command line
# naming a verb builds only its group's parsers (start-up time), --help builds them all.
MODULES = ("edit", "validate", "diff", "live", "world")
VERBS = {
    "edit": ("edit",),
    "validate": ("validate",),
    "diff": ("diff",),
    "live": ("define", "start", "stop", "destroy", "undefine", "list", "dumpxml", "status",
             "update", "apply", "change", "recover", "autostart"),
    "world": ("leases", "check"),
}

EPILOG = """examples:
  netupdate edit net.xml add ip-dhcp-host "<host mac='52:54:00:00:00:10' name='vm1' ip='192.168.122.10'/>" --plan
  netupdate edit net.xml modify bridge "<bridge name='virbr0' stp='off'/>" --print-diff
  netupdate edit net.xml delete --node-spec "/network/dns/txt[@name='old']" --in-place
  netupdate validate --format github fixtures/networks/
  netupdate diff old.xml new.xml
"""


def build_parser(verb: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; with ``verb``, only the parsers of that verb's group."""
    parser = argparse.ArgumentParser(
        prog="netupdate",
        description="Edit libvirt network definitions and apply the edits to live networks "
                    "with the least disruption.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"netupdate {__version__}")
    sub = parser.add_subparsers(dest="verb", metavar="COMMAND")
    groups = [name for name in MODULES if verb in VERBS[name]] or MODULES
    for name in groups:
        importlib.import_module(f"netupdate.cli.{name}").register(sub)
    return parser


class Terminated(KeyboardInterrupt):
    """SIGTERM: raised like Ctrl-C, so every rollback and ``finally`` runs before the exit."""


_CLI_PID: list[int] = []   # the process whose SIGTERM is a Terminated


def _terminate(signum, frame) -> None:
    if os.getpid() not in _CLI_PID:  # a forked helper (pyroute2's namespace worker) inherited
        signal.signal(signal.SIGTERM, signal.SIG_DFL)   # this handler: it just ends
        signal.raise_signal(signal.SIGTERM)
        return
    signal.signal(signal.SIGTERM, signal.SIG_IGN)   # once: the clean-up must not be cut short
    raise Terminated("terminated (SIGTERM)")


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns its exit code (141 when it succeeded but its output could not be
    written, see ``cli.output``)."""
    from netupdate.cli import output
    output.guard()  # a closed stdout or stderr never changes what a command does
    if argv is None:    # the program itself (not a caller's main([...])): SIGTERM as Ctrl-C
        argv = sys.argv[1:]
        _CLI_PID[:] = [os.getpid()]
        signal.signal(signal.SIGTERM, _terminate)
    parser = build_parser(argv[0] if argv else None)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return output.exit_code(EXIT_USAGE)
    try:
        code = int(args.func(args) or 0)
    except NetupdateError as exc:
        print(f"netupdate: error: {exc}", file=sys.stderr)
        code = exit_code(exc)
    except Terminated:
        print("netupdate: terminated", file=sys.stderr)
        code = EXIT_TERMINATED
    except KeyboardInterrupt:
        print("netupdate: interrupted", file=sys.stderr)
        code = EXIT_INTERRUPTED
    except BrokenPipeError:  # a direct write to stdout's buffer (edit)
        output.lose_stdout()
        code = 0
    except OSError as exc:  # the system refused a file operation: one line, no traceback
        print(f"netupdate: error: {describe_os_error(exc)}", file=sys.stderr)
        code = exit_code(exc)
    return output.exit_code(code)
