"""``bridge`` (libvirt section 1): ``<network><bridge name? zone? stp? delay?
macTableManager?>``.

libvirt refuses the section in ``net-update``; netupdate edits it as a whole element.  For the
modes libvirt makes the bridge for (isolated, nat, route, open: ``model.values.MANAGED_MODES``)
the name is the device the network is, ``stp`` and ``delay`` are switched on the running bridge
through netlink.  What the forward mode allows of it is ``NU-E118`` (``sections/forward.py``).
"""

from __future__ import annotations

from collections.abc import Iterator

from netupdate.document.patterns import Pattern
from netupdate.errors import InvalidFragmentError, ModelError
from netupdate.model import defs as M
from netupdate.model import values as T
from netupdate.sections._spec import (
    ADDED,
    ERROR,
    FIREWALL_ATOMIC,
    LV_REFUSED,
    MODIFIED,
    POOL,
    REMOVED,
    RESTART,
    UNMANAGED,
    Finding,
    Rule,
    Section,
    each,
    q,
    row,
)

SECTION = Section("bridge", 1, ("network", "bridge"), M.BridgeDef, False, frozenset())

_DEVICE_NAME = Pattern(r"^[a-zA-Z0-9_.\-\\:/%]+$")
_ZONE_NAME = Pattern(r"^[a-zA-Z0-9_\-]+$")

# libvirt's defaults of the bridge it makes (the differ's and the runtime's)
STP_DEFAULT = True
DELAY_DEFAULT = 0


def libvirt_normal(bridge: M.BridgeDef | None) -> M.BridgeDef | None:
    """``<bridge>`` as compared with libvirt's XML: one that only spells out libvirt's defaults
    (libvirt writes ``stp='on' delay='0'`` on its own) counts as absent."""
    if bridge is not None and bridge.name is None and bridge.zone is None \
            and bridge.mac_table_manager is None and bridge.stp in (None, STP_DEFAULT) \
            and bridge.delay in (None, DELAY_DEFAULT):
        return None
    return bridge


# ---------------------------------------------------------------------- the bridge made live
def bridge_name(defs: M.NetworkDef) -> str:
    """The bridge device of a network: its ``<bridge name>``, else a name derived from the
    network's name (what the embedded runtime makes)."""
    if defs.bridge is not None and defs.bridge.name:
        return defs.bridge.name
    import hashlib  # here: start-up time of the commands that name no device
    return "nu" + hashlib.sha256((defs.name or "").encode()).hexdigest()[:10]


def want_stp(defs: M.NetworkDef) -> bool:
    return defs.bridge is None or defs.bridge.stp is not False


def want_delay(defs: M.NetworkDef) -> int:
    return defs.bridge.delay if defs.bridge is not None and defs.bridge.delay else DELAY_DEFAULT


def kernel_delay(defs: M.NetworkDef) -> int:
    """The forward delay the kernel ends up with: while STP runs it keeps it within 2..30 s
    (``br_stp_start`` raises a smaller one to 2 s), as it does under libvirt."""
    delay = want_delay(defs)
    return min(max(delay, 2), 30) if want_stp(defs) else delay


def too_long(name: str) -> str | None:
    """Why ``name`` cannot be a bridge (NU-E113: longer than the kernel's limit, in bytes);
    None when it fits.  The embedded runtime says the same before it makes the bridge."""
    size = T.ifname_bytes(name)
    if size <= T.IFNAME_MAX_BYTES:
        return None
    return (f"bridge name '{name}' is {size} bytes long; interface names have at most "
            f"{T.IFNAME_MAX_BYTES}")


def _name_length(element, n: str) -> Iterator[Finding]:
    """NU-E113 on one ``<bridge>``."""
    name = element.get("name")
    problem = too_long(name) if name is not None else None
    if problem is not None:
        yield Finding(element, f"bridge name '{name}' in network {q(n)} is longer than "
                      f"{T.IFNAME_MAX_BYTES} bytes", problem, InvalidFragmentError)


NAME_LENGTH = Rule(
    "NU-E113", "bridge-name-too-long", ERROR, "Bridge name longer than 15 bytes",
    "The ``<bridge name>`` is longer than 15 bytes, the kernel's limit for interface names "
    "(IFNAMSIZ - 1).  Creating the bridge would fail when the network starts; the update "
    "engine and the embedded runtime refuse it up front.",
    check=each(("bridge",), _name_length), item=_name_length)

