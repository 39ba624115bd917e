"""Semantic differ: two network definitions -> a typed ``ChangeSet`` of per-section changes.

The differ walks the typed model generically (``model.fields_of``): a handful of declarations say
which fields are sections of their own (``<ip>``'s DHCP hosts are section ``ip-dhcp-host``, ...);
every other field is compared through its dataclass declaration, so a field added to the model is
diffed without touching this module.

Equality is semantic, never textual:

- the model already makes MAC case, IPv6 spelling, netmask vs prefix, lease units, attribute order
  and whitespace between elements irrelevant;
- documented defaults are applied before comparing (``DEFAULTS``: ``<bridge stp>`` absent equals
  ``on``, ``<forward dev>`` its first interface, a defaults-only ``<bridge>`` none, ...), so
  libvirt's own round trip (which writes the defaults out) is no change;
- repeated items with an identity (hosts, ranges, records, routes, portgroups, ...) are matched by
  key, so their order does not matter; DNS forwarders are the exception: dnsmasq runs with
  ``strict-order``, so their order is significant.

Every section reports the section's *own* content in ``before``/``after``: an ``<ip>`` change
carries the ``<ip>`` without its DHCP ranges and hosts, which are reported as changes of their own
(``ip-dhcp-range``, ``ip-dhcp-host``).  Network-level scalars (name, mtu, bandwidth, ...) are one
change each in section ``network``, keyed by the field name.  No I/O beyond reading the inputs.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import ipaddress
import os
import uuid as _uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from netupdate import sections as S
from netupdate.model import defs as model
from netupdate.model import values as T
from netupdate.model.defs import (
    BridgeDef,
    Def,
    DhcpDef,
    DnsDef,
    ForwardDef,
    IpDef,
    NatDef,
    NetworkDef,
    RouteDef,
)
from netupdate.sections._spec import ADDED, ALL_OPS, MODIFIED, REMOVED

OPS = ALL_OPS

# Sections in reporting order.  Names are libvirt's update sections where they exist.
SECTION_ORDER = (
    "network", "forward", "forward-interface", "forward-pf", "bridge", "domain", "dns",
    "dns-host", "dns-txt", "dns-srv", "ip", "ip-dhcp-range", "ip-dhcp-host", "route",
    "portgroup", "dnsmasq-options",
)

# The class of each section's items: the registry's, and for the two diff-only sections
# (``route``, ``dnsmasq-options``, whose items are plain strings) their own.
SECTION_CLASS: dict[str, type | None] = {
    name: S.BY_NAME[name].def_cls if name in S.BY_NAME else
    {"route": RouteDef, "dnsmasq-options": None}[name] for name in SECTION_ORDER}
SECTION_OF_CLASS = {cls: name for name, cls in SECTION_CLASS.items() if cls is not None}

# Fields of <network> that are sections of their own (the rest form section "network").
NETWORK_SECTIONS = {
    "forward": "forward", "bridge": "bridge", "domain": "domain", "dns": "dns", "ips": "ip",
    "routes": "route", "portgroups": "portgroup", "dnsmasq_options": "dnsmasq-options",
}
# Fields of a section's item that are sections of their own (dotted: inside a child).
SUBSECTIONS = {
    "forward": {"interfaces": "forward-interface", "pfs": "forward-pf"},
    "dns": {"txts": "dns-txt", "srvs": "dns-srv", "hosts": "dns-host"},
    "ip": {"dhcp.ranges": "ip-dhcp-range", "dhcp.hosts": "ip-dhcp-host"},
}
# Sections whose key starts with the IP family (4 or 6) of their <ip>: libvirt allows DHCP on
# one <ip> per family, so the family identifies the parent.
FAMILY_KEYED = ("ip-dhcp-host", *(name for name in S.MODULES if S.hook(name, "FAMILY_KEYED")))
# Sections whose identity is not their definition's ``key()`` (``diff_key`` of the module).
_KEYS = {name: module.diff_key for name, module in S.MODULES.items() if hasattr(module, "diff_key")}

# Repeated fields whose order is significant (compared as sequences, not as multisets).
ORDERED = {(DnsDef, "forwarders")}


def _family(obj) -> str | None:
    if getattr(obj, "address", None) is None:
        return getattr(obj, "family", None)
    return "ipv6" if obj.address.version == 6 else "ipv4"


# Values an absent attribute stands for (libvirt's defaults); applied before comparing.
DEFAULTS: dict[tuple[type, str], Callable[[Any], Any]] = {
    (ForwardDef, "dev"): lambda o: o.interfaces[0].dev if o.interfaces else None,
    (NatDef, "ipv6"): lambda o: False,
    # the sections' own (``DIFF_DEFAULTS`` of a module: field -> value, or a function of the item)
    **{(module.SECTION.def_cls, name): (value if callable(value) else (lambda o, v=value: v))
       for module in S.MODULES.values()
       for name, value in getattr(module, "DIFF_DEFAULTS", {}).items()},
}
# Values derived from others whatever is written (``family`` follows the address).
DERIVED: dict[tuple[type, str], Callable[[Any], Any]] = {
    (IpDef, "family"): _family,
    (RouteDef, "family"): _family,
}


# ---------------------------------------------------------------------- canonical values
def effective(obj: Def, name: str) -> Any:
    """The value of field ``name`` of ``obj`` with defaults and derived values applied."""
    cls = type(obj)
    derive = DERIVED.get((cls, name))
    if derive is not None:
        return derive(obj)
    value = getattr(obj, name)
    if value is None:
        default = DEFAULTS.get((cls, name))
        if default is not None:
            return default(obj)
    return value


@functools.cache
def _compared(cls: type) -> tuple[tuple[str, bool, Any, Any], ...]:
    """(name, ordered, derive, default) of the compared fields of ``cls``."""
    return tuple((f.name, (cls, f.name) in ORDERED, DERIVED.get((cls, f.name)),
                  DEFAULTS.get((cls, f.name)))
                 for f in model.fields_of(cls) if f.compare)


def canon(value: Any, *, ordered: bool = True) -> Any:
    """A hashable value equal for every spelling of the same meaning."""
    if isinstance(value, Def):
        parts: list[Any] = [type(value).__name__]
        for name, in_order, derive, default in _compared(type(value)):
            if derive is not None:
                item = derive(value)
            else:
                item = getattr(value, name)
                if item is None and default is not None:
                    item = default(value)
            parts.append(canon(item, ordered=in_order))
        return tuple(parts)
    if isinstance(value, T.MAC | T.DUID):
        return (type(value).__name__, _normalized(type(value), str.__str__(value)))
    if isinstance(value, tuple):
        items = tuple(canon(item) for item in value)
        keyed = value and all(isinstance(item, Def) and type(item).KEY for item in value)
        if keyed and not ordered:
            return ("bag", frozenset(Counter(items).items()))
        return items
    if isinstance(value, enum.Enum):
        return value.value
    return value


def _plain_equal(a: Any, b: Any) -> bool:
    """A fast, sound-but-incomplete equality: True only if ``a`` and ``b`` are written the
    same way (then they mean the same); False means "compare canonically"."""
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, T.MAC | T.DUID):
        return str.__eq__(a, b)
    if isinstance(a, Def):
        return all(_plain_equal(getattr(a, name), getattr(b, name))
                   for name, _o, _d, _f in _compared(type(a)))
    if isinstance(a, tuple):
        return len(a) == len(b) and all(_plain_equal(x, y) for x, y in zip(a, b, strict=True))
    return a == b


@functools.lru_cache(maxsize=1 << 16)
def _normalized(kind: type, raw: str) -> str:
    """``MAC``/``DUID`` normalisation, cached by spelling (it dominates diffs of big networks)."""
    return kind(raw).normalized


def same(a: Any, b: Any) -> bool:
    return canon(a) == canon(b)


def differing_fields(before: Def, after: Def, prefix: str = "") -> tuple[str, ...]:
    """Dotted paths of the fields that differ (recursing into single child definitions)."""
    out: list[str] = []
    cls = type(before)
    for f in model.fields_of(cls):
        if not f.compare:
            continue
        ordered = (cls, f.name) in ORDERED
        va, vb = effective(before, f.name), effective(after, f.name)
        if canon(va, ordered=ordered) == canon(vb, ordered=ordered):
            continue
        if isinstance(va, Def) and type(va) is type(vb):
            out.extend(differing_fields(va, vb, f"{prefix}{f.name}."))
        else:
            out.append(f"{prefix}{f.name}")
    return tuple(out)


# ---------------------------------------------------------------------- the change records
@dataclass(frozen=True)
class SectionChange:
    """One added, removed or modified item of one section.

    ``key`` identifies the item among its siblings (the model's ``key()``; DHCP hosts and ranges
    start with the IP family of their ``<ip>``; ``<ip>`` is ``(address, prefix)``; a network-level
    field is ``(field name,)``; single elements such as ``<bridge>`` have ``()``).  ``before`` and
    ``after`` are the section's own content (None when absent); ``fields`` lists the dotted paths
    of the fields that differ (for ``modified``).
    """

    section: str
    op: str
    key: tuple = ()
    before: Any = None
    after: Any = None
    fields: tuple[str, ...] = ()

    @property
    def family(self) -> int | None:
        """4 or 6 for changes tied to an address family, else None."""
        if self.section in FAMILY_KEYED and self.key:
            return self.key[0]
        item = self.after if self.after is not None else self.before
        if self.section == "ip" and item is not None:
            return item.version
        if self.section == "route" and item is not None and item.address is not None:
            return item.address.version
        return None

    @property
    def item(self) -> Any:
        """The item as it is after the change (as it was, for a removal)."""
        return self.after if self.after is not None else self.before

    @property
    def label(self) -> str:
        return format_key(self.section, self.key)

    def describe(self) -> str:
        """One line: ``dns-txt 'info' modified (value)``."""
        text = f"{self.section} {self.label} {self.op}" if self.label else \
            f"{self.section} {self.op}"
        if self.op == MODIFIED and self.fields:
            text += f" ({', '.join(self.fields)})"
        return text

    def details(self) -> list[str]:
        """Human-readable ``field: old -> new`` lines (modified) or the item (added/removed)."""
        if self.op == MODIFIED:
            if self.section == "network" and not isinstance(self.before, Def):
                name = self.key[0]
                return [f"{name}: {show_field(NetworkDef, name, self.before)} -> "
                        f"{show_field(NetworkDef, name, self.after)}"]
            lines = []
            for path in self.fields:
                if self.section == "network":
                    owner, rest = NetworkDef, path
                    old, new = _get_path(self.before, path.split(".", 1)[1]), \
                        _get_path(self.after, path.split(".", 1)[1])
                else:
                    owner, rest = type(self.before), path
                    old, new = _get_path(self.before, path), _get_path(self.after, path)
                lines.append(f"{path}: {show_field(owner, rest, old)} -> "
                             f"{show_field(owner, rest, new)}")
            return lines
        if self.section == "network":
            return [f"{self.key[0]}: {show_field(NetworkDef, self.key[0], self.item)}"]
        return [show(self.item)]

    def to_json(self) -> dict:
        return {
            "section": self.section,
            "op": self.op,
            "key": [to_data(part) for part in self.key],
            "fields": list(self.fields),
            "before": to_data(self.before),
            "after": to_data(self.after),
        }


class ChangeSet:
    """The changes between two definitions, grouped by section in ``SECTION_ORDER``."""

    def __init__(self, changes: Iterable[SectionChange] = ()):
        order = {name: index for index, name in enumerate(SECTION_ORDER)}
        self.changes: tuple[SectionChange, ...] = tuple(
            sorted(changes, key=lambda c: order.get(c.section, len(order))))

    def __bool__(self) -> bool:
        return bool(self.changes)

    def __len__(self) -> int:
        return len(self.changes)

    def __iter__(self) -> Iterator[SectionChange]:
        return iter(self.changes)

    def __eq__(self, other) -> bool:
        return isinstance(other, ChangeSet) and self.changes == other.changes

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<ChangeSet {[c.describe() for c in self.changes]}>"

    @property
    def sections(self) -> tuple[str, ...]:
        """The sections that changed, in order, once each."""
        return tuple(dict.fromkeys(c.section for c in self.changes))

    def in_section(self, section: str) -> tuple[SectionChange, ...]:
        return tuple(c for c in self.changes if c.section == section)

    def to_json(self) -> dict:
        """Plain data for ``json.dumps``: ``{"changes": [...]}``."""
        return {"changes": [c.to_json() for c in self.changes]}

    def to_text(self, *, color: bool = False) -> str:
        """Grouped by section; ``+`` added, ``-`` removed, ``~`` modified."""
        if not self.changes:
            return "no changes"
        paint = painter(color)
        out: list[str] = []
        for section in self.sections:
            out.append(paint("bold", section))
            for change in self.in_section(section):
                mark, style = {ADDED: ("+", "green"), REMOVED: ("-", "red"),
                               MODIFIED: ("~", "yellow")}[change.op]
                head = f"{change.label} {change.op}" if change.label else change.op
                out.append(paint(style, f"  {mark} {head}"))
                for line in change.details():
                    out.append(f"      {line}")
        return "\n".join(out)


COLORS = {"bold": "1", "green": "32", "red": "31", "yellow": "33", "cyan": "36", "dim": "2"}


def painter(color: bool) -> Callable[[str, str], str]:
    if not color:
        return lambda style, text: text
    return lambda style, text: f"\x1b[{COLORS[style]}m{text}\x1b[0m"


# ---------------------------------------------------------------------- presentation helpers
def to_data(value: Any) -> Any:
    """JSON-ready data: definitions become dicts of their set fields, addresses strings."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, Def):
        out = {}
        for f in model.fields_of(type(value)):
            item = getattr(value, f.name)
            if item is None or item == ():
                continue
            out[f.name] = to_data(item)
        return out
    if isinstance(value, T.MAC | T.DUID):
        return value.normalized
    if isinstance(value, tuple | list):
        return [to_data(item) for item in value]
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address | _uuid.UUID):
        return str(value)
    return str(value)


