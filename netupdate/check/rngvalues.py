"""Exact fast acceptance for a RelaxNG grammar whose value types are regular expressions.

libxml2 compiles a ``pattern`` facet again every time it checks a value against it; with typed
addresses, MACs and numbers that is nine tenths of its validation time.  ``Acceptor`` splits the
work: libxml2 validates the *structure* with a copy of the grammar whose pattern facets are
removed (every other facet and every base type stay), and the values those facets constrain are
then checked in Python with regular expressions compiled once.

To know which value a removed facet applied to, the grammar is walked once: every named
attribute and every element's text gets a *slot*, keyed by the path of element tags from the
start element, holding every attribute (or text) pattern the grammar has there.  The answer is
exact when it is yes: the structural copy accepts only what the full grammar accepts once each
value fits every pattern of its slot.  Anything this module cannot decide exactly (a value
with whitespace that a numeric type would collapse, an element that both a named and a
wildcard pattern could match, a datatype it does not know) makes ``accepts`` answer ``None``,
and so does a value that fits none of its patterns; the caller then validates with the full
grammar, which is the reference.  tests/test_rngvalues.py compares the two on every fixture,
mutation, fragment and value type.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable

from lxml import etree

from netupdate.check import rngthin
from netupdate.document.patterns import Pattern

__all__ = ["Acceptor", "element_tag", "wildcard_allows", "xsd_regex"]

_RNG = "{http://relaxng.org/ns/structure/1.0}"
_XSD_TYPES = "http://www.w3.org/2001/XMLSchema-datatypes"
_VALUE_KINDS = {"data", "value", "text", "list"}
_MAX_DEPTH = 64
# XSD integer types by their inclusive bounds; their lexical form is checked as digits only.
_INTEGERS = {"unsignedByte": (0, 255), "unsignedShort": (0, 65535),
             "unsignedInt": (0, 4294967295), "unsignedLong": (0, 18446744073709551615),
             "positiveInteger": (1, None), "nonNegativeInteger": (0, None)}
_DIGITS = Pattern(r"[0-9]+")
_XSD_ESCAPES = set(r"\|.-^?*+{}()[]nrt")

Verdict = bool | None   # True: fits; False: does not fit; None: cannot tell here


def xsd_regex(pattern: str) -> re.Pattern:
    """An XSD ``pattern`` facet as a Python regular expression (use ``fullmatch``).

    Only the XSD constructs with the same meaning in Python are accepted (character classes,
    groups, alternation, quantifiers, single-character escapes); ``.`` becomes "any character
    but a line end".  Anything else raises ``ValueError``, so a new construct in the grammar is
    noticed rather than translated wrongly.
    """
    out, index, in_class = [], 0, False
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            escaped = pattern[index + 1:index + 2]
            if escaped not in _XSD_ESCAPES:
                raise ValueError(f"XSD escape \\{escaped} in {pattern!r} has no exact translation")
            out.append(char + escaped)
            index += 2
            continue
        if in_class:
            if char == "[":
                raise ValueError(f"XSD class subtraction in {pattern!r} has no exact translation")
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == ".":
            char = r"[^\n\r]"
        elif char in "^$":
            char = "\\" + char
        out.append(char)
        index += 1
    return re.compile("".join(out))


class Acceptor:
    """Fast yes-or-unsure answers for one grammar (an lxml tree with a ``<start>``).

    ``load(href)`` returns the tree of an included grammar file.
    """

    def __init__(self, grammar: etree._Element, load: Callable[[str], etree._Element],
                 variant: Callable | None = None):
        included = [load(i.get("href")) for i in grammar.iter(_RNG + "include")]
        self._defines = {d.get("name"): d for tree in (grammar, *included)
                         for d in tree.iter(_RNG + "define")}
        self._compiled: dict = {}
        self._load, self._variant, self._checkers = load, variant, {}
        first = grammar.find(_RNG + "start")[0]
        self._start_define = first.get("name") if first.tag == _RNG + "ref" else None
        self._slots: dict[tuple, list] = {}     # (path of tags, attribute or None) -> patterns
        self._paths: set[tuple] = set()          # every path of a named element
        self._wild: dict[tuple, list] = {}       # parent path -> wildcard element patterns
        self._reached: dict[tuple, int] = {}     # path -> element patterns that match there
        self._repeats: dict[tuple, str] = {}     # path -> define repeated in its parent's
        self._walk(grammar.find(_RNG + "start"), (), set())  # interleave (see rngthin)
        stripped = _without_patterns(grammar, included)
        self._structure = rngthin.Thinned(stripped, self._thinnable())
        self._prepare()

    # ------------------------------------------------------------------ built once
    def _walk(self, node, path: tuple, walked: set) -> None:
        if len(path) > _MAX_DEPTH:
            raise ValueError(f"the grammar nests named elements deeper than {_MAX_DEPTH}")
        for child in node.iterchildren(etree.Element):
            kind, name = etree.QName(child).localname, child.get("name")
            if self._is_value(child):
                self._slots.setdefault((path, None), []).append(child)
            elif kind == "ref":
                body = self._element_define(name)
                if body is not None:
                    self._count((*path, element_tag(body)))
                if (name, path) not in walked:
                    walked.add((name, path))
                    self._walk(self._defines[name], path, walked)
            elif kind == "element" and name:
                if node.tag != _RNG + "define":   # an element define counts at its refs
                    self._count((*path, element_tag(child)))
                self._paths.add((*path, element_tag(child)))
                self._walk(child, (*path, element_tag(child)), walked)
            elif kind in ("element", "attribute") and not name and self._has_pattern(child, set()):
                raise ValueError(f"a wildcard {kind} with a typed value is not supported")
            elif kind == "element":
                self._wild.setdefault(path, []).append(child)
            elif kind == "attribute":
                if name:
                    self._slots.setdefault((path, element_tag(child)), []).append(child)
            else:
                if kind == "interleave" and node.tag == _RNG + "element" and path:
                    self._note_repeats(node, child, path)
                self._walk(child, path, walked)

    def _count(self, path: tuple) -> None:
        self._reached[path] = self._reached.get(path, 0) + 1

    def _element_define(self, name: str):
        """The element pattern a define consists of, if it is one."""
        body = list(self._defines[name].iterchildren(etree.Element))
        if len(body) == 1 and body[0].tag == _RNG + "element" and body[0].get("name"):
            return body[0]
        return None

    def _note_repeats(self, element, interleave, path: tuple) -> None:
        """Record ``zeroOrMore``/``oneOrMore`` of one element define directly in the
        interleave that is an element's content (besides its attributes)."""
        others = [c for c in element.iterchildren(etree.Element) if c is not interleave]
        if not all(self._attributes_only(c, set()) for c in others):
            return
        for repeat in interleave.iterchildren(_RNG + "zeroOrMore", _RNG + "oneOrMore"):
            parts = list(repeat.iterchildren(etree.Element))
            if len(parts) == 1 and parts[0].tag == _RNG + "ref":
                body = self._element_define(parts[0].get("name"))
                if body is not None:
                    self._repeats[(*path, element_tag(body))] = parts[0].get("name")

    def _attributes_only(self, node, seen: set) -> bool:
        kind = etree.QName(node).localname
        if kind in ("attribute", "empty"):
            return True
        if kind == "ref":
            name = node.get("name")
            if name in seen:
                return True
            seen.add(name)
            node = self._defines[name]
        elif kind not in ("optional", "choice", "group"):
            return False
        return all(self._attributes_only(c, seen) for c in node.iterchildren(etree.Element))

    def _thinnable(self) -> dict[tuple, dict[str, str]]:
        """parent path -> {child tag: define} for repeats no other pattern can match."""
        out: dict[tuple, dict[str, str]] = {}
        for path, define in self._repeats.items():
            if self._reached.get(path) == 1 and not any(
                    wildcard_allows(w, path[-1]) for w in self._wild.get(path[:-1], ())):
                out.setdefault(path[:-1], {})[path[-1]] = define
        return out

    def _prepare(self) -> None:
        """The checks of every value a pattern facet applies to, by element path.

        A document is walked once in Python rather than searched with one XPath union:
        libxml2 merges the node sets of a union with a duplicate check per node, which is
        quadratic in the number of values (a network with 20,000 hosts took 20 s)."""
        typed = {slot: [self._compile(p) for p in patterns if self._has_pattern(p, set())]
                 for slot, patterns in self._slots.items()}
        self._typed: dict[tuple, dict] = {}      # path -> {attribute or None: checks}
        for (path, name), checks in typed.items():
            if checks:
                self._typed.setdefault(path, {})[name] = checks
        # a named element that a wildcard could match as well: only the full grammar can tell
        self._ambiguous = {path for path in self._paths
                           if any(wildcard_allows(w, path[-1])
                                  for w in self._wild.get(path[:-1], ()))}
        # the paths worth descending into: those leading to a typed or ambiguous element
        self._leads = {path[:end] for path in (*self._typed, *self._ambiguous)
                       for end in range(1, len(path) + 1)}

    def _is_value(self, node) -> bool:
        """Whether ``node`` describes only a value (text), through choices and value defines."""
        kind = etree.QName(node).localname
        if kind in _VALUE_KINDS:
            return True
        if kind == "ref":
            body = list(self._defines[node.get("name")].iterchildren(etree.Element))
            return len(body) == 1 and self._is_value(body[0])
        return kind == "choice" and all(self._is_value(c)
                                        for c in node.iterchildren(etree.Element))

    def _has_pattern(self, node, seen: set) -> bool:
        """Whether a pattern facet is reachable from ``node`` (through refs)."""
        for child in node.iter(etree.Element):
            if child.tag == _RNG + "param" and child.get("name") == "pattern":
                return True
            name = child.get("name")
            if child.tag == _RNG + "ref" and name not in seen:
                seen.add(name)
                if self._has_pattern(self._defines[name], seen):
                    return True
        return False

    def _compile(self, node) -> Callable[[str], Verdict]:
        """The value check of an attribute or value pattern (one object per define)."""
        kind = etree.QName(node).localname
        key = ("ref", node.get("name")) if kind == "ref" else node
        found = self._compiled.get(key)
        if found is None:
            found = self._compiled[key] = self._build(node, kind)
        return found

    def _build(self, node, kind: str) -> Callable[[str], Verdict]:
        parts = list(node.iterchildren(etree.Element))
        if kind == "attribute":      # a named attribute: no content means text
            if len(parts) > 1:
                return _always(None)
            return self._compile(parts[0]) if parts else _always(True)
        if kind == "ref":
            body = list(self._defines[node.get("name")].iterchildren(etree.Element))
            return self._compile(body[0]) if len(body) == 1 else _always(None)
        if kind == "choice":
            return _any([self._compile(part) for part in parts])
        if kind == "text":
            return _always(True)
        if kind == "value":
            return _value_check(node)
        if kind == "data":
            return _data_check(node)
        return _always(None)

    @property
    def thinnable(self) -> dict[tuple, dict[str, str]]:
        """The repeated children ``rngthin`` may take out (see ``rngthin.Thinned``)."""
        return self._structure.thinnable

    def checker(self, loose: str, shallow: bool) -> rngthin.Thinned:
        """A yes-or-no validator, in linear time, of the variant ``variant(start, loose,
        shallow)`` of this (strict) grammar with its pattern facets: loosening keeps the
        repeats, a shallow variant only those of its start element (deeper ones are stubs)."""
        key = (loose, shallow)
        if key not in self._checkers:
            start = self._start_define
            thinnable = {p: t for p, t in self.thinnable.items() if not shallow or len(p) == 1}
            self._checkers[key] = rngthin.Thinned(
                self._variant(start, loose, shallow), thinnable,
                fast=lambda grammar: Acceptor(grammar, self._load))
        return self._checkers[key]

    # ------------------------------------------------------------------ per document
    def accepts(self, element) -> Verdict:
        """True when the full grammar accepts ``element``; False when it certainly does not;
        None when that cannot be told without it."""
        if not self._structure.validate(element):
            return False
        typed, ambiguous, leads = self._typed, self._ambiguous, self._leads
        pending = [(element, (element.tag,))]
        while pending:
            node, path = pending.pop()
            if path in ambiguous:
                return None
            slots = typed.get(path)
            if slots is not None and self._misfit(node, slots):
                return None
            for child in node.iterchildren(etree.Element):
                below = (*path, child.tag)
                if below in leads:
                    pending.append((child, below))
        return True

    @staticmethod
    def _misfit(node, slots: dict) -> bool:
        """Whether a typed value of ``node`` fits none of its patterns (or cannot be told)."""
        for name, checks in slots.items():
            if name is None:                    # the element's text is typed
                if len(node):
                    return True
                value = node.text or ""
            else:
                value = node.get(name)
                if value is None:
                    continue
            for check in checks:
                if not check(value):
                    return True
        return False


