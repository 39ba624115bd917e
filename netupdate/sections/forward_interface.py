"""``forward-interface`` (libvirt section 7): ``<network><forward><interface dev>``, a device of
the forward pool (the outgoing device of nat/route, the pool of bridge/macvtap modes).

Keyed by ``dev`` (exact string); libvirt implements add and delete, netupdate modify too.
``<forward dev>`` is written as the first interface (the engine keeps the two in step).  How
many interfaces the mode allows is ``NU-E114`` (``sections/forward.py``).
"""

from __future__ import annotations

from collections.abc import Iterator

from netupdate.errors import DuplicateError, InvalidFragmentError
from netupdate.model import defs as M
from netupdate.sections._spec import (
    ADD_DELETE,
    ADDED,
    ALL_OPS,
    COUNTER,
    DEVICE_POOL,
    ERROR,
    MODIFIED,
    POOL,
    REMOVED,
    UNMANAGED,
    Finding,
    Rule,
    Section,
    q,
    row,
)
from netupdate.sections.forward import FIREWALL_IF

SECTION = Section("forward-interface", 7, ("network", "forward", "interface"),
                  M.ForwardInterface, True, ADD_DELETE, ("dev",))

MISSING_DEV = "missing dev attribute in <interface> element"


def check_fragment(element, n: str) -> Iterator[Finding]:
    """libvirt's parser on one ``<interface>`` (every command runs it)."""
    if element.get("dev") is None:
        yield Finding(element, MISSING_DEV, error=InvalidFragmentError)


def duplicate(n: str, dev) -> str:
    return (f"there is an existing interface entry in network {q(n)} that matches "
            f"\"<interface dev='{dev}'>\"")


def not_found(n: str, dev) -> str:
    return (f"couldn't find an interface entry in network {q(n)} matching "
            f"<interface dev='{dev}'>")


def in_use(n: str, dev, used: int) -> str:
    return (f"unable to delete interface '{dev}' in network {q(n)}. It is currently being used "
            f"by {used} domains.")


def connections(element) -> int:
    """The usage count libvirt keeps on a pool device (0 when absent or unreadable)."""
    try:
        return int(element.get("connections") or 0)
    except ValueError:
        return 0


def _entries(view) -> Iterator[Finding]:
    forward = next(view.root.iterchildren("forward"), None)
    if forward is None:
        return
    seen: dict[str, object] = {}
    for interface in forward.iterchildren("interface"):
        dev = interface.get("dev")
        if dev is None:
            # the grammar reports it to validate (NU-S003)
            yield Finding(interface, MISSING_DEV, error=InvalidFragmentError)
        elif dev in seen:
            line = seen[dev].sourceline
            yield Finding(forward, duplicate(view.n, dev),
                          f"forward interface '{dev}' is listed twice"
                          + (f" (first at line {line})" if line else ""), DuplicateError)
        else:
            seen[dev] = interface


RULES = (
    Rule("NU-E131", "forward-interface-duplicate", ERROR, "Forward interface listed twice",
         "Two ``<interface>`` entries of ``<forward>`` name the same ``dev``.  The pool would "
         "hand out the device twice; libvirt refuses to add an interface whose dev is listed "
         "already (an entry without ``dev`` is refused as by libvirt's parser; validate reports "
         "it through the grammar).", check=_entries, scope="forward"),
)

# the rule scopes the update engine re-checks after an edit of this section
RECHECK = ("forward",)

PLAN_ROWS = (
    row("forward-interface.routed", "forward-interface", "*", (ADDED, REMOVED),
        ("firewall-reload", FIREWALL_IF), when=("routed",),
        libvirt="firewall reload (all rules removed, then re-added)"),
    row("forward-interface.connections", "forward-interface", "connections", (MODIFIED,),
        ("none", COUNTER), libvirt="runtime state"),
    row("forward-interface.device", "forward-interface", "*", ALL_OPS, POOL, when=UNMANAGED,
        libvirt="none"),
    row("forward-interface", "forward-interface", "*", ALL_OPS, ("none", DEVICE_POOL),
        libvirt="none"),
)

DNSMASQ_SLOT = None   # no dnsmasq lines (the firewall names the first one: forward.uplink)
