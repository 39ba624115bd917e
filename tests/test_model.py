"""The typed model: exact round trip over every fixture, typed fields, semantic equality."""

import dataclasses
import ipaddress
import uuid
from pathlib import Path

import pytest

import netupdate
from netupdate.errors import ModelError, XMLParseError
from netupdate.model import defs as model
from netupdate.model import values as T

ROOT = Path(__file__).resolve().parent.parent
NETWORKS = sorted((ROOT / "fixtures" / "networks").glob("*.xml"))


def test_there_are_enough_fixtures():
    assert len(NETWORKS) >= 25


@pytest.mark.parametrize("path", NETWORKS, ids=lambda p: p.name)
def test_round_trip_is_byte_identical(path):
    data = path.read_bytes()
    network = netupdate.load(path)
    assert network.to_bytes() == data
    assert network.copy().to_bytes() == data
    assert netupdate.load(data).to_bytes() == data


@pytest.mark.parametrize("path", NETWORKS, ids=lambda p: p.name)
def test_defs_are_hashable_values(path):
    first, second = netupdate.load(path).defs, netupdate.load(path).defs
    assert first == second and hash(first) == hash(second)
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.name = "changed"


FULL = """<network connections='3' ipv6='yes' trustGuestRxFilters='no'>
  <name>full</name>
  <uuid>81ff0d90c91e674264da4a736edb9a9b</uuid>
  <title>Full</title>
  <description>All of it</description>
  <metadata><x:a xmlns:x='urn:x' v='1'/></metadata>
  <forward mode='nat' dev='eth0'>
    <nat ipv6='yes'><address start='192.0.2.10' end='192.0.2.20'/><port start='1024' end='65535'/></nat>
    <interface dev='eth0' connections='2'/>
  </forward>
  <bridge name='virbr9' zone='trusted' stp='off' delay='5' macTableManager='libvirt'/>
  <mtu size='9000'/>
  <mac address='52:54:00:AB:CD:EF'/>
  <domain name='example.lan' localOnly='yes' register='no'/>
  <dns enable='yes' forwardPlainNames='no'>
    <forwarder addr='192.0.2.53' port='5353'/>
    <forwarder domain='corp.example' addr='192.0.2.54'/>
    <txt name='info' value='a, b'/>
    <srv service='ldap' protocol='tcp' domain='example.lan' target='dc' port='389' priority='1' weight='2'/>
    <host ip='192.168.9.5'><hostname>a</hostname><hostname>b</hostname></host>
  </dns>
  <vlan trunk='yes'><tag id='42' nativeMode='untagged'/><tag id='47'/></vlan>
  <bandwidth classID='3'><inbound average='1000' peak='2000' burst='4096' floor='100'/><outbound average='500'/></bandwidth>
  <port isolated='yes'/>
  <ip address='192.168.9.1' netmask='255.255.255.0' localPtr='yes'>
    <tftp root='/srv/tftp'/>
    <dhcp>
      <range start='192.168.9.100' end='192.168.9.199'><lease expiry='2' unit='hours'/></range>
      <host mac='52:54:00:00:00:01' name='vm1' ip='192.168.9.10'><lease expiry='0'/></host>
      <bootp file='pxelinux.0' server='192.168.9.2'/>
    </dhcp>
  </ip>
  <ip family='ipv6' address='2001:db8:9::1' prefix='64'>
    <dhcp><host id='0:4:7e:7d:f0:7d:a8:bc:c5:d2:13:32:11:ed:16:ea:84:63' name='v6' ip='2001:db8:9::10'/></dhcp>
  </ip>
  <route address='10.9.0.0' prefix='16' gateway='192.168.9.254' metric='2'/>
  <virtualport type='openvswitch'><parameters profileid='p1' interfaceid='09b11c53-8b5c-4eeb-8f00-d84eaa0aaa4f'/></virtualport>
  <portgroup name='pg' default='yes' trustGuestRxFilters='yes'>
    <vlan><tag id='7'/></vlan>
  </portgroup>
  <dnsmasq:options xmlns:dnsmasq='http://libvirt.org/schemas/network/dnsmasq/1.0'>
    <dnsmasq:option value='cache-size=0'/>
  </dnsmasq:options>
</network>"""


