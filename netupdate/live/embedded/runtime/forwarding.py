"""Packet forwarding of a network namespace, shared by every state directory that runs networks
in it.

A forwarding network (nat, route, open) switches ``net.ipv4.ip_forward`` on in its namespace,
and ``net.ipv6.conf.all.forwarding`` too while it has an IPv6 address.  The namespace's ledger,
one root-owned file per namespace (``/run/netupdate/forwarding/<id>.json``, all locked with one
``flock``), lists the networks that need forwarding there, as (run directory, network, the
settings it needs) from any number of state directories, and what each setting was before
netupdate changed it: a setting no user needs any more is put back.

The id is the namespace's cookie (``SO_NETNS_COOKIE``: never reused while the machine runs),
or its nsfs inode on kernels before 5.14.  A user whose runtime record no longer names the
ledger (its state directory was removed, or a start died before writing it) is dropped when
the ledger is next opened.  What the ledger says is checked before it is used: only the keys
in ``KEYS`` and the values ``0`` and ``1``; anything else is refused, and nothing is written.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from netupdate.errors import StateError
from netupdate.live.embedded.runtime import netns as NS
from netupdate.model import values as T

KEYS = ("net/ipv4/ip_forward", "net/ipv6/conf/all/forwarding")
VALUES = ("0", "1")
SO_NETNS_COOKIE = 71
MAX_LEDGER = 1 << 20


def forwarding_keys(defs) -> list[str]:
    """The settings the network ``defs`` needs (none when it does not forward)."""
    if defs is None or defs.forward_mode not in T.L3_MODES:
        return []
    return list(KEYS[:2 if defs.ips_of(6) else 1])


def ledger_dir() -> Path:
    """Where the ledgers live: under /run/netupdate for root, else the user's runtime dir."""
    from netupdate.store import ROOT_RUN_DIR
    if os.geteuid() == 0:
        return Path(ROOT_RUN_DIR) / "forwarding"
    base = os.environ.get("XDG_RUNTIME_DIR") or os.path.expanduser("~/.local/share/run")
    return Path(base) / "netupdate" / "forwarding"


def _here_id() -> str:
    """The id of the calling thread's namespace."""
    import socket
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        try:
            cookie = sock.getsockopt(socket.SOL_SOCKET, SO_NETNS_COOKIE, 8)
            return f"c{int.from_bytes(cookie, 'little')}"
        except OSError:
            return f"i{os.stat('/proc/thread-self/ns/net').st_ino}"


def namespace_id(netns: str | None) -> str:
    """The ledger id of ``netns`` (the host's namespace when None)."""
    return NS.call(netns, _here_id)


def set_sysctl(key: str, value: str) -> str:
    """``netns.sysctl`` for the forwarding keys only, to 0 or 1 only (``call`` it in the
    namespace); returns the previous value."""
    _check(key, value)
    return NS.sysctl(key, value)


def _check(key, value, where: str = "") -> None:
    if key not in KEYS or value not in VALUES:
        raise StateError(f"{where}refusing sysctl {key!r}={value!r}: netupdate only sets "
                         f"{', '.join(KEYS)} to 0 or 1; nothing was changed")


# ---------------------------------------------------------------------- the ledger
def _trusted_dir() -> Path:
    """The ledger directory, made if needed: a real directory of ours, not writable by others
    (and its parent neither)."""
    directory = ledger_dir()
    directory.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
    with contextlib.suppress(FileExistsError):
        directory.mkdir(mode=0o700)
    for path in (directory.parent, directory):
        st = os.lstat(path)
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o022:
            raise StateError(f"refusing the forwarding ledgers in {directory}: {path} is not a "
                             "directory of this user closed to others")
    return directory


