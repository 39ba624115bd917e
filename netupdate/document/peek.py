"""``child_text``: one child of a stored definition's root, read without parsing the rest
(``list`` shows every network's uuid, a definition's second child: it parsed and mapped every
whole definition, 100,000 hosts each, to read it; issue 12)."""

from __future__ import annotations

import os

from lxml import etree

from netupdate.errors import XMLParseError


def child_text(path, tag: str) -> str | None:
    """The text (``""`` when empty) of the first ``<tag>`` child of the root of the XML file at
    ``path``, or None without one; parsed safely (no DTD, entities or network) only as far as
    that child, and every earlier child of the root dropped once read."""
    filename = os.fspath(path)
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
                if element.tag == tag:
                    return element.text or ""
                element.clear()
    except etree.XMLSyntaxError as exc:
        raise XMLParseError(f"malformed XML: {(exc.msg or str(exc))[:200]}", file=filename,
                            line=exc.lineno or None) from None
    return None
