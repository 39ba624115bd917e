"""Safe change: snapshots, the operation journal, the auto-rollback timer, check probes, recover.

Files (next to the store's, see ``store.py``)::

    <config>/transactions/<name>.json        the open change of a network (its snapshot)
    <config>/transactions/<name>.last.json   how the last change ended (committed, rolled back)
    <run>/journal/<name>.json                an operation in flight (update, apply, batch,
                                             rollback): the definitions and record before it
    <run>/transactions/<name>.timer.log      what the detached auto-rollback timer said

A **snapshot** (``change start``) holds the persistent and live definitions, the runtime record
and the autostart flag of a network; ``change rollback`` makes the network what the snapshot says
again with the reverse plan (``plan(current, snapshot)``, only what changed is touched); ``change
commit`` drops it.  It lives in the config directory so that a change left open across a reboot is
rolled back by ``netupdate recover`` at boot.

The **journal** makes each live operation all-or-nothing across a crash: it is written (atomically)
before the first live step and removed once the operation finished or was undone in process.  A
journal found by ``recover`` (while holding the network's lock, so its writer is dead) means the
process died in the middle: the definitions go back to the journal's and the live state is
converged to them.  A SIGKILL at any point therefore leaves the persistent definition old or new
(every write is a rename), and ``recover`` brings the live state in line.

The **timer** is a separate process (``python -m netupdate change _expire NAME --token T``) in its
own session, so it outlives the command that armed it (kill -9, a lost SSH session).  It sleeps
until the deadline recorded in the snapshot, then takes the network's lock and rolls the change back
if the snapshot with its token is still open.  Commit removes the snapshot first (the timer exits
by itself when it sees that) and then stops the timer.

Ctrl-C and SIGTERM during an operation are ``interrupts`` (this package's module).
"""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from netupdate.errors import InvalidOperationError, NetupdateError, RuntimeFailure, StateError
from netupdate.live.txn.interrupts import Interrupted as Interrupted
from netupdate.live.txn.interrupts import Interrupts as Interrupts
from netupdate.live.txn.interrupts import checkpoint as checkpoint
from netupdate.live.txn.interrupts import current_interrupts as current_interrupts
from netupdate.live.txn.interrupts import defer_interrupts as defer_interrupts
from netupdate.live.txn.interrupts import mark_restored as mark_restored
from netupdate.live.txn.interrupts import restored as restored
from netupdate.live.txn.interrupts import untouched as untouched
from netupdate.store import atomic_write, check_name, remove, system_errors
from netupdate.store.statedir import Unreadable, read_file, read_json

SNAPSHOT_VERSION = 1
JOURNAL_VERSION = 1
ENV_BOOT_ID = "NETUPDATE_BOOT_ID"       # tests simulate a reboot with another boot id
TIMER_VERB = "_expire"
TIMER_POLL = 0.25                        # how often a sleeping timer looks at its snapshot
DEFAULT_CHECK_TIMEOUT = 5.0


class RollbackFailed(RuntimeFailure):
    """An operation failed and putting the network back failed too; the journal stays for
    ``netupdate recover``."""


class BatchError(InvalidOperationError):
    """A line of a batch was refused; nothing was changed.  ``batch_line`` is its number (the
    line of the batch file, or the item of a JSON batch)."""

    def __init__(self, message: str, *, line: int | None = None):
        super().__init__(message)
        self.batch_line = line


# ---------------------------------------------------------------------- small helpers
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


def _enc(data: bytes | str | None):
    """Definition bytes for JSON: text when they are UTF-8, else base64."""
    if data is None:
        return None
    if isinstance(data, str):
        return {"text": data}
    try:
        return {"text": data.decode("utf-8")}
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(data).decode()}


def _dec(value) -> bytes | None:
    if value is None:
        return None
    if "base64" in value:
        return base64.b64decode(value["base64"])
    return value["text"].encode("utf-8")


def read_bytes(path) -> bytes | None:
    """A state file's bytes (None when missing): never through a symlink, and only a file of
    this process's user."""
    return read_file(path, owned=True)