def test_typed_fields():
    d = netupdate.load(FULL).defs
    assert (d.name, d.title, d.description) == ("full", "Full", "All of it")
    assert d.uuid == uuid.UUID("81ff0d90-c91e-6742-64da-4a736edb9a9b")
    assert (d.connections, d.ipv6, d.trust_guest_rx_filters) == (3, True, False)
    assert d.metadata and "urn:x" in d.metadata[0]
    assert d.forward.mode is T.ForwardMode.NAT and d.forward.dev == "eth0"
    assert d.forward.nat.address.start == ipaddress.ip_address("192.0.2.10")
    assert (d.forward.nat.port.start, d.forward.nat.port.end) == (1024, 65535)
    assert d.forward.nat.ipv6 is True
    assert d.forward.interfaces[0].connections == 2
    assert d.bridge == model.BridgeDef(name="virbr9", zone="trusted", stp=False, delay=5,
                                       mac_table_manager=T.MacTableManager.LIBVIRT)
    assert d.mtu == 9000 and d.mac == "52:54:00:ab:cd:ef" and isinstance(d.mac, T.MAC)
    assert d.domain == model.DomainDef(name="example.lan", local_only=True, register=False)
    assert d.dns.forward_plain_names is False and d.dns.enabled
    assert d.dns.forwarders[0].port == 5353 and d.dns.forwarders[1].domain == "corp.example"
    assert d.dns.txts == (model.DnsTxt(name="info", value="a, b"),)
    srv = d.dns.srvs[0]
    assert (srv.protocol, srv.port, srv.priority, srv.weight) == (T.SrvProtocol.TCP, 389, 1, 2)
    assert d.dns.hosts[0].hostnames == ("a", "b")
    assert d.vlan.trunk is True and d.vlan.tags[0].native_mode is T.NativeMode.UNTAGGED
    assert d.bandwidth.class_id == 3 and d.bandwidth.inbound.floor == 100
    assert d.bandwidth.outbound.average == 500 and d.port_isolated is True
    ip4, ip6 = d.ips
    assert ip4.prefix == 24 and ip4.netmask == "255.255.255.0" and ip4.local_ptr is True
    assert ip4.network == ipaddress.ip_network("192.168.9.0/24") and ip4.tftp_root == "/srv/tftp"
    assert ip4.dhcp.ranges[0].lease.seconds == 7200 and ip4.dhcp.ranges[0].size == 100
    assert ip4.dhcp.hosts[0].lease.infinite and ip4.dhcp.bootp.server == "192.168.9.2"
    assert ip6.version == 6 and ip6.family is T.Family.IPV6
    assert ip6.dhcp.hosts[0].id == "00:04:7e:7d:f0:7d:a8:bc:c5:d2:13:32:11:ed:16:ea:84:63"
    assert d.routes[0].prefix == 16 and d.routes[0].metric == 2
    assert d.virtualport.interfaceid == uuid.UUID("09b11c53-8b5c-4eeb-8f00-d84eaa0aaa4f")
    assert d.portgroups[0].default is True and d.portgroups[0].vlan.tags[0].id == 7
    assert d.dnsmasq_options == ("cache-size=0",)
    assert d.forward_mode is T.ForwardMode.NAT and d.ips_of(6) == (ip6,)


@pytest.mark.parametrize("old,new", [
    ("52:54:00:AB:CD:EF", "52:54:00:ab:cd:ef"),
    ("netmask='255.255.255.0'", "prefix='24'"),
    ("address='2001:db8:9::1'", "address='2001:0db8:0009:0000:0000:0000:0000:0001'"),
    ("<lease expiry='2' unit='hours'/>", "<lease expiry='120'/>"),
    ("<bridge name='virbr9' zone='trusted'", "<bridge   zone=\"trusted\" name='virbr9'"),
    ("81ff0d90c91e674264da4a736edb9a9b", "81FF0D90-C91E-6742-64DA-4A736EDB9A9B"),
    ("id='0:4:7e", "id='00:04:7E"),
    ("<name>full</name>", "<name>full</name>\n\n   <!-- comment -->"),
])
def test_semantically_equal_spellings_are_equal(old, new):
    assert old in FULL
    first, second = netupdate.load(FULL).defs, netupdate.load(FULL.replace(old, new)).defs
    assert first == second and hash(first) == hash(second)


