"""The safe lxml parse, and hard limits on the shape of what it parsed (hostile input fails fast).

Every document and fragment ``xmlsrc`` reads is parsed here and checked against these bounds
right after lxml parsed it, before anything walks it in Python.  They are generous for real
networks: a definition with 100,000 DHCP hosts has about 100,000 elements, its elements a handful
of attributes each, its values a few dozen characters and its depth 5 (docs/validation.md).

The checks are cheap on ordinary documents: the raw text bounds what the parsed tree can hold
(attribute values and text cannot contain a raw ``<``, and what was written is never shorter
than what it parses to), so the tree is only searched (by XPath, in C) when the text says a
limit might be reached.
"""

from __future__ import annotations

import itertools

from lxml import etree

from netupdate.errors import XMLParseError

MAX_NODES = 300_000        # elements, comments and processing instructions in one document
MAX_ATTRIBUTES = 256       # attributes of one element
MAX_VALUE = 65_536         # characters of one attribute value, text, comment or PI
MAX_DEPTH = 64             # elements nested in each other, the root being 1

# An element with more than MAX_ATTRIBUTES attributes has a start tag of at least
# 5 * MAX_ATTRIBUTES characters (` a=""` each) without a '<'; so has a value over MAX_VALUE.
_RUN = min(MAX_VALUE, 5 * MAX_ATTRIBUTES)
_TOO_DEEP = etree.XPath("/".join(["*"] * MAX_DEPTH) + "[1]")
_MANY_ATTRIBUTES = etree.XPath(f"descendant-or-self::*[count(@*) > {MAX_ATTRIBUTES}][1]")
_LONG_ATTRIBUTE = etree.XPath(f"descendant-or-self::*[@*[string-length() > {MAX_VALUE}]][1]")
_LONG_TEXT = etree.XPath(f"descendant::text()[string-length() > {MAX_VALUE}][1]")
_LONG_OTHER = etree.XPath(f"descendant::node()[self::comment() or self::processing-instruction()]"
                          f"[string-length() > {MAX_VALUE}][1]")


def parse(text: str, filename: str | None) -> etree._ElementTree:
    """Parse ``text`` safely (no DTD, entities or network) and check it against the limits."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                             dtd_validation=False, huge_tree=False, remove_blank_text=False,
                             remove_comments=False, remove_pis=False, strip_cdata=False,
                             encoding="utf-8")
    try:
        root = etree.fromstring(text.encode("utf-8"), parser)
    except etree.XMLSyntaxError as exc:
        message = (exc.msg or str(exc)).split(", line ")[0].strip()
        raise XMLParseError(f"malformed XML: {message[:200]}", file=filename,
                            line=exc.lineno or None) from None
    check(text, root, filename)
    return etree.ElementTree(root)


def check(text: str, root, filename: str | None) -> None:
    """Raise ``XMLParseError`` (file, line) if ``root`` (parsed from ``text``) breaks a limit."""
    _check_count(text, root, filename)
    deep = _TOO_DEEP(root)
    if deep:
        _refuse(deep[0], f"elements are nested more than {MAX_DEPTH} deep", filename)
    long_run = max(map(len, text.split("<"))) > _RUN
    if long_run:
        _check_attributes(root, filename)
    if long_run or "<![CDATA[" in text:     # CDATA may hold '<': a short run does not bound it
        found = _LONG_TEXT(root)
        if found:
            _refuse(found[0].getparent(), f"a text is longer than {MAX_VALUE} characters",
                    filename)
    if "<!--" in text or "<?" in text:
        found = _LONG_OTHER(root)
        if found:
            _refuse(found[0], f"a comment or processing instruction is longer than {MAX_VALUE} "
                              "characters", filename)


def _check_count(text: str, root, filename: str | None) -> None:
    # every element, comment and PI starts with a '<' that is not the '<' of a '</'
    if text.count("<") - text.count("</") <= MAX_NODES:
        return
    beyond = next(itertools.islice(root.iter(), MAX_NODES, None), None)
    if beyond is not None:
        _refuse(beyond, f"the document has more than {MAX_NODES} elements, comments and "
                        "processing instructions", filename)


def _check_attributes(root, filename: str | None) -> None:
    found = _MANY_ATTRIBUTES(root)
    if found:
        _refuse(found[0], f"<{_name(found[0])}> has {len(found[0].attrib)} attributes; at most "
                          f"{MAX_ATTRIBUTES} are accepted", filename)
    found = _LONG_ATTRIBUTE(root)
    if found:
        _refuse(found[0], f"an attribute of <{_name(found[0])}> is longer than {MAX_VALUE} "
                          "characters", filename)


def _name(element) -> str:
    return etree.QName(element).localname[:64]


def _refuse(node, message: str, filename: str | None):
    line = getattr(node, "sourceline", None)
    raise XMLParseError(f"{message} (netupdate's parser limit)", file=filename, line=line)
