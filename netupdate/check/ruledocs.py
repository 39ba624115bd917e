"""The code list of ``docs/validation.md``, generated from the rule registry (``contrib/generate.py``
writes it between ``DOCS_BEGIN`` and ``DOCS_END``)."""

from __future__ import annotations

import re

from netupdate.check.rules import RULES
from netupdate.sections._spec import WARNING

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

