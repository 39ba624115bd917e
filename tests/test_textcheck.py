"""Character sets of text values (``netupdate.model.text``): the model refuses what is outside
them (``NU-E021``), the renderers refuse it again if it got past the model, options are
privileged (policy key ``dnsmasq-options``, warning ``NU-W104``)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import netupdate
from netupdate.check.semantic import validate
from netupdate.errors import ModelError, UnsafeValueError
from netupdate.model import text as TC
from netupdate.planning.differ import diff
from netupdate.planning.policy import Policy
from netupdate.render import dnsmasq
from netupdate.render import nftables as firewall
from netupdate.sections import dns_txt

ROOT = Path(__file__).resolve().parents[1]

# converter -> (accepted, refused)
SETS = {
    TC.hostname: (["a", "web-1.example.com", "0a", "x" * 63, ".".join(["a" * 63] * 3) + ".b"],
                  ["", "a..b", "-a", "a-", "a_b", "a b", "a,b", "a/b", "é", "a.", "x" * 64,
                   ".".join(["a" * 63] * 4), "a\nb"]),
    TC.dhcp_host_name: (["web-x", "a1.example", "9ok", "12h.example"],
                        ["12", "12h", "3600s", "ignore", "Infinite", "web-x,10.0.0.1", "web x",
                         "-a"]),
    TC.txt_name: (["_dmarc", "web-motd", "a_b.example"], ["a b", "a,b", "", "a..b", "a\tb", "aB-", "-A", "a.A_-"]),
    TC.txt_value: (["", "a, \"b\" # c \\ d", "\u2603 ok", "x" * TC.MAX_TXT],
                   ["a\nb", "a\rb", "a\x85b", "a\u2028b", "a\u200bb", "x" * (TC.MAX_TXT + 1)]),
    TC.srv_service: (["ldap", "a+b/c*d_e-f"], ["a.b", "a b", "", "x" * 63, "a,b", "A-", "aB-", "-x"]),
    TC.srv_target: (["."], ["..", "a,b"]),
    TC.path: (["pxelinux.0", "/var/lib/tftp", "a&b;c'<d>%:=@~+"],
              ["a,b", "a b", 'a"b', "a\\b", "a#b", "", "/x" * 600]),
    TC.absolute_path: (["/srv/tftp"], ["srv/tftp", "/tmp\ndhcp-script=/x"]),
    TC.iface_name: (["virbr0", "eth0.10", "br_x-1"], [".", "..", "a b", 'a"b', "a,b", "a/b",
                                                      "a:b", ""]),
    TC.network_name: (["default", "lab\"quoted\"&'apos'<x>", "n\u00e9t", "n" * 200],
                      ["", ".hidden", "a/b", "a b", "a,b", "a#b", "a\nb", "n" * 201,
                       "\u00e9" * 101]),
    TC.server: (["10.0.0.1", "fd00::1", "boot.example"], ["a,b", "1.2.3.4,x"]),
    TC.one_line: (["any text, even \"this\""], ["two\nlines", "nul\x00"]),
    TC.multi_line: (["two\nlines\r\n\tok"], ["bell\x07"]),
}


@pytest.mark.parametrize("check", list(SETS), ids=lambda f: f.__name__)
def test_character_sets(check):
    accepted, refused = SETS[check]
    for value in accepted:
        assert check(value) == value
    for value in refused:
        with pytest.raises(TC.UnsafeText) as caught:
            check(value)
        assert "\n" not in str(caught.value) and caught.value.code == "NU-E021"


NET = """<network>
  <name>t</name><forward mode='nat' dev='eth0'/><bridge name='virbr9'/>
  <domain name='lab.example'/>
  <dns><forwarder domain='f.example' addr='192.0.2.1'/><txt name='m' value='v'/>
    <srv service='s' protocol='tcp' domain='d.example' target='t.example' port='1'/>
    <host ip='192.168.9.5'><hostname>h</hostname></host></dns>
  <ip address='192.168.9.1' prefix='24'><tftp root='/srv/tftp'/>
    <dhcp><range start='192.168.9.100' end='192.168.9.199'/>
      <host mac='52:54:00:00:00:01' name='a' ip='192.168.9.11'/>
      <bootp file='pxe.0' server='192.168.9.1'/></dhcp></ip>
