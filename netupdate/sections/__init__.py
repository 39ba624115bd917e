"""libvirt's update sections, and the shape of the network document the update engine relies on.

A *section* is what ``virsh net-update`` calls the part of a network being edited: a name
(``ip-dhcp-host``), libvirt's numeric code (``VIR_NETWORK_SECTION_IP_DHCP_HOST`` = 4), the element
it addresses (``/network/ip/dhcp/host``) and the typed definition of that element.  Two pseudo
sections have no libvirt code: ``dns`` (the ``<dns>`` element itself: its attributes and
forwarders) and ``network`` (everything else: ``<mtu>``, ``<mac>``, ``<name>``, ``<route>``, ...).

``section_of(element)`` tells which section an arbitrary element of a document belongs to: the
section of its nearest ancestor-or-self that a section addresses (``<tftp>`` -> ``ip``,
``<lease>`` of a DHCP host -> ``ip-dhcp-host``, ``<forwarder>`` -> ``dns``, ``<mtu>`` ->
``network``).

``CHILDREN`` describes which children each element may have (once or repeated) in libvirt's
element order; the engine uses it to place new elements and to refuse misplaced ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from netupdate.errors import UnsupportedError
from netupdate.model import defs as M
from netupdate.model import values as T

DNSMASQ_OPTIONS = f"{{{M.DNSMASQ_NS}}}options"
DNSMASQ_OPTION = f"{{{M.DNSMASQ_NS}}}option"

ONE, MANY = "one", "many"

# Allowed children per element *context* (see ``context_of``), in libvirt's order.
CHILDREN: Mapping[str, Mapping[str, str]] = {
    "network": {tag: (MANY if tag in ("ip", "route", "portgroup") else ONE)
                for tag in M.NETWORK_CHILD_ORDER},
    "forward": {"driver": ONE, "nat": ONE, "pf": ONE, "interface": MANY, "address": MANY},
    "nat": {"address": ONE, "port": ONE},
    "dns": {"forwarder": MANY, "txt": MANY, "srv": MANY, "host": MANY},
    "dns/host": {"hostname": MANY},
    "ip": {"tftp": ONE, "dhcp": ONE},
    "dhcp": {"range": MANY, "host": MANY, "bootp": ONE},
    "dhcp/host": {"lease": ONE},
    "range": {"lease": ONE},
    "portgroup": {"virtualport": ONE, "vlan": ONE, "bandwidth": ONE},
    "virtualport": {"parameters": ONE},
    "bandwidth": {"inbound": ONE, "outbound": ONE},
    "vlan": {"tag": MANY},
    DNSMASQ_OPTIONS: {DNSMASQ_OPTION: MANY},
}
# Children of <metadata> are free-form (any namespaced element).
FREE_FORM = frozenset({"metadata"})

# Typed definition of an element, by context.
DEFS: Mapping[str, type] = {
    "network": M.NetworkDef, "bridge": M.BridgeDef, "domain": M.DomainDef, "ip": M.IpDef,
    "dhcp": M.DhcpDef, "dhcp/host": M.DhcpHost, "range": M.DhcpRange, "lease": M.Lease,
    "bootp": M.Bootp, "forward": M.ForwardDef, "interface": M.ForwardInterface,
    "pf": M.ForwardPf, "forward/address": M.PciAddress, "nat": M.NatDef,
    "nat/address": M.NatAddress, "nat/port": M.NatPort, "portgroup": M.Portgroup,
    "virtualport": M.VirtualPort, "bandwidth": M.Bandwidth, "inbound": M.BandwidthRate,
    "outbound": M.BandwidthRate, "vlan": M.Vlan, "tag": M.VlanTag, "dns": M.DnsDef,
    "forwarder": M.Forwarder, "txt": M.DnsTxt, "srv": M.DnsSrv, "dns/host": M.DnsHost,
    "route": M.RouteDef,
}

_QUALIFIED = {"host": ("dns", "dhcp"), "address": ("forward", "nat"), "port": ("nat",)}


def context_of(element) -> str:
    """The element's tag, qualified by its parent where a tag means two things
    (``dns/host`` vs ``dhcp/host``, ``forward/address`` vs ``nat/address``, ``nat/port``)."""
    tag = element.tag
    parents = _QUALIFIED.get(tag) if isinstance(tag, str) else None
    if parents:
        parent = element.getparent()
        if parent is not None and parent.tag in parents:
            return f"{parent.tag}/{tag}"
    return tag


def child_context(parent, tag: str) -> str:
    """The context a child ``tag`` would have under ``parent``."""
    parents = _QUALIFIED.get(tag)
    return f"{parent.tag}/{tag}" if parents and parent.tag in parents else tag


@dataclass(frozen=True)
class Section:
    """One update section."""

    name: str
    code: int | None            # libvirt's VIR_NETWORK_SECTION_* value; None for pseudo sections
    tags: tuple[str, ...]       # element tags from <network> down to the element
    def_cls: type
    repeated: bool              # several elements of this section may exist side by side
    libvirt: frozenset[str]     # commands libvirt 9.0 implements for the section
    key: tuple[str, ...] = ()   # attributes that identify an element (documentation)

    @property
    def tag(self) -> str:
        return self.tags[-1]

    @property
    def path(self) -> str:
        return "/" + "/".join(self.tags)

    @property
    def container(self) -> tuple[str, ...]:
        """Tags from <network> to the element's parent."""
        return self.tags[:-1]

    @property
    def pseudo(self) -> bool:
        return self.code is None

    def __str__(self) -> str:
        return self.name


