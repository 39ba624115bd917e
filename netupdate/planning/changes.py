"""The change records: ``SectionChange`` (one added, removed or modified item of one section) and
``ChangeSet`` (the changes between two definitions, in ``SECTION_ORDER``), and the sections they
name: libvirt's update sections, plus ``route`` and ``dnsmasq-options``, which only the differ
reports."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from netupdate import sections as S
from netupdate.model.defs import Def, NetworkDef, RouteDef
from netupdate.planning.show import format_key, get_path, painter, show, show_field, to_data
from netupdate.sections._spec import ADDED, MODIFIED, REMOVED

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

# Sections whose key starts with the IP family (4 or 6) of their <ip>: libvirt allows DHCP on
# one <ip> per family, so the family identifies the parent.
FAMILY_KEYED = tuple(name for name in S.MODULES if S.hook(name, "FAMILY_KEYED"))


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
                    old, new = get_path(self.before, path.split(".", 1)[1]), \
                        get_path(self.after, path.split(".", 1)[1])
                else:
                    owner, rest = type(self.before), path
                    old, new = get_path(self.before, path), get_path(self.after, path)
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

