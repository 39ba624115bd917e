"""``<network><route family? address netmask?|prefix? gateway metric?>``: a static route the
bridge's host gets (part of the ``network`` pseudo section; its rules are collected there).

libvirt checks each route when it parses the network (``virNetDevIPRouteParseXML`` and
``virNetDevIPRouteCreate``, src/conf/networkcommon_conf.c) and stops at the first problem; then
``virNetworkDefParseXML`` (src/conf/network_conf.c) requires every gateway to be on the subnet of
one of the network's ``<ip>`` elements.  The rules below follow that order and wording (the
message starts with the network name, libvirt's ``errorDetail``).  What the typed model or the
grammar already refuses (an unreadable address, prefix or netmask, metric 0, an unknown family,
a missing attribute, netmask together with prefix) ``validate`` reports under their codes
(NU-E020, NU-S0xx); the update engine refuses it with libvirt's words here.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from lxml import etree

from netupdate.errors import InvalidFragmentError, ModelError
from netupdate.model import defs as M
from netupdate.model import values as T
from netupdate.sections import ip as IP
from netupdate.sections._spec import ERROR, Finding, Rule, each, q

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
