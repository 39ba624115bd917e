"""Issue 16 on the libvirt backend: the leases libvirt reports (virNetworkGetDHCPLeases),
classified against the live definition; on a local daemon (as root) the holders' presence is
probed on libvirt's bridge in the kernel (``runtime.leases``), elsewhere it is unknown and no
lease is called stale.  What an update does to them: ``guests``."""

from __future__ import annotations

import ipaddress
import os

from netupdate.errors import StateError, UnsupportedError
from netupdate.live.world import LeaseInfo
from netupdate.model import leases as L


def reported(conn, net) -> list[L.Lease]:
    """The leases libvirt reports for running network ``net`` (``UnsupportedError`` when its
    driver reports none)."""
    lv = __import__("libvirt")
    try:
        rows = net.DHCPLeases()
    except lv.libvirtError as exc:
        if exc.get_error_code() in (lv.VIR_ERR_NO_SUPPORT, lv.VIR_ERR_OPERATION_UNSUPPORTED):
            raise UnsupportedError(f"the libvirt backend cannot read leases on {conn.uri}: "
                                   f"{exc.get_error_message()}") from None
        raise
    out = []
    for row in rows:
        try:
            ip = ipaddress.ip_address(row.get("ipaddr", ""))
        except ValueError:
            continue
        iaid = row.get("iaid")
        out.append(L.Lease(ip, (row.get("mac") or "").lower() or None,
                           int(row.get("expirytime") or 0), row.get("hostname") or None,
                           row.get("clientid") or None,
                           int(iaid) if iaid and str(iaid).isdigit() else None))
    return out


def presence(conn, net, found: list[L.Lease]) -> dict:
    """``{lease ip: holder present}``, probed on a local daemon's bridge (else empty: not
    probed; so without root, whose ARP/NDP probes would fail as if nobody answered)."""
    if not conn.local or not found or os.geteuid() != 0:
        return {}
    from netupdate.live.embedded.runtime import leases as RL
    from netupdate.live.embedded.runtime import netns as NS
    ipr = NS.iproute(conn.netns)
    try:
        return RL.presence(ipr, net.bridgeName(), conn.netns, found)
    finally:
        ipr.close()


def leases(conn, name: str) -> list[LeaseInfo]:
    """The leases of libvirt network ``name`` with their status."""
    from netupdate.model.defs import load
    net = conn._lookup(name)
    if not net.isActive():
        raise StateError(f"network '{name}' is not running")
    found = reported(conn, net)
    reserved = L.reservations(load(net.XMLDesc(0)).defs)
    present = presence(conn, net, found)
    return [LeaseInfo(str(lease.ip), lease.mac, lease.hostname, lease.expiry,
                      L.classify(lease, reserved, present.get(lease.ip)), lease.client_id,
                      present.get(lease.ip)) for lease in found]


# ---------------------------------------------------------------------- conflict pre-flight
def _refuse(found, force: bool) -> None:
    from netupdate.errors import ConflictError
    from netupdate.planning.conflicts import refusal
    line = refusal(found, force)
    if line is not None:
        raise ConflictError(line)


def _running(conn, name: str) -> dict:
    """The live definitions of the daemon's other running networks."""
    from netupdate.model.defs import load
    return {net.name(): load(conn._call(f"network {net.name()!r}", net.XMLDesc, 0)).defs
            for net in conn._call("cannot list networks", conn._conn.listAllNetworks, 0)
            if net.name() != name and net.isActive()}


def preflight_define(conn, xml, force: bool):
    """The parsed definition, once it collides with no running network of the daemon (an
    overlapping subnet, a MAC or IP reserved there too; ``ConflictError`` unless ``force``),
    as on the embedded runtime: networks that are only defined may overlap."""
    from netupdate.model.defs import load
    from netupdate.planning import conflicts as C
    network = load(xml)
    defs = network.defs
    _refuse([c for other, theirs in _running(conn, defs.name).items()
             for c in C.between(defs.name, defs, other, theirs)], force)
    return network


