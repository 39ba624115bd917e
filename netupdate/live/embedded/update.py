"""The embedded ``Connection``'s edits: ``update`` (one edit, libvirt's section form or a
nodeSpec) and ``update_batch`` (many edits, one plan, one transition).

An update of a running network changes both its live state and its persistent config by default
(virsh's default, the current state only, lost changes at restart).  The live side runs the
plan's actions in order, then verifies the live state; if anything fails, the live state and the
config are put back as they were and the error names the failed check.  One DHCP or DNS host
takes a fast path (``_run_update``: applied from the engine's Change alone); everything else,
and every batch, goes through the one live transition (transition.py).
"""

from __future__ import annotations

import time
from typing import Any

from netupdate.errors import InvalidOperationError, StateError
from netupdate.live.backend import batch_edit, check_policy, edit_kept, read_fragment
from netupdate.live.embedded import world
from netupdate.live.embedded.cache import Doc, recorded
from netupdate.live.embedded.common import emit, vanished
from netupdate.live.embedded.transition import undo_or_raise
from netupdate.live.results import (
    APPLIED,
    CHANGED,
    NOT_REQUESTED,
    NOT_RUNNING,
    RESTARTED,
    UNCHANGED,
    UpdateResult,
)
from netupdate.sections.dns import served_by
from netupdate.store import PendingWrites, atomic_write_many, check_name, system_errors


