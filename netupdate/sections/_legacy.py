"""The sections that have not moved to a module of their own yet (issue 14).

Migrating a section (docs/design.md, "Migrating a section") deletes its line here and adds
``sections/<name>.py`` declaring ``SECTION`` (the same ``Section``) and the rest of its knowledge.
"""

from __future__ import annotations

from netupdate.model import defs as M
from netupdate.sections._spec import ADD_DELETE, MODIFY, Section

SECTIONS = {s.name: s for s in (
    Section("bridge", 1, ("network", "bridge"), M.BridgeDef, False, frozenset()),
    Section("ip", 3, ("network", "ip"), M.IpDef, True, frozenset(), ("address",)),
    Section("ip-dhcp-range", 5, ("network", "ip", "dhcp", "range"), M.DhcpRange, True,
            ADD_DELETE, ("start", "end")),
    Section("forward", 6, ("network", "forward"), M.ForwardDef, False, frozenset()),
    Section("forward-interface", 7, ("network", "forward", "interface"), M.ForwardInterface,
            True, ADD_DELETE, ("dev",)),
    Section("dns-host", 10, ("network", "dns", "host"), M.DnsHost, True, ADD_DELETE,
            ("ip", "hostname"), newer=MODIFY),
    Section("dns", None, ("network", "dns"), M.DnsDef, False, frozenset()),
    Section("network", None, ("network",), M.NetworkDef, False, frozenset()),
)}
