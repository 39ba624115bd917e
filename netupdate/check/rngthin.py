"""RelaxNG validation that stays linear on elements with thousands of repeated children.

libxml2 validates an ``<interleave>`` in time quadratic in the number of children it spreads
over its branches: a ``<dhcp>`` with 40,000 ``<host>`` children took 2.6 s, 100,000 about 16 s
(the same content as a ``<zeroOrMore><choice>`` takes 20 ms).  ``Thinned`` validates such an
element in two linear parts, with the same answer:

* the document with all but ``KEEP`` of those children taken out, and
* the children taken out, side by side under one element of a small grammar that accepts a
  sequence of that child's define.

That is exact for a child tag that only a ``zeroOrMore``/``oneOrMore`` of one element define
can match, directly in the interleave that is its parent's whole content (besides attributes):
children of that tag may then come anywhere and in any number, each matched by that define
alone.  ``rngvalues.Acceptor`` finds those tags in the grammar (``thinnable``).

An element inside a document is validated as a copy made through its text: validating it in
place, or copying it with ``deepcopy``, costs time in proportion to the whole document in lxml,
so checking each of 40,000 hosts one by one was quadratic too.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Iterator

from lxml import etree

_RNG = "{http://relaxng.org/ns/structure/1.0}"
KEEP = 2            # children of a thinned tag left in the document
THRESHOLD = 256     # thin a tag only beyond this many children (small documents: no copy)
CHUNK = 512         # children checked together in a batch
PART = 16           # the parts of a failing batch checked again (suspects)
_BATCH = "netupdate-batch"


class Thinned:
    """``validate(element)`` as ``etree.RelaxNG(grammar)`` answers it, in linear time.

    ``thinnable`` maps the tag path of a parent element (from the start element) to
    ``{child tag: the define that alone matches those children}``."""

    def __init__(self, grammar: etree._Element, thinnable: dict[tuple, dict[str, str]],
                 fast: Callable | None = None):
        self._grammar = grammar
        self._whole = etree.RelaxNG(grammar)
        self.thinnable = thinnable
        self._fast = fast       # grammar -> an object whose accepts() says True, False or None
        self._batches: dict[str, tuple] = {}

    def validate(self, element) -> bool:
        if element.getparent() is not None:
            element = _detached(element)
        if not self._bulky(element):
            return self._whole.validate(element)
        twin = copy.deepcopy(element)
        batches = []
        for parent, tag, define in self._bulky(twin):
            batch = etree.Element(_BATCH)
            for child in list(parent.iterchildren(tag))[KEEP:]:
                if not (child.tail or "").strip():     # stray text stays where it is
                    batch.append(child)
            batches.append((define, batch))
        if not self._whole.validate(twin):
            return False
        return all(self._batch_valid(define, batch) for define, batch in batches)

    def _batch_valid(self, define: str, batch) -> bool:
        """Whether every child of ``batch`` matches ``define``: chunk by chunk, through the fast
        acceptor when there is one (libxml2 with pattern facets is slow), the grammar when it
        cannot tell."""
        whole, fast = self._batch(define)
        children = list(batch)
        for start in range(0, len(children), CHUNK):
            chunk = etree.Element(_BATCH)
            chunk.extend(children[start:start + CHUNK])
            verdict = fast.accepts(chunk) if fast is not None else None
            if not (whole.validate(chunk) if verdict is None else verdict):
                return False
        return True

    def suspects(self, define: str, elements: list) -> Iterator:
        """Of ``elements`` (each to be matched by ``define`` alone, wherever they are), the ones
        that may fail it, in order: they are checked together, ``CHUNK`` at a time and then in
        parts of ``PART``, so elements that pass cost one batched check (linear in their
        number); only the elements of a failing part are returned, to be judged one by one."""
        for start in range(0, len(elements), CHUNK):
            chunk = elements[start:start + CHUNK]
            if self._all_valid(define, chunk):
                continue
            for first in range(0, len(chunk), PART):
                part = chunk[first:first + PART]
                if len(part) == 1 or not self._all_valid(define, part):
                    yield from part

    def _all_valid(self, define: str, elements: list) -> bool:
        """Whether ``define`` accepts every one of ``elements`` (copied through their text)."""
        batch = etree.fromstring(
            b"<" + _BATCH.encode() + b">"
            + b"".join(etree.tostring(e, with_tail=False) for e in elements)
            + b"</" + _BATCH.encode() + b">", _PARSER)
        return self._batch_valid(define, batch)

    def _bulky(self, element) -> list[tuple]:
        """(parent, tag, define) for each thinnable tag with more than THRESHOLD children."""
        found = []
        for path, tags in self.thinnable.items():
            if path[0] != element.tag:
                continue
            parents = [element]
            for tag in path[1:]:
                parents = [c for p in parents for c in p.iterchildren(tag)]
            for parent in parents:
                if len(parent) <= THRESHOLD:
                    continue
                for tag, define in tags.items():
                    if sum(1 for _ in parent.iterchildren(tag)) > THRESHOLD:
                        found.append((parent, tag, define))
        return found

    def _batch(self, define: str) -> tuple:
        """A grammar accepting <netupdate-batch> with any number of ``define``'s element, and
        its fast acceptor (or None)."""
        found = self._batches.get(define)
        if found is None:
            grammar = copy.deepcopy(self._grammar)
            start = grammar.find(_RNG + "start")
            batch = etree.SubElement(etree.Element(_RNG + "start"), _RNG + "element",
                                     name=_BATCH)
            etree.SubElement(etree.SubElement(batch, _RNG + "zeroOrMore"), _RNG + "ref",
                             name=define)
            start[:] = [batch]
            fast = self._fast(grammar) if self._fast is not None else None
            found = self._batches[define] = (etree.RelaxNG(grammar), fast)
        return found


BATCH_FROM = 32     # children of one tag checked in batches before one by one (suspects)


def suspects(own, children: dict[str, str], checker: Callable[[str], Thinned]) -> Iterator:
    """(child, its define) for the children of ``own`` with a define of their own (``children``:
    tag -> define) that may not match it, in document order: a run of more than ``BATCH_FROM``
    of one tag is checked in batches as it is reached (``checker(define).suspects``), so with
    one bad host among 100,000 a few dozen are judged one by one, not all."""
    runs: dict[str, list] = {}
    for child in own.iterchildren(etree.Element):
        if child.tag in children:
            runs.setdefault(child.tag, []).append(child)
    batched = {tag: _Lookahead(checker(children[tag]).suspects(children[tag], run))
               for tag, run in runs.items() if len(run) > BATCH_FROM}
    for child in own.iterchildren(etree.Element):
        if child.tag in children and (child.tag not in batched
                                      or batched[child.tag].take(child)):
            yield child, children[child.tag]


class _Lookahead:
    """An ordered subsequence of a run, asked element by element whether it holds each."""

    def __init__(self, found):
        self._found, self._next = found, next(found, None)

    def take(self, element) -> bool:
        if self._next is not element:
            return False
        self._next = next(self._found, None)
        return True


def small(element) -> bool:
    """Whether ``element`` has at most ``BATCH_FROM`` descendants (counting stops there)."""
    return sum(1 for _ in itertools.islice(element.iter(), BATCH_FROM + 1)) <= BATCH_FROM


_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def shallow_view(element, stubs, thinnable: dict[tuple, dict[str, str]], own_elements):
    """A copy of ``element`` as a shallow grammar sees it (one whose element defines but the
    start one are stubs that take any content).  ``stubs`` are the tags of those stub elements
    under the start define's own elements (``own_elements(element)``): they are copied without
    their content, and of the ones the grammar lets repeat freely (``thinnable``) only ``KEEP``
    of a tag under one parent.  Neither changes the answer, and libxml2 takes time quadratic in
    the number of such descendants (32,000 hosts: 2.5 s, in one call no signal can stop).  The
    copy is built element by element, so a stub's content is never copied at all."""
    own = set(own_elements(element))
    view = _shell(element)
    pending = [(element, view, (element.tag,))]
    while pending:
        original, copied, path = pending.pop()
        repeat, seen = thinnable.get(path, {}), {}
        for child in original:
            if isinstance(child.tag, str) and child.tag in stubs:
                seen[child.tag] = seen.get(child.tag, 0) + 1
                if (child.tag in repeat and seen[child.tag] > KEEP
                        and not (child.tail or "").strip()):
                    continue
                twin = _shell(child, text=False)
            elif child in own:
                twin = _shell(child)
                pending.append((child, twin, (*path, child.tag)))
            else:
                twin = copy.deepcopy(child)
            twin.tail = child.tail
            copied.append(twin)
    return view


def _shell(element, text: bool = True):
    """A copy of ``element`` without its children (and without its text unless ``text``)."""
    shell = etree.Element(element.tag, dict(element.attrib), nsmap=element.nsmap)
    if text:
        shell.text = element.text
    return shell


def _detached(element):
    """A copy of ``element`` in a document of its own (cost: the element's size)."""
    return etree.fromstring(etree.tostring(element, with_tail=False), _PARSER)
