"""Guest impact of a plan (issue 16), generated over action kinds and running-network facts."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from netupdate.planning import impact as I
from netupdate.planning.planner import KIND_ORDER

facts = st.builds(I.Facts,
                  st.lists(st.text("abcdefgh0123456789", min_size=1, max_size=8), unique=True,
                           max_size=8).map(tuple),
                  st.lists(st.integers(2, 254).map(lambda n: f"10.0.0.{n}"), unique=True,
                           max_size=8).map(tuple),
                  st.none() | st.integers(0, 5000), st.booleans(), st.integers(0, 30))
kinds = st.lists(st.sampled_from(KIND_ORDER), unique=True, max_size=6)


@settings(max_examples=150)
@given(kinds, facts, st.booleans(), st.none() | st.integers(0, 9999))
def test_effects_name_what_each_kind_touches(plan, world, done, measured):
    out = I.effects(plan, world, done=done, measured_ms=measured)
    assert all("\n" not in e.text for e in out)
    if "network-restart" in plan:    # supersedes all: every port and every lease
        effect, = out
        assert effect.ports == world.ports and effect.leases == world.leases
        assert effect.text.startswith(f"network restart: {len(world.ports)} attached interface")
        assert ("lost" if done else "lose") in effect.text
        return
    disruptive = [k for k in I.DISRUPTIVE if k in plan]
    if not disruptive:
        assert [e.kind for e in out] == ["none"]
        return
    assert [e.kind for e in out] == disruptive
    for effect in out:
        if effect.kind == "dnsmasq-restart":
            assert effect.leases == world.leases
            if done and measured is not None:
                assert f"for {measured} ms" in effect.text
            elif world.restart_ms is not None:
                assert f"about {world.restart_ms} ms, as measured" in effect.text
            else:
                assert "not measured" in effect.text
        if effect.kind in ("bridge-stp", "bridge-delay") and world.stp and world.ports:
            assert effect.ports == world.ports and f"{2 * world.delay} s" in effect.text
    assert I.needs_facts(plan)


def test_the_issue_examples():
    three = I.Facts(("vnet0", "vnet1", "vnet2"), ("10.0.0.5",), 41)
    restart, = I.effects(["network-restart"], three)
    assert restart.text.startswith("network restart: 3 attached interfaces lose their link "
                                   "(vnet0, vnet1, vnet2)")
    dnsmasq, = I.effects(["dnsmasq-restart"], three)
    assert dnsmasq.text == ("dnsmasq restart: DHCP and DNS are unavailable for about 41 ms, as "
                            "measured at this network's last restart; 1 lease kept")
    assert [e.text for e in I.effects(["dnsmasq-none"], three)] == [
        "none: no attached interface or lease is affected"]
