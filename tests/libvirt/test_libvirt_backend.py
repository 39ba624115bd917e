"""Test-driver tier of the libvirt backend: libvirt's built-in test driver, no daemon.

Every test opens ``test:///.../fixtures/libvirt/test-driver.xml``; each open gets a fresh copy of
the networks in that file (all defined and running), so tests do not see each other's changes.

The oracle is netupdate's own engine: an edit made through the backend must leave the network
exactly as ``netupdate.update_xml`` leaves its XML, whether libvirt made it (virNetworkUpdate)
or netupdate did (the sections and commands libvirt refuses), and a refused edit changes
nothing.  Every section x command runs on an inactive network (persistent config) and on a
running one (live + config; with and without restart for the sections libvirt refuses).

Skips without the libvirt binding, except in CI (``CI=true``), where it fails.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

import netupdate
from netupdate.edit.engine import update_xml
from netupdate.errors import (
    DuplicateError,
    InvalidOperationError,
    NetupdateError,
    NotFoundError,
    StateError,
)
from netupdate.live import results as R
from netupdate.live.libvirt import binding, codes, compute
from netupdate.live.libvirt.connection import LibvirtConnection

pytestmark = pytest.mark.libvirt



ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "fixtures" / "libvirt" / "test-driver.xml"
URI = f"test://{FIXTURE}"


@pytest.fixture
def conn():
    connection = LibvirtConnection(URI)
    yield connection
    connection.close()


def same(a: str, b: str) -> bool:
    """Semantically equal, not counting what libvirt writes out on its own (defaults, the NAT
    port range of a running network, usage counters: ``live.libvirt.compute.normalized``)."""
    return not compute.diff_defs(a, b)


def changes(a: str, b: str) -> list[str]:
    return [c.describe() for c in compute.diff_defs(a, b)]


# ---------------------------------------------------------------------- the matrix
@dataclass(frozen=True)
class Case:
    network: str
    section: str
    command: str
    xml: str
    parent_index: int = -1
    setup: tuple[tuple[str, str, str], ...] = ()   # (command, section, xml) made first

    @property
    def id(self) -> str:
        return f"{self.section}-{self.command}-{self.network}"


NO_BRIDGE = (("delete", "bridge", "<bridge name='br-host'/>"),)
NO_PF = (("delete", "forward-pf", "<pf dev='enp4s0f0'/>"),)

CASES = (
    # ip-dhcp-host (4)
    Case("nu-nat", "ip-dhcp-host", "add-first",
         "<host mac='52:54:00:00:15:20' name='vm20' ip='192.168.150.20'/>"),
    Case("nu-nat", "ip-dhcp-host", "add-last",
         "<host mac='52:54:00:00:15:21' name='vm21' ip='192.168.150.21'/>"),
    Case("nu-nat", "ip-dhcp-host", "modify",
         "<host mac='52:54:00:00:15:10' name='vm10' ip='192.168.150.30'/>"),
    Case("nu-nat", "ip-dhcp-host", "delete",
         "<host mac='52:54:00:00:15:11' name='vm11' ip='192.168.150.11'/>"),
    # ip-dhcp-range (5); modify is refused by libvirt
    Case("nu-nat", "ip-dhcp-range", "add-first",
         "<range start='192.168.150.210' end='192.168.150.220'/>"),
    Case("nu-nat", "ip-dhcp-range", "add-last",
         "<range start='192.168.150.221' end='192.168.150.230'/>"),
    Case("nu-nat", "ip-dhcp-range", "modify",
         "<range start='192.168.150.100' end='192.168.150.199'>"
         "<lease expiry='2' unit='hours'/></range>"),
    Case("nu-nat", "ip-dhcp-range", "delete",
         "<range start='192.168.150.100' end='192.168.150.199'/>"),
    # forward-interface (7); modify is refused by libvirt
    Case("nu-pool", "forward-interface", "add-first", "<interface dev='eth4'/>"),
    Case("nu-pool", "forward-interface", "add-last", "<interface dev='eth5'/>"),
    Case("nu-pool", "forward-interface", "modify", "<interface dev='eth2'/>"),
    Case("nu-pool", "forward-interface", "delete", "<interface dev='eth3'/>"),
    # portgroup (9)
    Case("nu-pool", "portgroup", "add-first",
         "<portgroup name='voice'><bandwidth><inbound average='300'/></bandwidth></portgroup>"),
    Case("nu-pool", "portgroup", "add-last", "<portgroup name='guest'/>"),
    Case("nu-pool", "portgroup", "modify",
         "<portgroup name='dmz' trustGuestRxFilters='yes'/>"),
    Case("nu-pool", "portgroup", "delete", "<portgroup name='lan'/>"),
    # dns-host, dns-txt, dns-srv (10-12); modify is refused by libvirt 9.0
    Case("nu-nat", "dns-host", "add-first",
         "<host ip='192.168.150.60'><hostname>gamma</hostname></host>"),
    Case("nu-nat", "dns-host", "add-last",
         "<host ip='192.168.150.61'><hostname>delta</hostname></host>"),
    Case("nu-nat", "dns-host", "modify",
         "<host ip='192.168.150.50'><hostname>alpha</hostname><hostname>alpha-new</hostname>"
         "</host>"),
    Case("nu-nat", "dns-host", "delete", "<host ip='192.168.150.50'/>"),
    Case("nu-nat", "dns-txt", "add-first", "<txt name='extra' value='one'/>"),
    Case("nu-nat", "dns-txt", "add-last", "<txt name='more' value='two, with a comma'/>"),
    Case("nu-nat", "dns-txt", "modify", "<txt name='info' value='changed'/>"),
    Case("nu-nat", "dns-txt", "delete", "<txt name='info'/>"),
    Case("nu-nat", "dns-srv", "add-first",
         "<srv service='http' protocol='tcp' domain='nu.test' target='web.nu.test' port='80'/>"),
    Case("nu-nat", "dns-srv", "add-last", "<srv service='sip' protocol='udp'/>"),
    Case("nu-nat", "dns-srv", "modify",
         "<srv service='ldap' protocol='tcp' domain='nu.test' target='ldap.nu.test' port='636' "
         "priority='5' weight='5'/>"),
    Case("nu-nat", "dns-srv", "delete", "<srv service='ldap' protocol='tcp'/>"),
    # bridge (1): refused by libvirt
    Case("nu-hostbridge", "bridge", "add-first", "<bridge name='br-lan'/>", setup=NO_BRIDGE),
    Case("nu-hostbridge", "bridge", "add-last", "<bridge name='br-dmz'/>", setup=NO_BRIDGE),
    Case("nu-nat", "bridge", "modify", "<bridge name='nubr0' stp='off' delay='3'/>"),
    Case("nu-nat", "bridge", "delete", "<bridge name='nubr0'/>"),
    # domain (2): refused by libvirt
    Case("nu-routed", "domain", "add-first", "<domain name='routed.test'/>"),
    Case("nu-isolated", "domain", "add-last", "<domain name='iso.test' localOnly='yes'/>"),
    Case("nu-nat", "domain", "modify", "<domain name='other.test'/>"),
    Case("nu-nat", "domain", "delete", "<domain name='nu.test'/>"),
    # ip (3): refused by libvirt
    Case("nu-isolated", "ip", "add-first",
         "<ip family='ipv6' address='fd00:152::1' prefix='64'/>"),
    Case("nu-nat", "ip", "add-last", "<ip address='192.168.160.1' prefix='24'/>"),
    Case("nu-nat", "ip", "modify",
         "<ip address='192.168.150.1' prefix='24' localPtr='yes'><dhcp>"
         "<range start='192.168.150.100' end='192.168.150.199'/></dhcp></ip>"),
    Case("nu-routed", "ip", "delete", "<ip family='ipv6' address='fd00:151::1' prefix='64'/>"),
    # forward (6): refused by libvirt
    Case("nu-isolated", "forward", "add-first", "<forward mode='nat'/>"),
    Case("nu-isolated", "forward", "add-last", "<forward mode='route'/>"),
    Case("nu-nat", "forward", "modify", "<forward mode='route'/>"),
    Case("nu-routed", "forward", "delete", "<forward/>"),
    # forward-pf (8): refused by libvirt
    Case("nu-sriov", "forward-pf", "add-first", "<pf dev='enp6s0f0'/>", setup=NO_PF),
    Case("nu-sriov", "forward-pf", "add-last", "<pf dev='enp6s0f1'/>", setup=NO_PF),
    Case("nu-sriov", "forward-pf", "modify", "<pf dev='enp5s0f0'/>"),
    Case("nu-sriov", "forward-pf", "delete", "<pf dev='enp4s0f0'/>"),
    # parent index: the IPv6 <ip> of a dual-stack network
    Case("nu-routed", "ip-dhcp-host", "add-last",
         "<host id='0:3:0:1:52:54:0:0:15:1' name='six' ip='fd00:151::10'/>", parent_index=1),
    Case("nu-routed", "ip-dhcp-range", "add-first",
         "<range start='fd00:151::300' end='fd00:151::3ff'/>", parent_index=1),
)
IDS = [case.id + ("-v6" if case.parent_index == 1 else "") for case in CASES]


def test_matrix_covers_every_section_and_command():
    covered = {(case.section, case.command) for case in CASES}
    wanted = {(section, command) for section in codes.SECTION_CODES
              for command in ("add-first", "add-last", "modify", "delete")}
    assert wanted <= covered
    assert len(wanted) == 48


def _prepare(conn: LibvirtConnection, case: Case, *, running: bool) -> str:
    """Run the case's setup through the backend; return the definition the case starts from."""
    if not running:
        conn.stop(case.network)
    for command, section, xml in case.setup:
        result = conn.update(case.network, command, section, xml, restart=True)
        assert result.ok, result.to_text()
    return conn.dumpxml(case.network)


