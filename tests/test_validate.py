"""netupdate.check.semantic: clean fixtures, every bad fixture located, each semantic rule both ways,
hostile input, rule selection, the registry and its documentation."""

import os
import re
from pathlib import Path

import pytest
from lxml import etree

import netupdate
from netupdate.check import ruledocs, rules
from netupdate.check import semantic as V
from netupdate.check.semantic import Issue, is_valid, validate
from netupdate.model import defs as model

ROOT = Path(__file__).resolve().parent.parent
NETWORKS = sorted((ROOT / "fixtures" / "networks").glob("*.xml"))
BAD = ROOT / "fixtures" / "bad"
# Deliberately not schema-valid (fixtures/README.md: "no-schema", round-trip only).
NOT_SCHEMA_VALID = {"odd-unknown-elements.xml"}


def codes(issues) -> list[str]:
    return [i.code for i in issues]


# ---------------------------------------------------------------------- valid fixtures
def test_there_are_fixtures():
    assert len(NETWORKS) >= 25


@pytest.mark.parametrize("path", NETWORKS, ids=lambda p: p.name)
def test_every_fixture_validates_clean(path):
    issues = validate(path)
    if path.name in NOT_SCHEMA_VALID:
        assert issues and {i.source for i in issues} == {"schema"}
        assert validate(path, schema=None) == []
    else:
        assert issues == [], "\n".join(map(str, issues))
        assert is_valid(path, strict=True)


@pytest.mark.parametrize("path", NETWORKS[:6], ids=lambda p: p.name)
def test_fixtures_clean_against_the_xsd_twin(path):
    assert validate(path, schema="xsd") == []


# ---------------------------------------------------------------------- bad fixtures
# file -> (codes that must be reported besides grammar codes, whether grammar codes come too,
#          the path of the first issue).  Grammar issues that repeat a model or semantic issue
#          are dropped by validate(), so e.g. bad-mac gives NU-E020 alone.
BAD_EXPECTED = {
    "malformed.xml": ({"NU-E001"}, False, None),
    "not-xml.txt": ({"NU-E001"}, False, None),
    "binary-garbage.bin": ({"NU-E004"}, False, None),
    "wrong-root.xml": ({"NU-E006"}, False, "/domain"),
    "billion-laughs.xml": ({"NU-E002"}, False, None),
    "xxe-file.xml": ({"NU-E002"}, False, None),
    "xxe-network.xml": ({"NU-E002"}, False, None),
    "xxe-parameter-entity.xml": ({"NU-E002"}, False, None),
    "external-dtd.xml": ({"NU-E002"}, False, None),
    "bad-mac.xml": ({"NU-E020"}, False, "/network/ip/dhcp/host"),
    "multicast-mac.xml": ({"NU-E124"}, False, "/network/ip/dhcp/host"),
    "bad-ip.xml": ({"NU-E020"}, False, "/network/ip"),
    "bad-int.xml": ({"NU-E020"}, False, "/network/mtu"),
    "bad-enum.xml": ({"NU-E101"}, False, "/network/forward"),
    "missing-name.xml": (set(), True, "/network"),
    "duplicate-host-mac.xml": ({"NU-E102"}, False, "/network/ip/dhcp/host[2]"),
    "duplicate-host-ip.xml": ({"NU-E104"}, False, "/network/ip/dhcp/host[2]"),
    "host-outside-subnet.xml": ({"NU-E105"}, False, "/network/ip/dhcp/host"),
    "range-reversed.xml": ({"NU-E107"}, False, "/network/ip/dhcp/range"),
    "range-outside.xml": ({"NU-E108"}, False, "/network/ip/dhcp/range"),
    "range-touches-broadcast.xml": ({"NU-E109"}, False, "/network/ip/dhcp/range"),
    "overlapping-ranges.xml": ({"NU-W101"}, False, "/network/ip/dhcp/range[2]"),
    "two-dhcp-ipv4.xml": ({"NU-E111"}, False, "/network/ip[2]"),
    "two-default-portgroups.xml": ({"NU-E112"}, False, "/network/portgroup[2]"),
    "long-bridge-name.xml": ({"NU-E113"}, False, "/network/bridge"),
    "nat-two-interfaces.xml": ({"NU-E114"}, False, "/network/forward/interface[2]"),
    "dns-on-bridge-mode.xml": ({"NU-E120"}, False, "/network/dns"),
    "vlan-on-nat.xml": ({"NU-E121"}, False, "/network/vlan"),
    "short-lease.xml": ({"NU-E122"}, False, "/network/ip/dhcp/range/lease"),
    "srv-port-without-target.xml": ({"NU-E123"}, False, "/network/dns/srv"),
}


