"""Conflict pre-flight (issue 16), generated: subnet overlaps between networks and with what a
namespace holds, against a brute-force model (the sets of addresses of small subnets)."""

from __future__ import annotations

import ipaddress

from hypothesis import given, settings
from hypothesis import strategies as st

from netupdate.model.defs import load
from netupdate.planning import conflicts as C

# small IPv4 subnets in 10.0.0.0/24: their address sets are cheap to enumerate
subnets = st.builds(lambda prefix, n: ipaddress.ip_network(f"10.0.0.{n}/{prefix}",
                                                           strict=False),
                    st.integers(26, 30), st.integers(0, 255))


def net_xml(name: str, nets, hosts=()) -> str:
    ips = []
    for i, net in enumerate(nets):
        dhcp = "".join(f"<host mac='{mac}' ip='{ip}'/>" for mac, ip in hosts) if i == 0 else ""
        ips.append(f"<ip address='{net.network_address + 1}' prefix='{net.prefixlen}'>"
                   + (f"<dhcp>{dhcp}</dhcp>" if dhcp else "") + "</ip>")
    return f"<network><name>{name}</name>{''.join(ips)}</network>"


def overlap(a, b) -> bool:
    return bool(set(a) & set(b))


@settings(max_examples=150)
@given(st.lists(subnets, min_size=1, max_size=3), st.lists(subnets, min_size=1, max_size=3))
def test_subnet_overlaps_between_networks_match_the_address_sets(mine, theirs):
    a, b = load(net_xml("a", mine)).defs, load(net_xml("b", theirs)).defs
    found = [c for c in C.between("a", a, "b", b) if c.kind == C.SUBNET]
    want = [(x, y) for x in mine for y in theirs if overlap(x, y)]
    assert len(found) == len(want)
    for conflict, (x, y) in zip(found, want, strict=True):
        assert f"subnet {x} of network a" in conflict.message
        assert f"subnet {y} of network b" in conflict.message and conflict.forcible


@settings(max_examples=150)
@given(st.lists(subnets, min_size=1, max_size=2),
       st.lists(st.tuples(st.sampled_from(["docker0", "tun0", "eth0", "nubr-x"]), subnets),
                max_size=4), st.booleans())
def test_namespace_overlaps_match_the_address_sets(mine, held, taken):
    defs = load(net_xml("a", mine)).defs
    addresses = [(ifname, f"{net.network_address + 1}/{net.prefixlen}") for ifname, net in held]
    links = {"lo", "nubr-x"} | ({"br-a"} if taken else set())
    found = C.in_namespace("a", defs, "br-a", addresses, [], links)
    want = {(str(x), ifname, str(y)) for x in mine for ifname, y in held
            if ifname != "br-a" and overlap(x, y)}
    got = {(m.split()[1], m.split(" of ")[2].split()[0], m.split("address ")[1].split()[0])
           for m in (c.message for c in found if c.kind == C.SUBNET)}
    assert {(x, i, str(ipaddress.ip_interface(y).network)) for x, i, y in got} == want
    bridge = [c for c in found if c.kind == C.BRIDGE]
    assert len(bridge) == taken and all(not c.forcible for c in bridge)
    line = C.refusal(found, force=True)
    assert (line is None) == (not taken)   # --force lets everything through but the bridge
    assert C.refusal(found, force=False) is None if not found else "conflict: " in \
        C.refusal(found, force=False)


def test_default_routes_and_our_own_bridge_are_no_conflict():
    defs = load(net_xml("a", [ipaddress.ip_network("172.17.5.0/24")])).defs
    routes = [("eth0", "0.0.0.0/0"), ("br-a", "172.17.5.0/24")]
    assert C.in_namespace("a", defs, "br-a", [], routes, {"eth0", "br-a"} - {"br-a"}) == []
    found = C.in_namespace("a", defs, "br-a", [], [("docker0", "172.17.0.0/16")], set())
    assert C.refusal(found, False) == ("conflict: subnet 172.17.5.0/24 of network a overlaps "
                                       "route 172.17.0.0/16 of docker0 in the namespace "
                                       "(--force overrides it)")


@settings(max_examples=100)
@given(st.lists(st.tuples(st.integers(1, 5), st.integers(2, 6)), max_size=4, unique_by=(
    lambda t: t[0], lambda t: t[1])), st.lists(st.tuples(st.integers(1, 5), st.integers(2, 6)),
                                               max_size=4, unique_by=(lambda t: t[0],
                                                                      lambda t: t[1])))
def test_macs_and_ips_reserved_twice_across_networks(mine, theirs):
    def hosts(pairs):
        return [(f"52:54:00:00:00:{m:02x}", f"10.9.0.{i}") for m, i in pairs]
    net = [ipaddress.ip_network("10.9.0.0/24")]
    networks = {"a": load(net_xml("a", net, hosts(mine))).defs,
                "b": load(net_xml("b", net, hosts(theirs))).defs}
    found = C.across(networks)
    macs = {m for m, _ in mine} & {m for m, _ in theirs}
    ips = {i for _, i in mine} & {i for _, i in theirs}
    assert sorted(c.message for c in found if c.kind == C.MAC) == sorted(
        f"MAC 52:54:00:00:00:{m:02x} is reserved in network a and in network b" for m in macs)
    assert sorted(c.message for c in found if c.kind == C.IP) == sorted(
        f"IP 10.9.0.{i} is reserved in network a and in network b" for i in ips)
    assert [c.kind for c in found].count(C.SUBNET) == 1


MACS = [f"52:54:00:00:00:0{i}" for i in range(1, 6)]
HOST_IPS = [f"10.0.0.{i}" for i in range(2, 7)]
host_lists = st.lists(st.tuples(st.sampled_from(MACS), st.sampled_from(HOST_IPS)), max_size=4,
                      unique_by=(lambda h: h[0], lambda h: h[1]))


@settings(max_examples=150)
@given(host_lists, host_lists, host_lists)
def test_the_conflicts_a_host_change_introduces_agree_with_the_whole_definitions(
        before, after, theirs):
    """``introduced_hosts`` (the changed hosts only) finds what ``introduced`` (both whole
    definitions through ``between``) finds, whatever hosts were added, removed or modified."""
    from netupdate.planning.differ import diff
    subnet = [ipaddress.ip_network("10.0.0.0/24")]
    old, new = load(net_xml("a", subnet, before)).defs, load(net_xml("a", subnet, after)).defs
    other = [("b", load(net_xml("b", subnet, theirs)).defs)]
    changes = diff(old, new).in_section("ip-dhcp-host")
    assert set(C.introduced_hosts("a", changes, other)) == set(C.introduced("a", old, new, other))
