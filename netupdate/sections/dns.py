"""``dns`` (a pseudo section: no libvirt code): the ``<network><dns>`` element itself, its
attributes (``enable``, ``forwardPlainNames``) and its ``<forwarder>`` children.  Its records
are the sections ``dns-host``, ``dns-txt`` and ``dns-srv``.

libvirt has no update section for it (net-edit, then destroy/start); netupdate edits it.  Every
part is a dnsmasq conf line (``port=0``, ``server=``, ``no-resolv``, ``domain-needed``), so a
change restarts dnsmasq.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from netupdate.model import defs as M
from netupdate.model import text as TC
from netupdate.sections import dns_host, dns_srv, dns_txt
from netupdate.sections._spec import (
    ADDED,
    CONF,
    ERROR,
    LV_REFUSED,
    MODIFIED,
    REMOVED,
    WARNING,
    Finding,
    Rule,
    Section,
    forward_mode,
    q,
    row,
)

SECTION = Section("dns", None, ("network", "dns"), M.DnsDef, False, frozenset())

RECORDS = ("txt", "srv", "host")


def disabled_message(n: str) -> str:
    """libvirt's words for a forwarder or record under ``<dns enable='no'>`` (NU-E120, whose
    rule is the forward section's: sections/forward.py)."""
    return f"Extra data in disabled network {q(n)}"


def _forwarders(view) -> Iterator[Finding]:
    dns = next(view.root.iterchildren("dns"), None)
    for forwarder in dns.iterchildren("forwarder") if dns is not None else ():
        if forwarder.get("addr") is None and forwarder.get("domain") is None:
            yield Finding(forwarder, "Invalid forwarder element, must contain at least one of "
                          "addr or domain", "a <forwarder> needs 'addr', 'domain' or both")


def _without_ip(view) -> Iterator[Finding]:
    root = view.root
    dns, mode = next(root.iterchildren("dns"), None), forward_mode(root)
    if dns is None or mode is not None or next(root.iterchildren("ip"), None) is not None:
        return
    if next(dns.iterchildren(*RECORDS, "forwarder"), None) is not None:
        yield Finding(dns, None, "DNS records are never served: the network has no <ip>, so "
                      "no dnsmasq runs")


RULES = (
    Rule("NU-E133", "dns-forwarder-empty", ERROR, "DNS forwarder without address or domain",
         "A ``<forwarder>`` names the server to ask (``addr``), the domain it answers for "
         "(``domain``), or both; libvirt refuses one with neither (\"Invalid forwarder element, "
         "must contain at least one of addr or domain\").", check=_forwarders, scope="dns"),
    Rule("NU-W102", "dns-without-dnsmasq", WARNING, "DNS records on a network without an <ip>",
         "An isolated network without any ``<ip>`` has DNS records.  libvirt starts dnsmasq "
         "only for a network with an address, so the records are never served.",
         check=_without_ip),
)

_RECORD_CHECKS = {"host": dns_host.check_fragment, "txt": dns_txt.check_fragment,
                  "srv": dns_srv.check_fragment}


def check_fragment(element, n: str) -> Iterator[Finding]:
    """libvirt's parser on a whole ``<dns>``: each record as its section parses it."""
    for child in element.iterchildren(*_RECORD_CHECKS):
        yield from _RECORD_CHECKS[child.tag](child, n)


# the rule scopes the update engine re-checks after an edit of this section
RECHECK = ("dns", "forward")

