"""Grammar validation of network definitions and update fragments, with located issues.

Two grammars describe the same format: ``rng/network.rng`` (RelaxNG, run by libxml2: the default
and the fast one) and ``rng/network.xsd`` (its XSD 1.1 twin, run by xmlschema).  They are package
data of ``netupdate.rng``, compiled lazily and once.

An update fragment is checked against the grammar of its section: the ``section.<name>`` define
(XSD: complex type) becomes the start.  With ``partial=True`` (a delete pattern) a loosened copy
of the same grammar is used, in which every attribute and element is optional, so only values and
shape are checked.

A valid document is recognised fast: libxml2 checks its structure with a copy of the grammar
without pattern facets and ``netupdate.check.rngvalues`` checks the typed values (the full grammar
answers whenever that is not certain).

xmlschema reports every problem.  libxml2 stops at the first problem of an element and speaks of
interleaves, so a document that fails the RelaxNG grammar is diagnosed element by element
(``_diagnose``).  Each element with a define of its own is checked against a *shallow* grammar,
whose other defines accept anything.  If that fails, its own attributes, text and children are
judged one by one (unknown, missing, bad value, not allowed there), using copies checked against
the loosened grammar; then a twin without what was found is validated again and again, taking
out each repeated or conflicting part, until it passes or a problem cannot be taken out.
"""

from __future__ import annotations

import copy
import functools
import re
from importlib import resources
from pathlib import Path

from lxml import etree

from netupdate.check import rngthin, rngvalues
from netupdate.check.rngvalues import element_tag
from netupdate.check.schemaissues import (  # noqa: F401  (re-exported)
    BAD_VALUE,
    CONFLICT,
    MISSING,
    SCHEMA_VIOLATION,
    UNEXPECTED_ELEMENT,
    UNKNOWN_ATTRIBUTE,
    WRONG_ROOT,
    SchemaIssue,
    _bad_value,
    _issue,
    _missing_attributes,
    _missing_element,
    _missing_elements,
    _name,
    _stray_text,
    _unexpected,
    _unknown_attribute,
)

__all__ = [
    "BAD_VALUE", "CONFLICT", "MISSING", "SCHEMA_VIOLATION", "UNEXPECTED_ELEMENT",
    "UNKNOWN_ATTRIBUTE", "WRONG_ROOT", "SchemaIssue", "check_document", "check_fragment",
    "section_roots",
]

_RNG = "{http://relaxng.org/ns/structure/1.0}"
_XS = "{http://www.w3.org/2001/XMLSchema}"
_NU = "{urn:netupdate:schema}"
_OPTIONAL = {"optional", "zeroOrMore"}
MAX_ISSUES = 1000      # grammar issues reported per document (_in_document_order)
_TEXT_PATTERNS = {"text", "data", "value", "list"}


def check_document(root_element, *, grammar: str = "rng") -> list[SchemaIssue]:
    """Every grammar violation of a ``<network>`` definition (an lxml element)."""
    return _check(root_element, None, partial=False, grammar=grammar)


def check_fragment(section: str, element, *, partial: bool = False,
                   grammar: str = "rng") -> list[SchemaIssue]:
    """Every grammar violation of an update fragment of ``section`` (``ip-dhcp-host``, ...).

    ``partial=True`` checks a delete pattern: values and shape, but nothing is required.
    """
    if section not in section_roots():
        raise ValueError(f"unknown update section {section!r}; "
                         f"expected one of {', '.join(section_roots())}")
    return _check(element, section, partial=partial, grammar=grammar)


@functools.cache
def section_roots() -> dict[str, str]:
    """Update section name -> tag of its element, as the grammar declares them."""
    elements = _Facts.get().elements
    return {name.removeprefix("section."): element_tag(patterns[0])
            for name, patterns in elements.items() if name.startswith("section.")}


def _check(element, section: str | None, *, partial: bool, grammar: str) -> list[SchemaIssue]:
    if grammar not in ("rng", "xsd"):
        raise ValueError(f"unknown grammar {grammar!r}; expected 'rng' or 'xsd'")
    root_tag = "network" if section is None else section_roots()[section]
    if element.tag != root_tag:
        expected = f"<{root_tag}>" + ("" if section is None else f" for section {section}")
        return [_issue(element, f"expected {expected}, found <{_name(element)}>", WRONG_ROOT)]
    if grammar == "xsd":
        return _in_document_order(_xsd_issues(element, section, partial))
    define = "network" if section is None else f"section.{section}"
    return _in_document_order(_diagnose(element, define, partial))


