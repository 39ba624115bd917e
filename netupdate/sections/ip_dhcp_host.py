"""``ip-dhcp-host`` (libvirt section 4): ``<network><ip><dhcp><host mac|id name? ip>`` with an
optional ``<lease>``.

libvirt implements every command.  A host is matched, and clashes with another, by its MAC
(compared as an address: case and leading zeros do not matter), its name (exactly) or its IP
(compared as an address); ``key_of`` is that one normalisation, used by the update engine's
host index and by validate's rules alike.  A host is one ``dhcp-hostsfile`` line; the embedded
runtime keeps one file per host in ``--dhcp-hostsdir`` (``file_name``), so an added host needs
no signal and a changed or removed one a SIGHUP (``live_kinds``).

The engine checks a host edit against an index of the ``<dhcp>`` (``edit/indexes.py``
``HostIndex``), never by rescanning: that keeps a 100,000-host batch linear.  The wording of
what it refuses lives here (``clash_message``, ``check_fragment``), so it exists once.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Iterator

from netupdate.document.patterns import Pattern
from netupdate.errors import DuplicateError, InvalidFragmentError
from netupdate.model import defs as M
from netupdate.model import text as TC
from netupdate.model import values as T
from netupdate.sections._spec import (
    ADDED,
    ALL_COMMANDS,
    DHCP_FLIP,
    ERROR,
    MODIFIED,
    NO_FW_HOSTS,
    REMOVED,
    Finding,
    Rule,
    Section,
    q,
    row,
)
from netupdate.sections.ip import ip_version
from netupdate.sections.network import unicast_host

SECTION = Section("ip-dhcp-host", 4, ("network", "ip", "dhcp", "host"), M.DhcpHost, True,
                  ALL_COMMANDS, ("mac", "name", "ip"))

# ---------------------------------------------------------------------- one normalisation
KEYS = ("mac", "name", "ip", "id")
CLASH_KEYS = ("mac", "name", "ip")      # what libvirt compares on add (the engine: and modify)


def norm_mac(value: str) -> str:
    """A MAC as libvirt compares it (virMacAddrCompare parses both): lower case, two digits an
    octet; text that is no MAC, lower-cased."""
    if len(value) == 17:
        return value.lower()
    try:
        return T.MAC(value).normalized
    except ValueError:
        return value.lower()


@functools.lru_cache(maxsize=65536)
def norm_ip(value: str):
    """An address for comparison (its text when it is not one); cached because record checks
    compare a fragment with every record of a large network."""
    try:
        return T.parse_ip(value)
    except ValueError:
        return value


def norm_id(value: str) -> str:
    try:
        return T.DUID(value).normalized
    except ValueError:
        return value.lower()


NORMALIZE = {"mac": norm_mac, "name": str, "ip": norm_ip, "id": norm_id}


def key_of(element, known=None) -> dict[str, object]:
    """The normalised key attributes of a ``<host>`` (only those present); ``known``: its
    typed definition, whose address is already parsed (``norm_ip`` gives the same)."""
    out = {}
    for kind in KEYS:
        raw = element.get(kind)
        if raw is not None:
            parsed = known.ip if kind == "ip" and known is not None else None
            out[kind] = parsed if parsed is not None else NORMALIZE[kind](raw)
    return out


# ---------------------------------------------------------------------- wording
def describe(element) -> tuple[str, str, str]:
    """(mac, name, ip) as libvirt prints a host in its messages."""
    mac = element.get("mac") or "unknown"
    name = element.get("name") if element.get("name") is not None else "(null)"
    ip = element.get("ip")
    return mac, name, str(norm_ip(ip)) if ip is not None else "(null)"


def clash_message(n: str, element) -> str:
    mac, name, ip = describe(element)
    return (f"there is an existing dhcp host entry in network {q(n)} that matches "
            f"\"<host mac='{mac}' name='{name}' ip='{ip}'/>\"")


def not_found_message(n: str, element) -> str:
    mac, name, ip = describe(element)
    return (f"couldn't locate an existing dhcp host entry with \"mac='{mac}'\" "
            f"\"name='{name}'\" \"ip='{ip}'\" in network {q(n)}")


def _bad(element, message: str) -> Finding:
    return Finding(element, message, error=InvalidFragmentError)


# ---------------------------------------------------------------------- fragment checks
def check_attributes(element, n: str, version: int) -> Iterator[Finding]:
    """libvirt's parser on the attributes of one ``<host>`` (every command, delete included)."""
    qn = q(n)
    mac, id_, name, ip = (element.get(k) for k in ("mac", "id", "name", "ip"))
    if mac is not None:
        if version == 6:
            yield _v6_mac(element, n)
        try:
            parsed = T.MAC(mac)
        except ValueError:
            yield _bad(element, f"Cannot parse MAC address '{mac}' in network {qn}")
        else:
            yield from unicast_host(element, n) if parsed.is_multicast else ()
    if id_ is not None:
        bad = next((c for c in id_ if c not in ":0123456789abcdefABCDEF"), None)
        if bad is not None:
            yield _bad(element, f"Invalid character '{bad}' in id '{id_}' of network {qn}")
        if not id_.strip(":"):
            yield _bad(element, f"Invalid id '{id_}' in network {qn}")
    if name is not None and not (name and name[0].isascii() and name[0].isalnum()):
        yield _bad(element, f"Cannot use host name '{name}' in network {qn}")
    if ip is not None and isinstance(norm_ip(ip), str):
        yield _bad(element, f"Invalid IP address in static host definition for network {qn}")


