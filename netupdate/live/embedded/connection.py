"""The embedded runtime's ``Backend`` (``netupdate.connect()`` without a URI, live/backend.py).

Networks are defined in a state store and run by netupdate itself (bridge through netlink, one
dnsmasq per network, one nftables table), in the host or in a named network namespace.

An update of a running network changes both its live state and its persistent config by default
(virsh's default, the current state only, lost changes at restart).  The live side runs the
plan's actions in order, then verifies the live state; if anything fails, the live state and the
config are put back as they were and the error names the failed check.

A ``Connection`` caches parsed definitions (keyed by file identity), so repeated updates of a big
network do not re-read it from disk.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from typing import Any

from netupdate.errors import (
    InvalidOperationError,
    NetupdateError,
    RuntimeFailure,
    StateError,
)
from netupdate.live.backend import (
    Backend,
    batch_edit,
    check_policy,
    load_policy,
    read_fragment,
    refuse_invalid,
    skeleton,
)
from netupdate.live.embedded import world

# live / config outcome words and the result types: one set for both backends (results.py)
from netupdate.live.results import (
    APPLIED,
    CHANGED,
    NOT_REQUESTED,
    NOT_RUNNING,
    REPAIRED,
    RESTARTED,
    STARTED,
    STOPPED,
    UNCHANGED,
    DiffResult,
    NetworkInfo,
    NetworkStatus,
    UpdateResult,
)
from netupdate.sections.dns import served_by
from netupdate.store import PendingWrites, Store, atomic_write_many, check_name

ROLLBACK_FAILED = "rollback-failed"  # an outcome: a rollback was tried, the change stays open
ROLLBACK_VERIFY_TIMEOUT = 15.0   # seconds a rollback waits for the restored dnsmasq to answer


class _Doc:
    """A parsed definition, the bytes it was read from and the identity of the file.

    ``defs`` are the typed definitions of ``data`` (computed when first needed: reading 1,000
    hosts costs tens of milliseconds, and a host update does not need them)."""

    __slots__ = ("stamp", "data", "network", "_defs")

    def __init__(self, stamp, data: bytes, network, defs=None):
        self.stamp, self.data, self.network, self._defs = stamp, data, network, defs

    @property
    def defs(self):
        if self._defs is None:
            from netupdate.model.defs import load
            self._defs = load(self.data).defs
        return self._defs


def _stamp(path) -> tuple | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size, st.st_ctime_ns)


class Connection(Backend):
    """The embedded runtime's verbs: ``define``, ``start``, ``update``, ``stop`` (``destroy``),
    ``undefine``, ``list``, ``dumpxml``, ``status``."""

    uri = "netupdate:///embedded"
    backend_name, world_module = "embedded", "netupdate.live.embedded.world"  # issue 16 verbs

    def __init__(self, *, state_dir: str | os.PathLike | None = None, netns: str | None = None,
                 policy=None):
        self.store = Store(state_dir)
        self.netns = netns
        self.policy = load_policy(policy)
        self._driver = None
        self._docs: dict[str, _Doc] = {}

    # ------------------------------------------------------------------ plumbing
    def close(self) -> None:
        if self._driver is not None:
            self._driver.close()
        self._docs.clear()

    def __repr__(self) -> str:
        return f"<netupdate.Connection config={self.store.config_dir} run={self.store.run_dir}>"

    @property
    def driver(self):
        if self._driver is None:
            from netupdate.live.embedded.runtime.driver import Driver
            self._driver = Driver(self.store)
        return self._driver

    def _load(self, path, *, like: _Doc | None = None):
        """The parsed document at ``path`` (cached while the file is unchanged).  With ``like``,
        a file with the same bytes shares ``like``'s parsed document instead of parsing again."""
        from netupdate.model.defs import load
        key = os.fspath(path)
        stamp = _stamp(path)
        if stamp is None:
            self._docs.pop(key, None)
            return None
        doc = self._docs.get(key)
        if doc is not None and doc.stamp == stamp:
            return doc
        with open(path, "rb") as handle:
            data = handle.read()
        if like is not None and like.data == data:
            doc = _Doc(stamp, data, like.network, like._defs)
        else:
            doc = _Doc(stamp, data, load(data, filename=key, check=False))
        self._docs[key] = doc
        return doc

    def _forget(self, *paths) -> None:
        for path in paths:
            self._docs.pop(os.fspath(path), None)

    def _remember(self, path, data: bytes, network, defs=None) -> None:
        stamp = _stamp(path)
        if stamp is not None:
            self._docs[os.fspath(path)] = _Doc(stamp, data, network, defs)

    def _defs(self, path):
        doc = self._load(path)
        return doc.defs if doc is not None else None

    # ------------------------------------------------------------------ definitions
    def define(self, xml: str | bytes | os.PathLike, *, force: bool = False) -> str:
        """Store a persistent definition (new, or replacing the persistent one; a running
        network keeps running its live definition).  Returns the network's name.  What it
        leaves out of the network's identity is kept from the current definition, else made as
        libvirt makes it (a uuid; a free ``virbrN`` for a bridge netupdate manages: identity.py).
        """
        from netupdate.live import identity
        from netupdate.model.defs import load
        network = load(xml)
        name = network.defs.name
        if not name:
            raise NetupdateError("the definition has no <name>")
        check_name(name)
        with self.store.lock(name):
            self._finish_interrupted(name)
            record = self.store.read_record(name)
            if record is not None and network.defs.uuid and record.get("uuid") and \
                    str(network.defs.uuid) != record["uuid"]:
                raise StateError(f"network '{name}' is running with uuid {record['uuid']}")
            check_policy(self.policy, self.store.read_config(name) or skeleton(name), network,
                         None)
            current = self._load(self.store.config_path(name)) or \
                self._load(self.store.live_path(name))
            identity.keep(network, current, [], mac=False)
            identity.generate(network, lambda: self._bridges_in_use(name))
            world.preflight_define(self, name, network.defs, force)
            self.store.write_config(name, network.to_bytes())
            self._forget(self.store.config_path(name))
        return name

    def _bridges_in_use(self, name: str) -> set[str]:
        """The bridge names of the store's other networks and the interfaces of this
        namespace (libvirt's ``networkFindUnusedBridgeName`` skips both)."""
        import socket

        from netupdate.live.identity import bridge_names
        others = [n for n in self.store.names() if n != name]
        taken = bridge_names(self._defs(path) for n in others for path in
                             (self.store.config_path(n), self.store.live_path(n)))
        return taken | {iface for _index, iface in socket.if_nameindex()}

    def undefine(self, name: str) -> list[str]:
        """Remove the persistent definition (a running network goes on as a transient one);
        returns notes (the record of a network whose namespace is gone is cleared)."""
        from netupdate.live.embedded.runtime import vanished
        with self.store.lock(name):
            notes = self._finish_interrupted(name) + vanished.clear(self, name)
            if not self.store.delete_config(name) and not notes:
                raise StateError(f"network '{name}' is not defined")
            self._forget(self.store.config_path(name))
            return notes

    def dumpxml(self, name: str, inactive: bool = False) -> str:
        """The live definition of a running network (``inactive``: the persistent one)."""
        check_name(name)
        text = None
        if not inactive:
            text = self.store.read_live(name)
        if text is None:
            text = self.store.read_config(name)
        if text is None:
            raise StateError(f"network '{name}' is not defined")
        return text

    def list(self) -> list[NetworkInfo]:
        from netupdate.live.embedded.runtime import vanished
        out = []
        for name in self.store.names():
            record = self.store.read_record(name)
            out.append(NetworkInfo(name, active=record is not None,
                                   persistent=self.store.config_path(name).exists(),
                                   autostart=self.store.autostart(name),
                                   bridge=(record or {}).get("bridge", {}).get("name"),
                                   uuid=(record or {}).get("uuid") or self._uuid(name),
                                   netns=(record or {}).get("netns"),
                                   vanished=vanished.gone(record)))
        return out

    def _uuid(self, name: str) -> str | None:
        """The uuid of the persistent definition (read without its typed definitions),
        spelled as libvirt spells it."""
        import uuid
        doc = self._load(self.store.config_path(name))
        text = doc.network.root.findtext("uuid") if doc is not None else None
        try:
            return str(uuid.UUID(text.strip())) if text else None
        except ValueError:
            return None

    # ------------------------------------------------------------------ lifecycle
    def start(self, name: str, *, netns: str | None = None, force: bool = False) -> None:
        """Start a defined network (in ``netns``, else the connection's namespace).  A running
        network whose dnsmasq, bridge or firewall vanished is repaired; a healthy one is an
        error."""
        check_name(name)
        with self.store.lock(name):
            undone = self._finish_interrupted(name)
            record = self.store.read_record(name)
            if record is not None:
                if not self._repair_running(name, record) and not undone:
                    raise StateError(f"network '{name}' is already running")
                return
            config = self._load(self.store.config_path(name))
            if config is None:
                raise StateError(f"network '{name}' is not defined")
            netns = netns if netns is not None else self.netns
            world.preflight_start(self, name, config.defs, netns, force)
            self._start_with(name, config.defs, config.data, netns, [])
            self._remember(self.store.live_path(name), config.data, config.network.copy(),
                           config.defs)

    def _repair_running(self, name: str, record: dict) -> list[str]:
        from netupdate.live.embedded.runtime import converge
        problems = converge.repair_running(self, name, record)
        self._forget(self.store.live_path(name))
        return problems

    def stop(self, name: str) -> list[str]:
        """Tear down everything the runtime record lists (not what the config says).  Best
        effort: every step runs; what could not be undone raises ``RuntimeFailure`` (and stays
        in the record for another try)."""
        check_name(name)
        with self.store.lock(name):
            try:
                self._finish_interrupted(name)
            except RuntimeFailure:  # stopping anyway: the definitions were put back first
                from netupdate.live.txn import drop_journal
                drop_journal(self.store, name)
            record = self.store.read_record(name)
            if record is None:
                raise StateError(f"network '{name}' is not running")
            self._stop_locked(name, record)
            return []

    def status(self, name: str) -> NetworkStatus:
        """The network (``list``'s entry), what is broken in its live state (``problems``:
        what ``start`` or ``recover`` repairs) and the drift between its live definition and
        persistent config."""
        from netupdate.live import txn
        check_name(name)
        record = self.store.read_record(name)
        persistent = self.store.config_path(name).exists()
        if record is None and not persistent:
            raise StateError(f"network '{name}' is not defined")
        problems: list[str] = []
        journal = txn.read_journal(self.store, name)
        if journal is not None:
            problems.append(f"an interrupted {journal.get('op')} (pid {journal.get('pid')}) "
                            "left the network half-changed: run 'netupdate recover'")
        config = self._defs(self.store.config_path(name))
        info = dict(name=name, active=record is not None, persistent=persistent,
                    autostart=self.store.autostart(name), uri=self.uri,
                    uuid=self._uuid(name))
        if record is None:
            return NetworkStatus(**info, problems=tuple(problems))
        from netupdate.live.embedded.runtime import vanished
        if vanished.gone(record):
            return NetworkStatus(**info, netns=record.get("netns"), vanished=True,
                                 problems=(*problems, vanished.status_problem(record)))
        live = self._defs(self.store.live_path(name))
        if live is None:
            problems.append("the live definition is missing (a start did not finish): run "
                            f"'netupdate start {name}' or 'netupdate recover'")
        defs = live or config
        seen = self.driver.inspect(record, defs)
        if defs is not None:  # everything recover and start would repair
            seen["problems"] = txn.live_problems(self, name, record, defs)
        drift: tuple[str, ...] = ()
        if config is not None and live is not None and config != live:
            from netupdate.planning.differ import diff
            drift = tuple(change.describe() for change in diff(live, config))
        info.update(uuid=record.get("uuid") or info["uuid"],
                    bridge=record.get("bridge", {}).get("name"))
        return NetworkStatus(**info, netns=seen["netns"], drift=drift,
                             problems=tuple(problems + seen["problems"]),
                             bridge_state=seen["bridge"], dnsmasq=seen["dnsmasq"],
                             firewall=seen["firewall"], notes=tuple(seen.get("notes", ())))

    def diff(self, name: str, other_xml: str | None = None) -> DiffResult:
        """The changes from the persistent config (the live definition of a transient network)
        to ``other_xml``, with the live plan when the network runs; without ``other_xml``, the
        drift between the live definition and the persistent config."""
        from netupdate.planning.differ import ChangeSet, diff
        from netupdate.planning.planner import plan
        check_name(name)
        live = self._load(self.store.live_path(name))
        config = self._load(self.store.config_path(name))
        if live is None and config is None:
            raise StateError(f"network '{name}' is not defined")
        if other_xml is None:
            if live is None or config is None:
                return DiffResult(name, "live", ChangeSet(), notes=(
                    "the network is not running" if live is None else "the network is transient",))
            steps = plan(live.defs, config.defs)
            return DiffResult(name, "live", diff(live.defs, config.defs), plan=steps,
                              restart_needed="network-restart" in steps.kinds,
                              impact=world.plan_effects(self, name, steps, config.defs))
        other = _desired(other_xml)[1]
        self._keep_identity(name, other)
        base, what = (config, "config") if config is not None else (live, "live")
        steps = plan(live.defs, other.defs) if live is not None else None
        return DiffResult(name, what, diff(base.defs, other.defs), plan=steps,
                          restart_needed=steps is not None and "network-restart" in steps.kinds,
                          impact=world.plan_effects(self, name, steps, other.defs))

    # ------------------------------------------------------------------ update
    def update(self, name: str, command, section=None, xml: str | None = None, *,
               parent_index: int = -1, node_spec: str | None = None, live: bool | None = None,
               config: bool | None = None, restart: bool = False, dry_run: bool = False,
               release_conflicting: bool = False) -> UpdateResult:
        """Edit network ``name`` (libvirt's section form, or ``node_spec``).

        Defaults: a running network gets ``live`` and ``config``; an inactive one its config;
        a transient one its live state.  Live changes run the plan, verify, and roll back both
        sides on any failure (``RuntimeFailure`` names the failed step or check).  The embedded
        runtime restarts what the plan needs by itself: ``restart`` changes nothing here.
        Guests and leases it concerns: ``world.preflight`` (``release_conflicting``).
        """
        started = time.perf_counter()
        check_name(name)
        xml = read_fragment(xml)
        from netupdate.live import txn
        from netupdate.planning import planner
        with self.store.lock(name), txn.Interrupts():
            notes = self._finish_interrupted(name) if not dry_run else []
            record = self.store.read_record(name)
            config_path, live_path = self.store.config_path(name), self.store.live_path(name)
            live, config = _sides(name, record is not None, config_path.exists(), live, config)
            result = UpdateResult(name, *_spelled(command, section), dry_run=dry_run,
                                  notes=tuple(notes), uri=self.uri,
                                  live=NOT_REQUESTED if record is not None else NOT_RUNNING)
            if live:
                _vanished().live_preflight("a live update", name, record)
            docs = self._edit_targets(name, live, config)
            try:
                result.change = change = self._edit_docs(docs, result.command, section, xml,
                                                         parent_index, node_spec)
                result.plan = planner.plan_change(change)
                leases = world.preflight_edit(self, name, record if live else None,
                                              docs.get("live"), result, release_conflicting)
            except BaseException:
                self._forget(live_path, config_path)  # the cached trees may be half edited
                raise
            if dry_run or not result.plan.changes:
                self._forget(live_path, config_path)
                return _not_written(result, live, config, started, leases)
            try:
                if live:
                    with txn.journaled(self.store, name, "update", live=docs["live"].data,
                                       config=docs["config"].data if "config" in docs else
                                       txn.read_bytes(config_path), record=record,
                                       sides=tuple(docs), kinds=result.plan.kinds,
                                       live_stamp=docs["live"].stamp):
                        self._update_live(name, record, docs, result)
                    result.notes += world.after(self, name, leases, result)
                else:
                    data = docs["config"].network.to_bytes(tracked=True)
                    atomic_write_many([(config_path, data)], mode=0o600)
                    self._remember(config_path, data, docs["config"].network)
                    result.config = CHANGED
            except BaseException:
                self._forget(live_path, config_path)
                raise
        self._after_change(name, result)
        result.seconds = time.perf_counter() - started
        return result

    def _edit_docs(self, docs: dict[str, _Doc], command: str, section, xml, parent_index: int,
                   node_spec: str | None):
        """Edit the documents of an update in place, then check the connection's policy;
        returns the engine's Change."""
        from netupdate.edit import engine as edit
        changes = {}
        for side, doc in docs.items():
            if side == "config" and "live" in docs and doc.network is docs["live"].network:
                changes[side] = changes["live"]  # same text: one edit serves both
                continue
            changes[side] = edit.apply_update(doc.network, command, section, xml,
                                              parent_index=parent_index, node_spec=node_spec)
        side = "live" if "live" in docs else "config"
        check_policy(self.policy, docs[side].data, docs[side].network, command)
        return changes.get("live") or changes.get("config")

    def _edit_targets(self, name: str, live: bool, config: bool) -> dict[str, _Doc]:
        """The documents an update edits.  When the live and persistent definitions have the same
        bytes (the usual case), both sides share one parsed document, edited once: libvirt
        applies the edit to each copy, and identical copies give identical results."""
        paths = {"live": self.store.live_path(name), "config": self.store.config_path(name)}
        docs = {}
        for side in ("live", "config"):
            if (side == "live" and live) or (side == "config" and config):
                doc = self._load(paths[side], like=docs.get("live"))
                if doc is None:
                    raise StateError(f"network '{name}': {paths[side]} is missing")
                docs[side] = doc
        if len(docs) == 2:
            a, b = docs["live"], docs["config"]
            if a.network is not b.network and a.data == b.data:
                docs["config"] = self._docs[os.fspath(paths["config"])] = _Doc(
                    b.stamp, b.data, a.network, a._defs)
        else:
            # one side only: the other side must not share the tree about to be edited
            (side, doc), = docs.items()
            other = paths["config" if side == "live" else "live"]
            cached = self._docs.get(os.fspath(other))
            if cached is not None and cached.network is doc.network:
                self._forget(other)
        return docs

    def _update_live(self, name: str, record: dict, docs: dict, result) -> None:
        from netupdate.live.embedded.runtime.driver import VerifyError
        driver = self.driver
        live_doc, config_doc = docs["live"], docs.get("config")
        actions = tuple(result.plan.actions)
        kinds = [a.kind for a in actions]
        change = result.change
        sections = {getattr(change, "section", None)} - {None}
        repaired = self._repair_if_needed(name, record, live_doc)
        if repaired:
            result.notes += ("repaired before the update: " + "; ".join(repaired),)
        server, dns_on = served_by(live_doc.network.root)
        live_path, config_path = self.store.live_path(name), self.store.config_path(name)
        same = config_doc is not None and config_doc.network is live_doc.network
        netns = record.get("netns")
        writes: list = []

        def persist():
            """Serialize the edited definitions and write them (temp + fsync) in the
            background."""
            live_bytes = live_doc.network.to_bytes(tracked=True)
            writes.append((live_path, live_bytes))
            if config_doc is not None:
                writes.append((config_path, live_bytes if same
                               else config_doc.network.to_bytes(tracked=True)))
            return PendingWrites(writes, 0o600)

        # The fast path: one DHCP or DNS host, applied from the Change alone.
        fast = driver.host_change_applies(record, change, kinds)
        before = after = None
        pending = None
        step = "apply"
        try:
            # the edited definitions are serialized (a fraction of a millisecond with the edit
            # marks) and go to disk while the change is applied and verified
            pending = persist()
            applied = driver.apply_host_change(name, record, change, kinds) if fast else None
            if applied is not None:
                # the host file is in place: the definitions are renamed into place as soon
                # as they are on disk, while dnsmasq picks the host up and answers (a failed
                # check puts the old bytes back, and so does 'recover' from the journal if
                # this process dies)
                pending.commit_soon()
                step = "verify"
                result.checks = tuple(driver.verify_host_change(record, applied, server,
                                                                dns_on))
                record_changed = False
            else:
                before, after = live_doc.defs, live_doc.network.defs
                record, record_changed = driver.apply(name, record, before, after, actions)
                step = "verify"
                result.checks = tuple(driver.verify(name, record, after, before=before,
                                                    kinds=kinds, sections=sections))
            from netupdate.live.txn import checkpoint
            checkpoint()  # Ctrl-C: still time to put everything back
            step = "save"
            if record_changed:
                self.store.write_record(name, record)
            pending.commit()
        except BaseException as exc:
            failure = exc
            from netupdate.live.txn import RollbackFailed, mark_restored
            try:
                if pending is not None and pending.abort():
                    # already in place: the definitions as they were before the update
                    atomic_write_many([(path, live_doc.data if path == live_path
                                        else config_doc.data) for path, _ in writes],
                                      mode=0o600)
                self._rollback(name, before if before is not None else live_doc.defs, kinds,
                               record, netns=netns)
            except BaseException as undo:  # noqa: BLE001 - reported with the original failure
                raise RollbackFailed(f"live update failed at {step}: {failure}; ROLLBACK "
                                     f"FAILED too: {undo}; run 'netupdate recover' to "
                                     "repair") from exc
            if isinstance(exc, VerifyError):
                raise mark_restored(RuntimeFailure(
                    f"live update rolled back: {exc} (check '{exc.check}')")) from exc
            if isinstance(exc, NetupdateError | OSError):
                raise mark_restored(RuntimeFailure(
                    f"live update rolled back: {step} failed: {exc}")) from exc
            mark_restored(exc)
            raise
        for path, data in writes:
            if path == live_path:
                self._remember(path, data, live_doc.network, after)
            elif path == config_path:
                self._remember(path, data, config_doc.network, after if same else None)
        result.actions = actions
        result.live = RESTARTED if "network-restart" in kinds else APPLIED
        result.config = CHANGED if config_doc is not None else NOT_REQUESTED

    def _repair_if_needed(self, name: str, record: dict, doc: _Doc) -> list[str]:
        """Cheap checks before a live update (dnsmasq process, bridge present); repair when
        something vanished behind our back."""
        from netupdate.live.embedded.runtime import dnsmasqd, netns, vanished
        problems = []
        vanished.refuse(name, record)
        dq = record.get("dnsmasq")
        if dq and not dnsmasqd.alive(dq.get("pid"), dq.get("conf")):
            problems.append(f"dnsmasq (pid {dq.get('pid')}) was not running")
        if record["bridge"]["created"] and netns.link_index(record.get("netns"),
                                                            record["bridge"]["name"]) is None:
            problems.append(f"bridge {record['bridge']['name']} was missing")
        if problems:
            self.driver.reconcile(name, record, doc.defs)
        return problems

    def _rollback(self, name: str, before, kinds, record: dict | None, *,
                  netns: str | None | bool = False) -> dict:
        """Put the live state back to ``before`` (the caller sees to the persistent files).
        ``record`` is the in-memory record the failed steps updated (it knows a dnsmasq they
        started); after a network restart the store's record is the current one.  ``netns`` is
        where the network ran before (a restart that failed midway may have left no record)."""
        from netupdate.live.txn import kill_strays
        driver = self.driver
        if netns is False:
            netns = (record or {}).get("netns", self.netns)
        if "network-restart" in kinds:
            record = self.store.read_record(name)
        kill_strays(self, name, record)
        if record is None or "network-restart" in kinds:
            if record is not None:
                self._teardown(name, record)   # what stays is kept in the record for 'stop'
                self.store.delete_record(name)
            record = driver.start(name, before, netns=netns)
        else:
            record = driver.reconcile(name, record, before)
            from netupdate.live.embedded.runtime.converge import default_mtu
            default_mtu(driver, record, before, kinds)
        driver.verify(name, record, before, before=None, kinds=("network-restart",),
                      sections=(), timeout=ROLLBACK_VERIFY_TIMEOUT, settle=0.3)  # verify.verify
        return record

    # ------------------------------------------------------------------ safe change
    def _finish_interrupted(self, name: str) -> list[str]:
        """Under the network's lock: an operation journal left behind means its process died
        (or failed to put things back): restore what the journal says first."""
        from netupdate.live import txn
        journal = txn.read_journal(self.store, name)
        if journal is None:
            return []
        txn.defer_interrupts()  # putting things back is not to be cut short
        try:
            what = self._restore_journal(name, journal)
        except Exception as exc:
            raise RuntimeFailure(f"network '{name}': an interrupted {journal.get('op')} could "
                                 f"not be undone: {exc}; run 'netupdate recover'") from exc
        return [f"first {what}"]

    def _restore_journal(self, name: str, journal: dict) -> str:
        """Put network ``name`` back as the journal says it was before its operation: the
        definitions byte for byte, the live state converged to the live definition."""
        from netupdate.live import txn
        from netupdate.live.embedded.runtime import driver as D
        from netupdate.live.embedded.runtime import vanished
        from netupdate.model.defs import load
        store = self.store
        config_path, live_path = store.config_path(name), store.live_path(name)
        what = f"undid an interrupted {journal.get('op')} (pid {journal.get('pid')})"
        before_config = journal.get("config")
        current = txn.read_bytes(config_path)
        if before_config is not None and current != before_config:
            store.write_config(name, before_config)
        elif before_config is None and current is not None:
            txn.remove(config_path)
        self._forget(config_path)
        record = store.read_record(name)
        before_live, before_record = journal.get("live"), journal.get("record")
        if journal.get("boot_id") == txn.boot_id():
            txn.kill_strays(self, name, record)
            gone = vanished.gone(before_record)
            if before_record is None or before_live is None or gone:
                if record is not None:
                    self._teardown(name, record)
                    store.delete_record(name)
                store.delete_live(name)
                what += "; " + vanished.note(name, before_record) if gone else ""
            else:
                defs = load(before_live).defs
                netns = before_record.get("netns")
                restart = (record is None or "network-restart" in journal.get("kinds", ())
                           or record.get("netns") != netns
                           or record["bridge"]["name"] != D.bridge_name(defs))
                from netupdate.live.embedded.runtime import converge
                if restart:
                    converge.restart(store, self.driver, name, record, defs, netns)
                else:
                    converge.converge(store, self.driver, name, record, defs,
                                      journal.get("kinds", ()))
                if txn.read_bytes(live_path) != before_live:
                    store.write_live(name, before_live)
        self._forget(config_path, live_path)
        txn.drop_journal(store, name)
        return what

    def _after_change(self, name: str, result) -> None:
        """After an update inside an open change with a check: probe it; when it fails, roll
        the whole change back at once."""
        from netupdate.live import txn
        if result.dry_run:
            return
        try:
            snap = txn.read_snapshot(self.store, name)
        except StateError:
            return
        if snap is None or snap.check is None:
            return
        record = self.store.read_record(name)
        netns = record.get("netns") if record else self.netns
        ok, detail = txn.probe(snap.check, netns)
        if ok:
            result.checks += (f"check {snap.check.describe()}",)
            return
        undone = self.change_rollback(name, token=snap.token,
                                      reason=f"check {snap.check.describe()} failed: {detail}")
        raise txn.mark_restored(RuntimeFailure(
            f"check {snap.check.describe()} failed after the change ({detail}): the change on "
            f"network '{name}' started at {txn.now_iso(snap.created)} was rolled back "
            f"({undone.summary()})"))

    def _transition(self, name: str, record: dict, before, after, plan, writes, *,
                    converge: bool = False, progress=None) -> tuple[dict, tuple[str, ...]]:
        """Take the running network from ``before`` to ``after``: the plan's actions (or, with
        ``converge``, a reconcile of whatever runs to ``after``), verification, then ``writes``
        (definition files, each atomic, in order).  Any failure, or Ctrl-C before the writes,
        puts the live state back to ``before`` and raises (marked restored)."""
        from netupdate.live.embedded.runtime.driver import VerifyError
        from netupdate.live.txn import RollbackFailed, checkpoint, mark_restored
        driver = self.driver
        actions = tuple(plan.actions) if plan is not None else ()
        kinds = tuple(a.kind for a in actions)
        sections = {c.section for c in plan.changes} if plan is not None else set()
        netns = record.get("netns")
        step = "apply"
        try:
            checkpoint()
            _emit(progress, "step", step="apply", actions=list(kinds),
                  mode="converge" if converge else "plan")
            if converge:
                record = driver.reconcile(name, record, after)
                verify_kinds: tuple = ("network-restart",)
            else:
                record, changed = driver.apply(name, record, before, after, actions)
                if changed:
                    self.store.write_record(name, record)
                verify_kinds = kinds
            checkpoint()    # a signal during the change: roll back now, not after verifying
            step = "verify"
            _emit(progress, "step", step="verify")
            checks = tuple(driver.verify(name, record, after, before=before, kinds=verify_kinds,
                                         sections=sections))
            checkpoint()
            step = "save"
            _emit(progress, "step", step="save")
            if writes:
                for path, _data in writes:
                    self.store.ensure_dir(path.parent)
                atomic_write_many(writes, mode=0o600)
        except BaseException as exc:
            _emit(progress, "rollback", step=step, error=str(exc) or exc.__class__.__name__)
            undo_kinds = tuple(k for k in kinds if k != "network-restart") if converge else kinds
            try:
                self._rollback(name, before, undo_kinds, record, netns=netns)
            except BaseException as undo:  # noqa: BLE001 - reported with the original failure
                raise RollbackFailed(f"live change failed at {step}: {exc}; ROLLBACK FAILED "
                                     f"too: {undo}; run 'netupdate recover'") from exc
            if isinstance(exc, VerifyError):
                raise mark_restored(RuntimeFailure(
                    f"rolled back: {exc} (check '{exc.check}')")) from exc
            if isinstance(exc, NetupdateError | OSError):
                raise mark_restored(RuntimeFailure(f"rolled back: {step} failed: {exc}")) \
                    from exc
            mark_restored(exc)
            raise
        return record, checks

    def _start_with(self, name: str, defs, data: bytes, netns, writes) -> dict:
        """Start ``name`` from ``defs`` and write its live definition (``data``) and ``writes``;
        undone when anything fails."""
        record = self.driver.start(name, defs, netns=netns)
        try:
            from netupdate.live.txn import checkpoint
            checkpoint()
            items = [(self.store.live_path(name), data), *writes]
            for path, _data in items:
                self.store.ensure_dir(path.parent)
            atomic_write_many(items, mode=0o600)
        except BaseException as exc:
            from netupdate.live.txn import mark_restored
            if self.driver.teardown(record):
                self.store.write_record(name, record)  # what stays, for start/recover/stop
                raise
            self.store.delete_record(name)
            mark_restored(exc)
            raise
        return record

    def _teardown(self, name: str, record: dict, failure: str = "") -> None:
        from netupdate.live.embedded.runtime.converge import teardown
        teardown(self.store, self.driver, name, record, failure)

    def _stop_locked(self, name: str, record: dict) -> None:
        self._teardown(name, record, f"network '{name}' could not be torn down completely: ")
        self.store.delete_live(name)
        self.store.delete_record(name)
        self._forget(self.store.live_path(name))

    # ------------------------------------------------------------------ apply
    def apply(self, name: str, desired_xml, *, live: bool | None = None,
              config: bool | None = None, dry_run: bool = False, restart: bool = False,
              try_seconds: float | None = None, check=None, progress=None,
              validate: bool = True) -> UpdateResult:
        """Make network ``name`` exactly ``desired_xml`` (XML text, bytes or a path).

        The plan is computed against what really runs: the live definition, and when the
        running network drifted from it (a dead dnsmasq, a changed bridge, missing host files)
        everything is converged to the desired definition instead.  Idempotent: when both the
        live state and the persistent definition are already as desired nothing happens and the
        result says so.  Defaults: a running network gets ``live`` and ``config``, any other
        gets its config (which is created when the network is not defined yet); ``live`` on a
        network that is not running starts it.  ``try_seconds`` opens a change that rolls back
        by itself unless committed in time (``change_commit``); with ``check`` (HOST:PORT, or a
        ``txn.Check``) probed right after, a failed probe rolls back at once.
        """
        from netupdate.live import txn
        started = time.perf_counter()
        check_name(name)
        desired_bytes, desired = _desired(desired_xml)
        if desired.name != name:
            raise InvalidOperationError(f"the desired definition is for network "
                                        f"{desired.name!r}, not {name!r}")
        if self._keep_identity(name, desired):
            desired_bytes = desired.to_bytes()
        if validate:
            refuse_invalid(desired_bytes)
        check = txn.as_check(check)
        info = None
        if try_seconds is not None and not dry_run:
            info = self.change_start(name, rollback_after=try_seconds, check=check,
                                     _allow_missing=True)
            _emit(progress, "armed", token=info.token, deadline=info.deadline)
        elif check is not None and not dry_run:
            raise InvalidOperationError("a check needs a try window (--try SECONDS) or an open "
                                        "change (change start --check)")
        try:
            result = self._apply(name, desired_bytes, desired, live=live, config=config,
                                 dry_run=dry_run, progress=progress)
        except BaseException as exc:
            if info is not None:
                with contextlib.suppress(StateError):
                    self.change_rollback(name, token=info.token,
                                         reason=f"apply failed: {exc}" if str(exc) else
                                         "apply interrupted")
            raise
        if info is not None and not result.changed:
            # nothing was changed: no try window for nothing (the change is closed at once)
            self.change_commit(name, token=info.token)
            info = None
            result.notes += ("nothing changed: no try window",)
        result.change_info = info
        self._after_change(name, result)
        result.seconds = time.perf_counter() - started
        return result

    def _keep_identity(self, name: str, desired) -> bool:
        """Give ``desired`` (changed in place) the network's uuid and bridge name where it
        leaves them out (``identity.keep``); a new network's are made as ``define`` makes them.
        True when ``desired`` changed."""
        from netupdate.live import identity
        base = self._load(self.store.config_path(name)) or \
            self._load(self.store.live_path(name))
        if base is None:
            return identity.generate(desired, lambda: self._bridges_in_use(name))
        return identity.keep(desired, base, [], mac=False)   # base.defs: cached, typed

    def _apply(self, name, desired_bytes: bytes, desired, *, live, config, dry_run,
               progress) -> UpdateResult:
        from netupdate.live import txn
        from netupdate.planning.differ import diff
        from netupdate.planning.planner import plan as make_plan
        store = self.store
        config_path, live_path = store.config_path(name), store.live_path(name)
        with store.lock(name), txn.Interrupts(immediate=True):
            notes = [] if dry_run else self._finish_interrupted(name)
            record = store.read_record(name)
            config_bytes = txn.read_bytes(config_path)
            live, config = _apply_sides(record is not None, config_bytes is not None, live,
                                        config)
            if live:
                from netupdate.live.embedded.runtime.vanished import live_preflight
                live_preflight("a live apply", name, record)
            result = UpdateResult(name, "apply", None, dry_run=dry_run,
                                  live=UNCHANGED if live else NOT_REQUESTED,
                                  config=UNCHANGED if config else NOT_REQUESTED)
            _emit(progress, "start", op="apply", network=name)
            config_write = config and config_bytes != desired_bytes
            if config and config_bytes is not None:
                result.changes = diff(self._load(config_path).defs, desired.defs)
            live_doc, plan, leases = None, None, world.Preflight()
            converge = start = live_write = False
            if live and record is not None:
                live_doc = self._load(live_path, like=self._load(config_path))  # same bytes:
                if live_doc is None:                                # parsed once
                    raise StateError(f"network '{name}': {live_path} is missing")
                drift = txn.live_problems(self, name, record, live_doc.defs)
                plan = make_plan(live_doc.defs, desired.defs)
                leases = world.preflight(self, name, record, lambda: (live_doc.defs,
                                         desired.defs), plan, dry_run=dry_run)
                result.changes = plan.changes
                if drift:
                    converge = "network-restart" not in plan.kinds  # a restart rebuilds it all
                    notes.append("the running network had drifted from its definition ("
                                 + "; ".join(drift) + "): "
                                 + ("converged to the desired definition" if converge else
                                    "restarted with the desired definition"))
                live_write = live_doc.data != desired_bytes
            elif live:
                start = True
            work = converge or start or (plan is not None and bool(plan.changes))
            base = live_doc.data if live_doc is not None else config_bytes
            check_policy(self.policy, base or skeleton(name), desired_bytes, None)
            if not (config_write or live_write or work):
                result.notes = tuple(notes)
                _emit(progress, "plan", actions=[])
                return result
            actions = tuple(plan.actions) if plan is not None else ()
            _emit(progress, "plan", actions=[a.kind for a in actions])
            if dry_run:
                result.actions = actions
                if config_write:
                    result.config = CHANGED
                if live and (work or live_write):
                    result.live = STARTED if start else (RESTARTED if "network-restart" in
                                                         plan.kinds else APPLIED)
                result.notes = tuple(notes) + world.dry(result, leases)
                return result
            writes = []
            if live and (live_write or start):
                writes.append((live_path, desired_bytes))
            writes += [(config_path, desired_bytes)] if config_write else []
            self.driver.prepare(desired.defs, plan, start=start)
            try:
                if start:
                    with txn.journaled(store, name, "apply", live=None, config=config_bytes,
                                       record=None, sides=("live", "config")):
                        netns = self.netns
                        self._start_with(name, desired.defs, desired_bytes, netns,
                                         writes[1:] if config_write else [])
                    result.live = STARTED
                elif work:
                    with txn.journaled(store, name, "apply", live=live_doc.data,
                                       config=config_bytes, record=record,
                                       sides=("live", "config"),
                                       kinds=plan.kinds + ("reconcile",) if converge
                                       else plan.kinds):
                        record, checks = self._transition(name, record, live_doc.defs,
                                                          desired.defs, plan, writes,
                                                          converge=converge,
                                                          progress=progress)
                    result.checks = checks
                    result.actions = actions
                    result.live = REPAIRED if converge else (
                        RESTARTED if "network-restart" in plan.kinds else APPLIED)
                    notes += world.after(self, name, leases, result)
                else:
                    txn.defer_interrupts()
                    for path, _data in writes:
                        self.store.ensure_dir(path.parent)
                    atomic_write_many(writes, mode=0o600)
            finally:
                self._forget(config_path, live_path)
            if config_write:
                result.config = CHANGED
            if live_write and result.live == UNCHANGED:
                notes.append("the live definition's text was refreshed (no live change needed)")
            result.notes = tuple(notes)
            return result

    # ------------------------------------------------------------------ batches
    def update_batch(self, name: str, updates, *, live: bool | None = None,
                     config: bool | None = None, dry_run: bool = False,
                     restart: bool = False, progress=None) -> UpdateResult:
        """Apply many updates (``txn.BatchUpdate``s, dicts, ``(command, section, xml)`` tuples
        or the text of a batch file) as one transaction: all are made on copies of the
        definitions first (a refused one raises ``BatchError`` naming it, and nothing changes),
        then one plan runs once (at most one dnsmasq reload or restart) and is verified once."""
        from netupdate.live import txn
        from netupdate.planning import planner
        started = time.perf_counter()
        check_name(name)
        items = txn.as_batch(updates)
        if not items:
            raise InvalidOperationError("the batch holds no update")
        store = self.store
        config_path, live_path = store.config_path(name), store.live_path(name)
        with store.lock(name), txn.Interrupts():
            notes = [] if dry_run else self._finish_interrupted(name)
            record = store.read_record(name)
            live, config = _sides(name, record is not None, config_path.exists(), live, config)
            if live:
                from netupdate.live.embedded.runtime.vanished import live_preflight
                live_preflight("a live update", name, record)
            live_doc = self._load(live_path) if live else None
            config_doc = self._load(config_path) if config else None
            if live and live_doc is None:
                raise StateError(f"network '{name}': {live_path} is missing")
            targets = []
            if live_doc is not None:
                targets.append(live_doc.network.copy())
            if config_doc is not None:
                if live_doc is not None and config_doc.data == live_doc.data:
                    targets.append(targets[0])  # same text: one edit serves both
                else:
                    targets.append(config_doc.network.copy())
            unique = list({id(t): t for t in targets}.values())
            total = len(items)
            _emit(progress, "start", op="batch", network=name, total=total)
            last = 0.0
            with txn.untouched():
                for done, item in enumerate(items, 1):
                    for network in unique:
                        batch_edit(network, item)
                    txn.checkpoint()
                    now = time.monotonic()
                    if done == total or now - last >= 0.05:
                        last = now
                        _emit(progress, "progress", phase="edit", done=done, total=total)
            check_policy(self.policy, (live_doc or config_doc).data, targets[0], None)
            result = UpdateResult(name, "batch", None, dry_run=dry_run, count=total, uri=self.uri,
                                  live=NOT_REQUESTED if record is not None else NOT_RUNNING)
            live_net = targets[0] if live_doc is not None else None
            config_net = targets[-1] if config_doc is not None else None
            plan = planner.plan(live_doc.defs, live_net.defs) if live_net is not None else None
            result.plan = plan
            leases = world.preflight(self, name, record if live_net else None,
                                     lambda: (live_doc.defs, live_net.defs), plan, dry_run=dry_run)
            if plan is not None:
                result.changes = plan.changes
                _emit(progress, "plan", actions=list(plan.kinds))
            if dry_run:
                result.actions = tuple(plan.actions) if plan is not None else ()
                result.live = APPLIED if live else result.live
                result.config = CHANGED if config else NOT_REQUESTED
                result.notes = tuple(notes) + world.dry(result, leases)
                result.seconds = time.perf_counter() - started
                return result
            writes = []
            if live_net is not None:
                writes.append((live_path, live_net.to_bytes()))
            if config_net is not None:
                data = writes[0][1] if config_net is live_net else config_net.to_bytes()
                writes.append((config_path, data))
            try:
                if live_net is not None:
                    with txn.journaled(store, name, "batch", live=live_doc.data,
                                       config=txn.read_bytes(config_path), record=record,
                                       sides=("live", "config") if config else ("live",),
                                       kinds=plan.kinds):
                        record, checks = self._transition(name, record, live_doc.defs,
                                                          live_net.defs, plan, writes,
                                                          progress=progress)
                    result.checks = checks
                    result.actions = tuple(plan.actions)
                    result.live = RESTARTED if "network-restart" in plan.kinds else APPLIED
                    notes += world.after(self, name, leases, result)
                else:
                    atomic_write_many(writes, mode=0o600)
            finally:
                self._forget(config_path, live_path)
            if config_net is not None:
                result.config = CHANGED
            result.notes = tuple(notes)
        self._after_change(name, result)
        result.seconds = time.perf_counter() - started
        return result

    # ------------------------------------------------------------------ transactions
    def change_start(self, name: str, *, rollback_after: float | None = None, check=None,
                     _allow_missing: bool = False):
        """Open a change on ``name``: snapshot its persistent and live definitions and runtime
        record.  Updates go ahead as usual; ``change_commit`` keeps them, ``change_rollback``
        undoes them (config and live).  ``rollback_after`` seconds arms a detached timer that
        rolls back unless committed in time (it survives this process); ``check`` is probed
        after every later update, and a failure rolls back at once.  Returns a
        ``txn.ChangeInfo``; a second start while one is open raises ``StateError``."""
        from netupdate.live import txn
        check_name(name)
        check = txn.as_check(check)
        if rollback_after is not None and not rollback_after > 0:
            raise InvalidOperationError("the rollback delay must be a positive number of "
                                        "seconds")
        store = self.store
        txn.defer_interrupts()  # a snapshot and a timer: not to be cut short
        with store.lock(name):
            self._finish_interrupted(name)
            existing = txn.read_snapshot(store, name)
            if existing is not None:
                raise StateError(txn.already_open_message(existing))
            config = txn.read_bytes(store.config_path(name))
            record = store.read_record(name)
            live = txn.read_bytes(store.live_path(name)) if record is not None else None
            if config is None and record is None and not _allow_missing:
                raise StateError(f"network '{name}' is not defined")
            token = secrets.token_hex(8)
            created = time.time()
            snap = txn.Snapshot(
                network=name, token=token, created=created, boot_id=txn.boot_id(),
                config=config, live=live, record=record, autostart=store.autostart(name),
                autostart_netns=self.autostart_netns(name),
                deadline=created + float(rollback_after) if rollback_after else None,
                check=check, owner=os.getpid())
            if snap.deadline is not None:
                snap.timer = {"pid": txn.spawn_timer(store, name, token)}
            try:
                txn.write_snapshot(store, snap)
            except BaseException:
                txn.cancel_timer(snap.timer, token)
                raise
            return snap.info()

    def change_commit(self, name: str, *, token: str | None = None):
        """Keep the changes made since ``change_start``: drop the snapshot, stop the timer."""
        from netupdate.live import txn
        check_name(name)
        with self.store.lock(name):
            snap = self._open_snapshot(name, token)
            txn.drop_snapshot(self.store, name)
            txn.write_outcome(self.store, name, snap.token, "committed", "committed")
        txn.cancel_timer(snap.timer, snap.token)
        return txn.ChangeInfo(name, "committed", snap.token, snap.created, snap.deadline,
                              snap.check, reason="committed", at=txn.now_iso())

    def _open_snapshot(self, name: str, token: str | None):
        from netupdate.live import txn
        snap = txn.read_snapshot(self.store, name)
        if snap is None:
            last = txn.read_outcome(self.store, name)
            if token is not None and last and last.get("token") == token:
                raise StateError(f"the change on network '{name}' was already "
                                 f"{last['outcome']} at {last['at']} ({last['reason']})")
            extra = (f"; the last one was {last['outcome']} at {last['at']} ({last['reason']})"
                     if last else "")
            raise StateError(f"no change is open on network '{name}'{extra}")
        if token is not None and snap.token != token:
            raise StateError(f"the change open on network '{name}' is not this one (it was "
                             f"started at {txn.now_iso(snap.created)})")
        return snap

    def change_rollback(self, name: str, *, token: str | None = None,
                        reason: str = "requested", progress=None,
                        _from_timer: bool = False) -> UpdateResult:
        """Make network ``name`` what it was at ``change_start`` again: the persistent
        definition byte for byte, and the live state through the reverse plan (only what changed
        is touched; a network started or stopped since is stopped or started)."""
        from netupdate.live import txn
        check_name(name)
        with self.store.lock(name, timeout=None if _from_timer else 30.0), txn.Interrupts():
            notes = self._finish_interrupted(name)
            snap = self._open_snapshot(name, token)
            result = self._rollback_change_noted(name, snap, reason, progress=progress)
            result.notes = tuple(notes) + result.notes
        if not _from_timer:
            txn.cancel_timer(snap.timer, snap.token)
        return result

    def _rollback_change_noted(self, name: str, snap, reason: str, **kwargs) -> UpdateResult:
        """``_rollback_change_locked``; when it fails, the change stays open and its outcome
        file says that a rollback was tried, when, why and how it failed (``change status``)."""
        from netupdate.live import txn
        try:
            return self._rollback_change_locked(name, snap, reason, **kwargs)
        except Exception as exc:
            if txn.read_snapshot(self.store, name) is not None:
                txn.write_outcome(self.store, name, snap.token, ROLLBACK_FAILED, reason,
                                  detail=str(exc) or exc.__class__.__name__)
            raise

    def _rollback_change_locked(self, name: str, snap, reason: str, *, progress=None,
                                rebooted: bool = False) -> UpdateResult:
        from netupdate.live import txn
        from netupdate.model.defs import load
        store = self.store
        config_path, live_path = store.config_path(name), store.live_path(name)
        started = time.perf_counter()
        result = UpdateResult(name, "rollback", None, live=UNCHANGED, config=UNCHANGED)
        record = store.read_record(name)
        config_now = txn.read_bytes(config_path)
        live_now = txn.read_bytes(live_path) if record is not None else None
        want_running = snap.running and snap.live is not None and not rebooted
        config_writes = []
        if snap.config is not None and config_now != snap.config:
            config_writes.append((config_path, snap.config))
        drop_config = snap.config is None and config_now is not None
        notes: list[str] = []
        _emit(progress, "start", op="rollback", network=name)
        # what the live side needs, decided before anything changes
        moved = want_running and record is not None and \
            record.get("netns") != snap.record.get("netns")
        plan = target = before_defs = None
        drift: list[str] = []
        if want_running and record is not None and not moved:
            with txn.untouched():
                target = load(snap.live)
                current = self._load(live_path) if live_now is not None else None
                if current is None:
                    drift, before_defs = ["the live definition is missing"], target.defs
                else:
                    before_defs = current.defs
                    drift = txn.live_problems(self, name, record, before_defs)
                    plan = txn.reverse_plan(before_defs, target.defs)
                result.changes = plan.changes if plan is not None else None
        kinds = plan.kinds if plan is not None else ()
        with txn.journaled(store, name, "rollback", live=live_now, config=config_now,
                           record=record, sides=("live", "config"),
                           kinds=kinds + (("network-restart",) if moved else ())):
            if moved:
                self._stop_locked(name, record)  # moved to another namespace meanwhile
                record = None
                result.live = STOPPED
            if target is not None:
                writes = ([(live_path, snap.live)] if live_now != snap.live else []) \
                    + config_writes
                if drift or (plan is not None and plan.changes):
                    converge = bool(drift) and "network-restart" not in kinds
                    if drift:
                        notes.append("the running network had drifted ("
                                     + "; ".join(drift) + "): "
                                     + ("converged" if converge else "restarted"))
                    record, checks = self._transition(name, record, before_defs, target.defs,
                                                      plan, writes, converge=converge,
                                                      progress=progress)
                    result.checks = checks
                    result.actions = tuple(plan.actions) if plan is not None else ()
                    result.live = REPAIRED if converge else (
                        RESTARTED if "network-restart" in kinds else APPLIED)
                elif writes:
                    atomic_write_many(writes, mode=0o600)
            elif want_running:
                netns = snap.record.get("netns")
                self._start_with(name, load(snap.live).defs, snap.live, netns, config_writes)
                result.live = STARTED
            else:
                if record is not None:
                    self._stop_locked(name, record)
                    result.live = STOPPED
                if config_writes:
                    store.write_config(name, snap.config)
            if config_writes:
                result.config = CHANGED
            if drop_config:
                txn.remove(config_path)
                result.config = CHANGED
            if store.autostart(name) != snap.autostart or \
                    (snap.autostart and self.autostart_netns(name) != snap.autostart_netns):
                self._write_autostart(name, snap.autostart, snap.autostart_netns)
            self._forget(config_path, live_path)
        txn.write_outcome(store, name, snap.token, "rolled-back", reason,
                          detail=result.summary())
        txn.drop_snapshot(store, name)
        result.notes = tuple(notes) + (f"reason: {reason}",)
        result.seconds = time.perf_counter() - started
        return result

    def change_status(self, name: str | None = None):
        """The open change of ``name`` (a ``txn.ChangeInfo``: state ``open``, or how the last
        one ended, or ``none``); without a name, the list of open changes."""
        from netupdate.live import txn
        if name is None:
            out = []
            for each in txn.snapshot_names(self.store):
                snap = txn.read_snapshot(self.store, each)
                if snap is not None:
                    out.append(snap.info())
            return out
        check_name(name)
        snap = txn.read_snapshot(self.store, name)
        if snap is not None:
            info = snap.info()
            tried = txn.outcome_for(self.store, name, snap.token)
            if tried and tried.get("outcome") == ROLLBACK_FAILED:  # still open: it failed
                info.reason, info.at, info.detail = tried["reason"], tried["at"], tried["detail"]
                info.notes = (f"ROLLBACK FAILED at {info.at} ({info.reason}): {info.detail}; the "
                              f"change stays open: retry with 'netupdate change rollback {name}'"
                              " or 'netupdate recover'",)
            return info
        last = txn.read_outcome(self.store, name)
        if last:
            return txn.ChangeInfo(name, last["outcome"], last.get("token"),
                                  reason=last.get("reason"), at=last.get("at"),
                                  detail=last.get("detail"))
        return txn.ChangeInfo(name, "none")

    @contextlib.contextmanager
    def transaction(self, name: str, *, rollback_after: float | None = None, check=None):
        """``with conn.transaction(name): conn.update(name, ...)``: commit when the block ends,
        roll back (config and live) when it raises.  With ``rollback_after`` the detached timer
        also rolls back if this process dies inside the block."""
        info = self.change_start(name, rollback_after=rollback_after, check=check)
        try:
            yield info
        except BaseException:
            from netupdate.live import txn
            snap = txn.read_snapshot(self.store, name)
            if snap is not None and snap.token == info.token:
                self.change_rollback(name, token=info.token, reason="exception in the "
                                                                    "transaction")
            raise
        else:
            from netupdate.live import txn
            snap = txn.read_snapshot(self.store, name)
            if snap is not None and snap.token == info.token:
                self.change_commit(name, token=info.token)
            else:
                last = txn.outcome_for(self.store, name, info.token) or {}
                if last.get("outcome") != "committed":
                    raise StateError(f"the change on network '{name}' was rolled back before "
                                     f"the transaction ended "
                                     f"({last.get('reason', 'unknown reason')})")

    # ------------------------------------------------------------------ autostart, recover
    def autostart_netns(self, name: str) -> str | None:
        text = self.store.read_state(self.store.autostart_path(name))
        return text.strip() or None if text is not None else None

    def _write_autostart(self, name: str, enabled: bool, netns: str | None) -> None:
        from netupdate.store import atomic_write
        path = self.store.autostart_path(name)
        if enabled:
            if netns is not None:
                from netupdate.live.embedded.runtime.netns import check_name as check_netns
                check_netns(netns)  # one line in the file
            self.store.ensure_dir(path.parent)
            atomic_write(path, (netns or "") + ("\n" if netns else ""), mode=0o600)
        else:
            self.store.set_autostart(name, False)

    def set_autostart(self, name: str, enabled: bool = True, *,
                      netns: str | None = None) -> None:
        """Mark a defined network to be started by ``recover`` at boot, or unmark it.  It is
        started in ``netns``; by default in the namespace it runs in now (when running), else
        the connection's namespace."""
        check_name(name)
        with self.store.lock(name):
            if enabled and not self.store.config_path(name).exists():
                raise StateError(f"network '{name}' is not defined (autostart needs a "
                                 "persistent definition)")
            if netns is None:
                record = self.store.read_record(name)
                netns = record.get("netns") if record is not None else self.netns
            self._write_autostart(name, enabled, netns)

    def recover(self, *, progress=None):
        """After a crash or at boot: for every network, undo an operation that was killed
        midway, tear down what is left of a network that no longer runs, roll back an
        uncommitted change (one whose timer is alive and not yet due is left to its timer),
        repair a running network that drifted from its live definition, and start networks
        marked autostart that are not running.  Returns a ``txn.RecoverReport``."""
        from netupdate.live import txn
        report = txn.RecoverReport()
        store = self.store
        names = set(store.names()) | set(txn.snapshot_names(store)) | \
            set(txn.journal_names(store))
        try:
            autostart_dir = store.autostart_path("x").parent
            names |= {e for e in os.listdir(autostart_dir) if not e.startswith(".")}
        except FileNotFoundError:
            pass
        for name in sorted(names):
            _emit(progress, "network", network=name)
            try:
                with store.lock(name, timeout=120):
                    self._recover_one(name, report)
            except Exception as exc:  # noqa: BLE001 - reported, the others go on
                report.add(name, str(exc), False)
        removed = txn.clean_temps(store)
        if removed:
            report.add("-", f"removed {removed} temporary file(s) of killed writes")
        return report

    def _recover_one(self, name: str, report) -> None:
        from netupdate.live import txn
        from netupdate.live.embedded.runtime import vanished
        store = self.store
        bid = txn.boot_id()
        record = store.read_record(name)
        killed = txn.kill_strays(self, name, record)
        if killed:
            report.add(name, f"stopped stray dnsmasq {', '.join(map(str, killed))}")
        journal = txn.read_journal(store, name)
        if journal is not None:
            report.add(name, self._restore_journal(name, journal))
        record = store.read_record(name)
        if record is not None and not vanished.running(record):
            self._stop_locked(name, record)
            report.add(name, vanished.stopped_note(name, record))
        snap = txn.read_snapshot(store, name)
        if snap is not None:
            rebooted = snap.boot_id != bid
            if not rebooted and snap.deadline is not None and snap.deadline > time.time() \
                    and snap.timer_alive():
                report.add(name, f"change open: its timer rolls it back at "
                                 f"{txn.now_iso(snap.deadline)} unless committed")
            else:
                result = self._rollback_change_noted(name, snap, "recover: not committed",
                                                     rebooted=rebooted)
                txn.cancel_timer(snap.timer, snap.token)
                report.add(name, f"rolled back the change started at "
                                 f"{txn.now_iso(snap.created)}: {result.summary()}")
        record = store.read_record(name)
        if record is not None:
            problems = self._repair_running(name, record)
            if problems:
                report.add(name, "repaired: " + "; ".join(problems))
        elif store.autostart(name) and store.config_path(name).exists():
            config = self._load(store.config_path(name))
            netns = self.autostart_netns(name)
            self._start_with(name, config.defs, config.data, netns, [])
            report.add(name, "started (autostart)" + (f" in namespace {netns}" if netns
                                                      else ""))


