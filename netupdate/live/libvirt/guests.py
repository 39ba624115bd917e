"""Issue 16 on a libvirt update: what a change of the live definition does to the guests of the
running network, found before it runs and reported after, as on the embedded runtime
(``live.embedded.world``: the same ``Preflight``, ``model.leases.guard`` and
``planning.impact``).

* the leases are libvirt's (``virNetworkGetDHCPLeases``); a driver that reports none (the test
  driver) leaves the reservations unchecked against leases, and says so when they change;
* on a local daemon the holders' presence is probed on libvirt's bridge in the kernel (FDB,
  ARP/NDP: ``runtime.leases.presence``) and the bridge's ports are named in the impact lines;
  elsewhere presence is unknown, so no lease counts as stale (never released behind a guest's
  back) and a conflicting one is refused unless ``release_conflicting``;
* a lease to release goes through ``dhcp_release`` on libvirt's bridge (local daemon only).
"""

from __future__ import annotations

from dataclasses import dataclass

from netupdate.errors import NetupdateError, RuntimeFailure, UnsupportedError
from netupdate.live.embedded.world import Preflight
from netupdate.live.world import refuse
from netupdate.model import leases as L

UNREPORTED = ("libvirt reports no leases on {uri}: the reservations were not checked against "
              "the guests' leases")


@dataclass
class Guard(Preflight):
    """``Preflight`` with the notes of a backend that cannot see everything."""
    notes: tuple = ()


def _reported(conn, net) -> list[L.Lease] | None:
    """The leases libvirt reports (None: this driver reports none)."""
    from netupdate.live.libvirt.world import reported
    try:
        return reported(conn, net)
    except UnsupportedError:
        return None


def _presence(conn, net, leases: list[L.Lease]) -> dict:
    """``world.presence``; empty (nobody counts as gone) when the kernel cannot be asked."""
    from netupdate.live.libvirt.world import presence
    try:
        return presence(conn, net, leases)
    except NetupdateError:      # no pyroute2, no such namespace: not probed
        return {}


def _ports(conn, net) -> tuple[str, ...]:
    """The interfaces attached to a local daemon's bridge (none known elsewhere)."""
    from netupdate.live.embedded.runtime import leases as RL
    from netupdate.live.embedded.runtime import netns as NS
    if not conn.local:
        return ()
    try:
        ipr = NS.iproute(conn.netns)
    except NetupdateError:
        return ()
    try:
        return tuple(RL.ports(ipr, net.bridgeName()))
    finally:
        ipr.close()


def _facts(conn, net, after, found: list[L.Lease]):
    from netupdate.planning.impact import Facts
    from netupdate.sections.bridge import want_delay, want_stp
    return Facts(_ports(conn, net), tuple(str(lease.ip) for lease in found), None,
                 want_stp(after), want_delay(after))


def _decide(conn, net, before, after, found, release_conflicting: bool) -> list:
    old, new = L.reservations(before), L.reservations(after)
    if not found or old == new:
        return []
    stake = L.at_stake(old, new, found)
    return L.guard(old, new, stake, _presence(conn, net, stake),
                   release_conflicting=release_conflicting)


def guard(conn, net, before_xml: str | None, after_xml: str | None, kinds, *,
          dry_run: bool = False, release_conflicting: bool = False) -> Guard:
    """What bringing the live definition from ``before_xml`` to ``after_xml`` with plan action
    ``kinds`` does to the running network's guests and leases.  Raises
    ``InvalidOperationError`` (nothing changed yet) when it would take the address of a guest
    still on the network; a dry run reports it instead."""
    from netupdate.model.defs import load
    from netupdate.planning.impact import needs_facts
    if before_xml is None or after_xml is None or not net.isActive():
        return Guard()
    out = Guard(kinds=tuple(kinds))
    found = _reported(conn, net)
    if found == [] and not needs_facts(out.kinds):
        return out      # nothing to name, nothing at stake: no need to read the definitions
    before, after = load(before_xml).defs, load(after_xml).defs
    if found is None:
        if L.reservations(before) != L.reservations(after):
            out.notes = (UNREPORTED.format(uri=conn.uri),)
        found = []
    if needs_facts(out.kinds):
        out.facts = _facts(conn, net, after, found)
    out.decisions = _decide(conn, net, before, after, found, release_conflicting)
    if not dry_run:
        refuse(out.decisions)
    return out


def plan_effects(conn, net, plan, after_xml: str, restart_needed: bool = False) -> tuple:
    """What ``plan`` (towards ``after_xml``; a restart too when ``restart_needed``) would do to
    running network ``net``'s guests: ``diff``'s impact lines."""
    from netupdate.model.defs import load
    from netupdate.planning.impact import needs_facts
    if plan is None:
        return ()
    out = Guard(kinds=tuple(plan.kinds) + (("network-restart",) if restart_needed else ()))
    if needs_facts(out.kinds):
        out.facts = _facts(conn, net, load(after_xml).defs, _reported(conn, net) or [])
    return out.effects()


def dry(result, found: Guard) -> tuple[str, ...]:
    """A dry run's report: sets ``result.impact``, returns the notes on the leases."""
    result.impact = found.effects()
    return found.notes + tuple(d.to_text() for d in found.decisions)


def after(conn, net, found: Guard, result) -> tuple[str, ...]:
    """After the change ran: release the leases the pre-flight said to (``dhcp_release`` on
    libvirt's bridge), set ``result.impact`` to what was done; returns a note per lease."""
    result.impact = found.effects(done=True)
    notes = list(found.notes)
    for decision in found.decisions:
        if decision.action != "release":
            notes.append(decision.to_text())
            continue
        try:
            _release(conn, net, decision.lease)
        except NetupdateError as exc:  # the change is in place: say so
            notes.append(f"could not release the lease of {decision.lease.ip}: {exc}")
            continue
        notes.append(f"released the lease of {decision.lease.ip} held by "
                     f"{decision.lease.holder()}: {decision.why}")
    return tuple(notes)


def _release(conn, net, lease: L.Lease) -> None:
    from netupdate.live.embedded.runtime import leases as RL
    if not conn.local:
        raise RuntimeFailure(f"{conn.uri} is not a local daemon: release it there "
                             "(dhcp_release)")
    # libvirt keeps no dnsmasq lease file: the DHCPv6 server DUID is unknown (RL says so)
    RL.release(lease, net.bridgeName(), conn.netns, "")
