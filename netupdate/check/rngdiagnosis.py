"""The RelaxNG diagnosis: every problem of a document or fragment that fails the grammar, located.

libxml2 stops at the first problem of an element and speaks of interleaves, so a document that
fails the RelaxNG grammar is diagnosed element by element (``diagnose``).  Each element with a
define of its own is checked against a *shallow* grammar, whose other defines accept anything.
If that fails, its own attributes, text and children are judged one by one (unknown, missing,
bad value, not allowed there), using copies checked against the loosened grammar; then a twin
without what was found is validated again and again, taking out each repeated or conflicting
part, until it passes or a problem cannot be taken out.
"""

from __future__ import annotations

import copy
import functools

from lxml import etree

from netupdate.check import rngthin
from netupdate.check.rngfacts import Facts
from netupdate.check.rnggrammar import rng_acceptor, rng_valid, rng_validator
from netupdate.check.schemaissues import (
    CONFLICT,
    SCHEMA_VIOLATION,
    UNEXPECTED_ELEMENT,
    SchemaIssue,
    _bad_value,
    _issue,
    _missing_attributes,
    _missing_elements,
    _name,
    _stray_text,
    _unexpected,
    _unknown_attribute,
)
from netupdate.document.patterns import Pattern


def _loose(partial: bool) -> str:
    return "all" if partial else ""


def diagnose(element, define: str, partial: bool, top: bool = True):
    """Issues of ``element`` (described by ``define``) and of everything below it.  Only the
    top or a small element is checked whole first: a big one below an invalid top is judged
    part by part at once (same answer), not copied and validated whole at every level."""
    if (top or rngthin.small(element)) and rng_valid(element, define, _loose(partial)):
        return
    facts = Facts.get()
    acceptor = rng_acceptor(define, "")
    view = rngthin.shallow_view(element, facts.children[define], acceptor.thinnable,
                                lambda copy: own_elements(copy, define))
    if not acceptor.checker(_loose(partial), True).validate(view):
        yield from _ElementDiagnosis(element, define, partial).issues()
    children = facts.children[define]
    checker = functools.partial(_batch_checker, loose=_loose(partial))
    for own in own_elements(element, define):
        for child, child_define in rngthin.suspects(own, children, checker):
            yield from diagnose(child, child_define, partial, top=False)


def _batch_checker(define: str, loose: str) -> rngthin.Thinned:
    return rng_acceptor(define, "").checker(loose, False)


def own_elements(element, define: str) -> list:
    """The element and the descendants its define declares inline, parents first."""
    facts = Facts.get()
    inline = facts.own_patterns[define].keys() - facts.children[define].keys()
    found = [element]
    for node in found:
        found += [child for child in node.iterchildren(etree.Element) if child.tag in inline]
    return found


