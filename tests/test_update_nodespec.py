"""Updates addressed by an XPath nodeSpec."""

from pathlib import Path

import pytest

import netupdate
from netupdate.model import defs as M

NETWORKS = Path(__file__).resolve().parent.parent / "fixtures" / "networks"


def load(name: str) -> M.Network:
    return netupdate.load(NETWORKS / f"{name}.xml")


def refused(network, kind, *args, words=(), **kwargs):
    before = network.to_xml()
    with pytest.raises(kind) as info:
        network.update(*args, **kwargs)
    assert network.to_xml() == before
    for word in words:
        assert word in info.value.message, info.value.message
    assert "\n" not in str(info.value)
    return info.value


# ---------------------------------------------------------------------- add
def test_add_into_the_selected_parent_goes_through_the_section_checks():
    network = load("nat-hosts")
    change = network.update("add-first", None,
                            "<host mac='52:54:00:00:00:99' name='n' ip='192.168.100.9'/>",
                            node_spec="/network/ip[1]/dhcp")
    assert change.section == "ip-dhcp-host"
    assert change.path == "/network/ip[1]/dhcp/host[1]"
    assert change.context["node_spec"] == "/network/ip[1]/dhcp"
    refused(network, netupdate.DuplicateError, "add", None,
            "<host mac='52:54:00:a1:00:10' name='z' ip='192.168.100.8'/>",
            node_spec="/network/ip[1]/dhcp",
            words=["existing dhcp host entry in network 'nat-hosts'"])


def test_add_host_to_an_ip_picks_that_ip_and_its_rules():
    network = load("nat-hosts")
    refused(network, netupdate.InvalidOperationError, "add", "ip-dhcp-host",
            "<host mac='52:54:00:00:00:99' name='n' ip='192.168.101.9'/>",
            node_spec="/network/ip[2]", words=["single IPv4 address"])
    network = load("routed")
    change = network.update("add", None, "<host name='v6' ip='2001:db8:10::5'/>",
                            node_spec="/network/ip[@family='ipv6']")
    assert change.context["ip_version"] == 6 and change.section == "ip-dhcp-host"


def test_add_non_section_elements():
    network = load("nat-hosts")
    change = network.update("add", None, "<lease expiry='1' unit='hours'/>",
                            node_spec="//dhcp/host[@name='db1']")
    assert change.section == "ip-dhcp-host"
    assert change.path == "/network/ip[1]/dhcp/host[4]/lease"
    assert change.before.lease is None and change.after.lease.seconds == 3600
    change = network.update("add", None, "<tftp root='/srv'/>", node_spec="/network/ip[1]")
    assert change.section == "ip" and isinstance(change.after, M.IpDef)
    assert change.after.tftp_root == "/srv"
    assert network.to_xml().index("<tftp") < network.to_xml().index("<dhcp>")
    change = network.update("add", None, "<mtu size='1400'/>", node_spec="/network")
    assert change.section == "network" and change.path == "/network/mtu"
    assert change.after.mtu == 1400 and change.before.mtu is None
    network = load("dns-heavy")
    change = network.update("add-first", None, "<forwarder addr='9.9.9.9'/>",
                            node_spec="/network/dns")
    assert change.section == "dns" and change.after.forwarders[0].addr.exploded == "9.9.9.9"
    assert change.path == "/network/dns/forwarder[1]"


def test_add_refusals():
    network = load("nat-hosts")
    refused(network, netupdate.InvalidFragmentError, "add", None,
            "<lease expiry='1' unit='days'/>", node_spec="//dhcp/host[@name='db1']",
            words=["'days'"])
    refused(network, netupdate.InvalidOperationError, "add", None, "<tftp root='/srv'/>",
            node_spec="/network/ip[3]", words=["<tftp> element in an IPv6"])
    refused(network, netupdate.InvalidFragmentError, "add", None, "<foo/>",
            node_spec="/network", words=["<foo> is not allowed in <network>"])
    refused(network, netupdate.InvalidFragmentError, "add", None, "<mtu size='1'/>",
            node_spec="/network/mac", words=["<mtu> is not allowed in <mac>"])
    refused(network, netupdate.DuplicateError, "add", None, "<mac address='52:54:00:00:00:01'/>",
            node_spec="/network", words=["already a <mac>"])


