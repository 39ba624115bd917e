"""The embedded ``Connection``'s ``apply`` (make a network exactly a desired definition) and
``diff``.

An apply is decided before anything changes (``_Apply``: the plan from the live definition,
a converge when the running network drifted, a start, which files to write), then run: a start,
the one live transition (transition.py), or just the definition files.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass, field
from typing import Any

from netupdate.errors import InvalidOperationError, StateError
from netupdate.live.backend import check_policy, refuse_invalid, skeleton
from netupdate.live.embedded import world
from netupdate.live.embedded.cache import Doc
from netupdate.live.embedded.common import emit, vanished, write_files
from netupdate.live.results import (
    APPLIED,
    CHANGED,
    NOT_REQUESTED,
    REPAIRED,
    RESTARTED,
    STARTED,
    UNCHANGED,
    DiffResult,
    UpdateResult,
)
from netupdate.store import check_name


@dataclass
class _Apply:
    """What an apply does, decided before anything changes."""

    desired_bytes: bytes
    desired: Any                      # the desired Network
    record: dict | None               # the runtime record (None: not running)
    config_bytes: bytes | None        # the persistent definition now
    config_write: bool = False        # the persistent definition changes
    live_doc: Doc | None = None       # the live definition now (a running network)
    plan: Any = None                  # live definition -> desired (a running network)
    leases: Any = field(default_factory=world.Preflight)
    converge: bool = False            # the running network drifted: converge it
    start: bool = False               # the network is not running: start it
    live_write: bool = False          # the live definition's text changes

    @property
    def work(self) -> bool:
        """Whether the live state changes."""
        return self.converge or self.start or (self.plan is not None and bool(self.plan.changes))

    @property
    def actions(self) -> tuple:
        return tuple(self.plan.actions) if self.plan is not None else ()


class ApplyVerbs:
    """``apply`` and ``diff`` (a ``Connection`` mixin)."""

    def apply(self, name: str, desired_xml, *, live: bool | None = None,
              config: bool | None = None, dry_run: bool = False, restart: bool = False,
              try_seconds: float | None = None, check=None, progress=None,
              validate: bool = True, force: bool = False) -> UpdateResult:
        """Make network ``name`` exactly ``desired_xml`` (XML text, bytes or a path).

        The plan is computed against what really runs: the live definition, and when the
        running network drifted from it (a dead dnsmasq, a changed bridge, missing host files)
        everything is converged to the desired definition instead.  Idempotent: when both the
        live state and the persistent definition are already as desired nothing happens and the
        result says so.  Defaults: a running network gets ``live`` and ``config``, any other
        gets its config (which is created when the network is not defined yet); ``live`` on a
        network that is not running starts it.  ``try_seconds`` opens a change that rolls back
        by itself unless committed in time (``change_commit``); with ``check`` (HOST:PORT, or a
        ``txn.Check``) probed right after, a failed probe rolls back at once.  A conflict with
        another network that the change brings is refused unless ``force`` (``world``).
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
            refuse_invalid(desired)
        check = txn.as_check(check)
        info = None
        if try_seconds is not None and not dry_run:
            info = self.change_start(name, rollback_after=try_seconds, check=check,
                                     _allow_missing=True)
            emit(progress, "armed", token=info.token, deadline=info.deadline)
        elif check is not None and not dry_run:
            raise InvalidOperationError("a check needs a try window (--try SECONDS) or an open "
                                        "change (change start --check)")
        try:
            result = self._apply(name, desired_bytes, desired, live=live, config=config,
                                 dry_run=dry_run, progress=progress, force=force)
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
               progress, force=False) -> UpdateResult:
        from netupdate.live import txn
        from netupdate.planning.differ import diff
        store = self.store
        config_path = store.config_path(name)
        with store.lock(name), txn.Interrupts(immediate=True):
            notes = [] if dry_run else self._finish_interrupted(name)
            record = store.read_record(name)
            config_bytes = txn.read_bytes(config_path)
            live, config = _apply_sides(record is not None, config_bytes is not None, live,
                                        config)
            if live:
                vanished().live_preflight("a live apply", name, record)
            result = UpdateResult(name, "apply", None, dry_run=dry_run,
                                  live=UNCHANGED if live else NOT_REQUESTED,
                                  config=UNCHANGED if config else NOT_REQUESTED)
            emit(progress, "start", op="apply", network=name)
            job = _Apply(desired_bytes, desired, record, config_bytes,
                         config_write=config and config_bytes != desired_bytes)
            if live and record is not None:   # the plan's changes (one diff, not two)
                self._apply_plan(name, job, result, notes, dry_run, force)
            elif live:
                job.start = True
            if config and config_bytes is not None and job.plan is None:
                result.changes = diff(self._load(config_path).defs, desired.defs)
            if not dry_run:
                world.preflight_apply(self, name, job, result.changes, force)
            base = job.live_doc.data if job.live_doc is not None else config_bytes
            check_policy(self.policy, base or skeleton(name), desired_bytes, None)
            if not (job.config_write or job.live_write or job.work):
                result.notes = tuple(notes)
                emit(progress, "plan", actions=[])
                return result
            emit(progress, "plan", actions=[a.kind for a in job.actions])
            if dry_run:
                return _apply_dry(result, job, live, notes)
            self._apply_run(name, job, result, notes, progress)
            if job.live_write and result.live == UNCHANGED:
                notes.append("the live definition's text was refreshed (no live change needed)")
            result.notes = tuple(notes)
            return result

    def _apply_plan(self, name: str, job: _Apply, result, notes: list, dry_run: bool,
                    force: bool = False) -> None:
        """What applying to the running network takes: the plan from its live definition, the
        leases' fate, a converge when it drifted from its live definition."""
        from netupdate.live import txn
        from netupdate.planning.planner import plan as make_plan
        live_path = self.store.live_path(name)
        live_doc = job.live_doc = self._load(  # the same bytes as the persistent one: one parse
            live_path, like=self._load(self.store.config_path(name)))
        if live_doc is None:
            raise StateError(f"network '{name}': {live_path} is missing")
        drift = txn.live_problems(self, name, job.record, live_doc.defs)
        plan = job.plan = make_plan(live_doc.defs, job.desired.defs)
        job.leases = world.preflight(self, name, job.record, lambda: (live_doc.defs,
                                     job.desired.defs), plan, dry_run=dry_run, force=force)
        result.changes = plan.changes
        if drift:
            job.converge = "network-restart" not in plan.kinds  # a restart rebuilds it all
            notes.append("the running network had drifted from its definition ("
                         + "; ".join(drift) + "): "
                         + ("converged to the desired definition" if job.converge else
                            "restarted with the desired definition"))
        job.live_write = live_doc.data != job.desired_bytes

    def _apply_run(self, name: str, job: _Apply, result, notes: list, progress) -> None:
        """Run a decided apply: start the network, or take it through the one live transition,
        or write the definition files only."""
        from netupdate.live import txn
        store, plan = self.store, job.plan
        config_path, live_path = store.config_path(name), store.live_path(name)
        writes = []
        if job.live_write or job.start:
            writes.append((live_path, job.desired_bytes))
        if job.config_write:
            writes.append((config_path, job.desired_bytes))
        self.driver.prepare(job.desired.defs, plan, start=job.start)   # before the journal
        try:
            if job.start:
                with txn.journaled(store, name, "apply", live=None, config=job.config_bytes,
                                   record=None, sides=("live", "config")):
                    self._start_with(name, job.desired.defs, job.desired_bytes, self.netns,
                                     writes[1:] if job.config_write else [])
                result.live = STARTED
            elif job.work:
                with txn.journaled(store, name, "apply", live=job.live_doc.data,
                                   config=job.config_bytes, record=job.record,
                                   sides=("live", "config"),
                                   kinds=plan.kinds + ("reconcile",) if job.converge
                                   else plan.kinds):
                    _record, checks = self._transition(name, job.record, job.live_doc.defs,
                                                       job.desired.defs, plan, writes,
                                                       converge=job.converge,
                                                       progress=progress)
                result.checks = checks
                result.actions = job.actions
                result.live = REPAIRED if job.converge else (
                    RESTARTED if "network-restart" in plan.kinds else APPLIED)
                notes += world.after(self, name, job.leases, result)
            else:
                txn.defer_interrupts()
                write_files(store, writes)
        finally:
            self._forget(config_path, live_path)
        if job.config_write:
            result.config = CHANGED

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


def _apply_dry(result: UpdateResult, job: _Apply, live: bool, notes: list) -> UpdateResult:
    """What a dry run of ``job`` says it would do."""
    result.actions = job.actions
    if job.config_write:
        result.config = CHANGED
    if live and (job.work or job.live_write):
        result.live = STARTED if job.start else (RESTARTED if "network-restart" in
                                                 job.plan.kinds else APPLIED)
    result.notes = tuple(notes) + world.dry(result, job.leases)
    return result