RULES = (NAME_LENGTH,)


def check_fragment(element, n: str) -> Iterator[Finding]:
    """libvirt's parser on a ``<bridge>`` on its own (before it is placed), NU-E113 included."""
    def bad(message: str) -> Finding:
        return Finding(element, message, error=InvalidFragmentError)
    name, zone = element.get("name"), element.get("zone")
    if name is not None and not _DEVICE_NAME.match(name):
        yield bad(f"invalid bridge name '{name}' in network {q(n)}")
    yield from NAME_LENGTH.item(element, n)
    if zone is not None and not _ZONE_NAME.match(zone):
        yield bad(f"invalid firewalld zone '{zone}' in network {q(n)}")
    try:
        bridge = M.BridgeDef.from_element(element)
    except ModelError as exc:
        yield bad(f"invalid <bridge> in network {q(n)}: {exc.message}")
        return
    for field_name, attr in (("stp", "stp"), ("mac_table_manager", "macTableManager")):
        value = getattr(bridge, field_name)
        if isinstance(value, str) and not isinstance(value, bool | T.MacTableManager):
            yield bad(f"invalid value '{value}' for attribute '{attr}' of <bridge> in network "
                      f"{q(n)}")


# the rule scopes the update engine re-checks after an edit of this section
RECHECK = ("bridge", "forward")   # the forward mode decides which attributes are allowed

_WHEN = ("managed",)
PLAN_ROWS = (
    row("bridge", "bridge", "*", (ADDED, REMOVED),
        (RESTART, "the bridge name changes (from or to a generated one), and every tap, address, "
                  "route, firewall rule and dnsmasq's interface= refer to the bridge"),
        when=_WHEN, libvirt=LV_REFUSED),
    row("bridge.name", "bridge", "name", (MODIFIED,),
        (RESTART, "the bridge is the network: a new name is a new device, and every tap, "
                  "address, route, firewall rule and dnsmasq's interface= refer to it"),
        when=_WHEN, libvirt=LV_REFUSED),
    row("bridge.name.device", "bridge", "name", (MODIFIED,), POOL, when=UNMANAGED,
        libvirt=LV_REFUSED),
    row("bridge.stp", "bridge", "stp", (MODIFIED,),
        ("bridge-stp", "STP is switched on the running bridge through netlink; no port is "
                       "detached, no address, rule or dnsmasq changes"),
        when=_WHEN, libvirt=LV_REFUSED),
    row("bridge.delay", "bridge", "delay", (MODIFIED,),
        ("bridge-delay", "the forward delay is set on the running bridge through netlink; ports "
                         "already forwarding are not reset"),
        when=_WHEN, libvirt=LV_REFUSED),
    row("bridge.zone", "bridge", "zone", (MODIFIED,),
        ("firewall-reload", "the bridge's firewalld zone is assigned with the firewall setup; "
                            + FIREWALL_ATOMIC),
        when=_WHEN, libvirt=LV_REFUSED),
    row("bridge.mac_table_manager", "bridge", "mac_table_manager", (MODIFIED,),
        ("bridge-mac-table", "with macTableManager='libvirt' the bridge filters VLANs and its "
                             "ports neither learn nor flood (as libvirt sets them when they are "
                             "plugged); switched on the running bridge and every attached port "
                             "through netlink"),
        when=_WHEN, libvirt=LV_REFUSED),
)

# libvirt's defaults of absent attributes, applied before comparing (planning/differ.py)
DIFF_DEFAULTS = {"stp": STP_DEFAULT, "delay": DELAY_DEFAULT}


def diff_own(bridge: M.BridgeDef, same) -> M.BridgeDef | None:
    """What a diff reports: libvirt writes ``<bridge stp='on' delay='0'/>`` for no ``<bridge>``,
    so one with only libvirt's defaults is none (``libvirt_normal``)."""
    return libvirt_normal(bridge)

# the conf's interface= line names the bridge the runtime made (render/dnsmasq.py gets the name
# from the caller), so the section has no lines of its own
DNSMASQ_SLOT = None