def _vanished():
    from netupdate.live.embedded.runtime import vanished
    return vanished


def _not_written(result: UpdateResult, live: bool, config: bool, started: float, leases):
    """An update that writes nothing: a dry run (the plan, what would change, the leases'
    fate), or an edit that leaves the same network (``unchanged``, as libvirt reports it)."""
    if not result.plan.changes:
        result.live = UNCHANGED if live else result.live
        result.config = UNCHANGED if config else NOT_REQUESTED
    else:
        result.actions = tuple(result.plan.actions) if live else ()
        result.live = APPLIED if live else result.live
        result.config = CHANGED if config else NOT_REQUESTED
        result.notes += world.dry(result, leases)
    result.seconds = time.perf_counter() - started
    return result


def _emit(progress, event: str, **fields) -> None:
    if progress is not None:
        progress({"event": event, **fields})


def _desired(source) -> tuple[bytes, Any]:
    """(bytes, Network) of a desired definition given as text, bytes or a path."""
    from netupdate.model.defs import load
    if isinstance(source, bytes | bytearray):
        data = bytes(source)
    elif isinstance(source, os.PathLike) or (isinstance(source, str)
                                             and not source.lstrip().startswith("<")):
        with open(source, "rb") as handle:
            data = handle.read()
    else:
        data = str(source).encode("utf-8")
    network = load(data)
    if not network.name:
        raise InvalidOperationError("the desired definition has no <name>")
    return data, network


