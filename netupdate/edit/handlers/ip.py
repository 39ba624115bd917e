"""The handler of ``<ip>`` (unique addresses; the whole-network rules of ``ip`` re-checked).

This module does no I/O.
"""

from __future__ import annotations

from netupdate import sections as S
from netupdate.edit.context import Change, Edit, check_fragment, q
from netupdate.edit.handlers.base import Handler
from netupdate.edit.placement import first_child
from netupdate.errors import DuplicateError, NotFoundError
from netupdate.model import defs as M
from netupdate.sections import ip as IP
from netupdate.sections.ip_dhcp_host import norm_ip


class IpHandler(Handler):
    section = S.BY_NAME["ip"]
    kinds = IP.RECHECK

    def parse(self, ed: Edit, element):
        ed.expect_tag(element, "ip")
        new = ed.read_strict(M.IpDef, element)
        check_fragment(ed, "ip", element)
        return new

    @staticmethod
    def find(root, address, exclude=None):
        for element in root.iterchildren("ip"):
            if element is not exclude and norm_ip(element.get("address", "")) == address:
                return element
        return None

    def refuse_duplicate(self, ed: Edit, address, existing) -> None:
        ed.fail(DuplicateError, IP.duplicate_address(ed.n, address), existing)

    def forget(self, ed: Edit, ip_el) -> None:
        dhcp = first_child(ip_el, "dhcp")
        if dhcp is not None:
            ed.network._indexes.pop(("dhcp-hosts", dhcp), None)

    def add(self, ed: Edit, root) -> Change:
        frag = ed.frag
        new = self.parse(ed, frag)
        existing = self.find(root, new.address)
        if existing is not None:
            self.refuse_duplicate(ed, new.address, existing)
        ed.guarded(self.kinds, lambda: ed.insert_ordered(root, frag), [root])
        return ed.change(self.section, ed.path(frag), after=new, after_xml=ed.text(frag),
                         ip_version=new.version)

    def modify(self, ed: Edit, root, target) -> Change:
        frag = ed.frag
        new = self.parse(ed, frag)
        if target is None:
            target = self.find(root, new.address)
            if target is None:
                ed.fail(NotFoundError, f"couldn't find an <ip> element with address "
                        f"'{new.address}' in network {q(ed.n)}")
        else:
            existing = self.find(root, new.address, exclude=target)
            if existing is not None:
                self.refuse_duplicate(ed, new.address, existing)
        before, before_xml = ed.try_read(M.IpDef, target), ed.text(target)
        ed.guarded(self.kinds, lambda: ed.replace(target, frag), [root])
        self.forget(ed, target)
        return ed.change(self.section, ed.path(frag), before=before, after=new,
                         before_xml=before_xml, after_xml=ed.text(frag), ip_version=new.version)

    def delete(self, ed: Edit, root, target) -> Change:
        frag = ed.frag
        found = target
        if frag is not None:
            ed.expect_tag(frag, "ip")
            check_fragment(ed, "ip", frag)
            address = norm_ip(frag.get("address"))
            found = self.find(root, address)
            if found is None or (target is not None and found is not target):
                ed.fail(NotFoundError, f"couldn't find an <ip> element with address "
                        f"'{address}' in network {q(ed.n)}")
        before, before_xml = ed.try_read(M.IpDef, found), ed.text(found)
        version = IP.ip_version(found)
        path = ed.path(found)
        ed.guarded(self.kinds, lambda: ed.remove(found), [root])
        self.forget(ed, found)
        return ed.change(self.section, path, before=before, before_xml=before_xml,
                         ip_version=version)

    def revalidate(self, ed: Edit, element) -> None:
        self.parse(ed, element)