def _loose(partial: bool) -> str:
    return "all" if partial else ""


def _in_document_order(issues) -> list[SchemaIssue]:
    """The distinct issues found, sorted by line (stable: each element keeps its order), at
    most ``MAX_ISSUES``: then the search stops and one more issue, where the next was found,
    says so (a diagnosis costs about 1 ms; javac stops after 100 errors, clang after 20)."""
    found: dict = {}
    for issue in issues:
        if len(found) >= MAX_ISSUES and issue not in found:
            found[SchemaIssue(issue.line, None, f"the grammar check stopped after {MAX_ISSUES} "
                              "issues: what follows is not checked against the grammar",
                              SCHEMA_VIOLATION)] = None
            break
        found[issue] = None
    return sorted(found, key=lambda issue: issue.line or 0)


# ------------------------------------------------------------------------- grammar files

def _grammar_dir() -> Path:
    try:
        return Path(str(resources.files("netupdate.rng")))
    except ModuleNotFoundError:  # a source checkout: rng/ sits next to the package
        return Path(__file__).resolve().parents[2] / "rng"


@functools.cache
def _grammar_bytes(name: str) -> bytes:
    return (_grammar_dir() / name).read_bytes()


def _grammar_tree(name: str) -> etree._Element:
    """A fresh, modifiable tree of a grammar file (its includes resolve next to it)."""
    return etree.fromstring(_grammar_bytes(name), base_url=str(_grammar_dir() / name))


# ------------------------------------------------------------------------ RelaxNG grammar

def _loosen_rng(grammar: etree._Element, *, elements: bool) -> None:
    """Make every named attribute optional, and with ``elements`` every element too (one-or-more
    becoming zero-or-more)."""
    for node in list(grammar.iter(_RNG + "attribute", _RNG + "element" if elements else ())):
        parent = etree.QName(node.getparent()).localname
        required = (parent != "optional" if node.tag == _RNG + "attribute"
                    else parent in ("element", "group", "interleave"))
        if required and node.get("name"):
            wrapper = etree.Element(_RNG + "optional")
            node.addprevious(wrapper)
            wrapper.append(node)
    for node in grammar.iter(_RNG + "oneOrMore" if elements else ()):
        node.tag = _RNG + "zeroOrMore"


def _element_defines(grammar: etree._Element) -> dict[str, list[etree._Element]]:
    """Defines that are one element (or a choice of variants of it) -> their element patterns."""
    found = {}
    for define in grammar.iterchildren(_RNG + "define"):
        patterns = list(define.iterchildren(etree.Element))
        if len(patterns) == 1 and patterns[0].tag == _RNG + "choice":
            patterns = list(patterns[0].iterchildren(etree.Element))
        if patterns and all(p.tag == _RNG + "element" and p.get("name") for p in patterns):
            found[define.get("name")] = patterns
    return found


def _rng_tree(start: str, loose: str, shallow: bool) -> etree._Element:
    """The RelaxNG grammar that starts at ``start``; ``loose`` is "" (strict), "attributes"
    (all attributes optional) or "all" (attributes and elements optional: partial)."""
    grammar = _grammar_tree("network.rng")
    if loose:
        _loosen_rng(grammar, elements=loose == "all")
    if shallow:
        _stub_defines(grammar, keep=start)
    grammar.find(_RNG + "start")[:] = [etree.Element(_RNG + "ref", name=start)]
    return grammar


@functools.cache
def _rng_validator(start: str, loose: str, shallow: bool) -> etree.RelaxNG:
    return etree.RelaxNG(_rng_tree(start, loose, shallow))


@functools.cache
def _rng_acceptor(start: str, loose: str) -> rngvalues.Acceptor:
    """The fast path of the same grammar (structure by libxml2, typed values in Python)."""
    return rngvalues.Acceptor(_rng_tree(start, loose, False), _grammar_tree, _rng_tree)