def test_every_bad_fixture_has_an_expectation():
    present = {p.name for p in BAD.iterdir() if p.name != "README.md"}
    assert present == set(BAD_EXPECTED)


@pytest.mark.parametrize("name", sorted(BAD_EXPECTED))
def test_bad_fixture_is_reported_with_a_location(name):
    expected, with_grammar, first_path = BAD_EXPECTED[name]
    path = BAD / name
    issues = validate(path)
    assert issues, f"{name}: nothing reported"
    assert {c for c in codes(issues) if not c.startswith("NU-S")} == expected
    assert any(c.startswith("NU-S") for c in codes(issues)) == with_grammar
    assert all(i.file == str(path) for i in issues)
    assert all(i.line for i in issues)
    if first_path is not None:
        assert issues[0].path == first_path
    else:
        assert issues[0].source == "parse"
    assert not is_valid(path, strict=True)
    assert is_valid(path) == (expected == {"NU-W101"})


def test_bad_fixture_lines_point_at_the_culprit():
    issue, = validate(BAD / "duplicate-host-mac.xml")
    text = (BAD / "duplicate-host-mac.xml").read_text().splitlines()
    assert "52:54:00:AA:BB:01" in text[issue.line - 1]
    issue, = validate(BAD / "xxe-file.xml")
    assert "DOCTYPE" in (BAD / "xxe-file.xml").read_text().splitlines()[issue.line - 1]


def test_hostile_input_never_leaks(tmp_path):
    for name in ("xxe-file.xml", "xxe-network.xml", "billion-laughs.xml"):
        issues = validate(BAD / name)
        assert "root:" not in " ".join(i.message for i in issues)   # /etc/passwd not read
        assert "lollol" not in " ".join(i.message for i in issues)


def test_a_50_megabyte_file_is_refused_without_parsing(tmp_path):
    big = tmp_path / "big.xml"
    with open(big, "wb") as handle:
        handle.write(b"<network><name>big</name><description>")
        chunk = b"x" * (1024 * 1024)
        for _ in range(50):
            handle.write(chunk)
        handle.write(b"</description></network>")
    assert big.stat().st_size > 50 * 1024 * 1024
    issue, = validate(big)
    assert issue.code == "NU-E003" and issue.source == "parse" and issue.file == str(big)
    issue, = validate(big.read_bytes())       # the same limit for bytes given directly
    assert issue.code == "NU-E003"


@pytest.mark.parametrize("source, code", [
    (b"", "NU-E001"),
    (b"<", "NU-E001"),
    (b"<network>", "NU-E001"),
    (b"\x00\x01\x02garbage", "NU-E004"),
    (b"\xff\xfe\xfd not utf-8 at all \xc3\x28", "NU-E004"),
    (b"<?xml version='1.0' encoding='x-no-such-codec'?><network/>", "NU-E004"),
    ("<network>" * 300 + "</network>" * 300, "NU-E001"),        # deeper than libxml2 allows
    ("<!DOCTYPE network [<!ENTITY a 'b'>]><network><name>&a;</name></network>", "NU-E002"),
    ("<pool type='dir'><name>p</name></pool>", "NU-E006"),
    ("<network xmlns='urn:x'><name>n</name></network>", "NU-E006"),
    ("<network><name>a</name></network><network/>", "NU-E001"),
])
def test_garbage_is_one_parse_issue(source, code):
    issues = validate(source)
    assert codes(issues) == [code]
    assert issues[0].source == "parse" and issues[0].severity == "error"


def test_missing_file_and_directory_are_issues(tmp_path):
    issue, = validate(tmp_path / "nope.xml")
    assert issue.code == "NU-E005" and "No such file" in issue.message
    issue, = validate(tmp_path)
    assert issue.code == "NU-E005"


def test_a_programming_error_is_not_swallowed():
    with pytest.raises(TypeError):
        validate(42)


# ---------------------------------------------------------------------- sources and API
NAT = """<network>
  <name>t</name>
  <forward mode='nat'/>
  <bridge name='virbr9'/>
  <ip address='192.168.9.1' prefix='24'>
    <dhcp>
      <range start='192.168.9.100' end='192.168.9.199'/>
      {hosts}
    </dhcp>
  </ip>
</network>
"""


