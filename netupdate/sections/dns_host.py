"""``dns-host`` (libvirt section 10): ``<network><dns><host ip><hostname/>...</host>``.

Matched by ``ip`` or by any ``hostname`` (libvirt's rule); two records with one address are
refused.  libvirt implements add and delete (modify since 10.x, which netupdate follows).  The
records are served from ``--hostsdir`` files, one per address, which dnsmasq re-reads by itself
(inotify): a change needs no signal and no restart.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from netupdate.errors import InvalidFragmentError
from netupdate.model import defs as M
from netupdate.model import text as TC
from netupdate.model import values as T
from netupdate.sections._spec import ADD_DELETE, ALL_OPS, MODIFY, Finding, Section, q, row

SECTION = Section("dns-host", 10, ("network", "dns", "host"), M.DnsHost, True, ADD_DELETE,
                  ("ip", "hostname"), newer=MODIFY)

# no coded rule of its own: whether DNS records may exist at all is NU-E120 (sections/dns.py)
RULES = ()


def check_fragment(element, n: str, full: bool = True) -> Iterator[Finding]:
    """libvirt's parser on one ``<host>`` (``full``: for add and modify, which need an address
    and a hostname; a delete pattern needs either)."""
    qn = q(n)

    def bad(message: str) -> Finding:
        return Finding(element, message, error=InvalidFragmentError)
    raw = element.get("ip")
    if raw is not None and parse_ip(raw) is None:
        yield bad(f"Invalid IP address in network {qn} DNS HOST record")
        return
    names = hostnames(element)
    if "" in names:
        yield bad(f"Missing hostname in network {qn} DNS HOST record")
    elif full and raw is None:
        yield bad(f"Missing IP address in network {qn} DNS HOST record")
    elif full and not names:
        yield bad(f"Missing hostname in network {qn} DNS HOST record")
    elif not full and raw is None and not names:
        yield bad(f"Missing ip and hostname in network {qn} DNS HOST record")


def parse_ip(raw: str):
    """The record's address as libvirt reads it (surrounding blanks ignored), or None."""
    try:
        return ipaddress.ip_address(raw.strip())
    except ValueError:
        return None


def hostnames(element) -> list[str]:
    """The texts of a ``<host>`` element's ``<hostname>`` children, in order."""
    return ["".join(h.itertext()) for h in element.iterchildren("hostname")]


def duplicate_message(n: str, ip) -> str:
    return ("there is already at least one DNS HOST record with a matching field in network "
            f"{n} (ip {ip})")


# the rule scopes the update engine re-checks after an edit of this section
RECHECK = ("dns",)

PLAN_ROWS = (
    row("dns-host", "dns-host", "*", ALL_OPS,
        ("dnsmasq-none", "DNS hosts are files in --hostsdir: dnsmasq reads new and changed files "
                         "and forgets deleted ones by itself (inotify); no signal, no DNS cache "
                         "flush"),
        libvirt="rewrite addnhosts, SIGHUP (clears the DNS cache)"),
)

# the records are files (``by_address``), not conf lines
DNSMASQ_SLOT = None


def by_address(defs: M.NetworkDef | None) -> dict[str, list[str]]:
    """``{address: hostnames}`` of every record with an address, in first-seen order, the
    hostnames of records sharing an address merged (how dnsmasq serves them).  Every value is
    checked again (the renderers' second line of defence)."""
    merged: dict[str, list[str]] = {}
    if defs is None or defs.dns is None:
        return merged
    for host in defs.dns.hosts:
        if host.ip is None:
            continue
        names = merged.setdefault(TC.ensure(T.ip_address, host.ip, "a DNS host"), [])
        names.extend(TC.ensure(TC.hostname, name, "a DNS host name") for name in host.hostnames
                     if name)
    return merged


def file_name(ip) -> str:
    """A stable file name for the records of address ``ip`` in ``--hostsdir``."""
    return "ip-" + str(ipaddress.ip_address(str(ip))).replace(":", "-")


def file_of(host: M.DnsHost | None) -> tuple[str, str | None] | None:
    """(file name, content or None when it has no name) of one record's ``--hostsdir`` file."""
    if host is None or host.ip is None:
        return None
    names = [name for name in host.hostnames if name]
    return file_name(host.ip), (f"{host.ip} {' '.join(names)}\n" if names else None)


def names_of(host: M.DnsHost | None) -> dict[str, list[str]]:
    """``{address: hostnames}`` of one record (empty without an address)."""
    if host is None or host.ip is None:
        return {}
    return {str(host.ip): [name for name in host.hostnames if name]}


def answers(new: dict, old: dict) -> list[tuple]:
    """DNS queries that show a change of records is live: new names answer their address, names
    that went away no longer do."""
    checks = []
    for ip, names in new.items():
        if old.get(ip) != names:
            rdtype = "A" if ipaddress.ip_address(ip).version == 4 else "AAAA"
            checks += [(hostname, rdtype, ip, True) for hostname in names]
    for ip, names in old.items():
        rdtype = "A" if ipaddress.ip_address(ip).version == 4 else "AAAA"
        kept = set(new.get(ip, ()))   # with expand-hosts, a kept 'a' still answers a.DOMAIN
        checks += [(hostname, rdtype, ip, False) for hostname in set(names) - kept
                   if hostname.split(".")[0] not in kept]
    return checks


def dns_expectations(after: M.NetworkDef, before: M.NetworkDef | None) -> list[tuple]:
    """What the live check asks dnsmasq after a change of host records."""
    return answers(by_address(after), by_address(before))


def delete_pattern(element) -> str:
    """The fragment that deletes exactly this record through libvirt (matched by address)."""
    return f"<host ip='{element.get('ip')}'/>"
