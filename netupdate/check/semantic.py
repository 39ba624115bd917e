"""Validation of network definitions: grammar, typed values and semantic rules, as located issues.

``validate(source)`` runs four stages and returns every issue found, never raising for a bad
document.  The stage is the ``source`` of an ``Issue``:

1. ``parse`` - safe parsing (``xmlsrc``: no DTD, no entities, no network, a size limit).  A
   document that cannot be parsed yields exactly one issue (``NU-E000`` .. ``NU-E006``).
2. ``schema`` - our RelaxNG (or XSD) grammar, through ``netupdate.check.grammar.check_document``; its
   codes are ``NU-S001`` .. ``NU-S007``.
3. ``model`` - typed values the model cannot read (a bad MAC, a bad address, an integer out of
   range): ``NU-E020``, one issue per problem.  (A separate source rather than "semantic": these
   are about the shape of one value, like grammar issues, and are found by the model's reader.)
4. ``semantic`` - the rules a grammar cannot say (``NU-E1xx`` errors, ``NU-W1xx`` warnings), run on
   the typed ``NetworkDef``.  They run even when stage 3 found problems: the unreadable values are
   ``None`` in the definitions, and semantic issues about an element with an unreadable value are
   dropped (they would only repeat it).

One problem is reported once: a grammar issue about an attribute that the model could not read, or
that a semantic error names (an unknown keyword, a multicast MAC), is dropped in favour of the more
precise issue (see ``validate``).

Every rule has a stable code, a severity, a title and an explanation; ``RULES`` is the registry
(``docs/validation.md`` is generated from it).  Semantic rules are small functions registered with
``@rule``; each yields ``(target, message)`` pairs where the target is a definition (located
through the element it was read from), an lxml element, ``None`` for the root element, or
``(definition or element, attribute name)`` for a problem of one attribute.  Issue paths are
element XPaths such as ``/network/ip[1]/dhcp/host[3]``.
"""

from __future__ import annotations

import inspect
import ipaddress
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from lxml import etree

from netupdate import sections as S
from netupdate.document import source as xmlsrc
from netupdate.errors import XMLParseError
from netupdate.model import defs as M
from netupdate.model import text as TC
from netupdate.model import values as T
from netupdate.sections._spec import ERROR, WARNING, Finding, Rule

__all__ = ["RULES", "Issue", "Rule", "explain", "is_valid", "rules_markdown", "select_rules",
           "update_docs", "validate"]

SOURCES = ("parse", "schema", "model", "semantic")


# ---------------------------------------------------------------------- issues and rules
@dataclass(frozen=True)
class Issue:
    """One problem of one document."""

    severity: str                 # 'error' | 'warning'
    code: str                     # 'NU-E012'
    message: str
    line: int | None = None       # 1-based line of the element (None when unknown)
    path: str | None = None       # XPath of the element, e.g. /network/ip[1]/dhcp/host[3]
    source: str = "semantic"      # 'parse' | 'schema' | 'model' | 'semantic'
    file: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def location(self) -> str:
        """``file:line: path`` with the parts that are known."""
        head = self.file or ""
        if self.line:
            head = f"{head}:{self.line}" if head else f"line {self.line}"
        return ": ".join(part for part in (head, self.path) if part)

    def __str__(self) -> str:
        loc = self.location()
        return f"{loc}: {self.code} {self.message}" if loc else f"{self.code} {self.message}"

    def to_dict(self) -> dict:
        return {"severity": self.severity, "code": self.code, "message": self.message,
                "line": self.line, "path": self.path, "source": self.source}


RULES: dict[str, Rule] = {}


def _declare(code: str, name: str, severity: str, title: str, explanation: str,
             source: str, check=None) -> Rule:
    if code in RULES:
        raise ValueError(f"duplicate rule code {code}")
    expected = ("NU-E", "NU-S") if severity == ERROR else ("NU-W",)
    if not code.startswith(expected):
        raise ValueError(f"{code}: a {severity} code starts with {' or '.join(expected)}")
    RULES[code] = Rule(code, name, severity, title, inspect.cleandoc(explanation), source, check)
    return RULES[code]


def rule(code: str, name: str, severity: str, title: str):
    """Register a semantic check; its docstring is the explanation."""
    def register(func):
        _declare(code, name, severity, title, func.__doc__ or "", "semantic", func)
        return func
    return register


# ---------------------------------------------------------------------- parse, schema, model
_declare("NU-E000", "internal-error", ERROR, "Internal error", """
    netupdate itself failed while checking the file (a bug: please report it with the file).
    The command line reports it as an issue of that file and goes on with the others.""", "parse")
_declare("NU-E001", "not-well-formed", ERROR, "Not well-formed XML", """
    The file is not XML at all, or its XML is not well-formed (an unclosed element, a stray
    character, text outside the root element).  Nothing else is checked in that file.""", "parse")
_declare("NU-E002", "forbidden-declaration", ERROR, "DTD or entity declaration", """
    Network XML takes no DTD.  A ``<!DOCTYPE>``, ``<!ENTITY>``, ``<!ELEMENT>`` or ``<!ATTLIST>``
    declaration is refused without being read, which protects against entity expansion
    ("billion laughs"), external entities (XXE reading local files or fetching URLs) and external
    DTDs.  libvirt itself never needs one.""", "parse")
_declare("NU-E003", "too-large", ERROR, "Document too large", """
    Larger than 32 MiB, or beyond a parser limit (elements, attributes, value length, depth; see
    docs/validation.md); refused before anything reads it.  No real network comes close.""", "parse")
