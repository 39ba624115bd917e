"""The nodeSpec form of an update: an XPath that selects the element to edit.  The spec is
refused unless it uses XPath 1.0's core functions only, evaluated within a cost budget
(``xpathguard``), and must select exactly one element; the edit then goes to that element's
section handler, or to the generic edit.

This module does no I/O (``xpathguard``'s forked child excepted).
"""

from __future__ import annotations

import re

from lxml import etree

from netupdate import sections as S
from netupdate.document.patterns import Pattern
from netupdate.edit.context import Change, Edit, q, short
from netupdate.edit.dispatch import GENERIC, HANDLERS, identify_child, tag_text
from netupdate.errors import (
    AmbiguousError,
    InvalidFragmentError,
    NotFoundError,
    UnsupportedError,
)
from netupdate.model import defs as M

_XPATH_FUNCTIONS = frozenset({
    "last", "position", "count", "id", "local-name", "namespace-uri", "name", "string", "concat",
    "starts-with", "contains", "substring-before", "substring-after", "substring",
    "string-length", "normalize-space", "translate", "boolean", "not", "true", "false", "lang",
    "number", "sum", "floor", "ceiling", "round"})
_XPATH_NODE_TYPES = frozenset({"comment", "text", "processing-instruction", "node"})
_XPATH_NAMESPACES = {"dnsmasq": M.DNSMASQ_NS}
_XPATH_MAX = 4096

_XPATH_TOKEN = Pattern(r"""
    (?P<literal>"[^"]*"|'[^']*')
  | (?P<variable>\$)
  | (?P<name>(?:[A-Za-z_][\w.\-]*:)?[A-Za-z_][\w.\-]*)(?P<call>\s*\()?
  | (?P<other>\S)
""", re.X | re.S)


def _check_xpath(spec: str) -> None:
    """Refuse what a node spec may not use: variables, and functions other than XPath 1.0's
    core library (``document()``, extension functions, ...)."""
    for match in _XPATH_TOKEN.finditer(spec):
        if match.group("variable"):
            raise UnsupportedError(f"node spec {short(spec, 200)!r}: variables are not allowed")
        name = match.group("name")
        if name and match.group("call"):
            if ":" in name:
                raise UnsupportedError(f"node spec {short(spec, 200)!r}: extension function "
                                       f"'{short(name)}()' is "
                                       "not allowed")
            if name not in _XPATH_FUNCTIONS and name not in _XPATH_NODE_TYPES:
                raise UnsupportedError(f"node spec {short(spec, 200)!r}: function "
                                       f"'{short(name)}()' is not allowed "
                                       "(only XPath 1.0 core functions)")


def _select(ed: Edit, spec) -> etree._Element:
    from netupdate.edit import xpathguard

    if not isinstance(spec, str) or not spec.strip():
        raise InvalidFragmentError("the node spec is empty")
    if len(spec) > _XPATH_MAX:
        raise InvalidFragmentError(f"the node spec is longer than {_XPATH_MAX} characters")
    spec_shown = short(spec, 200)
    _check_xpath(spec)
    try:
        xpath = etree.XPath(spec, namespaces=_XPATH_NAMESPACES, regexp=False,
                            smart_strings=True)
        result = xpathguard.evaluate(xpath, ed.root, spec, ed.path)
    except etree.XPathError as exc:
        raise InvalidFragmentError(f"invalid node spec {spec_shown!r}: {short(str(exc), 200)}") \
            from None
    except xpathguard.TooCostly:
        raise UnsupportedError(f"node spec {spec_shown!r} was stopped after "
                               f"{xpathguard.TIMEOUT:g} s: too costly for this network "
                               "(address the element more directly)") from None
    if result.kind in ("boolean", "string", "number", "value"):
        raise UnsupportedError(f"node spec {spec_shown!r} evaluates to a {result.kind}, not "
                               "to an element")
    if result.kind is not None:
        raise UnsupportedError(f"node spec {spec_shown!r} selects {result.kind}; only elements "
                               "of the network document can be targeted")
    if not result.count:
        raise NotFoundError(f"node spec {spec_shown!r} matches no element in network "
                            f"{q(ed.n)}")
    if result.count > 1:
        shown = ", ".join(result.paths[:20])
        more = f" and {result.count - 20} more" if result.count > 20 else ""
        raise AmbiguousError(f"node spec {spec_shown!r} matches {result.count} elements in "
                             f"network {q(ed.n)}: {shown}{more}")
    return result.elements[0]


def _section_handler_for_child(ed: Edit, parent, tag: str):
    """(section, handler, scope) when a ``tag`` child of ``parent`` is a section's element."""
    if parent.tag == "ip" and tag in ("host", "range") and parent.getparent() is ed.root:
        section = S.BY_NAME["ip-dhcp-host" if tag == "host" else "ip-dhcp-range"]
    else:
        section = S.section_for_child(parent, tag)
    if section is None or section.name == "network":
        return None
    handler = HANDLERS[section.name]
    scope = handler.scope_of(ed, parent)
    if scope is None:
        return None
    return section, handler, scope


def run_node_spec(ed: Edit, spec: str) -> Change:
    ed.node_spec = spec
    target = _select(ed, spec)
    frag = ed.frag
    if ed.command in ("add-first", "add-last"):
        found = _section_handler_for_child(ed, target, frag.tag)
        if found is not None:
            section, handler, scope = found
            ed.claim(section)
            return handler.add(ed, scope)
        return GENERIC.add(ed, target)
    if frag is None or frag.tag == target.tag:
        if target is ed.root:
            ed.fail(UnsupportedError, "the <network> element itself cannot be "
                    + ("replaced; edit its children" if ed.command == "modify" else "deleted"))
        section, section_el = S.section_of(target)
        if section_el is target and section.name != "network":
            handler = HANDLERS[section.name]
            scope = handler.scope_of(ed, target.getparent())
            ed.claim(section)
            if ed.command == "modify":
                return handler.modify(ed, scope, target)
            return handler.delete(ed, scope, target)
        if ed.command == "modify":
            return GENERIC.modify(ed, target)
        return GENERIC.delete(ed, target)
    found = _section_handler_for_child(ed, target, frag.tag)
    if found is not None:
        section, handler, scope = found
        ed.claim(section)
        if ed.command == "modify":
            return handler.modify(ed, scope, None)
        return handler.delete(ed, scope, None)
    allowed = S.allowed_children(target)
    if allowed is not None and frag.tag not in allowed:
        ed.fail(InvalidFragmentError, f"unexpected element <{tag_text(frag)}>: the node spec "
                f"selects <{tag_text(target)}>, and <{tag_text(frag)}> is neither that nor "
                f"one of its children (network {q(ed.n)})", target)
    child = identify_child(ed, target, frag)
    if ed.command == "modify":
        return GENERIC.modify(ed, child)
    return GENERIC.delete(ed, child)