def test_every_kind_of_source(tmp_path):
    bad = NAT.format(hosts="<host mac='52:54:00:00:00:01' ip='192.168.8.5'/>")
    path = tmp_path / "n.xml"
    path.write_text(bad)
    for source in (bad, bad.encode(), path, str(path), model.load(bad, check=False)):
        assert codes(validate(source)) == ["NU-E105"], source
    assert validate(bad)[0].file is None
    assert validate(bad, filename="x.xml")[0].file == "x.xml"
    assert validate(path)[0].file == str(path)
    assert validate(model.load(path, check=False))[0].file == str(path)


def test_an_edited_network_is_validated_as_edited():
    network = model.load(NAT.format(hosts=""))
    dhcp = network.root.find("ip/dhcp")
    etree.SubElement(dhcp, "host", mac="01:00:5e:00:00:01", ip="192.168.9.5")
    network.touched()
    issue, = validate(network, schema=None)
    assert issue.code == "NU-E124" and issue.path == "/network/ip/dhcp/host"


def test_a_network_with_unreadable_values_is_still_checked():
    xml = NAT.format(hosts="<host mac='zz' name='a' ip='192.168.9.5'/>"
                           "<host mac='52:54:00:00:00:02' name='a' ip='192.168.9.6'/>")
    network = model.load(xml, check=False)
    with pytest.raises(netupdate.ModelError):
        network.defs  # noqa: B018
    found = validate(network)
    assert codes(found) == ["NU-E020", "NU-E103"]
    assert found[0].source == "model" and found[0].path == "/network/ip/dhcp/host[1]"
    assert found[1].path == "/network/ip/dhcp/host[2]"


def test_semantic_issues_about_an_unreadable_element_are_dropped():
    # the mac cannot be read, so "needs a mac or a name" would only repeat that
    found = validate(NAT.format(hosts="<host mac='52:54:00:00:00' ip='192.168.9.5'/>"))
    assert codes(found) == ["NU-E020"]


def test_package_level_functions():
    xml = NAT.format(hosts="")
    assert netupdate.validate(xml) == []
    assert netupdate.is_valid(xml)
    assert netupdate.Issue is Issue
    assert netupdate.validate is validate and netupdate.is_valid is is_valid


def test_issue_text_and_dict():
    issue = Issue("error", "NU-E105", "address x is outside", 9, "/network/ip/dhcp/host[2]",
                  "semantic", "net.xml")
    assert str(issue) == "net.xml:9: /network/ip/dhcp/host[2]: NU-E105 address x is outside"
    assert issue.to_dict() == {"severity": "error", "code": "NU-E105",
                               "message": "address x is outside", "line": 9,
                               "path": "/network/ip/dhcp/host[2]", "source": "semantic"}
    assert str(Issue("error", "NU-E003", "too big", file="f")) == "f: NU-E003 too big"
    assert str(Issue("error", "NU-E001", "bad", line=2)) == "line 2: NU-E001 bad"


def test_locating_the_third_host_of_the_first_ip():
    xml = """<network><name>t</name><forward mode='nat'/>
<ip address='192.168.9.1' prefix='24'>
  <dhcp>
    <host mac='52:54:00:00:00:01' name='a' ip='192.168.9.11'/>
    <host mac='52:54:00:00:00:02' name='b' ip='192.168.9.12'/>
    <host mac='52:54:00:00:00:03' name='c' ip='192.168.9.11'/>
  </dhcp>
</ip>
<ip family='ipv6' address='fd00::1' prefix='64'/>
</network>"""
    issue, = validate(xml)
    assert (issue.code, issue.line, issue.path) == ("NU-E104", 6, "/network/ip[1]/dhcp/host[3]")
    assert "1st host" in issue.message and "line 4" in issue.message


# ---------------------------------------------------------------------- grammar interplay
def test_unknown_enum_is_reported_whatever_the_grammar():
    xml = (BAD / "bad-enum.xml").read_text()
    for grammar in ("rng", "xsd", None):
        assert "NU-E101" in codes(validate(xml, schema=grammar)), grammar
    # with the semantic rule ignored the grammar's own issue is shown
    assert [i.source for i in validate(xml, ignore=["NU-E101"])] == ["schema"]


def test_grammar_issue_returns_when_the_better_issue_is_ignored():
    path = BAD / "multicast-mac.xml"
    assert codes(validate(path)) == ["NU-E124"]
    again = validate(path, ignore=["NU-E124"])
    assert again and all(i.source == "schema" for i in again)
    assert codes(validate(BAD / "bad-mac.xml", ignore=["NU-E020"]))[0].startswith("NU-S")


def test_grammar_problems_elsewhere_are_kept():
    xml = NAT.format(hosts="<host mac='52:54:00:00:00' ip='192.168.9.5' colour='red'/>")
    found = validate(xml)
    assert "NU-E020" in codes(found)
    assert any(i.source == "schema" and "colour" in i.message for i in found)