def _expected(before: str, case: Case) -> str:
    return update_xml(before, case.command, case.section, case.xml,
                      parent_index=case.parent_index)


def _route(case: Case) -> str:
    return codes.libvirt_route(case.command, case.section)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_inactive_network_gets_the_edit_in_its_persistent_config(conn, case):
    before = _prepare(conn, case, running=False)
    expected = _expected(before, case)
    result = conn.update(case.network, case.command, case.section, case.xml,
                         parent_index=case.parent_index)
    assert result.live == R.NOT_RUNNING
    assert result.ok and result.exit_code == 0
    after = conn.dumpxml(case.network)
    assert same(after, expected), changes(after, expected)
    assert result.config == (R.CHANGED if not same(before, expected) else R.UNCHANGED)
    if _route(case) == "libvirt":
        assert result.via == R.VIA_LIBVIRT
    elif _route(case) == "netupdate":
        assert result.via == R.VIA_NETUPDATE
    assert not any("differs from netupdate's prediction" in n for n in result.notes)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_running_network_gets_the_edit_live_and_in_config_or_says_restart(conn, case):
    before = _prepare(conn, case, running=True)
    expected = _expected(before, case)
    result = conn.update(case.network, case.command, case.section, case.xml,
                         parent_index=case.parent_index)
    live = conn.dumpxml(case.network)
    unchanged = same(before, expected)
    if result.restart_needed:
        # libvirt refuses it and the test driver has no bridge netupdate could touch
        assert _route(case) != "libvirt"
        assert result.via == R.VIA_NETUPDATE
        assert result.exit_code == R.EXIT_RESTART_NEEDED and result.diverged
        assert "needs a restart" in result.summary()
        assert result.pending and same(live, before), changes(before, live)
        assert result.config == R.CHANGED
    elif _route(case) == "libvirt":
        assert result.via == R.VIA_LIBVIRT
        assert (result.live, result.config) == (R.CHANGED, R.CHANGED)
        assert same(live, expected), changes(live, expected)
    else:
        # made live through virNetworkUpdate calls (e.g. delete + add for a modify)
        assert result.live in (R.APPLIED, R.UNCHANGED), result.to_text()
        assert result.live == R.UNCHANGED or result.operations
        assert same(live, expected) or unchanged, changes(live, expected)
    assert result.ok == (not result.restart_needed)
    assert not any("differs from netupdate's prediction" in n for n in result.notes)
    # the persistent config has the edit: it is what the network runs after a restart
    conn.stop(case.network)
    persistent = conn.dumpxml(case.network)
    assert same(persistent, expected), changes(persistent, expected)


