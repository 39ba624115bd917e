"""``children``: the first children of a stored definition's root with some tags, read without
parsing the rest (``list`` shows every network's uuid and bridge, children near the top of a
definition: it parsed and mapped every whole definition, 100,000 hosts each, to read them;
issue 12)."""

from __future__ import annotations

import os

from lxml import etree

from netupdate.errors import XMLParseError


def children(path, tags) -> dict:
    """The first ``<tag>`` child (an element: its ``text`` and attributes) of the root of the
    XML file at ``path`` for each of ``tags`` it has; parsed safely (no DTD, entities or
    network) only as far as the last of them, and every other child of the root dropped once
    read."""
    filename = os.fspath(path)
    wanted, found = set(tags), {}
    events = etree.iterparse(filename, events=("start", "end"), resolve_entities=False,
                             no_network=True, load_dtd=False, huge_tree=False)
    depth = 0
    try:
        for event, element in events:
            if event == "start":
                depth += 1
                continue
            depth -= 1
            if depth == 1:   # a child of the root
                if element.tag in wanted and element.tag not in found:
                    found[element.tag] = element
                    if len(found) == len(wanted):
                        break
                else:
                    element.clear()
    except etree.XMLSyntaxError as exc:
        raise XMLParseError(f"malformed XML: {(exc.msg or str(exc))[:200]}", file=filename,
                            line=exc.lineno or None) from None
    return found
