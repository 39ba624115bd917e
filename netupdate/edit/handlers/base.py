"""What every section handler has (``Handler``), and the handler of the sections whose element
appears at most once under ``<network>`` (``SingletonHandler``: bridge, domain, forward, dns).

This module does no I/O.
"""

from __future__ import annotations

from netupdate import sections as S
from netupdate.edit.context import Change, Edit, check_own, q, short
from netupdate.edit.placement import first_child
from netupdate.errors import DuplicateError, NotFoundError
from netupdate.model import defs as M


# ====================================================================== section handlers
class Handler:
    section: S.Section

    def section_form(self, ed: Edit) -> Change:
        if ed.frag is not None:
            ed.expect_tag(ed.frag, self.section.tag)
        scope = self.scope(ed)
        if ed.command in ("add-first", "add-last"):
            return self.add(ed, scope)
        if ed.command == "modify":
            return self.modify(ed, scope, None)
        return self.delete(ed, scope, None)

    def scope(self, ed: Edit):
        return ed.root

    def scope_of(self, ed: Edit, element):
        """The scope of an edit whose container (or scope) element a node spec selected."""
        return ed.root if element is ed.root else None

    def revalidate(self, ed: Edit, element) -> None:
        """Checks on an element of this section after a nodeSpec edit inside it."""

    def add(self, ed: Edit, scope) -> Change:
        raise NotImplementedError

    def modify(self, ed: Edit, scope, target) -> Change:
        raise NotImplementedError

    def delete(self, ed: Edit, scope, target) -> Change:
        raise NotImplementedError


# ---------------------------------------------------------------------- whole elements
def _attribute_pattern_matches(ed: Edit, cls: type, target, frag) -> bool:
    """A delete pattern matches when every attribute it gives equals the target's (typed)."""
    if not frag.attrib:
        return True
    pattern, current = ed.try_read(cls, frag), ed.try_read(cls, target)
    if pattern is None or current is None:
        return all(target.get(k) == v for k, v in frag.attrib.items())
    for f in M.fields_of(cls):
        meta = f.metadata
        if meta["kind"] == "attr" and meta["child"] is None and frag.get(meta["xml"]) is not None:
            if getattr(pattern, f.name) != getattr(current, f.name):
                return False
    known = {f.metadata["xml"] for f in M.fields_of(cls) if f.metadata["kind"] == "attr"}
    return all(target.get(k) == v for k, v in frag.attrib.items() if k not in known
               and k not in ("netmask", "prefix"))


class SingletonHandler(Handler):
    """A section whose element appears at most once under <network> (bridge, domain, forward,
    and the ``dns`` pseudo section): add when absent, modify (replace), delete."""

    def __init__(self, name: str, kinds: tuple[str, ...]):
        self.section = S.BY_NAME[name]
        self.kinds = kinds

    @property
    def tag(self) -> str:
        return self.section.tag

    def read_new(self, ed: Edit, frag):
        ed.expect_tag(frag, self.tag)
        return ed.read_strict(self.section.def_cls, frag)

    def check_new(self, ed: Edit, element) -> None:
        """Checks of the new element on its own (before it is placed)."""
        check_own(ed, self.section, element)

    def add(self, ed: Edit, root) -> Change:
        frag = ed.frag
        new = self.read_new(ed, frag)
        existing = first_child(root, self.tag)
        if existing is not None:
            ed.fail(DuplicateError, f"there is already a <{self.tag}> element in network "
                    f"{q(ed.n)} (use modify to change it)", existing)
        self.check_new(ed, frag)
        ed.guarded(self.kinds, lambda: ed.insert_ordered(root, frag), [root])
        return ed.change(self.section, ed.path(frag), after=new, after_xml=ed.text(frag))

    def modify(self, ed: Edit, root, target) -> Change:
        frag = ed.frag
        new = self.read_new(ed, frag)
        if target is None:
            target = first_child(root, self.tag)
            if target is None:
                ed.fail(NotFoundError, f"network {q(ed.n)} has no <{self.tag}> element to "
                        "modify (use add to create it)")
        self.check_new(ed, frag)
        before, before_xml = ed.try_read(self.section.def_cls, target), ed.text(target)
        ed.guarded(self.kinds, lambda: ed.replace(target, frag), [root])
        return ed.change(self.section, ed.path(frag), before=before, after=new,
                         before_xml=before_xml, after_xml=ed.text(frag))

    def delete(self, ed: Edit, root, target) -> Change:
        frag = ed.frag
        if frag is not None:
            self.read_new(ed, frag)
        found = target if target is not None else first_child(root, self.tag)
        if found is None:
            ed.fail(NotFoundError, f"network {q(ed.n)} has no <{self.tag}> element to delete")
        if frag is not None and not _attribute_pattern_matches(ed, self.section.def_cls, found,
                                                               frag):
            ed.fail(NotFoundError, f"the <{self.tag}> element of network {q(ed.n)} does not "
                    f"match {short(ed.text(frag))}", found)
        before, before_xml = ed.try_read(self.section.def_cls, found), ed.text(found)
        path = ed.path(found)
        ed.guarded(self.kinds, lambda: ed.remove(found), [root])
        return ed.change(self.section, path, before=before, before_xml=before_xml)

    def revalidate(self, ed: Edit, element) -> None:
        self.check_new(ed, element)
