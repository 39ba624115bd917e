"""Typed, immutable definitions of the libvirt network format, and the ``Network`` document.

Each definition class declares one field per XML attribute or child, with where it lives in the
XML as field metadata (``attr``, ``text``, ``child``, ``children``, ``custom``).  One generic reader
builds any definition from its element; the same declarations drive the differ, the policy and the
fixture-coverage test.  XML the model does not know is left alone in the document.  Equality is
semantic: MAC case, IPv6 spelling, netmask vs prefix and lease units do not matter.
"""

from __future__ import annotations

import ipaddress
import os
import uuid as _uuid

from lxml import etree

from netupdate.document.source import Document, decode, read_file
from netupdate.errors import XMLParseError
from netupdate.model import text as TC
from netupdate.model import values as T
from netupdate.model.record import (  # noqa: F401 - fields_of: the model's API
    Context,
    Def,
    attr,
    child,
    children,
    custom,
    fields_of,
    record,
    text,
)

DNSMASQ_NS = TC.DNSMASQ_NS


def _prefix_reader(element, context: Context) -> int | None:
    """``prefix`` or the prefix length of ``netmask`` (equal whichever way it is written)."""
    prefix, netmask = element.get("prefix"), element.get("netmask")
    if prefix is not None:
        return context.convert(element, "prefix", T.uint(0, 128), prefix)
    if netmask is not None:
        return context.convert(element, "netmask", T.netmask_prefix, netmask)
    return None


# ---------------------------------------------------------------------- definitions
@record
class Lease(Def):
    TAG = "lease"
    expiry: int | None = attr("expiry", T.uint(), compare=False)
    unit: T.LeaseUnit | str | None = attr("unit", T.enum_of(T.LeaseUnit), compare=False)
    seconds: int | None = custom(lambda e, c: _lease_seconds(e, c))

    @property
    def infinite(self) -> bool:
        return self.expiry == 0


def _lease_seconds(element, context: Context) -> int | None:
    raw = element.get("expiry")
    if raw is None:
        return None
    try:
        expiry = T.uint()(raw)
    except ValueError:
        return None  # reported by the expiry field
    unit = T.enum_of(T.LeaseUnit)(element.get("unit", "minutes"))
    return expiry * T.LEASE_SECONDS[unit] if isinstance(unit, T.LeaseUnit) else None


@record
class DhcpRange(Def):
    TAG = "range"
    KEY = ("start", "end")
    start: T.IPAddress | None = attr("start", T.ip_address)
    end: T.IPAddress | None = attr("end", T.ip_address)
    lease: Lease | None = child("lease", Lease)

    @property
    def size(self) -> int:
        return int(self.end) - int(self.start) + 1


@record
class DhcpHost(Def):
    TAG = "host"
    KEY = ("mac", "id", "name", "ip")
    mac: T.MAC | None = attr("mac", T.mac)
    id: T.DUID | None = attr("id", T.duid)
    name: str | None = attr("name", TC.dhcp_host_name)
    ip: T.IPAddress | None = attr("ip", T.ip_address)
    lease: Lease | None = child("lease", Lease)

    def key(self) -> tuple:
        """A host is identified by its MAC, else its DUID, else its name."""
        if self.mac is not None:
            return ("mac", self.mac)
        if self.id is not None:
            return ("id", self.id)
        return ("name", self.name) if self.name is not None else ("ip", self.ip)


@record
class Bootp(Def):
    TAG = "bootp"
    file: str | None = attr("file", TC.path)
    server: str | None = attr("server", TC.server)


@record
class DhcpDef(Def):
    TAG = "dhcp"
    ranges: tuple[DhcpRange, ...] = children("range", DhcpRange)
    hosts: tuple[DhcpHost, ...] = children("host", DhcpHost)
    bootp: Bootp | None = child("bootp", Bootp)


@record
class IpDef(Def):
    TAG = "ip"
    KEY = ("address", "prefix")
    address: T.IPAddress | None = attr("address", T.ip_address)
    netmask: str | None = attr("netmask", compare=False)
    prefix: int | None = custom(_prefix_reader)
    family: T.Family | str | None = attr("family", T.enum_of(T.Family))
    local_ptr: bool | str | None = attr("localPtr", T.yesno)
    tftp_root: str | None = attr("root", TC.absolute_path, child="tftp")
    dhcp: DhcpDef | None = child("dhcp", DhcpDef)

    @property
    def version(self) -> int:
        return self.address.version if self.address is not None else \
            6 if self.family == T.Family.IPV6 else 4

    @property
    def effective_prefix(self) -> int | None:
        if self.prefix is not None:
            return self.prefix
        if self.address is None:
            return None
        if self.version == 6:
            return 64
        first = int(self.address) >> 24   # classful default, as libvirt does
        return 8 if first < 128 else 16 if first < 192 else 24

    @property
    def network(self) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
        if self.address is None or self.effective_prefix is None:
            return None
        return ipaddress.ip_interface(f"{self.address}/{self.effective_prefix}").network

    @property
    def has_dhcp(self) -> bool:
        return self.dhcp is not None and bool(self.dhcp.ranges or self.dhcp.hosts)


