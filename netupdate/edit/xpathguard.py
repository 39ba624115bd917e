"""Evaluate a nodeSpec XPath within a time budget.

libxml2 evaluates XPath in C while holding the GIL, so neither a thread nor a signal can stop a
costly expression (``//*[count(//*[count(//*) > 0]) > 0]`` is cubic in the size of the
document).  An expression whose cost is plainly linear is evaluated here; any other runs in a
forked child that is killed after ``TIMEOUT`` seconds, so a hostile nodeSpec never holds the
network lock longer than that, and a signal to this process is handled while it waits (a live
operation, which defers signals to its safe points, sees it once the wait is over).

Plainly linear (``is_cheap``): no function calls beyond value tests, no unions, no axis other
than child, attribute and self, no ``..``, at most one ``//`` and none inside a predicate, and
predicates that only look at the candidate's attributes, text and children by name.  Each
predicate then reads nodes of its own candidate only, and candidates do not overlap.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import select
import signal
import time

from lxml import etree

from netupdate.document.patterns import Pattern

TIMEOUT = 2.0      # seconds an expression that is not plainly linear may run
SHOWN = 21         # paths reported of a many-element result (enough to show 20 and count)

_CHEAP_FUNCTIONS = frozenset({"text", "node", "not", "contains", "starts-with", "position",
                              "last", "normalize-space", "string-length", "true", "false",
                              "comment", "processing-instruction"})
_TOKEN = Pattern(r"""
    (?P<literal>"[^"]*"|'[^']*')
  | (?P<axis>[A-Za-z-]+)\s*::
  | (?P<call>[A-Za-z_][\w.\-]*)\s*\(
  | (?P<slashes>//?)
  | (?P<dots>\.\.)
  | (?P<bracket>[\[\]])
  | (?P<union>\|)
  | (?P<other>[^\s"'/\[\]|])
""", re.X | re.S)


class Result:
    """What an expression selected: ``elements`` (in the parent's tree; only the first when
    more were found in a child), ``count``, ``paths`` of the first ``SHOWN``; or ``kind``, a
    short description of a result that is not a list of elements."""

    def __init__(self, *, elements=(), count=0, paths=(), kind=None):
        self.elements, self.count, self.paths, self.kind = list(elements), count, list(paths), kind


class TooCostly(Exception):
    """The expression ran longer than ``TIMEOUT`` seconds and was stopped."""


def is_cheap(spec: str) -> bool:
    """Whether ``spec`` is plainly linear in the size of the document (see the module doc)."""
    depth, descendant = 0, 0
    for match in _TOKEN.finditer(spec):
        kind = match.lastgroup
        if kind == "bracket":
            depth += 1 if match.group() == "[" else -1
        elif kind in ("union", "dots"):
            return False
        elif kind == "axis" and match.group("axis") not in ("child", "attribute", "self"):
            return False
        elif kind == "call" and match.group("call") not in _CHEAP_FUNCTIONS:
            return False
        elif kind == "slashes":
            descendant += match.group() == "//"
            if depth or descendant > 1:
                return False
    return True


def evaluate(xpath: etree.XPath, root, spec: str, describe) -> Result:
    """Run ``xpath`` on ``root``; ``describe(element)`` names an element (its path).
    Raises ``TooCostly``, or ``etree.XPathError`` for an expression libxml2 refuses."""
    if is_cheap(spec):
        return _summary(xpath(root), describe)
    return _in_child(xpath, root, describe)


def _summary(result, describe, *, paths_only: bool = False) -> Result:
    if not isinstance(result, list):
        kind = ("boolean" if isinstance(result, bool) else "string" if isinstance(result, str)
                else "number" if isinstance(result, float | int) else "value")
        return Result(kind=kind)
    for item in result:
        if not (isinstance(item, etree._Element) and isinstance(item.tag, str)):
            return Result(kind=_node_kind(item))
    shown = [describe(e) for e in result[:SHOWN]]
    return Result(elements=[] if paths_only else result, count=len(result), paths=shown)


def _node_kind(item) -> str:
    if isinstance(item, str):
        name = getattr(item, "attrname", None)
        return (f"attribute '{str(name)[:64]}'" if getattr(item, "is_attribute", False)
                else "a text node")
    if isinstance(item, etree._Comment):
        return "a comment"
    if isinstance(item, etree._ProcessingInstruction):
        return "a processing instruction"
    return "a node that is not an element"


def _in_child(xpath, root, describe) -> Result:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:   # the child: evaluate, report, leave without running any cleanup
        status = 1
        try:
            os.close(read_end)
            for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGALRM):
                signal.signal(signum, signal.SIG_DFL)
            # it inherited the parent's descriptors (a network lock): if the parent dies
            # without killing it, the kernel ends it soon all the same
            signal.alarm(int(TIMEOUT) + 2)
            result = xpath(root)
            found = _summary(result, lambda e: e.getroottree().getpath(e), paths_only=True)
            report = {"count": found.count, "paths": found.paths, "kind": found.kind}
            if found.count == 1:   # where it is in document order, to find it in the parent
                report["index"] = next(i for i, node in enumerate(root.iter())
                                       if node is result[0])
            os.write(write_end, json.dumps(report).encode())
            status = 0
        except BaseException as exc:   # noqa: BLE001 - reported to the parent
            message = str(exc)[:300]
            os.write(write_end, json.dumps({"error": message}).encode())
        finally:
            os._exit(status)
    os.close(write_end)
    try:
        data = _read_all(read_end, time.monotonic() + TIMEOUT)
    finally:
        os.close(read_end)
        _stop(pid)
    report = json.loads(data or b"{}")
    if "error" in report:
        raise etree.XPathEvalError(report["error"])
    if report.get("kind"):
        return Result(kind=report["kind"])
    first = ([next(itertools.islice(root.iter(), report["index"], None))]
             if report.get("count") == 1 else [])
    return Result(elements=first, count=report.get("count", 0), paths=report.get("paths", []))


def _read_all(fd: int, deadline: float) -> bytes:
    chunks = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TooCostly
        ready, _, _ = select.select([fd], [], [], min(left, 0.2))
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)


def _stop(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    os.waitpid(pid, 0)