def test_unknown_grammar_is_refused():
    with pytest.raises(ValueError):
        validate(NAT.format(hosts=""), schema="dtd")


# ---------------------------------------------------------------------- selecting rules
def test_select_and_ignore():
    path = BAD / "overlapping-ranges.xml"
    assert codes(validate(path)) == ["NU-W101"]
    assert validate(path, ignore=["NU-W101"]) == []
    assert validate(path, ignore=["NU-W"]) == []
    assert codes(validate(path, select=["NU-W"])) == ["NU-W101"]
    assert validate(path, select=["NU-E1"]) == []
    assert codes(validate(BAD / "xxe-file.xml", ignore=["ALL"])) == ["NU-E002"]  # never hidden
    with pytest.raises(ValueError, match="NU-X999"):
        validate(path, ignore=["NU-X999"])


def test_select_rules_prefixes():
    chosen = rules.select_rules(["nu-e12"], ["NU-E121"])
    assert "NU-E120" in chosen and "NU-E121" not in chosen and "NU-E101" not in chosen
    assert {"NU-E001", "NU-E005"} <= chosen      # parse codes are always reported


# ---------------------------------------------------------------------- semantic rules
def net(body: str, *, forward: str = "<forward mode='nat'/>", bridge: str = "<bridge name='virbr9'/>",
        ips: str | None = None, dhcp: str = "<range start='192.168.9.100' end='192.168.9.199'/>",
        ) -> str:
    """A small network: nat on virbr9, 192.168.9.1/24 with ``dhcp`` inside, ``body`` appended."""
    if ips is None:
        ips = (f"<ip address='192.168.9.1' prefix='24'><dhcp>{dhcp}</dhcp></ip>"
               if dhcp else "<ip address='192.168.9.1' prefix='24'/>")
    return f"<network><name>t</name>{forward}{bridge}{body}{ips}</network>"


IP9 = ("<ip address='192.168.9.1' prefix='24'><dhcp>"
       "<range start='192.168.9.100' end='192.168.9.199'/></dhcp></ip>")
H1 = "<host mac='52:54:00:00:00:01' name='a' ip='192.168.9.11'/>"
OVS_BRIDGE = ("<forward mode='bridge'/>", "<bridge name='ovsbr0'/>")
PASSTHROUGH = "<forward mode='passthrough'><interface dev='eth1'/></forward>"

DMQ_ROOT = "<network xmlns:dnsmasq='http://libvirt.org/schemas/network/dnsmasq/1.0'>"
OPTIONS = "<dnsmasq:options><dnsmasq:option value='{}'/></dnsmasq:options>"

