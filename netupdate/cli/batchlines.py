"""Typed shortcuts in ``update --batch`` lines: ``add ip-dhcp-host --mac M --ip I --name N``
becomes ``add ip-dhcp-host <host mac=.../>`` before the batch is parsed, line for line (the
line numbers of errors stay right).  Lines that carry XML pass unchanged, their COMMAND and
SECTION checked as the command line checks them (did-you-mean, the wrong-order hint: a usage
error, exit 2); JSON batches pass unchanged."""

from __future__ import annotations

import shlex

from netupdate.edit.batch import BatchError


def _parser():
    from netupdate.cli.editargs import add_update_arguments
    from netupdate.cli.options import Parser
    parser = Parser(prog="batch line", add_help=False)
    add_update_arguments(parser)
    return parser


def _expand_line(parser, number: int, line: str) -> str:
    from netupdate.cli.editargs import check_shortcuts, shortcut_values, split_words
    from netupdate.cli.options import Usage
    from netupdate.edit.shortcuts import fragment
    from netupdate.errors import InvalidFragmentError
    from netupdate.sections import get
    try:
        args = parser.parse_intermixed_args(shlex.split(line))
        values = shortcut_values(args)
        command, section, xml = split_words(args, target="")
        if xml is not None or section is None:
            raise Usage("give either the XML fragment or the typed options (and a SECTION)")
        check_shortcuts(section, values)
        xml = fragment(get(section).name, **values)
    except Usage as exc:   # a usage error, as on the command line (exit 2), named by its line
        raise _line_usage(number, exc) from None
    except (ValueError, InvalidFragmentError) as exc:
        why = getattr(exc, "message", exc)
        raise BatchError(str(why), line=number) from None
    head = [command] + ([f"--parent-index={args.parent_index}"]
                        if args.parent_index >= 0 else [])
    return " ".join([*head, section, xml])


def _check_line(number: int, line: str) -> None:
    """The COMMAND and SECTION of a line in the batch format, checked as on the command line;
    a malformed line is left to the batch's parser."""
    from netupdate.cli.editargs import check_words
    from netupdate.cli.options import Usage
    from netupdate.edit.batch import parse_line
    try:
        item = parse_line(number, line)
        check_words(item.command, item.section, "COMMAND SECTION XML")
    except BatchError:
        return
    except Usage as exc:
        raise _line_usage(number, exc) from None


def _line_usage(number: int, exc):
    """The usage error ``exc`` of batch line ``number``, named by it."""
    from netupdate.cli import usage_message
    from netupdate.cli.options import Usage
    usage = Usage(f"batch line {number}: {usage_message(exc)}", hint=exc.hint)
    usage.batch_line = number
    return usage


def expand(text: str) -> str:
    """The batch text with every shortcut line turned into ``COMMAND SECTION XML``."""
    if text.lstrip().startswith("["):
        return text
    parser = None
    lines = text.splitlines()
    for index, raw in enumerate(lines):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        words = line.split()
        if "<" in line or all(w.startswith(("--node-spec", "--parent-index"))
                              or not w.startswith("--") for w in words):
            _check_line(index + 1, line)   # XML, or the batch format's own options
            continue
        parser = parser or _parser()
        lines[index] = _expand_line(parser, index + 1, line)
    return "\n".join(lines) + "\n"