@pytest.mark.parametrize("case", [c for c in CASES if codes.libvirt_route(c.command, c.section)
                                  != "libvirt"],
                         ids=[i for c, i in zip(CASES, IDS, strict=True)
                              if codes.libvirt_route(c.command, c.section) != "libvirt"])
def test_restart_applies_what_libvirt_cannot_update_live(conn, case):
    before = _prepare(conn, case, running=True)
    expected = _expected(before, case)
    result = conn.update(case.network, case.command, case.section, case.xml,
                         parent_index=case.parent_index, restart=True)
    assert result.ok and result.exit_code == 0
    assert not result.diverged
    live = conn.dumpxml(case.network)
    if result.live == R.RESTARTED:
        assert "(network restarted)" in result.summary()
        assert same(live, expected), changes(live, expected)
        status = conn.status(case.network)
        assert status.active and not status.diverged
    elif result.live != R.UNCHANGED:
        assert result.live == R.APPLIED


# ---------------------------------------------------------------------- numbers and names
def test_section_and_command_codes_are_libvirts():
    import libvirt

    from netupdate import sections
    for name, code in codes.SECTION_CODES.items():
        constant = "VIR_NETWORK_SECTION_" + name.upper().replace("-", "_")
        assert getattr(libvirt, constant) == code
        assert sections.BY_NAME[name].code == code
    for name, code in codes.COMMAND_CODES.items():
        constant = "VIR_NETWORK_UPDATE_COMMAND_" + name.upper().replace("-", "_")
        assert getattr(libvirt, constant) == code
    assert (codes.AFFECT_CURRENT, codes.AFFECT_LIVE, codes.AFFECT_CONFIG) == (
        libvirt.VIR_NETWORK_UPDATE_AFFECT_CURRENT, libvirt.VIR_NETWORK_UPDATE_AFFECT_LIVE,
        libvirt.VIR_NETWORK_UPDATE_AFFECT_CONFIG)
    assert codes.XML_INACTIVE == libvirt.VIR_NETWORK_XML_INACTIVE


