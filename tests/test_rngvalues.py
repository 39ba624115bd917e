"""netupdate.check.rngvalues: the fast path must never accept what the full grammar (libxml2) refuses.

* documents: every fixture and every mutation, under the strict and both loosened grammars;
* fragments: every fragment file, strict and partial, against its section's grammar;
* values: every value type of rng/types.rng, as an attribute and as text, on tricky and random
  strings, compared with libxml2 running the type with its pattern facets;
* the fast path really answers for valid input (the full grammar is not even compiled).
"""

from __future__ import annotations

import random
import re

import mutations
import pytest
from lxml import etree
from test_schema import CASES, FIXTURES, FRAGMENT_FILES

from netupdate.check import grammar as schema
from netupdate.check import rngdiagnosis, rngfacts, rnggrammar, rngvalues

RNG = "http://relaxng.org/ns/structure/1.0"
XSD_TYPES = "http://www.w3.org/2001/XMLSchema-datatypes"
LOOSE = ("", "attributes", "all")

TYPE_NAMES = [d.get("name") for d in rnggrammar.grammar_tree("types.rng").iter(f"{{{RNG}}}define")]
TRICKY = [
    "", " ", "0", "1", "007", "+1", "-0", "-1", " 1", "1 ", "1\n", "255", "256", "4095", "4096",
    "65535", "65536", "4294967295", "4294967296", "18446744073709551616", "0x1f", "0X1F", "0x",
    "1f", "yes", "no", "on", " on ", "ipv4", "ipv6", "ipv4 ", "tcp", "TCP", "nat", "seconds",
    "1.2.3.4", "01.2.3.4", "255.255.255.255", "256.1.1.1", "1.2.3", "1.2.3.4.5", "::", "::1",
    "fe80::1", "::ffff:1.2.3.4", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:9", "1::2::3", "gggg::1",
    "52:54:00:12:34:56", "53:54:00:12:34:56", "52:54:00:12:34", "52-54-00-12-34-56",
    "0:3:0:1:52:54:0:0:0:1", "00:04:" + ":".join(["ab"] * 16), "0:1:0:1:0:0:0:1:52:54:0:0:0:1",
    "0:2:0:0:0:9:aa", "12345678-1234-1234-1234-123456789abc", "123456781234123412341234567890ab",
    "virbr0", "eth0.10", "a/b:c\\d", "bad name", "example.com", "a_b", "zone-1", "é", "a\rb",
    "a\nb", "\t", "x" * 39, "x" * 40,
]


def _random_values(count: int) -> list[str]:
    alphabet = "0123456789abcdefABCDEFx:.-_/ \t\r\né+"
    rng = random.Random(4711)
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))) for _ in range(count)]


VALUES = TRICKY + _random_values(300)


def _type_grammars(define: str) -> tuple[etree.RelaxNG, rngvalues.Acceptor]:
    """libxml2 and the fast path on <v a="..."> and <t>...</t> typed by ``define``."""
    grammar = etree.fromstring(f"""
        <grammar xmlns="{RNG}" datatypeLibrary="{XSD_TYPES}">
          <include href="types.rng"/>
          <start><choice>
            <element name="v"><attribute name="a"><ref name="{define}"/></attribute></element>
            <element name="t"><ref name="{define}"/></element>
          </choice></start>
        </grammar>""", base_url=str(rnggrammar.grammar_dir() / "network.rng"))
    return etree.RelaxNG(grammar), rngvalues.Acceptor(grammar, rnggrammar.grammar_tree)


@pytest.mark.parametrize("define", TYPE_NAMES)
def test_value_type_verdicts_match_libxml2(define):
    full, fast = _type_grammars(define)
    for value in VALUES:
        for element in (etree.Element("v", a=value), _text_element(value)):
            verdict, reference = fast.accepts(element), full.validate(element)
            assert verdict is None or verdict == reference, (define, value)
            # it defers to libxml2 only for values that fail, and for numbers with a sign or
            # whitespace (which libxml2 may normalise before the pattern sees them)
            assert verdict is not None or not reference or re.search(r"[\s+-]", value), value


def _text_element(value: str) -> etree._Element:
    element = etree.Element("t")
    element.text = value
    return element


@pytest.mark.parametrize("loose", LOOSE)
def test_documents_never_accepted_when_libxml2_refuses(loose):
    fast = rnggrammar.rng_acceptor("network", loose)
    full = rnggrammar.rng_validator("network", loose, shallow=False)
    for case in CASES:
        verdict, reference = fast.accepts(case.root), full.validate(case.root)
        assert verdict == reference or (verdict is None and not reference), case.id