# code -> (a network that breaks the rule, the closest network that does not)
CASES = {
    "NU-E101": (net("", forward="<forward mode='teleport'/>"),
                net("", forward="<forward mode='route'/>")),
    "NU-E102": (net("", dhcp=H1 + "<host mac='52:54:00:00:00:01' name='b' ip='192.168.9.12'/>"),
                net("", dhcp=H1 + "<host mac='52:54:00:00:00:02' name='b' ip='192.168.9.12'/>")),
    "NU-E103": (net("", dhcp=H1 + "<host mac='52:54:00:00:00:02' name='a' ip='192.168.9.12'/>"),
                net("", dhcp=H1 + "<host mac='52:54:00:00:00:02' name='A' ip='192.168.9.12'/>")),
    "NU-E104": (net("", dhcp=H1 + "<host mac='52:54:00:00:00:02' name='b' ip='192.168.9.11'/>"),
                net("", dhcp=H1 + "<host mac='52:54:00:00:00:02' name='b' ip='192.168.9.12'/>")),
    "NU-E105": (net("", dhcp="<host mac='52:54:00:00:00:01' ip='192.168.10.11'/>"),
                net("", dhcp="<host mac='52:54:00:00:00:01' ip='192.168.9.254'/>")),
    "NU-E106": (net("", dhcp="<host id='0:4:7e:7d:f0:7d:a8:bc:c5:d2:13:32:11:ed:16:ea:84:63'"
                             " ip='192.168.9.11'/>"),
                net("", dhcp="<host name='pxe' ip='192.168.9.11'/>")),
    "NU-E107": (net("", dhcp="<range start='192.168.9.200' end='192.168.9.100'/>"),
                net("", dhcp="<range start='192.168.9.100' end='192.168.9.200'/>")),
    "NU-E108": (net("", dhcp="<range start='192.168.9.200' end='192.168.10.20'/>"),
                net("", dhcp="<range start='192.168.9.200' end='192.168.9.254'/>")),
    "NU-E109": (net("", dhcp="<range start='192.168.9.0' end='192.168.9.99'/>"),
                net("", dhcp="<range start='192.168.9.2' end='192.168.9.99'/>")),
    "NU-E110": (net("", ips="<ip address='10.0.0.1' prefix='8'><dhcp>"
                            "<range start='10.0.0.2' end='10.1.0.2'/></dhcp></ip>"),
                net("", ips="<ip address='10.0.0.1' prefix='8'><dhcp>"
                            "<range start='10.0.0.2' end='10.0.255.255'/></dhcp></ip>")),
    "NU-E111": (net("", ips=IP9 + "<ip address='10.9.0.1' prefix='24'><dhcp>"
                            "<host name='x' ip='10.9.0.5'/></dhcp></ip>"),
                net("", ips=IP9 + "<ip address='10.9.0.1' prefix='24'/>")),
    "NU-E112": (net("<portgroup name='a' default='yes'/><portgroup name='b' default='yes'/>"),
                net("<portgroup name='a' default='yes'/><portgroup name='b' default='no'/>")),
    "NU-E113": (net("", bridge="<bridge name='virbr-abcdefghij'/>"),
                net("", bridge="<bridge name='virbr-abcdefghi'/>")),
    "NU-E114": (net("", forward="<forward mode='route'><interface dev='eth1'/>"
                                "<interface dev='eth2'/></forward>"),
                net("", forward="<forward mode='route'><interface dev='eth1'/></forward>")),
    "NU-E115": (net("", forward="<forward mode='nat' dev='eth0'><interface dev='eth1'/>"
                                "</forward>"),
                net("", forward="<forward mode='nat' dev='eth1'><interface dev='eth1'/>"
                                "</forward>")),
    "NU-E116": (net("", ips=""), net("", forward="", ips="")),
    "NU-E117": (net("", forward="<forward mode='passthrough'><pf dev='eth0'/>"
                                "<interface dev='eth1'/></forward>", bridge="", ips=""),
                net("", forward="<forward mode='passthrough'><pf dev='eth0'/></forward>",
                    bridge="", ips="")),
    "NU-E118": (net("", forward=OVS_BRIDGE[0], bridge="<bridge name='br0' stp='on'/>", ips=""),
                net("", forward=OVS_BRIDGE[0], bridge="<bridge name='br0'/>", ips="")),
    "NU-E119": (net("<mtu size='9000'/>", forward=OVS_BRIDGE[0], bridge="<bridge name='br0'/>",
                    ips=""),
                net("", forward=OVS_BRIDGE[0], bridge="<bridge name='br0'/>", ips="")),
    "NU-E120": (net("<dns enable='no'><txt name='a' value='b'/></dns>"),
                net("<dns><txt name='a' value='b'/></dns>")),
    "NU-E121": (net("<vlan><tag id='7'/></vlan>", forward=OVS_BRIDGE[0], bridge=OVS_BRIDGE[1],
                    ips=""),
                net("<virtualport type='openvswitch'/><vlan><tag id='7'/></vlan>",
                    forward=OVS_BRIDGE[0], bridge=OVS_BRIDGE[1], ips="")),
    "NU-E122": (net("", dhcp="<range start='192.168.9.100' end='192.168.9.199'>"
                             "<lease expiry='1' unit='minutes'/></range>"),
                net("", dhcp="<range start='192.168.9.100' end='192.168.9.199'>"
                             "<lease expiry='2' unit='minutes'/></range>")),
    "NU-E123": (net("<dns><srv service='ldap' protocol='tcp' weight='5'/></dns>"),
                net("<dns><srv service='ldap' protocol='tcp' target='dc.lan' weight='5'/></dns>")),
    "NU-E124": (net("", dhcp="<host mac='33:33:00:00:00:01' ip='192.168.9.11'/>"),
                net("", dhcp="<host mac='32:33:00:00:00:01' ip='192.168.9.11'/>")),
    "NU-E125": (net("", ips="<ip family='ipv6' address='192.168.9.1' prefix='24'/>"),
                net("", ips="<ip family='ipv4' address='192.168.9.1' prefix='24'/>")),
    "NU-E126": (net("").replace("<name>t</name>", "<name></name>"),
                net("").replace("<name>t</name>", "<name>a-b</name>")),
    "NU-E127": (net("", forward="<forward mode='nat'><nat><port start='2000' end='1024'/>"
                                "</nat></forward>"),
                net("", forward="<forward mode='nat'><nat><port start='1024' end='2000'/>"
                                "</nat></forward>")),
    "NU-E130": (net("", forward="<forward mode='route'><nat><port start='1024' end='2000'/>"
                                "</nat></forward>"),
                net("", forward="<forward mode='nat'><nat><port start='1024' end='2000'/>"
                                "</nat></forward>")),
    "NU-E131": (net("", forward="<forward mode='bridge'><interface dev='eth1'/>"
                                "<interface dev='eth1'/></forward>", bridge="", ips=""),
                net("", forward="<forward mode='bridge'><interface dev='eth1'/>"
                                "<interface dev='eth2'/></forward>", bridge="", ips="")),
    "NU-E128": (net("", ips="<ip address='192.168.9.1' prefix='24'/>"
                            "<ip family='ipv6' address='fd00::1' prefix='64'>"
                            "<tftp root='/srv/tftp'/></ip>"),
                net("", ips="<ip address='192.168.9.1' prefix='24'><tftp root='/srv/tftp'/>"
                            "</ip><ip family='ipv6' address='fd00::1' prefix='64'/>")),
    "NU-E129": (net("<portgroup name='a'/><portgroup name='a'/>"),
                net("<portgroup name='a'/><portgroup name='b'/>")),
    "NU-E132": (net("", ips="<ip address='192.168.9.1' prefix='24'/>"
                        "<ip address='192.168.9.1' prefix='25'/>"),
                net("", ips="<ip address='192.168.9.1' prefix='24'/>"
                        "<ip address='192.168.9.2' prefix='24'/>")),
    "NU-W101": (net("", dhcp="<range start='192.168.9.100' end='192.168.9.150'/>"
                             "<range start='192.168.9.150' end='192.168.9.199'/>"),
                net("", dhcp="<range start='192.168.9.100' end='192.168.9.149'/>"
                             "<range start='192.168.9.150' end='192.168.9.199'/>")),
    "NU-E134": (net("<route family='ipv6' address='192.168.5.0' prefix='24' "
                    "gateway='192.168.9.2'/>"),
                net("<route address='192.168.5.0' prefix='24' gateway='192.168.9.2'/>")),
    "NU-E135": (net("<route address='192.168.5.0' prefix='24' gateway='192.168.8.2'/>"),
                net("<route address='192.168.5.0' prefix='24' gateway='192.168.9.2'/>")),
    "NU-E133": (net("<dns><forwarder port='53'/></dns>"),
                net("<dns><forwarder domain='example.com'/></dns>")),
    "NU-W102": (net("<dns><host ip='192.168.9.5'><hostname>a</hostname></host></dns>",
                    forward="", ips=""),
                net("<dns><host ip='192.168.9.5'><hostname>a</hostname></host></dns>",
                    forward="")),
    "NU-W103": (net("", dhcp="<range start='192.168.9.1' end='192.168.9.99'/>"),
                net("", dhcp="<range start='192.168.9.2' end='192.168.9.99'/>")),
    "NU-W104": (net(OPTIONS.format("dhcp-script=/tmp/x.sh")).replace("<network>", DMQ_ROOT),
                net(OPTIONS.format("dhcp-option=option:ntp-server,192.168.9.1"))
                .replace("<network>", DMQ_ROOT)),
}


