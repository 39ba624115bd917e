"""Command line: argument parsing and output only; the work is done by the library.

Each verb group lives in its own module with ``register(subparsers)``; a verb's handler is set
with ``parser.set_defaults(func=handler)`` and returns the exit code.  Modules import heavy
dependencies inside handlers so that ``netupdate --help`` stays fast.
"""

from __future__ import annotations

import importlib
import os
import sys

from netupdate import __version__
from netupdate.errors import (
    EXIT_CODES,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_TERMINATED,
    EXIT_USAGE,
    NetupdateError,
    describe_os_error,
    exit_code,
)

TYPE_CHECKING = False   # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    import argparse

# Verb groups, in the order --help lists them, and the verbs each registers: a command line
# naming a verb builds only its group's parsers (start-up time), --help builds them all.
MODULES = ("edit", "validate", "diff", "live", "world", "server")
VERBS = {
    "edit": ("edit",),
    "validate": ("validate",),
    "diff": ("diff",),
    "live": ("define", "start", "stop", "destroy", "undefine", "list", "dumpxml", "status",
             "update", "apply", "change", "recover", "autostart"),
    "world": ("leases", "check"),
    "server": ("server",),
}
ALL_VERBS = tuple(verb for group in MODULES for verb in VERBS[group])

EPILOG = """global options (-c/--connect, --state-dir, --json, -q, -v, --color) go before the
command, like virsh and git, or anywhere after it.  A network is named by name or UUID; '-'
reads a file or fragment from standard input.

examples:
  netupdate edit fixtures/networks/nat-default.xml add ip-dhcp-host \\
      --mac 52:54:00:00:00:10 --ip 192.168.122.10 --name vm1
  netupdate edit fixtures/networks/nat-default.xml add ip-dhcp-host \\
      "<host mac='52:54:00:00:00:10' ip='192.168.122.10'/>" --plan
  netupdate edit fixtures/networks/nat-default.xml modify bridge \\
      --name virbr0 --stp off --print-diff
  netupdate edit fixtures/networks/nat-dns-txt.xml delete dns-txt --name example --print-diff
  netupdate validate fixtures/networks/nat-default.xml fixtures/networks/routed.xml
  netupdate diff fixtures/networks/nat-default.xml fixtures/networks/nat-hosts.xml
  netupdate -c test:///default list

state directory: $NETUPDATE_STATE_DIR, else /var/lib/netupdate + /run/netupdate for root,
  else $XDG_DATA_HOME/netupdate (~/.local/share/netupdate) + $XDG_RUNTIME_DIR/netupdate

exit status:
""" + "\n".join(f"  {code:<4}{meaning}" for code, meaning in EXIT_CODES.items()) + """
  (validate: 1 when a file is invalid; diff --exit-code: 1 changes, 2 trouble, like diff(1))
"""


# Parsers built ahead by a command server (``prebuild``), by verb group ("--help": the overview);
# its children use them rather than building their own.  Other processes leave this empty.
PREBUILT: dict = {}


def prebuild() -> None:
    """Build every verb group's parser now (a command server, before it forks its children)."""
    PREBUILT["--help"] = build_parser("--help")
    for group in MODULES:
        PREBUILT[group] = build_parser(VERBS[group][0])


def build_parser(verb: str | None = None):
    """The argument parser (an ``options.Parser``); with ``verb``, only the parsers of that
    verb's group (``"--help"``: only the verbs' help lines).  Its ``verbs`` maps each verb to its
    parser."""
    from netupdate.cli.options import Formatter, Parser, add_globals
    parser = Parser(
        prog="netupdate",
        description="Edit libvirt network definitions and apply the edits to live networks "
                    "with the least disruption.",
        epilog=EPILOG,
        formatter_class=Formatter,
    )
    parser.add_argument("--version", action="version", version=f"netupdate {__version__}")
    add_globals(parser)
    if verb == "--help":   # only the verbs' names and help lines: see options.Sketch
        parser.add_argument("verb", metavar="COMMAND", nargs="?", help="one of the commands "
                            "above; 'netupdate COMMAND --help' describes it")
        from netupdate.cli.options import Sketch
        sketch = Sketch()
        for name in MODULES:
            importlib.import_module(f"netupdate.cli.{name}").register(sketch)
        parser.verbs = dict.fromkeys(sketch.verbs)
        parser.description += "\n\ncommands:\n" + "\n".join(
            _help_line(name, text) for name, text in sketch.verbs.items())
        return parser
    sub = parser.add_subparsers(dest="verb", metavar="COMMAND", parser_class=Parser)
    for name in [name for name in MODULES if verb in VERBS[name]] or MODULES:
        importlib.import_module(f"netupdate.cli.{name}").register(sub)
    for verb_parser in sub.choices.values():
        add_globals(verb_parser)
        nested = verb_parser.get_default("subcommands") or {}
        for name in [n for n in nested if n.startswith("_") and verb is None]:
            del nested[name]   # internal (the change timer): not in --help, man or completion
        for nested_parser in nested.values():
            add_globals(nested_parser)
    parser.verbs = sub.choices
    return parser


