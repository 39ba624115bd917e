"""Issue 16 live, DHCPv6: a stale DHCPv6 lease is released (``dhcp_release6``) when its
reservation goes and its holder has left, so the address goes to its new owner at once.

The machine has no DHCPv6 client (busybox is built without udhcpc6; no dhclient or dhcpcd), so
the guests run ``dhcp6client.py``, a minimal one doing the real four-message exchange with
dnsmasq from a namespace wired to the bridge."""

from __future__ import annotations

import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from netupdate.model.leases import DYNAMIC, RESERVED, STALE
from tests.live.conftest import ip

NET = """<network>
  <name>world6</name>
  <bridge name='nubr-wd6' stp='off' delay='0'/>
  <ip family='ipv6' address='fd71::1' prefix='64'>
    <dhcp>
      <range start='fd71::100' end='fd71::1ff'/>
      <host id='{duid_a}' name='guesta' ip='fd71::10'/>
    </dhcp>
  </ip>
</network>"""
BR = "nubr-wd6"
MAC_A, MAC_B = "52:54:00:71:06:0a", "52:54:00:71:06:0b"
X = "fd71::10"
CLIENT = Path(__file__).with_name("dhcp6client.py")


def duid(mac: str) -> str:
    """The DUID-LL ``dhcp6client.py`` sends for ``mac``, written as libvirt's <host id>."""
    return "0:3:0:1:" + mac


class Guest:
    def __init__(self, host_end: str, address: str | None):
        self.host_end, self.ip = host_end, address

    def leave(self, network_ns: str) -> None:
        """Unplug: the veth pair goes, and the guest's address with it."""
        ip("-n", network_ns, "link", "del", self.host_end, check=False)


@pytest.fixture
def guest6(make_netns):
    """guest6(network_ns, mac) -> a Guest that asked dnsmasq for a DHCPv6 address."""
    def make(network_ns: str, mac: str) -> Guest:
        client_ns = make_netns()
        host_end, guest_end = f"vh{secrets.token_hex(3)}", f"vg{secrets.token_hex(3)}"
        ip("-n", network_ns, "link", "add", host_end, "type", "veth", "peer", "name",
           guest_end)
        ip("-n", network_ns, "link", "set", guest_end, "netns", client_ns)
        subprocess.run(["ip", "netns", "exec", client_ns, "sysctl", "-qw",
                        f"net.ipv6.conf.{guest_end}.accept_dad=0"], check=True)
        ip("-n", network_ns, "link", "set", host_end, "master", BR, "up")
        ip("-n", client_ns, "link", "set", guest_end, "address", mac, "up")
        proc = subprocess.run(["ip", "netns", "exec", client_ns, sys.executable, str(CLIENT),
                               guest_end, mac, "1"], capture_output=True, text=True, timeout=60)
        leased = [line.split()[1] for line in proc.stdout.splitlines()
                  if line.startswith("LEASED ")]
        return Guest(host_end, leased[0] if leased else None)
    return make


def _statuses(conn) -> dict[str, tuple[str | None, str]]:
    return {row.ip: (row.client_id, row.status) for row in conn.leases("world6")}


def test_stale_dhcpv6_lease_is_released_and_goes_to_its_new_owner(conn, netns, guest6):
    conn.define(NET.format(duid_a=duid(MAC_A)))
    conn.start("world6")
    a = guest6(netns, MAC_A)
    assert a.ip == X
    assert _statuses(conn)[X][1] == RESERVED
    a.leave(netns)
    assert _statuses(conn)[X][1] == STALE       # no NDP answer from the bridge
    result = conn.update("world6", "delete", "ip-dhcp-host",
                         f"<host id='{duid(MAC_A)}' name='guesta' ip='{X}'/>")
    assert any(f"released the lease of {X}" in note for note in result.notes), result.notes
    assert X not in _statuses(conn)            # dnsmasq forgot it (dhcp_release6)
    conn.update("world6", "add", "ip-dhcp-host",
                f"<host id='{duid(MAC_B)}' name='guestb' ip='{X}'/>")
    b = guest6(netns, MAC_B)
    assert b.ip == X   # without the release dnsmasq would not give B the address A leased
    assert _statuses(conn)[X][1] == RESERVED


def test_a_present_dhcpv6_holder_keeps_its_lease(conn, netns, guest6):
    conn.define(NET.format(duid_a=duid(MAC_A)))
    conn.start("world6")
    a = guest6(netns, MAC_A)
    assert a.ip == X
    result = conn.update("world6", "delete", "ip-dhcp-host",
                         f"<host id='{duid(MAC_A)}' name='guesta' ip='{X}'/>")
    assert any(f"lease {X}" in note and "keep" in note for note in result.notes), result.notes
    assert _statuses(conn)[X][1] == DYNAMIC     # still leased, to the guest still there
