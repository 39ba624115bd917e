"""Facts the package shares are defined once, and every user of a fact agrees on it (issue 14).

Each test here reads the same fact through every module that relies on it, so two copies that
drift apart fail: the update commands (engine, libvirt backend, policy, sections), the
forward-mode groups (engine, validator, runtime, planner), the bridge-name limit (engine,
validator, runtime), ...
"""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import netupdate
from netupdate import sections
from netupdate.check.semantic import validate
from netupdate.edit.engine import normalize_command, update_xml
from netupdate.errors import NetupdateError, PolicyError, RuntimeFailure, UnsupportedError
from netupdate.live.embedded.runtime.driver import check_runnable
from netupdate.live.libvirt import codes
from netupdate.model import values as T
from netupdate.planning import policy

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
    assert _read(normalize_command, value) == _read(codes.command_name, value)


@pytest.mark.parametrize("digits", ["\u00b2", "\u0663", "\uff14"])
def test_non_ascii_digits_are_an_unknown_command(digits):
    with pytest.raises(UnsupportedError, match="unrecognized command name"):
        normalize_command(digits)


@pytest.mark.parametrize("alias, meaning", [("add", "add-last"), ("append", "add-last"),
                                            ("prepend", "add-first")])
def test_aliases_mean_what_the_libvirt_backend_sends(alias, meaning):
    command = normalize_command(alias)
    assert command == meaning
    assert codes.COMMAND_CODES[command] == command.code == {"add-last": 3, "add-first": 4}[meaning]


def test_every_command_is_known_to_sections_and_policy():
    assert sections.BY_NAME["ip-dhcp-host"].libvirt == frozenset(T.Command)
    for command in T.Command:
        rule = policy.Policy.from_dict(
            {"allow": [{"section": "dns-txt", "commands": [command.value]}]}).rules[0]
        assert rule.commands == (command,)
    with pytest.raises(PolicyError):
        policy.Policy.from_dict({"allow": [{"section": "dns-txt", "commands": ["frob"]}]})


# ------------------------------------------------------------------------- forward-mode groups
_MODES = [None, *T.ForwardMode]       # None: an isolated network (no <forward>)


def test_forward_mode_groups_partition_the_modes_as_libvirt_does():
    assert T.MANAGED_MODES == T.L3_MODES | {None}
    assert T.UPLINK_MODES < T.L3_MODES                 # open is L3 but has no firewall
    assert T.DEVICE_MODES == T.DIRECT_MODES | {T.ForwardMode.BRIDGE}
    assert T.MANAGED_MODES.isdisjoint(T.DEVICE_MODES)
    assert T.MANAGED_MODES | T.DEVICE_MODES == set(_MODES)
    assert T.VLAN_MODES < T.DIRECT_MODES
    for group in (T.MANAGED_MODES, T.L3_MODES, T.UPLINK_MODES, T.DEVICE_MODES, T.VLAN_MODES):
        assert all(mode is None or isinstance(mode, T.ForwardMode) for mode in group)
        assert "nat" not in group or T.ForwardMode.NAT in group   # members equal their text


def _forward(mode, count: int) -> str:
    attr = "" if mode is None else f" mode='{mode}'"
    return f"<forward{attr}>" + "".join(f"<interface dev='eth{i}'/>" for i in range(count)) \
        + "</forward>"


def _network(forward: str) -> str:
    return (f"<network><name>n</name>{forward}"
            "<ip address='10.9.0.1' prefix='24'/></network>")


@settings(max_examples=60)
@given(st.sampled_from([None, *T.ForwardMode]), st.integers(0, 3))
def test_engine_and_validator_count_forward_interfaces_like_libvirt(mode, count):
    """libvirt (virNetworkDefParseXML) refuses more than one forward interface for nat, route
    and open alike ("multiple forwarding interfaces specified ..., only one is supported")."""
    libvirt_refuses = (mode or T.ForwardMode.NAT) in T.L3_MODES and count > 1
    issues = validate(_network(_forward(mode, count)), schema=None)
    validator = any(i.code == "NU-E114" and "only one <interface>" in i.message for i in issues)
    try:
        update_xml(_network("<forward mode='nat'/>"), "modify", "forward", _forward(mode, count))
        engine = False
    except NetupdateError as exc:
        engine = "multiple forwarding interfaces" in str(exc)
    assert validator == engine == libvirt_refuses


def test_the_embedded_runtime_runs_every_mode_libvirt_defines():
    """Issue 17: host-device modes run too (runtime/devices.py); only an unknown mode is
    refused."""
    for mode in [*_MODES, "bogus"]:
        defs = netupdate.load(_network(_forward(mode, 0))).defs
        try:
            check_runnable(defs)
            runs = True
        except UnsupportedError:
            runs = False
        assert runs == (mode in _MODES), mode