def _rng_valid(element, define: str, loose: str) -> bool:
    """Whether the strict or loosened grammar accepts ``element`` (exact; fast when valid)."""
    verdict = _rng_acceptor(define, loose).accepts(element)
    if verdict is None:
        verdict = _rng_acceptor(define, "").checker(loose, False).validate(element)
    return verdict


def _stub_defines(grammar: etree._Element, keep: str) -> None:
    """Let every element define except ``keep`` accept its element with any content."""
    elements = _element_defines(grammar)
    for define in grammar.iterchildren(_RNG + "define"):
        name = define.get("name")
        if name in elements and name != keep:
            stub = etree.Element(_RNG + "element", name=elements[name][0].get("name"))
            etree.SubElement(stub, _RNG + "ref", name="any-content")
            define[:] = [stub]


class _Facts:
    """What the diagnosis reads from the (strict) RelaxNG grammar.

    Facts about an element come from its *patterns*: the element patterns of its tag in the
    define that describes it, narrowed to the variants that the define's root element selects
    with fixed attribute values (a <virtualport type='midonet'> selects the midonet variant).
    """

    def __init__(self, grammar: etree._Element):
        included = [_grammar_tree(i.get("href")) for i in grammar.iterchildren(_RNG + "include")]
        self.defines = {d.get("name"): d for g in (grammar, *included)
                        for d in g.iterchildren(_RNG + "define")}
        self.elements = _element_defines(grammar)
        self._content: dict = {}
        self.own_patterns = {name: self._own_patterns(name) for name in self.elements}
        self.children = {name: self._children(name) for name in self.elements}

    @staticmethod
    @functools.cache
    def get() -> _Facts:
        return _Facts(_grammar_tree("network.rng"))

    def particles(self, node, wrappers=()):
        """(pattern, enclosing patterns) for the attributes, elements, text and element-define
        refs that make up the content of ``node``; other refs are expanded."""
        for child in node.iterchildren(etree.Element):
            kind, name = etree.QName(child).localname, child.get("name")
            if kind == "ref" and name not in self.elements:
                if name in self.defines:
                    yield from self.particles(self.defines[name], wrappers)
            elif kind in ("attribute", "element", "ref") or kind in _TEXT_PATTERNS:
                yield child, wrappers
            else:
                yield from self.particles(child, (*wrappers, child))

    def content(self, pattern) -> list[tuple]:
        """``particles(pattern)``, computed once."""
        if pattern not in self._content:
            self._content[pattern] = list(self.particles(pattern))
        return self._content[pattern]

    def _own_patterns(self, define: str) -> dict[str, list[tuple]]:
        """Tag -> (pattern, root pattern) for the define's element and the elements it
        declares inline."""
        found, todo = {}, [(p, p) for p in self.elements[define]]
        while todo:
            pattern, top = todo.pop()
            found.setdefault(element_tag(pattern), []).append((pattern, top))
            todo += [(p, top) for p, _ in self.content(pattern)
                     if p.tag == _RNG + "element" and p.get("name")]
        return found

    def _children(self, define: str) -> dict[str, str]:
        """Tag -> define, for the child elements that have a define of their own."""
        return {element_tag(self.elements[p.get("name")][0]): p.get("name")
                for pairs in self.own_patterns[define].values() for pattern, _ in pairs
                for p, _ in self.content(pattern) if p.tag == _RNG + "ref"}

    def patterns(self, define: str, element, root=None) -> list[etree._Element]:
        """The patterns of ``element`` in ``define``: all variants, or those ``root`` selects."""
        pairs = self.own_patterns[define].get(element.tag, [])
        selected = [pattern for pattern, top in pairs if root is not None and
                    self._selects(top, root)]
        return selected or [pattern for pattern, _ in pairs]

    def _selects(self, top, root) -> bool:
        """Whether ``root`` has the fixed attribute values that a root pattern demands."""
        for p, wrappers in self.content(top):
            value = p.find(_RNG + "value") if p.tag == _RNG + "attribute" else None
            optional = any(etree.QName(w).localname in _OPTIONAL for w in wrappers)
            if value is not None and not optional and " ".join(
                    root.get(p.get("name"), "").split()) != value.text:
                return False
        return True

    def _contents(self, patterns):
        for pattern in patterns:
            yield from self.content(pattern)

    def attributes(self, patterns) -> set[str]:
        return {p.get("name") for p, _ in self._contents(patterns)
                if p.tag == _RNG + "attribute" and p.get("name")}

    def takes_text(self, patterns) -> bool:
        return any(etree.QName(p).localname in _TEXT_PATTERNS for p, _ in self._contents(patterns))

    def allows_child(self, patterns, tag: str) -> bool:
        for p, _ in self._contents(patterns):
            if p.tag == _RNG + "ref" and element_tag(self.elements[p.get("name")][0]) == tag:
                return True
            if p.tag == _RNG + "element" and (element_tag(p) == tag if p.get("name")
                                               else _any_name_allows(p, tag)):
                return True
        return False

    def repeatable(self, patterns, tag: str) -> bool:
        return any(self._name_of(p) == tag and {"zeroOrMore", "oneOrMore"} & {
            etree.QName(w).localname for w in wrappers} for p, wrappers in self._contents(patterns))

    def required(self, patterns, kind: str) -> list[tuple[str, ...]]:
        """Names of the attributes (kind "attribute") or child tags (kind "element") of which
        at least one must be present; a lone name is simply required."""
        groups: dict[object, list[str]] = {}
        for p, wrappers in self._contents(patterns):
            kinds = [etree.QName(w).localname for w in wrappers]
            name = self._name_of(p)
            if _OPTIONAL & set(kinds) or not name or (kind == "attribute") != (
                    p.tag == _RNG + "attribute"):
                continue
            key = wrappers[kinds.index("choice")] if "choice" in kinds else p
            groups.setdefault(key, []).append(name)
        return [tuple(dict.fromkeys(names)) for names in groups.values()]

    def _name_of(self, particle) -> str | None:
        if particle.tag == _RNG + "ref":
            return element_tag(self.elements[particle.get("name")][0])
        if particle.tag == _RNG + "element" and particle.get("name"):
            return element_tag(particle)
        return particle.get("name") if particle.tag == _RNG + "attribute" else None


