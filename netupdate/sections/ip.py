"""``ip`` (libvirt section 3): ``<network><ip address family? prefix? netmask? localPtr?>``
with ``<tftp>`` and ``<dhcp>`` children.

Keyed by ``address``; libvirt refuses the section in ``net-update``, netupdate edits it.  The
family and DHCP facts (``ip_version``, ``dhcp_active``) are read by the DHCP sections and the
engine too.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from lxml import etree

from netupdate.errors import DuplicateError, InvalidFragmentError, ModelError, NetupdateError
from netupdate.model import defs as M
from netupdate.model import text as TC
from netupdate.model import values as T
from netupdate.sections._spec import (
    ADDED,
    CONF,
    ERROR,
    FIREWALL_SUBNET,
    LV_REFUSED,
    MODIFIED,
    REMOVED,
    Finding,
    Rule,
    Section,
    q,
    row,
)

SECTION = Section("ip", 3, ("network", "ip"), M.IpDef, True, frozenset(), ("address",))


def ip_version(ip_el) -> int:
    """The address family of an ``<ip>`` (an IPv6 address always contains ':')."""
    address = ip_el.get("address")
    if address:
        return 6 if ":" in address else 4
    return 6 if ip_el.get("family") == "ipv6" else 4


def dhcp_active(ip_el) -> bool:
    """Whether an ``<ip>`` has DHCP ranges or hosts (libvirt writes ``<dhcp>`` only then)."""
    for dhcp in ip_el.iterchildren("dhcp"):
        for child in dhcp:
            if child.tag == "range" or child.tag == "host":
                return True
    return False


def addresses(defs: M.NetworkDef) -> list[str]:
    """The bridge's addresses (``address/prefix``), in document order."""
    return [f"{ip.address}/{ip.effective_prefix}" for ip in defs.ips if ip.address is not None]


def server_address(defs: M.NetworkDef) -> str | None:
    """Where to ask the network's DNS: its first IPv4 address, else its first IPv6 one."""
    for version in (4, 6):
        for ip in defs.ips_of(version):
            if ip.address is not None:
                return str(ip.address)
    return None


def subnets(defs: M.NetworkDef, version: int) -> list[str]:
    """The subnets of one family (the firewall's rules are per subnet)."""
    return [str(ip.network) for ip in defs.ips_of(version) if ip.network is not None]


def ip_def(ip_el) -> M.IpDef | None:
    """Address, prefix and family of an ``<ip>`` (its children are not read); None when the
    attributes cannot be read."""
    try:
        return M.IpDef.from_element(etree.Element("ip", dict(ip_el.attrib)))
    except ModelError:
        return None


def network(ipdef: M.IpDef):
    """The subnet of an ``<ip>`` read by ``ip_def``; None without an address or when the
    prefix does not fit it (NU-E125)."""
    if ipdef.address is None:
        return None
    try:
        return ipdef.network
    except ValueError:
        return None


def _family(version: int) -> str:
    return "IPv4" if version == 4 else "IPv6"


def single_dhcp(version: int) -> str:
    """libvirt's refusal of DHCP on a second ``<ip>`` of one family."""
    return f"dhcp is supported only for a single IPv{version} address on each network"


def duplicate_address(n: str, address) -> str:
    return f"there is an existing <ip> element with address '{address}' in network {q(n)}"


def missing_address(n: str) -> str:
    return f"Missing required address attribute in network {q(n)}"


def _family_findings(ip_el, address, n: str) -> Iterator[Finding]:
    family = ip_el.get("family")
    detail = (f"family '{family}' does not match the {_family(address.version)} address"
              if family in ("ipv4", "ipv6") else None)   # another word: NU-E101
    if address.version == 6 and family != "ipv6":
        if family is None:
            yield Finding(ip_el, f"no family specified for non-IPv4 address '{address}' in "
                          f"network {q(n)}", "an IPv6 address needs family='ipv6'")
        else:
            yield Finding(ip_el, f"Family '{family}' specified for non-IPv4 address "
                          f"'{address}' in network {q(n)}", detail)
    if address.version == 4 and family not in (None, "ipv4"):
        yield Finding(ip_el, f"Family '{family}' specified for non-IPv6 address '{address}' in "
                      f"network {q(n)}", detail)


