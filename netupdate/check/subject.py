"""The document under semantic check: the typed definitions read from it and the elements they came
from (``Subject``).  A rule yields targets (a definition, an element, ``None`` for the root, or
``(definition or element, attribute name)``); ``Subject.locate`` turns one into a line and an
element XPath.  It also finds the enumerated attributes whose value is not one of the known words
(``NU-E101``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from lxml import etree

from netupdate.document import paths
from netupdate.model import defs as M


@dataclass(frozen=True)
class _FieldPlan:
    name: str
    kind: str               # 'child' | 'children' | 'enum'
    xml: str | None
    within: str | None = None
    child: str | None = None
    choices: tuple[str, ...] = ()
    enum: type | None = None


_PLANS: dict[type, tuple[_FieldPlan, ...]] = {}


def _plan(cls: type) -> tuple[_FieldPlan, ...]:
    """What to walk in a definition class: child definitions and enumerated attributes."""
    plan = _PLANS.get(cls)
    if plan is None:
        items = []
        for f in M.fields_of(cls):
            meta = f.metadata
            kind = meta.get("kind")
            if kind == "child":
                items.append(_FieldPlan(f.name, "child", meta["xml"]))
            elif kind == "children" and meta["cls"] is not None:
                items.append(_FieldPlan(f.name, "children", meta["xml"], within=meta["within"]))
            elif kind == "attr":
                convert = meta["convert"]
                kind_enum = getattr(convert, "enum", None)
                choices = getattr(convert, "choices", None)
                if kind_enum is not None:
                    items.append(_FieldPlan(f.name, "enum", meta["xml"], child=meta["child"],
                                            choices=tuple(m.value for m in kind_enum),
                                            enum=kind_enum))
                elif choices is not None:
                    items.append(_FieldPlan(f.name, "enum", meta["xml"], child=meta["child"],
                                            choices=tuple(choices)))
        plan = _PLANS[cls] = tuple(items)
    return plan


class Subject:
    """A read document under check: the typed definitions and the elements they came from."""

    def __init__(self, net: M.NetworkDef, root):
        self.net = net
        self.root = root
        self.n = net.name if net.name is not None else "(unnamed)"   # the view of a rule
        self._elements: dict[int, object] | None = None

    def element_of(self, definition) -> object:
        if self._elements is None:
            self._index()
        return self._elements.get(id(definition), self.root)

    def _index(self) -> None:
        """Pair every definition with its element (the model reads them in document order)."""
        elements: dict[int, object] = {}
        stack = [(self.net, self.root)]
        while stack:
            definition, element = stack.pop()
            elements[id(definition)] = element
            for item in _plan(type(definition)):
                if item.kind == "enum":
                    continue
                value = getattr(definition, item.name)
                if item.kind == "child":
                    if value is not None:
                        stack.append((value, element.find(item.xml)))
                elif value:
                    parent = element.find(item.within) if item.within else element
                    stack.extend(zip(value, parent.findall(item.xml), strict=False))
        self._elements = elements

    def unknown_values(self) -> Iterator[tuple[object, str]]:
        """Enumerated attributes whose value is not one of the known words (the model keeps
        those as plain text).  Walks the definitions only; elements are looked up when found."""
        stack = [self.net]
        while stack:
            definition = stack.pop()
            for item in _plan(type(definition)):
                value = getattr(definition, item.name)
                if item.kind == "enum":
                    if value is None or value is True or value is False or (
                            item.enum is not None and isinstance(value, item.enum)):
                        continue
                    element = self.element_of(definition)
                    target = element.find(item.child) if item.child else element
                    yield (target, item.xml), _unknown_message(target, item, value)
                elif item.kind == "child":
                    if value is not None:
                        stack.append(value)
                elif value:
                    stack.extend(value)

    def locate(self, target) -> tuple[int | None, str, str | None]:
        """(line, element path, attribute) of a target: a definition, an element, ``None`` (the
        root) or ``(definition or element, attribute name)`` for a problem of one attribute."""
        attribute = None
        if isinstance(target, tuple):
            target, attribute = target
        if target is None:
            element = self.root
        elif isinstance(target, etree._Element):
            element = target
        else:
            element = self.element_of(target)
        return element.sourceline, paths.element_path(element), attribute


def _unknown_message(element, item: _FieldPlan, value) -> str:
    allowed = " or ".join(f"'{c}'" for c in item.choices) if len(item.choices) <= 2 else \
        ", ".join(f"'{c}'" for c in item.choices)
    return (f"unknown value '{value}' for attribute '{item.xml}' of <{element.tag}> "
            f"(expected {allowed})")