def _without_patterns(grammar, included) -> etree._Element:
    """A copy of the grammar with its includes inlined and every pattern facet taken out."""
    grammar = copy.deepcopy(grammar)
    for include, tree in zip(list(grammar.iter(_RNG + "include")), included, strict=True):
        for define in tree.iterchildren(_RNG + "define"):
            include.addprevious(copy.deepcopy(define))
        include.getparent().remove(include)
    for param in list(grammar.iter(_RNG + "param")):
        if param.get("name") == "pattern":
            param.getparent().remove(param)
    return grammar


def element_tag(pattern) -> str:
    """The Clark tag matched by an ``<element name="...">`` (or attribute) pattern."""
    prefix, _, local = pattern.get("name").rpartition(":")
    return f"{{{pattern.nsmap[prefix]}}}{local}" if prefix else local


def wildcard_allows(pattern, tag: str) -> bool:
    """Whether a nameless element pattern's name class matches ``tag`` (a name class other
    than ``<anyName>``, with or without excepted namespaces: yes, to be safe)."""
    any_name = pattern.find(_RNG + "anyName")
    if any_name is None:
        return True
    excluded = {ns.get("ns") for ns in any_name.iter(_RNG + "nsName")}
    return (etree.QName(tag).namespace or "") not in excluded