def _sides(name: str, active: bool, persistent: bool, live: bool | None,
           config: bool | None) -> tuple[bool, bool]:
    """Which definitions an update changes: by default the live one of a running network and
    the persistent one of a defined network (both for a running persistent network, where
    virsh's default would lose the change at the next restart)."""
    if not active and not persistent:
        raise StateError(f"network '{name}' is not defined")
    if live is None and config is None:
        live, config = active, persistent
    live, config = bool(live), bool(config)
    if live and not active:
        raise StateError(f"network '{name}' is not running (live update refused)")
    if config and not persistent:
        raise StateError("cannot change persistent config of a transient network")
    if not live and not config:
        raise InvalidOperationError("nothing to update: neither the live state nor the "
                                    "persistent config was selected")
    return live, config


def _apply_sides(active: bool, persistent: bool, live: bool | None,
                 config: bool | None) -> tuple[bool, bool]:
    """The sides an apply changes: by default the live one of a running network and the
    persistent one (created when missing)."""
    if live is None and config is None:
        live, config = active, persistent or not active
    if not live and not config:
        raise InvalidOperationError("nothing to apply: neither the live state nor the "
                                    "persistent config was selected")
    return bool(live), bool(config)


def _spelled(command, section) -> tuple[str, str | None]:
    """The command and section of an update as libvirt names them (``add`` -> ``add-last``,
    ``11`` / ``dns_txt`` -> ``dns-txt``)."""
    from netupdate import sections
    from netupdate.model.values import Command
    return Command.of(command).value, None if section is None else sections.get(section).name
