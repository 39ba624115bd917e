"""Where each node of a document was written: ``map_source`` pairs every element, comment and
processing instruction lxml read with the offsets of its text in the source (``Node``), so
``Document`` can copy what was not edited verbatim."""

from __future__ import annotations

import itertools
import re

from lxml import etree

from netupdate.document.patterns import Pattern
from netupdate.errors import XMLParseError

_TOKEN = Pattern(
    r"""<!--(?P<comment>.*?)-->
      | <\?(?P<pi>.*?)\?>
      | <!\[CDATA\[.*?\]\]>
      | <!(?P<decl>[A-Za-z]+)
      | </(?P<end>[^\s>]+)\s*>
      | <(?P<start>[^\s/>!?]+)
         (?P<attrs>(?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*)
         (?P<close>\s*/?)>""",
    re.S | re.X,
)


class Node:
    """Where one node of the input was written (offsets into the text), and what it looked
    like then (the snapshot that tells whether it was touched)."""

    __slots__ = ("start", "end", "tag_end", "end_tag_start", "self_closing", "attrs_span",
                 "close", "text_end", "tail_end", "tag", "attrib", "text", "tail", "children")

    def __init__(self, start: int, end: int):
        self.start = start                # offset of '<'
        self.end = end                    # offset after the node's last character
        self.tag_end = end                # element: offset after the start tag's '>'
        self.end_tag_start = end          # element: offset of '</' (tag_end if self-closing)
        self.self_closing = False
        self.attrs_span = (end, end)      # the attributes' text in the start tag
        self.close = ">"                  # raw close of the start tag: '>', '/>', ' />', ...
        self.text_end = end               # the raw text runs from tag_end to here
        self.tail_end = end               # the raw tail runs from end to here


def map_source(text: str, root, filename: str | None) -> tuple[dict[object, Node], str, str]:
    """Find every node's text in the source and pair it with the lxml node: returns
    ``({lxml node: Node}, prolog, epilog)``, the text before and after the root element."""
    records: list[Node] = []
    stack: list[tuple[Node, list[Node]]] = []   # open elements with their children
    root_span = None
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        if kind == "close":   # a start tag (its last group)
            node = Node(match.start(), match.end())
            node.close = match.group("close") + ">"
            node.attrs_span = match.span("attrs")
            records.append(node)
            if stack:
                stack[-1][1].append(node)
            if node.close.endswith("/>"):
                node.self_closing = True
                node.end_tag_start = node.end
                if not stack:
                    root_span = (node.start, node.end)
                    break
            else:
                stack.append((node, []))
        elif kind == "end":
            node, children = stack.pop()
            node.end_tag_start, node.end = match.start(), match.end()
            node.text_end = children[0].start if children else node.end_tag_start
            for child, following in itertools.pairwise([*children, None]):
                child.tail_end = following.start if following else node.end_tag_start
            if not stack:
                root_span = (node.start, node.end)
                break
        elif stack and kind in ("comment", "pi"):  # inside the root
            node = Node(match.start(), match.end())
            records.append(node)
            stack[-1][1].append(node)
    lxml_nodes = list(root.iter(etree.Element, etree.Comment, etree.PI))
    if root_span is None or len(lxml_nodes) != len(records):
        raise XMLParseError("could not map the document source", file=filename)
    nodes: dict[object, Node] = {}
    for lnode, record in zip(lxml_nodes, records, strict=True):
        tag = record.tag = lnode.tag
        record.attrib = tuple(lnode.items()) if tag.__class__ is str else ()
        record.text = lnode.text
        record.tail = lnode.tail
        record.children = tuple(lnode)
        nodes[lnode] = record
    return nodes, text[:root_span[0]], text[root_span[1]:]


def number_lines(nodes: dict[object, Node], text: str) -> None:
    """Give each node of ``map_source(text, ...)`` the line libxml2 gives it when it parses
    ``text``: an element's is the line that ends its start tag, a comment's or PI's its end."""
    line, at = 1, 0
    for node, record in nodes.items():   # document order
        end = record.tag_end if record.tag.__class__ is str else record.end
        line += text.count("\n", at, end)
        at = end
        node.sourceline = line
