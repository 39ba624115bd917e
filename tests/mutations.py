"""Schema-breaking mutations of the network fixtures (a test helper for tests/test_schema.py).

``generate(paths)`` parses every fixture, applies each kind of mutation a few times and returns
the distinct results.  Every mutation is meant to make the document invalid under the netupdate
grammar; the tests check that, and that libvirt's grammar and the XSD twin agree.  The choices
are drawn from ``random.Random`` seeded per fixture, kind and attempt, so the list is the same on
every run and adding a kind does not reshuffle the others.

A mutator takes a fresh copy of a fixture's root element and a ``Random``; it changes the tree in
place and returns a one-line description, or ``None`` when the fixture has nothing to mutate.
The mutated tree is serialised and parsed again, so every element carries a source line.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from netupdate.document.source import decode, parse_element

SEED = 20240521
ATTEMPTS = 2
DNSMASQ_NS = "http://libvirt.org/schemas/network/dnsmasq/1.0"
NS = {"dnsmasq": DNSMASQ_NS}
TEXT_ELEMENTS = {"name", "uuid", "title", "description", "hostname"}

Mutator = Callable[[etree._Element, random.Random], "str | None"]


@dataclass(frozen=True)
class Mutation:
    kind: str
    description: str
    fixture: str
    tree: etree._ElementTree

    @property
    def id(self) -> str:
        return f"{self.fixture}:{self.kind}:{self.description}"


def parse_fixture(path: Path) -> etree._Element:
    text, _, _ = decode(path.read_bytes(), str(path))
    return parse_element(text, str(path))


def generate(paths: list[Path]) -> list[Mutation]:
    mutations = []
    for path in sorted(paths):
        original = parse_fixture(path)
        for kind, mutator in MUTATORS.items():
            seen = set()
            for attempt in range(ATTEMPTS):
                root = copy.deepcopy(original)
                description = mutator(root, random.Random(f"{SEED}:{path.name}:{kind}:{attempt}"))
                if description is None or description in seen:
                    continue
                seen.add(description)
                mutations.append(Mutation(kind, description, path.name, _reparsed(root)))
    return mutations


def _reparsed(root: etree._Element) -> etree._ElementTree:
    return etree.ElementTree(parse_element(etree.tostring(root, encoding="unicode")))


# ------------------------------------------------------------------------------------ helpers

def _find(root: etree._Element, xpath: str) -> list[etree._Element]:
    return root.xpath(xpath, namespaces=NS)


def _outside_metadata(root: etree._Element) -> list[etree._Element]:
    return [el for el in root.iter(etree.Element)
            if not any(a.tag == "metadata" for a in el.iterancestors()) and el.tag != "metadata"]


def _label(el: etree._Element) -> str:
    return el.getroottree().getpath(el)


def _set_attribute(table, root, rng, *, only_present: bool) -> str | None:
    """Give one (element, attribute) of ``table`` a bad value: rows are (xpath, attr, values)."""
    choices = [(el, attr, values) for xpath, attr, values in table for el in _find(root, xpath)
               if not only_present or attr in el.attrib]
    if not choices:
        return None
    el, attr, values = rng.choice(choices)
    value = rng.choice(values)
    el.set(attr, value)
    return f"{_label(el)}/@{attr}={value!r}"


# ----------------------------------------------------------------------------------- mutators

REQUIRED_ATTRIBUTES = [
    ("/network/mtu", "size"), ("/network/mac", "address"), ("/network/forward/interface", "dev"),
    ("/network/forward/pf", "dev"), ("/network/forward/driver", "name"),
    ("/network/forward/address", "type"), ("/network/forward/nat/address", "start"),
    ("/network/forward/nat/port", "end"), ("/network/portgroup", "name"),
    ("/network/domain", "name"), ("/network/dns/txt", "name"), ("/network/dns/txt", "value"),
    ("/network/dns/srv", "service"), ("/network/dns/srv", "protocol"), ("/network/dns/host", "ip"),
    ("//vlan/tag", "id"), ("/network/ip/tftp", "root"), ("/network/ip/dhcp/range", "start"),
    ("/network/ip/dhcp/range", "end"), ("/network/ip/dhcp/host", "ip"),
    ("/network/ip/dhcp/bootp", "file"), ("//lease", "expiry"), ("/network/route", "address"),
    ("/network/route", "gateway"), ("/network/dnsmasq:options/dnsmasq:option", "value"),
    ("//virtualport[@type='midonet']/parameters", "interfaceid"),
]


def drop_required_attribute(root, rng):
    choices = [(el, attr) for xpath, attr in REQUIRED_ATTRIBUTES for el in _find(root, xpath)
               if attr in el.attrib]
    if not choices:
        return None
    el, attr = rng.choice(choices)
    del el.attrib[attr]
    return f"drop {_label(el)}/@{attr}"


def drop_host_identity(root, rng):
    hosts = _find(root, "/network/ip/dhcp/host")
    if not hosts:
        return None
    host = rng.choice(hosts)
    for attr in ("mac", "id", "name"):
        host.attrib.pop(attr, None)
    return f"drop mac, id and name of {_label(host)}"


REQUIRED_ELEMENTS = ["/network/name", "/network/dns/host/hostname", "//vlan/tag",
                     "//virtualport[@type='midonet']/parameters"]


def drop_required_element(root, rng):
    choices = [xpath for xpath in REQUIRED_ELEMENTS if _find(root, xpath)]
    if not choices:
        return None
    xpath = rng.choice(choices)
    parent = rng.choice(_find(root, xpath)).getparent()
    for el in _find(parent, xpath.rsplit("/", 1)[1]):
        parent.remove(el)
    return f"drop every {xpath.rsplit('/', 1)[1]} of {_label(parent)}"


YES_NO = ["true", "1", "on", "YES"]
BAD_ENUMS = [
    ("/network/forward", "mode", ["natt", "NAT", "none"]),
    ("/network/forward", "managed", YES_NO), ("/network/bridge", "stp", ["yes", "1"]),
    ("/network/bridge", "macTableManager", ["kernal", "ovs"]),
    ("/network/ip", "family", ["ipv5", "inet", "IPv4"]), ("/network/ip", "localPtr", YES_NO),
    ("/network/route", "family", ["inet6"]), ("/network/dns/srv", "protocol", ["sctp", "TCP"]),
    ("//lease", "unit", ["days", "s"]), ("/network/forward/driver", "name", ["xen"]),
    ("//vlan/tag", "nativeMode", ["both"]), ("//vlan", "trunk", ["no"]),
    ("/network/domain", "localOnly", YES_NO), ("/network/dns", "enable", YES_NO),
    ("/network/dns", "forwardPlainNames", YES_NO), ("/network/portgroup", "default", YES_NO),
    ("/network", "ipv6", YES_NO), ("/network", "trustGuestRxFilters", YES_NO),
    ("/network/port", "isolated", YES_NO), ("/network/forward/nat", "ipv6", YES_NO),
    ("/network/forward/address", "multifunction", ["yes"]),
    ("//virtualport", "type", ["vxlan", "802.1qbg"]),
]


def bad_enum(root, rng):
    return _set_attribute(BAD_ENUMS, root, rng, only_present=False)


BAD_IPS = ["192.168.1.256", "10.0.0", "192.168.01.1", "fe80::g1", "1:2:3:4:5:6:7:8:9",
           "2001:db8:::1", "localhost", "", " 10.0.0.1"]
ADDRESS_ATTRIBUTES = [
    ("/network/ip", "address"), ("/network/ip", "netmask"), ("/network/ip/dhcp/range", "start"),
    ("/network/ip/dhcp/range", "end"), ("/network/ip/dhcp/host", "ip"),
    ("/network/dns/host", "ip"), ("/network/dns/forwarder", "addr"),
    ("/network/route", "address"), ("/network/route", "gateway"),
    ("/network/forward/nat/address", "start"), ("/network/forward/nat/address", "end"),
]


def bad_address(root, rng):
    table = [(xpath, attr, BAD_IPS) for xpath, attr in ADDRESS_ATTRIBUTES]
    return _set_attribute(table, root, rng, only_present=True)


BAD_MACS = ["01:00:5e:00:00:01", "52:54:00:12:34", "52-54-00-12-34-56", "52:54:00:12:34:5g",
            "525400123456", "52:54:00:12:34:56:78"]


def bad_mac(root, rng):
    table = [("/network/mac", "address", BAD_MACS), ("/network/ip/dhcp/host", "mac", BAD_MACS)]
    return _set_attribute(table, root, rng, only_present=True)


OUT_OF_RANGE = [
    ("/network/mtu", "size", ["65536", "-1"]), ("//vlan/tag", "id", ["4096", "99999"]),
    ("/network/ip", "prefix", ["129", "256"]), ("/network/route", "prefix", ["200"]),
    ("/network/forward/nat/port", "start", ["0", "65536"]),
    ("/network/forward/nat/port", "end", ["70000"]), ("/network/dns/srv", "port", ["65536"]),
    ("/network/dns/srv", "weight", ["70000"]), ("/network/dns/srv", "priority", ["-1"]),
    ("//lease", "expiry", ["-5", "1h", "18446744073709551616"]),
    ("//bandwidth/inbound", "average", ["0"]), ("//bandwidth/outbound", "peak", ["0"]),
    ("//bandwidth", "classID", ["0"]), ("/network/bridge", "delay", ["-1", "0.5"]),
    ("/network", "connections", ["4294967296"]),
    ("/network/forward/interface", "connections", ["-1"]),
    ("/network/forward/address", "slot", ["0x20", "32"]),
    ("/network/forward/address", "function", ["8", "0x8"]),
    ("/network/forward/address", "bus", ["256", "0x100"]),
    ("//virtualport/parameters", "managerid", ["256", "0x100"]),
    ("//virtualport/parameters", "typeid", ["0x1000000", "16777216"]),
    ("/network/route", "metric", ["-1", "4294967296"]), ("/network/dns/forwarder", "port", ["0"]),
]


def out_of_range(root, rng):
    return _set_attribute(OUT_OF_RANGE, root, rng, only_present=False)


BAD_NAMES = [
    ("/network/bridge", "name", ["vir br0", "br;0"]), ("/network/bridge", "zone", ["my.zone"]),
    ("/network/portgroup", "name", ["pg 1", "pg@1"]),
    ("/network/domain", "name", ["exa_mple.com", "ex ample"]),
    ("/network/dns/txt", "name", ["a b", "under_score"]), ("/network/forward", "dev", ["eth 0"]),
    ("/network/forward/interface", "dev", ["eth0 ", "eth$"]),
    ("/network/dns/srv", "domain", ["_tcp.example"]),
    ("/network/ip/dhcp/bootp", "server", ["boot server"]),
    ("/network/dns/forwarder", "domain", ["*.example"]),
]


def bad_name(root, rng):
    return _set_attribute(BAD_NAMES, root, rng, only_present=False)


BAD_UUIDS = ["1234", "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz", "7a1b2c3d-4e5f-6a7b-8c9d",
             "{7a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d}"]


def bad_uuid(root, rng):
    targets = [(el, None) for el in _find(root, "/network/uuid")]
    targets += [(el, attr) for el in _find(root, "//virtualport/parameters")
                for attr in ("instanceid", "interfaceid") if attr in el.attrib]
    if not targets:
        return None
    el, attr = rng.choice(targets)
    value = rng.choice(BAD_UUIDS)
    if attr is None:
        el.text = value
        return f"{_label(el)} text={value!r}"
    el.set(attr, value)
    return f"{_label(el)}/@{attr}={value!r}"


BAD_DUIDS = ["00:05:00:01:02:03:04:05", "0:1:0:1:zz:1:2:3:4:5:6:7:8:9", "00:04:01",
             "0:3:0:0:52:54:00:00:00:01", "1:3:0:1:52:54:00:00:00:01"]


def bad_duid(root, rng):
    hosts = _find(root, "/network/ip/dhcp/host[@id]")
    if not hosts:
        return None
    host = rng.choice(hosts)
    value = rng.choice(BAD_DUIDS)
    host.set("id", value)
    return f"{_label(host)}/@id={value!r}"


BAD_TEXT = [("/network/dns/host/hostname", ["bad_host", "two words", ""]),
            ("/network/title", ["two\nlines"])]


def bad_text(root, rng):
    choices = [(el, values) for xpath, values in BAD_TEXT for el in _find(root, xpath)]
    if not choices:
        return None
    el, values = rng.choice(choices)
    el.text = rng.choice(values)
    return f"{_label(el)} text={el.text!r}"


MISPLACEMENTS = [
    ("/network/ip/dhcp/host", "/network"), ("/network/ip/dhcp/range", "/network/ip"),
    ("/network/dns/txt", "/network"), ("/network/dns/host", "/network/ip/dhcp"),
    ("/network/ip", "/network/dns"), ("/network/portgroup", "/network/forward"),
    ("/network/bridge", "/network/ip"), ("/network/forward/interface", "/network"),
    ("/network/dns/host/hostname", "/network/dns"), ("//lease", "/network/ip/dhcp"),
    ("/network/route", "/network/ip"), ("/network/mac", "/network/bridge"),
    ("/network/uuid", "/network/forward"), ("/network/vlan", "/network/ip"),
    ("/network/forward/nat", "/network"), ("/network/dnsmasq:options", "/network/dns"),
]


def misplaced_element(root, rng):
    choices = [(el, parent) for xpath, target in MISPLACEMENTS for el in _find(root, xpath)
               for parent in _find(root, target)]
    if not choices:
        return None
    el, parent = rng.choice(choices)
    parent.append(copy.deepcopy(el))
    return f"copy {_label(el)} into {_label(parent)}"


SINGLETONS = [
    "/network/name", "/network/uuid", "/network/title", "/network/description",
    "/network/metadata", "/network/bridge", "/network/mtu", "/network/mac", "/network/forward",
    "/network/virtualport", "/network/domain", "/network/dns", "/network/bandwidth",
    "/network/vlan", "/network/port", "/network/dnsmasq:options", "/network/ip/dhcp",
    "/network/ip/tftp", "/network/ip/dhcp/bootp", "//lease", "/network/forward/nat",
    "/network/forward/pf", "/network/forward/driver", "/network/portgroup/vlan",
    "/network/portgroup/bandwidth", "//bandwidth/inbound", "//virtualport/parameters",
]


def duplicate_singleton(root, rng):
    choices = [el for xpath in SINGLETONS for el in _find(root, xpath)]
    if not choices:
        return None
    el = rng.choice(choices)
    el.addnext(copy.deepcopy(el))
    return f"duplicate {_label(el)}"


def unknown_element(root, rng):
    el = rng.choice(_outside_metadata(root))
    el.append(etree.Element("frobnicate"))
    return f"add <frobnicate/> to {_label(el)}"


def unknown_attribute(root, rng):
    el = rng.choice(_outside_metadata(root))
    el.set("frobnicate", "1")
    return f"add @frobnicate to {_label(el)}"


def text_in_empty_element(root, rng):
    choices = [el for el in _outside_metadata(root)
               if len(el) == 0 and etree.QName(el).localname not in TEXT_ELEMENTS]
    if not choices:
        return None
    el = rng.choice(choices)
    el.text = "stray text"
    return f"add text to {_label(el)}"


EXCLUSIVE_ATTRIBUTES = [
    ("/network/ip[@netmask]", "prefix", "24"), ("/network/ip[@prefix]", "netmask", "255.0.0.0"),
    ("/network/route[@netmask]", "prefix", "24"), ("/network/route[@prefix]", "netmask", "255.0.0.0"),
    ("/network/ip/dhcp/host[@mac]", "id", "0:3:0:1:52:54:00:00:00:01"),
    ("/network/ip/dhcp/host[@id]", "mac", "52:54:00:00:00:01"),
    ("//virtualport[@type='openvswitch']/parameters", "managerid", "1"),
    ("//virtualport[@type='802.1Qbg']/parameters", "profileid", "p1"),
    ("//virtualport[@type='802.1Qbh']/parameters", "interfaceid",
     "09b11c53-8b5c-4eeb-8f00-d84eaa0aaa4f"),
]


def exclusive_attributes(root, rng):
    table = [(xpath, attr, [value]) for xpath, attr, value in EXCLUSIVE_ATTRIBUTES]
    return _set_attribute(table, root, rng, only_present=False)


def interface_and_pci_address(root, rng):
    forwards = _find(root, "/network/forward[interface or address]")
    if not forwards:
        return None
    forward = rng.choice(forwards)
    if forward.find("interface") is not None:
        etree.SubElement(forward, "address", type="pci", domain="0", bus="0", slot="1",
                         function="0")
        return f"add a PCI <address> to {_label(forward)}, which lists interfaces"
    etree.SubElement(forward, "interface", dev="eth9")
    return f"add an <interface> to {_label(forward)}, which lists PCI addresses"


def metadata_without_namespace(root, rng):
    metadata = root.find("metadata")
    if metadata is None:
        metadata = etree.SubElement(root, "metadata")
    etree.SubElement(metadata, rng.choice(["note", "owner"])).text = "plain"
    return f"add an element without namespace to {_label(metadata)}"


MUTATORS: dict[str, Mutator] = {
    "drop-required-attribute": drop_required_attribute,
    "drop-host-identity": drop_host_identity,
    "drop-required-element": drop_required_element,
    "bad-enum": bad_enum,
    "bad-address": bad_address,
    "bad-mac": bad_mac,
    "out-of-range": out_of_range,
    "bad-name": bad_name,
    "bad-uuid": bad_uuid,
    "bad-duid": bad_duid,
    "bad-text": bad_text,
    "misplaced-element": misplaced_element,
    "duplicate-singleton": duplicate_singleton,
    "unknown-element": unknown_element,
    "unknown-attribute": unknown_attribute,
    "text-in-empty-element": text_in_empty_element,
    "exclusive-attributes": exclusive_attributes,
    "interface-and-pci-address": interface_and_pci_address,
    "metadata-without-namespace": metadata_without_namespace,
}
