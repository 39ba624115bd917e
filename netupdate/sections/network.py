"""``network`` (a pseudo section: no libvirt code): ``<network>`` itself and the children no
other section addresses (``<name>``, ``<uuid>``, ``<mtu>``, ``<mac>``, ``<bandwidth>``,
``<vlan>``, ``<route>``, ``<dnsmasq:options>``, ...).

libvirt has no update section for any of it (net-define, then destroy/start); netupdate edits
each child in place.  ``<route>`` and ``<dnsmasq:options>`` diff as items of their own
(``route`` and ``dnsmasq-options`` in the planner's table); libvirt's checks of a ``<route>``
(NU-E134, NU-E135) are rules of this section.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from lxml import etree

from netupdate.errors import InvalidFragmentError, ModelError
from netupdate.model import defs as M
from netupdate.model import values as T
from netupdate.sections import ip as IP
from netupdate.sections._spec import (
    ADDED,
    ALL_OPS,
    CONF,
    COUNTER,
    ERROR,
    LV_DEFINE,
    MODIFIED,
    POOL,
    REMOVED,
    RESTART,
    UNMANAGED,
    Finding,
    Rule,
    Section,
    each,
    q,
    row,
)

SECTION = Section("network", None, ("network",), M.NetworkDef, False, frozenset())


def _name(view) -> Iterator[Finding]:
    element = next(view.root.iterchildren("name"), None)
    if element is None or not (element.text or "").strip():
        # a missing <name> is the grammar's to report (validate), an empty one this rule's
        yield Finding(element if element is not None else view.root,
                      f"a network needs a <name> (network {q(view.n)})",
                      "the network name is empty" if element is not None else None)


def _multicast(text: str | None) -> bool:
    try:
        return text is not None and T.MAC(text).is_multicast
    except ValueError:      # an unreadable MAC is the model's (NU-E020) and the parser's
        return False


def unicast_host(element, n: str) -> Iterator[Finding]:
    """NU-E124 on one DHCP ``<host>`` (libvirt's parser of the host, every command)."""
    mac = element.get("mac")
    if _multicast(mac):
        yield Finding((element, "mac"), f"expected unicast mac address, found multicast '{mac}' "
                      f"in network {q(n)}", f"host MAC address {mac} is a multicast address",
                      InvalidFragmentError)


def _unicast(view) -> Iterator[Finding]:
    mac = next(view.root.iterchildren("mac"), None)
    if mac is not None and _multicast(mac.get("address")):
        yield Finding((mac, "address"), f"the bridge MAC address of network {q(view.n)} must be "
                      f"unicast", f"bridge MAC address {mac.get('address')} is a multicast "
                      "address")
    for ip in view.root.iterchildren("ip"):
        for host in (h for dhcp in ip.iterchildren("dhcp") for h in dhcp.iterchildren("host")):
            yield from unicast_host(host, view.n)


# ---------------------------------------------------------------------- <route>
# libvirt checks each route when it parses the network (virNetDevIPRouteParseXML and
# virNetDevIPRouteCreate, src/conf/networkcommon_conf.c) and stops at the first problem; then
# virNetworkDefParseXML (src/conf/network_conf.c) requires every gateway to be on the subnet of
# an <ip>.  The rules below follow that order and wording (the message starts with the network
# name, libvirt's errorDetail).  What the typed model or the grammar already refuses (an
# unreadable address, prefix or netmask, metric 0, an unknown family, a missing attribute,
# netmask together with prefix) validate reports under their codes (NU-E020, NU-S0xx); the
# update engine refuses it with libvirt's words here.

_WHERE = "in route definition"


def route_def(route) -> M.RouteDef | None:
    """The route's attributes read by the typed model; None when it cannot read them (the
    model's error, NU-E020, stands for libvirt's)."""
    try:
        return M.RouteDef.from_element(etree.Element("route", dict(route.attrib)))
    except ModelError:
        return None


def _family_problem(route, rd: M.RouteDef) -> tuple[str, bool] | None:
    """libvirt's per-family checks: (its words, whether validate reports them under this
    rule: False when the grammar already does)."""
    address, gateway = route.get("address"), route.get("gateway")
    if rd.family == T.Family.IPV6:
        if rd.address.version != 6:
            return f"ipv6 family specified for non-IPv6 address '{address}' {_WHERE}", True
        if route.get("netmask") is not None:
            return f"Specifying netmask invalid for IPv6 address '{address}' {_WHERE}", True
        if rd.gateway.version != 6:
            return (f"ipv6 specified for non-IPv6 gateway address '{gateway}' {_WHERE}", True)
        return None   # a prefix above 128 the model refuses
    said = "No family specified" if rd.family is None else "IPv4 family specified"
    if rd.address.version != 4:
        return f"{said} for non-IPv4 address '{address}' {_WHERE}", True
    if rd.gateway.version != 4:
        # libvirt prints the route's address here (a slip in its source); the gateway is meant
        return f"{said} for non-IPv4 gateway '{gateway}' {_WHERE}", True
    prefix = route.get("prefix")
    if route.get("netmask") is not None and prefix is not None:
        return "Route definition cannot have both a prefix and a netmask", False
    if prefix is not None and rd.prefix > 32:
        return f"Invalid prefix {rd.prefix} specified {_WHERE}, must be 0 - 32", True
    return None


def _problem(route) -> tuple[str, bool] | None:
    """The first problem libvirt's parser finds in one ``<route>``: (its words without the
    network name, whether validate reports them under this rule)."""
    rd = route_def(route)
    if rd is None:
        return None
    for name in ("address", "gateway"):
        if route.get(name) is None:     # the grammar's NU-S003 for validate
            return f"Missing required {name} attribute {_WHERE}", False
    found = _family_problem(route, rd)
    if found is not None:
        return found
    # without prefix and netmask libvirt masks with prefix 0: only the all-zero address passes
    prefix = rd.prefix if rd.prefix is not None else 0
    if ipaddress.ip_interface(f"{rd.address}/{prefix}").network.network_address != rd.address:
        return f"Address '{route.get('address')}' {_WHERE} is not a network address", True
    return None


def route_shape(route, n: str) -> Iterator[Finding]:
    """NU-E134 on one ``<route>``."""
    found = _problem(route)
    if found is not None:
        words, own = found
        yield Finding(route, f"{n}: {words}", words if own else None, InvalidFragmentError)


def _gateways(view) -> Iterator[Finding]:
    """NU-E135: every gateway of a route libvirt reads is on the subnet of an ``<ip>``."""
    subnets = []
    for ip_el in view.root.iterchildren("ip"):
        ipdef = IP.ip_def(ip_el) if ip_el.get("address") is not None else None
        net = IP.network(ipdef) if ipdef is not None else None
        if net is not None:
            subnets.append(net)
    for route in view.root.iterchildren("route"):
        if route.get("address") is None or _problem(route) is not None:
            continue
        rd = route_def(route)
        if rd is None or rd.gateway is None:
            continue
        if not any(rd.gateway.version == net.version and rd.gateway in net for net in subnets):
            yield Finding(route, f"unreachable static route gateway '{rd.gateway}' specified "
                          f"for network {q(view.n)}", f"gateway {rd.gateway} is not on the "
                          "subnet of any <ip> of the network")


RULES = (
    Rule("NU-E124", "multicast-mac", ERROR, "Multicast MAC address",
         "A MAC address that must name one interface (a DHCP host, the bridge's ``<mac>``) has "
         "the multicast bit set (the lowest bit of its first octet, e.g. ``01:00:5e:...``).  "
         "libvirt refuses it (\"expected unicast mac address, found multicast\").",
         check=_unicast, scope="network", item=unicast_host),
    Rule("NU-E126", "network-name", ERROR, "Empty network name",
         "The network ``<name>`` is empty.  (A name with a ``/``, white space or a control "
         "character is ``NU-E021``: the name is used in file names such as "
         "``/etc/libvirt/qemu/networks/NAME.xml``.)", check=_name, scope="network"),
    Rule("NU-E134", "route-definition", ERROR, "Inconsistent <route>",
         "A ``<route>`` needs an ``address`` and a ``gateway`` of its ``family`` (IPv4 when "
         "``family`` is absent, ``ipv6`` for IPv6); ``netmask`` is for IPv4 only and cannot be "
         "combined with ``prefix``; the prefix is 0 - 32 (IPv4) or 0 - 128 (IPv6); the address "
         "is the network address of its prefix (with neither ``prefix`` nor ``netmask`` libvirt "
         "takes prefix 0, so only ``0.0.0.0`` or ``::``); ``metric`` is above 0.  libvirt "
         "refuses each of these when it parses the network (the kernel would refuse the route "
         "too).  Unreadable values, metric 0 and a missing attribute are reported as NU-E020 or "
         "by the grammar.", check=each(("route",), route_shape), scope="route", item=route_shape),
    Rule("NU-E135", "route-gateway-unreachable", ERROR, "Route gateway outside the network",
         "The ``gateway`` of a ``<route>`` is not on the subnet of any ``<ip>`` of its family, "
         "so the bridge cannot reach it.  libvirt refuses the network (\"unreachable static "
         "route gateway\").", check=_gateways, scope="route"),
)

# fragments of this section are children of <network>: each is read and checked by the section
# that owns it, or by its typed definition
check_fragment = None

# the rule scopes the update engine re-checks after an edit of a child of <network>
RECHECK = ("network", "route", "forward", "bridge", "domain", "ip", "dns", "portgroup")

PORTS = ("read when a guest port is plugged; ports already attached keep their settings until "
         "they are re-plugged")
INFO = "informational: nothing on the running network reads it"
IDENTITY = ("the name and uuid are the network's identity (state files, dnsmasq conf and pid "
            "file are named after it; libvirt refuses to redefine a running network under "
            "another identity): not a live change, so the network is stopped under the old "
            "identity and started under the new one")
ALL = ALL_OPS

PLAN_ROWS = (
    row("network.name", "network", "name", ALL, (RESTART, IDENTITY),
        libvirt="impossible: a new name defines a second network"),
    row("network.uuid", "network", "uuid", ALL, (RESTART, IDENTITY),
        libvirt="refused: the name already exists with another uuid"),
    row("network.title", "network", "title", ALL, ("none", INFO), libvirt=LV_DEFINE),
    row("network.description", "network", "description", ALL, ("none", INFO),
        libvirt=LV_DEFINE),
    row("network.metadata", "network", "metadata", ALL, ("none", INFO),
        libvirt="virNetworkSetMetadata, no live effect"),
    row("network.connections", "network", "connections", ALL, ("none", COUNTER),
        libvirt="runtime state"),
    row("network.ipv6", "network", "ipv6", ALL,
        ("none", "libvirt reads ipv6='yes' only for its firewall: on a network without IPv6 "
                 "addresses it adds the IPv6 rules that reject forwarding to and from the bridge "
                 "and accept guest-to-guest traffic; our inet table holds those rules for both "
                 "families on every managed network, so nothing changes (libvirt's disable_ipv6 "
                 "on the bridge follows the IPv6 <ip> elements, not this attribute)"),
        when=("managed",), libvirt=LV_DEFINE),
    row("network.trust_guest_rx_filters", "network", "trust_guest_rx_filters", ALL,
        ("none", PORTS), libvirt=LV_DEFINE),
    row("network.mtu", "network", "mtu", ALL,
        ("bridge-mtu", "the bridge MTU is set through netlink; guest ports plugged from now on "
                       "get it too"),
        ("dnsmasq-restart", "dnsmasq advertises the MTU (dhcp-option=option:mtu); " + CONF),
        when=("managed",), libvirt=LV_DEFINE),
    row("network.mac.removed", "network", "mac", (REMOVED,),
        ("none", "no <mac>: the bridge keeps its address (libvirt generates one into the "
                 "definition)"), when=("managed",), libvirt=LV_DEFINE),
    row("network.mac", "network", "mac", (ADDED, MODIFIED),
        ("bridge-mac", "the bridge MAC is set on the running bridge through netlink; ports stay "
                       "attached (guests re-learn it from the next ARP/ND exchange)"),
        when=("managed",), libvirt=LV_DEFINE),
    row("network.vlan", "network", "vlan", ALL, ("none", PORTS), libvirt=LV_DEFINE),
    row("network.bandwidth", "network", "bandwidth", ALL,
        ("bridge-bandwidth", "the bridge's QoS (htb classes 1:1 and 1:2, sfq, ingress policing, "
                             "as libvirt sets them) is cleared and set again through netlink; "
                             "ports stay attached"),
        when=("managed",), libvirt=LV_DEFINE),
    row("network.port_isolated", "network", "port_isolated", ALL,
        ("bridge-port-isolated", "isolation is switched on every attached port through netlink; "
                                 "ports plugged from now on get it too"),
        when=("managed",), libvirt=LV_DEFINE),
    row("network.virtualport.device", "network", "virtualport", ALL, POOL, when=UNMANAGED,
        libvirt=LV_DEFINE),
    row("network.virtualport", "network", "virtualport", ALL, ("none", PORTS),
        libvirt=LV_DEFINE),
)

# libvirt's defaults for <network>'s own attributes
DIFF_DEFAULTS = {"ipv6": False, "port_isolated": False, "trust_guest_rx_filters": False}

DNSMASQ_SLOT = "mtu"   # after the host files: the MTU dnsmasq advertises


def dnsmasq_lines(defs: M.NetworkDef) -> list[str]:
    return [f"dhcp-option=option:mtu,{defs.mtu}"] if defs.mtu is not None else []
