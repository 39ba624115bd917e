"""Semantic differ: two network definitions -> a typed ``ChangeSet`` of per-section changes.

The differ walks the typed model generically (``model.fields_of``): a handful of declarations say
which fields are sections of their own (``<ip>``'s DHCP hosts are section ``ip-dhcp-host``, ...);
every other field is compared through its dataclass declaration, so a field added to the model is
diffed without touching this module.

Equality is semantic, never textual (``planning/canon.py``: the model's normal forms, then
libvirt's defaults, the sections' ``DIFF_DEFAULTS``, so libvirt's own round trip is no change).
Repeated items with an identity (hosts, ranges, records, routes, portgroups, ...) are matched by
key, so their order does not matter; DNS forwarders are the exception: dnsmasq runs with
``strict-order``, so their order is significant.  The records are ``planning/changes.py``'s.

Every section reports the section's *own* content in ``before``/``after`` (its module's
``diff_own``): an ``<ip>`` change carries the ``<ip>`` without its DHCP ranges and hosts, which
are reported as changes of their own (``ip-dhcp-range``, ``ip-dhcp-host``).  Network-level scalars (name, mtu, bandwidth, ...) are one
change each in section ``network``, keyed by the field name.  No I/O beyond reading the inputs.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from netupdate import sections as S
from netupdate.model import defs as model
from netupdate.model import values as T
from netupdate.model.defs import Def, IpDef, NetworkDef, RouteDef
from netupdate.planning.canon import (
    canon,
    differing_fields,
    effective,
    normalized,
    plain_equal,
    same,
)
from netupdate.planning.changes import (
    FAMILY_KEYED,
    SECTION_CLASS,
    SECTION_OF_CLASS,
    ChangeSet,
    SectionChange,
)
from netupdate.sections._spec import ADDED, MODIFIED, REMOVED

# Fields of <network> that are sections of their own (the rest form section "network").
NETWORK_SECTIONS = {
    "forward": "forward", "bridge": "bridge", "domain": "domain", "dns": "dns", "ips": "ip",
    "routes": "route", "portgroups": "portgroup", "dnsmasq_options": "dnsmasq-options",
}
# Fields of a section's item that are sections of their own (dotted: inside a child): the
# sections' ``DIFF_SUBSECTIONS``.
SUBSECTIONS = {name: module.DIFF_SUBSECTIONS for name, module in S.MODULES.items()
               if hasattr(module, "DIFF_SUBSECTIONS")}
# A section's own content of an item (``diff_own`` of the module; else the item itself).
_OWN = {name: module.diff_own for name, module in S.MODULES.items() if hasattr(module, "diff_own")}
# Sections whose identity is not their definition's ``key()`` (``diff_key`` of the module).
_KEYS = {name: module.diff_key for name, module in S.MODULES.items() if hasattr(module, "diff_key")}


# ---------------------------------------------------------------------- keys and projections
def key_of(section: str, item: Any, family: int | None = None) -> tuple:
    """The identity of ``item`` in ``section`` (with the IP family for DHCP hosts and ranges)."""
    if section == "dnsmasq-options":
        return (item,)
    if section == "route":
        return (item.address, _route_prefix(item), item.gateway)
    if section in _KEYS:
        return _KEYS[section](item)
    key = item.key()
    if section in FAMILY_KEYED:
        return (family, *key)
    return key


def _route_prefix(route: RouteDef) -> int | None:
    """A route's prefix; without one, libvirt uses the classful (IPv4) or /64 (IPv6) default."""
    if route.prefix is not None or route.address is None:
        return route.prefix
    return IpDef(address=route.address).effective_prefix


def own(section: str, item: Any) -> Any:
    """The section's own content of ``item`` (its module's ``diff_own``): its sub-sections
    emptied out (an ``<ip>`` keeps only ``<bootp>`` of its ``<dhcp>``); a ``<dns>`` or
    ``<bridge>`` with nothing of its own is None, like an absent one."""
    if item is None:
        return None
    shape = _OWN.get(section)
    return item if shape is None else shape(item, same)


def _sub_items(section: str, item: Any) -> dict[str, tuple]:
    """``{sub-section: items}`` of an item (empty tuples when the item is None)."""
    out = {}
    for path, sub in SUBSECTIONS.get(section, {}).items():
        value = item
        for part in path.split("."):
            value = getattr(value, part, None) if value is not None else None
        out[sub] = value or ()
    return out


# ---------------------------------------------------------------------- the walk
def _diff_single(section: str, before: Any, after: Any, key: tuple = (), *,
                 recurse: bool = True) -> list[SectionChange]:
    """Changes of one item (already paired), including its sub-sections (``recurse``)."""
    out: list[SectionChange] = []
    if before is not None and before is after:
        return out
    b_own, a_own = own(section, before), own(section, after)
    if b_own is None and a_own is not None:
        out.append(SectionChange(section, ADDED, key, None, a_own))
    elif b_own is not None and a_own is None:
        out.append(SectionChange(section, REMOVED, key, b_own, None))
    elif b_own is not None and not same(b_own, a_own):
        if isinstance(b_own, Def):
            fields = differing_fields(b_own, a_own)
        else:
            fields = ()
        out.append(SectionChange(section, MODIFIED, key, b_own, a_own, fields))
    if not recurse:
        return out
    family = None
    if section == "ip":
        item = after if after is not None else before
        family = item.version
    for sub, b_items in _sub_items(section, before).items():
        a_items = _sub_items(section, after)[sub]
        out.extend(diff_items(sub, b_items, a_items, family=family))
    return out


