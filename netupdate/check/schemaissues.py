"""Grammar issues: ``SchemaIssue`` (line, element path, message, stable code) and the wording of
each kind, shared by the RelaxNG diagnosis and the XSD check (``check/grammar.py``)."""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from netupdate.document.source import element_path

SCHEMA_VIOLATION = "NU-S001"    # a violation of no more specific kind
UNEXPECTED_ELEMENT = "NU-S002"  # unknown, misplaced or repeated element, or stray text
MISSING = "NU-S003"             # a required attribute or element is absent
BAD_VALUE = "NU-S004"           # an attribute value or element text does not match its type
UNKNOWN_ATTRIBUTE = "NU-S005"   # the element has no such attribute
CONFLICT = "NU-S006"            # attributes or children that exclude each other
WRONG_ROOT = "NU-S007"          # not <network>, or not the element of the update section


@dataclass(frozen=True)
class SchemaIssue:
    """One grammar violation: where (source line, element XPath), what, and a stable code."""

    line: int | None
    path: str | None
    message: str
    code: str = SCHEMA_VIOLATION

    def __str__(self) -> str:
        where = ": ".join(str(part) for part in (self.line, self.path) if part)
        return f"{where}: {self.message} [{self.code}]" if where else f"{self.message} [{self.code}]"


def _name(element) -> str:
    """An element's tag as written, prefix included."""
    local = etree.QName(element).localname
    return f"{element.prefix}:{local}" if element.prefix else local


def _issue(element, message: str, code: str) -> SchemaIssue:
    return SchemaIssue(element.sourceline, element_path(element), message, code)


def _unexpected(child, parent) -> SchemaIssue:
    return _issue(child, f"unexpected element <{_name(child)}> in <{_name(parent)}>",
                  UNEXPECTED_ELEMENT)


def _stray_text(element) -> SchemaIssue:
    return _issue(element, f"unexpected text in <{_name(element)}>", UNEXPECTED_ELEMENT)


def _bad_value(element, attribute: str | None, detail: str = "") -> SchemaIssue:
    detail = f": {detail}" if detail else ""
    if attribute is None:
        return _issue(element, f"invalid value {element.text or ''!r} in <{_name(element)}>"
                               f"{detail}", BAD_VALUE)
    return _issue(element, f"invalid value {element.get(attribute)!r} for attribute "
                           f"'{attribute}' of <{_name(element)}>{detail}", BAD_VALUE)


def _unknown_attribute(element, attribute: str) -> SchemaIssue:
    return _issue(element, f"attribute '{attribute}' is not allowed on <{_name(element)}>",
                  UNKNOWN_ATTRIBUTE)


def _missing_attributes(element, names: tuple[str, ...]) -> SchemaIssue:
    if len(names) == 1:
        return _issue(element, f"<{_name(element)}> lacks the required attribute '{names[0]}'",
                      MISSING)
    listed = ", ".join(f"'{name}'" for name in names)
    return _issue(element, f"<{_name(element)}> needs one of the attributes {listed}", MISSING)


def _missing_element(element, child: str) -> SchemaIssue:
    return _issue(element, f"<{_name(element)}> lacks a required <{child}> element", MISSING)


def _missing_elements(element, tags: tuple[str, ...]) -> SchemaIssue:
    names = [etree.QName(tag).localname for tag in tags]
    if len(names) == 1:
        return _missing_element(element, names[0])
    listed = ", ".join(f"<{name}>" for name in names)
    return _issue(element, f"<{_name(element)}> needs one of the elements {listed}", MISSING)
