"""The update engine: change one node of a network definition, the way ``virsh net-update`` does.

An update is addressed either by *section* (libvirt's names and codes, see ``netupdate.sections``)
plus ``parent_index`` (which ``<ip>`` for DHCP hosts and ranges), or by an XPath *nodeSpec* that
selects one element of the document.  The XML fragment is the element to add, the replacement
for ``modify``, or the pattern that identifies what to ``delete``.

For the sections and commands libvirt implements, matching keys, duplicate rules, parent selection
and refusals are libvirt's (9.0, plus the DNS ``modify`` of newer releases).  Where libvirt is
silent or wrong we do better; each difference is listed, with the reason, in ``docs/update.md``.

Every edit is checked before the tree is touched, and edits whose checks can only run on the
result are undone when the checks fail: a refused update leaves the document byte-identical.  Only
the touched element is re-read into typed definitions; DHCP hosts are found through per-``<dhcp>``
indexes, so an update costs the same with ten hosts or ten thousand.

This module does no I/O.
"""

from __future__ import annotations

import bisect
import copy
import enum
import functools
import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from lxml import etree

from netupdate import sections as S
from netupdate.document.source import Document, decode, element_path, parse_element
from netupdate.errors import (
    AmbiguousError,
    DuplicateError,
    InvalidFragmentError,
    InvalidOperationError,
    ModelError,
    NotFoundError,
    UnsupportedError,
    UpdateError,
    XMLParseError,
)
from netupdate.model import defs as M
from netupdate.model import text as TC
from netupdate.model import values as T
from netupdate.sections import dns as DNS
from netupdate.sections import dns_host as DNS_HOST
from netupdate.sections import dns_srv as DNS_SRV
from netupdate.sections import forward as FORWARD
from netupdate.sections import forward_interface as FORWARD_INTERFACE
from netupdate.sections import forward_pf as FORWARD_PF
from netupdate.sections import ip as IP
from netupdate.sections import ip_dhcp_host as HOST
from netupdate.sections import ip_dhcp_range as DHCP_RANGE
from netupdate.sections import portgroup as PORTGROUP
from netupdate.sections._spec import forward_mode, mode_of

__all__ = ["COMMANDS", "Change", "EditableNetwork", "apply_update", "load", "normalize_command",
           "update_xml"]

COMMANDS = tuple(T.Command)
COMMAND_CODES = T.COMMAND_CODES

_XPATH_FUNCTIONS = frozenset({
    "last", "position", "count", "id", "local-name", "namespace-uri", "name", "string", "concat",
    "starts-with", "contains", "substring-before", "substring-after", "substring",
    "string-length", "normalize-space", "translate", "boolean", "not", "true", "false", "lang",
    "number", "sum", "floor", "ceiling", "round"})
_XPATH_NODE_TYPES = frozenset({"comment", "text", "processing-instruction", "node"})
_XPATH_NAMESPACES = {"dnsmasq": M.DNSMASQ_NS}
_XPATH_MAX = 4096


# ====================================================================== public API
@dataclass(frozen=True)
class Change:
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
    context: Mapping[str, object] = field(default_factory=dict)


class EditableNetwork(M.Network):
    """A network document that edits itself: what the public ``netupdate.load`` returns.

    The model's ``Network`` knows nothing of editing; this edit-layer subclass adds ``update``.
    The plan of a change is ``netupdate.plan_change(change)``.
    """

    def update(self, command, section=None, xml=None, *, parent_index: int = -1,
               node_spec: str | None = None) -> Change:
        """Edit the document in place and return the ``Change`` (``apply_update``)."""
        return apply_update(self, command, section, xml, parent_index=parent_index,
                            node_spec=node_spec)


def load(source, *, filename: str | None = None, check: bool = True) -> EditableNetwork:
    """``model.load`` giving an ``EditableNetwork`` (the public ``netupdate.load``)."""
    return EditableNetwork.from_source(source, filename=filename, check=check)


def update_xml(network_xml, command, section, xml, parent_index: int = -1,
               node_spec: str | None = None) -> str:
    """One-shot update: network XML text (or bytes) in, edited XML text out."""
    if isinstance(network_xml, bytes | bytearray):
        text, encoding, bom = decode(bytes(network_xml))
    else:
        text, encoding, bom = str(network_xml), "utf-8", b""
    network = M.Network(Document(text, encoding=encoding, bom=bom))
    apply_update(network, command, section, xml, parent_index=parent_index, node_spec=node_spec)
    return network.to_xml()


# a name, an alias (``add`` = ``add-last``) or libvirt's code -> a ``types.Command``
normalize_command = T.Command.of


def apply_update(network: M.Network, command, section=None, xml=None, *,
                 parent_index: int = -1, node_spec: str | None = None) -> Change:
    """Edit ``network`` in place and return the ``Change``; see the module docstring."""
    command = normalize_command(command)
    wanted = S.get(section) if section is not None else None
    if parent_index is None:
        parent_index = -1
    if not isinstance(parent_index, int) or isinstance(parent_index, bool):
        raise UnsupportedError(f"parent index must be an integer, not {parent_index!r}")
    ed = _Edit(network, command, parent_index)
    if node_spec is None and wanted is None:
        raise UnsupportedError("an update needs a section or a node spec")
    if xml is None and not (command == "delete" and (
            node_spec is not None or (wanted is not None and not wanted.repeated
                                      and wanted.name != "network"))):
        raise InvalidFragmentError("an XML fragment is required"
                                   + ("" if node_spec is None else
                                      f" to {command} through a node spec"))
    ed.frag = _parse_fragment(xml) if xml is not None else None
    if node_spec is not None:
        if parent_index >= 0:
            raise UnsupportedError("a node spec selects the element itself: "
                                   "parent index and node spec cannot be combined")
        ed.expected_section = wanted
        change = _run_node_spec(ed, node_spec)
    else:
        change = _HANDLERS[wanted.name].section_form(ed)
    ed.done()
    return change


# ====================================================================== fragments
_DECLARATION = re.compile(r"^\s*<\?xml\b[^>]*\?>", re.S)


def _parse_fragment(xml) -> etree._Element:
    if isinstance(xml, etree._Element):
        if not isinstance(xml.tag, str):
            raise InvalidFragmentError("the XML fragment must be an element")
        element = copy.deepcopy(xml)
        element.tail = None
        return element
    if isinstance(xml, bytes | bytearray):
        try:
            text, _, _ = decode(bytes(xml))
        except XMLParseError as exc:
            raise InvalidFragmentError(f"invalid XML fragment: {exc.message}") from None
    elif isinstance(xml, str):
        text = xml
    else:
        raise InvalidFragmentError(f"the XML fragment must be text, not {type(xml).__name__}")
    text = text.lstrip("\ufeff")
    text = _DECLARATION.sub("", text, count=1).strip()
    if not text:
        raise InvalidFragmentError("the XML fragment is empty")
    if not text.startswith("<"):
        raise InvalidFragmentError(f"the XML fragment must start with '<': {_short(text)!r}")
    try:
        element = parse_element(text, filename="XML fragment")
    except XMLParseError as exc:
        where = f" (line {exc.line})" if exc.line and exc.line > 1 else ""
        raise InvalidFragmentError(f"invalid XML fragment{where}: {exc.message}") from None
    element.tail = None
    return element


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


# ====================================================================== small helpers
def _q(value) -> str:
    """A value quoted for an error line (at most 200 characters of it)."""
    value = str(value)
    return f"'{value}'" if len(value) <= 200 else f"'{value[:200]}...'"


def _is_element(node) -> bool:
    return isinstance(node.tag, str)


def _first_child(parent, tag: str):
    return next(parent.iterchildren(tag), None)


_parse_ip = T.parse_ip
_norm_ip = HOST.norm_ip   # an address for comparison (its text when it is not one)


@functools.lru_cache(maxsize=65536)
def _ip_key(value: str) -> str:
    """A canonical spelling of an address (its text when it is not one): compares at C speed,
    for scans over every record of a large network."""
    return str(_norm_ip(value))


# ====================================================================== positions
def _distance(node) -> tuple[int | None, int | None]:
    """(siblings before, None) or (None, siblings after): whichever end is nearer, counted."""
    back, forth, count = node.getprevious(), node.getnext(), 0
    while back is not None and forth is not None:
        count += 1
        back, forth = back.getprevious(), forth.getnext()
    return (count, None) if back is None else (None, count)


def _index_before(node) -> int:
    before, after = _distance(node)
    return before if before is not None else -(after + 1)


def _index_after(node) -> int | None:
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