def _shape(ip_el, n: str) -> Iterator[Finding]:
    """NU-E125 on one ``<ip>``."""
    if ip_el.get("address") is None:
        yield Finding(ip_el, missing_address(n), "<ip> needs an 'address' attribute",
                      InvalidFragmentError)
        return
    ipdef = ip_def(ip_el)
    if ipdef is None or ipdef.address is None:   # validate: NU-E020
        yield Finding(ip_el, f"invalid <ip> element in network {q(n)}", None,
                      InvalidFragmentError)
        return
    address = ipdef.address
    yield from _family_findings(ip_el, address, n)
    if ip_el.get("prefix") is not None and ip_el.get("netmask") is not None:
        yield Finding(ip_el, f"Network {q(n)} IP address cannot have both a prefix and a "
                      "netmask", "<ip> has both 'netmask' and 'prefix'; use one")
    if address.version == 6 and ip_el.get("netmask") is not None:
        yield Finding(ip_el, f"netmask not allowed for IPv6 address '{address}' in network "
                      f"{q(n)}", "'netmask' is not allowed for an IPv6 address; use 'prefix'")
    limit = 32 if address.version == 4 else 128
    if ipdef.prefix is not None and ipdef.prefix > limit:
        yield Finding(ip_el, f"invalid prefix {ipdef.prefix} for address '{address}' in "
                      f"network {q(n)}", f"prefix {ipdef.prefix} is too long for an "
                      f"{_family(address.version)} address (at most {limit})")


def _duplicates(view) -> Iterator[Finding]:
    seen: dict = {}
    for ip_el in view.root.iterchildren("ip"):
        ipdef = ip_def(ip_el) if ip_el.get("address") is not None else None
        if ipdef is None or ipdef.address is None:
            continue
        address = ipdef.address
        if address in seen:
            line = seen[address].sourceline
            yield Finding(ip_el, duplicate_address(view.n, address),
                          f"address {address} is already used by another <ip>"
                          + (f" (line {line})" if line else ""), DuplicateError)
        else:
            seen[address] = ip_el


def _ipv4_only(ip_el, n: str) -> Iterator[Finding]:
    """NU-E128 on one ``<ip>``: ``<tftp>`` in an IPv6 one (libvirt refuses it); ``<bootp>``
    there libvirt's parser skips without a word, so only validate reports it."""
    if ip_version(ip_el) != 6 or ip_el.get("address") is None:
        return
    tftp = next(ip_el.iterchildren("tftp"), None)
    if tftp is not None:
        yield Finding(tftp, f"Unsupported <tftp> element in an IPv6 element in network {q(n)}",
                      "<tftp> is not supported in an IPv6 <ip>")
    for dhcp in ip_el.iterchildren("dhcp"):
        for bootp in dhcp.iterchildren("bootp"):
            yield Finding(bootp, None, "<bootp> is not supported in an IPv6 <ip>")


def _single_dhcp(view) -> Iterator[Finding]:
    first: dict[int, object] = {}
    for ip_el in view.root.iterchildren("ip"):
        if ip_el.get("address") is None or not dhcp_active(ip_el):
            continue
        version = ip_version(ip_el)
        if version in first:
            yield Finding(ip_el, single_dhcp(version),
                          f"dhcp is supported only for a single {_family(version)} address on "
                          f"each network; the <ip> at line {first[version].sourceline} "
                          "already has DHCP")
        else:
            first[version] = ip_el


def host_families(view) -> Iterator[Finding]:
    """A DHCP host whose address is of the other family than its ``<ip>`` (libvirt refuses it;
    the family part of ip-dhcp-host's NU-E105)."""
    for ip_el in view.root.iterchildren("ip"):
        dhcp = next(ip_el.iterchildren("dhcp"), None)
        ipdef = ip_def(ip_el) if dhcp is not None and ip_el.get("address") is not None else None
        net = network(ipdef) if ipdef is not None else None
        if net is None:
            continue
        for host in dhcp.iterchildren("host"):
            raw = host.get("ip")
            if raw is None or (":" in raw) == (net.version == 6):
                continue
            try:
                address = T.parse_ip(raw)
            except ValueError:
                continue
            yield Finding(host, "the address family of a host entry IP must match the address "
                          f"family of the dhcp element's parent (network {view.n}, host {raw})",
                          f"{_family(address.version)} address {address} in the DHCP of an "
                          f"{_family(net.version)} <ip> ({net})")


