"""Facts the package shares are defined once, and every user of a fact agrees on it (issue 14).

Each test here reads the same fact through every module that relies on it, so two copies that
drift apart fail: the update commands (engine, libvirt backend, policy, sections), ...
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netupdate import libvirtconn as LV
from netupdate import policy, sections
from netupdate import types as T
from netupdate.errors import NetupdateError, PolicyError, UnsupportedError
from netupdate.update import normalize_command

# ------------------------------------------------------------------------- update commands
_SPELLINGS = [*T.Command, *T.COMMAND_ALIASES, "ADD_FIRST", "Add-Last", " modify ", "PREPEND",
              "append_", "add first", "insert", "", "0", "5", "4", "1", "\u00b2", "\u0663"]
_COMMANDS = st.one_of(st.sampled_from(_SPELLINGS), st.integers(-1, 6), st.text(max_size=10),
                      st.none(), st.booleans())


def _read(read, value):
    try:
        return read(value)
    except NetupdateError as exc:
        return type(exc)


@settings(max_examples=300)
@given(_COMMANDS)
def test_engine_and_libvirt_backend_read_commands_alike(value):
    assert _read(normalize_command, value) == _read(LV.command_name, value)


@pytest.mark.parametrize("digits", ["\u00b2", "\u0663", "\uff14"])
def test_non_ascii_digits_are_an_unknown_command(digits):
    with pytest.raises(UnsupportedError, match="unrecognized command name"):
        normalize_command(digits)


@pytest.mark.parametrize("alias, meaning", [("add", "add-last"), ("append", "add-last"),
                                            ("prepend", "add-first")])
def test_aliases_mean_what_the_libvirt_backend_sends(alias, meaning):
    command = normalize_command(alias)
    assert command == meaning
    assert LV.COMMAND_CODES[command] == command.code == {"add-last": 3, "add-first": 4}[meaning]


def test_every_command_is_known_to_sections_and_policy():
    assert sections.BY_NAME["ip-dhcp-host"].libvirt == frozenset(T.Command)
    for command in T.Command:
        rule = policy.Policy.from_dict(
            {"allow": [{"section": "dns-txt", "commands": [command.value]}]}).rules[0]
        assert rule.commands == (command,)
    with pytest.raises(PolicyError):
        policy.Policy.from_dict({"allow": [{"section": "dns-txt", "commands": ["frob"]}]})
