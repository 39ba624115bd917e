"""How changes are shown: plain data for JSON (``to_data``), one-line text (``show``,
``show_field``, ``format_key``: how a diff names an item; a section's own ``format_key`` hook
comes first), and ANSI colours (``painter``)."""

from __future__ import annotations

import dataclasses
import enum
import ipaddress
import uuid as _uuid
from collections.abc import Callable
from typing import Any

from netupdate import sections as S
from netupdate.model import defs as model
from netupdate.model import values as T
from netupdate.model.defs import Def
from netupdate.planning.canon import effective

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


def get_path(obj: Any, path: str) -> Any:
    for part in path.split("."):
        if obj is None:
            return None
        obj = effective(obj, part) if isinstance(obj, Def) else getattr(obj, part, None)
    return obj

