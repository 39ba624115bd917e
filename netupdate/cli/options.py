"""The options every verb shares, the parser class and the usage errors.

Global options (``-c/--connect``, ``--state-dir``, ``--json``, ``-q/--quiet``, ``-v/--verbose``,
``--color WHEN``) go before the verb, like virsh and git, or anywhere after it: the top-level
parser and every verb's parser carry them with ``default=SUPPRESS``, so a value given in either
place survives, and ``fill_defaults`` sets what was not given.  A ``Parser`` raises ``Usage``
instead of exiting, so ``main`` can print the verb's own usage, a did-you-mean hint, or a JSON
error.
"""

from __future__ import annotations

import argparse
import os

from netupdate.cli.output import help_width

ENV_CONNECT = "NETUPDATE_CONNECT"
COLORS = ("auto", "always", "never")
STATE_HELP = ("state directory (default: $NETUPDATE_STATE_DIR, else /var/lib/netupdate and "
              "/run/netupdate for root, else $XDG_DATA_HOME/netupdate (~/.local/share/"
              "netupdate) and $XDG_RUNTIME_DIR/netupdate for other users)")
CONNECT_HELP = (f"libvirt URI to work on (qemu:///system, test:///default, qemu+ssh://host/"
                f"system, ...; default: ${ENV_CONNECT}); without it the embedded runtime is "
                f"used.  Needs pip install 'netupdate[libvirt]'")

# (option strings, dest, takes a value, add_argument keywords)
GLOBALS: tuple[tuple[tuple[str, ...], str, bool, dict], ...] = (
    (("-c", "--connect"), "connect", True, {"metavar": "URI", "help": CONNECT_HELP}),
    (("--state-dir",), "state_dir", True, {"metavar": "DIR", "help": STATE_HELP}),
    (("--json",), "json", False,
     {"action": "store_true", "help": "print JSON (errors too: {\"error\", \"code\", \"exit\", "
                                      "\"file\", \"line\", \"path\"})"}),
    (("-q", "--quiet"), "verbosity", False,
     {"action": "store_const", "const": -1, "help": "print only results and errors"}),
    (("-v", "--verbose"), "verbosity", False,
     {"action": "store_const", "const": 1, "help": "say more (on errors: the traceback)"}),
    (("--color",), "color", True,
     {"choices": COLORS, "metavar": "WHEN",
      "help": "colour: auto (a terminal and NO_COLOR unset, default), always, never"}),
)
DEFAULTS = {"connect": None, "state_dir": None, "json": False, "verbosity": 0, "color": "auto"}
# option string -> takes a value
GLOBAL_FLAGS = {flag: takes for flags, _dest, takes, _kw in GLOBALS for flag in flags}


def wrap(text: str, width: int) -> list[str]:
    """The words of ``text`` in lines of at most ``width`` characters (a longer word alone on
    its line): help text as ``textwrap.wrap`` lays it out, without importing textwrap (start-up
    time of ``netupdate --help``)."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return [*lines, line] if line else lines


class Formatter(argparse.RawDescriptionHelpFormatter):
    """The top-level help: description and epilog as written, option help wrapped by
    ``wrap``."""

    def _split_lines(self, text: str, width: int) -> list[str]:
        return wrap(text, width)


class Usage(Exception):
    """A bad command line: the message and the parser whose usage goes with it."""

    def __init__(self, message: str, parser: argparse.ArgumentParser | None = None,
                 hint: str | None = None):
        super().__init__(message)
        self.message, self.parser, self.hint = message, parser, hint


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` that raises ``Usage``, and whose formatters know their width
    (``help_width``)."""

    def _get_formatter(self):
        return self.formatter_class(prog=self.prog, width=help_width())

    def option_names(self) -> list[str]:
        """Every option string its help shows (for did-you-mean)."""
        import re
        return sorted(set(re.findall(r"(?<![\w-])--?[a-zA-Z][\w-]*", self.format_help())))


    def error(self, message: str):
        import re
        missing = re.fullmatch(r"argument ([^:]+): expected one argument", message)
        option = missing.group(1).split("/")[-1] if missing else None
        raise Usage(message, self, hint=None if option is None else
                    f"a value that starts with '-' is written {option}=VALUE")


# how alike a typo and an option's name (without dashes) must be to suggest it: --verbos,
# --jsno, --state-dri, --dryrun get theirs; --bogus (0.5 to --verbose), --plan (0.5 to
# --in-place) get none
OPTION_CUTOFF = 0.7


