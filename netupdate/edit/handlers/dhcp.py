"""The handlers of DHCP hosts and ranges (``ip-dhcp-host``, ``ip-dhcp-range``): libvirt's
parentIndex rule for choosing the ``<ip>``, its checks of a static host, and host edits through
the per-``<dhcp>`` ``HostIndex``.

This module does no I/O.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

from lxml import etree

from netupdate import sections as S
from netupdate.document.source import element_path
from netupdate.edit.context import Change, Edit, check_fragment, q, refuse
from netupdate.edit.handlers.base import Handler
from netupdate.edit.indexes import HostIndex, Stale
from netupdate.edit.placement import first_child, index_after, index_before, ordered_index
from netupdate.errors import DuplicateError, InvalidOperationError, NotFoundError, UpdateError
from netupdate.model import defs as M
from netupdate.model import text as TC
from netupdate.model import values as T
from netupdate.model.values import parse_ip
from netupdate.sections import ip as IP
from netupdate.sections import ip_dhcp_host as HOST
from netupdate.sections import ip_dhcp_range as DHCP_RANGE
from netupdate.sections.ip_dhcp_host import norm_ip


def _check_lease(ed: Edit, element) -> None:
    refuse(ed, DHCP_RANGE.check_lease(element, ed.n))


class _DhcpBase(Handler):
    tag = "host"
    noun = "dhcp host entry"

    def hint(self, frag) -> int | None:
        raise NotImplementedError

    def scope(self, ed: Edit):
        return self.select_ip(ed, self.hint(ed.frag))

    def scope_of(self, ed: Edit, element):
        if element.tag == "dhcp":
            element = element.getparent()
        if element is not None and element.tag == "ip" and element.getparent() is ed.root:
            return element
        return None

    def select_ip(self, ed: Edit, hint: int | None):
        """libvirt's parentIndex rule, except that with a negative index a fragment whose
        family is known goes to an <ip> of that family."""
        ips = list(ed.root.iterchildren("ip"))
        n = q(ed.n)
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

    def single_dhcp(self, ed: Edit, ip_el, version: int) -> None:
        for other in ed.root.iterchildren("ip"):
            if other is not ip_el and IP.ip_version(other) == version and IP.dhcp_active(other):
                ed.fail(InvalidOperationError, IP.single_dhcp(version), other)

    def context(self, ip_el, version: int) -> dict:
        return {"ip_version": version, "ip_path": element_path(ip_el)}

    def cleanup(self, ed: Edit, dhcp) -> None:
        if ed.drop_if_empty(dhcp):
            ed.network._indexes.pop(("dhcp-hosts", dhcp), None)

    def insert(self, ed: Edit, ip_el, frag) -> None:
        """Insert a range or host into the <dhcp> of ``ip_el`` (created if missing)."""
        dhcp = first_child(ip_el, "dhcp")
        if dhcp is None:
            dhcp = etree.Element("dhcp")
            dhcp.append(frag)
            ed.insert_ordered(ip_el, dhcp, first=True)
        else:
            ed.insert_ordered(dhcp, frag)


_HOST_FIELDS = ("mac", "id", "name", "ip", "lease")
_HOST_FAST = tuple(f.name for f in M.fields_of(M.DhcpHost)) == _HOST_FIELDS


def _host_def(ed: Edit, element, known: dict | None = None) -> M.DhcpHost:
    """``DhcpHost.from_element`` for a plain ``<host/>``, built directly (the generic reader
    costs more than the rest of an update) from the key values already parsed (``known``);
    anything else goes the generic way."""
    if not _HOST_FAST or len(element) or not set(element.attrib) <= set(_HOST_FIELDS):
        return ed.read(M.DhcpHost, element)
    mac, id_, name, ip = (element.get(attribute) for attribute in _HOST_FIELDS[:4])
    parsed = known.get("ip") if known else None
    try:
        if ip is not None and not isinstance(parsed, ipaddress.IPv4Address | ipaddress.IPv6Address):
            parsed = parse_ip(ip)
        return M.DhcpHost(mac=T.MAC(mac) if mac is not None else None,
                          id=T.DUID(id_) if id_ is not None else None,
                          name=name if name is None else TC.dhcp_host_name(name),
                          ip=parsed if ip is not None else None)
    except ValueError:
        return ed.read(M.DhcpHost, element)


def _old_host_def(ed: Edit, index: HostIndex, host) -> M.DhcpHost | None:
    try:
        return _host_def(ed, host, index.values.get(host))
    except UpdateError:
        return None


def _host_index(ed: Edit, dhcp, fresh: bool = False) -> HostIndex:
    key = (HostIndex.KIND, dhcp)
    index = None if fresh else ed.network._indexes.get(key)
    if index is None or not index.plausible():
        index = HostIndex(dhcp, None if fresh else _typed_hosts(ed.network, dhcp))
        ed.network._indexes[key] = index
    return index


def _typed_hosts(network, dhcp) -> tuple | None:
    """The typed hosts of ``dhcp`` from ``network.defs`` when it is read (it describes the
    tree as the update starts), else None."""
    defs, ip_el = network._defs, dhcp.getparent()
    if defs is None or ip_el is None or ip_el.getparent() is not network.root:
        return None
    for ip_def, element in zip(defs.ips, network.root.iterchildren("ip"), strict=False):
        if element is ip_el:
            first = next(ip_el.iterchildren("dhcp"), None)
            return ip_def.dhcp.hosts if first is dhcp and ip_def.dhcp is not None else None
    return None


def _with_index(ed: Edit, dhcp, work: Callable):
    try:
        return work(_host_index(ed, dhcp))
    except Stale:
        return work(_host_index(ed, dhcp, fresh=True))


class DhcpHostHandler(_DhcpBase):
    section = S.BY_NAME["ip-dhcp-host"]

    def hint(self, frag) -> int | None:
        ip = frag.get("ip")
        if ip is not None:
            try:
                return parse_ip(ip).version
            except ValueError:
                pass
        if frag.get("mac") is not None:
            return 4
        if frag.get("id") is not None:
            return 6
        return None

    def parse(self, ed: Edit, element, version: int, full: bool) -> dict:
        """libvirt's checks of a static host; returns its normalised key attributes."""
        refuse(ed, HOST.check_attributes(element, ed.n, version))
        _check_lease(ed, element)
        refuse(ed, HOST.check_complete(element, ed.n, version, full))
        return HOST.key_of(element)

    def family(self, ed: Edit, ip, version: int, ip_el) -> None:
        if ip.version != version:
            ed.fail(InvalidOperationError, "the address family of a host entry IP must match the "
                    "address family of the dhcp element's parent", ip_el)

    @staticmethod
    def clash(index: HostIndex, attrs: dict, exclude):
        for kind in HOST.CLASH_KEYS:
            value = attrs.get(kind)
            if value is None:
                continue
            for host in index.lookup(kind, value):
                if host is not exclude:
                    return host
        return None

    def refuse_clash(self, ed: Edit, element, clash) -> None:
        ed.fail(DuplicateError, HOST.clash_message(ed.n, element), clash)

    @staticmethod
    def matches(host, attrs: dict) -> bool:
        current = HOST.key_of(host)
        return all(current.get(kind) == value for kind, value in attrs.items())

    # -------------------------------------------------------------- commands
    def add(self, ed: Edit, ip_el) -> Change:
        frag = ed.frag
        ed.expect_tag(frag, "host")
        version = IP.ip_version(ip_el)
        attrs = self.parse(ed, frag, version, full=True)
        new = _host_def(ed, frag, attrs)
        self.single_dhcp(ed, ip_el, version)
        dhcp = first_child(ip_el, "dhcp")
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
                position = (index_before(index.first()) if ed.first
                            else index_after(index.last()))
            else:
                position = ordered_index(dhcp, "host", ed.first)
            ed.insert(dhcp, position, frag)
            index.added(frag, ed.first, attrs)
        return ed.change(self.section, ed.path(frag), after=new, after_xml=ed.text(frag),
                         **self.context(ip_el, version))

    def modify(self, ed: Edit, ip_el, target) -> Change:
        frag = ed.frag
        ed.expect_tag(frag, "host")
        version = IP.ip_version(ip_el)
        attrs = self.parse(ed, frag, version, full=True)
        new = _host_def(ed, frag, attrs)
        self.family(ed, attrs["ip"], version, ip_el)
        dhcp = first_child(ip_el, "dhcp") if target is None else target.getparent()

        def find(index: HostIndex):
            found = target
            if found is None:
                hits = []
                for kind in ("mac", "ip", "name", "id"):
                    if kind in attrs:
                        hits.extend(index.lookup(kind, attrs[kind]))
                found = index.earliest(hits)
            elif found not in index.order:
                raise Stale
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

    def delete(self, ed: Edit, ip_el, target) -> Change:
        frag = ed.frag
        version = IP.ip_version(ip_el)
        attrs = None
        if frag is not None:
            ed.expect_tag(frag, "host")
            attrs = self.parse(ed, frag, version, full=False)
        dhcp = first_child(ip_el, "dhcp") if target is None else target.getparent()

        def find(index: HostIndex):
            if target is not None:
                if target not in index.order:
                    raise Stale
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
                    f"{q(ed.n)} (pattern {ed.key_text()})", ip_el)
        before, before_xml = _old_host_def(ed, index, found), ed.text(found)
        path = ed.path(found)
        ed.remove(found)
        index.removed(found)
        self.cleanup(ed, dhcp)
        return ed.change(self.section, path, before=before, before_xml=before_xml,
                         **self.context(ip_el, version))

    def revalidate(self, ed: Edit, element) -> None:
        ip_el = element.getparent().getparent()
        version = IP.ip_version(ip_el)
        attrs = self.parse(ed, element, version, full=True)
        self.family(ed, attrs["ip"], version, ip_el)
        clash = _with_index(ed, element.getparent(),
                            lambda idx: self.clash(idx, attrs, element))
        if clash is not None:
            self.refuse_clash(ed, element, clash)