def diff_items(section: str, before: Iterable, after: Iterable, *,
               family: int | None = None, recurse: bool = True) -> list[SectionChange]:
    """Changes between two lists of items of a repeated section, matched by key."""
    def group(items):
        # grouped by the canonical key (cheap to hash); the model's key is reported
        keyed: dict[Any, list] = {}
        for item in items:
            key = key_of(section, item, family)
            group_key = tuple(
                normalized(type(part), str.__str__(part)) if isinstance(part, T.MAC | T.DUID)
                else part for part in key)
            keyed.setdefault(group_key, []).append((key, item))
        return keyed

    b_keyed, a_keyed = group(before), group(after)
    out: list[SectionChange] = []
    for ckey, b_list in b_keyed.items():
        a_list = a_keyed.get(ckey, [])
        for index, (key, b_item) in enumerate(b_list):
            a_item = a_list[index][1] if index < len(a_list) else None
            if a_item is not None and section not in SUBSECTIONS and (
                    plain_equal(b_item, a_item) or canon(b_item) == canon(a_item)):
                continue    # the common case of big lists: unchanged leaf items
            out.extend(_diff_single(section, b_item, a_item, key, recurse=recurse))
    for ckey, a_list in a_keyed.items():
        skip = len(b_keyed.get(ckey, ()))
        for key, a_item in a_list[skip:]:
            out.extend(_diff_single(section, None, a_item, key, recurse=recurse))
    return out


def _diff_ips(before: NetworkDef, after: NetworkDef) -> list[SectionChange]:
    """``<ip>`` elements, then their DHCP ranges and hosts per address family.

    Ranges and hosts are matched across the ``<ip>`` elements of their family (libvirt serves
    DHCP on one ``<ip>`` per family), so changing an ``<ip>``'s prefix does not report every host
    as removed and added again.
    """
    out = diff_items("ip", before.ips, after.ips, recurse=False)
    for family in (4, 6):
        b_ips, a_ips = before.ips_of(family), after.ips_of(family)
        for path, sub in SUBSECTIONS["ip"].items():
            attr = path.split(".")[1]
            b_items = tuple(i for ip in b_ips if ip.dhcp for i in getattr(ip.dhcp, attr))
            a_items = tuple(i for ip in a_ips if ip.dhcp for i in getattr(ip.dhcp, attr))
            out.extend(diff_items(sub, b_items, a_items, family=family))
    return out


def diff_network(before: NetworkDef, after: NetworkDef) -> list[SectionChange]:
    out: list[SectionChange] = []
    for f in model.fields_of(NetworkDef):
        name = f.name
        section = NETWORK_SECTIONS.get(name)
        b_value, a_value = getattr(before, name), getattr(after, name)
        if b_value is a_value:
            continue
        if section is None:
            if not f.compare:
                continue
            eb, ea = effective(before, name), effective(after, name)
            if canon(eb) == canon(ea):
                continue
            absent_b = b_value is None or b_value == ()
            absent_a = a_value is None or a_value == ()
            if absent_b and not absent_a:
                out.append(SectionChange("network", ADDED, (name,), None, a_value))
            elif absent_a and not absent_b:
                out.append(SectionChange("network", REMOVED, (name,), b_value, None))
            else:
                if isinstance(b_value, Def) and type(b_value) is type(a_value):
                    fields = differing_fields(b_value, a_value, f"{name}.")
                else:
                    fields = (name,)
                out.append(SectionChange("network", MODIFIED, (name,), b_value, a_value, fields))
        elif section == "ip":
            out.extend(_diff_ips(before, after))
        elif isinstance(b_value, tuple) or isinstance(a_value, tuple):
            out.extend(diff_items(section, b_value or (), a_value or ()))
        else:
            out.extend(_diff_single(section, b_value, a_value))
    return out


def as_defs(value: Any) -> NetworkDef:
    """A ``NetworkDef`` from a ``NetworkDef``, a ``model.Network``, XML text/bytes or a path."""
    if isinstance(value, NetworkDef):
        return value
    if isinstance(value, model.Network):
        return value.defs
    if isinstance(value, str | bytes | bytearray | os.PathLike):
        return model.load(value).defs
    raise TypeError(f"cannot diff a {type(value).__name__}: expected a NetworkDef, a Network, "
                    "XML text or a path")


def diff(before: Any, after: Any) -> ChangeSet:
    """The semantic changes from ``before`` to ``after`` (each a ``NetworkDef``, a ``Network``,
    XML text or a path)."""
    return ChangeSet(diff_network(as_defs(before), as_defs(after)))


def diff_item(section: str | None, before: Any, after: Any, *,
              family: int | None = None) -> ChangeSet:
    """Changes of one touched element (as the update engine reports it), without reading the
    rest of the network: ``section`` is a section name (or None to infer it from the class);
    ``before``/``after`` the element's definition (None for an add / a delete)."""
    item = after if after is not None else before
    if item is None:
        return ChangeSet()
    if isinstance(item, NetworkDef):
        return ChangeSet(diff_network(before or NetworkDef(), after or NetworkDef()))
    if section is None or SECTION_CLASS.get(section) is not type(item):
        section = SECTION_OF_CLASS.get(type(item), section)
    if section not in SECTION_CLASS:
        raise ValueError(f"unknown section {section!r}")
    if section in ("bridge", "domain", "dns", "forward"):
        return ChangeSet(_diff_single(section, before, after))
    if section == "ip" and family is None:
        family = item.version
    b_items = (before,) if before is not None else ()
    a_items = (after,) if after is not None else ()
    return ChangeSet(diff_items(section, b_items, a_items, family=family))