def test_section_support_decision_follows_libvirt_9():
    from netupdate import sections
    for name in codes.SECTION_CODES:
        supported = sections.BY_NAME[name].libvirt
        for command in ("add-first", "add-last", "modify", "delete"):
            route = codes.libvirt_route(command, name)
            if command in supported:
                assert route == "libvirt", (name, command)
            else:
                assert route in ("netupdate", "try"), (name, command)
    assert codes.libvirt_route("modify", "dns-host") == "try"
    assert codes.libvirt_route("add-last", "ip-dhcp-host", "/network/ip/dhcp/host[1]") == "netupdate"
    assert codes.libvirt_route("add-last", "dns") == "netupdate"


def test_names_and_codes_are_accepted():
    assert codes.command_name("add") == "add-last"
    assert codes.command_name(4) == "add-first"
    assert codes.section_name(4) == "ip-dhcp-host"
    assert codes.section_name("IP_DHCP_HOST") == "ip-dhcp-host"
    with pytest.raises(NetupdateError):
        codes.command_name("frob")


@pytest.mark.parametrize("uri, local", [
    ("qemu:///system", True), ("qemu:///session", True), ("network:///system", True),
    ("qemu+unix:///system?socket=/tmp/x", True), ("qemu+ssh://host/system", False),
    ("qemu+tls://10.0.0.1/system", False), ("qemu+ssh://localhost/system", True),
    ("test:///default", True),
])
def test_local_uris(uri, local):
    assert codes.is_local_uri(uri) is local


def test_test_driver_is_never_touched_through_netlink(conn):
    assert conn.is_test_driver and not conn.local
    assert "test driver" in compute.local_refusal(conn, conn.dumpxml("nu-nat"))


def test_missing_binding_says_how_to_install(monkeypatch):
    monkeypatch.setattr(binding, "_libvirt_module", None)
    monkeypatch.setitem(sys.modules, "libvirt", None)
    with pytest.raises(NetupdateError, match=r"pip install 'netupdate\[libvirt\]'"):
        LibvirtConnection("test:///default")
    assert binding.available() is False


