"""Issue 17: ``check`` in the forward modes that use the host's devices (``bridge``: an existing
host bridge; ``vepa`` and the other macvtap modes: a pool of host interfaces).  netupdate created
nothing there, so there is nothing of its own to drift, but the devices it verified at start can
vanish behind its back: ``check`` reports that, and ``--repair`` cannot bring them back."""

from __future__ import annotations

from tests.live.conftest import ip


def test_check_in_bridge_mode_sees_the_host_bridge_go(conn, netns):
    ip("-n", netns, "link", "add", "nuhost0", "type", "bridge")
    conn.define("<network><name>hb</name><forward mode='bridge'/><bridge name='nuhost0'/>"
                "</network>")
    conn.start("hb")
    found = conn.check("hb")
    assert found.drift == [] and found.exit_code == 0, found.to_text()
    ip("-n", netns, "link", "del", "nuhost0")
    found = conn.check("hb")
    assert found.exit_code == 1 and any("nuhost0" in d.to_text() for d in found.drift), \
        found.to_text()


def test_check_in_vepa_mode_sees_a_pool_interface_go(conn, netns):
    for dev in ("nud0", "nud1"):   # veth: this kernel has no dummy module
        ip("-n", netns, "link", "add", dev, "type", "veth", "peer", "name", dev + "p")
    conn.define("<network><name>mv</name><forward mode='vepa'><interface dev='nud0'/>"
                "<interface dev='nud1'/></forward></network>")
    conn.start("mv")
    assert conn.check("mv").drift == []
    ip("-n", netns, "link", "del", "nud1")
    found = conn.check("mv")
    assert found.exit_code == 1 and any("nud1" in d.to_text() for d in found.drift), \
        found.to_text()
