"""The update arguments ``edit`` and ``update`` share: ``COMMAND SECTION XML`` (or
``--node-spec XPATH [XML]``), typed shortcuts instead of XML (``--mac M --ip I --name N``),
and the hints for the usual mistakes (a typo, the wrong order)."""

from __future__ import annotations

import argparse

from netupdate.cli.options import Usage

COMMANDS = ("add", "add-first", "add-last", "modify", "delete")
COMMAND_CODES = ("1", "2", "3", "4")
# keyword -> (option strings, add_argument keywords); the keyword is netupdate.fragment's
SHORTCUTS: dict[str, tuple[tuple[str, ...], dict]] = {
    "mac": (("--mac",), {"metavar": "MAC", "help": "ip-dhcp-host: MAC address"}),
    "id": (("--id",), {"metavar": "DUID", "help": "ip-dhcp-host (IPv6): client id"}),
    "name": (("--name",), {"metavar": "NAME", "help": "ip-dhcp-host, dns-txt, portgroup, "
                                                      "bridge, domain: the name"}),
    "ip": (("--ip",), {"metavar": "ADDRESS", "help": "ip-dhcp-host, dns-host: address"}),
    "hostname": (("--hostname",), {"metavar": "NAME", "action": "append",
                                   "help": "dns-host: a host name (repeat for more)"}),
    "value": (("--value",), {"metavar": "TEXT", "help": "dns-txt: the text"}),
    "service": (("--service",), {"metavar": "NAME", "help": "dns-srv: service"}),
    "protocol": (("--protocol",), {"metavar": "tcp|udp", "help": "dns-srv: protocol"}),
    "domain": (("--domain",), {"metavar": "DOMAIN", "help": "dns-srv: domain"}),
    "target": (("--target",), {"metavar": "HOST", "help": "dns-srv: target host"}),
    "port": (("--port",), {"metavar": "N", "help": "dns-srv: port"}),
    "priority": (("--priority",), {"metavar": "N", "help": "dns-srv: priority"}),
    "weight": (("--weight",), {"metavar": "N", "help": "dns-srv: weight"}),
    "start": (("--start",), {"metavar": "ADDRESS", "help": "ip-dhcp-range: first address"}),
    "end": (("--end",), {"metavar": "ADDRESS", "help": "ip-dhcp-range: last address"}),
    "default": (("--default",), {"action": "store_const", "const": True,
                                 "help": "portgroup: the default one"}),
    "stp": (("--stp",), {"choices": ("on", "off"), "help": "bridge: spanning tree"}),
    "delay": (("--delay",), {"metavar": "SECONDS", "help": "bridge: forward delay"}),
    "local": (("--local",), {"choices": ("yes", "no"), "help": "domain: localOnly"}),
    "dev": (("--dev",), {"metavar": "DEV", "help": "forward-interface: the device"}),
}


def add_update_arguments(parser: argparse.ArgumentParser) -> None:
    """``COMMAND SECTION XML`` (as ``words``), --node-spec, --parent-index and the shortcuts."""
    parser.add_argument("words", metavar="COMMAND [SECTION] [XML]", nargs="*",
                        help="add (add-last), add-first, modify or delete; a section "
                             "(ip-dhcp-host, dns-host, ...; optional with --node-spec); the XML "
                             "fragment, a file holding it, or '-' for stdin (or the typed "
                             "options below)").completer = complete_words
    parser.add_argument("--parent-index", type=int, default=-1, metavar="N",
                        help="which <ip> (0-based, all families) for ip-dhcp-host and "
                             "ip-dhcp-range; negative: choose automatically (default)")
    parser.add_argument("--node-spec", metavar="XPATH", default=None,
                        help="XPath selecting the element to edit (for add: its new parent)")
    group = parser.add_argument_group(
        "typed shortcuts (instead of the XML fragment)",
        "e.g. add ip-dhcp-host --mac 52:54:00:00:00:42 --ip 192.168.122.42 --name web1")
    for key, (flags, keywords) in SHORTCUTS.items():
        group.add_argument(*flags, dest=f"shortcut_{key}", default=None, **keywords)


def complete_words(prefix: str = "", parsed_args=None, **_kwargs) -> list[str]:
    """Shell completion of COMMAND, then SECTION, by position."""
    done = len(getattr(parsed_args, "words", None) or [])
    choices = COMMANDS if done == 0 else section_names() if done == 1 else ()
    return [c for c in choices if c.startswith(prefix)]


def foreign_options(words: list[str]) -> list[str]:
    """The options that do not go with the section named among ``words`` (a command line
    being completed), to leave out of the completions: the typed options it does not take
    (after ``dns-host`` only ``--ip`` and ``--hostname`` are left), and ``--batch`` (the
    updates come from the file); none before a section is named."""
    from netupdate.edit.shortcuts import FIELDS, keywords
    names = set(section_names())
    section = next((word for word in reversed(words) if word in names), None)
    if section is None:
        return []
    taken = keywords(section) if section in FIELDS else frozenset()
    return ["--batch", *(flag for key, (flags, _kw) in SHORTCUTS.items() if key not in taken
                         for flag in flags)]