@record
class RouteDef(Def):
    TAG = "route"
    KEY = ("address", "prefix", "gateway")
    family: T.Family | str | None = attr("family", T.enum_of(T.Family))
    address: T.IPAddress | None = attr("address", T.ip_address)
    netmask: str | None = attr("netmask", compare=False)
    prefix: int | None = custom(_prefix_reader)
    gateway: T.IPAddress | None = attr("gateway", T.ip_address)
    metric: int | None = attr("metric", T.uint(1))


@record
class BridgeDef(Def):
    TAG = "bridge"
    name: str | None = attr("name", TC.iface_name)
    zone: str | None = attr("zone")
    stp: bool | str | None = attr("stp", T.onoff)
    delay: int | None = attr("delay", T.uint())
    mac_table_manager: T.MacTableManager | str | None = attr(
        "macTableManager", T.enum_of(T.MacTableManager))


@record
class ForwardInterface(Def):
    TAG = "interface"
    KEY = ("dev",)
    dev: str | None = attr("dev", TC.iface_name)
    connections: int | None = attr("connections", T.uint())


@record
class PciAddress(Def):
    TAG = "address"
    KEY = ("domain", "bus", "slot", "function")
    type: T.AddressType | str | None = attr("type", T.enum_of(T.AddressType))
    domain: int | None = attr("domain", T.uint(0, 0xFFFF, hex_ok=True))
    bus: int | None = attr("bus", T.uint(0, 0xFF, hex_ok=True))
    slot: int | None = attr("slot", T.uint(0, 0x1F, hex_ok=True))
    function: int | None = attr("function", T.uint(0, 7, hex_ok=True))
    multifunction: bool | str | None = attr("multifunction", T.onoff)
    connections: int | None = attr("connections", T.uint())


@record
class ForwardPf(Def):
    TAG = "pf"
    KEY = ("dev",)
    dev: str | None = attr("dev", TC.iface_name)


@record
class NatAddress(Def):
    TAG = "address"
    start: ipaddress.IPv4Address | None = attr("start", T.ipv4_address)
    end: ipaddress.IPv4Address | None = attr("end", T.ipv4_address)


@record
class NatPort(Def):
    TAG = "port"
    start: int | None = attr("start", T.uint(0, 65535))
    end: int | None = attr("end", T.uint(0, 65535))


@record
class NatDef(Def):
    TAG = "nat"
    ipv6: bool | str | None = attr("ipv6", T.yesno)
    address: NatAddress | None = child("address", NatAddress)
    port: NatPort | None = child("port", NatPort)


@record
class ForwardDef(Def):
    TAG = "forward"
    mode: T.ForwardMode | str | None = attr("mode", T.enum_of(T.ForwardMode))
    dev: str | None = attr("dev", TC.iface_name)
    managed: bool | str | None = attr("managed", T.yesno)
    driver: T.DriverName | str | None = attr("name", T.enum_of(T.DriverName), child="driver")
    nat: NatDef | None = child("nat", NatDef)
    pfs: tuple[ForwardPf, ...] = children("pf", ForwardPf)
    interfaces: tuple[ForwardInterface, ...] = children("interface", ForwardInterface)
    addresses: tuple[PciAddress, ...] = children("address", PciAddress)

    @property
    def effective_mode(self) -> T.ForwardMode | str:
        return self.mode if self.mode is not None else T.ForwardMode.NAT


@record
class VirtualPort(Def):
    TAG = "virtualport"
    type: T.VirtualPortType | str | None = attr("type", T.enum_of(T.VirtualPortType))
    managerid: int | None = attr("managerid", T.uint(0, 0xFF, hex_ok=True), child="parameters")
    typeid: int | None = attr("typeid", T.uint(0, 0xFFFFFF, hex_ok=True), child="parameters")
    typeidversion: int | None = attr("typeidversion", T.uint(0, 0xFF, hex_ok=True),
                                     child="parameters")
    instanceid: _uuid.UUID | None = attr("instanceid", T.uuid, child="parameters")
    profileid: str | None = attr("profileid", child="parameters")
    interfaceid: _uuid.UUID | None = attr("interfaceid", T.uuid, child="parameters")