def _help_line(name: str, text: str | None) -> str:
    from netupdate.cli.options import wrap
    lines = wrap(text or "", 88 - 14) or [""]
    return "\n".join([f"  {name:<11} {lines[0]}".rstrip(), *(" " * 14 + line
                                                              for line in lines[1:])])


def _unknown_verb(parser, verb: str, rest: list[str]):
    from netupdate.cli.editargs import suggest
    from netupdate.cli.options import Usage
    if verb.startswith("-"):
        from netupdate.cli.options import GLOBAL_FLAGS, close_option
        close = close_option(verb.split("=")[0], GLOBAL_FLAGS)
        return Usage(f"unknown option {verb!r} before the command (only the global options "
                     f"go there)" + (f"; did you mean {close!r}?" if close else ""), parser)
    message = suggest(verb, ALL_VERBS, "command")
    # a command later on: the order is wrong, unless this word is a typo of a command
    later = None if "did you mean" in message else \
        next((word for word in rest if word in ALL_VERBS), None)
    hint = (f"the command comes first: netupdate {later} {verb} ..." if later else
            f"commands: {', '.join(ALL_VERBS)}")
    return Usage(message, parser, hint)


def parse(argv: list[str]) -> argparse.Namespace:
    """The namespace of a command line (``Usage`` when it is wrong; ``SystemExit`` after
    ``--help`` or ``--version``): global options before the verb, then the verb's parser over
    the rest, options and positionals intermixed."""
    from netupdate.cli.options import split_leading
    leading, rest = split_leading(argv)
    verb = rest[0] if rest else None
    helping = not rest or any(t in ("-h", "--help") for t in leading)
    chosen = verb if verb in ALL_VERBS and not helping else "--help"
    group = next((name for name in MODULES if chosen in VERBS[name]), chosen)
    parser = PREBUILT.get(group) or build_parser(chosen)
    args = parser.parse_args(leading)
    if verb is None:
        return args
    if verb not in ALL_VERBS:
        raise _unknown_verb(parser, verb, rest[1:])
    return _dispatch(parser.verbs[verb], rest[1:], args)


def _dispatch(parser, argv: list[str], args: argparse.Namespace):
    from netupdate.cli.options import Usage, split_leading
    nested = parser.get_default("subcommands")
    if not nested:
        args = parser.parse_intermixed_args(argv, namespace=args)
        args.parser = parser
        return args
    leading, rest = split_leading(argv)
    if any(t in ("-h", "--help") for t in leading) or not rest:
        parser.print_help()
        raise SystemExit(EXIT_OK if leading else EXIT_USAGE)
    from netupdate.cli.options import Parser, add_globals
    options = Parser(prog=parser.prog, add_help=False)
    add_globals(options)
    options.parse_args(leading, namespace=args)   # the global options before the sub-verb
    public = [name for name in nested if not name.startswith("_")]
    if rest[0].startswith("-"):
        raise Usage(f"unknown option {rest[0]!r} before the {parser.prog.split()[-1]} command",
                    parser)
    if rest[0] not in nested:
        from netupdate.cli.editargs import suggest
        raise Usage(suggest(rest[0], public, f"{parser.prog.split()[-1]} command"), parser,
                    f"commands: {', '.join(public)}")
    return _dispatch(nested[rest[0]], rest[1:], args)


def usage_message(exc) -> str:
    """The message, with did-you-mean for unrecognized options."""
    from netupdate.cli.options import close_option
    message = exc.message
    if message.startswith("unrecognized arguments:") and exc.parser is not None:
        for word in message.split(":", 1)[1].split():
            close = close_option(word.split("=")[0], exc.parser.option_names())
            if word.startswith("-") and close:
                message += f"; did you mean {close!r} instead of {word!r}?"
    return message