def shortcut_values(args: argparse.Namespace) -> dict:
    return {key: _dashes(getattr(args, f"shortcut_{key}", None)) for key in SHORTCUTS
            if getattr(args, f"shortcut_{key}", None) is not None}


def _dashes(value):
    """argparse before 3.12 reads ``--name=--`` as [] (it drops the '--' even there): that
    value is '--'."""
    if value == []:
        return "--"
    return [_dashes(one) for one in value] if isinstance(value, list) else value


def check_shortcuts(section: str, values: dict) -> None:
    """``Usage`` unless ``section`` takes every typed option given (``dns-host --mac``)."""
    from netupdate.edit.shortcuts import keywords
    from netupdate.errors import InvalidFragmentError
    try:
        known = keywords(section)
    except InvalidFragmentError as exc:
        raise Usage(exc.message) from None
    unknown = [key for key in values if key not in known]
    if unknown:
        def options(keys):
            return ", ".join(SHORTCUTS[key][0][0] for key in sorted(keys))
        raise Usage(f"{section} takes {options(known)}; not {options(unknown)}")


def suggest(word: str, choices, what: str) -> str:
    import difflib
    close = difflib.get_close_matches(word, list(choices), n=3, cutoff=0.6)
    known = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return f"unknown {what} {word!r}{known}"


def section_names() -> tuple[str, ...]:
    from netupdate import sections
    return tuple(sections.BY_NAME)


def _check_command(word: str) -> str:
    if word.lower() in COMMANDS or word in COMMAND_CODES:
        return word
    import difflib
    raise Usage(suggest(word, COMMANDS, "command")
                + ("" if difflib.get_close_matches(word, COMMANDS, cutoff=0.6)
                   else f" (commands: {', '.join(COMMANDS)})"))


def _check_section(word: str) -> str:
    from netupdate import sections
    from netupdate.errors import UnsupportedError
    try:
        sections.get(word)
    except UnsupportedError:
        raise Usage(suggest(word, section_names(), "section")) from None
    return word


def _is_section(word: str) -> bool:
    try:
        _check_section(word)
    except Usage:
        return False
    return True


def check_words(command: str, section: str | None, order: str = "COMMAND SECTION XML") -> None:
    """``Usage`` unless ``command`` and ``section`` (None: not given) are known: the hint for
    a SECTION where the COMMAND goes, did-you-mean for a typo."""
    if command.lower() not in COMMANDS and command not in COMMAND_CODES \
            and _is_section(command):
        raise Usage(f"{command!r} is a SECTION, but the COMMAND comes first: {order} (e.g. "
                    f"add {command} ...)")
    _check_command(command)
    if section is not None:
        _check_section(section)


def split_words(args: argparse.Namespace, *, target: str) -> tuple[str, str | None, str | None]:
    """(command, section, XML argument or None) of ``args.words``; ``target`` names FILE or
    NAME for the hints ("" in a batch line)."""
    words = list(args.words)
    order = f"{target} COMMAND SECTION XML".strip()
    if not words:
        raise Usage("a COMMAND is required (add, add-first, modify, delete)")
    command = words.pop(0)
    check_words(command, None, order)
    if args.node_spec is not None and len(words) == 1 and not _is_section(words[0]):
        words.insert(0, None)    # --node-spec XPATH XML: no section
    section = words.pop(0) if words else None
    if section is None and args.node_spec is None:
        raise Usage("a SECTION is required (ip-dhcp-host, dns-host, ...), or --node-spec XPATH")
    if section is not None:
        _check_section(section)
    xml = words.pop(0) if words else None
    if words:
        raise Usage(f"too many arguments: {' '.join(words)} (the order is {order}; quote the "
                    f"XML fragment)")
    return command, section, xml


def update_input(args: argparse.Namespace, *, target: str) -> tuple[str, str | None, str | None]:
    """(command, section, fragment text or None): the XML argument read, or built from the
    typed shortcuts."""
    from netupdate.cli import inputs
    command, section, xml = split_words(args, target=target)
    values = shortcut_values(args)
    if values:
        if xml is not None:
            raise Usage("give either the XML fragment or the typed options (--mac, --ip, ...), "
                        "not both")
        if section is None:
            raise Usage("the typed options need a SECTION (e.g. ip-dhcp-host)")
        check_shortcuts(section, values)
        from netupdate.edit.shortcuts import fragment
        return command, section, fragment(section, **values)
    if xml is None and args.node_spec is None and command != "delete":
        raise Usage("an XML fragment (or a file holding it, '-' for stdin, or the typed "
                    "options such as --mac --ip --name) is required")
    if xml is None and args.node_spec is None:
        raise Usage("an XML fragment selecting what to delete (or the typed options) is "
                    "required")
    return command, section, (inputs.fragment(xml) if xml is not None else None)


def wrong_order(first: str, *, usage: str) -> None:
    """A hint when the first positional is a command word (``edit add ip-dhcp-host FILE``)."""
    if first.lower() in COMMANDS:
        raise Usage(f"{first!r} is a COMMAND, but the {usage.split()[2]} comes first: "
                    f"{usage}")