# ------------------------------------------------------------------------- bridge-name limit
_ISOLATED = "<network><name>n</name><bridge name='{}'/><ip address='10.9.0.1' prefix='24'/></network>"
_NAME_CHARS = st.sampled_from("abcXYZ019_-")


def _verdicts(name: str) -> tuple[bool, bool, bool]:
    """(validate reports NU-E113, the runtime refuses to start it, the engine refuses it)."""
    xml = _ISOLATED.format(name)
    e113 = any(i.code == "NU-E113" for i in validate(xml, schema=None))
    try:
        check_runnable(netupdate.load(xml).defs)
        runtime = False
    except RuntimeFailure:
        runtime = True
    try:
        update_xml(_ISOLATED.format("virbr0"), "modify", "bridge", f"<bridge name='{name}'/>")
        engine = False
    except NetupdateError:
        engine = True
    return e113, runtime, engine


@settings(max_examples=120)
@given(st.text(_NAME_CHARS, min_size=1, max_size=17))
def test_bridge_name_limit_is_15_bytes_everywhere(name):
    too_long = len(name.encode()) > 15
    e113, runtime, engine = _verdicts(name)
    assert e113 == runtime == too_long
    if too_long:
        assert engine


@pytest.mark.parametrize("name, refused", [
    ("abcdefghijklmnop", True),          # 16 characters
    ("abcdefghijklmno", False),          # 15 ASCII characters: the longest valid name
])
def test_the_name_limit_holds_in_update_start_and_validate(name, refused, tmp_path):
    assert _verdicts(name) == (refused, refused, refused)
    with netupdate.connect(state_dir=tmp_path / "state") as conn:
        if not refused:
            assert conn.define(_ISOLATED.format(name)) == "n"
            return
        with pytest.raises(NetupdateError, match="bytes long"):
            conn.define(_ISOLATED.format(name))          # define validates (NU-E113)
        # a definition stored before define validated, or by hand: start refuses it too
        conn.store.write_config("n", _ISOLATED.format(name).encode())
        with pytest.raises(RuntimeFailure, match="bytes long"):
            conn.start("n")
        assert conn.store.read_record("n") is None      # nothing was started


@pytest.mark.parametrize("name", ["abcdefghijklmn\u00e9", "br\u00e9", "\u65e5\u672c"])
def test_a_multibyte_bridge_name_is_refused_before_any_count(name, tmp_path):
    """15 characters may be 16 bytes: interface names are ASCII (textcheck), so no layer can
    count characters where the kernel counts bytes."""
    assert any(i.code == "NU-E021" for i in validate(_ISOLATED.format(name), schema=None))
    with netupdate.connect(state_dir=tmp_path / "state") as conn:
        with pytest.raises(NetupdateError):
            conn.define(_ISOLATED.format(name))
        assert conn.list() == []


# ------------------------------------------------------------------------- DHCP limits
_DHCP = ("<network><name>n</name><ip address='10.9.0.1' prefix='24'><dhcp>{v4}</dhcp></ip>"
         "<ip family='ipv6' address='fd00::1' prefix='64'><dhcp>{v6}</dhcp></ip></network>")
_RANGE4 = "<range start='10.9.0.100' end='10.9.0.200'>{}</range>"


def _agree(xml: str, code: str, section: str, fragment: str, index: int) -> tuple[bool, bool]:
    """(validate reports ``code`` for ``xml``, the engine refuses adding ``fragment``)."""
    validator = any(i.code == code for i in validate(xml, schema=None))
    try:
        update_xml(_DHCP.format(v4="", v6=""), "add-last", section, fragment, parent_index=index)
        engine = False
    except NetupdateError:
        engine = True
    return validator, engine


@settings(max_examples=60)
@given(st.integers(0, 300), st.sampled_from(list(T.LeaseUnit)))
def test_lease_minimum_is_the_same_for_engine_and_validator(expiry, unit):
    lease = f"<lease expiry='{expiry}' unit='{unit}'/>"
    fragment = _RANGE4.format(lease)
    too_short = 0 < expiry * T.LEASE_SECONDS[unit] < T.MIN_LEASE_SECONDS == 120
    assert _agree(_DHCP.format(v4=fragment, v6=""), "NU-E122", "ip-dhcp-range", fragment, 0) \
        == (too_short, too_short)


@settings(max_examples=40)
@given(st.integers(65530, 65540) | st.integers(1, 70000))
def test_range_size_limit_is_the_same_for_engine_and_validator(size):
    start = ipaddress.IPv6Address("fd00::100")
    fragment = f"<range start='{start}' end='{start + size - 1}'/>"
    too_large = size > T.MAX_DHCP_RANGE_SIZE == 65535
    assert _agree(_DHCP.format(v4="", v6=fragment), "NU-E110", "ip-dhcp-range", fragment, 1) \
        == (too_large, too_large)