def _each_ip(item):
    def check(view) -> Iterator[Finding]:
        for ip_el in view.root.iterchildren("ip"):
            yield from item(ip_el, view.n)
    return check


def check_fragment(element, n: str) -> Iterator[Finding]:
    """libvirt's parser on one ``<ip>``: the address is required (delete needs it too)."""
    if element.get("address") is None:
        yield Finding(element, missing_address(n), error=InvalidFragmentError)


# in the order the update engine reports them
RULES = (
    Rule("NU-E125", "ip-address-shape", ERROR, "Inconsistent <ip> address, family or prefix",
         "An ``<ip>`` must have an ``address``; its ``family`` must match the address (and "
         "is required, ``ipv6``, for an IPv6 one); ``netmask`` is for IPv4 only and cannot be "
         "combined with ``prefix``; the prefix fits the address (at most 32 or 128).  libvirt "
         "refuses each of these.", check=_each_ip(_shape), scope="ip", item=_shape),
    Rule("NU-E132", "ip-duplicate-address", ERROR, "Two <ip> elements with one address",
         "Two ``<ip>`` elements have the same address.  The bridge can hold the address only "
         "once, and an ``<ip>`` is found by its address; netupdate refuses the second one "
         "(libvirt refuses the update section altogether).", check=_duplicates, scope="ip"),
    Rule("NU-E128", "ipv4-only-feature", ERROR, "TFTP or BOOTP on an IPv6 <ip>",
         "``<tftp>`` and ``<bootp>`` (network boot) are IPv4 features.  libvirt refuses "
         "``<tftp>`` in an IPv6 ``<ip>`` and silently drops ``<bootp>`` there.",
         check=_each_ip(_ipv4_only), scope="ip", item=_ipv4_only),
    Rule("NU-E111", "dhcp-multiple-per-family", ERROR, "More than one DHCP <ip> per family",
         "Two ``<ip>`` elements of the same address family both have DHCP ranges or hosts.  "
         "libvirt (and its dnsmasq configuration) supports DHCP on only one IPv4 and one IPv6 "
         "address of each network.", check=_single_dhcp, scope="ip"),
)

# the rule scopes the update engine re-checks after an edit of this section
RECHECK = ("forward", "ip", "route")   # route: its gateways need an <ip>

# how a diff matches and names an <ip>: by its subnet, the prefix defaulting to the classful
# (IPv4) or /64 (IPv6) one
DIFF_DEFAULTS = {"prefix": lambda ip: ip.effective_prefix}


def diff_key(ip: M.IpDef) -> tuple:
    return (ip.address, ip.effective_prefix)


def format_key(key: tuple, show) -> str:
    return f"{show(key[0])}/{show(key[1])}"


# an <ip>'s DHCP ranges and hosts are sections of their own (fields of the item -> section)
DIFF_SUBSECTIONS = {"dhcp.ranges": "ip-dhcp-range", "dhcp.hosts": "ip-dhcp-host"}


def diff_own(ip: M.IpDef, same) -> M.IpDef:
    """What a diff reports as the ``<ip>`` itself: of its ``<dhcp>`` only ``<bootp>`` stays."""
    dhcp = ip.dhcp
    if dhcp is not None:
        dhcp = M.DhcpDef(bootp=dhcp.bootp) if dhcp.bootp is not None else None
    return replace(ip, dhcp=dhcp)


_SUBNET_LINES = "dnsmasq's dhcp-range, RA and PTR lines name the subnet; " + CONF

_IPV6_SYSCTLS = ("bridge-ipv6", "the first IPv6 <ip> comes or the last goes: the bridge's "
                 "disable_ipv6 follows (accept_ra and autoconf stay 0, as libvirt's "
                 "networkSetIPv6Sysctls sets them), before the address is added (the kernel "
                 "refuses IPv6 addresses while it is 1), after it is removed")


def _ipv6_flip(rows) -> tuple:
    """Each add/remove row again, for the change that adds the first or removes the last
    IPv6 ``<ip>`` (condition ``ipv6-flip``): the same steps plus the bridge's IPv6 sysctls.
    They come first: rows of equal specificity are tried in table order."""
    return tuple(row(r.id + ".ipv6", r.section, r.field, r.ops, _IPV6_SYSCTLS, *r.do,
                     when=(*r.when, "ipv6-flip"), libvirt=r.libvirt) for r in rows)


