"""libvirt's numbers and names for an update, and which updates libvirt does itself
(``libvirt_route``); the sections come from the registry (``netupdate.sections``)."""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass

from netupdate import sections as S
from netupdate.errors import UnsupportedError
from netupdate.model.values import Command

# virNetworkUpdateSection (include/libvirt/libvirt-network.h)
CODED = tuple(s for s in S.SECTIONS if s.code is not None)
SECTION_CODES: dict[str, int] = {s.name: s.code for s in CODED}
SECTION_NAMES = {code: name for name, code in SECTION_CODES.items()}
# virNetworkUpdateCommand (names, codes and aliases: ``types.Command``)
COMMAND_CODES: dict[str, int] = {command.value: command.code for command in Command}
# virNetworkUpdateFlags
AFFECT_CURRENT, AFFECT_LIVE, AFFECT_CONFIG = 0, 1, 2
XML_INACTIVE = 1  # VIR_NETWORK_XML_INACTIVE

# Sections virNetworkUpdate refuses whatever the command, in every release.
REFUSED_SECTIONS = frozenset(s.name for s in CODED if not s.libvirt)
# Sections whose ``modify`` came with the 2024 upstream work: tried, and handled here when the
# daemon refuses it (libvirt 9.0 does).
NEWER_MODIFY_SECTIONS = frozenset(s.name for s in CODED if "modify" in s.newer)
# Sections whose ``modify`` is refused in every release.
NO_MODIFY_SECTIONS = frozenset(s.name for s in CODED if s.libvirt and "modify" not in s.libvirt
                               and s.name not in NEWER_MODIFY_SECTIONS)
# Sections libvirt updates live (the reconcile path turns changes of these into calls).
LIBVIRT_SECTIONS = frozenset(SECTION_CODES) - REFUSED_SECTIONS

# Plan actions netupdate performs itself on a libvirt network (local bridge only).
LOCAL_KINDS = frozenset({"bridge-stp", "bridge-delay"})
# Network-level fields nothing on a running network reads (libvirt 9.0 cannot set them live).
INFO_FIELDS = frozenset({"title", "description", "metadata", "connections"})


def section_name(section: str | int | None) -> str | None:
    """A section name (``ip-dhcp-host``) from a name, a spelling variant or libvirt's code."""
    if section is None:
        return None
    if isinstance(section, int):
        if section not in SECTION_NAMES:
            raise UnsupportedError(f"unknown libvirt update section code {section}")
        return SECTION_NAMES[section]
    return str(section).strip().lower().replace("_", "-")


# a command (``add-last``) from a name, an alias or libvirt's code
command_name = Command.of


def libvirt_route(command: str, section: str | None, node_spec: str | None = None) -> str:
    """``"libvirt"`` when virNetworkUpdate does the edit, ``"try"`` when only newer libvirt
    releases do (netupdate takes over when the daemon refuses), ``"netupdate"`` when libvirt
    refuses it in every release."""
    if node_spec is not None or section not in SECTION_CODES or section in REFUSED_SECTIONS:
        return "netupdate"
    if command == "modify" and section in NO_MODIFY_SECTIONS:
        return "netupdate"
    if command == "modify" and section in NEWER_MODIFY_SECTIONS:
        return "try"
    return "libvirt"


def is_local_uri(uri: str) -> bool:
    """Whether ``uri`` names a daemon on this host (no host name in it)."""
    parts = urllib.parse.urlsplit(uri)
    if parts.hostname not in (None, "", "localhost"):
        return False
    transport = parts.scheme.partition("+")[2]
    return transport in ("", "unix") or (transport in ("ssh", "libssh", "libssh2", "tcp", "tls")
                                         and parts.hostname == "localhost")


@dataclass(frozen=True)
class Operation:
    """One ``virNetworkUpdate`` call."""

    command: str
    section: str
    xml: str
    parent_index: int = -1
    flags: int = AFFECT_LIVE

    def describe(self) -> str:
        where = f" (ip #{self.parent_index})" if self.parent_index >= 0 else ""
        return f"virNetworkUpdate {self.command} {self.section}{where}: {' '.join(self.xml.split())}"