# ---------------------------------------------------------------------- modify
def test_modify_the_selected_element_may_change_its_keys():
    network = load("nat-hosts")
    change = network.update("modify", None,
                            "<host mac='52:54:00:a1:00:55' name='n' ip='192.168.100.9'/>",
                            node_spec="/network/ip[1]/dhcp/host[2]")
    assert change.section == "ip-dhcp-host"
    assert change.before.name == "web2.example.com" and change.after.name == "n"
    assert network.defs.ips[0].dhcp.hosts[1].mac == "52:54:00:a1:00:55"


def test_modify_by_nodespec_refuses_duplicates_like_the_section_form():
    network = load("nat-hosts")
    fragment = "<host mac='52:54:00:a1:00:10' name='n' ip='192.168.100.9'/>"
    err = refused(network, netupdate.DuplicateError, "modify", None, fragment,
                  node_spec="/network/ip[1]/dhcp/host[2]")
    err2 = refused(network, netupdate.DuplicateError, "add", "ip-dhcp-host", fragment)
    assert err.message == err2.message


def test_modify_with_the_parent_selected_uses_the_section_match():
    network = load("nat-dns-txt")
    change = network.update("modify", None, "<txt name='example' value='new value'/>",
                            node_spec="/network/dns")
    assert change.section == "dns-txt" and change.path == "/network/dns/txt[1]"
    refused(network, netupdate.DuplicateError, "modify", None,
            "<txt name='build-info' value='x'/>", node_spec="/network/dns/txt[1]",
            words=["name 'build-info'"])


def test_modify_generic_children():
    network = load("openvswitch-portgroups")
    change = network.update("modify", None, "<tag id='101' nativeMode='tagged'/>",
                            node_spec="/network/portgroup[@name='trunk']/vlan")
    assert change.section == "portgroup" and change.after.vlan.tags[1].native_mode == "tagged"
    refused(network, netupdate.NotFoundError, "modify", None, "<tag id='999'/>",
            node_spec="/network/portgroup[@name='trunk']/vlan", words=["no <tag> element"])
    refused(network, netupdate.InvalidOperationError, "modify", None,
            "<portgroup name='dmz' default='yes'/>", node_spec="/network/portgroup[2]",
            words=["already set as the default"])
    refused(network, netupdate.InvalidFragmentError, "modify", None, "<vlan/>",
            node_spec="/network/portgroup[1]/vlan/tag",
            words=["unexpected element <vlan>", "selects <tag>"])


def test_ambiguous_child_lists_the_matches():
    network = load("dns-heavy")
    err = refused(network, netupdate.AmbiguousError, "delete", None, "<forwarder/>",
                  node_spec="/network/dns")
    assert "4 <forwarder> elements" in err.message
    assert "/network/dns/forwarder[1]" in err.message and "/network/dns/forwarder[4]" in err.message
    err = refused(network, netupdate.AmbiguousError, "delete", None,
                  "<hostname>dc1</hostname>", node_spec="/network/dns/host[hostname='dc1']")
    assert "/network/dns/host[1]" in err.message and "/network/dns/host[4]" in err.message


# ---------------------------------------------------------------------- delete
def test_delete_the_selected_element():
    network = load("nat-hosts")
    change = network.update("delete", None, None, node_spec="//host[@name='db1']")
    assert change.section == "ip-dhcp-host" and change.before.name == "db1"
    assert change.path == "/network/ip[1]/dhcp/host[4]"
    change = network.update("delete", None, None, node_spec="/network/ip[1]/dhcp")
    assert change.section == "ip" and change.after.dhcp is None
    change = network.update("delete", "ip", None, node_spec="/network/ip[2]")
    assert change.section == "ip" and change.after is None


