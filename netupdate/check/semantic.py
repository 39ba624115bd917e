"""Validation of network definitions: grammar, typed values and semantic rules, as located issues.

``validate(source)`` runs four stages and returns every issue found, never raising for a bad
document.  The stage is the ``source`` of an ``Issue``:

1. ``parse`` - safe parsing (``xmlsrc``: no DTD, no entities, no network, a size limit).  A
   document that cannot be parsed yields exactly one issue (``NU-E000`` .. ``NU-E006``).
2. ``schema`` - our RelaxNG (or XSD) grammar, through ``netupdate.check.grammar.check_document``; its
   codes are ``NU-S001`` .. ``NU-S007``.
3. ``model`` - typed values the model cannot read (a bad MAC, a bad address, an integer out of
   range): ``NU-E020``, one issue per problem.  (A separate source rather than "semantic": these
   are about the shape of one value, like grammar issues, and are found by the model's reader.)
4. ``semantic`` - the rules a grammar cannot say (``NU-E1xx`` errors, ``NU-W1xx`` warnings), run on
   the typed ``NetworkDef``.  They run even when stage 3 found problems: the unreadable values are
   ``None`` in the definitions, and semantic issues about an element with an unreadable value are
   dropped (they would only repeat it).

One problem is reported once: a grammar issue about an attribute that the model could not read, or
that a semantic error names (an unknown keyword, a multicast MAC), is dropped in favour of the more
precise issue (see ``validate``).

Every rule has a stable code, a severity, a title and an explanation; ``RULES`` is the registry
(``docs/validation.md`` is generated from it).  Semantic rules are small functions registered with
``@rule``; each yields ``(target, message)`` pairs where the target is a definition (located
through the element it was read from), an lxml element, ``None`` for the root element, or
``(definition or element, attribute name)`` for a problem of one attribute.  Issue paths are
element XPaths such as ``/network/ip[1]/dhcp/host[3]``.
"""

from __future__ import annotations

import inspect
import ipaddress
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from lxml import etree

from netupdate import sections as S
from netupdate.check import acrossrules
from netupdate.document import paths
from netupdate.document import source as xmlsrc
from netupdate.errors import XMLParseError
from netupdate.model import defs as M
from netupdate.model import text as TC
from netupdate.model import values as T
from netupdate.sections._spec import ERROR, WARNING, Finding, Rule

__all__ = ["RULES", "Issue", "Rule", "explain", "is_valid", "rules_markdown", "select_rules",
           "validate"]

SOURCES = ("parse", "schema", "model", "semantic", "folder")   # folder: check.across


# ---------------------------------------------------------------------- issues and rules
@dataclass(frozen=True)
class Issue:
    """One problem of one document."""

    severity: str                 # 'error' | 'warning'
    code: str                     # 'NU-E012'
    message: str
    line: int | None = None       # 1-based line of the element (None when unknown)
    path: str | None = None       # XPath of the element, e.g. /network/ip[1]/dhcp/host[3]
    source: str = "semantic"      # 'parse' | 'schema' | 'model' | 'semantic'
    file: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def location(self) -> str:
        """``file:line: path`` with the parts that are known."""
        head = self.file or ""
        if self.line:
            head = f"{head}:{self.line}" if head else f"line {self.line}"
        return ": ".join(part for part in (head, self.path) if part)

    def __str__(self) -> str:
        loc = self.location()
        return f"{loc}: {self.code} {self.message}" if loc else f"{self.code} {self.message}"

    def to_dict(self) -> dict:
        return {"severity": self.severity, "code": self.code, "message": self.message,
                "line": self.line, "path": self.path, "source": self.source}


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

# ---------------------------------------------------------------------- locating definitions
@dataclass(frozen=True)
class _FieldPlan:
    name: str
    kind: str               # 'child' | 'children' | 'enum'
    xml: str | None
    within: str | None = None
    child: str | None = None
    choices: tuple[str, ...] = ()
    enum: type | None = None


_PLANS: dict[type, tuple[_FieldPlan, ...]] = {}


