"""The handlers of DNS records (``dns-host``, ``dns-txt``, ``dns-srv``): libvirt's matching
keys and duplicate rules; DNS host adds check addresses through ``DnsIpIndex``.

This module does no I/O.
"""

from __future__ import annotations

from lxml import etree

from netupdate import sections as S
from netupdate.edit.context import Change, Edit, check_fragment
from netupdate.edit.handlers.base import Handler
from netupdate.edit.indexes import DnsIpIndex, ip_key
from netupdate.edit.placement import first_child
from netupdate.errors import AmbiguousError, DuplicateError, InvalidOperationError, NotFoundError
from netupdate.sections import dns as DNS
from netupdate.sections import dns_host as DNS_HOST
from netupdate.sections import dns_srv as DNS_SRV
from netupdate.sections.ip_dhcp_host import norm_ip


class _DnsRecordHandler(Handler):
    tag = ""

    def scope_of(self, ed: Edit, element):
        if element is ed.root or (element.tag == "dns" and element.getparent() is ed.root):
            return ed.root
        return None

    @staticmethod
    def dns(ed: Edit):
        return first_child(ed.root, "dns")

    def records(self, ed: Edit, exclude=None):
        dns = self.dns(ed)
        if dns is None:
            return []
        return [e for e in dns.iterchildren(self.tag) if e is not exclude]

    def insert(self, ed: Edit, frag) -> None:
        dns = self.dns(ed)
        if dns is None:
            dns = etree.Element("dns")
            dns.append(frag)
            ed.insert_ordered(ed.root, dns, first=True)
        else:
            ed.insert_ordered(dns, frag)

    def check_enabled(self, ed: Edit) -> None:
        dns = self.dns(ed)
        if dns is not None and dns.get("enable") == "no":
            ed.fail(InvalidOperationError, DNS.disabled_message(ed.n), dns)

    def parse(self, ed: Edit, element, full: bool):
        raise NotImplementedError

    def matching(self, ed: Edit, element, parsed, exclude=None) -> list:
        raise NotImplementedError

    def duplicates(self, ed: Edit, element, parsed, exclude=None) -> list:
        return self.matching(ed, element, parsed, exclude)

    def refuse_duplicate(self, ed: Edit, element, parsed, existing) -> None:
        raise NotImplementedError

    def not_found(self, ed: Edit) -> None:
        ed.fail(NotFoundError, f"couldn't locate a matching {self.noun} in network {ed.n} "
                f"(pattern {ed.key_text()})")

    def ambiguous(self, ed: Edit, found) -> None:
        paths = ", ".join(ed.path(e) for e in found)
        ed.fail(AmbiguousError, f"multiple matching {self.noun}s were found in network {ed.n} "
                f"(pattern {ed.key_text()} matches {paths})")

    noun = "DNS record"

    def add(self, ed: Edit, root) -> Change:
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

    def find_for_modify(self, ed: Edit, frag, parsed) -> list:
        return self.matching(ed, frag, parsed)

    def modify(self, ed: Edit, root, target) -> Change:
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

    def delete(self, ed: Edit, root, target) -> Change:
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

    def revalidate(self, ed: Edit, element) -> None:
        parsed = self.parse(ed, element, full=True)
        clash = self.duplicates(ed, element, parsed, exclude=element)
        if clash:
            self.refuse_duplicate(ed, element, parsed, clash[0])


class DnsHostHandler(_DnsRecordHandler):
    section = S.BY_NAME["dns-host"]
    tag = "host"
    noun = "DNS HOST record"

    def parse(self, ed: Edit, element, full: bool):
        check_fragment(ed, "dns-host", element, full)
        raw = element.get("ip")
        return (DNS_HOST.parse_ip(raw) if raw is not None else None,
                DNS_HOST.hostnames(element))

    def matching(self, ed: Edit, element, parsed, exclude=None) -> list:
        ip, names = parsed
        wanted = set(names)
        return [e for e in self.records(ed, exclude)
                if (ip is not None and norm_ip(e.get("ip", "")) == ip)
                or (wanted and wanted & set(DNS_HOST.hostnames(e)))]

    def duplicates(self, ed: Edit, element, parsed, exclude=None) -> list:
        key = ip_key(str(parsed[0]))
        dns = self.dns(ed)
        if dns is None or not DnsIpIndex.of(ed.network, dns).count.get(key):
            return []
        return [e for e in self.records(ed, exclude) if ip_key(e.get("ip", "")) == key]

    def insert(self, ed: Edit, frag) -> None:
        index = self.dns(ed) is not None and DnsIpIndex.of(ed.network, self.dns(ed))
        super().insert(ed, frag)
        if index:
            index.add(frag)
            index.stamp = index.current_stamp()
            ed.dns_index_kept = True

    def find_for_modify(self, ed: Edit, frag, parsed) -> list:
        return self.duplicates(ed, frag, parsed)

    def refuse_duplicate(self, ed: Edit, element, parsed, existing) -> None:
        ed.fail(DuplicateError, DNS_HOST.duplicate_message(ed.n, parsed[0]), existing)


class DnsTxtHandler(_DnsRecordHandler):
    section = S.BY_NAME["dns-txt"]
    tag = "txt"
    noun = "DNS TXT record"

    def parse(self, ed: Edit, element, full: bool):
        check_fragment(ed, "dns-txt", element, full)
        return element.get("name")

    def matching(self, ed: Edit, element, parsed, exclude=None) -> list:
        return [e for e in self.records(ed, exclude) if e.get("name") == parsed]

    def refuse_duplicate(self, ed: Edit, element, parsed, existing) -> None:
        ed.fail(DuplicateError, f"there is already a DNS TXT record with name '{parsed}' in "
                f"network {ed.n}", existing)


class DnsSrvHandler(_DnsRecordHandler):
    section = S.BY_NAME["dns-srv"]
    tag = "srv"
    noun = "DNS SRV record"

    def parse(self, ed: Edit, element, full: bool):
        check_fragment(ed, "dns-srv", element, full)
        return {key: element.get(key) for key in DNS_SRV.KEYS if element.get(key) is not None}

    def matching(self, ed: Edit, element, parsed, exclude=None) -> list:
        return [e for e in self.records(ed, exclude)
                if all(e.get(key) == value for key, value in parsed.items())]

    def refuse_duplicate(self, ed: Edit, element, parsed, existing) -> None:
        ed.fail(DuplicateError, "there is already at least one DNS SRV record matching all "
                f"specified fields in network {ed.n} (pattern {ed.key_text()})", existing)

    def ambiguous(self, ed: Edit, found) -> None:
        paths = ", ".join(ed.path(e) for e in found)
        ed.fail(AmbiguousError, "multiple DNS SRV records matching all specified fields were "
                f"found in network {ed.n} (pattern {ed.key_text()} matches {paths})")
