"""The handlers of ``<forward>`` and its children: the ``forward`` section, forward interfaces
(``<forward dev>`` kept in step with the first one, as libvirt writes it) and ``<pf>``.

This module does no I/O.
"""

from __future__ import annotations

from netupdate import sections as S
from netupdate.edit.context import Change, Edit, check_fragment, q
from netupdate.edit.handlers.base import Handler, SingletonHandler
from netupdate.edit.placement import first_child
from netupdate.errors import DuplicateError, InvalidOperationError, NotFoundError
from netupdate.model import defs as M
from netupdate.model import values as T
from netupdate.sections import forward as FORWARD
from netupdate.sections import forward_interface as FORWARD_INTERFACE
from netupdate.sections import forward_pf as FORWARD_PF
from netupdate.sections._spec import mode_of


# ---------------------------------------------------------------------- forward interfaces
def _sync_forward_dev(forward) -> None:
    """libvirt writes ``<forward dev>`` as the first interface (none: no ``dev``)."""
    if first_child(forward, "pf") is not None or first_child(forward, "address") is not None:
        return
    first = first_child(forward, "interface")
    dev = first.get("dev") if first is not None else None
    if dev is None:
        if "dev" in forward.attrib:
            del forward.attrib["dev"]
    elif forward.get("dev") != dev:
        forward.set("dev", dev)


class _InForward(Handler):
    """Handlers of the children of ``<forward>`` (interfaces, pf)."""

    def scope(self, ed: Edit):
        return first_child(ed.root, "forward")

    def scope_of(self, ed: Edit, element):
        return element if element.tag == "forward" and element.getparent() is ed.root else None


class ForwardInterfaceHandler(_InForward):
    section = S.BY_NAME["forward-interface"]

    def parse(self, ed: Edit, element):
        ed.expect_tag(element, "interface")
        check_fragment(ed, "forward-interface", element)
        dev = element.get("dev")
        if element is ed.frag and "connections" in element.attrib:
            # a usage count kept by the running daemon: libvirt ignores it in updates
            del element.attrib["connections"]
        return dev, ed.read(M.ForwardInterface, element)

    @staticmethod
    def find(forward, dev, exclude=None):
        if forward is None:
            return None
        for element in forward.iterchildren("interface"):
            if element is not exclude and element.get("dev") == dev:
                return element
        return None

    def not_found(self, ed: Edit, dev, where=None) -> None:
        ed.fail(NotFoundError, FORWARD_INTERFACE.not_found(ed.n, dev), where)

    def refuse_duplicate(self, ed: Edit, dev, existing) -> None:
        ed.fail(DuplicateError, FORWARD_INTERFACE.duplicate(ed.n, dev), existing)

    def add(self, ed: Edit, forward) -> Change:
        frag = ed.frag
        dev, new = self.parse(ed, frag)
        if forward is None:
            ed.fail(InvalidOperationError, f"network {q(ed.n)} has no <forward> element: an "
                    "isolated network has no forward interfaces (add a <forward> first)")
        existing = self.find(forward, dev)
        if existing is not None:
            self.refuse_duplicate(ed, dev, existing)
        mode = mode_of(forward)
        count = sum(1 for _ in forward.iterchildren("interface"))
        if mode in T.L3_MODES and count + (1 if count == 0 and forward.get("dev") else 0) >= 1:
            ed.fail(InvalidOperationError, FORWARD.multiple_interfaces(ed.n), forward)
        if mode == T.ForwardMode.OPEN:
            ed.fail(InvalidOperationError, FORWARD.dev_not_allowed(ed.n, mode), forward)
        bridge = first_child(ed.root, "bridge")
        if mode == T.ForwardMode.BRIDGE and bridge is not None and bridge.get("name"):
            ed.fail(InvalidOperationError, FORWARD.name_and_dev(ed.n, mode), bridge)
        ed.insert_ordered(forward, frag)
        _sync_forward_dev(forward)
        return ed.change(self.section, ed.path(frag), after=new, after_xml=ed.text(frag))

    def modify(self, ed: Edit, forward, target) -> Change:
        frag = ed.frag
        dev, new = self.parse(ed, frag)
        if target is None:
            target = self.find(forward, dev)
            if target is None:
                self.not_found(ed, dev, forward)
        else:
            existing = self.find(forward, dev, exclude=target)
            if existing is not None:
                self.refuse_duplicate(ed, dev, existing)
        before, before_xml = ed.try_read(M.ForwardInterface, target), ed.text(target)
        ed.replace(target, frag)
        _sync_forward_dev(forward)
        return ed.change(self.section, ed.path(frag), before=before, after=new,
                         before_xml=before_xml, after_xml=ed.text(frag))

    def delete(self, ed: Edit, forward, target) -> Change:
        frag = ed.frag
        dev = self.parse(ed, frag)[0] if frag is not None else None
        found = target if target is not None else self.find(forward, dev)
        if found is None or (dev is not None and found.get("dev") != dev):
            self.not_found(ed, dev, forward)
        dev = found.get("dev")
        used = FORWARD_INTERFACE.connections(found)
        if used > 0:
            ed.fail(InvalidOperationError, FORWARD_INTERFACE.in_use(ed.n, dev, used), found)
        before, before_xml = ed.try_read(M.ForwardInterface, found), ed.text(found)
        path = ed.path(found)
        ed.remove(found)
        _sync_forward_dev(forward)
        return ed.change(self.section, path, before=before, before_xml=before_xml)

    def revalidate(self, ed: Edit, element) -> None:
        dev, _ = self.parse(ed, element)
        existing = self.find(element.getparent(), dev, exclude=element)
        if existing is not None:
            self.refuse_duplicate(ed, dev, existing)


