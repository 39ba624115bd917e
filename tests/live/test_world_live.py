"""Issue 16 live: leases with real DHCP clients (busybox udhcpc in namespaces wired to the
bridge by veth pairs), released when their holder left, refused while it is present."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time

import pytest

import netupdate
from tests.live.conftest import ip

NET = """<network>
  <name>worldnet</name>
  <bridge name='nubr-wld' stp='off' delay='0'/>
  <ip address='10.71.0.1' netmask='255.255.255.0'>
    <dhcp>
      <range start='10.71.0.100' end='10.71.0.150'/>
      <host mac='52:54:00:71:00:0a' name='guesta' ip='10.71.0.10'/>
    </dhcp>
  </ip>
</network>"""
BR = "nubr-wld"
MAC_A, MAC_B, MAC_C = "52:54:00:71:00:0a", "52:54:00:71:00:0b", "52:54:00:71:00:0c"
X = "10.71.0.10"

# bound: configure the address, so the guest answers ARP like a real one
SCRIPT = """#!/bin/sh
case "$1" in
  bound|renew) ip addr add "$ip/$mask" dev "$interface"; echo "LEASED $ip" ;;
esac
exit 0
"""


class Guest:
    def __init__(self, ns: str, host_end: str):
        self.ns, self.host_end, self.ip = ns, host_end, None

    def leave(self, network_ns: str) -> None:
        """Unplug: the veth pair goes (its FDB entries with it), the guest's address too."""
        ip("-n", network_ns, "link", "del", self.host_end, check=False)


@pytest.fixture
def guest(make_netns, tmp_path):
    """guest(network_ns, mac) -> a Guest that asked for a lease on the bridge and keeps the
    address it got (``.ip``; None when it got none)."""
    script = tmp_path / "udhcpc.sh"
    script.write_text(SCRIPT)
    script.chmod(0o755)

    def make(network_ns: str, mac: str, *, static: str | None = None, bridge: str = BR) -> Guest:
        client_ns = make_netns()
        host_end, guest_end = f"vh{secrets.token_hex(3)}", f"vg{secrets.token_hex(3)}"
        ip("-n", network_ns, "link", "add", host_end, "type", "veth", "peer", "name",
           guest_end)
        ip("-n", network_ns, "link", "set", guest_end, "netns", client_ns)
        ip("-n", network_ns, "link", "set", host_end, "master", bridge, "up")
        ip("-n", client_ns, "link", "set", guest_end, "address", mac, "up")
        found = Guest(client_ns, host_end)
        if static is not None:  # a guest that uses an address without asking DHCP
            ip("-n", client_ns, "addr", "add", f"{static}/24", "dev", guest_end)
            found.ip = static
            return found
        proc = subprocess.run(
            ["ip", "netns", "exec", client_ns, "busybox", "udhcpc", "-i", guest_end, "-n",
             "-q", "-f", "-t", "8", "-T", "1", "-A", "1", "-s", str(script)],
            capture_output=True, text=True, timeout=60)
        for line in proc.stdout.splitlines():
            if line.startswith("LEASED "):
                found.ip = line.split()[1]
        return found

    return make


def _statuses(conn) -> dict[str, tuple[str, str]]:
    return {row.ip: (row.mac, row.status) for row in conn.leases("worldnet")}


def test_reserved_ip_of_a_guest_that_left_goes_to_its_new_owner_at_once(conn, netns, guest):
    conn.define(NET)
    conn.start("worldnet")
    a = guest(netns, MAC_A)
    assert a.ip == X
    assert _statuses(conn)[X] == (MAC_A, "reserved")
    a.leave(netns)
    assert _statuses(conn)[X] == (MAC_A, "stale")
    result = conn.update("worldnet", "delete", "ip-dhcp-host",
                         f"<host mac='{MAC_A}' name='guesta' ip='{X}'/>")
    conn.update("worldnet", "add", "ip-dhcp-host", f"<host mac='{MAC_B}' name='guestb' ip='{X}'/>")
    b = guest(netns, MAC_B)
    assert b.ip == X   # without the release dnsmasq hands B a dynamic address
    assert _statuses(conn)[X] == (MAC_B, "reserved")
    assert any(f"released the lease of {X}" in note for note in result.notes), result.notes


