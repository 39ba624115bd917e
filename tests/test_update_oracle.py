"""Differential test against libvirt itself (its in-memory test driver), when installed.

For the sections libvirt 9.0 can update, every (network, fragment, command, parent index)
combination below is run through ``virNetworkUpdate`` on ``test:///default`` and through
netupdate.  Both must refuse, or both must succeed with equal typed results, unless the case is
one of the deliberate differences listed in docs/update.md; ``explain`` names the documented
reason for each kind, and an unexplained difference fails.
"""

import ipaddress
import itertools
import re
from pathlib import Path

import pytest

import netupdate
from netupdate.model import defs as M

libvirt = pytest.importorskip("libvirt")
pytestmark = pytest.mark.libvirt

NETWORKS = Path(__file__).resolve().parent.parent / "fixtures" / "networks"
COMMANDS = {"modify": 1, "delete": 2, "add-last": 3, "add-first": 4}
SECTIONS = {"ip-dhcp-host": 4, "ip-dhcp-range": 5, "forward-interface": 7, "portgroup": 9,
            "dns-host": 10, "dns-txt": 11, "dns-srv": 12}

CASES = {
    "ip-dhcp-host": (["nat-hosts", "dual-stack-dhcp", "dhcp6-routed", "isolated"], [
        "<host mac='52:54:00:a1:00:10' name='web1.example.com' ip='192.168.100.10'/>",
        "<host mac='52:54:00:A1:00:10'/>", "<host mac='52:54:00:ff:00:11'/>",
        "<host name='db1'/>", "<host name='DB1'/>", "<host ip='192.168.100.20'/>",
        "<host ip='192.168.100.12' name='nope'/>",
        "<host mac='52:54:00:ff:00:01' name='new' ip='192.168.100.50'/>",
        "<host mac='52:54:00:ff:00:01' name='new' ip='192.168.100.50'><lease expiry='1' "
        "unit='hours'/></host>",
        "<host mac='52:54:00:ff:00:01' name='new' ip='192.168.100.50'><lease expiry='1'/></host>",
        "<host mac='52:54:00:a1:00:10' name='changed' ip='192.168.100.10'/>",
        "<host mac='52:54:00:a1:00:10' name='db1' ip='192.168.100.77'/>",
        "<host name='-bad' ip='192.168.100.21'/>", "<host name='9ok' ip='192.168.100.22'/>",
        "<host mac='01:00:5e:00:00:01' ip='192.168.100.23'/>",
        "<host id='0:3:0:1:0:16:3e:11:22:33' name='peter2' ip='2001:db8:ac10:fe01::9'/>",
        "<host id='0:3:0:1:0:16:3e:11:22:33'/>", "<host name='ringo.xyz'/>",
        "<host name='epsilon' ip='fd00:106::15'/>", "<host name='zeta' ip='fd00:106::16'/>",
        "<host name='builder' ip='172.16.10.6'/>", "<host mac='52:54:00:10:0a:01'/>",
        "<range start='1.1.1.1' end='1.1.1.2'/>", "<host/>",
    ]),
    "ip-dhcp-range": (["nat-hosts", "dual-stack-dhcp", "tftp-bootp", "routed"], [
        "<range start='192.168.100.128' end='192.168.100.254'/>",
        "<range start='192.168.100.20' end='192.168.100.30'/>",
        "<range start='192.168.100.30' end='192.168.100.20'/>",
        "<range start='fd00:106::100' end='fd00:106::1ff'/>",
        "<range start='fd00:106::200' end='fd00:106::2ff'/>",
        "<range start='192.168.108.2' end='192.168.108.254'/>",
        "<range start='192.168.108.0' end='192.168.108.9'/>",
        "<range start='10.10.0.100' end='10.10.0.199'/>", "<range start='10.10.0.10'/>",
    ]),
    "forward-interface": (["nat-forward-dev", "macvtap-pool", "qbg", "isolated", "sriov-pf",
                           "hostdev-pci-pool"], [
        "<interface dev='enp3s0'/>", "<interface dev='enp7s0'/>", "<interface dev='enp6s0'/>",
        "<interface dev='eth9'/>", "<interface/>", "<pf dev='x'/>",
    ]),
    "portgroup": (["openvswitch-portgroups", "qbh"], [
        "<portgroup name='lan'/>", "<portgroup name='lan' default='yes'/>",
        "<portgroup name='new'/>", "<portgroup name='new' default='yes'/>",
        "<portgroup name='new' default='YES'/>", "<portgroup name='dmz' default='yes'/>",
        "<portgroup/>", "<portgroup name='x'><vlan><tag id='9999'/></vlan></portgroup>",
        "<portgroup name='lan' default='no'/>",
    ]),
    "dns-host": (["nat-dns-hosts", "nat-default", "dns-heavy"], [
        "<host ip='192.168.102.1'><hostname>x</hostname></host>",
        "<host ip='192.168.102.9'><hostname>gateway</hostname></host>",
        "<host ip='192.168.102.9'><hostname>new</hostname></host>",
        "<host><hostname>gateway</hostname></host>", "<host><hostname>printer</hostname></host>",
        "<host ip='192.168.102.2'/>", "<host ip='fd00:102:0:0::53'><hostname>p6</hostname></host>",
        "<host ip='1.2.3.400'/>", "<host protocol='name'/>",
        "<host ip='192.168.102.2'><hostname>other</hostname><hostname>names</hostname></host>",
    ]),
    "dns-txt": (["nat-dns-txt", "nat-default"], [
        "<txt name='example' value='x'/>", "<txt name='example'/>",
        "<txt name='new' value='v, with comma'/>", "<txt name='a b' value='x'/>",
        "<txt value='x'/>", "<txt name='new'/>",
    ]),
    "dns-srv": (["nat-dns-srv", "nat-dns-srv-records", "nat-default"], [
        "<srv service='ldap' protocol='tcp'/>",
        "<srv service='ldap' protocol='tcp' domain='lab.example' target='ldap.lab.example' "
        "port='390'/>",
        "<srv service='sip' protocol='udp'/>", "<srv service='sip'/>", "<srv/>",
        "<srv service='kerberos' protocol='udp' domain='lab.example'/>",
        "<srv service='new' protocol='tcp' port='5'/>", "<srv service='a.b' protocol='tcp'/>",
        "<srv service='new' protocol='pudding'/>", "<srv protocol='pudding'/>",
        "<srv service='new' protocol='tcp' target='t' port='0'/>",
    ]),
}
COUNTER = itertools.count()