PLAN_ROWS = (
    row("dns", "dns", "*", (ADDED, REMOVED),
        ("dnsmasq-restart", "the <dns> attributes and forwarders are conf lines (port=0, server=, "
                            "no-resolv, domain-needed); " + CONF),
        libvirt=LV_REFUSED),
    row("dns.enable", "dns", "enable", (MODIFIED,),
        ("dnsmasq-restart", "enable='no' is port=0 in the conf (no DNS listener); " + CONF),
        libvirt=LV_REFUSED),
    row("dns.forward_plain_names", "dns", "forward_plain_names", (MODIFIED,),
        ("dnsmasq-restart", "forwardPlainNames='no' is domain-needed and local=// in the conf; "
                            + CONF),
        libvirt=LV_REFUSED),
    row("dns.forwarders.servers", "dns", "forwarders", (MODIFIED,),
        ("dnsmasq-sighup", "forwarders are server= lines of dnsmasq's servers-file, which SIGHUP "
                           "re-reads (in order: strict-order); no-resolv stays as it is"),
        when=("resolv-kept",), libvirt=LV_REFUSED),
    row("dns.forwarders", "dns", "forwarders", (MODIFIED,),
        ("dnsmasq-restart", "the forwarders switch no-resolv (whether /etc/resolv.conf is read), "
                            "a conf line; " + CONF),
        libvirt=LV_REFUSED),
)

# libvirt's defaults: an absent attribute means DNS on, plain names forwarded
DIFF_DEFAULTS = {"enable": True, "forward_plain_names": True}
# its records are sections of their own (fields of the item -> section)
DIFF_SUBSECTIONS = {"txts": "dns-txt", "srvs": "dns-srv", "hosts": "dns-host"}


def diff_own(dns: M.DnsDef, same) -> M.DnsDef | None:
    """What a diff reports as the ``<dns>`` itself: without its records; one with nothing else
    (or only libvirt's defaults) is none, like an absent one."""
    stripped = replace(dns, **dict.fromkeys(DIFF_SUBSECTIONS, ()))
    return None if same(stripped, M.DnsDef()) else stripped

DNSMASQ_SLOT = "dns"   # after strict-order: the listener and the forwarders


def enabled(defs: M.NetworkDef) -> bool:
    """Whether the network serves DNS (no ``<dns>``, or one without ``enable='no'``)."""
    return defs.dns is None or defs.dns.enabled


def dnsmasq_lines(defs: M.NetworkDef) -> list[str]:
    """``port=0`` when DNS is off; else one ``server=`` line per forwarder in order, and
    ``no-resolv`` when a forwarder answers for every domain."""
    if not enabled(defs):
        return ["port=0"]
    return server_lines(defs) + (["no-resolv"] if no_resolv(defs.dns) else [])


def server_lines(defs: M.NetworkDef) -> list[str]:
    """The forwarders as ``server=`` lines, in order (dnsmasq runs with strict-order)."""
    return [_server_line(fwd) for fwd in (defs.dns.forwarders if defs.dns is not None else ())]


def no_resolv(dns: M.DnsDef | None) -> bool:
    """Whether a ``<dns>``'s forwarders replace /etc/resolv.conf (one forwards every domain):
    dnsmasq's ``no-resolv`` line (None: no ``<dns>``)."""
    return dns is not None and any(f.addr is not None and not f.domain for f in dns.forwarders)


def _server_line(fwd: M.Forwarder) -> str:
    line = "server="
    if fwd.domain:
        line += f"/{TC.ensure(TC.hostname, fwd.domain, 'a forwarder domain')}/"
    if fwd.addr is None:
        return line + "#"
    return line + str(fwd.addr) + (f"#{fwd.port}" if fwd.port is not None else "")


def plain_names_lines(defs: M.NetworkDef) -> list[str]:
    """``forwardPlainNames='no'``: names without a dot are never forwarded upstream."""
    if enabled(defs) and defs.dns is not None and defs.dns.forward_plain_names is False:
        return ["domain-needed", "local=//"]
    return []


def served_by(root) -> tuple[str | None, bool]:
    """(the address dnsmasq answers DNS on: the first IPv4 ``<ip>``, else the first IPv6 one;
    DNS enabled), read straight from a ``<network>`` tree without reading every record (the
    live fast path of a big network)."""
    import ipaddress
    dns = next(root.iterchildren("dns"), None)
    found = {}
    for ip in root.iterchildren("ip"):
        try:
            address = ipaddress.ip_address((ip.get("address") or "").strip())
        except ValueError:
            continue
        found.setdefault(address.version, str(address))
    return found.get(4) or found.get(6), dns is None or dns.get("enable") != "no"