def test_every_semantic_rule_has_a_case():
    assert set(CASES) == {r.code for r in rules.SEMANTIC_RULES}


@pytest.mark.parametrize("code", sorted(CASES))
def test_rule_fires_on_the_bad_network(code):
    bad, _good = CASES[code]
    found = [i for i in validate(bad) if i.code == code]
    assert found, f"{code} not reported; got {validate(bad)}"
    rule = rules.RULES[code]
    for issue in found:
        assert issue.severity == rule.severity and issue.source == "semantic"
        assert issue.line == 1 and issue.path and issue.path.startswith("/network")
        assert issue.message
    assert code not in codes(validate(bad, ignore=[code]))


@pytest.mark.parametrize("code", sorted(CASES))
def test_rule_is_quiet_on_the_good_network(code):
    _bad, good = CASES[code]
    assert validate(good) == [], "\n".join(map(str, validate(good)))


# more shapes of some rules
@pytest.mark.parametrize("code, xml", [
    ("NU-E101", net("", bridge="<bridge name='virbr9' stp='maybe'/>")),
    ("NU-E101", net("", dhcp="<range start='192.168.9.100' end='192.168.9.199'>"
                             "<lease expiry='1' unit='days'/></range>")),
    ("NU-E101", net("", forward="<forward mode='hostdev'><driver name='vfio-pci'/></forward>",
                    bridge="", ips="")),
    ("NU-E102", net("", dhcp="<host mac='52:54:00:0A:00:01' ip='192.168.9.11'/>"
                             "<host mac='52:54:0:a:0:1' ip='192.168.9.12'/>")),
    ("NU-E104", net("", ips="<ip family='ipv6' address='fd00::1' prefix='64'><dhcp>"
                            "<host name='a' ip='fd00::0:10'/><host name='b' ip='fd00::10'/>"
                            "</dhcp></ip>")),
    ("NU-E105", net("", dhcp="<host mac='52:54:00:00:00:01' ip='fd00::5'/>")),
    ("NU-E106", net("", ips="<ip family='ipv6' address='fd00::1' prefix='64'><dhcp>"
                            "<host mac='52:54:00:00:00:01' name='a' ip='fd00::5'/></dhcp></ip>")),
    ("NU-E108", net("", dhcp="<range start='fd00::2' end='fd00::9'/>")),
    ("NU-E109", net("", dhcp="<range start='192.168.9.2' end='192.168.9.255'/>")),
    ("NU-E114", net("", forward="<forward mode='open' dev='eth0'/>")),
    ("NU-E115", net("", forward="<forward mode='hostdev' dev='eth0'><pf dev='eth1'/></forward>",
                    bridge="", ips="")),
    ("NU-E116", net("", forward="<forward mode='open'/>", ips="")),
    ("NU-E117", net("", forward="<forward mode='bridge'><address type='pci' bus='1' slot='0' "
                                "function='0'/></forward>", bridge="", ips="")),
    ("NU-E118", net("", forward=PASSTHROUGH, bridge="<bridge name='br0'/>", ips="")),
    ("NU-E118", net("", forward="<forward mode='bridge' dev='eth0'/>",
                    bridge="<bridge name='br0'/>", ips="")),
    ("NU-E119", net("", forward=OVS_BRIDGE[0], bridge="<bridge name='br0'/>")),
    ("NU-E119", net("<bandwidth><inbound average='10'/></bandwidth>", forward=PASSTHROUGH,
                    bridge="", ips="")),
    ("NU-E119", net("<portgroup name='p'><bandwidth><inbound average='10'/></bandwidth>"
                    "</portgroup>", forward="<forward mode='hostdev'><pf dev='eth0'/></forward>",
                    bridge="", ips="")),
    ("NU-E118", net("", forward=PASSTHROUGH, bridge="<bridge zone='public'/>", ips="")),
    ("NU-E120", net("<dns><srv service='a' protocol='tcp'/></dns>", forward=PASSTHROUGH,
                    bridge="", ips="")),
    ("NU-E121", net("<portgroup name='p'><vlan><tag id='3'/></vlan></portgroup>", forward="")),
    ("NU-E121", net("<portgroup name='p'><virtualport type='802.1Qbh'/><vlan><tag id='3'/>"
                    "</vlan></portgroup>", forward=PASSTHROUGH, bridge="", ips="")),
    ("NU-E122", net("", dhcp="<host mac='52:54:00:00:00:01' ip='192.168.9.5'>"
                             "<lease expiry='119' unit='seconds'/></host>")),
    ("NU-E123", net("<dns><srv service='ldap' protocol='tcp' target='dc' port='0'/></dns>")),
    ("NU-E124", net("<mac address='01:00:00:00:00:01'/>")),
    ("NU-E125", net("", ips="<ip address='192.168.9.1' prefix='33'/>")),
    ("NU-E125", net("", ips="<ip prefix='24'/>")),
    ("NU-E125", net("", ips="<ip address='192.168.9.1' netmask='255.255.255.0' prefix='24'/>")),
    ("NU-E125", net("", ips="<ip address='fd00::1' netmask='255.255.255.0'/>")),
    ("NU-E125", net("", ips="<ip address='fd00::1' prefix='64'/>")),   # family='ipv6' needed
    ("NU-E127", net("", forward="<forward mode='nat'><nat><address start='192.0.2.9' "
                                "end='192.0.2.1'/></nat></forward>")),
    ("NU-E128", net("", ips="<ip family='ipv6' address='fd00::1' prefix='64'><dhcp>"
                            "<range start='fd00::10' end='fd00::20'/><bootp file='pxe'/>"
                            "</dhcp></ip>")),
    ("NU-W101", net("", dhcp="<range start='192.168.9.10' end='192.168.9.20'/>"
                             "<range start='192.168.9.10' end='192.168.9.20'/>")),
])
def test_more_shapes_of_a_rule(code, xml):
    assert code in codes(validate(xml, schema=None)), validate(xml, schema=None)


