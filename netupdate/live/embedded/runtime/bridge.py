"""The network's bridge, through netlink (pyroute2).  Every function takes an ``IPRoute``
(``netns.iproute(name)``) so the same code works in the host and in any namespace."""

from __future__ import annotations

import errno
import ipaddress

from netupdate.errors import RuntimeFailure

USER_HZ = 100  # IFLA_BR_FORWARD_DELAY is in clock ticks
IFA_F_NODAD = 0x02


def _fail(what: str, exc: Exception) -> RuntimeFailure:
    return RuntimeFailure(f"{what}: {exc}")


def index(ipr, name: str) -> int | None:
    found = ipr.link_lookup(ifname=name)
    return found[0] if found else None


def _need(ipr, name: str) -> int:
    idx = index(ipr, name)
    if idx is None:
        raise RuntimeFailure(f"bridge {name} does not exist")
    return idx


def _set(ipr, name: str, what: str, **settings) -> None:
    """Change link settings of ``name``; a netlink refusal is a ``RuntimeFailure`` saying
    ``what`` could not be done."""
    try:
        ipr.link("set", index=_need(ipr, name), **settings)
    except RuntimeFailure:
        raise
    except Exception as exc:  # pyroute2 NetlinkError and friends
        raise _fail(f"cannot {what}", exc) from None


def create(ipr, name: str, *, mtu: int | None = None, mac: str | None = None,
           stp: bool = True, delay: int = 0) -> int:
    """Create the bridge as libvirt does: MTU, MAC, forward delay (with STP still off, so any
    delay is accepted), then STP.  The link is left down."""
    if index(ipr, name) is not None:
        raise RuntimeFailure(f"cannot create bridge {name}: an interface with that name exists")
    try:
        ipr.link("add", ifname=name, kind="bridge", br_stp_state=0,
                 br_forward_delay=delay * USER_HZ)
        idx = _need(ipr, name)
        settings = {}
        if mtu is not None:
            settings["mtu"] = mtu
        if mac is not None:
            settings["address"] = mac
        if settings:
            ipr.link("set", index=idx, **settings)
        if stp:
            ipr.link("set", index=idx, kind="bridge", br_stp_state=1)
    except RuntimeFailure:
        raise
    except Exception as exc:  # pyroute2 NetlinkError and friends
        raise _fail(f"cannot create bridge {name}", exc) from None
    return idx


def delete(ipr, name: str) -> bool:
    idx = index(ipr, name)
    if idx is None:
        return False
    try:
        ipr.link("del", index=idx)
    except Exception as exc:
        raise _fail(f"cannot delete bridge {name}", exc) from None
    return True


def set_up(ipr, name: str) -> None:
    _set(ipr, name, f"bring {name} up", state="up")


def set_stp(ipr, name: str, on: bool) -> None:
    _set(ipr, name, f"turn STP {'on' if on else 'off'} on {name}", kind="bridge",
         br_stp_state=1 if on else 0)


def set_delay(ipr, name: str, delay: int) -> None:
    """Set the forward delay (seconds).  With STP on, the kernel refuses a delay outside 2..30 s
    (ERANGE); libvirt sets it while STP is off, so do the same for a moment."""
    idx = _need(ipr, name)
    try:
        ipr.link("set", index=idx, kind="bridge", br_forward_delay=delay * USER_HZ)
        return
    except Exception as exc:
        if getattr(exc, "code", None) != errno.ERANGE:
            raise _fail(f"cannot set forward delay {delay} on {name}", exc) from None
    try:
        ipr.link("set", index=idx, kind="bridge", br_stp_state=0)
        ipr.link("set", index=idx, kind="bridge", br_forward_delay=delay * USER_HZ)
        ipr.link("set", index=idx, kind="bridge", br_stp_state=1)
    except Exception as exc:
        raise _fail(f"cannot set forward delay {delay} on {name}", exc) from None


def set_mtu(ipr, name: str, mtu: int) -> None:
    _set(ipr, name, f"set MTU {mtu} on {name}", mtu=mtu)


def set_vlan_filtering(ipr, name: str, on: bool) -> bool:
    """Switch VLAN filtering; False when the kernel has none (CONFIG_BRIDGE_VLAN_FILTERING
    off: then it is off, and asking for on is reported by the caller)."""
    try:
        ipr.link("set", index=_need(ipr, name), kind="bridge", br_vlan_filtering=int(on))
    except RuntimeFailure:
        raise
    except Exception as exc:  # pyroute2 NetlinkError
        if getattr(exc, "code", None) == errno.EOPNOTSUPP:
            return False
        raise _fail(f"cannot turn VLAN filtering {'on' if on else 'off'} on {name}", exc) \
            from None
    return True