_declare("NU-E004", "binary-or-undecodable", ERROR, "Binary data or undecodable text", """
    The file contains NUL bytes (binary data) or cannot be decoded in the encoding it declares
    (UTF-8 unless the XML declaration or a byte-order mark says otherwise).""", "parse")
_declare("NU-E005", "unreadable", ERROR, "File cannot be read", """
    The file does not exist, is not a regular file, or cannot be read (permissions).""", "parse")
_declare("NU-E006", "wrong-root", ERROR, "Root element is not <network>", """
    The document is well-formed XML but its root element is not ``<network>`` (for example a
    domain or a storage pool definition was checked by mistake).""", "parse")
# Grammar codes: netupdate.check.grammar assigns them (tests check that the two lists agree).
_GRAMMAR = "the network grammar (``rng/network.rng``, or its XSD twin with ``--schema xsd``)"
_declare("NU-S001", "schema", ERROR, "Grammar violation", f"""
    The document does not match {_GRAMMAR} in a way none of the more specific grammar codes
    describes; the message quotes the validator.""", "schema")
_declare("NU-S002", "unexpected-element", ERROR, "Unexpected element or text", """
    An element the grammar does not allow at that place: unknown, misplaced, or repeated more
    often than allowed, or text where only elements may be.  libvirt ignores unknown elements
    when it parses, so the data would be silently lost.""", "schema")
_declare("NU-S003", "missing", ERROR, "Missing required attribute or element", """
    A required attribute or child element is absent, for example a network without
    ``<name>`` or a ``<range>`` without ``end``.""", "schema")
_declare("NU-S004", "bad-value", ERROR, "Value of the wrong shape", """
    An attribute value or element text does not match its type in the grammar (a device name
    with a space, a MAC address with five octets, an unknown keyword), or the element has no
    such attribute.""", "schema")
_declare("NU-S005", "unknown-attribute", ERROR, "Unknown attribute", """
    The element has an attribute the grammar does not define (a typo, or a newer libvirt
    feature).""", "schema")
_declare("NU-S006", "conflict", ERROR, "Conflicting attributes or children", """
    Attributes or children that exclude each other are both present, such as ``netmask`` and
    ``prefix`` on one ``<ip>``.""", "schema")
_declare("NU-S007", "schema-wrong-root", ERROR, "Wrong root element for the grammar", """
    The grammar expected another root element (for documents this is reported as
    ``NU-E006`` before the grammar runs; the code appears for update fragments).""", "schema")
_declare("NU-E020", "unreadable-value", ERROR, "Typed value cannot be read", """
    An attribute or text that has a type cannot be read as that type: a malformed MAC address,
    IP address, UUID, netmask or DUID, or an integer that is not a number or is out of range
    (for example ``<mtu size='abc'/>`` or a VLAN tag above 4095).  Semantic rules about that
    element are not reported, since they would only repeat the problem.""", "model")

_declare("NU-E021", "unsafe-text", ERROR, "Text outside its character set", TC.EXPLAINED, "model")

# ---------------------------------------------------------------------- locating definitions
@dataclass(frozen=True)
class _FieldPlan:
    name: str
    kind: str               # 'child' | 'children' | 'enum'
    xml: str | None
    within: str | None = None
    child: str | None = None
    choices: tuple[str, ...] = ()
    enum: type | None = None


_PLANS: dict[type, tuple[_FieldPlan, ...]] = {}


def _plan(cls: type) -> tuple[_FieldPlan, ...]:
    """What to walk in a definition class: child definitions and enumerated attributes."""
    plan = _PLANS.get(cls)
    if plan is None:
        items = []
        for f in M.fields_of(cls):
            meta = f.metadata
            kind = meta.get("kind")
            if kind == "child":
                items.append(_FieldPlan(f.name, "child", meta["xml"]))
            elif kind == "children" and meta["cls"] is not None:
                items.append(_FieldPlan(f.name, "children", meta["xml"], within=meta["within"]))
            elif kind == "attr":
                convert = meta["convert"]
                kind_enum = getattr(convert, "enum", None)
                choices = getattr(convert, "choices", None)
                if kind_enum is not None:
                    items.append(_FieldPlan(f.name, "enum", meta["xml"], child=meta["child"],
                                            choices=tuple(m.value for m in kind_enum),
                                            enum=kind_enum))
                elif choices is not None:
                    items.append(_FieldPlan(f.name, "enum", meta["xml"], child=meta["child"],
                                            choices=tuple(choices)))
        plan = _PLANS[cls] = tuple(items)
    return plan


