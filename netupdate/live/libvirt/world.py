"""Issue 16 on the libvirt backend: the leases libvirt reports (virNetworkGetDHCPLeases),
classified against the live definition; on a local daemon the holders' presence is probed on
libvirt's bridge in the kernel (``runtime.leases``), elsewhere it is unknown and no lease is
called stale."""

from __future__ import annotations

import ipaddress

from netupdate.errors import StateError, UnsupportedError
from netupdate.live.world import LeaseInfo
from netupdate.model import leases as L


def _leases(conn, net) -> list[L.Lease]:
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


def _presence(conn, net, found: list[L.Lease]) -> dict:
    if not conn.local or not found:
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
    found = _leases(conn, net)
    reserved = L.reservations(load(net.XMLDesc(0)).defs)
    present = _presence(conn, net, found)
    return [LeaseInfo(str(lease.ip), lease.mac, lease.hostname, lease.expiry,
                      L.classify(lease, reserved, present.get(lease.ip)), lease.client_id,
                      present.get(lease.ip)) for lease in found]