def set_mac(ipr, name: str, mac: str) -> None:
    _set(ipr, name, f"set MAC {mac} on {name}", address=mac)


def add_address(ipr, name: str, address: str) -> None:
    """Add ``ip/prefix``; already present is fine.  An IPv6 address skips duplicate address
    detection: the kernel runs it only once the link has carrier, and a bridge without ports
    has none, so the address would stay tentative (unusable: dnsmasq cannot answer on it)."""
    iface = ipaddress.ip_interface(address)
    flags = {"flags": IFA_F_NODAD} if iface.version == 6 else {}
    try:
        ipr.addr("add", index=_need(ipr, name), address=str(iface.ip),
                 prefixlen=iface.network.prefixlen, **flags)
    except RuntimeFailure:
        raise
    except Exception as exc:
        if getattr(exc, "code", None) != errno.EEXIST:
            raise _fail(f"cannot add address {address} to {name}", exc) from None


def del_address(ipr, name: str, address: str) -> None:
    """Remove ``ip/prefix``; already gone is fine."""
    iface = ipaddress.ip_interface(address)
    idx = index(ipr, name)
    if idx is None:
        return
    try:
        ipr.addr("del", index=idx, address=str(iface.ip), prefixlen=iface.network.prefixlen)
    except Exception as exc:
        if getattr(exc, "code", None) not in (errno.EADDRNOTAVAIL, errno.ENOENT, errno.ESRCH):
            raise _fail(f"cannot remove address {address} from {name}", exc) from None


def _route_args(route: dict) -> dict:
    args = {"dst": route["address"], "gateway": route["gateway"]}
    if route.get("metric") is not None:
        args["priority"] = route["metric"]
    return args


def add_route(ipr, route: dict) -> None:
    """``route``: {"address": "net/prefix", "gateway": ip, "metric": int|None}."""
    try:
        ipr.route("add", **_route_args(route))
    except Exception as exc:
        if getattr(exc, "code", None) != errno.EEXIST:
            raise _fail(f"cannot add route {route['address']} via {route['gateway']}", exc) \
                from None


def del_route(ipr, route: dict) -> None:
    try:
        ipr.route("del", **_route_args(route))
    except Exception as exc:
        if getattr(exc, "code", None) not in (errno.ESRCH, errno.ENOENT, errno.ENODEV):
            raise _fail(f"cannot remove route {route['address']}", exc) from None


def read(ipr, name: str) -> dict | None:
    """The bridge's live attributes, or None when it does not exist."""
    idx = index(ipr, name)
    if idx is None:
        return None
    link = ipr.link("get", index=idx)[0]
    data = link.get("IFLA_LINKINFO")
    data = data.get("IFLA_INFO_DATA") if data is not None else None
    if data is None:
        return {"ifindex": idx, "kind": "other"}
    addresses = []
    for msg in ipr.addr("dump", index=idx):
        addr = msg.get("IFA_ADDRESS")
        if addr and not addr.startswith("fe80:"):
            addresses.append(f"{addr}/{msg['prefixlen']}")
    return {
        "ifindex": idx,
        "kind": "bridge",
        "stp": bool(data.get("IFLA_BR_STP_STATE")),
        "delay": (data.get("IFLA_BR_FORWARD_DELAY") or 0) // USER_HZ,
        "mtu": link.get("IFLA_MTU"),
        "mac": link.get("IFLA_ADDRESS"),
        "up": bool(link["flags"] & 1),
        "vlan_filtering": bool(data.get("IFLA_BR_VLAN_FILTERING")),
        "addresses": addresses,
    }


def is_up(ipr, name: str) -> bool | None:
    """Whether link ``name`` is administratively up (None: no such link)."""
    idx = index(ipr, name)
    return None if idx is None else bool(ipr.link("get", index=idx)[0]["flags"] & 1)


def routes(ipr, name: str) -> list[dict]:
    """Gateway routes through the bridge (main table)."""
    idx = index(ipr, name)
    if idx is None:
        return []
    out = []
    for family in (2, 10):
        for msg in ipr.route("dump", family=family, table=254):
            if msg.get("RTA_OIF") != idx or not msg.get("RTA_GATEWAY"):
                continue
            dst = msg.get("RTA_DST") or ("0.0.0.0" if family == 2 else "::")
            out.append({"address": f"{dst}/{msg['dst_len']}", "gateway": msg.get("RTA_GATEWAY"),
                        "metric": msg.get("RTA_PRIORITY")})
    return out
