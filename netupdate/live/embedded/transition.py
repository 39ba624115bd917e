"""The one live transition of a running network: apply -> verify -> save, with one rollback path.

``_transition`` takes a network from one definition to another (a plan's actions, or a
converge); ``update``'s fast path (``update._run_update``) has its own apply and save steps.
Both undo through ``undo_or_raise``: ``_rollback`` puts the live state back, and the failure is
re-raised marked restored, or as ``RollbackFailed`` when even undoing failed.
"""

from __future__ import annotations

from netupdate.errors import NetupdateError, RuntimeFailure
from netupdate.live.embedded.common import emit, write_files

ROLLBACK_VERIFY_TIMEOUT = 15.0   # seconds a rollback waits for the restored dnsmasq to answer


def undo_or_raise(exc: BaseException, step: str, undo, what: str):
    """The one way a failed live change ends: ``undo()`` (put the live state back), then raise
    ``exc`` marked restored (a ``RuntimeFailure`` naming ``step``, or the failed check, for one
    of ours); when ``undo`` fails too, ``RollbackFailed`` with both.  ``what`` names the change
    ("live update", "live change").  Called from the ``except`` clause that caught ``exc``."""
    from netupdate.live.embedded.runtime.driver import VerifyError
    from netupdate.live.txn import RollbackFailed, mark_restored
    try:
        undo()
    except BaseException as failed:  # noqa: BLE001 - reported with the original failure
        raise RollbackFailed(f"{what} failed at {step}: {exc}; ROLLBACK FAILED too: {failed}; "
                             "run 'netupdate recover'") from exc
    if isinstance(exc, VerifyError):
        raise mark_restored(RuntimeFailure(
            f"{what} rolled back: {exc} (check '{exc.check}')")) from exc
    if isinstance(exc, NetupdateError | OSError):
        raise mark_restored(RuntimeFailure(f"{what} rolled back: {step} failed: {exc}")) \
            from exc
    raise mark_restored(exc)


class Transitions:
    """The live transition and its rollback (a ``Connection`` mixin)."""

    def _transition(self, name: str, record: dict, before, after, plan, writes, *,
                    converge: bool = False, progress=None) -> tuple[dict, tuple[str, ...]]:
        """Take the running network from ``before`` to ``after``: the plan's actions (or, with
        ``converge``, a reconcile of whatever runs to ``after``), verification, then ``writes``
        (definition files, each atomic, in order).  Any failure, or Ctrl-C before the writes,
        puts the live state back to ``before`` and raises (marked restored)."""
        from netupdate.live.txn import checkpoint
        driver = self.driver
        actions = tuple(plan.actions) if plan is not None else ()
        kinds = tuple(a.kind for a in actions)
        sections = {c.section for c in plan.changes} if plan is not None else set()
        netns = record.get("netns")
        step = "apply"
        try:
            checkpoint()
            emit(progress, "step", step="apply", actions=list(kinds),
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
            emit(progress, "step", step="verify")
            checks = tuple(driver.verify(name, record, after, before=before, kinds=verify_kinds,
                                         sections=sections))
            checkpoint()
            step = "save"
            emit(progress, "step", step="save")
            if writes:
                write_files(self.store, writes)
        except BaseException as exc:
            emit(progress, "rollback", step=step, error=str(exc) or exc.__class__.__name__)
            undo_kinds = tuple(k for k in kinds if k != "network-restart") if converge else kinds
            undo_or_raise(exc, step, lambda: self._rollback(name, before, undo_kinds, record,
                                                            netns=netns), "live change")
        return record, checks

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