class _Subject:
    """A read document under check: the typed definitions and the elements they came from."""

    def __init__(self, net: M.NetworkDef, root):
        self.net = net
        self.root = root
        self.n = net.name if net.name is not None else "(unnamed)"   # the view of a rule
        self._elements: dict[int, object] | None = None
        self._networks: dict[int, object] = {}

    def network_of(self, ip: M.IpDef):
        """``ip.network``, computed once per ``<ip>``; None when the prefix does not fit the
        address (reported by ``NU-E125``)."""
        key = id(ip)
        if key not in self._networks:
            network = None
            prefix = ip.effective_prefix if ip.address is not None else None
            if prefix is not None:
                kind = ipaddress.IPv4Network if ip.address.version == 4 else ipaddress.IPv6Network
                try:   # as ip.network, without formatting and parsing a string
                    network = kind((ip.address, prefix), strict=False)
                except ValueError:
                    network = None
            self._networks[key] = network
        return self._networks[key]

    def element_of(self, definition) -> object:
        if self._elements is None:
            self._index()
        return self._elements.get(id(definition), self.root)

    def ip_element(self, ip: M.IpDef):
        """The element of one of ``net.ips`` (cheaper than ``element_of`` for clean files)."""
        for number, candidate in enumerate(self.net.ips):
            if candidate is ip:
                return self.root.findall("ip")[number]
        return self.element_of(ip)

    def _index(self) -> None:
        """Pair every definition with its element (the model reads them in document order)."""
        elements: dict[int, object] = {}
        stack = [(self.net, self.root)]
        while stack:
            definition, element = stack.pop()
            elements[id(definition)] = element
            for item in _plan(type(definition)):
                if item.kind == "enum":
                    continue
                value = getattr(definition, item.name)
                if item.kind == "child":
                    if value is not None:
                        stack.append((value, element.find(item.xml)))
                elif value:
                    parent = element.find(item.within) if item.within else element
                    stack.extend(zip(value, parent.findall(item.xml), strict=False))
        self._elements = elements

    def unknown_values(self) -> Iterator[tuple[object, str]]:
        """Enumerated attributes whose value is not one of the known words (the model keeps
        those as plain text).  Walks the definitions only; elements are looked up when found."""
        stack = [self.net]
        while stack:
            definition = stack.pop()
            for item in _plan(type(definition)):
                value = getattr(definition, item.name)
                if item.kind == "enum":
                    if value is None or value is True or value is False or (
                            item.enum is not None and isinstance(value, item.enum)):
                        continue
                    element = self.element_of(definition)
                    target = element.find(item.child) if item.child else element
                    yield (target, item.xml), _unknown_message(target, item, value)
                elif item.kind == "child":
                    if value is not None:
                        stack.append(value)
                elif value:
                    stack.extend(value)

    def locate(self, target) -> tuple[int | None, str, str | None]:
        """(line, element path, attribute) of a target: a definition, an element, ``None`` (the
        root) or ``(definition or element, attribute name)`` for a problem of one attribute."""
        attribute = None
        if isinstance(target, tuple):
            target, attribute = target
        if target is None:
            element = self.root
        elif isinstance(target, etree._Element):
            element = target
        else:
            element = self.element_of(target)
        return element.sourceline, xmlsrc.element_path(element), attribute


def _unknown_message(element, item: _FieldPlan, value) -> str:
    allowed = " or ".join(f"'{c}'" for c in item.choices) if len(item.choices) <= 2 else \
        ", ".join(f"'{c}'" for c in item.choices)
    return (f"unknown value '{value}' for attribute '{item.xml}' of <{element.tag}> "
            f"(expected {allowed})")


# ---------------------------------------------------------------------- helpers for the rules
def _mode(net: M.NetworkDef):
    """The forward mode, '' for an isolated network, or None when it is unknown."""
    mode = net.forward_mode
    if mode is None:
        return ""
    return mode if isinstance(mode, T.ForwardMode) else None


def _mode_text(net: M.NetworkDef) -> str:
    mode = _mode(net)
    return f"forward mode '{mode}'" if mode else "an isolated network"


def _family(version: int) -> str:
    return "IPv4" if version == 4 else "IPv6"


def _dhcp_ips(net: M.NetworkDef) -> Iterator[M.IpDef]:
    return (ip for ip in net.ips if ip.dhcp is not None)


def _line_note(subject: _Subject, definition) -> str:
    line = subject.element_of(definition).sourceline
    return f" (line {line})" if line else ""


# ---------------------------------------------------------------------- semantic rules
@rule("NU-E101", "unknown-value", ERROR, "Unknown enumerated value")
def check_unknown_values(s: _Subject):
    """An attribute that takes one of a fixed set of words has another value, for example
    ``<forward mode='teleport'/>``, ``stp='maybe'`` or ``<lease unit='days'/>``.  The grammar
    reports it too; this rule reports it whichever grammar is used, because the model keeps the
    unknown word as plain text and every rule that depends on it (the forward-mode rules, for
    instance) is skipped."""
    yield from s.unknown_values()


def _ranges(s: _Subject):
    for ip in _dhcp_ips(s.net):
        for dhcp_range in ip.dhcp.ranges:
            if dhcp_range.start is not None and dhcp_range.end is not None:
                yield ip, dhcp_range


def _range_text(r: M.DhcpRange) -> str:
    return f"{r.start} - {r.end}"


@rule("NU-E107", "dhcp-range-reversed", ERROR, "DHCP range reversed")
def check_range_reversed(s: _Subject):
    """A ``<range>`` ends before it starts.  libvirt refuses it ("range ... is reversed")."""
    for _ip, r in _ranges(s):
        if r.start.version == r.end.version and r.start > r.end:
            yield r, f"range {_range_text(r)} is reversed (start is after end)"


@rule("NU-E108", "dhcp-range-outside-subnet", ERROR, "DHCP range outside its subnet")
def check_range_subnet(s: _Subject):
    """A ``<range>`` is not entirely inside the subnet of its ``<ip>``, or mixes address
    families.  libvirt refuses it ("range ... is not entirely within network ...")."""
    for ip, r in _ranges(s):
        network = s.network_of(ip)
        if network is None:
            continue
        if r.start.version != network.version or r.end.version != network.version:
            yield r, (f"range {_range_text(r)} does not match the address family of its "
                      f"{_family(network.version)} <ip> ({network})")
        elif r.start not in network or r.end not in network:
            yield r, f"range {_range_text(r)} is not entirely within the subnet {network}"


@rule("NU-E109", "dhcp-range-network-broadcast", ERROR,
      "DHCP range includes the network or broadcast address")