def _ordered_index(parent, tag: str, first: bool) -> int | None:
    """Where a new ``tag`` child of ``parent`` goes: first or last among its same-tag siblings,
    else where libvirt's element order puts it."""
    order = S.child_order(parent)
    rank = {t: i for i, t in enumerate(order)}
    mine = rank.get(tag)
    if mine is None:
        if first:
            same = _first_child(parent, tag)
            if same is not None:
                return _index_before(same)
        else:
            same = next(parent.iterchildren(tag, reversed=True), None)
            if same is not None:
                return _index_after(same)
        return None
    forward = mine < len(order) / 2
    if forward:
        last_same = last_lower = None
        for child in parent.iterchildren(tag=etree.Element):
            if child.tag == tag:
                if first:
                    return _index_before(child)
                last_same = child
                continue
            theirs = rank.get(child.tag)
            if theirs is None:
                continue
            if theirs > mine:
                if last_same is not None:
                    return _index_after(last_same)
                return _index_before(_before_comments(child))
            last_lower = child
        anchor = last_same if last_same is not None else last_lower
        return _index_after(anchor) if anchor is not None else None
    earliest_same = earliest_higher = None
    for child in parent.iterchildren(tag=etree.Element, reversed=True):
        if child.tag == tag:
            if not first:
                return _index_after(child)
            earliest_same = child
            continue
        theirs = rank.get(child.tag)
        if theirs is None:
            continue
        if theirs < mine:
            if earliest_same is not None:
                return _index_before(earliest_same)
            return _index_after(child)
        earliest_higher = child
    if earliest_same is not None:
        return _index_before(earliest_same)
    if earliest_higher is not None:
        return _index_before(_before_comments(earliest_higher))
    return None


# ====================================================================== DHCP host index
class _Stale(Exception):
    """An index entry no longer describes the tree: rebuild and retry."""


class _HostIndex:
    """The ``<host>`` children of one ``<dhcp>``: by normalised MAC, name, IP and id, and their
    document order (sortable order keys, so a host's position is a bisect away)."""

    __slots__ = ("dhcp", "by", "order", "keys", "elements", "values")

    def __init__(self, dhcp):
        self.dhcp = dhcp
        self.by: dict[str, dict[object, list]] = {kind: {} for kind in HOST.KEYS}
        self.order: dict[object, int] = {}
        self.keys: list[int] = []
        self.elements: dict[int, object] = {}
        self.values: dict[object, dict[str, object]] = {}
        for number, host in enumerate(dhcp.iterchildren("host")):
            self.order[host] = number
            self.keys.append(number)
            self.elements[number] = host
            values = self.values[host] = HOST.key_of(host)
            for kind, value in values.items():
                self.by[kind].setdefault(value, []).append(host)

    # -------------------------------------------------------------- validity
    def plausible(self) -> bool:
        """Cheap checks that the tree was not edited behind the index's back at either end."""
        dhcp = self.dhcp
        if not self.keys:
            return next(dhcp.iterchildren("host"), None) is None
        first, last = self.elements[self.keys[0]], self.elements[self.keys[-1]]
        return (first.getparent() is dhcp and last.getparent() is dhcp
                and next(first.itersiblings("host", preceding=True), None) is None
                and next(last.itersiblings("host"), None) is None)

    def lookup(self, kind: str, value) -> list:
        found = self.by[kind].get(value)
        if not found:
            return []
        for host in found:
            raw = host.get(kind)
            if host.getparent() is not self.dhcp or raw is None \
                    or HOST.NORMALIZE[kind](raw) != value:
                raise _Stale
        return found

    # -------------------------------------------------------------- queries
    @property
    def count(self) -> int:
        return len(self.keys)

    def first(self):
        return self.elements[self.keys[0]] if self.keys else None

    def last(self):
        return self.elements[self.keys[-1]] if self.keys else None

    def position(self, host) -> int:
        """1-based position of ``host`` among the ``<host>`` children."""
        return bisect.bisect_left(self.keys, self.order[host]) + 1

    def earliest(self, hosts):
        return min(hosts, key=self.order.__getitem__) if hosts else None

    # -------------------------------------------------------------- maintenance
    def _link(self, host, values, at_front: bool) -> None:
        for kind, value in values.items():
            bucket = self.by[kind].setdefault(value, [])
            if at_front:
                bucket.insert(0, host)
            else:
                orders = [self.order[h] for h in bucket]
                bucket.insert(bisect.bisect(orders, self.order[host]), host)

    def _unlink(self, host) -> None:
        for kind, value in self.values.pop(host).items():
            bucket = self.by[kind].get(value)
            if bucket is not None:
                try:
                    bucket.remove(host)
                except ValueError:
                    pass
                if not bucket:
                    del self.by[kind][value]

    def added(self, host, first: bool, values: dict | None = None) -> None:
        if not self.keys:
            key = 0
            self.keys.append(key)
        elif first:
            key = self.keys[0] - 1
            self.keys.insert(0, key)
        else:
            key = self.keys[-1] + 1
            self.keys.append(key)
        self.order[host] = key
        self.elements[key] = host
        values = self.values[host] = HOST.key_of(host) if values is None else dict(values)
        self._link(host, values, at_front=first)

    def replaced(self, old, new, values: dict | None = None) -> None:
        key = self.order.pop(old)
        self._unlink(old)
        self.order[new] = key
        self.elements[key] = new
        values = self.values[new] = HOST.key_of(new) if values is None else dict(values)
        self._link(new, values, at_front=False)

    def removed(self, host) -> None:
        key = self.order.pop(host)
        self._unlink(host)
        del self.keys[bisect.bisect_left(self.keys, key)]
        del self.elements[key]


# ====================================================================== DNS host index
class _DnsIpIndex:
    """How many ``<host>`` children of one ``<dns>`` carry each address (canonical spelling),
    so that adding a DNS host does not scan them all.  It is kept across an edit only when that
    edit was a DNS host add through the section handler, which updates it (``_Edit.done``
    drops it otherwise); ``stamp`` guards against edits made behind the engine's back at the
    end of the list."""

    __slots__ = ("dns", "count", "stamp")

    def __init__(self, dns):
        self.dns = dns
        self.count: dict[str, int] = {}
        for host in dns.iterchildren("host"):
            self.add(host)
        self.stamp = self.current_stamp()

    def current_stamp(self) -> tuple:
        return len(self.dns), next(self.dns.iterchildren(reversed=True), None)

    def add(self, host) -> None:
        key = _ip_key(host.get("ip", ""))
        self.count[key] = self.count.get(key, 0) + 1

    @classmethod
    def of(cls, network: M.Network, dns) -> _DnsIpIndex:
        index = network._indexes.get(("dns-hosts", dns))
        if index is None or index.stamp != index.current_stamp():
            index = network._indexes[("dns-hosts", dns)] = cls(dns)
        return index


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
class _Edit:
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

    # -------------------------------------------------------------- naming
    @property
    def n(self) -> str:
        """The network name as messages print it (quoted by the caller where libvirt does)."""
        return self.name if self.name is not None else "(unnamed)"

    @property
    def first(self) -> bool:
        return self.command == "add-first"

    def fail(self, cls: type[UpdateError], message: str, element=None):
        line = path = None
        if element is not None:
            line = self.doc.line_of(element)
            path = self.path(element)
        raise cls(message, file=self.network.filename, line=line, path=path)

    def path(self, element) -> str:
        """XPath of an element; positions of DHCP hosts come from the host index."""
        parent = element.getparent()
        if element.tag == "host" and parent is not None and parent.tag == "dhcp":
            index = self.network._indexes.get(("dhcp-hosts", parent))
            if index is not None and element in index.order:
                step = "host" if index.count == 1 else f"host[{index.position(element)}]"
                return f"{element_path(parent)}/{step}"
        return element_path(element)

    # -------------------------------------------------------------- reading
    def read(self, cls: type, element, what: str | None = None):
        """Typed definition of ``element``; a value that cannot be read refuses the update."""
        try:
            return cls.from_element(element, filename=self.network.filename)
        except ModelError as exc:
            where = f"<{element.tag}>" if what is None else what
            raise InvalidFragmentError(f"invalid {where} in network {_q(self.n)}: {exc.message}",
                                       file=exc.file, line=exc.line, path=exc.path) from None

    def read_strict(self, cls: type, element):
        value = self.read(cls, element)
        _strict(self, value, element.tag)
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
                          f"the <ip> element is invalid in network {_q(self.n)}: {exc.message}",
                          ip_el)
            self._ip_defs[ip_el] = cached
        return cached

    def expect_tag(self, frag, tag: str) -> None:
        if frag.tag != tag:
            shown = frag.tag if isinstance(frag.tag, str) else "?"
            self.fail(InvalidFragmentError, f"unexpected element <{shown}>, expecting <{tag}>, "
                      f"while updating network {_q(self.n)}")

    def text(self, element) -> str:
        return self.doc.render(element)

    def key_text(self) -> str:
        """The fragment, compact, to name the key in a message."""
        if self.frag is None:
            return ""
        text = etree.tostring(self.frag, encoding="unicode", with_tail=False).replace('"', "'")
        return _short(re.sub(r">\s+<", "><", text), 120)

    # -------------------------------------------------------------- editing
    def insert(self, parent, index, element) -> None:
        self.doc.insert(parent, index, element)

    def insert_ordered(self, parent, element, first: bool | None = None) -> None:
        first = self.first if first is None else first
        self.doc.insert(parent, _ordered_index(parent, element.tag, first), element)

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
                f"not '{wanted.name}' (network {_q(self.n)})")

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


