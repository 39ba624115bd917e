"""Element paths (``/network/ip[1]/dhcp/host[2]``) in time linear in the elements located.

lxml's ``getpath`` walks the siblings of the element it is asked about (and of each ancestor)
to number it, so locating an issue on each of 30,000 hosts of one ``<dhcp>`` walked 30,000
siblings each time: quadratic (validate of a document with a bad value in every host spent most
of its time there).  ``PathIndex`` numbers the children of a parent once, the first time one of
them is located, and gives the same paths as ``getpath``.

``indexed_paths()`` opens a scope in which ``element_path`` uses one index; only use it around
work that does not change the tree (validation: its diagnoses work on copies).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

from lxml import etree

__all__ = ["PathIndex", "element_path", "indexed_paths", "stats"]

_SCOPE: contextvars.ContextVar[PathIndex | None] = contextvars.ContextVar(
    "netupdate_path_index", default=None)

stats = {"sibling_steps": 0}   # siblings walked to number elements (a deterministic cost)


def element_path(element) -> str:
    """An XPath such as ``/network/ip[1]/dhcp/host[2]`` (indexes only where siblings repeat),
    as lxml's ``getpath`` gives it; inside ``indexed_paths()`` from its index."""
    index = _SCOPE.get()
    if index is not None:
        return index.path(element)
    stats["sibling_steps"] += _siblings(element)
    return element.getroottree().getpath(element)


@contextlib.contextmanager
def indexed_paths() -> Iterator[PathIndex]:
    """A scope in which ``element_path`` numbers each parent's children once (reentrant: an
    inner scope uses the outer index).  The tree must not change inside it."""
    index = _SCOPE.get()
    if index is not None:
        yield index
        return
    token = _SCOPE.set(index := PathIndex())
    try:
        yield index
    finally:
        _SCOPE.reset(token)


class PathIndex:
    """``getpath`` for many elements of one unchanging tree, each parent's children numbered
    once."""

    def __init__(self):
        self._paths: dict = {}     # element -> its path
        self._steps: dict = {}     # element -> its last step, filled for all children at once

    def path(self, element) -> str:
        if not isinstance(element.tag, str):     # comments and PIs: rare, lxml's own answer
            return element.getroottree().getpath(element)
        chain = []
        node = element
        while node is not None and node not in self._paths:
            chain.append(node)
            node = node.getparent()
        path = self._paths[node] if node is not None else ""
        for node in reversed(chain):
            path = self._paths[node] = f"{path}/{self._step(node)}"
        return path

    def _step(self, element) -> str:
        step = self._steps.get(element)
        if step is None:
            parent = element.getparent()
            if parent is None:
                return _name(element)[0]
            self._number(parent)
            step = self._steps[element]
        return step

    def _number(self, parent) -> None:
        """The last step of every element child of ``parent`` (libxml2's xmlGetNodePath: a
        name, or ``*`` for an element in a default namespace, which counts every element
        sibling; a position when a sibling of the same name exists)."""
        children = list(parent.iterchildren(etree.Element))
        stats["sibling_steps"] += len(children)
        names = [_name(child) for child in children]
        totals: dict = {"*": len(children)}
        for _, key in names:
            if key != "*":
                totals[key] = totals.get(key, 0) + 1
        seen: dict = {}
        for position, (child, (name, key)) in enumerate(zip(children, names, strict=True), 1):
            if key != "*":
                seen[key] = position = seen.get(key, 0) + 1
            self._steps[child] = f"{name}[{position}]" if totals[key] > 1 else name

def _name(element) -> tuple[str, object]:
    """(the name of an element's step, the key of the siblings it is numbered among)."""
    if not element.tag.startswith("{"):
        return element.tag, (element.tag, None)
    prefix, local = element.prefix, etree.QName(element).localname
    if prefix is None:
        return "*", "*"              # default namespace: every element sibling counts
    return f"{prefix}:{local}", (local, prefix)


def _siblings(element) -> int:
    """The siblings ``getpath`` walks for ``element`` and its ancestors (the cost counted)."""
    count = 0
    for node in (element, *element.iterancestors()):
        parent = node.getparent()
        count += len(parent) if parent is not None else 0
    return count
