"""The identity of a stored network definition, as libvirt's network driver gives it.

- ``keep`` (both backends: ``define``, ``apply``, ``diff``): a new definition that leaves out the
  uuid, MAC address or bridge name of the network's current definition keeps them; a different
  uuid is refused (libvirt: a network's uuid cannot change).
- ``generate`` (the embedded ``define``; libvirt does it itself): what is still missing is made
  as libvirt makes it: a random uuid (its parser, every driver), and for a network whose bridge
  it manages (no forward, nat, route, open) a bridge name: the first ``virbrN`` that no other
  network uses (``networkValidate``: ``networkFindUnusedBridgeName``; libvirt's ``NAME%d``
  templates are not interface names netupdate accepts).  libvirtd also generates a MAC address for such a bridge;
  the embedded runtime leaves the kernel's (docs/live.md).

Only the missing elements are inserted: the rest of the definition stays byte-for-byte.
"""

from __future__ import annotations

import uuid as _uuid
from collections.abc import Callable, Iterable

from netupdate.errors import InvalidOperationError
from netupdate.model.values import MANAGED_MODES

BRIDGE_TEMPLATE = "virbr%d"
MAX_BRIDGE_ID = 256      # libvirt's MAX_BRIDGE_ID


def keep(document, base, notes: list[str]) -> bool:
    """Give ``document`` (a ``model.defs.Network``, changed in place) the uuid, MAC address
    and bridge name of ``base`` (the current definition: anything with ``defs``, or None) that
    it leaves out; True when something was kept."""
    if base is None:
        return False
    desired, current = document.defs, base.defs
    kept: list[str] = []
    if desired.uuid is None and current.uuid is not None:
        _insert(document, "uuid", text=str(current.uuid))
        kept.append("uuid")
    elif desired.uuid is not None and current.uuid is not None and desired.uuid != current.uuid:
        raise InvalidOperationError(f"the desired definition has uuid {desired.uuid}, the "
                                    f"network has {current.uuid}: a network's uuid cannot change")
    managed = desired.forward_mode in MANAGED_MODES
    if managed and desired.mac is None and current.mac is not None:
        _insert(document, "mac", address=str(current.mac))
        kept.append("MAC address")
    if managed and _bridge(current) and _bridge(desired) is None:
        _name_bridge(document, _bridge(current))
        kept.append("bridge name")
    if kept:
        notes.append(f"kept the {', '.join(kept)} libvirt assigned (the desired definition leaves "
                     f"{'it' if len(kept) == 1 else 'them'} out)")
    return bool(kept)


def generate(document, taken: Callable[[], Iterable[str]]) -> bool:
    """Give ``document`` a random uuid, and a managed bridge a free name, when it has none
    (``taken``: the bridge names in use, asked only when a name is needed); True when
    something was added."""
    defs = document.defs
    added = False
    if defs.uuid is None:
        _insert(document, "uuid", text=str(_uuid.uuid4()))
        added = True
    if defs.forward_mode in MANAGED_MODES and _bridge(defs) is None:
        _name_bridge(document, free_bridge_name(set(taken())))
        added = True
    return added


def free_bridge_name(taken: set[str]) -> str:
    """The first ``virbrN`` not in ``taken``."""
    for number in range(MAX_BRIDGE_ID + 1):
        name = BRIDGE_TEMPLATE % number
        if name not in taken:
            return name
    raise InvalidOperationError(f"bridge generation exceeded max id {MAX_BRIDGE_ID}")


def bridge_names(defs_list: Iterable) -> set[str]:
    """The bridge names of some definitions (None entries skipped)."""
    return {name for defs in defs_list if defs is not None
            for name in [_bridge(defs)] if name}


def _bridge(defs) -> str | None:
    return defs.bridge.name if defs.bridge is not None else None


def _name_bridge(document, name: str) -> None:
    existing = document.root.find("bridge")
    if existing is not None:
        existing.set("name", name)
        document.touched()
    else:
        _insert(document, "bridge", name=name)


def _insert(document, tag: str, *, text: str | None = None, **attrs: str) -> None:
    """Insert ``<tag>`` among ``<network>``'s children in libvirt's order."""
    from lxml import etree

    from netupdate.model.defs import NETWORK_CHILD_ORDER
    order = {t: i for i, t in enumerate(NETWORK_CHILD_ORDER)}
    root = document.root
    position = len(root)
    for index, existing in enumerate(root):
        if isinstance(existing.tag, str) and order.get(existing.tag, 99) > order[tag]:
            position = index
            break
    element = etree.Element(tag, **attrs)
    element.text = text
    document.source.insert(root, position, element)
    document.touched()
