"""The semantic differ: typed per-section changes, semantic equality, inputs and output."""

import ipaddress
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import netupdate
from netupdate.model import defs as model
from netupdate.model import values as T
from netupdate.planning import canon
from netupdate.planning import changes as C
from netupdate.planning import differ as D
from netupdate.planning.changes import ChangeSet, SectionChange
from netupdate.planning.differ import diff, diff_item
from netupdate.sections._spec import ALL_OPS

ROOT = Path(__file__).resolve().parent.parent
PLANS = ROOT / "fixtures" / "plans"
NAT = (PLANS / "bridge-stp-off" / "before.xml").read_text()
DUAL = """<network>
  <name>dual</name>
  <bridge name='virbr6'/>
  <ip address='192.168.106.1' netmask='255.255.255.0'>
    <dhcp>
      <range start='192.168.106.100' end='192.168.106.199'/>
      <host mac='52:54:00:6a:00:01' name='alpha' ip='192.168.106.11'/>
    </dhcp>
  </ip>
  <ip family='ipv6' address='fd00:106::1' prefix='64'>
    <dhcp>
      <host id='0:3:0:1:52:54:0:6a:0:1' name='alpha' ip='fd00:106::11'/>
    </dhcp>
  </ip>
</network>
"""


def _one(before: str, after: str) -> SectionChange:
    changes = diff(before, after).changes
    assert len(changes) == 1, changes
    return changes[0]


# ---------------------------------------------------------------------- semantic equality
SAME = [
    ("mac case", NAT.replace("52:54:00:10:00:0a", "52:54:00:10:00:0A")
     .replace("52:54:00:10:00:01", "52:54:00:10:00:01".upper())),
    ("ipv6 spelling", NAT.replace("fd00:100::1'", "fd00:0100:0:0:0:0:0:0001'")),
    ("netmask vs prefix", NAT.replace("netmask='255.255.255.0'", "prefix='24'")),
    ("attribute order", NAT.replace("<bridge name='virbr10' stp='on' delay='0'/>",
                                    "<bridge delay='0' stp='on' name='virbr10'/>")),
    ("whitespace and quotes", NAT.replace("\n  ", "\n\t\t").replace(
        "<txt name='info' value='lab network'/>", '<txt   value="lab network"\n name="info" />')),
    ("bridge defaults", NAT.replace(" stp='on' delay='0'", "")),
    ("forward mode default", NAT.replace("<forward mode='nat'/>", "<forward/>")),
    ("dns defaults", NAT.replace("<dns>", "<dns enable='yes' forwardPlainNames='yes'>")),
    ("host order", NAT.replace(
        "<host mac='52:54:00:10:00:0a' name='alpha' ip='192.168.100.10'/>\n"
        "      <host mac='52:54:00:10:00:0b' name='beta' ip='192.168.100.11'/>",
        "<host mac='52:54:00:10:00:0b' name='beta' ip='192.168.100.11'/>\n"
        "      <host mac='52:54:00:10:00:0a' name='alpha' ip='192.168.100.10'/>")),
    ("ip family written out", NAT.replace("<ip address='192.168.100.1'",
                                          "<ip family='ipv4' address='192.168.100.1'")),
    ("classful prefix", NAT.replace("netmask='255.255.255.0'", "")),   # 192.x: classful /24
    ("lease units", NAT.replace(
        "<range start='192.168.100.100' end='192.168.100.199'/>",
        "<range start='192.168.100.100' end='192.168.100.199'>"
        "<lease expiry='60' unit='minutes'/></range>")),
    ("comments", NAT.replace("<dns>", "<!-- dns --><dns>")),
    ("route netmask", NAT.replace("prefix='16' gateway", "netmask='255.255.0.0' gateway")),
]
POOL = ("<network><name>pool</name><forward mode='passthrough'>"
        "<interface dev='eth1'/><interface dev='eth2'/></forward></network>")
# libvirt's round trip of a definition: the same network (before, as libvirt writes it)
ROUND_TRIP = {
    "forward dev is the first interface": (POOL, POOL.replace("<forward ",
                                                              "<forward dev='eth1' ")),
    "no bridge is a defaults-only bridge": (
        NAT.replace("<bridge name='virbr10' stp='on' delay='0'/>", ""),
        NAT.replace("<bridge name='virbr10' stp='on' delay='0'/>", "<bridge stp='on' delay='0'/>")),
}


