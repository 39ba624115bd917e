"""The state files of change transactions: where they are, how definitions are kept in JSON,
which process wrote them (boot id, live pids), and the temp files a dead writer left.

Files (next to the store's, see ``netupdate/store``)::

    <config>/transactions/<name>.json        the open change of a network (its snapshot)
    <config>/transactions/<name>.last.json   how the last change ended (committed, rolled back)
    <run>/journal/<name>.json                an operation in flight (update, apply, batch,
                                             rollback): the definitions and record before it
    <run>/transactions/<name>.timer.log      what the detached auto-rollback timer said
"""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path

from netupdate.store import atomic_write, check_name
from netupdate.store.statedir import read_file, read_json

ENV_BOOT_ID = "NETUPDATE_BOOT_ID"       # tests simulate a reboot with another boot id
TIMER_VERB = "_expire"                  # in the timer's command line (``timer_alive``)


def boot_id() -> str:
    return os.environ.get(ENV_BOOT_ID) or _kernel_boot_id()


@functools.cache
def _kernel_boot_id() -> str:
    """The kernel's boot id (it cannot change while this process runs)."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as handle:
            return handle.read().strip()
    except OSError:
        return "unknown"


def now_iso(when: float | None = None) -> str:
    stamp = datetime.fromtimestamp(time.time() if when is None else when, UTC)
    return stamp.isoformat(timespec="seconds")


def encode_bytes(data: bytes | str | None):
    """Definition bytes for JSON: text when they are UTF-8, else base64."""
    if data is None:
        return None
    if isinstance(data, str):
        return {"text": data}
    try:
        return {"text": data.decode("utf-8")}
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(data).decode()}


def decode_bytes(value) -> bytes | None:
    if value is None:
        return None
    if "base64" in value:
        return base64.b64decode(value["base64"])
    return value["text"].encode("utf-8")


def read_bytes(path) -> bytes | None:
    """A state file's bytes (None when missing): never through a symlink, and only a file of
    this process's user."""
    return read_file(path, owned=True)


def load_json(store, path: Path, name: str) -> dict | None:
    return read_json(path, name, store.network_dir(name))


def save_json(store, path: Path, data: dict, *, durable: bool = True) -> None:
    """Replace ``path`` atomically.  Files under the runtime directory (the journal) are not
    fsynced (the store's rule): they only have to survive the death of a process, not a power
    cut.  ``durable=False`` marks such a file, written with the faster compact encoding: a
    journal is written before every live operation."""
    store.ensure_dir(path.parent, private=True)
    text = (json.dumps(data, indent=1, sort_keys=True) if durable else json.dumps(data)) + "\n"
    atomic_write(path, text, mode=0o600)


def pid_alive(pid: int | None) -> bool:
    from netupdate.live import procs
    return bool(pid) and procs.living(procs.stat(pid))


def snapshot_path(store, name: str) -> Path:
    return store.config_dir / "transactions" / f"{check_name(name)}.json"


def outcome_path(store, name: str) -> Path:
    return store.config_dir / "transactions" / f"{check_name(name)}.last.json"


def journal_path(store, name: str) -> Path:
    return store.path("run/journal", name, ".json")


def timer_log_path(store, name: str) -> Path:
    return store.run_dir / "transactions" / f"{check_name(name)}.timer.log"


def snapshot_names(store) -> list[str]:
    return _names(store.config_dir / "transactions")


def journal_names(store) -> list[str]:
    return _names(store.run_dir / "journal")


def _names(directory: Path) -> list[str]:
    try:
        entries = os.listdir(directory)
    except FileNotFoundError:
        return []
    return sorted(e[:-5] for e in entries if e.endswith(".json") and not e.startswith(".")
                  and not e.endswith(".last.json"))


def timer_alive(pid: int | None, token: str) -> bool:
    """True when ``pid`` is the timer of the change with ``token`` (not a recycled pid)."""
    if not pid or not pid_alive(pid):
        return False
    from netupdate.live import procs
    args = procs.cmdline(pid) or []
    return TIMER_VERB in args and token in args


def clean_temps(store) -> int:
    """Remove temp files of atomic writes whose writer is dead (``.NAME.PID.TID.tmp``)."""
    removed = 0
    roots = [store.config_dir / "networks", store.run_dir / "networks",
             store.config_dir / "transactions", store.run_dir / "journal"]
    for root in roots:
        if not root.exists():
            continue
        for directory, _dirs, files in os.walk(root):
            for entry in files:
                if not (entry.startswith(".") and entry.endswith(".tmp")):
                    continue
                parts = entry.split(".")
                try:
                    pid = int(parts[-3])
                except (ValueError, IndexError):
                    continue
                if not pid_alive(pid) or pid == os.getpid():
                    with contextlib.suppress(OSError):
                        os.unlink(os.path.join(directory, entry))
                        removed += 1
    return removed