def close_option(word: str, options) -> str | None:
    """The option ``word`` was most likely meant to be, if any is close enough."""
    import difflib
    bare = {option.lstrip("-"): option for option in options}
    typed = word.lstrip("-")
    swapped = [name for name in bare if _transposed(typed, name)]
    close = swapped or difflib.get_close_matches(typed, list(bare), n=1, cutoff=OPTION_CUTOFF)
    return bare[close[0]] if close and typed else None


def _transposed(typed: str, name: str) -> bool:
    """Whether ``typed`` is ``name`` with two neighbouring letters swapped (``mca``: ``mac``),
    a typo too short for the ratio of ``close_option`` to catch."""
    if len(typed) != len(name):
        return False
    at = [i for i, (a, b) in enumerate(zip(typed, name, strict=True)) if a != b]
    return (len(at) == 2 and at[1] == at[0] + 1
            and (typed[at[0]], typed[at[1]]) == (name[at[1]], name[at[0]]))


def add_globals(parser: argparse.ArgumentParser) -> None:
    """The global options, as a group of ``parser`` (values default to absent)."""
    group = parser.add_argument_group("global options (also before the command)")
    for flags, dest, _takes, keywords in GLOBALS:
        group.add_argument(*flags, dest=dest, default=argparse.SUPPRESS, **keywords)


def network_names(prefix: str = "", parsed_args=None, **_kwargs) -> list[str]:
    """Shell completion of a NAME: the defined networks (of ``-c URI`` when given)."""
    try:
        import netupdate
        args = fill_defaults(parsed_args or argparse.Namespace())
        with netupdate.connect(args.connect, state_dir=args.state_dir, readonly=True) as conn:
            return [n.name for n in conn.list() if n.name.startswith(prefix)]
    except Exception:   # noqa: BLE001 - completion must never print a traceback
        return []


def name_argument(parser: argparse.ArgumentParser, **keywords) -> None:
    """The NAME positional of a verb, completed in the shell with the defined networks."""
    keywords.setdefault("help", "the network's name or UUID")
    parser.add_argument("name", metavar="NAME", **keywords).completer = network_names


def nested(parser: argparse.ArgumentParser, sub) -> None:
    """``parser`` is a verb of sub-verbs (``sub``, its subparsers): its own handler prints its
    help (exit 2), and ``cli._dispatch`` takes the sub-verb from ``subcommands``."""
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1], subcommands=sub.choices)


def fill_defaults(args: argparse.Namespace) -> argparse.Namespace:
    """Set the global options not given (``connect``: ``$NETUPDATE_CONNECT``;
    ``connect_given``: whether -c/--connect itself was)."""
    args.connect_given = vars(args).get("connect") is not None
    for dest, value in DEFAULTS.items():
        if dest not in vars(args):
            setattr(args, dest, value)
    if args.connect is None:
        args.connect = os.environ.get(ENV_CONNECT) or None
    return args


def use_color(choice: str, stream) -> bool:
    """``--color``: always, never, or auto (``stream`` is a terminal and NO_COLOR is unset)."""
    if choice == "always":
        return True
    if choice == "never":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and not os.environ.get("NO_COLOR")


def split_leading(argv: list[str]) -> tuple[list[str], list[str]]:
    """(the global options before the verb, the verb and the rest).  ``-h``, ``--help`` and
    ``--version`` count as leading too; an unknown option stops the scan (the top-level parser
    reports it)."""
    index = 0
    while index < len(argv):
        token = argv[index]
        if token == "--" or not token.startswith("-") or token == "-":
            break
        name, eq, _value = token.partition("=")
        if name in GLOBAL_FLAGS:
            index += 1 if (eq or not GLOBAL_FLAGS[name]) else 2
        elif GLOBAL_FLAGS.get(token[:2]) and not token.startswith("--"):
            index += 1   # -cURI
        elif name in ("-h", "--help", "--version"):
            index += 1
        else:
            break
    return argv[:index], argv[index:]


class Sketch:
    """A stand-in for a verb's parser that keeps only what the top-level ``--help`` shows
    (each verb's name and help line): ``register`` runs against it unchanged, without building
    hundreds of arguments nobody will see (start-up time of ``netupdate --help``)."""

    def __init__(self, verbs: dict | None = None):
        self.verbs = {} if verbs is None else verbs
        self.choices: dict = {}

    def add_parser(self, name: str, **keywords):
        self.verbs[name] = keywords.get("help")
        return Sketch({})

    def add_subparsers(self, **_keywords):
        return Sketch({})

    def add_argument(self, *_names, **_keywords):
        return argparse.Namespace()

    def add_argument_group(self, *_args, **_keywords):
        return self

    add_mutually_exclusive_group = add_argument_group

    def set_defaults(self, **_keywords) -> None:
        pass