@record
class BandwidthRate(Def):
    average: int | None = attr("average", T.uint())
    peak: int | None = attr("peak", T.uint())
    floor: int | None = attr("floor", T.uint())
    burst: int | None = attr("burst", T.uint())


@record
class Bandwidth(Def):
    TAG = "bandwidth"
    class_id: int | None = attr("classID", T.uint(1))
    inbound: BandwidthRate | None = child("inbound", BandwidthRate)
    outbound: BandwidthRate | None = child("outbound", BandwidthRate)


@record
class VlanTag(Def):
    TAG = "tag"
    KEY = ("id",)
    id: int | None = attr("id", T.uint(0, 4095))
    native_mode: T.NativeMode | str | None = attr("nativeMode", T.enum_of(T.NativeMode))


@record
class Vlan(Def):
    TAG = "vlan"
    trunk: bool | str | None = attr("trunk", T.yesno)
    tags: tuple[VlanTag, ...] = children("tag", VlanTag)


@record
class Portgroup(Def):
    TAG = "portgroup"
    KEY = ("name",)
    name: str | None = attr("name")
    default: bool | str | None = attr("default", T.yesno)
    trust_guest_rx_filters: bool | str | None = attr("trustGuestRxFilters", T.yesno)
    virtualport: VirtualPort | None = child("virtualport", VirtualPort)
    bandwidth: Bandwidth | None = child("bandwidth", Bandwidth)
    vlan: Vlan | None = child("vlan", Vlan)


@record
class DomainDef(Def):
    TAG = "domain"
    name: str | None = attr("name", TC.hostname)
    local_only: bool | str | None = attr("localOnly", T.yesno)
    register: bool | str | None = attr("register", T.yesno)


@record
class Forwarder(Def):
    TAG = "forwarder"
    KEY = ("addr", "domain")
    addr: T.IPAddress | None = attr("addr", T.ip_address)
    domain: str | None = attr("domain", TC.hostname)
    port: int | None = attr("port", T.uint(1, 65535))


@record
class DnsTxt(Def):
    TAG = "txt"
    KEY = ("name",)
    name: str | None = attr("name", TC.txt_name)
    value: str | None = attr("value", TC.txt_value)


@record
class DnsSrv(Def):
    TAG = "srv"
    KEY = ("service", "protocol", "domain", "target")
    service: str | None = attr("service", TC.srv_service)
    protocol: T.SrvProtocol | str | None = attr("protocol", T.enum_of(T.SrvProtocol))
    domain: str | None = attr("domain", TC.hostname)
    target: str | None = attr("target", TC.srv_target)
    port: int | None = attr("port", T.uint(0, 65535))
    priority: int | None = attr("priority", T.uint(0, 65535))
    weight: int | None = attr("weight", T.uint(0, 65535))


@record
class DnsHost(Def):
    TAG = "host"
    KEY = ("ip",)
    ip: T.IPAddress | None = attr("ip", T.ip_address)
    hostnames: tuple[str, ...] = children("hostname", convert=TC.hostname)


@record
class DnsDef(Def):
    TAG = "dns"
    enable: bool | str | None = attr("enable", T.yesno)
    forward_plain_names: bool | str | None = attr("forwardPlainNames", T.yesno)
    forwarders: tuple[Forwarder, ...] = children("forwarder", Forwarder)
    txts: tuple[DnsTxt, ...] = children("txt", DnsTxt)
    srvs: tuple[DnsSrv, ...] = children("srv", DnsSrv)
    hosts: tuple[DnsHost, ...] = children("host", DnsHost)

    @property
    def enabled(self) -> bool:
        return self.enable is not False


def _metadata_reader(element, context: Context) -> tuple[str, ...]:
    found = element.find("metadata")
    return () if found is None else tuple(etree.tostring(e, method="c14n").decode()
                                          for e in found if isinstance(e.tag, str))