class UpdateVerbs:
    """``update`` and ``update_batch`` (a ``Connection`` mixin)."""

    def update(self, name: str, command, section=None, xml: str | None = None, *,
               parent_index: int = -1, node_spec: str | None = None, live: bool | None = None,
               config: bool | None = None, restart: bool = False, dry_run: bool = False,
               release_conflicting: bool = False, force: bool = False) -> UpdateResult:
        """Edit network ``name`` (libvirt's section form, or ``node_spec``).

        Defaults: a running network gets ``live`` and ``config``; an inactive one its config;
        a transient one its live state.  Live changes run the plan, verify, and roll back both
        sides on any failure (``RuntimeFailure`` names the failed step or check).  The embedded
        runtime restarts what the plan needs by itself: ``restart`` changes nothing here.
        Guests, leases, conflicts: ``world.preflight`` (``release_conflicting``, ``force``).
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
                vanished().live_preflight("a live update", name, record)
            docs = self._edit_targets(name, live, config)
            writes, pending = [], None
            try:
                result.change = change = self._edit_docs(docs, result.command, section, xml,
                                                         parent_index, node_spec)
                if live and not dry_run:   # the disk writes start now, before the plan
                    pending = self._persist(name, docs, writes)
                result.plan = planner.plan_change(change)
                leases = world.preflight_edit(self, name, record if live else None, docs,
                                              result, release_conflicting, force)
            except BaseException:
                _drop(pending)
                self._forget(live_path, config_path)  # the cached trees may be half edited
                raise
            if dry_run or not result.plan.changes:
                _drop(pending)
                self._forget(live_path, config_path)
                return _not_written(result, live, config, started, leases)
            try:
                self._write_update(name, live and record, docs, result, writes, pending, leases)
            except BaseException:
                self._forget(live_path, config_path)
                raise
            recorded([live_path, config_path][0 if live else 1:2 if config else 1],
                     result.command, section, xml, parent_index, node_spec)
        self._after_change(name, result)
        result.seconds = time.perf_counter() - started
        return result

    def _write_update(self, name: str, record: dict | None, docs: dict[str, Doc], result,
                      writes: list, pending: PendingWrites | None, leases) -> None:
        """Put an edit into effect: on the running network (``record``) and its definitions,
        under the update's journal, or in the persistent definition alone."""
        if record:
            self._journaled_update(name, record, docs, result, writes, pending)
            result.notes += world.after(self, name, leases, result)
            return
        config_path, network = self.store.config_path(name), docs["config"].network
        data = network.to_bytes(tracked=True)
        atomic_write_many([(config_path, data)], mode=0o600)
        self._remember(config_path, data, network)
        result.config = CHANGED

    def _edit_docs(self, docs: dict[str, Doc], command: str, section, xml, parent_index: int,
                   node_spec: str | None):
        """Edit the documents of an update in place, then check the connection's policy;
        returns the engine's Change."""
        changes = {}
        for side, doc in docs.items():
            if side == "config" and "live" in docs and doc.network is docs["live"].network:
                changes[side] = changes["live"]  # same text: one edit serves both
                continue
            changes[side] = edit_kept(doc.network, command, section, xml,
                                      parent_index=parent_index, node_spec=node_spec)
        side = "live" if "live" in docs else "config"
        check_policy(self.policy, docs[side].data, docs[side].network, command)
        return changes.get("live") or changes.get("config")

    def _repair_if_needed(self, name: str, record: dict, doc: Doc) -> list[str]:
        """Cheap checks before a live update (dnsmasq process, bridge present); repair when
        something vanished behind our back."""
        from netupdate.live.embedded.runtime import dnsmasqd, netns
        problems = []
        vanished().refuse(name, record)
        dq = record.get("dnsmasq")
        if dq and not dnsmasqd.alive(dq.get("pid"), dq.get("conf")):
            problems.append(f"dnsmasq (pid {dq.get('pid')}) was not running")
        if record["bridge"]["created"] and netns.link_index(record.get("netns"),
                                                            record["bridge"]["name"]) is None:
            problems.append(f"bridge {record['bridge']['name']} was missing")
        if problems:
            self.driver.reconcile(name, record, doc.defs)
        return problems

    def _journaled_update(self, name: str, record: dict, docs: dict, result, writes: list,
                          pending: PendingWrites) -> None:
        """The live side of an update under its journal.  The new definitions are in temp
        files already (``_persist``: the disk writes them while the plan and the pre-change
        checks run; a repair needs no journal, it puts back what the unchanged definition
        says); nothing is put in place before the journal exists (``_run_update``)."""
        from netupdate.live import txn
        config = docs["config"].data if "config" in docs else \
            txn.read_bytes(self.store.config_path(name))
        try:
            # a repair puts back the live state the definition already says: no journal
            repaired = self._repair_if_needed(name, record, docs["live"])
            if repaired:
                result.notes += ("repaired before the update: " + "; ".join(repaired),)
            with txn.journaled(self.store, name, "update", live=docs["live"].data,
                               config=config, record=record, sides=tuple(docs),
                               kinds=result.plan.kinds, live_stamp=docs["live"].stamp):
                self._update_live(name, record, docs, result, writes, pending)
        except BaseException:
            pending.abort()   # the temp files, when nothing took them yet
            raise

    def _update_live(self, name: str, record: dict, docs: dict, result, writes: list,
                     pending: PendingWrites) -> None:
        """The live side of an update (its journal is open): apply -> verify -> save
        (``_run_update``), and keep the written definitions cached."""
        live_doc, config_doc = docs["live"], docs.get("config")
        actions = tuple(result.plan.actions)
        kinds = [a.kind for a in actions]
        after = self._run_update(name, record, docs, result, writes, pending)
        live_path, config_path = self.store.live_path(name), self.store.config_path(name)
        same = config_doc is not None and config_doc.network is live_doc.network
        for path, data in writes:
            if path == live_path:
                self._remember(path, data, live_doc.network, after)
            elif path == config_path:
                self._remember(path, data, config_doc.network, after if same else None)
        result.actions = actions
        result.live = RESTARTED if "network-restart" in kinds else APPLIED
        result.config = CHANGED if config_doc is not None else NOT_REQUESTED

    def _run_update(self, name: str, record: dict, docs: dict, result, writes: list,
                    pending: PendingWrites) -> Any:
        """Apply, verify and save an update's live side: one DHCP or DNS host through the fast
        path (applied from the Change alone), anything else through the plan's actions.
        ``pending`` has written the edited definitions (``writes``) to temp files before the
        journal; on the fast path they go into place before the host file is written (when on
        disk by then) or while dnsmasq answers the first query, else once the change is
        verified.  Returns the typed live definition after the edit (None on the fast path); a
        failure puts everything back (``undo_or_raise``)."""
        from netupdate.live.txn import checkpoint
        driver, live_doc = self.driver, docs["live"]
        actions = tuple(result.plan.actions)
        kinds = [a.kind for a in actions]
        change = result.change
        sections = {getattr(change, "section", None)} - {None}
        server, dns_on = served_by(live_doc.network.root)
        netns = record.get("netns")
        fast = driver.host_change_applies(record, change, kinds)
        after = None
        step = "apply"
        try:
            if fast and pending.on_disk():
                # the journal exists and the files are on disk: in place now, their directory's
                # fsync runs while the host file is written and verified (a failure puts the
                # old bytes back, and so does 'recover' from the journal if this process dies)
                step = "save"
                pending.commit(wait=False)
                step = "apply"
            applied = driver.apply_host_change(name, record, change, kinds) if fast else None
            if applied is not None:
                # the host file is in place: the definitions go into place (if not yet) while
                # dnsmasq reads it and answers the first query
                step = "verify"
                commit, failed = _kept_errors(lambda: pending.placed or pending.commit(wait=False))
                result.checks = tuple(driver.verify_host_change(record, applied, server,
                                                                dns_on, meanwhile=commit))
                if failed:
                    step = "save"
                    raise failed[0]
                record_changed = False
            else:
                before, after = live_doc.defs, live_doc.network.defs
                record, record_changed = driver.apply(name, record, before, after, actions)
                step = "verify"
                result.checks = tuple(driver.verify(name, record, after, before=before,
                                                    kinds=kinds, sections=sections))
            checkpoint()  # Ctrl-C: still time to put everything back
            step = "save"
            if record_changed:
                self.store.write_record(name, record)
            if not pending.placed:
                pending.commit(wait=False)
            pending.wait()   # the directories' fsyncs: the definitions are durable
        except BaseException as exc:
            undo_or_raise(exc, step, lambda: self._undo_update(name, docs, writes, pending, kinds,
                                                               record, netns), "live update")
        return after

    def _persist(self, name: str, docs: dict, writes: list) -> PendingWrites:
        """Serialize the edited definitions into ``writes`` (a fraction of a millisecond with
        the edit marks) and write them over their spares (the update holds the network's
        lock), the persistent one's fsync started."""
        live_doc, config_doc = docs["live"], docs.get("config")
        live_bytes = live_doc.network.to_bytes(tracked=True)
        writes.append((self.store.live_path(name), live_bytes))
        if config_doc is not None:
            same = config_doc.network is live_doc.network
            writes.append((self.store.config_path(name), live_bytes if same
                           else config_doc.network.to_bytes(tracked=True)))
        with system_errors("cannot write the new definitions"):
            return PendingWrites(writes, 0o600, spare=True)

    def _undo_update(self, name: str, docs: dict, writes: list, pending, kinds, record: dict,
                     netns) -> None:
        """Put back what a failed ``_run_update`` changed: the definition files (when already
        in place) and the live state."""
        live_doc, config_doc = docs["live"], docs.get("config")
        live_path = self.store.live_path(name)
        if pending is not None and pending.abort():
            # already in place: the definitions as they were before the update
            atomic_write_many([(path, live_doc.data if path == live_path else config_doc.data)
                               for path, _ in writes], mode=0o600)
        self._rollback(name, live_doc.defs, kinds, record, netns=netns)

    def update_batch(self, name: str, updates, *, live: bool | None = None,
                     config: bool | None = None, dry_run: bool = False,
                     restart: bool = False, progress=None, force: bool = False) -> UpdateResult:
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
                vanished().live_preflight("a live update", name, record)
            live_doc = self._load(live_path) if live else None
            config_doc = self._load(config_path) if config else None
            if live and live_doc is None:
                raise StateError(f"network '{name}': {live_path} is missing")
            targets = _batch_targets(live_doc, config_doc)
            _batch_edit(name, items, targets, progress)
            check_policy(self.policy, (live_doc or config_doc).data, targets[0], None)
            result = UpdateResult(name, "batch", None, dry_run=dry_run, count=len(items),
                                  uri=self.uri,
                                  live=NOT_REQUESTED if record is not None else NOT_RUNNING)
            live_net = targets[0] if live_doc is not None else None
            config_net = targets[-1] if config_doc is not None else None
            plan = planner.plan(live_doc.defs, live_net.defs) if live_net is not None else None
            result.plan = plan
            leases = world.preflight_batch(self, name, record, (live_doc, config_doc),
                                           (live_net, config_net), plan, dry_run, force)
            if plan is not None:
                result.changes = plan.changes
                emit(progress, "plan", actions=list(plan.kinds))
            if dry_run:
                result.actions = tuple(plan.actions) if plan is not None else ()
                result.live = APPLIED if live else result.live
                result.config = CHANGED if config else NOT_REQUESTED
                result.notes = tuple(notes) + world.dry(result, leases)
                result.seconds = time.perf_counter() - started
                return result
            notes += self._batch_run(name, record, live_doc, (live_net, config_net), result,
                                     leases, progress)
            result.notes = tuple(notes)
        self._after_change(name, result)
        result.seconds = time.perf_counter() - started
        return result

    def _batch_run(self, name: str, record, live_doc: Doc | None, nets, result, leases,
                   progress) -> list[str]:
        """Write a batch's edited definitions (``nets``: the live and the persistent one, or
        None): through the one live transition when the network runs, else straight to the
        config.  Returns notes."""
        from netupdate.live import txn
        store, plan = self.store, result.plan
        live_net, config_net = nets
        config_path, live_path = store.config_path(name), store.live_path(name)
        writes = []
        if live_net is not None:
            writes.append((live_path, live_net.to_bytes()))
        if config_net is not None:
            data = writes[0][1] if config_net is live_net else config_net.to_bytes()
            writes.append((config_path, data))
        notes: list[str] = []
        try:
            if live_net is not None:
                with txn.journaled(store, name, "batch", live=live_doc.data,
                                   config=txn.read_bytes(config_path), record=record,
                                   sides=("live", "config") if config_net is not None
                                   else ("live",), kinds=plan.kinds):
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
        return notes


