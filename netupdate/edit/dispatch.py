"""Which handler an edit goes to (``HANDLERS``, by section name), and the generic edit of
elements no section addresses directly (a nodeSpec edit of ``<tftp>``, ``<mtu>``, ...; the
``network`` pseudo section's children): placed by libvirt's element order, then checked in
their section.

This module does no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping

from netupdate import sections as S
from netupdate.document.source import element_path
from netupdate.edit.context import Change, Edit, q, short
from netupdate.edit.handlers.base import Handler, SingletonHandler
from netupdate.edit.handlers.dhcp import DhcpHostHandler, DhcpRangeHandler
from netupdate.edit.handlers.dns import DnsHostHandler, DnsSrvHandler, DnsTxtHandler
from netupdate.edit.handlers.forward import ForwardHandler, ForwardInterfaceHandler, PfHandler
from netupdate.edit.handlers.ip import IpHandler
from netupdate.edit.handlers.portgroup import PortgroupHandler
from netupdate.edit.placement import first_child
from netupdate.errors import (
    AmbiguousError,
    DuplicateError,
    InvalidFragmentError,
    NotFoundError,
    UnsupportedError,
    UpdateError,
)
from netupdate.model import defs as M
from netupdate.sections import dns as DNS
from netupdate.sections import ip as IP

# ---------------------------------------------------------------------- the generic edit
# the rule scopes an edit re-checks: sections' RECHECK (modules), else this table (not moved yet)
KINDS = {
    "ip-dhcp-host": (),
    **{name: module.RECHECK for name, module in S.MODULES.items()},
}


def _typed_check(ed: Edit, element) -> None:
    """Read the touched element into its typed form (or, for an element without a definition
    class of its own such as <mtu>, the fields of its parent's definition that live in it)."""
    context = S.context_of(element)
    cls = S.DEFS.get(context)
    if cls is not None:
        ed.read_strict(cls, element)
        return
    parent = element.getparent()
    parent_cls = S.DEFS.get(S.context_of(parent)) if parent is not None else None
    if parent_cls is None:
        return
    problems = []
    for f in M.fields_of(parent_cls):
        meta = f.metadata
        if meta["kind"] not in ("attr", "text") or meta.get("child") != element.tag:
            continue
        if meta["kind"] == "attr":
            raw = element.get(meta["xml"])
            what = f"attribute '{meta['xml']}'"
        else:
            raw = "".join(element.itertext()) if element.text is not None or len(element) \
                else None
            what = "text"
        if raw is None:
            continue
        try:
            meta["convert"](raw)
        except ValueError as exc:
            problems.append(f"{what}: {exc}")
    if problems:
        ed.fail(InvalidFragmentError, f"invalid <{element.tag}> in network {q(ed.n)}: "
                f"{problems[0]}", element)


class _GenericEdit:
    """Edits of elements no section addresses directly (nodeSpec form, and the ``network``
    section form): placed by libvirt's element order, then checked in their section."""

    @staticmethod
    def section_state(ed: Edit, element):
        section, section_el = S.section_of(element)
        if section.name == "network" and ed.network._defs is not None:
            before = ed.network._defs
        else:
            before = ed.try_read(section.def_cls, section_el)
        return section, section_el, before

    @staticmethod
    def check(ed: Edit, section: S.Section, section_el, touched, before_def):
        """The check run after the edit (section checks only if they passed before it)."""
        handler = HANDLERS[section.name]
        try:
            handler.revalidate(ed, section_el)
            passed_before = True
        except UpdateError:
            passed_before = False

        def verify():
            if touched is not None:
                _typed_check(ed, touched)
            if before_def is not None and section.name != "network":
                ed.read(section.def_cls, section_el)
            if passed_before:
                handler.revalidate(ed, section_el)
        return verify

    @staticmethod
    def after(ed: Edit, section: S.Section, section_el):
        return ed.try_read(section.def_cls, section_el)

    def add(self, ed: Edit, parent) -> Change:
        frag = ed.frag
        tag = frag.tag
        allowed = allowed_here(ed, parent, frag)
        if allowed is None and not tag.startswith("{"):
            ed.fail(InvalidFragmentError, f"elements in <{tag_text(parent)}> must be in an XML "
                    "namespace", parent)
        if allowed and allowed[tag] == S.ONE:
            existing = first_child(parent, tag)
            if existing is not None:
                ed.fail(DuplicateError, f"there is already a <{tag_text(frag)}> element in "
                        f"{ed.path(parent)} of network {q(ed.n)}", existing)
        section, section_el, before = self.section_state(ed, parent)
        ed.claim(section)
        ed.guarded(KINDS[section.name], lambda: ed.insert_ordered(parent, frag), [parent],
                   self.check(ed, section, section_el, frag, before))
        return ed.change(section, ed.path(frag), before=before,
                         after=self.after(ed, section, section_el), after_xml=ed.text(frag),
                         **self.ip_context(section, section_el))

    def modify(self, ed: Edit, target) -> Change:
        frag = ed.frag
        if target is ed.root:
            ed.fail(UnsupportedError, "the <network> element itself cannot be replaced; edit "
                    "its children")
        if frag.tag != target.tag:
            ed.fail(InvalidFragmentError, f"unexpected element <{tag_text(frag)}>, expecting "
                    f"<{tag_text(target)}>, while updating network {q(ed.n)}")
        section, section_el, before = self.section_state(ed, target)
        ed.claim(section)
        before_xml, path = ed.text(target), ed.path(target)
        ed.guarded(KINDS[section.name], lambda: ed.replace(target, frag),
                   [target.getparent()], self.check(ed, section, section_el, frag, before))
        return ed.change(section, path, before=before,
                         after=self.after(ed, section, section_el), before_xml=before_xml,
                         after_xml=ed.text(frag), **self.ip_context(section, section_el))

    def delete(self, ed: Edit, target) -> Change:
        if target is ed.root:
            ed.fail(UnsupportedError, "the <network> element itself cannot be deleted")
        frag = ed.frag
        if frag is not None and (frag.tag != target.tag or any(
                target.get(k) != v for k, v in frag.attrib.items())):
            ed.fail(NotFoundError, f"{ed.path(target)} in network {q(ed.n)} does not match "
                    f"{short(ed.text(frag))}", target)
        section, section_el, before = self.section_state(ed, target)
        ed.claim(section)
        before_xml, path = ed.text(target), ed.path(target)
        ed.guarded(KINDS[section.name], lambda: ed.remove(target), [target.getparent()],
                   self.check(ed, section, section_el, None, before))
        return ed.change(section, path, before=before,
                         after=self.after(ed, section, section_el), before_xml=before_xml,
                         **self.ip_context(section, section_el))

    @staticmethod
    def ip_context(section: S.Section, section_el) -> dict:
        if section.name in ("ip-dhcp-host", "ip-dhcp-range"):
            ip_el = section_el.getparent().getparent()
            return {"ip_version": IP.ip_version(ip_el), "ip_path": element_path(ip_el)}
        if section.name == "ip":
            return {"ip_version": IP.ip_version(section_el), "ip_path": element_path(section_el)}
        return {}


GENERIC = _GenericEdit()


def tag_text(element) -> str:
    tag = element.tag
    if isinstance(tag, str) and tag.startswith("{"):
        uri, local = tag[1:].split("}", 1)
        prefix = next((p for p, u in (element.nsmap or {}).items() if u == uri and p), None)
        return f"{prefix}:{local}" if prefix else local
    return tag


def allowed_here(ed: Edit, parent, frag) -> dict | None:
    """The children ``parent`` takes (None: any, in a namespace); refuses ``frag`` when its
    element is not one of them."""
    allowed = S.allowed_children(parent)
    if allowed is not None and frag.tag not in allowed:
        ed.fail(InvalidFragmentError, f"<{tag_text(frag)}> is not allowed in "
                f"<{tag_text(parent)}> (network {q(ed.n)})", parent)
    return allowed


def identify_child(ed: Edit, parent, frag):
    """The one child of ``parent`` that ``frag`` designates (by tag, then by key)."""
    tag = frag.tag
    allowed = allowed_here(ed, parent, frag)
    shown = tag_text(frag)
    children = list(parent.iterchildren(tag))
    if not children:
        ed.fail(NotFoundError, f"there is no <{shown}> element in {ed.path(parent)} of network "
                f"{q(ed.n)}", parent)
    if allowed and allowed.get(tag) == S.ONE:
        return children[0]
    cls = S.DEFS.get(S.child_context(parent, tag))
    if cls is not None and cls.KEY:
        wanted = ed.read(cls, frag)
        keys = [k for k in cls.KEY if getattr(wanted, k) not in (None, ())]
        found = []
        for child in children:
            current = ed.try_read(cls, child)
            if current is not None and all(getattr(current, k) == getattr(wanted, k)
                                           for k in keys):
                found.append(child)
    else:
        text = "".join(frag.itertext()).strip()
        found = [c for c in children
                 if all(c.get(k) == v for k, v in frag.attrib.items())
                 and (not text or "".join(c.itertext()).strip() == text)]
    if not found:
        ed.fail(NotFoundError, f"no <{shown}> element in {ed.path(parent)} of network "
                f"{q(ed.n)} matches {short(ed.text(frag))}", parent)
    if len(found) > 1:
        ed.fail(AmbiguousError, f"{len(found)} <{shown}> elements in {ed.path(parent)} of "
                f"network {q(ed.n)} match {short(ed.text(frag))}: "
                + ", ".join(ed.path(c) for c in found), parent)
    return found[0]


class _NetworkHandler(Handler):
    """The ``network`` pseudo section in section form: the fragment names a child of
    <network> (``<mtu>``, ``<mac>``, ``<route>``, ...); children with a section of their own
    are handed to it."""

    section = S.BY_NAME["network"]

    def section_form(self, ed: Edit) -> Change:
        frag = ed.frag
        own = S.section_for_child(ed.root, frag.tag)
        if own is not None:
            return HANDLERS[own.name].section_form(ed)
        if ed.command in ("add-first", "add-last"):
            return GENERIC.add(ed, ed.root)
        target = identify_child(ed, ed.root, frag)
        if ed.command == "modify":
            return GENERIC.modify(ed, target)
        return GENERIC.delete(ed, target)

    def revalidate(self, ed: Edit, element) -> None:
        pass


# ====================================================================== registry
HANDLERS: Mapping[str, Handler] = {
    "bridge": SingletonHandler("bridge", S.hook("bridge", "RECHECK")),
    "domain": SingletonHandler("domain", S.hook("domain", "RECHECK")),
    "ip": IpHandler(),
    "ip-dhcp-host": DhcpHostHandler(),
    "ip-dhcp-range": DhcpRangeHandler(),
    "forward": ForwardHandler("forward", S.hook("forward", "RECHECK")),
    "forward-interface": ForwardInterfaceHandler(),
    "forward-pf": PfHandler(),
    "portgroup": PortgroupHandler(),
    "dns-host": DnsHostHandler(),
    "dns-txt": DnsTxtHandler(),
    "dns-srv": DnsSrvHandler(),
    "dns": SingletonHandler("dns", DNS.RECHECK),
    "network": _NetworkHandler(),
}
