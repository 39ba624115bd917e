"""Host-device networks (issue 17, runtime/devices.py) against a recorded sysfs tree
(fixtures/sysfs/sriov): the PF/VF and PCI pools of hostdev and macvtap networks."""

from __future__ import annotations

from pathlib import Path

import pytest

import netupdate
from netupdate.errors import RuntimeFailure
from netupdate.live.embedded.runtime import devices as DEV

SYSFS = Path(__file__).resolve().parent.parent / "fixtures" / "sysfs" / "sriov"
RECORD = {"netns": None, "bridge": {"name": None, "created": False}}


@pytest.fixture(autouse=True)
def recorded_sysfs(monkeypatch):
    monkeypatch.setenv("NETUPDATE_SYSFS", str(SYSFS))


def defs(forward: str, extra: str = ""):
    return netupdate.load(f"<network><name>d</name>{forward}{extra}</network>").defs


def test_hostdev_pf_pool_is_its_virtual_functions():
    found = DEV.pool(defs("<forward mode='hostdev' managed='yes'><pf dev='enp4s0f0'/></forward>"))
    assert found == {"mode": "hostdev", "pci": ["0000:04:10.0", "0000:04:10.2"],
                     "pf": ["enp4s0f0"]}
    assert DEV.problems(RECORD, found) == []


def test_hostdev_address_pool_is_checked_against_the_pci_devices():
    forward = ("<forward mode='hostdev'><address type='pci' domain='0' bus='4' slot='0x10' "
               "function='2'/><address type='pci' domain='0' bus='5' slot='0' function='0'/>"
               "</forward>")
    found = DEV.pool(defs(forward))
    assert found["pci"] == ["0000:04:10.2", "0000:05:00.0"]
    assert DEV.problems(RECORD, found) == ["PCI device 0000:05:00.0 does not exist"]
    record = {**RECORD, "bridge": dict(RECORD["bridge"])}
    with pytest.raises(RuntimeFailure, match="0000:05:00.0 does not exist"):
        DEV.refresh(record, defs(forward))


def test_a_missing_pf_or_a_nic_without_sriov_is_refused_clearly():
    with pytest.raises(RuntimeFailure, match="physical function enp9s0 does not exist"):
        DEV.pool(defs("<forward mode='hostdev'><pf dev='enp9s0'/></forward>"))
    with pytest.raises(RuntimeFailure, match="physical function eno1"):
        DEV.pool(defs("<forward mode='hostdev'><pf dev='eno1'/></forward>"))


def test_passthrough_with_a_pf_uses_the_vf_netdevs():
    found = DEV.pool(defs("<forward mode='passthrough'><pf dev='enp4s0f0'/></forward>"))
    assert found["interfaces"] == ["enp4s16", "enp4s16f2"]


def test_macvtap_pool_order_interfaces_then_dev():
    found = DEV.pool(defs("<forward mode='private' dev='eth9'><interface dev='lo'/></forward>"))
    assert found["interfaces"] == ["lo"]
    assert DEV.problems(RECORD, found) == []
    found = DEV.pool(defs("<forward mode='vepa' dev='nu-no-such-if'/>"))
    assert DEV.problems(RECORD, found) == ["interface nu-no-such-if does not exist"]