_ADD_REMOVE = (
    row("ip.added.routed", "ip", "*", (ADDED,),
        ("address-add", "the address is added to the running bridge"),
        ("firewall-reload", FIREWALL_SUBNET),
        ("dnsmasq-restart", _SUBNET_LINES),
        when=("routed",), libvirt=LV_REFUSED),
    row("ip.added", "ip", "*", (ADDED,),
        ("address-add", "the address is added to the running bridge (no firewall rule names "
                        "subnets in this mode)"),
        ("dnsmasq-restart", _SUBNET_LINES),
        libvirt=LV_REFUSED),
    row("ip.removed.routed", "ip", "*", (REMOVED,),
        ("address-remove", "the address is removed from the running bridge"),
        ("firewall-reload", FIREWALL_SUBNET),
        ("dnsmasq-restart", _SUBNET_LINES),
        when=("routed",), libvirt=LV_REFUSED),
    row("ip.removed", "ip", "*", (REMOVED,),
        ("address-remove", "the address is removed from the running bridge (no firewall rule "
                           "names subnets in this mode)"),
        ("dnsmasq-restart", _SUBNET_LINES),
        libvirt=LV_REFUSED),
)

PLAN_ROWS = (
    *_ipv6_flip(_ADD_REMOVE),
    *_ADD_REMOVE,
    row("ip.local_ptr", "ip", "local_ptr", (MODIFIED,),
        ("dnsmasq-restart", "localPtr is a local=/<reverse zone>/ line; " + CONF),
        libvirt=LV_REFUSED),
    row("ip.tftp_root", "ip", "tftp_root", (MODIFIED,),
        ("dnsmasq-restart", "enable-tftp and tftp-root are conf lines; " + CONF + "; no "
                            "firewall rule depends on TFTP (libvirt opens port 69 with a rule)"),
        libvirt=LV_REFUSED),
    row("ip.dhcp", "ip", "dhcp", (MODIFIED,),
        ("dnsmasq-restart", "<bootp> is the dhcp-boot line; " + CONF),
        libvirt=LV_REFUSED),
)

# conf lines at three places of libvirt's order (the DHCP block is ip-dhcp-range's)
DNSMASQ_SLOT = ("ptr", "tftp", "ra")


def dhcp_ips(defs: M.NetworkDef) -> tuple[M.IpDef | None, M.IpDef | None]:
    """The IPv4 and IPv6 ``<ip>`` whose DHCP dnsmasq serves: the first of each family with
    ranges or hosts (libvirt serves only that one)."""
    return tuple(next((ip for ip in defs.ips_of(version) if ip.has_dhcp), None)
                 for version in (4, 6))


def ptr_zone(ip: M.IpDef) -> str:
    """The reverse DNS zone of an ``<ip>``'s network (``122.168.192.in-addr.arpa``)."""
    net = ip.network
    if net is None:
        raise NetupdateError(f"<ip> without address cannot have localPtr: {ip!r}")
    step = 8 if net.version == 4 else 4
    if net.prefixlen % step:
        raise NetupdateError(
            f"PTR domain for IPv{net.version} network with prefix {net.prefixlen} "
            f"is not supported (the prefix must be a multiple of {step})")
    labels = net.network_address.reverse_pointer.split(".")
    suffix = 2  # in-addr.arpa / ip6.arpa
    keep = net.prefixlen // step
    return ".".join(labels[len(labels) - suffix - keep:])


def dnsmasq_lines(defs: M.NetworkDef, slot: str) -> list[str]:
    """``local=`` (when DNS is served: the caller checks), the TFTP lines (IPv4 only) or the
    router advertisement lines."""
    if slot == "ptr":
        return [f"local=/{ptr_zone(ip)}/" for ip in defs.ips if ip.local_ptr is True]
    if slot == "tftp":
        roots = [f"tftp-root={TC.ensure(TC.absolute_path, ip.tftp_root, 'the tftp root')}"
                 for ip in defs.ips_of(4) if ip.tftp_root is not None]
        return ["enable-tftp", *roots] if roots else []
    if dhcp_ips(defs)[1] is not None:
        return ["enable-ra"]
    return [f"dhcp-range={ip.address},ra-only" for ip in defs.ips_of(6) if ip.address is not None]
