"""The backend contract, live tier: the same scenarios, with the same assertions, on a running
network of each backend of ``netupdate.connect()``.

``embedded``: the embedded runtime, its network in a namespace the test makes; ``libvirt``: a
real libvirtd in a namespace of its own (tests/live/libvirtdaemon.py, the fixture ``daemon`` of
tests/live/conftest.py), reached by ``netupdate.connect(URI)``.  What is observed is what a user
sees: the result types and outcome words, ``list``/``status``, the bridge in the namespace, the
answers of the network's dnsmasq to dnspython queries made inside that namespace, and the lease a
real DHCP client (busybox udhcpc, wired to the bridge) gets.  The config-only tier is
tests/test_backend_contract.py.  Nothing skips in CI (CI=true): a missing prerequisite fails.
"""

from __future__ import annotations

import itertools
import re
import time

import pytest
from libvirtdaemon import ask, ip, resolves

import netupdate
from netupdate.edit.engine import update_xml
from netupdate.errors import DuplicateError, InvalidOperationError, NotFoundError, StateError
from netupdate.live.results import APPLIED, CHANGED, UNCHANGED, NetworkStatus, UpdateResult

pytestmark = pytest.mark.live

NET = """<network>
  <name>{name}</name>
  <forward mode='nat'/>
  <bridge name='{bridge}' stp='on' delay='0'/>
  <domain name='ct.test' localOnly='yes'/>
  <dns>
    <txt name='motd' value='hello'/>
    <host ip='10.{n}.0.50'><hostname>alpha</hostname></host>
  </dns>
  <ip address='10.{n}.0.1' prefix='24'>
    <dhcp>
      <range start='10.{n}.0.100' end='10.{n}.0.199'/>
    </dhcp>
  </ip>
</network>
"""
# no uuid, no bridge name: both are made when it is defined (identity.py, libvirtd)
BARE = """<network>
  <name>{name}</name>
  <forward mode='nat'/>
  <ip address='10.{n}.0.1' prefix='24'/>
</network>
"""

_numbers = itertools.count(160)   # the libvirtd of a module runs every test's network


class Live:
    """One backend's connection, the namespace its networks run in, and one running network
    (``name``, dnsmasq at ``server``, addresses ``net``.x, bridge ``bridge``)."""

    def __init__(self, backend: str, conn, netns: str):
        self.backend, self.conn, self.netns = backend, conn, netns
        self.n = next(_numbers)
        self.name, self.bridge = f"nu-ct{self.n}", f"nuctbr{self.n}"
        self.server, self.net = f"10.{self.n}.0.1", f"10.{self.n}.0"

    def run(self) -> Live:
        self.conn.define(NET.format(name=self.name, bridge=self.bridge, n=self.n))
        self.conn.start(self.name)
        return self

    def resolves(self, qname: str, want, rdtype: str = "A") -> dict:
        return resolves(self.netns, self.server, qname, want, rdtype)

    def has_link(self, bridge: str) -> bool:
        return ip("-n", self.netns, "link", "show", bridge, check=False).returncode == 0

    def close(self) -> None:
        for row in self.conn.list():
            if row.name.startswith("nu-ct"):
                if row.active:
                    self.conn.stop(row.name)
                if row.persistent:
                    self.conn.undefine(row.name)
        self.conn.close()


@pytest.fixture(params=["embedded", pytest.param("libvirt", marks=pytest.mark.libvirt)])
def live(request, make_netns, state_dir):
    if request.param == "libvirt":
        daemon = request.getfixturevalue("daemon")
        opened = Live("libvirt", netupdate.connect(daemon.uri, netns=daemon.netns), daemon.netns)
    else:
        netns = make_netns()
        opened = Live("embedded", netupdate.connect(state_dir=state_dir, netns=netns), netns)
    yield opened
    opened.close()


def _in_effect(result, *, config: str = CHANGED) -> None:
    """An update that is in effect on both sides (the live word: ``applied`` when netupdate
    ran the plan, ``changed`` when libvirt's own virNetworkUpdate did)."""
    assert type(result) is UpdateResult
    assert result.config == config and result.live in (APPLIED, CHANGED), result.to_text()
    assert result.ok and result.live_changed and not result.diverged


# ---------------------------------------------------------------------- lifecycle and status
def test_start_status_stop(live):
    live.run()
    row = {row.name: row for row in live.conn.list()}[live.name]
    assert (row.active, row.persistent, row.bridge) == (True, True, live.bridge)
    status = live.conn.status(live.name)
    assert type(status) is NetworkStatus
    assert (status.state, status.problems, status.diverged, status.bridge) == (
        "active", (), False, live.bridge)
    assert status.uuid and status.to_json()["state"] == "active"
    assert live.has_link(live.bridge)
    assert ip("link", "show", live.bridge, check=False).returncode != 0   # not on the host
    assert live.resolves("alpha.ct.test", [f"{live.net}.50"])["answers"] == [f"{live.net}.50"]
    assert live.conn.stop(live.name) == []
    status = live.conn.status(live.name)
    assert (status.state, status.active, status.persistent) == ("inactive", False, True)
    assert not live.has_link(live.bridge)
    assert ask(live.netns, live.server, "alpha.ct.test")["answers"] == []