def show(value: Any) -> str:
    """A compact one-line rendering for text output."""
    if value is None:
        return "(none)"
    if value is True:
        return "yes"
    if value is False:
        return "no"
    if isinstance(value, Def):
        parts = []
        for f in model.fields_of(type(value)):
            item = getattr(value, f.name)
            if item is None or item == () or not f.compare and f.metadata.get("kind") != "attr":
                continue
            parts.append(f"{f.name}={show(item)}")
        return "{" + ", ".join(parts) + "}"
    if isinstance(value, T.MAC | T.DUID):
        return value.normalized
    if isinstance(value, tuple):
        return "[" + ", ".join(show(item) for item in value) + "]"
    if isinstance(value, enum.Enum):
        return str(value.value)
    return str(value)


def show_field(owner: type, path: str, value: Any) -> str:
    """``show`` with the field's own spelling of booleans (``on``/``off`` or ``yes``/``no``)."""
    cls: Any = owner
    meta = None
    for part in path.split("."):
        found = next((f for f in model.fields_of(cls) if f.name == part), None) \
            if dataclasses.is_dataclass(cls) else None
        if found is None:
            meta = None
            break
        meta = found.metadata
        cls = meta.get("cls")
    choices = getattr(meta.get("convert"), "choices", None) if meta else None
    if choices and isinstance(value, bool):
        return choices[0] if value else choices[1]
    return show(value)