@record
class NetworkDef(Def):
    TAG = "network"
    name: str | None = text("name", TC.network_name)
    uuid: _uuid.UUID | None = text("uuid", T.uuid)
    title: str | None = text("title")
    description: str | None = text("description", TC.multi_line)
    metadata: tuple[str, ...] = custom(_metadata_reader, default=())
    connections: int | None = attr("connections", T.uint())
    ipv6: bool | str | None = attr("ipv6", T.yesno)
    trust_guest_rx_filters: bool | str | None = attr("trustGuestRxFilters", T.yesno)
    forward: ForwardDef | None = child("forward", ForwardDef)
    bridge: BridgeDef | None = child("bridge", BridgeDef)
    mtu: int | None = attr("size", T.uint(68, 65535), child="mtu")
    mac: T.MAC | None = attr("address", T.mac, child="mac")
    domain: DomainDef | None = child("domain", DomainDef)
    dns: DnsDef | None = child("dns", DnsDef)
    vlan: Vlan | None = child("vlan", Vlan)
    bandwidth: Bandwidth | None = child("bandwidth", Bandwidth)
    port_isolated: bool | str | None = attr("isolated", T.yesno, child="port")
    ips: tuple[IpDef, ...] = children("ip", IpDef)
    routes: tuple[RouteDef, ...] = children("route", RouteDef)
    virtualport: VirtualPort | None = child("virtualport", VirtualPort)
    portgroups: tuple[Portgroup, ...] = children("portgroup", Portgroup)
    dnsmasq_options: tuple[str, ...] = custom(
        lambda e, c: tuple(c.convert(o, "value", TC.dnsmasq_option, o.get("value", "")) for o in
                           e.iterfind(f"{{{DNSMASQ_NS}}}options/{{{DNSMASQ_NS}}}option")),
        default=())

    @property
    def forward_mode(self) -> T.ForwardMode | str | None:
        """The forward mode, or None for an isolated network (no ``<forward>``)."""
        return self.forward.effective_mode if self.forward is not None else None

    def ips_of(self, version: int) -> tuple[IpDef, ...]:
        return tuple(ip for ip in self.ips if ip.version == version)


# libvirt's element order (its formatter), used to place new elements.
NETWORK_CHILD_ORDER = ("name", "uuid", "title", "description", "metadata", "forward", "bridge",
                       "mtu", "mac", "domain", "dns", "vlan", "bandwidth", "port", "ip", "route",
                       "virtualport", "portgroup", f"{{{DNSMASQ_NS}}}options")


# ---------------------------------------------------------------------- the document
class Network:
    """A network definition document: the XML as written, plus typed definitions of it."""

    def __init__(self, document: Document):
        if document.root.tag != "network":
            raise XMLParseError(f"root element is <{document.root.tag}>, expected <network>",
                                file=document.filename, line=document.root.sourceline,
                                path=f"/{document.root.tag}")
        self.source = document
        self._defs: NetworkDef | None = None
        self._indexes: dict = {}

    @property
    def root(self):
        return self.source.root

    @property
    def filename(self) -> str | None:
        return self.source.filename

    @property
    def defs(self) -> NetworkDef:
        if self._defs is None:
            self._defs = NetworkDef.from_element(self.root, filename=self.filename)
        return self._defs

    @property
    def defs_read(self) -> NetworkDef | None:
        """The typed definitions if they were read already (else None: nothing is read)."""
        return self._defs

    @property
    def name(self) -> str | None:
        found = self.root.find("name")
        return found.text if found is not None else None

    def touched(self, defs: NetworkDef | None = None) -> None:
        """Forget derived state (typed defs, update indexes) after the tree was edited; ``defs``:
        the edited tree's typed definitions when the editor knows them (no re-read)."""
        self._defs = defs
        self._indexes.clear()

    def to_xml(self, *, tracked: bool = False) -> str:
        """The document text; ``tracked`` as in ``Document.serialize``: only for documents
        edited solely through ``update`` (the runtime's own copies)."""
        return self.source.serialize(tracked=tracked)

    def to_bytes(self, *, tracked: bool = False) -> bytes:
        return self.source.to_bytes(tracked=tracked)

    def copy(self) -> Network:
        """An independent document with the same text (and edits) as this one."""
        source = self.source
        return type(self)(Document(self.to_xml(), filename=source.filename,
                                   encoding=source.encoding, bom=source.bom))

    @classmethod
    def from_source(cls, source, *, filename: str | None = None, check: bool = True):
        """``load`` giving an instance of ``cls`` (the edit layer's editable subclass)."""
        if isinstance(source, os.PathLike) or (isinstance(source, str)
                                               and not source.lstrip().startswith("<")):
            filename = filename or os.fspath(source)
            text_, encoding, bom = decode(read_file(source, filename), filename)
        elif isinstance(source, bytes | bytearray):
            text_, encoding, bom = decode(bytes(source), filename)
        else:
            text_, encoding, bom = source, "utf-8", b""
        network = cls(Document(text_, filename=filename, encoding=encoding, bom=bom))
        if check:
            network.defs  # noqa: B018 - reading raises ModelError for bad typed values
        return network

    def __repr__(self) -> str:
        return f"<Network {self.name!r}>"


def load(source, *, filename: str | None = None, check: bool = True) -> Network:
    """Read a network definition from XML text, bytes, or a path.

    With ``check`` (the default) the typed definitions are read at once, so a bad typed value
    raises ``ModelError`` here rather than later.  The document has no editing methods: the
    public ``netupdate.load`` (``netupdate.edit.engine.load``) gives one that has ``update``.
    """
    return Network.from_source(source, filename=filename, check=check)
