"""The bridge's IPv6 sysctls as a function of the definition (libvirt's networkSetIPv6Sysctls:
``disable_ipv6`` 1 without an IPv6 ``<ip>``, 0 with one, whatever ``<network ipv6>`` says;
``accept_ra`` and ``autoconf`` 0 always), and the plan step of a live change that flips IPv6
(after every address removal, before every address addition)."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from lxml import etree

import netupdate
from netupdate.errors import StateError
from netupdate.live.embedded.runtime import ipv6conf as V6
from netupdate.model.defs import load
from netupdate.planning import planner
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


def _ipv6_steps(plan) -> list[dict]:
    return [dict(a.detail) for a in plan.actions if a.kind == "bridge-ipv6"]


def _check_order(plan) -> None:
    """The step comes after every address removal and before every address addition (the
    kernel refuses IPv6 addresses while disable_ipv6 is 1)."""
    kinds = list(plan.kinds)
    at = kinds.index("bridge-ipv6")
    assert "address-remove" not in kinds[at:] and "address-add" not in kinds[:at], kinds


@settings(max_examples=60)
@given(network_shapes(), network_shapes())
def test_the_plan_has_the_sysctl_step_iff_ipv6_comes_or_goes(before, after):
    """``plan`` (apply, batch, diff): one ``bridge-ipv6`` step exactly when the first IPv6
    ``<ip>`` comes or the last goes, with the value the new definition needs, shown in the
    plan's text; none when a restart does everything anyway."""
    plan = planner.plan(before, after)
    flips = _has_ipv6_ip(before) != _has_ipv6_ip(after)
    if "network-restart" in plan.kinds:
        assert _ipv6_steps(plan) == []
        return
    want = V6.wanted(load(after.encode()).defs)["disable_ipv6"]
    assert _ipv6_steps(plan) == ([{"disable_ipv6": int(want)}] if flips else [])
    if flips:
        _check_order(plan)
        assert f"bridge-ipv6 (disable_ipv6={want})" in plan.to_text()


V6_ADDRESSES = ("fd00:77::1", "fd00:78::1")


@settings(max_examples=40)
@given(network_shapes(), st.sampled_from(V6_ADDRESSES), st.booleans())
def test_an_update_of_an_ip_plans_the_step_iff_it_flips_ipv6(xml, address, delete):
    """``plan_change`` (update): the edit's context carries whether the network had and has
    IPv6, so adding the first IPv6 ``<ip>`` or deleting the last plans the step."""
    doc = netupdate.load(xml)
    present = {str(ip.address) for ip in doc.defs.ips_of(6)}
    if not delete:   # an address the network does not have
        address = next((a for a in V6_ADDRESSES if a not in present), None)
        assume(address is not None)
    elif address not in present:
        doc.update("add", "ip", f"<ip family='ipv6' address='{address}' prefix='64'/>")
    others = [ip for ip in doc.defs.ips_of(6) if str(ip.address) != address]
    assume(not delete or others or doc.defs.ips_of(4) or doc.defs.forward_mode is None)
    change = doc.update("delete" if delete else "add", "ip",
                        f"<ip family='ipv6' address='{address}' prefix='64'/>")
    plan = planner.plan_change(change)
    assert _ipv6_steps(plan) == ([] if others else [{"disable_ipv6": int(delete)}])
    if not others:
        _check_order(plan)
        assert f"bridge-ipv6 (disable_ipv6={int(delete)})" in plan.to_text()


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "../all", "x" * 16, "a\0b"])
def test_only_an_interface_name_makes_a_sysctl_path(name):
    with pytest.raises(StateError, match="refusing IPv6 sysctls"):
        V6._dir(name)
