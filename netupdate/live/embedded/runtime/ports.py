"""The bridge's ports (the guests' taps and veths), through netlink.

``snapshot`` records every port of a bridge with its port settings before a network restart
tears the bridge down (deleting a bridge releases its ports: the links stay, detached);
``reattach`` plugs them into the new bridge with the same settings, so guests come back without
anyone re-plugging them.  ``set_isolated`` switches ``<port isolated>`` on every attached port.
"""

from __future__ import annotations

from netupdate.errors import RuntimeFailure

# bridge port settings carried over a restart (IFLA_BRPORT_*, as pyroute2's brport names them)
SETTINGS = ("isolated", "learning", "unicast_flood", "cost", "priority", "hairpin_mode")


def _index(ipr, name: str) -> int | None:
    found = ipr.link_lookup(ifname=name)
    return found[0] if found else None


def _settings(link) -> dict:
    data = link.get_nested("IFLA_LINKINFO", "IFLA_INFO_SLAVE_DATA")
    if data is None:
        return {}
    out = {}
    for key in SETTINGS:
        value = data.get("IFLA_BRPORT_" + key.upper())
        if value is not None:
            out[key] = int(value)
    return out


def snapshot(ipr, bridge: str) -> list[dict]:
    """``[{"name", "settings": {...}}]`` for every port of ``bridge`` (empty: no bridge)."""
    idx = _index(ipr, bridge)
    if idx is None:
        return []
    ports = []
    for link in ipr.get_links():
        if link.get("master") == idx and link.get("index") != idx:
            ports.append({"name": link.get("ifname"), "settings": _settings(link)})
    return sorted(ports, key=lambda p: p["name"])


def reattach(ipr, bridge: str, ports: list[dict]) -> list[str]:
    """Plug ``ports`` (from ``snapshot``) into ``bridge`` again with their settings; returns
    the names plugged (a port that went away meanwhile is skipped)."""
    idx = _index(ipr, bridge)
    if idx is None:
        raise RuntimeFailure(f"cannot re-attach ports: bridge {bridge} does not exist")
    done = []
    for port in ports:
        pidx = _index(ipr, port["name"])
        if pidx is None:
            continue
        try:
            ipr.link("set", index=pidx, master=idx)
            if port.get("settings"):
                ipr.brport("set", index=pidx, **port["settings"])
            ipr.link("set", index=pidx, state="up")
        except Exception as exc:  # noqa: BLE001 - pyroute2 NetlinkError
            raise RuntimeFailure(f"cannot re-attach {port['name']} to {bridge}: {exc}") \
                from None
        done.append(port["name"])
    return done


def attached(ipr, bridge: str) -> dict[str, dict]:
    """{port name: settings} of the ports ``bridge`` has now."""
    return {p["name"]: p["settings"] for p in snapshot(ipr, bridge)}


def set_all(ipr, bridge: str, **settings: int) -> list[str]:
    """Give every port of ``bridge`` these settings; returns the ports changed."""
    changed = []
    for port in snapshot(ipr, bridge):
        if all(port["settings"].get(k) == v for k, v in settings.items()):
            continue
        try:
            ipr.brport("set", index=_index(ipr, port["name"]), **settings)
        except Exception as exc:  # noqa: BLE001
            raise RuntimeFailure(f"cannot set {settings} on {port['name']}: {exc}") from None
        changed.append(port["name"])
    return changed


def set_isolated(ipr, bridge: str, on: bool) -> list[str]:
    """Switch isolation on every port of ``bridge``; returns the ports changed."""
    return set_all(ipr, bridge, isolated=int(on))


def wrong(ipr, bridge: str, **settings: int) -> list[str]:
    """The ports of ``bridge`` whose settings differ from ``settings``."""
    return [name for name, have in attached(ipr, bridge).items()
            if any(have.get(k) != v for k, v in settings.items())]