@pytest.fixture(scope="module")
def conn():
    libvirt.registerErrorHandler(lambda *args: None, None)
    connection = libvirt.open("test:///default")
    yield connection
    connection.close()


def libvirt_update(conn, xml, command, section, fragment, index):
    xml = re.sub(r"<name>[^<]*</name>", f"<name>oracle{next(COUNTER)}</name>", xml, count=1)
    net = conn.networkDefineXML(xml)
    try:
        before = net.XMLDesc(0)
        try:
            net.update(COMMANDS[command], SECTIONS[section], index, fragment, 0)
        except libvirt.libvirtError as exc:
            return before, None, str(exc)
        return before, net.XMLDesc(0), None
    finally:
        net.undefine()


def normalized(defs: M.NetworkDef) -> M.NetworkDef:
    """Differences of representation only: libvirt drops default='no' and an <ip>'s <dhcp>
    that only holds <bootp> (which we keep, see docs/update.md)."""
    import dataclasses
    ips = tuple(dataclasses.replace(ip, dhcp=None) if ip.dhcp is not None and not ip.dhcp.ranges
                and not ip.dhcp.hosts else ip for ip in defs.ips)
    groups = tuple(dataclasses.replace(g, default=None) if g.default is False else g
                   for g in defs.portgroups)
    return dataclasses.replace(defs, ips=ips, portgroups=groups, name=None)


def libvirt_parent_family(xml: str, index: int) -> int | None:
    ips = netupdate.load(xml).defs.ips
    if index >= 0:
        return ips[index].version if index < len(ips) else None
    for ip in ips:
        if ip.has_dhcp:
            return ip.version
    for ip in ips:
        if ip.version == 4:
            return 4
    return ips[0].version if ips else None


def fragment_family(fragment: str) -> int | None:
    match = re.search(r"(?:ip|start)='([^']*)'", fragment)
    if match:
        try:
            return ipaddress.ip_address(match.group(1)).version
        except ValueError:
            return None
    if "mac=" in fragment:
        return 4
    if "id=" in fragment:
        return 6
    return None