def check_range_edges(s: _Subject):
    """A ``<range>`` starts at the network address of its subnet, or (IPv4) ends at the
    broadcast address.  Neither can be leased; libvirt refuses the range."""
    for ip, r in _ranges(s):
        network = s.network_of(ip)
        if network is None or r.start.version != network.version or network.prefixlen >= \
                network.max_prefixlen - 1:
            continue
        if r.start == network.network_address:
            yield r, f"range {_range_text(r)} starts at the network address of {network}"
        if network.version == 4 and r.end == network.broadcast_address:
            yield r, f"range {_range_text(r)} ends at the broadcast address of {network}"


@rule("NU-E110", "dhcp-range-too-large", ERROR, "DHCP range too large")
def check_range_size(s: _Subject):
    """A ``<range>`` holds more than 65535 addresses.  libvirt refuses it ("range ... is too
    large")."""
    for _ip, r in _ranges(s):
        if r.start.version == r.end.version and r.start <= r.end and r.size > T.MAX_DHCP_RANGE_SIZE:
            yield r, (f"range {_range_text(r)} has {r.size} addresses "
                      f"(at most {T.MAX_DHCP_RANGE_SIZE})")


@rule("NU-E111", "dhcp-multiple-per-family", ERROR, "More than one DHCP <ip> per family")
def check_single_dhcp(s: _Subject):
    """Two ``<ip>`` elements of the same address family both have DHCP ranges or hosts.  libvirt
    (and its dnsmasq configuration) supports DHCP on only one IPv4 and one IPv6 address of each
    network."""
    first: dict[int, M.IpDef] = {}
    for ip in s.net.ips:
        if not ip.has_dhcp:
            continue
        if ip.version in first:
            yield ip, (f"dhcp is supported only for a single {_family(ip.version)} address on "
                       f"each network; the <ip> at line "
                       f"{s.element_of(first[ip.version]).sourceline} already has DHCP")
        else:
            first[ip.version] = ip


@rule("NU-E113", "bridge-name-too-long", ERROR, "Bridge name longer than 15 bytes")
def check_bridge_name(s: _Subject):
    """The ``<bridge name>`` is longer than 15 bytes, the kernel's limit for interface names
    (IFNAMSIZ - 1).  Creating the bridge would fail when the network starts."""
    bridge = s.net.bridge
    if bridge is not None and bridge.name is not None:
        size = T.ifname_bytes(bridge.name)
        if size > T.IFNAME_MAX_BYTES:
            yield bridge, (f"bridge name '{bridge.name}' is {size} bytes long; interface names "
                           f"have at most {T.IFNAME_MAX_BYTES}")


@rule("NU-E114", "forward-interface-count", ERROR, "Forward interfaces not allowed by the mode")
def check_forward_interfaces(s: _Subject):
    """With ``<forward mode='nat'>``, ``'route'`` or ``'open'`` (libvirt's L3 modes) at most
    one ``<interface>`` (the outgoing device) may be listed; interface pools are for the bridge,
    private, vepa and passthrough modes.  With ``mode='open'`` no forward device may be given at
    all.  libvirt refuses both, in this order ("multiple forwarding interfaces specified",
    "forward dev not allowed")."""
    forward, mode = s.net.forward, _mode(s.net)
    if forward is None:
        return
    if mode in T.L3_MODES and len(forward.interfaces) > 1:
        yield forward.interfaces[1], (f"forward mode '{mode}' allows only one <interface>, "
                                      f"found {len(forward.interfaces)}")
    elif mode == T.ForwardMode.OPEN and (forward.dev or forward.interfaces):
        yield forward, "forward mode 'open' takes no forward device (dev or <interface>)"


@rule("NU-E115", "forward-dev-mismatch", ERROR, "Forward dev differs from the first interface")
def check_forward_dev(s: _Subject):
    """``<forward dev='X'>`` is shorthand for the first ``<interface dev='X'/>``; when both are
    written they must name the same device.  libvirt refuses a mismatch."""
    forward = s.net.forward
    if forward is not None and forward.dev and forward.interfaces:
        first = forward.interfaces[0].dev
        if first is not None and first != forward.dev:
            yield forward, (f"forward dev '{forward.dev}' must match the first <interface> dev "
                            f"'{first}'")


@rule("NU-E116", "forward-without-ip", ERROR, "Routed network without an <ip>")
def check_forward_ip(s: _Subject):
    """Forward modes nat, route and open forward IP traffic of the network's own subnet, so
    the network needs at least one ``<ip>``.  libvirt refuses the definition ("forwarding
    requested, but no IP address provided")."""
    mode = _mode(s.net)
    if mode in T.L3_MODES and not s.net.ips:
        yield s.net.forward, f"forward mode '{mode}' needs at least one <ip> address"


@rule("NU-E118", "bridge-attributes-for-mode", ERROR, "Bridge settings the forward mode ignores")
def check_bridge_for_mode(s: _Subject):
    """libvirt creates and configures the bridge only for isolated, nat, route and open networks.
    With mode bridge the bridge already exists: ``stp``, ``delay`` and ``zone`` are refused, and
    a bridge name and a forward device exclude each other.  With modes private, vepa,
    passthrough and hostdev there is no bridge at all, so ``<bridge>`` is refused."""
    bridge, mode, forward = s.net.bridge, _mode(s.net), s.net.forward
    if bridge is None or mode not in T.DEVICE_MODES:
        return
    if mode in T.DIRECT_MODES:
        if bridge.name is not None or bridge.zone is not None \
                or bridge.mac_table_manager is not None:
            yield bridge, f"<bridge> is not allowed with forward mode '{mode}'"
    set_ = [name for name, value in (("stp", bridge.stp), ("delay", bridge.delay),
                                     ("zone", bridge.zone)) if value is not None]
    if set_:
        yield bridge, (f"bridge {', '.join(set_)} only apply to networks libvirt creates the "
                       f"bridge for (isolated, nat, route, open), not forward mode '{mode}'")
    if bridge.name is not None and (forward.dev or forward.interfaces or forward.pfs):
        yield bridge, (f"forward mode '{mode}' takes a bridge name or a forward device, "
                       "not both")