@pytest.mark.parametrize("xml", [
    net("", ips="<ip family='ipv6' address='fd00::1' prefix='64'><dhcp>"
                "<host id='0:4:7e:7d:f0:7d:a8:bc:c5:d2:13:32:11:ed:16:ea:84:63' ip='fd00::5'/>"
                "</dhcp></ip>"),
    net("<portgroup name='p'><vlan><tag id='3'/></vlan></portgroup>",
        forward="<forward mode='hostdev'><pf dev='eth0'/></forward>", bridge="", ips=""),
    net("<portgroup name='p'><virtualport type='openvswitch'/><vlan><tag id='3'/></vlan>"
        "</portgroup>", forward=OVS_BRIDGE[0], bridge=OVS_BRIDGE[1], ips=""),
    net("", dhcp="<range start='192.168.9.2' end='192.168.9.254'>"
                 "<lease expiry='0'/></range>"),
    net("", ips="<ip address='192.168.9.1' prefix='31'><dhcp>"
                "<range start='192.168.9.0' end='192.168.9.1'/></dhcp></ip>"),
    # libvirt's parser refuses a non-zero delay only (def->delay); bandwidth is fine on a
    # bridge-mode network with a bridge name
    net("<bandwidth><inbound average='10'/></bandwidth>", forward=OVS_BRIDGE[0],
        bridge="<bridge name='br0' delay='0'/>", ips=""),
])
def test_legitimate_shapes_are_quiet(xml):
    found = [i for i in validate(xml, schema=None) if i.code != "NU-W103"]
    assert found == [], found


