"""Issue 16 live: the conflict pre-flight before define and start, against what a namespace
holds (a docker0-like bridge, another network of ours) and against other definitions."""

from __future__ import annotations

import pytest

from netupdate.errors import ConflictError
from tests.live.conftest import ip


def net(name: str, bridge: str, address: str, hosts: str = "") -> str:
    return (f"<network><name>{name}</name><bridge name='{bridge}' stp='off'/>"
            f"<ip address='{address}' prefix='24'><dhcp>{hosts}</dhcp></ip></network>")


def test_start_refuses_a_subnet_the_namespace_already_routes(conn, netns):
    ip("-n", netns, "link", "add", "docker0", "type", "bridge")
    ip("-n", netns, "addr", "add", "172.17.0.1/16", "dev", "docker0")
    conn.define(net("dock", "nubr-dock", "172.17.5.1"))
    with pytest.raises(ConflictError, match=r"subnet 172\.17\.5\.0/24 of network dock overlaps "
                                            r"address 172\.17\.0\.1/16 of docker0 in namespace"):
        conn.start("dock")
    assert not conn.list()[0].active
    assert ip("-n", netns, "link", "show", "nubr-dock", check=False).returncode != 0
    conn.start("dock", force=True)
    assert conn.list()[0].active


def test_start_refuses_an_overlap_with_another_network_of_ours(conn, netns):
    conn.define(net("first", "nubr-one", "10.81.0.1"))
    conn.define(net("second", "nubr-two", "10.81.0.129"))
    conn.start("first")
    with pytest.raises(ConflictError, match=r"of nubr-one \(network first\) in namespace"):
        conn.start("second")


def test_start_refuses_a_bridge_name_another_link_holds_even_with_force(conn, netns):
    ip("-n", netns, "link", "add", "nubr-taken", "type", "bridge")
    conn.define(net("taken", "nubr-taken", "10.82.0.1"))
    for force in (False, True):
        with pytest.raises(ConflictError, match="bridge name nubr-taken of network taken is "
                                                "already used by a link"):
            conn.start("taken", force=force)


def test_define_and_start_refuse_a_mac_a_running_network_reserves(conn):
    conn.define(net("one", "nubr-a", "10.83.0.1",
                    "<host mac='52:54:00:83:00:01' ip='10.83.0.10'/>"))
    dup = net("two", "nubr-b", "10.84.0.1", "<host mac='52:54:00:83:00:01' ip='10.84.0.11'/>")
    assert conn.define(dup) == "two"           # only defined: they may never run together
    conn.start("one")
    with pytest.raises(ConflictError, match="^conflict: MAC 52:54:00:83:00:01 is reserved in "
                                            "network two and in network one"):
        conn.start("two")
    with pytest.raises(ConflictError, match="MAC 52:54:00:83:00:01 is reserved in network two"):
        conn.define(dup.replace("10.84.0.11", "10.84.0.12"))
    assert "10.84.0.11" in conn.dumpxml("two", inactive=True)
    assert conn.define(dup.replace("10.84.0.11", "10.84.0.12"), force=True) == "two"
    conn.start("two", force=True)
    assert all(n.active for n in conn.list())


def test_update_and_apply_refuse_an_address_the_namespace_already_routes(conn, netns):
    ip("-n", netns, "link", "add", "docker0", "type", "bridge")
    ip("-n", netns, "addr", "add", "172.17.0.1/16", "dev", "docker0")
    base = net("grow", "nubr-grow", "10.85.0.1")
    conn.define(base)
    conn.start("grow")
    more = "<ip family='ipv4' address='172.17.9.1' prefix='24'/>"
    with pytest.raises(ConflictError, match=r"^conflict: subnet 172\.17\.9\.0/24 of network grow "
                                            r"overlaps address 172\.17\.0\.1/16 of docker0"):
        conn.update("grow", "add", "ip", more)
    with pytest.raises(ConflictError, match="overlaps address 172.17.0.1/16 of docker0"):
        conn.apply("grow", base.replace("</network>", more + "</network>"))
    assert "172.17.9.1" not in conn.dumpxml("grow") + conn.dumpxml("grow", inactive=True)
    assert "172.17.9.1" not in ip("-n", netns, "addr", "show", "nubr-grow").stdout
    conn.update("grow", "add", "ip", "<ip family='ipv4' address='10.86.0.1' prefix='24'/>")


def test_live_update_refuses_a_reservation_another_running_network_holds(conn, netns):
    """Two networks run in one namespace: a host taking a MAC or an IP the other reserves is
    refused before anything changes; ``force`` lets it
    through; then that old conflict does not block an unrelated update."""
    conn.define(net("left", "nubr-left", "10.87.0.1",
                    "<host mac='52:54:00:87:00:01' ip='10.87.0.10'/>"))
    conn.define(net("right", "nubr-right", "10.88.0.1"))
    conn.start("left")
    conn.start("right")
    taken = "<host mac='52:54:00:87:00:01' ip='10.88.0.10'/>"
    before = (conn.dumpxml("right"), conn.dumpxml("right", inactive=True))
    for xml, side in ((taken, "MAC 52:54:00:87:00:01"),
                      ("<host mac='52:54:00:88:00:02' ip='10.87.0.10'/>", "IP 10.87.0.10")):
        with pytest.raises(ConflictError, match=f"^conflict: {side} is reserved in network "
                                                "right and in network left .*--force"):
            conn.update("right", "add", "ip-dhcp-host", xml)
    assert (conn.dumpxml("right"), conn.dumpxml("right", inactive=True)) == before
    result = conn.update("right", "add", "ip-dhcp-host", taken, force=True)
    assert result.live == "applied" and "52:54:00:87:00:01" in conn.dumpxml("right")
    unrelated = conn.update("right", "add", "ip-dhcp-host",
                            "<host mac='52:54:00:88:00:03' ip='10.88.0.11'/>")
    assert unrelated.live == "applied"


def test_an_overlapping_address_goes_through_with_force(conn, netns):
    ip("-n", netns, "link", "add", "docker0", "type", "bridge")
    ip("-n", netns, "addr", "add", "172.17.0.1/16", "dev", "docker0")
    conn.define(net("grow", "nubr-grow", "10.85.0.1"))
    conn.start("grow")
    more = "<ip family='ipv4' address='172.17.9.1' prefix='24'/>"
    with pytest.raises(ConflictError, match=r"--force overrides it"):
        conn.update("grow", "add", "ip", more)
    conn.update("grow", "add", "ip", more, force=True)
    assert "172.17.9.1" in ip("-n", netns, "addr", "show", "nubr-grow").stdout
