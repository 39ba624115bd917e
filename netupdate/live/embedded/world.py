"""Issue 16 on the embedded runtime: the leases of a running network, and what a change of DHCP
reservations does to them (release stale leases at once, refuse to take a present guest's IP).
"""

from __future__ import annotations

from netupdate.errors import RuntimeFailure, StateError
from netupdate.live.world import LeaseInfo, refuse
from netupdate.model import leases as L


def _running(conn, name: str) -> dict:
    record = conn.store.read_record(name)
    if record is None:
        raise StateError(f"network '{name}' is not running")
    return record


def lease_text(conn, name: str) -> str:
    from netupdate.live.embedded.runtime import dnsmasqd as DQ
    return DQ.read_file(conn.driver.layout(name).leases) or ""


def _presence(conn, record: dict, leases: list[L.Lease]) -> dict:
    from netupdate.live.embedded.runtime import leases as RL
    if not leases:
        return {}
    netns = record.get("netns")
    return RL.presence(conn.driver.ipr(netns), record["bridge"]["name"], netns, leases)


def leases(conn, name: str) -> list[LeaseInfo]:
    """Every lease of running network ``name`` with its status (presence probed)."""
    record = _running(conn, name)
    defs = conn._defs(conn.store.live_path(name))
    reserved = L.reservations(defs) if defs is not None else []
    found = L.parse(lease_text(conn, name))
    present = _presence(conn, record, found)
    return [LeaseInfo(str(lease.ip), lease.mac, lease.hostname, lease.expiry,
                      L.classify(lease, reserved, present.get(lease.ip)), lease.client_id,
                      present.get(lease.ip)) for lease in found]


def guard(conn, name: str, record: dict | None, pair, *, dry_run: bool = False,
          release_conflicting: bool = False) -> list[L.Decision]:
    """What a change of the live definition (``pair()``: its ``NetworkDef`` before and after,
    asked for only when the network has leases, so a host update stays fast) does to the
    leases of the running network.  Raises ``InvalidOperationError`` (nothing changed yet)
    when it would take the address of a guest still on the network; a dry run reports it
    instead."""
    found = L.parse(lease_text(conn, name)) if record is not None else []
    if not found:
        return []
    before, after = pair()
    old, new = L.reservations(before), L.reservations(after)
    if old == new:
        return []
    stake = L.at_stake(old, new, found)
    decisions = L.guard(old, new, stake, _presence(conn, record, stake),
                        release_conflicting=release_conflicting)
    if not dry_run:
        refuse(decisions)
    return decisions


def guard_edit(conn, name: str, record: dict | None, doc, dry_run: bool,
               release_conflicting: bool) -> list[L.Decision]:
    """``guard`` for an update that edited the live definition's tree ``doc.network`` (a
    connection's cached document: its bytes before, its tree after)."""
    return guard(conn, name, record, lambda: (doc.defs, doc.network.defs), dry_run=dry_run,
                 release_conflicting=release_conflicting)


def notes(decisions: list[L.Decision]) -> tuple[str, ...]:
    """What a dry run says about the leases."""
    return tuple(decision.to_text() for decision in decisions)


def release(conn, name: str, record: dict, decisions: list[L.Decision]) -> tuple[str, ...]:
    """Release the leases ``guard`` said to; returns a note per decision."""
    from netupdate.live.embedded.runtime import leases as RL
    text = lease_text(conn, name)
    notes = []
    for decision in decisions:
        if decision.action == "release":
            try:
                RL.release(decision.lease, record["bridge"]["name"], record.get("netns"), text)
            except RuntimeFailure as exc:  # the update is in place: say so, do not fail it
                notes.append(f"could not release the lease of {decision.lease.ip}: {exc}")
                continue
            notes.append(f"released the lease of {decision.lease.ip} held by "
                         f"{decision.lease.holder()}: {decision.why}")
        else:
            notes.append(decision.to_text())
    return tuple(notes)


# ---------------------------------------------------------------------- conflict pre-flight
def _refuse(found, force: bool) -> None:
    from netupdate.errors import ConflictError
    from netupdate.planning.conflicts import refusal
    line = refusal(found, force)
    if line is not None:
        raise ConflictError(line)


def _running(conn, netns: str | None, but: str) -> dict:
    """``{bridge: (network, live NetworkDef)}`` of our other networks running in ``netns``."""
    out = {}
    for other in sorted(conn.store.running_names() - {but}):
        record = conn.store.read_record(other)
        defs = conn._defs(conn.store.live_path(other))
        if record is not None and defs is not None and record.get("netns") == netns:
            out[record["bridge"]["name"]] = (other, defs)
    return out


def preflight_start(conn, name: str, defs, netns: str | None, force: bool) -> None:
    """Refuse to start ``name`` where its bridge name is taken, its subnets overlap an address
    or route of the namespace (another network of ours among them), or it reserves a MAC or
    IP another network running there reserves."""
    from netupdate.live.embedded.runtime import driver, kernel
    from netupdate.live.embedded.runtime import netns as NS
    from netupdate.planning import conflicts as C
    NS.require(netns)
    addresses, routes, links = kernel.holdings(conn.driver.ipr(netns))
    running = _running(conn, netns, name)
    where = f"namespace {netns}" if netns else "the host's namespace"
    found = C.in_namespace(name, defs, driver.bridge_name(defs), addresses, routes, links,
                           where=where, owners={br: o for br, (o, _d) in running.items()})
    found += [c for other, theirs in running.values()
              for c in C.between(name, defs, other, theirs) if c.kind != C.SUBNET]
    _refuse(found, force)


def preflight_define(conn, name: str, defs, force: bool) -> None:
    """Refuse a definition that collides with a network running in the connection's
    namespace: an overlapping subnet, a MAC or an IP reserved there too (networks that are
    only defined may overlap: they may never run side by side)."""
    from netupdate.planning import conflicts as C
    _refuse([c for other, theirs in _running(conn, conn.netns, name).values()
             for c in C.between(name, defs, other, theirs)], force)


# ---------------------------------------------------------------------- drift check
def check(conn, name: str, *, repair: bool = False):
    """Drift between the persistent definition, the live one and what runs; ``repair``
    converges the running network to its live definition in place (a restart only when that
    cannot be done).  The live definition's difference from the persistent one is reported,
    not repaired: it is what a restart (or 'netupdate apply') would bring."""
    from netupdate.live.world import CheckResult, Drift, definition_drift
    config = conn._defs(conn.store.config_path(name))
    live = conn._defs(conn.store.live_path(name))
    record = conn.store.read_record(name)
    if record is None:
        if config is None:
            raise StateError(f"network '{name}' is not defined")
        return CheckResult(name)
    defs = live if live is not None else config

    def kernel():
        from netupdate.live.embedded.runtime import drift
        return [Drift(*item) for item in drift.kernel_drift(conn, name, record, defs)]
    defined = definition_drift(conn, name) if config is not None and live is not None else []
    result = CheckResult(name, drift=defined + kernel())
    if repair and len(result.drift) > len(defined):
        from netupdate.live.embedded.runtime import converge
        with conn.store.lock(name):
            record = converge.converge(conn.store, conn.driver, name, record, defs)
        conn._forget(conn.store.live_path(name))
        result.repaired = [d.to_text() for d in result.drift[len(defined):]]
        result.remaining = defined + kernel()
    return result
