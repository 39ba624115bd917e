"""libvirt's checks of ``<network><route>`` (NU-E134, NU-E135): generated routes against an
oracle written from libvirt's virNetDevIPRouteParseXML / virNetDevIPRouteCreate
(src/conf/networkcommon_conf.c) and the gateway check of virNetworkDefParseXML
(src/conf/network_conf.c), with ``ipaddress``; and the command line refusing such a route with
one located line and nothing changed."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from xml.sax.saxutils import quoteattr

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netupdate.check.semantic import validate
from netupdate.cli import main
from netupdate.edit.engine import update_xml
from netupdate.errors import NetupdateError

SUBNETS = (ipaddress.ip_network("192.168.9.0/24"), ipaddress.ip_network("fd00::/64"))
BASE = ("<network><name>t</name><forward mode='route'/><bridge name='virbr9'/>"
        "<ip address='192.168.9.1' prefix='24'/><ip family='ipv6' address='fd00::1' prefix='64'/>"
        "{}</network>")
WHERE = "in route definition"


def _contiguous(mask: str) -> bool:
    bits = int(ipaddress.IPv4Address(mask))
    inverted = ~bits & 0xFFFFFFFF
    return inverted & (inverted + 1) == 0


def oracle(a: dict) -> tuple[str, str] | None:
    """What libvirt says of one route: (kind, its words without the network name), None when
    it accepts it.  kind: ``own`` (NU-E134 reports it), ``gateway`` (NU-E135), ``other``
    (netupdate's reading or the grammar reports it under their own codes)."""
    family, address, netmask = a.get("family"), a.get("address"), a.get("netmask")
    gateway, prefix, metric = a.get("gateway"), a.get("prefix"), a.get("metric")
    # what netupdate's reading refuses whatever else is wrong (NU-E020): metric 0, a prefix
    # above 128, a netmask that is no contiguous IPv4 mask (libvirt parses that one: stricter;
    # the reading takes the prefix when both are there)
    if metric == "0":
        return "other", f"Invalid metric value, must be > 0 {WHERE}"
    if prefix is not None and int(prefix) > 128:
        return "other", f"Invalid prefix {prefix} specified {WHERE}, must be 0 - 128"
    if netmask is not None and prefix is None and not _contiguous(netmask):
        return "other", f"netmask {netmask}"
    if address is None:
        return "other", f"Missing required address attribute {WHERE}"
    if gateway is None:
        return "other", f"Missing required gateway attribute {WHERE}"
    addr, gw = ipaddress.ip_address(address), ipaddress.ip_address(gateway)
    length = int(prefix) if prefix is not None else 0
    if family in (None, "ipv4"):
        said = "No family specified" if family is None else "IPv4 family specified"
        if not isinstance(addr, ipaddress.IPv4Address):
            return "own", f"{said} for non-IPv4 address '{address}' {WHERE}"
        if not isinstance(gw, ipaddress.IPv4Address):
            return "own", f"{said} for non-IPv4 gateway '{gateway}' {WHERE}"
        if netmask is not None and prefix is not None:
            return "other", "Route definition cannot have both a prefix and a netmask"
        if length > 32:
            return "own", f"Invalid prefix {length} specified {WHERE}, must be 0 - 32"
    else:
        if not isinstance(addr, ipaddress.IPv6Address):
            return "own", f"ipv6 family specified for non-IPv6 address '{address}' {WHERE}"
        if netmask is not None:
            return "own", f"Specifying netmask invalid for IPv6 address '{address}' {WHERE}"
        if not isinstance(gw, ipaddress.IPv6Address):
            return "own", f"ipv6 specified for non-IPv6 gateway address '{gateway}' {WHERE}"
    bits = addr.max_prefixlen
    if netmask is not None:
        mask = int(ipaddress.IPv4Address(netmask))
    else:
        mask = ((1 << bits) - 1) ^ ((1 << (bits - length)) - 1)
    if int(addr) & mask != int(addr):
        return "own", f"Address '{address}' {WHERE} is not a network address"
    if not any(gw.version == net.version and gw in net for net in SUBNETS):
        return "gateway", f"unreachable static route gateway '{gw}' specified for network 't'"
    return None


def _v4(value: int, keep: int) -> str:
    return str(ipaddress.IPv4Address(value & ~((1 << (32 - keep)) - 1) & 0xFFFFFFFF))


def _v6(value: int, keep: int) -> str:
    return str(ipaddress.IPv6Address(value & ~((1 << (128 - keep)) - 1) & ((1 << 128) - 1)))


ADDRESSES = st.one_of(
    st.builds(_v4, st.integers(0, 2**32 - 1), st.integers(0, 32)),
    st.builds(_v6, st.integers(0, 2**128 - 1), st.integers(0, 128)))
GATEWAYS = st.sampled_from(["192.168.9.2", "192.168.9.254", "192.168.8.2", "10.0.0.1",
                            "fd00::2", "fd00::ffff", "fd01::2", "2001:db8::1"])
NETMASKS = st.one_of(
    st.integers(0, 32).map(lambda n: str(ipaddress.IPv4Network(f"0.0.0.0/{n}").netmask)),
    st.just("255.0.255.0"))
ROUTES = st.fixed_dictionaries({}, optional={
    "family": st.sampled_from(["ipv4", "ipv6"]),
    "address": ADDRESSES, "netmask": NETMASKS, "gateway": GATEWAYS,
    "prefix": st.integers(0, 130).map(str), "metric": st.sampled_from(["0", "1", "100"])})
# a route usually has its address and gateway: optional keys are left out half of the time
ROUTES = st.tuples(ROUTES, ADDRESSES, GATEWAYS, st.integers(0, 9)).map(
    lambda t: t[0] if t[3] == 0 else {"address": t[1], "gateway": t[2], **t[0]})


def route_xml(a: dict) -> str:
    order = ("family", "address", "netmask", "prefix", "gateway", "metric")
    return "<route" + "".join(f" {k}={quoteattr(a[k])}" for k in order if k in a) + "/>"


def test_the_base_network_is_valid():
    assert validate(BASE.format("")) == []


@settings(max_examples=400)
@given(ROUTES)
def test_validate_reports_what_libvirt_refuses(a):
    issues = validate(BASE.format(route_xml(a)))
    verdict = oracle(a)
    e134 = [i.message for i in issues if i.code == "NU-E134"]
    e135 = [i for i in issues if i.code == "NU-E135"]
    if verdict is None:
        assert issues == []
        return
    kind, words = verdict
    assert any(i.is_error and i.path == "/network/route" for i in issues), (words, issues)
    assert e134 == ([words] if kind == "own" else []), (words, issues)
    assert len(e135) == (kind == "gateway"), (words, issues)


@settings(max_examples=250)
@given(ROUTES)
def test_the_update_engine_refuses_with_libvirts_words(a):
    before = BASE.format("")
    verdict = oracle(a)
    if verdict is None:
        after = update_xml(before, "add-last", "network", route_xml(a))
        assert validate(after) == []
        return
    with pytest.raises(NetupdateError) as caught:
        update_xml(before, "add-last", "network", route_xml(a))
    kind, words = verdict
    if kind == "own":
        assert caught.value.message == f"t: {words}"
    elif kind == "gateway":
        assert caught.value.message == words


def test_removing_the_last_ip_of_a_gateway_is_refused():
    xml = BASE.format("<route family='ipv6' address='fd01::' prefix='64' gateway='fd00::2'/>")
    with pytest.raises(NetupdateError, match="unreachable static route gateway 'fd00::2'"):
        update_xml(xml, "delete", "ip", "<ip family='ipv6' address='fd00::1' prefix='64'/>")


# ---------------------------------------------------------------------- the command line
BAD = "<route family='ipv6' address='192.168.5.0' prefix='56' gateway='192.168.9.2'/>"
SAID = "ipv6 family specified for non-IPv6 address '192.168.5.0' in route definition"


def test_edit_refuses_the_route_and_leaves_the_file(tmp_path: Path, capsys):
    path = tmp_path / "t.xml"
    path.write_text(BASE.format(""))
    code = main(["edit", "--in-place", str(path), "add", "network", BAD])
    out, err = capsys.readouterr()
    assert code != 0 and out == ""
    assert err.splitlines() == [f"netupdate: error: {path}: /network/route: t: {SAID}"]
    assert path.read_text() == BASE.format("")


def test_update_refuses_the_route_and_leaves_the_definition(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NETUPDATE_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("NETUPDATE_CONNECT", raising=False)
    path = tmp_path / "t.xml"
    path.write_text(BASE.format(""))
    assert main(["define", str(path)]) == 0
    capsys.readouterr()
    main(["dumpxml", "t"])
    defined = capsys.readouterr().out
    code = main(["update", "t", "add", "network", BAD, "--config"])
    out, err = capsys.readouterr()
    assert code != 0 and out == ""
    assert len(err.splitlines()) == 1 and err.rstrip().endswith(f"t: {SAID}"), err
    main(["dumpxml", "t"])
    assert capsys.readouterr().out == defined