class _ElementDiagnosis:
    """The problems of one element and of its inline descendants (not of child defines).

    First each own element is judged locally: unknown attributes, bad attribute values, stray
    or bad text, and children that may not appear there at all.  Then a twin copy without all
    that is validated until it passes, to find missing, repeated and conflicting parts.
    """

    def __init__(self, element, define: str, partial: bool):
        self.element, self.define, self.partial = element, define, partial
        self.facts = Facts.get()
        self.good: dict = {}          # own element -> its acceptable attributes
        self.dropped: dict = {}       # own element -> names of its wrong attributes
        self.removed: set = set()     # children that may not appear where they are
        self.stripped: set = set()    # own elements with text where none may be
        self.bad_text: set = set()    # own elements whose text does not match its type
        self.lacking: set = set()     # own elements without a required attribute

    def issues(self):
        for own in own_elements(self.element, self.define):
            yield from self._judge_attributes(own)
            yield from self._judge_content(own)
        yield from self._judge_structure()

    # local judgement

    def _judge_attributes(self, own):
        self.good[own], self.dropped[own] = {}, set()
        if not self.partial:
            for issue in self._missing(own, "attribute"):
                self.lacking.add(own)
                yield issue
        declared = self.facts.attributes(self.facts.patterns(self.define, own))
        for name, value in own.attrib.items():
            issue = (_unknown_attribute(own, name) if name not in declared
                     else self._judge_value(own, {name: value}, None, name))
            if issue is None:
                self.good[own][name] = value
            else:
                self.dropped[own].add(name)
                yield issue

    def _judge_content(self, own):
        patterns = self._patterns(own)
        for child in own.iterchildren(etree.Element):
            if not self.facts.allows_child(patterns, child.tag):
                self.removed.add(child)
                yield _unexpected(child, own)
        if not self.facts.takes_text(patterns):
            if _has_text(own):
                self.stripped.add(own)
                yield _stray_text(own)
        elif len(own) == 0 and self._judge_value(own, {}, own.text or "", None) is not None:
            self.bad_text.add(own)
            yield _bad_value(own, None)

    def _judge_value(self, own, attributes, text, name):
        if self._fits(own, attributes, text, self.good):
            return None
        if name is not None and self._fits(own, attributes, text, {}):
            return _issue(own, f"attribute '{name}' of <{_name(own)}> does not go with the "
                               "attributes of its parent", CONFLICT)
        return _bad_value(own, name)

    def _fits(self, own, attributes, text, ancestor_attributes) -> bool:
        """Whether a copy of ``own`` with just these attributes and text, inside copies of its
        ancestors, passes the loosened grammar."""
        chain = [own, *own.iterancestors()]
        top = node = None
        for original in reversed(chain[:chain.index(self.element) + 1]):
            attrib = attributes if original is own else ancestor_attributes.get(original, {})
            new = etree.Element(original.tag, attrib)
            if node is not None:
                node.append(new)
            top, node = top if top is not None else new, new
        node.text = text
        return rng_validator(self.define, "all", shallow=True).validate(top)

    # structure: validate the twin, removing each unexpected part in turn

    def _judge_structure(self):
        twin, origin = self._twin()
        validator = rng_validator(self.define, "all" if self.partial else "attributes",
                                   shallow=True)
        for _ in range(len(origin) + 1):
            if validator.validate(twin):
                return
            issues, remedy = self._explain(list(validator.error_log), twin, origin)
            yield from issues
            if remedy is None:
                return
            remedy()

    def _twin(self):
        """A copy without what the local judgement reported, and copy node -> original."""
        twin = copy.deepcopy(self.element)
        origin = dict(zip(twin.iter(), self.element.iter(), strict=True))
        for node, original in list(origin.items()):
            for name in self.dropped.get(original, ()):
                del node.attrib[name]
            if original in self.stripped:
                _strip_text(node)
            if original in self.removed:
                node.getparent().remove(node)
        return twin, origin

    def _explain(self, entries, twin, origin):
        """(issues, a change of the twin that removes their cause or None) for the first
        problem in libxml2's log."""
        for index, entry in enumerate(entries):
            kind = entry.type_name.removeprefix("RELAXNG_ERR_")
            extra = (_EXTRA_ELEMENT.search(entries[index - 1].message)
                     if index and entries[index - 1].type_name == "RELAXNG_ERR_INTEREXTRA" else None)
            if kind in ("INTEREXTRA", "INTERSEQ") or (kind == "CONTENTVALID" and not extra):
                continue
            node = _log_target(entry, twin, extra.group(1) if extra else None)
            if kind == "ATTRVALID":  # its path may point into the element it names
                node = _named_ancestor(node, _FAILED.match(entry.message).group(1))
            original = origin[node]
            if original in self.bad_text:  # reported already
                return [], None if node is twin else functools.partial(_remove, node)
            if kind in ("EXTRACONTENT", "ELEMWRONG", "CONTENTVALID", "ELEMNAME"):
                issues, culprit = self._misfit(node, origin)
                return issues, functools.partial(_remove, culprit)
            if kind == "INVALIDATTR":  # a choice of variants failed: a part is missing, or
                lacking = self._lacking(original)  # the attribute excludes another one
                if lacking:
                    return lacking, None
                name = _INVALID_ATTRIBUTE.search(entry.message).group(1)
                issue = _issue(original, f"attribute '{name}' of <{_name(original)}> is not "
                                         "allowed with the other attributes", CONFLICT)
                return [issue], functools.partial(node.attrib.pop, name)
            if kind in ("ATTRVALID", "NOELEM"):
                return self._lacking(original) or self._discord(original), None
            return [_issue(original, entry.message.rstrip("."), SCHEMA_VIOLATION)], None
        return [_issue(self.element, "does not match the grammar", SCHEMA_VIOLATION)], None

    def _misfit(self, node, origin):
        """(issues, twin node to take out) for an element that libxml2 could not place: one
        that may not be there, is broken, is repeated, or conflicts with its siblings."""
        original, parent = origin[node], origin[node.getparent()]
        patterns = self._patterns(parent)
        if not self.facts.allows_child(patterns, original.tag):
            return [_unexpected(original, parent)], node
        if self._touched(original):
            return [], node
        broken = self._lacking(original)
        if broken:
            return broken, node
        twins = [sibling for sibling in node.getparent() if sibling.tag == node.tag]
        if len(twins) > 1 and not self.facts.repeatable(patterns, original.tag):
            extra = origin[twins[-1]]  # libxml2 may point at the first of them
            return [_issue(extra, f"<{_name(extra)}> may appear only once in <{_name(parent)}>",
                           UNEXPECTED_ELEMENT)], twins[-1]
        return [_issue(original, f"<{_name(original)}> does not go with the other children of "
                                 f"<{_name(parent)}>", CONFLICT)], node

    def _touched(self, original) -> bool:
        """Whether something in ``original`` was reported, and so changed in the twin."""
        touched = self.removed | self.stripped | self.bad_text | self.lacking
        touched |= {node for node, names in self.dropped.items() if names}
        return any(node in touched for node in original.iter())

    def _patterns(self, own) -> list:
        return self.facts.patterns(self.define, own, self.element)

    def _lacking(self, original) -> list[SchemaIssue]:
        """The required children that ``original`` and its inline descendants lack."""
        return [issue for own in own_elements(original, self.define)
                for issue in self._missing(own, "element")]

    def _missing(self, original, kind: str) -> list[SchemaIssue]:
        """What ``original`` lacks, judged by its attributes or children as written."""
        present = (set(original.attrib) if kind == "attribute"
                   else {child.tag for child in original.iterchildren(etree.Element)})
        report = _missing_attributes if kind == "attribute" else _missing_elements
        return [report(original, names)
                for names in self.facts.required(self._patterns(original), kind)
                if not present & set(names)]

    def _discord(self, original) -> list[SchemaIssue]:
        """Nothing is missing: unless something reported already was taken out of the twin,
        the parts of ``original`` conflict."""
        if self._touched(original):
            return []
        return [_issue(original, f"the attributes and children of <{_name(original)}> do not "
                                 "go together", CONFLICT)]