def _strict(ed: _Edit, value, tag: str) -> None:
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
                        f"'{meta['xml']}' of <{value.TAG or tag}> in network {_q(ed.n)} "
                        f"(expected {' or '.join(choices)})")
        elif kind == "child" and current is not None:
            if isinstance(current, M.BandwidthRate) and current.average is None \
                    and current.floor is None:
                ed.fail(InvalidFragmentError, f"Missing mandatory average or floor attributes "
                        f"in <{meta['xml']}> of network {_q(ed.n)}")
            _strict(ed, current, meta["xml"])
        elif kind == "children" and meta["cls"] is not None:
            for item in current:
                _strict(ed, item, meta["xml"])


def _check_lease(ed: _Edit, element) -> None:
    _refuse(ed, DHCP_RANGE.check_lease(element, ed.n))


def _refuse(ed: _Edit, findings) -> None:
    """Raise the first finding the update engine refuses (a section's fragment check)."""
    for found in findings:
        if found.message is not None:
            ed.fail(found.error, found.message)


def _fragment(ed: _Edit, section: str, element, *args) -> None:
    """The section module's checks of a fragment on its own (``check_fragment``)."""
    _refuse(ed, S.hook(section, "check_fragment")(element, ed.n, *args))


# ====================================================================== section handlers
class _Handler:
    section: S.Section

    def section_form(self, ed: _Edit) -> Change:
        if ed.frag is not None:
            ed.expect_tag(ed.frag, self.section.tag)
        scope = self.scope(ed)
        if ed.command in ("add-first", "add-last"):
            return self.add(ed, scope)
        if ed.command == "modify":
            return self.modify(ed, scope, None)
        return self.delete(ed, scope, None)

    def scope(self, ed: _Edit):
        return ed.root

    def scope_of(self, ed: _Edit, element):
        """The scope of an edit whose container (or scope) element a node spec selected."""
        return ed.root if element is ed.root else None

    def revalidate(self, ed: _Edit, element) -> None:
        """Checks on an element of this section after a nodeSpec edit inside it."""

    def add(self, ed: _Edit, scope) -> Change:
        raise NotImplementedError

    def modify(self, ed: _Edit, scope, target) -> Change:
        raise NotImplementedError

    def delete(self, ed: _Edit, scope, target) -> Change:
        raise NotImplementedError


# ---------------------------------------------------------------------- DHCP hosts and ranges
class _DhcpBase(_Handler):
    tag = "host"
    noun = "dhcp host entry"

    def hint(self, frag) -> int | None:
        raise NotImplementedError

    def scope(self, ed: _Edit):
        return self.select_ip(ed, self.hint(ed.frag))

    def scope_of(self, ed: _Edit, element):
        if element.tag == "dhcp":
            element = element.getparent()
        if element is not None and element.tag == "ip" and element.getparent() is ed.root:
            return element
        return None

    def select_ip(self, ed: _Edit, hint: int | None):
        """libvirt's parentIndex rule, except that with a negative index a fragment whose
        family is known goes to an <ip> of that family."""
        ips = list(ed.root.iterchildren("ip"))
        n = _q(ed.n)
        if ed.parent_index >= 0:
            if ed.parent_index >= len(ips):
                ed.fail(NotFoundError, f"couldn't update {self.noun} - no <ip> element found at "
                        f"index {ed.parent_index} in network {n}")
            return ips[ed.parent_index]
        if not ips:
            ed.fail(NotFoundError,
                    f"couldn't update {self.noun} - no <ip> element found in network {n}")
        if hint is not None:
            same = [ip for ip in ips if IP.ip_version(ip) == hint]
            if not same:
                ed.fail(NotFoundError, f"couldn't update {self.noun} - no IPv{hint} <ip> element "
                        f"found in network {n}")
            for ip in same:
                if IP.dhcp_active(ip):
                    return ip
            return same[0]
        for ip in ips:
            if IP.dhcp_active(ip):
                return ip
        for ip in ips:
            if IP.ip_version(ip) == 4:
                return ip
        return ips[0]

    def single_dhcp(self, ed: _Edit, ip_el, version: int) -> None:
        for other in ed.root.iterchildren("ip"):
            if other is not ip_el and IP.ip_version(other) == version and IP.dhcp_active(other):
                ed.fail(InvalidOperationError, IP.single_dhcp(version), other)

    def context(self, ip_el, version: int) -> dict:
        return {"ip_version": version, "ip_path": element_path(ip_el)}

    def cleanup(self, ed: _Edit, dhcp) -> None:
        if ed.drop_if_empty(dhcp):
            ed.network._indexes.pop(("dhcp-hosts", dhcp), None)

    def insert(self, ed: _Edit, ip_el, frag) -> None:
        """Insert a range or host into the <dhcp> of ``ip_el`` (created if missing)."""
        dhcp = _first_child(ip_el, "dhcp")
        if dhcp is None:
            dhcp = etree.Element("dhcp")
            dhcp.append(frag)
            ed.insert_ordered(ip_el, dhcp, first=True)
        else:
            ed.insert_ordered(dhcp, frag)


_HOST_FIELDS = ("mac", "id", "name", "ip", "lease")
_HOST_FAST = tuple(f.name for f in M.fields_of(M.DhcpHost)) == _HOST_FIELDS


def _host_def(ed: _Edit, element, known: dict | None = None) -> M.DhcpHost:
    """``DhcpHost.from_element`` for a plain ``<host/>``, built directly (the generic reader
    costs more than the rest of an update) from the key values already parsed (``known``);
    anything else goes the generic way."""
    if not _HOST_FAST or len(element) or not set(element.attrib) <= set(_HOST_FIELDS):
        return ed.read(M.DhcpHost, element)
    mac, id_, name, ip = (element.get(attribute) for attribute in _HOST_FIELDS[:4])
    parsed = known.get("ip") if known else None
    try:
        if ip is not None and not isinstance(parsed, ipaddress.IPv4Address | ipaddress.IPv6Address):
            parsed = _parse_ip(ip)
        return M.DhcpHost(mac=T.MAC(mac) if mac is not None else None,
                          id=T.DUID(id_) if id_ is not None else None,
                          name=name if name is None else TC.dhcp_host_name(name),
                          ip=parsed if ip is not None else None)
    except ValueError:
        return ed.read(M.DhcpHost, element)


def _old_host_def(ed: _Edit, index: _HostIndex, host) -> M.DhcpHost | None:
    try:
        return _host_def(ed, host, index.values.get(host))
    except UpdateError:
        return None


def _host_index(ed: _Edit, dhcp, fresh: bool = False) -> _HostIndex:
    key = ("dhcp-hosts", dhcp)
    index = None if fresh else ed.network._indexes.get(key)
    if index is None or not index.plausible():
        index = _HostIndex(dhcp)
        ed.network._indexes[key] = index
    return index


def _with_index(ed: _Edit, dhcp, work: Callable):
    try:
        return work(_host_index(ed, dhcp))
    except _Stale:
        return work(_host_index(ed, dhcp, fresh=True))