@rule("NU-E119", "element-unsupported-for-mode", ERROR, "Host-side element the mode cannot use")
def check_elements_for_mode(s: _Subject):
    """With forward modes bridge, private, vepa, passthrough and hostdev libvirt neither owns a
    host-side device nor runs dnsmasq, so ``<mac>``, ``<ip>``, ``<domain>`` and ``<mtu>`` are
    refused.  Network-wide ``<bandwidth>`` is refused for private, vepa, passthrough and hostdev,
    and portgroup ``<bandwidth>`` for hostdev."""
    net, mode = s.net, _mode(s.net)
    if mode not in T.DEVICE_MODES:
        return
    root = s.root
    for tag, present in (("mac", net.mac is not None), ("mtu", net.mtu is not None)):
        if present:
            yield root.find(tag), f"<{tag}> is not supported with forward mode '{mode}'"
    for ip in net.ips:
        yield ip, f"<ip> is not supported with forward mode '{mode}'"
    if net.domain is not None:
        yield net.domain, f"<domain> is not supported with forward mode '{mode}'"
    if net.bandwidth is not None and mode in T.DIRECT_MODES:
        yield net.bandwidth, f"network-wide <bandwidth> is not supported with forward mode '{mode}'"
    if mode == T.ForwardMode.HOSTDEV:
        for group in net.portgroups:
            if group.bandwidth is not None:
                yield group.bandwidth, (f"<bandwidth> in portgroup '{group.name}' is not "
                                        "supported with forward mode 'hostdev'")


@rule("NU-E120", "dns-unservable", ERROR, "DNS records the network cannot serve")
def check_dns_servable(s: _Subject):
    """DNS records (``<txt>``, ``<srv>``, ``<host>``) are served by the network's dnsmasq, which
    only runs for isolated, nat, route and open networks: with forward modes bridge, private,
    vepa, passthrough and hostdev libvirt refuses them.  With ``<dns enable='no'>`` any
    forwarder or record is refused as well ("Extra data in disabled network")."""
    dns, mode = s.net.dns, _mode(s.net)
    if dns is None:
        return
    records = [(n, items) for n, items in (("<txt>", dns.txts), ("<srv>", dns.srvs),
                                           ("<host>", dns.hosts)) if items]
    if mode in T.DEVICE_MODES and records:
        yield dns, (f"DNS records ({', '.join(n for n, _ in records)}) are not supported with "
                    f"forward mode '{mode}': no DNS server runs for this network")
    elif dns.enable is False and (records or dns.forwarders):
        what = [n for n, _ in records] + (["<forwarder>"] if dns.forwarders else [])
        yield dns, f"DNS is disabled (enable='no') but {', '.join(what)} are configured"


@rule("NU-E121", "vlan-unsupported", ERROR, "VLAN the forward mode cannot carry")
def check_vlan(s: _Subject):
    """Transparent VLAN tagging works only for hostdev and passthrough (SR-IOV) networks and for
    mode bridge with an Open vSwitch ``<virtualport>``.  A ``<vlan>`` of the network or of a
    portgroup elsewhere (a nat network, a plain Linux bridge) is refused by libvirt."""
    net, mode = s.net, _mode(s.net)
    if mode is None:
        return
    network_ovs = net.virtualport is not None and \
        net.virtualport.type == T.VirtualPortType.OPENVSWITCH
    allowed = mode in T.VLAN_MODES or (
        mode == T.ForwardMode.BRIDGE and network_ovs)
    where = f"forward mode '{mode}'" if mode else "an isolated network"
    if net.vlan is not None and net.vlan.tags and not allowed:
        yield net.vlan, (f"<vlan> is not supported with {where} (only hostdev, passthrough, "
                         "and bridge with an openvswitch virtualport)")
    for group in net.portgroups:
        if group.vlan is None or not group.vlan.tags:
            continue
        port = group.virtualport
        if port is not None and port.type is not None:
            ok = mode == T.ForwardMode.BRIDGE and port.type == T.VirtualPortType.OPENVSWITCH
        else:
            ok = allowed
        if not ok:
            yield group.vlan, (f"<vlan> in portgroup '{group.name}' is not supported with {where}")


@rule("NU-E122", "lease-too-short", ERROR, "DHCP lease shorter than 2 minutes")
def check_lease(s: _Subject):
    """A ``<lease expiry>`` of a DHCP range or host is shorter than 2 minutes (0 means infinite
    and is fine).  libvirt refuses it ("The minimum lease time should be greater than 2
    minutes"), and dnsmasq would raise it anyway."""
    for ip in _dhcp_ips(s.net):
        for entry in (*ip.dhcp.ranges, *ip.dhcp.hosts):
            lease = entry.lease
            if lease is not None and lease.seconds is not None \
                    and 0 < lease.seconds < T.MIN_LEASE_SECONDS:
                yield lease, (f"lease of {lease.seconds} seconds is shorter than the minimum of "
                              f"{T.MIN_LEASE_SECONDS} seconds")