def _report_usage(exc, json_wanted: bool, lines: bool = False) -> int:
    parser = exc.parser
    usage = parser.format_usage() if parser is not None else ""
    prog = parser.prog if parser is not None else "netupdate"
    message = usage_message(exc)
    sys.stderr.write(usage)
    print(f"{prog}: error: {message}", file=sys.stderr)
    if exc.hint:
        print(f"hint: {exc.hint}", file=sys.stderr)
    if json_wanted:
        from netupdate.cli.report import error_json
        data = error_json(exc, EXIT_USAGE, usage=usage.strip())
        data["error"] = message
        _json_error(data, exc, lines)
    return EXIT_USAGE


class Terminated(KeyboardInterrupt):
    """SIGTERM: raised like Ctrl-C, so every rollback and ``finally`` runs before the exit."""


_CLI_PID: list[int] = []   # the process whose SIGTERM is a Terminated


def _terminate(signum, frame) -> None:
    import _signal as signal  # the C module: ``signal`` builds its enums at import
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
    program = argv is None   # the program itself, not a caller's main([...])
    argv = sys.argv[1:] if program else argv
    if argv == ["--version"]:   # the answers that need no parser
        print(f"netupdate {__version__}")
        return output.exit_code(EXIT_OK)
    if argv in (["--help"], ["-h"]):
        from netupdate.cli.tophelp import TEXT  # generated from the parser (contrib/generate.py)
        text = TEXT.get(output.help_width())
        if text is not None:
            sys.stdout.write(text)
            return output.exit_code(EXIT_OK)
    if program and "_ARGCOMPLETE" in os.environ:
        from netupdate.cli import completion
        completion.complete(build_parser())   # exits
    from netupdate.cli import inputs
    from netupdate.cli.options import Usage, fill_defaults
    inputs.reset()
    json_wanted = "--json" in argv
    try:
        args = parse(argv)
    except Usage as exc:
        return output.exit_code(_report_usage(exc, json_wanted))
    except SystemExit as exc:   # --help, --version
        return output.exit_code(exc.code if isinstance(exc.code, int) else EXIT_USAGE)
    if not getattr(args, "func", None):
        build_parser().print_help()
        return output.exit_code(EXIT_USAGE)
    if program:   # SIGTERM as Ctrl-C (from here: parsing changes nothing)
        import _signal as signal  # the C module: ``signal`` builds its enums at import
        _CLI_PID[:] = [os.getpid()]
        signal.signal(signal.SIGTERM, _terminate)
    fill_defaults(args)
    return output.exit_code(_run(args))


def _run(args: argparse.Namespace) -> int:
    from netupdate.cli.options import Usage
    try:
        return int(args.func(args) or 0)
    except Usage as exc:
        exc.parser = exc.parser or getattr(args, "parser", None)
        return _report_usage(exc, args.json, getattr(args, "json_lines", False))
    except NetupdateError as exc:   # a verb may give its own exit code (diff --exit-code)
        return _fail(args, exc, getattr(exc, "cli_exit", None) or exit_code(exc), str(exc))
    except Terminated:
        print("netupdate: terminated", file=sys.stderr)
        return end_now(EXIT_TERMINATED)
    except KeyboardInterrupt:
        print("netupdate: interrupted", file=sys.stderr)
        return end_now(EXIT_INTERRUPTED)
    except BrokenPipeError:  # a direct write to stdout's buffer (edit)
        from netupdate.cli import output
        output.lose_stdout()
        return 0
    except OSError as exc:  # the system refused a file operation: one line, no traceback
        return _fail(args, exc, exit_code(exc), describe_os_error(exc))


def end_now(code: int) -> int:
    """An interrupted command has rolled back and released its lock: the program ends here,
    while the exception still holds what the command read, so a big network's objects are not
    freed one by one (a second at 30,000 hosts; issue 12).  ``main([...])`` just returns."""
    if os.getpid() in _CLI_PID:
        import contextlib

        from netupdate.cli import output
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        os._exit(output.exit_code(code))
    return code


def _fail(args, exc: BaseException, code: int, text: str) -> int:
    """One error line on stderr (``-v``: the traceback first), and with ``--json`` the error
    object on stdout."""
    if args.verbosity > 0:
        import traceback
        traceback.print_exception(exc, file=sys.stderr)
    print(f"netupdate: error: {' '.join(text.split())}", file=sys.stderr)
    if args.json:
        from netupdate.cli.report import error_json
        data = error_json(exc, code)
        if isinstance(exc, OSError):
            data["error"] = text
        _json_error(data, exc, getattr(args, "json_lines", False))
    return code


def _json_error(data: dict, exc: BaseException, lines: bool) -> None:
    """The error object on stdout: one indented object, or the last JSON line of a verb whose
    output is JSON lines (``lines``)."""
    from netupdate.cli.report import emit_json, error_line
    if lines:
        error_line(data, exc)
    else:
        emit_json(data)
