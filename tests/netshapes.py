"""Hypothesis strategies for the shapes of a runnable network, and for updates to one.

``network_shapes()`` draws a definition the embedded runtime can run (forward mode nat, route,
open or none = isolated) where every part may be present or absent: an IPv4 ``<ip>`` with or
without DHCP ranges and hosts, an IPv6 one likewise, no ``<ip>`` at all, DNS hosts, TXT and SRV
records, forwarders, a domain, routes, an MTU, a MAC, STP and delay.  Every drawn definition is
valid (``netupdate.validate`` finds no error: ``tests/test_netshapes.py`` proves it).

``updates(defs)`` draws one update of the network ``defs`` describes: ``(command, section, xml,
expect_refused)``, an add/modify/delete of some section that the engine accepts, or one it must
refuse (a duplicate add, a delete of something missing, XML that is not the section's element).
All addresses come from a few fixed subnets, so a generated update always fits a generated shape.
"""

from __future__ import annotations

import ipaddress
from functools import partial

from hypothesis import strategies as st

NAME = "gen"
BRIDGE = "nubr-gen"
UUID = "6b1f4c5e-2a7d-4a35-9d6e-0c1b2a3d4e77"   # the network's identity: nothing to fill in
NET4 = ipaddress.ip_network("10.77.0.0/24")
NET6 = ipaddress.ip_network("fd00:77::/64")
SERVER4, SERVER6 = "10.77.0.1", "fd00:77::1"
RANGES4 = (("10.77.0.100", "10.77.0.149"), ("10.77.0.150", "10.77.0.199"))
RANGES6 = (("fd00:77::100", "fd00:77::1ff"), ("fd00:77::200", "fd00:77::2ff"))
MODES = ("nat", "route", "open", "isolated")
LABELS = st.text("abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8)
SRV_SERVICES = ("ldap", "http", "sip", "xmpp")


def _mac(n: int) -> str:
    return f"52:54:00:77:{n // 256:02x}:{n % 256:02x}"


def dhcp4_host_xml(n: int, name: str | None = None) -> str:
    return f"<host mac='{_mac(n)}' name='{name or f'v{n}'}' ip='10.77.0.{n}'/>"


def dhcp6_host_xml(n: int, name: str | None = None) -> str:
    return f"<host name='{name or f'w{n}'}' ip='fd00:77::{n:x}'/>"


def dns_host_xml(address: str, names) -> str:
    return f"<host ip='{address}'>" + "".join(f"<hostname>{n}</hostname>" for n in names) + \
        "</host>"


def txt_xml(name: str, value: str) -> str:
    return f"<txt name='{name}' value='{value}'/>"


def srv_xml(service: str, port: int) -> str:
    return (f"<srv service='{service}' protocol='tcp' domain='gen.test' "
            f"target='{service}.gen.test' port='{port}' priority='1' weight='10'/>")


def range_xml(start: str, end: str) -> str:
    return f"<range start='{start}' end='{end}'/>"


def bridge_xml(stp: bool, delay: int) -> str:
    return f"<bridge name='{BRIDGE}' stp='{'on' if stp else 'off'}' delay='{delay}'/>"


def _dns_address(n: int) -> str:
    return f"10.77.0.{n}" if n < 250 else f"fd00:77::d{n:x}"


@st.composite
def _ip(draw, family: int) -> str:
    dhcp_hosts = draw(st.lists(st.integers(2, 99), max_size=3, unique=True))
    ranges = draw(st.sampled_from([(), (0,), (0, 1)]))
    if family == 4:
        head = f"<ip address='{SERVER4}' prefix='24'>"
        hosts = [dhcp4_host_xml(n) for n in dhcp_hosts]
        spans = [range_xml(*RANGES4[i]) for i in ranges]
    else:
        head = f"<ip family='ipv6' address='{SERVER6}' prefix='64'>"
        hosts = [dhcp6_host_xml(n) for n in dhcp_hosts]
        spans = [range_xml(*RANGES6[i]) for i in ranges]
    dhcp = ("<dhcp>" + "".join(spans + hosts) + "</dhcp>") if spans or hosts else ""
    return head + dhcp + "</ip>"


@st.composite
def _dns(draw, families: tuple[int, ...]) -> str:
    parts = []
    if draw(st.booleans()):
        parts.append("<forwarder addr='10.99.0.53'/>")
    if draw(st.booleans()):
        parts.append("<forwarder domain='upstream.test' addr='10.99.0.54'/>")
    for name in draw(st.lists(LABELS, max_size=2, unique=True)):
        parts.append(txt_xml(name, draw(LABELS)))
    for service in draw(st.lists(st.sampled_from(SRV_SERVICES), max_size=2, unique=True)):
        parts.append(srv_xml(service, draw(st.integers(1, 65535))))
    numbers = st.sampled_from([n for n in range(200, 256) if n < 250 or 6 in families])
    for n in draw(st.lists(numbers, max_size=3, unique=True)):
        parts.append(dns_host_xml(_dns_address(n), draw(st.lists(LABELS, min_size=1,
                                                                    max_size=2, unique=True))))
    return ("<dns>" + "".join(parts) + "</dns>") if parts else ""


@st.composite
def network_shapes(draw) -> str:
    """The XML text of a valid, runnable network named ``NAME`` (uuid ``UUID``) on bridge
    ``BRIDGE``."""
    families = tuple(f for f in (4, 6) if draw(st.booleans()))
    # nat, route and open forward the network's own subnet: they need an <ip> (NU-E116)
    mode = draw(st.sampled_from(MODES)) if families else "isolated"
    out = [f"<network>\n  <name>{NAME}</name>\n  <uuid>{UUID}</uuid>"]
    if mode != "isolated":
        out.append(f"  <forward mode='{mode}'/>")
    out.append("  " + bridge_xml(draw(st.booleans()), draw(st.integers(0, 3))))
    mtu = draw(st.sampled_from([None, 1400, 9000]))
    if mtu:
        out.append(f"  <mtu size='{mtu}'/>")
    if draw(st.booleans()):
        out.append("  <mac address='52:54:00:77:ff:01'/>")
    if families and draw(st.booleans()):
        out.append("  <domain name='gen.test' localOnly='yes'/>")
    if families:
        dns = draw(_dns(families))
        if dns:
            out.append("  " + dns)
    for family in families:
        out.append("  " + draw(_ip(family)))
    if 4 in families and draw(st.booleans()):
        out.append("  <route address='10.200.0.0' prefix='24' gateway='10.77.0.254'/>")
    out.append("</network>\n")
    return "\n".join(out)


def shape(defs) -> str:
    """A short name for the kind of network ``defs`` is: mode, address families, and which
    host lists are empty (the cases hand-picked fixtures tend to miss)."""
    mode = str(defs.forward_mode) if defs.forward_mode is not None else "isolated"
    families = "+".join(f"v{v}" for v in (4, 6) if defs.ips_of(v)) or "no-ip"
    dns_hosts = bool(defs.dns is not None and defs.dns.hosts)
    dhcp_hosts = any(ip.dhcp is not None and ip.dhcp.hosts for ip in defs.ips)
    return f"{mode} {families} dns-hosts={'y' if dns_hosts else 'n'} " \
        f"dhcp-hosts={'y' if dhcp_hosts else 'n'}"


# ---------------------------------------------------------------------- updates
def _used_numbers(hosts) -> set[int]:
    return {int(h.ip) & 0xFFFF for h in hosts if h.ip is not None}


REFUSED_KINDS = {"dup", "missing", "invalid"}


@st.composite
def updates(draw, defs, refused: bool | None = None) -> tuple[str, str, str, bool]:
    """One update of the network ``defs``: ``(command, section, xml, expect_refused)``;
    ``refused`` True or False draws only updates the engine refuses, or only ones it accepts."""
    makers = [_bridge_update, _txt_update, _srv_update, _invalid_update, _domain_update,
              _forward_update]
    ip4 = next(iter(defs.ips_of(4)), None)
    ip6 = next(iter(defs.ips_of(6)), None)
    if defs.ips:
        makers.append(_dns_host_update)
    for ip in (ip4, ip6):
        if ip is not None:
            makers += [partial(_dhcp_host_update, ip=ip), partial(_range_update, ip=ip)]
    for maker in draw(st.permutations(makers)):
        update = maker(draw, defs, lambda kinds: [k for k in kinds if refused is None
                                                  or (k in REFUSED_KINDS) == refused])
        if update is not None:
            return update
    raise AssertionError("no update of that kind")  # _bridge_update / _invalid_update: never


def _dns_of(defs):
    return defs.dns if defs.dns is not None else None


def _bridge_update(draw, defs, allowed):
    if not allowed(["modify"]):
        return None
    return "modify", "bridge", bridge_xml(draw(st.booleans()), draw(st.integers(0, 3))), False


def _domain_update(draw, defs, allowed):
    if defs.domain is None or not allowed(["modify"]):
        return None
    local = draw(st.sampled_from(["yes", "no"]))
    return "modify", "domain", f"<domain name='{draw(LABELS)}.test' localOnly='{local}'/>", False


def _forward_update(draw, defs, allowed):
    """nat, route and open switch among themselves (an isolated network has no <forward>)."""
    mode = str(defs.forward_mode) if defs.forward_mode is not None else None
    if mode not in MODES or not allowed(["modify"]):
        return None
    return "modify", "forward", f"<forward mode='{draw(st.sampled_from(MODES[:3]))}'/>", False


def _kind(draw, allowed, kinds):
    kinds = allowed(kinds)
    return draw(st.sampled_from(kinds)) if kinds else None


def _txt_update(draw, defs, allowed):
    txts = _dns_of(defs).txts if _dns_of(defs) else ()
    kind = _kind(draw, allowed, ["add", "delete", "dup", "missing"] if txts else
                 ["add", "missing"])
    names = {t.name for t in txts}
    if kind == "add":
        name = draw(LABELS.filter(lambda n: n not in names))
        return "add-last", "dns-txt", txt_xml(name, draw(LABELS)), False
    if kind == "delete":
        return "delete", "dns-txt", f"<txt name='{draw(st.sampled_from(sorted(names)))}'/>", False
    if kind == "dup":
        return "add-last", "dns-txt", txt_xml(sorted(names)[0], "again"), True
    if kind == "missing":
        missing = draw(LABELS.filter(lambda n: n not in names))
        return "delete", "dns-txt", f"<txt name='{missing}'/>", True
    return None


def _srv_update(draw, defs, allowed):
    srvs = _dns_of(defs).srvs if _dns_of(defs) else ()
    have = {s.service for s in srvs}
    free = [s for s in SRV_SERVICES if s not in have]
    kind = _kind(draw, allowed, (["add", "missing"] if free else []) +
                 (["delete", "dup"] if have else []))
    if kind == "add":
        service = draw(st.sampled_from(free))
        return "add-last", "dns-srv", srv_xml(service, draw(st.integers(1, 65535))), False
    if kind == "delete":
        return "delete", "dns-srv", srv_xml(draw(st.sampled_from(sorted(have))), 1), False
    if kind == "dup":
        return "add-last", "dns-srv", srv_xml(sorted(have)[0], 2), True
    if kind == "missing":
        return "delete", "dns-srv", srv_xml(draw(st.sampled_from(free)), 1), True
    return None


def _dns_host_update(draw, defs, allowed):
    hosts = _dns_of(defs).hosts if _dns_of(defs) else ()
    used = {str(h.ip) for h in hosts}
    families = {ip.address.version for ip in defs.ips if ip.address is not None}
    numbers = [n for n in range(200, 256) if (n < 250 or 6 in families)
               and _dns_address(n) not in used]
    kind = _kind(draw, allowed, ["add", "missing"] + (["delete", "dup"] if hosts else []))
    if kind == "add":
        address = _dns_address(draw(st.sampled_from(numbers)))
        names = draw(st.lists(LABELS, min_size=1, max_size=2, unique=True))
        return "add-last", "dns-host", dns_host_xml(address, names), False
    if kind == "delete":
        return "delete", "dns-host", f"<host ip='{draw(st.sampled_from(sorted(used)))}'/>", False
    if kind == "dup":
        host = hosts[0]
        return "add-last", "dns-host", dns_host_xml(str(host.ip), host.hostnames), True
    if kind == "missing":
        address = _dns_address(draw(st.sampled_from(numbers)))
        return "delete", "dns-host", f"<host ip='{address}'/>", True
    return None


def _dhcp_host_update(draw, defs, allowed, ip):
    family = ip.address.version
    hosts = ip.dhcp.hosts if ip.dhcp is not None else ()
    used = _used_numbers(hosts)
    free = [n for n in range(2, 100) if n not in used]
    make = dhcp4_host_xml if family == 4 else dhcp6_host_xml
    kind = _kind(draw, allowed, ["add", "missing"] + (["modify", "delete", "dup"] if hosts
                                                      else []))
    if kind is None:
        return None
    if kind in ("add", "missing"):
        n = draw(st.sampled_from(free))
        if kind == "missing":
            return "delete", "ip-dhcp-host", make(n), True
        return draw(st.sampled_from(["add-last", "add-first"])), "ip-dhcp-host", make(n), False
    n = draw(st.sampled_from(sorted(used)))
    host = next(h for h in hosts if (int(h.ip) & 0xFFFF) == n)
    same = make(n, host.name) if family == 6 else \
        f"<host mac='{host.mac}' name='{host.name}' ip='{host.ip}'/>"
    if kind == "modify":  # same identity (MAC for IPv4, name for IPv6), another address
        m = draw(st.sampled_from(free))
        if family == 4:
            return "modify", "ip-dhcp-host", \
                f"<host mac='{host.mac}' name='{host.name}' ip='10.77.0.{m}'/>", False
        return "modify", "ip-dhcp-host", dhcp6_host_xml(m, host.name), False
    return ("delete", "ip-dhcp-host", same, False) if kind == "delete" else \
        ("add-last", "ip-dhcp-host", same, True)


def _range_update(draw, defs, allowed, ip):
    spans = RANGES4 if ip.address.version == 4 else RANGES6
    have = {(str(r.start), str(r.end)) for r in (ip.dhcp.ranges if ip.dhcp else ())}
    present = [s for s in spans if s in have]
    absent = [s for s in spans if s not in have]
    kind = _kind(draw, allowed, (["add", "missing"] if absent else []) +
                 (["delete", "dup"] if present else []))
    if kind == "add":
        return "add-last", "ip-dhcp-range", range_xml(*draw(st.sampled_from(absent))), False
    if kind == "missing":
        return "delete", "ip-dhcp-range", range_xml(*draw(st.sampled_from(absent))), True
    if kind is None:
        return None
    span = draw(st.sampled_from(present))
    return ("delete" if kind == "delete" else "add-last"), "ip-dhcp-range", range_xml(*span), \
        kind == "dup"


def _invalid_update(draw, defs, allowed):
    if not allowed(["invalid"]):
        return None
    return draw(st.sampled_from([
        ("add-last", "dns-host", "<host ip='not-an-ip'><hostname>x</hostname></host>", True),
        ("add-last", "dns-txt", "<srv service='x' protocol='tcp'/>", True),
        ("modify", "bridge", "<bridge name='nubr-gen' stp='maybe'/>", True),
        ("add-last", "ip-dhcp-host", "<host mac='zz:54:00:00:00:01' ip='10.77.0.9'/>", True),
        ("add-last", "dns-host", "<host ip='10.77.0.9'><hostname>x</hostname>", True),
    ]))