class _DhcpHostHandler(_DhcpBase):
    section = S.BY_NAME["ip-dhcp-host"]

    def hint(self, frag) -> int | None:
        ip = frag.get("ip")
        if ip is not None:
            try:
                return _parse_ip(ip).version
            except ValueError:
                pass
        if frag.get("mac") is not None:
            return 4
        if frag.get("id") is not None:
            return 6
        return None

    def parse(self, ed: _Edit, element, version: int, full: bool) -> dict:
        """libvirt's checks of a static host; returns its normalised key attributes."""
        _refuse(ed, HOST.check_attributes(element, ed.n, version))
        _check_lease(ed, element)
        _refuse(ed, HOST.check_complete(element, ed.n, version, full))
        return HOST.key_of(element)

    def family(self, ed: _Edit, ip, version: int, ip_el) -> None:
        if ip.version != version:
            ed.fail(InvalidOperationError, "the address family of a host entry IP must match the "
                    "address family of the dhcp element's parent", ip_el)

    @staticmethod
    def clash(index: _HostIndex, attrs: dict, exclude):
        for kind in HOST.CLASH_KEYS:
            value = attrs.get(kind)
            if value is None:
                continue
            for host in index.lookup(kind, value):
                if host is not exclude:
                    return host
        return None

    def refuse_clash(self, ed: _Edit, element, clash) -> None:
        ed.fail(DuplicateError, HOST.clash_message(ed.n, element), clash)

    @staticmethod
    def matches(host, attrs: dict) -> bool:
        current = HOST.key_of(host)
        return all(current.get(kind) == value for kind, value in attrs.items())

    # -------------------------------------------------------------- commands
    def add(self, ed: _Edit, ip_el) -> Change:
        frag = ed.frag
        ed.expect_tag(frag, "host")
        version = IP.ip_version(ip_el)
        attrs = self.parse(ed, frag, version, full=True)
        new = _host_def(ed, frag, attrs)
        self.single_dhcp(ed, ip_el, version)
        dhcp = _first_child(ip_el, "dhcp")
        index = None
        if dhcp is not None:
            index, clash = _with_index(ed, dhcp, lambda idx: (idx, self.clash(idx, attrs, None)))
            if clash is not None:
                self.refuse_clash(ed, frag, clash)
        self.family(ed, attrs["ip"], version, ip_el)
        if dhcp is None:
            self.insert(ed, ip_el, frag)
            _host_index(ed, frag.getparent(), fresh=True)
        else:
            if index.count:
                position = (_index_before(index.first()) if ed.first
                            else _index_after(index.last()))
            else:
                position = _ordered_index(dhcp, "host", ed.first)
            ed.insert(dhcp, position, frag)
            index.added(frag, ed.first, attrs)
        return ed.change(self.section, ed.path(frag), after=new, after_xml=ed.text(frag),
                         **self.context(ip_el, version))

    def modify(self, ed: _Edit, ip_el, target) -> Change:
        frag = ed.frag
        ed.expect_tag(frag, "host")
        version = IP.ip_version(ip_el)
        attrs = self.parse(ed, frag, version, full=True)
        new = _host_def(ed, frag, attrs)
        self.family(ed, attrs["ip"], version, ip_el)
        dhcp = _first_child(ip_el, "dhcp") if target is None else target.getparent()

        def find(index: _HostIndex):
            found = target
            if found is None:
                hits = []
                for kind in ("mac", "ip", "name", "id"):
                    if kind in attrs:
                        hits.extend(index.lookup(kind, attrs[kind]))
                found = index.earliest(hits)
            elif found not in index.order:
                raise _Stale
            clash = self.clash(index, attrs, found) if found is not None else None
            return index, found, clash

        index = found = clash = None
        if dhcp is not None:
            index, found, clash = _with_index(ed, dhcp, find)
        if found is None:
            ed.fail(NotFoundError, HOST.not_found_message(ed.n, frag), ip_el)
        if clash is not None:
            self.refuse_clash(ed, frag, clash)
        before, before_xml = _old_host_def(ed, index, found), ed.text(found)
        ed.replace(found, frag)
        index.replaced(found, frag, attrs)
        return ed.change(self.section, ed.path(frag), before=before, after=new,
                         before_xml=before_xml, after_xml=ed.text(frag),
                         **self.context(ip_el, version))

    def delete(self, ed: _Edit, ip_el, target) -> Change:
        frag = ed.frag
        version = IP.ip_version(ip_el)
        attrs = None
        if frag is not None:
            ed.expect_tag(frag, "host")
            attrs = self.parse(ed, frag, version, full=False)
        dhcp = _first_child(ip_el, "dhcp") if target is None else target.getparent()

        def find(index: _HostIndex):
            if target is not None:
                if target not in index.order:
                    raise _Stale
                return index, target if attrs is None or self.matches(target, attrs) else None
            for kind in ("mac", "ip", "name", "id"):
                if kind in attrs:
                    hits = [h for h in index.lookup(kind, attrs[kind]) if self.matches(h, attrs)]
                    return index, index.earliest(hits)
            return index, None

        index = found = None
        if dhcp is not None:
            index, found = _with_index(ed, dhcp, find)
        if found is None:
            ed.fail(NotFoundError, f"couldn't locate a matching dhcp host entry in network "
                    f"{_q(ed.n)} (pattern {ed.key_text()})", ip_el)
        before, before_xml = _old_host_def(ed, index, found), ed.text(found)
        path = ed.path(found)
        ed.remove(found)
        index.removed(found)
        self.cleanup(ed, dhcp)
        return ed.change(self.section, path, before=before, before_xml=before_xml,
                         **self.context(ip_el, version))

    def revalidate(self, ed: _Edit, element) -> None:
        ip_el = element.getparent().getparent()
        version = IP.ip_version(ip_el)
        attrs = self.parse(ed, element, version, full=True)
        self.family(ed, attrs["ip"], version, ip_el)
        clash = _with_index(ed, element.getparent(),
                            lambda idx: self.clash(idx, attrs, element))
        if clash is not None:
            self.refuse_clash(ed, element, clash)


class _DhcpRangeHandler(_DhcpBase):
    section = S.BY_NAME["ip-dhcp-range"]
    tag = "range"
    noun = "dhcp range entry"

    def hint(self, frag) -> int | None:
        start = frag.get("start")
        try:
            return _parse_ip(start).version if start else None
        except ValueError:
            return None

    def parse(self, ed: _Edit, element, ip_el):
        ed.expect_tag(element, "range")
        _fragment(ed, "ip-dhcp-range", element)
        for found in DHCP_RANGE.against(element, ed.n, ed.ip_def(ip_el)):
            ed.fail(found.error, found.message, ip_el)
        return DHCP_RANGE.endpoints(element)

    @staticmethod
    def find(dhcp, start, end, exclude=None):
        if dhcp is None:
            return None
        for element in dhcp.iterchildren("range"):
            if element is not exclude and _norm_ip(element.get("start", "")) == start \
                    and _norm_ip(element.get("end", "")) == end:
                return element
        return None

    def refuse_duplicate(self, ed: _Edit, start, end, existing) -> None:
        ed.fail(DuplicateError, f"there is an existing dhcp range entry in network {_q(ed.n)} "
                f"that matches \"<range start='{start}' end='{end}'/>\"", existing)

    def not_found(self, ed: _Edit, ip_el) -> None:
        ed.fail(NotFoundError, f"couldn't locate a matching dhcp range entry in network "
                f"{_q(ed.n)} (pattern {ed.key_text()})", ip_el)

    def add(self, ed: _Edit, ip_el) -> Change:
        frag = ed.frag
        version = IP.ip_version(ip_el)
        start, end = self.parse(ed, frag, ip_el)
        new = ed.read(M.DhcpRange, frag)
        self.single_dhcp(ed, ip_el, version)
        existing = self.find(_first_child(ip_el, "dhcp"), start, end)
        if existing is not None:
            self.refuse_duplicate(ed, start, end, existing)
        self.insert(ed, ip_el, frag)
        return ed.change(self.section, ed.path(frag), after=new, after_xml=ed.text(frag),
                         **self.context(ip_el, version))

    def modify(self, ed: _Edit, ip_el, target) -> Change:
        frag = ed.frag
        version = IP.ip_version(ip_el)
        start, end = self.parse(ed, frag, ip_el)
        new = ed.read(M.DhcpRange, frag)
        dhcp = _first_child(ip_el, "dhcp")
        if target is None:
            target = self.find(dhcp, start, end)
            if target is None:
                self.not_found(ed, ip_el)
        else:
            existing = self.find(dhcp, start, end, exclude=target)
            if existing is not None:
                self.refuse_duplicate(ed, start, end, existing)
        before, before_xml = ed.try_read(M.DhcpRange, target), ed.text(target)
        ed.replace(target, frag)
        return ed.change(self.section, ed.path(frag), before=before, after=new,
                         before_xml=before_xml, after_xml=ed.text(frag),
                         **self.context(ip_el, version))

    def delete(self, ed: _Edit, ip_el, target) -> Change:
        frag = ed.frag
        version = IP.ip_version(ip_el)
        dhcp = _first_child(ip_el, "dhcp")
        if frag is not None:
            start, end = self.parse(ed, frag, ip_el)
            found = self.find(dhcp, start, end)
            if target is not None and found is not target:
                found = None
        else:
            found = target
        if found is None:
            self.not_found(ed, ip_el)
        before, before_xml, path = ed.try_read(M.DhcpRange, found), ed.text(found), ed.path(found)
        ed.remove(found)
        self.cleanup(ed, dhcp)
        return ed.change(self.section, path, before=before, before_xml=before_xml,
                         **self.context(ip_el, version))

    def revalidate(self, ed: _Edit, element) -> None:
        ip_el = element.getparent().getparent()
        start, end = self.parse(ed, element, ip_el)
        existing = self.find(element.getparent(), start, end, exclude=element)
        if existing is not None:
            self.refuse_duplicate(ed, start, end, existing)


# ---------------------------------------------------------------------- forward interfaces
def _sync_forward_dev(forward) -> None:
    """libvirt writes ``<forward dev>`` as the first interface (none: no ``dev``)."""
    if _first_child(forward, "pf") is not None or _first_child(forward, "address") is not None:
        return
    first = _first_child(forward, "interface")
    dev = first.get("dev") if first is not None else None
    if dev is None:
        if "dev" in forward.attrib:
            del forward.attrib["dev"]
    elif forward.get("dev") != dev:
        forward.set("dev", dev)


class _InForward(_Handler):
    """Handlers of the children of ``<forward>`` (interfaces, pf)."""

    def scope(self, ed: _Edit):
        return _first_child(ed.root, "forward")

    def scope_of(self, ed: _Edit, element):
        return element if element.tag == "forward" and element.getparent() is ed.root else None


