"""Issue 16 on the embedded runtime: the leases of a running network, and what a change of DHCP
reservations does to them (release stale leases at once, refuse to take a present guest's IP).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from netupdate.errors import RuntimeFailure, StateError
from netupdate.live.world import LeaseInfo, refuse
from netupdate.model import leases as L


def _record(conn, name: str) -> dict:
    record = conn.store.read_record(name)
    if record is None:
        raise StateError(f"network '{name}' is not running")
    return record


def lease_text(conn, name: str, record: dict | None = None) -> str:
    """dnsmasq's lease file of network ``name`` (in ``record``'s directory: no path objects
    on an update's way)."""
    from netupdate.live.embedded.runtime.dnsmasqd import LEASES
    path = os.path.join(record["dir"], LEASES) if record and record.get("dir") else \
        conn.driver.layout(name).leases
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    except OSError:
        return ""
    try:   # raw reads: an update reads this file every time, and it is mostly empty
        chunks = []
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
        return b"".join(chunks).decode("utf-8", "replace")
    finally:
        os.close(fd)


def _presence(conn, record: dict, leases: list[L.Lease]) -> dict:
    from netupdate.live.embedded.runtime import leases as RL
    if not leases:
        return {}
    netns = record.get("netns")
    return RL.presence(conn.driver.ipr(netns), record["bridge"]["name"], netns, leases)


def leases(conn, name: str) -> list[LeaseInfo]:
    """Every lease of running network ``name`` with its status (presence probed)."""
    record = _record(conn, name)
    defs = conn._defs(conn.store.live_path(name))
    reserved = L.reservations(defs) if defs is not None else []
    found = L.parse(lease_text(conn, name))
    present = _presence(conn, record, found)
    return [LeaseInfo(str(lease.ip), lease.mac, lease.hostname, lease.expiry,
                      L.classify(lease, reserved, present.get(lease.ip)), lease.client_id,
                      present.get(lease.ip)) for lease in found]


@dataclass
class Preflight:
    """What a live change will do to the world, found before it runs: the lease decisions
    (``model.leases.guard``) and the guests the plan touches (``planning.impact``)."""
    decisions: list = field(default_factory=list)
    facts: object = None          # impact.Facts before the change (None: nothing to name)
    kinds: tuple = ()

    def effects(self, *, done: bool = False, measured_ms: int | None = None) -> tuple:
        from netupdate.planning.impact import Facts, effects
        if not self.kinds:
            return ()
        return tuple(effects(self.kinds, self.facts or Facts(), done=done,
                             measured_ms=measured_ms))


def _facts(conn, name: str, record: dict, after, found: list[L.Lease]):
    from netupdate.live.embedded.runtime import driver as D
    from netupdate.live.embedded.runtime import leases as RL
    from netupdate.planning.impact import Facts
    ports = RL.ports(conn.driver.ipr(record.get("netns")), record["bridge"]["name"])
    from netupdate.live.embedded.runtime import dnsmasqd as DQ
    return Facts(tuple(ports), tuple(str(lease.ip) for lease in found),
                 DQ.last_restart_ms(conn.driver.layout(name)), D.want_stp(after),
                 D.want_delay(after))


def preflight(conn, name: str, record: dict | None, pair, plan, *, dry_run: bool = False,
              release_conflicting: bool = False, force: bool = False,
              changes=None) -> Preflight:
    """What a change of the live definition (``pair()``: its ``NetworkDef`` before and after,
    asked for only when needed, so a host update stays fast) with live ``plan`` does to the
    running network's guests and leases.  Raises ``InvalidOperationError`` (nothing changed
    yet) when it would take the address of a guest still on the network; a dry run reports
    it instead.  First the conflict pre-flight (``preflight_change``; ``record`` None: a
    change of the persistent definition only, whose ``changes`` it reads)."""
    from netupdate.planning.impact import needs_facts
    if not dry_run:
        preflight_change(conn, name, record, pair, plan, changes, force)
    if record is None or plan is None:
        return Preflight()
    out = Preflight(kinds=tuple(plan.kinds))
    found = L.parse(lease_text(conn, name, record))
    if not found and not needs_facts(out.kinds) and "address-add" not in out.kinds:
        return out
    before, after = pair()
    if needs_facts(out.kinds):
        out.facts = _facts(conn, name, record, after, found)
    old, new = L.reservations(before), L.reservations(after)
    if found and old != new:
        stake = L.at_stake(old, new, found)
        out.decisions = L.guard(old, new, stake, _presence(conn, record, stake),
                                release_conflicting=release_conflicting)
    if not dry_run:
        refuse(out.decisions)
    return out


def preflight_edit(conn, name: str, record: dict | None, docs: dict, result,
                   release_conflicting: bool, force: bool = False) -> Preflight:
    """``preflight`` for an update that edited the trees of ``docs`` (``{"live"|"config":
    Doc}``: a connection's cached documents, their bytes before, their tree after): the live
    one's when there is one, else the persistent one's."""
    doc = docs.get("live") or docs["config"]
    return preflight(conn, name, record, lambda: (doc.defs, doc.network.defs), result.plan,
                     dry_run=result.dry_run, release_conflicting=release_conflicting,
                     force=force)