def test_connect_with_a_libvirt_uri_gives_the_libvirt_backend():
    with netupdate.connect(URI) as connection:
        assert isinstance(connection, LibvirtConnection)
        assert connection.uri == URI


def test_bad_uri_is_a_netupdate_error():
    with pytest.raises(NetupdateError, match="cannot connect"):
        LibvirtConnection("test:///nonexistent/file.xml")


# ---------------------------------------------------------------------- lifecycle verbs
def test_fixture_networks_are_valid(conn):
    for row in conn.list():
        assert netupdate.validate(conn.dumpxml(row.name)) == [], row.name


def test_each_connection_gets_fresh_networks():
    with LibvirtConnection(URI) as first:
        first.update("nu-nat", "add", "dns-txt", "<txt name='fresh' value='1'/>")
        with LibvirtConnection(URI) as second:
            assert "fresh" not in second.dumpxml("nu-nat")


def test_list_dumpxml_status(conn):
    rows = conn.list()
    assert [r.name for r in rows] == sorted(["nu-nat", "nu-routed", "nu-isolated", "nu-pool",
                                             "nu-hostbridge", "nu-sriov"])
    nat = next(r for r in rows if r.name == "nu-nat")
    assert nat.active and nat.persistent and nat.bridge == "nubr0"
    assert nat.to_json()["state"] == "active"
    assert "<name>nu-nat</name>" in conn.dumpxml("nu-nat")
    assert "<name>nu-nat</name>" in conn.dumpxml("nu-nat", inactive=True)  # test driver quirk
    status = conn.status("nu-nat")
    assert status.active and status.uri == URI
    assert status.drift is None and "does not show" in status.to_text()   # cannot tell yet


def test_define_start_stop_undefine(conn):
    xml = """<network><name>nu-new</name><bridge name='nubr7'/>
      <ip address='10.157.0.1' prefix='24'/></network>"""
    assert conn.define(xml) == "nu-new"
    assert not conn.status("nu-new").active
    conn.start("nu-new")
    assert conn.status("nu-new").active
    with pytest.raises(StateError):
        conn.start("nu-new")
    conn.stop("nu-new")
    conn.undefine("nu-new")
    assert "nu-new" not in {r.name for r in conn.list()}
    with pytest.raises(StateError, match="nu-new"):
        conn.dumpxml("nu-new")


def test_define_from_a_path(conn, tmp_path):
    path = tmp_path / "net.xml"
    path.write_text("<network><name>nu-file</name><ip address='10.158.0.1' prefix='24'/>"
                    "</network>")
    assert conn.define(str(path)) == "nu-file"


def test_start_refuses_netns(conn):
    with pytest.raises(NetupdateError, match="netns"):
        conn.start("nu-nat", netns="elsewhere")


# ---------------------------------------------------------------------- flags and states
HOST = "<host mac='52:54:00:00:15:40' name='vm40' ip='192.168.150.40'/>"


def test_live_on_an_inactive_network_is_refused(conn):
    conn.stop("nu-nat")
    before = conn.dumpxml("nu-nat")
    with pytest.raises(StateError, match="not running"):
        conn.update("nu-nat", "add", "ip-dhcp-host", HOST, live=True)
    assert conn.dumpxml("nu-nat") == before


def test_config_only_on_a_running_network_leaves_live_alone_and_says_so(conn):
    before = conn.dumpxml("nu-nat")
    result = conn.update("nu-nat", "modify", "bridge", "<bridge name='nubr0' stp='off'/>",
                         config=True)
    assert (result.config, result.live) == (R.CHANGED, R.NOT_REQUESTED)
    assert result.diverged and result.ok and result.exit_code == 0
    assert "takes effect when the network restarts" in result.summary()
    assert conn.dumpxml("nu-nat") == before
    status = conn.status("nu-nat")           # known: this connection defined the config
    assert status.diverged and any("bridge" in line for line in status.drift)
    conn.stop("nu-nat")
    conn.start("nu-nat")
    assert "stp='off'" in conn.dumpxml("nu-nat")