def test_every_valid_fixture_is_accepted_without_the_full_grammar():
    rnggrammar.rng_validator.cache_clear()
    for path in FIXTURES:
        assert schema.check_document(mutations.parse_fixture(path)) == [], path.name
    assert rnggrammar.rng_validator.cache_info().currsize == 0


@pytest.mark.parametrize("fragment", FRAGMENT_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fragments_never_accepted_when_libxml2_refuses(fragment):
    element = mutations.parse_fixture(fragment)
    define = f"section.{fragment.parent.name}"
    for loose in ("", "all"):
        if element.tag != schema.section_roots()[fragment.parent.name]:
            continue
        verdict = rnggrammar.rng_acceptor(define, loose).accepts(element)
        reference = rnggrammar.rng_validator(define, loose, shallow=False).validate(element)
        assert verdict == reference or (verdict is None and not reference)


def test_xsd_regex_translation():
    assert rngvalues.xsd_regex(".+").fullmatch("a\rb") is None
    assert rngvalues.xsd_regex(".+").fullmatch("ab") is not None
    assert rngvalues.xsd_regex("a$b^").fullmatch("a$b^") is not None
    assert rngvalues.xsd_regex(r"[a-z\-]+").fullmatch("a-b") is not None
    assert isinstance(rngvalues.xsd_regex("x"), re.Pattern)
    for pattern in (r"\d+", r"[a-z-[aeiou]]", r"\p{L}"):
        with pytest.raises(ValueError, match="no exact translation"):
            rngvalues.xsd_regex(pattern)


def test_typed_wildcards_are_refused():
    grammar = etree.fromstring(f"""
        <grammar xmlns="{RNG}" datatypeLibrary="{XSD_TYPES}">
          <start><element name="r"><element><anyName/>
            <attribute name="a"><data type="string"><param name="pattern">x+</param></data>
            </attribute>
          </element></element></start>
        </grammar>""")
    with pytest.raises(ValueError, match="wildcard element"):
        rngvalues.Acceptor(grammar, rnggrammar.grammar_tree)


def test_a_name_matched_by_a_wildcard_too_is_left_to_libxml2():
    grammar = etree.fromstring(f"""
        <grammar xmlns="{RNG}" datatypeLibrary="{XSD_TYPES}">
          <start><element name="r"><choice>
            <element name="a"><attribute name="v">
              <data type="string"><param name="pattern">[0-9]+</param></data>
            </attribute></element>
            <element><anyName/><attribute name="v"/></element>
          </choice></element></start>
        </grammar>""")
    fast, full = rngvalues.Acceptor(grammar, rnggrammar.grammar_tree), etree.RelaxNG(grammar)
    assert fast.accepts(etree.fromstring("<r><a v='x'/></r>")) is None
    assert fast.accepts(etree.fromstring("<r><a v='1'/></r>")) is None
    other = etree.fromstring("<r><b v='x'/></r>")
    assert fast.accepts(other) is True and full.validate(other)


@pytest.mark.parametrize("loose", LOOSE)
def test_the_shallow_view_keeps_the_shallow_verdict(loose):
    """The diagnosis checks each element against a shallow grammar on a copy with stub content
    dropped and free repeats thinned (linear in libxml2); the verdict must be the one libxml2
    gives on the element itself, for every element with a define of its own, in every case
    (valid fixtures and their mutations), with extra repeated hosts to thin."""
    from netupdate.check import rngthin
    facts = rngfacts.Facts.get()
    for case in CASES:
        root = etree.fromstring(etree.tostring(case.root))
        for dhcp in root.iter("dhcp"):
            dhcp.extend(etree.fromstring(f"<host mac='52:54:00:00:01:{n:02x}' ip='10.0.0.{n}'/>")
                        for n in range(5))
        pending = [(root, "network")]
        while pending:
            element, define = pending.pop()
            full = rnggrammar.rng_validator(define, loose, shallow=True)
            acceptor = rnggrammar.rng_acceptor(define, "")
            view = rngthin.shallow_view(element, facts.children[define], acceptor.thinnable,
                                        lambda copy, d=define: rngdiagnosis.own_elements(copy, d))
            assert full.validate(view) == full.validate(rngthin._detached(element)), \
                (case.id, define)
            for own in rngdiagnosis.own_elements(element, define):
                pending += [(child, facts.children[define][child.tag])
                            for child in own.iterchildren(etree.Element)
                            if child.tag in facts.children[define]]