def _any_name_allows(pattern, tag: str) -> bool:
    """Whether a nameless element pattern (<anyName> minus namespaces) matches ``tag``."""
    return pattern.find(_RNG + "anyName") is not None and rngvalues.wildcard_allows(pattern, tag)


# --------------------------------------------------------------------- RelaxNG diagnosis

def _diagnose(element, define: str, partial: bool, top: bool = True):
    """Issues of ``element`` (described by ``define``) and of everything below it.  Only the
    top or a small element is checked whole first: a big one below an invalid top is judged
    part by part at once (same answer), not copied and validated whole at every level."""
    if (top or rngthin.small(element)) and _rng_valid(element, define, _loose(partial)):
        return
    facts = _Facts.get()
    acceptor = _rng_acceptor(define, "")
    view = rngthin.shallow_view(element, facts.children[define], acceptor.thinnable,
                                lambda copy: _own_elements(copy, define))
    if not acceptor.checker(_loose(partial), True).validate(view):
        yield from _ElementDiagnosis(element, define, partial).issues()
    children = facts.children[define]
    checker = functools.partial(_batch_checker, loose=_loose(partial))
    for own in _own_elements(element, define):
        for child, child_define in rngthin.suspects(own, children, checker):
            yield from _diagnose(child, child_define, partial, top=False)


def _batch_checker(define: str, loose: str) -> rngthin.Thinned:
    return _rng_acceptor(define, "").checker(loose, False)


