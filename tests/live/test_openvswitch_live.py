"""Live tier (issue 17): a bridge-mode network on an Open vSwitch bridge (``<forward
mode='bridge'><bridge name=.../><virtualport type='openvswitch'/>``).  libvirt creates nothing:
the OVS bridge must exist.  Here a private Open vSwitch runs in the test's namespace
(tests/live/ovsdaemon.py: own run directory, userspace datapath, no system service); start,
status and check verify the bridge through ``ovs-vsctl br-exists`` and record it, stop leaves it,
and a missing one, or a Linux bridge of that name, is reported.  Without Open vSwitch installed
(no ``ovs-vsctl`` on the PATH) only the link is checked, and status says so."""

from __future__ import annotations

import pytest
from ovsdaemon import OpenVSwitch, require

from tests.live.conftest import ip

pytestmark = pytest.mark.live

NET = ("<network><name>ovs</name><forward mode='bridge'/><bridge name='{}'/>"
       "<virtualport type='openvswitch'/></network>")


@pytest.fixture
def ovs(netns, tmp_path, monkeypatch):
    require()
    switch = OpenVSwitch(netns, str(tmp_path)).start()
    for key, value in switch.env.items():   # netupdate's ovs-vsctl finds this one
        monkeypatch.setenv(key, value)
    return switch


def _drifts(found) -> str:
    return "\n".join(d.to_text() for d in found.drift)


def test_an_openvswitch_bridge_is_verified_recorded_and_left_at_stop(conn, netns, ovs):
    ovs.add_bridge("nuovs0")
    ovs.add_bridge("nuovs1")
    conn.define(NET.format("nuovs0"))
    conn.start("ovs")
    record = conn.store.read_record("ovs")
    assert record["pool"] == {"mode": "bridge", "bridge": "nuovs0", "virtualport": "openvswitch",
                              "note": None}, record["pool"]
    assert record["dnsmasq"] is None and record["firewall"] is None
    status = conn.status("ovs")
    assert status.problems == () and not status.notes, status.to_text()
    assert conn.check("ovs").drift == []
    result = conn.apply("ovs", NET.format("nuovs1"))   # another OVS bridge, live
    assert [a.kind for a in result.actions] == ["device-pool"]
    assert conn.store.read_record("ovs")["pool"]["bridge"] == "nuovs1"
    conn.stop("ovs")
    assert ovs.has_bridge("nuovs0") and ovs.has_bridge("nuovs1")   # left alone


def test_a_missing_openvswitch_bridge_is_reported(conn, netns, ovs):
    ovs.add_bridge("nuovs0")
    conn.define(NET.format("nuovs0"))
    conn.start("ovs")
    ovs.vsctl("del-br", "nuovs0")
    found = conn.check("ovs")
    assert found.exit_code == 1 and "host bridge nuovs0 does not exist" in _drifts(found), \
        found.to_text()
    assert any("nuovs0" in p for p in conn.status("ovs").problems)
    ip("-n", netns, "link", "add", "nuovs0", "type", "bridge")   # a Linux bridge of that name
    found = conn.check("ovs")
    assert "nuovs0 is not an Open vSwitch bridge" in _drifts(found), found.to_text()
    conn.stop("ovs")
    with pytest.raises(Exception, match="nuovs0 is not an Open vSwitch bridge"):
        conn.start("ovs")
    conn.define(NET.format("nuovs9").replace("<name>ovs<", "<name>ovs9<"))
    with pytest.raises(Exception, match="host bridge nuovs9 does not exist"):
        conn.start("ovs9")


def test_an_openvswitch_that_does_not_answer_is_said_so(conn, netns, tmp_path, monkeypatch):
    """ovs-vsctl installed, no daemon behind its socket: the bridge cannot be checked, and
    start says why (not "not an Open vSwitch bridge")."""
    require()
    monkeypatch.setenv("OVS_RUNDIR", str(tmp_path))   # no db.sock there
    ip("-n", netns, "link", "add", "nuovs0", "type", "bridge")
    conn.define(NET.format("nuovs0"))
    with pytest.raises(Exception, match="Open vSwitch does not answer, so nuovs0 cannot be "
                                        "checked"):
        conn.start("ovs")


def test_without_openvswitch_installed_only_the_link_is_checked(conn, netns, tmp_path,
                                                                monkeypatch):
    """No ovs-vsctl on the PATH (an empty directory): start checks the link, records that
    Open vSwitch could not be asked, and status says so."""
    ip("-n", netns, "link", "add", "nuovs0", "type", "bridge")
    conn.define(NET.format("nuovs0"))
    monkeypatch.setenv("PATH", str(tmp_path))
    conn.start("ovs")
    note = conn.store.read_record("ovs")["pool"]["note"]
    assert note and note.startswith("Open vSwitch is not installed"), note
    status = conn.status("ovs")
    assert status.problems == () and status.notes and \
        "Open vSwitch is not installed" in status.notes[0], status.to_text()
    conn.stop("ovs")
