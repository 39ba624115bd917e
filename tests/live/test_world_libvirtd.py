"""Issue 16 on the libvirt backend, with a real libvirtd in its own namespace (the fixtures of
test_libvirtd): drift of libvirt's bridge in the kernel, leases of a real DHCP client as
libvirt reports them, and the conflict pre-flight before start."""

from __future__ import annotations

import pytest

from netupdate.errors import ConflictError
from tests.live.test_libvirtd import conn, network  # noqa: F401  (fixtures; daemon: conftest)
from tests.live.test_world_live import guest  # noqa: F401  (fixture)

pytestmark = [pytest.mark.live, pytest.mark.libvirt]


def _ip(*args):
    import subprocess
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=True)


def test_check_finds_libvirts_bridge_changed_behind_its_back(conn, daemon, network):  # noqa: F811
    """Issue 16: libvirt's bridge changed in the kernel is drift; ``--repair`` sets back what
    libvirt sets (STP, up, its own address) and leaves an address libvirt did not put there."""
    name, server, _prefix = network
    assert conn.check(name).drift == []
    bridge = conn._lookup(name).bridgeName()
    _ip("-n", daemon.netns, "link", "set", bridge, "type", "bridge", "stp_state", "0")
    _ip("-n", daemon.netns, "addr", "add", "10.254.0.1/24", "dev", bridge)
    lines = [d.to_text() for d in conn.check(name).drift]
    assert f"bridge {bridge} stp: expected on, actual off" in lines
    assert f"bridge {bridge} address 10.254.0.1/24: expected absent, actual present" in lines
    assert conn.check(name).exit_code == 1
    _ip("-n", daemon.netns, "link", "set", bridge, "down")
    _ip("-n", daemon.netns, "addr", "flush", "to", server, "dev", bridge)
    result = conn.check(name, repair=True)
    assert f"bridge {bridge} stp: expected on, actual off" in result.repaired, result.to_text()
    assert f"bridge {bridge}: expected up, actual down" in result.repaired
    assert any(r.startswith(f"bridge {bridge} address {server}/") for r in result.repaired)
    assert [d.to_text() for d in result.remaining] == \
        [f"bridge {bridge} address 10.254.0.1/24: expected absent, actual present"]
    assert any("10.254.0.1/24 was not removed" in note for note in result.notes)
    assert result.exit_code == 1
    link = _ip("-n", daemon.netns, "-d", "link", "show", bridge).stdout
    assert "stp_state 1" in link and ",UP" in link.split(">")[0], link
    _ip("-n", daemon.netns, "addr", "del", "10.254.0.1/24", "dev", bridge)
    assert conn.check(name).drift == []


def test_check_reports_live_vs_persistent_definition(conn, network):  # noqa: F811
    name, _server, prefix = network
    conn.update(name, "add", "ip-dhcp-host",
                f"<host mac='52:54:00:21:ee:11' name='later' ip='{prefix}.11'/>", config=True,
                live=False)
    drift = conn.check(name).drift
    assert drift and all(d.what.startswith("live definition: ip-dhcp-host") for d in drift)
    result = conn.check(name, repair=True)
    assert result.exit_code == 0 and result.remaining == [], result.to_text()
    assert "name='later'" in conn.dumpxml(name)


def test_start_refuses_a_subnet_the_daemons_namespace_holds(conn, daemon):  # noqa: F811
    _ip("-n", daemon.netns, "link", "add", "nulvdock", "type", "bridge")
    _ip("-n", daemon.netns, "addr", "add", "172.30.0.1/16", "dev", "nulvdock")
    conn.define("<network><name>nu-lv-dock</name><bridge name='nulvbrdock'/>"
                "<ip address='172.30.5.1' prefix='24'/></network>")
    try:
        with pytest.raises(ConflictError, match=r"overlaps address 172\.30\.0\.1/16 of nulvdock"):
            conn.start("nu-lv-dock")
        conn.start("nu-lv-dock", force=True)
        conn.stop("nu-lv-dock")
    finally:
        conn.undefine("nu-lv-dock")
        _ip("-n", daemon.netns, "link", "del", "nulvdock")


def test_leases_of_a_real_client_as_libvirt_reports_them(conn, daemon, network, guest):  # noqa: F811
    name, _server, prefix = network
    bridge = conn._lookup(name).bridgeName()
    n = int(prefix.split(".")[1])
    reserved = guest(daemon.netns, f"52:54:00:21:{n:02x}:10", bridge=bridge)
    other = guest(daemon.netns, "52:54:00:21:ee:01", bridge=bridge)
    assert reserved.ip == f"{prefix}.10" and other.ip is not None
    rows = _rows(conn, name, 2)   # libvirt learns a lease from dnsmasq's script, later
    assert rows == {f"{prefix}.10": (f"52:54:00:21:{n:02x}:10", "reserved", True),
                    other.ip: ("52:54:00:21:ee:01", "dynamic", True)}
    other.leave(daemon.netns)
    assert _rows(conn, name, 2)[other.ip] == ("52:54:00:21:ee:01", "stale", False)


def _rows(connection, name: str, count: int) -> dict:
    import time
    deadline = time.monotonic() + 10
    while True:
        rows = {row.ip: (row.mac, row.status, row.present) for row in connection.leases(name)}
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        time.sleep(0.2)