def test_live_only_through_libvirt(conn):
    result = conn.update("nu-nat", "add", "ip-dhcp-host", HOST, live=True)
    assert (result.live, result.config) == (R.CHANGED, R.NOT_REQUESTED)
    assert result.operations[0].flags == codes.AFFECT_LIVE
    assert "vm40" in conn.dumpxml("nu-nat")


def test_live_only_restart_needing_a_different_config_is_refused(conn):
    before = conn.dumpxml("nu-nat")
    with pytest.raises(StateError, match="persistent config"):
        conn.update("nu-nat", "modify", "bridge", "<bridge name='nubr0' stp='off'/>",
                    live=True, restart=True)
    assert conn.dumpxml("nu-nat") == before


def test_transient_network_updates_live_and_restarts_from_its_live_definition(conn):
    conn._conn.networkCreateXML("<network><name>nu-tmp</name><bridge name='nubr8'/>"
                                "<ip address='10.159.0.1' prefix='24'/></network>")
    result = conn.update("nu-tmp", "add", "dns-txt", "<txt name='t' value='v'/>")
    assert (result.live, result.config) == (R.CHANGED, R.TRANSIENT)
    with pytest.raises(StateError, match="transient"):
        conn.update("nu-tmp", "add", "dns-txt", "<txt name='u' value='v'/>", config=True)
    result = conn.update("nu-tmp", "add", "domain", "<domain name='tmp.test'/>", restart=True)
    assert result.live == R.RESTARTED
    assert "tmp.test" in conn.dumpxml("nu-tmp")
    assert conn.status("nu-tmp").persistent is False


def test_dry_run_changes_nothing(conn):
    before = conn.dumpxml("nu-nat")
    for args in (("add", "ip-dhcp-host", HOST), ("modify", "bridge", "<bridge stp='off'/>"),
                 ("modify", "dns-txt", "<txt name='info' value='x'/>")):
        result = conn.update("nu-nat", *args, dry_run=True, restart=True)
        assert result.dry_run and result.summary().startswith(("Would update", "Network"))
    assert conn.dumpxml("nu-nat") == before


def test_refused_edits_change_nothing(conn):
    before = conn.dumpxml("nu-nat")
    with pytest.raises(DuplicateError):
        conn.update("nu-nat", "add", "ip-dhcp-host",
                    "<host mac='52:54:00:00:15:10' name='other' ip='192.168.150.77'/>")
    with pytest.raises(NotFoundError):
        conn.update("nu-nat", "delete", "dns-txt", "<txt name='nope'/>")
    with pytest.raises(DuplicateError):
        conn.update("nu-nat", "add", "bridge", "<bridge name='x'/>")
    with pytest.raises(StateError, match="nu-nope"):
        conn.update("nu-nope", "add", "dns-txt", "<txt name='a' value='b'/>")
    assert conn.dumpxml("nu-nat") == before


def test_update_from_a_fragment_file(conn, tmp_path):
    path = tmp_path / "host.xml"
    path.write_text(HOST)
    conn.update("nu-nat", "add", "ip-dhcp-host", str(path))
    assert "vm40" in conn.dumpxml("nu-nat")


def test_libvirt_errors_map_to_netupdate_errors(conn, monkeypatch):
    """When libvirt refuses what the engine accepted, its message comes through, typed."""
    import libvirt
    net = conn._lookup("nu-nat")
    try:
        net.update(codes.COMMAND_CODES["delete"], codes.SECTION_CODES["dns-txt"], -1,
                   "<txt name='nope'/>", codes.AFFECT_LIVE)
    except libvirt.libvirtError as exc:
        error = binding.error(exc, "ctx", update=True)
    assert isinstance(error, NotFoundError) and "couldn't locate" in str(error)
    assert error.libvirt_code == libvirt.VIR_ERR_OPERATION_INVALID