class DhcpRangeHandler(_DhcpBase):
    section = S.BY_NAME["ip-dhcp-range"]
    tag = "range"
    noun = "dhcp range entry"

    def hint(self, frag) -> int | None:
        start = frag.get("start")
        try:
            return parse_ip(start).version if start else None
        except ValueError:
            return None

    def parse(self, ed: Edit, element, ip_el):
        ed.expect_tag(element, "range")
        check_fragment(ed, "ip-dhcp-range", element)
        for found in DHCP_RANGE.against(element, ed.n, ed.ip_def(ip_el)):
            ed.fail(found.error, found.message, ip_el)
        return DHCP_RANGE.endpoints(element)

    @staticmethod
    def find(dhcp, start, end, exclude=None):
        if dhcp is None:
            return None
        for element in dhcp.iterchildren("range"):
            if element is not exclude and norm_ip(element.get("start", "")) == start \
                    and norm_ip(element.get("end", "")) == end:
                return element
        return None

    def refuse_duplicate(self, ed: Edit, start, end, existing) -> None:
        ed.fail(DuplicateError, f"there is an existing dhcp range entry in network {q(ed.n)} "
                f"that matches \"<range start='{start}' end='{end}'/>\"", existing)

    def not_found(self, ed: Edit, ip_el) -> None:
        ed.fail(NotFoundError, f"couldn't locate a matching dhcp range entry in network "
                f"{q(ed.n)} (pattern {ed.key_text()})", ip_el)

    def add(self, ed: Edit, ip_el) -> Change:
        frag = ed.frag
        version = IP.ip_version(ip_el)
        start, end = self.parse(ed, frag, ip_el)
        new = ed.read(M.DhcpRange, frag)
        self.single_dhcp(ed, ip_el, version)
        existing = self.find(first_child(ip_el, "dhcp"), start, end)
        if existing is not None:
            self.refuse_duplicate(ed, start, end, existing)
        self.insert(ed, ip_el, frag)
        return ed.change(self.section, ed.path(frag), after=new, after_xml=ed.text(frag),
                         **self.context(ip_el, version))

    def modify(self, ed: Edit, ip_el, target) -> Change:
        frag = ed.frag
        version = IP.ip_version(ip_el)
        start, end = self.parse(ed, frag, ip_el)
        new = ed.read(M.DhcpRange, frag)
        dhcp = first_child(ip_el, "dhcp")
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

    def delete(self, ed: Edit, ip_el, target) -> Change:
        frag = ed.frag
        version = IP.ip_version(ip_el)
        dhcp = first_child(ip_el, "dhcp")
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

    def revalidate(self, ed: Edit, element) -> None:
        ip_el = element.getparent().getparent()
        start, end = self.parse(ed, element, ip_el)
        existing = self.find(element.getparent(), start, end, exclude=element)
        if existing is not None:
            self.refuse_duplicate(ed, start, end, existing)
