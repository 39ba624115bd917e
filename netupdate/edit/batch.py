"""Batches: the updates of ``update --batch FILE`` and ``update_batch``, one per line or a JSON
list (``BATCH_HELP``).  Pure: parsing only; the backends apply them as one transaction."""

from __future__ import annotations

import json
from dataclasses import dataclass

from netupdate.errors import InvalidOperationError


class BatchError(InvalidOperationError):
    """A line of a batch was refused; nothing was changed.  ``line`` (``batch_line``) is its
    number (the line of the batch file, or the item of a JSON batch), ``path`` where the
    network refused its update, ``file`` the batch file when the command line read one: the
    error reads ``b.txt:2: /network/ip/dhcp/host: ...``, ``b.json: batch item 2: ...`` for an
    item of a JSON batch, or without a file ``batch line 2: ...``."""

    def __init__(self, message: str, *, line: int | None = None, path: str | None = None,
                 item: bool = False):
        super().__init__(message, line=line, path=path)
        self.batch_line = line
        self.unit = "item" if item else "line"

    def location(self) -> str:
        if self.line is None or (self.file is not None and self.unit == "line"):
            return super().location()   # b.txt:2: PATH
        return ": ".join([*([self.file] if self.file else []), f"batch {self.unit} {self.line}",
                          *([self.path] if self.path else [])])


@dataclass(frozen=True)
class BatchUpdate:
    """One line of a batch: the arguments of one ``update``; ``item``: ``line`` numbers an item
    of a list (a JSON batch, or a list given to ``update_batch``), not a line of text."""

    line: int
    command: str
    section: str | None = None
    xml: str | None = None
    parent_index: int = -1
    node_spec: str | None = None
    item: bool = False

    def to_json(self) -> dict:
        return {"line": self.line, "command": self.command, "section": self.section,
                "xml": self.xml, "parent_index": self.parent_index, "node_spec": self.node_spec}


BATCH_HELP = """\
one update per line: COMMAND SECTION XML (the XML is the rest of the line, as is), or
COMMAND --node-spec=XPATH [XML]; --parent-index=N may follow COMMAND; blank lines and lines
starting with '#' are skipped.  Or a JSON list of objects {"command", "section", "xml",
"parent_index", "node_spec"} (or of [COMMAND, SECTION, XML] lists)."""


def parse_batch(text: str) -> list[BatchUpdate]:
    """The updates of a batch file (see ``BATCH_HELP``).  A malformed line raises
    ``BatchError`` naming it."""
    stripped = text.lstrip()
    if stripped.startswith("["):
        return _parse_batch_json(text)
    updates = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        updates.append(parse_line(number, line))
    return updates


def parse_line(number: int, line: str) -> BatchUpdate:
    """The update of line ``number`` of a batch file (stripped, not a comment)."""
    def fail(why: str):
        raise BatchError(why, line=number)
    command, _, rest = line.partition(" ")
    rest = rest.strip()
    node_spec, parent_index = None, -1
    while rest.startswith("--"):
        option, _, after = rest.partition(" ")
        rest = after.strip()
        key, eq, value = option.partition("=")
        if not eq:  # --option VALUE
            value, _, after = rest.partition(" ")
            rest = after.strip()
        if key == "--node-spec":
            node_spec = value
        elif key == "--parent-index":
            try:
                parent_index = int(value)
            except ValueError:
                fail(f"--parent-index wants an integer, not {value!r}")
        else:
            fail(f"unknown option {key}")
    if node_spec is not None:
        return BatchUpdate(number, command, None, rest or None, parent_index, node_spec)
    section, _, xml = rest.partition(" ")
    xml = xml.strip()
    if not section or not xml:
        fail("expected COMMAND SECTION XML")
    return BatchUpdate(number, command, section, xml, parent_index, None)


def _parse_batch_json(text: str) -> list[BatchUpdate]:
    try:
        items = json.loads(text)
    except ValueError as exc:
        raise BatchError(f"batch: invalid JSON: {exc}") from None
    if not isinstance(items, list):
        raise BatchError("batch: a JSON batch is a list of updates")
    updates = []
    for number, item in enumerate(items, 1):
        if isinstance(item, list) and 2 <= len(item) <= 3 and all(isinstance(i, str)
                                                                  for i in item):
            item = dict(zip(("command", "section", "xml"), item, strict=False))
        if not isinstance(item, dict) or not isinstance(item.get("command"), str):
            raise BatchError("expected an object with a 'command'",
                             line=number, item=True)
        unknown = set(item) - {"command", "section", "xml", "parent_index", "node_spec"}
        if unknown:
            raise BatchError(f"unknown keys {sorted(unknown)}", line=number, item=True)
        parent = item.get("parent_index", -1)
        if not isinstance(parent, int) or isinstance(parent, bool):
            raise BatchError("parent_index must be an integer",
                             line=number, item=True)
        if item.get("node_spec") is None and (not item.get("section") or not item.get("xml")):
            raise BatchError("expected section and xml (or node_spec)",
                             line=number, item=True)
        updates.append(BatchUpdate(number, item["command"], item.get("section"),
                                   item.get("xml"), parent, item.get("node_spec"), item=True))
    return updates


def as_batch(updates) -> list[BatchUpdate]:
    """``BatchUpdate`` items from a batch text, or from dicts / tuples / ``BatchUpdate``s."""
    if isinstance(updates, str | bytes):
        return parse_batch(updates.decode() if isinstance(updates, bytes) else updates)
    out = []
    for number, item in enumerate(updates, 1):
        if isinstance(item, BatchUpdate):
            out.append(item)
        elif isinstance(item, dict):
            out.append(BatchUpdate(number, item["command"], item.get("section"),
                                   item.get("xml"), item.get("parent_index", -1),
                                   item.get("node_spec"), item=True))
        else:
            out.append(BatchUpdate(number, *item, item=True))
    return out