def check_complete(element, n: str, version: int, full: bool) -> Iterator[Finding]:
    """After the attributes (and the lease): what a full entry (add, modify) or a pattern
    (delete) must have."""
    if full:
        yield from _identity(element, n, version)
        if element.get("ip") is None:
            yield _bad(element, f"Missing IP address in static host definition for network "
                       f"{q(n)}")
    elif not any(element.get(k) is not None for k in KEYS):
        yield _bad(element, "At least one of name, mac, ip or id attribute must be specified "
                   f"for static host definition in network {q(n)}")


def check_fragment(element, n: str, version: int, full: bool = True) -> Iterator[Finding]:
    """libvirt's parser on one ``<host>`` under an IPv``version`` ``<ip>`` (``full``: add and
    modify); the engine runs the shared lease check between the two parts."""
    yield from check_attributes(element, n, version)
    yield from check_complete(element, n, version, full)


# ---------------------------------------------------------------------- rules
def _v6_mac(element, n: str) -> Finding:
    mac = element.get("mac")
    return Finding(element, f"Invalid to specify MAC address '{mac}' in network {q(n)} IPv6 "
                   "static host definition",
                   f"MAC address {mac} is not allowed in an IPv6 static host (use 'id' with "
                   "the client's DUID)", InvalidFragmentError)


def _identity(element, n: str, version: int) -> Iterator[Finding]:
    has = element.get
    if version == 4 and has("mac") is None and has("name") is None:
        yield _bad_identity(element, f"Static host definition in IPv4 network {q(n)} must have "
                            "mac or name attribute",
                            "a host of an IPv4 network needs a 'mac' or a 'name' attribute")
    elif version == 6 and has("id") is None and has("name") is None and has("mac") is None:
        yield _bad_identity(element, f"Static host definition in IPv6 network {q(n)} must have "
                            "id or name attribute",
                            "a host of an IPv6 network needs an 'id' or a 'name' attribute")


def _bad_identity(element, message: str, detail: str) -> Finding:
    return Finding(element, message, detail, InvalidFragmentError)


def _identity_item(element, n: str) -> Iterator[Finding]:
    """NU-E106 on one ``<host>`` of a document."""
    return _identity_of(element, n, ip_version(element.getparent().getparent()))


def _identity_of(element, n: str, version: int) -> Iterator[Finding]:
    if version == 6 and element.get("mac") is not None:
        yield _v6_mac(element, n)
    else:
        yield from _identity(element, n, version)


def _ordinal(number: int) -> str:
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10,
                                                                                   "th")
    return f"{number}{suffix}"


_WHAT = {"mac": "MAC address", "name": "host name", "ip": "IP address"}
# one pass over the hosts finds what all five rules report; each rule takes its part (a view is
# checked once by each rule, so the part is handed out once)
_SCANNED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _part(kind: str):
    def check(view) -> Iterator[Finding]:
        parts = _SCANNED.get(view)
        if parts is None or kind not in parts:
            parts = _SCANNED[view] = _scan(view)
        yield from parts.pop(kind)
    return check


