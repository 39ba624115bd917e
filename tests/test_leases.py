"""The lease model (issue 16), generated: parsing dnsmasq's lease file, classifying leases, and
what a change of reservations does to them, against a plain model written from the issue."""

from __future__ import annotations

import ipaddress

from hypothesis import given, settings
from hypothesis import strategies as st

from netupdate.model import leases as L

IPS = [ipaddress.ip_address(f"10.0.0.{n}") for n in range(1, 7)]
MACS = [f"52:54:00:00:00:{n:02x}" for n in range(1, 7)]


@st.composite
def reservation_sets(draw) -> list[L.Reservation]:
    """Reservations with distinct IPs and distinct MACs (what validation lets through)."""
    ips = draw(st.lists(st.sampled_from(IPS), unique=True, max_size=5))
    macs = draw(st.lists(st.sampled_from(MACS), unique=True, min_size=len(ips),
                         max_size=len(ips)))
    return [L.Reservation(ip, mac) for ip, mac in zip(ips, macs, strict=True)]


@st.composite
def lease_sets(draw) -> list[L.Lease]:
    """Leases as dnsmasq keeps them: one per IP."""
    ips = draw(st.lists(st.sampled_from(IPS), unique=True, max_size=6))
    return [L.Lease(ip, draw(st.sampled_from(MACS)), draw(st.integers(0, 2**31)),
                    draw(st.sampled_from([None, "h1", "guest-x"]))) for ip in ips]


def model_status(lease, reserved, present):
    if present is False:
        return "stale"
    pairs = {(r.ip, r.mac) for r in reserved}
    if (lease.ip, lease.mac) in pairs:
        return "reserved"
    if lease.ip in {r.ip for r in reserved}:
        return "conflicting"
    return "dynamic"


def model_decision(lease, before, after, here, release_conflicting):
    """The issue's rules, case by case."""
    owner_before = {r.ip: r.mac for r in before}.get(lease.ip)
    owner_after = {r.ip: r.mac for r in after}.get(lease.ip)
    was_his = owner_before == lease.mac
    is_his = owner_after == lease.mac
    taken = owner_after is not None and owner_after != lease.mac and owner_after != owner_before
    if not (was_his and not is_his) and not taken:
        return None                      # the change does not concern this lease
    if not here:
        return "release"                 # the holder left: the address is free at once
    if taken:
        return "release" if release_conflicting else "refuse"
    return "keep"                        # never behind a present holder's back


@settings(max_examples=150)
@given(reservation_sets(), lease_sets(), st.lists(st.booleans() | st.none(), min_size=6,
                                                   max_size=6))
def test_classify_matches_the_model(reserved, leases, presence):
    for lease, present in zip(leases, presence, strict=False):
        assert L.classify(lease, reserved, present) == model_status(lease, reserved, present)
        assert L.classify(lease, reserved, present) in L.STATUSES


@settings(max_examples=200)
@given(reservation_sets(), reservation_sets(), lease_sets(),
       st.lists(st.booleans(), min_size=6, max_size=6), st.booleans())
def test_guard_matches_the_model(before, after, leases, here, release_conflicting):
    present = {lease.ip: h for lease, h in zip(leases, here, strict=False)}
    decisions = L.guard(before, after, leases, present,
                        release_conflicting=release_conflicting)
    got = {d.lease.ip: d.action for d in decisions}
    want = {lease.ip: action for lease in leases
            if (action := model_decision(lease, before, after, present[lease.ip],
                                         release_conflicting)) is not None}
    assert got == want
    assert {lease.ip for lease in L.at_stake(before, after, leases)} == set(want)
    for decision in decisions:
        if decision.action == "refuse":   # one line naming the holder and the expiry
            text = decision.why
            assert decision.lease.mac in text and str(decision.lease.ip) in text
            assert "until" in text or "never expires" in text
            assert "\n" not in text


@settings(max_examples=100)
@given(reservation_sets(), lease_sets())
def test_an_unknown_presence_never_releases(reserved, leases):
    """A lease whose holder was not probed counts as present: nothing is released blindly."""
    decisions = L.guard(reserved, [], leases, {})
    assert all(d.action != "release" for d in decisions)


def _line(lease: L.Lease) -> str:
    if lease.version == 4:
        return f"{lease.expiry} {lease.mac} {lease.ip} {lease.hostname or '*'} " \
               f"{lease.client_id or '*'}"
    return f"{lease.expiry} {lease.iaid} {lease.ip} {lease.hostname or '*'} " \
           f"{lease.client_id or '*'}"


hex_ids = st.lists(st.integers(0, 255), min_size=1, max_size=8).map(
    lambda xs: ":".join(f"{x:02x}" for x in xs))
v4_leases = st.builds(L.Lease, st.sampled_from(IPS), st.sampled_from(MACS),
                      st.integers(0, 2**40), st.sampled_from([None, "a", "web-1"]),
                      st.none() | hex_ids)
v6_leases = st.builds(L.Lease, st.integers(1, 2**64).map(
    lambda n: ipaddress.IPv6Address((0xFD << 120) + n)), st.none(), st.integers(0, 2**40),
    st.sampled_from([None, "b"]), hex_ids, st.integers(0, 2**32 - 1))


@settings(max_examples=100)
@given(st.lists(v4_leases, max_size=5), st.lists(v6_leases, max_size=5),
       st.lists(st.sampled_from(["", "garbage", "1 2", "x 52:54:00:00:00:01 10.0.0.1 a *",
                                 "5 zz 10.0.0.300 a *"]), max_size=3))
def test_parse_reads_what_dnsmasq_writes_and_skips_damage(v4, v6, junk):
    text = "\n".join([*(_line(x) for x in v4), *junk,
                      *(["duid 00:01:00:01:2c:00:00:01:52:54:00:00:00:01"] if v6 else []),
                      *(_line(x) for x in v6)])
    assert L.parse(text) == v4 + v6


def test_a_v6_reservation_by_duid_owns_the_lease_of_that_client():
    lease = L.Lease(ipaddress.ip_address("fd00::10"), None, 0, None, "0:1:0:1:ab", 7)
    mine = L.Reservation(lease.ip, id="00:01:00:01:AB")
    other = L.Reservation(lease.ip, id="00:01:00:01:ac")
    assert L.classify(lease, [mine]) == "reserved"
    assert L.classify(lease, [other]) == "conflicting"
    assert L.classify(lease, [L.Reservation(lease.ip, name="n")]) == "conflicting"
    assert lease.until() == "never expires"
