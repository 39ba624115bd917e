"""``domain`` (libvirt section 2): ``<network><domain name localOnly? register?>``.

libvirt refuses the section in ``net-update``; netupdate edits it as a whole element.  Its
attributes are dnsmasq conf lines (``domain=``, ``local=/D/``, ``expand-hosts``), so a change
restarts dnsmasq.
"""

from __future__ import annotations

from collections.abc import Iterator

from netupdate.document.patterns import Pattern
from netupdate.errors import InvalidFragmentError
from netupdate.model import defs as M
from netupdate.model import text as TC
from netupdate.sections._spec import ALL_OPS, CONF, LV_REFUSED, Finding, Section, q, row

SECTION = Section("domain", 2, ("network", "domain"), M.DomainDef, False, frozenset())

# no coded rule: what the fragment check refuses, validate reports through the grammar
# (NU-S003, NU-S004) and NU-E101
RULES = ()

_DNS_NAME = Pattern(r"^[a-zA-Z0-9.\-]+$")


def check_fragment(element, n: str) -> Iterator[Finding]:
    """libvirt's parser on a ``<domain>`` on its own (before it is placed)."""
    name = element.get("name")
    if name is None:
        yield Finding(element, f"missing name attribute in <domain> of network {q(n)}",
                      error=InvalidFragmentError)
        return
    if not _DNS_NAME.match(name):
        yield Finding(element, f"invalid domain name '{name}' in network {q(n)}",
                      error=InvalidFragmentError)
    for attr in ("localOnly", "register"):
        value = element.get(attr)
        if value is not None and value not in ("yes", "no"):
            yield Finding(element, f"invalid value '{value}' for attribute '{attr}' of <domain> "
                          f"in network {q(n)}", error=InvalidFragmentError)


# the rule scopes the update engine re-checks after an edit of this section
RECHECK = ("forward",)  # the forward mode decides whether a <domain> is allowed

PLAN_ROWS = (
    row("domain", "domain", "*", ALL_OPS,
        ("dnsmasq-restart", "domain=, local=/D/ and expand-hosts are conf lines; " + CONF),
        libvirt=LV_REFUSED),
)


# libvirt's defaults of absent attributes, applied before comparing (planning/differ.py)
DIFF_DEFAULTS = {"local_only": False, "register": False}

DNSMASQ_SLOT = "domain"   # after the forwarders, before the local PTR zones


def dnsmasq_lines(defs: M.NetworkDef) -> list[str]:
    """The conf lines of the domain."""
    domain = defs.domain
    if domain is None or not domain.name:
        return []
    name = TC.ensure(TC.hostname, domain.name, "the domain name")
    out = [f"local=/{name}/"] if domain.local_only is True else []
    return out + [f"domain={name}", "expand-hosts"]
