"""Snapshots: the open change of a network and how the last one ended.

A **snapshot** (``change start``) holds the persistent and live definitions, the runtime record
and the autostart flag of a network; ``change rollback`` makes the network what the snapshot says
again with the reverse plan (``plan(current, snapshot)``, only what changed is touched); ``change
commit`` drops it.  It lives in the config directory so that a change left open across a reboot is
rolled back by ``netupdate recover`` at boot.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from netupdate.errors import StateError
from netupdate.live.txn.checks import Check
from netupdate.live.txn.state import (
    decode_bytes,
    encode_bytes,
    load_json,
    now_iso,
    outcome_path,
    save_json,
    snapshot_path,
    timer_alive,
)
from netupdate.store import remove

SNAPSHOT_VERSION = 1


@dataclass
class Snapshot:
    """An open change: the network as it was at ``change start``."""

    network: str
    token: str
    created: float
    boot_id: str
    config: bytes | None
    live: bytes | None
    record: dict | None
    autostart: bool = False
    autostart_netns: str | None = None
    deadline: float | None = None
    check: Check | None = None
    timer: dict | None = None       # {"pid": int}
    owner: int | None = None        # pid of the process that started it

    def to_json(self) -> dict:
        return {"version": SNAPSHOT_VERSION, "network": self.network, "token": self.token,
                "created": self.created, "created_at": now_iso(self.created),
                "boot_id": self.boot_id, "config": encode_bytes(self.config),
                "live": encode_bytes(self.live),
                "record": self.record, "autostart": self.autostart,
                "autostart_netns": self.autostart_netns, "deadline": self.deadline,
                "deadline_at": now_iso(self.deadline) if self.deadline else None,
                "check": self.check.to_json() if self.check else None, "timer": self.timer,
                "owner": self.owner}

    @classmethod
    def from_json(cls, data: dict) -> Snapshot:
        if data.get("version") != SNAPSHOT_VERSION:
            raise StateError(f"snapshot of network {data.get('network')!r} has unknown version "
                             f"{data.get('version')!r}")
        return cls(network=data["network"], token=data["token"], created=data["created"],
                   boot_id=data.get("boot_id", ""), config=decode_bytes(data.get("config")),
                   live=decode_bytes(data.get("live")), record=data.get("record"),
                   autostart=bool(data.get("autostart")),
                   autostart_netns=data.get("autostart_netns"), deadline=data.get("deadline"),
                   check=Check.from_json(data.get("check")), timer=data.get("timer"),
                   owner=data.get("owner"))

    @property
    def running(self) -> bool:
        return self.record is not None

    def timer_alive(self) -> bool:
        return bool(self.timer) and timer_alive(self.timer.get("pid"), self.token)

    def info(self) -> ChangeInfo:
        return ChangeInfo(self.network, "open", self.token, self.created, self.deadline,
                          self.check, self.timer_alive() if self.timer else None,
                          (self.timer or {}).get("pid"), self.owner)


def read_snapshot(store, name: str) -> Snapshot | None:
    data = load_json(store, snapshot_path(store, name), name)
    return None if data is None else Snapshot.from_json(data)


def write_snapshot(store, snap: Snapshot) -> None:
    save_json(store, snapshot_path(store, snap.network), snap.to_json())


def drop_snapshot(store, name: str) -> bool:
    return remove(snapshot_path(store, name))


def write_outcome(store, name: str, token: str, outcome: str, reason: str,
                  detail: str | None = None) -> None:
    save_json(store, outcome_path(store, name), {
        "network": name, "token": token, "outcome": outcome, "reason": reason,
        "detail": detail, "at": now_iso(), "when": time.time()})


def read_outcome(store, name: str) -> dict | None:
    try:
        return load_json(store, outcome_path(store, name), name)
    except StateError:
        return None


def outcome_for(store, name: str, token: str) -> dict | None:
    out = read_outcome(store, name)
    return out if out and out.get("token") == token else None


@dataclass
class ChangeInfo:
    """What ``change start`` / ``change status`` report about a network's change."""

    network: str
    state: str                      # "open" | "committed" | "rolled-back" | "none" | ...
    token: str | None = None
    created: float | None = None
    deadline: float | None = None
    check: Check | None = None
    timer_alive: bool | None = None
    timer_pid: int | None = None
    owner: int | None = None
    reason: str | None = None
    at: str | None = None
    detail: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def remaining(self) -> float | None:
        return None if self.deadline is None else max(0.0, self.deadline - time.time())

    def to_json(self) -> dict:
        return {"network": self.network, "state": self.state, "token": self.token,
                "created_at": now_iso(self.created) if self.created else None,
                "deadline": self.deadline,
                "deadline_at": now_iso(self.deadline) if self.deadline else None,
                "remaining": None if self.remaining is None else round(self.remaining, 3),
                "check": self.check.to_json() if self.check else None,
                "timer_alive": self.timer_alive, "timer_pid": self.timer_pid,
                "reason": self.reason, "at": self.at, "detail": self.detail,
                "notes": list(self.notes)}

    def to_text(self) -> str:
        if self.state == "open":
            lines = [f"network {self.network}: change open since {now_iso(self.created)} "
                     f"(token {self.token})"]
            if self.deadline is not None and self.detail is None:  # detail: a failed rollback
                timer = ("timer running" if self.timer_alive else
                         "TIMER NOT RUNNING: 'netupdate recover' rolls it back")
                lines.append(f"  rolls back at {now_iso(self.deadline)} "
                             f"(in {self.remaining:.0f} s) unless committed; {timer}")
            elif self.detail is None:
                lines.append("  no automatic rollback")
            if self.check is not None:
                lines.append(f"  check after each change: {self.check.describe()}")
            lines.append(f"  commit:   netupdate change commit {self.network}")
            lines.append(f"  rollback: netupdate change rollback {self.network}")
        elif self.state == "none":
            lines = [f"network {self.network}: no change open"]
        else:
            lines = [f"network {self.network}: no change open; the last one was {self.state}"
                     + (f" at {self.at}" if self.at else "")
                     + (f" ({self.reason})" if self.reason else "")]
            if self.detail:
                lines.append(f"  {self.detail}")
        lines.extend(f"  note: {note}" for note in self.notes)
        return "\n".join(lines)


def reverse_plan(current, snapshot_defs):
    """The plan that takes the running network from its ``current`` definition back to the
    snapshot's: only what changed since ``change start`` is touched."""
    from netupdate.planning.planner import plan
    return plan(current, snapshot_defs)


def already_open_message(snap: Snapshot) -> str:
    when = f", rolls back at {now_iso(snap.deadline)}" if snap.deadline else ""
    return (f"a change is already open on network '{snap.network}' (started at "
            f"{now_iso(snap.created)}{when}); commit it with 'netupdate change commit "
            f"{snap.network}' or roll it back with 'netupdate change rollback {snap.network}'")
