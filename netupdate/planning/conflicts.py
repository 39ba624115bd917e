"""Conflict pre-flight (issue 16), pure: what a network definition collides with, given the
other networks' definitions and what the namespace already holds (addresses, routes, links).

Each ``Conflict`` names both sides in one line and says whether ``--force`` may override it:
overlaps and duplicate reservations may be intended (a more specific route, a network that
never runs beside the other one); a bridge name owned by a link that is not ours never is.
The problems inside one definition (overlapping ranges, a range over the gateway, two hosts
with one IP) are ``validate``'s semantic rules already (NU-W101, NU-W103, NU-E104).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from netupdate.model import values as T

SUBNET, BRIDGE, MAC, IP = "subnet-overlap", "bridge-in-use", "mac-reserved-twice", \
    "ip-reserved-twice"
NAME = "name-defined-twice"     # two files of one folder (``across_files``)
KINDS = (SUBNET, BRIDGE, MAC, IP, NAME)


@dataclass(frozen=True)
class Conflict:
    kind: str
    message: str
    forcible: bool = True
    # the element XPath of each side (this network's, the other one's) where they are known
    paths: tuple = field(default=(None, None), compare=False)

    def to_json(self) -> dict:
        return {"kind": self.kind, "message": self.message, "forcible": self.forcible}


def subnets(defs) -> list:
    """The subnets of a definition's ``<ip>`` elements (``ipaddress`` networks)."""
    return [net for ip in defs.ips if (net := ip.network) is not None]


def _subnets_at(defs) -> list:
    """``[(element path, subnet)]`` of a definition's ``<ip>`` elements."""
    return [(f"/network/ip[{i}]", net) for i, ip in enumerate(defs.ips, 1)
            if (net := ip.network) is not None]


def _hosts_at(defs) -> list:
    """``[(element path, host)]`` of a definition's DHCP reservations."""
    return [(f"/network/ip[{i}]/dhcp/host[{j}]", host) for i, ip in enumerate(defs.ips, 1)
            for j, host in enumerate(ip.dhcp.hosts if ip.dhcp else (), 1)]


def _bridge(defs) -> str | None:
    """The bridge name a definition asks for (None: none given, the runtime picks one)."""
    return defs.bridge.name if defs.bridge is not None else None


def between(name: str, defs, other_name: str, other) -> list[Conflict]:
    """Conflicts between network ``name`` (``defs``) and another network's definition: an
    overlapping subnet, one bridge name (unless neither network creates it: two ``bridge``
    mode networks may share a host bridge), a MAC or an IP reserved in both."""
    out = []
    for path, mine in _subnets_at(defs):
        for there, theirs in _subnets_at(other):
            if mine.version == theirs.version and mine.overlaps(theirs):
                out.append(Conflict(SUBNET, f"subnet {mine} of network {name} overlaps "
                                    f"subnet {theirs} of network {other_name}",
                                    paths=(path, there)))
    bridge = _bridge(defs)
    if bridge is not None and bridge == _bridge(other) and (
            defs.forward_mode in T.MANAGED_MODES or other.forward_mode in T.MANAGED_MODES):
        out.append(Conflict(BRIDGE, f"bridge name {bridge} of network {name} is also the "
                            f"bridge of network {other_name}", forcible=False,
                            paths=("/network/bridge", "/network/bridge")))
    macs, ips = reserved(other)
    for path, host in _hosts_at(defs):
        if host.mac is not None and host.mac.normalized in macs:
            out.append(Conflict(MAC, f"MAC {host.mac.normalized} is reserved in network "
                                f"{name} and in network {other_name}",
                                paths=(path, macs[host.mac.normalized])))
        if host.ip is not None and host.ip in ips:
            out.append(Conflict(IP, f"IP {host.ip} is reserved in network {name} and in "
                                f"network {other_name}", paths=(path, ips[host.ip])))
    return out


# the sections whose change may add a conflict with another network (its subnets, its DHCP
# reservations; ``network``: a nodeSpec edit of the whole definition)
SECTIONS = frozenset({"network", "ip", "ip-dhcp-host"})


def touches(sections) -> bool:
    """Whether a change of these sections (a ``ChangeSet``'s ``sections``) may bring a new
    conflict with another network."""
    return not SECTIONS.isdisjoint(sections)


def introduced(name: str, before, after, others) -> list[Conflict]:
    """The conflicts between network ``name`` changed from ``before`` (None: a new one) to
    ``after`` and the networks of ``others`` (``(name, NetworkDef)`` pairs) that ``before``
    did not have already: a conflict that was there before the change does not block it."""
    out = []
    for other, theirs in others:
        old = set(between(name, before, other, theirs)) if before is not None else set()
        out.extend(c for c in between(name, after, other, theirs) if c not in old)
    return out


_RESERVED: dict = {}     # id(defs) -> (defs, index): the other networks' are cached defs