@rule("NU-E124", "multicast-mac", ERROR, "Multicast MAC address")
def check_multicast_mac(s: _Subject):
    """A MAC address that must name one interface (a DHCP host, the bridge's ``<mac>``) has the
    multicast bit set (the lowest bit of its first octet, e.g. ``01:00:5e:...``).  libvirt
    refuses it ("expected unicast mac address, found multicast")."""
    if s.net.mac is not None and s.net.mac.is_multicast:
        yield (s.root.find("mac"), "address"), \
            f"bridge MAC address {s.net.mac} is a multicast address"
    for ip in _dhcp_ips(s.net):
        for host in ip.dhcp.hosts:
            if host.mac is not None and host.mac.is_multicast:
                yield (host, "mac"), f"host MAC address {host.mac} is a multicast address"


@rule("NU-E125", "ip-address-shape", ERROR, "Inconsistent <ip> address, family or prefix")
def check_ip_shape(s: _Subject):
    """An ``<ip>`` must have an ``address``; its ``family`` (if given) must match the address;
    ``netmask`` is for IPv4 only and cannot be combined with ``prefix``; an IPv4 prefix is at
    most 32.  libvirt refuses each of these."""
    for ip in s.net.ips:
        if ip.address is None:     # absent (an unreadable one is reported by NU-E020)
            yield ip, "<ip> needs an 'address' attribute"
            continue
        version = ip.address.version
        if isinstance(ip.family, T.Family) and (ip.family == T.Family.IPV6) != (version == 6):
            yield ip, f"family '{ip.family}' does not match the {_family(version)} address"
        if ip.netmask is not None and s.ip_element(ip).get("prefix") is not None:
            yield ip, "<ip> has both 'netmask' and 'prefix'; use one"
        elif ip.netmask is not None and version == 6:
            yield ip, "'netmask' is not allowed for an IPv6 address; use 'prefix'"
        elif version == 4 and ip.prefix is not None and ip.prefix > 32:
            yield ip, f"prefix {ip.prefix} is too long for an IPv4 address (at most 32)"


@rule("NU-E126", "network-name", ERROR, "Empty network name")
def check_name(s: _Subject):
    """The network ``<name>`` is empty.  (A name with a ``/``, white space or a control
    character is ``NU-E021``: the name is used in file names such as
    ``/etc/libvirt/qemu/networks/NAME.xml``.)"""
    element = s.root.find("name")
    if element is not None and s.net.name is None:
        yield element, "the network name is empty"


@rule("NU-E127", "nat-range-reversed", ERROR, "NAT address or port range reversed")
def check_nat_ranges(s: _Subject):
    """``<nat><address start end/>`` or ``<nat><port start end/>`` ends before it starts; the
    firewall rules libvirt writes from it would be refused."""
    forward = s.net.forward
    nat = forward.nat if forward is not None else None
    if nat is None:
        return
    for part, what in ((nat.address, "address"), (nat.port, "port")):
        if part is not None and part.start is not None and part.end is not None \
                and part.start > part.end:
            yield part, f"NAT {what} range {part.start} - {part.end} is reversed"


@rule("NU-E128", "ipv4-only-feature", ERROR, "TFTP or BOOTP on an IPv6 <ip>")
def check_ipv4_only(s: _Subject):
    """``<tftp>`` and ``<bootp>`` (network boot) are IPv4 features; libvirt refuses them in an
    IPv6 ``<ip>``."""
    for ip in s.net.ips:
        if ip.address is None or ip.version != 6:
            continue
        if ip.tftp_root is not None:
            yield s.ip_element(ip).find("tftp"), "<tftp> is not supported in an IPv6 <ip>"
        if ip.dhcp is not None and ip.dhcp.bootp is not None:
            yield ip.dhcp.bootp, "<bootp> is not supported in an IPv6 <ip>"


@rule("NU-W101", "dhcp-range-overlap", WARNING, "Overlapping DHCP ranges")
def check_range_overlap(s: _Subject):
    """Two ``<range>`` entries of the same ``<dhcp>`` share addresses (or are identical).
    libvirt and dnsmasq accept it, but it is almost always a typo, and the lease limit libvirt
    computes (the sum of the range sizes) counts the shared addresses twice."""
    for ip in _dhcp_ips(s.net):
        done: list[M.DhcpRange] = []
        for r in ip.dhcp.ranges:
            if r.start is None or r.end is None or r.start.version != r.end.version \
                    or r.start > r.end:
                continue
            for other in done:
                if other.start.version == r.start.version and r.start <= other.end \
                        and other.start <= r.end:
                    same = "is identical to" if (r.start, r.end) == (other.start, other.end) \
                        else "overlaps"
                    yield r, (f"range {_range_text(r)} {same} range {_range_text(other)}"
                              f"{_line_note(s, other)}")
                    break
            done.append(r)


@rule("NU-W102", "dns-without-dnsmasq", WARNING, "DNS records on a network without an <ip>")
def check_dns_without_ip(s: _Subject):
    """An isolated network without any ``<ip>`` has DNS records.  libvirt starts dnsmasq only
    for a network with an address, so the records are never served."""
    dns, mode = s.net.dns, _mode(s.net)
    if dns is None or s.net.ips or mode in T.DEVICE_MODES or mode is None or mode in T.L3_MODES:
        return
    if dns.txts or dns.srvs or dns.hosts or dns.forwarders:
        yield dns, "DNS records are never served: the network has no <ip>, so no dnsmasq runs"


@rule("NU-W103", "dhcp-range-includes-gateway", WARNING, "DHCP range includes the host address")
def check_range_gateway(s: _Subject):
    """A ``<range>`` contains the ``<ip address>`` of the network itself (the host side of the
    bridge, the guests' gateway).  dnsmasq will not lease it, but the range was probably meant
    to start after it."""
    for ip, r in _ranges(s):
        if ip.address is not None and ip.address.version == r.start.version == r.end.version \
                and r.start <= ip.address <= r.end:
            yield r, f"range {_range_text(r)} includes the network's own address {ip.address}"


