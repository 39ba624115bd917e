"""``ip-dhcp-range`` (libvirt section 5): ``<network><ip><dhcp><range start end>`` with an
optional ``<lease expiry unit>``.

Keyed by ``start`` and ``end``; libvirt implements add and delete.  libvirt checks a range
against its ``<ip>`` for every command (``check_fragment``); ``check_lease`` is shared with the
DHCP hosts (``ip-dhcp-host``).  ``against`` is libvirt's sanity check of a range against its
``<ip>``; the rules run the same check over a whole document.
"""

from __future__ import annotations

from collections.abc import Iterator

from netupdate.errors import InvalidFragmentError, InvalidOperationError
from netupdate.model import defs as M
from netupdate.model import text as TC
from netupdate.model import values as T
from netupdate.sections import ip as IP
from netupdate.sections._spec import (
    ADD_DELETE,
    ALL_OPS,
    CONF,
    DHCP_FLIP,
    ERROR,
    NO_FW_HOSTS,
    WARNING,
    Finding,
    Rule,
    Section,
    q,
    row,
)

SECTION = Section("ip-dhcp-range", 5, ("network", "ip", "dhcp", "range"), M.DhcpRange, True,
                  ADD_DELETE, ("start", "end"))


def check_lease(element, n: str) -> Iterator[Finding]:
    """libvirt's parser on the ``<lease>`` of a range or DHCP host (NU-E122: at least 2
    minutes, 0 is infinite; an unknown unit or expiry is NU-E101 / NU-E020 for validate)."""
    lease = next(element.iterchildren("lease"), None)
    if lease is None:
        return
    unit = lease.get("unit")
    if unit is not None and unit not in set(T.LeaseUnit):
        yield Finding(lease, f"Invalid value for attribute 'unit' in element 'lease': '{unit}'.",
                      error=InvalidFragmentError)
        return
    expiry = lease.get("expiry")
    if expiry is None:
        return
    try:
        value = T.uint()(expiry)
    except ValueError:
        yield Finding(lease, f"Invalid value for attribute 'expiry' in element 'lease': "
                      f"'{expiry}'.", error=InvalidFragmentError)
        return
    seconds = value * T.LEASE_SECONDS[T.LeaseUnit(unit or "minutes")]
    if 0 < seconds < T.MIN_LEASE_SECONDS:
        yield Finding(lease, "The minimum lease time should be greater than 2 minutes",
                      f"lease of {seconds} seconds is shorter than the minimum of "
                      f"{T.MIN_LEASE_SECONDS} seconds", InvalidFragmentError)


def endpoints(element):
    """(start, end) of a ``<range>``, each None when absent or not an address."""
    found = []
    for what in ("start", "end"):
        raw = element.get(what)
        try:
            found.append(T.parse_ip(raw) if raw is not None else None)
        except ValueError:
            found.append(None)
    return tuple(found)


def _fields(element, n: str) -> Iterator[Finding]:
    """libvirt's parser on the range's own attributes (validate: NU-S003, NU-E020)."""
    for what in ("start", "end"):
        raw = element.get(what)
        if raw is None:
            yield Finding(element, f"Missing '{what}' attribute in dhcp range for network "
                          f"{q(n)}", error=InvalidFragmentError)
            return
        try:
            T.parse_ip(raw)
        except ValueError:
            yield Finding(element, f"Invalid dhcp range '{what}' address '{raw}' in network "
                          f"{q(n)}", error=InvalidFragmentError)
            return


def _problems(start, end, ipdef: M.IpDef):
    """libvirt's sanity check of a range against its ``<ip>``, in libvirt's order (it reports
    the first): (code, error class, libvirt's message, validate's detail)."""
    address, prefix = ipdef.address, ipdef.effective_prefix
    where, text = f"{address}/{prefix}", f"{start} - {end}"
    if start.version != ipdef.version or end.version != ipdef.version:
        yield ("NU-E108", InvalidOperationError,
               f"mismatch of address family in range {text} for network {address}",
               f"range {text} does not match the address family of its "
               f"IPv{ipdef.version} <ip> ({IP.network(ipdef)})")
        return
    net = IP.network(ipdef)
    if net is None:
        return
    if start not in net or end not in net:
        yield ("NU-E108", InvalidOperationError,
               f"range {text} is not entirely within network {where}",
               f"range {text} is not entirely within the subnet {net}")
    if start.version == 4 and prefix < 31:   # libvirt: IPv4 only (IPv6 has no broadcast)
        if start == net.network_address:
            yield ("NU-E109", InvalidOperationError,
                   f"start of range {text} in network {where} is the network address",
                   f"range {text} starts at the network address of {net}")
        if end == net.broadcast_address:
            yield ("NU-E109", InvalidOperationError,
                   f"end of range {text} in network {where} is the broadcast address",
                   f"range {text} ends at the broadcast address of {net}")
    if int(start) > int(end):
        yield ("NU-E107", InvalidFragmentError, f"range {text} is reversed",
               f"range {text} is reversed (start is after end)")
    elif int(end) - int(start) + 1 > T.MAX_DHCP_RANGE_SIZE:
        yield ("NU-E110", InvalidFragmentError,
               f"range {text} is too large (> {T.MAX_DHCP_RANGE_SIZE})",
               f"range {text} has {int(end) - int(start) + 1} addresses "
               f"(at most {T.MAX_DHCP_RANGE_SIZE})")


