"""Committing an update or apply that netupdate computed: the persistent config defined with
``virNetworkDefineXML``, the live side reached through ``virNetworkUpdate`` calls and netlink
(``compute.analyze``) or a restart (destroy, define, create), and the live/config request
resolved against the network's state (``affect``, libvirt's AFFECT flags)."""

from __future__ import annotations

from netupdate.errors import InvalidOperationError, NetupdateError, RuntimeFailure, StateError
from netupdate.live.libvirt import guests
from netupdate.live.libvirt.binding import error, libvirt
from netupdate.live.libvirt.bridge import BridgeTuner
from netupdate.live.libvirt.codes import AFFECT_LIVE, COMMAND_CODES, SECTION_CODES, Operation
from netupdate.live.libvirt.compute import (
    LiveWork,
    analyze,
    bridge_of,
    defs_of,
    diff_defs,
    plan_defs,
)
from netupdate.live.results import (
    APPLIED,
    CHANGED,
    NOT_REQUESTED,
    NOT_RUNNING,
    RESTART_NEEDED,
    RESTARTED,
    TRANSIENT,
    UNCHANGED,
    VIA_NETUPDATE,
    UpdateResult,
)


def commit(conn, net, name: str, *, command, section, config_before, config_after,
           live_before, live_after, do_config: bool, do_live: bool, restart: bool,
           dry_run: bool, notes: list[str], change,
           release_conflicting: bool = False) -> UpdateResult:
    """Define the persistent config and bring the live network to ``live_after`` (a dry run:
    only say how); ``restart`` allows a restart where the live side needs one; the guests'
    leases are checked first (``guests.guard``)."""
    active, persistent = bool(net.isActive()), bool(net.isPersistent())
    result = UpdateResult(name, command, section, uri=conn.uri, via=VIA_NETUPDATE,
                          config=NOT_REQUESTED if persistent else TRANSIENT,
                          live=no_live(active) if not do_live else UNCHANGED,
                          change=change, dry_run=dry_run, config_xml=config_after,
                          live_xml=live_after)
    config_changes = (diff_defs(config_before, config_after)
                      if do_config and config_after is not None else None)
    if do_config:
        result.config = CHANGED if config_changes else UNCHANGED
    work = None
    if do_live and live_after is not None:
        work = analyze(conn, live_before, live_after)
        notes.extend(work.notes)
        _outcome(work, result, restart)
        if result.live == RESTARTED:
            check_restart(conn, net, persistent, config_before, config_after, live_after,
                          do_config)
    guard = guests.guard(conn, net, live_before,
                         live_after if result.live in (APPLIED, RESTARTED) else None,
                         _kinds(result, live_before), dry_run=dry_run,
                         release_conflicting=release_conflicting)
    if dry_run:
        result.notes = tuple(notes) + guests.dry(result, guard)
        return result

    # 1. the persistent config
    if result.config == CHANGED:
        conn._define(config_after)
    # 2. the live side
    if result.live == RESTARTED:
        restart_network(conn, net, name, persistent,
                        config_after if result.config == CHANGED else None, live_after)
    elif result.live == APPLIED:
        apply_live(conn, net, name, work, result, notes)
    result.notes = tuple(notes) + guests.after(conn, net, guard, result)
    return result


def _outcome(work: LiveWork, result: UpdateResult, restart: bool) -> None:
    """What the live side gets from ``work``: nothing, a restart (pending, or allowed by
    ``restart``), or libvirt's calls and netupdate's own actions."""
    result.plan = work.plan
    if work.empty:
        result.live = UNCHANGED
    elif work.pending:
        result.pending = tuple(work.pending)
        result.live = RESTARTED if restart else RESTART_NEEDED
    elif work.operations or work.local:
        result.operations = tuple(work.operations)
        result.actions = tuple(work.local)
        result.live = APPLIED
    else:
        result.live = UNCHANGED     # only what nothing on the running network reads


def _kinds(result: UpdateResult, live_before: str | None) -> tuple[str, ...]:
    """The plan actions the live side gets: a restart, the plan of the whole change (libvirt's
    calls and netupdate's own), or nothing (unchanged, or a restart left pending)."""
    if result.live == RESTARTED:
        return ("network-restart",)
    if result.live == APPLIED and live_before is not None:
        return plan_defs(live_before, result.live_xml).kinds
    return ()


