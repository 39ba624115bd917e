"""Issues of a folder of definitions (``netupdate validate DIR``): each conflict between two
files (``planning.conflicts.across_files``, given here as ``(file, other file, conflict)``)
becomes one located issue of the first file whose message names the second file's line.
The codes are ``check.acrossrules``'s; this module reads the files (through the document
layer's safe reader) and locates both sides, it does not decide what conflicts."""

from __future__ import annotations

from netupdate.check import acrossrules
from netupdate.check import semantic as V
from netupdate.check.reading import read_source
from netupdate.errors import XMLParseError
from netupdate.model.defs import NetworkDef

CODE_OF = {r.name: r for r in acrossrules.RULES}


def read(files: list[str]) -> dict:
    """``{file: (root element, NetworkDef)}`` of the files that parse (the others are the
    per-file check's to report)."""
    out = {}
    for path in files:
        try:
            root, _name = read_source(path, path)
        except (XMLParseError, OSError):
            continue
        defs, _problems = NetworkDef.read_lenient(root, filename=path)
        out[path] = (root, defs)
    return out


def _where(root, path: str | None) -> tuple[int | None, str | None]:
    found = root.xpath(path) if path else []
    return (found[0].sourceline, path) if found else (root.sourceline, "/network")


def issues(conflicts, documents: dict, rules: frozenset | None = None) -> dict[str, list]:
    """``{file: [Issue]}`` for ``conflicts`` between the files of ``documents`` (``read``'s),
    only the codes in ``rules`` when given."""
    out: dict[str, list] = {}
    for mine, theirs, conflict in conflicts:
        rule = CODE_OF[conflict.kind]
        if rules is not None and rule.code not in rules:
            continue
        line, path = _where(documents[mine][0], conflict.paths[0])
        other_line, other_path = _where(documents[theirs][0], conflict.paths[1])
        message = f"{conflict.message} ({theirs}:{other_line}: {other_path})"
        out.setdefault(mine, []).append(V.Issue(rule.severity, rule.code, message, line, path,
                                                rule.source, mine))
    for found in out.values():
        found.sort(key=lambda i: (i.line or 0, i.code))
    return out
