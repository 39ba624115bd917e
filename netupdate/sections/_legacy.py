"""The sections that have not moved to a module of their own yet (issue 14).

Migrating a section (docs/design.md, "Migrating a section") deletes its line here and adds
``sections/<name>.py`` declaring ``SECTION`` (the same ``Section``) and the rest of its knowledge.
"""

from __future__ import annotations

from netupdate.model import defs as M
from netupdate.sections._spec import ALL_COMMANDS, Section

SECTIONS = {s.name: s for s in (
    Section("ip-dhcp-host", 4, ("network", "ip", "dhcp", "host"), M.DhcpHost, True, ALL_COMMANDS,
            ("mac", "name", "ip")),
)}
