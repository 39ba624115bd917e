"""The try window of ``apply(try_seconds=...)`` (``apply --try``): keep the change when the user
confirms in time, roll it back at once on Ctrl-C, else let the detached timer roll it back at the
deadline and report what it did.

The library owns the window; whoever talks to the user passes ``confirm(timeout)``: it waits up
to ``timeout`` seconds and returns True (keep the change), False (nothing yet) or None (no
confirmation can come any more, such as the end of standard input).  Without ``confirm`` the
change is left open for ``change commit`` (its timer still rolls it back at the deadline).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from netupdate.errors import EXIT_INTERRUPTED, StateError
from netupdate.live.txn.interrupts import Interrupts
from netupdate.live.txn.state import now_iso

POLL = 0.2             # how often the window looks for a signal and the deadline
TIMER_GRACE = 5.0      # after the deadline, how long the timer gets before we roll back ourselves
REPORT_WAIT = 30.0     # how long we wait for the timer's outcome after the deadline

Confirm = Callable[[float], "bool | None"]


@dataclass
class TryOutcome:
    """How a try window ended: ``state`` is ``open`` (no way to confirm: left to ``change
    commit`` or the timer), ``committed``, ``interrupted`` (rolled back on Ctrl-C),
    ``expired`` (rolled back, or not, by the timer) or ``failed`` (the commit was refused)."""

    network: str
    state: str
    message: str
    exit_code: int
    result: Any = None      # the rollback's ``UpdateResult`` after an interrupt

    def to_json(self) -> dict:
        return {"network": self.network, "state": self.state, "message": self.message,
                "exit_code": self.exit_code}


def try_window(conn, name: str, info, confirm: Confirm | None = None) -> TryOutcome:
    """Run the window of the change ``info`` (the ``change_info`` of ``apply``'s result) on
    network ``name`` through ``conn``'s public verbs."""
    token, deadline = info.token, info.deadline
    if confirm is None:
        return TryOutcome(name, "open", f"change open: it rolls back at {now_iso(deadline)} "
                          f"unless 'netupdate change commit {name}' runs within "
                          f"{deadline - time.time():.0f} s", 0)
    watching = True
    with Interrupts() as interrupts:
        while True:
            if interrupts.pending:
                interrupts.signum = None  # handled here: the rollback must not stop for it
                result = conn.change_rollback(name, token=token, reason="interrupted (Ctrl-C)")
                return TryOutcome(name, "interrupted", f"interrupted: {result.summary()}",
                                  EXIT_INTERRUPTED, result)
            left = deadline - time.time()
            if left <= 0:
                break
            if not watching:
                time.sleep(min(POLL, left))
                continue
            said = confirm(min(POLL, left))
            if said is None:
                watching = False  # the end of input is not a confirmation
            elif said:
                return _commit(conn, name, token)
    return _expired(conn, name, token, deadline)


def _commit(conn, name: str, token: str) -> TryOutcome:
    try:
        conn.change_commit(name, token=token)
    except StateError as exc:
        return TryOutcome(name, "failed", str(exc), 1)
    return TryOutcome(name, "committed", f"Change on network {name} committed", 0)


def _expired(conn, name: str, token: str, deadline: float) -> TryOutcome:
    """The deadline passed: the detached timer rolls back (we do when it is gone); what it
    did."""
    limit = time.time() + REPORT_WAIT
    while time.time() < limit:
        info = conn.change_status(name)
        if info.state != "open" or info.token != token:
            break
        if time.time() > deadline + TIMER_GRACE and not info.timer_alive:
            conn.change_rollback(name, token=token, reason="timer expired (no timer process)")
            break
        time.sleep(0.1)
    last = conn.change_status(name)
    return TryOutcome(name, "expired", expired_message(name, _outcome(last, token)), 1)


def _outcome(info, token: str) -> dict:
    """How the change with ``token`` ended, from ``change_status``: ``{"outcome", "reason"}``
    (empty when unknown)."""
    if info.token != token:
        return {}
    if info.state == "open":   # still open: only a failed rollback says something
        return {"outcome": "rollback-failed", "reason": info.reason} if info.detail else {}
    return {"outcome": info.state, "reason": info.reason}


def expired_message(name: str, last: dict) -> str:
    """What the timer did at the end of a try window; a failed rollback says so."""
    outcome = last.get("outcome") or "rolled back"
    if outcome == "rollback-failed":
        outcome = (f"NOT rolled back: the rollback FAILED, the change stays open (retry with "
                   f"'netupdate change rollback {name}' or 'netupdate recover')")
    return (f"No confirmation within the try window: the change was {outcome} "
            f"({last.get('reason') or 'timer expired'})")
