"""Grammar validation of network definitions and update fragments, with located issues.

Two grammars describe the same format: ``rng/network.rng`` (RelaxNG, run by libxml2: the default
and the fast one) and ``rng/network.xsd`` (its XSD 1.1 twin, run by xmlschema).  They are package
data of ``netupdate.rng``, compiled lazily and once (``check/rnggrammar.py``).

An update fragment is checked against the grammar of its section: the ``section.<name>`` define
(XSD: complex type) becomes the start.  With ``partial=True`` (a delete pattern) a loosened copy
of the same grammar is used, in which every attribute and element is optional, so only values and
shape are checked.

A valid document is recognised fast: libxml2 checks its structure with a copy of the grammar
without pattern facets and ``netupdate.check.rngvalues`` checks the typed values (the full grammar
answers whenever that is not certain).

xmlschema reports every problem (``check/xsdgrammar.py``).  libxml2 stops at the first problem of
an element and speaks of interleaves, so a document that fails the RelaxNG grammar is diagnosed
element by element (``check/rngdiagnosis.py``, reading the grammar through
``check/rngfacts.py``).  The issues and their codes are ``check/schemaissues.py``'s.
"""

from __future__ import annotations

from netupdate.check.rngdiagnosis import diagnose
from netupdate.check.rngfacts import section_roots
from netupdate.check.schemaissues import (  # noqa: F401  (the codes are part of this API)
    BAD_VALUE,
    CONFLICT,
    MISSING,
    SCHEMA_VIOLATION,
    UNEXPECTED_ELEMENT,
    UNKNOWN_ATTRIBUTE,
    WRONG_ROOT,
    SchemaIssue,
    _issue,
    _name,
)
from netupdate.check.xsdgrammar import xsd_issues

__all__ = [
    "BAD_VALUE", "CONFLICT", "MISSING", "SCHEMA_VIOLATION", "UNEXPECTED_ELEMENT",
    "UNKNOWN_ATTRIBUTE", "WRONG_ROOT", "SchemaIssue", "check_document", "check_fragment",
    "section_roots",
]

MAX_ISSUES = 1000      # grammar issues reported per document (_in_document_order)


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


def _check(element, section: str | None, *, partial: bool, grammar: str) -> list[SchemaIssue]:
    if grammar not in ("rng", "xsd"):
        raise ValueError(f"unknown grammar {grammar!r}; expected 'rng' or 'xsd'")
    root_tag = "network" if section is None else section_roots()[section]
    if element.tag != root_tag:
        expected = f"<{root_tag}>" + ("" if section is None else f" for section {section}")
        return [_issue(element, f"expected {expected}, found <{_name(element)}>", WRONG_ROOT)]
    if grammar == "xsd":
        return _in_document_order(xsd_issues(element, section, partial))
    define = "network" if section is None else f"section.{section}"
    return _in_document_order(diagnose(element, define, partial))


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