def _own_elements(element, define: str) -> list:
    """The element and the descendants its define declares inline, parents first."""
    facts = _Facts.get()
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
        self.facts = _Facts.get()
        self.good: dict = {}          # own element -> its acceptable attributes
        self.dropped: dict = {}       # own element -> names of its wrong attributes
        self.removed: set = set()     # children that may not appear where they are
        self.stripped: set = set()    # own elements with text where none may be
        self.bad_text: set = set()    # own elements whose text does not match its type
        self.lacking: set = set()     # own elements without a required attribute

    def issues(self):
        for own in _own_elements(self.element, self.define):
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
        return _rng_validator(self.define, "all", shallow=True).validate(top)

    # structure: validate the twin, removing each unexpected part in turn

    def _judge_structure(self):
        twin, origin = self._twin()
        validator = _rng_validator(self.define, "all" if self.partial else "attributes",
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
        return [issue for own in _own_elements(original, self.define)
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


_INVALID_ATTRIBUTE = re.compile(r"Invalid attribute (\S+) for element")
_FAILED = re.compile(r"Element (\S+) failed")
_EXTRA_ELEMENT = re.compile(r"Extra element (\S+) in interleave")


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


# -------------------------------------------------------------------------------------- XSD

@functools.cache
def _xsd_schema(partial: bool):
    """network.xsd (loosened if ``partial``) plus a declaration ``section.<name>`` of each
    section's element, to validate fragments with (the tag is checked before).  xmlschema is
    imported here: most runs use only the RelaxNG grammar, and it costs a quarter second."""
    import xmlschema

    schema = _grammar_tree("network.xsd")
    if partial:
        _loosen_xsd(schema)
    for section in section_roots():
        etree.SubElement(schema, _XS + "element", name=f"section.{section}",
                         type=f"section.{section}")
    return xmlschema.XMLSchema11(etree.tostring(schema, encoding="unicode"),
                                 base_url=str(_grammar_dir()))


def _loosen_xsd(schema: etree._Element) -> None:
    for attribute in schema.iter(_XS + "attribute"):
        attribute.attrib.pop("use", None)
    for element in schema.iter(_XS + "element"):
        if element.getparent().tag != _XS + "schema":
            element.set("minOccurs", "0")
    for check in list(schema.iter(_XS + "assert")):
        if check.get(_NU + "partial") == "drop":
            check.getparent().remove(check)


_XSD_BAD_ATTRIBUTE = re.compile(r"attribute (\S+?)=.*?: (.*)", re.S)
_XSD_UNKNOWN_ATTRIBUTE = re.compile(r"'(\S+)' attribute not allowed")
_XSD_MISSING_ATTRIBUTE = re.compile(r"missing required attribute '(\S+)'")


def _xsd_issues(element, section: str | None, partial: bool):
    declaration = "network" if section is None else f"section.{section}"
    judged = set()
    for error in _xsd_schema(partial).elements[declaration].iter_errors(element):
        bad = _XSD_BAD_ATTRIBUTE.match(error.reason or "")
        if bad:  # one issue per attribute: a value can fail several facets
            if (error.elem, bad.group(1)) in judged:
                continue
            judged.add((error.elem, bad.group(1)))
        yield _xsd_issue(error, bad)


def _xsd_issue(error, bad) -> SchemaIssue:
    import xmlschema

    element, reason = error.elem, error.reason or ""
    if isinstance(error, xmlschema.XMLSchemaChildrenValidationError):
        if error.invalid_tag is None:
            return _missing_element(element, error.expected[0].local_name)
        child = element[error.index]
        if getattr(error.particle, "name", None) == child.tag:  # its only place is taken
            return _issue(child, f"<{_name(child)}> may appear only once in <{_name(element)}>",
                          UNEXPECTED_ELEMENT)
        return _unexpected(child, element)
    if bad:
        detail = bad.group(2) if "pattern" not in bad.group(2) else ""
        return _bad_value(element, bad.group(1), "" if "invalid literal" in detail else detail)
    unknown = _XSD_UNKNOWN_ATTRIBUTE.match(reason)
    if unknown:
        return _unknown_attribute(element, unknown.group(1))
    missing = _XSD_MISSING_ATTRIBUTE.match(reason)
    if missing:
        return _missing_attributes(element, (missing.group(1),))
    if isinstance(error.validator, xmlschema.validators.XsdAssert):
        check = error.validator.elem
        code = MISSING if check.get(_NU + "partial") == "drop" else CONFLICT
        return _issue(element, check.get(_NU + "message", reason), code)
    if reason.startswith("character data") or getattr(error.validator, "regexps", 0) == [r"\s*"]:
        return _stray_text(element)
    if "simple content element can't have child elements" in reason:
        return _unexpected(next(element.iterchildren(etree.Element)), element)
    if isinstance(error.validator, xmlschema.validators.XsdPatternFacets):
        return _bad_value(element, None)
    return _issue(element, reason.rstrip("."), SCHEMA_VIOLATION)
