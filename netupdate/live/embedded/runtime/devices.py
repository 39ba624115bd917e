"""Networks that are host devices (issue 17): forward modes bridge, private, vepa, passthrough
and hostdev.  libvirt creates nothing for them and runs no dnsmasq or firewall: the network is
an existing host bridge, a pool of host interfaces (macvtap), or a pool of PCI functions
(SR-IOV).  The runtime does the same: start checks the devices exist and records them
(``record["pool"]``), status and verification check them again, a live change of the pool
(``device-pool``) re-reads it from the definition.

- bridge: ``<bridge name>`` must exist and be a bridge; with ``<virtualport
  type='openvswitch'>`` it must be an Open vSwitch bridge (``ovs-vsctl br-exists``: exit 2 is
  "not one", any other failure "Open vSwitch does not answer") when Open vSwitch is installed;
  when it is not, the record says so (``pool["note"]``) and only the link is checked.
- private, vepa, passthrough: the ``<interface dev>`` list, else ``<forward dev>``, else the
  network devices of the ``<pf>``'s virtual functions (sysfs), must exist.
- hostdev: the ``<address type='pci'>`` list, else the ``<pf>``'s virtual functions (sysfs
  ``class/net/PF/device/virtfnN``), must exist under ``bus/pci/devices``.

sysfs is read under ``SYSFS`` (``$NETUPDATE_SYSFS``, default ``/sys``), so recorded trees
(fixtures/sysfs) test what needs SR-IOV hardware.
"""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

from netupdate.errors import RuntimeFailure
from netupdate.live.embedded.runtime import netns as NS
from netupdate.model import values as T
from netupdate.model.defs import NetworkDef

KINDS = frozenset({"device-pool"})


def sysfs() -> Path:
    return Path(os.environ.get("NETUPDATE_SYSFS") or "/sys")


def applies(defs: NetworkDef) -> bool:
    return T.mode_group(defs.forward_mode) != "routed"


def _pci(address) -> str:
    return (f"{address.domain or 0:04x}:{address.bus or 0:02x}:{address.slot or 0:02x}."
            f"{address.function or 0:x}")


def virtual_functions(pf: str) -> list[str]:
    """The PCI addresses of ``pf``'s virtual functions (sysfs ``virtfnN`` links)."""
    device = sysfs() / "class" / "net" / pf / "device"
    if not device.exists():
        raise RuntimeFailure(f"physical function {pf} does not exist ({device})")
    links = sorted((p for p in device.iterdir() if p.name.startswith("virtfn")),
                   key=lambda p: int(p.name[6:]) if p.name[6:].isdigit() else 0)
    return [p.resolve().name for p in links]


def _vf_netdevs(pf: str) -> list[str]:
    out = []
    for address in virtual_functions(pf):
        net = sysfs() / "bus" / "pci" / "devices" / address / "net"
        out += sorted(p.name for p in net.iterdir()) if net.is_dir() else []
    return out


def pool(defs: NetworkDef) -> dict:
    """What the network consists of, from the definition (and sysfs for a ``<pf>``)."""
    mode = str(defs.forward_mode)
    fwd = defs.forward
    pfs = [pf.dev for pf in fwd.pfs if pf.dev] if fwd is not None else []
    if mode == T.ForwardMode.BRIDGE:
        name = defs.bridge.name if defs.bridge is not None else None
        vport = defs.virtualport.type if defs.virtualport is not None else None
        return {"mode": mode, "bridge": name, "virtualport": str(vport) if vport else None}
    if mode == T.ForwardMode.HOSTDEV:
        addresses = [_pci(a) for a in fwd.addresses] if fwd is not None else []
        return {"mode": mode, "pci": addresses or [a for pf in pfs for a in
                                                    virtual_functions(pf)], "pf": pfs}
    devs = [i.dev for i in fwd.interfaces if i.dev] if fwd is not None else []
    if not devs and fwd is not None and fwd.dev:
        devs = [fwd.dev]
    return {"mode": mode, "interfaces": devs or [d for pf in pfs for d in _vf_netdevs(pf)],
            "pf": pfs}