def _plan(cls: type) -> tuple[_FieldPlan, ...]:
    """What to walk in a definition class: child definitions and enumerated attributes."""
    plan = _PLANS.get(cls)
    if plan is None:
        items = []
        for f in M.fields_of(cls):
            meta = f.metadata
            kind = meta.get("kind")
            if kind == "child":
                items.append(_FieldPlan(f.name, "child", meta["xml"]))
            elif kind == "children" and meta["cls"] is not None:
                items.append(_FieldPlan(f.name, "children", meta["xml"], within=meta["within"]))
            elif kind == "attr":
                convert = meta["convert"]
                kind_enum = getattr(convert, "enum", None)
                choices = getattr(convert, "choices", None)
                if kind_enum is not None:
                    items.append(_FieldPlan(f.name, "enum", meta["xml"], child=meta["child"],
                                            choices=tuple(m.value for m in kind_enum),
                                            enum=kind_enum))
                elif choices is not None:
                    items.append(_FieldPlan(f.name, "enum", meta["xml"], child=meta["child"],
                                            choices=tuple(choices)))
        plan = _PLANS[cls] = tuple(items)
    return plan


class _Subject:
    """A read document under check: the typed definitions and the elements they came from."""

    def __init__(self, net: M.NetworkDef, root):
        self.net = net
        self.root = root
        self.n = net.name if net.name is not None else "(unnamed)"   # the view of a rule
        self._elements: dict[int, object] | None = None
        self._networks: dict[int, object] = {}

    def network_of(self, ip: M.IpDef):
        """``ip.network``, computed once per ``<ip>``; None when the prefix does not fit the
        address (reported by ``NU-E125``)."""
        key = id(ip)
        if key not in self._networks:
            network = None
            prefix = ip.effective_prefix if ip.address is not None else None
            if prefix is not None:
                kind = ipaddress.IPv4Network if ip.address.version == 4 else ipaddress.IPv6Network
                try:   # as ip.network, without formatting and parsing a string
                    network = kind((ip.address, prefix), strict=False)
                except ValueError:
                    network = None
            self._networks[key] = network
        return self._networks[key]

    def element_of(self, definition) -> object:
        if self._elements is None:
            self._index()
        return self._elements.get(id(definition), self.root)

    def _index(self) -> None:
        """Pair every definition with its element (the model reads them in document order)."""
        elements: dict[int, object] = {}
        stack = [(self.net, self.root)]
        while stack:
            definition, element = stack.pop()
            elements[id(definition)] = element
            for item in _plan(type(definition)):
                if item.kind == "enum":
                    continue
                value = getattr(definition, item.name)
                if item.kind == "child":
                    if value is not None:
                        stack.append((value, element.find(item.xml)))
                elif value:
                    parent = element.find(item.within) if item.within else element
                    stack.extend(zip(value, parent.findall(item.xml), strict=False))
        self._elements = elements

    def unknown_values(self) -> Iterator[tuple[object, str]]:
        """Enumerated attributes whose value is not one of the known words (the model keeps
        those as plain text).  Walks the definitions only; elements are looked up when found."""
        stack = [self.net]
        while stack:
            definition = stack.pop()
            for item in _plan(type(definition)):
                value = getattr(definition, item.name)
                if item.kind == "enum":
                    if value is None or value is True or value is False or (
                            item.enum is not None and isinstance(value, item.enum)):
                        continue
                    element = self.element_of(definition)
                    target = element.find(item.child) if item.child else element
                    yield (target, item.xml), _unknown_message(target, item, value)
                elif item.kind == "child":
                    if value is not None:
                        stack.append(value)
                elif value:
                    stack.extend(value)

    def locate(self, target) -> tuple[int | None, str, str | None]:
        """(line, element path, attribute) of a target: a definition, an element, ``None`` (the
        root) or ``(definition or element, attribute name)`` for a problem of one attribute."""
        attribute = None
        if isinstance(target, tuple):
            target, attribute = target
        if target is None:
            element = self.root
        elif isinstance(target, etree._Element):
            element = target
        else:
            element = self.element_of(target)
        return element.sourceline, xmlsrc.element_path(element), attribute


def _unknown_message(element, item: _FieldPlan, value) -> str:
    allowed = " or ".join(f"'{c}'" for c in item.choices) if len(item.choices) <= 2 else \
        ", ".join(f"'{c}'" for c in item.choices)
    return (f"unknown value '{value}' for attribute '{item.xml}' of <{element.tag}> "
            f"(expected {allowed})")


# ---------------------------------------------------------------------- helpers for the rules
def _mode(net: M.NetworkDef):
    """The forward mode, '' for an isolated network, or None when it is unknown."""
    mode = net.forward_mode
    if mode is None:
        return ""
    return mode if isinstance(mode, T.ForwardMode) else None


def _family(version: int) -> str:
    return "IPv4" if version == 4 else "IPv6"


def _line_note(subject: _Subject, definition) -> str:
    line = subject.element_of(definition).sourceline
    return f" (line {line})" if line else ""


