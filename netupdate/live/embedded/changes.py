"""The embedded ``Connection``'s safe changes: ``change_start`` snapshots a network,
``change_commit`` keeps what was done since, ``change_rollback`` (or the detached timer, or
``recover``) puts it back; ``transaction`` is the context-manager form, and ``_after_change``
probes an open change's check after every update.

A rollback is decided before anything changes (``_Undo``: the reverse plan when the network
runs on, a start or a stop otherwise, which files to put back), then run under the operation
journal through the one live transition (transition.py).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from netupdate.errors import InvalidOperationError, NoSuchNetwork, RuntimeFailure, StateError
from netupdate.live.embedded.common import emit
from netupdate.live.results import (
    APPLIED,
    CHANGED,
    REPAIRED,
    RESTARTED,
    STARTED,
    STOPPED,
    UNCHANGED,
    UpdateResult,
)
from netupdate.store import atomic_write_many, check_name

ROLLBACK_FAILED = "rollback-failed"  # an outcome: a rollback was tried, the change stays open


@dataclass
class _Undo:
    """What rolling a change back does, decided before anything changes."""

    record: dict | None               # the runtime record now (None: not running)
    config_now: bytes | None          # the persistent definition now
    live_now: bytes | None            # the live definition now
    want_running: bool                # the network ran at change_start (and no reboot since)
    config_writes: list               # the persistent definition to put back
    drop_config: bool                 # the network had no persistent definition
    moved: bool = False               # it runs in another namespace than at change_start
    plan: Any = None                  # the reverse plan: live definition now -> then
    target: Any = None                # the live Network then (when it runs on, not moved)
    before_defs: Any = None           # the typed live definition now
    drift: list = field(default_factory=list)   # what is broken in the live state

    @property
    def kinds(self) -> tuple:
        return self.plan.kinds if self.plan is not None else ()


class ChangeVerbs:
    """``change_start``, ``change_commit``, ``change_rollback``, ``change_status``,
    ``transaction`` (a ``Connection`` mixin)."""

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
            raise NoSuchNetwork(f"no change is open on network '{name}'{extra}")
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
        store = self.store
        config_path, live_path = store.config_path(name), store.live_path(name)
        started = time.perf_counter()
        result = UpdateResult(name, "rollback", None, live=UNCHANGED, config=UNCHANGED)
        record = store.read_record(name)
        config_now = txn.read_bytes(config_path)
        undo = _Undo(record, config_now,
                     txn.read_bytes(live_path) if record is not None else None,
                     snap.running and snap.live is not None and not rebooted,
                     [(config_path, snap.config)] if snap.config is not None
                     and config_now != snap.config else [],
                     snap.config is None and config_now is not None)
        notes: list[str] = []
        emit(progress, "start", op="rollback", network=name)
        self._undo_plan(name, snap, undo, result)
        with txn.journaled(store, name, "rollback", live=undo.live_now, config=config_now,
                           record=record, sides=("live", "config"),
                           kinds=undo.kinds + (("network-restart",) if undo.moved else ())):
            self._undo_live(name, snap, undo, result, notes, progress)
            if undo.config_writes:
                result.config = CHANGED
            if undo.drop_config:
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

    def _undo_plan(self, name: str, snap, undo: _Undo, result) -> None:
        """What the live side of a rollback needs, decided before anything changes: whether
        the network moved to another namespace, else (when it runs on) the reverse plan and
        what drifted."""
        from netupdate.live import txn
        from netupdate.model.defs import load
        record = undo.record
        undo.moved = undo.want_running and record is not None and \
            record.get("netns") != snap.record.get("netns")
        if not undo.want_running or record is None or undo.moved:
            return
        with txn.untouched():
            undo.target = load(snap.live)
            current = self._load(self.store.live_path(name)) if undo.live_now is not None \
                else None
            if current is None:
                undo.drift, undo.before_defs = ["the live definition is missing"], \
                    undo.target.defs
            else:
                undo.before_defs = current.defs
                undo.drift = txn.live_problems(self, name, record, undo.before_defs)
                undo.plan = txn.reverse_plan(undo.before_defs, undo.target.defs)
            result.changes = undo.plan.changes if undo.plan is not None else None

    def _undo_live(self, name: str, snap, undo: _Undo, result, notes: list, progress) -> None:
        """The live side of a rollback (under its journal): stop a network that moved, take
        one that runs on back through the reverse plan (converge what drifted), start one that
        was running, stop one that was not."""
        from netupdate.model.defs import load
        store, record, plan, kinds = self.store, undo.record, undo.plan, undo.kinds
        if undo.moved:
            self._stop_locked(name, record)  # moved to another namespace meanwhile
            record = None
            result.live = STOPPED
        if undo.target is not None:
            writes = ([(store.live_path(name), snap.live)] if undo.live_now != snap.live
                      else []) + undo.config_writes
            if undo.drift or (plan is not None and plan.changes):
                converge = bool(undo.drift) and "network-restart" not in kinds
                if undo.drift:
                    notes.append("the running network had drifted ("
                                 + "; ".join(undo.drift) + "): "
                                 + ("converged" if converge else "restarted"))
                record, checks = self._transition(name, record, undo.before_defs,
                                                  undo.target.defs, plan, writes,
                                                  converge=converge, progress=progress)
                result.checks = checks
                result.actions = tuple(plan.actions) if plan is not None else ()
                result.live = REPAIRED if converge else (
                    RESTARTED if "network-restart" in kinds else APPLIED)
            elif writes:
                atomic_write_many(writes, mode=0o600)
        elif undo.want_running:
            netns = snap.record.get("netns")
            self._start_with(name, load(snap.live).defs, snap.live, netns, undo.config_writes)
            result.live = STARTED
        else:
            if record is not None:
                self._stop_locked(name, record)
                result.live = STOPPED
            if undo.config_writes:
                store.write_config(name, snap.config)

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