def cli(state_dir: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    return subprocess.run([sys.executable, "-m", "netupdate", *args, "--state-dir", state_dir],
                          capture_output=True, text=True, timeout=120, env=env)


def test_reserving_a_present_guests_address_is_refused_unless_released(conn, netns, guest,
                                                                      state_dir):
    conn.define(NET)
    conn.start("worldnet")
    c = guest(netns, MAC_C)             # a dynamic lease, and C stays
    assert c.ip is not None and c.ip != X
    host = f"<host mac='{MAC_B}' name='guestb' ip='{c.ip}'/>"
    refused = cli(state_dir, "update", "worldnet", "add", "ip-dhcp-host", host)
    assert refused.returncode != 0 and refused.stdout == ""
    line, = refused.stderr.splitlines()
    assert f"{c.ip} is leased until" in line and MAC_C in line and "Traceback" not in line
    assert "guestb" not in conn.dumpxml("worldnet")          # nothing changed
    assert _statuses(conn)[c.ip] == (MAC_C, "dynamic")
    dry = conn.update("worldnet", "add", "ip-dhcp-host", host, dry_run=True)
    assert any("refuse" in note and MAC_C in note for note in dry.notes), dry.notes
    done = cli(state_dir, "update", "worldnet", "add", "ip-dhcp-host", host,
               "--release-conflicting")
    assert done.returncode == 0, done.stderr
    assert f"released the lease of {c.ip}" in done.stdout
    assert c.ip not in _statuses(conn)
    assert "guestb" in conn.dumpxml("worldnet")


def test_a_present_holder_keeps_its_lease_when_its_reservation_goes(conn, netns, guest):
    conn.define(NET)
    conn.start("worldnet")
    a = guest(netns, MAC_A)
    assert a.ip == X
    result = conn.update("worldnet", "delete", "ip-dhcp-host",
                         f"<host mac='{MAC_A}' name='guesta' ip='{X}'/>")
    note, = [n for n in result.notes if n.startswith(f"lease {X}")]
    assert "keep" in note and "still on the network" in note and "until" in note
    assert _statuses(conn)[X] == (MAC_A, "dynamic")   # not released behind its back


def test_leases_json_shows_each_status(conn, netns, guest, state_dir):
    conn.define(NET)
    # a lease database that survived (dnsmasq loads it at start): X, reserved for A, leased
    # to C, which still uses X; and A's reservation is not X's holder at all
    folder = os.path.join(state_dir, "run", "networks", "worldnet")
    os.makedirs(folder, mode=0o755)
    expiry = int(time.time()) + 3600
    with open(os.path.join(folder, "dnsmasq.leases"), "w") as handle:
        handle.write(f"{expiry} {MAC_C} {X} guestc *\n")
    conn.start("worldnet")
    guest(netns, MAC_C, static=X)               # conflicting: C is here and uses X
    d = guest(netns, "52:54:00:71:00:0d")       # dynamic, stays
    e = guest(netns, "52:54:00:71:00:0e")       # dynamic, leaves: stale
    e.leave(netns)
    conn.update("worldnet", "add", "ip-dhcp-host",
                f"<host mac='52:54:00:71:00:0d' name='guestd' ip='{d.ip}'/>")  # reserved
    out = cli(state_dir, "leases", "worldnet", "--json")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    got = {row["ip"]: (row["mac"], row["status"]) for row in rows}
    assert got == {X: (MAC_C, "conflicting"), d.ip: ("52:54:00:71:00:0d", "reserved"),
                   e.ip: ("52:54:00:71:00:0e", "stale")}
    assert all(row["expiry"] > time.time() for row in rows)
    assert {row["ip"]: row["present"] for row in rows} == {X: True, d.ip: True, e.ip: False}
    text = cli(state_dir, "leases", "worldnet").stdout.splitlines()
    assert text[0].split() == ["IP", "MAC", "HOSTNAME", "STATUS", "EXPIRES"] and len(text) == 4


def test_batch_and_apply_guard_leases_too(conn, netns, guest):
    conn.define(NET)
    conn.start("worldnet")
    a = guest(netns, MAC_A)
    c = guest(netns, MAC_C)
    assert a.ip == X and c.ip not in (None, X)
    desired = NET.replace("</dhcp>", f"<host mac='{MAC_B}' ip='{c.ip}'/></dhcp>")
    with pytest.raises(netupdate.InvalidOperationError, match=f"{c.ip} is leased until .*{MAC_C}"):
        conn.apply("worldnet", desired)
    assert MAC_B not in conn.dumpxml("worldnet")
    a.leave(netns)
    result = conn.update_batch("worldnet", [
        ("delete", "ip-dhcp-host", f"<host mac='{MAC_A}' ip='{X}'/>"),
        ("add", "ip-dhcp-host", f"<host mac='{MAC_B}' name='guestb' ip='{X}'/>")])
    assert any(f"released the lease of {X}" in note for note in result.notes), result.notes
    assert guest(netns, MAC_B).ip == X


def test_plans_say_which_guests_they_touch_and_updates_what_they_did(conn, netns, guest):
    conn.define(NET)
    conn.start("worldnet")
    a, c = guest(netns, MAC_A), guest(netns, MAC_C)
    assert a.ip == X and c.ip is not None
    ports = sorted([a.host_end, c.host_end])
    # a new bridge name needs a network restart: both guests lose their link, and their leases
    restart = conn.update("worldnet", "modify", "bridge",
                          "<bridge name='nubr-wld2' stp='off' delay='0'/>", dry_run=True)
    effect, = restart.impact
    assert effect.kind == "network-restart" and list(effect.ports) == ports
    assert effect.text.startswith("network restart: 2 attached interfaces lose their link")
    assert sorted(effect.leases) == sorted([X, c.ip])
    assert f"  impact: {effect.text}" in restart.to_text().splitlines()
    # a new domain restarts dnsmasq: not measured yet, then measured, then quoted
    domain = "<domain name='w.test'/>"
    first, = conn.update("worldnet", "add", "domain", domain, dry_run=True).impact
    assert "not measured on this network yet" in first.text and "2 leases kept" in first.text
    done = conn.update("worldnet", "add", "domain", domain)
    did, = done.impact
    assert did.text.startswith("dnsmasq restart: DHCP and DNS were unavailable for ")
    measured = int(did.text.split(" for ")[1].split(" ms")[0])
    assert done.to_json()["impact"][0]["kind"] == "dnsmasq-restart"
    again, = conn.diff("worldnet", NET.replace("<bridge", "<domain name='x.test'/><bridge")
                       ).impact
    assert f"for about {measured} ms, as measured at this network's last restart" in again.text
    none, = conn.update("worldnet", "add", "ip-dhcp-host",
                        "<host mac='52:54:00:71:00:99' ip='10.71.0.99'/>", dry_run=True).impact
    assert none.kind == "none" and none.text.startswith("none")