</network>"""

# where a value lives in NET -> a hostile replacement (each also in its own attribute of NET)
ATTRIBUTES = [("'virbr9'", "'virbr9,x'"), ("'eth0'", "'eth0\"'"), ("'lab.example'", "'lab/x'"),
              ("'f.example'", "'f.example&#10;x'"), ("name='m'", "name='m,x'"),
              ("value='v'", "value='v&#13;x'"), ("service='s'", "service='s.x'"),
              ("'d.example'", "'d.example,x'"), ("'t.example'", "'t.example&#10;x'"),
              (">h<", ">h x<"), ("'/srv/tftp'", "'/srv/tftp,eth0'"), ("name='a'", "name='a,b'"),
              ("'pxe.0'", "'pxe.0 x'"), ("server='192.168.9.1'", "server='x,y'"),
              ("<name>t<", "<name>t&#10;x<"), ("mode='nat'", "mode='nat&#10;x'")]


@pytest.mark.parametrize("old,new", ATTRIBUTES, ids=[n for _o, n in ATTRIBUTES])
def test_model_and_validate_refuse_each_field(old, new):
    assert NET.count(old) == 1
    hostile = NET.replace(old, new)
    with pytest.raises(ModelError) as caught:
        netupdate.load(hostile)
    assert caught.value.code == "NU-E021" and "\n" not in str(caught.value)
    issues = [i for i in validate(hostile) if i.is_error]
    assert [i.code for i in issues] == ["NU-E021"], issues
    assert issues[0].line and issues[0].path.startswith("/network")


def test_the_clean_network_renders():
    defs = netupdate.load(NET).defs
    assert validate(NET) == []
    assert "txt-record=m,v" in dnsmasq.conf_lines(defs, paths=dnsmasq.Paths.libvirt("t"))


# ---------------------------------------------------------------------- second line of defence
def _bypass(defs, path: str, value):
    """``defs`` with the field at dotted ``path`` set to ``value``, past the model."""
    head, _, rest = path.partition(".")
    if not rest:
        return dataclasses.replace(defs, **{head: value})
    inner = getattr(defs, head)
    if isinstance(inner, tuple):
        return dataclasses.replace(defs, **{head: (_bypass(inner[0], rest, value), *inner[1:])})
    return dataclasses.replace(defs, **{head: _bypass(inner, rest, value)})


CONF_FIELDS = ["name", "domain.name", "dns.forwarders.domain", "dns.txts.name",
               "dns.txts.value", "dns.srvs.service", "dns.srvs.domain", "dns.srvs.target",
               "ips.tftp_root", "ips.dhcp.bootp.file", "ips.dhcp.bootp.server", "bridge.name"]


@pytest.mark.parametrize("field", CONF_FIELDS)
def test_the_conf_renderer_refuses_what_bypassed_the_model(field):
    defs = _bypass(netupdate.load(NET).defs, field, "x\ndhcp-script=/tmp/x.sh")
    with pytest.raises(UnsafeValueError, match=r"refusing to write .*U\+000A"):
        dnsmasq.conf_lines(defs, paths=dnsmasq.Paths.libvirt("t"))


def test_the_conf_renderer_refuses_a_bad_option_and_bad_paths():
    defs = dataclasses.replace(netupdate.load(NET).defs, dnsmasq_options=("a\nb",))
    with pytest.raises(UnsafeValueError):
        dnsmasq.conf_lines(defs, paths=dnsmasq.Paths.libvirt("t"))
    defs = netupdate.load(NET).defs
    for paths in (dnsmasq.Paths("/tmp/x", "t", hostsdir="/tmp/a,b"),
                  dnsmasq.Paths("/tmp/x y", "t"), dnsmasq.Paths("/tmp", "t", pid_file="p\n")):
        with pytest.raises(UnsafeValueError):
            dnsmasq.conf_lines(defs, paths=paths)


@pytest.mark.parametrize("field,value", [
    ("ips.dhcp.hosts.name", "web-x\n00:16:3e:00:00:01,192.168.9.1,stolen"),
    ("ips.dhcp.hosts.name", "a,192.168.9.1"), ("ips.dhcp.hosts.mac", "52:54:00:00:00:01,x")])
def test_the_dhcp_host_renderer_refuses_what_bypassed_the_model(field, value):
    defs = _bypass(netupdate.load(NET).defs, field, value)
    for render in (dnsmasq.dhcp_host_lines, dnsmasq.dhcp_host_files, dnsmasq.hostsfile_text):
        with pytest.raises(UnsafeValueError):
            render(defs)


def test_the_dns_host_renderer_refuses_what_bypassed_the_model():
    defs = _bypass(netupdate.load(NET).defs, "dns.hosts.hostnames", ("h", "x\n10.0.0.1 y"))
    for render in (dnsmasq.dns_host_files, dnsmasq.addnhosts_text):
        with pytest.raises(UnsafeValueError):
            render(defs)


@pytest.mark.parametrize("bridge,dev", [('br"; flush ruleset; "', "eth0"), ("br0", "eth0\n}")])
def test_the_nft_renderer_refuses_what_bypassed_the_model(bridge, dev):
    defs = _bypass(netupdate.load(NET).defs, "forward.dev", dev)
    with pytest.raises(UnsafeValueError):
        firewall.ruleset(defs, "netupdate_t", bridge)


def test_txt_values_are_quoted_only_where_dnsmasq_would_read_syntax():
    assert dns_txt.txt_text("example value, with a comma") == "example value, with a comma"
    assert dns_txt.txt_text(' a "b" \\ #c ') == '" a \\"b\\" \\\\ #c "'
    assert dns_txt.txt_text(" lead,mid , trail ") == '" lead",mid ," trail "'


def test_update_fast_path_checks_the_dhcp_host_name():
    network = netupdate.load(NET)
    with pytest.raises(netupdate.NetupdateError, match="DHCP host name 'b,192.168.9.1'"):
        network.update("add", "ip-dhcp-host",
                       "<host mac='52:54:00:00:00:02' name='b,192.168.9.1' ip='192.168.9.12'/>")


# ---------------------------------------------------------------------- dnsmasq options
OPT_NET = NET.replace("<network>", "<network xmlns:dnsmasq="
                      "'http://libvirt.org/schemas/network/dnsmasq/1.0'>").replace(
    "</network>", "<dnsmasq:options><dnsmasq:option value='{}'/></dnsmasq:options></network>")


@pytest.mark.parametrize("option,risky", [("dhcp-script=/tmp/x.sh", True),
                                          ("conf-dir = /etc/x", True), ("--addn-hosts=/x", True),
                                          ("servers-file=/x", True), ("cache-size=10", False),
                                          ("dhcp-option=option:ntp-server,10.0.0.1", False)])
def test_validate_warns_about_options_that_run_programs_or_touch_files(option, risky):
    issues = validate(OPT_NET.format(option))
    assert [i.code for i in issues] == (["NU-W104"] if risky else [])
    assert all(i.severity == "warning" and i.path.endswith("dnsmasq:option") for i in issues)


def test_a_policy_can_deny_options_and_the_shipped_ones_do():
    before, after = NET, OPT_NET.format("cache-size=10")
    allow_all = Policy.from_toml("default = 'allow'\n")
    assert allow_all.allows(diff(before, after))
    denied = Policy.from_toml("default = 'allow'\ndnsmasq-options = 'deny'\n")
    with pytest.raises(netupdate.PolicyError, match="dnsmasq-options"):
        denied.check(diff(before, after))
    assert denied.allows(diff(before, before.replace("value='v'", "value='w'")))
    with pytest.raises(netupdate.PolicyError, match="dnsmasq-options must be"):
        Policy.from_toml("dnsmasq-options = 'maybe'\n")
    for path in sorted((ROOT / "fixtures" / "policies").glob("*.toml")):
        policy = Policy.from_toml(path.read_bytes(), filename=str(path))
        assert policy.dnsmasq_options == "deny", path
        assert not policy.allows(diff(before, after))
