"""``dns-srv`` (libvirt section 12): ``<network><dns><srv service protocol domain? target?
port? priority? weight?>``.

A record matches a pattern when every key attribute the pattern gives is equal; libvirt
implements add and delete (modify since 10.x).  Each record is a dnsmasq ``srv-host=`` conf
line, so a change restarts dnsmasq.
"""

from __future__ import annotations

from collections.abc import Iterator

from netupdate.document.patterns import Pattern
from netupdate.errors import InvalidFragmentError
from netupdate.model import defs as M
from netupdate.model import text as TC
from netupdate.model import values as T
from netupdate.sections._spec import (
    ADD_DELETE,
    ALL_OPS,
    CONF,
    ERROR,
    MODIFY,
    Finding,
    Rule,
    Section,
    each,
    q,
    row,
)

SECTION = Section("dns-srv", 12, ("network", "dns", "srv"), M.DnsSrv, True, ADD_DELETE,
                  ("service", "protocol", "domain", "target"), newer=MODIFY)
KEYS = ("domain", "service", "protocol", "target")

_SERVICE = Pattern(r"^[A-Za-z0-9_+/*-]+$")
_PROTOCOL = Pattern(r"^[A-Za-z0-9+/-]+$")
_NUMBERS = (("port", 1), ("priority", 0), ("weight", 0))


def _srv_fields(element, n: str) -> Iterator[Finding]:
    """NU-E123 on one ``<srv>``: port, priority and weight only with a target; port not 0."""
    service = element.get("service")
    given = [attr for attr, _low in _NUMBERS if element.get(attr) is not None]
    if given and element.get("target") is None:
        yield Finding(element, f"DNS SRV {given[0]} attribute not permitted without target for "
                      f"service '{service}' in network {q(n)}",
                      f"SRV record '{service}' has {', '.join(given)} but no target; they are "
                      "only allowed together with 'target'", InvalidFragmentError)
    if _is_zero(element.get("port")):
        yield Finding(element, f"invalid DNS SRV port attribute for service '{service}' in "
                      f"network {q(n)}", f"SRV record '{service}' has port 0 (must be 1..65535)",
                      InvalidFragmentError)


def _is_zero(raw: str | None) -> bool:
    try:
        return raw is not None and int(raw) == 0
    except ValueError:
        return False


SRV_FIELDS = Rule(
    "NU-E123", "srv-record-fields", ERROR, "SRV record port, priority or weight without target",
    "An SRV record's ``port``, ``priority`` and ``weight`` describe its ``target`` host and are "
    "only allowed together with ``target``; the port must also be 1..65535.  libvirt refuses the "
    "record otherwise (\"DNS SRV port attribute not permitted without target\").",
    check=each(("dns", "srv"), _srv_fields), item=_srv_fields)

RULES = (SRV_FIELDS,)


def check_fragment(element, n: str, full: bool = True) -> Iterator[Finding]:
    """libvirt's parser on one ``<srv>`` (``full``: for add, which needs service and protocol),
    NU-E123 included."""
    qn = q(n)
    service, protocol = element.get("service"), element.get("protocol")

    def bad(message: str) -> Finding:
        return Finding(element, message, error=InvalidFragmentError)
    if service is None and full:
        yield bad(f"missing required service attribute in DNS SRV record of network {qn}")
    if service is not None:
        if len(service.encode()) > 482:
            yield bad(f"service attribute '{service}' in network {qn} is too long, limit is 482 "
                      "bytes")
        if not _SERVICE.match(service):
            yield bad(f"invalid character in service attribute '{service}' in DNS SRV record "
                      f"of network {qn}")
    if protocol is None and full:
        yield bad(f"missing required protocol attribute in DNS SRV record '{service}' of "
                  f"network {qn}")
    if protocol is not None and not _PROTOCOL.match(protocol):
        yield bad(f"invalid character in protocol attribute '{protocol}' in DNS SRV record of "
                  f"network {qn}")
    yield from SRV_FIELDS.item(element, n)
    for attr, low in _NUMBERS:
        raw = element.get(attr)
        if raw is None:
            continue
        try:
            T.uint(low, 65535)(raw)
        except ValueError:
            yield bad(f"invalid DNS SRV {attr} attribute for service '{service}' in network {qn}")


# the rule scopes the update engine re-checks after an edit of this section
RECHECK = ("dns",)

PLAN_ROWS = (
    row("dns-srv", "dns-srv", "*", ALL_OPS,
        ("dnsmasq-restart", "SRV records are srv-host= lines; " + CONF),
        libvirt="dnsmasq restart"),
)

DNSMASQ_SLOT = "records"


def dnsmasq_lines(defs: M.NetworkDef) -> list[str]:
    """``srv-host=`` lines (when DNS is served: the caller checks)."""
    return [srv_line(srv) for srv in defs.dns.srvs] if defs.dns is not None else []


def srv_line(srv: M.DnsSrv) -> str:
    service = TC.ensure(TC.srv_service, srv.service, "an SRV service")
    protocol = TC.ensure(TC.srv_service, srv.protocol, "an SRV protocol")
    line = f"srv-host=_{service}._{protocol}"
    if srv.domain:
        line += f".{TC.ensure(TC.hostname, srv.domain, 'an SRV domain')}"
    if srv.target and srv.target != ".":
        line += f",{TC.ensure(TC.srv_target, srv.target, 'an SRV target')}"
        if srv.port is not None or srv.priority is not None or srv.weight is not None:
            line += f",{srv.port if srv.port is not None else 1}"
        if srv.priority is not None or srv.weight is not None:
            line += f",{srv.priority if srv.priority is not None else 0}"
        if srv.weight is not None:
            line += f",{srv.weight}"
    return line
