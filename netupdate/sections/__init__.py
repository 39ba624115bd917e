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

The one registry of sections: each section lives in its own module (``sections/dns_txt.py``,
...; the types in ``_spec.py``) holding all the project knows about it, and the other layers look
it up here: ``SECTIONS``/``get``/``BY_NAME`` (the ``Section``), ``MODULES`` (its module),
``RULES`` and ``rules_in(scope)`` (its structural rules, one rule set for edit and check),
``PLAN_ROWS`` (the planner's rows), ``hook(section, name)`` (any other hook).  Adding a section
or a rule means touching one file (docs/design.md: "Sections: one module each").

``CHILDREN`` describes which children each element may have (once or repeated) in libvirt's
element order; the engine uses it to place new elements and to refuse misplaced ones.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import MappingProxyType

from netupdate.errors import UnsupportedError
from netupdate.model import defs as M
from netupdate.sections._spec import PlanRow, Rule, Section

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


# libvirt's order of the sections (its codes, then the pseudo sections)
ORDER = ("bridge", "domain", "ip", "ip-dhcp-host", "ip-dhcp-range", "forward",
         "forward-interface", "forward-pf", "portgroup", "dns-host", "dns-txt", "dns-srv", "dns",
         "network")


def _module_name(section: str) -> str:
    return f"netupdate.sections.{section.replace('-', '_')}"


def _load() -> tuple[tuple[Section, ...], Mapping[str, object]]:
    """Each section from its module (``sections/<name>.py``)."""
    found, modules = [], {}
    for name in ORDER:
        module = importlib.import_module(_module_name(name))
        if module.SECTION.name != name:
            raise ValueError(f"{module.__name__} declares section {module.SECTION.name!r}")
        found.append(module.SECTION)
        modules[name] = module
    return tuple(found), MappingProxyType(modules)


SECTIONS, MODULES = _load()
# every section's structural rules (edit raises them, check collects them), in section order
RULES: tuple[Rule, ...] = tuple(r for m in MODULES.values() for r in m.RULES)
# the planner's rows of the sections that declare theirs (planning/planner.py adds the rest)
PLAN_ROWS: tuple[PlanRow, ...] = tuple(r for m in MODULES.values()
                                       for r in getattr(m, "PLAN_ROWS", ()))


def rules_in(scope: str) -> tuple[Rule, ...]:
    """The rules the update engine re-checks after an edit of ``scope``."""
    return _SCOPES.get(scope, ())


_SCOPES: dict[str, tuple[Rule, ...]] = {}
for _rule in RULES:
    if _rule.scope is not None:
        _SCOPES[_rule.scope] = (*_SCOPES.get(_rule.scope, ()), _rule)


def hook(section, name: str):
    """A section module's hook (``check_fragment``, ``dnsmasq_lines``, ...), or None when the
    section has not moved to its module yet or does not have it."""
    module = MODULES.get(section.name if isinstance(section, Section) else section)
    return getattr(module, name, None) if module is not None else None


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
