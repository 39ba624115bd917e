"""The identity of a stored network definition, as libvirt's network driver gives it.

- ``keep`` (both backends: ``define``, ``apply``, ``diff``): a new definition that leaves out the
  uuid, MAC address (libvirt only: it makes one when there is none) or bridge name of the
  network's current definition keeps them; a different uuid is refused (libvirt: a network's
  uuid cannot change).
- ``generate`` (the embedded ``define``; libvirt does it itself): what is still missing is made
  as libvirt makes it: a random uuid (its parser, every driver), and for a network whose bridge
  it manages (no forward, nat, route, open) a bridge name: the first ``virbrN`` that no other
  network uses (``networkValidate``: ``networkFindUnusedBridgeName``; libvirt's ``NAME%d``
  templates are not interface names netupdate accepts).  libvirtd also generates a MAC address for such a bridge;
  the embedded runtime leaves the kernel's (docs/live.md).

Only the missing elements are inserted: the rest of the definition stays byte-for-byte.
"""

from __future__ import annotations

import dataclasses
import uuid as _uuid
from collections.abc import Callable, Iterable

from netupdate.errors import InvalidOperationError
from netupdate.model.values import MANAGED_MODES

BRIDGE_TEMPLATE = "virbr%d"
MAX_BRIDGE_ID = 256      # libvirt's MAX_BRIDGE_ID


def keep(document, base, notes: list[str], *, mac: bool = True) -> bool:
    """Give ``document`` (a ``model.defs.Network``, changed in place) the uuid, MAC address
    (not with ``mac=False``: the embedded runtime makes none) and bridge name of ``base`` (the
    current definition: anything with ``defs``, or None) that it leaves out; True when
    something was kept."""
    if base is None:
        return False
    desired, current = document.defs, base.defs
    made: dict = {}
    if desired.uuid is None and current.uuid is not None:
        made["uuid"] = current.uuid
    elif desired.uuid is not None and current.uuid is not None and desired.uuid != current.uuid:
        raise InvalidOperationError(f"the desired definition has uuid {desired.uuid}, the "
                                    f"network has {current.uuid}: a network's uuid cannot change")
    managed = desired.forward_mode in MANAGED_MODES
    if mac and managed and desired.mac is None and current.mac is not None:
        made["mac"] = current.mac
    if managed and _bridge(current) and _bridge(desired) is None:
        made["bridge"] = _bridge(current)
    if made:
        _write(document, made)
        kept = {"uuid": "uuid", "mac": "MAC address", "bridge": "bridge name"}
        notes.append(f"kept the {', '.join(kept[k] for k in made)} libvirt assigned (the "
                     f"desired definition leaves {'it' if len(made) == 1 else 'them'} out)")
    return bool(made)


def generate(document, taken: Callable[[], Iterable[str]]) -> bool:
    """Give ``document`` a random uuid, and a managed bridge a free name, when it has none
    (``taken``: the bridge names in use, asked only when a name is needed); True when
    something was added."""
    defs = document.defs
    made: dict = {}
    if defs.uuid is None:
        made["uuid"] = _uuid.uuid4()
    if defs.forward_mode in MANAGED_MODES and _bridge(defs) is None:
        made["bridge"] = free_bridge_name(set(taken()))
    if made:
        _write(document, made)
    return bool(made)


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


def _write(document, made: dict) -> None:
    """Write ``made`` (``uuid``, ``mac``, ``bridge``: its name) into ``document``, and its
    typed definitions with them (no re-read of a big definition)."""
    from netupdate.model.defs import BridgeDef
    defs = document.defs
    fields = dict(made)
    if "uuid" in made:
        _insert(document, "uuid", text=str(made["uuid"]))
    if "mac" in made:
        _insert(document, "mac", address=str(made["mac"]))
    if "bridge" in made:
        existing = document.root.find("bridge")
        if existing is not None:
            existing.set("name", made["bridge"])
        else:
            _insert(document, "bridge", name=made["bridge"])
        fields["bridge"] = dataclasses.replace(defs.bridge or BridgeDef(), name=made["bridge"])
    document.touched(dataclasses.replace(defs, **fields))


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