def _always(verdict: Verdict) -> Callable[[str], Verdict]:
    return lambda value: verdict


def _any(checks) -> Callable[[str], Verdict]:
    def check(value: str) -> Verdict:
        verdict: Verdict = False
        for one in checks:
            found = one(value)
            if found:
                return True
            if found is None:
                verdict = None
        return verdict
    return check


def _library(node) -> str:
    for ancestor in node.iterancestors():
        if ancestor.get("datatypeLibrary") is not None:
            return ancestor.get("datatypeLibrary")
    return ""


def _value_check(node) -> Callable[[str], Verdict]:
    kind = node.get("type")
    if kind is None or (kind == "token" and _library(node) == _XSD_TYPES):
        expected = " ".join((node.text or "").split())
        return lambda value: " ".join(value.split()) == expected
    if kind == "string" and _library(node) == _XSD_TYPES:
        expected = node.text or ""
        return lambda value: value == expected
    return _always(None)


def _data_check(node) -> Callable[[str], Verdict]:
    kind = node.get("type")
    if (node.get("datatypeLibrary") or _library(node)) != _XSD_TYPES or node.find(
            _RNG + "except") is not None:
        return _always(None)
    params = [(p.get("name"), p.text or "") for p in node.iterchildren(_RNG + "param")]
    patterns = [xsd_regex(text) for name, text in params if name == "pattern"]
    if kind == "string":
        lengths = {name: int(text) for name, text in params if name != "pattern"}
        if set(lengths) - {"length", "minLength", "maxLength"}:
            return _always(None)
        if len(patterns) == 1 and not lengths:
            match = patterns[0].fullmatch
            return lambda value: match(value) is not None

        def check(value: str) -> Verdict:
            size = len(value)
            return (all(p.fullmatch(value) for p in patterns)
                    and lengths.get("length", size) == size
                    and lengths.get("minLength", 0) <= size <= lengths.get("maxLength", size))
        return check
    if kind in _INTEGERS:
        low, high = _INTEGERS[kind]
        bounds = {name: int(text) for name, text in params if name != "pattern"}
        if set(bounds) - {"minInclusive", "maxInclusive"}:
            return _always(None)
        low = max(low, bounds.get("minInclusive", low))
        if "maxInclusive" in bounds:
            high = bounds["maxInclusive"] if high is None else min(high, bounds["maxInclusive"])

        def check(value: str) -> Verdict:
            if not _DIGITS.fullmatch(value):
                return None      # a sign or whitespace: libxml2 may normalise it first
            number = int(value)
            return (all(p.fullmatch(value) for p in patterns) and number >= low
                    and (high is None or number <= high))
        return check
    return _always(None)