def explain(before, section, command, fragment, index, outcome, lv_error, our_error):
    """The documented reason for a difference, or None."""
    if command == "modify" and lv_error and "cannot be modified" in lv_error:
        return "modify is supported for this section"
    if section in ("ip-dhcp-host", "ip-dhcp-range") and index < 0:
        family = fragment_family(fragment)
        if family is not None and family != libvirt_parent_family(before, index):
            return "a negative parent index picks an <ip> of the fragment's family"
    if section == "ip-dhcp-host":
        if outcome == "libvirt-fails" and "id=" in fragment:
            return "a DHCP host can be matched by id"
        if outcome == "we-fail" and command == "delete" and "mac=" in fragment \
                and isinstance(our_error, netupdate.NotFoundError):
            return "delete by MAC does not remove a host without MAC"
        if outcome == "we-fail" and command == "modify" \
                and isinstance(our_error, netupdate.DuplicateError):
            return "modify may not create a duplicate"
    if section == "forward-interface":
        if outcome == "we-fail" and "<forward" not in before:
            return "an isolated network has no forward interfaces"
        if outcome == "libvirt-fails" and "'dev' attribute cannot be used" in (lv_error or ""):
            return "<forward dev> is not written next to <address>/<pf>"
    return None


def _cases():
    for section, (networks, fragments) in CASES.items():
        for network, fragment, command in itertools.product(networks, fragments, COMMANDS):
            indexes = (-1, 0, 1) if section.startswith("ip-dhcp") else (-1,)
            for index in indexes:
                yield section, network, fragment, command, index


def test_netupdate_agrees_with_libvirt_or_differs_on_purpose(conn):
    unexplained, counts = [], {}
    for section, network, fragment, command, index in _cases():
        xml = (NETWORKS / f"{network}.xml").read_text()
        before, lv_after, lv_error = libvirt_update(conn, xml, command, section, fragment, index)
        ours = netupdate.load(before)
        try:
            ours.update(command, section, fragment, parent_index=index)
            our_error = None
        except netupdate.NetupdateError as exc:
            our_error = exc
            assert ours.to_xml() == before
        if lv_error and our_error:
            outcome = "both-fail"
        elif lv_error:
            outcome = "libvirt-fails"
        elif our_error:
            outcome = "we-fail"
        else:
            same = normalized(netupdate.load(lv_after).defs) == normalized(ours.defs)
            outcome = "same" if same else "different"
        counts[outcome] = counts.get(outcome, 0) + 1
        if outcome in ("same", "both-fail"):
            continue
        reason = explain(before, section, command, fragment, index, outcome, lv_error, our_error)
        if reason is None:
            unexplained.append((outcome, network, section, command, index, fragment,
                                lv_error or str(our_error)))
    assert not unexplained, "\n".join(map(str, unexplained[:20]))
    assert counts["same"] > 100 and counts["both-fail"] > 500, counts


def test_error_messages_match_libvirts_wording(conn):
    pairs = [
        ("nat-hosts", "ip-dhcp-host", "add-last",
         "<host mac='52:54:00:a1:00:10' name='web1.example.com' ip='192.168.100.10'/>"),
        ("nat-hosts", "ip-dhcp-host", "modify",
         "<host mac='52:54:00:ff:00:01' name='new' ip='192.168.100.50'/>"),
        ("nat-hosts", "ip-dhcp-host", "delete", "<host name='nobody'/>"),
        ("nat-hosts", "ip-dhcp-range", "add-last",
         "<range start='192.168.100.128' end='192.168.100.254'/>"),
        ("openvswitch-portgroups", "portgroup", "add-last", "<portgroup name='lan'/>"),
        ("openvswitch-portgroups", "portgroup", "modify", "<portgroup name='zz'/>"),
        ("openvswitch-portgroups", "portgroup", "add-last",
         "<portgroup name='zz' default='yes'/>"),
        ("macvtap-pool", "forward-interface", "add-last", "<interface dev='enp7s0'/>"),
        ("macvtap-pool", "forward-interface", "delete", "<interface dev='zz'/>"),
        ("nat-dns-txt", "dns-txt", "add-last", "<txt name='example' value='x'/>"),
        ("nat-dns-txt", "dns-txt", "delete", "<txt name='zz'/>"),
        ("nat-dns-srv-records", "dns-srv", "delete", "<srv service='kerberos'/>"),
        ("nat-dns-hosts", "dns-host", "delete", "<host><hostname>printer</hostname></host>"),
    ]
    for network, section, command, fragment in pairs:
        xml = (NETWORKS / f"{network}.xml").read_text()
        before, _, lv_error = libvirt_update(conn, xml, command, section, fragment, -1)
        name = re.search(r"<name>([^<]*)</name>", before).group(1)
        with pytest.raises(netupdate.UpdateError) as info:
            netupdate.load(before).update(command, section, fragment)
        libvirt_text = lv_error.split(": ", 1)[1]
        assert info.value.message.startswith(libvirt_text.rstrip().split(" (")[0]) or \
            libvirt_text.rstrip() in info.value.message, (libvirt_text, info.value.message)
        assert name in info.value.message