class ForwardHandler(SingletonHandler):
    def read_new(self, ed: Edit, frag):
        ed.expect_tag(frag, self.tag)
        check_fragment(ed, "forward", frag)   # libvirt's words for a mode before the typed read's
        return super().read_new(ed, frag)

    def delete(self, ed: Edit, root, target) -> Change:
        found = target if target is not None else first_child(root, "forward")
        if found is not None:
            for interface in found.iterchildren("interface"):
                used = FORWARD_INTERFACE.connections(interface)
                if used:
                    ed.fail(InvalidOperationError,
                            FORWARD.in_use(ed.n, interface.get("dev"), used), interface)
        return super().delete(ed, root, target)


class PfHandler(_InForward):
    section = S.BY_NAME["forward-pf"]
    kinds = FORWARD_PF.RECHECK

    def parse(self, ed: Edit, element):
        ed.expect_tag(element, "pf")
        check_fragment(ed, "forward-pf", element)
        return ed.read_strict(M.ForwardPf, element)

    def need_forward(self, ed: Edit, forward, command: str) -> None:
        if forward is None:
            cls = InvalidOperationError if command == "add" else NotFoundError
            ed.fail(cls, f"network {q(ed.n)} has no <forward> element")

    def add(self, ed: Edit, forward) -> Change:
        frag = ed.frag
        new = self.parse(ed, frag)
        self.need_forward(ed, forward, "add")
        existing = first_child(forward, "pf")
        if existing is not None:
            ed.fail(DuplicateError, FORWARD_PF.only_one(ed.n), existing)
        ed.guarded(self.kinds, lambda: ed.insert_ordered(forward, frag), [forward])
        return ed.change(self.section, ed.path(frag), after=new, after_xml=ed.text(frag))

    def modify(self, ed: Edit, forward, target) -> Change:
        frag = ed.frag
        new = self.parse(ed, frag)
        self.need_forward(ed, forward, "modify")
        target = target if target is not None else first_child(forward, "pf")
        if target is None:
            ed.fail(NotFoundError, f"network {q(ed.n)} has no <pf> element to modify", forward)
        before, before_xml = ed.try_read(M.ForwardPf, target), ed.text(target)
        ed.guarded(self.kinds, lambda: ed.replace(target, frag), [forward])
        return ed.change(self.section, ed.path(frag), before=before, after=new,
                         before_xml=before_xml, after_xml=ed.text(frag))

    def delete(self, ed: Edit, forward, target) -> Change:
        frag = ed.frag
        dev = self.parse(ed, frag).dev if frag is not None else None
        self.need_forward(ed, forward, "delete")
        found = target if target is not None else first_child(forward, "pf")
        if found is None or (dev is not None and found.get("dev") != dev):
            ed.fail(NotFoundError, f"couldn't find a <pf> element in network {q(ed.n)}"
                    + (f" matching <pf dev='{dev}'/>" if dev else ""), forward)
        before, before_xml = ed.try_read(M.ForwardPf, found), ed.text(found)
        path = ed.path(found)
        ed.guarded(self.kinds, lambda: ed.remove(found), [forward])
        return ed.change(self.section, path, before=before, before_xml=before_xml)

    def revalidate(self, ed: Edit, element) -> None:
        self.parse(ed, element)