# ---------------------------------------------------------------------- node specs
def test_node_spec_edit_of_a_libvirt_section_is_made_live_through_virnetworkupdate(conn):
    result = conn.update("nu-nat", "modify", None, "<txt name='info' value='via xpath'/>",
                         node_spec="/network/dns/txt[@name='info']")
    assert result.via == R.VIA_NETUPDATE and result.live == R.APPLIED
    assert [op.command for op in result.operations] == ["delete", "add-last"]
    assert "via xpath" in conn.dumpxml("nu-nat")


def test_node_spec_edit_libvirt_cannot_make_live_needs_a_restart(conn):
    result = conn.update("nu-nat", "add-last", None, "<mtu size='9000'/>", node_spec="/network")
    assert result.restart_needed
    assert {a.kind for a in result.pending} >= {"bridge-mtu"}
    result = conn.update("nu-nat", "add-last", None, "<mtu size='9000'/>", node_spec="/network",
                         restart=True)
    assert result.restarted and result.config == R.UNCHANGED    # defined by the first call
    assert "9000" in conn.dumpxml("nu-nat")


# ---------------------------------------------------------------------- diff and apply
def _desired(conn: LibvirtConnection, name: str, *edits) -> str:
    xml = conn.dumpxml(name, inactive=True)
    for command, section, fragment in edits:
        xml = update_xml(xml, command, section, fragment)
    return xml


def test_diff_against_a_desired_definition(conn, tmp_path):
    desired = _desired(conn, "nu-nat", ("add", "ip-dhcp-host", HOST),
                       ("modify", "bridge", "<bridge name='nubr0' stp='off'/>"))
    path = tmp_path / "desired.xml"
    path.write_text(desired)
    result = conn.diff("nu-nat", str(path))
    assert result.base == "config"
    assert {c.section for c in result.changes} == {"ip-dhcp-host", "bridge"}
    assert result.plan is not None and result.restart_needed
    text = result.to_text()
    assert "ip-dhcp-host" in text and "restart" in text
    assert result.to_json()["restart_needed"] is True
    assert not conn.diff("nu-nat", conn.dumpxml("nu-nat"))


def test_diff_without_other_shows_live_vs_config_drift(conn):
    assert not conn.diff("nu-nat")     # test driver: no drift known
    conn.update("nu-nat", "modify", "domain", "<domain name='drift.test'/>", config=True)
    drift = conn.diff("nu-nat")
    assert drift.base == "live" and [c.section for c in drift.changes] == ["domain"]
    assert drift.restart_needed   # dnsmasq's conf: libvirt cannot apply it live


def test_diff_keeps_identity_libvirt_assigned(conn):
    bare = _desired(conn, "nu-nat").replace(
        "<uuid>6b1f4c5e-2a7d-4a35-9d6e-0c1b2a3d4e01</uuid>", "").replace(
        "<mac address='52:54:00:4e:55:01'/>", "")
    result = conn.diff("nu-nat", bare)
    assert not result.changes
    assert any("kept the uuid, MAC address" in note for note in result.notes)


def test_apply_reconciles_through_virnetworkupdate(conn):
    desired = _desired(conn, "nu-nat",
                       ("add", "ip-dhcp-host", HOST),
                       ("delete", "ip-dhcp-host", "<host mac='52:54:00:00:15:11'/>"),
                       ("modify", "ip-dhcp-host",
                        "<host mac='52:54:00:00:15:10' name='vm10' ip='192.168.150.31'/>"),
                       ("modify", "dns-txt", "<txt name='info' value='applied'/>"),
                       ("add", "dns-host", "<host ip='192.168.150.62'><hostname>eps</hostname>"
                                           "</host>"),
                       ("delete", "dns-srv", "<srv service='ldap' protocol='tcp'/>"),
                       ("add", "ip-dhcp-range",
                        "<range start='192.168.150.240' end='192.168.150.250'/>"))
    result = conn.apply("nu-nat", desired)
    assert result.ok and (result.config, result.live) == (R.CHANGED, R.APPLIED)
    assert {op.section for op in result.operations} == {"ip-dhcp-host", "dns-txt", "dns-host",
                                                        "dns-srv", "ip-dhcp-range"}
    assert all(op.flags == codes.AFFECT_LIVE for op in result.operations)
    assert not result.pending and not any("differs" in n for n in result.notes)
    live = conn.dumpxml("nu-nat")
    assert same(live, desired), changes(live, desired)
    assert {c.section for c in result.changes} == {"ip-dhcp-host", "dns-txt", "dns-host",
                                                   "dns-srv", "ip-dhcp-range"}
    again = conn.apply("nu-nat", desired)
    assert (again.config, again.live) == (R.UNCHANGED, R.UNCHANGED)
    assert again.summary() == "Network nu-nat: nothing to change"
    conn.stop("nu-nat")
    assert same(conn.dumpxml("nu-nat"), desired)