_declare("NU-W104", "risky-dnsmasq-option", WARNING, "dnsmasq option that runs programs or "
         "touches files", TC.OPTIONS_EXPLAINED, "semantic",
         lambda s: TC.risky_options(s.root, s.net.dnsmasq_options))


def _with_sections() -> None:
    """Add the sections' rules (``sections.RULES``, one rule set with the update engine) and
    order the semantic codes."""
    for section_rule in S.RULES:
        if section_rule.code in RULES:
            raise ValueError(f"duplicate rule code {section_rule.code}")
        RULES[section_rule.code] = section_rule
    ordered = sorted(RULES.values(), key=lambda r: (r.source == "semantic",
                                                    r.code if r.source == "semantic" else ""))
    RULES.clear()
    RULES.update((r.code, r) for r in ordered)


_with_sections()
SEMANTIC_RULES = tuple(r for r in RULES.values() if r.check is not None)


# ---------------------------------------------------------------------- selection
def select_rules(select: Iterable[str] | None = None,
                 ignore: Iterable[str] | None = None) -> frozenset[str]:
    """The codes that are reported, ruff style: ``select`` and ``ignore`` take codes or code
    prefixes (``NU-W``, ``NU-E1``, ``ALL``).  Parse codes are always reported.  Raises
    ``ValueError`` for a pattern that matches no code."""
    def matching(pattern: str) -> set[str]:
        pattern = pattern.strip().upper()
        found = set(RULES) if pattern == "ALL" else {c for c in RULES if c.startswith(pattern)}
        if not found:
            raise ValueError(f"unknown rule code or prefix {pattern!r}")
        return found

    if isinstance(select, str):
        select = [select]
    if isinstance(ignore, str):
        ignore = [ignore]
    chosen = set(RULES) if select is None else set().union(*(matching(p) for p in select))
    for pattern in ignore or ():
        chosen -= matching(pattern)
    chosen |= {code for code, r in RULES.items() if not r.can_ignore}
    return frozenset(chosen)


# ---------------------------------------------------------------------- validate
def _parse_code(exc: XMLParseError) -> str:
    message = exc.message
    if message.startswith("cannot read"):
        return "NU-E005"
    if message.startswith("root element is"):
        return "NU-E006"
    if " is not allowed" in message and message.startswith("<!"):
        return "NU-E002"
    if "larger than" in message or message.endswith("(netupdate's parser limit)"):
        return "NU-E003"
    if "NUL bytes" in message or message.startswith("cannot decode"):
        return "NU-E004"
    return "NU-E001"


def _parse_issue(exc: XMLParseError, filename: str | None) -> Issue:
    return Issue(ERROR, _parse_code(exc), exc.message, exc.line, exc.path, "parse",
                 filename if filename is not None else exc.file)


def _is_path(source) -> bool:
    return isinstance(source, os.PathLike) or (
        isinstance(source, str) and not source.lstrip().startswith("<"))


def read_source(source, filename: str | None = None):
    """Parse ``source`` (text, bytes, a path or a ``model.Network``) safely and return
    ``(root element, filename)``; raises ``XMLParseError``."""
    if isinstance(source, M.Network):
        return source.root, filename if filename is not None else source.filename
    if _is_path(source):
        filename = filename if filename is not None else os.fspath(source)
        source = xmlsrc.read_file(source, filename)
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        if len(data) > xmlsrc.MAX_BYTES:
            raise XMLParseError(f"document is larger than {xmlsrc.MAX_BYTES // (1024 * 1024)} "
                                "MiB; refused without parsing", file=filename)
        if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
            line = data.count(b"\n", 0, data.index(b"\x00")) + 1
            raise XMLParseError("document contains NUL bytes (binary data, not XML)",
                                file=filename, line=line)
        text, _encoding, _bom = xmlsrc.decode(data, filename)
    elif isinstance(source, str):
        text = source
    else:
        raise TypeError(f"cannot validate a {type(source).__name__}: expected XML text, bytes, "
                        "a path or a netupdate.Network")
    root = xmlsrc.parse_element(text, filename)
    if not isinstance(root.tag, str) or root.tag != "network":
        raise XMLParseError(f"root element is <{root.tag}>, expected <network>", file=filename,
                            line=root.sourceline, path=f"/{root.tag}")
    return root, filename


def _read_model(root, filename: str | None):
    """Read the typed definitions, keeping going past unreadable values.

    Returns ``(NetworkDef, problems)``: unreadable values are ``None`` in the result and
    each is a ``ModelError`` in ``problems``.
    """
    return M.NetworkDef.read_lenient(root, filename=filename)


def _schema_issues(root, grammar: str, filename: str | None) -> list[Issue]:
    from netupdate.check import grammar as grammars
    issues = []
    for found in grammars.check_document(root, grammar=grammar):
        code = getattr(found, "code", None)
        if not (isinstance(code, str) and RULES.get(code) is not None
                and RULES[code].source == "schema"):
            code = "NU-S001"
        issues.append(Issue(ERROR, code, found.message, found.line, found.path, "schema",
                            filename))
    return issues


_ATTRIBUTE_NAMED = re.compile(r"^attribute '([^']+)'")
_ATTRIBUTE_MENTIONED = re.compile(r"\battribute '([^']+)'")


def _schema_key(issue: Issue) -> tuple:
    """(element path, attribute or None) of a grammar issue, for matching it with others."""
    path = issue.path or ""
    if "/@" in path:
        path, attribute = path.rsplit("/@", 1)
        return path, attribute
    match = _ATTRIBUTE_MENTIONED.search(issue.message)
    return path, match.group(1) if match else None