class _ForwardInterfaceHandler(_InForward):
    section = S.BY_NAME["forward-interface"]

    def parse(self, ed: _Edit, element):
        ed.expect_tag(element, "interface")
        _fragment(ed, "forward-interface", element)
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

    def not_found(self, ed: _Edit, dev, where=None) -> None:
        ed.fail(NotFoundError, FORWARD_INTERFACE.not_found(ed.n, dev), where)

    def refuse_duplicate(self, ed: _Edit, dev, existing) -> None:
        ed.fail(DuplicateError, FORWARD_INTERFACE.duplicate(ed.n, dev), existing)

    def add(self, ed: _Edit, forward) -> Change:
        frag = ed.frag
        dev, new = self.parse(ed, frag)
        if forward is None:
            ed.fail(InvalidOperationError, f"network {_q(ed.n)} has no <forward> element: an "
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
        bridge = _first_child(ed.root, "bridge")
        if mode == T.ForwardMode.BRIDGE and bridge is not None and bridge.get("name"):
            ed.fail(InvalidOperationError, FORWARD.name_and_dev(ed.n, mode), bridge)
        ed.insert_ordered(forward, frag)
        _sync_forward_dev(forward)
        return ed.change(self.section, ed.path(frag), after=new, after_xml=ed.text(frag))

    def modify(self, ed: _Edit, forward, target) -> Change:
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

    def delete(self, ed: _Edit, forward, target) -> Change:
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

    def revalidate(self, ed: _Edit, element) -> None:
        dev, _ = self.parse(ed, element)
        existing = self.find(element.getparent(), dev, exclude=element)
        if existing is not None:
            self.refuse_duplicate(ed, dev, existing)


# ---------------------------------------------------------------------- portgroups
class _PortgroupHandler(_Handler):
    section = S.BY_NAME["portgroup"]

    def parse(self, ed: _Edit, element):
        ed.expect_tag(element, "portgroup")
        _fragment(ed, "portgroup", element)
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

    def check(self, ed: _Edit, element, name, exclude) -> None:
        existing = self.find(ed.root, name, exclude=exclude)
        if existing is not None:
            ed.fail(DuplicateError, PORTGROUP.duplicate_name(ed.n, name), existing)
        self.check_default(ed, element, exclude)

    def check_default(self, ed: _Edit, element, exclude) -> None:
        if not PORTGROUP.is_default(element):
            return
        for other in ed.root.iterchildren("portgroup"):
            if other is not exclude and other is not element and PORTGROUP.is_default(other):
                ed.fail(InvalidOperationError, PORTGROUP.second_default(ed.n), other)

    def not_found(self, ed: _Edit, name) -> None:
        ed.fail(NotFoundError, f"couldn't find a portgroup entry in network {_q(ed.n)} "
                f"matching <portgroup name='{name}'>")

    def add(self, ed: _Edit, root) -> Change:
        frag = ed.frag
        name, new = self.parse(ed, frag)
        self.check(ed, frag, name, None)
        ed.insert_ordered(root, frag)
        return ed.change(self.section, ed.path(frag), after=new, after_xml=ed.text(frag))

    def modify(self, ed: _Edit, root, target) -> Change:
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

    def delete(self, ed: _Edit, root, target) -> Change:
        frag = ed.frag
        name = self.parse(ed, frag)[0] if frag is not None else None
        found = target if target is not None else self.find(root, name)
        if found is None or (name is not None and found.get("name") != name):
            self.not_found(ed, name)
        before, before_xml = ed.try_read(M.Portgroup, found), ed.text(found)
        path = ed.path(found)
        ed.remove(found)
        return ed.change(self.section, path, before=before, before_xml=before_xml)

    def revalidate(self, ed: _Edit, element) -> None:
        name, _ = self.parse(ed, element)
        self.check(ed, element, name, element)


# ---------------------------------------------------------------------- DNS records
class _DnsRecordHandler(_Handler):
    tag = ""

    def scope_of(self, ed: _Edit, element):
        if element is ed.root or (element.tag == "dns" and element.getparent() is ed.root):
            return ed.root
        return None

    @staticmethod
    def dns(ed: _Edit):
        return _first_child(ed.root, "dns")

    def records(self, ed: _Edit, exclude=None):
        dns = self.dns(ed)
        if dns is None:
            return []
        return [e for e in dns.iterchildren(self.tag) if e is not exclude]

    def insert(self, ed: _Edit, frag) -> None:
        dns = self.dns(ed)
        if dns is None:
            dns = etree.Element("dns")
            dns.append(frag)
            ed.insert_ordered(ed.root, dns, first=True)
        else:
            ed.insert_ordered(dns, frag)

    def check_enabled(self, ed: _Edit) -> None:
        dns = self.dns(ed)
        if dns is not None and dns.get("enable") == "no":
            ed.fail(InvalidOperationError, DNS.disabled_message(ed.n), dns)

    def parse(self, ed: _Edit, element, full: bool):
        raise NotImplementedError

    def matching(self, ed: _Edit, element, parsed, exclude=None) -> list:
        raise NotImplementedError

    def duplicates(self, ed: _Edit, element, parsed, exclude=None) -> list:
        return self.matching(ed, element, parsed, exclude)

    def refuse_duplicate(self, ed: _Edit, element, parsed, existing) -> None:
        raise NotImplementedError

    def not_found(self, ed: _Edit) -> None:
        ed.fail(NotFoundError, f"couldn't locate a matching {self.noun} in network {ed.n} "
                f"(pattern {ed.key_text()})")

    def ambiguous(self, ed: _Edit, found) -> None:
        paths = ", ".join(ed.path(e) for e in found)
        ed.fail(AmbiguousError, f"multiple matching {self.noun}s were found in network {ed.n} "
                f"(pattern {ed.key_text()} matches {paths})")

    noun = "DNS record"

    def add(self, ed: _Edit, root) -> Change:
        frag = ed.frag
        ed.expect_tag(frag, self.tag)
        parsed = self.parse(ed, frag, full=True)
        new = ed.read(self.section.def_cls, frag)
        clash = self.duplicates(ed, frag, parsed)
        if clash:
            self.refuse_duplicate(ed, frag, parsed, clash[0])
        self.check_enabled(ed)
        self.insert(ed, frag)
        return ed.change(self.section, ed.path(frag), after=new, after_xml=ed.text(frag))

    def find_for_modify(self, ed: _Edit, frag, parsed) -> list:
        return self.matching(ed, frag, parsed)

    def modify(self, ed: _Edit, root, target) -> Change:
        frag = ed.frag
        ed.expect_tag(frag, self.tag)
        parsed = self.parse(ed, frag, full=True)
        new = ed.read(self.section.def_cls, frag)
        if target is None:
            found = self.find_for_modify(ed, frag, parsed)
            if not found:
                self.not_found(ed)
            if len(found) > 1:
                self.ambiguous(ed, found)
            target = found[0]
        else:
            clash = self.duplicates(ed, frag, parsed, exclude=target)
            if clash:
                self.refuse_duplicate(ed, frag, parsed, clash[0])
        before, before_xml = ed.try_read(self.section.def_cls, target), ed.text(target)
        ed.replace(target, frag)
        return ed.change(self.section, ed.path(frag), before=before, after=new,
                         before_xml=before_xml, after_xml=ed.text(frag))

    def delete(self, ed: _Edit, root, target) -> Change:
        frag = ed.frag
        if frag is not None:
            ed.expect_tag(frag, self.tag)
            parsed = self.parse(ed, frag, full=False)
            found = self.matching(ed, frag, parsed)
            if target is not None:
                found = [target] if target in found else []
            if not found:
                self.not_found(ed)
            if len(found) > 1:
                self.ambiguous(ed, found)
            target = found[0]
        before, before_xml = ed.try_read(self.section.def_cls, target), ed.text(target)
        path = ed.path(target)
        dns = target.getparent()
        ed.remove(target)
        ed.drop_if_empty(dns, keep_attributes=True)
        return ed.change(self.section, path, before=before, before_xml=before_xml)

    def revalidate(self, ed: _Edit, element) -> None:
        parsed = self.parse(ed, element, full=True)
        clash = self.duplicates(ed, element, parsed, exclude=element)
        if clash:
            self.refuse_duplicate(ed, element, parsed, clash[0])


class _DnsHostHandler(_DnsRecordHandler):
    section = S.BY_NAME["dns-host"]
    tag = "host"
    noun = "DNS HOST record"

    def parse(self, ed: _Edit, element, full: bool):
        _fragment(ed, "dns-host", element, full)
        raw = element.get("ip")
        return (DNS_HOST.parse_ip(raw) if raw is not None else None,
                DNS_HOST.hostnames(element))

    def matching(self, ed: _Edit, element, parsed, exclude=None) -> list:
        ip, names = parsed
        wanted = set(names)
        return [e for e in self.records(ed, exclude)
                if (ip is not None and _norm_ip(e.get("ip", "")) == ip)
                or (wanted and wanted & set(DNS_HOST.hostnames(e)))]

    def duplicates(self, ed: _Edit, element, parsed, exclude=None) -> list:
        key = _ip_key(str(parsed[0]))
        dns = self.dns(ed)
        if dns is None or not _DnsIpIndex.of(ed.network, dns).count.get(key):
            return []
        return [e for e in self.records(ed, exclude) if _ip_key(e.get("ip", "")) == key]

    def insert(self, ed: _Edit, frag) -> None:
        index = self.dns(ed) is not None and _DnsIpIndex.of(ed.network, self.dns(ed))
        super().insert(ed, frag)
        if index:
            index.add(frag)
            index.stamp = index.current_stamp()
            ed.dns_index_kept = True

    def find_for_modify(self, ed: _Edit, frag, parsed) -> list:
        return self.duplicates(ed, frag, parsed)

    def refuse_duplicate(self, ed: _Edit, element, parsed, existing) -> None:
        ed.fail(DuplicateError, DNS_HOST.duplicate_message(ed.n, parsed[0]), existing)


class _DnsTxtHandler(_DnsRecordHandler):
    section = S.BY_NAME["dns-txt"]
    tag = "txt"
    noun = "DNS TXT record"

    def parse(self, ed: _Edit, element, full: bool):
        _fragment(ed, "dns-txt", element, full)
        return element.get("name")

    def matching(self, ed: _Edit, element, parsed, exclude=None) -> list:
        return [e for e in self.records(ed, exclude) if e.get("name") == parsed]

    def refuse_duplicate(self, ed: _Edit, element, parsed, existing) -> None:
        ed.fail(DuplicateError, f"there is already a DNS TXT record with name '{parsed}' in "
                f"network {ed.n}", existing)


class _DnsSrvHandler(_DnsRecordHandler):
    section = S.BY_NAME["dns-srv"]
    tag = "srv"
    noun = "DNS SRV record"

    def parse(self, ed: _Edit, element, full: bool):
        _fragment(ed, "dns-srv", element, full)
        return {key: element.get(key) for key in DNS_SRV.KEYS if element.get(key) is not None}

    def matching(self, ed: _Edit, element, parsed, exclude=None) -> list:
        return [e for e in self.records(ed, exclude)
                if all(e.get(key) == value for key, value in parsed.items())]

    def refuse_duplicate(self, ed: _Edit, element, parsed, existing) -> None:
        ed.fail(DuplicateError, "there is already at least one DNS SRV record matching all "
                f"specified fields in network {ed.n} (pattern {ed.key_text()})", existing)

    def ambiguous(self, ed: _Edit, found) -> None:
        paths = ", ".join(ed.path(e) for e in found)
        ed.fail(AmbiguousError, "multiple DNS SRV records matching all specified fields were "
                f"found in network {ed.n} (pattern {ed.key_text()} matches {paths})")


# ---------------------------------------------------------------------- whole elements
def _attribute_pattern_matches(ed: _Edit, cls: type, target, frag) -> bool:
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


class _SingletonHandler(_Handler):
    """A section whose element appears at most once under <network> (bridge, domain, forward,
    and the ``dns`` pseudo section): add when absent, modify (replace), delete."""

    def __init__(self, name: str, kinds: tuple[str, ...]):
        self.section = S.BY_NAME[name]
        self.kinds = kinds

    @property
    def tag(self) -> str:
        return self.section.tag

    def read_new(self, ed: _Edit, frag):
        ed.expect_tag(frag, self.tag)
        return ed.read_strict(self.section.def_cls, frag)

    def check_new(self, ed: _Edit, element) -> None:
        """Checks of the new element on its own (before it is placed)."""
        if S.hook(self.section, "check_fragment") is not None:
            _fragment(ed, self.section.name, element)

    def add(self, ed: _Edit, root) -> Change:
        frag = ed.frag
        new = self.read_new(ed, frag)
        existing = _first_child(root, self.tag)
        if existing is not None:
            ed.fail(DuplicateError, f"there is already a <{self.tag}> element in network "
                    f"{_q(ed.n)} (use modify to change it)", existing)
        self.check_new(ed, frag)
        ed.guarded(self.kinds, lambda: ed.insert_ordered(root, frag), [root])
        return ed.change(self.section, ed.path(frag), after=new, after_xml=ed.text(frag))

    def modify(self, ed: _Edit, root, target) -> Change:
        frag = ed.frag
        new = self.read_new(ed, frag)
        if target is None:
            target = _first_child(root, self.tag)
            if target is None:
                ed.fail(NotFoundError, f"network {_q(ed.n)} has no <{self.tag}> element to "
                        "modify (use add to create it)")
        self.check_new(ed, frag)
        before, before_xml = ed.try_read(self.section.def_cls, target), ed.text(target)
        ed.guarded(self.kinds, lambda: ed.replace(target, frag), [root])
        return ed.change(self.section, ed.path(frag), before=before, after=new,
                         before_xml=before_xml, after_xml=ed.text(frag))

    def delete(self, ed: _Edit, root, target) -> Change:
        frag = ed.frag
        if frag is not None:
            self.read_new(ed, frag)
        found = target if target is not None else _first_child(root, self.tag)
        if found is None:
            ed.fail(NotFoundError, f"network {_q(ed.n)} has no <{self.tag}> element to delete")
        if frag is not None and not _attribute_pattern_matches(ed, self.section.def_cls, found,
                                                               frag):
            ed.fail(NotFoundError, f"the <{self.tag}> element of network {_q(ed.n)} does not "
                    f"match {_short(ed.text(frag))}", found)
        before, before_xml = ed.try_read(self.section.def_cls, found), ed.text(found)
        path = ed.path(found)
        ed.guarded(self.kinds, lambda: ed.remove(found), [root])
        return ed.change(self.section, path, before=before, before_xml=before_xml)

    def revalidate(self, ed: _Edit, element) -> None:
        self.check_new(ed, element)


class _ForwardHandler(_SingletonHandler):
    def read_new(self, ed: _Edit, frag):
        ed.expect_tag(frag, self.tag)
        _fragment(ed, "forward", frag)   # libvirt's words for a mode before the typed read's
        return super().read_new(ed, frag)

    def delete(self, ed: _Edit, root, target) -> Change:
        found = target if target is not None else _first_child(root, "forward")
        if found is not None:
            for interface in found.iterchildren("interface"):
                used = FORWARD_INTERFACE.connections(interface)
                if used:
                    ed.fail(InvalidOperationError,
                            FORWARD.in_use(ed.n, interface.get("dev"), used), interface)
        return super().delete(ed, root, target)


class _PfHandler(_InForward):
    section = S.BY_NAME["forward-pf"]
    kinds = FORWARD_PF.RECHECK

    def parse(self, ed: _Edit, element):
        ed.expect_tag(element, "pf")
        _fragment(ed, "forward-pf", element)
        return ed.read_strict(M.ForwardPf, element)

    def need_forward(self, ed: _Edit, forward, command: str) -> None:
        if forward is None:
            cls = InvalidOperationError if command == "add" else NotFoundError
            ed.fail(cls, f"network {_q(ed.n)} has no <forward> element")

    def add(self, ed: _Edit, forward) -> Change:
        frag = ed.frag
        new = self.parse(ed, frag)
        self.need_forward(ed, forward, "add")
        existing = _first_child(forward, "pf")
        if existing is not None:
            ed.fail(DuplicateError, FORWARD_PF.only_one(ed.n), existing)
        ed.guarded(self.kinds, lambda: ed.insert_ordered(forward, frag), [forward])
        return ed.change(self.section, ed.path(frag), after=new, after_xml=ed.text(frag))

    def modify(self, ed: _Edit, forward, target) -> Change:
        frag = ed.frag
        new = self.parse(ed, frag)
        self.need_forward(ed, forward, "modify")
        target = target if target is not None else _first_child(forward, "pf")
        if target is None:
            ed.fail(NotFoundError, f"network {_q(ed.n)} has no <pf> element to modify", forward)
        before, before_xml = ed.try_read(M.ForwardPf, target), ed.text(target)
        ed.guarded(self.kinds, lambda: ed.replace(target, frag), [forward])
        return ed.change(self.section, ed.path(frag), before=before, after=new,
                         before_xml=before_xml, after_xml=ed.text(frag))

    def delete(self, ed: _Edit, forward, target) -> Change:
        frag = ed.frag
        dev = self.parse(ed, frag).dev if frag is not None else None
        self.need_forward(ed, forward, "delete")
        found = target if target is not None else _first_child(forward, "pf")
        if found is None or (dev is not None and found.get("dev") != dev):
            ed.fail(NotFoundError, f"couldn't find a <pf> element in network {_q(ed.n)}"
                    + (f" matching <pf dev='{dev}'/>" if dev else ""), forward)
        before, before_xml = ed.try_read(M.ForwardPf, found), ed.text(found)
        path = ed.path(found)
        ed.guarded(self.kinds, lambda: ed.remove(found), [forward])
        return ed.change(self.section, path, before=before, before_xml=before_xml)

    def revalidate(self, ed: _Edit, element) -> None:
        self.parse(ed, element)


class _IpHandler(_Handler):
    section = S.BY_NAME["ip"]
    kinds = IP.RECHECK

    def parse(self, ed: _Edit, element):
        ed.expect_tag(element, "ip")
        new = ed.read_strict(M.IpDef, element)
        _fragment(ed, "ip", element)
        return new

    @staticmethod
    def find(root, address, exclude=None):
        for element in root.iterchildren("ip"):
            if element is not exclude and _norm_ip(element.get("address", "")) == address:
                return element
        return None

    def refuse_duplicate(self, ed: _Edit, address, existing) -> None:
        ed.fail(DuplicateError, IP.duplicate_address(ed.n, address), existing)

    def forget(self, ed: _Edit, ip_el) -> None:
        dhcp = _first_child(ip_el, "dhcp")
        if dhcp is not None:
            ed.network._indexes.pop(("dhcp-hosts", dhcp), None)

    def add(self, ed: _Edit, root) -> Change:
        frag = ed.frag
        new = self.parse(ed, frag)
        existing = self.find(root, new.address)
        if existing is not None:
            self.refuse_duplicate(ed, new.address, existing)
        ed.guarded(self.kinds, lambda: ed.insert_ordered(root, frag), [root])
        return ed.change(self.section, ed.path(frag), after=new, after_xml=ed.text(frag),
                         ip_version=new.version)

    def modify(self, ed: _Edit, root, target) -> Change:
        frag = ed.frag
        new = self.parse(ed, frag)
        if target is None:
            target = self.find(root, new.address)
            if target is None:
                ed.fail(NotFoundError, f"couldn't find an <ip> element with address "
                        f"'{new.address}' in network {_q(ed.n)}")
        else:
            existing = self.find(root, new.address, exclude=target)
            if existing is not None:
                self.refuse_duplicate(ed, new.address, existing)
        before, before_xml = ed.try_read(M.IpDef, target), ed.text(target)
        ed.guarded(self.kinds, lambda: ed.replace(target, frag), [root])
        self.forget(ed, target)
        return ed.change(self.section, ed.path(frag), before=before, after=new,
                         before_xml=before_xml, after_xml=ed.text(frag), ip_version=new.version)

    def delete(self, ed: _Edit, root, target) -> Change:
        frag = ed.frag
        found = target
        if frag is not None:
            ed.expect_tag(frag, "ip")
            _fragment(ed, "ip", frag)
            address = _norm_ip(frag.get("address"))
            found = self.find(root, address)
            if found is None or (target is not None and found is not target):
                ed.fail(NotFoundError, f"couldn't find an <ip> element with address "
                        f"'{address}' in network {_q(ed.n)}")
        before, before_xml = ed.try_read(M.IpDef, found), ed.text(found)
        version = IP.ip_version(found)
        path = ed.path(found)
        ed.guarded(self.kinds, lambda: ed.remove(found), [root])
        self.forget(ed, found)
        return ed.change(self.section, path, before=before, before_xml=before_xml,
                         ip_version=version)

    def revalidate(self, ed: _Edit, element) -> None:
        self.parse(ed, element)


# ---------------------------------------------------------------------- anything else
# the rule scopes an edit re-checks: sections' RECHECK (modules), else this table (not moved yet)
_KINDS = {
    "ip-dhcp-host": (),
    **{name: module.RECHECK for name, module in S.MODULES.items()},
}


def _typed_check(ed: _Edit, element) -> None:
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
        ed.fail(InvalidFragmentError, f"invalid <{element.tag}> in network {_q(ed.n)}: "
                f"{problems[0]}", element)


class _GenericEdit:
    """Edits of elements no section addresses directly (nodeSpec form, and the ``network``
    section form): placed by libvirt's element order, then checked in their section."""

    @staticmethod
    def section_state(ed: _Edit, element):
        section, section_el = S.section_of(element)
        if section.name == "network" and ed.network._defs is not None:
            before = ed.network._defs
        else:
            before = ed.try_read(section.def_cls, section_el)
        return section, section_el, before

    @staticmethod
    def check(ed: _Edit, section: S.Section, section_el, touched, before_def):
        """The check run after the edit (section checks only if they passed before it)."""
        handler = _HANDLERS[section.name]
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
    def after(ed: _Edit, section: S.Section, section_el):
        return ed.try_read(section.def_cls, section_el)

    def add(self, ed: _Edit, parent) -> Change:
        frag = ed.frag
        tag = frag.tag
        allowed = S.allowed_children(parent)
        shown = _tag_text(frag)
        if allowed is not None and tag not in allowed:
            ed.fail(InvalidFragmentError, f"<{shown}> is not allowed in <{_tag_text(parent)}> "
                    f"(network {_q(ed.n)})", parent)
        if allowed is None and not tag.startswith("{"):
            ed.fail(InvalidFragmentError, f"elements in <{_tag_text(parent)}> must be in an XML "
                    "namespace", parent)
        if allowed and allowed[tag] == S.ONE:
            existing = _first_child(parent, tag)
            if existing is not None:
                ed.fail(DuplicateError, f"there is already a <{shown}> element in "
                        f"{ed.path(parent)} of network {_q(ed.n)}", existing)
        section, section_el, before = self.section_state(ed, parent)
        ed.claim(section)
        ed.guarded(_KINDS[section.name], lambda: ed.insert_ordered(parent, frag), [parent],
                   self.check(ed, section, section_el, frag, before))
        return ed.change(section, ed.path(frag), before=before,
                         after=self.after(ed, section, section_el), after_xml=ed.text(frag),
                         **self.ip_context(section, section_el))

    def modify(self, ed: _Edit, target) -> Change:
        frag = ed.frag
        if target is ed.root:
            ed.fail(UnsupportedError, "the <network> element itself cannot be replaced; edit "
                    "its children")
        if frag.tag != target.tag:
            ed.fail(InvalidFragmentError, f"unexpected element <{_tag_text(frag)}>, expecting "
                    f"<{_tag_text(target)}>, while updating network {_q(ed.n)}")
        section, section_el, before = self.section_state(ed, target)
        ed.claim(section)
        before_xml, path = ed.text(target), ed.path(target)
        ed.guarded(_KINDS[section.name], lambda: ed.replace(target, frag),
                   [target.getparent()], self.check(ed, section, section_el, frag, before))
        return ed.change(section, path, before=before,
                         after=self.after(ed, section, section_el), before_xml=before_xml,
                         after_xml=ed.text(frag), **self.ip_context(section, section_el))

    def delete(self, ed: _Edit, target) -> Change:
        if target is ed.root:
            ed.fail(UnsupportedError, "the <network> element itself cannot be deleted")
        frag = ed.frag
        if frag is not None and (frag.tag != target.tag or any(
                target.get(k) != v for k, v in frag.attrib.items())):
            ed.fail(NotFoundError, f"{ed.path(target)} in network {_q(ed.n)} does not match "
                    f"{_short(ed.text(frag))}", target)
        section, section_el, before = self.section_state(ed, target)
        ed.claim(section)
        before_xml, path = ed.text(target), ed.path(target)
        ed.guarded(_KINDS[section.name], lambda: ed.remove(target), [target.getparent()],
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


_GENERIC = _GenericEdit()


def _tag_text(element) -> str:
    tag = element.tag
    if isinstance(tag, str) and tag.startswith("{"):
        uri, local = tag[1:].split("}", 1)
        prefix = next((p for p, u in (element.nsmap or {}).items() if u == uri and p), None)
        return f"{prefix}:{local}" if prefix else local
    return tag


def _identify_child(ed: _Edit, parent, frag):
    """The one child of ``parent`` that ``frag`` designates (by tag, then by key)."""
    tag = frag.tag
    allowed = S.allowed_children(parent)
    shown = _tag_text(frag)
    if allowed is not None and tag not in allowed:
        ed.fail(InvalidFragmentError, f"<{shown}> is not allowed in <{_tag_text(parent)}> "
                f"(network {_q(ed.n)})", parent)
    children = list(parent.iterchildren(tag))
    if not children:
        ed.fail(NotFoundError, f"there is no <{shown}> element in {ed.path(parent)} of network "
                f"{_q(ed.n)}", parent)
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
                f"{_q(ed.n)} matches {_short(ed.text(frag))}", parent)
    if len(found) > 1:
        ed.fail(AmbiguousError, f"{len(found)} <{shown}> elements in {ed.path(parent)} of "
                f"network {_q(ed.n)} match {_short(ed.text(frag))}: "
                + ", ".join(ed.path(c) for c in found), parent)
    return found[0]


class _NetworkHandler(_Handler):
    """The ``network`` pseudo section in section form: the fragment names a child of
    <network> (``<mtu>``, ``<mac>``, ``<route>``, ...); children with a section of their own
    are handed to it."""

    section = S.BY_NAME["network"]

    def section_form(self, ed: _Edit) -> Change:
        frag = ed.frag
        own = S.section_for_child(ed.root, frag.tag)
        if own is not None:
            return _HANDLERS[own.name].section_form(ed)
        if ed.command in ("add-first", "add-last"):
            return _GENERIC.add(ed, ed.root)
        target = _identify_child(ed, ed.root, frag)
        if ed.command == "modify":
            return _GENERIC.modify(ed, target)
        return _GENERIC.delete(ed, target)

    def revalidate(self, ed: _Edit, element) -> None:
        pass


# ====================================================================== structural rules
def _issues(ed: _Edit, kinds: tuple[str, ...]) -> list[tuple[type, str, object]]:
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


def _rules_network(ed: _Edit, out: list) -> None:
    root, n = ed.root, _q(ed.n)
    mac = _first_child(root, "mac")
    if mac is not None and mac.get("address") and not _readable(T.MAC, mac.get("address")):
        out.append((InvalidFragmentError, f"invalid MAC address '{mac.get('address')}' in "
                    f"network {n}", mac))
    for tag, limit in S.CHILDREN["network"].items():
        if limit == S.ONE:
            found = list(root.iterchildren(tag))
            if len(found) > 1:
                out.append((DuplicateError, f"network {n} has more than one <{tag}> element",
                            found[1]))


def _singleton_rules(tag: str, handler: Callable) -> Callable[[_Edit, list], None]:
    """The rules of a singleton element (``<bridge>``, ``<domain>``): the checks of its
    handler (given as a function: the handlers are defined further down)."""
    def rules(ed: _Edit, out: list) -> None:
        element = _first_child(ed.root, tag)
        if element is not None:
            try:
                handler().check_new(ed, element)
            except UpdateError as exc:
                out.append((type(exc), exc.message, element))
    return rules


_rules_bridge = _singleton_rules("bridge", lambda: _BRIDGE)
_rules_domain = _singleton_rules("domain", lambda: _DOMAIN)


def _rules_ip(ed: _Edit, out: list) -> None:
    """NU-E105's family part (``ip.host_families``), until ip-dhcp-host has its module."""
    for found in IP.host_families(ed):
        out.append((found.error, found.message, found.target))


_RULES: Mapping[str, Callable] = {
    "network": _rules_network, "bridge": _rules_bridge,
    "domain": _rules_domain, "ip": _rules_ip,
}


# ====================================================================== nodeSpec
_XPATH_TOKEN = re.compile(r"""
    (?P<literal>"[^"]*"|'[^']*')
  | (?P<variable>\$)
  | (?P<name>(?:[A-Za-z_][\w.\-]*:)?[A-Za-z_][\w.\-]*)(?P<call>\s*\()?
  | (?P<other>\S)
""", re.X | re.S)


def _check_xpath(spec: str) -> None:
    """Refuse what a node spec may not use: variables, and functions other than XPath 1.0's
    core library (``document()``, extension functions, ...)."""
    for match in _XPATH_TOKEN.finditer(spec):
        if match.group("variable"):
            raise UnsupportedError(f"node spec {_short(spec, 200)!r}: variables are not allowed")
        name = match.group("name")
        if name and match.group("call"):
            if ":" in name:
                raise UnsupportedError(f"node spec {_short(spec, 200)!r}: extension function "
                                       f"'{_short(name)}()' is "
                                       "not allowed")
            if name not in _XPATH_FUNCTIONS and name not in _XPATH_NODE_TYPES:
                raise UnsupportedError(f"node spec {_short(spec, 200)!r}: function "
                                       f"'{_short(name)}()' is not allowed "
                                       "(only XPath 1.0 core functions)")


def _select(ed: _Edit, spec) -> etree._Element:
    from netupdate.edit import xpathguard

    if not isinstance(spec, str) or not spec.strip():
        raise InvalidFragmentError("the node spec is empty")
    if len(spec) > _XPATH_MAX:
        raise InvalidFragmentError(f"the node spec is longer than {_XPATH_MAX} characters")
    spec_shown = _short(spec, 200)
    _check_xpath(spec)
    try:
        xpath = etree.XPath(spec, namespaces=_XPATH_NAMESPACES, regexp=False,
                            smart_strings=True)
        result = xpathguard.evaluate(xpath, ed.root, spec, ed.path)
    except etree.XPathError as exc:
        raise InvalidFragmentError(f"invalid node spec {spec_shown!r}: {_short(str(exc), 200)}") \
            from None
    except xpathguard.TooCostly:
        raise UnsupportedError(f"node spec {spec_shown!r} was stopped after "
                               f"{xpathguard.TIMEOUT:g} s: too costly for this network "
                               "(address the element more directly)") from None
    if result.kind in ("boolean", "string", "number", "value"):
        raise UnsupportedError(f"node spec {spec_shown!r} evaluates to a {result.kind}, not "
                               "to an element")
    if result.kind is not None:
        raise UnsupportedError(f"node spec {spec_shown!r} selects {result.kind}; only elements "
                               "of the network document can be targeted")
    if not result.count:
        raise NotFoundError(f"node spec {spec_shown!r} matches no element in network "
                            f"{_q(ed.n)}")
    if result.count > 1:
        shown = ", ".join(result.paths[:20])
        more = f" and {result.count - 20} more" if result.count > 20 else ""
        raise AmbiguousError(f"node spec {spec_shown!r} matches {result.count} elements in "
                             f"network {_q(ed.n)}: {shown}{more}")
    return result.elements[0]


def _section_handler_for_child(ed: _Edit, parent, tag: str):
    """(section, handler, scope) when a ``tag`` child of ``parent`` is a section's element."""
    if parent.tag == "ip" and tag in ("host", "range") and parent.getparent() is ed.root:
        section = S.BY_NAME["ip-dhcp-host" if tag == "host" else "ip-dhcp-range"]
    else:
        section = S.section_for_child(parent, tag)
    if section is None or section.name == "network":
        return None
    handler = _HANDLERS[section.name]
    scope = handler.scope_of(ed, parent)
    if scope is None:
        return None
    return section, handler, scope


def _run_node_spec(ed: _Edit, spec: str) -> Change:
    ed.node_spec = spec
    target = _select(ed, spec)
    frag = ed.frag
    if ed.command in ("add-first", "add-last"):
        found = _section_handler_for_child(ed, target, frag.tag)
        if found is not None:
            section, handler, scope = found
            ed.claim(section)
            return handler.add(ed, scope)
        return _GENERIC.add(ed, target)
    if frag is None or frag.tag == target.tag:
        if target is ed.root:
            ed.fail(UnsupportedError, "the <network> element itself cannot be "
                    + ("replaced; edit its children" if ed.command == "modify" else "deleted"))
        section, section_el = S.section_of(target)
        if section_el is target and section.name != "network":
            handler = _HANDLERS[section.name]
            scope = handler.scope_of(ed, target.getparent())
            ed.claim(section)
            if ed.command == "modify":
                return handler.modify(ed, scope, target)
            return handler.delete(ed, scope, target)
        if ed.command == "modify":
            return _GENERIC.modify(ed, target)
        return _GENERIC.delete(ed, target)
    found = _section_handler_for_child(ed, target, frag.tag)
    if found is not None:
        section, handler, scope = found
        ed.claim(section)
        if ed.command == "modify":
            return handler.modify(ed, scope, None)
        return handler.delete(ed, scope, None)
    allowed = S.allowed_children(target)
    if allowed is not None and frag.tag not in allowed:
        ed.fail(InvalidFragmentError, f"unexpected element <{_tag_text(frag)}>: the node spec "
                f"selects <{_tag_text(target)}>, and <{_tag_text(frag)}> is neither that nor "
                f"one of its children (network {_q(ed.n)})", target)
    child = _identify_child(ed, target, frag)
    if ed.command == "modify":
        return _GENERIC.modify(ed, child)
    return _GENERIC.delete(ed, child)


# ====================================================================== registry
_BRIDGE = _SingletonHandler("bridge", S.hook("bridge", "RECHECK"))
_DOMAIN = _SingletonHandler("domain", S.hook("domain", "RECHECK"))
_HANDLERS: Mapping[str, _Handler] = {
    "bridge": _BRIDGE,
    "domain": _DOMAIN,
    "ip": _IpHandler(),
    "ip-dhcp-host": _DhcpHostHandler(),
    "ip-dhcp-range": _DhcpRangeHandler(),
    "forward": _ForwardHandler("forward", S.hook("forward", "RECHECK")),
    "forward-interface": _ForwardInterfaceHandler(),
    "forward-pf": _PfHandler(),
    "portgroup": _PortgroupHandler(),
    "dns-host": _DnsHostHandler(),
    "dns-txt": _DnsTxtHandler(),
    "dns-srv": _DnsSrvHandler(),
    "dns": _SingletonHandler("dns", DNS.RECHECK),
    "network": _NetworkHandler(),
}