def _read(path: Path) -> dict:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return {"users": [], "previous": {}}
    except OSError as exc:
        raise StateError(f"forwarding ledger {path}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        data = handle.read(MAX_LEDGER + 1)
    try:
        if len(data) > MAX_LEDGER:
            raise ValueError("too large")
        ledger = json.loads(data)
        return _valid(ledger, f"forwarding ledger {path}: ")
    except (ValueError, RecursionError) as exc:
        raise StateError(f"forwarding ledger {path} is unreadable: {exc}; nothing was "
                         "changed") from None


def _valid(ledger, where: str) -> dict:
    if not isinstance(ledger, dict) or not isinstance(ledger.get("users"), list) \
            or not isinstance(ledger.get("previous"), dict):
        raise StateError(f"{where}not a ledger (users, previous); nothing was changed")
    for user in ledger["users"]:
        if not (isinstance(user, list) and len(user) in (2, 3)
                and all(isinstance(part, str) for part in user[:2])
                and (len(user) == 2 or (isinstance(user[2], list)
                                        and all(key in KEYS for key in user[2])))):
            raise StateError(f"{where}bad user {user!r}; nothing was changed")
    for key, value in ledger["previous"].items():
        _check(key, value, where)
    return {"users": ledger["users"], "previous": ledger["previous"]}


def _in_use(user: list[str], lid: str) -> bool:
    """Whether the runtime record of ``user`` (run directory, network) still names ledger
    ``lid`` (the record is written before the user joins, removed after it leaves)."""
    run_dir, name = user[:2]
    path = Path(run_dir) / "networks" / f"{name}.json"
    try:  # a regular file only (a FIFO planted there must not block us)
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return False
            record = json.loads(handle.read(MAX_LEDGER))
    except (OSError, ValueError, RecursionError):  # not a record of ours
        return False
    return isinstance(record, dict) and record.get("sysctls") == lid


@contextlib.contextmanager
def ledger(lid: str) -> Iterator[dict]:
    """The ledger ``lid``, locked and checked, stale users dropped; saved on exit, even a
    failed one (removed when nothing is left in it)."""
    from netupdate.store import _flock, atomic_write, remove
    if lid[:1] not in ("c", "i") or not lid[1:].isdigit():
        raise StateError(f"bad forwarding ledger id {lid!r}")
    directory = _trusted_dir()
    with _flock(directory / "lock", 30.0, "the forwarding ledgers are locked"):
        path = directory / f"{lid}.json"
        data = _read(path)
        data["users"] = [u for u in data["users"] if _in_use(u, lid)]
        try:
            yield data
        finally:  # also when a step failed: what it changed is in the ledger
            _valid(data, "")
            if data["users"] or data["previous"]:
                atomic_write(path, json.dumps(data, indent=1), mode=0o600)
            else:
                remove(path)


def user(store, record: dict) -> list[str]:
    """A network as a user of a ledger: (its store's resolved run directory, its name)."""
    return [os.path.realpath(store.run_dir), record["name"]]


def _needed(data: dict) -> set[str]:
    """The settings some user of the ledger needs (a user listed before needs were: all)."""
    return {key for user in data["users"] for key in (user[2] if len(user) == 3 else KEYS)}


def acquire(lid: str, netns: str | None, user: list[str], keys: list[str]) -> None:
    """Join ledger ``lid`` (the id of ``netns``) needing ``keys``, switch them on there, and put
    back what no user needs any more (``keys`` empty: the network leaves)."""
    with ledger(lid) as data:
        data["users"] = [u for u in data["users"] if u[:2] != user]
        if keys:
            data["users"].append([*user, list(keys)])
        for key in keys:
            previous = NS.call(netns, set_sysctl, key, "1")
            if previous != "1":
                data["previous"].setdefault(key, previous)
        needed = _needed(data)
        here = None
        for key, previous in list(data["previous"].items()):
            if key in needed:
                continue
            if here is None:  # the namespace went away: the settings went with it
                here = NS.exists(netns) and namespace_id(netns) == lid
            if here:
                NS.call(netns, set_sysctl, key, previous)
            del data["previous"][key]


def release(lid: str, netns: str | None, user: list[str]) -> None:
    """Leave ledger ``lid``; what no remaining user needs is put back."""
    acquire(lid, netns, user, [])


def follow(store, record: dict, defs) -> None:
    """Set forwarding in the namespace of the network of ``record`` to what ``defs`` needs
    (IPv4, and IPv6 while it has an IPv6 address).  The record names the ledger before the
    network joins it, so a crash in between leaves a user the ledger can account for."""
    keys = forwarding_keys(defs)
    if not keys:
        if record.get("sysctls"):
            leave(store, record)
        return
    record["sysctls"] = namespace_id(record["netns"])
    store.write_record(record["name"], record)
    acquire(record["sysctls"], record["netns"], user(store, record), keys)


def follow_change(store, record: dict, before, after) -> bool:
    """After a live change from ``before`` to ``after``: set what an address family that came
    or went needs; returns whether anything changed."""
    if forwarding_keys(before) == forwarding_keys(after):
        return False
    follow(store, record, after)
    return True


def leave(store, record: dict) -> None:
    """The network of ``record`` no longer forwards (it stops, or changed mode)."""
    lid = record["sysctls"]
    if lid is True:  # a record written before ledgers were per namespace
        if not NS.exists(record.get("netns")):
            record["sysctls"] = False
            return
        lid = namespace_id(record.get("netns"))
    release(lid, record.get("netns"), user(store, record))
    record["sysctls"] = False