def test_apply_portgroups_and_interfaces(conn):
    desired = _desired(conn, "nu-pool",
                       ("modify", "portgroup", "<portgroup name='lan'/>"),
                       ("modify", "portgroup",
                        "<portgroup name='dmz' default='yes'><bandwidth>"
                        "<outbound average='66'/></bandwidth></portgroup>"),
                       ("delete", "forward-interface", "<interface dev='eth2'/>"),
                       ("add", "forward-interface", "<interface dev='eth9'/>"))
    result = conn.apply("nu-pool", desired)
    assert result.ok and result.live == R.APPLIED, result.to_text()
    live = conn.dumpxml("nu-pool")
    assert same(live, desired), changes(live, desired)


def test_apply_of_a_section_libvirt_refuses_needs_restart(conn):
    before = conn.dumpxml("nu-nat")
    desired = _desired(conn, "nu-nat", ("add", "dns-txt", "<txt name='x' value='y'/>"),
                       ("modify", "domain", "<domain name='applied.test'/>"))
    result = conn.apply("nu-nat", desired)
    assert result.restart_needed and result.exit_code == R.EXIT_RESTART_NEEDED
    assert result.config == R.CHANGED
    assert "dnsmasq-restart" in {a.kind for a in result.pending}
    assert same(conn.dumpxml("nu-nat"), before)       # live untouched, and said so
    assert result.to_json()["restart_needed"] is True
    result = conn.apply("nu-nat", desired, restart=True)
    assert result.restarted and same(conn.dumpxml("nu-nat"), desired)


def test_apply_dry_run_and_config_only(conn):
    before = conn.dumpxml("nu-nat")
    desired = _desired(conn, "nu-nat", ("add", "ip-dhcp-host", HOST))
    result = conn.apply("nu-nat", desired, dry_run=True)
    assert result.dry_run and result.live == R.WOULD[R.APPLIED] and result.operations
    assert conn.dumpxml("nu-nat") == before
    result = conn.apply("nu-nat", desired, config=True)
    assert (result.config, result.live) == (R.CHANGED, R.NOT_REQUESTED)
    assert conn.dumpxml("nu-nat") == before
    assert conn.status("nu-nat").diverged


def test_apply_inactive_network_defines_it(conn):
    conn.stop("nu-routed")
    desired = _desired(conn, "nu-routed", ("modify", "forward", "<forward mode='nat'/>"))
    result = conn.apply("nu-routed", desired)
    assert (result.config, result.live) == (R.CHANGED, R.NOT_RUNNING)
    assert same(conn.dumpxml("nu-routed"), desired)


def test_apply_refuses_another_network_or_uuid(conn):
    desired = _desired(conn, "nu-nat")
    with pytest.raises(InvalidOperationError, match="nu-routed"):
        conn.apply("nu-routed", desired)
    other = desired.replace("6b1f4c5e-2a7d-4a35-9d6e-0c1b2a3d4e01",
                            "00000000-2a7d-4a35-9d6e-0c1b2a3d4e01")
    with pytest.raises(InvalidOperationError, match="uuid"):
        conn.apply("nu-nat", other)


def test_results_serialise(conn):
    import json
    result = conn.update("nu-nat", "modify", "bridge", "<bridge name='nubr0' stp='off'/>")
    data = json.loads(json.dumps(result.to_json()))
    assert data["restart_needed"] and data["pending"][0]["kind"] == "bridge-stp"
    assert data["config"] == "changed" and data["live"] == "restart-needed"
    text = result.to_text()
    assert "pending: bridge-stp" in text and "test driver" in text