# ---------------------------------------------------------------------- semantic rules
@rule("NU-E101", "unknown-value", ERROR, "Unknown enumerated value")
def check_unknown_values(s: _Subject):
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
    """Add the sections' rules (one set with the update engine), in order, then a folder's."""
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


# ---------------------------------------------------------------------- validate
def _parse_code(exc: XMLParseError) -> str:
    message = exc.message
    if message.startswith("cannot read"):
        return "NU-E005"
    if message.startswith("root element is"):
        return "NU-E006"
    if " is not allowed" in message and message.startswith("<!"):
        return "NU-E002"
    if "larger than" in message or message.endswith("(netupdate's parser limit)"):
        return "NU-E003"
    if "NUL bytes" in message or message.startswith("cannot decode"):
        return "NU-E004"
    return "NU-E001"


def _parse_issue(exc: XMLParseError, filename: str | None) -> Issue:
    return Issue(ERROR, _parse_code(exc), exc.message, exc.line, exc.path, "parse",
                 filename if filename is not None else exc.file)


def _is_path(source) -> bool:
    return isinstance(source, os.PathLike) or (
        isinstance(source, str) and not source.lstrip().startswith("<"))


def read_source(source, filename: str | None = None):
    """Parse ``source`` (text, bytes, a path or a ``model.Network``) safely and return
    ``(root element, filename)``; raises ``XMLParseError``."""
    if isinstance(source, M.Network):
        return source.root, filename if filename is not None else source.filename
    if _is_path(source):
        filename = filename if filename is not None else os.fspath(source)
        source = xmlsrc.read_file(source, filename)
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        if len(data) > xmlsrc.MAX_BYTES:
            raise XMLParseError(f"document is larger than {xmlsrc.MAX_BYTES // (1024 * 1024)} "
                                "MiB; refused without parsing", file=filename)
        if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
            line = data.count(b"\n", 0, data.index(b"\x00")) + 1
            raise XMLParseError("document contains NUL bytes (binary data, not XML)",
                                file=filename, line=line)
        text, _encoding, _bom = xmlsrc.decode(data, filename)
    elif isinstance(source, str):
        text = source
    else:
        raise TypeError(f"cannot validate a {type(source).__name__}: expected XML text, bytes, "
                        "a path or a netupdate.Network")
    root = xmlsrc.parse_element(text, filename)
    if not isinstance(root.tag, str) or root.tag != "network":
        raise XMLParseError(f"root element is <{root.tag}>, expected <network>", file=filename,
                            line=root.sourceline, path=f"/{root.tag}")
    return root, filename


def _read_model(root, filename: str | None):
    """Read the typed definitions, keeping going past unreadable values.

    Returns ``(NetworkDef, problems)``: unreadable values are ``None`` in the result and
    each is a ``ModelError`` in ``problems``.
    """
    return M.NetworkDef.read_lenient(root, filename=filename)


def _schema_issues(root, grammar: str, filename: str | None) -> list[Issue]:
    from netupdate.check import grammar as grammars
    issues = []
    for found in grammars.check_document(root, grammar=grammar):
        code = getattr(found, "code", None)
        if not (isinstance(code, str) and RULES.get(code) is not None
                and RULES[code].source == "schema"):
            code = "NU-S001"
        issues.append(Issue(ERROR, code, found.message, found.line, found.path, "schema",
                            filename))
    return issues


_ATTRIBUTE_NAMED = re.compile(r"^attribute '([^']+)'")
_ATTRIBUTE_MENTIONED = re.compile(r"\battribute '([^']+)'")


def _schema_key(issue: Issue) -> tuple:
    """(element path, attribute or None) of a grammar issue, for matching it with others."""
    path = issue.path or ""
    if "/@" in path:
        path, attribute = path.rsplit("/@", 1)
        return path, attribute
    match = _ATTRIBUTE_MENTIONED.search(issue.message)
    return path, match.group(1) if match else None


def _findings(r: Rule, subject: _Subject) -> Iterator[tuple[object, str]]:
    """(target, message) of each problem ``r`` finds; a section's rule (one rule set with the
    update engine) yields ``Finding``: validate prints its ``detail``."""
    for found in r.check(subject):
        if not isinstance(found, Finding):
            yield found
        elif found.detail is not None:
            yield found.target, found.detail


