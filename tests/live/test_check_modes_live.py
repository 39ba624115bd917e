"""Issue 17: ``check`` in the forward modes that use the host's devices (``bridge``: an existing
host bridge; ``vepa`` and the other macvtap modes: a pool of host interfaces).  netupdate created
nothing there, so there is nothing of its own to drift, but the devices it verified at start can
vanish behind its back: ``check`` reports that, and ``--repair`` cannot bring them back.
private and passthrough pools are veth interfaces in the test's namespace; hostdev pools are
PCI functions in a copy of the recorded sysfs tree (fixtures/sysfs, ``$NETUPDATE_SYSFS``)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

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


def _veths(netns, *names):
    for dev in names:   # veth: this kernel has no dummy module
        ip("-n", netns, "link", "add", dev, "type", "veth", "peer", "name", dev + "p")


def _drifts(found) -> str:
    return "\n".join(d.to_text() for d in found.drift)


@pytest.mark.parametrize("mode", ["private", "passthrough"])
@pytest.mark.parametrize("how", ["removed", "renamed"])
def test_check_of_an_interface_pool(conn, netns, mode, how):
    """private and passthrough (macvtap pools): start records the pool, status and check are
    clean, a live ``forward-interface`` add is checked and recorded (no restart); an interface
    that goes (deleted, or renamed under netupdate) is drift, named, exit code 1; --repair
    cannot bring it back."""
    _veths(netns, "nud0", "nud1", "nud2")
    conn.define(f"<network><name>pool</name><forward mode='{mode}'><interface dev='nud0'/>"
                "<interface dev='nud1'/></forward></network>")
    conn.start("pool")
    assert conn.store.read_record("pool")["pool"]["interfaces"] == ["nud0", "nud1"]
    status = conn.status("pool")
    assert status.problems == () and status.state == "active", status.to_text()
    found = conn.check("pool")
    assert found.drift == [] and found.exit_code == 0, found.to_text()
    result = conn.update("pool", "add", "forward-interface", "<interface dev='nud2'/>")
    assert [a.kind for a in result.actions] == ["device-pool"]
    assert conn.store.read_record("pool")["pool"]["interfaces"] == ["nud0", "nud1", "nud2"]
    assert conn.check("pool").drift == []
    if how == "removed":
        ip("-n", netns, "link", "del", "nud2")
    else:
        ip("-n", netns, "link", "set", "nud2", "name", "nud9")
    found = conn.check("pool")
    assert found.exit_code == 1, found.to_text()
    assert f"{mode} pool" in _drifts(found) and "interface nud2 does not exist" in \
        _drifts(found), found.to_text()
    assert "nud0" not in _drifts(found) and "nud1" not in _drifts(found)
    assert any("nud2" in p for p in conn.status("pool").problems)
    repaired = conn.check("pool", repair=True)   # nothing to repair with: the pool stays up
    assert repaired.exit_code == 1 and repaired.repaired == [], repaired.to_text()
    assert "interface nud2 does not exist" in "\n".join(d.to_text() for d in repaired.remaining)
    assert any("cannot be repaired" in n for n in repaired.notes), repaired.to_text()
    assert conn.status("pool").active and conn.store.read_record("pool") is not None
    result = conn.update("pool", "delete", "forward-interface", "<interface dev='nud2'/>")
    assert [a.kind for a in result.actions] == ["device-pool"]
    assert conn.check("pool").drift == []   # the pool no longer has it


def _sysfs_copy(tmp_path, monkeypatch) -> Path:
    """A writable copy of the recorded SR-IOV tree (fixtures/sysfs/sriov), as $NETUPDATE_SYSFS."""
    root = tmp_path / "sys"
    shutil.copytree(Path(__file__).resolve().parents[2] / "fixtures" / "sysfs" / "sriov", root,
                    symlinks=True)
    monkeypatch.setenv("NETUPDATE_SYSFS", str(root))
    return root


def _drop_vf(root: Path, index: int, address: str) -> None:
    """What the kernel shows when a virtual function goes (sriov_numvfs lowered): the PF's
    ``virtfnN`` link and the VF's PCI device are gone."""
    (root / "bus/pci/devices/0000:04:00.0" / f"virtfn{index}").unlink()
    shutil.rmtree(root / "bus/pci/devices" / address)


def test_check_of_a_hostdev_pf_pool_from_a_recorded_sysfs_tree(conn, tmp_path, monkeypatch):
    """hostdev with a ``<pf>``: the pool is the PF's virtual functions, read from the recorded
    sysfs tree; check is clean, then a VF disappearing is drift (exit code 1)."""
    root = _sysfs_copy(tmp_path, monkeypatch)
    conn.define("<network><name>vf</name><forward mode='hostdev' managed='yes'>"
                "<pf dev='enp4s0f0'/></forward></network>")
    conn.start("vf")
    assert conn.store.read_record("vf")["pool"]["pci"] == ["0000:04:10.0", "0000:04:10.2"]
    assert conn.status("vf").problems == ()
    found = conn.check("vf")
    assert found.drift == [] and found.exit_code == 0, found.to_text()
    _drop_vf(root, 1, "0000:04:10.2")
    found = conn.check("vf")
    assert found.exit_code == 1, found.to_text()
    assert "hostdev pool" in _drifts(found) and "PCI device 0000:04:10.2 does not exist" in \
        _drifts(found) and "0000:04:10.0" not in _drifts(found), found.to_text()


def test_check_of_a_hostdev_address_pool_and_a_live_change(conn, tmp_path, monkeypatch):
    """hostdev with an ``<address>`` list: a live ``forward`` change of the list is a
    ``device-pool`` step (checked against sysfs, recorded); a listed function that goes is
    drift; one that never existed is refused and rolled back."""
    root = _sysfs_copy(tmp_path, monkeypatch)
    addr = "<address type='pci' domain='0x0000' bus='0x04' slot='0x10' function='{}'/>"
    text = ("<network><name>pci</name><forward mode='hostdev' managed='yes'>{}</forward>"
            "</network>")
    conn.define(text.format(addr.format("0x0")))
    conn.start("pci")
    assert conn.store.read_record("pci")["pool"]["pci"] == ["0000:04:10.0"]
    assert conn.check("pci").drift == []
    both = text.format(addr.format("0x0") + addr.format("0x2"))
    result = conn.apply("pci", both)
    assert [a.kind for a in result.actions] == ["device-pool"], result.actions
    assert conn.store.read_record("pci")["pool"]["pci"] == ["0000:04:10.0", "0000:04:10.2"]
    assert conn.check("pci").drift == []
    with pytest.raises(Exception, match="PCI device 0000:04:10.4 does not exist"):
        conn.apply("pci", both.replace("function='0x2'", "function='0x4'"))
    assert conn.store.read_record("pci")["pool"]["pci"] == ["0000:04:10.0", "0000:04:10.2"]
    _drop_vf(root, 0, "0000:04:10.0")
    found = conn.check("pci")
    assert found.exit_code == 1 and "PCI device 0000:04:10.0 does not exist" in \
        _drifts(found), found.to_text()
