"""The bridge's IPv6 sysctls as a function of the definition (libvirt's networkSetIPv6Sysctls:
``disable_ipv6`` 1 without an IPv6 ``<ip>``, 0 with one, whatever ``<network ipv6>`` says;
``accept_ra`` and ``autoconf`` 0 always), and the order a live change sets them in."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from netupdate.errors import StateError
from netupdate.live.embedded.runtime import ipv6conf as V6
from netupdate.model.defs import load
from tests.netshapes import network_shapes


def _has_ipv6_ip(xml: str) -> bool:
    """The oracle, from the XML alone: an ``<ip>`` of family ipv6 or with an IPv6 address."""
    root = etree.fromstring(xml.encode())
    return any(ip.get("family") == "ipv6" or ":" in (ip.get("address") or "")
               for ip in root.findall("ip"))


def _with_ipv6_attr(xml: str, value: str | None) -> str:
    root = etree.fromstring(xml.encode())
    if value is not None:
        root.set("ipv6", value)
    return etree.tostring(root, encoding="unicode")


@settings(max_examples=60)
@given(network_shapes(), st.sampled_from([None, "yes", "no"]))
def test_sysctls_follow_the_ipv6_addresses_only(xml, attr):
    xml = _with_ipv6_attr(xml, attr)
    got = V6.wanted(load(xml.encode()).defs)
    assert got == {"disable_ipv6": "0" if _has_ipv6_ip(xml) else "1",
                   "accept_ra": "0", "autoconf": "0"}
    assert list(got) == ["disable_ipv6", "accept_ra", "autoconf"]   # libvirt's order


@settings(max_examples=40)
@given(network_shapes(), network_shapes(), st.booleans())
def test_a_live_change_enables_before_and_disables_after_its_steps(before, after, enabling):
    """``follow`` writes only when the change flips IPv6: before the plan's steps when the
    first IPv6 ``<ip>`` comes (its address needs disable_ipv6=0), after them when the last
    goes."""
    old, new = load(before.encode()).defs, load(after.encode()).defs
    written = []
    real = V6.apply
    V6.apply = lambda netns, br, defs: written.append((netns, br, V6.wanted(defs)))
    try:
        V6.follow("ns", "br0", old, new, enabling=enabling)
    finally:
        V6.apply = real
    flips = _has_ipv6_ip(before) != _has_ipv6_ip(after)
    expect = flips and _has_ipv6_ip(after) == enabling
    assert written == ([("ns", "br0", V6.wanted(new))] if expect else [])


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "../all", "x" * 16, "a\0b"])
def test_only_an_interface_name_makes_a_sysctl_path(name):
    with pytest.raises(StateError, match="refusing IPv6 sysctls"):
        V6._dir(name)