def _findings(r: Rule, subject: _Subject) -> Iterator[tuple[object, str]]:
    """(target, message) of each problem ``r`` finds; a section's rule (one rule set with the
    update engine) yields ``Finding``: validate prints its ``detail``."""
    for found in r.check(subject):
        if not isinstance(found, Finding):
            yield found
        elif found.detail is not None:
            yield found.target, found.detail


def validate(source, *, schema: str | None = "rng", filename: str | None = None,
             select: Iterable[str] | None = None, ignore: Iterable[str] | None = None,
             rules: frozenset[str] | None = None) -> list[Issue]:
    """Check one network definition and return every issue found (an empty list when valid).

    ``source`` is XML text, bytes, a path (``str`` not starting with ``<``, or ``os.PathLike``)
    or a ``netupdate.Network``.  ``schema`` names the grammar (``"rng"`` or ``"xsd"``; ``None``
    skips the grammar).  ``select``/``ignore`` choose codes as ``select_rules`` does (``rules``
    passes an already computed selection).  An invalid or hostile document never raises: it is
    reported as issues, sorted by line.

    One problem is reported once: when the model cannot read a value, or a semantic rule
    reports a specific attribute (an unknown keyword, a multicast MAC), the grammar's issue
    about the same attribute is dropped (for an unreadable value also the grammar's issues
    about its element, which libxml2 words vaguely), and semantic issues about an element whose
    values could not be read are dropped too.
    """
    if rules is None and (select is not None or ignore):
        rules = select_rules(select, ignore)
    try:
        root, filename = read_source(source, filename)
    except XMLParseError as exc:
        return [_parse_issue(exc, filename)]

    def wanted(code: str) -> bool:
        return rules is None or code in rules

    issues: list[Issue] = []
    if schema is not None:
        issues.extend(i for i in _schema_issues(root, schema, filename) if wanted(i.code))

    net, problems = _read_model(root, filename)
    unreadable: set[str] = set()    # element paths with a value the model could not read
    covered: set[tuple] = set()     # (element path, attribute or None) a better issue reports
    for problem in problems:
        path = problem.path or ""
        unreadable.add(path)
        if wanted(code := problem.code or "NU-E020"):
            match = _ATTRIBUTE_NAMED.match(problem.message)
            covered.update(((path, None), (path, match.group(1) if match else None)))
            issues.append(Issue(ERROR, code, problem.message, problem.line, path,
                                "model", filename))

    if net is not None:
        subject = _Subject(net, root)
        for r in SEMANTIC_RULES:
            if not wanted(r.code):
                continue
            for target, message in _findings(r, subject):
                line, path, attribute = subject.locate(target)
                if path in unreadable:
                    continue
                if attribute and r.severity == ERROR:
                    covered.add((path, attribute))
                    if r.code == "NU-E101":
                        covered.add((path, None))
                issues.append(Issue(r.severity, r.code, message, line, path, "semantic",
                                    filename))

    if covered:
        issues = [i for i in issues if i.source != "schema" or _schema_key(i) not in covered]
    issues.sort(key=lambda i: (i.line or 0, SOURCES.index(i.source), i.code))
    return issues


def is_valid(source, *, strict: bool = False, **options) -> bool:
    """True when ``validate`` finds no error (and, with ``strict``, no warning either)."""
    return not any(i.is_error or strict for i in validate(source, **options))


# ---------------------------------------------------------------------- documentation
def explain(code: str) -> str:
    """A plain-text explanation of one code (``netupdate validate --explain CODE``)."""
    r = RULES.get(code.strip().upper())
    if r is None:
        raise KeyError(code)
    return (f"{r.code} ({r.name}): {r.title}\n"
            f"severity: {r.severity}; source: {r.source}"
            f"{'' if r.can_ignore else '; cannot be ignored'}\n\n{r.explanation}\n")


DOCS_BEGIN, DOCS_END = "<!-- codes:begin -->\n", "<!-- codes:end -->"


def update_docs(path: str | os.PathLike) -> None:
    """Rewrite the generated code list of ``docs/validation.md`` (between its markers)."""
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    head, rest = text.split(DOCS_BEGIN, 1)
    _old, tail = rest.split(DOCS_END, 1)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(f"{head}{DOCS_BEGIN}{rules_markdown().strip()}\n{DOCS_END}{tail}")


def _md(text: str) -> str:
    """Markdown for registry text: ``code`` spans kept, bare <tags> made code too."""
    parts = text.split("``")
    for index in range(0, len(parts), 2):
        parts[index] = re.sub(r"(<[^<>\s][^<>]*>)", r"`\1`", parts[index])
    return "`".join(parts)


def rules_markdown() -> str:
    """The code list of ``docs/validation.md``, generated from the registry."""
    lines = ["| code | name | severity | source | title |", "|---|---|---|---|---|"]
    for r in RULES.values():
        lines.append(f"| `{r.code}` | `{r.name}` | {r.severity} | {r.source} | {_md(r.title)} |")
    lines.append("")
    for r in RULES.values():
        if not r.can_ignore:
            how = "cannot be ignored (the file was not checked)"
        elif r.severity == WARNING:
            how = f"silence with `--ignore {r.code}` (Python: `ignore=[\"{r.code}\"]`)"
        else:
            how = f"can be ignored with `--ignore {r.code}`"
        lines += [f"### {r.code} `{r.name}`: {_md(r.title)}", "",
                  f"*{r.severity}*, source `{r.source}`; {how}.", "", _md(r.explanation), ""]
    return "\n".join(lines)

