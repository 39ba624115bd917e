"""The edit context: the state of one update call (``Edit``) with its undo journal, the error
and message helpers every handler uses, the checks the handlers share (``strict``, ``refuse``,
``check_fragment``), the structural rules a guarded edit re-checks, and ``Change``, what an
update returns.

This module does no I/O.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Mapping

from lxml import etree

from netupdate import sections as S
from netupdate.document.source import Document, element_path
from netupdate.edit.placement import first_child, ordered_index
from netupdate.errors import (
    DuplicateError,
    InvalidFragmentError,
    InvalidOperationError,
    ModelError,
    UpdateError,
)
from netupdate.model import defs as M
from netupdate.model import values as T
from netupdate.model.record import Frozen, record
from netupdate.sections import ip as IP
from netupdate.sections._spec import forward_mode


# ====================================================================== what an update returns
@record   # a frozen dataclass without generated code (start-up time)
class Change(Frozen):
    """What one update changed.

    ``section`` is the section of the touched element (for a nodeSpec edit, the section the
    element belongs to: ``<tftp>`` -> ``ip``, ``<mtu>`` -> ``network``).  ``path`` is the XPath of
    the touched element (before a delete, after an add).  ``before`` / ``after`` are the typed
    definitions of the element the section addresses (a ``DhcpHost``, an ``IpDef``, ...; the
    ``NetworkDef`` for ``network``), None when that element itself was added or deleted.
    ``before_xml`` / ``after_xml`` are the text of the touched element.
    """

    network: str | None
    command: str
    section: str
    path: str
    before: M.Def | None = None
    after: M.Def | None = None
    before_xml: str | None = None
    after_xml: str | None = None
    context: Mapping[str, object] | None = None   # None: {} (a record takes no default_factory)

    def __post_init__(self) -> None:
        if self.context is None:
            self.__dict__["context"] = {}


# ====================================================================== message text
def short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def q(value) -> str:
    """A value quoted for an error line (at most 200 characters of it)."""
    value = str(value)
    return f"'{value}'" if len(value) <= 200 else f"'{value[:200]}...'"


# ====================================================================== undo journal
class _Journal:
    """Snapshots of the parents an edit changes, to put everything back on a refusal."""

    def __init__(self):
        self._saved: list = []

    def save(self, parent) -> None:
        self._saved.append((parent, parent.text, [(c, c.tail) for c in parent],
                            list(parent.attrib.items())))

    def rollback(self) -> None:
        for parent, text, children, attrib in reversed(self._saved):
            for child in list(parent):
                parent.remove(child)
            parent.text = text
            for child, tail in children:
                parent.append(child)
                child.tail = tail
            if list(parent.attrib.items()) != attrib:
                parent.attrib.clear()
                for key, value in attrib:
                    parent.set(key, value)
        self._saved.clear()


# ====================================================================== the edit context
class Edit:
    """State of one update call: the document, the command, the fragment, error helpers."""

    def __init__(self, network: M.Network, command: str, parent_index: int):
        self.network = network
        self.doc: Document = network.source
        self.root = network.root
        self.command = command
        self.parent_index = parent_index
        self.frag: etree._Element | None = None
        self.name = network.name
        self.journal = _Journal()
        self.node_spec: str | None = None
        self.expected_section: S.Section | None = None
        self.dns_index_kept = False
        self._ip_defs: dict = {}
        self.forward_mode_before = forward_mode(self.root)
        self.dhcp_before = self._dhcp_state()
        self.ipv6_before = self._has_ipv6()

    # -------------------------------------------------------------- naming
    @property
    def n(self) -> str:
        """The network name as messages print it (quoted by the caller where libvirt does)."""
        return self.name if self.name is not None else "(unnamed)"

    @property
    def first(self) -> bool:
        return self.command == "add-first"

    def fail(self, cls: type[UpdateError], message: str, element=None):
        """Refuse the update, placed at ``element`` of the network (its line when the file
        has it); a refusal of a value of the fragment names no place in the file."""
        if element is None or not self.within(element):
            raise cls(message)
        raise cls(message, file=self.network.filename, line=self.doc.line_of(element),
                  path=self.path(element))

    def within(self, element) -> bool:
        """Whether ``element`` is part of the network (not of a fragment not yet added)."""
        return element.getroottree().getroot() is self.network.root

    def path(self, element) -> str:
        """XPath of an element; positions of DHCP hosts come from the host index, that of the
        last DNS host from the DNS one (numbering siblings walks them all)."""
        parent = element.getparent()
        if element.tag == "host" and parent is not None and parent.tag == "dhcp":
            index = self.network._indexes.get(("dhcp-hosts", parent))
            if index is not None and element in index.order:
                step = "host" if index.count == 1 else f"host[{index.position(element)}]"
                return f"{element_path(parent)}/{step}"
        if element.tag == "host" and parent is not None and parent.tag == "dns":
            index = self.network._indexes.get(("dns-hosts", parent))
            found = index.last_path(element, element_path(parent)) if index else None
            if found is not None:
                return found
        return element_path(element)

    # -------------------------------------------------------------- reading
    def read(self, cls: type, element, what: str | None = None):
        """Typed definition of ``element``; a value that cannot be read refuses the update,
        placed where the network's file has it (an element of the update's fragment has no
        place in that file: the message names it)."""
        try:
            return cls.from_element(element, filename=self.network.filename)
        except ModelError as exc:
            where = f"<{element.tag}>" if what is None else what
            place = {} if not self.within(element) else {
                "file": exc.file, "path": exc.path,   # a line the file has, not the fragment's
                "line": exc.line if self.doc.line_of(element) is not None else None}
            raise InvalidFragmentError(f"invalid {where} in network {q(self.n)}: {exc.message}",
                                       **place) from None

    def read_strict(self, cls: type, element):
        value = self.read(cls, element)
        strict(self, value, element.tag)
        return value

    def ip_def(self, ip_el) -> M.IpDef:
        """Address, prefix and family of an ``<ip>`` (its children are not read)."""
        cached = self._ip_defs.get(ip_el)
        if cached is None:
            shallow = etree.Element("ip", dict(ip_el.attrib))
            try:
                cached = M.IpDef.from_element(shallow)
            except ModelError as exc:
                self.fail(InvalidOperationError,
                          f"the <ip> element is invalid in network {q(self.n)}: {exc.message}",
                          ip_el)
            self._ip_defs[ip_el] = cached
        return cached

    def expect_tag(self, frag, tag: str) -> None:
        if frag.tag != tag:
            shown = frag.tag if isinstance(frag.tag, str) else "?"
            self.fail(InvalidFragmentError, f"unexpected element <{shown}>, expecting <{tag}>, "
                      f"while updating network {q(self.n)}")

    def text(self, element) -> str:
        return self.doc.render(element)

    def key_text(self) -> str:
        """The fragment, compact, to name the key in a message."""
        if self.frag is None:
            return ""
        text = etree.tostring(self.frag, encoding="unicode", with_tail=False).replace('"', "'")
        return short(re.sub(r">\s+<", "><", text), 120)

    # -------------------------------------------------------------- editing
    def insert(self, parent, index, element) -> None:
        self.doc.insert(parent, index, element)

    def insert_ordered(self, parent, element, first: bool | None = None) -> None:
        first = self.first if first is None else first
        self.doc.insert(parent, ordered_index(parent, element.tag, first), element)

    def remove(self, element) -> None:
        parent = element.getparent()
        self.doc.remove(element)
        if parent is not None and parent.text is None \
                and next(parent.iterchildren(), None) is None:
            # keep libvirt's "<ip ...>\n  </ip>" rather than collapsing to "<ip .../>"
            parent.text = self.doc.newline + self.doc.indent_of(parent)

    def replace(self, old, new) -> None:
        self.doc.replace(old, new)

    def drop_if_empty(self, element, *, keep_attributes: bool = False) -> bool:
        """Remove a container left without child elements (and attributes, if asked)."""
        if next(element.iterchildren(tag=etree.Element), None) is not None:
            return False
        if keep_attributes and len(element.attrib):
            return False
        self.remove(element)
        return True

    # -------------------------------------------------------------- state for the Change
    def _dhcp_state(self) -> dict[int, bool]:
        state = {4: False, 6: False}
        for ip_el in self.root.iterchildren("ip"):
            if not state[IP.ip_version(ip_el)] and IP.dhcp_active(ip_el):
                state[IP.ip_version(ip_el)] = True
        return state

    def _has_ipv6(self) -> bool:
        return any(IP.ip_version(ip_el) == 6 for ip_el in self.root.iterchildren("ip"))

    def change(self, section: S.Section, path: str, *, before=None, after=None,
               before_xml: str | None = None, after_xml: str | None = None,
               ip_version: int | None = None, **extra) -> Change:
        after_state = self._dhcp_state()
        if ip_version in (4, 6):
            active_before, active_after = self.dhcp_before[ip_version], after_state[ip_version]
        else:
            active_before = any(self.dhcp_before.values())
            active_after = any(after_state.values())
        context = {
            "ip_version": ip_version if section.name in ("ip-dhcp-host", "ip-dhcp-range")
            else None,
            "dhcp_active_before": active_before,
            "dhcp_active_after": active_after,
            "forward_mode": forward_mode(self.root),
            "forward_mode_before": self.forward_mode_before,
            "ipv6_before": self.ipv6_before,
            "ipv6_after": self._has_ipv6(),
            "node_spec": self.node_spec,
            **extra,
        }
        return Change(network=self.name, command=self.command, section=section.name, path=path,
                      before=before, after=after, before_xml=before_xml, after_xml=after_xml,
                      context=context)

    def done(self) -> None:
        """Forget the typed definitions, keep the (maintained) indexes."""
        network = self.network
        indexes = {key: index for key, index in network._indexes.items()
                   if key[0] != "dns-hosts" or self.dns_index_kept}
        network.touched()
        network._indexes.update(indexes)

    # -------------------------------------------------------------- checked mutation
    def checked(self, mutate: Callable[[], None], check: Callable[[], None],
                *parents) -> None:
        """Run ``mutate`` (which changes the children or attributes of ``parents`` only), then
        ``check``; if the check refuses, put everything back and re-raise."""
        for parent in parents:
            self.journal.save(parent)
        self.doc.touch(*parents)
        try:
            mutate()
            check()
        except BaseException:
            self.journal.rollback()
            raise
        self.journal = _Journal()

    def claim(self, section: S.Section) -> None:
        """Refuse a nodeSpec edit whose element is not in the section the caller named."""
        wanted = self.expected_section
        if wanted is not None and wanted.name != section.name:
            raise InvalidOperationError(
                f"node spec {self.node_spec!r} addresses section '{section.name}', "
                f"not '{wanted.name}' (network {q(self.n)})")

    def guarded(self, kinds: tuple[str, ...], mutate: Callable[[], None], parents,
                check: Callable[[], None] | None = None) -> None:
        """Edit, then refuse (and undo) if the result has problems of ``kinds`` it did not
        have before (problems the document already had do not block an unrelated edit)."""
        before = {message for _, message, _ in _issues(self, kinds)}

        def verify():
            if check is not None:
                check()
            for cls, message, element in _issues(self, kinds):
                if message not in before:
                    self.fail(cls, message, element)
        self.checked(mutate, verify, *parents)

    def try_read(self, cls: type, element):
        try:
            return cls.from_element(element, filename=self.network.filename)
        except ModelError:
            return None


def strict(ed: Edit, value, tag: str) -> None:
    """Refuse what the lenient model keeps: an enum or yes/no attribute with another value
    (libvirt's parser refuses those), and a bandwidth rate without average or floor."""
    if not isinstance(value, M.Def):
        return
    for f in M.fields_of(type(value)):
        meta, current = f.metadata, getattr(value, f.name)
        kind = meta["kind"]
        if kind == "attr" and isinstance(current, str) and not isinstance(current, enum.Enum):
            convert = meta["convert"]
            if isinstance(value, M.DnsSrv) and f.name == "protocol":
                continue   # libvirt accepts any protocol token (see docs/update.md)
            choices = ([c.value for c in convert.enum] if hasattr(convert, "enum")
                       else list(getattr(convert, "choices", ())))
            if choices:
                ed.fail(InvalidFragmentError, f"invalid value '{current}' for attribute "
                        f"'{meta['xml']}' of <{value.TAG or tag}> in network {q(ed.n)} "
                        f"(expected {' or '.join(choices)})")
        elif kind == "child" and current is not None:
            if isinstance(current, M.BandwidthRate) and current.average is None \
                    and current.floor is None:
                ed.fail(InvalidFragmentError, f"Missing mandatory average or floor attributes "
                        f"in <{meta['xml']}> of network {q(ed.n)}")
            strict(ed, current, meta["xml"])
        elif kind == "children" and meta["cls"] is not None:
            for item in current:
                strict(ed, item, meta["xml"])


def refuse(ed: Edit, findings) -> None:
    """Raise the first finding the update engine refuses (a section's fragment check)."""
    for found in findings:
        if found.message is not None:
            ed.fail(found.error, found.message)


def check_fragment(ed: Edit, section: str, element, *args) -> None:
    """The section module's checks of a fragment on its own (``check_fragment``)."""
    refuse(ed, S.hook(section, "check_fragment")(element, ed.n, *args))


def check_own(ed: Edit, section: S.Section, element) -> None:
    """``check_fragment`` of a section that may have none (a singleton's new element)."""
    if S.hook(section, "check_fragment") is not None:
        check_fragment(ed, section.name, element)


# ====================================================================== structural rules
def _issues(ed: Edit, kinds: tuple[str, ...]) -> list[tuple[type, str, object]]:
    """Problems a define would report, for the parts named by ``kinds``: the sections' rules
    (``sections.rules_in``) and, for sections not moved to their module yet, ``_RULES``."""
    out: list[tuple[type, str, object]] = []
    for kind in kinds:
        legacy = _RULES.get(kind)
        if legacy is not None:
            legacy(ed, out)
        for rule in S.rules_in(kind):
            for found in rule.check(ed):
                if found.message is not None:
                    target = found.target
                    element = target[0] if isinstance(target, tuple) else target
                    out.append((found.error, found.message, element))
    return out


def _readable(convert: Callable, text: str) -> bool:
    try:
        convert(text)
    except ValueError:
        return False
    return True


def _rules_network(ed: Edit, out: list) -> None:
    root, n = ed.root, q(ed.n)
    mac = first_child(root, "mac")
    if mac is not None and mac.get("address") and not _readable(T.MAC, mac.get("address")):
        out.append((InvalidFragmentError, f"invalid MAC address '{mac.get('address')}' in "
                    f"network {n}", mac))
    for tag, limit in S.CHILDREN["network"].items():
        if limit == S.ONE:
            found = list(root.iterchildren(tag))
            if len(found) > 1:
                out.append((DuplicateError, f"network {n} has more than one <{tag}> element",
                            found[1]))


def _singleton_rules(tag: str) -> Callable[[Edit, list], None]:
    """The rules of a singleton element (``<bridge>``, ``<domain>``): what its handler checks
    of a new element (``check_own``)."""
    section = S.BY_NAME[tag]

    def rules(ed: Edit, out: list) -> None:
        element = first_child(ed.root, tag)
        if element is not None:
            try:
                check_own(ed, section, element)
            except UpdateError as exc:
                out.append((type(exc), exc.message, element))
    return rules


_rules_bridge = _singleton_rules("bridge")
_rules_domain = _singleton_rules("domain")


def _rules_ip(ed: Edit, out: list) -> None:
    """NU-E105's family part (``ip.host_families``), until ip-dhcp-host has its module."""
    for found in IP.host_families(ed):
        out.append((found.error, found.message, found.target))


_RULES: Mapping[str, Callable] = {
    "network": _rules_network, "bridge": _rules_bridge,
    "domain": _rules_domain, "ip": _rules_ip,
}