def _drop(pending: PendingWrites | None) -> None:
    """The temp files of an update that writes nothing after all (refused, a dry run, no
    change)."""
    if pending is not None:
        pending.abort()


def _kept_errors(work):
    """``work`` wrapped to keep what it raises in the list returned with it, instead of
    raising it into its caller (verification's ``meanwhile``: a failed query is retried, a
    failed write is not)."""
    failed: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except Exception as exc:  # noqa: BLE001 - re-raised by the owner of the list
            failed.append(exc)
    return run, failed


def _batch_targets(live_doc: Doc | None, config_doc: Doc | None) -> list:
    """Copies of the definitions a batch edits: the live one first, the persistent one last
    (one copy for both when their text is the same: one edit serves both)."""
    targets = []
    if live_doc is not None:
        targets.append(live_doc.network.copy())
    if config_doc is not None:
        if live_doc is not None and config_doc.data == live_doc.data:
            targets.append(targets[0])
        else:
            targets.append(config_doc.network.copy())
    return targets


def _batch_edit(name: str, items, targets: list, progress) -> None:
    """Make every update of a batch on each of ``targets`` (a refused one raises, naming it),
    telling ``progress`` about every 50 ms."""
    from netupdate.live import txn
    unique = list({id(t): t for t in targets}.values())
    total = len(items)
    emit(progress, "start", op="batch", network=name, total=total)
    last = 0.0
    with txn.untouched():
        for done, item in enumerate(items, 1):
            for network in unique:
                batch_edit(network, item)
            txn.checkpoint()
            now = time.monotonic()
            if done == total or now - last >= 0.05:
                last = now
                emit(progress, "progress", phase="edit", done=done, total=total)


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

def _spelled(command, section) -> tuple[str, str | None]:
    """The command and section of an update as libvirt names them (``add`` -> ``add-last``,
    ``11`` / ``dns_txt`` -> ``dns-txt``)."""
    from netupdate import sections
    from netupdate.model.values import Command
    return Command.of(command).value, None if section is None else sections.get(section).name

