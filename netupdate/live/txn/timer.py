"""The auto-rollback timer: a separate process (``python -m netupdate.live.txn _expire NAME
--token T ...``) in its own session, so it outlives the command that armed it (kill -9, a lost
SSH session).  It sleeps until the deadline recorded in the snapshot, then takes the network's
lock and rolls the change back if the snapshot with its token is still open.  Commit removes the
snapshot first (the timer exits by itself when it sees that) and then stops the timer."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from pathlib import Path

from netupdate.errors import StateError
from netupdate.live.txn.snapshots import read_snapshot
from netupdate.live.txn.state import TIMER_VERB, now_iso, timer_alive, timer_log_path

TIMER_POLL = 0.25                        # how often a sleeping timer looks at its snapshot


_SPAWNED: list = []


def _reap() -> None:
    for proc in list(_SPAWNED):
        if proc.poll() is not None:
            _SPAWNED.remove(proc)


def spawn_timer(store, name: str, token: str) -> int:
    """Start the detached timer process of a change; returns its pid.  It runs in a session of
    its own (a signal to the caller's process group or terminal does not reach it), with its
    output appended to ``timer_log_path``."""
    import subprocess
    _reap()
    log = timer_log_path(store, name)
    store.ensure_dir(log.parent, private=True)
    package_root = str(Path(__file__).resolve().parents[3])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    argv = [sys.executable, "-m", "netupdate.live.txn", TIMER_VERB, name, "--token", token,
            "--config-dir", str(store.config_dir), "--run-dir", str(store.run_dir)]
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC,
                 0o600)
    with open(fd, "ab") as out:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                start_new_session=True, close_fds=True, cwd="/", env=env)
    _SPAWNED.append(proc)
    return proc.pid


def cancel_timer(timer: dict | None, token: str) -> bool:
    """Stop the timer of a committed or rolled back change (it would exit by itself when it
    sees the snapshot gone; this only saves it a wake-up)."""
    pid = (timer or {}).get("pid")
    if not timer_alive(pid, token):
        return False
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGTERM)
    _reap()
    return True


def log(message: str) -> None:
    print(f"{now_iso()} [{os.getpid()}] {message}", flush=True)


def run_timer(conn, name: str, token: str) -> int:
    """The body of ``netupdate change _expire``: wait for the deadline of the change with
    ``token``, then roll it back unless it was committed or rolled back meanwhile."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    store = conn.store
    log(f"timer for network {name} (token {token}) started")
    seen = False
    while True:
        try:
            snap = read_snapshot(store, name)
        except StateError as exc:
            log(f"cannot read the snapshot: {exc}")
            snap = None
        if (snap is None or snap.token != token) and not seen:
            # change start holds the lock while it starts this timer and writes the snapshot:
            # once the lock is ours, the snapshot is there, or it never will be
            with store.lock(name, timeout=None):
                snap = read_snapshot(store, name)
        if snap is None or snap.token != token:
            log("the change was committed or rolled back: nothing to do")
            return 0
        seen = True
        if snap.deadline is None:
            log("the change has no deadline: nothing to do")
            return 0
        left = snap.deadline - time.time()
        if left <= 0:
            break
        time.sleep(min(TIMER_POLL, left))
    log("deadline reached: rolling back")
    try:
        result = conn.change_rollback(name, token=token, reason="timer expired",
                                      _from_timer=True)
    except StateError as exc:
        log(f"nothing rolled back: {exc}")
        return 0
    except Exception as exc:  # noqa: BLE001 - logged; recover retries
        log(f"ROLLBACK FAILED: {exc}")
        return 1
    log(f"rolled back: {result.summary()}")
    return 0

