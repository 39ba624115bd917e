"""Where an edit puts a new element: libvirt's element order among the children of a parent,
first or last among same-tag siblings, before the comments that precede the next element.
Positions are counted from the nearer end, so placing an element next to the last of ten
thousand siblings costs no more than next to the first.

This module does no I/O.
"""

from __future__ import annotations

from lxml import etree

from netupdate import sections as S


def _is_element(node) -> bool:
    return isinstance(node.tag, str)


def first_child(parent, tag: str):
    return next(parent.iterchildren(tag), None)


# ====================================================================== positions
def _distance(node) -> tuple[int | None, int | None]:
    """(siblings before, None) or (None, siblings after): whichever end is nearer, counted."""
    back, forth, count = node.getprevious(), node.getnext(), 0
    while back is not None and forth is not None:
        count += 1
        back, forth = back.getprevious(), forth.getnext()
    return (count, None) if back is None else (None, count)


def index_before(node) -> int:
    before, after = _distance(node)
    return before if before is not None else -(after + 1)


def index_after(node) -> int | None:
    before, after = _distance(node)
    if before is not None:
        return before + 1
    return None if after == 0 else -after


def _before_comments(node):
    """``node``, or the first of the comments / PIs that directly precede it."""
    while True:
        previous = node.getprevious()
        if previous is None or _is_element(previous):
            return node
        node = previous


def ordered_index(parent, tag: str, first: bool) -> int | None:
    """Where a new ``tag`` child of ``parent`` goes: first or last among its same-tag siblings,
    else where libvirt's element order puts it."""
    order = S.child_order(parent)
    rank = {t: i for i, t in enumerate(order)}
    mine = rank.get(tag)
    if mine is None:
        if first:
            same = first_child(parent, tag)
            if same is not None:
                return index_before(same)
        else:
            same = next(parent.iterchildren(tag, reversed=True), None)
            if same is not None:
                return index_after(same)
        return None
    forward = mine < len(order) / 2
    if forward:
        last_same = last_lower = None
        for child in parent.iterchildren(tag=etree.Element):
            if child.tag == tag:
                if first:
                    return index_before(child)
                last_same = child
                continue
            theirs = rank.get(child.tag)
            if theirs is None:
                continue
            if theirs > mine:
                if last_same is not None:
                    return index_after(last_same)
                return index_before(_before_comments(child))
            last_lower = child
        anchor = last_same if last_same is not None else last_lower
        return index_after(anchor) if anchor is not None else None
    earliest_same = earliest_higher = None
    for child in parent.iterchildren(tag=etree.Element, reversed=True):
        if child.tag == tag:
            if not first:
                return index_after(child)
            earliest_same = child
            continue
        theirs = rank.get(child.tag)
        if theirs is None:
            continue
        if theirs < mine:
            if earliest_same is not None:
                return index_before(earliest_same)
            return index_after(child)
        earliest_higher = child
    if earliest_same is not None:
        return index_before(earliest_same)
    if earliest_higher is not None:
        return index_before(_before_comments(earliest_higher))
    return None