def preflight_batch(conn, name: str, record: dict | None, docs, nets, plan, dry_run: bool,
                    force: bool) -> Preflight:
    """``preflight`` for a batch: ``docs`` (the live and the persistent document before) and
    ``nets`` (their edited trees, None where not asked for); ``plan``: the live one or None."""
    from netupdate.planning.differ import diff
    live = nets[0] is not None
    side = 0 if live else 1
    return preflight(conn, name, record if live else None,
                     lambda: (docs[side].defs, nets[side].defs), plan, dry_run=dry_run,
                     force=force,
                     changes=None if live or dry_run else diff(docs[1].defs, nets[1].defs))


def plan_effects(conn, name: str, plan, after) -> tuple:
    """What ``plan`` (towards ``after``) would do to running network ``name``'s guests."""
    from netupdate.planning.impact import needs_facts
    record = conn.store.read_record(name)
    if record is None or plan is None:
        return ()
    found = Preflight(kinds=tuple(plan.kinds))
    if needs_facts(found.kinds):
        found.facts = _facts(conn, name, record, after, L.parse(lease_text(conn, name)))
    return found.effects()


def dry(result, found: Preflight) -> tuple[str, ...]:
    """A dry run's report: sets ``result.impact``, returns the notes on the leases."""
    result.impact = found.effects()
    return tuple(decision.to_text() for decision in found.decisions)


def after(conn, name: str, found: Preflight, result) -> tuple[str, ...]:
    """After the change ran: release the leases the pre-flight said to, set ``result.impact``
    to what was done (with the dnsmasq restart as measured); returns a note per lease."""
    from netupdate.live.embedded.runtime import dnsmasqd as DQ
    from netupdate.live.embedded.runtime import leases as RL
    record = conn.store.read_record(name) or {} if found.decisions else {}
    measured = DQ.last_restart_ms(conn.driver.layout(name)) \
        if "dnsmasq-restart" in found.kinds else None
    result.impact = found.effects(done=True, measured_ms=measured)
    text = lease_text(conn, name) if found.decisions else ""
    notes = []
    for decision in found.decisions:
        if decision.action != "release":
            notes.append(decision.to_text())
            continue
        try:
            RL.release(decision.lease, record["bridge"]["name"], record.get("netns"), text)
        except (RuntimeFailure, KeyError) as exc:  # the change is in place: say so
            notes.append(f"could not release the lease of {decision.lease.ip}: {exc}")
            continue
        notes.append(f"released the lease of {decision.lease.ip} held by "
                     f"{decision.lease.holder()}: {decision.why}")
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


def _collisions(conn, name: str, record: dict | None, defs, netns: str | None = None,
                before=None) -> list:
    """What ``defs`` collides with in the namespace it runs in (``record``'s) or will run in:
    its bridge name taken, its subnets overlapping an address or route there (another network
    of ours among them), a MAC or IP another network running there reserves.  The network's
    own bridge (``record``) is not a collision, nor what ``before`` (the definition a change
    starts from) collided with already."""
    from netupdate.live.embedded.runtime import driver, kernel
    from netupdate.live.embedded.runtime import netns as NS
    from netupdate.planning import conflicts as C
    netns = record.get("netns") if record is not None else netns
    NS.require(netns)
    addresses, routes, links = kernel.holdings(conn.driver.ipr(netns))
    ours = record["bridge"]["name"] if record is not None else None
    addresses = [(i, a) for i, a in addresses if i != ours]
    running = _running(conn, netns, name)
    where = f"namespace {netns}" if netns else "the host's namespace"
    routes = [(i, r) for i, r in routes if i != ours]
    owners = {br: o for br, (o, _d) in running.items()}

    def found(defs) -> list:
        return C.in_namespace(name, defs, driver.bridge_name(defs), addresses, routes,
                              links - {ours}, where=where, owners=owners) + \
            [c for other, theirs in running.values() for c in C.between(name, defs, other, theirs)
             if c.kind not in (C.SUBNET, C.BRIDGE)]   # in_namespace saw those
    old = set(found(before)) if before is not None else set()
    return [c for c in found(defs) if c not in old]


def preflight_change(conn, name: str, record: dict | None, pair, plan, changes,
                     force: bool) -> None:
    """The conflict pre-flight of an update or apply (``pair()``: the definition before and
    after; ``record``: the network runs, ``plan`` its live plan; else ``changes`` of its
    persistent definition): refuse the conflicts the change brings that were not there before
    (``ConflictError`` naming both sides; ``force`` lets the forcible ones through).  A new
    address or a restart is checked against all the namespace holds (``_collisions``); a
    change of subnets or reservations against our other networks running there."""
    from netupdate.planning import conflicts as C
    kinds = set(plan.kinds) if record is not None and plan is not None else set()
    if {"address-add", "network-restart"} & kinds:
        before, after = pair()
        _refuse(_collisions(conn, name, record, after, before=before), force)
        return
    changes = plan.changes if changes is None and plan is not None else changes
    if changes is None or not C.touches(changes.sections):
        return
    running = _running(conn, record.get("netns") if record is not None else conn.netns, name)
    if not running:
        return
    if set(changes.sections) == {"ip-dhcp-host"}:   # a host update: no definition needed
        _refuse(C.introduced_hosts(name, changes, running.values()), force)
        return
    before, after = pair()
    _refuse(C.introduced(name, before, after, running.values()), force)