def preflight_change(conn, name: str, before: str | None, after: str, changes,
                     force: bool) -> None:
    """Refuse an update or apply of ``name`` (its XML ``before`` and ``after``; ``changes``:
    the ``ChangeSet`` between them) that brings a conflict with another running network of
    the daemon which ``before`` did not have already (only a change of subnets or
    reservations can)."""
    from netupdate.model.defs import load
    from netupdate.planning import conflicts as C
    if not C.touches(changes.sections):
        return
    others = _running(conn, name)
    if not others:
        return
    if set(changes.sections) == {"ip-dhcp-host"}:
        _refuse(C.introduced_hosts(name, changes, others.items()), force)
        return
    _refuse(C.introduced(name, load(before).defs if before is not None else None,
                         load(after).defs, others.items()), force)


def preflight_start(conn, net, force: bool):
    """``net`` once its subnets overlap no running network of the daemon and, on a local
    daemon, no address or route of the host (libvirt itself only says "Network is already in
    use by interface" for some of these); a running network is libvirt's to refuse."""
    from netupdate.model.defs import load
    from netupdate.planning import conflicts as C
    if conn._call(f"network {net.name()!r}", net.isActive):
        return net
    name = net.name()
    defs = load(conn._persistent_xml(net)[0]).defs
    found = [c for other, theirs in _running(conn, name).items()
             for c in C.between(name, defs, other, theirs)]
    if conn.local and not found:
        from netupdate.live.embedded.runtime import kernel
        from netupdate.live.embedded.runtime import netns as NS
        ipr = NS.iproute(conn.netns)
        try:
            addresses, routes, links = kernel.holdings(ipr)
        finally:
            ipr.close()
        bridge = defs.bridge.name if defs.bridge is not None else None
        found = C.in_namespace(name, defs, bridge or "", addresses, routes,
                               links if bridge else set(), where="the host")
    _refuse(found, force)
    return net


# ---------------------------------------------------------------------- drift check
def check(conn, name: str, *, repair: bool = False):
    """libvirt's live vs persistent XML and, on a local daemon, the kernel state of its bridge
    (STP, delay, MTU, MAC, addresses, up) against the live XML.  ``repair`` (``repair``
    module) sets the bridge back to what libvirt sets, then applies the persistent definition
    to the running network through the live plan, unless only a restart would."""
    from netupdate.live.world import CheckResult, definition_drift
    net = conn._lookup(name)
    if not net.isActive():
        return CheckResult(name, running=False)
    persistent, exact = conn._persistent_xml(net)  # not exact: the live one stands in
    before = definition_drift(conn, name) if exact else []
    result = CheckResult(name, drift=before + _kernel(conn, net))
    if not repair or not result.drift:
        return result
    from netupdate.live.libvirt import repair as R
    if len(result.drift) > len(before):
        result.notes += R.bridge(conn, net.bridgeName(), _live(conn, net))
        after = _kernel(conn, net)
        result.repaired = [d.to_text() for d in result.drift[len(before):] if d not in after]
    if before:
        done, text = R.redefine(conn, name, persistent)
        (result.repaired if done else result.notes).append(text)
    result.remaining = (definition_drift(conn, name) if exact else []) + _kernel(conn, net)
    return result


def _live(conn, net):
    from netupdate.model.defs import load
    return load(conn._call(f"network {net.name()!r}", net.XMLDesc, 0)).defs


def _kernel(conn, net) -> list:
    """The drift of libvirt's bridge in the kernel from the live definition (a local daemon's
    only: a remote one's kernel is not ours to read)."""
    if not conn.local:
        return []
    from netupdate.live.embedded.runtime import bridge as BR
    from netupdate.live.embedded.runtime import drift as D
    from netupdate.live.embedded.runtime import netns as NS
    from netupdate.live.world import Drift
    bridge = net.bridgeName()
    ipr = NS.iproute(conn.netns)
    try:
        return [Drift(*item) for item in D.bridge_drift(BR.read(ipr, bridge), _live(conn, net),
                                                        bridge)]
    finally:
        ipr.close()
