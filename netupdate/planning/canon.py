"""Semantic equality of typed definitions: the differ compares ``canon`` values, never text.

The model already makes MAC case, IPv6 spelling, netmask vs prefix, lease units, attribute order
and whitespace between elements irrelevant.  Documented defaults are applied before comparing
(``DEFAULTS``: ``<bridge stp>`` absent equals ``on``, ``<forward dev>`` its first interface, ...:
the sections' ``DIFF_DEFAULTS``), so libvirt's own round trip (which writes the defaults out) is
no change; values derived from others (``DERIVED``: an ``<ip>``'s family follows its address)
are compared as derived.  Repeated items with an identity are compared as multisets, except
where their order is significant (``ORDERED``: DNS forwarders, since dnsmasq runs with
``strict-order``).
"""

from __future__ import annotations

import enum
import functools
from collections import Counter
from collections.abc import Callable
from typing import Any

from netupdate import sections as S
from netupdate.model import defs as model
from netupdate.model import values as T
from netupdate.model.defs import Def, DnsDef, IpDef, RouteDef

# Repeated fields whose order is significant (compared as sequences, not as multisets).
ORDERED = {(DnsDef, "forwarders")}


def _family(obj) -> str | None:
    if getattr(obj, "address", None) is None:
        return getattr(obj, "family", None)
    return "ipv6" if obj.address.version == 6 else "ipv4"


# Values an absent attribute stands for (libvirt's defaults); applied before comparing: the
# sections' ``DIFF_DEFAULTS`` (field of the section's item, or (class, field) of a child of it ->
# a value, or a function of the item).
DEFAULTS: dict[tuple[type, str], Callable[[Any], Any]] = {
    (key if isinstance(key, tuple) else (module.SECTION.def_cls, key)):
        (value if callable(value) else (lambda o, v=value: v))
    for module in S.MODULES.values() for key, value in getattr(module, "DIFF_DEFAULTS", {}).items()
}
# Values derived from others whatever is written (``family`` follows the address).
DERIVED: dict[tuple[type, str], Callable[[Any], Any]] = {
    (IpDef, "family"): _family,
    (RouteDef, "family"): _family,
}


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
        return (type(value).__name__, normalized(type(value), str.__str__(value)))
    if isinstance(value, tuple):
        items = tuple(canon(item) for item in value)
        keyed = value and all(isinstance(item, Def) and type(item).KEY for item in value)
        if keyed and not ordered:
            return ("bag", frozenset(Counter(items).items()))
        return items
    if isinstance(value, enum.Enum):
        return value.value
    return value


def plain_equal(a: Any, b: Any) -> bool:
    """A fast, sound-but-incomplete equality: True only if ``a`` and ``b`` are written the
    same way (then they mean the same); False means "compare canonically"."""
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, T.MAC | T.DUID):
        return str.__eq__(a, b)
    if isinstance(a, Def):
        return all(plain_equal(getattr(a, name), getattr(b, name))
                   for name, _o, _d, _f in _compared(type(a)))
    if isinstance(a, tuple):
        return len(a) == len(b) and all(plain_equal(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def normalized(kind: type, raw: str) -> str:
    """``MAC``/``DUID`` normalisation of the text ``raw`` of a valid one (it dominates diffs of
    big networks): a MAC's is computed at once, without checking ``raw`` again (a cache by
    spelling thrashed past 65,536 hosts: issue 12); a DUID's is cached by spelling."""
    return T.mac_normalized(raw) if kind is T.MAC else _duid_normalized(kind, raw)


@functools.lru_cache(maxsize=1 << 16)
def _duid_normalized(kind: type, raw: str) -> str:
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