def format_key(section: str, key: tuple) -> str:
    """``IPv4 host mac=52:54:00:00:00:01``, ``192.168.122.1/24``, ``'info'``, ``mtu``..."""
    if not key:
        return ""
    if section == "network":
        return str(key[0])
    own = S.hook(section, "format_key")
    if own is not None:
        return own(key, show)
    if section == "route":
        return f"{show(key[0])}/{show(key[1])} via {show(key[2])}"
    parts = [show(part) for part in key if part is not None]
    named = S.hook(section, "KEY_IS_NAME")
    if named or section == "dnsmasq-options":
        return repr(parts[0]) if parts else ""
    return " ".join(parts)


def _get_path(obj: Any, path: str) -> Any:
    for part in path.split("."):
        if obj is None:
            return None
        obj = effective(obj, part) if isinstance(obj, Def) else getattr(obj, part, None)
    return obj


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
    """The section's own content of ``item``: its sub-sections emptied out (an ``<ip>`` keeps
    only ``<bootp>`` of its ``<dhcp>``); a ``<dns>`` or ``<bridge>`` with nothing of its own is
    None, like an absent one."""
    if item is None:
        return None
    if section == "ip":
        dhcp = item.dhcp
        if dhcp is not None:
            dhcp = DhcpDef(bootp=dhcp.bootp) if dhcp.bootp is not None else None
        return dataclasses.replace(item, dhcp=dhcp)
    if section == "dns":
        stripped = dataclasses.replace(item, txts=(), srvs=(), hosts=())
        return None if same(stripped, DnsDef()) else stripped
    if section == "forward":   # its dev stands for its first interface (DEFAULTS)
        return dataclasses.replace(item, dev=effective(item, "dev"), interfaces=(), pfs=())
    if section == "bridge":   # libvirt writes <bridge stp='on' delay='0'/> for no <bridge>
        return None if same(item, BridgeDef()) else item
    return item


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
                _normalized(type(part), str.__str__(part)) if isinstance(part, T.MAC | T.DUID)
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
                    _plain_equal(b_item, a_item) or canon(b_item) == canon(a_item)):
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