_ADD_DEL = T.ADD_COMMANDS | {T.Command.DELETE}
_ALL = frozenset(T.Command)

SECTIONS: tuple[Section, ...] = (
    Section("bridge", 1, ("network", "bridge"), M.BridgeDef, False, frozenset()),
    Section("domain", 2, ("network", "domain"), M.DomainDef, False, frozenset()),
    Section("ip", 3, ("network", "ip"), M.IpDef, True, frozenset(), ("address",)),
    Section("ip-dhcp-host", 4, ("network", "ip", "dhcp", "host"), M.DhcpHost, True, _ALL,
            ("mac", "name", "ip")),
    Section("ip-dhcp-range", 5, ("network", "ip", "dhcp", "range"), M.DhcpRange, True,
            _ADD_DEL, ("start", "end")),
    Section("forward", 6, ("network", "forward"), M.ForwardDef, False, frozenset()),
    Section("forward-interface", 7, ("network", "forward", "interface"), M.ForwardInterface,
            True, _ADD_DEL, ("dev",)),
    Section("forward-pf", 8, ("network", "forward", "pf"), M.ForwardPf, False, frozenset(),
            ("dev",)),
    Section("portgroup", 9, ("network", "portgroup"), M.Portgroup, True, _ALL, ("name",)),
    Section("dns-host", 10, ("network", "dns", "host"), M.DnsHost, True, _ADD_DEL,
            ("ip", "hostname")),
    Section("dns-txt", 11, ("network", "dns", "txt"), M.DnsTxt, True, _ADD_DEL, ("name",)),
    Section("dns-srv", 12, ("network", "dns", "srv"), M.DnsSrv, True, _ADD_DEL,
            ("service", "protocol", "domain", "target")),
    Section("dns", None, ("network", "dns"), M.DnsDef, False, frozenset()),
    Section("network", None, ("network",), M.NetworkDef, False, frozenset()),
)

BY_NAME: Mapping[str, Section] = {s.name: s for s in SECTIONS}
BY_CODE: Mapping[int, Section] = {s.code: s for s in SECTIONS if s.code is not None}
BY_TAGS: Mapping[tuple[str, ...], Section] = {s.tags: s for s in SECTIONS}
# libvirt's virsh spelling of each code, for messages
LIBVIRT_NAMES = {s.code: s.name for s in SECTIONS if s.code is not None}


def get(section) -> Section:
    """A section by name (``ip-dhcp-host``; case and ``_`` vs ``-`` do not matter), by libvirt's
    numeric code (``4`` or ``"4"``), or a ``Section`` itself."""
    if isinstance(section, Section):
        return section
    if isinstance(section, bool):
        raise UnsupportedError(f"unknown section {section!r}")
    if isinstance(section, int):
        found = BY_CODE.get(section)
        if found is None:
            raise UnsupportedError(f"can't update unrecognized section of network (code {section})")
        return found
    if isinstance(section, str):
        text = section.strip()
        if text.isdigit():
            return get(int(text))
        found = BY_NAME.get(text.lower().replace("_", "-"))
        if found is not None:
            return found
    names = ", ".join(s.name for s in SECTIONS)
    raise UnsupportedError(f"unrecognized section name {section!r} (expected one of: {names})")


def tags_of(element) -> tuple[str, ...]:
    """Element tags from the root down to ``element``."""
    tags = []
    node = element
    while node is not None:
        tags.append(node.tag if isinstance(node.tag, str) else "#")
        node = node.getparent()
    return tuple(reversed(tags))


def section_of(element) -> tuple[Section, object]:
    """The section ``element`` belongs to, and the element that section addresses
    (``element`` itself or its nearest ancestor that a section addresses; the root for
    ``network``)."""
    tags = tags_of(element)
    node = element
    for depth in range(len(tags), 1, -1):
        found = BY_TAGS.get(tags[:depth])
        if found is not None:
            for _ in range(len(tags) - depth):
                node = node.getparent()
            return found, node
    root = element
    while root.getparent() is not None:
        root = root.getparent()
    return BY_NAME["network"], root


def section_for_child(parent, tag: str) -> Section | None:
    """The section whose element is a ``tag`` child of ``parent`` (None if no section addresses
    such an element)."""
    return BY_TAGS.get((*tags_of(parent), tag))


def allowed_children(element) -> Mapping[str, str] | None:
    """Children ``element`` may have (tag -> ONE or MANY); None when anything goes."""
    context = context_of(element)
    if context in FREE_FORM:
        return None
    return CHILDREN.get(context, {})


def child_order(element) -> tuple[str, ...]:
    """libvirt's order of the children of ``element``."""
    return tuple(CHILDREN.get(context_of(element), {}))