def _read_json(store, path: Path, name: str) -> dict | None:
    return read_json(path, name, store.network_dir(name))


def _write_json(store, path: Path, data: dict, *, durable: bool = True) -> None:
    """Replace ``path`` atomically.  Files under the runtime directory (the journal) are not
    fsynced (the store's rule): they only have to survive the death of a process, not a power
    cut.  ``durable=False`` marks such a file, written with the faster compact encoding: a
    journal is written before every live operation."""
    store.ensure_dir(path.parent, private=True)
    text = (json.dumps(data, indent=1, sort_keys=True) if durable else json.dumps(data)) + "\n"
    atomic_write(path, text, mode=0o600)


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            state = handle.read().rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in (b"Z", b"X")


def _cmdline(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return [p.decode(errors="replace") for p in handle.read().split(b"\0") if p]
    except OSError:
        return []


# ---------------------------------------------------------------------- paths
def snapshot_path(store, name: str) -> Path:
    return store.config_dir / "transactions" / f"{check_name(name)}.json"


def outcome_path(store, name: str) -> Path:
    return store.config_dir / "transactions" / f"{check_name(name)}.last.json"


def journal_path(store, name: str) -> Path:
    return store.run_dir / "journal" / f"{check_name(name)}.json"


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


# ---------------------------------------------------------------------- checks
@dataclass(frozen=True)
class Check:
    """What proves the network still works after a change: a TCP connection to ``host:port``
    or a command exiting 0, run in the network's namespace, retried for ``timeout`` seconds."""

    kind: str                  # "tcp" | "command"
    target: str                # "host:port" | a shell command
    timeout: float = DEFAULT_CHECK_TIMEOUT

    def to_json(self) -> dict:
        return {"kind": self.kind, "target": self.target, "timeout": self.timeout}

    @classmethod
    def from_json(cls, data: dict | None) -> Check | None:
        if not data:
            return None
        return cls(data["kind"], data["target"], float(data.get("timeout",
                                                                 DEFAULT_CHECK_TIMEOUT)))

    def describe(self) -> str:
        return self.target if self.kind == "tcp" else f"command {self.target!r}"


def parse_hostport(text: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``[IPV6]:PORT``."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise InvalidOperationError(f"--check wants HOST:PORT (or [IPV6]:PORT), not {text!r}")
    return host, int(port)


def make_check(tcp: str | None = None, command: str | None = None,
               timeout: float | None = None) -> Check | None:
    if tcp and command:
        raise InvalidOperationError("give --check HOST:PORT or --check-command CMD, not both")
    timeout = DEFAULT_CHECK_TIMEOUT if timeout is None else float(timeout)
    if timeout <= 0:
        raise InvalidOperationError("the check timeout must be positive")
    if tcp:
        parse_hostport(tcp)
        return Check("tcp", tcp.strip(), timeout)
    if command:
        return Check("command", command, timeout)
    return None


def as_check(value) -> Check | None:
    """A ``Check`` from a ``Check``, ``"host:port"``, ``{"command": ...}`` / ``{"tcp": ...}``."""
    if value is None or isinstance(value, Check):
        return value
    if isinstance(value, str):
        return make_check(tcp=value)
    if isinstance(value, dict):
        if "kind" in value:
            return Check.from_json(value)
        return make_check(tcp=value.get("tcp"), command=value.get("command"),
                          timeout=value.get("timeout"))
    raise InvalidOperationError(f"cannot use {value!r} as a check")


def _tcp_probe(host: str, port: int, timeout: float) -> tuple[bool, str]:
    import socket
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while True:
        left = deadline - time.monotonic()
        try:
            with socket.create_connection((host, port), timeout=max(0.1, min(1.0, left))):
                return True, f"connected to {host}:{port}"
        except OSError as exc:
            last = exc
        if time.monotonic() >= deadline:
            return False, f"cannot connect to {host}:{port}: {last}"
        time.sleep(0.2)


def probe(check: Check, netns: str | None) -> tuple[bool, str]:
    """Run ``check`` in ``netns`` (the host when None); (ok, what happened)."""
    from netupdate.live.embedded.runtime import netns as NS
    if check.kind == "tcp":
        host, port = parse_hostport(check.target)
        try:
            return NS.call(netns, _tcp_probe, host, port, check.timeout)
        except NetupdateError as exc:
            return False, str(exc)
    deadline = time.monotonic() + check.timeout
    last = ""
    while True:
        left = max(0.5, deadline - time.monotonic())
        try:
            proc = NS.run(["/bin/sh", "-c", check.target], netns=netns, timeout=left,
                          check=False)
            if proc.returncode == 0:
                return True, f"command {check.target!r} succeeded"
            last = (f"command {check.target!r} exited {proc.returncode}"
                    + (f": {proc.stderr.strip()[:200]}" if proc.stderr.strip() else ""))
        except NetupdateError as exc:
            last = f"command {check.target!r}: {exc}"
        if time.monotonic() >= deadline:
            return False, last
        time.sleep(0.2)


# ---------------------------------------------------------------------- snapshots
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
                "boot_id": self.boot_id, "config": _enc(self.config), "live": _enc(self.live),
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
                   boot_id=data.get("boot_id", ""), config=_dec(data.get("config")),
                   live=_dec(data.get("live")), record=data.get("record"),
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
    data = _read_json(store, snapshot_path(store, name), name)
    return None if data is None else Snapshot.from_json(data)


def write_snapshot(store, snap: Snapshot) -> None:
    _write_json(store, snapshot_path(store, snap.network), snap.to_json())


def drop_snapshot(store, name: str) -> bool:
    return remove(snapshot_path(store, name))


def write_outcome(store, name: str, token: str, outcome: str, reason: str,
                  detail: str | None = None) -> None:
    _write_json(store, outcome_path(store, name), {
        "network": name, "token": token, "outcome": outcome, "reason": reason,
        "detail": detail, "at": now_iso(), "when": time.time()})


def read_outcome(store, name: str) -> dict | None:
    try:
        return _read_json(store, outcome_path(store, name), name)
    except StateError:
        return None


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


# ---------------------------------------------------------------------- the journal
def write_journal(store, name: str, op: str, *, live: bytes | None, config: bytes | None,
                  record: dict | None, sides: tuple[str, ...], kinds=(),
                  live_stamp: tuple | None = None) -> None:
    """The journal protects against the death of the process, not against a power cut (the
    run directory and the live state are gone after one): written atomically, not fsynced.
    The live definition is kept as a hard link to its file when the file holds exactly those
    bytes (the store only ever replaces it by rename, so the link keeps the old version): no
    copy of a large definition before every live update.  ``live_stamp`` (inode, mtime, size
    of the file ``live`` was read from) spares reading the file again to compare."""
    _write_json(store, journal_path(store, name), {
        "version": JOURNAL_VERSION, "network": name, "op": op, "pid": os.getpid(),
        "boot_id": boot_id(), "started": time.time(),
        "live": _keep_live(store, name, live, live_stamp),
        "config": {"same_as": "live"} if config is not None and config == live else _enc(config),
        "record": record, "sides": list(sides), "kinds": list(kinds)}, durable=False)


def _kept_live_path(store, name: str) -> Path:
    return journal_path(store, name).with_suffix(".live")


def _keep_live(store, name: str, data: bytes | None, stamp: tuple | None = None):
    if data is None:
        return None
    kept = _kept_live_path(store, name)
    store.ensure_dir(kept.parent, private=True)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(kept)
    try:
        os.link(store.live_path(name), kept)
        st = os.stat(kept)
        if (st.st_ino, st.st_mtime_ns, st.st_size) == tuple(stamp or ())[:3] or \
                read_bytes(kept) == data:
            return {"link": kept.name}
        os.unlink(kept)
    except OSError:
        pass  # another file system, or gone: keep the bytes in the journal itself
    return _enc(data)


def read_journal(store, name: str) -> dict | None:
    try:
        data = _read_json(store, journal_path(store, name), name)
    except Unreadable:
        return None  # a torn journal cannot exist (atomic writes); treat as none
    if data is not None:
        config, live = data.get("config"), data.get("live")
        data["live"] = (read_bytes(_kept_live_path(store, name))
                        if isinstance(live, dict) and "link" in live else _dec(live))
        data["config"] = data["live"] if config == {"same_as": "live"} else _dec(config)
    return data


def drop_journal(store, name: str) -> None:
    for path in (journal_path(store, name), _kept_live_path(store, name)):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


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


# ---------------------------------------------------------------------- batches
@dataclass(frozen=True)
class BatchUpdate:
    """One line of a batch: the arguments of one ``update``."""

    line: int
    command: str
    section: str | None = None
    xml: str | None = None
    parent_index: int = -1
    node_spec: str | None = None

    def to_json(self) -> dict:
        return {"line": self.line, "command": self.command, "section": self.section,
                "xml": self.xml, "parent_index": self.parent_index, "node_spec": self.node_spec}


BATCH_HELP = """\
one update per line: COMMAND SECTION XML (the XML is the rest of the line, as is), or
COMMAND --node-spec=XPATH [XML]; --parent-index=N may follow COMMAND; blank lines and lines
starting with '#' are skipped.  Or a JSON list of objects {"command", "section", "xml",
"parent_index", "node_spec"} (or of [COMMAND, SECTION, XML] lists)."""


def parse_batch(text: str) -> list[BatchUpdate]:
    """The updates of a batch file (see ``BATCH_HELP``).  A malformed line raises
    ``BatchError`` naming it."""
    stripped = text.lstrip()
    if stripped.startswith("["):
        return _parse_batch_json(text)
    updates = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        updates.append(_parse_batch_line(number, line))
    return updates


def _parse_batch_line(number: int, line: str) -> BatchUpdate:
    def fail(why: str):
        raise BatchError(f"batch line {number}: {why}", line=number)
    command, _, rest = line.partition(" ")
    rest = rest.strip()
    node_spec, parent_index = None, -1
    while rest.startswith("--"):
        option, _, after = rest.partition(" ")
        rest = after.strip()
        key, eq, value = option.partition("=")
        if not eq:  # --option VALUE
            value, _, after = rest.partition(" ")
            rest = after.strip()
        if key == "--node-spec":
            node_spec = value
        elif key == "--parent-index":
            try:
                parent_index = int(value)
            except ValueError:
                fail(f"--parent-index wants an integer, not {value!r}")
        else:
            fail(f"unknown option {key}")
    if node_spec is not None:
        return BatchUpdate(number, command, None, rest or None, parent_index, node_spec)
    section, _, xml = rest.partition(" ")
    xml = xml.strip()
    if not section or not xml:
        fail("expected COMMAND SECTION XML")
    return BatchUpdate(number, command, section, xml, parent_index, None)


def _parse_batch_json(text: str) -> list[BatchUpdate]:
    try:
        items = json.loads(text)
    except ValueError as exc:
        raise BatchError(f"batch: invalid JSON: {exc}") from None
    if not isinstance(items, list):
        raise BatchError("batch: a JSON batch is a list of updates")
    updates = []
    for number, item in enumerate(items, 1):
        if isinstance(item, list) and 2 <= len(item) <= 3 and all(isinstance(i, str)
                                                                  for i in item):
            item = dict(zip(("command", "section", "xml"), item, strict=False))
        if not isinstance(item, dict) or not isinstance(item.get("command"), str):
            raise BatchError(f"batch item {number}: expected an object with a 'command'",
                             line=number)
        unknown = set(item) - {"command", "section", "xml", "parent_index", "node_spec"}
        if unknown:
            raise BatchError(f"batch item {number}: unknown keys {sorted(unknown)}", line=number)
        parent = item.get("parent_index", -1)
        if not isinstance(parent, int) or isinstance(parent, bool):
            raise BatchError(f"batch item {number}: parent_index must be an integer",
                             line=number)
        if item.get("node_spec") is None and (not item.get("section") or not item.get("xml")):
            raise BatchError(f"batch item {number}: expected section and xml (or node_spec)",
                             line=number)
        updates.append(BatchUpdate(number, item["command"], item.get("section"),
                                   item.get("xml"), parent, item.get("node_spec")))
    return updates


def as_batch(updates) -> list[BatchUpdate]:
    """``BatchUpdate`` items from a batch text, or from dicts / tuples / ``BatchUpdate``s."""
    if isinstance(updates, str | bytes):
        return parse_batch(updates.decode() if isinstance(updates, bytes) else updates)
    out = []
    for number, item in enumerate(updates, 1):
        if isinstance(item, BatchUpdate):
            out.append(item)
        elif isinstance(item, dict):
            out.append(BatchUpdate(number, item["command"], item.get("section"),
                                   item.get("xml"), item.get("parent_index", -1),
                                   item.get("node_spec")))
        else:
            out.append(BatchUpdate(number, *item))
    return out


# ---------------------------------------------------------------------- the timer process
def timer_alive(pid: int | None, token: str) -> bool:
    """True when ``pid`` is the timer of the change with ``token`` (not a recycled pid)."""
    if not pid or not pid_alive(pid):
        return False
    args = _cmdline(pid)
    return TIMER_VERB in args and token in args


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
    argv = [sys.executable, "-m", "netupdate", "change", TIMER_VERB, name, "--token", token,
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


def _log(message: str) -> None:
    print(f"{now_iso()} [{os.getpid()}] {message}", flush=True)


def run_timer(conn, name: str, token: str) -> int:
    """The body of ``netupdate change _expire``: wait for the deadline of the change with
    ``token``, then roll it back unless it was committed or rolled back meanwhile."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    store = conn.store
    _log(f"timer for network {name} (token {token}) started")
    seen = False
    while True:
        try:
            snap = read_snapshot(store, name)
        except StateError as exc:
            _log(f"cannot read the snapshot: {exc}")
            snap = None
        if (snap is None or snap.token != token) and not seen:
            # change start holds the lock while it starts this timer and writes the snapshot:
            # once the lock is ours, the snapshot is there, or it never will be
            with store.lock(name, timeout=None):
                snap = read_snapshot(store, name)
        if snap is None or snap.token != token:
            _log("the change was committed or rolled back: nothing to do")
            return 0
        seen = True
        if snap.deadline is None:
            _log("the change has no deadline: nothing to do")
            return 0
        left = snap.deadline - time.time()
        if left <= 0:
            break
        time.sleep(min(TIMER_POLL, left))
    _log("deadline reached: rolling back")
    try:
        result = conn.change_rollback(name, token=token, reason="timer expired",
                                      _from_timer=True)
    except StateError as exc:
        _log(f"nothing rolled back: {exc}")
        return 0
    except Exception as exc:  # noqa: BLE001 - logged; recover retries
        _log(f"ROLLBACK FAILED: {exc}")
        return 1
    _log(f"rolled back: {result.summary()}")
    return 0


def outcome_for(store, name: str, token: str) -> dict | None:
    out = read_outcome(store, name)
    return out if out and out.get("token") == token else None


# ---------------------------------------------------------------------- live state checks
def stray_dnsmasqs(conf_path, keep: int | None) -> list[int]:
    """dnsmasq processes started with our conf file other than ``keep`` (left by a process
    killed between starting dnsmasq and recording it)."""
    from netupdate.live.embedded.runtime import dnsmasqd as DQ
    out = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return out
    for entry in entries:
        if entry.isdigit() and int(entry) != keep and DQ.alive(int(entry), conf_path):
            out.append(int(entry))
    return out


def kill_strays(conn, name: str, record: dict | None) -> list[int]:
    from netupdate.live.embedded.runtime import dnsmasqd as DQ
    conf_path = conn.store.network_dir(name) / "dnsmasq.conf"
    keep = ((record or {}).get("dnsmasq") or {}).get("pid")
    killed = []
    for pid in stray_dnsmasqs(conf_path, keep):
        with contextlib.suppress(RuntimeFailure):
            DQ.stop(pid, conf_path)
            killed.append(pid)
    return killed


def _lines(text: str) -> list[str]:
    return sorted(line for line in text.splitlines() if line.strip())


def host_files_problem(layout, defs) -> str | None:
    """None when the hostsdirs serve exactly ``defs``' hosts, in either layout (one ``base``
    file, or ``base`` plus one file per host changed live since)."""
    from netupdate.live.embedded.runtime import dnsmasqd as DQ
    dhcp, dns = DQ.base_texts(defs)
    for folder, text in ((layout.dhcp_hostsdir, dhcp), (layout.hostsdir, dns)):
        have: list[str] = []
        try:
            entries = [e for e in os.listdir(folder) if not e.startswith(".")]
        except FileNotFoundError:
            entries = []
        for entry in entries:
            have += (DQ.read_file(folder / entry) or "").splitlines()
        if sorted(line for line in have if line.strip()) != _lines(text):
            return f"the host files in {folder} do not hold the definition's hosts"
    return None


def live_problems(conn, name: str, record: dict, defs) -> list[str]:
    """What differs between the running network and ``defs`` (empty: in line).  Looks at the
    bridge, addresses, routes, the firewall table, dnsmasq (alive, conf, host files, strays)."""
    from netupdate.live.embedded.runtime import bridge as BR
    from netupdate.live.embedded.runtime import dnsmasqd as DQ
    from netupdate.live.embedded.runtime import driver as D
    from netupdate.render import dnsmasq as conf
    from netupdate.render import nftables as firewall
    driver = conn.driver
    status = driver.inspect(record, defs)
    problems = list(status["problems"])
    if status.get("bridge") is None or not status["bridge"].get("present"):
        return problems
    netns = record.get("netns")
    layout = driver.layout(name)
    br = record["bridge"]["name"]
    if br != D.bridge_name(defs):
        problems.append(f"the bridge is {br}, the definition wants {D.bridge_name(defs)}")
    dq = record.get("dnsmasq")
    if conf.needs_dnsmasq(defs):
        if dq:
            text = DQ.render(defs, layout, name, br)
            if dq.get("conf_sha256") != DQ.conf_hash(text) or \
                    DQ.read_file(layout.conf) != text:
                problems.append("dnsmasq runs with another conf than the definition needs")
            problem = host_files_problem(layout, defs)
            if problem:
                problems.append(problem)
    elif dq:
        problems.append("dnsmasq runs although the definition needs none")
    strays = stray_dnsmasqs(layout.conf, (dq or {}).get("pid"))
    if strays:
        problems.append(f"stray dnsmasq processes: {', '.join(map(str, strays))}")
    try:
        have = {D._norm_route(r) for r in BR.routes(driver.ipr(netns), br)}
        missing = [r["address"] for r in D.want_routes(defs) if D._norm_route(r) not in have]
        if missing:
            problems.append(f"routes missing: {', '.join(missing)}")
    except Exception as exc:  # noqa: BLE001 - reported as a problem
        problems.append(f"cannot read routes: {exc}")
    want_fw = firewall.ruleset(defs, driver.table_name(name), br) is not None
    if want_fw != bool(record.get("firewall")):
        problems.append("the firewall table does not match the definition")
    return problems


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


# ---------------------------------------------------------------------- recover
@dataclass
class RecoverReport:
    """What ``recover`` did, per network: ``[(name, what, ok)]``."""

    entries: list[tuple[str, str, bool]] = field(default_factory=list)

    def add(self, name: str, what: str, ok: bool = True) -> None:
        self.entries.append((name, what, ok))

    @property
    def ok(self) -> bool:
        return all(ok for _n, _w, ok in self.entries)

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def to_json(self) -> dict:
        return {"ok": self.ok, "actions": [{"network": n, "action": w, "ok": ok}
                                           for n, w, ok in self.entries]}

    def to_text(self) -> str:
        if not self.entries:
            return "recover: nothing to do"
        return "\n".join(f"{name}: {what}" if ok else f"{name}: FAILED: {what}"
                         for name, what, ok in self.entries)
