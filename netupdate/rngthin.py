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
"""

from __future__ import annotations

import copy

from lxml import etree

_RNG = "{http://relaxng.org/ns/structure/1.0}"
KEEP = 2            # children of a thinned tag left in the document
THRESHOLD = 256     # thin a tag only beyond this many children (small documents: no copy)
_BATCH = "netupdate-batch"


class Thinned:
    """``validate(element)`` as ``etree.RelaxNG(grammar)`` answers it, in linear time.

    ``thinnable`` maps the tag path of a parent element (from the start element) to
    ``{child tag: the define that alone matches those children}``."""

    def __init__(self, grammar: etree._Element, thinnable: dict[tuple, dict[str, str]]):
        self._grammar = grammar
        self._whole = etree.RelaxNG(grammar)
        self._thinnable = thinnable
        self._batches: dict[str, etree.RelaxNG] = {}

    def validate(self, element) -> bool:
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
        return all(self._batch(define).validate(batch) for define, batch in batches)

    def _bulky(self, element) -> list[tuple]:
        """(parent, tag, define) for each thinnable tag with more than THRESHOLD children."""
        found = []
        for path, tags in self._thinnable.items():
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

    def _batch(self, define: str) -> etree.RelaxNG:
        """A grammar accepting <netupdate-batch> with any number of ``define``'s element."""
        found = self._batches.get(define)
        if found is None:
            grammar = copy.deepcopy(self._grammar)
            start = grammar.find(_RNG + "start")
            batch = etree.SubElement(etree.Element(_RNG + "start"), _RNG + "element",
                                     name=_BATCH)
            etree.SubElement(etree.SubElement(batch, _RNG + "zeroOrMore"), _RNG + "ref",
                             name=define)
            start[:] = [batch]
            found = self._batches[define] = etree.RelaxNG(grammar)
        return found