def _scan(view) -> dict[str, list[Finding]]:
    """Every host of every ``<dhcp>``, keyed as the engine's index keys them (``NORMALIZE``: a
    value libvirt could not read only meets its own spelling, on an element validate already
    reports as unreadable, whose other issues it drops)."""
    found: dict[str, list[Finding]] = {kind: [] for kind in (*_WHAT, "subnet", "identity")}
    n = view.n
    for ip_el in view.root.iterchildren("ip"):
        version, network = ip_version(ip_el), False
        for dhcp in ip_el.iterchildren("dhcp"):
            macs: dict = {}
            names: dict = {}
            ips: dict = {}
            hosts = []
            for number, host in enumerate(dhcp.iterchildren("host")):
                hosts.append(host)
                get = host.get
                mac, name, ip = get("mac"), get("name"), get("ip")
                if (mac is None and name is None) or (version == 6 and mac is not None):
                    found["identity"].extend(_identity_of(host, n, version))
                if mac is not None:
                    first = macs.setdefault(mac.lower() if len(mac) == 17 else norm_mac(mac),
                                            number)
                    if first != number:
                        found["mac"].append(_duplicate(n, host, "mac", mac, mac, first,
                                                       hosts[first]))
                if name is not None:
                    first = names.setdefault(name, number)
                    if first != number:
                        found["name"].append(_duplicate(n, host, "name", name, name, first,
                                                        hosts[first]))
                if ip is None:
                    continue
                address = norm_ip(ip)
                first = ips.setdefault(address, number)
                if first != number:
                    found["ip"].append(_duplicate(n, host, "ip", ip, address, first,
                                                  hosts[first]))
                if isinstance(address, str):
                    continue
                if network is False:
                    network = _ip_network(ip_el)
                if network is not None and (address.version != network.version
                                            or address not in network):
                    found["subnet"].append(_outside(host, address, network))
    return found


def _duplicate(n: str, host, kind: str, raw: str, value, number: int, first) -> Finding:
    line = f" (line {first.sourceline})" if first.sourceline else ""
    shown = f"'{raw}'" if kind == "name" else value if kind == "ip" else raw
    return Finding(host, clash_message(n, host), f"{_WHAT[kind]} {shown} is already used by the "
                   f"{_ordinal(number + 1)} host of this <ip>{line}", DuplicateError)


def _ip_network(ip_el):
    """The subnet of an ``<ip>`` (address and prefix or netmask; None when it has none or they do
    not fit, which NU-E125 reports), read from its attributes alone."""
    ipdef, problems = M.IpDef.read_lenient(ip_el.makeelement("ip", ip_el.attrib))
    try:
        return None if problems else ipdef.network
    except ValueError:
        return None


def _outside(host, address, network) -> Finding:
    """NU-E105 (validate only: libvirt accepts it)."""
    if address.version != network.version:
        return Finding(host, None, f"{_family(address.version)} address {address} in the DHCP "
                       f"of an {_family(network.version)} <ip> ({network})")
    return Finding(host, None, f"address {address} is outside the subnet {network} of its <ip>")


def _family(version: int) -> str:
    return "IPv4" if version == 4 else "IPv6"


RULES = (
    Rule("NU-E102", "dhcp-host-duplicate-mac", ERROR, "Duplicate DHCP host MAC address",
         "Two ``<host>`` entries of the same ``<dhcp>`` have the same MAC address (compared "
         "without regard to case or leading zeros).  dnsmasq would hand the client only one of "
         "the two reservations, and libvirt refuses to add such a host.",
         check=_part("mac")),
    Rule("NU-E103", "dhcp-host-duplicate-name", ERROR, "Duplicate DHCP host name",
         "Two ``<host>`` entries of the same ``<dhcp>`` have the same name (compared exactly, "
         "as libvirt does).  A name identifies a reservation; libvirt refuses to add a host "
         "whose name is taken.", check=_part("name")),
    Rule("NU-E104", "dhcp-host-duplicate-ip", ERROR, "Duplicate DHCP host address",
         "Two ``<host>`` entries of the same ``<dhcp>`` reserve the same IP address (compared "
         "as addresses, so IPv6 spellings do not matter).  Both clients would be promised the "
         "same address.", check=_part("ip")),
    Rule("NU-E105", "dhcp-host-outside-subnet", ERROR, "DHCP host address outside its subnet",
         "A ``<host ip=...>`` is not inside the subnet of its ``<ip>`` (address and prefix or "
         "netmask), or is of the other address family.  libvirt accepts it, but dnsmasq only "
         "serves addresses of the subnet, so the reservation can never be handed out.",
         check=_part("subnet")),
    Rule("NU-E106", "dhcp-host-identity", ERROR, "DHCP host cannot be identified",
         "A static DHCP host must say which client it is for.  Under an IPv4 ``<ip>`` it needs "
         "a ``mac`` or a ``name``; under an IPv6 ``<ip>`` it needs an ``id`` (DUID) or a "
         "``name``, and a ``mac`` is not allowed (DHCPv6 clients are identified by DUID).  "
         "libvirt refuses both.", check=_part("identity"), item=_identity_item),
)

