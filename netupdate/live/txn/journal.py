"""The operation journal: each live operation is all-or-nothing across a crash.

The journal is written (atomically) before the first live step and removed once the operation
finished or was undone in process.  A journal found by ``recover`` (while holding the network's
lock, so its writer is dead) means the process died in the middle: the definitions go back to the
journal's and the live state is converged to them.  A SIGKILL at any point therefore leaves the
persistent definition old or new (every write is a rename), and ``recover`` brings the live state
in line.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

from netupdate.errors import RuntimeFailure, restored
from netupdate.live.txn.interrupts import defer_interrupts
from netupdate.live.txn.state import (
    boot_id,
    decode_bytes,
    encode_bytes,
    journal_path,
    load_json,
    read_bytes,
    save_json,
)
from netupdate.store import system_errors
from netupdate.store.statedir import Unreadable

JOURNAL_VERSION = 1


class RollbackFailed(RuntimeFailure):
    """An operation failed and putting the network back failed too; the journal stays for
    ``netupdate recover``."""


def write_journal(store, name: str, op: str, *, live: bytes | None, config: bytes | None,
                  record: dict | None, sides: tuple[str, ...], kinds=(),
                  live_stamp: tuple | None = None) -> None:
    """The journal protects against the death of the process, not against a power cut (the
    run directory and the live state are gone after one): written atomically, not fsynced.
    The live definition is kept as a hard link to its file when the file holds exactly those
    bytes (the store only ever replaces it by rename, so the link keeps the old version): no
    copy of a large definition before every live update.  ``live_stamp`` (inode, mtime, size
    of the file ``live`` was read from) spares reading the file again to compare."""
    save_json(store, journal_path(store, name), {
        "version": JOURNAL_VERSION, "network": name, "op": op, "pid": os.getpid(),
        "boot_id": boot_id(), "started": time.time(),
        "live": _keep_live(store, name, live, live_stamp),
        "config": ({"same_as": "live"} if config is not None and config == live
                   else encode_bytes(config)),
        "record": record, "sides": list(sides), "kinds": list(kinds)}, durable=False)


def kept_live_path(store, name: str) -> Path:
    return journal_path(store, name).with_suffix(".live")


def _keep_live(store, name: str, data: bytes | None, stamp: tuple | None = None):
    if data is None:
        return None
    kept = kept_live_path(store, name)
    store.ensure_dir(kept.parent, private=True)
    try:
        try:
            os.link(store.live_path(name), kept)
        except FileExistsError:   # left by a process that died (drop_journal removes it)
            os.unlink(kept)
            os.link(store.live_path(name), kept)
        st = os.stat(kept)
        if (st.st_ino, st.st_mtime_ns, st.st_size) == tuple(stamp or ())[:3] or \
                read_bytes(kept) == data:
            return {"link": kept.name}
        os.unlink(kept)
    except OSError:
        pass  # another file system, or gone: keep the bytes in the journal itself
    return encode_bytes(data)


def read_journal(store, name: str) -> dict | None:
    try:
        data = load_json(store, journal_path(store, name), name)
    except Unreadable:
        return None  # a torn journal cannot exist (atomic writes); treat as none
    if data is not None:
        config, live = data.get("config"), data.get("live")
        data["live"] = (read_bytes(kept_live_path(store, name))
                        if isinstance(live, dict) and "link" in live else decode_bytes(live))
        data["config"] = data["live"] if config == {"same_as": "live"} else decode_bytes(config)
    return data


def drop_journal(store, name: str) -> None:
    """Remove the journal.  The old live definition it kept loses its name here (so that the
    next journal never meets it); a big one is kept under a temp name (``retire``) and
    unlinked in the background."""
    from netupdate.store.atomic import free_soon, retire
    with contextlib.suppress(FileNotFoundError):
        os.unlink(journal_path(store, name))
    kept = os.fspath(kept_live_path(store, name))
    retired = retire(kept)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(kept)   # with a retired name, only a name: nothing is freed here
    free_soon([retired])


@contextlib.contextmanager
def journaled(store, name: str, op: str, *, live: bytes | None, config: bytes | None,
              record: dict | None, sides: tuple[str, ...], kinds=(),
              live_stamp: tuple | None = None):
    """Write the journal (one that cannot be written stops the operation before anything
    changed), run the block, drop the journal unless the block failed without putting the
    network back (then ``recover`` finishes the job).  From here on signals wait for the
    operation's safe points (``Interrupts``)."""
    defer_interrupts()
    with system_errors("cannot write the journal", undo=lambda: drop_journal(store, name)):
        write_journal(store, name, op, live=live, config=config, record=record, sides=sides,
                      kinds=kinds, live_stamp=live_stamp)
    try:
        yield
    except BaseException as exc:
        if restored(exc):
            drop_journal(store, name)
        raise
    drop_journal(store, name)