def check_restart(conn, net, persistent: bool, config_before, config_after,
                  live_after, do_config: bool) -> None:
    """A restart of a persistent network starts its persistent config: refuse when that
    is not the requested live definition."""
    if not persistent:
        return
    config = config_after if do_config and config_after is not None else config_before
    if config is None:
        config = conn._persistent_xml(net)[0]
    rest = diff_defs(config, live_after)
    if rest:
        raise StateError(
            f"a restart starts the persistent config, which differs from the requested live "
            f"definition ({'; '.join(c.describe() for c in rest)}): change the persistent "
            f"config too (--config) or leave out --restart")


def restart_network(conn, net, name: str, persistent: bool, config_xml: str | None,
                    live_xml: str) -> None:
    """Destroy and start the network again, on its new definition."""
    lv = libvirt()
    conn._call(f"cannot stop network {name!r}", net.destroy)
    try:
        if persistent:
            xml = config_xml or conn._persistent.get(name)
            if xml is not None:
                # libvirt makes the persistent config current at destroy; the test driver
                # does not, so define it again while the network is inactive
                conn._conn.networkDefineXML(xml)
            net = conn._conn.networkLookupByName(name)
            net.create()
            if xml is not None and conn._inactive_unsupported(net):
                conn._persistent[name] = xml   # running the persistent config now
            else:
                conn._persistent.pop(name, None)
        else:
            conn._conn.networkCreateXML(live_xml)
    except lv.libvirtError as exc:
        raise error(exc, f"network {name!r} was stopped for the restart but did not start "
                         f"again; it is DOWN") from None


def apply_live(conn, net, name: str, work: LiveWork, result: UpdateResult,
               notes: list[str]) -> None:
    """The live side of ``work`` without a restart: libvirt's calls, then netlink."""
    lv = libvirt()
    done: list[Operation] = []
    for op in work.operations:
        try:
            net.update(COMMAND_CODES[op.command], SECTION_CODES[op.section],
                       op.parent_index, op.xml, AFFECT_LIVE)
        except lv.libvirtError as exc:
            made = "; ".join(o.describe() for o in done) or "none"
            raise error(exc, f"network {name!r}: persistent config "
                             f"{'updated' if result.config == CHANGED else 'unchanged'}, "
                             f"live update failed at '{op.describe()}' (done before: "
                             f"{made})", update=True) from None
        done.append(op)
    if work.local:
        live_defs = defs_of(result.live_xml)
        bridge = bridge_of(defs_of(work.mid_xml))
        stp = live_defs.bridge.stp if live_defs.bridge is not None else None
        delay = live_defs.bridge.delay if live_defs.bridge is not None else None
        kinds = {a.kind for a in work.local}
        try:
            BridgeTuner(conn.netns).tune(
                bridge,
                stp=(stp is not False) if "bridge-stp" in kinds else None,
                delay=(delay or 0) if "bridge-delay" in kinds else None,
                stp_after=(stp is not False))
        except NetupdateError as exc:
            raise RuntimeFailure(
                f"network {name!r}: persistent config "
                f"{'updated' if result.config == CHANGED else 'unchanged'}, but the bridge "
                f"{bridge} could not be changed: {exc.message}; restart the network to "
                f"apply the change") from None
        notes.append(f"netupdate changed bridge {bridge} through netlink ("
                     + ", ".join(a.detail_text() or a.kind for a in work.local)
                     + "); libvirt's live XML keeps showing the old value until the network "
                       "restarts, which then applies the same value")
    if work.operations:
        notes.extend(conn._check_after(net, True, work.mid_xml))


def shows_persistent(conn, net) -> bool:
    """Whether the driver shows the persistent config of ``net`` (else it is remembered)."""
    if not net.isActive():
        return True
    return not conn._inactive_unsupported(net)


def affect(name: str, active: bool, persistent: bool, live: bool | None,
            config: bool | None) -> tuple[bool, bool]:
    """Resolve the live/config request (libvirt's AFFECT flags) against the network's state.

    Default: both for a running persistent network, the config for an inactive one, the live
    state for a transient one.  An explicit request that cannot be met is an error, as in
    libvirt."""
    if live is None and config is None:
        return active, persistent
    do_live, do_config = bool(live), bool(config)
    if live is None:
        do_live = False
    if config is None:
        do_config = False
    if do_live and not active:
        raise StateError(f"network {name!r} is not running: its live state cannot be updated "
                         f"(update the persistent config, or start the network)")
    if do_config and not persistent:
        raise StateError(f"network {name!r} is transient: it has no persistent config")
    if not (do_live or do_config):
        raise InvalidOperationError("nothing to update: neither the live state nor the "
                                    "persistent config was selected")
    return do_live, do_config


def no_live(active: bool) -> str:
    return NOT_REQUESTED if active else NOT_RUNNING


def no_config(persistent: bool) -> str:
    return NOT_REQUESTED if persistent else TRANSIENT