def check_fragment(element, n: str) -> Iterator[Finding]:
    """libvirt's parser on one ``<range>`` (every command runs it, delete included)."""
    fields = list(_fields(element, n))
    yield from fields
    if not fields:
        yield from check_lease(element, n)


def against(element, n: str, ipdef: M.IpDef) -> Iterator[Finding]:
    """libvirt's sanity check of a readable ``<range>`` against its ``<ip>`` (read as
    ``ipdef``), run for every command after ``check_fragment``."""
    if ipdef.address is None:
        yield Finding(element, f"the <ip> element of network {q(n)} has no address",
                      error=InvalidOperationError)
        return
    start, end = endpoints(element)
    for _code, error, message, _detail in _problems(start, end, ipdef):
        yield Finding(element, message, error=error)


def _ranges(view) -> Iterator[tuple]:
    """(range element, start, end, ipdef) of every readable range of a readable ``<ip>``."""
    for ip_el in view.root.iterchildren("ip"):
        dhcp = next(ip_el.iterchildren("dhcp"), None)
        if dhcp is None or ip_el.get("address") is None:
            continue
        ipdef = IP.ip_def(ip_el)
        if ipdef is None or IP.network(ipdef) is None:
            continue   # NU-E125 / NU-E020
        for element in dhcp.iterchildren("range"):
            start, end = endpoints(element)
            yield element, start, end, ipdef


def _problem_rule(code: str):
    def check(view) -> Iterator[Finding]:
        for element, start, end, ipdef in _ranges(view):
            if code == "NU-E108" and (start is None or end is None):
                yield from _fields(element, view.n)   # the engine's; validate: the grammar
            if start is None or end is None:
                continue
            for found, error, message, detail in _problems(start, end, ipdef):
                if found == code:
                    yield Finding(element, message, detail, error)
    return check


def _leases(view) -> Iterator[Finding]:
    for ip_el in view.root.iterchildren("ip"):
        for dhcp in ip_el.iterchildren("dhcp"):
            for entry in dhcp:
                if entry.tag == "range" or entry.tag == "host":
                    yield from check_lease(entry, view.n)


def _sorted_ranges(view):
    """Per ``<dhcp>``: its readable, same-family, not reversed ranges."""
    for ip_el in view.root.iterchildren("ip"):
        for dhcp in ip_el.iterchildren("dhcp"):
            found = []
            for element in dhcp.iterchildren("range"):
                start, end = endpoints(element)
                if start is not None and end is not None and start.version == end.version \
                        and start <= end:
                    found.append((element, start, end))
            yield ip_el, found


def _overlaps(view) -> Iterator[Finding]:
    for _ip_el, ranges in _sorted_ranges(view):
        for number, (element, start, end) in enumerate(ranges):
            for other, o_start, o_end in ranges[:number]:
                if o_start.version == start.version and start <= o_end and o_start <= end:
                    same = "is identical to" if (start, end) == (o_start, o_end) else "overlaps"
                    line = f" (line {other.sourceline})" if other.sourceline else ""
                    yield Finding(element, None, f"range {start} - {end} {same} range "
                                  f"{o_start} - {o_end}{line}")
                    break


def _gateway(view) -> Iterator[Finding]:
    for element, start, end, ipdef in _ranges(view):
        if start is not None and end is not None \
                and ipdef.address.version == start.version == end.version \
                and start <= ipdef.address <= end:
            yield Finding(element, None, f"range {start} - {end} includes the network's own "
                          f"address {ipdef.address}")