def reserved(defs) -> tuple[dict, dict]:
    """``({normalized MAC: element path}, {IP: element path})`` of a definition's DHCP
    reservations (the first host of each), kept for the definition object (a connection's
    cached definitions of its other networks: one index, however many updates)."""
    hit = _RESERVED.get(id(defs))
    if hit is not None and hit[0] is defs:
        return hit[1]
    macs, ips = {}, {}
    for there, host in _hosts_at(defs):
        if host.mac is not None:
            macs.setdefault(host.mac.normalized, there)
        if host.ip is not None:
            ips.setdefault(host.ip, there)
    if len(_RESERVED) >= 64:
        _RESERVED.clear()
    _RESERVED[id(defs)] = (defs, (macs, ips))
    return macs, ips


def introduced_hosts(name: str, changes, others) -> list[Conflict]:
    """``introduced`` for a change of DHCP reservations only, from its ``SectionChange``s of
    section ``ip-dhcp-host`` (cheap: only the hosts added or modified are looked at): a MAC
    or an IP of a host after the change that no host the change removed or modified had,
    reserved in a network of ``others``."""
    had_macs = {c.before.mac.normalized for c in changes
                if c.before is not None and c.before.mac is not None}
    had_ips = {c.before.ip for c in changes if c.before is not None}
    out = []
    for change in changes:
        host = change.after
        if host is None:
            continue
        mac = host.mac.normalized if host.mac is not None else None
        mac = None if mac in had_macs else mac
        ip = None if host.ip in had_ips else host.ip
        for other, theirs in others:
            macs, ips = reserved(theirs)
            if mac is not None and mac in macs:
                out.append(Conflict(MAC, f"MAC {mac} is reserved in network {name} and in "
                                    f"network {other}", paths=(None, macs[mac])))
            if ip is not None and ip in ips:
                out.append(Conflict(IP, f"IP {ip} is reserved in network {name} and in "
                                    f"network {other}", paths=(None, ips[ip])))
    return out


def across(networks: dict) -> list[Conflict]:
    """Every conflict between the networks of ``{name: NetworkDef}`` (each pair once)."""
    names = sorted(networks)
    return [c for i, a in enumerate(names) for b in names[i + 1:]
            for c in between(a, networks[a], b, networks[b])]


def across_files(files: dict) -> list[tuple[str, str, Conflict]]:
    """``[(file, other file, conflict)]`` between the definitions of ``{file: NetworkDef}``
    (a folder of definitions: ``netupdate validate DIR``), each pair once in file order; two
    files defining one network name are a conflict too (the second would replace the first)."""
    labels = sorted(files)
    out = []
    for i, a in enumerate(labels):
        for b in labels[i + 1:]:
            mine, theirs = files[a], files[b]
            name, other = mine.name or a, theirs.name or b
            if mine.name is not None and mine.name == theirs.name:
                out.append((a, b, Conflict(NAME, f"network name {name} is defined in two files",
                                           forcible=False, paths=("/network/name",) * 2)))
            out.extend((a, b, c) for c in between(name, mine, other, theirs))
    return out


def in_namespace(name: str, defs, bridge: str, addresses, routes, links, *,
                 where: str = "the namespace", owners: dict | None = None) -> list[Conflict]:
    """Conflicts of network ``name`` (bridge ``bridge``) with what a namespace holds:
    ``addresses`` ``[(ifname, "ip/prefix")]``, ``routes`` ``[(ifname, "dst/prefix")]``
    (default routes are skipped: every subnet is inside one) and ``links`` (names);
    ``owners`` names the network of a bridge another network of ours runs."""
    owners = owners or {}
    out = []
    # only a managed network creates its bridge (mode bridge uses an existing one by name)
    if bridge in links and defs.forward_mode in T.MANAGED_MODES:
        out.append(Conflict(BRIDGE, f"bridge name {bridge} of network {name} is already used "
                            f"by a link in {where} that is not this network's", forcible=False))
    seen = set()
    for mine in subnets(defs):
        for kind, items in (("address", addresses), ("route", routes)):
            for ifname, text in items:
                if ifname == bridge:
                    continue
                theirs = ipaddress.ip_interface(text).network
                if theirs.prefixlen == 0 or theirs.version != mine.version \
                        or not mine.overlaps(theirs) or (mine, ifname, theirs) in seen:
                    continue
                seen.add((mine, ifname, theirs))
                whose = f" (network {owners[ifname]})" if ifname in owners else ""
                out.append(Conflict(SUBNET, f"subnet {mine} of network {name} overlaps "
                                    f"{kind} {text} of {ifname}{whose} in {where}"))
    return out


def refusal(conflicts: list[Conflict], force: bool) -> str | None:
    """The one line refusing a change, or None when nothing (left after ``force``) blocks."""
    blocking = [c for c in conflicts if not (force and c.forcible)]
    if not blocking:
        return None
    first = blocking[0]
    more = f" (and {len(blocking) - 1} more)" if len(blocking) > 1 else ""
    hint = " (--force overrides it)" if first.forcible else ""
    return f"conflict: {first.message}{more}{hint}"