def test_the_mutations_of_the_grammar_tests_are_all_caught():
    mutations = pytest.importorskip("mutations")
    found = mutations.generate(NETWORKS)
    assert len(found) > 100
    kinds = set()
    for mutation in found:
        issues = validate(etree.tostring(mutation.tree, encoding="unicode"))
        errors = [i for i in issues if i.severity == "error"]
        assert errors, f"{mutation.id}: not reported"
        assert all(i.line and i.path for i in errors), mutation.id
        kinds.add(mutation.kind)
    assert kinds == set(mutations.MUTATORS)


# ---------------------------------------------------------------------- registry and docs
def test_registry_is_well_formed():
    assert rules.RULES
    for code, rule in rules.RULES.items():
        assert re.fullmatch(r"NU-[EWS]\d{3}", code) and rule.code == code
        assert (rule.severity == "warning") == code.startswith("NU-W")
        assert rule.source in V.SOURCES
        assert rule.title and rule.explanation and "\n" not in rule.explanation
        assert re.fullmatch(r"[a-z0-9-]+", rule.name)
        assert (rule.check is not None) == (rule.source == "semantic")
    assert len({r.name for r in rules.RULES.values()}) == len(rules.RULES)


def test_grammar_codes_are_registered():
    from netupdate.check import grammar as schema
    constants = {v for k, v in vars(schema).items()
                 if k.isupper() and isinstance(v, str) and v.startswith("NU-")}
    assert constants and constants <= {c for c, r in rules.RULES.items() if r.source == "schema"}


def test_docs_list_every_code():
    text = (ROOT / "docs" / "validation.md").read_text()
    begin, end = "<!-- codes:begin -->\n", "<!-- codes:end -->"
    generated = text[text.index(begin) + len(begin):text.index(end)]
    assert generated.strip() == ruledocs.rules_markdown().strip(), (
        "docs/validation.md is out of date: run python contrib/generate.py")


def test_explain():
    text = V.explain("nu-e105")
    assert text.startswith("NU-E105 (dhcp-host-outside-subnet)") and "severity: error" in text
    assert "cannot be ignored" in V.explain("NU-E002")
    with pytest.raises(KeyError):
        V.explain("NU-E999")


def test_importing_validate_does_not_load_the_grammar_library():
    import subprocess
    import sys
    code = ("import importlib, sys; importlib.import_module('netupdate.check.semantic'); "
            "print('xmlschema' in sys.modules, 'netupdate.check.grammar' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.stdout.split() == ["False", "False"]


def test_a_pipe_or_a_sizeless_file_is_read_whole(tmp_path):
    fifo = tmp_path / "pipe.xml"
    os.mkfifo(fifo)
    import threading

    def feed():
        with open(fifo, "wb") as handle:
            handle.write(NAT.format(hosts="<host mac='52:54:00:00:00:01' "
                                          "ip='192.168.8.5'/>").encode())

    writer = threading.Thread(target=feed)
    writer.start()
    found = validate(fifo)
    writer.join()
    assert codes(found) == ["NU-E105"]