@pytest.mark.parametrize("name", sorted(ROUND_TRIP))
def test_libvirts_round_trip_is_no_change(name):
    before, after = ROUND_TRIP[name]
    assert not diff(before, after) and not diff(after, before)
    # and what differs from those defaults still is a change
    assert diff(before, after.replace("stp='on'", "stp='off'").replace("dev='eth1'",
                                                                       "dev='eth2'"))


@pytest.mark.parametrize("name,after", SAME, ids=[name for name, _ in SAME])
def test_semantically_equal_is_no_change(name, after):
    if name == "lease units":    # 60 minutes vs 1 hour: compare two spellings of one lease
        before = after.replace("expiry='60' unit='minutes'", "expiry='1' unit='hours'")
        assert not diff(before, after)
        return
    changes = diff(NAT, after)
    assert not changes, changes.to_text()
    assert changes.changes == () and len(changes) == 0


@pytest.mark.parametrize("case", sorted(PLANS.glob("same-*")), ids=lambda p: p.name)
def test_same_fixture_cases_are_empty(case):
    assert not diff(case / "before.xml", case / "after.xml")


def test_forwarder_order_matters():
    after = NAT.replace(
        "<forwarder addr='192.0.2.53'/>\n    <forwarder domain='corp.example' addr='10.0.0.53'/>",
        "<forwarder domain='corp.example' addr='10.0.0.53'/>\n    <forwarder addr='192.0.2.53'/>")
    change = _one(NAT, after)
    assert (change.section, change.op, change.fields) == ("dns", "modified", ("forwarders",))


def test_hostname_order_matters():
    before = NAT.replace("<hostname>files</hostname>",
                         "<hostname>files</hostname><hostname>nas</hostname>")
    after = NAT.replace("<hostname>files</hostname>",
                        "<hostname>nas</hostname><hostname>files</hostname>")
    assert _one(before, after).fields == ("hostnames",)


# ---------------------------------------------------------------------- the records
def test_dhcp_host_modified_record():
    after = NAT.replace("name='beta' ip='192.168.100.11'", "name='beta' ip='192.168.100.21'")
    change = _one(NAT, after)
    assert change.section == "ip-dhcp-host" and change.op == "modified"
    assert change.key == (4, "mac", T.MAC("52:54:00:10:00:0b"))
    assert change.fields == ("ip",)
    assert isinstance(change.before, model.DhcpHost) and isinstance(change.after, model.DhcpHost)
    assert change.after.ip == ipaddress.ip_address("192.168.100.21")
    assert change.family == 4
    assert change.describe() == "ip-dhcp-host IPv4 mac=52:54:00:10:00:0b modified (ip)"


def test_dhcp_key_carries_the_family():
    after = DUAL.replace("name='alpha' ip='fd00:106::11'", "name='alpha' ip='fd00:106::12'")
    change = _one(DUAL, after)
    assert change.key[0] == 6 and change.key[1] == "id"
    assert change.family == 6


def test_range_added_and_removed():
    after = DUAL.replace("<range start='192.168.106.100' end='192.168.106.199'/>",
                         "<range start='192.168.106.100' end='192.168.106.150'/>")
    changes = diff(DUAL, after)
    assert [(c.section, c.op) for c in changes] == [("ip-dhcp-range", "removed"),
                                                    ("ip-dhcp-range", "added")]
    assert changes.changes[1].key == (4, ipaddress.ip_address("192.168.106.100"),
                                      ipaddress.ip_address("192.168.106.150"))


def test_network_level_fields_are_keyed_by_name():
    after = NAT.replace("<mac address", "<mtu size='1400'/>\n  <mac address")
    change = _one(NAT, after)
    assert (change.section, change.op, change.key, change.before, change.after) == \
        ("network", "added", ("mtu",), None, 1400)
    change = _one(after, after.replace("1400", "9000"))
    assert (change.op, change.fields, change.before, change.after) == \
        ("modified", ("mtu",), 1400, 9000)


def test_network_level_definitions_report_leaf_fields():
    before = NAT.replace("<mac address", "<bandwidth><inbound average='10' peak='20'/>"
                                         "</bandwidth>\n  <mac address")
    after = before.replace("peak='20'", "peak='30'")
    change = _one(before, after)
    assert change.key == ("bandwidth",) and change.fields == ("bandwidth.inbound.peak",)


def test_bridge_record():
    change = _one(NAT, NAT.replace("stp='on' delay='0'", "stp='off' delay='0'"))
    assert (change.section, change.op, change.key, change.fields) == \
        ("bridge", "modified", (), ("stp",))
    assert change.before.stp is True and change.after.stp is False