_INVALID_ATTRIBUTE = Pattern(r"Invalid attribute (\S+) for element")
_FAILED = Pattern(r"Element (\S+) failed")
_EXTRA_ELEMENT = Pattern(r"Extra element (\S+) in interleave")


def _log_target(entry, root, extra: str | None = None):
    """The element a log entry is about (its path is relative to the validated element).  An
    entry that follows "extra element X" may name X's parent: then it is about its last X."""
    steps = (entry.path or "").split("/")[2:]
    namespaces = {prefix: uri for node in root.iter(etree.Element)
                  for prefix, uri in node.nsmap.items() if prefix}
    found = root.xpath("/".join([".", *steps]), namespaces=namespaces) if steps else [root]
    node = found[0] if found else root
    if extra and _name(node) != extra:
        candidates = [child for child in node.iterchildren(etree.Element) if _name(child) == extra]
        node = candidates[-1] if candidates else node
    return node


def _named_ancestor(node, name: str):
    """``node`` or its nearest ancestor called ``name`` (``node`` if there is none)."""
    return next((n for n in (node, *node.iterancestors()) if _name(n) == name), node)


def _remove(node) -> None:
    node.getparent().remove(node)


def _has_text(node) -> bool:
    return any((text or "").strip() for text in [node.text, *(child.tail for child in node)])


def _strip_text(node) -> None:
    node.text = None
    for child in node:
        child.tail = None