@pytest.mark.parametrize("old,new", [
    ("52:54:00:AB:CD:EF", "52:54:00:AB:CD:EE"),
    ("prefix='64'", "prefix='48'"),
    ("<hostname>b</hostname>", "<hostname>c</hostname>"),
    ("unit='hours'", "unit='minutes'"),
])
def test_real_differences_are_unequal(old, new):
    assert netupdate.load(FULL).defs != netupdate.load(FULL.replace(old, new)).defs


def test_unknown_enum_values_survive_as_raw_strings():
    text = FULL.replace("mode='nat'", "mode='teleport'").replace("stp='off'", "stp='maybe'")
    network = netupdate.load(text)
    assert network.defs.forward.mode == "teleport"
    assert not isinstance(network.defs.forward.mode, T.ForwardMode)
    assert network.defs.bridge.stp == "maybe"
    assert network.to_xml() == text


def _walk(value, seen):
    if isinstance(value, model.Def):
        for f in dataclasses.fields(value):
            item = getattr(value, f.name)
            if item not in (None, ()):
                seen.add((type(value).__name__, f.name))
            _walk(item, seen)
    elif isinstance(value, tuple):
        for item in value:
            _walk(item, seen)


def _all_fields(cls, out):
    for f in dataclasses.fields(cls):
        out.add((cls.__name__, f.name))
        sub = f.metadata.get("cls")
        if sub is not None:
            _all_fields(sub, out)
    return out


def test_every_model_field_is_exercised_by_some_fixture():
    seen = set()
    for path in NETWORKS:
        _walk(netupdate.load(path).defs, seen)
    missing = sorted(_all_fields(model.NetworkDef, set()) - seen)
    assert not missing, f"model fields no fixture sets: {missing}"


@pytest.mark.parametrize("text,path,needle", [
    ("<network><name>x</name>\n<mac address='zz:00'/></network>", "/network/mac", "MAC"),
    ("<network><name>x</name>\n<ip address='192.168.1.300'/></network>", "/network/ip",
     "invalid IP"),
    ("<network><name>x</name>\n<mtu size='abc'/></network>", "/network/mtu", "unsigned"),
    ("<network><name>x</name>\n<vlan><tag id='5000'/></vlan></network>", "/network/vlan/tag",
     "out of range"),
    ("<network><name>x</name>\n<ip address='10.0.0.1'><dhcp><host mac='52:54:00:00:00:01'/>"
     "<host mac='52:54:00:00:00:0'/><host mac='x'/></dhcp></ip></network>",
     "/network/ip/dhcp/host[3]", "MAC"),
])
def test_bad_typed_value_is_located(text, path, needle):
    with pytest.raises(ModelError) as info:
        netupdate.load(text, filename="net.xml")
    err = info.value
    assert err.file == "net.xml" and err.line == 2 and err.path == path
    assert needle in err.message and str(err).startswith(f"net.xml:2: {path}: ")


def test_model_error_lists_every_problem_in_document_order():
    text = "<network><name>x</name>\n<mtu size='a'/>\n<mac address='b'/></network>"
    with pytest.raises(ModelError) as info:
        netupdate.load(text)
    assert [p.line for p in info.value.problems] == [2, 3]
    assert "(and 1 more problem)" in str(info.value)


def test_wrong_root_is_refused():
    with pytest.raises(XMLParseError, match="root element is <domain>"):
        netupdate.load("<domain type='kvm'/>")


def test_entity_expansion_is_refused_before_parsing(tmp_path):
    bomb = ('<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
            + "".join(f'<!ENTITY lol{i} "{"&lol{};".format(i - 1 if i > 1 else "") * 10}">'
                      for i in range(1, 10))
            + ']>\n<network><name>&lol9;</name></network>')
    path = tmp_path / "bomb.xml"
    path.write_text(bomb)
    with pytest.raises(XMLParseError) as info:
        netupdate.load(path)
    assert "DOCTYPE" in str(info.value) and str(info.value).startswith(f"{path}:2")


def test_missing_file_is_a_netupdate_error(tmp_path):
    with pytest.raises(XMLParseError, match="cannot read"):
        netupdate.load(tmp_path / "nope.xml")
