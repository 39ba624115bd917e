"""The registry of every issue code ``validate`` reports (``RULES``): the parse, grammar and model
codes declared here, the semantic rules (``@rule``, and the sections' rules: ``sections.RULES``, one
rule set with the update engine), and the ruff-style selection of codes (``select_rules``).

Every rule has a stable code, a severity, a title and an explanation (``docs/validation.md`` is
generated from it: ``check/ruledocs.py``).  A semantic rule is a small function registered with
``@rule``; it yields ``(target, message)`` pairs that ``check/subject.py`` locates.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable

from netupdate import sections as S
from netupdate.check import acrossrules
from netupdate.model import text as TC
from netupdate.sections._spec import ERROR, WARNING, Rule

RULES: dict[str, Rule] = {}


def _declare(code: str, name: str, severity: str, title: str, explanation: str,
             source: str, check=None) -> Rule:
    if code in RULES:
        raise ValueError(f"duplicate rule code {code}")
    expected = ("NU-E", "NU-S") if severity == ERROR else ("NU-W",)
    if not code.startswith(expected):
        raise ValueError(f"{code}: a {severity} code starts with {' or '.join(expected)}")
    RULES[code] = Rule(code, name, severity, title, inspect.cleandoc(explanation), source, check)
    return RULES[code]


def rule(code: str, name: str, severity: str, title: str):
    """Register a semantic check; its docstring is the explanation."""
    def register(func):
        _declare(code, name, severity, title, func.__doc__ or "", "semantic", func)
        return func
    return register


# ---------------------------------------------------------------------- parse, schema, model
_declare("NU-E000", "internal-error", ERROR, "Internal error", """
    netupdate itself failed while checking the file (a bug: please report it with the file).
    The command line reports it as an issue of that file and goes on with the others.""", "parse")
_declare("NU-E001", "not-well-formed", ERROR, "Not well-formed XML", """
    The file is not XML at all, or its XML is not well-formed (an unclosed element, a stray
    character, text outside the root element).  Nothing else is checked in that file.""", "parse")
_declare("NU-E002", "forbidden-declaration", ERROR, "DTD or entity declaration", """
    Network XML takes no DTD.  A ``<!DOCTYPE>``, ``<!ENTITY>``, ``<!ELEMENT>`` or ``<!ATTLIST>``
    declaration is refused without being read, which protects against entity expansion
    ("billion laughs"), external entities (XXE reading local files or fetching URLs) and external
    DTDs.  libvirt itself never needs one.""", "parse")
_declare("NU-E003", "too-large", ERROR, "Document too large", """
    Larger than 32 MiB, or beyond a parser limit (elements, attributes, value length, depth; see
    docs/validation.md); refused before anything reads it.  No real network comes close.""", "parse")
_declare("NU-E004", "binary-or-undecodable", ERROR, "Binary data or undecodable text", """
    The file contains NUL bytes (binary data) or cannot be decoded in the encoding it declares
    (UTF-8 unless the XML declaration or a byte-order mark says otherwise).""", "parse")
_declare("NU-E005", "unreadable", ERROR, "File cannot be read", """
    The file does not exist, is not a regular file, or cannot be read (permissions).""", "parse")
_declare("NU-E006", "wrong-root", ERROR, "Root element is not <network>", """
    The document is well-formed XML but its root element is not ``<network>`` (for example a
    domain or a storage pool definition was checked by mistake).""", "parse")
# Grammar codes: netupdate.check.grammar assigns them (tests check that the two lists agree).
_GRAMMAR = "the network grammar (``rng/network.rng``, or its XSD twin with ``--schema xsd``)"
_declare("NU-S001", "schema", ERROR, "Grammar violation", f"""
    The document does not match {_GRAMMAR} in a way none of the more specific grammar codes
    describes; the message quotes the validator.""", "schema")
_declare("NU-S002", "unexpected-element", ERROR, "Unexpected element or text", """
    An element the grammar does not allow at that place: unknown, misplaced, or repeated more
    often than allowed, or text where only elements may be.  libvirt ignores unknown elements
    when it parses, so the data would be silently lost.""", "schema")
_declare("NU-S003", "missing", ERROR, "Missing required attribute or element", """
    A required attribute or child element is absent, for example a network without
    ``<name>`` or a ``<range>`` without ``end``.""", "schema")
_declare("NU-S004", "bad-value", ERROR, "Value of the wrong shape", """
    An attribute value or element text does not match its type in the grammar (a device name
    with a space, a MAC address with five octets, an unknown keyword), or the element has no
    such attribute.""", "schema")
_declare("NU-S005", "unknown-attribute", ERROR, "Unknown attribute", """
    The element has an attribute the grammar does not define (a typo, or a newer libvirt
    feature).""", "schema")
_declare("NU-S006", "conflict", ERROR, "Conflicting attributes or children", """
    Attributes or children that exclude each other are both present, such as ``netmask`` and
    ``prefix`` on one ``<ip>``.""", "schema")
_declare("NU-S007", "schema-wrong-root", ERROR, "Wrong root element for the grammar", """
    The grammar expected another root element (for documents this is reported as
    ``NU-E006`` before the grammar runs; the code appears for update fragments).""", "schema")
_declare("NU-E020", "unreadable-value", ERROR, "Typed value cannot be read", """
    An attribute or text that has a type cannot be read as that type: a malformed MAC address,
    IP address, UUID, netmask or DUID, or an integer that is not a number or is out of range
    (for example ``<mtu size='abc'/>`` or a VLAN tag above 4095).  Semantic rules about that
    element are not reported, since they would only repeat the problem.""", "model")

_declare("NU-E021", "unsafe-text", ERROR, "Text outside its character set", TC.EXPLAINED, "model")

# ---------------------------------------------------------------------- semantic rules
@rule("NU-E101", "unknown-value", ERROR, "Unknown enumerated value")
def check_unknown_values(s):
    """An attribute that takes one of a fixed set of words has another value, for example
    ``<forward mode='teleport'/>``, ``stp='maybe'`` or ``<lease unit='days'/>``.  The grammar
    reports it too; this rule reports it whichever grammar is used, because the model keeps the
    unknown word as plain text and every rule that depends on it (the forward-mode rules, for
    instance) is skipped."""
    yield from s.unknown_values()


_declare("NU-W104", "risky-dnsmasq-option", WARNING, "dnsmasq option that runs programs or "
         "touches files", TC.OPTIONS_EXPLAINED, "semantic",
         lambda s: TC.risky_options(s.root, s.net.dnsmasq_options))


def _with_sections() -> None:
    """Add the sections' rules (``sections.RULES``, one rule set with the update engine), order
    the semantic codes, then add a folder's (``check.acrossrules``: validate DIR)."""
    for section_rule in S.RULES:
        if section_rule.code in RULES:
            raise ValueError(f"duplicate rule code {section_rule.code}")
        RULES[section_rule.code] = section_rule
    ordered = sorted(RULES.values(), key=lambda r: (r.source == "semantic",
                                                    r.code if r.source == "semantic" else ""))
    RULES.clear()
    RULES.update((r.code, r) for r in ordered + list(acrossrules.RULES))


_with_sections()
SEMANTIC_RULES = tuple(r for r in RULES.values() if r.check is not None)


# ---------------------------------------------------------------------- selection
def select_rules(select: Iterable[str] | None = None,
                 ignore: Iterable[str] | None = None) -> frozenset[str]:
    """The codes that are reported, ruff style: ``select`` and ``ignore`` take codes or code
    prefixes (``NU-W``, ``NU-E1``, ``ALL``).  Parse codes are always reported.  Raises
    ``ValueError`` for a pattern that matches no code."""
    def matching(pattern: str) -> set[str]:
        pattern = pattern.strip().upper()
        found = set(RULES) if pattern == "ALL" else {c for c in RULES if c.startswith(pattern)}
        if not found:
            raise ValueError(f"unknown rule code or prefix {pattern!r}")
        return found

    if isinstance(select, str):
        select = [select]
    if isinstance(ignore, str):
        ignore = [ignore]
    chosen = set(RULES) if select is None else set().union(*(matching(p) for p in select))
    for pattern in ignore or ():
        chosen -= matching(pattern)
    chosen |= {code for code, r in RULES.items() if not r.can_ignore}
    return frozenset(chosen)