def test_delete_with_a_pattern_must_match_the_selected_element():
    network = load("nat-hosts")
    refused(network, netupdate.NotFoundError, "delete", None, "<host name='nope'/>",
            node_spec="/network/ip[1]/dhcp/host[1]")
    network.update("delete", None, "<host name='web1.example.com'/>",
                   node_spec="/network/ip[1]/dhcp/host[1]")


def test_delete_generic_child_and_section_element_side_effects():
    network = load("nat-dns-srv")
    change = network.update("delete", None, None, node_spec="/network/forward/interface")
    assert change.section == "forward-interface"
    assert "dev" not in network.root.find("forward").attrib
    network = load("nat-dns-hosts")
    change = network.update("delete", None, "<hostname>gw.lab.example</hostname>",
                            node_spec="/network/dns/host[@ip='192.168.102.1']")
    assert change.section == "dns-host" and change.after.hostnames == ("gateway",)
    refused(network, netupdate.InvalidFragmentError, "delete", None, None,
            node_spec="/network/dns/host[@ip='192.168.102.1']/hostname",
            words=["Missing hostname"])


# ---------------------------------------------------------------------- what a nodeSpec may be
@pytest.mark.parametrize("spec,kind,words", [
    ("//nothing", netupdate.NotFoundError, ["matches no element"]),
    ("//host", netupdate.AmbiguousError, ["matches 5 elements", "/network/ip[1]/dhcp/host[1]",
                                          "/network/ip[1]/dhcp/host[5]"]),
    ("//host/@mac", netupdate.UnsupportedError, ["attribute 'mac'"]),
    ("//name/text()", netupdate.UnsupportedError, ["a text node"]),
    ("count(//host)", netupdate.UnsupportedError, ["evaluates to a number"]),
    ("string(//name)", netupdate.UnsupportedError, ["evaluates to a string"]),
    ("document('/etc/passwd')", netupdate.UnsupportedError, ["function 'document()'"]),
    ("//host[ex:foo(1)]", netupdate.UnsupportedError, ["extension function 'ex:foo()'"]),
    ("//host[@mac=$mac]", netupdate.UnsupportedError, ["variables are not allowed"]),
    ("//comment()", netupdate.NotFoundError, []),
    ("/network/ip[", netupdate.InvalidFragmentError, ["invalid node spec"]),
    ("/", netupdate.NotFoundError, []),
    ("", netupdate.InvalidFragmentError, ["empty"]),
    ("/network", netupdate.UnsupportedError, ["<network> element itself"]),
])
def test_nodespec_refusals(spec, kind, words):
    network = load("nat-hosts")
    refused(network, kind, "delete", None, None, node_spec=spec, words=words)


def test_nodespec_functions_and_namespaces_that_are_allowed():
    network = load("nat-hosts")
    change = network.update("delete", None, None,
                            node_spec="//host[contains(@name, 'cache') and position() = last()]")
    assert change.before.name == "cache"
    network = load("dnsmasq-options")
    change = network.update("delete", None, None,
                            node_spec="/network/dnsmasq:options/dnsmasq:option[1]")
    assert change.section == "network"


def test_comments_are_not_targets():
    network = load("odd-comments-pi")
    refused(network, netupdate.UnsupportedError, "delete", None, None,
            node_spec="/network/comment()[1]", words=["a comment"])


def test_section_given_with_nodespec_must_agree():
    network = load("nat-hosts")
    refused(network, netupdate.InvalidOperationError, "delete", "portgroup", None,
            node_spec="/network/ip[1]/dhcp/range", words=["section 'ip-dhcp-range'"])
    change = network.update("delete", "ip-dhcp-range", None,
                            node_spec="/network/ip[1]/dhcp/range")
    assert change.section == "ip-dhcp-range"
    refused(network, netupdate.UnsupportedError, "delete", "ip-dhcp-host", None,
            node_spec="/network/ip[1]/dhcp/host[1]", parent_index=0)