def preflight_apply(conn, name: str, job, changes, force: bool) -> None:
    """The conflict pre-flight of an apply (``apply._Apply`` ``job``) that does not change a
    running network (``preflight`` saw to that): one that starts it checks what a start does,
    one of a new network what a define does, else the change of its persistent definition
    (``changes``, from the definition ``job.config_bytes``)."""
    if job.plan is not None:
        return
    if job.start:
        preflight_start(conn, name, job.desired.defs, conn.netns, force)
    elif job.config_bytes is None:
        preflight_define(conn, name, job.desired.defs, force)
    elif job.config_write:
        preflight_change(conn, name, None, lambda: (conn._load(conn.store.config_path(name))
                                                    .defs, job.desired.defs), None, changes,
                         force)


def preflight_start(conn, name: str, defs, netns: str | None, force: bool) -> None:
    """Refuse to start ``name`` where it collides with what the namespace holds (looking into
    it needs the privileges that running a network needs: their error first)."""
    from netupdate.live.embedded.runtime import netns as NS
    NS.require_privileges("running a network")
    _refuse(_collisions(conn, name, None, defs, netns), force)


def preflight_define(conn, name: str, defs, force: bool) -> None:
    """Refuse a definition that collides with a network running in the connection's
    namespace: an overlapping subnet, a MAC or an IP reserved there too (networks that are
    only defined may overlap: they may never run side by side)."""
    from netupdate.planning import conflicts as C
    _refuse([c for other, theirs in _running(conn, conn.netns, name).values()
             for c in C.between(name, defs, other, theirs)], force)


# ---------------------------------------------------------------------- drift check
def check(conn, name: str, *, repair: bool = False):
    """Drift between the persistent definition, the live one and what runs.  ``repair``
    converges the running network to its live definition in place (a restart only when that
    cannot be done), then brings the live definition to the persistent one (``_redefine``)."""
    from netupdate.live.world import CheckResult, Drift, definition_drift
    config = conn._defs(conn.store.config_path(name))
    live = conn._defs(conn.store.live_path(name))
    record = conn.store.read_record(name)
    if record is None:
        if config is None:
            raise StateError(f"network '{name}' is not defined")
        return CheckResult(name, running=False)
    defs = live if live is not None else config

    def kernel():
        from netupdate.live.embedded.runtime import drift
        return [Drift(*item) for item in drift.kernel_drift(conn, name, record, defs)]

    def defined():
        return definition_drift(conn, name) if config is not None and live is not None else []
    before = defined()
    result = CheckResult(name, drift=before + kernel())
    if not repair or not result.drift:
        return result
    if len(result.drift) > len(before) and record.get("pool") is not None:
        result.notes.append("a missing host device cannot be repaired (netupdate made none of "
                            "the pool's devices): bring it back, or change the pool")
    elif len(result.drift) > len(before):
        from netupdate.live.embedded.runtime import converge
        with conn.store.lock(name):
            record = converge.converge(conn.store, conn.driver, name, record, defs)
        conn._forget(conn.store.live_path(name))
        result.repaired = [d.to_text() for d in result.drift[len(before):]]
    if before:
        done, text = _redefine(conn, name)
        (result.repaired if done else result.notes).append(text)
        record = conn.store.read_record(name) or record
        defs = conn._defs(conn.store.live_path(name)) or defs
    result.remaining = defined() + kernel()
    return result


def _redefine(conn, name: str) -> tuple[bool, str]:
    """Repair of the live definition's drift from the persistent one.  The persistent
    definition is what the next start uses and the live one what runs (libvirt's meaning), so
    the repair applies the persistent definition to the running network through the normal
    live plan, unless that plan restarts the network: a restart cuts every guest's link, which
    a repair never does behind the admin's back (the drift stays, with how to apply it)."""
    diff = conn.diff(name)
    if diff.plan is not None and "network-restart" in diff.plan.kinds:
        return False, ("the live definition was not set to the persistent one: only a network "
                       "restart applies that difference, and a restart cuts every guest's "
                       "link; stop and start the network when they can lose it")
    persistent = conn._load(conn.store.config_path(name))
    done = conn.apply(name, persistent.data, live=True, config=False)
    kinds = ", ".join(dict.fromkeys(a.kind for a in done.actions)) or "no live action"
    impact = "; ".join(e.text for e in done.impact) or "none"
    return True, (f"live definition: set to the persistent definition through the live plan "
                  f"({kinds}; guests: {impact})")