def validate(source, *, schema: str | None = "rng", filename: str | None = None,
             select: Iterable[str] | None = None, ignore: Iterable[str] | None = None,
             rules: frozenset[str] | None = None) -> list[Issue]:
    """Check one network definition and return every issue found (an empty list when valid).

    ``source`` is XML text, bytes, a path (``str`` not starting with ``<``, or ``os.PathLike``)
    or a ``netupdate.Network``.  ``schema`` names the grammar (``"rng"`` or ``"xsd"``; ``None``
    skips the grammar).  ``select``/``ignore`` choose codes as ``select_rules`` does (``rules``
    passes an already computed selection).  An invalid or hostile document never raises: it is
    reported as issues, sorted by line.

    One problem is reported once: when the model cannot read a value, or a semantic rule
    reports a specific attribute (an unknown keyword, a multicast MAC), the grammar's issue
    about the same attribute is dropped (for an unreadable value also the grammar's issues
    about its element, which libxml2 words vaguely), and semantic issues about an element whose
    values could not be read are dropped too.
    """
    with paths.indexed_paths():    # issue paths: each parent's children numbered once
        return _validate(source, schema, filename, select, ignore, rules)


def _validate(source, schema, filename, select, ignore, rules) -> list[Issue]:
    if rules is None and (select is not None or ignore):
        rules = select_rules(select, ignore)
    try:
        root, filename = read_source(source, filename)
    except XMLParseError as exc:
        return [_parse_issue(exc, filename)]

    def wanted(code: str) -> bool:
        return rules is None or code in rules

    issues: list[Issue] = []
    if schema is not None:
        issues.extend(i for i in _schema_issues(root, schema, filename) if wanted(i.code))

    net, problems = _read_model(root, filename)
    unreadable: set[str] = set()    # element paths with a value the model could not read
    covered: set[tuple] = set()     # (element path, attribute or None) a better issue reports
    for problem in problems:
        path = problem.path or ""
        unreadable.add(path)
        if wanted(code := problem.code or "NU-E020"):
            match = _ATTRIBUTE_NAMED.match(problem.message)
            covered.update(((path, None), (path, match.group(1) if match else None)))
            issues.append(Issue(ERROR, code, problem.message, problem.line, path,
                                "model", filename))

    if net is not None:
        subject = _Subject(net, root)
        for r in SEMANTIC_RULES:
            if not wanted(r.code):
                continue
            for target, message in _findings(r, subject):
                line, path, attribute = subject.locate(target)
                if path in unreadable:
                    continue
                if attribute and r.severity == ERROR:
                    covered.add((path, attribute))
                    if r.code == "NU-E101":
                        covered.add((path, None))
                issues.append(Issue(r.severity, r.code, message, line, path, "semantic",
                                    filename))

    if covered:
        issues = [i for i in issues if i.source != "schema" or _schema_key(i) not in covered]
    issues.sort(key=lambda i: (i.line or 0, SOURCES.index(i.source), i.code))
    return issues


def is_valid(source, *, strict: bool = False, **options) -> bool:
    """True when ``validate`` finds no error (and, with ``strict``, no warning either)."""
    return not any(i.is_error or strict for i in validate(source, **options))


# ---------------------------------------------------------------------- documentation
def explain(code: str) -> str:
    """A plain-text explanation of one code (``netupdate validate --explain CODE``)."""
    r = RULES.get(code.strip().upper())
    if r is None:
        raise KeyError(code)
    return (f"{r.code} ({r.name}): {r.title}\n"
            f"severity: {r.severity}; source: {r.source}"
            f"{'' if r.can_ignore else '; cannot be ignored'}\n\n{r.explanation}\n")


DOCS_BEGIN, DOCS_END = "<!-- codes:begin -->\n", "<!-- codes:end -->"


def _md(text: str) -> str:
    """Markdown for registry text: ``code`` spans kept, bare <tags> made code too."""
    parts = text.split("``")
    for index in range(0, len(parts), 2):
        parts[index] = re.sub(r"(<[^<>\s][^<>]*>)", r"`\1`", parts[index])
    return "`".join(parts)


def rules_markdown() -> str:
    """The code list of ``docs/validation.md``, generated from the registry."""
    lines = ["| code | name | severity | source | title |", "|---|---|---|---|---|"]
    for r in RULES.values():
        lines.append(f"| `{r.code}` | `{r.name}` | {r.severity} | {r.source} | {_md(r.title)} |")
    lines.append("")
    for r in RULES.values():
        if not r.can_ignore:
            how = "cannot be ignored (the file was not checked)"
        elif r.severity == WARNING:
            how = f"silence with `--ignore {r.code}` (Python: `ignore=[\"{r.code}\"]`)"
        else:
            how = f"can be ignored with `--ignore {r.code}`"
        lines += [f"### {r.code} `{r.name}`: {_md(r.title)}", "",
                  f"*{r.severity}*, source `{r.source}`; {how}.", "", _md(r.explanation), ""]
    return "\n".join(lines)