def test_define_fills_the_identity_and_start_uses_it(live):
    name = f"nu-ct{live.n}"
    live.conn.define(BARE.format(name=name, n=live.n))
    defs = netupdate.load(live.conn.dumpxml(name, inactive=True)).defs
    assert defs.uuid is not None and re.fullmatch(r"virbr\d+", defs.bridge.name)
    live.conn.start(name)
    status = live.conn.status(name)
    assert (status.uuid, status.bridge) == (str(defs.uuid), defs.bridge.name)
    assert live.has_link(defs.bridge.name)
    live.conn.define(BARE.format(name=name, n=live.n))      # a redefinition keeps both
    again = netupdate.load(live.conn.dumpxml(name, inactive=True)).defs
    assert (again.uuid, again.bridge.name) == (defs.uuid, defs.bridge.name)
    assert not live.conn.status(name).diverged


# ---------------------------------------------------------------------- live updates
def test_update_live_dns_host(live):
    live.run()
    _in_effect(live.conn.update(live.name, "add", "dns-host",
                                f"<host ip='{live.net}.51'><hostname>beta</hostname></host>"))
    assert live.resolves("beta.ct.test", [f"{live.net}.51"])["answers"] == [f"{live.net}.51"]
    _in_effect(live.conn.update(live.name, "delete", "dns-host", f"<host ip='{live.net}.50'/>"))
    assert live.resolves("alpha.ct.test", "NXDOMAIN")["rcode"] == "NXDOMAIN"
    assert "beta" in live.conn.dumpxml(live.name, inactive=True)
    assert not live.conn.status(live.name).diverged


def test_update_live_txt(live):
    live.run()
    _in_effect(live.conn.update(live.name, "add", "dns-txt", "<txt name='build' value='v1'/>"))
    assert live.resolves("build", ['"v1"'], "TXT")["answers"] == ['"v1"']
    _in_effect(live.conn.update(live.name, "modify", "dns-txt",
                                "<txt name='build' value='v2'/>"))
    assert live.resolves("build", ['"v2"'], "TXT")["answers"] == ['"v2"']
    unchanged = live.conn.update(live.name, "modify", "dns-txt", "<txt name='build' value='v2'/>")
    assert (unchanged.config, unchanged.live) == (UNCHANGED, UNCHANGED)


def test_update_live_dhcp_host(live, dhcp_client):
    live.run()
    mac, address = "52:54:00:c7:00:42", f"{live.net}.42"
    _in_effect(live.conn.update(live.name, "add", "ip-dhcp-host",
                                f"<host mac='{mac}' name='vm42' ip='{address}'/>"))
    assert dhcp_client(live.netns, live.bridge, mac) == address
    assert not live.conn.status(live.name).diverged


# ---------------------------------------------------------------------- apply
def test_apply_reconciles_and_is_idempotent(live):
    live.run()
    desired = live.conn.dumpxml(live.name, inactive=True)
    for command, section, xml in (
            ("add", "dns-host", f"<host ip='{live.net}.60'><hostname>gamma</hostname></host>"),
            ("delete", "dns-host", f"<host ip='{live.net}.50'/>"),
            ("modify", "dns-txt", "<txt name='motd' value='applied'/>")):
        desired = update_xml(desired, command, section, xml)
    assert len(live.conn.diff(live.name, desired).changes) == 3
    result = live.conn.apply(live.name, desired)
    assert type(result) is UpdateResult and result.changes
    assert (result.config, result.live) == (CHANGED, APPLIED) and result.ok, result.to_text()
    assert live.resolves("gamma.ct.test", [f"{live.net}.60"])["answers"] == [f"{live.net}.60"]
    assert live.resolves("alpha.ct.test", "NXDOMAIN")["rcode"] == "NXDOMAIN"
    assert live.resolves("motd", ['"applied"'], "TXT")["answers"] == ['"applied"']
    assert not live.conn.diff(live.name, desired) and not live.conn.status(live.name).diverged
    again = live.conn.apply(live.name, desired)
    assert not again.changed and again.config == UNCHANGED


