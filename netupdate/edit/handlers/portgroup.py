"""The handler of ``<portgroup>`` (unique names, at most one default).

This module does no I/O.
"""

from __future__ import annotations

from netupdate import sections as S
from netupdate.edit.context import Change, Edit, check_fragment, q
from netupdate.edit.handlers.base import Handler
from netupdate.errors import DuplicateError, InvalidOperationError, NotFoundError
from netupdate.model import defs as M
from netupdate.sections import portgroup as PORTGROUP


class PortgroupHandler(Handler):
    section = S.BY_NAME["portgroup"]

    def parse(self, ed: Edit, element):
        ed.expect_tag(element, "portgroup")
        check_fragment(ed, "portgroup", element)
        default = element.get("default")
        if element is ed.frag and default is not None and default != default.lower():
            element.set("default", default.lower())   # libvirt reads it case-insensitively
        return element.get("name"), ed.read_strict(M.Portgroup, element)

    @staticmethod
    def find(root, name, exclude=None):
        for element in root.iterchildren("portgroup"):
            if element is not exclude and element.get("name") == name:
                return element
        return None

    def check(self, ed: Edit, element, name, exclude) -> None:
        existing = self.find(ed.root, name, exclude=exclude)
        if existing is not None:
            ed.fail(DuplicateError, PORTGROUP.duplicate_name(ed.n, name), existing)
        self.check_default(ed, element, exclude)

    def check_default(self, ed: Edit, element, exclude) -> None:
        if not PORTGROUP.is_default(element):
            return
        for other in ed.root.iterchildren("portgroup"):
            if other is not exclude and other is not element and PORTGROUP.is_default(other):
                ed.fail(InvalidOperationError, PORTGROUP.second_default(ed.n), other)

    def not_found(self, ed: Edit, name) -> None:
        ed.fail(NotFoundError, f"couldn't find a portgroup entry in network {q(ed.n)} "
                f"matching <portgroup name='{name}'>")

    def add(self, ed: Edit, root) -> Change:
        frag = ed.frag
        name, new = self.parse(ed, frag)
        self.check(ed, frag, name, None)
        ed.insert_ordered(root, frag)
        return ed.change(self.section, ed.path(frag), after=new, after_xml=ed.text(frag))

    def modify(self, ed: Edit, root, target) -> Change:
        frag = ed.frag
        name, new = self.parse(ed, frag)
        if target is None:
            target = self.find(root, name)
            if target is None:
                self.not_found(ed, name)
            self.check_default(ed, frag, target)
        else:
            self.check(ed, frag, name, target)
        before, before_xml = ed.try_read(M.Portgroup, target), ed.text(target)
        ed.replace(target, frag)
        return ed.change(self.section, ed.path(frag), before=before, after=new,
                         before_xml=before_xml, after_xml=ed.text(frag))

    def delete(self, ed: Edit, root, target) -> Change:
        frag = ed.frag
        name = self.parse(ed, frag)[0] if frag is not None else None
        found = target if target is not None else self.find(root, name)
        if found is None or (name is not None and found.get("name") != name):
            self.not_found(ed, name)
        before, before_xml = ed.try_read(M.Portgroup, found), ed.text(found)
        path = ed.path(found)
        ed.remove(found)
        return ed.change(self.section, path, before=before, before_xml=before_xml)

    def revalidate(self, ed: Edit, element) -> None:
        name, _ = self.parse(ed, element)
        self.check(ed, element, name, element)