# in libvirt's order of its sanity check (the update engine reports the first)
RULES = (
    Rule("NU-E108", "dhcp-range-outside-subnet", ERROR, "DHCP range outside its subnet",
         "A ``<range>`` is not entirely inside the subnet of its ``<ip>``, or mixes address "
         "families.  libvirt refuses it (\"range ... is not entirely within network ...\").",
         check=_problem_rule("NU-E108"), scope="ip"),
    Rule("NU-E109", "dhcp-range-network-broadcast", ERROR,
         "DHCP range includes the network or broadcast address",
         "A ``<range>`` of an IPv4 subnet (prefix below 31) starts at the network address or "
         "ends at the broadcast address.  Neither can be leased; libvirt refuses the range.  "
         "IPv6 has no broadcast, and libvirt accepts an IPv6 range starting at the subnet's "
         "first address.", check=_problem_rule("NU-E109"), scope="ip"),
    Rule("NU-E107", "dhcp-range-reversed", ERROR, "DHCP range reversed",
         "A ``<range>`` ends before it starts.  libvirt refuses it (\"range ... is "
         "reversed\").", check=_problem_rule("NU-E107"), scope="ip"),
    Rule("NU-E110", "dhcp-range-too-large", ERROR, "DHCP range too large",
         "A ``<range>`` holds more than 65535 addresses.  libvirt refuses it (\"range ... is "
         "too large\").", check=_problem_rule("NU-E110"), scope="ip"),
    Rule("NU-E122", "lease-too-short", ERROR, "DHCP lease shorter than 2 minutes",
         "A ``<lease expiry>`` of a DHCP range or host is shorter than 2 minutes (0 means "
         "infinite and is fine).  libvirt refuses it (\"The minimum lease time should be "
         "greater than 2 minutes\"), and dnsmasq would raise it anyway.",
         check=_leases, scope="ip"),
    Rule("NU-W101", "dhcp-range-overlap", WARNING, "Overlapping DHCP ranges",
         "Two ``<range>`` entries of the same ``<dhcp>`` share addresses (or are identical).  "
         "libvirt and dnsmasq accept it, but it is almost always a typo, and the lease limit "
         "libvirt computes (the sum of the range sizes) counts the shared addresses twice.",
         check=_overlaps),
    Rule("NU-W103", "dhcp-range-includes-gateway", WARNING,
         "DHCP range includes the host address",
         "A ``<range>`` contains the ``<ip address>`` of the network itself (the host side of "
         "the bridge, the guests' gateway).  dnsmasq will not lease it, but the range was "
         "probably meant to start after it.", check=_gateway),
)

# a diff matches ranges across the <ip> elements of one family (DHCP runs on one per family):
# the key starts with the family
FAMILY_KEYED = True


def format_key(key: tuple, show) -> str:
    return f"IPv{key[0]} {show(key[1])}-{show(key[2])}"


# the rule scopes the update engine re-checks after an edit of this section (none: the
# handler checks the range against its <ip> itself, and the single-DHCP rule on add)
RECHECK = ()

PLAN_ROWS = (
    row("ip-dhcp-range.flip", "ip-dhcp-range", "*", ALL_OPS, ("dnsmasq-restart", DHCP_FLIP),
        when=("dhcp-flip",), libvirt="dnsmasq restart, firewall reload"),
    row("ip-dhcp-range", "ip-dhcp-range", "*", ALL_OPS,
        ("dnsmasq-restart", "ranges are dhcp-range lines (and dhcp-lease-max); " + CONF + "; "
         + NO_FW_HOSTS),
        libvirt="dnsmasq restart, firewall reload"),
)

# the DHCP block of libvirt's conf: per served <ip> its ranges (or static mode), then the lease
# limit over all of them
DNSMASQ_SLOT = "dhcp"
_LEASE_SUFFIX = {T.LeaseUnit.SECONDS: "s", T.LeaseUnit.MINUTES: "m", T.LeaseUnit.HOURS: "h"}


def lease_text(lease: M.Lease | None) -> str | None:
    """A lease time as dnsmasq writes it (``1h``, ``infinite``), for ranges and hosts."""
    if lease is None or lease.expiry is None:
        return None
    if lease.expiry == 0:
        return "infinite"
    unit = lease.unit if lease.unit is not None else T.LeaseUnit.MINUTES
    suffix = _LEASE_SUFFIX.get(unit)
    if suffix is None:
        return f"{lease.seconds}s" if lease.seconds is not None else None
    return f"{lease.expiry}{suffix}"


def dnsmasq_lines(defs: M.NetworkDef) -> list[str]:
    """``dhcp-range=`` lines (static mode without ranges), ``dhcp-boot`` and the lease limit."""
    out, lease_max = [], 0
    for ip in IP.dhcp_ips(defs):
        if ip is None:
            continue
        for rng in ip.dhcp.ranges:
            size = str(ip.network.netmask) if ip.version == 4 else ip.effective_prefix
            lease = lease_text(rng.lease)
            out.append(f"dhcp-range={rng.start},{rng.end},{size}" + (f",{lease}" if lease else ""))
            if rng.start is not None and rng.end is not None:
                lease_max += max(rng.size, 0)
        if not ip.dhcp.ranges:
            extra = f",{ip.effective_prefix}" if ip.version == 6 else ""
            out.append(f"dhcp-range={ip.address},static{extra}")
        if ip.version == 4:
            out += ["dhcp-no-override", "dhcp-authoritative", *_bootp(ip.dhcp.bootp)]
    if lease_max:
        out.append(f"dhcp-lease-max={lease_max}")
    return out


def _bootp(bootp: M.Bootp | None) -> list[str]:
    if bootp is None or not bootp.file:
        return []
    server = TC.ensure(TC.server, bootp.server, "the bootp server") if bootp.server else None
    return [f"dhcp-boot={TC.ensure(TC.path, bootp.file, 'the bootp file')}"
            + (f",,{server}" if server else "")]
