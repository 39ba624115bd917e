"""The embedded ``Connection``'s recovery: an operation journal left by a process that died
midway is undone first by every operation (``_finish_interrupted``); ``recover`` (after a crash,
at boot) does that for every network, then tears down what no longer runs, rolls back changes
nobody committed, repairs drift and starts autostart networks.
"""

from __future__ import annotations

import os
import time

from netupdate.errors import RuntimeFailure
from netupdate.live.embedded.common import emit, vanished


class Recovery:
    """Undoing interrupted operations, and ``recover`` (a ``Connection`` mixin)."""

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
            gone = vanished().gone(before_record)
            if before_record is None or before_live is None or gone:
                if record is not None:
                    self._teardown(name, record)
                    store.delete_record(name)
                store.delete_live(name)
                what += "; " + vanished().note(name, before_record) if gone else ""
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
            emit(progress, "network", network=name)
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
        if record is not None and not vanished().running(record):
            self._stop_locked(name, record)
            report.add(name, vanished().stopped_note(name, record))
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