# ---------------------------------------------------------------------- errors
REFUSED = {
    "duplicate": (lambda lv: lv.conn.update(lv.name, "add", "dns-host",
                                            f"<host ip='{lv.net}.50'><hostname>alpha</hostname>"
                                            "</host>"), DuplicateError),
    "missing": (lambda lv: lv.conn.update(lv.name, "delete", "dns-txt", "<txt name='absent'/>"),
                NotFoundError),
    "already-running": (lambda lv: lv.conn.start(lv.name), StateError),
    "unknown-network": (lambda lv: lv.conn.update("nu-ct-nowhere", "add", "dns-txt",
                                                  "<txt name='x' value='y'/>"), StateError),
}


@pytest.mark.parametrize("what", sorted(REFUSED))
def test_refused_changes_nothing(live, what):
    live.run()
    before = live.conn.dumpxml(live.name), live.conn.dumpxml(live.name, inactive=True)
    call, error = REFUSED[what]
    with pytest.raises(error):
        call(live)
    assert (live.conn.dumpxml(live.name), live.conn.dumpxml(live.name, inactive=True)) == before
    assert live.conn.status(live.name).state == "active"
    assert live.resolves("alpha.ct.test", [f"{live.net}.50"])["answers"] == [f"{live.net}.50"]


def test_live_update_of_a_stopped_network_is_refused(live):
    live.run()
    live.conn.stop(live.name)
    with pytest.raises(StateError):
        live.conn.update(live.name, "add", "dns-txt", "<txt name='x' value='y'/>", live=True)


# ---------------------------------------------------------------------- leases (issue 16)
def _leases(live, want, seconds: float = 10) -> set[str]:
    """The leased IPs once ``want(ips)`` holds (libvirt learns of a lease from dnsmasq's
    script, a moment later), else as they are after ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        ips = {row.ip for row in live.conn.leases(live.name)}
        if want(ips) or time.monotonic() > deadline:
            return ips
        time.sleep(0.2)


def test_reserving_a_present_guests_address_is_refused_unless_released(live, dhcp_client):
    live.run()
    holder, taker = "52:54:00:c7:00:43", "52:54:00:c7:00:44"
    held = dhcp_client(live.netns, live.bridge, holder)    # a dynamic lease; the guest stays
    assert held is not None and held in _leases(live, lambda ips: held in ips)
    host = f"<host mac='{taker}' name='vm44' ip='{held}'/>"
    before = live.conn.dumpxml(live.name), live.conn.dumpxml(live.name, inactive=True)
    with pytest.raises(InvalidOperationError,
                       match=rf"{re.escape(held)} is leased until .*{holder}.*still on the net"):
        live.conn.update(live.name, "add", "ip-dhcp-host", host)
    assert (live.conn.dumpxml(live.name), live.conn.dumpxml(live.name, inactive=True)) == before
    dry = live.conn.update(live.name, "add", "ip-dhcp-host", host, dry_run=True)
    assert any(note.startswith(f"lease {held} of MAC {holder}: refuse") for note in dry.notes), \
        dry.notes
    assert [effect.kind for effect in dry.impact] == ["none"], dry.to_text()
    done = live.conn.update(live.name, "add", "ip-dhcp-host", host, release_conflicting=True)
    _in_effect(done)
    assert any(note.startswith(f"released the lease of {held} held by MAC {holder}")
               for note in done.notes), done.notes
    assert [effect.kind for effect in done.impact] == ["none"], done.to_text()
    assert "vm44" in live.conn.dumpxml(live.name)
    assert held not in _leases(live, lambda ips: held not in ips)


def test_a_stale_lease_goes_to_the_new_owner_at_once(live, dhcp_client):
    live.run()
    mac_a, mac_b, address = "52:54:00:c7:00:45", "52:54:00:c7:00:46", f"{live.net}.45"
    _in_effect(live.conn.update(live.name, "add", "ip-dhcp-host",
                                f"<host mac='{mac_a}' ip='{address}'/>"))
    assert dhcp_client(live.netns, live.bridge, mac_a) == address
    assert address in _leases(live, lambda ips: address in ips)
    ports = ip("-n", live.netns, "-o", "link", "show", "master", live.bridge).stdout
    for port in re.findall(r"^\d+: ([^:@]+)", ports, re.M):   # A leaves the network
        ip("-n", live.netns, "link", "del", port)
    gone = live.conn.update(live.name, "delete", "ip-dhcp-host",
                            f"<host mac='{mac_a}' ip='{address}'/>")
    _in_effect(gone)
    assert any(note.startswith(f"released the lease of {address} held by MAC {mac_a}: its "
                               "holder has left") for note in gone.notes), gone.notes
    _in_effect(live.conn.update(live.name, "add", "ip-dhcp-host",
                                f"<host mac='{mac_b}' ip='{address}'/>"))
    assert dhcp_client(live.netns, live.bridge, mac_b) == address   # else a dynamic address