@settings(max_examples=150)
@given(name=st.sampled_from([None, "", "virbr0"]), zone=st.sampled_from([None, "", "trusted"]),
       stp=st.sampled_from([None, True, False, "maybe"]), delay=st.sampled_from([None, 0, 2]),
       manager=st.sampled_from([None, *T.MacTableManager, "other"]))
def test_a_bridge_with_only_libvirts_defaults_is_none(name, zone, stp, delay, manager):
    """The differ's own <bridge> is the section's libvirt_normal: none exactly when it means
    the same as a <bridge> without attributes (libvirt writes stp='on' delay='0' for none)."""
    bridge = model.BridgeDef(name=name, zone=zone, stp=stp, delay=delay,
                             mac_table_manager=manager)
    assert (D.own("bridge", bridge) is None) == canon.same(bridge, model.BridgeDef())


def test_dns_record_is_the_elements_own_content():
    change = _one(NAT, NAT.replace("<dns>", "<dns enable='no'>"))
    assert change.section == "dns" and change.fields == ("enable",)
    assert change.before.txts == () and change.before.hosts == ()   # records are their own
    assert len(change.before.forwarders) == 2


def test_ip_record_leaves_hosts_to_their_section():
    after = NAT.replace("<ip address='192.168.100.1' netmask='255.255.255.0'>",
                        "<ip address='192.168.100.1' netmask='255.255.255.0' localPtr='yes'>")
    change = _one(NAT, after)
    assert change.section == "ip" and change.fields == ("local_ptr",)
    assert change.before.dhcp is None and change.key == \
        (ipaddress.ip_address("192.168.100.1"), 24)


def test_ip_prefix_change_does_not_report_its_hosts():
    after = NAT.replace("netmask='255.255.255.0'", "netmask='255.255.0.0'")
    assert [(c.section, c.op) for c in diff(NAT, after)] == [("ip", "removed"), ("ip", "added")]


def test_removing_an_ip_reports_its_hosts_and_ranges():
    after = DUAL.replace(DUAL[DUAL.index("  <ip family='ipv6'"):DUAL.index("</network>")], "")
    got = [(c.section, c.op, c.key[0] if c.section != "ip" else None)
           for c in diff(DUAL, after)]
    assert got == [("ip", "removed", None), ("ip-dhcp-host", "removed", 6)]


def test_bootp_is_an_ip_field():
    after = NAT.replace("<range start='192.168.100.100' end='192.168.100.199'/>",
                        "<range start='192.168.100.100' end='192.168.100.199'/>"
                        "<bootp file='pxe.0'/>")
    change = _one(NAT, after)
    assert change.section == "ip" and change.fields == ("dhcp",)


def test_forward_interfaces_are_their_own_section():
    after = NAT.replace("<forward mode='nat'/>",
                        "<forward mode='nat' dev='eth0'><interface dev='eth0'/></forward>")
    changes = diff(NAT, after)
    assert [(c.section, c.op, c.key, c.fields) for c in changes] == [
        ("forward", "modified", (), ("dev",)),
        ("forward-interface", "added", ("eth0",), ())]


def test_dnsmasq_options_are_keyed_by_value():
    options = ("<dnsmasq:options xmlns:dnsmasq='http://libvirt.org/schemas/network/dnsmasq/1.0'>"
               "<dnsmasq:option value='a=1'/><dnsmasq:option value='b=2'/></dnsmasq:options>")
    before = NAT.replace("</network>", options + "</network>")
    after = before.replace("b=2", "b=3")
    assert [(c.section, c.op, c.key) for c in diff(before, after)] == [
        ("dnsmasq-options", "removed", ("b=2",)), ("dnsmasq-options", "added", ("b=3",))]


def test_duplicate_keys_pair_in_order():
    twice = NAT.replace("<txt name='info' value='lab network'/>",
                        "<txt name='info' value='a'/><txt name='info' value='b'/>")
    assert [(c.op, c.fields) for c in diff(twice, twice.replace("value='b'", "value='c'"))] \
        == [("modified", ("value",))]
    once = diff(twice, twice.replace("<txt name='info' value='b'/>", ""))
    assert [(c.section, c.op) for c in once] == [("dns-txt", "removed")]


def test_sections_are_reported_in_order():
    after = (NAT.replace("stp='on'", "stp='off'").replace("<name>nat0", "<name>nat1")
             .replace("value='lab network'", "value='x'"))
    assert diff(NAT, after).sections == ("network", "bridge", "dns-txt")


def test_every_section_name_is_a_known_section():
    for case in PLANS.iterdir():
        for change in diff(case / "before.xml", case / "after.xml"):
            assert change.section in C.SECTION_ORDER
            assert change.op in ALL_OPS
            assert change.op != "modified" or change.fields


