"""Live steps beyond addresses, routes, STP and dnsmasq (issue 17): the bridge MAC, network
QoS (``shaping``), port isolation (``ports``), and a network restart that brings the guests
back (the bridge's ports are recorded before the teardown and re-attached after).

Each kind has an apply step (``apply``), a repair step used by rollback and reconcile
(``reconcile``: whatever the bridge looks like, make it match the definition) and a check
(``verify``).  The driver calls these three; it keeps none of this knowledge itself.
"""

from __future__ import annotations

from netupdate.live.embedded.runtime import bridge as BR
from netupdate.live.embedded.runtime import ports as PORTS
from netupdate.live.embedded.runtime import shaping as QOS
from netupdate.model.defs import NetworkDef

KINDS = frozenset({"bridge-mac", "bridge-mac-table", "bridge-bandwidth",
                   "bridge-port-isolated", "device-pool"})


def _note(record: dict, key: str, missing: list[str]) -> None:
    """Record what this kernel cannot do for ``key`` (no key at all when it can do it all, so
    a record reads the same before and after a repair)."""
    if missing:
        record[key] = {"missing": missing}
    else:
        record.pop(key, None)


def _isolated(defs: NetworkDef) -> bool:
    return defs.port_isolated is True


def _libvirt_fdb(defs: NetworkDef) -> bool:
    """macTableManager='libvirt': the bridge filters VLANs, its ports neither learn nor flood
    (libvirt's networkStartNetworkVirtual and its port plugging)."""
    return defs.bridge is not None and str(defs.bridge.mac_table_manager or "") == "libvirt"


def mac_table(driver, record: dict, defs: NetworkDef) -> None:
    ipr, br = driver.ipr(record["netns"]), record["bridge"]["name"]
    on = _libvirt_fdb(defs)
    supported = BR.set_vlan_filtering(ipr, br, on)
    _note(record, "mac_table", [] if supported or not on else ["vlan_filtering"])
    PORTS.set_all(ipr, br, learning=int(not on), unicast_flood=int(not on))


def start(driver, record: dict, defs: NetworkDef) -> None:
    """What start sets beyond the bridge basics: QoS, and the MAC table manager."""
    if defs.bandwidth is not None:
        shape(driver, record, defs)
    if _libvirt_fdb(defs):
        mac_table(driver, record, defs)


def shape(driver, record: dict, defs: NetworkDef) -> None:
    """Set the bridge's QoS from the definition; what this kernel lacks is recorded."""
    missing = QOS.apply(driver.ipr(record["netns"]), record["bridge"]["name"], defs.bandwidth)
    _note(record, "shaping", missing)


def apply(driver, record: dict, after: NetworkDef, kind: str, detail) -> bool:
    """Run one step of ``KINDS``; returns whether the runtime record changed."""
    if kind == "device-pool":
        from netupdate.live.embedded.runtime import devices as DEV
        return DEV.refresh(record, after) if record.get("pool") is not None else False
    ipr, br = driver.ipr(record["netns"]), record["bridge"]["name"]
    if kind == "bridge-mac":
        if detail.get("mac"):
            BR.set_mac(ipr, br, str(detail["mac"]))
        return False
    if kind == "bridge-bandwidth":
        before = record.get("shaping")
        shape(driver, record, after)
        return before != record.get("shaping")
    if kind == "bridge-port-isolated":
        PORTS.set_isolated(ipr, br, _isolated(after))
        return False
    if kind == "bridge-mac-table":
        mac_table(driver, record, after)
        return False
    raise ValueError(kind)


def reconcile(driver, record: dict, defs: NetworkDef) -> None:
    """Make MAC, QoS and port isolation match ``defs`` (rollback, repair)."""
    ipr, br = driver.ipr(record["netns"]), record["bridge"]["name"]
    state = BR.read(ipr, br) or {}
    if defs.mac is not None and str(state.get("mac", "")).lower() != str(defs.mac).lower():
        BR.set_mac(ipr, br, str(defs.mac.normalized))
    missing = (record.get("shaping") or {}).get("missing", ())
    if QOS.mismatches(ipr, br, defs.bandwidth, missing):
        shape(driver, record, defs)
    PORTS.set_isolated(ipr, br, _isolated(defs))
    mac_table(driver, record, defs)


def verify(driver, record: dict, defs: NetworkDef, kinds, error) -> list[str]:
    """Check what the steps in ``kinds`` touched (all of it after a restart); raises
    ``error(check, detail)``."""
    full = "network-restart" in kinds
    ipr, br = driver.ipr(record["netns"]), record["bridge"]["name"]
    done = []
    if (full or "bridge-mac" in kinds) and defs.mac is not None:
        mac = (BR.read(ipr, br) or {}).get("mac")
        if str(mac).lower() != str(defs.mac).lower():
            raise error("bridge MAC", f"{br} has {mac}, expected {defs.mac}")
        done.append("bridge MAC")
    if full or "bridge-bandwidth" in kinds:
        bad = QOS.mismatches(ipr, br, defs.bandwidth,
                             (record.get("shaping") or {}).get("missing", ()))
        if bad:
            raise error("bandwidth", "; ".join(bad))
        done.append("bandwidth")
    if full or "bridge-port-isolated" in kinds:
        want = int(_isolated(defs))
        wrong = [name for name, settings in PORTS.attached(ipr, br).items()
                 if settings.get("isolated", 0) != want]
        if wrong:
            raise error("port isolation", f"{', '.join(wrong)} not isolated={bool(want)}")
        done.append("port isolation")
    if full or "bridge-mac-table" in kinds:
        on = _libvirt_fdb(defs)
        state = BR.read(ipr, br) or {}
        bad = PORTS.wrong(ipr, br, learning=int(not on), unicast_flood=int(not on))
        filtering = on and not (record.get("mac_table") or {}).get("missing")
        if bool(state.get("vlan_filtering")) != filtering or bad:
            raise error("MAC table", f"{br}: VLAN filtering {state.get('vlan_filtering')}, "
                                     f"ports learning/flooding wrong: {', '.join(bad) or '-'}")
        done.append("MAC table")
    if full and record.get("reattached"):
        have = PORTS.attached(ipr, br)
        lost = [name for name in record["reattached"] if name not in have]
        if lost:
            raise error("ports", f"not re-attached to {br}: {', '.join(lost)}")
        done.append("ports re-attached: " + ", ".join(record["reattached"]))
    return done


def restart(driver, name: str, record: dict, after: NetworkDef) -> dict:
    """Stop and start the network, then plug the bridge's former ports into the new bridge
    with their settings (``record["reattached"]`` names them)."""
    from netupdate.errors import RuntimeFailure
    netns = record["netns"]
    guests = PORTS.snapshot(driver.ipr(netns), record["bridge"]["name"]) \
        if record["bridge"].get("created") else []
    problems = driver.teardown(record)
    if problems:
        raise RuntimeFailure("stopping for the restart failed: " + "; ".join(problems))
    driver.store.delete_record(name)
    record = driver.start(name, after, netns=netns)
    if guests and record["bridge"].get("created"):   # a host-device network has no bridge
        record["reattached"] = PORTS.reattach(driver.ipr(netns), record["bridge"]["name"],
                                              guests)
        PORTS.set_isolated(driver.ipr(netns), record["bridge"]["name"], _isolated(after))
        mac_table(driver, record, after)
        driver.store.write_record(name, record)
    return record
