"""The XSD twin of the grammar (``rng/network.xsd``, XSD 1.1, run by xmlschema): it reports every
problem itself; here its errors become ``SchemaIssue`` with the codes of the RelaxNG diagnosis."""

from __future__ import annotations

import functools
import re

from lxml import etree

from netupdate.check.rngfacts import section_roots
from netupdate.check.rnggrammar import grammar_dir, grammar_tree
from netupdate.check.schemaissues import (
    CONFLICT,
    MISSING,
    SCHEMA_VIOLATION,
    UNEXPECTED_ELEMENT,
    SchemaIssue,
    _bad_value,
    _issue,
    _missing_attributes,
    _missing_element,
    _name,
    _stray_text,
    _unexpected,
    _unknown_attribute,
)
from netupdate.document.patterns import Pattern

_XS = "{http://www.w3.org/2001/XMLSchema}"
_NU = "{urn:netupdate:schema}"


@functools.cache
def xsd_schema(partial: bool):
    """network.xsd (loosened if ``partial``) plus a declaration ``section.<name>`` of each
    section's element, to validate fragments with (the tag is checked before).  xmlschema is
    imported here: most runs use only the RelaxNG grammar, and it costs a quarter second."""
    import xmlschema

    schema = grammar_tree("network.xsd")
    if partial:
        _loosen_xsd(schema)
    for section in section_roots():
        etree.SubElement(schema, _XS + "element", name=f"section.{section}",
                         type=f"section.{section}")
    return xmlschema.XMLSchema11(etree.tostring(schema, encoding="unicode"),
                                 base_url=str(grammar_dir()))


def _loosen_xsd(schema: etree._Element) -> None:
    for attribute in schema.iter(_XS + "attribute"):
        attribute.attrib.pop("use", None)
    for element in schema.iter(_XS + "element"):
        if element.getparent().tag != _XS + "schema":
            element.set("minOccurs", "0")
    for check in list(schema.iter(_XS + "assert")):
        if check.get(_NU + "partial") == "drop":
            check.getparent().remove(check)


_XSD_BAD_ATTRIBUTE = Pattern(r"attribute (\S+?)=.*?: (.*)", re.S)
_XSD_UNKNOWN_ATTRIBUTE = Pattern(r"'(\S+)' attribute not allowed")
_XSD_MISSING_ATTRIBUTE = Pattern(r"missing required attribute '(\S+)'")


def xsd_issues(element, section: str | None, partial: bool):
    declaration = "network" if section is None else f"section.{section}"
    judged = set()
    for error in xsd_schema(partial).elements[declaration].iter_errors(element):
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