# ---------------------------------------------------------------------- inputs
def test_inputs_of_every_kind():
    after = NAT.replace("stp='on'", "stp='off'")
    path = PLANS / "bridge-stp-off" / "after.xml"
    network = netupdate.load(NAT)
    for before in (NAT, NAT.encode(), network, network.defs, PLANS / "bridge-stp-off" /
                   "before.xml", str(PLANS / "bridge-stp-off" / "before.xml")):
        assert diff(before, after).sections == ("bridge",)
        assert diff(before, path).sections == ("bridge",)
    with pytest.raises(TypeError):
        diff(42, NAT)


def test_package_level_function():
    after = NAT.replace("stp='on'", "stp='off'")
    import netupdate.planning.planner  # noqa: F401 - importing the modules leaves the functions alone
    assert netupdate.diff is D.diff and netupdate.plan is netupdate.planning.planner.plan
    assert isinstance(netupdate.diff(NAT, after), ChangeSet)


def test_diff_item_of_one_element():
    old = model.DnsTxt(name="a", value="1")
    new = model.DnsTxt(name="a", value="2")
    assert [(c.section, c.op, c.fields) for c in diff_item("dns-txt", old, new)] == \
        [("dns-txt", "modified", ("value",))]
    assert [(c.section, c.op) for c in diff_item(None, None, new)] == [("dns-txt", "added")]
    host = model.DhcpHost(mac=T.MAC("52:54:00:00:00:01"), ip=ipaddress.ip_address("fd00::5"))
    assert diff_item("ip-dhcp-host", host, None, family=6).changes[0].key[0] == 6
    with pytest.raises(ValueError):
        diff_item("nope", None, "x")


# ---------------------------------------------------------------------- output
def test_to_json_is_plain_data():
    after = (NAT.replace("name='beta' ip='192.168.100.11'", "name='b2' ip='192.168.100.11'")
             .replace("<mac address", "<mtu size='9000'/>\n  <mac address"))
    data = json.loads(json.dumps(diff(NAT, after).to_json()))
    assert data == {"changes": [
        {"section": "network", "op": "added", "key": ["mtu"], "fields": [], "before": None,
         "after": 9000},
        {"section": "ip-dhcp-host", "op": "modified", "key": [4, "mac", "52:54:00:10:00:0b"],
         "fields": ["name"],
         "before": {"mac": "52:54:00:10:00:0b", "name": "beta", "ip": "192.168.100.11"},
         "after": {"mac": "52:54:00:10:00:0b", "name": "b2", "ip": "192.168.100.11"}}]}


def test_to_text_groups_by_section():
    after = (NAT.replace("stp='on'", "stp='off'")
             .replace("    <txt name='info' value='lab network'/>\n", "")
             .replace("<hostname>files</hostname>", "<hostname>files</hostname>"
                      "<hostname>nas</hostname>"))
    text = diff(NAT, after).to_text()
    assert text.splitlines()[:3] == ["bridge", "  ~ modified", "      stp: on -> off"]
    assert "dns-txt\n  - 'info' removed" in text
    assert "hostnames: [files] -> [files, nas]" in text
    assert "\x1b[" not in text
    colored = diff(NAT, NAT.replace("</uuid>", "</uuid><title>t</title>")).to_text(color=True)
    assert "\x1b[32m  + title added\x1b[0m" in colored
    assert diff(NAT, NAT).to_text() == "no changes"


def test_records_are_frozen_and_hashable():
    change = _one(NAT, NAT.replace("stp='on'", "stp='off'"))
    with pytest.raises(AttributeError):
        change.op = "added"
    assert hash(change) == hash(_one(NAT, NAT.replace("stp='on'", "stp='off'")))
    assert diff(NAT, NAT.replace("stp='on'", "stp='off'")) == \
        diff(NAT, NAT.replace("stp='on'", "stp='off'"))


def test_large_networks_diff_quickly():
    hosts = "".join(f"<host mac='52:54:00:{i >> 8 & 255:02x}:{i & 255:02x}:01' "
                    f"name='h{i}' ip='10.{i >> 8 & 255}.{i & 255}.2'/>" for i in range(10000))
    before = ("<network><name>big</name><ip address='10.0.0.1' prefix='8'><dhcp>"
              + hosts + "</dhcp></ip></network>")
    after = before.replace("name='h5000'", "name='renamed'")
    changes = diff(before, after)
    assert [(c.section, c.op, c.fields) for c in changes] == \
        [("ip-dhcp-host", "modified", ("name",))]
