"""Validation of network definitions: grammar, typed values and semantic rules, as located issues.

``validate(source)`` runs four stages and returns every issue found, never raising for a bad
document.  The stage is the ``source`` of an ``Issue``:

1. ``parse`` - safe parsing (``check/reading.py``: no DTD, no entities, no network, a size
   limit).  A document that cannot be parsed yields exactly one issue (``NU-E000`` .. ``NU-E006``).
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

Every code has a stable name, a severity, a title and an explanation; ``check/rules.py`` is the
registry (``RULES``, ``select_rules``; ``docs/validation.md`` is generated from it by
``check/ruledocs.py``).  Each rule yields ``(target, message)`` pairs that ``check/subject.py``
locates: the target is a definition (located through the element it was read from), an lxml
element, ``None`` for the root element, or ``(definition or element, attribute name)`` for a
problem of one attribute.  Issue paths are element XPaths such as ``/network/ip[1]/dhcp/host[3]``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from netupdate.check.reading import parse_code, read_source
from netupdate.check.rules import RULES, SEMANTIC_RULES, select_rules
from netupdate.check.subject import Subject
from netupdate.document import paths
from netupdate.document.bulk import bulk
from netupdate.document.patterns import Pattern
from netupdate.errors import XMLParseError
from netupdate.model import defs as M
from netupdate.sections._spec import ERROR, Finding, Rule

__all__ = ["Issue", "explain", "is_valid", "validate"]

SOURCES = ("parse", "schema", "model", "semantic", "folder")   # folder: check.across


# ---------------------------------------------------------------------- issues
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


def _parse_issue(exc: XMLParseError, filename: str | None) -> Issue:
    return Issue(ERROR, parse_code(exc), exc.message, exc.line, exc.path, "parse",
                 filename if filename is not None else exc.file)

# ---------------------------------------------------------------------- validate
def _read_model(source, root, filename: str | None):
    """Read the typed definitions, keeping going past unreadable values.

    Returns ``(NetworkDef, problems)``: unreadable values are ``None`` in the result and
    each is a ``ModelError`` in ``problems``.  A ``Network`` whose typed definitions were
    already read (then without a problem) is not read again (issue 12: ``apply`` of 100,000
    hosts read them twice).
    """
    if isinstance(source, M.Network) and source.defs_read is not None:
        return source.defs_read, []
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


_ATTRIBUTE_NAMED = Pattern(r"^attribute '([^']+)'")
_ATTRIBUTE_MENTIONED = Pattern(r"\battribute '([^']+)'")


def _schema_key(issue: Issue) -> tuple:
    """(element path, attribute or None) of a grammar issue, for matching it with others."""
    path = issue.path or ""
    if "/@" in path:
        path, attribute = path.rsplit("/@", 1)
        return path, attribute
    match = _ATTRIBUTE_MENTIONED.search(issue.message)
    return path, match.group(1) if match else None


def _findings(r: Rule, subject: Subject) -> Iterator[tuple[object, str]]:
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
    with paths.indexed_paths(), bulk():   # issue paths: each parent's children numbered once
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

    net, problems = _read_model(source, root, filename)
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
        subject = Subject(net, root)
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


