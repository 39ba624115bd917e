"""The grammar files (package data of ``netupdate.rng``) and the RelaxNG validators compiled from
them, lazily and once: strict, loosened (``loose`` "attributes": every attribute optional; "all":
every attribute and element optional, for delete patterns) and shallow (every other element
define accepts anything), each starting at one define.  The fast path of a grammar is
``netupdate.check.rngvalues.Acceptor`` (structure by libxml2, typed values in Python)."""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

from lxml import etree

from netupdate.check import rngvalues

RNG = "{http://relaxng.org/ns/structure/1.0}"


def grammar_dir() -> Path:
    try:
        return Path(str(resources.files("netupdate.rng")))
    except ModuleNotFoundError:  # a source checkout: rng/ sits next to the package
        return Path(__file__).resolve().parents[2] / "rng"


@functools.cache
def _grammar_bytes(name: str) -> bytes:
    return (grammar_dir() / name).read_bytes()


def grammar_tree(name: str) -> etree._Element:
    """A fresh, modifiable tree of a grammar file (its includes resolve next to it)."""
    return etree.fromstring(_grammar_bytes(name), base_url=str(grammar_dir() / name))


# ------------------------------------------------------------------------ RelaxNG grammar

def _loosen_rng(grammar: etree._Element, *, elements: bool) -> None:
    """Make every named attribute optional, and with ``elements`` every element too (one-or-more
    becoming zero-or-more)."""
    for node in list(grammar.iter(RNG + "attribute", RNG + "element" if elements else ())):
        parent = etree.QName(node.getparent()).localname
        required = (parent != "optional" if node.tag == RNG + "attribute"
                    else parent in ("element", "group", "interleave"))
        if required and node.get("name"):
            wrapper = etree.Element(RNG + "optional")
            node.addprevious(wrapper)
            wrapper.append(node)
    for node in grammar.iter(RNG + "oneOrMore" if elements else ()):
        node.tag = RNG + "zeroOrMore"


def element_defines(grammar: etree._Element) -> dict[str, list[etree._Element]]:
    """Defines that are one element (or a choice of variants of it) -> their element patterns."""
    found = {}
    for define in grammar.iterchildren(RNG + "define"):
        patterns = list(define.iterchildren(etree.Element))
        if len(patterns) == 1 and patterns[0].tag == RNG + "choice":
            patterns = list(patterns[0].iterchildren(etree.Element))
        if patterns and all(p.tag == RNG + "element" and p.get("name") for p in patterns):
            found[define.get("name")] = patterns
    return found


def _rng_tree(start: str, loose: str, shallow: bool) -> etree._Element:
    """The RelaxNG grammar that starts at ``start``; ``loose`` is "" (strict), "attributes"
    (all attributes optional) or "all" (attributes and elements optional: partial)."""
    grammar = grammar_tree("network.rng")
    if loose:
        _loosen_rng(grammar, elements=loose == "all")
    if shallow:
        _stub_defines(grammar, keep=start)
    grammar.find(RNG + "start")[:] = [etree.Element(RNG + "ref", name=start)]
    return grammar


@functools.cache
def rng_validator(start: str, loose: str, shallow: bool) -> etree.RelaxNG:
    return etree.RelaxNG(_rng_tree(start, loose, shallow))


@functools.cache
def rng_acceptor(start: str, loose: str) -> rngvalues.Acceptor:
    """The fast path of the same grammar (structure by libxml2, typed values in Python)."""
    return rngvalues.Acceptor(_rng_tree(start, loose, False), grammar_tree, _rng_tree)


def rng_valid(element, define: str, loose: str) -> bool:
    """Whether the strict or loosened grammar accepts ``element`` (exact; fast when valid)."""
    verdict = rng_acceptor(define, loose).accepts(element)
    if verdict is None:
        verdict = rng_acceptor(define, "").checker(loose, False).validate(element)
    return verdict


def _stub_defines(grammar: etree._Element, keep: str) -> None:
    """Let every element define except ``keep`` accept its element with any content."""
    elements = element_defines(grammar)
    for define in grammar.iterchildren(RNG + "define"):
        name = define.get("name")
        if name in elements and name != keep:
            stub = etree.Element(RNG + "element", name=elements[name][0].get("name"))
            etree.SubElement(stub, RNG + "ref", name="any-content")
            define[:] = [stub]

