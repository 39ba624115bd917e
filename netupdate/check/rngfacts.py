"""What the grammar diagnosis reads from the strict RelaxNG grammar (``Facts``), and the update
sections the grammar declares (``section_roots``)."""

from __future__ import annotations

import functools

from lxml import etree

from netupdate.check import rngvalues
from netupdate.check.rnggrammar import RNG, element_defines, grammar_tree
from netupdate.check.rngvalues import element_tag

_OPTIONAL = {"optional", "zeroOrMore"}
_TEXT_PATTERNS = {"text", "data", "value", "list"}


@functools.cache
def section_roots() -> dict[str, str]:
    """Update section name -> tag of its element, as the grammar declares them."""
    elements = Facts.get().elements
    return {name.removeprefix("section."): element_tag(patterns[0])
            for name, patterns in elements.items() if name.startswith("section.")}


class Facts:
    """What the diagnosis reads from the (strict) RelaxNG grammar.

    Facts about an element come from its *patterns*: the element patterns of its tag in the
    define that describes it, narrowed to the variants that the define's root element selects
    with fixed attribute values (a <virtualport type='midonet'> selects the midonet variant).
    """

    def __init__(self, grammar: etree._Element):
        included = [grammar_tree(i.get("href")) for i in grammar.iterchildren(RNG + "include")]
        self.defines = {d.get("name"): d for g in (grammar, *included)
                        for d in g.iterchildren(RNG + "define")}
        self.elements = element_defines(grammar)
        self._content: dict = {}
        self.own_patterns = {name: self._own_patterns(name) for name in self.elements}
        self.children = {name: self._children(name) for name in self.elements}

    @staticmethod
    @functools.cache
    def get() -> Facts:
        return Facts(grammar_tree("network.rng"))

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
                     if p.tag == RNG + "element" and p.get("name")]
        return found

    def _children(self, define: str) -> dict[str, str]:
        """Tag -> define, for the child elements that have a define of their own."""
        return {element_tag(self.elements[p.get("name")][0]): p.get("name")
                for pairs in self.own_patterns[define].values() for pattern, _ in pairs
                for p, _ in self.content(pattern) if p.tag == RNG + "ref"}

    def patterns(self, define: str, element, root=None) -> list[etree._Element]:
        """The patterns of ``element`` in ``define``: all variants, or those ``root`` selects."""
        pairs = self.own_patterns[define].get(element.tag, [])
        selected = [pattern for pattern, top in pairs if root is not None and
                    self._selects(top, root)]
        return selected or [pattern for pattern, _ in pairs]

    def _selects(self, top, root) -> bool:
        """Whether ``root`` has the fixed attribute values that a root pattern demands."""
        for p, wrappers in self.content(top):
            value = p.find(RNG + "value") if p.tag == RNG + "attribute" else None
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
                if p.tag == RNG + "attribute" and p.get("name")}

    def takes_text(self, patterns) -> bool:
        return any(etree.QName(p).localname in _TEXT_PATTERNS for p, _ in self._contents(patterns))

    def allows_child(self, patterns, tag: str) -> bool:
        for p, _ in self._contents(patterns):
            if p.tag == RNG + "ref" and element_tag(self.elements[p.get("name")][0]) == tag:
                return True
            if p.tag == RNG + "element" and (element_tag(p) == tag if p.get("name")
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
                    p.tag == RNG + "attribute"):
                continue
            key = wrappers[kinds.index("choice")] if "choice" in kinds else p
            groups.setdefault(key, []).append(name)
        return [tuple(dict.fromkeys(names)) for names in groups.values()]

    def _name_of(self, particle) -> str | None:
        if particle.tag == RNG + "ref":
            return element_tag(self.elements[particle.get("name")][0])
        if particle.tag == RNG + "element" and particle.get("name"):
            return element_tag(particle)
        return particle.get("name") if particle.tag == RNG + "attribute" else None


def _any_name_allows(pattern, tag: str) -> bool:
    """Whether a nameless element pattern (<anyName> minus namespaces) matches ``tag``."""
    return pattern.find(RNG + "anyName") is not None and rngvalues.wildcard_allows(pattern, tag)

