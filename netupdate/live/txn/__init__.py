"""Safe change: snapshots, the operation journal, the auto-rollback timer, check probes, recover.

One module per concern:

- ``state``: where the state files are, how definitions are kept in JSON, boot id and pids;
- ``snapshots``: the open change of a network (``change start``) and how the last one ended;
- ``journal``: each live operation all-or-nothing across a crash;
- ``timer``: the detached auto-rollback timer process (``python -m netupdate.live.txn``);
- ``checks``: the probes that prove a network still works after a change;
- ``interrupts``: Ctrl-C and SIGTERM during an operation;
- ``trywindow``: the window of ``apply --try`` (keep the change or roll it back);
- ``recovery``: the live state against a definition, and what ``recover`` did.

Batches are parsed in ``netupdate.edit.batch`` (pure).  docs/transactions.md describes the
files and the guarantees.

The names below are the package's interface to the backends (live/embedded/connection.py and
live/libvirt/connection.py use ``txn.NAME``); everything else imports the modules.
"""

from __future__ import annotations

from netupdate.edit.batch import BatchUpdate, as_batch
from netupdate.errors import mark_restored
from netupdate.live.txn.checks import Check, as_check, probe
from netupdate.live.txn.interrupts import (
    Interrupts,
    checkpoint,
    defer_interrupts,
    untouched,
)
from netupdate.live.txn.journal import (
    RollbackFailed,
    drop_journal,
    journaled,
    read_journal,
)
from netupdate.live.txn.recovery import (
    RecoverReport,
    host_files_problem,
    kill_strays,
    live_problems,
)
from netupdate.live.txn.snapshots import (
    ChangeInfo,
    Snapshot,
    already_open_message,
    drop_snapshot,
    outcome_for,
    read_outcome,
    read_snapshot,
    reverse_plan,
    write_outcome,
    write_snapshot,
)
from netupdate.live.txn.state import (
    boot_id,
    clean_temps,
    journal_names,
    now_iso,
    read_bytes,
    snapshot_names,
)
from netupdate.live.txn.timer import cancel_timer, spawn_timer
from netupdate.store import remove

__all__ = [
    "BatchUpdate", "ChangeInfo", "Check", "Interrupts", "RecoverReport", "RollbackFailed",
    "Snapshot", "already_open_message", "as_batch", "as_check", "boot_id", "cancel_timer",
    "checkpoint", "clean_temps", "defer_interrupts", "drop_journal", "drop_snapshot",
    "host_files_problem", "journal_names", "journaled", "kill_strays", "live_problems",
    "mark_restored", "now_iso", "outcome_for", "probe", "read_bytes", "read_journal",
    "read_outcome", "read_snapshot", "remove", "reverse_plan", "snapshot_names", "spawn_timer",
    "untouched", "write_outcome", "write_snapshot",
]
