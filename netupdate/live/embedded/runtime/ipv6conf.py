"""The IPv6 settings of a network's bridge, as libvirt's bridge driver sets them
(``networkSetIPv6Sysctls`` in src/network/bridge_driver.c):

- ``disable_ipv6``: 1 when the definition has no IPv6 ``<ip>``, 0 when it has one (written
  either way: the default cannot be relied on); ``<network ipv6='yes'>`` does not change it;
- ``accept_ra`` 0 (guests' router advertisements do not configure the host side) and
  ``autoconf`` 0 (a gateway never configures itself), whatever the addresses.

When the kernel has no IPv6 at all (``/proc/sys/net/ipv6/conf/<bridge>`` is missing) nothing is
written, as libvirt does.  They are per-namespace files, written in the network's namespace;
only the fields in ``FIELDS`` of a checked interface name, to 0 or 1, are ever touched.  The
kernel refuses IPv6 addresses while ``disable_ipv6`` is 1: callers set these before adding
addresses and, when IPv6 goes away, after removing them: a live change that adds the first
IPv6 ``<ip>`` or removes the last has a ``bridge-ipv6`` plan step (``sections/ip.py``), which
the plan orders after ``address-remove`` and before ``address-add``.
"""

from __future__ import annotations

import os

from netupdate.errors import StateError
from netupdate.live.embedded.runtime import netns as NS
from netupdate.model import values as T

FIELDS = ("disable_ipv6", "accept_ra", "autoconf")   # libvirt's order


def wanted(defs) -> dict[str, str]:
    """What ``defs`` needs on its bridge (the decision, nothing read or written)."""
    return {"disable_ipv6": "0" if defs.ips_of(6) else "1", "accept_ra": "0", "autoconf": "0"}


def _dir(bridge: str) -> str:
    if not bridge or bridge in (".", "..") or "/" in bridge or "\0" in bridge \
            or T.ifname_bytes(bridge) > T.IFNAME_MAX_BYTES:
        raise StateError(f"refusing IPv6 sysctls of interface {bridge!r}: not an interface "
                         "name; nothing was changed")
    return f"net/ipv6/conf/{bridge}"


def _read_here(bridge: str) -> dict[str, str] | None:
    base = _dir(bridge)
    if not os.path.isdir(f"/proc/sys/{base}"):
        return None
    return {field: NS.sysctl(f"{base}/{field}") for field in FIELDS}


def _write_here(bridge: str, values: dict[str, str]) -> bool:
    base = _dir(bridge)
    if not os.path.isdir(f"/proc/sys/{base}"):
        return False   # no IPv6 in this kernel: nothing to disable (libvirt: the same)
    changed = False
    for field in FIELDS:
        value = values[field]
        if value not in ("0", "1"):
            raise StateError(f"refusing sysctl {base}/{field}={value!r}; nothing was changed")
        changed |= NS.sysctl(f"{base}/{field}", value) != value
    return changed


def read(netns: str | None, bridge: str) -> dict[str, str] | None:
    """The bridge's settings in its namespace (None: the kernel has no IPv6 there)."""
    return NS.call(netns, _read_here, bridge)


def apply(netns: str | None, bridge: str, defs) -> bool:
    """Set what ``defs`` needs; returns whether anything changed."""
    return NS.call(netns, _write_here, bridge, wanted(defs))


def drift(netns: str | None, bridge: str, defs) -> list[tuple[str, str, str]]:
    """``(what, expected, actual)`` for each setting that differs (``check``)."""
    have = read(netns, bridge)
    if have is None:
        return []
    return [(f"sysctl net.ipv6.conf.{bridge}.{field}", value, have[field])
            for field, value in wanted(defs).items() if have[field] != value]