def _ovs(netns: str | None, bridge: str) -> tuple[bool | None, str]:
    """Whether ``bridge`` is an Open vSwitch bridge (None: Open vSwitch is not installed), and
    why not.  ``ovs-vsctl`` finds the database as usual (``$OVS_RUNDIR``, else /run)."""
    binary = shutil.which("ovs-vsctl")
    if binary is None:
        return None, ""
    if bridge.startswith("-"):   # would be read as an option
        return False, f"{bridge} is not an Open vSwitch bridge"
    proc = NS.run([binary, "--timeout=5", "br-exists", bridge], netns=netns, timeout=10,
                  check=False)
    if proc.returncode == 0:
        return True, ""
    if proc.returncode == 2:   # ovs-vsctl: "the bridge does not exist"
        return False, f"{bridge} is not an Open vSwitch bridge"
    detail = (proc.stderr or proc.stdout).strip().splitlines()
    return False, (f"Open vSwitch does not answer, so {bridge} cannot be checked "
                   f"(ovs-vsctl br-exists: {detail[-1] if detail else f'exit {proc.returncode}'})")


def _bridge_problems(record: dict, found: dict) -> list[str]:
    netns, br = record["netns"], found["bridge"]
    if not br:
        return ["no <bridge name>: a bridge-mode network names an existing host bridge"]
    if NS.link_index(netns, br) is None:
        return [f"host bridge {br} does not exist"]
    if found.get("virtualport") == "openvswitch":
        ovs, why = _ovs(netns, br)
        found["note"] = ("Open vSwitch is not installed (no ovs-vsctl): the bridge exists, "
                         "its Open vSwitch membership is not checked") if ovs is None else None
        return [why] if why else []
    if not _is_bridge(netns, br):
        return [f"{br} is not a bridge"]
    return []


def _is_bridge(netns: str | None, name: str) -> bool:
    from netupdate.live.embedded.runtime import bridge as BR
    ipr = NS.iproute(netns)
    try:
        return (BR.read(ipr, name) or {}).get("kind") == "bridge"
    finally:
        ipr.close()


def problems(record: dict, found: dict) -> list[str]:
    """What is missing of the pool ``found`` (a ``pool()`` result)."""
    if found["mode"] == T.ForwardMode.BRIDGE:
        return _bridge_problems(record, found)
    if found["mode"] == T.ForwardMode.HOSTDEV:
        if not found["pci"]:
            return ["the pool is empty: no <address> and no virtual function of a <pf>"]
        root = sysfs() / "bus" / "pci" / "devices"
        return [f"PCI device {a} does not exist" for a in found["pci"]
                if not (root / a).exists()]
    if not found["interfaces"]:
        return ["the pool is empty: no <interface>, no <forward dev> and no <pf>"]
    return [f"interface {dev} does not exist" for dev in found["interfaces"]
            if NS.link_index(record["netns"], dev) is None]


def start(driver, name: str, defs: NetworkDef, netns: str | None) -> dict:
    """Check the devices and record them; nothing is created."""
    record = {"version": 1, "name": name, "netns": netns,
              "uuid": str(defs.uuid) if defs.uuid else None,
              "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
              "bridge": {"name": None, "created": False}, "addresses": [], "routes": [],
              "sysctls": False, "firewall": None, "dnsmasq": None, "dir": None}
    refresh(record, defs)
    driver.store.write_record(name, record)
    return record


def refresh(record: dict, defs: NetworkDef) -> bool:
    """Re-read the pool from ``defs``, check it, record it; raises when a device is missing."""
    found = pool(defs)
    bad = problems(record, found)
    if bad:
        raise RuntimeFailure(f"{found['mode']} network: " + "; ".join(bad))
    changed = record.get("pool") != found
    record["pool"] = found
    record["bridge"]["name"] = found.get("bridge")
    return changed


def reconcile(store, name: str, record: dict, defs: NetworkDef) -> dict:
    """Repair and rollback: the pool of ``defs``, checked and recorded."""
    refresh(record, defs)
    store.write_record(name, record)
    return record


def inspect(record: dict) -> dict:
    out = {"netns": record.get("netns"), "bridge": None, "dnsmasq": None, "firewall": None,
           "pool": record["pool"], "problems": []}
    if record.get("netns") is not None and not NS.exists(record["netns"]):
        out["problems"].append(f"namespace {record['netns']} is gone")
        return out
    found = dict(record["pool"])
    out["problems"] = problems(record, found)
    if found.get("note"):
        out["notes"] = [found["note"]]
    return out


def verify(record: dict, defs: NetworkDef, error) -> list[str]:
    want = pool(defs)
    if {k: v for k, v in record["pool"].items() if k != "note"} != \
            {k: v for k, v in want.items() if k != "note"}:
        raise error("device pool", f"recorded {record['pool']}, the definition has {want}")
    bad = problems(record, dict(want))
    if bad:
        raise error("device pool", "; ".join(bad))
    return ["device pool"]