# the engine re-checks a host edit through its index (the handler), no whole-document rule
RECHECK = ()

PLAN_ROWS = (
    row("ip-dhcp-host.flip", "ip-dhcp-host", "*", (ADDED, REMOVED),
        ("dnsmasq-restart", DHCP_FLIP), when=("dhcp-flip",),
        libvirt="dnsmasq restart, then SIGHUP; firewall reload"),
    row("ip-dhcp-host.added", "ip-dhcp-host", "*", (ADDED,),
        ("dnsmasq-none", "the host is a new file in --dhcp-hostsdir, which dnsmasq reads by "
                         "itself (inotify): no signal, no DNS cache flush; " + NO_FW_HOSTS),
        libvirt="rewrite hostsfile, SIGHUP, firewall reload"),
    row("ip-dhcp-host", "ip-dhcp-host", "*", (REMOVED, MODIFIED),
        ("dnsmasq-sighup", "--dhcp-hostsdir only adds records dynamically: a changed or "
                           "deleted host file leaves the old record until SIGHUP, which re-reads "
                           "the host files (the conf is unchanged); " + NO_FW_HOSTS),
        libvirt="rewrite hostsfile, SIGHUP, firewall reload"),
)


# ---------------------------------------------------------------------- diff
# a diff matches hosts across the <ip> elements of one family (DHCP runs on one per family): the
# key starts with the family
FAMILY_KEYED = True


def format_key(key: tuple, show) -> str:
    """How a diff names a host: ``IPv4 mac=52:54:00:00:00:01`` (its family, then
    ``DhcpHost.key``)."""
    version, kind, value = key
    return f"IPv{version} {kind}={show(value)}"


# ---------------------------------------------------------------------- dnsmasq
DNSMASQ_SLOT = None   # hosts are a hosts file (or one file each), not conf lines


def hosts_line(host: M.DhcpHost, version: int) -> str | None:
    """One ``dhcp-hostsfile`` line for ``host`` without its lease (None when dnsmasq could not
    use it).  The client is the MAC (IPv4) or ``id:<DUID>`` (IPv6), the address is bracketed
    for IPv6, and the name goes after the address for IPv4, before it for IPv6."""
    if host.ip is None:
        return None
    _checked(host)
    if version == 4:
        client, address = host.mac, str(host.ip)
    else:
        client, address = (None if host.id is None else f"id:{host.id}"), f"[{host.ip}]"
    if client is None:
        fields = [host.name, address] if host.name else None
    elif not host.name:
        fields = [client, address]
    else:
        fields = [client, address, host.name] if version == 4 else [client, host.name, address]
    return ",".join(fields) if fields else None


def _checked(host: M.DhcpHost) -> None:
    """Refuse a value that could add a field or a line to a hosts file."""
    where = "a DHCP host"
    TC.ensure(T.ip_address, host.ip, where)
    if host.mac is not None:
        TC.ensure(T.mac, host.mac, where)
    if host.id is not None:
        TC.ensure(T.duid, host.id, where)
    if host.name:
        TC.ensure(TC.dhcp_host_name, host.name, where)


_SAFE = Pattern(r"^[A-Za-z0-9][A-Za-z0-9._+@=-]{0,99}$")


def file_name(host: M.DhcpHost, version: int) -> str:
    """A stable file name for the host's record in ``--dhcp-hostsdir``, from its key (MAC, else
    DUID, else name, else IP) and the family of its ``<ip>``."""
    kind, value = host.key()
    text = value.normalized if kind in ("mac", "id") else str(value)
    if kind != "name":
        text = text.replace(":", "-")
    if not _SAFE.match(text):
        import hashlib  # here: start-up time
        text = "x" + hashlib.sha256(text.encode()).hexdigest()[:20]
    return f"v{version}-{kind}-{text}"


# ---------------------------------------------------------------------- live facts
def fast_version(change) -> int | None:
    """The address family of the ``<ip>`` a host change is under; None (not known) makes the
    embedded runtime's one-host fast path decline."""
    version = (change.context or {}).get("ip_version")
    return version if version in (4, 6) else None


def needs_sighup(existed: bool) -> bool:
    """dnsmasq reads a new file in --dhcp-hostsdir by itself but keeps the record of a changed or
    removed one until SIGHUP: a host that existed before needs one."""
    return existed
